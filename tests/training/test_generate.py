"""Tests of `shopguide data generate` (training/demo_data/): determinism, layout, validity and the
consistency of the assistant's annotations with the catalog.

Run: python -m pytest -q tests/training/test_generate.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.dialogues import load_dialogues
from retrieval.catalog import load_catalog
from retrieval.filters import Filters
from training.cli import main as cli
from training.demo_data.generate import TRAIN_SIZE, generate

CATEGORIES = ["apparel", "shoes", "home", "electronics", "beauty"]
SPLITS = ["train", "validation", "test"]
ACTS = {"greet", "elicit", "recommend", "answer", "compare", "relax", "close"}
NEED_KEYS = {"category", "min_price", "max_price", "attributes", "exclude_attributes", "brands", "exclude_brands"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, seed=0)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.jsonl"))}


def _dialogues(demo: Path, cat: str, split: str) -> list[dict]:
    return [json.loads(x) for x in (demo / "dialogues" / f"{cat}.{split}.jsonl").read_text().splitlines()]


def test_layout_and_sizes(demo):
    for cat in CATEGORIES:
        assert len(load_catalog(demo / "catalog" / f"{cat}.jsonl")) >= 200
        assert len(_dialogues(demo, cat, "train")) == TRAIN_SIZE[cat]
        assert len(_dialogues(demo, cat, "test")) == 60
        rows = [json.loads(x) for x in (demo / "unlabeled" / f"{cat}.jsonl").read_text().splitlines()]
        assert len(rows) >= 300 and all(r["category"] == cat and r["text"].strip() for r in rows)


def test_deterministic_per_seed(demo, tmp_path):
    generate(tmp_path / "a", seed=0, categories=["beauty"])
    first = _files(demo)
    again = _files(tmp_path / "a")
    assert again and all(first[k] == v for k, v in again.items())
    generate(tmp_path / "b", seed=1, categories=["beauty"])
    other = _files(tmp_path / "b")
    assert other["catalog/beauty.jsonl"] != again["catalog/beauty.jsonl"]
    assert other["dialogues/beauty.train.jsonl"] != again["dialogues/beauty.train.jsonl"]


def test_every_file_validates_with_the_cli(demo, capsys):
    for cat in CATEGORIES:
        assert cli(["data", "validate", str(demo / "catalog" / f"{cat}.jsonl"), "--kind", "catalog"]) == 0
        for split in SPLITS:
            path = demo / "dialogues" / f"{cat}.{split}.jsonl"
            assert cli(["data", "validate", str(path), "--kind", "dialogues", "--catalog", str(demo / "catalog")]) == 0


def test_splits_do_not_share_dialogue_ids(demo):
    ids = [d["id"] for cat in CATEGORIES for s in SPLITS for d in _dialogues(demo, cat, s)]
    assert len(ids) == len(set(ids))


def _needs_filters(needs: dict) -> Filters:
    return Filters(
        category=needs["category"],
        min_price=needs["min_price"],
        max_price=needs["max_price"],
        brands=needs["brands"],
        exclude_brands=needs["exclude_brands"],
        attributes_equal=needs["attributes"],
        exclude_attributes=needs["exclude_attributes"],
    )


@pytest.mark.parametrize("cat", CATEGORIES)
def test_annotations_match_the_catalog(demo, cat):
    catalog = load_catalog(demo / "catalog" / f"{cat}.jsonl")
    acts = set()
    for split in SPLITS:
        for d in load_dialogues(demo / "dialogues" / f"{cat}.{split}.jsonl", set(catalog.by_id)):
            needs = None
            for m in d.messages:
                if m["role"] == "user":
                    assert set(m["needs"]) == NEED_KEYS and m["needs"]["category"] == cat
                    needs = m["needs"]
                    continue
                acts.add(m["act"])
                assert m["act"] in ACTS
                assert set(m["products"]) <= set(m["candidates"]), (d.id, m)
                assert 3 <= len(m["candidates"]) <= 7  # cards are shown on every turn, as at serving time
                for f in m["facts"]:
                    p = catalog.get(f["product"])
                    assert f["product"] in m["products"] or f["product"] in m["candidates"]
                    if f["field"] in ("title", "price", "brand"):
                        assert getattr(p, f["field"]) == f["value"], (d.id, f)
                    else:
                        assert p.attributes[f["field"]] == f["value"], (d.id, f)
                    # grounding: the value is stated verbatim (prices as $x.xx)
                    said = f"${f['value']:.2f}" if f["field"] == "price" else str(f["value"])
                    assert said.lower() in m["content"].lower(), (d.id, f, m["content"])
                if m["act"] == "recommend":
                    for pid in m["products"]:
                        assert catalog.get(pid).title in m["content"]
                        assert _needs_filters(needs).matches(catalog.get(pid)), (d.id, pid, needs)
                if m["act"] == "relax":
                    shown = [catalog.get(c) for c in m["candidates"]]
                    assert not any(_needs_filters(needs).matches(p) for p in shown), d.id
            if d.target is not None:
                assert d.target in d.messages[-1]["products"]
    assert acts == ACTS


def _stated(needs: dict) -> int:
    return (
        len([a for a in needs["attributes"] if a != "type"]) + (needs["max_price"] is not None) + bool(needs["brands"])
    )


@pytest.mark.parametrize("cat", ["apparel", "electronics"])
def test_assistant_policy_is_consistent(demo, cat):
    """Elicit only while needs are thin (at most twice); relax turns say what they relaxed, and the needs
    after the shopper accepts equal what the relaxed recommendation satisfies."""
    catalog = load_catalog(demo / "catalog" / f"{cat}.jsonl")
    labels = __import__("training.demo_data.vocab", fromlist=["x"]).CATEGORIES[cat]["labels"]
    for d in _dialogues(demo, cat, "train"):
        msgs = d["messages"]
        assert sum(m.get("act") == "elicit" for m in msgs) <= 2
        for i, m in enumerate(msgs):
            if m.get("act") == "elicit":
                needs = msgs[i - 1]["needs"]
                assert "type" not in needs["attributes"] or _stated(needs) < 2, d["id"]
            if m.get("act") == "relax":
                key, text = m["relaxed"], m["content"].lower()
                if key == "price":
                    assert "budget" in text or "price" in text
                elif key == "brand":
                    assert any(b.lower() in text for b in msgs[i - 1]["needs"]["brands"])
                elif key not in ("*", "**"):
                    assert labels.get(key, key).lower() in text
        # the chosen product meets the needs the shopper ends with
        if d.get("target") and msgs[-2]["role"] == "user":
            assert _needs_filters(msgs[-2]["needs"]).matches(catalog.get(d["target"])), d["id"]


def test_prices_in_text_are_two_decimals(demo):
    for d in _dialogues(demo, "electronics", "train")[:100]:
        for m in d["messages"]:
            if m["role"] == "assistant":
                for cents in re.findall(r"\$\d+\.(\d+)", m["content"]):
                    assert len(cents) == 2


def test_categories_talk_differently(demo):
    vocab = {}
    for cat in CATEGORIES:
        words = set()
        for row in (demo / "unlabeled" / f"{cat}.jsonl").read_text().splitlines():
            words |= set(re.findall(r"[a-z]+", json.loads(row)["text"].lower()))
        vocab[cat] = words
    overlap = len(vocab["beauty"] & vocab["electronics"]) / len(vocab["beauty"] | vocab["electronics"])
    assert overlap < 0.4
