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
  reply (at most name length + 3 tokens, no gap of more than 2 foreign words) covers >= `threshold`
  (0.7) of the name's tokens weighted by IDF within the category (so "men's running shoes" counts
  little, "kayano 29" a lot), with at least two name tokens (or the whole of a one-token name); the bar
  is 0.15 lower for `shown` products. A fuzzy match is refused when the title's model number is missing
  and the window holds a different number ("Pegasus 41" is not "Pegasus 39"), follows another brand
  ("Casa Verde Dune Lamp" is not the Brightloft one) or holds / goes on with another title's word
  ("Dune Floor Lamp" is not "Dune Rug"); words out of the title's order count 0.8. Overlapping matches are resolved
  by coverage (-0.05 per foreign word inside the window), `shown` products first (+0.2), then the more
  specific title. Explicit ids (tokens with a digit that equal a catalog id, such as ASINs) also name
  products. Products without a `brand` get one from their title's first word when that word is
  capitalised and is a first word in at least 80% of the titles using it.
* **Brand-led names** (runs of capitalised / numbered words starting with any catalog brand) that no
  title window covered: when exactly one catalog product's own text holds every word of the run (or
  several with one title, or one of them shown), it is a shortened title naming that product ("Lenovo
  Flex 5"); when several do, or the brand stands alone for a product not named, or the run is close
  to some title: ambiguous. A run with a model-like word (a digit but not a bare decimal such as a
  17.3" screen, or a word the category's titles and attribute values never use) that fits no product
  is **unknown** (a hallucinated product: "Acme Cloudstrider", "Acme Runner 9"; short all-caps words
  such as "DNA" and hyphen-glued words such as "Nikon-branded" are not model names). A brand-less invented
  name is not reported (by design), but any other run of two capitalised words that are not attribute
  values or brands of the category is a product of another category when it matches one title of the
  whole catalog (a lamp named in a shoes dialogue), else a *foreign* name ("Samsung Chromebook 3").
* **Which product a fact is about**: the last product named before it in the same sentence (when the
  sentence names several products, only within 40 characters of that name); for prices also the first
  named after it in the sentence; in a sentence naming no product, the product of the sentence one or
  two before, when that sentence named exactly one. Sentences holding an unknown, ambiguous or foreign
  name attribute nothing.
* **Prices** (`$49.99`, `49.99 USD`, `49 dollars`, also EUR/GBP/INR forms). Budgets and ranges ("under
  $50", "$20-$40", "save $10", "$20 less") are not product facts and are skipped. A price matches when it is
  within a cent, or is the whole-dollar floor/rounding of the actual price ("49 dollars" for 49.99), or
  within 10% after "about/around/~". A stated currency must agree with the product's.
* **Attribute values**: phrases (<= 4 tokens, with a letter, >= 3 characters, not yes/no) that are
  values of some closed-set attribute in the category (<= 40 distinct values; names like "features",
  "special feature", "description", "includes" are free lists and skipped). Values *before* a product
  name are usually the shopper's own needs and are not checked. A value is right when it equals the
  product's value for that attribute (or is in its list) or appears anywhere in the product's own text
  (title, description, attributes); after "not/no/without" it is right when it differs from the
  product's value. Tokens inside product names are never read as attribute values.
* **Not claims**: values within two words after "than / as / unlike / compared to / instead of / other"
  or after "prefer / want / need / looking for / your ..." (the shopper's needs), values that are brand
  names, and a wrong value in a sentence that also states the product's right value for that attribute
  (a contrast).

* **What slipped before** (issue #23): brandless and lower-case invented names ("the Aroma and White floor lamp",
  invented book titles after "I recommend") are read by `assistant.checks.names` (rapidfuzz against the titles);
  values said with an attribute's name ("size XL", "navy material") and numbers with units ("456 GB", "for ages
  8+", "500 pieces", also in a free-text title or description) by `assistant.checks.facts`.

`grounding_rate` is the share of checked facts (prices and attribute values) that match; None when no
fact was checked. Unknown products are reported separately, not folded into the rate.
"""

from __future__ import annotations

import re
import weakref
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.checks.facts import (
    NEXT_TO_AFTER,
    NEXT_TO_BEFORE,
    check_labelled,
    check_quantities,
    clause,
    drop_contrasts,
    label_names,
    price_ok,
    value_ok,
)
from assistant.checks.grounding_index import (
    NameIndex,
    has_digit,
    model_like,
    model_number,
    product_tokens,
    resolve,
    tokenize,
    tokens_with_spans,
)
from assistant.checks.names import (
    CUE_BEFORE,
    ORDINARY,
    PARTS,
    UNIT_AFTER,
    inferred_brands,
    invented_names,
    recommended_titles,
    words_of,
)
from assistant.text import sentence_spans
from retrieval.catalog import Catalog

_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
_PRICE_PATTERNS = (
    re.compile(r"(?P<cur>[$€£₹]|\bRs\.?|\bUSD|\bEUR|\bGBP|\bINR)\s?" + _NUM, re.I),
    re.compile(_NUM + r"\s?(?P<cur>USD|EUR|GBP|INR|dollars?|bucks|euros?|pounds?|rupees?)\b", re.I),
)
_CURRENCY = {
    "$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "₹": "INR",
    "inr": "INR",
    "rs": "INR",
    "rs.": "INR",
    "rupee": "INR",
    "rupees": "INR",
}
_BUDGET_BEFORE = re.compile(
    r"(under|below|less than|up to|over|above|more than|at least|at most|between|within|max(imum)?|min(imum)?"
    r"|budget( of| is| around)?|cheaper than|pricier than|no more than|no less than|save|saving|savings of"
    r"|discount of|from|than|extra|additional|another|[$€£₹]\d[\d,.]*\s*(?:[-–]|to|and)|\d[-–])\s*$",
    re.I,
)
_BUDGET_AFTER = re.compile(
    r"^\s*(off|discount|budget|or less|or more|and under|and up|max|range|[-–]\s*[$€£₹]?\d|to\s+[$€£₹]?\d"
    r"|less|more|cheaper|pricier|extra)\b",  # "costs $22.51 less": a difference, not a price
    re.I,
)
_APPROX_BEFORE = re.compile(r"(about|around|approximately|roughly|~|nearly|almost)\s*$", re.I)
_CAPS_RUN = re.compile(r"\b[A-Z0-9][\w+-]*(?:\.\d+)?(?:[ \t]+(?:[A-Z0-9][\w+-]*(?:\.\d+)?|&))*")  # one line
_ID_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{3,}")
_NEGATION = re.compile(r"\b(not|no|isn'?t|aren'?t|without|non-?|never)\s*$", re.I)
_CONTRAST = re.compile(  # a value after these is a comparison or the shopper's own need, not a product claim
    r"\b(than|as|instead of|unlike|versus|vs\.?|compared (to|with)|other|another|prefer(ence|red)?s?( for)?|"
    r"wants?|wanted|needs?|needed|needing|requires?|required|requirements?|looking for|asked for|mentioned|"
    r"wish(ed)? for|emphasis on|priorit(y|ies|ize)|your)(\s+[\w-]+){0,2}\s*$",
    re.I,
)


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

    products: list[str] = field(default_factory=list)  # ids named, in order of first mention
    mentions: list[Mention] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # product-like names that match no catalog product
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
        return {
            "products": self.products,
            "mentions": [asdict(m) for m in self.mentions],
            "unknown": self.unknown,
            "unattributed": self.unattributed,
            "grounding_rate": self.grounding_rate,
            "spans": [asdict(s) for s in self.spans],
        }


class Grounder:
    """Checks replies against one catalog; per-category matchers are built on first use and kept."""

    def __init__(self, catalog: Catalog, threshold: float = 0.7):
        self.catalog = catalog
        self.threshold = threshold
        self._matchers: dict[str | None, NameIndex] = {}
        self._ids = {p.id for p in catalog if has_digit(p.id) and len(p.id) >= 4}
        self._by_token: dict[str, set[str]] | None = None
        self._order = {p.id: i for i, p in enumerate(catalog)}
        self._brand_keys = {tuple(tokenize(p.brand)) for p in catalog if p.brand and tokenize(p.brand)}
        self._brand_keys |= inferred_brands(catalog)
        self._ordinary: frozenset[str] | set[str] | None = None

    def matcher(self, category: str | None) -> NameIndex:
        """The name index for `category` (None or an unknown category: the whole catalog)."""
        if category is not None and category not in self._matchers:
            prods = [p for p in self.catalog if p.category == category]
            if not prods:
                return self.matcher(None)
            self._matchers[category] = NameIndex(prods)
        if category is None and None not in self._matchers:
            self._matchers[None] = NameIndex(list(self.catalog))
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
            m = NameIndex(list(m.products.values()) + [p for p in extra if p is not None])
        toks = tokens_with_spans(text)
        chosen = resolve(m.find(toks, shown_set, self.threshold, text), m)
        spans = [
            ProductSpan(pid, toks[a][1], toks[b][2], text[toks[a][1] : toks[b][2]], round(cov, 3))
            for pid, a, b, cov in chosen
        ]
        for mm in _ID_TOKEN.finditer(text):
            if mm.group() in self._ids and not any(s.start <= mm.start() < s.end for s in spans):
                spans.append(ProductSpan(mm.group(), mm.start(), mm.end(), mm.group(), 1.0))
        names = recommended_titles(
            text, self._brand_names(text, spans, m, shown_set), ORDINARY, self.matcher(None), self.catalog
        )
        names += [n for n in invented_names(text, spans, m) if not any(n[2] < b and a < n[3] for _, _, a, b in names)]
        spans += [ProductSpan(pid, a, b, text[a:b], 0.5) for kind, pid, a, b in names if kind == "product"]
        spans.sort(key=lambda s: s.start)
        products = list(dict.fromkeys(s.product_id for s in spans))
        report = GroundingReport(products=products, spans=spans)
        report.unknown = list(dict.fromkeys(name for kind, name, _, _ in names if kind == "unknown"))
        sentences = sentence_spans(text)
        # a sentence naming an unknown or ambiguous product: its facts are not attributed
        blocked = [(a, b) for a, b in sentences if any(a <= u < b for kind, _, u, _ in names if kind != "product")]
        self._check_prices(text, spans, sentences, blocked, report)
        self._check_attributes(text, toks, spans, sentences, blocked, m, report)
        self._check_stated(text, spans, sentences, blocked, m, report)
        report.mentions = drop_contrasts(report.mentions, sentences)
        return report

    # -- attribution -----------------------------------------------------------------------------------
    @staticmethod
    def _owner(
        pos: int,
        spans: list[ProductSpan],
        sentences: list[tuple[int, int]],
        text: str,
        allow_after: bool,
        blocked: list[tuple[int, int]],
        end: int | None = None,
    ) -> str | None:
        """The product a fact at `pos` (ending at `end`) is about; see "Which product a fact is about" in the
        module docstring."""
        sent = next(((a, b) for a, b in sentences if a <= pos < b), (0, len(text)))
        if sent in blocked:
            return None
        end = pos if end is None else end
        inside = [s for s in spans if sent[0] <= s.start < sent[1]]
        before = [s for s in inside if s.end <= pos]
        after = [s for s in inside if s.start >= end]
        if len({s.product_id for s in inside}) > 1:
            # several products in the sentence: the one the fact sits next to ("the X ($49)", "X costs $49",
            # "for $79 you get the Y"), else the one in the same clause, else nobody
            if before and NEXT_TO_BEFORE.fullmatch(text[before[-1].end : pos]):
                return before[-1].product_id
            if allow_after and after and NEXT_TO_AFTER.fullmatch(text[end : after[0].start]):
                return after[0].product_id
            part = clause(text, sent, pos)
            near = [s for s in before if s.start >= part[0]]
            if near:
                return near[-1].product_id
            later = [s for s in after if s.start < part[1]]
            return later[0].product_id if allow_after and later else None
        if before:
            return before[-1].product_id
        if allow_after and after:
            return after[0].product_id
        if not inside:
            # a sentence naming no product continues the last sentence that named one, if that named one only
            earlier = [s for s in spans if s.end <= sent[0]]
            if earlier:
                li = next((i for i, (a, b) in enumerate(sentences) if a <= earlier[-1].start < b), None)
                ci = sentences.index(sent) if sent in sentences else None
                if li is not None and ci is not None and ci - li <= 2:  # at most two sentences on
                    a, b = sentences[li]
                    if len({s.product_id for s in earlier if a <= s.start < b}) == 1:
                        return earlier[-1].product_id
        return None

    def _check_prices(
        self,
        text: str,
        spans: list[ProductSpan],
        sentences: list[tuple[int, int]],
        blocked: list[tuple[int, int]],
        report: GroundingReport,
    ) -> None:
        seen: list[tuple[int, int]] = []
        for pat in _PRICE_PATTERNS:
            for mm in pat.finditer(text):
                if any(not (mm.end() <= a or mm.start() >= b) for a, b in seen) or any(
                    s.start <= mm.start() < s.end for s in spans
                ):
                    continue
                seen.append(mm.span())
                before, after = text[max(0, mm.start() - 30) : mm.start()], text[mm.end() : mm.end() + 20]
                if _BUDGET_BEFORE.search(before) or _BUDGET_AFTER.match(after):
                    continue
                pid = self._owner(mm.start(), spans, sentences, text, True, blocked, mm.end())
                stated = mm.group().strip()
                if pid is None:
                    report.unattributed.append(stated)
                    continue
                p = self.catalog.get(pid)
                if p is None or p.price is None:
                    continue
                value = float(mm.group("num").replace(",", ""))
                cur = _CURRENCY.get(mm.group("cur").casefold().rstrip("."), _CURRENCY.get(mm.group("cur").casefold()))
                ok = price_ok(value, "." in mm.group("num"), p.price, bool(_APPROX_BEFORE.search(before)))
                if cur and p.currency and cur != p.currency.upper():
                    ok = False
                report.mentions.append(Mention(pid, "price", stated, p.price, ok, mm.start(), mm.end()))

    def _check_attributes(
        self,
        text: str,
        toks: list[tuple[str, int, int]],
        spans: list[ProductSpan],
        sentences: list[tuple[int, int]],
        blocked: list[tuple[int, int]],
        m: NameIndex,
        report: GroundingReport,
    ) -> None:
        if not m.values or not spans:
            return
        i = 0
        while i < len(toks):
            if any(s.start <= toks[i][1] < s.end for s in spans):
                i += 1
                continue
            hit = None
            for n in range(min(m.max_value_len, len(toks) - i), 0, -1):
                key = tuple(t for t, _, _ in toks[i : i + n])
                if key in m.values:
                    hit = (key, n)
                    break
            if hit is None:
                i += 1
                continue
            key, n = hit
            start, end = toks[i][1], toks[i + n - 1][2]
            i += n
            if key in m.brands or key in self._brand_keys or _CONTRAST.search(text[max(0, start - 48) : start]):
                continue  # a brand starts another product's name; "than disc brakes" is a contrast
            pid = self._owner(start, spans, sentences, text, False, blocked, end)
            p = self.catalog.get(pid) if pid else None
            if p is None:
                continue
            names = [a for a in sorted(m.values[key]) if a in p.attributes]
            if not names:
                continue
            own = m.product_text.get(p.id) or product_tokens(p)
            good = [a for a in names if value_ok(key, p.attributes[a])]
            neg = _NEGATION.search(text[max(0, start - 14) : start])
            if neg:  # "black, not white": a negative claim; its span covers the negation word too
                a0 = max(0, start - 14) + neg.start()
                report.mentions.append(
                    Mention(p.id, names[0], text[a0:end], p.attributes[names[0]], not good, a0, end)
                )
            elif good or set(key) <= own:
                a = good[0] if good else names[0]
                report.mentions.append(Mention(p.id, a, text[start:end], p.attributes[a], True, start, end))
            else:
                report.mentions.append(
                    Mention(p.id, names[0], text[start:end], p.attributes[names[0]], False, start, end)
                )

    def _check_stated(
        self,
        text: str,
        spans: list[ProductSpan],
        sentences: list[tuple[int, int]],
        blocked: list[tuple[int, int]],
        m: NameIndex,
        report: GroundingReport,
    ) -> None:
        """Labelled values ("size XL", "navy material") replace the plain reading of their span; then quantities
        ("456 GB", "for ages 8+") not read yet (`assistant.checks.facts`)."""

        def owner(a: int, b: int) -> str | None:
            return self._owner(a, spans, sentences, text, False, blocked, b)

        labelled = [Mention(*f.__dict__.values()) for f in check_labelled(text, spans, owner, m, self.catalog)]
        keep = [x for x in report.mentions if not any(x.start < y.end and y.start < x.end for y in labelled)]
        taken = [(s.start, s.end) for s in spans] + [(x.start, x.end) for x in keep + labelled]
        taken += [mm.span() for pat in _PRICE_PATTERNS for mm in pat.finditer(text)]
        stated = [Mention(*f.__dict__.values()) for f in check_quantities(text, taken, owner, m, self.catalog)]
        names = label_names(m)  # "200 ml of volume": "volume" names the attribute, it is no hair concern
        near = [y for y in keep + labelled + stated if y.stated.lower() not in names]
        keep = [
            x
            for x in keep
            if x.stated.lower() not in names
            or not any(abs(x.start - y.end) < 12 or abs(y.start - x.end) < 12 for y in near)
        ]
        report.mentions = keep + labelled + stated

    def _own_index(self) -> dict[str, set[str]]:
        """Token -> ids of the products whose own text (title, brand, description, attributes) holds it."""
        if self._by_token is None:
            self._by_token = defaultdict(set)
            for p in self.catalog:
                for t in product_tokens(p):
                    self._by_token[t].add(p.id)
        return self._by_token

    def _fits(self, toks: list[str]) -> bool:
        """True when one catalog product's own text holds every token (a phrase copied from the catalog)."""
        index = self._own_index()
        words = sorted(set(toks), key=lambda t: len(index.get(t, ())))
        if not words:
            return True
        fits = set(index.get(words[0], ()))
        for t in words[1:]:
            fits &= index.get(t, set())
        return bool(fits)

    def _product_like(self, text: str, mm: re.Match, toks: list[str], m: NameIndex) -> bool:
        """A capitalised run without a catalog brand reads as a product name when it starts with a word and holds a
        model number ("Sony WH-1000XM4", "OnePlus Nord N20", "Pegasus 38" -- not a number with a unit, "15-mile",
        "5 ATM") next to a word that is not an ordinary one, or when a recommendation cue ("the", "try",
        "recommend", ...) leads 2+ capitalised words of which one is neither ordinary nor the shop's own
        vocabulary ("the Midnight Library" in a tea shop). A run before a colon is a heading, and one that ends
        with a part's noun ("NVIDIA MX250 GPU", "Windows 10 Home OS") names a part, not a product."""
        if self._ordinary is None:
            self._ordinary = ORDINARY | words_of(self.catalog)
        run = mm.group()
        words = re.findall(r"[^\W_][\w'.-]*", run)
        if words and words[0] in ("The", "A", "An", "Its", "This", "These", "Their", "Your", "Our", "My", "Each"):
            words = words[1:]
        if all(re.fullmatch(r"[A-Z]{2,6}(?:-[A-Z0-9]+)*|\d+|[A-Z0-9]+-[A-Z0-9-]+", w) for w in words):
            return False  # acronyms and standards: "MPEG-4", "DIGIC 7", "MIL-STD-810", "IP65-rated" ...
        if not words or not words[0][0].isalpha() or re.match(r"\s*:", text[mm.end() :]):
            return False
        if toks and (toks[-1] in PARTS or re.fullmatch(r"\d+", toks[-1]) and UNIT_AFTER.match(text[mm.end() :])):
            return False
        if any(re.fullmatch(r"\d+(?:\.\d+)?-[a-z]+", w) for w in words):  # "15-mile", "9-point": quantities
            return False
        alpha = [t for t in toks if any(c.isalpha() for c in t)]
        odd = [t for t in alpha if t not in self._ordinary and t.rstrip("s") not in self._ordinary]
        if not odd:
            return False
        models = [t for t in toks if model_number(t) or (t.isdigit() and len(t) <= 3)]
        if models and len(toks) >= 2 and (set(odd) - set(models)):
            return True
        caps = [w for w in words if w[:1].isupper() and w not in ("I",)]
        cue = run.startswith("The ") or bool(CUE_BEFORE.search(text[max(0, mm.start() - 24) : mm.start()]))
        fresh = [t for t in odd if t not in m.vocab]
        return cue and len(caps) >= 2 and bool(fresh)

    def _brand_names(
        self, text: str, spans: list[ProductSpan], m: NameIndex, shown: set[str]
    ) -> list[tuple[str, str, int, int]]:
        """Brand-led product-like names not covered by a matched name, as (kind, name-or-id, start, end):
        kind "product" (one catalog product's own words hold every word of the name -- a shortened title;
        several with the same title or one of them shown also count), "ambiguous" (several) or "unknown"
        (none; see the module docstring)."""
        out = []
        for mm in _CAPS_RUN.finditer(text):
            if any(not (mm.end() <= s.start or mm.start() >= s.end) for s in spans):
                continue
            toks = tokenize(mm.group())
            for k in range(min(3, len(toks))):  # skip a leading "The" / "Try" style word
                brand = next((b for b in self._brand_keys if tuple(toks[k : k + len(b)]) == b), None)
                if brand is not None:
                    rest = toks[k + len(brand) :]
                    break
            else:
                words = [t for t in toks if any(c.isalpha() for c in t) and t not in _CURRENCY]
                like = self._product_like(text, mm, toks, m)
                if (len(words) >= 2 or like) and not all(
                    t in m.value_vocab or t.rstrip("s") in m.value_vocab for t in words
                ):
                    # a product of another category (a lamp in a shoes dialogue) still names that product
                    whole = self.matcher(None)
                    hit = resolve(whole.find(tokens_with_spans(mm.group()), set(), self.threshold), whole)
                    if len(hit) == 1 and m is not whole:
                        out.append(("product", hit[0][0], mm.start(), mm.end()))
                    elif hit or not like or self._fits(toks):  # a title or catalog phrase ("Shimano Ultegra")
                        out.append(("foreign", mm.group(), mm.start(), mm.end()))
                    else:  # a product-like name no catalog product holds: invented, or another shop's
                        out.append(("unknown", mm.group().strip().rstrip(".,;:!?"), mm.start(), mm.end()))
                continue
            if not rest:  # a bare brand: another product may be meant, unless a named product has that brand
                if brand not in {
                    tuple(tokenize(getattr(self.catalog.get(s.product_id), "brand", None) or "")) for s in spans
                }:
                    out.append(("ambiguous", mm.group(), mm.start(), mm.end()))
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
                out.append(
                    ("product", fits_list[0], mm.start(), mm.end())
                    if len(fits_list) == 1
                    else ("ambiguous", mm.group(), mm.start(), mm.end())
                )
                continue
            acronyms = {w.casefold() for w in re.findall(r"\b[A-Z]{2,4}\b", mm.group())}  # DNA, GTX, HD: tech terms
            glued = re.fullmatch(r"[^\W_]+-[a-z]+", mm.group().split()[0])  # "Nikon-branded", "Brooks-level"
            if glued or not any(model_like(t, m.vocab) and t not in acronyms for t in rest):
                out.append(("ambiguous", mm.group(), mm.start(), mm.end()))
                continue
            whole = self.matcher(None)
            phrase = tokens_with_spans(mm.group())
            if resolve(whole.find(phrase, set(), self.threshold), whole):
                out.append(("ambiguous", mm.group(), mm.start(), mm.end()))  # close to a real title
                continue
            out.append(("unknown", mm.group().strip().rstrip(".,;:!?"), mm.start(), mm.end()))
        return out


_CACHE: weakref.WeakKeyDictionary[Catalog, Grounder] = weakref.WeakKeyDictionary()


def check_reply(
    text: str, catalog: Catalog, category: str | None = None, shown: list[str] | None = None
) -> GroundingReport:
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
