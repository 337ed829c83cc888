"""Quantities in shop text, read into comparable values: numbers with units ("20 hours", "1 TB", "6.1 in",
"500 pieces"), ages ("for ages 8+") and sizes ("XL", "US 10").

    find_quantities("512 GB, lasts 2 days")         # [Quantity(5.12e11, "data", ...), Quantity(172800.0, "time", ...)]
    parse_value("1 TB"), parse_value("16 GB RAM")   # (1e12, "data"), (1.6e10, "data")
    order("20 hours", "2 days")                     # -1: 20 hours is less than 2 days
    order("XL", "L")                                # 1: clothing sizes XXS < XS < S < M < L < XL < XXL
    same(a, b)                                      # equal within rounding (2.5%; 10% when `approx`)

A unit table, not a units library: shop texts use some forty units in a dozen dimensions, and the units still have
to be found in prose ("6.1 in" is a length, "in" alone is a word), which a library does not do. pint would cost
about 1 s on first use (import and registry on this machine) against a budget of 0.8 s for the first checked
sentence, and four more packages; sizes and ages are no units at all. A count ("500 pieces", "35 Pieces", "128 Page
Lab Manual") is its own dimension per noun, so "250 experiments" is only compared with another number of experiments.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from assistant.text import singular

# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    **{u: ("time", 1.0) for u in ("s", "sec", "secs", "second", "seconds")},
    **{u: ("time", 60.0) for u in ("min", "mins", "minute", "minutes")},
    **{u: ("time", 3600.0) for u in ("h", "hr", "hrs", "hour", "hours")},
    **{u: ("time", 86400.0) for u in ("day", "days")},
    **{u: ("time", 604800.0) for u in ("week", "weeks", "wk", "wks")},
    **{u: ("time", 2629800.0) for u in ("month", "months", "mo")},
    **{u: ("time", 31557600.0) for u in ("year", "years", "yr", "yrs")},
    "kb": ("data", 1e3),
    "mb": ("data", 1e6),
    "gb": ("data", 1e9),
    "tb": ("data", 1e12),
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    **{u: ("length", 0.0254) for u in ("in", "inch", "inches", '"', "”", "''")},
    **{u: ("length", 0.3048) for u in ("ft", "foot", "feet", "'")},
    **{u: ("length", 1609.344) for u in ("mi", "mile", "miles")},
    **{u: ("mass", 0.001) for u in ("g", "gram", "grams")},
    **{u: ("mass", 1.0) for u in ("kg", "kgs", "kilogram", "kilograms")},
    **{u: ("mass", 0.0283495) for u in ("oz", "ounce", "ounces")},
    **{u: ("mass", 0.453592) for u in ("lb", "lbs")},
    **{u: ("volume", 0.001) for u in ("ml", "milliliter", "milliliters", "millilitre", "millilitres")},
    **{u: ("volume", 1.0) for u in ("l", "liter", "liters", "litre", "litres")},
    "fl oz": ("volume", 0.0295735),
    **{u: ("volume", 3.78541) for u in ("gal", "gallon", "gallons")},
    **{u: ("power", 1.0) for u in ("w", "watt", "watts")},
    "kw": ("power", 1000.0),
    "mah": ("charge", 1.0),
    "ah": ("charge", 1000.0),
    "v": ("voltage", 1.0),
    "hz": ("frequency", 1.0),
    "khz": ("frequency", 1e3),
    "mhz": ("frequency", 1e6),
    "ghz": ("frequency", 1e9),
    **{u: ("resolution", 1.0) for u in ("mp", "megapixel", "megapixels")},
    "mph": ("speed", 0.44704),
    "km/h": ("speed", 0.277778),
}
_NUMBER = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_UNIT_WORDS = sorted((u for u in UNITS if u[0].isalpha()), key=len, reverse=True)
_UNIT = re.compile(
    r"(?<![\w.$€£₹])" + _NUMBER + r"(?:\s?[-–]\s?|\s?)(?P<unit>" + "|".join(re.escape(u) for u in _UNIT_WORDS) + r")"
    r"(?![\w])|(?<![\w.$€£₹])" + _NUMBER.replace("num", "num2") + r"\s?(?P<mark>\"|”|''|')(?!\w)",
    re.I,
)
_AREA = re.compile(
    r"(?<![\w.])(?P<a>\d+(?:\.\d+)?)\s?[x×]\s?(?P<b>\d+(?:\.\d+)?)\s?(?P<unit>ft|feet|in|inch(?:es)?|cm|m)\b", re.I
)
_AGE = re.compile(
    r"\bages?\s*(?P<a1>\d+)(?:\s*(?:\+|and (?:up|older)|or older|&\s*up|(?:[-–]|to)\s*\d+))?(?:\s*(?:years|yrs))?"
    r"|(?<![\w.])(?P<a2>\d+)\s*\+?\s*(?P<u2>years?|yrs?|months?)(?:\s*old)?\s*(?:\+|and (?:up|older)|or older|&\s*up)"
    r"|(?<![\w.])(?P<a3>\d+)\s*\+\s*(?P<u3>years?|yrs?|months?)?",
    re.I,
)
# a count: a number and the noun it counts ("500 pieces", "35 Pieces", "2 seats"); the noun is the dimension
_COUNT = re.compile(r"(?<![\w.$€£₹#])" + _NUMBER + r"[ \t-]?(?P<noun>pcs?|pce|ct|pk|[A-Za-z]{3,})\b")
_NOT_NOUNS = frozenset(
    "and or the for with from that this than then per each off out but are was were has had have its our you your "
    "more less over under about around times time percent dollars bucks euros pounds rupees usd eur gbp inr".split()
)
_PIECES = {"pc": "piece", "pcs": "piece", "pce": "piece", "ct": "count", "pk": "pack"}

SIZES = {"xxs": 0, "xs": 1, "s": 2, "m": 3, "l": 4, "xl": 5, "xxl": 6, "xxxl": 7, "2xl": 6, "3xl": 7}
SIZES.update(
    {"x-small": 1, "extra small": 1, "small": 2, "medium": 3, "large": 4, "x-large": 5, "extra large": 5}
    | {"xx-large": 6, "2x-large": 6, "xxx-large": 7, "3x-large": 7}
)


@dataclass(frozen=True)
class Quantity:
    """One quantity as written: `value` in its dimension's base unit (seconds, bytes, metres, kg, litres, ...)."""

    value: float
    dim: str  # "time", "data", "length", "area", "age", "count:piece", ...
    start: int
    end: int
    text: str
    number: tuple[int, int]  # span of the number alone


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def find_quantities(text: str) -> list[Quantity]:
    """Every quantity of `text`, in order: areas ("5x7 ft"), ages ("ages 8+", "3 years and up"), numbers with a
    unit ("20 hours", "6.1-inch", '54"') and counts ("500 pieces"); a span is read once, in that order."""
    out: list[Quantity] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in taken)

    for m in _AREA.finditer(text):
        f = UNITS[m.group("unit").lower()][1]
        out.append(Quantity(_num(m["a"]) * _num(m["b"]) * f * f, "area", *m.span(), m.group(), m.span("b")))
        taken.append(m.span())
    for m in _AGE.finditer(text):
        group = next(g for g in ("a1", "a2", "a3") if m.group(g))
        unit = (m.group("u2") or m.group("u3") or "") if group != "a1" else ""
        if group == "a3" and not unit and not re.search(r"\b(ages?|kids?|child|children)\b", text[: m.start()][-24:]):
            continue  # "8+" alone is an age only after "ages" / "kids"
        if free(*m.span()):
            years = _num(m.group(group)) / (12.0 if unit.lower().startswith("month") else 1.0)
            out.append(Quantity(years, "age", *m.span(), m.group(), m.span(group)))
            taken.append(m.span())
    for m in _UNIT.finditer(text):
        if not free(*m.span()):
            continue
        if m.group("num") is not None:
            unit, num, span = m.group("unit").lower(), m.group("num"), m.span("num")
        else:
            unit, num, span = m.group("mark"), m.group("num2"), m.span("num2")
        if unit == "in" and re.match(r"\s*-?\s*\d", text[m.end() :]):  # "2 in 1", "2-in-1": not inches
            continue
        dim, factor = UNITS[unit]
        out.append(Quantity(_num(num) * factor, dim, *m.span(), m.group(), span))
        taken.append(m.span())
    for m in _COUNT.finditer(text):
        noun = m.group("noun").lower()
        if noun in UNITS or noun in _NOT_NOUNS or not free(*m.span()):
            continue
        noun = _PIECES.get(noun, singular(noun))
        out.append(Quantity(_num(m.group("num")), f"count:{noun}", *m.span(), m.group(), m.span("num")))
        taken.append(m.span())
    return sorted(out, key=lambda q: q.start)


def parse_value(value: object) -> tuple[float, str] | None:
    """A catalog value as `(value, dimension)`: its first quantity ("16 GB RAM" -> data), a clothing size
    ("XL" -> size), else its number with the words around it as the dimension ("US 10" -> "number:us",
    "SPF 30" -> "number:spf"); None when it holds no number and is no size."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value), "number:"
    s = str(value).strip()
    rank = SIZES.get(s.lower())
    if rank is not None:
        return float(rank), "size"
    qs = find_quantities(s)
    if qs:
        return qs[0].value, qs[0].dim
    m = re.search(_NUMBER, s)
    if m is None:
        return None
    words = re.sub(_NUMBER, " ", s).lower().split()
    return _num(m.group("num")), "number:" + " ".join(words)


def same(a: float, b: float, approx: bool = False) -> bool:
    """Equal within rounding: 2.5% (a 1 TB drive of 1024 GB, a 6.1 in screen said as 6 in), 10% after "about"."""
    return abs(a - b) <= (0.1 if approx else 0.025) * max(abs(a), abs(b), 1e-12)


def order(a: object, b: object) -> int | None:
    """-1, 0 or 1 as catalog value `a` is less than, equal to or more than `b`; None when they are not
    comparable (different dimensions, no number)."""
    x, y = parse_value(a), parse_value(b)
    if x is None or y is None or x[1] != y[1]:
        return None
    if same(x[0], y[0]) and x[1] != "size":
        return 0
    return (x[0] > y[0]) - (x[0] < y[0])


def closest(stated: float, values: list[float]) -> int:
    """Index of the value closest to `stated` on a log scale (456 GB is closer to 512 GB than to 16 GB)."""

    def gap(v: float) -> float:
        return abs(math.log(max(abs(v), 1e-12)) - math.log(max(abs(stated), 1e-12)))

    return min(range(len(values)), key=lambda i: gap(values[i]))
