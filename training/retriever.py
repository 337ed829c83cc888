"""RECIPE: fine-tune the product encoder on dialogue -> recommended-product pairs (contrastive, in-batch negatives).

    shopguide train retriever --data data/demo --source apparel --out outputs/retriever --steps 100
    shopguide train retriever --data data/demo --eval-categories electronics,beauty --steps 0   # evaluate only

A pair is (the user turns of a dialogue up to a recommendation turn, the text of a product recommended
there). The loss is MultipleNegativesRankingLoss written out: cosine similarities x scale against every
product in the batch, cross-entropy on the diagonal; batch products with the same id as the gold are
masked so they are never negatives. The loop is visible: forward, loss, backward, step, log, save.
The output folder is a sentence-transformers model (load it with `retrieval.encoder.load_encoder(DIR)`)
plus `retriever_train.json` (settings, loss curve, target-category retrieval before/after).
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from assistant.dialogues import load_dialogues
from retrieval.catalog import Catalog, load_catalog
from retrieval.encoder import DEFAULT_ENCODER, bundled_encoder_path, load_encoder
from retrieval.fileio import DataError, atomic_folder, atomic_write_json
from retrieval.metrics import ranking_metrics
from retrieval.text import product_text

log = logging.getLogger(__name__)


def recommendation_pairs(dialogues: Iterable, acts: tuple[str, ...] = ("recommend",)) -> list[tuple[str, list[str]]]:
    """(query, gold product ids) at every recommendation turn.

    Args:
        dialogues: `assistant.dialogues.Dialogue`s (anything with `.messages`).
        acts: assistant acts that count as recommendations; messages without an `act` count when they
            name products.

    Returns:
        One pair per recommending assistant message: the user messages so far joined by " ", and the
        message's product ids.
    """
    out = []
    for d in dialogues:
        users: list[str] = []
        for m in d.messages:
            if m["role"] == "user":
                users.append(m["content"].strip())
            elif m["role"] == "assistant" and m.get("products") and users and m.get("act", acts[0]) in acts:
                out.append((" ".join(users), list(m["products"])))
    return out


def load_demo(data: Path, categories: list[str], split: str) -> tuple[Catalog, list[tuple[str, list[str]]]]:
    """Catalog and recommendation pairs of `categories` from a demo-layout folder (`shopguide data generate`)."""

    catalog = load_catalog([data / "catalog" / f"{c}.jsonl" for c in categories])
    dialogues = load_dialogues([data / "dialogues" / f"{c}.{split}.jsonl" for c in categories], set(catalog.by_id))
    return catalog, recommendation_pairs(dialogues)


def evaluate(encoder, catalog: Catalog, pairs: list[tuple[str, list[str]]], k: int = 10) -> dict[str, float]:
    """Exact dense retrieval over `catalog` for each pair's query; Recall@1/5/10, NDCG@10, MRR."""
    products = list(catalog)
    emb = encoder.encode([product_text(p) for p in products], batch_size=64)
    q = encoder.encode([qq for qq, _ in pairs], batch_size=64)
    order = np.argsort(-(q @ emb.T), axis=1)[:, : max(k, 10)]
    ranked = [[products[j].id for j in row] for row in order]
    return ranking_metrics(ranked, [set(g) for _, g in pairs])


def train(
    pairs: list[tuple[str, list[str]]],
    catalog: Catalog,
    base: str | None,
    out: Path,
    steps: int = 100,
    batch_size: int = 32,
    lr: float = 3e-5,
    scale: float = 20.0,
    max_seq_length: int = 128,
    seed: int = 0,
    warmup: float = 0.1,
) -> tuple[object, list[float]]:
    """Fine-tune `base` on (query, product text) pairs; returns the trained SentenceTransformer and the losses."""
    import torch
    import torch.nn.functional as F
    from sentence_transformers import SentenceTransformer
    from tqdm.auto import tqdm

    random.seed(seed)
    torch.manual_seed(seed)
    path = str(bundled_encoder_path()) if base in (None, DEFAULT_ENCODER) else base
    model = SentenceTransformer(path, device="cpu")
    model.max_seq_length = max_seq_length
    examples = [(q, pid) for q, gold in pairs for pid in gold]
    if not examples:
        raise ValueError("no (dialogue, product) pairs to train on")
    texts = {pid: product_text(catalog.by_id[pid]) for _, pid in examples}
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    n_warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / n_warm if s < n_warm else max(0.0, (steps - s) / max(1, steps - n_warm))
    )
    order: list[int] = []
    losses: list[float] = []
    model.train()
    bar = tqdm(range(steps), desc="retriever", unit="step")
    for step in bar:
        if len(order) < batch_size:
            order += random.sample(range(len(examples)), len(examples))
        batch = [examples[i] for i in order[:batch_size]]
        del order[:batch_size]
        qf = model.preprocess([q for q, _ in batch])
        pf = model.preprocess([texts[pid] for _, pid in batch])
        qe = F.normalize(model(qf)["sentence_embedding"], dim=-1)
        pe = F.normalize(model(pf)["sentence_embedding"], dim=-1)
        logits = scale * qe @ pe.T
        ids = [pid for _, pid in batch]
        same = torch.tensor([[a == b for b in ids] for a in ids])
        logits = logits.masked_fill(same & ~torch.eye(len(ids), dtype=torch.bool), float("-inf"))
        loss = F.cross_entropy(logits, torch.arange(len(ids)))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-10:]):.3f}")
    model.eval()
    with atomic_folder(out) as tmp:  # swapped in whole: a kill while saving keeps the previous encoder
        model.save(str(tmp))
    return model, losses


def main(argv: list[str] | None = None) -> int:
    """`shopguide train retriever`."""
    ap = argparse.ArgumentParser(
        prog="shopguide train retriever",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--data", required=True, help="demo-layout folder (catalog/, dialogues/)")
    ap.add_argument("--source", default="apparel", help="comma-separated source categories to train on")
    ap.add_argument(
        "--eval-categories",
        default="electronics,beauty",
        help="comma-separated target categories evaluated before/after (test split)",
    )
    ap.add_argument("--out", default="outputs/retriever", help="output encoder folder")
    ap.add_argument("--encoder", default=None, help="base encoder (default: bundled all-MiniLM-L6-v2)")
    ap.add_argument("--steps", type=int, default=100, help="optimizer steps (0: evaluate the base only)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--max-seq-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    data, out = Path(args.data), Path(args.out)
    sources = [c for c in args.source.split(",") if c]
    targets = [c for c in args.eval_categories.split(",") if c]
    try:
        src_cat, src_pairs = load_demo(data, sources, "train")
        evals = {c: load_demo(data, [c], "test") for c in targets + sources}
    except (DataError, FileNotFoundError) as e:
        print(f"error: {e}")
        return 1
    log.info("%d training pairs from %s", len(src_pairs), ", ".join(sources))
    base = load_encoder(args.encoder)
    before = {c: evaluate(base, cat, pairs) for c, (cat, pairs) in evals.items()}
    report: dict = {
        "base": base.name,
        "sources": sources,
        "targets": targets,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "pairs": len(src_pairs),
        "before": before,
    }
    if args.steps > 0:
        t = time.perf_counter()
        _, losses = train(
            src_pairs,
            src_cat,
            args.encoder,
            out,
            args.steps,
            args.batch_size,
            args.lr,
            max_seq_length=args.max_seq_length,
            seed=args.seed,
        )
        report["train_seconds"] = round(time.perf_counter() - t, 1)
        report["loss_first10"], report["loss_last10"] = float(np.mean(losses[:10])), float(np.mean(losses[-10:]))
        tuned = load_encoder(str(out), cached=False)
        report["after"] = {c: evaluate(tuned, cat, pairs) for c, (cat, pairs) in evals.items()}
        atomic_write_json(out / "retriever_train.json", report)
    for c in evals:
        b = before[c]
        a = report.get("after", {}).get(c)
        line = f"{c:12s} R@1 {b['recall@1']:.3f} R@10 {b['recall@10']:.3f} MRR {b['mrr']:.3f}"
        if a:
            line += f"  ->  R@1 {a['recall@1']:.3f} R@10 {a['recall@10']:.3f} MRR {a['mrr']:.3f}"
        print(line)
    if args.steps > 0:
        print(f"saved encoder to {out}")
    return 0
