"""Transfer recipes on a tiny Llama and tiny three-category data: every method runs a few steps and saves
adapters that plain peft loads; merged shared + per-category adapters equal the two summed; the joint and
meta recipes resume after a kill to the same weights; the joint recipe runs as two processes (accelerate, gloo).

Run: python -m pytest -q tests/training/test_transfer.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# peft 0.21 reads transformers' deprecated `is_gradient_checkpointing` when loading an adapter (load_adapters)
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning"),
    pytest.mark.usefixtures("one_thread"),
]
REPO = Path(__file__).resolve().parents[2]

CATS = {
    "apparel": ["shirt", "jacket", "scarf"],
    "shoes": ["boot", "sneaker", "sandal"],
    "electronics": ["phone", "laptop", "camera"],
}
COLORS = ["red", "blue", "black"]


def write_tiny_data(root: Path) -> Path:
    """3 categories x 6 products, guide dialogues with candidates / needs, unlabeled target utterances."""
    for cat, kinds in CATS.items():
        products = [
            {
                "id": f"{cat[:2]}{i}",
                "title": f"{COLORS[i % 3].title()} {kinds[i % 3].title()}",
                "category": cat,
                "price": 20.0 + 10 * i,
                "brand": "Peak" if i % 2 else "Nord",
                "description": f"A {COLORS[i % 3]} {kinds[i % 3]} for every day.",
                "attributes": {"color": COLORS[i % 3]},
            }
            for i in range(6)
        ]
        (root / "catalog").mkdir(parents=True, exist_ok=True)
        (root / "catalog" / f"{cat}.jsonl").write_text("".join(json.dumps(p) + "\n" for p in products))
        (root / "dialogues").mkdir(exist_ok=True)
        for split, n in (("train", 8), ("validation", 2), ("test", 2)):
            rows = []
            for k in range(n):
                p, q = products[k % 6], products[(k + 1) % 6]
                color = p["attributes"]["color"]
                rows.append(
                    {
                        "id": f"{cat}-{split}{k}",
                        "category": cat,
                        "messages": [
                            {
                                "role": "user",
                                "content": f"I need a {color} {kinds[k % 3]} under ${p['price'] + 5:.0f}",
                                "products": [],
                                "needs": {
                                    "category": cat,
                                    "max_price": p["price"] + 5,
                                    "attributes": {"color": color},
                                },
                            },
                            {
                                "role": "assistant",
                                "content": f"The {p['title']} by {p['brand']} costs ${p['price']:.2f}.",
                                "products": [p["id"]],
                                "candidates": [p["id"], q["id"]],
                                "act": "recommend",
                            },
                        ],
                    }
                )
            (root / "dialogues" / f"{cat}.{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "unlabeled").mkdir(exist_ok=True)
    (root / "unlabeled" / "electronics.jsonl").write_text(
        "".join(
            json.dumps({"category": "electronics", "text": f"any good {c} {k}?"}) + "\n"
            for c in COLORS
            for k in CATS["electronics"]
        )
    )
    return root


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Tiny data, a tiny Llama base and a trained source adapter (shared by all methods)."""
    from training.pretrain import build_model, source_texts, train_tokenizer

    root = tmp_path_factory.mktemp("transfer")
    data = write_tiny_data(root / "data")
    tok = train_tokenizer(source_texts(data, list(CATS)), vocab_size=600)
    model = build_model(tok, "llama", hidden_size=16, num_layers=1, num_heads=2, max_positions=1024)
    base = root / "base"
    model.save_pretrained(str(base))
    tok.save_pretrained(str(base))
    run(base, data, root / "source-run", method="source-only", shots="0", source_steps=4)
    return base, data, root, root / "source-run" / "source_adapter"


def overrides(base: Path, data: Path, out: Path, **over) -> list[str]:
    values = {
        "base": base,
        "data.data_dir": data,
        "out_dir": out,
        "target": "electronics",
        "meta.sources": "[apparel,shoes]",
        "max_steps": 2,
        "seq_len": 1400,
        "source_steps": 2,
        "data.max_seq_len": 700,
        "lora.r": 4,
        "lora.lora_alpha": 8,
        "progress": False,
        "transfer.category_r": 2,
        "transfer.discriminator_hidden": 16,
        "transfer.text_batch_size": 4,
        "transfer.augment_n": 4,
        "transfer.augment_max_new_tokens": 8,
        "meta.outer_steps": 2,
        "meta.inner_steps": 1,
        "data.max_eval_dialogues": 1,
        **over,
    }
    return [f"{k}={v}" for k, v in values.items()]


def run(base: Path, data: Path, out: Path, **over) -> Path:
    from training.config import load_config
    from training.transfer import TransferConfig, main

    return main(load_config(TransferConfig, "training/configs/transfer.yaml", overrides(base, data, out, **over)))


def assert_plain_peft_loads(base: Path, folder: Path) -> None:
    """The folder is one plain PEFT adapter that `PeftModel.from_pretrained` loads, with nothing of ours."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    names = {p.name for p in folder.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "train_config.yaml", "metrics.json"} <= names
    assert "model.safetensors" not in names and "checkpoints" not in names
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base)), str(folder)).eval()
    with torch.no_grad():
        assert torch.isfinite(model(input_ids=torch.tensor([[5, 6, 7, 8]])).logits).all()


@pytest.mark.parametrize(
    "method",
    ["target-only", "source-only", "finetune", "multitask", "adversarial", "multitask+adversarial", "augment", "meta"],
)
def test_every_method_saves_adapters_plain_peft_loads(setup, method, tmp_path):
    base, data, _, src = setup
    out = run(base, data, tmp_path, method=method, shots="4", source_adapter=src)
    assert out == tmp_path / "adapters" / "electronics"
    saved = sorted(p.name for p in (tmp_path / "adapters").iterdir())
    multitask = method in ("multitask", "multitask+adversarial", "augment")
    assert saved == (["apparel", "electronics"] if multitask else ["electronics"])
    for cat in saved:
        assert_plain_peft_loads(base, tmp_path / "adapters" / cat)
        metrics = json.loads((tmp_path / "adapters" / cat / "metrics.json").read_text())
        assert metrics["method"] == method and metrics["val_loss"] == pytest.approx(metrics["val_loss"])  # finite
        assert 0.0 <= metrics["proxy_a_distance"] <= 2.0
    if "adversarial" in method or method == "augment":
        assert 0.0 <= metrics["discriminator_accuracy_last"] <= 1.0
    assert not (tmp_path / "checkpoints").exists()


def test_merged_adapter_equals_shared_plus_specific(setup):
    """The saved per-category adapter reproduces the jointly trained shared + specific adapters."""
    import torch
    from peft import LoraConfig

    from assistant.generation.model import load_base
    from training.sft import load_trainable_adapter
    from training.transfer import activate

    base, _, _, src = setup
    model, tok = load_base(base, device="cpu", dtype=torch.float32)
    model = load_trainable_adapter(model, src, adapter_name="shared")
    model.add_adapter(
        "electronics", LoraConfig(r=2, lora_alpha=4, target_modules=model.peft_config["shared"].target_modules)
    )
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)  # make both adapters non-trivial
    model.eval()  # no LoRA dropout
    ids = torch.tensor([tok("a blue laptop by Nord", add_special_tokens=False)["input_ids"]])
    activate(model, ["shared", "electronics"])
    joint = model(input_ids=ids).logits
    model.add_weighted_adapter(["shared", "electronics"], [1.0, 1.0], "merged", combination_type="cat")
    model.set_adapter("merged")
    model.eval()  # set_adapter puts the new adapter's modules (dropout) back in train mode
    assert torch.allclose(model(input_ids=ids).logits, joint, atol=1e-4)


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


@pytest.mark.parametrize("method", ["multitask+adversarial", "meta"])
def test_kill_and_resume_matches_uninterrupted_run(setup, method, tmp_path):
    import torch

    base, data, _, src = setup
    steps = {"max_steps": 4, "save_every": 1, "meta.outer_steps": 4, "source_adapter": src, "shots": "4"}
    full = run(base, data, tmp_path / "full", method=method, **steps)
    stopped = run(base, data, tmp_path / "resumed", method=method, stop_after_steps=2, **steps)
    assert not (stopped / "adapter_model.safetensors").exists()
    resumed = run(base, data, tmp_path / "resumed", method=method, **steps)  # the same command again
    folders = ["apparel", "electronics"] if method != "meta" else ["electronics"]
    for cat in folders:
        a, b = _weights(full.parent / cat), _weights(resumed.parent / cat)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (cat, k)
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (full, resumed))
    assert ma["val_loss"] == mb["val_loss"]


def test_joint_recipe_runs_as_two_processes_under_accelerate(setup, tmp_path):
    """Two processes on CPU (gloo): one run, gradients averaged, one set of adapters. On a machine without a GPU
    `accelerate launch --multi_gpu` starts them through torch.distributed.run and accelerate picks MULTI_CPU
    with gloo (`--cpu` alone would start one process)."""
    import os
    import subprocess
    import sys

    base, data, _, src = setup
    over = overrides(base, data, tmp_path, method="multitask+adversarial", shots="4", source_adapter=src)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "training.transfer",
           "training/configs/transfer.yaml", *over]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", "CUDA_VISIBLE_DEVICES": ""}
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    for cat in ("apparel", "electronics"):
        assert_plain_peft_loads(base, tmp_path / "adapters" / cat)
    metrics = json.loads((tmp_path / "adapters" / "electronics" / "metrics.json").read_text())
    assert metrics["steps"] == 2 and metrics["processes"] == 2 and metrics["weights_in_sync"]


def test_zero_shot_source_only_and_bad_config(setup, tmp_path):
    from training.config import ConfigError

    base, data, _, src = setup
    assert (run(base, data, tmp_path / "a", method="source-only", shots="0", source_adapter=src)).exists()
    with pytest.raises(ValueError, match="needs target dialogues"):
        run(base, data, tmp_path / "b", method="target-only", shots="0")
    with pytest.raises(ConfigError, match="method"):
        run(base, data, tmp_path / "c", method="nope")
    with pytest.raises(ConfigError, match="shots"):
        run(base, data, tmp_path / "d", shots="-3")
