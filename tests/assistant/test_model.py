"""Device / dtype choice, base loading (project chat template for tokenizers without one), LoRA targets.

Run: python -m pytest -q tests/assistant/test_model.py
"""

from __future__ import annotations

import pytest

from assistant.generation.chat_format import PROJECT_CHAT_TEMPLATE

TEXTS = ["I want a red jacket under 60 dollars", "The Trail Jacket by Peak costs $49.99", "It is red."] * 3


@pytest.fixture(scope="module")
def tokenizer():
    from training.pretrain import train_tokenizer

    return train_tokenizer(TEXTS, vocab_size=300)


def test_pick_dtype_cpu_default_and_env_override(monkeypatch):
    import torch

    from assistant.generation.model import pick_dtype

    monkeypatch.delenv("ASSISTANT_DTYPE", raising=False)
    assert pick_dtype("cpu") == torch.float32
    monkeypatch.setenv("ASSISTANT_DTYPE", "bf16")
    assert pick_dtype("cpu") == torch.bfloat16
    monkeypatch.setenv("ASSISTANT_DTYPE", "int3")
    with pytest.raises(ValueError, match="ASSISTANT_DTYPE"):
        pick_dtype("cpu")
    monkeypatch.setenv("ASSISTANT_DTYPE", "bf16")
    with pytest.raises(ValueError, match="MPS"):
        pick_dtype("mps")


@pytest.mark.parametrize(
    "arch,expected",
    [
        ("llama", {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}),
        ("qwen2", {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}),
        ("gpt2", {"c_attn", "c_proj", "c_fc"}),
    ],
)
def test_find_lora_targets_per_architecture(arch, expected, tokenizer):
    from assistant.generation.model import find_lora_targets
    from training.pretrain import build_model

    model = build_model(tokenizer, arch, hidden_size=16, num_layers=2, num_heads=2, max_positions=64)
    assert set(find_lora_targets(model)) == expected


def test_load_base_installs_project_template_and_pad(tokenizer, tmp_path):
    import torch

    from assistant.generation.model import load_base
    from training.pretrain import build_model

    model = build_model(tokenizer, "gpt2", hidden_size=16, num_layers=2, num_heads=2, max_positions=64)
    model.save_pretrained(str(tmp_path))
    tokenizer.chat_template = None
    tokenizer.pad_token = None
    tokenizer.save_pretrained(str(tmp_path))
    loaded, tok = load_base(tmp_path, device="cpu", dtype=torch.float32)
    assert tok.chat_template == PROJECT_CHAT_TEMPLATE and tok.pad_token is not None
    assert not loaded.training and next(loaded.parameters()).dtype == torch.float32
