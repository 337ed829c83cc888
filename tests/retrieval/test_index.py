"""Product index: exact filters, search modes, save/load, incremental updates, HNSW.

Run: `python -m pytest -q tests/retrieval/test_index.py` (uses the hashing encoder; no model download).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from retrieval_helpers import BRANDS, COLORS, KINDS, SIZES, random_products

from retrieval.catalog import Product
from retrieval.columns import FilterColumns
from retrieval.filters import Filters
from retrieval.index import ProductIndex

ENC = "hash:256"


def random_filters(rng: random.Random) -> Filters:
    f = Filters()
    if rng.random() < 0.4:
        f.category = rng.choice(list(KINDS) + ["APPAREL", "toys"])
    if rng.random() < 0.4:
        f.min_price = rng.choice([None, rng.uniform(0, 100)])
    if rng.random() < 0.4:
        f.max_price = rng.uniform(100, 250) if f.min_price else rng.uniform(0, 150)
    if rng.random() < 0.3:
        f.brands = [b.lower() if rng.random() < 0.5 else b for b in rng.sample([b for b in BRANDS if b], 2)]
    if rng.random() < 0.3:
        f.exclude_brands = [rng.choice([b for b in BRANDS if b])]
    if rng.random() < 0.4:
        f.attributes_equal = {"color": rng.choice(COLORS + [["red", "blue"]])}
    if rng.random() < 0.3:
        f.attributes_equal["size"] = rng.choice(SIZES).lower()
    if rng.random() < 0.3:
        f.attributes_contain = {rng.choice(["material", "color"]): rng.choice(["cotton", "LEA", "re"])}
    if rng.random() < 0.3:
        f.exclude_attributes = {"color": rng.choice(COLORS)}
    if rng.random() < 0.2:
        f.exclude_ids = [f"p{rng.randrange(300)}" for _ in range(20)]
    return f


def test_filter_masks_equal_brute_force():
    products = random_products(300, seed=1)
    cols = FilterColumns.build(products)
    rng = random.Random(2)
    for _ in range(300):
        f = random_filters(rng)
        want = np.array([f.matches(p) for p in products])
        got = cols.mask(f)
        got = np.ones(len(products), bool) if got is None else got
        assert (got == want).all(), f


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_search_never_leaves_the_filters(kind):
    products = random_products(300, seed=3)
    idx = ProductIndex.build(products, encoder=ENC, kind=kind)
    idx.exact_below = 0  # force the filtered-HNSW path when kind == hnsw
    rng = random.Random(4)
    for _ in range(60):
        f = random_filters(rng)
        allowed = {p.id for p in products if f.matches(p)}
        for mode in ("dense", "hybrid", "lexical"):
            res = idx.search("warm red jacket leather", top_k=25, filters=f, mode=mode)
            assert {p.id for p, _ in res} <= allowed
            if mode == "dense":  # dense ranks every allowed product, so it fills top_k when it can
                assert len(res) == min(25, len(allowed))


@pytest.fixture()
def small_catalog():
    rows = [
        ("b1", "Leather boots waterproof", "shoes", 120, "Acme", {"color": "brown"}),
        ("s1", "Running sneaker lightweight", "shoes", 80, "Fleet", {"color": "black"}),
        ("t1", "Red cotton shirt", "apparel", 20, "Acme", {"color": "red"}),
        ("j1", "Blue denim jeans", "apparel", 50, "Zed", {"color": "blue"}),
        ("m1", "Ceramic coffee mug", "home", 8, "Homey", {}),
        ("l1", "Reading lamp with warm light", "home", 35, "Nordic", {}),
    ]
    return [Product(i, t, c, price=float(pr), brand=b, attributes=a) for i, t, c, pr, b, a in rows]


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
@pytest.mark.parametrize("fusion", ["rrf", "linear"])
def test_modes_find_the_obvious_product(small_catalog, mode, fusion):
    idx = ProductIndex.build(small_catalog, encoder=ENC)
    assert idx.search("waterproof leather boots", top_k=3, mode=mode, fusion=fusion)[0][0].id == "b1"
    assert idx.search("coffee mug", top_k=3, mode=mode, fusion=fusion)[0][0].id == "m1"
    res = idx.search("shirt", top_k=5, mode=mode, fusion=fusion, filters=Filters(category="shoes"))
    assert all(p.category == "shoes" for p, _ in res)


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_save_load_round_trip(tmp_path, kind):
    products = random_products(200, seed=5)
    idx = ProductIndex.build(products, encoder=ENC, kind=kind)
    idx.save(tmp_path / "ix")
    again = ProductIndex.load(tmp_path / "ix")
    assert again.kind == kind and len(again) == 200 and again.encoder_name == ENC
    assert [p.to_dict() for p in again.catalog] == [p.to_dict() for p in idx.catalog]
    f = Filters(max_price=120, exclude_brands=["zed"])
    for q in ["warm jacket", "blue sneaker sport", "lamp"]:
        for mode in ("dense", "lexical", "hybrid"):
            a = [(p.id, round(s, 5)) for p, s in idx.search(q, 10, f, mode)]
            b = [(p.id, round(s, 5)) for p, s in again.search(q, 10, f, mode)]
            assert a == b


def test_load_detects_edited_catalog(tmp_path, small_catalog):
    from retrieval.fileio import DataError

    ProductIndex.build(small_catalog, encoder=ENC).save(tmp_path / "ix")
    path = tmp_path / "ix" / "products.jsonl"
    path.write_text(path.read_text().replace("Ceramic", "Porcelain"))
    with pytest.raises(DataError, match="fingerprint"):
        ProductIndex.load(tmp_path / "ix")


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_incremental_update_equals_rebuild(tmp_path, kind):
    a = random_products(150, seed=6, prefix="a")
    b = random_products(60, seed=7, prefix="b")
    changed = [Product(p.id, p.title + " waterproof", p.category, price=1.0, brand="Nordic") for p in a[:5]]
    inc = ProductIndex.build(a, encoder=ENC, kind=kind)
    inc.add(b)
    gone = [p.id for p in a[10:40]] + [p.id for p in b[:10]]
    inc.remove(gone)
    inc.add(changed)
    final = {p.id: p for p in a + b if p.id not in gone}
    final.update({p.id: p for p in changed})
    rebuilt = ProductIndex.build(list(final.values()), encoder=ENC, kind=kind)
    assert {p.id for p in inc.catalog} == set(final) and len(inc) == len(final)
    for q in ["warm jacket", "waterproof", "red mug classic", "sandal"]:
        for f in (None, Filters(category="home"), Filters(brands=["Nordic"])):
            for mode in ("dense", "lexical", "hybrid"):
                # linear fusion over all candidates: RRF ranks of exactly tied scores depend on slot order
                kw = {"fusion": "linear", "candidates": 1000} if mode == "hybrid" else {}
                x = {(p.id, round(s, 4)) for p, s in inc.search(q, 300, f, mode, **kw)}
                y = {(p.id, round(s, 4)) for p, s in rebuilt.search(q, 300, f, mode, **kw)}
                assert x == y, (q, f, mode)
    inc.save(tmp_path / "ix")  # compacts; the reloaded index answers the same
    again = ProductIndex.load(tmp_path / "ix")
    assert [p.id for p, _ in again.search("waterproof", 20, mode="lexical")] == [
        p.id for p, _ in rebuilt.search("waterproof", 20, mode="lexical")
    ]
    with pytest.raises(KeyError, match="not in the index"):
        inc.remove(["nope"])


def test_hnsw_agrees_with_exact_search():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(20, 32))
    x = centers[rng.integers(0, 20, 3000)] + 0.5 * rng.normal(size=(3000, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    products = [
        Product(f"v{i}", f"item {i}", "home" if i % 3 else "apparel", price=float(i % 100)) for i in range(3000)
    ]

    class Fixed:  # an encoder that is never called: embeddings are given
        name, dim = "fixed", 32

    ex = ProductIndex.build(products, encoder=Fixed(), kind="exact", embeddings=x)
    hn = ProductIndex.build(products, encoder=Fixed(), kind="hnsw", embeddings=x)
    hn.exact_below = 0
    recalls = []
    f = Filters(category="apparel", max_price=50)
    for q in x[:50]:
        e = {p.id for p, _ in ex.search("", 10, mode="dense", query_vector=q)}
        h = {p.id for p, _ in hn.search("", 10, mode="dense", query_vector=q)}
        recalls.append(len(e & h) / 10)
        assert all(f.matches(p) for p, _ in hn.search("", 10, f, mode="dense", query_vector=q))
    assert np.mean(recalls) >= 0.9


def test_batch_encoded_queries_search_as_single_ones(small_catalog):
    idx = ProductIndex.build(small_catalog, encoder=ENC)
    qs = ["boots", "coffee mug", "warm lamp"]
    fs = [None, Filters(category="home"), Filters(max_price=40)]
    qvs = idx.encoder.encode_queries(qs)  # one batch
    assert [[(p.id, round(s, 6)) for p, s in idx.search(q, 3, f, query_vector=v)] for q, f, v in zip(qs, fs, qvs)] == [
        [(p.id, round(s, 6)) for p, s in idx.search(q, 3, f)] for q, f in zip(qs, fs)
    ]
