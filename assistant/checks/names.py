"""Product names a reply invents without a brand: the part of `assistant.checks.grounding` that reads
"the <words> <kind of product>" and recommended capitalised titles, and matches them against the catalog's titles
with rapidfuzz.

    invented_names(text, spans, matcher, whole)   # [("unknown", "alert jacket", start, end), ...]

* **"the <modifiers> <kind>"** (after "the" or "our"; a kind is a `type` value of the category, or without them
  the head noun of 2+ of its titles, a short title's last word counting twice: "jacket", "floor lamp"). Unknown
  when a modifier is neither a word of the category's catalog (attribute values, brands, lower-case words of
  descriptions) nor a generic word ("the red jacket", "the first jacket", "the perfect floor lamp", "the 2-in-1
  laptop", "the DSLR body"), no word makes it a clause ("the features you want in shoes"), and the phrase
  without the generic words matches no title of the category (rapidfuzz `token_set_ratio` below 80: "the Dune
  lamp" and "the Dnue floor lamp" are the Brightloft Dune Floor Lamp). So "The alert jacket is a luxury item"
  and "the Aroma and White floor lamp" are unknown; "the jacket", "a jacket", "this one", "the first one" and a
  shown product's partial name are not. An all lower-case name counts only as the subject opening a sentence of
  a reply that names no catalog product ("The alert jacket is ..."): replies describe products in many
  lower-case words ("the perfect road shoes").
* **Recommended capitalised titles** that the brand-led reader left as a foreign phrase ("I recommend The Silent
  Shadows", "you might enjoy The Night Garden"): after a recommendation cue, 2+ capitalised words that are not all
  ordinary words and match no title of the catalog (the same ratio) are unknown, even when one product's text
  holds every word.
"""

from __future__ import annotations

import re
import weakref
from collections import defaultdict
from typing import Any

from rapidfuzz import fuzz, process

from assistant.checks.grounding_index import NameIndex, tokenize
from assistant.text import plural, singular
from assistant.understanding.vocabulary import COMMON_WORDS, KIND_ATTRIBUTES
from retrieval.catalog import Catalog

TITLE_MATCH = 80  # rapidfuzz token_set_ratio (0-100) at which a phrase names a catalog title
GENERIC = frozenset(
    """first second third fourth fifth last other same next previous above following former latter final both one
    ones another perfect ideal great good nice best better top excellent fantastic amazing lovely beautiful
    gorgeous stunning stylish elegant chic classic timeless trendy modern versatile practical comfortable comfy
    cozy cosy warm warmer warmest cool soft softer durable sturdy rugged lightweight light lighter lightest heavy
    heavier cheaper cheapest pricier priciest expensive affordable budget premium luxury luxurious quality
    reliable sleek slim compact portable powerful fast quick new newer newest latest popular favorite favourite
    recommended suggested selected chosen mentioned shown listed featured similar matching alternative bigger
    biggest smaller smallest larger largest longer longest shorter higher highest lower lowest waterproof
    insulated breathable stretchy casual formal everyday smart simple basic plain pretty cute fun functional
    solid neat fine special unique entire whole full overall actual exact specific particular original genuine
    real little big small large long short tall wide narrow thin thick dark bright pale deep rich bold subtle
    neutral right correct wrong ideal exact matching coordinating cheap pricey value great-value well-made
    high-end mid-range entry-level
    budget-friendly top-rated best-selling all-round everyday wear main only single extra spare complete""".split()
)
_AUDIENCES = frozenset(
    "men women man woman kids kid adults adult boys girls unisex baby babies toddlers teens".split()
)
_DETERMINER = re.compile(r"\b(?:the|our)\s+", re.I)
# words that make "the <words> <kind>" a clause, not a name ("the features you want in shoes")
_CLAUSE_WORDS = frozenset(
    """i me my you your we us he she it its they them their is are was were be been being will would can could
    should may might must do does did have has had not no so very too most more less least than then that this
    these those which who whom whose what when where why how if as at by for from in into of on onto to with
    without about among between help find get make want need like use using used also just only even""".split()
)
# "The alert jacket is ...": a lower-case name is read only as the subject opening a sentence, in a reply naming
# no catalog product (replies describe products with many lower-case words: "the perfect road shoes")
_SUBJECT = re.compile(r"\s+(?:is|are|was|were|has|have|comes?|features?|offers?|costs?|sells?|makes?)\b", re.I)
_WORD = re.compile(r"[^\W_][\w'&.-]*|&")
_STRONG_CUE = re.compile(
    r"(?:\brecommend(?:ed|s)?|\bsuggest(?:ed|s)?|\btry|\bconsider|\bcheck out|\benjoy|\bgo with|\bcalled|\bnamed"
    r"|\bpick|\bchoose|\bbuy|\border|\blove)(?:\s+(?:the|reading))?\s*[\"“']?\s*$",
    re.I,
)


class _Kinds:
    """One name index's kinds of product, its own words and title names, for the invented-name reader."""

    def __init__(self, m: NameIndex):
        heads: dict[str, int] = {}
        kinds: set[tuple[str, ...]] = set()
        for p in m.products.values():
            for k in KIND_ATTRIBUTES:
                v = p.attributes.get(k)
                if isinstance(v, str) and tokenize(v):
                    kinds.add(tuple(tokenize(v)))
            name = [t for t in m.names[p.id] if t.isalpha() and len(t) >= 3]
            if name:  # a short title's last word is its kind ("Trailblazer Rain Jacket")
                heads[name[-1]] = heads.get(name[-1], 0) + (2 if tokenize(p.title)[-1:] == name[-1:] else 1)
        values = {
            t
            for p in m.products.values()
            for k, v in p.attributes.items()
            if k not in KIND_ATTRIBUTES
            for t in tokenize(str(v))
        }
        if not kinds:  # no `type` values: the titles' head nouns ("Smart Watch for Women": not "women")
            kinds = {(h,) for h, n in heads.items() if n >= 2 and h not in values | GENERIC | _AUDIENCES}
        kinds |= {k[:-1] + (form,) for k in kinds for form in (plural(k[-1]), singular(k[-1]))}
        self.kinds = kinds
        words = sorted({r"[\s-]+".join(map(re.escape, k)) for k in kinds}, key=len, reverse=True)
        self.pattern = re.compile(rf"(?<![\w-])(?:{'|'.join(words)})(?![\w-])", re.I) if words else None
        self.own = m.value_vocab | m.plain  # not title words: those must match a title with the kind
        self.titles = [" ".join(m.names[pid]) for pid in m.products]
        self.tokens = list(m.holders)


_CACHE: weakref.WeakKeyDictionary[NameIndex, _Kinds] = weakref.WeakKeyDictionary()


def _kinds(m: NameIndex) -> _Kinds:
    if m not in _CACHE:
        _CACHE[m] = _Kinds(m)
    return _CACHE[m]


def names_a_title(phrase: str, titles: list[str]) -> bool:
    """Does `phrase` match one of `titles` well enough (rapidfuzz token_set_ratio >= `TITLE_MATCH`)?"""
    query = " ".join(tokenize(phrase))
    return bool(query) and process.extractOne(query, titles, scorer=fuzz.token_set_ratio, score_cutoff=TITLE_MATCH)


def _in_one_title(words: list[str], m: NameIndex, k: _Kinds) -> bool:
    """Does one title of `m` hold every word, each exactly or nearly (rapidfuzz ratio >= `TITLE_MATCH`)?"""
    common: set[str] | None = None
    for w in words:
        toks = tokenize(w)
        if not toks:
            continue
        near = process.extract(toks[0], k.tokens, scorer=fuzz.ratio, score_cutoff=TITLE_MATCH, limit=5)
        pids = set().union(*(m.holders[t] for t, _, _ in near)) if near else set()
        common = pids if common is None else common & pids
        if not common:
            return False
    return bool(common)


def _generic(word: str, own: set[str]) -> bool:
    w = word.casefold().strip("'\".")
    return (
        not w
        or w in GENERIC
        or w in own
        or singular(w) in own
        or plural(w) in own
        or any(c.isdigit() for c in w)
        or w in ("and", "&", "of", "a", "an", "the", "in", "with", "for")
        or bool(re.fullmatch(r"[^\W\d_]", w))
        or (word.isupper() and len(word) <= 5)  # "the DSLR body", "the LED lamp": technical terms
    )


def invented_names(text: str, spans: list[Any], m: NameIndex) -> list[tuple[str, str, int, int]]:
    """ "the <modifiers> <kind>" phrases that name no product of `m` (see the module docstring), as
    ("unknown", phrase, start, end); phrases overlapping a named product's span are skipped."""
    k = _kinds(m)
    if k.pattern is None:
        return []
    out = []
    for det in _DETERMINER.finditer(text):
        tail = text[det.end() : det.end() + 80]
        kind = k.pattern.search(tail)
        if kind is None or kind.start() == 0:
            continue  # "the jacket": no modifier
        between = tail[: kind.start()]
        words = _WORD.findall(between)
        if not words or len(words) > 4 or re.search(r"[,;:.!?()\n]|['’]s\b", between):
            continue
        if any(w.casefold() in _CLAUSE_WORDS for w in words):
            continue
        start, end = det.end(), det.end() + kind.end()
        if any(s.start < end and start < s.end for s in spans):
            continue
        fresh = [w for w in words if not _generic(w, k.own)]
        if not fresh:
            continue  # "the red jacket", "the first jacket", "the perfect floor lamp"
        if not any(w[0].isupper() for w in fresh):
            opening = not text[: det.start()].strip() or text[: det.start()].rstrip()[-1] in ".!?\n"
            if spans or not opening or not _SUBJECT.match(text[end:]):
                continue
        if names_a_title(" ".join(fresh + [kind.group()]), k.titles) or _in_one_title(fresh, m, k):
            continue  # a partial or misspelt title ("the Dnue floor lamp", "the Bemtava smartwatch")
        first = start + between.index(fresh[0])  # the name begins at its first own word ("recommended X watch")
        out.append(("unknown", text[first:end], first, end))
    return out


def _holds(title: str, run: str) -> bool:
    """Does `title` hold every word of `run`, fuzzily ("Kayano" in "Gel-Kayano", "Kestral" for "Kestrel")?"""
    words = tokenize(title)
    return all(any(t in w or fuzz.ratio(t, w) >= TITLE_MATCH for w in words) for t in tokenize(run) if t.isalpha())


def recommended_titles(
    text: str,
    names: list[tuple[str, str, int, int]],
    ordinary: set[str] | frozenset[str],
    whole: NameIndex,
    catalog: Any,
) -> list[tuple[str, str, int, int]]:
    """`names` (as `Grounder._brand_names` reads them) with each capitalised run that follows a recommendation
    cue, holds 2+ capitalised words (not all `ordinary`) and names no title turned "unknown" (an invented book
    title): a "foreign" run that matches no title of the whole catalog, or a run read as a product only because
    that product's description holds its words ("The Silent Shadows" is not "The Silent Patient")."""
    out = []
    for kind, name, a, b in names:
        if kind in ("foreign", "product") and _STRONG_CUE.search(text[max(0, a - 24) : a]):
            run = text[a:b]
            words = [w for w in re.findall(r"[^\W_][\w'-]*", run) if w not in ("The", "A", "An")]
            caps = [w for w in words if w[0].isupper()]
            odd = [w for w in words if w.casefold() not in ordinary]
            invented = not names_a_title(run, _kinds(whole).titles)
            if kind == "product":
                invented = invented and not _holds(catalog.get(name).title, run)
            if len(caps) >= 2 and odd and invented:
                kind, name = "unknown", run.strip().rstrip(".,;:!?")
        out.append((kind, name, a, b))
    return out


# -- the words of the capitalised-name reader (`Grounder._brand_names`) ------------------------------------------

CUE_BEFORE = re.compile(
    r"(?:\bthe|\brecommend(?:ed|s)?|\bsuggest(?:ed|s)?|\btry|\bconsider|\bcheck out|\blike|\blove|\benjoy|"
    r"\bget|\bpick|\bchoose|\bgo with|\bcalled|\bnamed|\bbuy|\border)\s*$",
    re.I,
)
# capitalised words that are ordinary in a reply ("Great Choice", "Happy Shopping", "Key Features") or technical
# standards ("Windows 11", "Bluetooth 5"); a run made only of these is not a product name
ORDINARY = frozenset(COMMON_WORDS) | frozenset(
    """welcome great choice happy shopping key features feature highlights highlight option options top pick picks
    here there let know hope helps help sure absolutely course enjoy reading thanks thank note tip tips pros cons
    summary overall why what which how who when where recommendation recommendations alternative alternatives
    perfect excellent ideal good best better nice lovely amazing fantastic wonderful quality value deal deals
    price prices budget total cost shipping delivery returns return policy guide guides collection collections
    series edition version model models type types size sizes color colors colour colours style styles set sets
    pack bundle kit original classic premium deluxe standard basic plus pro max mini ultra lite new next first
    second third final step steps question questions answer answers detail details info information home page
    windows android ios bluetooth usb hdmi wifi wi fi gps lte nfc gen generation oled amoled lcd led ssd hdd ram
    cpu gpu chip chips core usd eur gbp inr monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december spring summer autumn winter
    fall christmas easter black friday cyber recommended recommend item items product products option choice""".split()
)


# a run ending with one of these names a part or a feature, not a product ("NVIDIA MX250 GPU")
PARTS = frozenset(
    """gpu cpu ssd hdd ram os processor processors sensor sensors lens lenses battery batteries motor motors display
    screen chip chipset card drive port ports cable charger adapter mount strap band case cover app apps software
    firmware system technology tech mode feature features support rating certified af engine frame fork brakes
    brake gears gear tires tire wheels wheel saddle pedals display panel keyboard speakers camera webcam""".split()
)
UNIT_AFTER = re.compile(
    r"[\s-]*(?:mph|mp|mb|gb|tb|hours?|hrs?|miles?|points?|degrees?|inch(?:es)?|ounces?|oz|lbs?|w|v|watts?|mm|cm|"
    r"atm|fps|k|x|days?|speeds?|gen)\b",
    re.I,
)


def words_of(catalog: Catalog) -> set[str]:
    """Words the catalog's descriptions use in lower case: ordinary words for this shop."""
    out: set[str] = set()
    for p in catalog:
        out.update(re.findall(r"(?<![\w-])[a-z][a-z]+(?![\w-])", p.description or ""))
    return out


def inferred_brands(catalog: Catalog) -> set[tuple[str, ...]]:
    """Brands of products without a `brand` field, read from titles: a title's first word when it is
    capitalised in the title, holds a letter, and at least 80% of its uses in all titles are as a first
    word (marketplace titles start with the brand; "Smart Watch, ..." words appear everywhere)."""
    first: dict[str, int] = defaultdict(int)
    anywhere: dict[str, int] = defaultdict(int)
    for p in catalog:
        toks = tokenize(p.title)
        for t in set(toks):
            anywhere[t] += 1
        if not p.brand and toks and p.title[:1].isalpha() and (p.title[:1].isupper() or p.title[1:2].isupper()):
            first[toks[0]] += 1
    generic = {"new", "best", "premium", "original", "flagship", "upgraded", "latest", "official", "genuine"}
    return {
        (t,) for t, n in first.items() if any(c.isalpha() for c in t) and t not in generic and n >= 0.8 * anywhere[t]
    }
