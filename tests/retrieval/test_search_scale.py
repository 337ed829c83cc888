"""The fast paths of filtered search give the exact answers: BM25 top-k per category, category graphs, HNSW retries.

Run: `python -m pytest -q tests/retrieval/test_search_scale.py` (hash encoder, small catalogs, ~2 s).
"""

from __future__ import annotations

import numpy as np
import pytest
from retrieval_helpers import random_products

from retrieval.ann import exact_search
from retrieval.bm25 import BM25
from retrieval.catalog import Product
from retrieval.filters import Filters
from retrieval.fusion import fuse
from retrieval.index import ProductIndex
from retrieval.text import product_text


def _replicated(n: int, seed: int = 0) -> list[Product]:
    """Products with many near-duplicates (as the speed benchmark's replicated catalogs): ties everywhere."""
    base = random_products(60, seed=seed)
    return [
        Product(
            f"{p.id}-{r}", f"{p.title} pack {r % 5}", p.category, price=p.price, brand=p.brand, attributes=p.attributes
        )
        for r in range(n // len(base))
        for p in base
    ]


def _brute_top(bm: BM25, query: str, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    sc = bm.scores(query)
    ok = sc > 0 if mask is None else (sc > 0) & mask
    slots = np.flatnonzero(ok)
    order = np.lexsort((slots, -sc[slots]))[:k]
    return slots[order], sc[slots][order]


def test_bm25_top_equals_brute_force_also_by_category():
    products = _replicated(3000)
    bm = BM25.build([product_text(p) for p in products])
    cats = {c: i for i, c in enumerate(sorted({p.category for p in products}))}
    codes = np.asarray([cats[p.category] for p in products])
    rng = np.random.default_rng(0)
    queries = ["red jacket warm", "blue sneaker sport sport", "lamp", "pack 3 mug white", "nothing known here"]
    masks = [None, rng.random(len(products)) < 0.2, rng.random(len(products)) < 0.005]
    for q in queries:
        for mask in masks:
            for k in (1, 10, 100):
                got, got_sc = bm.top(q, k, mask)
                want, want_sc = _brute_top(bm, q, k, mask)
                assert got.tolist() == want.tolist() and (got_sc == want_sc).all(), (q, k)
                in_cat = codes == cats["apparel"] if mask is None else (codes == cats["apparel"]) & mask
                got, got_sc = bm.top(q, k, mask, cats["apparel"], codes)
                want, want_sc = _brute_top(bm, q, k, in_cat)
                assert got.tolist() == want.tolist() and (got_sc == want_sc).all(), (q, k)
    assert (bm.score_slots("red jacket", np.arange(50)) == bm.scores("red jacket")[:50]).all()


def test_bm25_top_after_removals():
    products = _replicated(1200, seed=1)
    bm = BM25.build([product_text(p) for p in products])
    bm.remove_slots(np.arange(0, 1200, 3))
    got, _ = bm.top("green dress", 20)
    want, _ = _brute_top(bm, "green dress", 20, None)
    assert got.tolist() == want.tolist() and not set(got.tolist()) & set(range(0, 1200, 3))


@pytest.mark.parametrize("k", [5, 40])
def test_hybrid_search_equals_fusion_over_every_bm25_match(k):
    products = _replicated(2400, seed=2)
    idx = ProductIndex.build(products, encoder="hash:64", kind="exact")
    f = Filters(category="apparel", max_price=120)
    for q in ["red jacket warm", "white mug"]:
        qv = idx.encoder.encode_query(q)
        mask = idx.mask(f)
        # fusion over every BM25 match, scored over the whole catalog
        d_slots, d_sc = exact_search(idx.embeddings, qv, 100, mask)
        full, full_sc = _brute_top(idx.bm25, q, 100, mask)
        dense = lambda s: idx.embeddings[s] @ qv  # noqa: E731
        want, _ = fuse(d_slots, d_sc, full, k, "linear", (1, 1), dense, lambda s: idx.bm25.score_slots(q, s))
        got = [idx.slot_of[p.id] for p, _ in idx.search(q, k, f)]
        assert got == want.tolist()


class _Fixed:  # an encoder that is never called: embeddings are given
    name, dim = "fixed", 32


def _clustered(n: int, seed: int = 0) -> tuple[list[Product], np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, 32))
    x = centers[rng.integers(0, 20, n)] + 0.5 * rng.normal(size=(n, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    cats = ["home", "apparel", "shoes", "toys"]
    products = [Product(f"v{i}", f"item {i}", cats[i % 7 % 4], price=float(i % 100)) for i in range(n)]
    return products, x


def test_category_graphs_give_the_exact_filtered_top_k(tmp_path, monkeypatch):
    import retrieval.index

    monkeypatch.setattr(retrieval.index, "CATEGORY_GRAPH_MIN_PRODUCTS", 500)
    products, x = _clustered(2400)
    ex = ProductIndex.build(products, encoder=_Fixed(), kind="exact", embeddings=x)
    hn = ProductIndex.build(products, encoder=_Fixed(), kind="hnsw", embeddings=x)
    hn.exact_below = 0
    assert sorted(hn.category_graphs.graphs) == ["apparel", "home", "shoes"]  # toys: 342 products, no graph
    used = []
    graph = hn.category_graphs.get("apparel")
    search = graph.search
    monkeypatch.setattr(graph, "search", lambda *a, **kw: used.append(1) or search(*a, **kw))
    for f in [Filters(category="Apparel"), Filters(category="apparel", max_price=50), Filters(category="toys")]:
        for q in x[:30]:
            want = [p.id for p, _ in ex.search("", 10, f, mode="dense", query_vector=q)]
            assert [p.id for p, _ in hn.search("", 10, f, mode="dense", query_vector=q)] == want
    assert len(used) == 60
    # saved and loaded with the index; new products of a category with a graph join that graph
    hn.save(tmp_path / "ix")
    back = ProductIndex.load(tmp_path / "ix", encoder=_Fixed())
    assert sorted(back.category_graphs.graphs) == ["apparel", "home", "shoes"]
    more, y = _clustered(30, seed=1)
    more = [Product(f"new{i}", p.title, "apparel", price=1.0) for i, p in enumerate(more)]
    back.add(more, embeddings=y)
    assert back.category_graphs.get("apparel").ntotal == sum(p.category == "apparel" for p in products) + 30
    back.exact_below = 0
    hits = back.search("", 5, Filters(category="apparel", max_price=1), mode="dense", query_vector=y[0])
    assert hits[0][0].id == "new0" and all(p.price <= 1 for p, _ in hits)


def test_filtered_hnsw_retries_then_falls_back_to_exact():
    products, x = _clustered(3000)
    ex = ProductIndex.build(products, encoder=_Fixed(), kind="exact", embeddings=x)
    hn = ProductIndex.build(products, encoder=_Fixed(), kind="hnsw", embeddings=x, hnsw_params={"ef_search": 16})
    hn.exact_below = 0
    f = Filters(exclude_ids=[p.id for p in products[:2990]])  # 10 allowed: the narrow beam misses most
    for q in x[:5]:
        want = [p.id for p, _ in ex.search("", 10, f, mode="dense", query_vector=q)]
        assert [p.id for p, _ in hn.search("", 10, f, mode="dense", query_vector=q)] == want
