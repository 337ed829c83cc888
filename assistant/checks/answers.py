"""The catalog's own replies to what the shopper asked, and the checks that compare a generated reply with them.

    catalog_answer(ask, catalog)          # "The Kestrel Coast Jacket's color is navy."
    answers(text, ids, ask, catalog)      # does a generated reply state what was asked?
    drop_reasked(text, needs, names)      # remove questions for needs the shopper already stated
    drop_wrong_price_order(text, ids, catalog)
    off_topic_reply(needs, wording)       # the redirect for a message with no shopping in it

An attribute question whose reply does not state the asked product's catalog value (or names another product)
is answered from the catalog instead; a comparison that gets a price order wrong is replaced by the catalog's
comparison; a question asking for a need already stated ("Any budget?" after "under $40") is dropped. Each
replacement is reported as a correction (`assistant.checks.pipeline`), so how often the model needed it is
measured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from assistant.text import format_price, label, mentions, sentence_spans, value_in_text
from assistant.understanding.needs import ShopperNeeds
from assistant.understanding.questions import Ask
from assistant.understanding.vocabulary import KIND_ATTRIBUTES

_BUDGET_Q = re.compile(
    r"\b(budget|price range|price limit|price point|spend|spending|afford|pay|paying|"
    r"how much (?:do|would|can|are) you)\b",
    re.I,
)
_KIND_Q = re.compile(  # asks what kind of product: a re-ask once the kind attribute ("type") is stated
    r"\b(what (?:kind|type|sort) of|what (?:are|were) you (?:after|looking for|shopping for)|what do you need|"
    r"what can i help you (?:find|with)|what are you looking for|have in mind)\b",
    re.I,
)
_NEGATIVE_VALUES = {"none", "no", "false", "n/a", "not applicable", "without"}
NOTHING_SHOWN = "I haven't suggested a product yet."
DECLINE = "Sorry, I can only help with shopping in our catalog."


def off_topic_reply(needs: ShopperNeeds | None, wording: str | None) -> str:
    """The redirect for an off-topic message, pointing back to the shopper's search (its category called
    `wording`) when there is one."""
    if needs is not None and (needs.attributes or needs.max_price is not None or needs.min_price is not None):
        return f"{DECLINE} Shall we get back to your {wording or ''} search? What else matters to you?".replace(
            "your  search", "your search"
        )
    return f"{DECLINE} What are you looking for?"  # no category: the message named none


_PLURAL_END = re.compile(r"(?<!s)s$|\b(jeans|pants|trousers|leggings|shorts)$", re.I)
_MORE = re.compile(r"\b(more|longer|bigger|larger|higher|most|longest|biggest|largest|highest|heavier)\b", re.I)
_LESS = re.compile(r"\b(less|shorter|smaller|lower|least|shortest|smallest|lowest|lighter|fewer)\b", re.I)


def verb(title: str, singular: str, plural: str) -> str:
    """The verb form agreeing with a product title: "Zentro S7 Headphones" are, "Kestrel Jacket" is."""
    return plural if _PLURAL_END.search(title.strip()) else singular


def _amount(value: Any) -> tuple[float, str] | None:
    """ "40 hours" -> (40.0, "hours"); None when the value is not a number with a unit."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(value))
    return (float(m.group(1)), m.group(2).lower()) if m else None


def which_more(a: Any, b: Any, about: str, wording: str) -> str:
    """ " The X has the longer battery life (40 hours)." when the question asks which has more / less of a
    numeric attribute and both values have the same unit; "" otherwise."""
    x, y = _amount(a.attributes.get(about)), _amount(b.attributes.get(about))
    if x is None or y is None or x[1] != y[1] or x[0] == y[0]:
        return ""
    more = _MORE.search(wording)
    less = _LESS.search(wording)
    if bool(more) == bool(less):
        return ""
    word = (more or less).group(1).lower()
    word = {"most": "more", "least": "less"}.get(word, word)
    winner = (a if x[0] > y[0] else b) if more else (a if x[0] < y[0] else b)
    have = verb(winner.title, "has", "have")
    amount = f"{word} {label(about)}" if word in ("more", "less", "fewer") else f"the {word} {label(about)}"
    return f" The {winner.title} {have} {amount} ({winner.attributes[about]})."


def possessive(name: str) -> str:
    """ "Kestrel Jacket" -> "Kestrel Jacket's", "Zentro Headphones" -> "Zentro Headphones'"."""
    return name + ("'" if name.endswith("s") else "'s")


def _spoken(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else _value_text(value)


def _value_text(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _fact(product: Any, name: str) -> str | None:
    """`product`'s value of attribute `name` as text ("price" is the price); None when it has none."""
    if name == "price":
        return format_price(product.price, getattr(product, "currency", None)) if product.price is not None else None
    if name not in product.attributes:
        return None
    value = product.attributes[name]
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _value_text(value)


def catalog_answer(ask: Ask, catalog: Any) -> str:
    """The catalog's answer to an attribute or comparison question (the reply used when the model's does
    not state it)."""
    products = [catalog.get(pid) for pid in ask.products]
    if ask.kind == "compare":
        return compare_products(products[0], products[1], ask.attribute, ask.wording)
    sentences = []
    for i, p in enumerate(products[:2]):
        name = ask.attribute or ""
        value = _fact(p, name)
        if value is None:
            sentences.append(f"Our catalog doesn't list the {label(name)} of the {p.title}.")
            continue
        raw = p.attributes.get(name)
        if name == "price":
            fact = f"the {p.title} {verb(p.title, 'costs', 'cost')} {value}"
        elif isinstance(raw, bool):
            fact = f"the {p.title} {verb(p.title, 'is', 'are')} {'' if raw else 'not '}{label(name)}"
        else:
            fact = f"the {possessive(p.title)} {label(name)} is {value}"
        opening = ""
        if ask.yes_no and i == 0:
            asked = ask.values.get(name)
            if asked is not None:
                truth = str(raw).lower() == asked.lower() or (
                    isinstance(raw, list) and asked.lower() in map(str.lower, map(str, raw))
                )
                opening = "Yes, " if truth else "No, "
                if not truth:
                    fact += f", not {asked}"
            elif isinstance(raw, bool) or name != "price":
                negative = (raw is False) or str(raw).strip().lower() in _NEGATIVE_VALUES
                opening = "No, " if negative else "Yes, " if isinstance(raw, bool) or raw else ""
        text = (opening + fact) if opening else fact[0].upper() + fact[1:]
        sentences.append(text + ".")
    return " ".join(sentences)


def compare_products(a: Any, b: Any, about: str | None = None, wording: str = "") -> str:
    """Two products side by side from the catalog: price, then the attribute asked `about` (when given) and
    the attributes where they differ; `wording` (the question) says which way "longer" / "smaller" points."""

    def side(p: Any, other: Any) -> str:
        keys = ([about] if about in p.attributes else []) + [k for k in p.attributes if k != about]
        diff = [
            f"{label(k)} {_spoken(p.attributes[k])}"
            for k in keys
            if (k == about or other.attributes.get(k) != p.attributes[k]) and k not in KIND_ATTRIBUTES
        ][:3]
        price = format_price(p.price, getattr(p, "currency", None))
        head = f"The {p.title}" + (f" {verb(p.title, 'is', 'are')} {price}" if price else "")
        return head + (f" with {', '.join(diff)}" if diff else "") + "."

    text = f"{side(a, b)} {side(b, a)}"
    if a.price is not None and b.price is not None and a.price != b.price:
        cheap, dear = (a, b) if a.price < b.price else (b, a)
        saving = format_price(dear.price - cheap.price, cheap.currency)
        text += f" The {cheap.title} {verb(cheap.title, 'costs', 'cost')} {saving} less."
    if about:
        text += which_more(a, b, about, wording)
    return text


def answers(text: str, ids: Sequence[str], ask: Ask, catalog: Any) -> bool:
    """Does `text` (naming products `ids`) answer `ask` as the catalog would?

    Attribute: it names no product other than the asked ones first and states each asked product's value
    (a product without the attribute: it must not claim a value, i.e. the reply is the catalog's). Compare:
    it names both products and every price order it claims ("X costs less", "X is cheaper") is right.
    """
    products = [catalog.get(pid) for pid in ask.products]
    if ids and ids[0] not in ask.products:
        return False
    if ask.kind == "compare":
        stated = all(
            value_in_text(p.attributes[ask.attribute], ask.attribute, text)
            for p in products
            if ask.attribute in p.attributes and not isinstance(p.attributes[ask.attribute], bool)
        )
        return set(ask.products) <= set(ids) and stated and not wrong_price_order(text, products)
    for p in products[:2]:
        value = _fact(p, ask.attribute or "")
        if value is None:
            return False
        actual = p.price if ask.attribute == "price" else p.attributes[ask.attribute]
        if isinstance(actual, bool):
            continue  # a flag is answered by yes / no, which the polarity check covers
        if not value_in_text(actual, ask.attribute, text):
            return False
    return True


_CHEAPER = r"(?:costs? less|is cheaper|is less expensive|is more affordable|is the cheaper|is the more affordable)"
_DEARER = r"(?:costs? more|is (?:more expensive|pricier|dearer)|is the (?:more expensive|pricier))"


def wrong_price_order(text: str, products: Sequence[Any]) -> bool:
    """Does `text` say the dearer of two products costs less (or the cheaper one costs more)?"""
    if len(products) != 2 or any(p is None or p.price is None for p in products):
        return False
    if products[0].price == products[1].price:
        return False
    cheap, dear = sorted(products, key=lambda p: p.price)
    low = text.lower()
    for p, right in ((cheap, True), (dear, False)):
        name = re.escape(p.title.lower())
        if re.search(rf"{name}\W+(?:\w+\W+){{0,2}}{_CHEAPER}", low):
            if not right:
                return True
        if re.search(rf"{name}\W+(?:\w+\W+){{0,2}}{_DEARER}", low):
            if right:
                return True
    return False


def stated_topics(needs: ShopperNeeds) -> set[str]:
    """What the shopper has already told: "budget" and attribute names (wanted or excluded)."""
    topics = set(needs.attributes) | set(needs.exclude_attributes)
    if needs.min_price is not None or needs.max_price is not None:
        topics.add("budget")
    if needs.brands or needs.exclude_brands:
        topics.add("brand")
    return topics


def drop_reasked(text: str, needs: ShopperNeeds, names: Sequence[str], closing: bool = False) -> tuple[str, list[str]]:
    """Remove the questions of `text` that ask for a need the shopper already stated.

    A question asks for the budget when it says budget / spend / afford / pay / price range, for an attribute
    when it names it (`names`: the category's attribute names), for the kind of product ("what kind of
    apparel do you have in mind?") when it names no attribute and the kind attribute (`type`) is stated,
    for the brand when it says brand. A
    question that repeats the stated value ("under $40, right?") is a confirmation and stays. After a
    closing message ("thanks, that's all") every question goes.

    Returns:
        `(text, dropped topics)`.
    """
    stated = stated_topics(needs)
    values = {str(v).lower() for v in list(needs.attributes.values()) + list(needs.exclude_attributes.values())}
    prices = {f"{x:g}" for x in (needs.min_price, needs.max_price) if x is not None}
    if not stated and not closing:
        return text, []
    cuts, dropped = [], []
    for span in sentence_spans(text):  # question sentences (with the space before them)
        sent = text[slice(*span)]
        if not sent.rstrip().endswith("?"):
            continue
        low = sent.lower()
        topics = ["budget"] if _BUDGET_Q.search(sent) else []
        topics += [n for n in names if mentions(low, label(n))]
        if not topics and _KIND_Q.search(sent):
            topics += [k for k in KIND_ATTRIBUTES if k in stated][:1]
        if re.search(r"\bbrands?\b", low):
            topics.append("brand")
        again = [t for t in topics if t in stated]
        echo = any(v in low for v in values) or any(p in sent for p in prices)
        if closing or (again and not echo):
            dropped += again or ["question after closing"]
            cuts.append(span)
    for a, b in reversed(cuts):
        text = text[:a] + text[b:]
    return re.sub(r"[ \t]{2,}", " ", text).strip(), dropped


def drop_wrong_price_order(text: str, ids: Sequence[str], catalog: Any) -> tuple[str, list[str]]:
    """Remove sentences of `text` that get the price order of two products it names wrong ("the dearer X
    costs less"). Returns `(text, corrections)`."""
    products = [catalog.get(pid) for pid in dict.fromkeys(ids)]
    fixes = []
    for start, end in reversed(sentence_spans(text)):
        for i, a in enumerate(products):
            for b in products[i + 1 :]:
                if wrong_price_order(text[start:end], [a, b]):
                    text = text[:start] + text[end:]
                    fixes.append(f"removed a wrong price comparison of the {a.title} and the {b.title}")
                    break
            else:
                continue
            break
    return re.sub(r"[ \t]{2,}", " ", text).strip(), fixes
