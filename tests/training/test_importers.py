"""Tests of `shopguide data import` (training/data_tools/): RecQuest (real data, skipped when absent) and
Amazon-2023 metadata (a synthetic fixture written here, including bad lines).

Run: python -m pytest -q tests/training/test_importers.py
"""

from __future__ import annotations

import json

import pytest

from assistant.dialogues import load_dialogues
from retrieval.catalog import load_catalog
from training.cli import main as cli
from training.data_tools.amazon import import_amazon
from training.data_tools.recquest import parse_details, parse_task_content


@pytest.fixture(scope="module")
def recquest(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("recquest")
    assert cli(["data", "import", "recquest", str(shared_data / "recquest"), "--out", str(out)]) == 0
    return out


def test_recquest_import_validates(recquest, capsys):
    catalog = load_catalog(recquest / "catalog.jsonl")
    files = sorted((recquest / "dialogues").glob("*.jsonl"))
    assert {f.stem for f in files} == {"running_shoes", "laptop", "bicycle", "smartwatch", "digital_camera"}
    dialogues = load_dialogues(files, set(catalog.by_id))  # raises DataError on any problem
    assert 500 <= len(dialogues) <= 517
    for f in files:
        assert (
            cli(["data", "validate", str(f), "--kind", "dialogues", "--catalog", str(recquest / "catalog.jsonl")]) == 0
        )


def test_recquest_turns_and_annotations(recquest):
    catalog = load_catalog(recquest / "catalog.jsonl")
    dialogues = load_dialogues(sorted((recquest / "dialogues").glob("*.jsonl")))
    roles = {m["role"] for d in dialogues for m in d.messages}
    assert roles == {"user", "assistant"}  # system log lines are annotations, not turns
    with_target = [d for d in dialogues if d.target]
    assert len(with_target) >= 500
    recommends = [m for d in dialogues for m in d.messages if m.get("act") == "recommend"]
    assert len(recommends) > 1000 and all(m["products"] for m in recommends)
    # the selected product's title is what the assistant talks about, and targets carry task text
    assert all(catalog.get(m["products"][0]).title for m in recommends)
    rich = [p for p in catalog if p.description and p.attributes]
    assert len(rich) >= 10
    assert any(m.get("preferences") for d in dialogues for m in d.messages if m["role"] == "user")
    # one product per title: a title retrieved before it was selected elsewhere keeps its ASIN, no made-up twin
    titles = [p.title.casefold() for p in catalog]
    assert len(titles) == len(set(titles))


def test_parse_task_content_and_details():
    parts = parse_task_content(
        "title: Acer Predator 17  features: Core i7  description: Fast.  details: "
        "Screen Size: 17.3 Inches RAM: 16 GB DDR4 Memory Speed: 2133 MHz Brand: Acer"
    )
    assert parts["title"] == "Acer Predator 17" and parts["features"] == "Core i7"
    d = parse_details(parts["details"])
    assert d == {"Screen Size": "17.3 Inches", "RAM": "16 GB DDR4", "Memory Speed": "2133 MHz", "Brand": "Acer"}


AMAZON_ROWS = [
    {
        "parent_asin": "B01",
        "title": "Trail Runner 2",
        "features": ["Grippy sole"],
        "description": ["Light."],
        "price": 89.99,
        "store": "Acme",
        "categories": ["Shoes", "Running"],
        "details": {"Color": "Blue", "Weight": 250},
        "average_rating": 4.5,
        "images": [{"large": "http://img/1.jpg"}],
    },
    {
        "parent_asin": "B02",
        "title": "Desk Lamp",
        "price": "$1,299.00",
        "store": None,
        "categories": [],
        "details": {"Brand": "Lumo"},
        "main_category": "Home",
    },
    "not json {",  # line 3: invalid JSON
    {"parent_asin": "B03", "title": "", "price": 5},  # line 4: empty title
    {"parent_asin": "B04", "title": "Mystery", "price": "from 5 to 9", "categories": ["Toys"]},  # price dropped
    {"parent_asin": "B01", "title": "Duplicate", "categories": ["Shoes"]},  # line 6: duplicate id
    {"parent_asin": "B05", "title": "Odd", "features": "not a list", "categories": ["X"]},  # line 7
]


@pytest.fixture
def amazon_file(tmp_path):
    path = tmp_path / "meta_test.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in AMAZON_ROWS) + "\n")
    return path


def test_amazon_import(amazon_file, tmp_path):
    r = import_amazon(amazon_file, tmp_path / "out")
    assert r["products"] == 3 and r["skipped"] == 4
    where = {(p.line, p.field) for p in r["problems"]}
    assert {(3, None), (4, "title"), (5, "price"), (6, "parent_asin"), (7, "features")} <= where
    cat = load_catalog(tmp_path / "out" / "catalog.jsonl")
    p = cat.get("B01")
    assert (p.title, p.price, p.brand, p.category, p.rating) == ("Trail Runner 2", 89.99, "Acme", "Running", 4.5)
    assert p.attributes == {"Color": "Blue", "Weight": 250} and p.description == "Grippy sole Light."
    assert p.image_url == "http://img/1.jpg"
    q = cat.get("B02")
    assert (q.price, q.brand, q.category) == (1299.0, "Lumo", "Home")
    assert cat.get("B04").price is None


def test_amazon_import_reads_gzip(amazon_file, tmp_path):
    import gzip

    gz = tmp_path / "meta_test.jsonl.gz"
    gz.write_bytes(gzip.compress(amazon_file.read_bytes()))
    r = import_amazon(gz, tmp_path / "gz")
    assert r["products"] == 3 and r["skipped"] == 4
    assert (tmp_path / "gz" / "catalog.jsonl").read_text() == _import_plain(amazon_file, tmp_path)


def _import_plain(amazon_file, tmp_path) -> str:
    import_amazon(amazon_file, tmp_path / "plain")
    return (tmp_path / "plain" / "catalog.jsonl").read_text()


def test_amazon_cli_reports_file_line_field(amazon_file, tmp_path, capsys):
    assert cli(["data", "import", "amazon", str(amazon_file), "--out", str(tmp_path / "o"), "--category", "misc"]) == 0
    err = capsys.readouterr().err
    assert f"{amazon_file}:4: title:" in err and f"{amazon_file}:3: -: invalid JSON" in err
    assert {p.category for p in load_catalog(tmp_path / "o" / "catalog.jsonl")} == {"misc"}
    assert cli(["data", "import", "amazon", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == 1


def test_amazon_import_cuts_a_description_over_the_catalog_limit(tmp_path):
    from retrieval.catalog import MAX_TEXT_CHARS

    row = {"parent_asin": "B09", "title": "Long Lamp", "price": 5, "categories": ["Home"]}
    row["features"] = ["word " * (MAX_TEXT_CHARS // 5 + 100)]
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(row) + "\n")
    r = import_amazon(path, tmp_path / "out")
    assert r["products"] == 1 and (1, "description") in {(p.line, p.field) for p in r["problems"]}
    p = load_catalog(tmp_path / "out" / "catalog.jsonl").get("B09")  # loads: within the limit
    assert MAX_TEXT_CHARS - 10 < len(p.description) <= MAX_TEXT_CHARS
