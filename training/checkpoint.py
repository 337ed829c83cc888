"""Resumable training checkpoints and finished-adapter folders.

    save_checkpoint(run_dir / "checkpoints", step, model, optimizer, scheduler, data_state)   # atomic
    state = load_checkpoint(run_dir / "checkpoints", model, optimizer, scheduler)             # None if fresh
    save_adapter(model, out_dir, cfg, metrics)   # PEFT adapter + train_config.yaml + metrics.json

A checkpoint is a folder `step-000120/` holding the trainable weights (`trainable.safetensors`), optimizer
and scheduler state, RNG states (python, numpy, torch, cuda) and `state.json` (step, data position, any
extra the recipe passes). It is written under a temporary name, fsynced and renamed; `latest` (a text file
written atomically) names the newest complete one, so a process killed at any moment leaves either the old
or the new checkpoint, never a half one. Only trainable parameters are stored (for LoRA: the adapter).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from retrieval.fileio import DataError, Problem, apply_umask, atomic_write_json, atomic_write_text
from training.config import save_config

log = logging.getLogger(__name__)

LATEST = "latest"


def _rng_state() -> dict[str, Any]:
    """RNG states as tensors and plain values only, so `torch.load(weights_only=True)` reads them back."""
    import numpy as np
    import torch

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model: Any) -> dict[str, Any]:
    """`{name: tensor}` of the parameters that require grad (contiguous CPU copies)."""
    return {n: p.detach().to("cpu").contiguous() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(
    ckpt_dir: str | Path,
    step: int,
    model: Any,
    optimizer: Any,
    scheduler: Any = None,
    data_state: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    keep: int = 1,
) -> Path:
    """Write checkpoint `step` atomically and point `latest` at it; older ones beyond `keep` are removed.

    Args:
        ckpt_dir: folder holding the run's checkpoints.
        step: optimizer steps done.
        model: the model being trained (unwrapped; only `requires_grad` parameters are saved).
        optimizer: its `state_dict()` is saved.
        scheduler: LR scheduler or None.
        data_state: data position (e.g. `ForeverDataIterator.state_dict()`).
        extra: JSON-serialisable recipe state (e.g. best validation loss, elapsed time).
        keep: complete checkpoints to keep.

    Returns:
        The checkpoint folder.
    """
    import torch
    from safetensors.torch import save_file

    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    final = ckpt_dir / f"step-{step:06d}"
    tmp = ckpt_dir / f".tmp-step-{step:06d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(trainable_state(model), str(tmp / "trainable.safetensors"))
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler else None,
            "rng": _rng_state(),
        },
        tmp / "training_state.pt",
    )
    (tmp / "state.json").write_text(
        json.dumps({"step": step, "data": dict(data_state or {}), "extra": dict(extra or {})}, indent=2)
    )
    apply_umask(tmp)  # safetensors writes 0600 whatever the umask
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    atomic_write_text(ckpt_dir / LATEST, final.name + "\n")
    old = sorted(p for p in ckpt_dir.glob("step-*") if p.is_dir() and p != final)
    for p in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(p, ignore_errors=True)
    log.info("checkpoint %s written", final)
    return final


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """The folder `latest` points to, or None when there is no complete checkpoint."""
    pointer = Path(ckpt_dir) / LATEST
    if not pointer.exists():
        return None
    path = Path(ckpt_dir) / pointer.read_text().strip()
    return path if (path / "state.json").exists() else None


def load_checkpoint(
    ckpt_dir: str | Path, model: Any, optimizer: Any = None, scheduler: Any = None
) -> dict[str, Any] | None:
    """Restore the newest checkpoint into `model` / `optimizer` / `scheduler` and the RNGs.

    Returns:
        `{"step", "data", "extra"}` from `state.json`, or None when there is nothing to resume.

    Raises:
        ValueError: the checkpoint's trainable parameters do not match the model's.
        DataError: `training_state.pt` holds more than tensors and plain values (it is not unpickled).
    """
    import torch
    from safetensors.torch import load_file

    path = latest_checkpoint(ckpt_dir)
    if path is None:
        return None
    weights = load_file(str(path / "trainable.safetensors"))
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in weights]
    unknown = [n for n in weights if n not in params]
    if missing or unknown:
        raise ValueError(f"{path}: checkpoint does not match the model (missing {missing[:3]}, unknown {unknown[:3]})")
    with torch.no_grad():
        for n, t in weights.items():
            params[n].copy_(t.to(params[n].device, params[n].dtype))
    try:  # weights_only: tensors and plain values, never code (a planted file in a shared folder runs nothing)
        training = torch.load(path / "training_state.pt", weights_only=True)
    except pickle.UnpicklingError as e:
        why = f"not a checkpoint this version loads safely ({str(e).splitlines()[0]}); remove {ckpt_dir} to start over"
        raise DataError([Problem(str(path / "training_state.pt"), None, None, why)]) from e
    if optimizer is not None:
        optimizer.load_state_dict(training["optimizer"])
    if scheduler is not None and training["scheduler"] is not None:
        scheduler.load_state_dict(training["scheduler"])
    _set_rng_state(training["rng"])
    state = json.loads((path / "state.json").read_text())
    log.info("resumed from %s (step %d)", path, state["step"])
    return state


def save_adapter(
    model: Any,
    out_dir: str | Path,
    cfg: Any = None,
    metrics: Mapping[str, Any] | None = None,
    adapter_name: str | None = None,
) -> Path:
    """Write a finished adapter folder: standard PEFT files + `train_config.yaml` + `metrics.json`.

    The folder is assembled under a temporary name and swapped in, so a reader never sees half of it.
    `PeftModel.from_pretrained(base, out_dir)` loads it with nothing from this project.

    Args:
        model: a `peft.PeftModel`.
        out_dir: the adapter folder (replaced if it exists; other files in it, e.g. checkpoints/, are kept).
        cfg: the resolved recipe config dataclass (saved as YAML), or None.
        metrics: JSON-serialisable results.
        adapter_name: the PEFT adapter to save (default: the active one); only its weights are written.

    Returns:
        `out_dir`.
    """

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".tmp-adapter-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    name = adapter_name or getattr(model, "active_adapter", "default")
    model.save_pretrained(str(tmp), selected_adapters=[name], safe_serialization=True)
    # peft nests non-default adapter names in a subfolder; flatten so the folder is one plain adapter
    nested = tmp / name if isinstance(name, str) else None
    if nested is not None and (nested / "adapter_config.json").exists():
        for f in nested.iterdir():
            os.replace(f, tmp / f.name)
        nested.rmdir()
    if cfg is not None:
        save_config(cfg, tmp / "train_config.yaml")
    atomic_write_json(tmp / "metrics.json", dict(metrics or {}))
    apply_umask(tmp)  # safetensors writes 0600 whatever the umask
    (out_dir / "metrics.json").unlink(missing_ok=True)  # metrics.json goes in last: it marks a finished folder
    for f in sorted(tmp.iterdir(), key=lambda f: f.name == "metrics.json"):
        os.replace(f, out_dir / f.name)
    tmp.rmdir()
    log.info("adapter %s written to %s", name, out_dir)
    return out_dir
