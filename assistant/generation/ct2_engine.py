"""Fast CPU generation with CTranslate2: each category's LoRA adapter merged into the base, converted once.

    engine = CT2Engine.from_folders("~/.cache/.../smollm2-135m-instruct", {"apparel": "demo/adapters/apparel"})
    for chunk in engine.stream(msgs, adapter="apparel", settings=GenerationSettings()):
        print(chunk, end="")

Same interface as `assistant.generation.engine.Engine` (the PyTorch reference, and the GPU path): the same prompt
tokens (`chat_format.render_prompt`), the same stop tokens, text streamed as it is decoded, and the
same greedy tokens up to quantization (tests/assistant/test_base_and_ct2.py checks a tiny model in float32).

Why CTranslate2: on this project's 2-core CPU, SmolLM2-135M int8 gives the first token in ~0.2 s and ~40
tokens/s with one thread, against 0.74 s and 14 tokens/s for PyTorch fp32 (docs/base_model.md). It has no
hook for custom logits processors, so the copy bias of the PyTorch engine is not applied here (it is
measured per engine in docs/base_model.md).

Conversion: `merge_and_convert` loads the base, merges the adapter (`peft`'s `merge_and_unload`), saves the
merged model to a temporary folder and runs CTranslate2's `TransformersConverter`. Results are cached under
`assistant.generation.base_models.cache_root()/ct2/<key>`, where the key hashes the base config and weights' size, the
adapter's weights and the quantization, and a folder is renamed into place only when complete.
Adapters whose files are the same (the demo's shoes and home reuse apparel's) share one folder and one generator.

Batching: each generator has a `_Batcher`. Requests that arrive within `batch_window_s`, or while the
generator's `parallel` workers are busy, are generated together by one `Generator.generate_batch` call whose
step callback streams each element's tokens to its own consumer; the callback also ends an element alone (its
consumer closed the stream, or it reached its own `max_new_tokens`; `True` from the callback stops that batch
index only). Only requests with the same prompt length (and decoding options) share a batch. CTranslate2 4.8
prefills a batch only up to its shortest prompt and consumes the rest of the longer prompts one token per
decoding step (no left padding, upstream issue #1349): on the demo's prompts that was slower than one at a
time (5 prompts of 147-375 tokens: 18.2 s batched vs 10.2 s in turn) and changed the greedy text of the
longer ones (the force-decoded tokens differ numerically, and the repetition penalty counts them). Batches of
equal-length prompts give the same tokens as one at a time (tests/assistant/test_ct2_batching.py).

Shared prefix: the first line of the system message (the category's instructions, the same for every chat
of a category) is passed as CTranslate2's `static_prompt`, whose decoder state is computed once and cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from os.path import commonprefix
from pathlib import Path
from typing import Any

from assistant.generation.base_models import cache_root
from assistant.generation.chat_format import render_prompt
from assistant.generation.engine import END_OF_TURN, GenerationSettings
from assistant.generation.model import ensure_chat_template, load_adapters

log = logging.getLogger(__name__)

BASE_KEY = "__base__"  # the generator used for `adapter=None` (no adapter merged)
MIN_STATIC_TOKENS = 16  # a shorter shared head is not worth a cached decoder state
IDLE_EXIT_S = 10.0  # a batcher's scheduler thread leaves after this long with nothing to do
_STATS_LOCK = threading.Lock()  # guards the engines' `batch_sizes` counters


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


@dataclass(eq=False)
class _Request:
    """One generation: its prompt tokens, its own limits, and the queue its tokens are streamed to."""

    prompt: list[str]  # tokens after the static prefix
    static: tuple[str, ...]  # the cached shared head (empty: none)
    options: tuple[tuple[str, Any], ...]  # decoding options a batch shares
    max_new_tokens: int
    seed: int | None = None
    out: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)  # token ids, then None or an exception
    cancelled: threading.Event = field(default_factory=threading.Event)
    count: int = 0
    finished: bool = False

    def key(self) -> Any:
        """Requests with equal keys may share a batch: same head, same prompt length, same options."""
        return (self.static, len(self.prompt), self.options) if self.seed is None else id(self)

    def finish(self, error: BaseException | None = None) -> None:
        if not self.finished:
            self.finished = True
            self.out.put(error)


class _Batcher:
    """Generates the requests of one CTranslate2 generator, batching those that can share a batch.

    A scheduler thread waits for requests; when one of the `parallel` workers is free it waits `window_s` more
    for others, takes the oldest request and up to `max_batch_size - 1` others with the same key, and starts
    them as one asynchronous `generate_batch`. Requests that arrive while all workers are busy wait and are
    batched when a worker frees up.
    """

    def __init__(
        self,
        generator: Any,
        end_tokens: list[str],
        stop_ids: list[int],
        window_s: float,
        max_batch_size: int,
        parallel: int,
        sizes: Counter,
    ):
        self.generator = generator
        self.end_tokens = end_tokens
        self.stop_ids = set(stop_ids)
        self.window_s = window_s
        self.max_batch_size = max_batch_size
        self.parallel = parallel
        self.sizes = sizes  # batch size -> batches started (shared with the engine)
        self._pending: list[_Request] = []
        self._running = 0
        self._scheduling = False  # a scheduler thread is alive (it leaves when idle, so it never pins the model)
        self._cond = threading.Condition()

    def submit(self, request: _Request) -> None:
        with self._cond:
            self._pending.append(request)
            if not self._scheduling:
                self._scheduling = True
                threading.Thread(target=self._loop, name="ct2-batcher", daemon=True).start()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending or self._running >= self.parallel:
                    if not self._cond.wait(IDLE_EXIT_S) and not self._pending and not self._running:
                        self._scheduling = False
                        return
                deadline = time.monotonic() + self.window_s  # a short window for requests that arrive together
                while len(self._pending) < self.max_batch_size and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
                for r in [r for r in self._pending if r.cancelled.is_set()]:
                    self._pending.remove(r)
                    r.finish()
                if not self._pending:
                    continue
                key = self._pending[0].key()
                group = [r for r in self._pending if r.key() == key][: self.max_batch_size]
                self._pending = [r for r in self._pending if r not in group]
                self._running += 1
            self._start(group)

    def _done(self, group: list[_Request], error: BaseException | None) -> None:
        for r in group:
            r.finish(error)
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def _start(self, group: list[_Request]) -> None:
        def step(result: Any) -> bool:  # runs on CTranslate2's worker thread, once per element and step
            r = group[result.batch_id]
            if r.cancelled.is_set():
                r.finish()
                return True  # stops this batch index only
            if result.token_id in self.stop_ids:
                r.finish()
                return True
            r.out.put(result.token_id)
            r.count += 1
            if r.count >= r.max_new_tokens or result.is_last:
                r.finish()
                return True
            return False

        first = group[0]
        try:
            if first.seed is not None:  # a seeded request is always alone in its batch
                import ctranslate2

                ctranslate2.set_random_seed(first.seed)
            results = self.generator.generate_batch(
                [r.prompt for r in group],
                static_prompt=list(first.static) or None,
                max_length=max(r.max_new_tokens for r in group),
                end_token=self.end_tokens,
                include_prompt_in_result=False,
                beam_size=1,
                asynchronous=True,
                callback=step,
                **dict(first.options),
            )
        except Exception as e:  # bad options: every request of the batch gets the error
            self._done(group, e)
            return
        with _STATS_LOCK:
            self.sizes[len(group)] += 1

        def wait() -> None:
            error = None
            try:
                for res in results:
                    res.result()
            except Exception as e:
                error = e
            self._done(group, error)

        threading.Thread(target=wait, name="ct2-batch", daemon=True).start()


class CT2Engine:
    """Streams replies from CTranslate2 generators, one per adapter (category) plus the plain base, with
    concurrent requests to one generator batched (see the module docstring).

    Args:
        generators: `{adapter name or BASE_KEY: ctranslate2.Generator}` (names may share a generator).
        tokenizer: the base model's HF tokenizer (prompts are rendered and decoded with it).
        max_length: the model's context length (prompts are cut to fit, as in `Engine`).
        batch_window_s: how long a free worker waits for more requests before starting a batch.
        max_batch_size: the most requests in one batch.
        parallel: batches run at once per generator (the generators' `inter_threads`).
        static_prompt: cache the decoder state of the system message's first line (CTranslate2 `static_prompt`).
    """

    name = "ctranslate2"

    def __init__(
        self,
        generators: Mapping[str, Any],
        tokenizer: Any,
        max_length: int | None = None,
        batch_window_s: float = 0.005,
        max_batch_size: int = 8,
        parallel: int = 1,
        static_prompt: bool = True,
    ):
        self.generators = dict(generators)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.static_prompt = static_prompt
        vocab = tokenizer.get_vocab()
        stop_ids = {tokenizer.eos_token_id, *(vocab[t] for t in END_OF_TURN if t in vocab)} - {None}
        self.stop_ids = sorted(stop_ids)
        self.end_tokens = tokenizer.convert_ids_to_tokens(self.stop_ids)
        self.batch_sizes: Counter = Counter()  # batch size -> batches started, over all generators
        self._batchers: dict[int, _Batcher] = {}
        for g in self.generators.values():
            if id(g) not in self._batchers:
                self._batchers[id(g)] = _Batcher(
                    g, self.end_tokens, self.stop_ids, batch_window_s, max_batch_size, parallel, self.batch_sizes
                )
        self._heads: dict[str, list[int]] = {}
        self._warned_copy = False
        self._engine_kw = (batch_window_s, max_batch_size, parallel)
        self._pending: dict[str, threading.Event] = {}  # adapters still converting in the background
        self._failed: dict[str, BaseException] = {}
        self._lock = threading.Lock()

    def _add(self, name: str, generator: Any) -> None:
        """Serve `generator` as `name` from now on (a model loaded after the engine started)."""
        window, size, parallel = self._engine_kw
        with self._lock:
            if id(generator) not in self._batchers:
                self._batchers[id(generator)] = _Batcher(
                    generator, self.end_tokens, self.stop_ids, window, size, parallel, self.batch_sizes
                )
            self.generators[name] = generator

    def _load_later(self, todo: Mapping[str, Any], load: Any) -> None:
        """Merge, convert and load `todo` (`{adapter: folder}`) one after another in a daemon thread."""
        self._pending = {name: threading.Event() for name in todo}

        def run() -> None:
            for name, folder in todo.items():
                t0 = time.perf_counter()
                try:
                    self._add(name, load(name, folder))
                    log.info(
                        "CTranslate2 model of %s ready (%.1f s, in the background)", name, time.perf_counter() - t0
                    )
                except BaseException as e:  # noqa: BLE001 - handed to the requests for this adapter
                    log.error("CTranslate2 model of %s failed: %s", name, e)
                    self._failed[name] = e
                finally:
                    self._pending[name].set()

        threading.Thread(target=run, name="ct2-adapters", daemon=True).start()

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
        parallel: int = 2,
        background: bool = False,
        **engine_kw: Any,
    ) -> CT2Engine:
        """Convert (or reuse from the cache) the base and each adapter, and load one generator per distinct model.

        Args:
            base_dir: the HF base folder (a converted packaged base, or any Llama/Qwen2/Mistral/GPT-2 folder).
            adapters: `{category: PEFT adapter folder}`.
            quantization: CTranslate2 compute type of the stored weights ("int8", "float32", ...).
            threads: OpenMP threads per batch (`intra_threads`).
            device: "cpu" or "cuda".
            include_base: also load the plain base (used for `adapter=None`).
            parallel: batches generated at once per model (`inter_threads`; the weights are shared).
            background: load the base now and merge / convert / load the adapters in a background thread, so a
                server answers (on the base's warm-up) before every category's model exists; a request for an
                adapter still converting waits for it, and a failed conversion is raised to that request.
            engine_kw: batching options of `CT2Engine` (`batch_window_s`, `max_batch_size`, `static_prompt`).
        """
        import ctranslate2
        from tqdm.auto import tqdm
        from transformers import AutoConfig, AutoTokenizer

        tokenizer = ensure_chat_template(AutoTokenizer.from_pretrained(str(base_dir)))
        config = AutoConfig.from_pretrained(str(base_dir))
        todo: dict[str, str | Path | None] = dict(adapters or {})
        if include_base or not todo:
            todo[BASE_KEY] = None
        generators, loaded = {}, {}

        def load(name: str, folder: str | Path | None) -> Any:
            path = ensure_ct2_model(base_dir, folder, quantization, cache)
            if path not in loaded:  # adapters with the same files share the converted model and its generator
                loaded[path] = ctranslate2.Generator(
                    str(path), device=device, compute_type=quantization, intra_threads=threads, inter_threads=parallel
                )
            return loaded[path]

        later = {k: v for k, v in todo.items() if k != BASE_KEY} if background and BASE_KEY in todo else {}
        now = {k: v for k, v in todo.items() if k not in later}
        for name, folder in tqdm(now.items(), desc="CTranslate2 models", unit="model", disable=not progress):
            generators[name] = load(name, folder)
        limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        if later:
            engine = cls(generators, tokenizer, limit, parallel=parallel, **engine_kw)
            engine._load_later(later, load)
            return engine
        log.info(
            "CTranslate2 engine: %s (%d distinct models), %s on %s, %d thread(s) x %d parallel batch(es)",
            ", ".join(generators),
            len(loaded),
            quantization,
            device,
            threads,
            parallel,
        )
        return cls(generators, tokenizer, limit, parallel=parallel, **engine_kw)

    @property
    def adapters(self) -> list[str]:
        """Names of the adapters (categories), including those still loading in the background."""
        return list(dict.fromkeys([k for k in self.generators if k != BASE_KEY] + list(self._pending)))

    def _generator(self, adapter: str | None) -> Any:
        event = self._pending.get(adapter) if adapter is not None else None
        if event is not None and not event.is_set():
            log.info("waiting for the %s model to finish converting", adapter)
            event.wait()
        if adapter in self._failed:
            raise RuntimeError(f"the CTranslate2 model of adapter {adapter!r} failed to load: {self._failed[adapter]}")
        if adapter in self.generators and adapter != BASE_KEY:
            return self.generators[adapter]
        if adapter is not None:
            log.warning("unknown adapter %r (have %s); using the base model", adapter, ", ".join(self.adapters))
        if BASE_KEY in self.generators:
            return self.generators[BASE_KEY]
        return next(iter(self.generators.values()))

    def _static_length(self, msgs: Sequence[dict[str, str]], ids: list[int]) -> int:
        """How many leading prompt tokens are the system message's first line, rendered (0: none worth caching).
        It depends on this prompt alone, so a reply does not depend on what else is generated."""
        if not self.static_prompt or not msgs or msgs[0].get("role") != "system":
            return 0
        line = msgs[0].get("content", "").split("\n", 1)[0]
        if line not in self._heads:
            if len(self._heads) > 256:
                self._heads.clear()
            self._heads[line] = render_prompt([{"role": "system", "content": line}], self.tokenizer)
        k = len(commonprefix([ids, self._heads[line]]))
        return k if MIN_STATIC_TOKENS <= k < len(ids) else 0

    def _submit(self, msgs: Sequence[dict[str, str]], adapter: str | None, settings: GenerationSettings) -> _Request:
        ids = render_prompt(msgs, self.tokenizer)
        if self.max_length and len(ids) + settings.max_new_tokens > self.max_length:
            log.warning(
                "prompt of %d tokens cut to its last %d to fit the %d-token context",
                len(ids),
                self.max_length - settings.max_new_tokens,
                self.max_length,
            )
            ids = ids[-(self.max_length - settings.max_new_tokens) :]
        k = self._static_length(msgs, ids)
        tokens = self.tokenizer.convert_ids_to_tokens(ids)
        if settings.do_sample:
            options = dict(
                sampling_topk=settings.top_k or 0,
                sampling_topp=settings.top_p,
                sampling_temperature=settings.temperature,
            )
        else:
            options = dict(sampling_topk=1)
        options["repetition_penalty"] = settings.repetition_penalty
        request = _Request(
            prompt=tokens[k:],
            static=tuple(tokens[:k]),
            options=tuple(sorted(options.items())),
            max_new_tokens=settings.max_new_tokens,
            seed=settings.seed if settings.do_sample else None,
        )
        self._batchers[id(self._generator(adapter))].submit(request)
        return request

    @staticmethod
    def _token_ids(request: _Request) -> Iterator[int]:
        """The request's token ids as they come; leaving early cancels its share of the batch."""
        try:
            while True:
                item = request.out.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            request.cancelled.set()

    def stream(
        self, msgs: Sequence[dict[str, str]], adapter: str | None = None, settings: GenerationSettings | None = None
    ) -> Iterator[str]:
        """Yield the reply text in chunks as it is generated (see `assistant.generation.engine.Engine.stream`).
        Closing the iterator stops this reply's generation (and no other's)."""
        settings = settings or GenerationSettings()
        if (settings.copy_bias or settings.copy_continuation or settings.copy_focus) and not self._warned_copy:
            log.info("copy bias is not available with CTranslate2; decoding without it")
            self._warned_copy = True
        generated: list[int] = []
        emitted = ""
        steps = self._token_ids(self._submit(msgs, adapter, settings))
        try:
            for token_id in steps:
                generated.append(token_id)
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                if text.endswith("\ufffd"):  # an incomplete multi-byte character: wait for the next token
                    continue
                if len(text) > len(emitted) and text.startswith(emitted):
                    yield text[len(emitted) :]
                    emitted = text
        finally:
            steps.close()  # stops this request's share of the batch when the consumer leaves early
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
        settings = GenerationSettings(max_new_tokens=max_new_tokens, repetition_penalty=1.0)
        return list(self._token_ids(self._submit(msgs, adapter, settings)))
