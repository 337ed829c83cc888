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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from retrieval.filters import Filters

AROUND_SPREAD = 0.2  # "around $100" -> 80..120
NEGATORS = {"not", "no", "non", "without", "except", "never", "avoid", "hate", "dislike", "nothing", "excluding",
            "don't", "dont", "doesn't", "isn't", "aren't", "won't", "instead", "but", "nor", "neither", "skip",
            "bad", "allergic"}
# Words that may sit between a negation and the value it negates ("no more Acme", "not in red").
FILLERS = {"a", "an", "the", "any", "anything", "want", "like", "need", "from", "by", "made", "of", "in", "with",
           "or", "and", "really", "too", "so", "to", "be", "is", "are", "it", "them", "one", "ones", "more", "i",
           "do", "please", "something", "color", "colour", "brand", "of", "that", "this", "those", "these", "mind"}
UNITS = ("kg", "g", "lb", "lbs", "inch", "inches", "in", "cm", "mm", "ml", "oz", "year", "years", "gb", "tb", "w",
         "watt", "watts", "hour", "hours", "h", "mah", "pack", "pcs", "pieces", "days", "minutes", "l", "%")
CATEGORY_SYNONYMS = {
    "apparel": ["apparel", "clothes", "clothing", "outfit", "wear", "garment"],
    "shoes": ["shoes", "shoe", "footwear", "sneakers", "boots"],
    "home": ["furniture", "kitchen", "decor", "household", "home goods"],  # bare "home" is too common ("for home")
    "electronics": ["electronics", "electronic", "gadget", "gadgets", "device", "tech"],
    "beauty": ["beauty", "makeup", "cosmetics", "skincare", "skin care"],
}

_NUM = r"\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?"
_CUR = r"(?:\s?(?:\$|dollars?|bucks|usd|eur|euros?|€))?"


def _norm(s: Any) -> str:
    return re.sub(r"\s+", " ", str(s).strip().lower())


def _phrase_re(phrases: list[str]) -> re.Pattern | None:
    """One regex matching any of `phrases` as whole words, longest first."""
    phrases = sorted({p for p in phrases if p}, key=len, reverse=True)
    if not phrases:
        return None
    return re.compile(r"(?<![\w$])(" + "|".join(re.escape(p) for p in phrases) + r")(?![\w])")


@dataclass
class CategoryVocabulary:
    """What can be matched in text for one category: attribute values, boolean attribute names, brands."""

    values: dict[str, tuple[str, Any]] = field(default_factory=dict)  # normalised value -> (attribute, value)
    flags: dict[str, str] = field(default_factory=dict)  # "waterproof" -> attribute name of a boolean attribute
    brands: dict[str, str] = field(default_factory=dict)  # normalised brand -> brand as in the catalog
    keywords: dict[str, float] = field(default_factory=dict)  # routing words -> weight
    short: dict[str, tuple[str, Any]] = field(default_factory=dict)  # "XS" -> ("size", "XS"), matched by case
    titles: set[str] = field(default_factory=set)  # lower-cased product titles
    _value_re: re.Pattern | None = None
    _brand_re: re.Pattern | None = None
    _short_re: re.Pattern | None = None
    _ref_re: re.Pattern | None = None

    def compile(self) -> None:
        self._value_re = _phrase_re(list(self.values) + list(self.flags))
        self._brand_re = _phrase_re(list(self.brands))
        if self.short:
            self._short_re = re.compile(r"(?<![\w'])(" + "|".join(map(re.escape, sorted(self.short, key=len)[::-1]))
                                        + r")(?![\w'])")
        brands = "|".join(re.escape(b) for b in sorted(self.brands, key=len, reverse=True)) or "(?!)"
        titles = "|".join(re.escape(t) for t in sorted(self.titles, key=len, reverse=True)) or "(?!)"
        self._ref_re = re.compile(rf"(?<!\w)(?:{titles})(?!\w)|\bthe (?:{brands}) one\b")


@dataclass
class Vocabulary:
    """Per-category matching vocabulary built from a catalog (see `from_catalog`)."""

    categories: dict[str, CategoryVocabulary]
    spelling: dict[str, str] = field(default_factory=dict)  # one-letter-deletion variant -> vocabulary word
    known: set[str] = field(default_factory=set)  # words never "corrected"
    words: set[str] = field(default_factory=set)  # the words of values, brands and titles (4+ letters)

    @classmethod
    def from_catalog(cls, catalog: Any, keywords_per_category: int = 150) -> Vocabulary:
        """Collect attribute values, boolean attributes, brands and routing keywords of every category.

        Args:
            catalog: a `retrieval.catalog.Catalog` (any iterable of products).
            keywords_per_category: how many distinctive title words each category gets for routing.

        Returns:
            The vocabulary. Short or numeric values ("M", "42") are left out: they collide with ordinary
            words and prices.
        """
        counts: dict[str, Counter] = defaultdict(Counter)  # category -> (value, attribute) counts
        title_df: dict[str, Counter] = defaultdict(Counter)
        n_products: Counter = Counter()
        cats: dict[str, CategoryVocabulary] = {}
        for p in catalog:
            cv = cats.setdefault(p.category, CategoryVocabulary())
            n_products[p.category] += 1
            if p.brand:
                cv.brands[_norm(p.brand)] = p.brand
            for name, value in p.attributes.items():
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, bool):
                        cv.flags[_norm(name.replace("_", " "))] = name
                    elif isinstance(v, str) and len(v.strip()) >= 3 and not re.fullmatch(r"[\d.,\s]+", v):
                        counts[p.category][(_norm(v), name, v)] += 1
                    elif isinstance(v, str) and v.strip() not in ("I", "A") and re.fullmatch(r"[A-Z0-9]*[A-Z]", v):
                        cv.short.setdefault(v.strip(), (name, v))
            cv.titles.add(_norm(p.title))
            values = " ".join(v for v in p.attributes.values() if isinstance(v, str))  # "wireless", "matte"
            words = f"{p.title} {values}".lower()
            title_df[p.category].update(set(re.findall(r"[a-z][a-z'-]{2,}", words)))
        for cat, cv in cats.items():
            for (nv, name, v), _ in counts[cat].most_common():  # most frequent attribute wins a shared value
                cv.values.setdefault(nv, (name, v))
            for nv, (name, v) in list(cv.values.items()):  # plural forms: "hoodies", "dresses"
                if nv[-1].isalpha() and not nv.endswith("s"):
                    cv.values.setdefault(nv + ("es" if nv.endswith(("sh", "ch", "x")) else "s"), (name, v))
            brand_words = {w for b in cv.brands for w in b.split()}
            total = {w: sum(title_df[c][w] for c in cats) for w in title_df[cat]}
            scored = {w: (df / n_products[cat]) * (df / total[w]) for w, df in title_df[cat].items()
                      if df / total[w] >= 0.8 and w not in brand_words}
            top = sorted(scored, key=scored.get, reverse=True)[:keywords_per_category]
            cv.keywords = {w: scored[w] for w in top}
            for syn in CATEGORY_SYNONYMS.get(cat, [_norm(cat)]):
                cv.keywords[syn] = 2.0
            cv.compile()
        vocab = cls(cats)
        vocab._index_spelling(catalog)
        return vocab

    def _index_spelling(self, catalog: Any) -> None:
        """Index the words of values, brands and titles for one-typo correction (symmetric deletion)."""
        targets: set[str] = set()
        for cv in self.categories.values():
            for phrase in list(cv.values) + list(cv.flags) + list(cv.brands) + list(cv.titles):
                targets.update(w for w in re.findall(r"[a-z]+", phrase) if len(w) >= 4)
        self.words = targets
        self.known = set(COMMON_WORDS) | targets
        for p in catalog:
            self.known.update(re.findall(r"[a-z]+", (p.description or "").lower()))
        variants: dict[str, set[str]] = defaultdict(set)
        for w in targets:
            variants[w].add(w)
            for i in range(len(w)):
                variants[w[:i] + w[i + 1:]].add(w)
        self.spelling = {v: next(iter(ws)) for v, ws in variants.items() if len(ws) == 1}

    def correct(self, text: str) -> str:
        """`text` (lower case) with unknown words of 4+ letters that are one typo (dropped, doubled, swapped or
        wrong letter) away from exactly one catalog word replaced by that word: "sirt" -> "shirt"."""
        def fix(m: re.Match) -> str:
            w = m.group()
            if w in self.known:
                return w
            found = {self.spelling[w]} if w in self.spelling else set()
            for i in range(len(w)):
                v = w[:i] + w[i + 1:]
                if v in self.words:
                    found.add(v)  # a doubled / inserted letter: "traiil" -> "trail"
                elif v in self.spelling and len(self.spelling[v]) == len(w):
                    found.add(self.spelling[v])  # a swapped or wrong letter: "frehs" -> "fresh"
            return found.pop() if len(found) == 1 else w

        return re.sub(r"[a-z]{4,}", fix, text)

    def get(self, category: str | None) -> list[CategoryVocabulary]:
        """The vocabularies to match against: the category's, or every category's when unknown."""
        if category in self.categories:
            return [self.categories[category]]
        return list(self.categories.values())

    def category_scores(self, text: str) -> dict[str, float]:
        """How strongly `text` points at each category (keyword weights of the words it contains)."""
        low = self.correct(text.lower()) if self.spelling else text.lower()
        words = set(re.findall(r"[a-z][a-z'-]+", low))
        scores: dict[str, float] = {}
        for cat, cv in self.categories.items():
            s = sum(w for k, w in cv.keywords.items() if (k in words if " " not in k else k in low))
            s += 0.5 * sum(1 for b in cv.brands if re.search(rf"(?<!\w){re.escape(b)}(?!\w)", low))
            if s:
                scores[cat] = s
        return scores


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

    def to_dict(self) -> dict[str, Any]:
        """The generator's `needs` shape (plus `rejected` when there are any)."""
        d = {"category": self.category, "min_price": self.min_price, "max_price": self.max_price,
             "attributes": dict(self.attributes), "exclude_attributes": dict(self.exclude_attributes),
             "brands": list(self.brands), "exclude_brands": list(self.exclude_brands)}
        if self.rejected:
            d["rejected"] = list(self.rejected)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShopperNeeds:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def to_filters(self) -> Filters:
        """Hard search filters for these needs (a reversed price range is swapped, never an error)."""
        lo, hi = self.min_price, self.max_price
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        return Filters(category=self.category, min_price=lo, max_price=hi, brands=list(self.brands),
                       exclude_brands=list(self.exclude_brands), attributes_equal=dict(self.attributes),
                       exclude_attributes=dict(self.exclude_attributes), exclude_ids=list(self.rejected))

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
    ("range", re.compile(rf"(?<![\w.])\$\s?(\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.(\d{{1,2}}))?\s*(?:-|–|to)"
                         rf"\s*{_NUM}")),
    ("range", re.compile(r"(?<![\w.$])(\d+)(?:\.(\d{1,2}))?\s*(?:-|–|to)\s*(\d+)(?:\.(\d{1,2}))?"
                         r"\s?(?:\$|dollars|bucks|usd)")),
    ("max", re.compile(rf"\b(?:under|below|less than|cheaper than|at most|no more than|not more than|up to|upto|"
                       rf"max(?:imum)?|within|no higher than|(?:nothing|not|never|none) (?:over|above)|tops|"
                       rf"budget(?: is| of|:)?(?: only| about| around| roughly)?|spend(?: only)?|afford)"
                       rf"\s+(?:of\s+)?{_NUM}{_CUR}{_UNIT_AFTER}")),
    ("max", re.compile(rf"{_NUM}{_CUR}\s+(?:or less|or under|or below|max|maximum|tops|at most|or cheaper)\b")),
    ("min", re.compile(rf"(?<!nothing )(?<!not )(?<!never )(?<!none )\b(?:over|above|more than|at least|starting at|"
                       rf"minimum|min|no less than|upwards of)\s+{_NUM}{_CUR}{_UNIT_AFTER}")),
    ("min", re.compile(rf"{_NUM}{_CUR}\s+(?:or more|and up|and above|or above|minimum)\b")),
    ("around", re.compile(rf"\b(?:around|about|roughly|approximately|approx\.?|close to|near|~)"
                          rf"\s*{_NUM}{_CUR}{_UNIT_AFTER}")),
    ("around", re.compile(r"(?<![\w.])\$(\d+)(?:\.(\d{1,2}))?\s?-?ish\b")),
]
_CLEAR_PRICE = re.compile(r"\b(?:any price|no budget|price (?:doesn't|does not|don't) matter|money is no object|"
                          r"budget (?:doesn't|does not) matter)\b")


def parse_budget(text: str) -> tuple[float | None, float | None] | None:
    """The price range a budget phrase in `text` states, or None when there is none.

    Returns:
        `(min_price, max_price)`; either may be None ("under $50" -> (None, 50)); a lower and an upper
        bound in one message combine ("at least $20 but under $60" -> (20, 60)).
    """
    low = text.lower()
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
        if "budget" in low:  # "budget-wise I'm at about $180": a ceiling, not a range
            return (None, v)
        return (round(v * (1 - AROUND_SPREAD), 2), round(v * (1 + AROUND_SPREAD), 2))
    return None


MIN_SCORE = 0.05  # weakest signal that picks a category when none is chosen yet
SWITCH_SCORE = 1.0  # a switch needs a category name / synonym or several strong title words ...
SWITCH_RATIO = 2.0  # ... and must beat the current category's score by this factor


def choose_category(scores: dict[str, float], current: str | None) -> str | None:
    """The category after a message with these keyword `scores`: sticky to `current` unless the message
    points clearly elsewhere (see `SWITCH_SCORE`, `SWITCH_RATIO`)."""
    if not scores:
        return current
    best = max(scores, key=lambda c: (scores[c], c == current))
    if current is None:
        return best if scores[best] >= MIN_SCORE else None
    if best != current and scores[best] >= SWITCH_SCORE and scores[best] > SWITCH_RATIO * scores.get(current, 0):
        return best
    return current


COMMON_WORDS = """about also anything back best better black blue both brand budget care color colour could days does
dollars each even ever find fine first from give good great have help here high into just keep kind last less like
little long look looking looks made make many maybe more most much must need needs nice nothing only other over
pair part please price rather really right same show side since size some something sure take than that their them
then there these they thing things think this those tight time wear want wanted well what when where which while
white will wish with without work would your thin tone tops matter matters mind fussy flexible preference
prefer ideally usually mostly mainly around under below above between spend bucks cheap cheaper pricey expensive
money afford cost costs okay alright thanks thank sounds perfect awesome cool lovely hello morning evening today
tomorrow week weekend year years month home house room office travel trip trips city town walk walks walking
daily every everyday night light lights dark bright soft hard warm cool cold colder heat weather rain snow sunny
summer winter spring autumn fall party wedding date friend friends family wife husband daughter son kids baby
gift gifts birthday present order grab bought already still again also actually forgot another other others
either neither whatever reasonable reviews review confused quite fit fits fitting loose tight small large medium
shop shopping store online same different similar compare difference which better worse nicer cheaper newer
older used new old plain simple fancy classic modern style styles looks look feel feels felt comfortable comfy
hurt hurts pain easy hard clean wash care last lasts durable sturdy heavy weight weighs tall short wide narrow
long""".split()
_QUESTION = re.compile(r"\?|\b(?:right|confirm|vs\.?|versus|compare|difference|differ|which is better|tell me more)\b")
_PICK = re.compile(r"\b(?:i'll take|i will take|it is|go with|going with|sold|i'll order|i'll get|i will get)\b")
_NOT_A_VALUE = re.compile(r"\s+(?:budget|price)\b")  # "no fixed budget" names no attribute value


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[.;!?,\n]+|\s[-–—]\s|(?<!anything )(?<!all )\bbut\b(?! not)", text.lower())
            if c.strip()]


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
    left = [x for x in _values(v) if _norm(x) != _norm(value)]
    return None if not left else left[0] if len(left) == 1 else left


def _set_want(needs: ShopperNeeds, attr: str, value: Any, same_message: bool) -> None:
    """Want `value` for `attr`: replaces an earlier wish, or joins one from the same message ("red or blue")."""
    if same_message and attr in needs.attributes and _norm(value) not in map(_norm, _values(needs.attributes[attr])):
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
    elif _norm(value) not in map(_norm, _values(old)):
        needs.exclude_attributes[attr] = _values(old) + [value]
    if attr in needs.attributes:
        left = _without(needs.attributes[attr], value)
        needs.attributes.pop(attr) if left is None else needs.attributes.__setitem__(attr, left)


def update_needs(needs: ShopperNeeds, user_text: str, vocabulary: Vocabulary,
                 category: str | None = None) -> ShopperNeeds:
    """Fold one user message into `needs` (a new object; `needs` is not changed).

    Args:
        needs: the needs before this message.
        user_text: the shopper's message.
        vocabulary: the catalog vocabulary (`Vocabulary.from_catalog`).
        category: the category this turn is in, when the caller already knows it (e.g. routed); by
            default a clear category mention in the text switches it. Switching category forgets the
            attributes and brands of the old one and keeps the budget.

    Returns:
        The updated needs: a new budget phrase replaces the old range; a wanted value replaces the old
        value of its attribute; a negated value or brand becomes an exclusion.
    """
    new = ShopperNeeds.from_dict(needs.to_dict())
    new.rejected = list(needs.rejected)
    if category is None:
        category = choose_category(vocabulary.category_scores(user_text), needs.category)
    if category and category != new.category:
        if new.category is not None:
            new.attributes, new.exclude_attributes, new.brands, new.exclude_brands = {}, {}, [], []
        new.category = category
    budget = parse_budget(user_text)
    if budget is not None:
        lo, hi = budget
        if lo is None and hi is not None and new.min_price is not None and new.min_price < hi:
            lo = new.min_price  # "anything under $50?" keeps an earlier lower bound
        if hi is None and lo is not None and new.max_price is not None and new.max_price > lo:
            hi = new.max_price
        new.min_price, new.max_price = lo, hi
    wanted_here: set[str] = set()
    brand_said = False
    for cv in vocabulary.get(new.category):
        # Product names ("the Casa Verde Dune Rug", "the Peak one") are references, not wishes; a question
        # or a pick about a referenced product ("is it red?", "I'll take the first one") states no needs.
        low = vocabulary.correct(user_text.lower())
        text, refs = cv._ref_re.subn(" ", low) if cv._ref_re else (low, 0)
        refs += len(re.findall(r"\b(?:is it|does it|it is|it has|has it|it's|the (?:first|second|third|last) one|"
                               r"this one|that one)\b", text))
        if _PICK.search(text) or (refs and _QUESTION.search(text)):
            continue
        for clause in _clauses(text):
            spans: list[tuple[int, int]] = []
            for m in cv._value_re.finditer(clause) if cv._value_re else ():
                if _NOT_A_VALUE.match(clause, m.end()):
                    continue
                key = m.group(1)
                attr, value = cv.values[key] if key in cv.values else (cv.flags[key], True)
                if _negated(clause, m.start(), spans):
                    _set_exclude(new, attr, value)
                else:
                    _set_want(new, attr, value, same_message=attr in wanted_here)
                    wanted_here.add(attr)
                spans.append(m.span())
            spans = []
            for m in cv._brand_re.finditer(clause) if cv._brand_re else ():
                brand = cv.brands[m.group(1)]
                if _negated(clause, m.start(), spans):
                    new.brands = [b for b in new.brands if _norm(b) != _norm(brand)]
                    if brand not in new.exclude_brands:
                        new.exclude_brands.append(brand)
                else:
                    new.exclude_brands = [b for b in new.exclude_brands if _norm(b) != _norm(brand)]
                    new.brands = (new.brands if brand_said else []) + ([brand] if brand not in new.brands or
                                                                       not brand_said else [])
                    brand_said = True
                spans.append(m.span())
        for m in cv._short_re.finditer(user_text) if cv._short_re else ():
            attr, value = cv.short[m.group(1)]
            _set_want(new, attr, value, same_message=attr in wanted_here)
            wanted_here.add(attr)
        low = user_text.lower()
        for name in {a for a, _ in cv.values.values()} | set(cv.flags.values()):
            spoken = re.escape(_norm(name.replace("_", " ")))
            if re.search(rf"\bany {spoken}\b|\b{spoken} (?:doesn't|does not|don't) matter", low):
                new.attributes.pop(name, None)
                new.exclude_attributes.pop(name, None)
        if re.search(r"\bany brand\b|\bbrand (?:doesn't|does not) matter", low):
            new.brands = []
    return new


def needs_from_dialogue(messages: list[dict[str, Any]], vocabulary: Vocabulary,
                        category: str | None = None) -> ShopperNeeds:
    """Needs after every user message of `messages` (OpenAI-style dicts), folded in order.

    Args:
        messages: the dialogue so far; only `user` messages are read.
        vocabulary: the catalog vocabulary.
        category: when given, the whole dialogue is read in this category (e.g. chosen in the UI).
    """
    needs = ShopperNeeds(category=category)
    for m in messages:
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            needs = update_needs(needs, m["content"], vocabulary, category=category)
    return needs
