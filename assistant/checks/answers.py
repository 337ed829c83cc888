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

from assistant.checks.quantities import order
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


def which_more(a: Any, b: Any, about: str, wording: str) -> str:
    """ " The X has the longer battery life (2 days)." when the question asks which has more / less of an
    attribute whose two values compare (`assistant.checks.quantities.order`: "20 hours" < "2 days", "512 GB" <
    "1 TB", "L" < "XL"); "" otherwise."""
    x, y = a.attributes.get(about), b.attributes.get(about)
    cmp = order(x, y) if x is not None and y is not None else None
    if not cmp:
        return ""
    more = _MORE.search(wording)
    less = _LESS.search(wording)
    if bool(more) == bool(less):
        return ""
    word = (more or less).group(1).lower()
    word = {"most": "more", "least": "less"}.get(word, word)
    winner = (a if cmp > 0 else b) if more else (a if cmp < 0 else b)
    value = _value_text(winner.attributes[about])
    if word not in ("more", "less", "fewer") and not re.search(r"\b(has|have|with)\b", wording, re.I):
        return f" The {winner.title} {verb(winner.title, 'is', 'are')} {word} ({label(about)} {value})."
    have = verb(winner.title, "has", "have")
    amount = f"{word} {label(about)}" if word in ("more", "less", "fewer") else f"the {word} {label(about)}"
    return f" The {winner.title} {have} {amount} ({value})."


# "the cheapest / the best rated / the lightest": (pattern, attribute, +1 for the largest, how it is said)
_SUPERLATIVES = (
    (r"cheapest|least expensive|most affordable|lowest[- ]priced|lowest price", "price", -1, "the cheapest"),
    (r"most expensive|priciest|dearest|highest[- ]priced", "price", 1, "the most expensive"),
    (r"(?:best|highest|top)[- ]rated|best reviewed|highest rating|best rating", "rating", 1, "the best rated"),
    (r"lightest", "weight", -1, "the lightest"),
    (r"heaviest", "weight", 1, "the heaviest"),
)
_MOST = re.compile(
    r"\b(most|longest|biggest|largest|highest|greatest|least|shortest|smallest|lowest|fewest)\s+((?:[\w-]+\s+){0,2}"
    r"[\w-]+)",
    re.I,
)


def _rank_value(p: Any, about: str) -> Any:
    return p.price if about == "price" else p.rating if about == "rating" else p.attributes.get(about)


def superlative_winner(products: Sequence[Any], wording: str) -> tuple[Any, str, str] | None:
    """`(winner, attribute, how it is said)` when `wording` asks for the cheapest, the best rated, the lightest,
    the most / longest / biggest <attribute> of `products` and their values compare; None otherwise."""
    asked = None
    for pattern, about, sign, said in _SUPERLATIVES:
        if re.search(rf"\b(?:{pattern})\b", wording, re.I):
            asked = (about, sign, said)
            break
    if asked is None:
        for m in _MOST.finditer(wording):
            names = {label(k): k for p in products for k in p.attributes}
            about = next((names[n] for n in sorted(names, key=len, reverse=True) if mentions(m.group(2), n)), None)
            if about is not None:
                sign = -1 if m.group(1).lower() in ("least", "shortest", "smallest", "lowest", "fewest") else 1
                asked = (about, sign, f"the {m.group(1).lower()} {label(about)}")
                break
    if asked is None:
        return None
    about, sign, said = asked
    have = [p for p in products if p is not None and _rank_value(p, about) is not None]
    if len(have) < 2:
        return None
    best = have[0]
    for p in have[1:]:
        cmp = order(_rank_value(p, about), _rank_value(best, about))
        if cmp is None:
            return None
        if cmp == sign:
            best = p
    if sum(order(_rank_value(p, about), _rank_value(best, about)) == 0 for p in have) > 1:
        return None  # a tie: no single answer
    return best, about, said


def superlative(products: Sequence[Any], wording: str) -> str:
    """ "The Lumora Core Smartphone is the cheapest at $499.00." for the superlative `wording` asks about (see
    `superlative_winner`); "" when it asks none or the values do not compare."""
    found = superlative_winner(products, wording)
    if found is None:
        return ""
    p, about, said = found
    if about == "price":
        return f"The {p.title} {verb(p.title, 'is', 'are')} {said} at {format_price(p.price, p.currency)}."
    if about == "rating":
        return f"The {p.title} {verb(p.title, 'is', 'are')} {said} ({p.rating:g} of 5)."
    value = _value_text(p.attributes[about])
    if said.startswith(f"the {label(about)}") or label(about) not in said:
        return f"The {p.title} {verb(p.title, 'is', 'are')} {said} ({value})."
    return f"The {p.title} {verb(p.title, 'has', 'have')} {said} ({value})."


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


def catalog_answer(ask: Ask, catalog: Any, pool: Sequence[str] = ()) -> str:
    """The catalog's answer to an attribute or comparison question (the reply used when the model's does
    not state it); a superlative ("which is the cheapest?") is answered among `pool` (the products shown last)
    when it holds more than the two compared."""
    products = [catalog.get(pid) for pid in ask.products]
    if ask.kind == "compare":
        if len(pool) > 2 and superlative([catalog.get(pid) for pid in pool], ask.wording):
            return superlative([catalog.get(pid) for pid in pool], ask.wording)
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

    best = superlative([a, b], wording)
    text = f"{best + ' ' if best else ''}{side(a, b)} {side(b, a)}"
    if a.price is not None and b.price is not None and a.price != b.price:
        cheap, dear = (a, b) if a.price < b.price else (b, a)
        saving = format_price(dear.price - cheap.price, cheap.currency)
        text += f" The {cheap.title} {verb(cheap.title, 'costs', 'cost')} {saving} less."
    if about and not best:
        text += which_more(a, b, about, wording)
    return text


def answers(text: str, ids: Sequence[str], ask: Ask, catalog: Any, pool: Sequence[str] = ()) -> bool:
    """Does `text` (naming products `ids`) answer `ask` as the catalog would?

    Attribute: it names no product other than the asked ones first and states each asked product's value
    (a product without the attribute: it must not claim a value, i.e. the reply is the catalog's). Compare:
    it names both products and every price order it claims ("X costs less", "X is cheaper") is right; a
    superlative ("which is the cheapest?", among `pool` when it holds more than two) names the winner first.
    """
    products = [catalog.get(pid) for pid in ask.products]
    if ask.kind == "compare" and superlative_winner([catalog.get(pid) for pid in pool or ask.products], ask.wording):
        winner = superlative_winner([catalog.get(pid) for pid in pool or ask.products], ask.wording)[0]
        return bool(ids) and ids[0] == winner.id
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


# a message choosing a product: "I'll take it", "I'll go with the velvet one", "the Zentro Mini sounds good"


def confirm(text: str, report: Any, chosen: Any) -> tuple[str, list[str], str | None]:
    """Make a reply confirm the product the shopper chose: sentences naming other products (and not `chosen`)
    give way to one confirming `chosen` where the first of them stood.

    Args:
        text: the reply so far.
        report: its grounding report (`check_reply` of `text`).
        chosen: the chosen product.

    Returns:
        `(text, ids named, correction)`; the correction is None when the reply names no other product instead.
    """
    others = [s for s in report.spans if s.product_id != chosen.id]
    if not others or any(s.product_id == chosen.id for s in report.spans):
        return text, list(report.products), None
    spans = sentence_spans(text)
    drop = [(a, b) for a, b in spans if any(a <= s.start < b for s in others)]
    price = format_price(chosen.price, getattr(chosen, "currency", None))
    head = text[: drop[0][0]].strip()
    said = f"the {chosen.title} {verb(chosen.title, 'is', 'are')} {price}" if price else f"the {chosen.title}"
    said = f"Great choice: {said}." if not head else f"{said[0].upper()}{said[1:]}."
    out = text[: drop[0][0]] + (" " if head else "") + said
    last = drop[0][1]
    for a, b in drop[1:]:
        out, last = out + text[last:a], b
    out = re.sub(r"[ \t]{2,}", " ", out + text[last:]).strip()
    fix = f"confirmed the {chosen.title} the shopper chose, not the {', '.join(dict.fromkeys(s.text for s in others))}"
    return out, [chosen.id], fix
