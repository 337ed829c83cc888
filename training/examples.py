"""Training data shared by the recipes: examples from guide dialogues, packing into batches, the loss on
assistant tokens, and infinite per-category iterators with named mixing strategies.

    dialogues, catalog = load_split("data/demo", "apparel", "train")
    examples = build_examples(dialogues, catalog, tokenizer, max_seq_len=1024)   # one per assistant turn
    it = ForeverDataIterator(examples, seq_len=1024, batch_size=1, seed=0)      # batches, forever, resumable
    batch = next(it)          # {"input_ids", "labels", "position_ids", "token_mask", "index"} tensors
    loss, n = assistant_token_loss(model, batch)                                # mean over reply tokens
    mixer = CategoryMixer({"apparel": it, "electronics": it2}, "proportional", weights={...})  # (category, batch)
    features = pooled_hidden(model, batch)                                      # (B, H) mean of real tokens

Each example is rendered exactly as at serving time: `build_messages(history before the turn, cards of the
turn's `candidates`, category)` + the reply, loss on the reply only (`assistant.generation.chat_format.render`).
With a `PromptFormat(state=True, history=N)` (a recipe's `data.state_in_prompt` / `data.history_messages`,
`prompt_format(cfg.data)`) the system message carries the dialogue state and only the last N messages stay:
the needs are those the turn's last user message carries (`needs`), the products shown are the `products` of
the earlier assistant messages; serving renders the same from its reading (`Assistant.stream`).

Two ways to spend no compute on padding (`batching=`):
- "grouped" (default): examples of similar length share a batch of at most `seq_len` tokens (B x longest),
  right-padded with no attention mask: causal attention means no real token ever sees a pad, and
  attention keeps its fast causal path. Fastest on CPU (measured in docs/bench_train.md).
- "packed": examples are concatenated into rows of at most `seq_len` tokens with `position_ids` restarting
  at 0 for each example and no attention mask; transformers (`masking_utils.find_packed_sequence_indices`)
  turns that into a block-diagonal causal mask, so packed examples never attend to each other (tested in
  tests/training/test_sft.py). Best with flash attention on GPU; on CPU the explicit mask costs more.
Either way the LM head runs only where a label exists (`logits_to_keep`), so prompt tokens cost no
output-layer compute.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.dialogues import Dialogue, load_dialogues
from assistant.generation.chat_format import IGNORE_INDEX, PromptFormat, build_messages, render, shown_products
from assistant.understanding.vocabulary import ShopVocabulary
from retrieval.catalog import Catalog, load_catalog

log = logging.getLogger(__name__)

MIXING_STRATEGIES = ("round_robin", "proportional")
BATCHING = ("grouped", "packed")


@dataclass
class Example:
    """One training example: a rendered prompt + reply; `labels` are -100 outside the reply."""

    input_ids: list[int]
    labels: list[int]
    category: str
    dialogue_id: str = ""
    turn: int = 0
    act: str = ""  # the reference reply's act (greet, elicit, recommend, answer, ...) when the dialogue has one

    def __len__(self) -> int:
        return len(self.input_ids)


def load_split(data_dir: str | Path, category: str, split: str) -> tuple[list[Dialogue], Catalog]:
    """Dialogues `DIR/dialogues/{category}.{split}.jsonl` and catalog `DIR/catalog/{category}.jsonl`.

    Raises:
        DataError: a file is missing or holds bad records (every problem as file:line: field: message).
    """
    data_dir = Path(data_dir)
    catalog = load_catalog(data_dir / "catalog" / f"{category}.jsonl")
    dialogues = load_dialogues(data_dir / "dialogues" / f"{category}.{split}.jsonl", set(catalog.by_id))
    return dialogues, catalog


def category_wording(data_dir: str | Path, category: str) -> str | None:
    """What the prompt calls `category`: the `wording` in `DIR/vocabulary.json` (the same file a bundle serves
    with, so training and serving render the same system prompt); None: the category's name."""
    path = Path(data_dir) / "vocabulary.json"
    return ShopVocabulary.load(path).wording.get(category) if path.is_file() else None


def prompt_format(data: Any) -> PromptFormat:
    """The prompt format of a recipe's `data` settings: `state_in_prompt` and `history_messages` (absent: today's)."""
    return PromptFormat(
        state=bool(getattr(data, "state_in_prompt", False)), history=getattr(data, "history_messages", None)
    )


def turn_messages(
    dialogue: Dialogue,
    turn: int,
    catalog: Catalog,
    wording: str | None = None,
    fmt: PromptFormat | None = None,
) -> list[dict[str, str]]:
    """Messages for assistant turn `turn`: system + cards of its candidates + history (no reply); `wording`:
    what the prompt calls the category (`category_wording`); `fmt`: the prompt format (None: today's)."""
    msg = dialogue.messages[turn]
    ids = msg.get("candidates") or msg.get("products") or []
    products = [p for p in (catalog.get(str(i)) for i in ids) if p is not None]
    history = dialogue.messages[:turn]
    if fmt is None or not fmt.state:
        return build_messages(history, products, dialogue.category, wording=wording, fmt=fmt)
    # the needs after the shopper's last message (the generator writes them on every user message)
    needs = next((m.get("needs") for m in reversed(history) if m["role"] == "user" and m.get("needs")), None)
    shown = shown_products([[str(i) for i in m.get("products") or []] for m in history if m["role"] == "assistant"])
    titles = [p.title for p in (catalog.get(i) for i in shown) if p is not None]
    return build_messages(history, products, dialogue.category, wording=wording, fmt=fmt, needs=needs, shown=titles)


def dialogue_examples(
    dialogue: Dialogue,
    catalog: Catalog,
    tokenizer: Any,
    max_seq_len: int,
    wording: str | None = None,
    fmt: PromptFormat | None = None,
) -> list[Example]:
    """One `Example` per assistant turn; the oldest history is dropped (two messages at a time) until it fits.

    Turns that do not fit even without history are skipped (and logged by `build_examples`).
    """
    out = []
    for turn, msg in dialogue.assistant_turns():
        msgs = turn_messages(dialogue, turn, catalog, wording, fmt)
        reply = {"role": "assistant", "content": msg["content"]}
        while True:
            ids, labels = render(msgs + [reply], tokenizer, train_on="last")
            if len(ids) <= max_seq_len or len(msgs) <= 2:
                break
            msgs = msgs[:1] + msgs[3:] if len(msgs) > 3 else msgs[:1] + msgs[2:]
        if len(ids) <= max_seq_len:
            out.append(Example(ids, labels, dialogue.category, dialogue.id, turn, str(msg.get("act") or "")))
    return out


def build_examples(
    dialogues: Sequence[Dialogue],
    catalog: Catalog,
    tokenizer: Any,
    max_seq_len: int = 1024,
    progress: bool = True,
    wording: str | None = None,
    fmt: PromptFormat | None = None,
) -> list[Example]:
    """Render every assistant turn of `dialogues` (see `dialogue_examples`; `wording`: `category_wording`; `fmt`:
    the prompt format, None: today's), with a progress bar.

    Returns:
        The examples in dialogue order.

    Raises:
        ValueError: no example fits in `max_seq_len`.
    """
    from tqdm.auto import tqdm

    examples: list[Example] = []
    turns = 0
    for d in tqdm(dialogues, desc="render", unit="dialogue", disable=not progress, leave=False):
        turns += sum(1 for _ in d.assistant_turns())
        examples += dialogue_examples(d, catalog, tokenizer, max_seq_len, wording, fmt)
    if turns and len(examples) < turns:
        log.warning(
            "skipped %d of %d assistant turns longer than %d tokens", turns - len(examples), turns, max_seq_len
        )
    if not examples:
        raise ValueError(f"no training example fits in max_seq_len={max_seq_len} ({len(dialogues)} dialogues)")
    return examples


def sample_dialogues(dialogues: Sequence[Dialogue], k: int | None, seed: int | None) -> list[Dialogue]:
    """K training dialogues: the first K (`seed` None), or a sample fixed by `seed`; all of them for `k` None.

    A seeded sample lets K-shot runs vary which dialogues they see with the seed, and every method that uses
    the same (k, seed) sees the same dialogues.
    """
    if k is None or k >= len(dialogues):
        return list(dialogues)
    if seed is None:
        return list(dialogues[:k])
    order = sorted(dialogues, key=lambda d: d.id)
    random.Random(seed).shuffle(order)
    return order[:k]


def weight_by_act(examples: Sequence[Example], weights: Mapping[str, int]) -> list[Example]:
    """Repeat each example `weights[act]` times (acts not named: once; 0 drops them).

    Answer and compare turns are a small share of guide dialogues (17% of apparel examples), yet they are
    where a guide is most often wrong; repeating them spends more of a CPU-hour on them.
    """
    out: list[Example] = []
    for e in examples:
        out += [e] * int(weights.get(e.act, 1))
    if not out:
        raise ValueError(f"act weights {dict(weights)} drop every example")
    return out


def pack(examples: Sequence[Example], seq_len: int, seed: int, epoch: int) -> list[list[int]]:
    """Rows of example indices, each row's total length <= `seq_len`, in a shuffled order fixed by (seed, epoch).

    Greedy first-fit over a shuffled order: rows come out nearly full and the order is reproducible, which is
    what resuming in the middle of an epoch needs.
    """
    order = list(range(len(examples)))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = min(len(examples[i]), seq_len)
        for r, free in enumerate(room):
            if free >= n:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(seq_len - n)
    return rows


def group_by_length(
    examples: Sequence[Example],
    max_tokens: int,
    seed: int,
    epoch: int,
    window: int = 64,
    max_rows: int | None = None,
) -> list[list[int]]:
    """Batches of example indices with similar lengths, each at most `max_tokens` as (B x longest) and at most
    `max_rows` examples (no limit when None).

    Shuffle (fixed by seed, epoch), sort within windows of `window` examples, cut into batches by the
    token budget, shuffle the batches: little padding, still random, reproducible for resuming.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(examples)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: len(examples[i]))
        batch: list[int] = []
        for i in chunk:
            longest = max([len(examples[j]) for j in batch] + [len(examples[i])])
            full = max_rows is not None and len(batch) >= max_rows
            if batch and (longest * (len(batch) + 1) > max_tokens or full):
                batches.append(batch)
                batch = []
            batch.append(i)
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


def collate(rows: Sequence[Sequence[Example]], pad_id: int = 0, seq_len: int | None = None) -> dict[str, Any]:
    """Tensors for a batch of rows (one example each, or several packed): `input_ids`, `labels`, `position_ids`
    (all (B, T)) and `token_mask` (B, T), 1 on real tokens and 0 on padding (for pooling, never for attention).

    Padding goes at the end of a row with label -100 and no attention mask. In a row of one example the pad
    positions simply continue (no real token attends to a later pad under causal attention, so all rows
    read as unpacked and attention keeps its fast causal path); in a packed row they start a block of their own.
    """
    import torch

    width = max(sum(min(len(e), seq_len or len(e)) for e in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, row in enumerate(rows):
        t = 0
        for e in row:
            n = min(len(e), seq_len or len(e))
            ids[b, t : t + n] = torch.tensor(e.input_ids[:n])
            labels[b, t : t + n] = torch.tensor(e.labels[:n])
            pos[b, t : t + n] = torch.arange(n)
            mask[b, t : t + n] = 1
            t += n
        pos[b, t:] = torch.arange(t, width) if len(row) == 1 else torch.arange(width - t)
    return {"input_ids": ids, "labels": labels, "position_ids": pos, "token_mask": mask}


def assistant_token_loss(model: Any, batch: Mapping[str, Any], with_hidden: bool = False) -> tuple[Any, ...]:
    """Mean next-token cross-entropy over labelled (reply) tokens; the LM head runs only where needed.

    The one language-model loss of every recipe (sft, transfer, meta) and benchmark.

    Args:
        model: a causal LM (or PeftModel) accepting `position_ids` and `logits_to_keep`.
        batch: from `collate` (tensors already on the model's device).
        with_hidden: also return the last layer's hidden states (for losses on the same forward pass).

    Returns:
        `(loss, n_tokens)`: the scalar mean loss and how many tokens it averages over; with `with_hidden`,
        `(loss, n_tokens, hidden)` where hidden is (B, T, H).
    """
    import torch.nn.functional as F

    targets = batch["labels"][:, 1:]  # (B, T-1): token t predicts label t+1
    keep = (targets != IGNORE_INDEX).any(0).nonzero().squeeze(-1)  # (K,) positions with a label in any row
    out = model(
        input_ids=batch["input_ids"],
        position_ids=batch["position_ids"],
        logits_to_keep=keep,
        use_cache=False,
        output_hidden_states=with_hidden,
    )
    logits = out.logits  # (B, K, V)
    tgt = targets[:, keep]  # (B, K)
    n = int((tgt != IGNORE_INDEX).sum())
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), tgt.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    if with_hidden:
        return loss / max(n, 1), n, out.hidden_states[-1]
    return loss / max(n, 1), n


def pooled_hidden(model: Any, batch: Mapping[str, Any]) -> Any:
    """Mean of the last layer's hidden states over each row's real tokens: (B, H) features of a text batch.

    Rows hold one example each (grouped batching); padding sits at the end and, under causal attention, is
    never seen by a real token, so the features do not depend on how much a row is padded.
    """
    from training.objectives import mean_pool

    out = model(
        input_ids=batch["input_ids"],
        position_ids=batch["position_ids"],
        logits_to_keep=1,
        use_cache=False,
        output_hidden_states=True,
    )
    return mean_pool(out.hidden_states[-1], batch["token_mask"])  # (B, H)


class ForeverDataIterator:
    """Batches of `examples` forever, epoch after epoch, reshuffled per epoch; resumable.

    Args:
        examples: rendered examples.
        seq_len: "grouped": token budget of a batch (B x longest); "packed": length of a packed row.
        batch_size: "packed" only: rows per batch.
        seed: fixes the order of every epoch.
        pad_id: padding token id.
        batching: "grouped" (length-grouped, padded) or "packed" (see the module docstring).
        max_rows: "grouped" only: at most this many examples per batch (None: only the token budget limits).

    Each batch is `collate`'s tensors plus `index` (B,): the position in `examples` of each row's first example.
    `state_dict()` is `{"epoch", "index"}` (the next batch); `load_state_dict` continues exactly there,
    because the batches of an epoch depend only on (seed, epoch).
    """

    def __init__(
        self,
        examples: Sequence[Example],
        seq_len: int,
        batch_size: int = 1,
        seed: int = 0,
        pad_id: int = 0,
        batching: str = "grouped",
        max_rows: int | None = None,
    ):
        if not examples:
            raise ValueError("ForeverDataIterator needs at least one example")
        if batching not in BATCHING:
            raise ValueError(f"batching must be one of {', '.join(BATCHING)}, got {batching!r}")
        self.examples, self.seq_len, self.batch_size = examples, seq_len, batch_size
        self.seed, self.pad_id = seed, pad_id
        self.batching, self.max_rows = batching, max_rows
        self.epoch, self.index = 0, 0
        self._batches: list[list[list[int]]] | None = None

    def batches_per_epoch(self) -> int:
        return len(self._plan())

    def _plan(self) -> list[list[list[int]]]:
        if self._batches is None and self.batching == "grouped":
            groups = group_by_length(self.examples, self.seq_len, self.seed, self.epoch, max_rows=self.max_rows)
            self._batches = [[[i] for i in g] for g in groups]  # one example per row
        elif self._batches is None:
            rows = pack(self.examples, self.seq_len, self.seed, self.epoch)
            self._batches = [rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
        return self._batches

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        plan = self._plan()
        if self.index >= len(plan):
            self.epoch, self.index, self._batches = self.epoch + 1, 0, None
            plan = self._plan()
        import torch

        rows = [[self.examples[i] for i in row] for row in plan[self.index]]
        batch = collate(rows, self.pad_id, self.seq_len)
        batch["index"] = torch.tensor([row[0] for row in plan[self.index]], dtype=torch.long)  # (B,)
        self.index += 1
        return batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.epoch, self.index, self._batches = int(state["epoch"]), int(state["index"]), None


class CategoryMixer:
    """Interleave per-category iterators: `next(mixer)` -> `(category, batch)`.

    Strategies: "round_robin" cycles the categories in order; "proportional" samples a category with
    probability proportional to `weights` (default: its number of examples). The draw of step s depends only
    on (seed, s), so the mixer is resumable and every process of a distributed run draws the same sequence.
    """

    def __init__(
        self,
        iterators: Mapping[str, ForeverDataIterator],
        strategy: str = "round_robin",
        seed: int = 0,
        weights: Mapping[str, float] | None = None,
    ):
        if strategy not in MIXING_STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(MIXING_STRATEGIES)}, got {strategy!r}")
        if not iterators:
            raise ValueError("CategoryMixer needs at least one category")
        self.iterators, self.strategy, self.seed = dict(iterators), strategy, seed
        self.categories = list(self.iterators)
        self.weights = [float(weights[c]) if weights else len(self.iterators[c].examples) for c in self.categories]
        if min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ValueError(f"mixing weights must be >= 0 with a positive sum, got {self.weights}")
        self.step = 0

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return self

    def __next__(self) -> tuple[str, dict[str, Any]]:
        if self.strategy == "round_robin":
            cat = self.categories[self.step % len(self.categories)]
        else:
            cat = random.Random(self.seed * 1_000_003 + self.step).choices(self.categories, self.weights)[0]
        self.step += 1
        return cat, next(self.iterators[cat])

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "iterators": {c: it.state_dict() for c, it in self.iterators.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.step = int(state["step"])
        for c, s in state["iterators"].items():
            self.iterators[c].load_state_dict(s)
