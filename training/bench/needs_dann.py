"""Needs extraction carried to a new category with DANN: labelled source dialogues -> unlabeled target utterances.

    shopguide data generate --out data/demo --seed 0
    shopguide bench needs-dann --data data/demo                  # source apparel; targets electronics, beauty
    shopguide bench needs-dann --data data/demo --targets shoes home --seeds 0

This is where category-adversarial alignment naturally belongs: understanding the shopper is a classifier
whose labels exist only for the source category, while the new category offers plenty of unlabeled shopper
messages (`unlabeled/{category}.jsonl`) — exactly DANN's setting, unlike reply generation.

Task, per shopper message (multi-label): which kinds of need it states — a budget (min / max price), a brand,
an attribute value, an exclusion (an attribute or brand ruled out). Labels come from the generator's `needs`
annotations: the fields that gained a value since the shopper's previous message. Scored as exact match (all
four right) on the target's *test* dialogues.
Model and protocol are the Blitzer bench's (`training.bench.dann.compare_methods`): counts of words and word
bigrams (numbers folded into one token; vocabulary from source training messages and target unlabeled
messages, no labels) -> 50 sigmoid units -> 4 outputs, a logistic domain classifier behind the gradient-reversal
layer, source-only = the same run with coefficient 0, the coefficient chosen by reverse validation. The
"target-trained" row (trained on the target's own labelled training messages) is a reference only.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from assistant.dialogues import Dialogue
from retrieval.fileio import DataError
from training.bench.dann import compare_methods, predict, train_shallow
from training.examples import load_split
from training.transfer_data import read_unlabeled

log = logging.getLogger(__name__)

NEED_KINDS = ("budget", "brand", "attribute", "exclusion")
_TOKEN = re.compile(r"[a-z]+|\d+(?:[.,]\d+)?|\$")


def need_labels(dialogues: Sequence[Dialogue]) -> list[tuple[str, list[int]]]:
    """`(message, [budget, brand, attribute, exclusion])` for every shopper message carrying `needs`: 1 where the
    message gave that kind of need a new value."""
    out = []
    for d in dialogues:
        prev: dict = {}
        for m in d.messages:
            needs = m.get("needs")
            if m["role"] != "user" or not isinstance(needs, dict):
                continue

            def new(key: str, needs: dict = needs, prev: dict = prev) -> bool:
                value = needs.get(key)
                if isinstance(value, dict):
                    return any(v != (prev.get(key) or {}).get(k) for k, v in value.items())
                return value not in (None, [], "") and value != prev.get(key)

            labels = [new("min_price") or new("max_price"), new("brands"), new("attributes"),
                      new("exclude_attributes") or new("exclude_brands")]  # fmt: skip
            out.append((m["content"], [int(x) for x in labels]))
            prev = needs
    return out


def words(text: str) -> list[str]:
    """Lower-cased words and word bigrams; numbers become `<num>` (a budget is a number, whichever)."""
    w = ["<num>" if t[0].isdigit() else t for t in _TOKEN.findall(text.lower())]
    return w + [f"{a} {b}" for a, b in zip(w, w[1:])]


def build_vocabulary(texts: Sequence[str], size: int) -> dict[str, int]:
    """The `size` terms found in the most texts (ties alphabetical): term -> column."""
    df = Counter(t for text in texts for t in set(words(text)))
    return {t: i for i, (t, _) in enumerate(sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[:size])}


def featurize(texts: Sequence[str], vocabulary: dict[str, int]):
    """(N, V) float counts of the vocabulary's terms."""
    import torch

    x = torch.zeros(len(texts), len(vocabulary))
    for i, text in enumerate(texts):
        for t in words(text):
            if t in vocabulary:
                x[i, vocabulary[t]] += 1
    return x


def run_target(data: Path, source: str, target: str, seed: int, lams: tuple[float, ...], vocab_size: int, **kw):
    """Rows of `compare_methods` (+ per-kind F1) and a "target-trained" reference row, for one target."""
    import torch

    src = need_labels(load_split(data, source, "train")[0])
    test = need_labels(load_split(data, target, "test")[0])
    unlabeled = read_unlabeled(data / "unlabeled" / f"{target}.jsonl")
    if not unlabeled:
        raise ValueError(f"no unlabeled messages in {data / 'unlabeled' / f'{target}.jsonl'}")
    vocabulary = build_vocabulary([t for t, _ in src] + unlabeled, vocab_size)
    xs, ys = featurize([t for t, _ in src], vocabulary), torch.tensor([y for _, y in src], dtype=torch.float)
    xt = featurize(unlabeled, vocabulary)
    xtest, ytest = featurize([t for t, _ in test], vocabulary), torch.tensor([y for _, y in test], dtype=torch.float)
    rows = compare_methods(xs, ys, xt, xtest, ytest, seed, lams, pad_rows=len(xt), **kw)
    own = need_labels(load_split(data, target, "train")[0])  # reference only: the target's own labels
    model, info = train_shallow(
        featurize([t for t, _ in own], vocabulary), torch.tensor([y for _, y in own], dtype=torch.float), xt,
        adversarial=False, seed=seed, **kw,
    )  # fmt: skip
    with torch.no_grad():
        acc = float((predict(model(xtest), True) == ytest).all(-1).float().mean())
        rows.append({"method": "target-trained", "target_accuracy": acc, "epoch": info["epoch"]})
    base = {"source": source, "target": target, "seed": seed, "test_messages": len(test), "source_messages": len(src)}
    return [{**base, **r} for r in rows]


def table(results: list[dict], targets: list[str], lams: Sequence[float]) -> str:
    """Markdown: per target, exact-match accuracy (%) mean ± std over seeds, PAD means, lambda picked."""

    def stat(method: str, target: str) -> str:
        v = [r["target_accuracy"] * 100 for r in results if r["method"] == method and r["target"] == target]
        return f"{statistics.mean(v):.1f} ± {(statistics.stdev(v) if len(v) > 1 else 0.0):.1f}" if v else "-"

    def mean(method: str, target: str, key: str) -> float:
        v = [r[key] for r in results if r["method"] == method and r["target"] == target and key in r]
        return statistics.mean(v) if v else float("nan")

    head = ["target", "source-only", "DANN, λ by reverse validation", "RV - source-only",
            *[f"DANN λ={lam:g}" for lam in lams], "PAD source-only", "PAD DANN (RV)", "λ picked",
            "target-trained (reference)"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in targets:
        diff = mean("dann-rv", t, "target_accuracy") - mean("source-only", t, "target_accuracy")
        picked = ", ".join(f"{r['lam']:g}" for r in results if r["method"] == "dann-rv" and r["target"] == t)
        cells = [stat("source-only", t), stat("dann-rv", t), f"{100 * diff:+.1f}",
                 *[stat(f"dann-{lam:g}", t) for lam in lams],
                 f"{mean('source-only', t, 'proxy_a_distance'):.2f}", f"{mean('dann-rv', t, 'proxy_a_distance'):.2f}",
                 picked, stat("target-trained", t)]  # fmt: skip
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench needs-dann`."""
    ap = argparse.ArgumentParser(
        prog="shopguide bench needs-dann", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=Path("data/demo"), help="demo data folder (dialogues/, unlabeled/)")
    ap.add_argument("--source", default="apparel")
    ap.add_argument("--targets", nargs="*", default=["electronics", "beauty"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--lams", nargs="*", type=float, default=[0.1, 1.0], help="GRL coefficients compared by RV")
    ap.add_argument("--vocab-size", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=0.032)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--results", type=Path, default=Path("outputs/bench_needs_dann/results.jsonl"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import torch

    torch.set_num_threads(1)
    results: list[dict] = []
    try:
        for seed in args.seeds:
            for t in args.targets:
                rows = run_target(args.data, args.source, t, seed, tuple(args.lams), args.vocab_size,
                                  lr=args.lr, batch_size=args.batch_size)  # fmt: skip
                log.info("%s seed %d: %s", t, seed, {r["method"]: round(r["target_accuracy"], 3) for r in rows})
                results += rows
    except (DataError, ValueError) as e:
        print(f"shopguide bench needs-dann: {e}", file=sys.stderr)
        return 1
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("".join(json.dumps(r) + "\n" for r in results))
    print(table(results, args.targets, args.lams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
