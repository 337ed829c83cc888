"""The one prompt renderer, used by training AND serving.

    msgs = build_messages(history, products, category)     # system prompt + this turn's cards + history
    fmt = PromptFormat(state=True, history=2)               # or: the dialogue state in the prompt, last 2 messages
    msgs = build_messages(history, products, category, fmt=fmt, needs=needs_dict, shown=titles)
    ids, labels = render(msgs, tokenizer, train_on="last")  # labels are -100 outside the trained reply
    ids = render_prompt(msgs, tokenizer)                    # ends with the generation prompt, for serving

The text comes from `tokenizer.apply_chat_template` (the model's own template, or the project template
that `assistant.generation.model.load_base` installs when a tokenizer has none). The text is cut at the boundaries
of every assistant reply and each piece is tokenized on its own, so (1) labels cover exactly the reply
tokens (content plus the template's end-of-turn marker, which teaches the model to stop) and (2) the
tokens of a prompt at serving time are the same tokens the model saw before that reply in training.

`PromptFormat` says how a turn is rendered. The default is the whole history and no state. With `state=True`
the system message also carries the dialogue state (what the shopper wants so far, the titles of products
already shown: `prompts.state_lines`) and `history=N` keeps only the last N messages, so a turn's prompt stays
short (per-turn training examples of ~300-500 tokens instead of whole dialogues). An adapter trained with a
format is served with the same one: training reads it from the recipe's `data.state_in_prompt` /
`data.history_messages` (stored in the adapter's `train_config.yaml`), serving from the bundle's
`assistant.json` `"prompt": {"state": true, "history": 2}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.generation.prompts import MAX_SHOWN, format_cards, state_lines, system_prompt

IGNORE_INDEX = -100

# ChatML-like template for tokenizers without one. `eos_token` ends each reply, so generation stops on it.
PROJECT_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] }}"
    "{%- if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{{ '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def render_text(msgs: Sequence[dict[str, str]], eos_token: str, add_generation_prompt: bool = False) -> str:
    """The project template as text without a tokenizer (used to build pretraining text before one exists)."""
    import jinja2

    return jinja2.Template(PROJECT_CHAT_TEMPLATE).render(
        messages=list(msgs), eos_token=eos_token, add_generation_prompt=add_generation_prompt
    )


@dataclass(frozen=True)
class PromptFormat:
    """How a turn's prompt is rendered (see the module docstring).

    Args:
        state: the system message carries the dialogue state (needs so far, products already shown).
        history: keep only the last `history` messages of the dialogue (None: all of them).
    """

    state: bool = False
    history: int | None = None

    def __post_init__(self):
        if self.history is not None and (isinstance(self.history, bool) or not isinstance(self.history, int)):
            raise ValueError(f"`history` must be a whole number of messages or null, got {self.history!r}")
        if self.history is not None and self.history < 1:
            raise ValueError(f"`history` must keep at least the shopper's last message (>= 1), got {self.history}")
        if not isinstance(self.state, bool):
            raise ValueError(f"`state` must be true or false, got {self.state!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> PromptFormat:
        """From a bundle's `"prompt"` object (`{"state": true, "history": 2}`; None or {}: today's format).

        Raises:
            ValueError: not an object, an unknown key or a bad value (the message names it).
        """
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise ValueError(f'must be an object like {{"state": true, "history": 2}}, got {type(d).__name__}')
        unknown = sorted(set(d) - {"state", "history"})
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; valid: state, history")
        return cls(state=d.get("state", False), history=d.get("history"))

    def to_dict(self) -> dict[str, Any]:
        """The bundle's `"prompt"` object for this format."""
        return {"state": self.state, "history": self.history}


def shown_products(replies: Sequence[Sequence[str]]) -> list[str]:
    """Ids of the products already shown, from the products of each earlier reply (oldest reply first): ordered by
    their latest showing, each once, the last `prompts.MAX_SHOWN`. Training passes each reply's `products`,
    serving the products its name reader finds in each reply."""
    order: dict[str, None] = {}
    for ids in replies:
        for pid in ids:
            order.pop(pid, None)
            order[pid] = None
    return list(order)[-MAX_SHOWN:]


def build_messages(
    history: Sequence[dict[str, Any]],
    products: Iterable[Any],
    category: str | None,
    wording: str | None = None,
    fmt: PromptFormat | None = None,
    needs: Mapping[str, Any] | None = None,
    shown: Sequence[str] = (),
) -> list[dict[str, str]]:
    """System message (prompt + product cards of THIS turn) followed by the history (role/content only).

    Args:
        history: earlier messages, oldest first; only `user` / `assistant` roles are kept, extra keys dropped.
        products: the products retrieved for this turn (`retrieval.catalog.Product`).
        category: the category of the turn (None -> generic).
        wording: what the prompt calls the category (the shop vocabulary's; None: the category's name).
        fmt: how to render (None: `PromptFormat()`, the whole history and no state).
        needs: with `fmt.state`, the shopper's needs so far (the dialogue contract's dict, `ShopperNeeds.to_dict()`).
        shown: with `fmt.state`, titles of the products already shown, oldest first (`shown_products`).

    Returns:
        OpenAI-style `[{"role", "content"}, ...]` starting with the system message.
    """
    fmt = fmt or PromptFormat()
    system = system_prompt(wording or category) + "\n"
    if fmt.state:  # after the first line, which the CTranslate2 engine caches as the category's static prompt
        system += state_lines(needs, shown) + "\n"
    msgs = [{"role": "system", "content": system + format_cards(products)}]
    turns = [{"role": m["role"], "content": m["content"]} for m in history if m["role"] in ("user", "assistant")]
    return msgs + (turns[-fmt.history :] if fmt.history is not None else turns)


def _text(msgs: Sequence[dict[str, str]], tokenizer: Any, add_generation_prompt: bool) -> str:
    if not msgs:
        return ""
    return tokenizer.apply_chat_template(list(msgs), tokenize=False, add_generation_prompt=add_generation_prompt)


def _reply_spans(msgs: Sequence[dict[str, str]], tokenizer: Any, full: str) -> list[tuple[int, int, int]]:
    """`(message_index, start, end)` character spans of each assistant reply inside `full`.

    A span runs from the end of the generation prompt to the end of the reply's turn (end-of-turn marker
    included). Templates that are not prefix-stable (e.g. ones that move the system prompt) fall back to
    locating the reply content itself.
    """
    spans = []
    cursor = 0
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        before = _text(msgs[:i], tokenizer, add_generation_prompt=True)
        upto = _text(msgs[: i + 1], tokenizer, add_generation_prompt=False)
        if full.startswith(upto) and upto.startswith(before) and len(before) >= cursor:
            start, end = len(before), len(upto.rstrip("\n"))
        else:
            start = full.find(m["content"], cursor)
            if start < 0:
                raise ValueError(f"chat template dropped assistant message {i}; cannot build training labels")
            end = start + len(m["content"])
            eos = getattr(tokenizer, "eos_token", None)
            if eos and full.startswith(eos, end):
                end += len(eos)
        spans.append((i, start, end))
        cursor = end
    return spans


def _tokenize_pieces(text: str, cuts: list[int], tokenizer: Any) -> list[list[int]]:
    bounds = [0] + cuts + [len(text)]
    return [
        tokenizer(text[a:b], add_special_tokens=False)["input_ids"] if b > a else []
        for a, b in zip(bounds, bounds[1:])
    ]


def render(msgs: Sequence[dict[str, str]], tokenizer: Any, train_on: str = "last") -> tuple[list[int], list[int]]:
    """Token ids and labels of a whole conversation.

    Args:
        msgs: messages from `build_messages` (+ the assistant reply to train on).
        tokenizer: a tokenizer with a chat template.
        train_on: "last" trains only the last assistant message; "all" trains every assistant message.

    Returns:
        `(input_ids, labels)`, equal length; labels equal the ids on the trained reply tokens, -100 elsewhere.

    Raises:
        ValueError: unknown `train_on`, or no assistant message to train on.
    """
    if train_on not in ("last", "all"):
        raise ValueError(f"train_on must be 'last' or 'all', got {train_on!r}")
    full = _text(msgs, tokenizer, add_generation_prompt=False)
    spans = _reply_spans(msgs, tokenizer, full)
    if not spans:
        raise ValueError("render() needs at least one assistant message to train on")
    trained = {spans[-1][0]} if train_on == "last" else {i for i, _, _ in spans}
    cuts = [c for _, s, e in spans for c in (s, e)]
    pieces = _tokenize_pieces(full, cuts, tokenizer)
    ids: list[int] = []
    labels: list[int] = []
    for k, piece in enumerate(pieces):
        # pieces alternate: prompt, reply 0, prompt, reply 1, ..., tail; reply pieces sit at odd positions
        is_trained = k % 2 == 1 and spans[k // 2][0] in trained
        ids += piece
        labels += piece if is_trained else [IGNORE_INDEX] * len(piece)
    return ids, labels


def render_prompt(msgs: Sequence[dict[str, str]], tokenizer: Any) -> list[int]:
    """Token ids of the conversation followed by the generation prompt (what `generate` continues).

    Cut at the same reply boundaries as `render`, so a prompt is tokenized exactly as in training.
    """
    text = _text(msgs, tokenizer, add_generation_prompt=True)
    spans = _reply_spans(msgs, tokenizer, text) if any(m["role"] == "assistant" for m in msgs) else []
    cuts = [c for _, s, e in spans for c in (s, e)]
    return [t for piece in _tokenize_pieces(text, cuts, tokenizer) for t in piece]
