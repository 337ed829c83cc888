"""The catalog's vocabulary, per category: attribute values, brands, product titles and routing words, plus
one-typo spelling correction against the catalog's own words.

    shop = derive_vocabulary(catalog)                  # a shop's vocabulary.json, derived from its catalog
    shop.save("bundle/vocabulary.json"); shop = ShopVocabulary.load("bundle/vocabulary.json")
    vocab = Vocabulary.from_catalog(catalog, shop=shop)
    vocab.category_scores("waterproof hiking boots")   # {"shoes": 2.1, ...}
    vocab.correct("a rain jackett")                    # "a rain jacket"
    choose_category(scores, current)                   # sticky category choice (used by state and router)

A **shop vocabulary** (`ShopVocabulary`, a bundle's `vocabulary.json`) holds what a catalog cannot say on its
own: per category the words shoppers use for it (synonyms: "clothes" for apparel), and per closed-set
attribute its values and their synonyms. `derive_vocabulary` writes one from any catalog (category names and
their singular / plural forms, each closed-set attribute's values, spaced forms of hyphenated values), so a
category the project has never seen needs no code; a shop edits the file to add its own words. The demo's
hand-made synonyms are one such file (`demo/vocabulary.json`, written by `shopguide data generate` and `build-demo`).

Used by `assistant.understanding.needs` (needs extraction) and `assistant.understanding.router` (category routing).
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.text import normalize_phrase, plural, singular
from retrieval.encoder import bundled_encoder_path
from retrieval.fileio import DataError, Problem, atomic_write_json

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
_COMMON = frozenset(COMMON_WORDS) | frozenset(
    "the and for with you your are was were but not any can get has have had its it's i'm i've i'd don't what "
    "want need looking something some would like also just one which that this those these there their they "
    "about more most very much really please thanks hi hello yes no okay ok".split()
)


COMMON_TOKENS = 12_000  # "come" is entry 2,272, "navy" 3,212, "wool" 12,121, "peek" 19,043


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Common whole English words (4+ letters): those among the first `COMMON_TOKENS` entries of the bundled
    encoder's WordPiece vocabulary, which is ordered roughly by frequency in English text. A typo correction never
    turns one of them into a catalog word ("come" is not "home"); rarer words still are ("peek" -> "Peak")."""
    try:
        lines = (Path(bundled_encoder_path()) / "vocab.txt").read_text(encoding="utf-8").split()
    except (OSError, ImportError, RuntimeError):  # no bundled encoder: only the catalog's and COMMON_WORDS
        return frozenset()
    return frozenset(w for w in lines[:COMMON_TOKENS] if len(w) >= 4 and w.isalpha() and w.islower())


def _phrase_re(phrases: list[str]) -> re.Pattern | None:
    """One regex matching any of `phrases` as whole words, longest first."""
    phrases = sorted({p for p in phrases if p}, key=len, reverse=True)
    if not phrases:
        return None
    return re.compile(r"(?<![\w$])(" + "|".join(re.escape(p) for p in phrases) + r")(?![\w])")


# attributes that say what kind of product it is ("type": jacket, smartwatch): their values route strongly
KIND_ATTRIBUTES = ("type", "product type", "product_type", "kind")
KIND_WEIGHT = 1.0
MAX_CLOSED_SET = 40  # an attribute with more distinct values is free text, not a closed set


def _one_edit(a: str, b: str) -> bool:
    """Same-length words one wrong letter or one swap of neighbours apart."""
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def category_synonyms(category: str, categories: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Words for a category read from its name alone: "running_shoes" -> running shoes, running shoe, shoes,
    shoe (the last word only when no other category name ends with it)."""
    name = normalize_phrase(re.sub(r"[_\-/]+", " ", category))
    words = name.split()
    if not words:
        return []
    out = [name, " ".join(words[:-1] + [singular(words[-1])]), " ".join(words[:-1] + [plural(words[-1])])]
    last = {singular(normalize_phrase(re.sub(r"[_\-/]+", " ", c)).split()[-1]) for c in categories if c != category}
    if len(words) > 1 and singular(words[-1]) not in last and len(singular(words[-1])) >= 4:
        out += [singular(words[-1]), plural(words[-1])]
    return list(dict.fromkeys(w for w in out if w))


@dataclass
class ShopVocabulary:
    """A shop's vocabulary file (`vocabulary.json` in a bundle): the words a catalog cannot say on its own.

    Attributes:
        synonyms: category -> words shoppers use for it ("clothes" for apparel); they route a dialogue.
        attributes: category -> attribute -> {"values": [...], "synonyms": {phrase: value}}: the closed-set
            values (for reading; the catalog stays the truth) and other phrases that mean a value.
        wording: category -> the words the assistant uses for it ("clothing" for apparel: "a shopping guide for
            clothing"); a category without one is called by its name.
    """

    synonyms: dict[str, list[str]] = field(default_factory=dict)
    attributes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    wording: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cats = sorted(set(self.synonyms) | set(self.attributes) | set(self.wording))
        out: dict[str, Any] = {"version": 1, "categories": {}}
        for c in cats:
            entry = {"synonyms": list(self.synonyms.get(c, [])), "attributes": self.attributes.get(c, {})}
            if c in self.wording:
                entry["wording"] = self.wording[c]
            out["categories"][c] = entry
        return out

    def save(self, path: str | Path) -> Path:
        """Write the file (atomically); returns its path."""
        atomic_write_json(path, self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> ShopVocabulary:
        """Read a vocabulary file.

        Raises:
            DataError: the file is missing, not JSON, or not in this shape (names the field).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise DataError([Problem(str(path), None, None, "file not found")]) from e
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError([Problem(str(path), None, None, f"not valid JSON: {e}")]) from e
        cats = data.get("categories") if isinstance(data, dict) else None
        if not isinstance(cats, dict):
            raise DataError([Problem(str(path), None, "categories", "required object category -> words is missing")])
        problems, out = [], cls()
        for c, entry in cats.items():
            syn = entry.get("synonyms", []) if isinstance(entry, dict) else None
            attrs = entry.get("attributes", {}) if isinstance(entry, dict) else None
            wording = entry.get("wording") if isinstance(entry, dict) else None
            if wording is not None and (not isinstance(wording, str) or not wording.strip()):
                problems.append(Problem(str(path), None, f"categories.{c}.wording", "must be a non-empty string"))
                continue
            if not isinstance(syn, list) or not all(isinstance(w, str) for w in syn):
                problems.append(Problem(str(path), None, f"categories.{c}.synonyms", "must be a list of strings"))
                continue
            if not isinstance(attrs, dict) or not all(isinstance(a, dict) for a in attrs.values()):
                problems.append(Problem(str(path), None, f"categories.{c}.attributes", "must be an object"))
                continue
            out.synonyms[c] = syn
            out.attributes[c] = attrs
            if wording is not None:
                out.wording[c] = wording.strip()
        if problems:
            raise DataError(problems)
        return out

    def merged(self, other: ShopVocabulary) -> ShopVocabulary:
        """This vocabulary with `other`'s entries added (other's synonyms of a category replace these)."""
        attrs = {c: {a: dict(v) for a, v in d.items()} for c, d in self.attributes.items()}
        for c, d in other.attributes.items():
            for a, v in d.items():
                mine = attrs.setdefault(c, {}).setdefault(a, {})
                mine.setdefault("values", v.get("values", []))
                mine["synonyms"] = {**mine.get("synonyms", {}), **v.get("synonyms", {})}
        return ShopVocabulary({**self.synonyms, **other.synonyms}, attrs, {**self.wording, **other.wording})


def derive_vocabulary(catalog: Any) -> ShopVocabulary:
    """The vocabulary a catalog implies: per category the words of its name (`category_synonyms`), and per
    closed-set string attribute (at most `MAX_CLOSED_SET` distinct values) its values, most frequent first,
    with the spaced form of hyphenated values as synonyms ("slip on" -> "slip-on")."""
    counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for p in catalog:
        for name, value in p.attributes.items():
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, str) and v.strip() and len(v) <= 60:
                    counts[p.category][name][v.strip()] += 1
    cats = sorted({p.category for p in catalog})
    out = ShopVocabulary()
    for c in cats:
        out.synonyms[c] = category_synonyms(c, cats)
        attrs = {}
        for name, values in sorted(counts[c].items()):
            if len(values) > MAX_CLOSED_SET:
                continue
            syn = {}
            for v in values:
                low = normalize_phrase(v)
                if "-" in low:
                    syn[low.replace("-", " ")] = v
            attrs[name] = {"values": [v for v, _ in values.most_common()], "synonyms": syn}
        out.attributes[c] = attrs
    return out


def utterance_synonyms(
    texts: dict[str, list[str]], per_category: int = 10, min_count: int = 3, purity: float = 0.9
) -> dict[str, list[str]]:
    """Words shoppers use for each category, read from their own utterances (e.g. a search log): a word is
    kept for a category when at least `min_count` of its utterances use it and at least `purity` of all the
    utterances using it are in that category ("bike" for bicycle, "sneakers" for running shoes); the
    `per_category` most frequent. Common words (`COMMON_WORDS`) and words under 3 letters are left out."""
    df: dict[str, Counter] = defaultdict(Counter)
    for cat, rows in texts.items():
        for t in rows:
            df[cat].update(set(re.findall(r"[a-z][a-z'-]{2,}", t.lower())) - _COMMON)
    total: Counter = Counter()
    for c in df.values():
        total.update(c)
    out = {}
    for cat, c in df.items():
        keep = [
            w for w, n in sorted(c.items(), key=lambda x: (-x[1], x[0])) if n >= min_count and n / total[w] >= purity
        ]
        out[cat] = keep[:per_category]
    return out


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
    _kind_re: re.Pattern | None = None

    def compile(self) -> None:
        self._value_re = _phrase_re(list(self.values) + list(self.flags))
        self._kind_re = _phrase_re([nv for nv, (name, _) in self.values.items() if name in KIND_ATTRIBUTES])
        self._brand_re = _phrase_re(list(self.brands))
        if self.short:
            self._short_re = re.compile(
                r"(?<![\w'])(" + "|".join(map(re.escape, sorted(self.short, key=len)[::-1])) + r")(?![\w'])"
            )
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
    wordings: dict[str, str] = field(default_factory=dict)  # category -> what the assistant calls it (shop file)

    @classmethod
    def from_catalog(
        cls, catalog: Any, keywords_per_category: int = 150, shop: ShopVocabulary | None = None
    ) -> Vocabulary:
        """Collect attribute values, boolean attributes, brands and routing keywords of every category.

        Args:
            catalog: a `retrieval.catalog.Catalog` (any iterable of products).
            keywords_per_category: how many distinctive title words each category gets for routing.
            shop: the shop's vocabulary file: its category synonyms route (a category it does not list gets
                `category_synonyms` of its name) and its value synonyms read as the value.

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
                cv.brands[normalize_phrase(p.brand)] = p.brand
            for name, value in p.attributes.items():
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, bool):
                        cv.flags[normalize_phrase(name.replace("_", " "))] = name
                    elif isinstance(v, str) and len(v.strip()) >= 3 and not re.fullmatch(r"[\d.,\s]+", v):
                        counts[p.category][(normalize_phrase(v), name, v)] += 1
                    elif isinstance(v, str) and v.strip() not in ("I", "A") and re.fullmatch(r"[A-Z0-9]*[A-Z]", v):
                        cv.short.setdefault(v.strip(), (name, v))
            cv.titles.add(normalize_phrase(p.title))
            values = " ".join(v for v in p.attributes.values() if isinstance(v, str))  # "wireless", "matte"
            words = f"{p.title} {values}".lower()
            title_df[p.category].update(set(re.findall(r"[a-z][a-z'-]{2,}", words)))
        for cat, cv in cats.items():
            for (nv, name, v), _ in counts[cat].most_common():  # most frequent attribute wins a shared value
                cv.values.setdefault(nv, (name, v))
            for nv, (name, v) in list(cv.values.items()):  # plural forms: "hoodies", "dresses"
                if nv[-1].isalpha() and not nv.endswith("s"):
                    cv.values.setdefault(plural(nv), (name, v))
            brand_words = {w for b in cv.brands for w in b.split()}
            total = {w: sum(title_df[c][w] for c in cats) for w in title_df[cat]}
            scored = {
                w: (df / n_products[cat]) * (df / total[w])
                for w, df in title_df[cat].items()
                if df / total[w] >= 0.8 and w not in brand_words
            }
            top = sorted(scored, key=scored.get, reverse=True)[:keywords_per_category]
            cv.keywords = {w: scored[w] for w in top}
            listed = shop.synonyms.get(cat) if shop is not None else None
            for syn in listed if listed is not None else category_synonyms(cat, list(cats)):
                cv.keywords[normalize_phrase(syn)] = 2.0
            for name, entry in (shop.attributes.get(cat, {}) if shop is not None else {}).items():
                known = {normalize_phrase(v): v for nv, (a, v) in cv.values.items() if a == name}
                for phrase, value in (entry.get("synonyms") or {}).items():
                    if normalize_phrase(value) in known and len(phrase.strip()) >= 3:
                        cv.values.setdefault(normalize_phrase(phrase), (name, known[normalize_phrase(value)]))
            cv.compile()
        vocab = cls(cats, wordings=dict(shop.wording) if shop is not None else {})
        vocab._index_spelling(catalog)
        return vocab

    def _index_spelling(self, catalog: Any) -> None:
        """Index the words of values, brands and titles for one-typo correction (symmetric deletion)."""
        targets: set[str] = set()
        for cv in self.categories.values():
            for phrase in list(cv.values) + list(cv.flags) + list(cv.brands) + list(cv.titles):
                targets.update(w for w in re.findall(r"[a-z]+", phrase) if len(w) >= 4)
        self.words = targets
        self.known = set(COMMON_WORDS) | english_words() | targets
        for p in catalog:
            self.known.update(re.findall(r"[a-z]+", (p.description or "").lower()))
        variants: dict[str, set[str]] = defaultdict(set)
        for w in targets:
            variants[w].add(w)
            for i in range(len(w)):
                variants[w[:i] + w[i + 1 :]].add(w)
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
                v = w[:i] + w[i + 1 :]
                if v in self.words:
                    found.add(v)  # a doubled / inserted letter: "traiil" -> "trail"
                elif v in self.spelling and len(self.spelling[v]) == len(w) and _one_edit(w, self.spelling[v]):
                    found.add(self.spelling[v])  # a swapped or wrong letter: "frehs" -> "fresh" (not "game" -> "acme")
            return found.pop() if len(found) == 1 else w

        return re.sub(r"[a-z]{4,}", fix, text)

    def wording(self, category: str | None) -> str | None:
        """What the assistant calls `category` in its prompt and replies: the shop vocabulary's `wording`, else
        the category's name with spaces ("running_shoes" -> "running shoes"); None for no category."""
        if category is None:
            return None
        return self.wordings.get(category) or category.replace("_", " ")

    def get(self, category: str | None) -> list[CategoryVocabulary]:
        """The vocabularies to match against: the category's, or every category's when unknown."""
        if category in self.categories:
            return [self.categories[category]]
        return list(self.categories.values())

    def category_scores(self, text: str) -> dict[str, float]:
        """How strongly `text` points at each category: keyword weights of the words it contains, 0.5 per brand,
        and `KIND_WEIGHT` when it names a kind of product the category sells (a value of its `type`)."""
        low = self.correct(text.lower()) if self.spelling else text.lower()
        words = set(re.findall(r"[a-z][a-z'-]+", low))
        scores: dict[str, float] = {}
        for cat, cv in self.categories.items():
            s = sum(w for k, w in cv.keywords.items() if (k in words if " " not in k else k in low))
            s += 0.5 * sum(1 for b in cv.brands if re.search(rf"(?<!\w){re.escape(b)}(?!\w)", low))
            if cv._kind_re is not None and cv._kind_re.search(low):  # "a smartwatch for running": electronics
                s += KIND_WEIGHT
            if s:
                scores[cat] = s
        return scores


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
