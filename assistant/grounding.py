"""Catalog fact checking of assistant replies: which products a reply names, and whether what it states
about them (prices, attribute values) matches the catalog.

    g = Grounder(catalog)                     # precomputes per-category matchers once
    r = g.check(text, category="shoes", shown=["p1", "p7"])
    r.products, r.mentions, r.unknown, r.grounding_rate
    check_reply(text, catalog, category, shown)   # the same through a per-catalog cached Grounder

Heuristics (written for few false alarms rather than full recall):

* **Product names.** Titles and reply are lower-cased and split into word/number tokens; stop words and
  single letters are dropped. A title's *name* is the part before the first `,`, ` - `, `(`, `|`, `:`
  (long marketplace titles put specs there), at most 10 tokens. A product is named when a window of the
  reply (at most name length + 3 tokens) covers >= `threshold` (0.7) of the name's tokens weighted by
  IDF within the category (so "men's running shoes" counts little, "kayano 29" a lot), with at least two
  name tokens (or the whole of a one-token name); the bar is 0.15 lower for `shown` products. A fuzzy
  match is refused when the title's model number is missing and the window holds a different number
  ("Pegasus 41" is not "Pegasus 39"). Overlapping matches are resolved by coverage (-0.05 per foreign
  word inside the window), `shown` products first (+0.2), then the more specific title. Words out of the
  title's order count 0.8 of their coverage.
  Explicit ids (tokens with a digit that equal a catalog id, such as ASINs) also name products.
* **Prices** (`$49.99`, `49.99 USD`, `49 dollars`, also EUR/GBP/INR forms) belong to the last product
  named before them in the same sentence, else the first one named after them in that sentence, else,
  when the sentence starts with "it/this/they/its...", the last product named earlier. Budgets and
  ranges ("under $50", "$20-$40", "save $10") are not product facts and are skipped. A price matches
  when it is within a cent, or is the whole-dollar floor/rounding of the actual price ("49 dollars" for
  49.99), or within 10% after "about/around/~". A stated currency must agree with the product's.
* **Attribute values**: phrases (<= 4 tokens, with a letter, >= 3 characters, not yes/no) that are
  values of some closed-set attribute in the category (<= 40 distinct values; names like "features",
  "special feature", "description", "includes" are free lists and skipped). Each is checked against
  the product it belongs to (the last one named before it in the sentence, or the pronoun rule above;
  values *before* a product name are usually the shopper's own needs, so they are not checked). A value
  is right when it equals the product's value for that attribute (or is in its list) or appears anywhere
  in the product's own text (title, description, attributes); after "not/no/without" it is right when it
  differs from the product's value. Tokens inside product names are never read as attribute values.
* **Unknown (hallucinated) products**: runs of capitalised/numbered words that start with a catalog
  brand followed by at least one model-like word (holds a digit but is not a bare decimal such as a
  17.3" screen, or is a word the category's titles and attribute values never use): "Acme Cloudstrider",
  "Acme Runner 9". When exactly one product of that brand holds every word of the run in its own text,
  the run is a shortened title and names that product ("Lenovo Flex 5"); several: ambiguous; none, and
  no fuzzy title match in the whole catalog: unknown. A brand-less invented name is not caught (by
  design). Facts in a sentence with an unknown or ambiguous name are not attributed.
* **Not claims**: values right after "than / as / unlike / compared to / instead of / other" or after
  "prefer / want / need / looking for" (the shopper's needs), values that are brand names, and a wrong
  value in a sentence that also states the product's right value for that attribute (a contrast).

`grounding_rate` is the share of checked facts (prices and attribute values) that match; None when no
fact was checked. Unknown products are reported separately, not folded into the rate.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from retrieval.catalog import Catalog, Product

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W_]+")
_STOP = frozenset(
    "a an the and or of for with in on to by at from is are it its this that these those your you my our "
    "as be can will was were has have had very so but not no".split())
_NAME_SPLIT = re.compile(r",|\s[-–—|]\s|\(|\||:")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_PRONOUN_START = re.compile(r"^\W*(it|its|it's|this|that|they|their|these|both|the\s+latter|the\s+former)\b", re.I)
_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
_PRICE_PATTERNS = (
    re.compile(r"(?P<cur>[$€£₹]|\bRs\.?|\bUSD|\bEUR|\bGBP|\bINR)\s?" + _NUM, re.I),
    re.compile(_NUM + r"\s?(?P<cur>USD|EUR|GBP|INR|dollars?|bucks|euros?|pounds?|rupees?)\b", re.I),
)
_CURRENCY = {"$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "€": "EUR",
             "eur": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pound": "GBP",
             "pounds": "GBP", "₹": "INR", "inr": "INR", "rs": "INR", "rs.": "INR", "rupee": "INR", "rupees": "INR"}
_BUDGET_BEFORE = re.compile(
    r"(under|below|less than|up to|over|above|more than|at least|at most|between|within|max(imum)?|min(imum)?"
    r"|budget( of| is| around)?|cheaper than|pricier than|no more than|no less than|save|saving|savings of"
    r"|discount of|from|than|extra|additional|another|[$€£₹]\d[\d,.]*\s*(?:[-–]|to|and)|\d[-–])\s*$", re.I)
_BUDGET_AFTER = re.compile(
    r"^\s*(off|discount|budget|or less|or more|and under|and up|max|range|[-–]\s*[$€£₹]?\d|to\s+[$€£₹]?\d)", re.I)
_APPROX_BEFORE = re.compile(r"(about|around|approximately|roughly|~|nearly|almost)\s*$", re.I)
_CAPS_RUN = re.compile(r"\b[A-Z0-9][\w+-]*(?:\.\d+)?(?:\s+(?:[A-Z0-9][\w+-]*(?:\.\d+)?|&))*")
_ID_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{3,}")
_NEGATION = re.compile(r"\b(not|no|isn'?t|aren'?t|without|non-?|never)\s*$", re.I)
_CONTRAST = re.compile(  # a value after these is a comparison or the shopper's own need, not a product claim
    r"\b(than|as|instead of|unlike|versus|vs\.?|compared (to|with)|other|another|prefer(ence|red)?s?( for)?|"
    r"wants?|wanted|needs?|needed|looking for|asked for|wish(ed)? for)\s*$", re.I)
# attributes that list features rather than pick one value of a closed set: not checked
_FREE_ATTR = re.compile(r"feature|special|descri|include|note|other|detail|compat|about|spec|keyword|tag", re.I)
_BOOL_WORDS = frozenset({"yes", "no", "true", "false", "none", "n/a", "na"})


def tokenize(text: str) -> list[str]:
    """Lower-cased word/number tokens without stop words and single letters."""
    return [t for t in _TOKEN.findall(text.casefold()) if t not in _STOP and (len(t) > 1 or t.isdigit())]


def _tokens_with_spans(text: str) -> list[tuple[str, int, int]]:
    out = []
    for m in _TOKEN.finditer(text.casefold()):
        t = m.group()
        if t not in _STOP and (len(t) > 1 or t.isdigit()):
            out.append((t, m.start(), m.end()))
    return out


def _name_of(title: str) -> list[str]:
    """Distinct name tokens of a title, in order (the part before the first spec separator, <= 10)."""
    head = _NAME_SPLIT.split(title, maxsplit=1)[0]
    toks = tokenize(head)
    if len(toks) < 2:
        toks = tokenize(title)
    seen: dict[str, None] = {}
    for t in toks:
        seen.setdefault(t, None)
    return list(seen)[:10]


def _product_tokens(p: Product) -> set[str]:
    """Every token of a product's own text: title, brand, description, attribute values."""
    own = set(tokenize(p.title)) | set(tokenize(p.description or "")) | set(tokenize(p.brand or ""))
    for value in p.attributes.values():
        for v in value if isinstance(value, list) else [value]:
            own.update(tokenize(str(v)))
    return own


def _has_digit(t: str) -> bool:
    return any(c.isdigit() for c in t)


@dataclass(frozen=True)
class Mention:
    """One checked fact: `stated` about `field` of product `product_id` (`actual` from the catalog)."""

    product_id: str
    field: str  # "price" or an attribute name
    stated: str
    actual: Any
    ok: bool
    start: int = -1  # character span of the stated value in the reply
    end: int = -1


@dataclass(frozen=True)
class ProductSpan:
    """Where a reply names a product: character span, matched text and name coverage (1.0 = all of it)."""

    product_id: str
    start: int
    end: int
    text: str
    score: float


@dataclass
class GroundingReport:
    """What one reply says about the catalog. See the module docstring for the heuristics."""

    products: list[str] = field(default_factory=list)   # ids named, in order of first mention
    mentions: list[Mention] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)    # product-like names that match no catalog product
    spans: list[ProductSpan] = field(default_factory=list)
    unattributed: list[str] = field(default_factory=list)  # prices stated with no product to check against

    @property
    def grounding_rate(self) -> float | None:
        """Share of checked facts that match the catalog; None when nothing was checked."""
        return sum(m.ok for m in self.mentions) / len(self.mentions) if self.mentions else None

    @property
    def wrong(self) -> list[Mention]:
        """The checked facts that contradict the catalog."""
        return [m for m in self.mentions if not m.ok]

    @property
    def ok(self) -> bool:
        """True when no stated fact is wrong and no unknown product is named."""
        return not self.wrong and not self.unknown

    def to_dict(self) -> dict[str, Any]:
        return {"products": self.products, "mentions": [asdict(m) for m in self.mentions],
                "unknown": self.unknown, "unattributed": self.unattributed, "grounding_rate": self.grounding_rate,
                "spans": [asdict(s) for s in self.spans]}


class _Matcher:
    """Name index over one set of products (a category, or the whole catalog)."""

    def __init__(self, products: list[Product]):
        self.products = {p.id: p for p in products}
        self.order = {p.id: i for i, p in enumerate(products)}
        self.names = {p.id: _name_of(p.title) for p in products}
        df: dict[str, int] = defaultdict(int)
        for toks in self.names.values():
            for t in toks:
                df[t] += 1
        n = max(len(products), 1)
        self.idf = {t: math.log(1.0 + n / c) for t, c in df.items()}
        self.postings: dict[str, list[str]] = defaultdict(list)
        cap = max(50, n // 4)
        for pid, toks in self.names.items():
            for t in toks:
                if df[t] <= cap:
                    self.postings[t].append(pid)
        self.name_weight = {pid: sum(self.idf[t] for t in toks) for pid, toks in self.names.items()}
        # attribute value phrases -> attribute names; the category's vocabulary for the unknown-name test
        self.values: dict[tuple[str, ...], set[str]] = defaultdict(set)
        self.vocab: set[str] = set(df)
        self.product_text: dict[str, set[str]] = {}
        distinct: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for p in products:
            own = _product_tokens(p)
            self.vocab.update(own)
            for name, value in p.attributes.items():
                for v in value if isinstance(value, list) else [value]:
                    vt = tuple(tokenize(str(v)))
                    sv = str(v).strip().casefold()
                    if (isinstance(v, str) and vt and len(vt) <= 4 and len(sv) >= 3 and sv not in _BOOL_WORDS
                            and any(c.isalpha() for c in sv) and not _FREE_ATTR.search(name)):
                        self.values[vt].add(name)
                        distinct[name].add(vt)
            self.product_text[p.id] = own
        free = {name for name, vals in distinct.items() if len(vals) > 40}  # free text, not a closed set
        for key in list(self.values):
            self.values[key] -= free
            if not self.values[key]:
                del self.values[key]
        self.max_value_len = max((len(k) for k in self.values), default=0)
        self.brands: dict[tuple[str, ...], str] = {}
        for p in products:
            if p.brand and tokenize(p.brand):
                self.brands[tuple(tokenize(p.brand))] = p.brand

    def find(self, toks: list[tuple[str, int, int]], shown: set[str], threshold: float
             ) -> list[tuple[float, str, int, int, float]]:
        """Candidate (priority, pid, first_token, last_token, coverage) windows in the token list."""
        positions: dict[str, list[int]] = defaultdict(list)
        for i, (t, _, _) in enumerate(toks):
            positions[t].append(i)
        cands: set[str] = set()
        for t in positions:
            cands.update(self.postings.get(t, ()))
        cands.update(pid for pid in shown if pid in self.products)
        out = []
        for pid in cands:
            name = self.names[pid]
            total = self.name_weight[pid]
            if not name or total <= 0:
                continue
            present = [t for t in name if t in positions]
            thr = threshold - (0.15 if pid in shown else 0.0)  # shown products may be named more loosely
            if sum(self.idf[t] for t in present) / total < thr:
                continue
            if len(present) < min(2, len(name)):
                continue
            hits = sorted((i, toks[i][0]) for t in present for i in positions[t])
            span_max = len(name) + 3
            lo = 0
            counts: dict[str, int] = defaultdict(int)
            weight = 0.0
            windows = []
            for hi in range(len(hits)):
                t = hits[hi][1]
                counts[t] += 1
                if counts[t] == 1:
                    weight += self.idf[t]
                while hits[hi][0] - hits[lo][0] >= span_max or counts[hits[lo][1]] > 1:  # too long / redundant
                    tl = hits[lo][1]
                    counts[tl] -= 1
                    if counts[tl] == 0:
                        weight -= self.idf[tl]
                    lo += 1
                distinct = sum(1 for c in counts.values() if c > 0)
                cov = weight / total
                if cov >= thr - 1e-9 and distinct >= min(2, len(name)):
                    windows.append((cov, hits[lo][0], hits[hi][0], distinct))
            rank = {t: j for j, t in enumerate(name)}
            for cov, a, b, distinct in windows:
                if self._other_model(name, toks, a, b):
                    continue
                order = [rank[t] for t in dict.fromkeys(t for t, _, _ in toks[a:b + 1] if t in rank)]
                if order != sorted(order):  # words out of the title's order: weaker evidence
                    cov *= 0.8
                    if cov < thr:
                        continue
                # rank: coverage, minus 0.05 per foreign token inside the window, +0.2 when shown
                prio = cov - 0.05 * (b - a + 1 - distinct) + (0.2 if pid in shown else 0.0)
                out.append((prio, pid, a, b, cov))
        return out

    @staticmethod
    def _other_model(name: list[str], toks: list[tuple[str, int, int]], a: int, b: int) -> bool:
        """True when the title's model number is absent but the window names a different number."""
        name_set = set(name)
        window = {t for t, _, _ in toks[a:b + 2]}
        missing_num = any(_has_digit(t) and t not in window for t in name)
        other_num = any(_has_digit(t) and t not in name_set for t, _, _ in toks[a:b + 2])
        return missing_num and other_num


def _resolve(cands: list[tuple[float, str, int, int, float]], matcher: _Matcher
             ) -> list[tuple[str, int, int, float]]:
    """Greedy non-overlapping choice of candidate windows, best first; returns (pid, a, b, cov) by position."""
    cands.sort(key=lambda c: (-c[0], -matcher.name_weight.get(c[1], 0.0), c[3] - c[2],
                              matcher.order.get(c[1], 0), c[2]))
    taken: list[tuple[int, int]] = []
    chosen = []
    for _, pid, a, b, cov in cands:
        if any(not (b < x or a > y) for x, y in taken):
            continue
        taken.append((a, b))
        chosen.append((pid, a, b, cov))
    return sorted(chosen, key=lambda c: c[1])


class Grounder:
    """Checks replies against one catalog; per-category matchers are built on first use and kept."""

    def __init__(self, catalog: Catalog, threshold: float = 0.7):
        self.catalog = catalog
        self.threshold = threshold
        self._matchers: dict[str | None, _Matcher] = {}
        self._ids = {p.id for p in catalog if _has_digit(p.id) and len(p.id) >= 4}
        self._by_token: dict[str, set[str]] | None = None
        self._order = {p.id: i for i, p in enumerate(catalog)}
        self._brand_keys = {tuple(tokenize(p.brand)) for p in catalog if p.brand and tokenize(p.brand)}

    def matcher(self, category: str | None) -> _Matcher:
        """The name index for `category` (None or an unknown category: the whole catalog)."""
        if category is not None and category not in self._matchers:
            prods = [p for p in self.catalog if p.category == category]
            if not prods:
                return self.matcher(None)
            self._matchers[category] = _Matcher(prods)
        if category is None and None not in self._matchers:
            self._matchers[None] = _Matcher(list(self.catalog))
        return self._matchers[category]

    def check(self, text: str, category: str | None = None, shown: list[str] | None = None) -> GroundingReport:
        """Find named products, check stated prices and attribute values, list unknown product names.

        Args:
            text: the assistant reply.
            category: the dialogue's category; names are matched within it (None: whole catalog).
            shown: product ids the assistant was shown for this turn; preferred on ties and always
                considered, even from another category.

        Returns:
            A `GroundingReport`.
        """
        shown_set = {str(s) for s in (shown or [])}
        m = self.matcher(category)
        extra = [self.catalog.get(s) for s in shown_set if s not in m.products and s in self.catalog]
        if extra:  # shown products from elsewhere: a small matcher merged with the category one
            m = _Matcher(list(m.products.values()) + [p for p in extra if p is not None])
        toks = _tokens_with_spans(text)
        chosen = _resolve(m.find(toks, shown_set, self.threshold), m)
        spans = [ProductSpan(pid, toks[a][1], toks[b][2], text[toks[a][1]:toks[b][2]], round(cov, 3))
                 for pid, a, b, cov in chosen]
        for mm in _ID_TOKEN.finditer(text):
            if mm.group() in self._ids and not any(s.start <= mm.start() < s.end for s in spans):
                spans.append(ProductSpan(mm.group(), mm.start(), mm.end(), mm.group(), 1.0))
        names = self._brand_names(text, spans, m, shown_set)
        spans += [ProductSpan(pid, a, b, text[a:b], 0.5) for kind, pid, a, b in names if kind == "product"]
        spans.sort(key=lambda s: s.start)
        products = list(dict.fromkeys(s.product_id for s in spans))
        report = GroundingReport(products=products, spans=spans)
        report.unknown = list(dict.fromkeys(name for kind, name, _, _ in names if kind == "unknown"))
        sentences = [(s.start(), s.end()) for s in re.finditer(r"[^\n]+?(?:[.!?](?=\s)|$)", text, re.M)]
        # a sentence naming an unknown or ambiguous product: its facts are not attributed
        blocked = [(a, b) for a, b in sentences if any(a <= u < b for kind, _, u, _ in names if kind != "product")]
        self._check_prices(text, spans, sentences, blocked, report)
        self._check_attributes(text, toks, spans, sentences, blocked, m, report)
        report.mentions = _drop_contrasts(report.mentions, sentences)
        return report

    # -- attribution -----------------------------------------------------------------------------------
    @staticmethod
    def _owner(pos: int, spans: list[ProductSpan], sentences: list[tuple[int, int]], text: str,
               allow_after: bool, blocked: list[tuple[int, int]]) -> str | None:
        sent = next(((a, b) for a, b in sentences if a <= pos < b), (0, len(text)))
        if sent in blocked:
            return None
        before = [s for s in spans if sent[0] <= s.start and s.end <= pos]
        if before:
            return before[-1].product_id
        if allow_after:
            after = [s for s in spans if pos < s.start < sent[1]]
            if after:
                return after[0].product_id
        if not any(sent[0] <= s.start < sent[1] for s in spans) and _PRONOUN_START.match(text[sent[0]:sent[1]]):
            earlier = [s for s in spans if s.end <= sent[0]]
            if earlier:
                return earlier[-1].product_id
        return None

    def _check_prices(self, text: str, spans: list[ProductSpan], sentences: list[tuple[int, int]],
                      blocked: list[tuple[int, int]], report: GroundingReport) -> None:
        seen: list[tuple[int, int]] = []
        for pat in _PRICE_PATTERNS:
            for mm in pat.finditer(text):
                if (any(not (mm.end() <= a or mm.start() >= b) for a, b in seen)
                        or any(s.start <= mm.start() < s.end for s in spans)):
                    continue
                seen.append(mm.span())
                before, after = text[max(0, mm.start() - 30):mm.start()], text[mm.end():mm.end() + 20]
                if _BUDGET_BEFORE.search(before) or _BUDGET_AFTER.match(after):
                    continue
                pid = self._owner(mm.start(), spans, sentences, text, True, blocked)
                stated = mm.group().strip()
                if pid is None:
                    report.unattributed.append(stated)
                    continue
                p = self.catalog.get(pid)
                if p is None or p.price is None:
                    continue
                value = float(mm.group("num").replace(",", ""))
                cur = _CURRENCY.get(mm.group("cur").casefold().rstrip("."), _CURRENCY.get(mm.group("cur").casefold()))
                ok = _price_ok(value, "." in mm.group("num"), p.price, bool(_APPROX_BEFORE.search(before)))
                if cur and p.currency and cur != p.currency.upper():
                    ok = False
                report.mentions.append(Mention(pid, "price", stated, p.price, ok, mm.start(), mm.end()))

    def _check_attributes(self, text: str, toks: list[tuple[str, int, int]], spans: list[ProductSpan],
                          sentences: list[tuple[int, int]], blocked: list[tuple[int, int]], m: _Matcher,
                          report: GroundingReport) -> None:
        if not m.values or not spans:
            return
        i = 0
        while i < len(toks):
            if any(s.start <= toks[i][1] < s.end for s in spans):
                i += 1
                continue
            hit = None
            for n in range(min(m.max_value_len, len(toks) - i), 0, -1):
                key = tuple(t for t, _, _ in toks[i:i + n])
                if key in m.values:
                    hit = (key, n)
                    break
            if hit is None:
                i += 1
                continue
            key, n = hit
            start, end = toks[i][1], toks[i + n - 1][2]
            i += n
            if key in m.brands or key in self._brand_keys or _CONTRAST.search(text[max(0, start - 24):start]):
                continue  # a brand starts another product's name; "than disc brakes" is a contrast
            pid = self._owner(start, spans, sentences, text, False, blocked)
            p = self.catalog.get(pid) if pid else None
            if p is None:
                continue
            names = [a for a in sorted(m.values[key]) if a in p.attributes]
            if not names:
                continue
            own = m.product_text.get(p.id) or _product_tokens(p)
            good = [a for a in names if _value_ok(key, p.attributes[a])]
            neg = _NEGATION.search(text[max(0, start - 14):start])
            if neg:  # "black, not white": a negative claim; its span covers the negation word too
                a0 = max(0, start - 14) + neg.start()
                report.mentions.append(Mention(p.id, names[0], text[a0:end], p.attributes[names[0]], not good,
                                               a0, end))
            elif good or set(key) <= own:
                a = good[0] if good else names[0]
                report.mentions.append(Mention(p.id, a, text[start:end], p.attributes[a], True, start, end))
            else:
                report.mentions.append(Mention(p.id, names[0], text[start:end], p.attributes[names[0]], False,
                                               start, end))

    def _own_index(self) -> dict[str, set[str]]:
        """Token -> ids of the products whose own text (title, brand, description, attributes) holds it."""
        if self._by_token is None:
            self._by_token = defaultdict(set)
            for p in self.catalog:
                for t in _product_tokens(p):
                    self._by_token[t].add(p.id)
        return self._by_token

    def _brand_names(self, text: str, spans: list[ProductSpan], m: _Matcher, shown: set[str]
                     ) -> list[tuple[str, str, int, int]]:
        """Brand-led product-like names not covered by a matched name, as (kind, name-or-id, start, end):
        kind "product" (one catalog product's own words hold every word of the name -- a shortened title;
        several with the same title or one of them shown also count), "ambiguous" (several) or "unknown"
        (none; see the module docstring)."""
        if not m.brands:
            return []
        out = []
        for mm in _CAPS_RUN.finditer(text):
            if any(not (mm.end() <= s.start or mm.start() >= s.end) for s in spans):
                continue
            toks = tokenize(mm.group())
            for k in range(min(3, len(toks))):  # skip a leading "The" / "Try" style word
                brand = next((b for b in m.brands if tuple(toks[k:k + len(b)]) == b), None)
                if brand is not None:
                    rest = toks[k + len(brand):]
                    break
            else:
                continue
            if not rest or not any(_model_like(t, m.vocab) for t in rest):
                continue
            index = self._own_index()
            words = sorted(set(brand) | set(rest), key=lambda t: len(index.get(t, ())))
            fits = set(index.get(words[0], ()))
            for t in words[1:]:
                fits &= index.get(t, set())
            fits_list = sorted(fits, key=lambda pid: self._order[pid])
            if len(fits_list) > 1:
                preferred = [pid for pid in fits_list if pid in shown]
                same_title = len({self.catalog.get(pid).title.casefold() for pid in fits_list}) == 1
                fits_list = preferred[:1] or (fits_list[:1] if same_title else fits_list)
            if fits_list:  # a shortened but real title ("ASICS Gel-Kayano 29")
                out.append(("product", fits_list[0], mm.start(), mm.end()) if len(fits_list) == 1 else
                           ("ambiguous", mm.group(), mm.start(), mm.end()))
                continue
            whole = self.matcher(None)
            phrase = _tokens_with_spans(mm.group())
            if _resolve(whole.find(phrase, set(), self.threshold), whole):
                continue
            out.append(("unknown", mm.group().strip().rstrip(".,;:!?"), mm.start(), mm.end()))
        return out


def _model_like(t: str, vocab: set[str]) -> bool:
    """A model-name word: holds a digit (not a bare decimal such as a 17.3 screen size) or is a word the
    category's titles and attribute values never use (plural forms count as used)."""
    if _has_digit(t):
        return not re.fullmatch(r"\d+\.\d+", t)
    return t not in vocab and t.rstrip("s") not in vocab and t + "s" not in vocab


def _drop_contrasts(mentions: list[Mention], sentences: list[tuple[int, int]]) -> list[Mention]:
    """Drop a wrong attribute value when the same sentence also states the product's right value for that
    attribute ("linear pull brakes, less powerful than disc brakes"); order by position."""
    def sent(pos: int) -> int:
        return next((i for i, (a, b) in enumerate(sentences) if a <= pos < b), -1)

    right = {(m.product_id, m.field, sent(m.start)) for m in mentions if m.ok and m.field != "price"}
    keep = [m for m in mentions if m.ok or m.field == "price" or (m.product_id, m.field, sent(m.start)) not in right]
    return sorted(keep, key=lambda x: x.start)


def _price_ok(stated: float, has_cents: bool, actual: float, approx: bool) -> bool:
    if abs(stated - actual) <= 0.011:
        return True
    if approx:
        return abs(stated - actual) <= 0.1 * max(actual, 1e-9)
    return not has_cents and stated in (math.floor(actual), float(round(actual)))


def _value_ok(key: tuple[str, ...], actual: Any) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    return any(tuple(tokenize(str(v))) == key for v in values)


_CACHE: weakref.WeakKeyDictionary[Catalog, Grounder] = weakref.WeakKeyDictionary()


def check_reply(text: str, catalog: Catalog, category: str | None = None,
                shown: list[str] | None = None) -> GroundingReport:
    """Check one reply against `catalog` (a `Grounder` per catalog object is built once and cached).

    Args:
        text: the assistant reply.
        catalog: the product catalog.
        category: the dialogue's category (None: match against the whole catalog).
        shown: ids of the products the assistant was shown for this turn (preferred on ties).

    Returns:
        A `GroundingReport` with `.products`, `.mentions`, `.unknown`, `.grounding_rate`.
    """
    g = _CACHE.get(catalog)
    if g is None:
        g = _CACHE[catalog] = Grounder(catalog)
    return g.check(text, category, shown)
