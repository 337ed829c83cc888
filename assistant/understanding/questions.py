"""What the shopper's last message asks, and the catalog's own answer to it.

    ask = read_question(history, catalog, check, category, vocabulary, needs)
    ask.kind          # "attribute", "compare", "closing", "off_topic", "unresolved" or "other"
    ask.products      # the products it is about: named in it, or "the second one" / "it" from the replies
    catalog_answer(ask, catalog)          # "The Kestrel Coast Jacket's color is navy."
    answers(text, ids, ask, catalog)      # does a generated reply state what was asked?
    drop_reasked(text, needs, ...)        # remove questions for needs the shopper already stated

The model writes every reply; these are the checks the orchestrator runs on it. An attribute question
whose reply does not state the asked product's catalog value (or names another product) is answered from
the catalog instead; a comparison that gets a price order wrong is replaced by the catalog's comparison;
a question asking for a need already stated ("Any budget?" after "under $40") is dropped; a message with
no shopping in it gets a redirect instead of a generated answer (the model answers "The capital of France
is Paris."). Each replacement is reported as a correction, so how often the model needed it is measured.
"""

from __future__ import annotations

import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.evaluation.answers import value_in_reply
from assistant.generation.prompts import format_price
from assistant.understanding.needs import ShopperNeeds, parse_budget
from assistant.understanding.vocabulary import KIND_ATTRIBUTES, Vocabulary

_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
}
_ORDINAL = re.compile(  # "the second one", "the last pair" (not "last night", "first time")
    r"\bthe\s+(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b(?:\s+\w+)?", re.I
)
_PRONOUN = re.compile(r"\b(it|its|it's|they|them|their|this|that|these|those|this one|that one|both)\b", re.I)
_REFERS = re.compile(r"\b(this one|that one|these ones|those ones|this pair|that pair)\b", re.I)
_YES_NO = re.compile(r"^\W*(?:\w+[,!.]?\s+){0,3}?(does|do|is|are|can|could|will|has|have|was|were)\b", re.I)
_COMPARE = re.compile(r"\b(compare|comparison|difference|differ|vs\.?|versus)\b", re.I)
_COMPARE_Q = re.compile(  # only in a question: "show me something cheaper" asks for other products
    r"\b(which (?:one|is|has|of (?:the|them|these))|better|cheaper|more expensive)\b", re.I
)
_WH_START = re.compile(r"^\W*(?:what|what's|which|who|where|when|why|how)\b", re.I)
_CLOSING = re.compile(
    r"^\W*(?:ok(?:ay)?[,!.]?\s*)?(?:great[,!.]?\s*|perfect[,!.]?\s*|awesome[,!.]?\s*)?"
    r"(?:thanks|thank you|thx|cheers|bye|goodbye|that'?s all|that is all|i'?m done|all set)\b",
    re.I,
)
_PRICE_WORDS = re.compile(r"\b(price|cost|costs|how much|expensive|cheap)\b", re.I)
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
_SHOPPING = re.compile(
    r"\b(buy|buying|need|needs|want|wants|looking|look for|shop|shopping|recommend|recommendation|suggest|"
    r"options?|show|find|price|prices|cost|cheap|cheaper|expensive|budget|under|size|color|colour|gift|"
    r"compare|order|ship|shipping|deliver|delivery|return|stock|available|product|products|catalog|store|"
    r"brand|model|quality|review|reviews|warranty|discount|sale|deal|item|items|one|ones|pair|"
    r"hi|hello|hey|thanks|thank|bye|take|prefer|popular|trending|best|new|season|idea|ideas|sell|selling|carry|"
    r"what about|how about|"
    r"present|birthday|christmas|anniversary|mom|mum|dad|wife|husband|girlfriend|boyfriend|friend|kids?)\b",
    re.I,
)
_WH = re.compile(r"^\W*(?:\w+\s+){0,3}?(what|who|where|when|why|how|tell me|can you|could you|do you know)\b", re.I)
_NEGATIVE_VALUES = {"none", "no", "false", "n/a", "not applicable", "without"}
NOTHING_SHOWN = "I haven't suggested a product yet."
DECLINE = "Sorry, I can only help with shopping in our catalog."


@dataclass
class Ask:
    """What the last user message asks.

    Attributes:
        kind: "attribute" (a fact about products), "compare" (two products side by side), "closing" (thanks,
            bye), "off_topic" (nothing about shopping), "unresolved" (asks about "the first one" or "this one"
            before any product was shown) or "other" (needs, requests; the model answers freely).
        products: ids of the products it is about, in the order referred to.
        attribute: the attribute asked ("price" for a price question), for kind "attribute".
        values: attribute -> value the question names ("available in black?" -> {"color": "black"}).
        yes_no: a yes/no question ("is it ...?", "does it ...?").
        wording: the question itself, for a comparison ("which has the longer battery life?").
        named: ids of the catalog products the message names itself (whatever its kind).
    """

    kind: str = "other"
    products: list[str] = field(default_factory=list)
    attribute: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    yes_no: bool = False
    wording: str = ""
    named: list[str] = field(default_factory=list)


def label(name: str) -> str:
    """An attribute name as people say it: `skin_type` -> `skin type`."""
    return name.replace("_", " ").strip().lower()


def _mentions(text: str, phrase: str) -> bool:
    words = re.escape(phrase.lower()).replace(r"\ ", r"[\s_-]+")
    return bool(re.search(rf"(?<![\w-]){words}(?:e?s)?(?![\w-])", text.lower()))


_FACTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # catalog -> category -> (names, values)


def _category_facts(catalog: Any, category: str | None) -> tuple[list[str], dict[str, list[str]]]:
    """A category's attribute names (longest first) and each attribute's values (longest first), read from
    the catalog once per catalog and category (a turn must not scan a million-product catalog)."""
    try:
        per_catalog = _FACTS.setdefault(catalog, {})
    except TypeError:  # not weak-referenceable: computed each time
        per_catalog = {}
    if category not in per_catalog:
        values: dict[str, set[str]] = {}
        for p in catalog:
            if category is None or p.category == category:
                for k, v in p.attributes.items():
                    values.setdefault(k, set()).update(
                        str(x) for x in (v if isinstance(v, list) else [v]) if not isinstance(x, bool)
                    )
        names = sorted(values, key=lambda n: (-len(n), n))
        per_catalog[category] = (names, {k: sorted(v, key=len, reverse=True) for k, v in values.items()})
    return per_catalog[category]


def attribute_names(catalog: Any, category: str | None) -> list[str]:
    """The attribute names of a category's products, longest first (so "battery life" wins over "life")."""
    return list(_category_facts(catalog, category)[0])


def asked_values(question: str, product: Any, catalog: Any) -> dict[str, str]:
    """Values of `product`'s attributes that `question` names, from the values its category uses ("is it
    available in black?" -> {"color": "black"}). Values of one or two characters ("M", "XL") count only
    as written, in capitals, so the "s" of "it's" is not size S."""
    asked: dict[str, str] = {}
    known = _category_facts(catalog, product.category)[1]
    for name in getattr(product, "attributes", None) or {}:
        for value in known.get(name, []):
            short = len(value) <= 2
            pattern = r"(?<![\w'-])" + re.escape(value if short else value.lower()) + r"(?![\w'-])"
            if re.search(pattern, question if short else question.lower()):
                asked[name] = value
                break
    return asked


_NAMED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # catalog -> {(check, category, text): ids}
_NAMED_KEPT = 4096


def named_products(text: str, check: Callable[..., Any], catalog: Any, category: str | None) -> list[str]:
    """Ids of the catalog products `text` names (by `check`), remembered per catalog: every turn reads the
    dialogue's earlier replies again, and their text does not change."""
    try:
        seen = _NAMED.setdefault(catalog, OrderedDict())
    except TypeError:  # not weak-referenceable: not remembered
        seen = OrderedDict()
    key = (check, category, text)
    ids = seen.get(key)
    if ids is None:  # threads may race here: both compute the same ids, and an eviction is harmless
        ids = [pid for pid in check(text, catalog, category=category).products if pid in catalog]
        seen[key] = ids
        if len(seen) > _NAMED_KEPT:
            try:
                seen.popitem(last=False)
            except KeyError:
                pass
    return list(ids)


def reply_products(
    history: Sequence[dict[str, str]], check: Callable[..., Any], catalog: Any, category: str | None
) -> list[list[str]]:
    """Products named by the assistant's replies, latest reply first: `[[ids of the last reply], ...]`
    (replies naming none are skipped)."""
    out = []
    for m in reversed(history[:-1]):
        if m["role"] == "assistant":
            ids = named_products(m["content"], check, catalog, category)
            if ids:
                out.append(ids)
    return out


def read_question(
    history: Sequence[dict[str, str]],
    catalog: Any,
    check: Callable[..., Any],
    category: str | None,
    vocabulary: Vocabulary | None = None,
    needs: ShopperNeeds | None = None,
) -> Ask:
    """Read the last user message of `history` (see `Ask`).

    Products: those the message names (by the grounding check's name matching), else an ordinal ("the
    second one", "the last pair") into the last reply that named products, else a pronoun or "this one"
    meaning that reply's first product (both for "both" / "these").
    """
    question = history[-1]["content"]
    low = question.lower()
    named = named_products(question, check, catalog, category)
    if _CLOSING.search(question) and "?" not in question and len(question.split()) <= 8:
        return Ask("closing", named=named)
    earlier = reply_products(history, check, catalog, category)
    last = earlier[0] if earlier else []
    products = list(named)
    pointed = False  # products only from a pronoun ("if that's possible" points at nothing for sure)
    if not products and last:
        for word in [m.group(1).lower() for m in _ORDINAL.finditer(question)]:
            # "the second one": the latest reply that listed at least two products
            i = -1 if word == "last" else _ORDINALS[word]
            listed = next((ids for ids in earlier if i < len(ids)), None)
            if listed is not None and listed[i] not in products:
                products.append(listed[i])
        if not products and _PRONOUN.search(question):
            products = last[:2] if re.search(r"\b(both|these|those|them)\b", low) and len(last) > 1 else last[:1]
            pointed = True
    yes_no = bool(_YES_NO.search(question)) and not _WH_START.search(question) and " or " not in low
    seen = list(dict.fromkeys(pid for ids in earlier for pid in ids))  # latest reply first
    compare_pool = products if len(products) >= 2 else (products + [p for p in seen if p not in products])[:2]
    comparing = _COMPARE.search(question) or ("?" in question and _COMPARE_Q.search(question))
    if comparing and len(compare_pool) == 2:
        first = catalog.get(compare_pool[0])
        about = next((n for n in attribute_names(catalog, first.category) if _mentions(low, label(n))), None)
        return Ask("compare", compare_pool, about, yes_no=yes_no, wording=question, named=named)
    if products and "?" in question:
        product = catalog.get(products[0])
        values = asked_values(question, product, catalog)
        for name in attribute_names(catalog, product.category):
            if _mentions(low, label(name)):
                return Ask("attribute", products, name, values, yes_no, named=named)
        if values:
            return Ask("attribute", products, next(iter(values)), values, yes_no, named=named)
        if _PRICE_WORDS.search(question) and not parse_budget(question):
            return Ask("attribute", products, "price", {}, yes_no, named=named)
        if re.search(r"\bcolou?r\b", low) and "color" not in product.attributes:
            return Ask("attribute", products, "color", {}, yes_no, named=named)
    if not products and not earlier and "?" in question and (_ORDINAL.search(question) or _REFERS.search(question)):
        return Ask("unresolved", yes_no=yes_no, named=named)  # "the first one?" before any product was shown
    if (not products or pointed) and _off_topic(question, vocabulary, catalog):
        return Ask("off_topic", named=named)
    return Ask("other", products, yes_no=yes_no, named=named)


def _off_topic(question: str, vocabulary: Vocabulary | None, catalog: Any) -> bool:
    """A question with no shopping in it: no shop word, no category word, no attribute name (or its first
    word: "battery"), value or brand of any category of the catalog, no budget. Short messages and statements
    are never off-topic."""
    if len(question.split()) < 3 or not ("?" in question or _WH.search(question)):
        return False
    if _SHOPPING.search(question) or parse_budget(question):
        return False
    low = question.lower()
    for name in attribute_names(catalog, None):
        if _mentions(low, label(name)) or _mentions(low, label(name).split()[0]):
            return False
    if vocabulary is not None:
        if any(score >= 0.1 for score in vocabulary.category_scores(question).values()):  # a weak title word: no
            return False
        for cv in vocabulary.get(None):  # every category: the routed one may be wrong
            if (cv._value_re and cv._value_re.search(low)) or (cv._brand_re and cv._brand_re.search(low)):
                return False
    return True


def off_topic_reply(needs: ShopperNeeds | None, category: str | None) -> str:
    """The redirect for an off-topic message, pointing back to the shopper's search when there is one."""
    what = (category or "").replace("_", " ")
    if needs is not None and (needs.attributes or needs.max_price is not None or needs.min_price is not None):
        return f"{DECLINE} Shall we get back to your {what} search? What else matters to you?"
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
            value_in_reply(p.attributes[ask.attribute], ask.attribute, text)
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
        if not value_in_reply(actual, ask.attribute, text):
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
    for m in re.finditer(r"[^.!?\n]*\?+", text):  # question sentences (with the space before them)
        sent, low = m.group(), m.group().lower()
        topics = ["budget"] if _BUDGET_Q.search(sent) else []
        topics += [n for n in names if _mentions(low, label(n))]
        if not topics and _KIND_Q.search(sent):
            topics += [k for k in KIND_ATTRIBUTES if k in stated][:1]
        if re.search(r"\bbrands?\b", low):
            topics.append("brand")
        again = [t for t in topics if t in stated]
        echo = any(v in low for v in values) or any(p in sent for p in prices)
        if closing or (again and not echo):
            dropped += again or ["question after closing"]
            cuts.append(m.span())
    for a, b in reversed(cuts):
        text = text[:a] + text[b:]
    return re.sub(r"[ \t]{2,}", " ", text).strip(), dropped


def drop_wrong_price_order(text: str, ids: Sequence[str], catalog: Any) -> tuple[str, list[str]]:
    """Remove sentences of `text` that get the price order of two products it names wrong ("the dearer X
    costs less"). Returns `(text, corrections)`."""
    products = [catalog.get(pid) for pid in dict.fromkeys(ids)]
    fixes = []
    for m in reversed(list(re.finditer(r"[^.!?\n]+[.!?]*", text))):
        for i, a in enumerate(products):
            for b in products[i + 1 :]:
                if wrong_price_order(m.group(), [a, b]):
                    text = text[: m.start()] + text[m.end() :]
                    fixes.append(f"removed a wrong price comparison of the {a.title} and the {b.title}")
                    break
            else:
                continue
            break
    return re.sub(r"[ \t]{2,}", " ", text).strip(), fixes
