"""Speed part of `shopguide bench retrieval`: latency with and without filters, build time, memory, recall.

For each catalog size, BigBasket products (embedded once with the real encoder) are replicated with
noisy embeddings (see `retrieval_data.replicate`), indexed with `ProductIndex.build(kind="auto")`, and
timed against plain baselines measured in the same run on the same vectors:
`sentence_transformers.util.semantic_search` over a torch tensor (exact dense) and our exact numpy search.
Build time and the process's resident memory growth are measured at every size; "build incl. encoding"
encodes the catalog's texts too and runs only up to `encode_upto` products. Recall is measured against exact
search over the same filters (dense) and against hybrid search with exact dense candidates (hybrid).
Query encoding is compared across the encoder's runtimes (`encoding_speed`).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import resource
import time
from contextlib import contextmanager

import numpy as np

from bench.retrieval_data import replicate
from retrieval.ann import exact_search
from retrieval.encoder import RUNTIMES, load_encoder
from retrieval.filters import Filters
from retrieval.index import ProductIndex

log = logging.getLogger(__name__)


def _pcts(ts: list[float]) -> tuple[float, float]:
    a = np.asarray(ts) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def _time(fn, items, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock seconds per call; with `cpu`, also this thread's CPU seconds per call appended to it (not
    counting the time other processes hold the core, which dominates wall-clock tails on a loaded machine)."""
    out = []
    for it in items:
        t, c = time.perf_counter(), time.thread_time()
        fn(it)
        out.append(time.perf_counter() - t)
        if cpu is not None:
            cpu.append(time.thread_time() - c)
    return out


def rss_mb() -> float:
    """Resident memory of this process now (MB), after returning freed heap pages to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the peak is the best available
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def encoding_speed(
    model: str | None, query_texts: list[str], product_texts: list[str], product_emb: np.ndarray
) -> dict[str, dict]:
    """Query encoding per runtime (torch, onnx, onnx-int8) with the same model.

    Per runtime: uncached single-query p50/p95, per query in batches of 32, product encoding throughput,
    cosine to the torch embeddings (queries), and recall@10 of dense search over `product_emb` (fp32 product
    embeddings) with this runtime's query embeddings against torch's.
    """
    import torch

    qs = query_texts[:100]
    out: dict[str, dict] = {}
    ref_q = None
    for runtime in RUNTIMES:
        try:
            enc = load_encoder(model, runtime=runtime, cached=False)
        except (ImportError, ValueError) as e:  # onnxruntime missing, or a model the export does not cover
            log.warning("encoder runtime %s not measured: %s", runtime, e)
            continue
        enc.encode_query("warm up")

        def uncached(q):
            enc.cache.clear()
            enc.encode_query(q)

        res: dict = {"threads": torch.get_num_threads() if runtime == "torch" else 1}
        res["single_p50_ms"], res["single_p95_ms"] = _pcts(_time(uncached, qs))
        batches = [qs[i : i + 32] for i in range(0, len(qs), 32)]
        tb = _time(lambda b: (enc.cache.clear(), enc.encode_queries(b)), batches)
        res["batched_per_query_ms"] = 1000 * sum(tb) / len(qs)
        t = time.perf_counter()
        enc.encode(product_texts, batch_size=64)
        res["products_per_s"] = len(product_texts) / (time.perf_counter() - t)
        enc.cache.clear()
        qv = enc.encode_queries(query_texts)
        if ref_q is None:
            ref_q = qv
        cos = (qv * ref_q).sum(1)
        res["cos_min"], res["cos_mean"] = float(cos.min()), float(cos.mean())
        top = [set(exact_search(product_emb, v, 10)[0].tolist()) for v in qv]
        ref = [set(exact_search(product_emb, v, 10)[0].tolist()) for v in ref_q]
        res["recall@10_vs_torch"] = float(np.mean([len(a & b) / 10 for a, b in zip(top, ref)]))
        out[runtime] = res
    return out


def speed_at_size(
    n: int,
    base_products,
    base_emb: np.ndarray,
    encoder,
    query_texts: list[str],
    query_vecs: np.ndarray,
    query_categories: list[str],
    n_queries: int = 200,
    seed: int = 0,
    hnsw_params: dict | None = None,
    encode_upto: int = 10_000,
) -> dict:
    """Build an index of `n` replicated products and time searches against the baselines."""
    products, emb = replicate(base_products, base_emb, n, seed=seed)
    row: dict = {"n": n}
    if n <= encode_upto:  # the whole build, product encoding included, measured
        t = time.perf_counter()
        ProductIndex.build(products, encoder=encoder, kind="auto", hnsw_params=hnsw_params, show_progress=True)
        row["build_incl_encoding_s"] = time.perf_counter() - t
    before = rss_mb()
    t = time.perf_counter()
    idx = ProductIndex.build(
        products, encoder=encoder, kind="auto", embeddings=emb, show_progress=True, hnsw_params=hnsw_params
    )
    row["build_s"] = time.perf_counter() - t
    row["memory_mb"] = rss_mb() - before  # the index's own arrays, graphs and per-slot lists
    row.update(kind=idx.kind, build_per_s=n / row["build_s"], embeddings_mb=idx.embeddings.nbytes / 2**20)
    if idx.category_graphs is not None:
        row["category_graphs"] = len(idx.category_graphs)
    del products
    qv = query_vecs[:n_queries]
    qt = query_texts[:n_queries]
    nq_slow = n_queries if n <= 200_000 else min(n_queries, 50)  # exact searches at 1M are ~100x slower
    with _one_thread():
        _timings(row, idx, qt, qv, query_filters(query_categories[:n_queries]), n_queries, nq_slow)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del idx, emb
    gc.collect()
    return row


@contextmanager
def _one_thread():
    """Single-query latency is timed with BLAS, torch and FAISS on one thread (oversubscription on a shared
    2-core machine otherwise dominates the tails); both our search and the baselines run under it."""
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    old, old_faiss = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(old)
        faiss.omp_set_num_threads(old_faiss)


def query_filters(query_categories: list[str]) -> dict[str, list[Filters]]:
    """The filtered cases, one `Filters` per query: the query's own category and a price cap (what a shopper's
    conversation gives), one fixed category and price cap for every query (mostly other categories' queries:
    the hard case for a graph), and a brand (~2% of products, no category)."""
    n = len(query_categories)
    return {
        "own category+price": [Filters(category=c, max_price=300) for c in query_categories],
        "category+price": [Filters(category="Beauty & Hygiene", max_price=300)] * n,  # ~17% of products
        "brand": [Filters(brands=["Fresho"])] * n,  # the most common brand
    }


def _timings(
    row: dict, idx: ProductIndex, qt: list[str], qv: np.ndarray, filters: dict, n_queries: int, nq_slow: int
) -> None:
    import torch
    from sentence_transformers import util

    corpus = torch.from_numpy(idx.embeddings)
    qt_t = torch.from_numpy(qv)
    nq_st = min(nq_slow, 20) if len(idx) > 200_000 else nq_slow  # ~2 s a query at 1M
    base = _time(lambda i: util.semantic_search(qt_t[i : i + 1], corpus, top_k=10), range(nq_st))
    row["st_semantic_search_p50_ms"], _ = _pcts(base)
    row["exact_p50_ms"], _ = _pcts(_time(lambda i: exact_search(idx.embeddings, qv[i], 10), range(nq_slow)))
    runs = {
        "dense": lambda i: idx.search(qt[i], 10, mode="dense", query_vector=qv[i]),
        "bm25": lambda i: idx.search(qt[i], 10, mode="lexical"),
        "hybrid": lambda i: idx.search(qt[i], 10, query_vector=qv[i]),
    }
    for name, fs in filters.items():
        runs[f"hybrid+{name}"] = lambda i, fs=fs: idx.search(qt[i], 10, fs[i], query_vector=qv[i])
    for name, fn in runs.items():
        _time(fn, range(20))  # warm: first use of a category builds its BM25 sub-matrix
        cpu: list[float] = []
        row[f"{name}_p50_ms"], row[f"{name}_p95_ms"] = _pcts(_time(fn, range(n_queries), cpu))
        row[f"{name}_cpu_p50_ms"], row[f"{name}_cpu_p95_ms"] = _pcts(cpu)
    for name, fs in filters.items():
        allowed = [idx.mask(fs[i]) for i in range(20)]
        row[f"{name}_selectivity"] = float(np.mean([a.mean() for a in allowed]))
        assert all(allowed[i][idx.slot_of[p.id]] for i in range(20) for p, _ in runs[f"hybrid+{name}"](i))
    cases = {"none": [None] * n_queries, **filters}

    # recall@10 against exact dense candidates (same filters, same BM25 and fusion)
    def ids(key: str, i: int, mode: str, ef: int | None = None) -> set[str]:
        hits = idx.search(qt[i], 10, cases[key][i], mode=mode, query_vector=qv[i], ef_search=ef)
        return {p.id for p, _ in hits}

    graphs = idx.hnsw, idx.category_graphs
    idx.hnsw = idx.category_graphs = None
    exact = {(key, m): [ids(key, i, m) for i in range(nq_slow)] for key in cases for m in ("dense", "hybrid")}
    idx.hnsw, idx.category_graphs = graphs

    def recall(key: str, mode: str, ef: int | None = None) -> float:
        return float(np.mean([len(exact[key, mode][i] & ids(key, i, mode, ef)) / 10 for i in range(nq_slow)]))

    row["recall@10"] = {f"{mode} {key}": recall(key, mode) for key in cases for mode in ("dense", "hybrid")}
    if idx.hnsw is not None:  # the recall / latency trade-off of the HNSW beam width, same graphs
        row["ef_sweep"] = []
        f = filters["own category+price"]
        for ef in (64, 160, 400):
            p50, p95 = _pcts(
                _time(
                    lambda i: idx.search(qt[i], 10, mode="dense", query_vector=qv[i], ef_search=ef), range(n_queries)
                )
            )
            fp50, fp95 = _pcts(
                _time(lambda i: idx.search(qt[i], 10, f[i], query_vector=qv[i], ef_search=ef), range(n_queries))
            )
            row["ef_sweep"].append(
                {
                    "ef": ef,
                    "dense_p50_ms": p50,
                    "dense_p95_ms": p95,
                    "dense_recall@10": recall("none", "dense", ef),
                    "hybrid_filtered_p50_ms": fp50,
                    "hybrid_filtered_p95_ms": fp95,
                    "hybrid_filtered_recall@10": recall("own category+price", "hybrid", ef),
                }
            )
