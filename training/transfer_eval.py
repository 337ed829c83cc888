"""Target-category measurements of a transfer adapter, shared by the transfer recipe and `shopguide bench transfer`:
reply loss on held-out dialogues and the proxy A-distance between source and target text features.

    feats = text_features(model, tok, texts, max_len=96)             # (N, H) mean-pooled last hidden states
    scores = evaluate_target(cfg, "outputs/transfer/run/adapters/electronics")
    # {"val_loss", "val_ppl", "proxy_a_distance"}
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.generation.model import load_adapters, load_base, pick_device
from training.examples import (
    ForeverDataIterator,
    assistant_token_loss,
    build_examples,
    category_wording,
    collate,
    load_split,
    pooled_hidden,
    prompt_format,
)
from training.transfer_data import category_texts, text_examples


def text_features(model: Any, tok: Any, texts: Sequence[str], max_len: int, batch_size: int = 16) -> Any:
    """Mean-pooled last-layer hidden states of `texts` (first `max_len` tokens each), in order.

    Returns:
        (N, H) tensor, one row per text with at least one token.
    """
    import torch

    device = next(model.parameters()).device
    ex = text_examples(texts, tok, max_len, "text")
    pad = tok.pad_token_id or 0
    with torch.no_grad():
        rows = []
        for i in range(0, len(ex), batch_size):
            batch = collate([[e] for e in ex[i : i + batch_size]], pad)
            rows.append(pooled_hidden(model, {k: v.to(device) for k, v in batch.items()}))
    return torch.cat(rows)


def reply_loss(
    model: Any,
    tok: Any,
    dialogues: Sequence[Any],
    catalog: Any,
    max_seq_len: int,
    seq_len: int,
    wording: str | None = None,
    fmt: Any = None,
) -> float:
    """Mean loss over every reference reply token of `dialogues` (teacher forcing, every assistant turn;
    `wording`: what the prompt calls the category, see `training.examples.category_wording`; `fmt`: the prompt
    format, `training.examples.prompt_format`)."""
    import torch

    device = next(model.parameters()).device
    examples = build_examples(dialogues, catalog, tok, max_seq_len, False, wording, fmt)
    it = ForeverDataIterator(examples, seq_len, seed=0, pad_id=tok.pad_token_id or 0)
    total, count = 0.0, 0
    with torch.no_grad():
        for _ in range(it.batches_per_epoch()):
            loss, n = assistant_token_loss(model, {k: v.to(device) for k, v in next(it).items()})
            total, count = total + loss.item() * n, count + n
    return total / max(count, 1)


def sample_texts(data_dir: str | Path, category: str, catalog: Any, n: int, seed: int = 0) -> list[str]:
    """A fixed sample of `n` unlabeled texts of `category` (shopper utterances and product texts)."""
    texts = category_texts(data_dir, category, catalog)
    return random.Random(seed).sample(texts, min(n, len(texts)))


def evaluate_target(cfg: Any, folder: str | Path, texts_per_category: int = 64) -> dict[str, float]:
    """Load the adapter in `folder` as serving does and measure it on the target category.

    Args:
        cfg: a `training.transfer.TransferConfig` (base, target, sources, data settings, seq_len).
        folder: a PEFT adapter folder.
        texts_per_category: unlabeled texts per category for the proxy A-distance.

    Returns:
        `{"val_loss", "val_ppl"}` on the first `cfg.data.max_eval_dialogues` validation dialogues, and
        `"proxy_a_distance"` between source (`cfg.sources[0]`) and target text features (0: not separable).
    """
    import torch

    from training.objectives import proxy_a_distance

    model, tok = load_base(cfg.base, device=pick_device(), dtype=torch.float32)
    model = load_adapters(model, {cfg.target: folder})
    dialogues, catalog = load_split(cfg.data.data_dir, cfg.target, "validation")
    dialogues = dialogues[: cfg.data.max_eval_dialogues]
    wording = category_wording(cfg.data.data_dir, cfg.target)
    fmt = prompt_format(cfg.data)
    val_loss = reply_loss(model, tok, dialogues, catalog, cfg.data.max_seq_len, cfg.seq_len, wording, fmt)
    source_catalog = load_split(cfg.data.data_dir, cfg.sources[0], "validation")[1]
    feats = [
        text_features(
            model, tok, sample_texts(cfg.data.data_dir, c, cat, texts_per_category), cfg.transfer.text_max_len
        )
        for c, cat in ((cfg.sources[0], source_catalog), (cfg.target, catalog))
    ]
    return {
        "val_loss": val_loss,
        "val_ppl": math.exp(min(val_loss, 50)),
        "proxy_a_distance": proxy_a_distance(feats[0], feats[1], epochs=100),
    }
