"""`shopguide build-demo` end to end on the tiny scratch base: data -> source adapter -> fine-tuning transfers ->
source-only categories -> index -> a bundle that loads, and the attribute-answer evaluation runs on it."""

from __future__ import annotations

import json

import pytest

from training.demo import main

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing")]


def test_build_demo_smoke_on_the_scratch_base(tmp_path):
    out, work = tmp_path / "bundle", tmp_path / "work"
    config = tmp_path / "sft.yaml"
    config.write_text(
        "seq_len: 1024\nbatch_size: 1\nlearning_rate: 0.01\nwarmup_steps: 1\nsave_every: 2\neval_every: 2\n"
        "progress: false\nlora: {r: 4, lora_alpha: 8}\ndata: {max_seq_len: 1024, max_eval_dialogues: 2}\n"
    )
    args = ["--out", str(out), "--work", str(work), "--base", "scratch", "--pretrain-steps", "3",
            "--pretrain-minutes", "1", "--sft-config", str(config), "--sft-steps", "2",
            "--transfer-steps", "2", "--shots", "2", "--targets", "electronics", "--source-only", "shoes",
            "--encoder", "hash:64", "--eval-limit", "2", "--engine", "torch", "--no-base"]  # fmt: skip
    assert main(args) == 0
    bundle = json.loads((out / "assistant.json").read_text())
    assert bundle["adapters"] == {"apparel": "adapters/apparel", "electronics": "adapters/electronics",
                                  "shoes": "adapters/apparel"}  # fmt: skip
    assert bundle["base"] == "base" and (out / "adapters/electronics/adapter_model.safetensors").is_file()
    results = json.loads((out / "answer_accuracy.json").read_text())
    assert set(results) == {"apparel", "electronics"} and results["apparel"]["turns"] == 2
    from assistant.orchestrator import Assistant

    a = Assistant.from_pretrained(out, device="cpu", engine="torch", warm_up=False)
    assert sorted(a.adapters) == ["apparel", "electronics", "shoes"]
