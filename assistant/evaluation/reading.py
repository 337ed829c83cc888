"""The judge's own reading of a chat message against a catalog: which products it names, what it states
about them (prices, attribute values) and whether the catalog agrees, invented product names, yes/no
polarity and the questions it asks. Used by `shopguide eval` (scoring) and `shopguide simulate` (the
shopper's eyes); it shares no code and no word list with the assistant it judges (`tests/test_layout.py`).

    reader = Reader(catalog)
    r = reader.read("The Acme Trail Runner is $49.99 and comes in red.", category="shoes", shown=["p1"])
    r.products, r.facts, r.wrong, r.unknown, r.questions, r.grounding_rate
    polarity("No, it is not waterproof.")      # "no"

How it reads, in plain terms:

* **Products** are found by fuzzy title matching (`rapidfuzz`): a title whose best alignment in the text,
  widened to whole words, scores at least `TITLE_SCORE` (a shown product: `SHOWN_SCORE`) and carries the
  same numbers ("Runner 9" is not "Runner 10"). A title without its leading brand counts when it is unique
  in the category ("the Metro Shirt"). Titles of other categories need `OTHER_CATEGORY_SCORE`. Overlaps go
  to the better, then longer, title. A token equal to a catalog id names that product.
* **Facts**: a price (`$49.99`, `49 dollars`, `€12`) or an attribute value of the category stated in a
  sentence that is not a question. It is about the last product named before it in the sentence, else the
  first after it, else the one product of the previous sentence, else the reply's (or the shown) only
  product. Amounts after budget words ("under $60", "a $20 difference") are not product prices. A price is
  right within a cent, as the whole-number floor or rounding, or within 10% after an "about" word; a
  stated currency must be the product's. A value is right when the product has it (any attribute);
  after a negation ("not XXL") when it does not; short values ("L") count only right after their
  attribute's name ("size L"). Values the shopper wants ("your budget", "if you prefer navy") are skipped.
* **Invented products**: a run of capitalised words outside every title match that holds a model-like
  word ("X1", "Pro 9") or starts with a catalog brand and fits no title of the catalog.
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from retrieval.catalog import Catalog, Product

TITLE_SCORE = 90.0  # fuzz.ratio of a title and the words it aligns with, for a product to be named
SHOWN_SCORE = 84.0  # the same for a product shown with the reply (its card): a typo or a dropped word
OTHER_CATEGORY_SCORE = 96.0  # a title of another category than the dialogue's
MAX_VALUES = 60  # attributes with more distinct values are free text, not checked
SKIP_ATTRIBUTES = {"description", "features", "feature", "details", "notes", "title", "name", "includes", "about"}

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_SENT = re.compile(r"[^\n]*?(?:[.!?]+(?=\s|$)|\n|$)")
_AMOUNT = re.compile(
    r"(?P<pre>[$€£])\s?(?P<a>\d[\d,]*(?:\.\d{1,2})?)"
    r"|(?P<b>\d[\d,]*(?:\.\d{1,2})?)\s?(?P<post>usd|eur|gbp|dollars?|bucks|euros?|pounds?)\b",
    re.I,
)
_SIGN = {"$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "€": "EUR", "eur": "EUR"}
_SIGN |= {"euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP"}
# single words that make the amount after them a budget, a limit or a difference, not a product's price
_LIMIT_WORDS = {"under", "below", "budget", "max", "maximum", "within", "over", "above", "between", "than"}
_LIMIT_WORDS |= {"save", "saving", "savings", "cheaper", "pricier", "limit", "spend", "spending", "to", "least"}
_LIMIT_WORDS |= {"most", "afford", "upto", "range", "extra", "additional", "another", "difference"}
_AFTER_WORDS = {"less", "more", "cheaper", "pricier", "off", "difference", "extra", "budget", "range", "or"}
_ROUGHLY = {"about", "around", "roughly", "approximately", "approx", "nearly", "almost", "~", "circa"}
_NEGATORS = {"not", "no", "isn't", "isnt", "aren't", "doesn't", "don't", "without", "never", "nor", "except", "lacks"}
_NOT_FOUND = {
    "couldn't",
    "cannot",
    "can't",
    "nothing",
    "unable",
    "none",
    "unavailable",
    "out",
}  # earlier in a sentence
_WANTED = {"your", "you", "prefer", "preference", "want", "wanted", "wants", "looking", "need", "needs", "than"}
_WANTED |= {"unlike", "instead", "rather", "asked", "requested", "if", "or"}
_YES_OPEN = {"yes", "yep", "yeah", "yup", "sure", "absolutely", "indeed", "correct", "definitely", "certainly"}
_NO_OPEN = {"no", "nope", "unfortunately", "sadly", "afraid", "sorry"}
_LEAD_WORDS = {"the", "a", "an", "this", "that", "these", "those", "our", "my", "your", "try", "i", "we", "it", "and"}


def norm(value: Any) -> str:
    """Lower-cased text with runs of whitespace as one space (how the reader compares words)."""
    return re.sub(r"\s+", " ", str(value).strip().lower())


def words(text: str) -> list[str]:
    """Lower-cased word / number tokens of `text`."""
    return _WORD.findall(text.lower())


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`: split after . ! ? and at line breaks (not inside 41.50)."""
    out = []
    for m in _SENT.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        if s < e:
            out.append((s, e))
    return out


def polarity(text: str) -> str | None:
    """ "yes", "no" or None: how a reply opens (its first sentence), e.g. "No: it is burgundy" -> "no"."""
    spans = sentences(text or "")
    if not spans:
        return None
    first = words(text[spans[0][0] : spans[0][1]])
    if not first:
        return None
    if first[0] in _YES_OPEN:
        return "yes"
    if first[0] in _NO_OPEN or any(w in _NEGATORS for w in first):
        return "no"
    return None


@dataclass(frozen=True)
class Name:
    """A product named in the text: its id and where."""

    product_id: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Fact:
    """One stated price or attribute value about a product and the catalog's verdict."""

    product_id: str
    field: str  # "price" or the attribute name
    stated: str  # as written in the text
    actual: Any  # the catalog's value
    ok: bool
    start: int


@dataclass
class Reading:
    """What the reader found in one text (see the module docstring)."""

    text: str
    names: list[Name] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    @property
    def products(self) -> list[str]:
        """Ids of the named products in order of first mention, each once."""
        return list(dict.fromkeys(n.product_id for n in sorted(self.names, key=lambda n: n.start)))

    @property
    def wrong(self) -> list[Fact]:
        return [f for f in self.facts if not f.ok]

    @property
    def grounding_rate(self) -> float | None:
        """Share of the stated facts the catalog agrees with; None when nothing was stated."""
        return sum(f.ok for f in self.facts) / len(self.facts) if self.facts else None


def value_in(actual: Any, stated: str) -> bool:
    """Whether a catalog value (scalar or list) holds the stated value (same words, case-insensitive)."""
    if isinstance(actual, list):
        return any(value_in(a, stated) for a in actual)
    if isinstance(actual, bool) or actual is None:
        return False
    a, st = f" {' '.join(words(str(actual)))} ", f" {' '.join(words(stated))} "
    return st.strip() != "" and st in a  # "denim" is said of a "stretch denim" product


def _title_key(title: str) -> str:
    return " ".join(words(title))


class _Shelf:
    """One category's products, prepared once: title keys, word index, closed-set values, brands."""

    def __init__(self, products: list[Product]):
        self.products = products
        self.keys = {p.id: _title_key(p.title) for p in products}
        self.by_word: dict[str, set[str]] = defaultdict(set)
        for p in products:
            for w in set(self.keys[p.id].split()):
                if len(w) >= 3 or any(c.isdigit() for c in w):
                    self.by_word[w].add(p.id)
        # the title without a leading brand word, when no other product of the category shares it
        short: dict[str, list[str]] = defaultdict(list)
        for p in products:
            key = self.keys[p.id].split()
            brand = words(p.brand or "")
            if brand and key[: len(brand)] == brand and len(key) - len(brand) >= 2:
                short[" ".join(key[len(brand) :])].append(p.id)
        self.short = {pid[0]: k for k, pid in short.items() if len(pid) == 1}
        values: dict[str, dict[str, str]] = defaultdict(dict)
        for p in products:
            for name, v in p.attributes.items():
                if norm(name).replace("_", " ") in SKIP_ATTRIBUTES:
                    continue
                for x in v if isinstance(v, list) else [v]:
                    if isinstance(x, str) and 0 < len(x.strip()) <= 40 and re.search(r"[^\W\d_]", x):
                        values[name][norm(x)] = x.strip()
        self.attributes = {n: vs for n, vs in values.items() if len(vs) <= MAX_VALUES}
        self.value_attrs: dict[str, set[str]] = defaultdict(set)
        for name, vs in self.attributes.items():
            for v in vs:
                self.value_attrs[v].add(name)
        alts = sorted(self.value_attrs, key=len, reverse=True)
        self.value_rx = (
            re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, alts)) + r")(?:e?s)?(?![\w-])") if alts else None
        )
        self.brands = {norm(p.brand) for p in products if p.brand}


class Reader:
    """Reads messages against one catalog (see the module docstring).

    Args:
        catalog: the products the text is checked against.
    """

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        by_cat: dict[str, list[Product]] = defaultdict(list)
        for p in catalog:
            by_cat[p.category].append(p)
        self.shelves = {c: _Shelf(ps) for c, ps in by_cat.items()}
        self.everything = _Shelf(list(catalog))
        self.brands = {norm(p.brand) for p in catalog if p.brand}
        self.ids = {p.id for p in catalog if any(c.isdigit() for c in p.id)}

    def shelf(self, category: str | None) -> _Shelf:
        return self.shelves.get(category) if category in self.shelves else self.everything

    # -- products ----------------------------------------------------------------------------------------
    def _find(self, text: str, shelf: _Shelf, shown: set[str], bar: float, taken: list[Name]) -> list[Name]:
        low = text.lower()
        toks = set(words(low))
        cands: set[str] = set()
        for w in toks:
            cands |= shelf.by_word.get(w, set())
        found: list[tuple[float, int, str, int, int]] = []
        for pid in cands:
            keys = [shelf.keys[pid]] + ([shelf.short[pid]] if pid in shelf.short else [])
            for j, key in enumerate(keys):
                need = (SHOWN_SCORE if pid in shown else bar) + (4.0 if j else 0.0)
                for s, e, score in _align(key, low):
                    if score >= need and _digits(key) == _digits(low[s:e]):
                        found.append((score, len(key), pid, s, e))
        out: list[Name] = []
        for score, _, pid, s, e in sorted(found, key=lambda x: (-x[0], -x[1], x[3])):
            if any(s < n.end and n.start < e for n in taken + out):
                continue
            out.append(Name(pid, s, e, round(score, 1)))
        return out

    def names(self, text: str, category: str | None = None, shown: list[str] | None = None) -> list[Name]:
        """The products `text` names (see the module docstring), in text order."""
        shown_set = set(shown or [])
        shelf = self.shelf(category)
        found = self._find(text, shelf, shown_set, TITLE_SCORE, [])
        if shelf is not self.everything:
            found += [
                n
                for n in self._find(text, self.everything, set(), OTHER_CATEGORY_SCORE, found)
                if self.catalog.get(n.product_id).category != category
            ]
        for m in re.finditer(r"[A-Za-z0-9-]*\d[A-Za-z0-9-]*", text):
            if m.group() in self.ids and not any(m.start() < n.end and n.start < m.end() for n in found):
                found.append(Name(m.group(), m.start(), m.end(), 100.0))
        return sorted(found, key=lambda n: n.start)

    def _invented(self, text: str, names: list[Name], category: str | None) -> list[str]:
        shelf = self.shelf(category)
        out = []
        for m in re.finditer(r"[A-Z0-9][\w'&.-]*(?:[ \t]+[A-Z0-9][\w'&-]*)+", text):
            toks = m.group().rstrip(".").split()
            start = m.start()
            while toks and (toks[0].lower() in _LEAD_WORDS or toks[0].isdigit()):
                start = text.index(toks[0], start) + len(toks[0])
                toks = toks[1:]
            if len(toks) < 2 or any(start <= n.start < m.end() or n.start <= start < n.end for n in names):
                continue
            run = " ".join(toks)
            low = norm(run)
            if low in shelf.value_attrs or any(norm(t) in shelf.value_attrs for t in toks[1:] if len(t) > 2):
                continue
            model_like = any(re.search(r"[A-Za-z]", t) and re.search(r"\d", t) for t in toks) or (
                toks[-1].isdigit() and not toks[-2].isupper()
            )
            if not (model_like or norm(toks[0]) in self.brands):
                continue
            key = " ".join(words(run))
            fits = [p for p in shelf.products if set(key.split()) <= set(shelf.keys[p.id].split())]
            if fits:
                continue
            out.append(run)
        return out

    # -- facts -------------------------------------------------------------------------------------------
    def read(self, text: str, category: str | None = None, shown: list[str] | None = None) -> Reading:
        """Read one message (see the module docstring).

        Args:
            text: the message.
            category: the dialogue's category (None: the whole catalog).
            shown: ids shown with the message (its cards): named with a lower bar, and the product a fact is
                about when the text names none.

        Returns:
            A `Reading`.
        """
        text = text or ""
        names = self.names(text, category, shown)
        reading = Reading(text, names, unknown=self._invented(text, names, category))
        spans = sentences(text)
        per_sentence = [[n for n in names if s <= n.start < e] for s, e in spans]
        only = reading.products if len(reading.products) == 1 else [p for p in shown or [] if p in self.catalog]
        shelf = self.shelf(category)
        for i, (s, e) in enumerate(spans):
            sent = text[s:e]
            if sent.rstrip().endswith("?"):
                reading.questions.append(sent.strip())
                if ";" not in sent:  # "The X comes to $212.00; anything else?": the statement before ";" counts
                    continue
                sent = sent[: sent.rfind(";")]
            here = per_sentence[i]
            before = next((per_sentence[j] for j in (i - 1, i - 2) if j >= 0 and per_sentence[j]), [])

            def about(pos: int) -> str | None:
                prior = [n for n in here if n.end <= pos]
                if prior:
                    return prior[-1].product_id
                after = [n for n in here if n.start >= pos]
                if after:
                    return after[0].product_id
                if len({n.product_id for n in before}) == 1:
                    return before[0].product_id
                return only[0] if len(set(only)) == 1 else None

            for m in _AMOUNT.finditer(sent):
                pos = s + m.start()
                if any(n.start <= pos < n.end for n in names) or self._not_a_price(text, pos, s + m.end(), m):
                    continue
                pid = about(pos)
                named_next = re.match(r"\s+(?:for|of) (?:the )?", text[s + m.end() :])  # "$167.00 for the Arc Boots"
                if named_next:
                    at = s + m.end() + named_next.end()
                    pid = next((n.product_id for n in here if abs(n.start - at) <= 2), pid)
                if pid is None and not here:  # a price of something the catalog does not name: invented
                    lead = [w for w in sent[: m.start()].split() if w[:1].isupper() and w.lower() not in _LEAD_WORDS]
                    if len(lead) >= 2:
                        reading.unknown.append(" ".join(lead[-4:]).strip(",:;—-"))
                    continue
                fact = self._price(text, pos, m, pid)
                if fact is not None:
                    reading.facts.append(fact)
            if shelf.value_rx is None:
                continue
            for m in shelf.value_rx.finditer(sent.lower()):
                pos = s + m.start()
                if any(n.start <= pos < n.end for n in names):
                    continue
                fact = self._value(text, pos, m.group(1), about(pos), shelf, s, bool(here))
                if fact is not None:
                    reading.facts.append(fact)
        reading.facts.sort(key=lambda f: f.start)
        return reading

    @staticmethod
    def _not_a_price(text: str, start: int, end: int, m: re.Match) -> bool:
        """A budget, a limit, a difference or a range ("under $60", "$2 less", "$20-$40"); never a price right after
        a colon ("cheaper: $120.99 against ...")."""
        if re.search(r":\s*$", text[max(0, start - 3) : start]):
            return False
        prev = words(text[max(0, start - 30) : start])[-2:]
        nxt = words(text[end : end + 20])[:1]
        if prev[-2:] in (["comes", "to"], ["come", "to"], ["amounts", "to"]):  # "comes to $212.00": its price
            return False
        if (prev and prev[-1] in _LIMIT_WORDS) or (nxt and nxt[0] in _AFTER_WORDS) or prev[-2:] == ["up", "to"]:
            return True
        if prev and prev[-1] in ("your", "you're", "youre"):  # "within your $100": the shopper's figure
            return True
        return bool(
            re.match(r"\s*[-–]\s*[$€£]?\d", text[end:])
            or re.search(r"\d\s*[-–]\s*$", text[max(0, start - 12) : start])
        )

    def _price(self, text: str, start: int, m: re.Match, pid: str | None) -> Fact | None:
        if pid is None:
            return None
        p = self.catalog.get(pid)
        if p is None or p.price is None:
            return None
        prev = words(text[max(0, start - 30) : start])[-2:]
        amount = float((m.group("a") or m.group("b")).replace(",", ""))
        cur = _SIGN.get((m.group("pre") or m.group("post") or "").lower())
        actual = float(p.price)
        ok = abs(amount - actual) < 0.011
        whole = float(amount).is_integer() and "." not in m.group()
        if whole and amount in (math.floor(actual), round(actual)):
            ok = True
        if prev and prev[-1] in _ROUGHLY or text[max(0, start - 2) : start].strip() == "~":
            ok = ok or abs(amount - actual) <= 0.1 * actual
        if cur and (p.currency or "USD").upper() != cur:
            ok = False
        return Fact(pid, "price", m.group().strip(), p.price, ok, start)

    def _value(
        self, text: str, start: int, value: str, pid: str | None, shelf: _Shelf, sent_start: int, named_here: bool
    ) -> Fact | None:
        if pid is None:
            return None
        p = self.catalog.get(pid)
        if p is None:
            return None
        attrs = shelf.value_attrs[value]
        prev = words(text[max(sent_start, start - 40) : start])[-3:]
        if len(value) < 3 and not any(w in " ".join(_label(a) for a in attrs).split() for w in prev):
            return None  # "L" is a size only right after the word "size"
        if any(w in _WANTED for w in prev):
            return None
        prefix = words(text[sent_start:start])
        if not named_here and any(w in _NEGATORS or w in _NOT_FOUND for w in prefix):
            return None  # "there are no navy boots": about the catalog, not about a product
        if re.search(
            r"\b(?:i|we)\s+(?:don't|do not|can't|cannot)\s+(?:have|carry|stock|find)\b", text[sent_start:start], re.I
        ):
            return None  # "I don't have sneakers in suede ...": about the catalog, whatever the sentence names
        negated = any(w in _NOT_FOUND for w in prefix) or any(w in _NEGATORS for w in prev)
        # the attribute named right before the value: "color: navy", "size is L" (not "blue color, everyday")
        before = text[sent_start:start].lower()
        labelled = [
            a
            for a in shelf.attributes
            if a in p.attributes and re.search(rf"\b{re.escape(_label(a))}\s*(?::|\bis|\bwas|\bof)?\s*$", before)
        ]
        if labelled:  # "color: scandinavian" is a claim about the color, whatever else the product is
            own = labelled[:1]
            has = value_in(p.attributes[own[0]], value)
        else:
            own = [a for a in attrs if a in p.attributes]
            has = any(value_in(p.attributes[a], value) for a in own) or any(
                norm(v) == value for v in p.attributes.values() if isinstance(v, str)
            )
        if not has and not own:
            if norm(value) in norm(f"{p.title} {p.description or ''}"):
                has = True
            else:
                return None  # the product has none of the attributes this value belongs to: nothing to check
        name = own[0] if own else next(iter(sorted(attrs)))
        ok = (not has) if negated else has
        stated = ("not " if negated else "") + text[start : start + len(value)]
        return Fact(pid, name, stated, p.attributes.get(name), ok, start)


_READERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def reader_for(catalog: Catalog) -> Reader:
    """The `Reader` of `catalog`, built once per catalog object (simulated shoppers share it)."""
    with _LOCK:
        r = _READERS.get(catalog)
        if r is None:
            r = _READERS[catalog] = Reader(catalog)
        return r


def _label(name: str) -> str:
    return " ".join(words(name.replace("_", " ")))


def _digits(s: str) -> list[str]:
    return sorted(re.findall(r"\d+", s))


def _align(key: str, low: str) -> list[tuple[int, int, float]]:
    """Where `key` (a title's words) occurs in `low` best, widened to whole words, with fuzz.ratio; and every
    further exact occurrence of those words."""
    if len(key) > len(low) + 3:
        return []
    al = fuzz.partial_ratio_alignment(key, low, score_cutoff=75)
    if al is None:
        return []
    s, e = al.dest_start, al.dest_end
    while s > 0 and low[s - 1].isalnum():
        s -= 1
    while e < len(low) and low[e].isalnum():
        e += 1
    score = fuzz.ratio(key, " ".join(words(low[s:e])))
    out = [(s, e, score)]
    if score >= 99:
        span = low[s:e]
        out += [(m.start(), m.end(), score) for m in re.finditer(re.escape(span), low) if m.start() != s]
    return out


__all__ = ["Fact", "Name", "Reader", "Reading", "norm", "polarity", "reader_for", "sentences", "value_in", "words"]
