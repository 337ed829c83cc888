"""Tests of `shopguide data validate` (training/data_tools/validate.py), called in-process through `training.cli.main`.

Run: python -m pytest -q tests/training/test_data_validate.py
"""

from __future__ import annotations

import json

import pytest

from training.cli import main as cli
from training.demo_data.generate import generate

GOOD = {
    "id": "d1",
    "category": "apparel",
    "messages": [
        {"role": "user", "content": "hi", "products": []},
        {"role": "assistant", "content": "hello", "products": []},
    ],
}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    generate(
        out,
        seed=3,
        categories=["apparel", "beauty"],
        n_products=60,
        sizes={"train": 20, "validation": 5, "test": 5},
        n_unlabeled=20,
    )
    return out


def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")


def test_bad_dialogue_on_line_3_is_named(tmp_path, capsys):
    bad = dict(GOOD, id="d3", messages=[{"role": "robot", "content": "beep", "products": []}])
    path = tmp_path / "d.jsonl"
    _write(path, [GOOD, dict(GOOD, id="d2"), bad])
    assert cli(["data", "validate", str(path), "--kind", "dialogues"]) != 0
    err = capsys.readouterr().err
    assert f"{path}:3: messages[0].role:" in err
    assert ":1:" not in err and ":2:" not in err


def test_bad_catalog_line_names_field(tmp_path, capsys):
    path = tmp_path / "c.jsonl"
    _write(
        path,
        [
            {"id": "a", "title": "A", "category": "x"},
            {"id": "b", "title": "B", "category": "x"},
            {"id": "c", "title": "C", "category": "x", "price": "cheap"},
        ],
    )
    assert cli(["data", "validate", str(path), "--kind", "catalog"]) == 1
    assert f"{path}:3: price:" in capsys.readouterr().err


def test_unknown_product_and_invalid_json(small_demo, tmp_path, capsys):
    path = tmp_path / "d.jsonl"
    ghost = dict(
        GOOD, id="g", messages=GOOD["messages"][:1] + [{"role": "assistant", "content": "x", "products": ["app-9999"]}]
    )
    _write(path, [GOOD, "{not json", ghost])
    assert cli(["data", "validate", str(path), "--kind", "dialogues", "--catalog", str(small_demo / "catalog")]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: -: invalid JSON" in err and f"{path}:3: messages[1].products:" in err and "app-9999" in err


def test_wrong_fact_and_unknown_candidate_are_named(small_demo, tmp_path, capsys):
    rows = [json.loads(x) for x in (small_demo / "dialogues" / "beauty.train.jsonl").read_text().splitlines()[:3]]
    i, msg = next((i, m) for i, m in enumerate(rows[1]["messages"]) if m.get("facts"))
    msg["facts"][0]["value"] = "definitely wrong"
    msg["candidates"].append("bea-9999")
    path = tmp_path / "d.jsonl"
    _write(path, rows)
    assert cli(["data", "validate", str(path), "--kind", "dialogues", "--catalog", str(small_demo / "catalog")]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: messages[{i}].facts[0]:" in err and "definitely wrong" in err
    assert f"{path}:2: messages[{i}].candidates: product 'bea-9999'" in err
    assert ":1:" not in err and ":3:" not in err


def test_generated_output_passes(small_demo, capsys):
    for f in sorted((small_demo / "dialogues").glob("*.jsonl")):
        assert cli(["data", "validate", str(f), "--kind", "dialogues", "--catalog", str(small_demo / "catalog")]) == 0
    for f in sorted((small_demo / "catalog").glob("*.jsonl")):
        assert cli(["data", "validate", str(f), "--kind", "catalog"]) == 0
    assert "valid dialogues, ok" in capsys.readouterr().out


def test_missing_catalog_is_an_error_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "d.jsonl"
    _write(path, [GOOD])
    assert cli(["data", "validate", str(path), "--kind", "dialogues", "--catalog", str(tmp_path / "nope.jsonl")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_a_folder_is_validated_file_by_file(small_demo, tmp_path, capsys):
    assert cli(["data", "validate", str(small_demo / "catalog"), "--kind", "catalog"]) == 0
    out = capsys.readouterr().out
    assert "apparel.jsonl" in out and "beauty.jsonl" in out
    cat = str(small_demo / "catalog")
    assert cli(["data", "validate", str(small_demo / "dialogues"), "--kind", "dialogues", "--catalog", cat]) == 0
    assert "apparel.train.jsonl" in capsys.readouterr().out
    _write(tmp_path / "a.jsonl", [GOOD])
    _write(tmp_path / "b.jsonl", [dict(GOOD, messages=[])])
    assert cli(["data", "validate", str(tmp_path), "--kind", "dialogues"]) == 1
    assert f"{tmp_path / 'b.jsonl'}:1: messages:" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["catalog", "dialogues"])
def test_an_empty_folder_or_a_folder_named_like_a_file_is_no_traceback(tmp_path, capsys, kind):
    from assistant.dialogues import validate_dialogues

    folder = tmp_path / "x.jsonl"
    folder.mkdir()
    assert cli(["data", "validate", str(folder), "--kind", kind]) == 1
    err = capsys.readouterr().err
    assert f"{folder}: -: folder holds no" in err and "Traceback" not in err
    _, problems = validate_dialogues(folder)
    assert "folder" in problems[0].message


def test_real_log_shapes_are_warned_about_not_failed(tmp_path, capsys):
    def m(role, text):
        return {"role": role, "content": text, "products": []}

    rows = [
        GOOD,
        {
            "id": "d2",
            "category": "apparel",
            "messages": [m("assistant", "Hi!"), m("user", "a coat"), m("assistant", "ok")],
        },
        {
            "id": "d3",
            "category": "apparel",
            "messages": [m("user", "a coat"), m("assistant", "A"), m("assistant", "B")],
        },
        {"id": "d4", "category": "apparel", "messages": [m("assistant", "Hi!"), m("user", "bye")]},
    ]
    _write(tmp_path / "d.jsonl", rows)
    assert cli(["data", "validate", str(tmp_path / "d.jsonl"), "--kind", "dialogues"]) == 0
    out = capsys.readouterr()
    assert "4 valid dialogues, ok, 4 warning(s)" in out.out
    assert f"{tmp_path / 'd.jsonl'}:2: messages[0]: the assistant speaks first" in out.err
    assert f"{tmp_path / 'd.jsonl'}:3: messages[2]: a second assistant message in a row" in out.err
    assert f"{tmp_path / 'd.jsonl'}:4: messages: no assistant message follows a user message" in out.err
