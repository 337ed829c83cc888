"""Data of the transfer recipes beyond the guide dialogues themselves: the K-shot setting, unlabeled category
text for the category-adversarial loss, and the two auxiliary tasks (product choice, needs extraction).

    k = parse_shots("32")                                              # 32; "all" -> None
    texts = category_texts(data_dir, "electronics", catalog, dialogues=None)   # unlabeled text of a category
    examples = text_examples(texts, tokenizer, max_len=96, category="electronics")  # label-free Examples
    choice = choice_targets(dialogues, catalog, tokenizer)           # {(dialogue id, turn): candidate cards, gold}
    needs = needs_examples(dialogues, tokenizer, max_seq_len)        # Example: transcript -> needs JSON reply

Everything becomes `training.examples.Example`s, so batching is `ForeverDataIterator` (grouped rows carry a
`token_mask` for mean pooling) and the loss is `assistant_token_loss`, exactly as in SFT.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.dialogues import Dialogue
from assistant.generation.chat_format import IGNORE_INDEX, render
from retrieval.catalog import Catalog, product_to_text
from retrieval.fileio import DataError, Problem, iter_jsonl
from training.examples import Example

NEEDS_SYSTEM = "Extract the shopper's needs from the conversation as JSON."


def parse_shots(shots: str | int) -> int | None:
    """`"all"` -> None (every dialogue), else a non-negative int.

    Raises:
        ValueError: naming `shots` when it is neither.
    """
    if str(shots).strip().lower() == "all":
        return None
    try:
        k = int(shots)
    except ValueError:
        raise ValueError(f"`shots` must be a non-negative integer or 'all', got {shots!r}") from None
    if k < 0:
        raise ValueError(f"`shots` must be a non-negative integer or 'all', got {shots!r}")
    return k


def read_unlabeled(path: str | Path) -> list[str]:
    """User utterances of `unlabeled/{category}.jsonl` (`{"category", "text"}` per line); [] when absent.

    Raises:
        DataError: a line is not JSON or has no string `text` (file:line: field: message).
    """
    path = Path(path)
    if not path.exists():
        return []
    texts, problems = [], []
    for line, rec in iter_jsonl(path):
        if isinstance(rec, Problem):
            problems.append(rec)
        elif not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or not rec["text"].strip():
            problems.append(Problem(str(path), line, "text", "required non-empty string is missing"))
        else:
            texts.append(rec["text"].strip())
    if problems:
        raise DataError(problems)
    return texts


def category_texts(
    data_dir: str | Path, category: str, catalog: Catalog, dialogues: Sequence[Dialogue] | None = None
) -> list[str]:
    """Unlabeled text of a category in one common form: user utterances (from `unlabeled/` and, when given,
    from dialogues) and catalog product texts. Both categories of the adversarial loss use this same form,
    so the discriminator cannot win on formatting alone."""
    texts = read_unlabeled(Path(data_dir) / "unlabeled" / f"{category}.jsonl")
    for d in dialogues or []:
        texts += [m["content"] for m in d.messages if m["role"] == "user" and m["content"].strip()]
    texts += [product_to_text(p) for p in catalog.products if p.category == category or not category]
    return texts


def text_examples(texts: Sequence[str], tokenizer: Any, max_len: int, category: str) -> list[Example]:
    """Plain texts as label-free `Example`s (first `max_len` tokens), for pooled features through
    `ForeverDataIterator` (grouped, `max_rows`) and `training.examples.pooled_hidden`."""
    out = []
    for i, t in enumerate(texts):
        ids = tokenizer(t, add_special_tokens=False)["input_ids"][:max_len]
        if ids:
            out.append(Example(ids, [IGNORE_INDEX] * len(ids), category, f"text-{i}", 0))
    if not out:
        raise ValueError(f"no non-empty text for category {category!r}")
    return out


@dataclass
class ChoiceTarget:
    """Product-choice auxiliary target of one assistant turn: its candidates' card token ids and the index of the
    product the reply recommends. The context is the turn's own LM example (its prompt positions)."""

    candidate_ids: list[list[int]]
    gold: int


def choice_targets(
    dialogues: Sequence[Dialogue], catalog: Catalog, tokenizer: Any, max_card_len: int = 48
) -> dict[tuple[str, int], ChoiceTarget]:
    """`{(dialogue_id, turn): ChoiceTarget}` for every assistant turn recommending one of >= 2 candidates."""
    out = {}
    for d in dialogues:
        for turn, msg in d.assistant_turns():
            cands = [str(c) for c in msg.get("candidates") or []]
            recommended = [str(p) for p in msg.get("products") or [] if str(p) in cands]
            if len(cands) < 2 or not recommended or msg.get("act") not in (None, "recommend", "compare"):
                continue
            products = [catalog.get(c) for c in cands]
            if any(p is None for p in products):
                continue
            cards = [
                tokenizer(product_to_text(p), add_special_tokens=False)["input_ids"][:max_card_len] or [0]
                for p in products
            ]
            out[(d.id, turn)] = ChoiceTarget(cards, cands.index(recommended[0]))
    return out


def needs_examples(dialogues: Sequence[Dialogue], tokenizer: Any, max_seq_len: int) -> list[Example]:
    """Needs-extraction auxiliary examples: the user turns so far -> the generator's `needs` as a JSON reply.

    Rendered with the same chat renderer (a different system message), so the task shares the whole trunk.
    """
    out = []
    for d in dialogues:
        said: list[str] = []
        for i, m in enumerate(d.messages):
            if m["role"] != "user":
                continue
            said.append(m["content"])
            needs = m.get("needs")
            if not isinstance(needs, dict):
                continue
            compact = {k: v for k, v in needs.items() if v not in (None, [], {}, "")}
            msgs = [
                {"role": "system", "content": NEEDS_SYSTEM},
                {"role": "user", "content": "\n".join(said)},
                {"role": "assistant", "content": json.dumps(compact, sort_keys=True)},
            ]
            ids, labels = render(msgs, tokenizer, train_on="last")
            if len(ids) <= max_seq_len:
                out.append(Example(ids, labels, d.category, d.id, i))
    return out
