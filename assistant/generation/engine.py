"""Streaming generation with per-category LoRA adapters; knows nothing of products or UI.

    engine = Engine(model, tokenizer)                 # model: a PeftModel from load_adapters, or a plain LM
    for chunk in engine.stream(msgs, adapter="apparel", settings=GenerationSettings(max_new_tokens=80)):
        print(chunk, end="")
    text = engine.generate(msgs, adapter=None)        # None or an unknown name -> the base model

`msgs` come from `assistant.generation.chat_format.build_messages`; the prompt is `render_prompt(msgs, tokenizer)`, the
same tokens the adapter saw in training. `set_adapter` mutates the shared model, so a lock covers
"select adapter + generate"; concurrent chats are served one generation at a time.

Copy bias (`GenerationSettings.copy_bias`, `copy_continuation`): the text between `COPY_SPAN` markers in
the system message (the `<products>` block of `assistant.generation.prompts.format_cards`) is the copy source. Its
tokens get `copy_bias` added to their logits, except special tokens, tokens without a letter or digit and
tokens that also occur in the system message outside the span (template wording); after the reply's last
one or two tokens match a place in the source, the (boosted) token that follows there gets
`copy_continuation` more; `copy_focus` adds a bonus to the boosted tokens of the source line (one card per
line) that the reply's latest distinguishing token pair came from, so values come from the named product.
The engine only sees the markers, never products (`CopyBiasProcessor`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.generation.chat_format import render_prompt
from assistant.generation.prompts import NO_PRODUCTS

log = logging.getLogger(__name__)

# End-of-turn markers of common chat templates; generation stops on any that the tokenizer knows.
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<|end|>", "</s>", "<|endoftext|>")
# The system-message span whose tokens the copy bias favours (`assistant.generation.prompts.format_cards` writes it).
COPY_SPAN = ("<products>", "</products>")


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
    # copy knobs: defaults tuned on the apparel validation split (docs/base_model.md, attribute questions)
    copy_bias: float = 2.0  # logit bonus for copy-source tokens (see module docstring); 0 disables
    copy_continuation: float = 3.0  # extra bonus for continuing a source n-gram the reply has started
    copy_focus: float = 2.0  # extra bonus for the tokens of the source line (card) the reply is about

    def __post_init__(self):
        if self.max_new_tokens <= 0:
            raise ValueError(f"`max_new_tokens` must be positive, got {self.max_new_tokens}")
        if self.temperature <= 0:
            raise ValueError(f"`temperature` must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"`top_p` must be in (0, 1], got {self.top_p}")
        if min(self.copy_bias, self.copy_continuation, self.copy_focus) < 0:
            raise ValueError(
                f"`copy_bias`, `copy_continuation` and `copy_focus` must be >= 0, got "
                f"{self.copy_bias}, {self.copy_continuation}, {self.copy_focus}"
            )


def _copy_processor_class():
    """`CopyBiasProcessor`, defined on first use so importing the engine does not import transformers."""
    global CopyBiasProcessor
    if CopyBiasProcessor is not None:
        return CopyBiasProcessor
    from transformers import LogitsProcessor

    class _CopyBiasProcessor(LogitsProcessor):
        """Add `bias` to the logits of `boost_ids`, `continuation` to the source token that follows the
        reply's last tokens (longest match of 2, then 1 tokens; only tokens in `boost_ids`), and `focus` to the
        boosted tokens of the source line(s) that the reply's latest distinguishing token pair came from.

        Args:
            source_ids: the copy source as token ids (e.g. the product-card block).
            boost_ids: the ids to favour (a subset of `source_ids` without common tokens).
            bias: logit bonus for every id in `boost_ids`.
            continuation: extra bonus for continuing a source n-gram.
            prompt_len: length of the prompt; only tokens after it count as the reply.
            lines: the source line (e.g. product card) of each token of `source_ids`; None: one line.
            focus: extra bonus for the boosted tokens of the line the reply is talking about: the lines
                holding the reply's latest token pair that occurs in some but not all lines.
        """

        def __init__(
            self,
            source_ids: Sequence[int],
            boost_ids: Iterable[int],
            bias: float,
            continuation: float = 0.0,
            prompt_len: int = 0,
            lines: Sequence[int] | None = None,
            focus: float = 0.0,
        ):
            self.boost_ids = sorted(set(boost_ids))
            self.bias, self.continuation, self.prompt_len = float(bias), float(continuation), prompt_len
            self.focus = float(focus)
            boost = set(self.boost_ids)
            self.follow: dict[tuple[int, ...], set[int]] = {}
            for n in (1, 2):
                for j in range(n, len(source_ids)):
                    if source_ids[j] in boost:
                        self.follow.setdefault(tuple(source_ids[j - n : j]), set()).add(source_ids[j])
            lines = list(lines) if lines is not None else [0] * len(source_ids)
            self.pair_lines: dict[tuple[int, int], set[int]] = {}
            self.line_ids: dict[int, set[int]] = {}
            for j, t in enumerate(source_ids):
                if j and lines[j - 1] == lines[j]:
                    self.pair_lines.setdefault((source_ids[j - 1], t), set()).add(lines[j])
                if t in boost:
                    self.line_ids.setdefault(lines[j], set()).add(t)
            n_lines = len(set(lines))
            self.pair_lines = {k: v for k, v in self.pair_lines.items() if len(v) < n_lines}

        def _focus_ids(self, reply: list[int]) -> list[int]:
            for k in range(len(reply) - 1, 0, -1):
                where = self.pair_lines.get((reply[k - 1], reply[k]))
                if where:
                    return sorted(set().union(*(self.line_ids.get(line, set()) for line in where)))
            return []

        def __call__(self, input_ids, scores):  # noqa: ANN001 - transformers' signature
            scores = scores.clone()
            if self.bias and self.boost_ids:
                scores[:, self.boost_ids] += self.bias
            for row in range(input_ids.shape[0]) if self.continuation or self.focus else ():
                reply = input_ids[row, self.prompt_len :].tolist()
                if self.focus:
                    ids = self._focus_ids(reply)
                    if ids:
                        scores[row, ids] += self.focus
                for n in (2, 1) if self.continuation else ():
                    nxt = self.follow.get(tuple(reply[-n:])) if len(reply) >= n else None
                    if nxt:
                        scores[row, sorted(nxt)] += self.continuation
                        break
            return scores

    CopyBiasProcessor = _CopyBiasProcessor
    return CopyBiasProcessor


CopyBiasProcessor: Any = None  # the class, after `_copy_processor_class()`; build one via `copy_processor`


def copy_processor(
    tokenizer: Any,
    msgs: Sequence[dict[str, str]],
    bias: float,
    continuation: float = 0.0,
    prompt_len: int = 0,
    focus: float = 0.0,
) -> Any:
    """A `CopyBiasProcessor` for the `COPY_SPAN` block of the system message, or None when there is none.

    The block runs from the last line that is exactly `COPY_SPAN[0]` to the last line `COPY_SPAN[1]` after it.

    Args:
        tokenizer: the model's tokenizer.
        msgs: the chat messages; the first system message holding both markers is the source.
        bias: see `GenerationSettings.copy_bias`.
        continuation: see `GenerationSettings.copy_continuation`.
        focus: see `GenerationSettings.copy_focus` (lines of the block are its units, e.g. one card each).
        prompt_len: number of prompt tokens (the reply starts after them).

    Returns:
        The processor, or None when no system message holds a copy span or the span is `NO_PRODUCTS`.
    """
    start, end = COPY_SPAN[0] + "\n", "\n" + COPY_SPAN[1]
    for m in msgs:  # the block is the last `start` line before the last `end` line (the prompt may name them)
        system = m["content"] if m["role"] == "system" else ""
        b = system.rfind(end)
        a = system.rfind(start, 0, b) if b >= 0 else -1
        if a >= 0:
            break
    else:
        return None
    if system[a + len(start) : b].strip() == NO_PRODUCTS:  # the explicit "no cards" marker is not a source
        return None
    source = tokenizer(system[a + len(start) : b], add_special_tokens=False)["input_ids"]
    common = set(tokenizer(system[:a] + " " + system[b + len(end) :], add_special_tokens=False)["input_ids"])
    common |= set(tokenizer.all_special_ids)
    boost, lines, line = set(), [], 0
    for t in source:
        text = tokenizer.decode([t])
        if t not in common and any(c.isalnum() for c in text):
            boost.add(t)
        lines.append(line)
        line += text.count("\n")
    return _copy_processor_class()(source, boost, bias, continuation, prompt_len, lines, focus)


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

    def stream(
        self, msgs: Sequence[dict[str, str]], adapter: str | None = None, settings: GenerationSettings | None = None
    ) -> Iterator[str]:
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
        from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        settings = settings or GenerationSettings()
        ids = render_prompt(msgs, self.tokenizer)
        config = self.model.config
        limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        if limit and len(ids) + settings.max_new_tokens > limit:
            log.warning(
                "prompt of %d tokens cut to its last %d to fit the %d-token context",
                len(ids),
                limit - settings.max_new_tokens,
                limit,
            )
            ids = ids[-(limit - settings.max_new_tokens) :]
        device = next(self.model.parameters()).device
        input_ids = torch.tensor([ids], device=device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancel = threading.Event()
        errors: list[BaseException] = []

        class _Cancel(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001 - transformers' signature
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

        kwargs = dict(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            streamer=streamer,
            max_new_tokens=settings.max_new_tokens,
            do_sample=settings.do_sample,
            repetition_penalty=settings.repetition_penalty,
            eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id or self.stop_ids[0],
            stopping_criteria=StoppingCriteriaList([_Cancel()]),
        )
        if settings.copy_bias or settings.copy_continuation or settings.copy_focus:
            processor = copy_processor(
                self.tokenizer, msgs, settings.copy_bias, settings.copy_continuation, len(ids), settings.copy_focus
            )
            if processor is not None:
                kwargs["logits_processor"] = LogitsProcessorList([processor])
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

    def generate(
        self, msgs: Sequence[dict[str, str]], adapter: str | None = None, settings: GenerationSettings | None = None
    ) -> str:
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
