"""The CPU transfer protocol on a tiny Llama and tiny three-category data: cells train with the state in the
prompt, are scored with the CTranslate2 engine and the judge, land in the results file, are not redone on a
rerun, and `--report-only` writes the table.

Run: python -m pytest -q tests/training/test_transfer_cpu.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.training.test_transfer import run, write_tiny_data

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning"),
    pytest.mark.usefixtures("one_thread"),
]


def add_answer_turns(data: Path) -> None:
    """Give every tiny dialogue an attribute question and its answer (with facts), so answer_acc is scored."""
    for path in (data / "dialogues").glob("*.jsonl"):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for r in rows:
            pid = r["messages"][1]["products"][0]
            color = r["messages"][0]["needs"]["attributes"]["color"]
            r["messages"] += [
                {"role": "user", "content": "what color is it?", "needs": r["messages"][0]["needs"]},
                {"role": "assistant", "content": f"It is {color}.", "act": "answer", "products": [pid],
                 "candidates": [pid], "facts": [{"product": pid, "field": "color", "value": color}]},
            ]  # fmt: skip
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from training.pretrain import build_model, source_texts, train_tokenizer

    root = tmp_path_factory.mktemp("transfer_cpu")
    data = write_tiny_data(root / "data")
    add_answer_turns(data)
    tok = train_tokenizer(source_texts(data, ["apparel", "shoes", "electronics"]), vocab_size=600)
    model = build_model(tok, "llama", hidden_size=32, num_layers=1, num_heads=2, max_positions=1024)
    model.save_pretrained(str(root / "base"))
    tok.save_pretrained(str(root / "base"))
    run(root / "base", data, root / "source-run", method="source-only", shots="0", source_steps=2)
    return root, data, root / "source-run" / "source_adapter"


def bench(root: Path, data: Path, source: Path, *extra: str) -> int:
    from training.bench.transfer_cpu import main

    small = ["lora.r=4", "lora.lora_alpha=8", "transfer.category_r=2", "transfer.discriminator_hidden=16",
             "data.max_eval_dialogues=1"]  # fmt: skip
    return main([
        "--base", str(root / "base"), "--data", str(data), "--source", str(source), "--targets", "electronics",
        "--rows", "source-only:0", "multitask+adversarial:4", "--seeds", "0", "--steps", "2",
        "--tokens-per-step", "800", "--answer-turns", "2", "--compare-turns", "0", "--recommend-turns", "1",
        "--max-new-tokens", "6", "--threads", "1", "--out", str(root / "out"), "--results", str(root / "r.jsonl"),
        "--doc", str(root / "doc.md"), "--set", *small, *extra,
    ])  # fmt: skip


def test_cells_are_appended_resumed_without_redoing_and_reported(setup, monkeypatch):
    from training.bench import transfer_cpu

    root, data, source = setup
    (root / "doc.md").write_text("# Transfer\n\nHand-written text stays.\n")
    assert bench(root, data, source, "--max-cells", "1") == 0
    rows = [json.loads(line) for line in (root / "r.jsonl").read_text().splitlines()]
    assert [(r["method"], r["shots"], r["seed"]) for r in rows] == [("source-only", "0", 0)]
    row = rows[0]
    assert 0 <= row["answer_acc"] <= 1 and row["turns"]["answer_acc"] == 2 and row["turns"]["quality"] == 3
    assert row["ppl"] > 1 and 0 <= row["pad"] <= 2 and row["wall_seconds"] > 0
    assert "data.state_in_prompt=true" in row["overrides"]
    # the trained cell: trained with the state in the prompt (its train_config says so), appended after the first
    assert bench(root, data, source) == 0
    rows = [json.loads(line) for line in (root / "r.jsonl").read_text().splitlines()]
    assert [r["method"] for r in rows] == ["source-only", "multitask+adversarial"] and rows[0] == row
    cfg = next((root / "out").rglob("multitask+adversarial/k4-s0/adapters/electronics/train_config.yaml")).read_text()
    assert "state_in_prompt: true" in cfg and "history_messages: 2" in cfg
    # nothing left: a rerun trains and scores nothing
    monkeypatch.setattr(transfer_cpu, "run_cell", lambda *a: pytest.fail("a finished cell was run again"))
    assert bench(root, data, source) == 0
    (root / "doc.md").write_text("# Transfer\n\nHand-written text stays.\n")
    assert bench(root, data, source, "--report-only") == 0
    doc = (root / "doc.md").read_text()
    assert doc.startswith("# Transfer\n\nHand-written text stays.") and "| 4 | multitask+adversarial | 0 |" in doc
    assert "2 of 2 cells finished" in doc
    # another protocol (a different step budget) does not count these cells
    args = argparse.Namespace(
        base=str(root / "base"), source=str(source), steps=3, tokens_per_step=800, set=[], answer_turns=2,
        compare_turns=0, recommend_turns=1, max_new_tokens=6,
    )  # fmt: skip
    assert transfer_cpu.protocol(args)["id"] != rows[0]["protocol"]


def test_a_torn_last_line_is_skipped_and_the_next_cell_still_lands(tmp_path):
    from training.bench.transfer_cpu import append_result, read_results

    path = tmp_path / "r.jsonl"
    path.write_text('{"method": "a"}\n{"method": "b", "tar')
    assert read_results(path) == [{"method": "a"}]
    append_result(path, {"method": "c"})
    assert [r["method"] for r in read_results(path)] == ["a", "c"]
