"""DANN reproduction on the Blitzer Amazon-reviews benchmark (Ganin et al., JMLR 2016, section 5.1, Table 1).

    shopguide bench dann                                 # 12 pairs x 3 seeds, DANN and source-only; docs/bench_dann.md
    shopguide bench dann --pairs books:dvd --seeds 0     # one pair, one seed

Protocol, as in the paper: 2,000 labeled source reviews and 2,000 *unlabeled* target reviews (the target
train file, labels dropped) train a shallow network (5,000 raw unigram/bigram counts -> 50 sigmoid units ->
2 classes); the domain regressor is a logistic layer on the hidden units behind the gradient-reversal
layer (`training.objectives`). Source-only is the same network and loop with the domain loss switched off.
Target labels are used for nothing but the reported test accuracy: the stopping epoch is chosen by
early stopping on a held-out 10% of the *source* labeled rows (as in the authors' code), the DANN
lambda follows the paper's schedule to `--lam`, and the learning rate follows the paper's annealing.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

from retrieval.fileio import DataError, Problem, atomic_write_text

log = logging.getLogger(__name__)

DOMAINS = ("books", "dvd", "electronics", "kitchen")
# Ganin et al. 2016, Table 1, DANN on raw features, target accuracy (quoted in ../shared/data/README.md)
PAPER_DANN = {
    ("books", "dvd"): 0.784,
    ("books", "electronics"): 0.733,
    ("books", "kitchen"): 0.779,
    ("dvd", "books"): 0.723,
    ("dvd", "electronics"): 0.754,
    ("dvd", "kitchen"): 0.783,
    ("electronics", "books"): 0.713,
    ("electronics", "dvd"): 0.738,
    ("electronics", "kitchen"): 0.854,
    ("kitchen", "books"): 0.709,
    ("kitchen", "dvd"): 0.740,
    ("kitchen", "electronics"): 0.843,
}
DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "blitzer-dann"


def load_svmlight(path: str | Path, n_features: int = 5000):
    """Read an svmlight file (`label idx:count ...`, 0-based indices) into dense tensors.

    Args:
        path: the file.
        n_features: feature dimension (indices must be below it).

    Returns:
        (X, y): (N, n_features) float32 counts and (N,) int64 labels in {0, 1} (labels > 0 are positive).

    Raises:
        DataError: naming file and line for a malformed row or an out-of-range index.
    """
    import torch

    rows, cols, vals, labels, problems = [], [], [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.split("#", 1)[0].split()
            if not parts:
                continue
            try:
                labels.append(1 if float(parts[0]) > 0 else 0)
                for item in parts[1:]:
                    idx, _, val = item.partition(":")
                    j = int(idx)
                    if not 0 <= j < n_features:
                        raise ValueError(f"feature index {j} outside [0, {n_features})")
                    rows.append(len(labels) - 1)
                    cols.append(j)
                    vals.append(float(val))
            except ValueError as e:
                problems.append(Problem(str(path), lineno, "features", str(e)))
    if problems:
        raise DataError(problems)
    x = torch.zeros(len(labels), n_features)
    x[torch.tensor(rows, dtype=torch.long), torch.tensor(cols, dtype=torch.long)] = torch.tensor(vals)
    return x, torch.tensor(labels, dtype=torch.long)


def train_shallow(
    xs,
    ys,
    xt,
    *,
    adversarial: bool,
    seed: int,
    hidden: int = 50,
    lam: float = 0.1,
    lr: float = 0.01,
    batch_size: int = 16,
    max_epochs: int = 60,
    patience: int = 10,
    valid_fraction: float = 0.1,
):
    """Train the shallow DANN (or the source-only network) and return the model chosen on source validation.

    Args:
        xs, ys: (Ns, D) labeled source features and (Ns,) labels.
        xt: (Nt, D) unlabeled target features (only used by the domain loss).
        adversarial: add the domain-adversarial loss (DANN); False trains the source-only baseline.
        seed: seeds the split, initialisation and batch order.
        hidden: hidden sigmoid units (50 in the paper).
        lam: final DANN lambda; the schedule `dann_lambda(p, max_value=lam)` ramps it up.
        lr: initial SGD learning rate; annealed with `dann_lr`.
        batch_size: source (and target) rows per step.
        max_epochs: epochs over the source rows.
        patience: stop after this many epochs without a better source-validation error.
        valid_fraction: share of the source rows held out for early stopping.

    Returns:
        (model, info): the label network (`nn.Sequential`, input -> logits) and a dict with `epoch`,
        `valid_error` and `hidden` (the feature layer, for the proxy A-distance).
    """
    import copy

    import torch
    import torch.nn.functional as F
    from torch import nn

    from training.objectives import CategoryDiscriminator, DomainAdversarialLoss, dann_lambda, dann_lr

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    perm = torch.randperm(len(xs), generator=g)
    n_valid = int(valid_fraction * len(xs))
    xv, yv = xs[perm[:n_valid]], ys[perm[:n_valid]]
    xs, ys = xs[perm[n_valid:]], ys[perm[n_valid:]]
    features = nn.Sequential(nn.Linear(xs.size(1), hidden), nn.Sigmoid())
    classifier = nn.Linear(hidden, 2)
    adv = DomainAdversarialLoss(CategoryDiscriminator(hidden, num_categories=2, num_layers=0, dropout=0.0))
    params = [*features.parameters(), *classifier.parameters(), *adv.parameters()]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9)
    steps_per_epoch = (len(xs) + batch_size - 1) // batch_size
    total = max_epochs * steps_per_epoch
    best = (float("inf"), -1, None)
    step = 0
    for epoch in range(max_epochs):
        order = torch.randperm(len(xs), generator=g)
        for b in range(steps_per_epoch):
            i = order[b * batch_size : (b + 1) * batch_size]
            p = step / total
            for group in opt.param_groups:
                group["lr"] = dann_lr(p, lr)
            f_src = features(xs[i])  # (B, hidden)
            loss = F.cross_entropy(classifier(f_src), ys[i])
            if adversarial:
                j = torch.randint(0, len(xt), (len(i),), generator=g)
                loss = loss + adv(f_src, features(xt[j]), lam=dann_lambda(p, max_value=lam))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        with torch.no_grad():
            err = (classifier(features(xv)).argmax(-1) != yv).float().mean().item()
        if err < best[0]:
            best = (err, epoch, copy.deepcopy((features.state_dict(), classifier.state_dict())))
        elif epoch - best[1] >= patience:
            break
    features.load_state_dict(best[2][0])
    classifier.load_state_dict(best[2][1])
    model = nn.Sequential(features, classifier).eval()
    return model, {"epoch": best[1], "valid_error": best[0], "hidden": features}


def reverse_validated(xs, ys, xt, seed: int, lams: tuple[float, ...], **kw):
    """DANN with lambda chosen by reverse validation (Ganin et al. 2016, sec 5.1.2; Zhong et al. 2010).

    For each lambda: train source -> target on 90% of the source rows, pseudo-label the unlabeled target rows,
    train the reverse model target (pseudo-labels) -> source, and measure its error on the held-out 10% of
    labeled *source* rows. The forward model with the lowest reverse error is kept. No target label is read.

    Returns:
        (model, info, {"lam": chosen, "reverse_errors": {lam: error}}).
    """
    import torch

    g = torch.Generator().manual_seed(seed + 1000)
    perm = torch.randperm(len(xs), generator=g)
    n_hold = int(0.1 * len(xs))
    hold, fit = perm[:n_hold], perm[n_hold:]
    best, errors = None, {}
    for lam in lams:
        fwd, info = train_shallow(xs[fit], ys[fit], xt, adversarial=True, seed=seed, lam=lam, **kw)
        with torch.no_grad():
            pseudo = fwd(xt).argmax(-1)
        rev, _ = train_shallow(xt, pseudo, xs[fit], adversarial=True, seed=seed, lam=lam, **kw)
        with torch.no_grad():
            errors[lam] = (rev(xs[hold]).argmax(-1) != ys[hold]).float().mean().item()
        if best is None or errors[lam] < errors[best[0]]:
            best = (lam, fwd, info)
    return best[1], best[2], {"lam": best[0], "reverse_errors": errors}


def run_pair(
    data: Path, source: str, target: str, seed: int, method: str, lams: tuple[float, ...] = (0.1, 1.0), **kw
) -> dict:
    """Train one method ("dann", "dann-rv", "source-only") on one source -> target pair; score on the target test."""
    import torch

    from training.objectives import proxy_a_distance

    xs, ys = load_svmlight(data / f"{source}_train.svmlight")
    xt, _ = load_svmlight(data / f"{target}_train.svmlight")  # labels dropped: unlabeled target
    xtest, ytest = load_svmlight(data / f"{target}_test.svmlight")
    t0 = time.time()
    chosen: dict = {}
    if method == "dann-rv":
        kw.pop("lam", None)
        model, info, chosen = reverse_validated(xs, ys, xt, seed, lams, **kw)
    else:
        model, info = train_shallow(xs, ys, xt, adversarial=method == "dann", seed=seed, **kw)
    with torch.no_grad():
        acc = (model(xtest).argmax(-1) == ytest).float().mean().item()
        h = info["hidden"]
        pad = proxy_a_distance(h(xs[:1000]), h(xt[:1000]), seed=seed)
    return {
        "source": source,
        "target": target,
        "seed": seed,
        "method": method,
        "target_accuracy": acc,
        "epoch": info["epoch"],
        "source_valid_error": info["valid_error"],
        **chosen,
        "proxy_a_distance": pad,
        "seconds": round(time.time() - t0, 1),
    }


def _table(results: list[dict], pairs: list[tuple[str, str]]) -> str:
    def stat(method: str, pair: tuple[str, str] | None) -> tuple[float, float, int]:
        vals = [
            r["target_accuracy"] * 100
            for r in results
            if r["method"] == method and (pair is None or (r["source"], r["target"]) == pair)
        ]
        if pair is None:  # mean over pairs of the per-pair seed means, std over seeds of the pair-mean
            seeds = sorted({r["seed"] for r in results if r["method"] == method})
            vals = [
                statistics.mean(
                    [
                        r["target_accuracy"] * 100
                        for r in results
                        if r["method"] == method and r["seed"] == s and (r["source"], r["target"]) in pairs
                    ]
                )
                for s in seeds
            ]
        if not vals:
            return float("nan"), float("nan"), 0
        return statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0, len(vals)

    def pad(method: str, pair: tuple[str, str]) -> str:
        vals = [r["proxy_a_distance"] for r in results if r["method"] == method and (r["source"], r["target"]) == pair]
        return f"{statistics.mean(vals):.2f}" if vals else "-"

    methods = [m for m in ("dann", "dann-rv") if any(r["method"] == m for r in results)]
    label = {"dann": "DANN λ=0.1 (ours)", "dann-rv": "DANN, λ by reverse validation (ours)"}
    head = [
        "source -> target",
        "paper DANN",
        *[label[m] for m in methods],
        "source-only (ours)",
        *[f"{m} - source-only" for m in methods],
        "PAD source-only",
        *[f"PAD {m}" for m in methods],
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cells(pair: tuple[str, str] | None) -> list[str]:
        s = stat("source-only", pair)
        ds = [stat(m, pair) for m in methods]
        out = [f"{d[0]:.1f} ± {d[1]:.1f}" for d in ds] + [f"{s[0]:.1f} ± {s[1]:.1f}"]
        out += [f"{d[0] - s[0]:+.1f}" for d in ds]
        if pair is None:
            return [f"**{c}**" for c in out] + [""] * (1 + len(methods))
        return out + [pad("source-only", pair)] + [pad(m, pair) for m in methods]

    for pair in pairs:
        lines.append(f"| {pair[0]} -> {pair[1]} | {PAPER_DANN[pair] * 100:.1f} | " + " | ".join(cells(pair)) + " |")
    paper = statistics.mean(PAPER_DANN[p] * 100 for p in pairs)
    lines.append(f"| **mean** | **{paper:.1f}** | " + " | ".join(cells(None)) + " |")
    rv = [r for r in results if r["method"] == "dann-rv" and "lam" in r]
    if rv:
        picks = {lam: sum(r["lam"] == lam for r in rv) for lam in sorted({r["lam"] for r in rv})}
        lines.append("")
        lines.append(
            "Reverse validation picked lambda " + ", ".join(f"{k} in {v} runs" for k, v in picks.items()) + "."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench dann`: run the pairs and seeds, print the table, write docs/bench_dann.md."""
    ap = argparse.ArgumentParser(
        prog="shopguide bench dann", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with {domain}_{train,test}.svmlight")
    ap.add_argument("--pairs", nargs="*", default=None, help="source:target pairs (default: all 12)")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument(
        "--methods", nargs="*", default=["dann", "source-only"], choices=["dann", "dann-rv", "source-only"]
    )
    ap.add_argument(
        "--rv-lams",
        nargs="*",
        type=float,
        default=[0.1, 1.0],
        help="lambdas compared by reverse validation for method dann-rv",
    )
    ap.add_argument("--lam", type=float, default=0.1, help="final DANN lambda (authors' code: 0.1)")
    ap.add_argument("--lr", type=float, default=0.01, help="initial SGD learning rate (annealed)")
    ap.add_argument("--max-epochs", type=int, default=60)
    ap.add_argument(
        "--results",
        type=Path,
        default=Path("outputs/bench_dann/results.jsonl"),
        help="finished runs are appended here and skipped on a rerun",
    )
    ap.add_argument("--out", type=Path, default=Path("docs/bench_dann.md"), help="markdown results file")
    ap.add_argument("--report-only", action="store_true", help="write the table from finished runs; train nothing")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.data.is_dir():
        print(
            f"shopguide bench dann: data folder {args.data} not found (the Blitzer files live in "
            "../shared/data/blitzer-dann in the development workplace)",
            file=sys.stderr,
        )
        return 1
    pairs = [tuple(p.split(":")) for p in args.pairs] if args.pairs else list(PAPER_DANN)
    for p in pairs:
        if p not in PAPER_DANN:
            print(
                f"shopguide bench dann: unknown pair {':'.join(p)}; domains are {', '.join(DOMAINS)}", file=sys.stderr
            )
            return 2
    import torch
    from tqdm import tqdm

    torch.set_num_threads(1)
    settings = {"lam": args.lam, "lr": args.lr, "max_epochs": args.max_epochs}
    done: list[dict] = []
    if args.results.exists():
        done = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
        done = [r for r in done if r.get("settings") == settings]
    key = {(r["source"], r["target"], r["seed"], r["method"]) for r in done}
    todo = [
        (s, t, seed, m)
        for (s, t) in pairs
        for seed in args.seeds
        for m in args.methods
        if (s, t, seed, m) not in key and not args.report_only
    ]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    try:
        for s, t, seed, m in tqdm(todo, desc="dann bench"):
            r = run_pair(
                args.data,
                s,
                t,
                seed,
                m,
                lam=args.lam,
                lr=args.lr,
                max_epochs=args.max_epochs,
                lams=tuple(args.rv_lams),
            )
            r["settings"] = settings
            log.info(
                "%s -> %s seed %d %s: target acc %.3f (epoch %d)", s, t, seed, m, r["target_accuracy"], r["epoch"]
            )
            with open(args.results, "a", encoding="utf-8") as f:
                f.write(json.dumps(r) + "\n")
            done.append(r)
    except DataError as e:
        print(e, file=sys.stderr)
        return 1
    results = [r for r in done if (r["source"], r["target"]) in pairs and r["seed"] in args.seeds]
    table = _table(results, pairs)
    print(table)
    cmd = "shopguide bench dann " + " ".join(argv if argv is not None else sys.argv[1:])
    _write_doc(args.out, cmd.strip(), table, settings, args.seeds, results)
    return 0


def _write_doc(path: Path, cmd: str, table: str, settings: dict, seeds: list[int], results: list[dict]) -> None:
    secs = sum(r["seconds"] for r in results)
    text = f"""# DANN reproduction: Blitzer Amazon reviews (Ganin et al. 2016, Table 1)

Command (from the repository root, data at `../shared/data/blitzer-dann`):

```
{cmd}
```

Setup: shallow network, 5,000 raw unigram/bigram counts -> 50 sigmoid units -> 2 classes; the domain
classifier is a logistic layer on the hidden units behind the gradient-reversal layer
(`training/objectives.py`). Training data per pair: 2,000 labeled source reviews (10% held out for early
stopping) and the 2,000 target *train* reviews **without labels**. SGD (momentum 0.9, batch 16),
learning rate {settings["lr"]} annealed as `lr / (1 + 10 p) ** 0.75`,
DANN lambda `{settings["lam"]} * (2 / (1 + exp(-10 p)) - 1)`, at most {settings["max_epochs"]} epochs; the kept
epoch is the one with the lowest *source* validation error. No target label is used for training,
stopping or choosing settings. "DANN λ=0.1" uses the value of the authors' code (hidden 50, lambda 0.1),
not tuned here. "λ by reverse validation" (the paper's model-selection procedure, sec 5.1.2) trains
DANN with each lambda in {{0.1, 1.0}} on 90% of the source rows, pseudo-labels the target train rows,
trains the reverse DANN target -> source and keeps the lambda whose reverse model errs least on the
held-out 10% of *source* labels. Source-only is the same network and loop without
the domain loss. Seeds: {", ".join(map(str, seeds))} (split, initialisation, batch order); cells are mean ± std
over seeds, the mean row averages the pairs per seed, then gives mean ± std over seeds. PAD: proxy
A-distance of the hidden layer between 1,000 source and 1,000 target train rows (linear probe; lower is
more aligned).

Target test accuracy (%):

{table}

Total training time {secs / 60:.1f} min on a shared 2-core CPU (noisy; other jobs were running).
"""
    atomic_write_text(path, text)


if __name__ == "__main__":
    sys.exit(main())
