"""Category-filtered search reads only the category's slots (mask, graph, exact fallback) and gives the exact answers.

Run: `python -m pytest -q tests/retrieval/test_category_search.py` (small catalogs, ~3 s).
"""

from __future__ import annotations

import numpy as np
import pytest
from retrieval_helpers import random_products

from retrieval.catalog import Product
from retrieval.columns import FilterColumns
from retrieval.filters import Filters
from retrieval.index import ProductIndex


class _Fixed:  # an encoder that is never called: embeddings are given
    name, dim = "fixed", 32


def _clustered(n: int, seed: int = 0, prefix: str = "v") -> tuple[list[Product], np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, 32))
    x = centers[rng.integers(0, 20, n)] + 0.5 * rng.normal(size=(n, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    cats = ["home", "apparel", "shoes", "toys"]
    words = ["red", "blue", "warm", "light", "wool", "mug", "lamp", "boot"]
    products = [
        Product(
            f"{prefix}{i}",
            f"{words[i % 8]} {words[i * 7 % 8]} item {i % 50}",
            cats[i % 7 % 4],
            price=float(i % 100),
            brand=["Acme", "Zed", None][i % 3],
        )
        for i in range(n)
    ]
    return products, x


def test_mask_within_a_category_equals_the_full_mask_at_its_slots():
    products = random_products(400, seed=3)
    cols = FilterColumns.build(products)
    slot_of = {p.id: i for i, p in enumerate(products)}
    other = [p.id for p in products if p.category != "apparel"][:5]
    cases = [
        Filters(category="Apparel"),
        Filters(category="apparel", min_price=20, max_price=90),
        Filters(category="apparel", brands=["acme", "Zed"], exclude_brands=["zed"]),
        Filters(
            category="apparel", attributes_equal={"color": ["red", "blue"]}, attributes_contain={"material": "cot"}
        ),
        Filters(category="apparel", exclude_attributes={"size": "M"}, exclude_ids=["p1", "p2", "nope", *other]),
        Filters(category="shoes", max_price=50),  # not the category asked for: nothing
    ]
    code = cols.category.table["apparel"]
    rows = cols.category_rows(code)
    assert rows.tolist() == [i for i, p in enumerate(products) if p.category == "apparel"]
    for f in cases:
        assert (cols.mask(f, slot_of, within=code) == cols.mask(f, slot_of)[rows]).all(), f


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_category_search_equals_exact_filtered_search(monkeypatch, mode):
    import retrieval.index

    monkeypatch.setattr(retrieval.index, "CATEGORY_GRAPH_MIN_PRODUCTS", 500)
    products, x = _clustered(2400)
    ex = ProductIndex.build(products, encoder=_Fixed(), kind="exact", embeddings=x)
    hn = ProductIndex.build(products, encoder=_Fixed(), kind="hnsw", embeddings=x)
    hn.exact_below = 0  # the graphs, however few products the filters allow
    gone = [p.id for p in products[::9]]
    ex.remove(gone)
    hn.remove(gone)
    filters = [
        Filters(category="apparel", max_price=60),
        Filters(category="Shoes", brands=["acme"], exclude_ids=["v2", "v9"]),
        Filters(category="toys", min_price=10),  # no graph: exact over its slots
        Filters(category="apparel", max_price=-1),  # nothing allowed
        Filters(category="garden"),  # not in the catalog
    ]
    for f in filters:
        for i, q in enumerate(["red item 3", "warm wool", "lamp item 12"]):
            kw = {"mode": mode, "query_vector": x[i * 11]}
            want = ex.search(q, 10, f, **kw)
            got = hn.search(q, 10, f, **kw)
            assert [p.id for p, _ in got] == [p.id for p, _ in want], (f, q)
            if mode == "dense":  # the graph's own inner products (float32, summed in another order)
                assert np.allclose([s for _, s in got], [s for _, s in want], rtol=1e-6)
            else:
                assert [s for _, s in got] == [s for _, s in want]
            assert all(ex.mask(f)[ex.slot_of[p.id]] for p, _ in want)


def test_graph_made_after_a_category_s_first_products_does_not_hide_them(monkeypatch):
    import retrieval.index

    monkeypatch.setattr(retrieval.index, "CATEGORY_GRAPH_MIN_PRODUCTS", 500)
    first, x = _clustered(1400, seed=1, prefix="a")  # ~350 of each category: no category graph yet
    more, y = _clustered(2800, seed=2, prefix="b")  # ~700 of each: graphs of only these
    ex = ProductIndex.build(first, encoder=_Fixed(), kind="exact", embeddings=x)
    hn = ProductIndex.build(first, encoder=_Fixed(), kind="hnsw", embeddings=x)
    assert len(hn.category_graphs) == 0
    ex.add(more, embeddings=y)
    hn.add(more, embeddings=y)
    assert hn.category_graphs.get("apparel").ntotal < int((hn.columns.category.codes == 1).sum())
    hn.exact_below = 0
    f = Filters(category="apparel", max_price=80)
    for q in x[:20]:  # queries near the first products, which only the global graph holds
        want = [p.id for p, _ in ex.search("", 10, f, mode="dense", query_vector=q)]
        assert [p.id for p, _ in hn.search("", 10, f, mode="dense", query_vector=q)] == want
