"""Facts a reply states with a label or a unit, checked against the product they are about: the part of
`assistant.checks.grounding` that reads sizes, labelled values and numbers.

    check_labelled(text, spans, owner, matcher, catalog)    # [Fact]: "size XL", "navy material"
    check_quantities(text, taken, owner, catalog)            # [Fact]: "456 GB", "for ages 8+"

* **Labelled values**: an attribute's name next to a value ("size XL", "color navy", "the material is wool",
  "navy material", "size 9") is a claim about *that* attribute, whatever attribute the value usually belongs to:
  "navy material" is wrong for linen curtains even when they are navy, and "size XL" is read although values of
  one or two letters are not read alone (the "s" of "it's" is not size S). After a colon a value of another
  attribute is left to the plain value check ("color: wool" is about the material, repaired with its label).
* **Quantities** (`assistant.checks.quantities`: "456 GB", "20 hours", "for ages 8+", "500 pieces"): checked
  against the product's attributes of the same dimension (the one named near it, else the closest value), else,
  for catalogs without an attribute table, against the quantities of that dimension in the product's title and
  description. Wrong when none of them is the stated one (2.5%, or 10% after "about"); not checked when the
  product states nothing of that dimension, after bounds and contrasts ("up to", "under", "than", "you want"), or
  for durations of events ("charges in 2 hours", "ships within 3 days").
A wrong quantity is repaired by its number alone when the units agree ("512 GB" for "456 GB", "500 pieces" for
"1000 pieces"), else by the catalog's own wording.
"""

from __future__ import annotations

import functools
import math
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.checks.grounding_index import _FREE_ATTR, NameIndex, tokenize
from assistant.checks.quantities import UNITS, Quantity, closest, find_quantities, parse_value, same
from assistant.understanding.vocabulary import MAX_CLOSED_SET

_CONTRAST = re.compile(
    r"\b(than|as|instead of|unlike|versus|vs\.?|compared (to|with)|other|another|prefer(ence|red)?s?( for)?|"
    r"wants?|wanted|needs?|needed|requires?|looking for|asked for|mentioned|wear|wears|your|you)(\s+[\w-]+){0,2}\s*$",
    re.I,
)
_NEGATION = re.compile(r"\b(not|no|isn'?t|aren'?t|without|never)\s*$", re.I)
_BOUND = re.compile(
    r"\b(under|below|over|above|up to|at least|at most|more than|less than|fewer than|than|between|from|within|"
    r"in|after|every|per|by|extra|another|additional|each|only)\s*$",
    re.I,
)
_APPROX = re.compile(r"(about|around|approximately|roughly|~|nearly|almost)\s*$", re.I)


@dataclass(frozen=True)
class Fact:
    """A checked fact, the fields of `assistant.checks.grounding.Mention`."""

    product_id: str
    field: str
    stated: str
    actual: Any
    ok: bool
    start: int
    end: int


@dataclass
class _Labels:
    """A category's attribute names and values, for labelled reading."""

    forward: re.Pattern  # label, gap, value
    backward: re.Pattern  # value, label
    names: dict[str, str]  # label as written (lower case) -> attribute name
    values: dict[str, set[str]]  # attribute name -> its values in the category (lower case)


_CACHE: weakref.WeakKeyDictionary[NameIndex, _Labels | None] = weakref.WeakKeyDictionary()


def _labels(m: NameIndex) -> _Labels | None:
    """The labelled-value patterns of one name index (built once per index)."""
    if m in _CACHE:
        return _CACHE[m]
    values: dict[str, set[str]] = {}
    holders: dict[str, int] = {}
    for p in m.products.values():
        for name, value in p.attributes.items():
            if _FREE_ATTR.search(name):
                continue
            holders[name] = holders.get(name, 0) + 1
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, str) and v.strip() and len(v) <= 40:
                    values.setdefault(name, set()).add(v.strip().lower())
    # a closed set: few values, held by a tenth of the category at least (a free-text catalog's few scraped
    # tables -- "Package Weight" of 1 bike in 71 -- are not the category's attributes)
    least = max(2.0, 0.1 * len(m.products))
    values = {name: vs for name, vs in values.items() if len(vs) <= MAX_CLOSED_SET and holders[name] >= least}
    names = {name.replace("_", " ").lower(): name for name in values}
    if not names:
        _CACHE[m] = None
        return None
    every = sorted({v for vs in values.values() for v in vs}, key=len, reverse=True)
    label = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    value = "|".join(re.escape(v) for v in every)
    forward = re.compile(
        rf"(?<![\w-])(?P<label>{label})(?P<gap>\s*[:=]\s*|\s+(?:is|are|of)\s+|\s+)"
        rf"(?P<value>(?:{value})(?![\w-])|(?:(?-i:[A-Z]{{1,3}})\s?)?\d+(?:\.\d+)?(?![\w%-]|\.\d))",
        re.I,
    )
    backward = re.compile(rf"(?<![\w-])(?P<value>{value})(?:\s+|\s*-\s*)(?P<label>{label})(?![\w-])", re.I)
    _CACHE[m] = _Labels(forward, backward, names, values)
    return _CACHE[m]


def label_names(m: NameIndex) -> set[str]:
    """The category's attribute names as people write them ("battery life")."""
    labels = _labels(m)
    return set(labels.names) if labels else set()


def _equal(stated: str, actual: Any) -> bool:
    """A labelled value against the product's: same words (any case), one of a list, or the same number."""
    values = actual if isinstance(actual, list) else [actual]
    low = stated.strip().lower()
    if any(str(v).strip().lower() == low for v in values):
        return True
    if re.fullmatch(r"\d+(?:\.\d+)?", low):  # "size 9" for "US 10": the numbers decide
        nums = [parse_value(v) for v in values]
        return any(n is not None and same(float(low), n[0]) for n in nums)
    said = parse_value(stated)  # "US 15" for "US 10"
    return said is not None and any(
        (n := parse_value(v)) is not None and n[1] == said[1] and same(said[0], n[0]) for v in values
    )


def check_labelled(
    text: str, spans: list[Any], owner: Callable[[int, int], str | None], m: NameIndex, catalog: Any
) -> list[Fact]:
    """Mentions of values stated with their attribute's name (see the module docstring)."""
    labels = _labels(m)
    if labels is None:
        return []
    out = []
    found = [(mm, True) for mm in labels.forward.finditer(text)] + [
        (mm, False) for mm in labels.backward.finditer(text)
    ]
    for mm, forward in sorted(found, key=lambda f: f[0].start("value")):
        start, end = mm.span("value")
        if any(s.start <= start < s.end or s.start < end <= s.end for s in spans):
            continue
        name = labels.names[mm.group("label").lower()]
        said = mm.group("value")
        unit = find_quantities(text[start : end + 12])
        if any(c.isdigit() for c in said) and unit and not unit[0].dim.startswith("count:") and unit[0].start <= 3:
            continue  # "battery life of 20 hours": a quantity, read as one
        own = said.lower() in labels.values[name]
        if forward and ":" in mm.group("gap") and not own and not any(c.isdigit() for c in said):
            continue  # "color: wool": about the material; the value check repairs it with its label
        if not forward and len(said) <= 2 and not said.isupper():
            continue
        first = min(mm.start("label"), start)
        if _CONTRAST.search(text[max(0, first - 48) : first]):
            continue  # "you wear size XL", "than the navy material"
        pid = owner(start, end)
        p = catalog.get(pid) if pid else None
        if p is None or name not in p.attributes or isinstance(p.attributes[name], bool):
            continue
        ok = _equal(said, p.attributes[name])
        if _NEGATION.search(text[max(0, first - 14) : first]):
            ok = not ok
        out.append(Fact(p.id, name, said, p.attributes[name], ok, start, end))
    return out


@functools.lru_cache(maxsize=8192)
def _text_quantities(text: str) -> tuple[Quantity, ...]:
    return tuple(find_quantities(text))


def _unit(q: Quantity, source: str) -> tuple[str, float] | str:
    """The unit of `q` as its dimension and factor ('54"' and "54 inches" agree), or as written."""
    unit = source[q.number[1] : q.end].strip(" -").lower()
    return UNITS.get(unit, unit)


_MANY_MEANINGS = frozenset({"length", "time", "mass", "area", "speed", "voltage"})
# what a title or description states once, with its own noun: checked in free text ("500 pieces", "ages 8+")
_FREE_TEXT_DIMS = frozenset(
    {"age"} | {f"count:{n}" for n in "piece pack count page card player experiment book game puzzle".split()}
)


def closed_sets(m: NameIndex) -> set[str]:
    """The attributes of `m`'s products whose values form a closed set: at most `MAX_CLOSED_SET` distinct values,
    held by two products and a tenth of the category at least."""
    labels = _labels(m)
    return set(labels.values) if labels else set()


_SYNONYMS = {"battery": {"lasts", "last", "charge", "playtime", "runtime"}, "weight": {"weighs", "weigh", "weighing"}}
_SYNONYMS["screen"] = {"display", "screen", "touchscreen"}


def _topic(name: str) -> set[str]:
    """The words that name attribute `name` in a sentence: its own (4+ letters) and a few synonyms."""
    words = {w for w in re.findall(r"[a-z]{4,}", name.lower()) if w != "size"}
    return words | {s for w in words for s in _SYNONYMS.get(w, ())} | ({"size"} if not words else set())


def _words_near(text: str, q: Quantity) -> set[str]:
    """Words (4+ letters) within 30 characters of a quantity, in its clause."""
    left = re.split(r"[.;!?,()|]", text[max(0, q.start - 30) : q.start])[-1]
    right = re.split(r"[.;!?,()|]", text[q.end : q.end + 30])[0]
    return set(re.findall(r"[a-z]{4,}", f"{left} {right}".lower())) - {"with", "that", "this", "have", "from"}


def check_quantities(
    text: str, taken: list[tuple[int, int]], owner: Callable[[int, int], str | None], m: NameIndex, catalog: Any
) -> list[Fact]:
    """Mentions of quantities stated about a product (see the module docstring); `taken`: spans already read
    (product names, prices, values)."""
    out = []
    for q in find_quantities(text):
        if any(q.start < b and a < q.end for a, b in taken):
            continue
        before = text[max(0, q.start - 48) : q.start]
        if _BOUND.search(before) or _CONTRAST.search(before):
            continue
        pid = owner(q.start, q.end)
        p = catalog.get(pid) if pid else None
        if p is None:
            continue
        near = _words_near(text, q)
        attrs = []
        closed = closed_sets(m)
        for name, value in p.attributes.items():
            for v in value if isinstance(value, list) and name in closed else [value] if name in closed else []:
                parsed = parse_value(v)
                if parsed is not None and parsed[1] == q.dim:
                    attrs.append((name, v, parsed[0]))
        labelled = [a for a in attrs if _topic(a[0]) & near]
        # a length, a time or a weight names its attribute ("a 6.1-inch screen", "weighs 2 lbs"): a lens of
        # 25 mm or a sensor of 1 inch is not the screen; storage, charge, counts and ages have one meaning
        pool = labelled or ([] if q.dim in _MANY_MEANINGS else attrs)
        approx = bool(_APPROX.search(before))
        if pool:
            if any(same(q.value, v, approx) for _, _, v in pool):
                out.append(Fact(p.id, pool[0][0], q.text, pool[0][1], True, q.start, q.end))
                continue
            name, raw, _ = pool[closest(q.value, [v for _, _, v in pool])]
            source, found = str(raw), _text_quantities(str(raw))
        elif attrs:
            continue  # the product's attributes of this dimension are about something the reply does not name
        else:
            source = f"{p.title} | {p.description or ''}"
            if q.dim not in _FREE_TEXT_DIMS:
                continue  # a watt or a mile in a description may be about anything (motor, peak, range)
            found = tuple(f for f in _text_quantities(source) if f.dim == q.dim)
            if not found:
                continue  # the product states nothing of this dimension (about the same thing)
            if any(same(q.value, f.value, approx) for f in found):
                out.append(Fact(p.id, "description", q.text, found[0].text, True, q.start, q.end))
                continue
            name, raw = "description", None
        best = found[closest(q.value, [f.value for f in found])] if found else None
        if best is not None and (q.dim.startswith("count:") or _unit(best, source) == _unit(q, text)):
            number = source[best.number[0] : best.number[1]]  # same unit: only the number changes
            stated = text[q.number[0] : q.number[1]]
            out.append(Fact(p.id, name, stated, number, False, q.number[0], q.number[1]))
        else:
            out.append(Fact(p.id, name, q.text, raw if raw is not None else best.text, False, q.start, q.end))
    return out


# -- which product a fact is about, and the plain value and price rules of `Grounder` ---------------------------

# what may sit between a product's name and a fact about it ("the X ($49)", "X: $49", "X costs only $49") ...
NEXT_TO_BEFORE = re.compile(
    r"[\s(:,\-–—]*(?:(?:is|are|at|for|costs?|priced|at|retails|sells|goes|comes|in|which|that|now|only|just|"
    r"currently|about|around|roughly|of|a|an|price|priced at|with|has|features?|offers?|in|the)[\s(:,\-–—]+)*",
    re.I,
)
# ... and between a fact and the product it introduces ("for $79 you get the Y", "At $799, the Y")
NEXT_TO_AFTER = re.compile(
    r"[\s),:\-–—]*(?:(?:you|get|gets|buys?|can|could|will|would|the|a|an|for|is|are|there's|there|with|it's)"
    r"[\s),:\-–—]+)*",
    re.I,
)
CLAUSE_BREAK = re.compile(
    r"[;,]|\s[-–—]\s|\((?!\s*[$€£₹]?\d)|\b(?:while|whereas|but|although|though|whilst|compared|unlike|versus|vs\.?|"
    r"than|and|or|however)\b",
    re.I,
)


def clause(text: str, sent: tuple[int, int], pos: int) -> tuple[int, int]:
    """The clause of sentence `sent` holding `pos` (split at commas, semicolons, dashes and contrast words)."""
    a, b = sent
    for m in CLAUSE_BREAK.finditer(text, a, b):
        if m.end() <= pos:
            a = m.end()
        elif m.start() > pos:
            b = m.start()
            break
    return a, b


def drop_contrasts(mentions: list[Any], sentences: list[tuple[int, int]]) -> list[Any]:
    """Drop a wrong attribute value when the same sentence also states the product's right value for that
    attribute ("linear pull brakes, less powerful than disc brakes"); order by position."""

    def sent(pos: int) -> int:
        return next((i for i, (a, b) in enumerate(sentences) if a <= pos < b), -1)

    right = {(m.product_id, m.field, sent(m.start)) for m in mentions if m.ok and m.field != "price"}
    keep = [m for m in mentions if m.ok or m.field == "price" or (m.product_id, m.field, sent(m.start)) not in right]
    return sorted(keep, key=lambda x: x.start)


def price_ok(stated: float, has_cents: bool, actual: float, approx: bool) -> bool:
    if abs(stated - actual) <= 0.011:
        return True
    if approx:
        return abs(stated - actual) <= 0.1 * max(actual, 1e-9)
    return not has_cents and stated in (math.floor(actual), float(round(actual)))


def value_ok(key: tuple[str, ...], actual: Any) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    return any(tuple(tokenize(str(v))) == key for v in values)
