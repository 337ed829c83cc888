"""Name index behind `assistant.checks.grounding`: tokenization, title names, and the per-category index that finds
where a reply names catalog products (IDF-weighted title windows). See `assistant/checks/grounding.py` for the
heuristics; nothing here knows about prices or replies' sentences.
"""

from __future__ import annotations

import functools
import math
import re
from collections import defaultdict

from assistant.understanding.vocabulary import MAX_CLOSED_SET
from retrieval.catalog import Product
from retrieval.encoder import bundled_encoder_path

# "7a", "5g", "16gb" stay one token; so do "t-shirt", "v-neck", "e-reader" (a lone letter is dropped, and
# "Kestrel Atlas T-Shirt" would read as the "Kestrel Atlas Shirt"), but not model names such as "X-T4"
_TOKEN = re.compile(r"(?<![^\W_])[^\W\d_]-[^\W\d_]{3,}(?![^\W_])|\d+(?:\.\d+)?(?![^\W_])|[^\W_]+")
_STOP = frozenset(
    "a an the and or of for with in on to by at from is are it its this that these those your you my our "
    "as be can will was were has have had very so but not no".split()
)
_NAME_SPLIT = re.compile(r",|\s[-–—|]\s|\(|\||:")
# attributes that list features rather than pick one value of a closed set: not checked
_FREE_ATTR = re.compile(r"feature|special|descri|include|note|other|detail|compat|about|spec|keyword|tag", re.I)
_BOOL_WORDS = frozenset({"yes", "no", "true", "false", "none", "n/a", "na"})
# a number with a unit is a spec ("16gb", "750w", "4k"), not a model number
_UNIT_TOKEN = re.compile(
    r"\d+(?:\.\d+)?(?:gb|tb|mb|mm|cm|km|m|mp|k|w|kw|v|mah|ah|hz|ghz|mhz|mph|kmh|g|kg|oz|lb|lbs|in|inch|ft|ml|l|"
    r"x|fps|p|th|st|nd|rd|s|mi|miles|speed|pack|pcs|pc|ct|ft)",
    re.I,
)
# a bare number naming a product ("1922") is not one after these words ("in 1922", "since 1922")
_TIME_WORDS = frozenset("in since from until till by before after around circa during of year years to".split())


def tokenize(text: str) -> list[str]:
    """Lower-cased word/number tokens without stop words and single letters."""
    return [t for t in _TOKEN.findall(text.casefold()) if t not in _STOP and (len(t) > 1 or t.isdigit())]


def tokens_with_spans(text: str) -> list[tuple[str, int, int]]:
    """`tokenize` with each token's character span: [(token, start, end)]."""
    out = []
    for m in _TOKEN.finditer(text.casefold()):
        t = m.group()
        if t not in _STOP and (len(t) > 1 or t.isdigit()):
            out.append((t, m.start(), m.end()))
    return out


def name_of(title: str) -> list[str]:
    """Distinct name tokens of a title, in order (the part before the first spec separator, <= 10)."""
    head = _NAME_SPLIT.split(title, maxsplit=1)[0]
    toks = tokenize(head)
    if len(toks) < 2:
        toks = tokenize(title)
    seen: dict[str, None] = {}
    for t in toks:
        seen.setdefault(t, None)
    return list(seen)[:10]


def product_tokens(p: Product) -> set[str]:
    """Every token of a product's own text: title, brand, description, attribute values."""
    own = set(tokenize(p.title)) | set(tokenize(p.description or "")) | set(tokenize(p.brand or ""))
    for value in p.attributes.values():
        for v in value if isinstance(value, list) else [value]:
            own.update(tokenize(str(v)))
    return own


def has_digit(t: str) -> bool:
    """True when the token holds a digit."""
    return any(c.isdigit() for c in t)


@functools.cache
def dictionary_words() -> frozenset[str]:
    """Whole words (3+ letters) of the bundled MiniLM's WordPiece vocabulary: a list of ordinary English words
    (and some common names) that ships with the project; empty when the package is missing."""
    try:
        lines = (bundled_encoder_path() / "vocab.txt").read_text(encoding="utf-8").split()
    except Exception:  # no bundled encoder: every word counts as unusual
        return frozenset()
    return frozenset(w for w in lines if len(w) >= 3 and w.isalpha())


def model_number(t: str) -> bool:
    """A model-number token: letters and digits mixed ("s20", "7a", "1000xm4", "x100v"), not a number with a
    unit ("16gb", "750w", "4k")."""
    return has_digit(t) and any(c.isalpha() for c in t) and not _UNIT_TOKEN.fullmatch(t)


def model_like(t: str, vocab: set[str]) -> bool:
    """A model-name word: holds a digit (not a bare decimal such as a 17.3 screen size) or is a word the
    category's titles and attribute values never use (plural forms count as used)."""
    if has_digit(t):
        return not re.fullmatch(r"\d+\.\d+", t)
    return t not in vocab and t.rstrip("s") not in vocab and t + "s" not in vocab


class NameIndex:
    """Name index over one set of products (a category, or the whole catalog)."""

    def __init__(self, products: list[Product]):
        self.products = {p.id: p for p in products}
        self.order = {p.id: i for i, p in enumerate(products)}
        self.names = {p.id: name_of(p.title) for p in products}
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
        self.df = dict(df)
        # words the products' descriptions use in lower case: plain words, not names ("touchscreen", "trail")
        self.plain = {w for p in products for w in re.findall(r"(?<![\w-])[a-z][a-z]+(?![\w-])", p.description or "")}
        self.plain |= _STOP
        self.holders: dict[str, set[str]] = defaultdict(set)  # name token -> every product whose name holds it
        for pid, toks in self.names.items():
            for t in toks:
                self.holders[t].add(pid)
        # attribute value phrases -> attribute names; the category's vocabulary for the unknown-name test
        self.values: dict[tuple[str, ...], set[str]] = defaultdict(set)
        self.vocab: set[str] = set(df)
        self.product_text: dict[str, set[str]] = {}
        distinct: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for p in products:
            own = product_tokens(p)
            self.vocab.update(own)
            for name, value in p.attributes.items():
                for v in value if isinstance(value, list) else [value]:
                    vt = tuple(tokenize(str(v)))
                    sv = str(v).strip().casefold()
                    if (
                        isinstance(v, str)
                        and vt
                        and len(vt) <= 4
                        and len(sv) >= 3
                        and sv not in _BOOL_WORDS
                        and any(c.isalpha() for c in sv)
                        and not _FREE_ATTR.search(name)
                    ):
                        self.values[vt].add(name)
                        distinct[name].add(vt)
            self.product_text[p.id] = own
        free = {name for name, vals in distinct.items() if len(vals) > MAX_CLOSED_SET}  # free text
        for key in list(self.values):
            self.values[key] -= free
            if not self.values[key]:
                del self.values[key]
        self.max_value_len = max((len(k) for k in self.values), default=0)
        # words of attribute values and brands: capitalised runs made only of these are not product names
        self.value_vocab = {
            t
            for p in products
            for v in p.attributes.values()
            for x in (v if isinstance(v, list) else [v])
            for t in tokenize(str(x))
        }
        self.value_vocab |= {t for p in products for t in tokenize(p.brand or "")}
        self.value_vocab |= {t for p in products for name in p.attributes for t in tokenize(name)}
        self.brands: dict[tuple[str, ...], str] = {}
        for p in products:
            if p.brand and tokenize(p.brand):
                self.brands[tuple(tokenize(p.brand))] = p.brand

    def find(
        self, toks: list[tuple[str, int, int]], shown: set[str], threshold: float, text: str | None = None
    ) -> list[tuple[float, str, int, int, float]]:
        """Candidate (priority, pid, first_token, last_token, coverage) windows in the token list; with the
        original `text`, also partial and short titles (`partial`) and no bare years ("in 1922")."""
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
                if hi and hits[hi][0] - hits[hi - 1][0] > 3:  # a name is not spread over a sentence
                    counts.clear()
                    weight, lo = 0.0, hi
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
                if self._other_model(name, toks, a, b) or self._other_brand(pid, toks, a):
                    continue
                if cov < 1.0 and any(t in self.idf and t not in name for t, _, _ in toks[a : b + 2]):
                    continue  # another title's word in or right after the window: "Dune Floor Lamp" is not
                    # "Dune Rug", "Casa Verde Dune Floor Lamp" is not "Casa Verde Bergen Floor Lamp"
                order = [rank[t] for t in dict.fromkeys(t for t, _, _ in toks[a : b + 1] if t in rank)]
                if order != sorted(order):  # words out of the title's order: weaker evidence
                    cov *= 0.8
                    if cov < thr:
                        continue
                if text is not None and len(name) == 1 and name[0].isdigit() and self._bare_year(toks, a, text):
                    continue
                # rank: coverage, minus 0.05 per foreign token inside the window, +0.2 when shown
                prio = cov - 0.05 * (b - a + 1 - distinct) + (0.2 if pid in shown else 0.0)
                out.append((prio, pid, a, b, cov))
        if text is not None:
            out += self.partial(toks, shown, text)
        return out

    @staticmethod
    def _bare_year(toks: list[tuple[str, int, int]], a: int, text: str) -> bool:
        """True when the number at token `a` reads as a date: after "in / since / by ..." or before a unit."""
        before = re.findall(r"[a-z]+", text[max(0, toks[a][1] - 12) : toks[a][1]].lower())
        after = text[toks[a][2] : toks[a][2] + 12]
        return bool(before and before[-1] in _TIME_WORDS) or bool(re.match(r"\s*(?:[-–/]\s*\d|%|\w)", after))

    def partial(
        self, toks: list[tuple[str, int, int]], shown: set[str], text: str
    ) -> list[tuple[float, str, int, int, float]]:
        """Partial titles: a run of the reply's tokens, in the title's order, that only one product's name holds
        (or only one of the shown products'), and that reads as a name: it holds a model number of that name
        ("Galaxy S20" for "Samsung Galaxy S20 FE 5G", "the S20 FE"; a unique model number alone, 3+ characters,
        also counts), or is 2+ capitalised words, one of them in no other title ("Venture Step Thru"). Refused
        when the name goes on with a word of no catalog title ("Galaxy S20 Ultra" when only the FE is sold)."""
        out = []
        n = len(toks)
        for i in range(n):
            if toks[i][0] not in self.holders:
                continue
            common = set(self.holders[toks[i][0]])
            best = None
            for j in range(i, min(n, i + 10)):
                t = toks[j][0]
                if j > i and (t not in self.holders or toks[j][1] - toks[j - 1][2] > 4):
                    break
                common = common & self.holders[t] if j > i else common
                if not common:
                    break
                pick = common if len(common) == 1 else (common & shown if len(common & shown) == 1 else set())
                if pick:
                    best = (j, next(iter(pick)))
            if best is None:
                continue
            j, pid = best
            name = self.names[pid]
            window = [t for t, _, _ in toks[i : j + 1]]
            rank = {t: k for k, t in enumerate(name)}
            if [rank[t] for t in window] != sorted(rank[t] for t in window) or len(set(window)) == len(name):
                continue  # out of order; or the whole name (the full matcher's job)
            if len(set(window)) < len(window):
                continue
            models = [t for t in window if model_number(t)]
            words = text[toks[i][1] : toks[j][2]]
            caps = [w for w in re.findall(r"[^\W_]+", words) if w[0].isupper()]
            if models:
                ok = len(window) >= 2 or (len(models[0]) >= 3 and self.df.get(models[0], 0) == 1)
            else:  # 2+ capitalised words, one in this title only and neither a plain word of the catalog nor English
                ok = len(window) >= 2 and len(caps) >= len(window)
                words = dictionary_words()
                ok = ok and any(
                    self.df.get(t, 0) == 1 and t not in self.plain and t.isalpha() and t not in words for t in window
                )
            nxt = re.match(r"[ \t]+([A-Z0-9][\w-]*)", text[toks[j][2] :])
            if nxt and nxt.group(1) not in ("I", "A") and nxt.group(1).casefold() not in rank:
                ok = False  # the name goes on: another product
            if not ok or self._other_brand(pid, toks, i):
                continue
            cov = sum(self.idf[t] for t in window) / max(self.name_weight[pid], 1e-9)
            cov = min(cov, 0.69)  # below any full match
            out.append((cov + (0.2 if pid in shown else 0.0), pid, i, j, cov))
        return out

    def _other_brand(self, pid: str, toks: list[tuple[str, int, int]], a: int) -> bool:
        """True when the words right before the window are another brand ("Casa Verde Dune Lamp" is not
        the "Brightloft Dune Lamp")."""
        own = tuple(tokenize(self.products[pid].brand or ""))
        for n in (1, 2, 3):
            before = tuple(t for t, _, _ in toks[max(0, a - n) : a])
            if len(before) == n and before in self.brands and before != own:
                return True
        return False

    @staticmethod
    def _other_model(name: list[str], toks: list[tuple[str, int, int]], a: int, b: int) -> bool:
        """True when the title's model number is absent but the window names a different number."""
        name_set = set(name)
        window = {t for t, _, _ in toks[a : b + 2]}
        missing_num = any(has_digit(t) and t not in window for t in name)
        other_num = any(has_digit(t) and t not in name_set for t, _, _ in toks[a : b + 2])
        return missing_num and other_num


def resolve(cands: list[tuple[float, str, int, int, float]], matcher: NameIndex) -> list[tuple[str, int, int, float]]:
    """Greedy non-overlapping choice of candidate windows, best first; returns (pid, a, b, cov) by position."""
    cands.sort(
        key=lambda c: (-c[0], -matcher.name_weight.get(c[1], 0.0), c[3] - c[2], matcher.order.get(c[1], 0), c[2])
    )
    taken: list[tuple[int, int]] = []
    chosen = []
    for _, pid, a, b, cov in cands:
        if any(not (b < x or a > y) for x, y in taken):
            continue
        taken.append((a, b))
        chosen.append((pid, a, b, cov))
    return sorted(chosen, key=lambda c: c[1])
