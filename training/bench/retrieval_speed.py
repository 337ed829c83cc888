"""Speed part of `shopguide bench retrieval`: latency, build throughput, memory, approximate recall.

For each catalog size, BigBasket products (embedded once with the real encoder) are replicated with
noisy embeddings (see `retrieval_data.replicate`), indexed with `ProductIndex.build(kind="auto")`, and
timed against plain baselines measured in the same run on the same vectors:
`sentence_transformers.util.semantic_search` over a torch tensor (exact dense) and our BM25 alone.
Query encoding is timed separately (uncached, cached, and batched) and added for "incl. encoding".
"""

from __future__ import annotations

import gc
import logging
import resource
import time
from contextlib import contextmanager

import numpy as np

from retrieval.ann import exact_search
from retrieval.filters import Filters
from retrieval.index import ProductIndex
from training.bench.retrieval_data import replicate

log = logging.getLogger(__name__)


def _pcts(ts: list[float]) -> tuple[float, float]:
    a = np.asarray(ts) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def _time(fn, items) -> list[float]:
    out = []
    for it in items:
        t = time.perf_counter()
        fn(it)
        out.append(time.perf_counter() - t)
    return out


def encoding_speed(encoder, query_texts: list[str], product_texts: list[str]) -> dict[str, float]:
    """Query encoding p50/p95 (uncached single, cached single, per query in a batch of 32) and product
    encoding throughput on a sample (products/s)."""
    import torch

    cache = getattr(encoder, "cache", None)
    qs = query_texts[:100]
    encoder.encode_query("warm up")

    def uncached(q):
        if cache is not None:
            cache.clear()
        encoder.encode_query(q)

    res = {}
    res["encode_p50_ms"], res["encode_p95_ms"] = _pcts(_time(uncached, qs))
    for q in qs:
        encoder.encode_query(q)
    res["encode_cached_p50_ms"], _ = _pcts(_time(encoder.encode_query, qs))
    batches = [qs[i : i + 32] for i in range(0, len(qs), 32)]
    if cache is not None:
        cache.clear()
    tb = _time(lambda b: (cache.clear() if cache is not None else None, encoder.encode_queries(b)), batches)
    res["encode_batched_per_query_ms"] = 1000 * sum(tb) / len(qs)
    t = time.perf_counter()
    encoder.encode(product_texts, batch_size=64)
    res["product_encode_per_s"] = len(product_texts) / (time.perf_counter() - t)
    res["torch_threads"] = torch.get_num_threads()
    return res


def speed_at_size(
    n: int,
    base_products,
    base_emb: np.ndarray,
    encoder,
    query_texts: list[str],
    query_vecs: np.ndarray,
    n_queries: int = 200,
    seed: int = 0,
    hnsw_params: dict | None = None,
) -> dict:
    """Build an index of `n` replicated products and time searches against the baselines."""
    products, emb = replicate(base_products, base_emb, n, seed=seed)
    gc.collect()
    t = time.perf_counter()
    idx = ProductIndex.build(
        products, encoder=encoder, kind="auto", embeddings=emb, show_progress=True, hnsw_params=hnsw_params
    )
    build_s = time.perf_counter() - t
    del products
    qv = query_vecs[:n_queries]
    qt = query_texts[:n_queries]
    nq_slow = n_queries if n <= 200_000 else min(n_queries, 50)  # exact searches at 1M are ~100x slower
    row = {"n": n, "kind": idx.kind, "build_s": build_s, "build_per_s": n / build_s}
    with _one_thread():
        _timings(row, idx, qt, qv, n_queries, nq_slow)
    del idx, emb
    gc.collect()
    return row


@contextmanager
def _one_thread():
    """Single-query latency is timed with BLAS and torch on one thread (oversubscription on a shared 2-core
    machine otherwise dominates the tails); both our search and the baselines run under it."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        threadpool_limits = None
    try:
        if threadpool_limits is None:
            yield
        else:
            with threadpool_limits(limits=1):
                yield
    finally:
        torch.set_num_threads(old)


def _timings(row: dict, idx: ProductIndex, qt: list[str], qv: np.ndarray, n_queries: int, nq_slow: int) -> None:
    import torch
    from sentence_transformers import util

    n = len(idx)
    corpus = torch.from_numpy(idx.embeddings)
    qt_t = torch.from_numpy(qv)
    base = _time(lambda i: util.semantic_search(qt_t[i : i + 1], corpus, top_k=10), range(nq_slow))
    row["st_semantic_search_p50_ms"], row["st_semantic_search_p95_ms"] = _pcts(base)
    row["exact_p50_ms"], row["exact_p95_ms"] = _pcts(
        _time(lambda i: exact_search(idx.embeddings, qv[i], 10), range(nq_slow))
    )
    row["dense_p50_ms"], row["dense_p95_ms"] = _pcts(
        _time(lambda i: idx.search(qt[i], 10, mode="dense", query_vector=qv[i]), range(n_queries))
    )
    row["bm25_p50_ms"], row["bm25_p95_ms"] = _pcts(
        _time(lambda i: idx.search(qt[i], 10, mode="lexical"), range(n_queries))
    )
    row["hybrid_p50_ms"], row["hybrid_p95_ms"] = _pcts(
        _time(lambda i: idx.search(qt[i], 10, mode="hybrid", query_vector=qv[i], fusion="rrf"), range(n_queries))
    )
    f = Filters(category="Beauty & Hygiene", max_price=300)
    row["hybrid_filtered_p50_ms"], row["hybrid_filtered_p95_ms"] = _pcts(
        _time(lambda i: idx.search(qt[i], 10, f, mode="hybrid", query_vector=qv[i], fusion="rrf"), range(n_queries))
    )
    allowed = idx.mask(f)
    ok = all(
        bool(allowed[idx.slot_of[p.id]])
        for i in range(20)
        for p, _ in idx.search(qt[i], 10, f, mode="hybrid", query_vector=qv[i], fusion="rrf")
    )
    row["filtered_results_exact"] = ok
    exact = [set(exact_search(idx.embeddings, qv[i], 10)[0].tolist()) for i in range(nq_slow)]

    def recall(ef: int | None) -> float:
        return float(
            np.mean(
                [
                    len(
                        exact[i]
                        & {
                            idx.slot_of[p.id]
                            for p, _ in idx.search(qt[i], 10, mode="dense", query_vector=qv[i], ef_search=ef)
                        }
                    )
                    / 10
                    for i in range(nq_slow)
                ]
            )
        )

    row["recall@10_vs_exact"] = recall(None)
    if idx.hnsw is not None:  # the recall / latency trade-off of the HNSW beam width, same graph
        row["ef_sweep"] = []
        for ef in (64, 160, 400, 1000):
            p50, p95 = _pcts(
                _time(
                    lambda i: idx.search(qt[i], 10, mode="dense", query_vector=qv[i], ef_search=ef), range(n_queries)
                )
            )
            row["ef_sweep"].append({"ef": ef, "p50_ms": p50, "p95_ms": p95, "recall@10": recall(ef)})
    bm = idx.bm25
    w = bm.weights
    hnsw_bytes = 0 if idx.hnsw is None else n * (idx.dim * 4 + idx.hnsw.m * 2 * 4 * 1.1)
    row["memory_mb"] = (
        idx.embeddings.nbytes
        + hnsw_bytes
        + bm.counts.data.nbytes * 2
        + bm.counts.indices.nbytes * 2
        + w.data.nbytes
        + w.indices.nbytes
        + idx.columns.price.nbytes * 2
    ) / 2**20
    row["baseline_memory_mb"] = idx.embeddings.nbytes / 2**20
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
