"""Streaming generation with per-category LoRA adapters; knows nothing of products or UI.

    engine = Engine(model, tokenizer)                 # model: a PeftModel from load_adapters, or a plain LM
    for chunk in engine.stream(msgs, adapter="apparel", settings=GenerationSettings(max_new_tokens=80)):
        print(chunk, end="")
    text = engine.generate(msgs, adapter=None)        # None or an unknown name -> the base model

`msgs` come from `assistant.chat_format.build_messages`; the prompt is `render_prompt(msgs, tokenizer)`, the
same tokens the adapter saw in training. `set_adapter` mutates the shared model, so a lock covers
"select adapter + generate"; concurrent chats are served one generation at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.chat_format import render_prompt

log = logging.getLogger(__name__)

# End-of-turn markers of common chat templates; generation stops on any that the tokenizer knows.
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<|end|>", "</s>", "<|endoftext|>")


@dataclass
class GenerationSettings:
    """Decoding knobs (request-level clamping is the server's job, not the engine's)."""

    max_new_tokens: int = 200
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    do_sample: bool = False
    repetition_penalty: float = 1.1
    seed: int | None = None

    def __post_init__(self):
        if self.max_new_tokens <= 0:
            raise ValueError(f"`max_new_tokens` must be positive, got {self.max_new_tokens}")
        if self.temperature <= 0:
            raise ValueError(f"`temperature` must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"`top_p` must be in (0, 1], got {self.top_p}")


class Engine:
    """Streams replies from one base model with any of its LoRA adapters."""

    def __init__(self, model: Any, tokenizer: Any):
        self.model = model
        self.tokenizer = tokenizer
        self._lock = threading.Lock()
        vocab = tokenizer.get_vocab()
        self.stop_ids = sorted({tokenizer.eos_token_id, *(vocab[t] for t in END_OF_TURN if t in vocab)} - {None})

    @property
    def adapters(self) -> list[str]:
        """Names of the loaded adapters (categories); empty for a plain model."""
        return list(getattr(self.model, "peft_config", {}) or {})

    def stream(self, msgs: Sequence[dict[str, str]], adapter: str | None = None,
               settings: GenerationSettings | None = None) -> Iterator[str]:
        """Yield the reply text in chunks as it is generated.

        Args:
            msgs: system + history messages (`build_messages`), ending with the user's turn.
            adapter: category adapter to use; None or an unknown name -> the base model (logged).
            settings: decoding settings; defaults to `GenerationSettings()`.

        Yields:
            Text chunks; special tokens are not included.

        Raises:
            Exception: whatever generation raised, re-raised in the caller's thread.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        settings = settings or GenerationSettings()
        ids = render_prompt(msgs, self.tokenizer)
        config = self.model.config
        limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        if limit and len(ids) + settings.max_new_tokens > limit:
            log.warning("prompt of %d tokens cut to its last %d to fit the %d-token context", len(ids),
                        limit - settings.max_new_tokens, limit)
            ids = ids[-(limit - settings.max_new_tokens):]
        device = next(self.model.parameters()).device
        input_ids = torch.tensor([ids], device=device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancel = threading.Event()
        errors: list[BaseException] = []

        class _Cancel(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001 - transformers' signature
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

        kwargs = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), streamer=streamer,
                      max_new_tokens=settings.max_new_tokens, do_sample=settings.do_sample,
                      repetition_penalty=settings.repetition_penalty, eos_token_id=self.stop_ids,
                      pad_token_id=self.tokenizer.pad_token_id or self.stop_ids[0],
                      stopping_criteria=StoppingCriteriaList([_Cancel()]))
        if settings.do_sample:
            kwargs.update(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k)

        def run() -> None:
            try:
                with self._lock:
                    if settings.seed is not None:
                        torch.manual_seed(settings.seed)
                    with torch.inference_mode(), self._select(adapter):
                        self.model.generate(**kwargs)
            except BaseException as e:  # surfaced to the consumer below
                errors.append(e)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            for chunk in streamer:
                if chunk:
                    yield chunk
        finally:
            cancel.set()  # the consumer stopped early (or finished): stop generating
            thread.join()
        if errors:
            raise errors[0]

    def generate(self, msgs: Sequence[dict[str, str]], adapter: str | None = None,
                 settings: GenerationSettings | None = None) -> str:
        """The whole reply as one string (see `stream`)."""
        return "".join(self.stream(msgs, adapter, settings)).strip()

    def _select(self, adapter: str | None):
        """Context manager: activate `adapter`, or disable adapters for the base model. Call under the lock."""
        import contextlib

        if not self.adapters:
            if adapter is not None:
                log.warning("adapter %r requested but the model has no adapters; using the base model", adapter)
            return contextlib.nullcontext()
        if adapter in self.adapters:
            self.model.set_adapter(adapter)
            return contextlib.nullcontext()
        if adapter is not None:
            log.warning("unknown adapter %r (have %s); using the base model", adapter, ", ".join(self.adapters))
        return self.model.disable_adapter()
