"""Data for the transfer recipe (`training/transfer.py`): K-shot target splits, padded LM batches, unlabeled
category text for the adversarial loss, and the two auxiliary tasks (product choice, needs extraction).

    dialogues = select_shots(train_dialogues, "32", seed=0)          # K target dialogues, seeded
    batches = PaddedBatches(examples, batch_size=4, pad_id=0, seed=0)   # next(batches) -> input_ids/labels/mask
    texts = category_texts(data_dir, "electronics", catalog, dialogues=None)   # unlabeled text of a category
    choice = choice_targets(dialogues, catalog, tokenizer)           # {(dialogue id, turn): candidate cards, gold}
    needs = needs_examples(dialogues, tokenizer, max_seq_len)        # Example: transcript -> needs JSON reply

LM examples themselves come from `training.examples.build_examples` (the one renderer); only batching differs
from SFT: rows are padded (not packed) and carry an attention mask, so that mean-pooled hidden states
(`training.objectives.mean_pool`) describe one example each.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.chat_format import IGNORE_INDEX, render
from assistant.dialogues import Dialogue
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


def select_shots(dialogues: Sequence[Dialogue], shots: str | int, seed: int) -> list[Dialogue]:
    """The K training dialogues of a target category: a seeded sample (all of them for `"all"`)."""
    k = parse_shots(shots)
    if k is None or k >= len(dialogues):
        return list(dialogues)
    order = sorted(dialogues, key=lambda d: d.id)
    random.Random(seed).shuffle(order)
    return order[:k]


class PaddedBatches:
    """Infinite right-padded batches of `Example`s, reshuffled every epoch.

    `next()` gives `{"input_ids", "labels", "attention_mask"}` tensors of shape (B, T) and `keys`,
    the `(dialogue_id, turn)` of each row.
    """

    def __init__(self, examples: Sequence[Example], batch_size: int, pad_id: int, seed: int):
        if not examples:
            raise ValueError("PaddedBatches needs at least one example")
        self.examples, self.batch_size, self.pad_id = list(examples), batch_size, pad_id
        self.rng = random.Random(seed)
        self.order: list[int] = []

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        if len(self.order) < self.batch_size:
            fresh = list(range(len(self.examples)))
            self.rng.shuffle(fresh)
            self.order += fresh
        idx, self.order = self.order[: self.batch_size], self.order[self.batch_size :]
        batch = pad_batch(
            [self.examples[i].input_ids for i in idx], [self.examples[i].labels for i in idx], self.pad_id
        )
        batch["keys"] = [(self.examples[i].dialogue_id, self.examples[i].turn) for i in idx]
        return batch


def pad_batch(ids: Sequence[Sequence[int]], labels: Sequence[Sequence[int]] | None, pad_id: int) -> dict[str, Any]:
    """Right-pad token lists into (B, T) tensors; labels (or -100 everywhere when None) and an attention mask."""
    import torch

    width = max(len(x) for x in ids)
    out_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    out_labels = torch.full((len(ids), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for b, x in enumerate(ids):
        out_ids[b, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[b, : len(x)] = 1
        if labels is not None:
            out_labels[b, : len(x)] = torch.tensor(labels[b], dtype=torch.long)
    return {"input_ids": out_ids, "labels": out_labels, "attention_mask": mask}


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


def text_batches(
    texts: Sequence[str], tokenizer: Any, batch_size: int, max_len: int, seed: int
) -> Iterator[dict[str, Any]]:
    """Infinite padded batches of plain text (no labels), for pooled features."""
    if not texts:
        raise ValueError("text_batches needs at least one text")
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"][:max_len] or [0] for t in texts]
    pad = tokenizer.pad_token_id or 0
    rng = random.Random(seed)
    while True:
        idx = [rng.randrange(len(encoded)) for _ in range(batch_size)]
        yield pad_batch([encoded[i] for i in idx], None, pad)


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
