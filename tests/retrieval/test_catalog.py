"""Catalog loading and validation: `python -m pytest tests/retrieval/test_catalog.py`."""

import json

import pytest

from retrieval.catalog import load_catalog, validate_catalog
from retrieval.fileio import DataError
from retrieval.filters import Filters


def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_bad_line_is_named_with_field(tmp_path):
    f = _write(
        tmp_path / "c.jsonl",
        [
            {"id": "a", "title": "Shirt", "category": "apparel", "price": 10},
            {"id": "b", "title": "Hat", "category": "apparel"},
            {"id": "c", "title": "Sock", "category": "apparel", "price": "cheap"},
        ],
    )
    good, problems = validate_catalog(f)
    assert [p.id for p in good] == ["a", "b"]
    assert [(p.line, p.field) for p in problems] == [(3, "price")]
    assert str(problems[0]).startswith(f"{f}:3: price:")


def test_duplicates_bad_json_and_non_utf8_are_all_reported(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_bytes(
        b'{"id": "a", "title": "T", "category": "x"}\n{oops\n{"id": "a", "title": "U", "category": "x"}\n'
        b'{"id": "z", "title": "\xff", "category": "x"}\n'
    )
    with pytest.raises(DataError) as e:
        load_catalog(f)
    lines = {(p.line, p.field) for p in e.value.problems}
    assert lines == {(2, None), (3, "id"), (4, None)}


def test_unknown_fields_are_kept_and_csv_loads(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text('id,title,category,price,attributes,color_family\n1,Tee,apparel,9.5,"{""size"": ""M""}",blue\n')
    cat = load_catalog(f)
    p = cat.get("1")
    assert p.price == 9.5 and p.attributes == {"size": "M"} and p.extra == {"color_family": "blue"}


def test_filters_are_exact():
    from retrieval.catalog import Product

    ps = [
        Product("1", "A", "apparel", price=10, brand="Acme", attributes={"color": ["red", "blue"]}),
        Product("2", "B", "apparel", price=30, brand="Zed", attributes={"color": "red"}),
        Product("3", "C", "home", price=5),
    ]
    f = Filters(category="apparel", max_price=20, attributes_equal={"color": "blue"})
    assert [p.id for p in ps if f.matches(p)] == ["1"]
    assert [p.id for p in ps if Filters(exclude_brands=["acme"]).matches(p)] == ["2", "3"]
    with pytest.raises(ValueError, match="min_price"):
        Filters(min_price=5, max_price=1)
