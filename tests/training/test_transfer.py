"""Transfer recipe on a tiny Llama and tiny three-category data: every method runs a few steps and saves a
loadable adapter per category; merged shared + per-category adapters equal the two adapters summed.

Run: python -m pytest -q tests/training/test_transfer.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# peft 0.21 reads transformers' deprecated `is_gradient_checkpointing` when loading an adapter (load_adapters)
pytestmark = pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")

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
    src = run(base, data, root / "source-run", method="finetune", shots="0", source_steps=4)
    return base, data, root, src.parent.parent / "source_adapter"


def run(base: Path, data: Path, out: Path, **over) -> Path:
    from training.config import load_config
    from training.transfer import TransferConfig, main

    overrides = {
        "base": base,
        "data.data_dir": data,
        "out_dir": out,
        "target": "electronics",
        "meta_sources": "[apparel,shoes]",
        "max_steps": 2,
        "batch_size": 2,
        "source_steps": 2,
        "data.max_seq_len": 700,
        "lora.r": 4,
        "lora.lora_alpha": 8,
        "progress": False,
        "transfer.specific_r": 2,
        "transfer.disc_hidden": 16,
        "transfer.augment_n": 4,
        "transfer.augment_max_new_tokens": 8,
        "transfer.meta_outer_steps": 2,
        "transfer.meta_inner_steps": 1,
        "data.max_eval_dialogues": 1,
        **over,
    }
    return main(
        load_config(TransferConfig, "training/configs/transfer.yaml", [f"{k}={v}" for k, v in overrides.items()])
    )


@pytest.mark.parametrize(
    "method",
    ["target-only", "source-only", "finetune", "multitask", "adversarial", "multitask+adversarial", "augment", "meta"],
)
def test_every_method_saves_a_loadable_adapter_per_category(setup, method, tmp_path):
    import torch
    from peft import PeftModel

    from assistant.model import load_adapters, load_base

    base, data, _, src = setup
    out = run(base, data, tmp_path, method=method, shots="4", source_adapter=src)
    assert out == tmp_path / "adapters" / "electronics"
    saved = sorted(p.name for p in (tmp_path / "adapters").iterdir())
    multitask = method in ("multitask", "multitask+adversarial", "augment")
    assert saved == (["apparel", "electronics"] if multitask else ["electronics"])
    for cat in saved:
        folder = tmp_path / "adapters" / cat
        assert (folder / "adapter_model.safetensors").exists() and (folder / "adapter_config.json").exists()
        assert not (folder / "model.safetensors").exists() and (folder / "train_config.yaml").exists()
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["method"] == method and metrics["val_loss"] == pytest.approx(metrics["val_loss"])  # finite
        assert 0.0 <= metrics["proxy_a_distance"] <= 2.0
    model, tok = load_base(base, device="cpu", dtype=torch.float32)
    model = load_adapters(model, {c: tmp_path / "adapters" / c for c in saved})
    assert isinstance(model, PeftModel) and set(saved) <= set(model.peft_config)
    ids = torch.tensor([tok("a red phone", add_special_tokens=False)["input_ids"]])
    assert torch.isfinite(model(input_ids=ids).logits).all()


def test_merged_adapter_equals_shared_plus_specific(setup, tmp_path):
    """The saved per-category adapter reproduces the jointly trained shared + specific adapters."""
    import torch
    from peft import LoraConfig

    from assistant.model import load_base
    from training.transfer import activate
    from training.transfer_methods import load_trainable

    base, _, _, src = setup
    model, tok = load_base(base, device="cpu", dtype=torch.float32)
    model = load_trainable(model, src, "shared")
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
