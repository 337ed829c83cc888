"""Dense top-k search over normalised embeddings: exact (masked matrix-vector product) and FAISS HNSW.

Both take an optional bool `mask` over slots and never return a slot outside it. HNSW filters during
graph traversal with a FAISS `IDSelectorBitmap`; when the mask is small (below `exact_below` slots) the
search is exact over the masked subset, and when HNSW finds fewer than `k` survivors it is retried with a
wider beam, then answered exactly: exactness beats speed. `CategoryGraphs` keeps one graph per large
category, searched when the filters name that category; its mask is then over the category's own slots
(`dense_search(rows=...)`), so a filtered search reads nothing of the size of the whole catalog.
"""

from __future__ import annotations

import logging

import numpy as np

from retrieval.fileio import atomic_open

log = logging.getLogger(__name__)


def topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest scores, best first; ties by position, also across the k-th place.

    Over many scores a threshold taken from a strided sample first drops the clear losers (one compare per
    score instead of a partition of all of them: ~1 ms instead of ~6 ms over 1M BM25 matches); when fewer
    than `k` scores pass it, the full selection runs, so the answer is always exact.
    """
    if k <= 0 or len(scores) == 0:
        return np.zeros(0, np.int64)
    if len(scores) > max(20_000, 64 * k):
        sample = scores[:: len(scores) // 4096]
        j = min(len(sample), 4 * k * len(sample) // len(scores) + 8)  # about 4k + 8 strides pass
        keep = np.flatnonzero(scores >= np.partition(sample, len(sample) - j)[len(sample) - j])
        if len(keep) >= k:
            return keep[_topk(scores[keep], k)]
    return _topk(scores, k)


def _topk(scores: np.ndarray, k: int) -> np.ndarray:
    if len(scores) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]  # the k-th largest
        above = np.flatnonzero(scores > kth)
        part = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
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
    """A FAISS HNSW (inner product) graph with filtered search.

    Args:
        dim: embedding size.
        m: graph degree (FAISS `M`).
        ef_construction: build-time beam width.
        ef_search: query-time beam width (raised to `k` when smaller).
        labelled: vectors carry the slot numbers given to `add` (FAISS `IndexIDMap`), so a graph over some
            slots (one category's) is searched and filtered in slot numbers; else labels are 0..n-1.
    """

    def __init__(self, dim: int, m: int = 32, ef_construction: int = 80, ef_search: int = 400, labelled: bool = False):
        import faiss

        self.dim, self.m, self.ef_construction, self.ef_search = dim, m, ef_construction, ef_search
        self.graph = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        self.graph.hnsw.efConstruction = ef_construction
        self.graph.hnsw.efSearch = ef_search
        # IndexIDMap does not own the graph here: `self.graph` keeps it alive (owning both would free it twice)
        self.index = faiss.IndexIDMap(self.graph) if labelled else self.graph
        self._labels: np.ndarray | None = None

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def labels(self) -> np.ndarray:
        """The slot of each vector, in the order added (0..n-1 when not labelled)."""
        import faiss

        if getattr(self, "_labels", None) is None or len(self._labels) != self.ntotal:
            labelled = self.index is not self.graph
            ids = faiss.vector_to_array(self.index.id_map) if labelled else np.arange(self.ntotal)
            self._labels = ids.astype(np.int64)
        return self._labels

    def add(self, emb: np.ndarray, slots: np.ndarray | None = None, batch: int = 20000, progress: bool = False):
        """Append vectors; labelled graphs take their `slots`, others number them on from `ntotal`."""
        from tqdm.auto import tqdm

        emb = np.ascontiguousarray(emb, dtype=np.float32)
        it = range(0, len(emb), batch)
        for s in tqdm(it, desc="HNSW graph", unit="batch", disable=not progress or len(emb) <= batch):
            if slots is None:
                self.index.add(emb[s : s + batch])
            else:
                self.index.add_with_ids(emb[s : s + batch], np.asarray(slots[s : s + batch], np.int64))

    def search(
        self, q: np.ndarray, k: int, mask: np.ndarray | None = None, ef: int | None = None, own: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k (slots, scores) among `mask`; may return fewer than k when filtered.

        Args:
            q: the query embedding.
            k: results wanted.
            mask: bool over all slots, or with `own` over the graph's own vectors in the order added
                (`labels`): a category graph's filter then costs its size, not the catalog's.
            ef: beam width (default `ef_search`, at least `k`).
            own: see `mask`.
        """
        import faiss

        q = np.ascontiguousarray(q.reshape(1, -1), dtype=np.float32)
        ef = max(ef or self.ef_search, k)
        index = self.graph if own else self.index  # the bare graph numbers its vectors 0..ntotal-1
        if mask is None:
            params = faiss.SearchParametersHNSW(efSearch=ef)
            d, i = index.search(q, k, params=params)
        else:
            bits = np.packbits(mask, bitorder="little")
            sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=ef)
            d, i = index.search(q, k, params=params)
            del sel, bits
        keep = i[0] >= 0
        ids = i[0][keep].astype(np.int64)
        return (self.labels[ids] if own and index is not self.index else ids), d[0][keep]

    def to_bytes(self) -> np.ndarray:
        import faiss

        return faiss.serialize_index(self.index)

    def save(self, path: str) -> None:
        with atomic_open(path, "wb") as f:
            f.write(self.to_bytes().tobytes())

    @classmethod
    def from_bytes(cls, data: np.ndarray, ef_search: int | None = None) -> HNSW:
        import faiss

        obj = cls.__new__(cls)
        obj.index = faiss.deserialize_index(np.asarray(data, np.uint8))
        labelled = isinstance(obj.index, faiss.IndexIDMap)
        obj.graph = faiss.downcast_index(obj.index.index) if labelled else obj.index
        obj.dim = obj.index.d
        obj.m = obj.graph.hnsw.nb_neighbors(1)
        obj.ef_construction = obj.graph.hnsw.efConstruction
        obj.ef_search = ef_search or obj.graph.hnsw.efSearch
        obj.graph.hnsw.efSearch = obj.ef_search
        return obj

    @classmethod
    def load(cls, path: str, ef_search: int | None = None) -> HNSW:
        return cls.from_bytes(np.fromfile(path, dtype=np.uint8), ef_search)


class CategoryGraphs:
    """One labelled HNSW graph per category of at least `min_products` products.

    Category is the most common filter. In one graph over the whole catalog a category filter makes HNSW
    walk through other categories' products, and a query whose neighbours lie in another category finds
    too few allowed ones (then the exact fallback costs ~10 ms at 100k); the category's own graph has only
    allowed products near every query. Further filters (price, brand, ...) still apply as a bitmap. Graphs
    are labelled with slot numbers, so they share the index's slots, masks and embeddings. Smaller
    categories need no graph: exact search over them is cheap.

    Args:
        dim: embedding size.
        params: HNSW settings (m, ef_construction, ef_search), as for the global graph.
        min_products: the smallest category that gets a graph.
    """

    def __init__(self, dim: int, params: dict, min_products: int = 5000):
        self.dim, self.params, self.min_products = dim, dict(params), min_products
        self.graphs: dict[str, HNSW] = {}

    def __len__(self) -> int:
        return len(self.graphs)

    def get(self, category: str) -> HNSW | None:
        """The graph of a (normalised) category name, or None."""
        return self.graphs.get(category)

    def add(self, emb: np.ndarray, categories: list[str], start: int, progress: bool = False) -> None:
        """Add slots `start..start+len(emb)-1` with their normalised categories: to the category's graph, made
        once the category has `min_products` slots in this call or already has a graph."""
        codes, inverse = np.unique(np.asarray(categories, dtype=object), return_inverse=True)
        for c, cat in enumerate(codes):
            rows = np.flatnonzero(inverse == c)
            if cat not in self.graphs and len(rows) < self.min_products:
                continue
            g = self.graphs.get(cat) or HNSW(self.dim, **self.params, labelled=True)
            g.add(emb[rows], rows + start, progress=progress)
            self.graphs[cat] = g

    def save(self, path: str) -> None:
        """One `.npz`: the category names and each graph's FAISS bytes."""
        names = list(self.graphs)
        arrays = {f"g{i}": self.graphs[n].to_bytes() for i, n in enumerate(names)}
        with atomic_open(path, "wb") as f:
            np.savez(f, names=np.asarray(names, dtype=str), min_products=self.min_products, **arrays)

    @classmethod
    def load(cls, path: str, dim: int, params: dict) -> CategoryGraphs:
        z = np.load(path)
        obj = cls(dim, params, int(z["min_products"]))
        ef = params.get("ef_search")
        obj.graphs = {str(n): HNSW.from_bytes(z[f"g{i}"], ef) for i, n in enumerate(z["names"])}
        return obj


def dense_search(
    emb: np.ndarray,
    q: np.ndarray,
    k: int,
    mask: np.ndarray | None,
    hnsw: HNSW | None,
    exact_below: int | None = None,
    ef: int | None = None,
    need: int | None = None,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k among `mask` with HNSW when given and more than `exact_below` slots are allowed (None: the
    cheaper of the two by a cost estimate), exact otherwise.

    When HNSW returns fewer than `need` (default `k`) allowed results, the search is retried once with a
    beam 8x wider, then falls back to exact search; hybrid search asks for `k` fusion candidates but needs
    only its final top_k to be complete.

    With `rows` (ascending slots, e.g. one category's), `mask` is over those slots only, and `hnsw`, if given,
    holds exactly those slots in that order (`HNSW.labels`, a `CategoryGraphs` graph): nothing is read over
    all slots. The answers are the same as with the mask spread over all slots.
    """
    if mask is None and rows is not None:
        mask = np.ones(len(rows), bool)
    if hnsw is None:
        return _exact(emb, q, k, mask, rows)
    n_ok = len(emb) if mask is None else int(np.count_nonzero(mask))
    ef = max(ef or hnsw.ef_search, k)
    if exact_below is None:
        # A filtered walk visits ~ef / selectivity nodes of its graph and exact search reads the n_ok allowed
        # rows, so exact is cheaper below ~sqrt(2 * ef * graph size) of them (a brand with 2% of 1M products:
        # filtered HNSW ~50 ms). The graph's size, not the catalog's: exact search over the 28k products of a
        # small category's graph at 1M took ~20 ms, its graph ~1 ms.
        exact_below = max(5000, int((2 * ef * hnsw.ntotal) ** 0.5))
    if n_ok <= exact_below:
        return _exact(emb, q, k, mask, rows)
    want = min(need or k, n_ok)
    for beam in (ef, 8 * ef):
        slots, sc = hnsw.search(q, k, mask, beam, own=rows is not None)
        if len(slots) >= want:
            return slots, sc
    log.debug("HNSW returned %d < %d survivors at ef %d; exact fallback over %d slots", len(slots), want, beam, n_ok)
    return _exact(emb, q, k, mask, rows)


def _exact(
    emb: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None, rows: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    if rows is None:
        return exact_search(emb, q, k, mask)
    ok = rows[mask]  # the allowed slots, ascending
    if len(ok) >= 0.4 * len(emb):  # where `exact_search` scores every row: the same arithmetic, the same answer
        full = np.zeros(len(emb), bool)
        full[ok] = True
        return exact_search(emb, q, k, full)
    sc = emb[ok] @ q  # the rows and order `exact_search` gathers
    pos = topk(sc, k)
    return ok[pos], sc[pos]
