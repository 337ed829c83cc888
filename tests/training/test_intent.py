"""Tests of the intent head: its data (training/intent_data.py), its recipe (training/intent.py, every method, on a
tiny generated set with the hashing encoder) and the serving model (assistant/understanding/intents.py).

Run: python -m pytest -q tests/training/test_intent.py
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import pytest

from assistant.understanding.intents import CONTEXT_FEATURES, INTENTS, IntentModel, context_features
from retrieval.catalog import load_catalog
from retrieval.encoder import load_encoder
from training.config import load_config
from training.demo_data.generate import generate
from training.intent import METHODS, IntentConfig, main
from training.intent_data import (
    BUDGETS,
    CATEGORY_TEMPLATES,
    CLAUSES,
    TEMPLATES,
    CategorySlots,
    generate_examples,
    recquest_turns,
)

REPO = Path(__file__).resolve().parents[2]
MESSAGES = ["do you have red jackets under $50?", "what's the second one made of?", "bye", "hola, busco zapatos"]


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, seed=0, categories=["apparel", "electronics"], n_products=40)
    return out / "catalog"


def _config(catalogs: Path, out: Path, **kw) -> IntentConfig:
    overrides = [
        f"out_dir={out}",
        "encoder=hash:64",
        f"cache_dir={out.parent / 'cache'}",
        "max_steps=60",
        "eval_every=20",
        "hidden=32",
        f"data.catalog_dir={catalogs}",
        "data.target_categories=[electronics]",
        "data.train_dialogues=20",
        "data.eval_dialogues=4",
        f"data.recquest_dir={out.parent / 'no-recquest'}",
    ] + [f"{k}={v}" for k, v in kw.items()]
    return load_config(IntentConfig, REPO / "training" / "configs" / "intent.yaml", overrides)


def _all_templates() -> list[str]:
    extra = [t for c in CATEGORY_TEMPLATES.values() for v in c.values() for t in v]
    return [t for v in TEMPLATES.values() for t in v] + extra + CLAUSES + BUDGETS


def test_templates_are_not_the_evaluators():
    """No template is a phrase of the simulated shopper (code and phrase bank) or the demo generator's shopper."""
    files = sorted((REPO / "assistant" / "simulation").glob("*.py")) + [REPO / "training/demo_data/user.py"]
    literals, texts = set(), []
    for f in files:
        src = f.read_text(encoding="utf-8")
        texts.append(src.lower())
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value.strip().lower())
    for f in sorted((REPO / "assistant" / "simulation").glob("*.json")):  # the phrase bank mined from RecQuest
        words = json.loads(f.read_text(encoding="utf-8")).get("families", {}).values()
        literals |= {t.strip().lower() for family in words for t in family}
        texts.append(f.read_text(encoding="utf-8").lower())
    shared = [t for t in _all_templates() if t.lower() in literals]
    shared += [t for t in _all_templates() if len(t.split()) >= 3 and any(t.lower() in x for x in texts)]
    assert not shared, f"templates shared with the evaluator: {shared}"


def test_generated_examples_cover_every_intent_and_hold_out_templates(catalogs):
    slots = CategorySlots.from_products(load_catalog(catalogs / "electronics.jsonl").products)
    rows = {s: generate_examples(slots, 60, 0, s) for s in ("train", "validation", "test")}
    assert {r["intent"] for r in rows["train"]} == set(INTENTS)
    templates = {s: {r["template"] for r in v} for s, v in rows.items()}
    assert not templates["train"] & templates["test"] and not templates["validation"] & templates["test"]
    assert rows["train"] == generate_examples(slots, 60, 0, "train")  # deterministic
    assert all(len(context_features(r["history"])) == len(CONTEXT_FEATURES) for r in rows["train"])


def test_recipe_runs_and_loss_falls(catalogs, tmp_path):
    out = main(_config(catalogs, tmp_path / "run"))
    metrics = json.loads((out / "metrics.json").read_text())
    losses = [r["task_loss"] for r in metrics["train_log"]]
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]
    assert {"electronics/test", "apparel/validation"} <= set(metrics["eval"])
    assert {p.name for p in out.iterdir()} >= {"head.safetensors", "intent_config.json", "metrics.json"}


@pytest.mark.parametrize("method", [m for m in METHODS if m != "source-only"])
def test_each_method_runs(catalogs, tmp_path, method):
    """dann goes through the GRL and the discriminator; multitask through the category head."""
    kw = {"method": method, "data.target_shots": 3}
    if method == "multitask":
        kw["data.source_categories"] = "[apparel,electronics]"
    out = main(_config(catalogs, tmp_path / method, **kw))
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(math.isfinite(r["loss"]) for r in metrics["train_log"])
    if method == "dann":
        assert metrics["n_unlabeled"] > 0 and "disc_accuracy" in metrics["train_log"][-1]


def test_save_load_round_trip_predicts_the_same(catalogs, tmp_path):
    out = main(_config(catalogs, tmp_path / "run"))
    enc = load_encoder("hash:64")
    model = IntentModel.load(out, encoder=enc)
    history = [{"role": "assistant", "content": "Here: the A (1) and the B (2).", "products": ["a", "b"]}]
    before = [model.predict(m, history) for m in MESSAGES]
    assert before == model.predict_batch(MESSAGES, [history] * len(MESSAGES))
    assert all(p in INTENTS for p in before)
    again = IntentModel.load(model.save(tmp_path / "copy"), encoder=enc)
    assert [again.predict(m, history) for m in MESSAGES] == before
    assert abs(sum(again.predict_proba(MESSAGES[0], history).values()) - 1) < 1e-5


def test_recquest_weak_labels_by_position(tmp_path):
    (tmp_path / "dialogues").mkdir()
    msgs = [
        {"role": "human", "content": "I need a laptop for school"},
        {"role": "ai", "content": "Any budget?"},
        {"role": "human", "content": "not too expensive"},
        {"role": "system", "content": "Selected item for recommendation: Zen Book (ID: B001)"},
        {"role": "ai", "content": "I recommend the Zen Book."},
        {"role": "human", "content": "is it light?"},
        {"role": "ai", "content": "Great! Are you sure you want to go with this recommendation?"},
        {"role": "human", "content": "Yes, I want this one."},
        {"role": "ai", "content": "Could you briefly explain why you think this option is the best choice?"},
        {"role": "human", "content": "it is light"},
    ]
    (tmp_path / "dialogues" / "d1.json").write_text(json.dumps({"domain": "laptop", "messages": msgs}))
    rows = recquest_turns(tmp_path)
    assert [(r["message"], r["intent"]) for r in rows] == [
        ("I need a laptop for school", "ask_products"),
        ("not too expensive", "ask_products"),
        ("is it light?", None),
        ("Yes, I want this one.", "accept"),
    ]
    assert rows[2]["history"][-1]["products"] == ["B001"] and rows[0]["category"] == "electronics"
