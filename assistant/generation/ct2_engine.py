"""Fast CPU generation with CTranslate2: each category's LoRA adapter merged into the base, converted once.

    engine = CT2Engine.from_folders("~/.cache/.../smollm2-135m-instruct", {"apparel": "demo/adapters/apparel"})
    for chunk in engine.stream(msgs, adapter="apparel", settings=GenerationSettings()):
        print(chunk, end="")

Same interface as `assistant.generation.engine.Engine` (the PyTorch reference, and the GPU path): the same prompt
tokens (`chat_format.render_prompt`), the same stop tokens, text streamed as it is decoded, and the
same greedy tokens up to quantization (tests/assistant/test_ct2_engine.py checks a tiny model in float32).

Why CTranslate2: on this project's 2-core CPU, SmolLM2-135M int8 gives the first token in ~0.2 s and ~40
tokens/s with one thread, against 0.74 s and 14 tokens/s for PyTorch fp32 (docs/base_model.md). It has no
hook for custom logits processors, so the copy bias of the PyTorch engine is not applied here (it is
measured per engine in docs/base_model.md).

Conversion: `merge_and_convert` loads the base, merges the adapter (`peft`'s `merge_and_unload`), saves the
merged model to a temporary folder and runs CTranslate2's `TransformersConverter`. Results are cached under
`assistant.generation.base_models.cache_root()/ct2/<key>`, where the key hashes the base config and weights' size, the
adapter's weights and the quantization, and a folder is renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.generation.base_models import cache_root
from assistant.generation.chat_format import render_prompt
from assistant.generation.engine import END_OF_TURN, GenerationSettings
from assistant.generation.model import ensure_chat_template, load_adapters

log = logging.getLogger(__name__)

BASE_KEY = "__base__"  # the generator used for `adapter=None` (no adapter merged)


def _file_digest(path: Path, h: Any) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def cache_key(base_dir: str | Path, adapter_dir: str | Path | None, quantization: str) -> str:
    """A stable id of (base, adapter, quantization): base config + weight file sizes, adapter files' bytes."""
    import ctranslate2

    h = hashlib.sha256(f"ct2={ctranslate2.__version__};q={quantization}".encode())
    base_dir = Path(base_dir)
    h.update((base_dir / "config.json").read_bytes())
    for f in sorted(base_dir.glob("*.safetensors")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    if adapter_dir is not None:
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            _file_digest(Path(adapter_dir) / name, h)
    return h.hexdigest()[:24]


def merge_and_convert(
    base_dir: str | Path, adapter_dir: str | Path | None, out_dir: str | Path, quantization: str = "int8"
) -> Path:
    """Merge `adapter_dir` into the base (if given) and convert to a CTranslate2 model folder `out_dir`."""
    import torch
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoModelForCausalLM

    with tempfile.TemporaryDirectory(prefix="shopguide-merge-") as tmp:
        source = str(base_dir)
        if adapter_dir is not None:
            model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
            model = load_adapters(model, {"merge": adapter_dir}).merge_and_unload()
            model.save_pretrained(tmp, safe_serialization=True)
            del model
            for f in Path(base_dir).iterdir():  # tokenizer and generation files: the converter reads them
                if f.is_file() and f.suffix != ".safetensors" and not (Path(tmp) / f.name).exists():
                    shutil.copy2(f, Path(tmp) / f.name)
            source = tmp
        TransformersConverter(source, low_cpu_mem_usage=True).convert(
            str(out_dir), quantization=quantization, force=True
        )
    return Path(out_dir)


def ensure_ct2_model(
    base_dir: str | Path,
    adapter_dir: str | Path | None = None,
    quantization: str = "int8",
    cache: str | Path | None = None,
) -> Path:
    """The cached CTranslate2 folder for (base, adapter, quantization), converting it on first use."""
    root = Path(cache or cache_root()) / "ct2"
    target = root / cache_key(base_dir, adapter_dir, quantization)
    if (target / "model.bin").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    log.info(
        "converting %s%s to CTranslate2 %s (once; cached in %s)",
        base_dir,
        f" + adapter {adapter_dir}" if adapter_dir else "",
        quantization,
        target,
    )
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=root))
    try:
        merge_and_convert(base_dir, adapter_dir, work / "model", quantization)
        (work / "model" / "shopguide_source.json").write_text(
            json.dumps(
                {
                    "base": str(base_dir),
                    "adapter": str(adapter_dir) if adapter_dir else None,
                    "quantization": quantization,
                },
                indent=1,
            )
            + "\n"
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(work / "model", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class CT2Engine:
    """Streams replies from CTranslate2 generators, one per adapter (category) plus the plain base.

    Args:
        generators: `{adapter name or BASE_KEY: ctranslate2.Generator}`.
        tokenizer: the base model's HF tokenizer (prompts are rendered and decoded with it).
        max_length: the model's context length (prompts are cut to fit, as in `Engine`).
    """

    name = "ctranslate2"

    def __init__(self, generators: Mapping[str, Any], tokenizer: Any, max_length: int | None = None):
        self.generators = dict(generators)
        self.tokenizer = tokenizer
        self.max_length = max_length
        vocab = tokenizer.get_vocab()
        stop_ids = {tokenizer.eos_token_id, *(vocab[t] for t in END_OF_TURN if t in vocab)} - {None}
        self.stop_ids = sorted(stop_ids)
        self.end_tokens = tokenizer.convert_ids_to_tokens(self.stop_ids)
        self._warned_copy = False

    @classmethod
    def from_folders(
        cls,
        base_dir: str | Path,
        adapters: Mapping[str, str | Path] | None = None,
        quantization: str = "int8",
        threads: int = 1,
        device: str = "cpu",
        cache: str | Path | None = None,
        progress: bool = True,
        include_base: bool = True,
    ) -> CT2Engine:
        """Convert (or reuse from the cache) the base and each adapter, and load one generator each.

        Args:
            base_dir: the HF base folder (a converted packaged base, or any Llama/Qwen2/Mistral/GPT-2 folder).
            adapters: `{category: PEFT adapter folder}`.
            quantization: CTranslate2 compute type of the stored weights ("int8", "float32", ...).
            threads: OpenMP threads per generator (`intra_threads`).
            device: "cpu" or "cuda".
            include_base: also load the plain base (used for `adapter=None`).
        """
        import ctranslate2
        from tqdm.auto import tqdm
        from transformers import AutoConfig, AutoTokenizer

        tokenizer = ensure_chat_template(AutoTokenizer.from_pretrained(str(base_dir)))
        config = AutoConfig.from_pretrained(str(base_dir))
        todo: dict[str, str | Path | None] = dict(adapters or {})
        if include_base or not todo:
            todo[BASE_KEY] = None
        generators = {}
        for name, folder in tqdm(todo.items(), desc="CTranslate2 models", unit="model", disable=not progress):
            path = ensure_ct2_model(base_dir, folder, quantization, cache)
            generators[name] = ctranslate2.Generator(
                str(path), device=device, compute_type=quantization, intra_threads=threads
            )
        limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        log.info(
            "CTranslate2 engine: %s, %s on %s with %d thread(s)", ", ".join(generators), quantization, device, threads
        )
        return cls(generators, tokenizer, limit)

    @property
    def adapters(self) -> list[str]:
        """Names of the loaded adapters (categories)."""
        return [k for k in self.generators if k != BASE_KEY]

    def _generator(self, adapter: str | None) -> Any:
        if adapter in self.generators and adapter != BASE_KEY:
            return self.generators[adapter]
        if adapter is not None:
            log.warning("unknown adapter %r (have %s); using the base model", adapter, ", ".join(self.adapters))
        if BASE_KEY in self.generators:
            return self.generators[BASE_KEY]
        return next(iter(self.generators.values()))

    def stream(
        self, msgs: Sequence[dict[str, str]], adapter: str | None = None, settings: GenerationSettings | None = None
    ) -> Iterator[str]:
        """Yield the reply text in chunks as it is generated (see `assistant.generation.engine.Engine.stream`)."""
        settings = settings or GenerationSettings()
        if (settings.copy_bias or settings.copy_continuation or settings.copy_focus) and not self._warned_copy:
            log.info("copy bias is not available with CTranslate2; decoding without it")
            self._warned_copy = True
        ids = render_prompt(msgs, self.tokenizer)
        if self.max_length and len(ids) + settings.max_new_tokens > self.max_length:
            log.warning(
                "prompt of %d tokens cut to its last %d to fit the %d-token context",
                len(ids),
                self.max_length - settings.max_new_tokens,
                self.max_length,
            )
            ids = ids[-(self.max_length - settings.max_new_tokens) :]
        tokens = self.tokenizer.convert_ids_to_tokens(ids)
        kwargs: dict[str, Any] = dict(
            max_length=settings.max_new_tokens,
            repetition_penalty=settings.repetition_penalty,
            end_token=self.end_tokens,
        )
        if settings.do_sample:
            kwargs.update(
                sampling_topk=settings.top_k or 0,
                sampling_topp=settings.top_p,
                sampling_temperature=settings.temperature,
            )
            if settings.seed is not None:
                import ctranslate2

                ctranslate2.set_random_seed(settings.seed)
        else:
            kwargs.update(sampling_topk=1)
        generated: list[int] = []
        emitted = ""
        steps = self._generator(adapter).generate_tokens(tokens, **kwargs)
        try:
            for step in steps:
                if step.token_id in self.stop_ids:
                    break
                generated.append(step.token_id)
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                if text.endswith("\ufffd"):  # an incomplete multi-byte character: wait for the next token
                    continue
                if len(text) > len(emitted) and text.startswith(emitted):
                    yield text[len(emitted) :]
                    emitted = text
        finally:
            close = getattr(steps, "close", None)
            if close is not None:
                close()  # stops CTranslate2's decoding when the consumer leaves early
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        if text.startswith(emitted) and len(text) > len(emitted) and not text.endswith("\ufffd"):
            yield text[len(emitted) :]

    def generate(
        self, msgs: Sequence[dict[str, str]], adapter: str | None = None, settings: GenerationSettings | None = None
    ) -> str:
        """The whole reply as one string (see `stream`)."""
        return "".join(self.stream(msgs, adapter, settings)).strip()

    def token_ids(
        self, msgs: Sequence[dict[str, str]], adapter: str | None = None, max_new_tokens: int = 32
    ) -> list[int]:
        """Greedy reply token ids without repetition penalty (for comparing engines)."""
        ids = render_prompt(msgs, self.tokenizer)
        tokens = self.tokenizer.convert_ids_to_tokens(ids)
        out = []
        for step in self._generator(adapter).generate_tokens(
            tokens, max_length=max_new_tokens, sampling_topk=1, end_token=self.end_tokens
        ):
            if step.token_id in self.stop_ids:
                break
            out.append(step.token_id)
        return out
