"""`shopguide bench intent-transfer`: does the intent head transfer to categories it has no labels for?

    shopguide bench intent-transfer                                   # 3 seeds, catalogs generated into a tmp dir
    python -m training.bench.intent_transfer --catalog-dir /tmp/demo_data/catalog --seeds 0 1 2 \\
        --plot docs/bench_intent.png

Target categories electronics and beauty with K=0 labelled target dialogues. Rows: source-only (apparel),
dann (apparel labelled + the target's unlabeled turns: its generated turns without labels and, for electronics,
RecQuest's laptop / smartwatch / camera shopper turns), multitask (apparel, shoes, home labelled + a category
head), source-only on those three categories (the ablation that tells data from the auxiliary head), and
target-only (all of the target's labelled train dialogues: the ceiling). Each seed regenerates the dialogues
(`data.data_seed`) and re-initialises the head. Measured: intent accuracy on each target's held-out test split
(dialogues and templates never trained on), mean ± std over seeds, and, out of distribution, on RecQuest shopper
turns with weak labels (`training.intent_data.recquest_turns`).

Settings are chosen before any test number is read, on a validation category that is neither source nor target:
the dropout of the source-only head, then DANN's GRL coefficient, by accuracy on home's validation split
(apparel -> home, seed 0). Results: outputs/bench_intent/results.json and the markdown printed (docs/bench_intent.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.fileio import atomic_write_json
from training.config import load_config
from training.demo_data.generate import main as generate
from training.intent import IntentConfig
from training.intent import main as train

log = logging.getLogger(__name__)

CONFIG = Path(__file__).resolve().parents[1] / "training" / "configs" / "intent.yaml"
TARGETS = ("electronics", "beauty")
SOURCES = ("apparel", "shoes", "home")
COLUMNS = [f"{t}/test" for t in TARGETS] + [
    "recquest-electronics/weak",
    "recquest-shoes/weak",
    "recquest-bicycle/weak",
]


def _run(out: Path, name: str, overrides: list[str]) -> dict[str, Any]:
    cfg = load_config(IntentConfig, CONFIG, [f"out_dir={out / name}", *overrides])
    folder = train(cfg)
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


def _acc(metrics: dict[str, Any], key: str) -> float:
    return metrics["eval"].get(key, {}).get("accuracy", float("nan"))


def select(out: Path, base: list[str]) -> dict[str, Any]:
    """Dropout, then the GRL coefficient, by apparel -> home validation accuracy (seed 0)."""
    val = "home/validation"
    home = ["data.source_categories=[apparel]", "data.target_categories=[home]", "seed=0", "data.data_seed=0"]
    drop = {d: _acc(_run(out, f"select/drop{d}", [*base, *home, f"dropout={d}"]), val) for d in (0.2, 0.5)}
    dropout = max(drop, key=drop.get)
    lam = {
        lam: _acc(
            _run(out, f"select/lam{lam}", [*base, *home, f"dropout={dropout}", "method=dann", f"dann_lambda={lam}"]),
            val,
        )
        for lam in (0.1, 0.3, 1.0)
    }
    return {"dropout": dropout, "dann_lambda": max(lam, key=lam.get), "by_dropout": drop, "by_lambda": lam}


def runs(out: Path, base: list[str], seeds: list[int]) -> dict[str, list[dict[str, float]]]:
    """Per method, one {column: accuracy} per seed."""
    table: dict[str, list[dict[str, float]]] = {}
    targets = f"data.target_categories=[{','.join(TARGETS)}]"
    for seed in seeds:
        s = [*base, f"seed={seed}", f"data.data_seed={seed}"]
        src = _run(out, f"s{seed}/source-only", [*s, "data.source_categories=[apparel]", targets])
        src3 = _run(out, f"s{seed}/source-only-3", [*s, f"data.source_categories=[{','.join(SOURCES)}]", targets])
        multi = _run(
            out,
            f"s{seed}/multitask",
            [*s, "method=multitask", f"data.source_categories=[{','.join(SOURCES)}]", targets],
        )
        dann = {
            t: _run(
                out,
                f"s{seed}/dann-{t}",
                [*s, "method=dann", "data.source_categories=[apparel]", f"data.target_categories=[{t}]"],
            )
            for t in TARGETS
        }
        tgt = _run(out, f"s{seed}/target-only", [*s, "method=target-only", "data.target_shots=100000", targets])
        for name, m in [("source-only (apparel)", src), ("source-only (3 categories)", src3), ("multitask", multi)]:
            table.setdefault(name, []).append({c: _acc(m, c) for c in COLUMNS})
        row = {f"{t}/test": _acc(dann[t], f"{t}/test") for t in TARGETS}
        row.update({c: _acc(dann["electronics"], c) for c in COLUMNS[2:]})  # RecQuest: the electronics-target run
        table.setdefault("dann (apparel + unlabeled target)", []).append(row)
        table.setdefault("target-only (all target labels)", []).append({c: _acc(tgt, c) for c in COLUMNS})
    return table


def markdown(table: dict[str, list[dict[str, float]]]) -> str:
    """Mean ± std over seeds per method and column, and the verdicts against source-only."""
    lines = ["| method | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    stats = {}
    for name, rows in table.items():
        cells = []
        for c in COLUMNS:
            v = np.array([r[c] for r in rows], float)
            mu, sd = float(np.nanmean(v)), float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0
            stats[name, c] = (mu, sd)
            cells.append(f"{mu:.3f} ± {sd:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    base = "source-only (apparel)"
    for name in table:
        if name == base or name.startswith("target-only"):
            continue
        for c in COLUMNS[:2]:
            (mb, sb), (mm, sm) = stats[base, c], stats[name, c]
            verdict = "beats" if mm - mb > 2 * max(sb, sm) else "does not beat"
            lines.append(
                f"- {c}: {name} {verdict} source-only by > 2 std ({mm - mb:+.3f}, 2 std = {2 * max(sb, sm):.3f})"
            )
    return "\n".join(lines)


def plot(table: dict[str, list[dict[str, float]]], path: str | Path) -> None:
    """Grouped bars of mean test accuracy per target, error bars one std."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        mu = [np.mean([r[c] for r in table[name]]) for c in COLUMNS[:2]]
        sd = [np.std([r[c] for r in table[name]], ddof=1) if len(table[name]) > 1 else 0 for c in COLUMNS[:2]]
        ax.bar(np.arange(2) + i * width, mu, width, yerr=sd, label=name, capsize=3)
    ax.set_xticks(np.arange(2) + 0.4 - width / 2, [f"{t} (test)" for t in TARGETS])
    ax.set_ylabel("intent accuracy")
    ax.set_ylim(0.5, 1.0)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Intent head, K=0 target labels, mean ± std over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench intent-transfer` entry point."""
    ap = argparse.ArgumentParser(prog="shopguide bench intent-transfer", description=__doc__)
    ap.add_argument("--catalog-dir", help="demo catalogs (default: `shopguide data generate --seed 0` into a tmp dir)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default="outputs/bench_intent", help="runs and results.json")
    ap.add_argument("--plot", help="write a png of the table here")
    ap.add_argument("overrides", nargs="*", help="IntentConfig overrides for every run, e.g. max_steps=500")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        catalogs = args.catalog_dir
        if catalogs is None:
            generate(["--out", tmp, "--seed", "0"])
            catalogs = str(Path(tmp) / "catalog")
        out = Path(args.out)
        base = [f"data.catalog_dir={catalogs}", *args.overrides]
        chosen = select(out, base)
        print(f"chosen on home/validation: {chosen}", flush=True)
        base += [f"dropout={chosen['dropout']}", f"dann_lambda={chosen['dann_lambda']}"]
        table = runs(out, base, args.seeds)
    text = markdown(table)
    wall = time.time() - t0
    print(text)
    print(f"\nwall time {wall:.0f} s, seeds {args.seeds}")
    atomic_write_json(out / "results.json", {"selection": chosen, "table": table, "wall_s": wall, "argv": argv})
    if args.plot:
        plot(table, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
