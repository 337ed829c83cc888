"""The shopper's needs, tracked across a dialogue with rules over the catalog's own vocabulary.

    vocab = Vocabulary.from_catalog(catalog)
    needs = needs_from_dialogue(messages, vocab)     # or: update_needs(needs, "red, under $50", vocab)
    index.search(query, filters=needs.to_filters())

`ShopperNeeds.to_dict()` has exactly the keys the demo generator writes into user messages' `needs`:
category, min_price, max_price, attributes, exclude_attributes, brands, exclude_brands.
Values and brands are found by matching the catalog's attribute values and brands of the category as
whole words; a negation a few words before a match ("not red", "no Acme", "without leather") turns it
into an exclusion. Budget phrases: "under $50", "between 20 and 40", "$20-$40", "around 100", "over 30".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.understanding.vocabulary import Vocabulary, choose_category, normalize_phrase
from retrieval.filters import Filters

AROUND_SPREAD = 0.2  # "around $100" -> 80..120
NEGATORS = {
    "not",
    "no",
    "non",
    "without",
    "except",
    "never",
    "avoid",
    "hate",
    "dislike",
    "nothing",
    "excluding",
    "don't",
    "dont",
    "doesn't",
    "isn't",
    "aren't",
    "won't",
    "instead",
    "but",
    "nor",
    "neither",
    "skip",
    "bad",
    "allergic",
}
# Words that may sit between a negation and the value it negates ("no more Acme", "not in red").
FILLERS = {
    "a",
    "an",
    "the",
    "any",
    "anything",
    "want",
    "like",
    "need",
    "from",
    "by",
    "made",
    "of",
    "in",
    "with",
    "or",
    "and",
    "really",
    "too",
    "so",
    "to",
    "be",
    "is",
    "are",
    "it",
    "them",
    "one",
    "ones",
    "more",
    "i",
    "do",
    "please",
    "something",
    "color",
    "colour",
    "brand",
    "of",
    "that",
    "this",
    "those",
    "these",
    "mind",
}
UNITS = (
    "kg",
    "g",
    "lb",
    "lbs",
    "inch",
    "inches",
    "in",
    "cm",
    "mm",
    "ml",
    "oz",
    "year",
    "years",
    "gb",
    "tb",
    "w",
    "watt",
    "watts",
    "hour",
    "hours",
    "h",
    "mah",
    "pack",
    "pcs",
    "pieces",
    "days",
    "minutes",
    "l",
    "%",
    # distances, speeds, time and counts shoppers quote about a product's use ("15 miles each way", "24 MP")
    "mile",
    "miles",
    "mi",
    "km",
    "kilometers",
    "kilometres",
    "m",
    "meter",
    "meters",
    "metre",
    "metres",
    "ft",
    "feet",
    "foot",
    "mph",
    "km/h",
    "pound",
    "pounds",
    "mp",
    "megapixels",
    "day",
    "week",
    "weeks",
    "month",
    "months",
    "minute",
    "seconds",
    "speed",
    "speeds",
    "gears",
    "people",
    "players",
    "pairs",
)
_NUM = r"\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?"
_CUR = r"(?:\s?(?:\$|dollars?|bucks|usd|eur|euros?|€))?"


@dataclass
class ShopperNeeds:
    """What the shopper wants so far. Empty fields do not constrain the search."""

    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    exclude_attributes: dict[str, Any] = field(default_factory=dict)
    brands: list[str] = field(default_factory=list)
    exclude_brands: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # product ids the shopper turned down
    released: list[str] = field(default_factory=list)  # needs dropped: attribute names, "price", "brand"

    def to_dict(self) -> dict[str, Any]:
        """The generator's `needs` shape (plus `rejected` and `released` when there are any)."""
        d = {
            "category": self.category,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "attributes": dict(self.attributes),
            "exclude_attributes": dict(self.exclude_attributes),
            "brands": list(self.brands),
            "exclude_brands": list(self.exclude_brands),
        }
        if self.rejected:
            d["rejected"] = list(self.rejected)
        if self.released:
            d["released"] = list(self.released)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShopperNeeds:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def to_filters(self) -> Filters:
        """Hard search filters for these needs (a reversed price range is swapped, never an error)."""
        lo, hi = self.min_price, self.max_price
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        return Filters(
            category=self.category,
            min_price=lo,
            max_price=hi,
            brands=list(self.brands),
            exclude_brands=list(self.exclude_brands),
            attributes_equal=dict(self.attributes),
            exclude_attributes=dict(self.exclude_attributes),
            exclude_ids=list(self.rejected),
        )

    def describe(self) -> str:
        """Short human wording, e.g. `color: red, under $50, not Acme`."""
        parts = [f"{k}: {v}" for k, v in self.attributes.items()]
        parts += [f"not {v}" for v in self.exclude_attributes.values()]
        if self.brands:
            parts.append("brand " + " or ".join(self.brands))
        parts += [f"not {b}" for b in self.exclude_brands]
        if self.min_price is not None and self.max_price is not None:
            parts.append(f"${self.min_price:g}-${self.max_price:g}")
        elif self.max_price is not None:
            parts.append(f"under ${self.max_price:g}")
        elif self.min_price is not None:
            parts.append(f"over ${self.min_price:g}")
        return ", ".join(parts)


def _num(m: re.Match, group: int) -> float:
    whole, cents = m.group(group), m.group(group + 1)
    return float(whole.replace(",", "") + (f".{cents}" if cents else ""))


_UNIT_AFTER = r"(?!\d|,\d)(?!\s?(?:" + "|".join(re.escape(u) for u in UNITS) + r")\b)"
_BUDGET_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("range", re.compile(rf"\bbetween\s+{_NUM}{_CUR}\s+and\s+{_NUM}{_CUR}{_UNIT_AFTER}")),
    ("range", re.compile(rf"\bfrom\s+{_NUM}{_CUR}\s+to\s+{_NUM}{_CUR}{_UNIT_AFTER}")),
    (
        "range",
        re.compile(
            rf"(?<![\w.])\$\s?(\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.(\d{{1,2}}))?\s*(?:-|–|to)"
            rf"\s*{_NUM}"
        ),
    ),
    (
        "range",
        re.compile(
            r"(?<![\w.$])(\d+)(?:\.(\d{1,2}))?\s*(?:-|–|to)\s*(\d+)(?:\.(\d{1,2}))?"
            r"\s?(?:\$|dollars|bucks|usd)"
        ),
    ),
    (
        "max",
        re.compile(
            rf"\b(?:under|below|less than|cheaper than|at most|no more than|not more than|up to|upto|"
            rf"max(?:imum)?|within|no higher than|(?:nothing|not|never|none) (?:over|above)|tops|"
            rf"budget(?:'s| is| of|:)?(?: only| about| around| roughly)?|spend(?: only)?|afford)"
            rf"\s+(?:of\s+)?{_NUM}{_CUR}{_UNIT_AFTER}"
        ),
    ),
    ("max", re.compile(rf"{_NUM}{_CUR}\s+(?:or less|or under|or below|max|maximum|tops|at most|or cheaper)\b")),
    (
        "min",
        re.compile(
            rf"(?<!nothing )(?<!not )(?<!never )(?<!none )\b(?:over|above|more than|at least|starting at|"
            rf"minimum|min|no less than|upwards of)\s+{_NUM}{_CUR}{_UNIT_AFTER}"
        ),
    ),
    ("min", re.compile(rf"{_NUM}{_CUR}\s+(?:or more|and up|and above|or above|minimum)\b")),
    (
        "around",
        re.compile(
            rf"\b(?:around|about|roughly|approximately|approx\.?|close to|near|~)"
            rf"\s*{_NUM}{_CUR}{_UNIT_AFTER}"
        ),
    ),
    ("around", re.compile(r"(?<![\w.])\$(\d+)(?:\.(\d{1,2}))?\s?-?ish\b")),
]
_CLEAR_PRICE = re.compile(
    r"\b(?:any price|no budget|price (?:doesn't|does not|don't) matter|money is no object|"
    r"budget (?:doesn't|does not) matter)\b"
)


_THOUSANDS = re.compile(r"(?<![\w.])(\$?)(\d+(?:\.\d+)?)\s?k\b")  # "1.5k" is 1500 ("a 5k run" states no budget cue)


def _thousands(m: re.Match) -> str:
    return f"{m.group(1)}{float(m.group(2)) * 1000:g}"


def parse_budget(text: str) -> tuple[float | None, float | None] | None:
    """The price range a budget phrase in `text` states, or None when there is none.

    Returns:
        `(min_price, max_price)`; either may be None ("under $50" -> (None, 50)); a lower and an upper
        bound in one message combine ("at least $20 but under $60" -> (20, 60)).
    """
    low = _THOUSANDS.sub(_thousands, text.lower())
    if _CLEAR_PRICE.search(low):
        return (None, None)
    found: dict[str, float | tuple[float, float]] = {}
    taken: list[tuple[int, int]] = []
    for kind, pat in _BUDGET_PATTERNS:
        for m in pat.finditer(low):
            if kind in found or any(m.start() < e and s < m.end() for s, e in taken):
                continue
            taken.append(m.span())
            if kind == "range":
                a, b = _num(m, 1), _num(m, 3)
                found[kind] = (min(a, b), max(a, b))
            else:
                found[kind] = _num(m, 1)
    if "range" in found:
        return found["range"]
    if "max" in found or "min" in found:
        return (found.get("min"), found.get("max"))
    if "around" in found:
        v = found["around"]
        if re.search(r"\b(?:budget|spend|spending)\b", low):  # "about 80 to spend": a ceiling, not a range
            return (None, v)
        return (round(v * (1 - AROUND_SPREAD), 2), round(v * (1 + AROUND_SPREAD), 2))
    return None


_QUESTION = re.compile(r"\?|\b(?:right|confirm|vs\.?|versus|compare|difference|differ|which is better|tell me more)\b")
_PICK = re.compile(r"\b(?:i'll take|i will take|it is|go with|going with|sold|i'll order|i'll get|i will get)\b")
_RELEASE = re.compile(
    r"\bany [\w-]+(?: [\w-]+)? (?:is|are|would be|will do)(?: \w+)? (?:fine|ok|okay|good)\b|"
    r"\b(?:doesn't|does not|don't|do not) (?:matter|mind)\b|\bno preference\b"
)
_NOT_A_VALUE = re.compile(r"\s+(?:budget|price)\b")  # "no fixed budget" names no attribute value
# A negation after the value: "polyester is a no-go", "wool is out", "leather doesn't work for me".
_NEGATED_AFTER = re.compile(
    r"\s*(?:is|are|'s)?\s*(?:a\s+|an\s+|totally\s+|definitely\s+)?(?:no-?go|dealbreaker|deal-breaker|"
    r"out\b(?! of)|off the table|not for me|not my thing)|\s*(?:doesn't|does not|don't|do not) work for me"
)


_CLAUSE_CUT = re.compile(  # a "." or "," between digits is part of a number ("Bluetooth 5.0", "12.9 in", "1,200")
    r"(?:(?<!\d)[.,]|[.,](?!\d)|[;!?\n])+|\s[-–—]\s|(?<!anything )(?<!all )\bbut\b(?! not)"
)


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE_CUT.split(text.lower()) if c.strip()]


def _negated(clause: str, start: int, matched_spans: list[tuple[int, int]]) -> bool:
    """True when a negation word sits among the last few meaningful words before `start` in `clause`.

    Earlier matches in the clause are placeholders a list may continue through ("no red or blue"); an
    "and" / "or" that does not continue such a list ends the negation's reach ("no Acme and 16 GB").
    """
    prefix = clause[:start]
    for s, e in sorted(matched_spans, reverse=True):
        if e <= start:
            prefix = prefix[:s] + " § " + prefix[e:]
    words = re.findall(r"[a-z']+|§", prefix)
    seen = 0
    for i in range(len(words) - 1, -1, -1):
        w = words[i]
        if w in NEGATORS or w.endswith("n't"):
            return True
        if w in ("and", "or", "nor", "plus") and not (i > 0 and words[i - 1] == "§"):
            return False
        if w in FILLERS or w == "§":
            continue
        seen += 1
        if seen >= 2:
            return False
    return False


def _values(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _without(v: Any, value: Any) -> Any:
    """`v` (a value or list of values) minus `value`; None when nothing is left."""
    left = [x for x in _values(v) if normalize_phrase(x) != normalize_phrase(value)]
    return None if not left else left[0] if len(left) == 1 else left


def _release(needs: ShopperNeeds, name: str) -> None:
    """Record that the shopper dropped the need `name` (an attribute name, "price" or "brand")."""
    if name not in needs.released:
        needs.released.append(name)


def _unrelease(needs: ShopperNeeds, name: str) -> None:
    """A need stated again is no longer released."""
    if name in needs.released:
        needs.released.remove(name)


def _set_want(needs: ShopperNeeds, attr: str, value: Any, same_message: bool) -> None:
    """Want `value` for `attr`: replaces an earlier wish, or joins one from the same message ("red or blue")."""
    _unrelease(needs, attr)
    if (
        same_message
        and attr in needs.attributes
        and normalize_phrase(value) not in map(normalize_phrase, _values(needs.attributes[attr]))
    ):
        needs.attributes[attr] = _values(needs.attributes[attr]) + [value]
    else:
        needs.attributes[attr] = value
    if attr in needs.exclude_attributes:
        left = _without(needs.exclude_attributes[attr], value)
        needs.exclude_attributes.pop(attr) if left is None else needs.exclude_attributes.__setitem__(attr, left)


def _set_exclude(needs: ShopperNeeds, attr: str, value: Any) -> None:
    """Exclude `value` for `attr` (exclusions accumulate: "not red" then "not navy" excludes both)."""
    old = needs.exclude_attributes.get(attr)
    if old is None:
        needs.exclude_attributes[attr] = value
    elif normalize_phrase(value) not in map(normalize_phrase, _values(old)):
        needs.exclude_attributes[attr] = _values(old) + [value]
    if attr in needs.attributes:
        left = _without(needs.attributes[attr], value)
        needs.attributes.pop(attr) if left is None else needs.attributes.__setitem__(attr, left)


def update_needs(
    needs: ShopperNeeds,
    user_text: str,
    vocabulary: Vocabulary,
    category: str | None = None,
    budget: tuple[float | None, float | None] | None | str = "read",
) -> ShopperNeeds:
    """Fold one user message into `needs` (a new object; `needs` is not changed).

    Args:
        needs: the needs before this message.
        user_text: the shopper's message.
        vocabulary: the catalog vocabulary (`Vocabulary.from_catalog`).
        category: the category this turn is in, when the caller already knows it (e.g. routed); by
            default a clear category mention in the text switches it. Switching category forgets the
            attributes and brands of the old one and keeps the budget.
        budget: the message's budget when the caller has read it already (`parse_budget`'s result);
            by default it is read here.

    Returns:
        The updated needs: a new budget phrase replaces the old range; a wanted value replaces the old
        value of its attribute; a negated value or brand becomes an exclusion.
    """
    new = ShopperNeeds.from_dict(needs.to_dict())
    new.rejected = list(needs.rejected)
    new.released = list(needs.released)
    if category is None:
        category = choose_category(vocabulary.category_scores(user_text), needs.category)
    if category and category != new.category:
        if new.category is not None:
            new.attributes, new.exclude_attributes, new.brands, new.exclude_brands = {}, {}, [], []
        new.category = category
    budget = parse_budget(user_text) if budget == "read" else budget
    if budget is not None:
        lo, hi = budget
        if lo is None and hi is not None and new.min_price is not None and new.min_price < hi:
            lo = new.min_price  # "anything under $50?" keeps an earlier lower bound
        if hi is None and lo is not None and new.max_price is not None and new.max_price > lo:
            hi = new.max_price
        new.min_price, new.max_price = lo, hi
        if (lo, hi) == (None, None):  # "no budget", "price doesn't matter"
            _release(new, "price")
        else:
            _unrelease(new, "price")
    wanted_here: set[str] = set()
    brand_said = False
    for cv in vocabulary.get(new.category):
        # Product names ("the Casa Verde Dune Rug", "the Peak one") are references, not wishes; a question
        # or a pick about a referenced product ("is it red?", "I'll take the first one") states no needs.
        low = vocabulary.correct(user_text.lower())
        text, refs = cv._ref_re.subn(" ", low) if cv._ref_re else (low, 0)
        refs += len(
            re.findall(
                r"\b(?:is it|does it|it is|it has|has it|it's|the (?:first|second|third|last) ones?|"
                r"this one|that one)\b",
                text,
            )
        )
        if _PICK.search(text) or (refs and _QUESTION.search(text)):
            continue
        for clause in _clauses(text):
            if _RELEASE.search(clause):  # "any volume is fine": releases a need, wants no value ("fine" hair)
                continue
            spans: list[tuple[int, int]] = []
            found = [
                m
                for m in (cv._value_re.finditer(clause) if cv._value_re else ())
                if not _NOT_A_VALUE.match(clause, m.end())
            ]
            for m in found:
                key = m.group(1)
                attr, value = cv.values[key] if key in cv.values else (cv.flags[key], True)
                named_only = key in cv.values and key == normalize_phrase(attr.replace("_", " "))
                if named_only and any(o is not m and cv.values.get(o.group(1), ("",))[0] == attr for o in found):
                    continue  # a value synonym that is the attribute's own name: "noise cancelling: none" names it
                if _negated(clause, m.start(), spans) or _NEGATED_AFTER.match(clause, m.end()):
                    _set_exclude(new, attr, value)
                else:
                    _set_want(new, attr, value, same_message=attr in wanted_here)
                    wanted_here.add(attr)
                spans.append(m.span())
            spans = []
            for m in cv._brand_re.finditer(clause) if cv._brand_re else ():
                brand = cv.brands[m.group(1)]
                if _negated(clause, m.start(), spans):
                    new.brands = [b for b in new.brands if normalize_phrase(b) != normalize_phrase(brand)]
                    if brand not in new.exclude_brands:
                        new.exclude_brands.append(brand)
                else:
                    new.exclude_brands = [
                        b for b in new.exclude_brands if normalize_phrase(b) != normalize_phrase(brand)
                    ]
                    new.brands = (new.brands if brand_said else []) + (
                        [brand] if brand not in new.brands or not brand_said else []
                    )
                    brand_said = True
                    _unrelease(new, "brand")
                spans.append(m.span())
        for m in cv._short_re.finditer(user_text) if cv._short_re else ():
            attr, value = cv.short[m.group(1)]
            _set_want(new, attr, value, same_message=attr in wanted_here)
            wanted_here.add(attr)
        low = user_text.lower()
        names = {a for a, _ in cv.values.values()} | set(cv.flags.values())
        for name in sorted(names, key=lambda n: -len(n)):  # "skin type doesn't matter" releases skin type, not type
            spoken = re.escape(normalize_phrase(name.replace("_", " ")))
            said = re.search(
                rf"\bany {spoken}\b|(?:(?<=\bthe )|(?<![\w-] ))\b{spoken} (?:doesn't|does not|don't) matter|"
                rf"\bno preference (?:on|for|about) (?:the )?{spoken}\b|"
                rf"\b(?:don't|do not) mind (?:the|which|what) {spoken}\b",
                low,
            )
            if said:
                new.attributes.pop(name, None)
                new.exclude_attributes.pop(name, None)
                _release(new, name)
                low = low[: said.start()] + " " * (said.end() - said.start()) + low[said.end() :]
        if re.search(r"\bany brand\b|\bbrand (?:doesn't|does not) matter", low):
            new.brands = []
            _release(new, "brand")
    return new


def needs_from_dialogue(
    messages: list[dict[str, Any]],
    vocabulary: Vocabulary,
    category: str | None = None,
    last_budget: tuple[float | None, float | None] | None | str = "read",
) -> ShopperNeeds:
    """Needs after every user message of `messages` (OpenAI-style dicts), folded in order.

    Args:
        messages: the dialogue so far; only `user` messages are read.
        vocabulary: the catalog vocabulary.
        category: when given, the whole dialogue is read in this category (e.g. chosen in the UI).
        last_budget: the last message's budget when the caller has read it already (see `update_needs`).
    """
    needs = ShopperNeeds(category=category)
    users = [m for m in messages if m.get("role") == "user" and isinstance(m.get("content"), str)]
    for i, m in enumerate(users):
        budget = last_budget if i == len(users) - 1 and m is messages[-1] else "read"
        needs = update_needs(needs, m["content"], vocabulary, category=category, budget=budget)
    return needs
