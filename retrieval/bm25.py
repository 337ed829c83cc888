"""Okapi BM25 over scipy sparse matrices: fast at a million products, saveable, incrementally updatable.

The index keeps raw term counts (CSR, one row per document slot) and derives the BM25 weight matrix
(CSC, one column per term) from them, so adding or removing documents only appends or drops rows and
re-derives weights (idf, average length) in one vectorised pass; the result equals a fresh build.

    bm = BM25.build(texts)
    scores = bm.scores("red cotton shirt")          # dense float32 over all slots
    rows, vals = bm.top("red cotton shirt", 100, mask)   # exact top-k among mask
    vals = bm.score_slots("red cotton shirt", rows)      # exact scores of given slots
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from retrieval.ann import topk
from retrieval.fileio import atomic_open, atomic_write_json, read_artifact

_TOKEN = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have i i'm in is it its me my of on or our so that the "
    "this to was we were what which with you your can do does need want looking some".split()
)


MAX_TOKEN_CHARS = 64  # longer "words" (a base64 blob, a run-on export) are no words a shopper types


def tokenize(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens without stopwords and without tokens over `MAX_TOKEN_CHARS`."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS and len(t) <= MAX_TOKEN_CHARS]


class BM25:
    """BM25 scorer. `k1`, `b` are the usual parameters; documents are addressed by slot (row) number."""

    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1 = float(k1)
        self.b = float(b)
        self.vocab: dict[str, int] = {}
        self.counts = sp.csr_matrix((0, 0), dtype=np.float32)  # slots x terms, raw term frequencies
        self.alive = np.zeros(0, bool)
        self._w: sp.csc_matrix | None = None
        self._groups: dict[int, tuple[np.ndarray, sp.csc_matrix]] = {}  # see `_group`

    # ----------------------------------------------------------------------------------------- building
    @classmethod
    def build(cls, texts: list[str], k1: float = 1.2, b: float = 0.75) -> BM25:
        """Index `texts` as slots 0..n-1."""
        bm = cls(k1, b)
        bm.add(texts)
        return bm

    def _count_rows(self, texts: list[str]) -> sp.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        vocab = self.vocab
        for t in texts:
            row: dict[int, int] = {}
            for tok in tokenize(t):
                j = vocab.get(tok)
                if j is None:
                    j = vocab[tok] = len(vocab)
                row[j] = row.get(j, 0) + 1
            indices.extend(row.keys())
            data.extend(row.values())
            indptr.append(len(indices))
        arrays = (np.asarray(data, np.float32), np.asarray(indices, np.int64), np.asarray(indptr, np.int64))
        return sp.csr_matrix(arrays, shape=(len(texts), len(vocab)))

    def add(self, texts: list[str]) -> None:
        """Append documents as new slots."""
        rows = self._count_rows(texts)
        old = self.counts
        old.resize((old.shape[0], len(self.vocab)))
        self.counts = sp.vstack([old, rows], format="csr") if old.shape[0] else rows
        self.alive = np.concatenate([self.alive, np.ones(len(texts), bool)])
        self._w = None
        self._groups = {}

    def remove_slots(self, slots: np.ndarray) -> None:
        """Mark slots dead: they no longer count for idf / average length and score 0."""
        self.alive[np.asarray(slots, np.int64)] = False
        self._w = None
        self._groups = {}

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the slots `keep` (in that order), renumbering them 0..len(keep)-1."""
        self.counts = self.counts[np.asarray(keep, np.int64)]
        self.alive = self.alive[keep]
        self._w = None
        self._groups = {}

    # ----------------------------------------------------------------------------------------- scoring
    @property
    def weights(self) -> sp.csc_matrix:
        """BM25 term weights (slots x terms, CSC), derived from counts over live slots."""
        if self._w is None:
            c = self.counts
            c.resize((c.shape[0], len(self.vocab)))
            rows = np.repeat(np.arange(c.shape[0]), np.diff(c.indptr))
            live_nz = self.alive[rows]
            tf = np.where(live_nz, c.data, 0).astype(np.float32)
            dl = np.bincount(rows, weights=tf, minlength=c.shape[0])
            n = max(int(self.alive.sum()), 1)
            avgdl = max(float(dl.sum()) / n, 1e-9)
            df = np.bincount(c.indices[live_nz], minlength=c.shape[1]).astype(np.float64)
            idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
            norm = (self.k1 * (1 - self.b + self.b * dl / avgdl)).astype(np.float32)
            w = tf * (self.k1 + 1) / (tf + norm[rows]) * idf[c.indices]
            self._w = sp.csr_matrix((w.astype(np.float32), c.indices, c.indptr), shape=c.shape).tocsc()
        return self._w

    def prepare(self) -> None:
        """Derive the weights now rather than on the first query after a build or update."""
        self.weights

    def _group(self, code: int, codes: np.ndarray) -> tuple[np.ndarray, sp.csc_matrix]:
        """(slots, weights restricted to them) of the slots whose `codes` entry is `code`, cached until the
        weights change."""
        g = self._groups.get(code)
        if g is None:
            rows = np.flatnonzero(codes == code)
            g = self._groups[code] = (rows, self.weights[rows].tocsc())
        return g

    def query_terms(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """(term ids, counts) of the query's known tokens: a repeated word counts twice."""
        ids = [self.vocab[t] for t in tokenize(query) if t in self.vocab]
        terms, counts = np.unique(np.asarray(ids, np.int64), return_counts=True)
        return terms, counts.astype(np.float32)

    @staticmethod
    def _accumulate(w: sp.csc_matrix, terms: np.ndarray, counts: np.ndarray) -> np.ndarray:
        out = np.zeros(w.shape[0], np.float32)
        for j, c in zip(terms, counts):
            s, e = w.indptr[j], w.indptr[j + 1]
            out[w.indices[s:e]] += c * w.data[s:e]  # indices within one column are unique
        return out

    def scores(self, query: str) -> np.ndarray:
        """Dense BM25 scores over all slots (dead slots score 0)."""
        return self._accumulate(self.weights, *self.query_terms(query))

    def score_slots(self, query: str, slots: np.ndarray) -> np.ndarray:
        """Exact BM25 scores (float32, summed as `scores` sums them) of the given slots."""
        w = self.weights
        slots = np.asarray(slots, np.int64)
        out = np.zeros(len(slots), np.float32)
        for j, c in zip(*self.query_terms(query)):
            col = w.indices[w.indptr[j] : w.indptr[j + 1]]  # ascending within a column
            if len(col) == 0:
                continue
            pos = np.minimum(np.searchsorted(col, slots), len(col) - 1)
            hit = col[pos] == slots
            out[hit] += c * w.data[w.indptr[j] + pos[hit]]
        return out

    def top(
        self,
        query: str,
        k: int,
        mask: np.ndarray | None = None,
        group: int | None = None,
        groups: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best slots by BM25 among `mask` (bool over slots; None = all), scores > 0 only, best first
        (ties by slot).

        Args:
            group, groups: with a category filter, the category's code and the per-slot codes: only that
                category's postings are read (a cached sub-matrix), e.g. 28% of them for the largest
                BigBasket category. Scoring is exhaustive over the postings read; at 1M replicated products
                this measured faster than top-k pruning (threshold algorithm), whose bounds stay loose on
                near-duplicate titles and many-word queries.
        """
        terms, counts = self.query_terms(query)
        if k <= 0 or len(terms) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if group is not None and groups is not None:
            rows, w = self._group(group, groups)
        else:
            rows, w = None, self.weights
        acc = self._accumulate(w, terms, counts)
        hit = acc > 0  # np.flatnonzero of a bool array: ~15x faster than of the float scores at 1M
        if mask is not None:
            hit &= mask if rows is None else mask[rows]
        cand = np.flatnonzero(hit)
        sc = acc[cand]
        best = topk(sc, k)  # candidates are in slot order, so ties go to the lower slot
        cand = cand[best] if rows is None else rows[cand[best]]
        return cand.astype(np.int64), sc[best]

    # ----------------------------------------------------------------------------------------- saving
    def save(self, folder: str | Path) -> None:
        """Write `bm25_counts.npz` and `bm25_vocab.json` into `folder` (atomically each)."""

        folder = Path(folder)
        c = self.counts.tocsr()
        c.resize((c.shape[0], len(self.vocab)))
        with atomic_open(folder / "bm25_counts.npz", "wb") as f:
            np.savez(f, data=c.data, indices=c.indices, indptr=c.indptr, shape=np.asarray(c.shape), alive=self.alive)
        terms = [""] * len(self.vocab)
        for t, j in self.vocab.items():
            terms[j] = t
        atomic_write_json(folder / "bm25_vocab.json", {"k1": self.k1, "b": self.b, "terms": terms}, indent=None)

    @classmethod
    def load(cls, folder: str | Path) -> BM25:
        """Read what `save` wrote.

        Raises:
            DataError: naming `bm25_vocab.json` or `bm25_counts.npz` when it is missing, cut short or corrupt.
        """
        import json

        def counts(f: Path) -> tuple[sp.csr_matrix, np.ndarray]:
            with np.load(f) as z:  # members are read lazily: inside, so a corrupt member names the file too
                return sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"])), z["alive"]

        folder = Path(folder)
        meta = read_artifact(folder / "bm25_vocab.json", lambda f: json.loads(f.read_text(encoding="utf-8")))
        bm = cls(meta["k1"], meta["b"])
        bm.vocab = {t: j for j, t in enumerate(meta["terms"])}
        bm.counts, alive = read_artifact(folder / "bm25_counts.npz", counts)
        bm.alive = alive.astype(bool)
        return bm
