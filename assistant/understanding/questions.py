"""What the shopper's last message asks: an attribute of a shown product, a comparison, a closing, nothing about
shopping, or a reference to a product before any was shown; and which products it is about.

    ask = read_question(history, catalog, check, category, vocabulary, needs, budget)
    ask.kind          # "attribute", "compare", "closing", "off_topic", "unresolved" or "other"
    ask.products      # the products it is about: named in it, or "the second one" / "it" from the replies

`assistant.understanding.reading.read_message` calls it once per turn; the replies that act on an `Ask` (the
catalog's answer, the off-topic redirect) are checks, in `assistant.checks.answers`.
"""

from __future__ import annotations

import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.text import label, mentions
from assistant.understanding.needs import ShopperNeeds, parse_budget
from assistant.understanding.vocabulary import Vocabulary

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
_ABOUT_IT = re.compile(r"\b(it|its|it's|they|them|their|this one|that one|these|those|both)\b", re.I)
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
    budget: tuple[float | None, float | None] | None | str = "read",
) -> Ask:
    """Read the last user message of `history` (see `Ask`).

    Products: those the message names (by the grounding check's name matching), else an ordinal ("the
    second one", "the last pair") into the last reply that named products, else a pronoun or "this one"
    meaning that reply's first product (both for "both" / "these"). `budget`: the message's budget as
    `parse_budget` read it (the caller reads it once per turn; by default it is read here).
    """
    question = history[-1]["content"]
    budget = parse_budget(question) if budget == "read" else budget
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
        names = attribute_names(catalog, first.category)
        about = next((n for n in names if mentions(low, label(n))), None) or next(  # "longer battery": battery life
            (n for n in names if " " in label(n) and mentions(low, label(n).split()[0])), None
        )
        return Ask("compare", compare_pool, about, yes_no=yes_no, wording=question, named=named)
    if products and "?" in question:
        product = catalog.get(products[0])
        values = asked_values(question, product, catalog)
        for name in attribute_names(catalog, product.category):
            if mentions(low, label(name)):
                return Ask("attribute", products, name, values, yes_no, named=named)
        if values:
            return Ask("attribute", products, next(iter(values)), values, yes_no, named=named)
        if _PRICE_WORDS.search(question) and not budget:
            return Ask("attribute", products, "price", {}, yes_no, named=named)
        if re.search(r"\bcolou?r\b", low) and "color" not in product.attributes:
            return Ask("attribute", products, "color", {}, yes_no, named=named)
    if not products and not earlier and "?" in question and (_ORDINAL.search(question) or _REFERS.search(question)):
        return Ask("unresolved", yes_no=yes_no, named=named)  # "the first one?" before any product was shown
    # a question about a shown product by pronoun ("what's it made of?", "does it smell like anything?") is about
    # shopping even when it names no attribute: the model answers it and the checks check what it says
    if (not products or (pointed and not _ABOUT_IT.search(question))) and _off_topic(
        question, vocabulary, catalog, budget
    ):
        return Ask("off_topic", named=named)
    return Ask("other", products, yes_no=yes_no, named=named)


def _off_topic(question: str, vocabulary: Vocabulary | None, catalog: Any, budget: Any) -> bool:
    """A question with no shopping in it: no shop word, no category word, no attribute name (or its first
    word: "battery"), value or brand of any category of the catalog, no budget. Short messages and statements
    are never off-topic."""
    if len(question.split()) < 3 or not ("?" in question or _WH.search(question)):
        return False
    if _SHOPPING.search(question) or budget:
        return False
    low = question.lower()
    for name in attribute_names(catalog, None):
        if mentions(low, label(name)) or mentions(low, label(name).split()[0]):
            return False
    if vocabulary is not None:
        if any(score >= 0.1 for score in vocabulary.category_scores(question).values()):  # a weak title word: no
            return False
        for cv in vocabulary.get(None):  # every category: the routed one may be wrong
            if (cv._value_re and cv._value_re.search(low)) or (cv._brand_re and cv._brand_re.search(low)):
                return False
    return True
