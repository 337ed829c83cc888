"""Dense top-k search over normalised embeddings: exact (masked matrix-vector product) and FAISS HNSW.

Both take an optional bool `mask` over slots and never return a slot outside it. HNSW filters during
graph traversal with a FAISS `IDSelectorBitmap`; when the mask is small (below `exact_below` slots) or
HNSW finds fewer than `k` survivors, the search falls back to exact search over the masked subset:
exactness beats speed.
"""

from __future__ import annotations

import logging

import numpy as np

from retrieval.fileio import atomic_open

log = logging.getLogger(__name__)


def topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest scores, best first (ties by position)."""
    if k <= 0 or len(scores) == 0:
        return np.zeros(0, np.int64)
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def exact_search(
    emb: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k among `mask` slots. Returns (slots, scores), best first."""
    if mask is None:
        sc = emb @ q
        pos = topk(sc, k)
        return pos.astype(np.int64), sc[pos]
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if len(rows) < 0.4 * len(mask):
        sc = emb[rows] @ q
        pos = topk(sc, k)
        return rows[pos], sc[pos]
    sc = emb @ q
    sc[~mask] = -np.inf
    pos = topk(sc, min(k, len(rows)))
    return pos.astype(np.int64), sc[pos]


class HNSW:
    """A FAISS HNSW (inner product) graph over embedding slots 0..n-1, with filtered search.

    Args:
        dim: embedding size.
        m: graph degree (FAISS `M`).
        ef_construction: build-time beam width.
        ef_search: query-time beam width (raised to `k` when smaller).
    """

    def __init__(self, dim: int, m: int = 32, ef_construction: int = 80, ef_search: int = 400):
        import faiss

        self.dim, self.m, self.ef_construction, self.ef_search = dim, m, ef_construction, ef_search
        self.index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = ef_construction
        self.index.hnsw.efSearch = ef_search

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, emb: np.ndarray, batch: int = 20000, progress: bool = False) -> None:
        """Append vectors; their labels are the next slot numbers."""
        from tqdm.auto import tqdm

        emb = np.ascontiguousarray(emb, dtype=np.float32)
        it = range(0, len(emb), batch)
        for s in tqdm(it, desc="HNSW graph", unit="batch", disable=not progress or len(emb) <= batch):
            self.index.add(emb[s : s + batch])

    def search(
        self, q: np.ndarray, k: int, mask: np.ndarray | None = None, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k (slots, scores) among `mask`; may return fewer than k when filtered."""
        import faiss

        q = np.ascontiguousarray(q.reshape(1, -1), dtype=np.float32)
        ef = max(ef or self.ef_search, k)
        if mask is None:
            params = faiss.SearchParametersHNSW(efSearch=ef)
            d, i = self.index.search(q, k, params=params)
        else:
            bits = np.packbits(mask.astype(np.uint8), bitorder="little")
            sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=ef)
            d, i = self.index.search(q, k, params=params)
            del sel, bits
        keep = i[0] >= 0
        return i[0][keep].astype(np.int64), d[0][keep]

    def save(self, path: str) -> None:
        import faiss

        data = faiss.serialize_index(self.index)
        with atomic_open(path, "wb") as f:
            f.write(data.tobytes())

    @classmethod
    def load(cls, path: str, ef_search: int | None = None) -> HNSW:
        import faiss

        obj = cls.__new__(cls)
        obj.index = faiss.deserialize_index(np.fromfile(path, dtype=np.uint8))
        obj.dim = obj.index.d
        obj.m = obj.index.hnsw.nb_neighbors(1)
        obj.ef_construction = obj.index.hnsw.efConstruction
        obj.ef_search = ef_search or obj.index.hnsw.efSearch
        obj.index.hnsw.efSearch = obj.ef_search
        return obj


def dense_search(
    emb: np.ndarray,
    q: np.ndarray,
    k: int,
    mask: np.ndarray | None,
    hnsw: HNSW | None,
    exact_below: int = 5000,
    ef: int | None = None,
    need: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k among `mask` with HNSW when given and the mask is large, exact otherwise.

    Falls back to exact search when HNSW returns fewer than `need` (default `k`) allowed results; hybrid
    search asks for `k` fusion candidates but needs only its final top_k to be complete.
    """
    if hnsw is None:
        return exact_search(emb, q, k, mask)
    n_ok = len(emb) if mask is None else int(mask.sum())
    if n_ok <= exact_below:
        return exact_search(emb, q, k, mask)
    slots, sc = hnsw.search(q, k, mask, ef)
    if mask is not None:
        ok = mask[slots]
        slots, sc = slots[ok], sc[ok]
    if len(slots) < min(need or k, n_ok):
        log.debug("HNSW returned %d < %d survivors; exact fallback over %d slots", len(slots), k, n_ok)
        return exact_search(emb, q, k, mask)
    return slots, sc
