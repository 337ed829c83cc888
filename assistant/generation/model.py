"""Device / dtype choice and loading of the base model, its tokenizer and per-category LoRA adapters.

    model, tok = load_base("smollm2-135m-instruct")           # a packaged base (assistant/generation/base_models.py),
    model, tok = load_base("path/to/folder")                  # or any HF causal LM folder or hub id
    model = load_adapters(model, {"apparel": "demo/adapters/apparel"})   # PeftModel, adapter_name=category

Device and dtype are decided once here and logged with the reason. Weights load from safetensors only and
never run remote code. A tokenizer without a chat template gets the project template
(`assistant.generation.chat_format.PROJECT_CHAT_TEMPLATE`), so every model renders prompts the same way.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assistant.generation.base_models import resolve_base
from assistant.generation.chat_format import PROJECT_CHAT_TEMPLATE

log = logging.getLogger(__name__)

# Module names never adapted: output heads and embeddings (they are tied or task-specific).
_SKIP_PARTS = ("lm_head", "embed", "wte", "wpe", "cls", "pooler", "score", "classifier")


def pick_device() -> str:
    """ "cuda" when available, then "mps", else "cpu"; logs the choice and why."""
    import torch

    if torch.cuda.is_available():
        log.info("device cuda: %s", torch.cuda.get_device_name(0))
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        log.info("device mps: Apple GPU available")
        return "mps"
    log.info("device cpu: no CUDA or MPS device found")
    return "cpu"


def pick_dtype(device: str) -> Any:
    """bf16 on CUDA with compute capability >= 8.0, else fp32; `ASSISTANT_DTYPE` (bf16|fp16|fp32) overrides.

    Args:
        device: "cuda", "mps" or "cpu" (as from `pick_device`).

    Returns:
        A `torch.dtype`.

    Raises:
        ValueError: for an unknown `ASSISTANT_DTYPE`, or bf16 requested where the device does not support it.
    """
    import torch

    names = {
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
        "fp16": torch.float16,
        "float16": torch.float16,
        "fp32": torch.float32,
        "float32": torch.float32,
    }
    wanted = os.environ.get("ASSISTANT_DTYPE", "").strip().lower()
    if wanted:
        if wanted not in names:
            raise ValueError(f"ASSISTANT_DTYPE must be one of bf16, fp16, fp32; got {wanted!r}")
        dtype = names[wanted]
        if dtype is torch.bfloat16 and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
            raise ValueError("ASSISTANT_DTYPE=bf16 but this CUDA device does not support bfloat16")
        if dtype is torch.bfloat16 and device == "mps":
            raise ValueError("ASSISTANT_DTYPE=bf16 is not supported on MPS")
        log.info("dtype %s: set by ASSISTANT_DTYPE", dtype)
        return dtype
    if device.startswith("cuda") and torch.cuda.get_device_capability()[0] >= 8:
        log.info("dtype bf16: CUDA device with compute capability >= 8.0")
        return torch.bfloat16
    log.info("dtype fp32: %s", "CUDA device older than SM 8.0" if device.startswith("cuda") else f"{device} device")
    return torch.float32


def ensure_chat_template(tokenizer: Any) -> Any:
    """Install the project chat template and a pad token on a tokenizer that lacks them (in place)."""

    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = PROJECT_CHAT_TEMPLATE
        log.info("tokenizer has no chat template; using the project template")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base(name_or_path: str | Path, device: str | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer (local folder or hub id), ready for generation.

    Args:
        name_or_path: a packaged base's short name (converted once, `base_models`), an HF model folder
            or a hub id (Llama, Qwen2, GPT-2, Mistral, ... any causal LM).
        device: None -> `pick_device()`.
        dtype: None -> `pick_dtype(device)`.

    Returns:
        `(model, tokenizer)`; the model is in eval mode on `device`.

    Raises:
        OSError: the folder / id cannot be loaded (no safetensors weights, missing files).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name_or_path = resolve_base(name_or_path)
    device = device or pick_device()
    dtype = dtype or pick_dtype(device)
    tokenizer = ensure_chat_template(AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=False))
    model = AutoModelForCausalLM.from_pretrained(
        str(name_or_path), dtype=dtype, use_safetensors=True, trust_remote_code=False
    )
    model.to(device).eval()
    log.info("loaded %s (%.1fM parameters) on %s", name_or_path, model.num_parameters() / 1e6, device)
    return model, tokenizer


def load_adapters(model: Any, adapters: Mapping[str, str | Path]) -> Any:
    """Attach one LoRA adapter per category to `model` (adapter_name = category).

    Args:
        model: a base model from `load_base` (or an existing PeftModel to add adapters to).
        adapters: `{category: adapter folder}` in standard PEFT format.

    Returns:
        A `peft.PeftModel` holding every adapter; the first one is active.

    Raises:
        ValueError: `adapters` is empty.
    """
    from peft import PeftModel

    if not adapters:
        raise ValueError("load_adapters needs at least one {category: folder}")
    for category, folder in adapters.items():
        with warnings.catch_warnings():
            # peft 0.21 reads transformers' deprecated `is_gradient_checkpointing`; not ours to fix
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            if isinstance(model, PeftModel):
                model.load_adapter(str(folder), adapter_name=category)
            else:
                model = PeftModel.from_pretrained(model, str(folder), adapter_name=category)
        log.info("adapter %s loaded from %s", category, folder)
    model.set_adapter(next(iter(adapters)))
    model.eval()
    return model


def find_lora_targets(model: Any) -> list[str]:
    """Names (last path part) of the linear layers inside the transformer blocks, for `LoraConfig.target_modules`.

    Works per architecture without a table: Llama/Qwen2/Mistral give q/k/v/o/gate/up/down_proj, GPT-2 gives
    c_attn/c_proj/c_fc (its `Conv1D`), BERT gives query/key/value/dense. Heads and embeddings are skipped.
    """
    import torch

    linear_types: tuple[type, ...] = (torch.nn.Linear,)
    try:
        from transformers.pytorch_utils import Conv1D

        linear_types += (Conv1D,)
    except ImportError:  # pragma: no cover - Conv1D has lived there for years
        pass
    names: list[str] = []
    for full_name, module in model.named_modules():
        if not isinstance(module, linear_types) or any(p in full_name for p in _SKIP_PARTS):
            continue
        leaf = full_name.rsplit(".", 1)[-1]
        if leaf not in names:
            names.append(leaf)
    if not names:
        raise ValueError(f"no linear layers found to adapt in {type(model).__name__}; set lora.target_modules")
    return names
