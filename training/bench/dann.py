"""DANN reproduction on the Blitzer Amazon-reviews benchmark (Ganin et al., JMLR 2016, section 5.1, Table 1).

    shopguide bench dann                                  # 12 pairs x 3 seeds; the table goes into docs/bench_dann.md
    shopguide bench dann --pairs books:dvd --seeds 0      # one pair, one seed

Protocol, as in the paper: 2,000 labeled source reviews and 2,000 *unlabeled* target reviews (the target
train file, labels dropped) train a shallow network (5,000 raw unigram/bigram counts -> 50 sigmoid units ->
2 classes); the domain classifier is a logistic layer on the hidden units behind the gradient-reversal layer
(`training.objectives`). Training follows the authors' code (constant GRL coefficient from the first step,
domain classifier starting at zero, Glorot initialisation, plain SGD, early stopping on source validation
error keeping the latest best epoch); the coefficient is chosen per run by reverse validation among `--lams`
(`run_pair`). Source-only is the same network, data, initialisation and batch order with coefficient 0.
Target labels are used for nothing but the reported test accuracy.
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


def predict(logits, multilabel: bool):
    """Labels from logits: (N,) class ids, or (N, L) 0/1 floats for multi-label logits."""
    return (logits > 0).float() if multilabel else logits.argmax(-1)


def error_rate(logits, y) -> float:
    """Share of rows predicted wrongly (multi-label: any label wrong, i.e. 1 - exact-match accuracy)."""
    wrong = predict(logits, y.dim() == 2) != y
    return (wrong.any(-1) if y.dim() == 2 else wrong).float().mean().item()


def train_shallow(
    xs,
    ys,
    xt,
    *,
    adversarial: bool,
    seed: int,
    hidden: int = 50,
    lam: float = 0.1,
    lr: float = 0.016,
    batch_size: int = 16,
    max_epochs: int = 200,
    min_epochs: int = 30,
    schedule: str = "constant",
    stopping: str = "source-validation",
    valid_fraction: float = 0.1,
):
    """Train the shallow DANN (or the source-only network) and return the model chosen on source validation.

    The protocol is the authors' code (GRAAL-Research/domain_adversarial_neural_network, `DANN.fit`) on
    mini-batches: Glorot-uniform initialisation, a domain classifier starting at zero, plain SGD at a constant
    rate (their 0.001 per example = 0.016 per batch of 16), the GRL coefficient `lam` from the first step, and
    early stopping that keeps the latest epoch with the lowest source validation error and trains on until
    `max(min_epochs, 1.5 x that epoch)`.

    Args:
        xs, ys: (Ns, D) labeled source features and (Ns,) class ids, or (Ns, L) 0/1 floats for L binary labels.
        xt: (Nt, D) unlabeled target features (only used by the domain loss).
        adversarial: add the domain-adversarial loss (DANN); False trains the source-only baseline.
        seed: seeds the split, initialisation and batch order.
        hidden: hidden sigmoid units (50 in the paper).
        lam: the gradient-reversal coefficient (with `schedule="dann"`, its final value).
        lr: SGD learning rate of a mini-batch (mean) gradient.
        batch_size: source (and target) rows per step.
        max_epochs: epochs over the source rows at most.
        min_epochs: never stop before this epoch.
        schedule: "constant" (the authors' code) or "dann" (`dann_lambda(p)` ramp over `max_epochs`).
        stopping: "source-validation" (the authors' early stopping above) or "none" (train `max_epochs`, keep
            the last epoch).
        valid_fraction: share of the source rows held out for early stopping.

    Returns:
        (model, info): the label network (`nn.Sequential`, input -> logits) and a dict with `epoch`,
        `valid_error`, `hidden` (the feature layer, for the proxy A-distance) and `domain_accuracy` (the
        domain classifier's accuracy over the kept epoch's training steps).
    """
    import copy

    import torch
    import torch.nn.functional as F
    from torch import nn

    from training.objectives import CategoryDiscriminator, DomainAdversarialLoss, dann_lambda

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    perm = torch.randperm(len(xs), generator=g)
    n_valid = int(valid_fraction * len(xs))
    xv, yv = xs[perm[:n_valid]], ys[perm[:n_valid]]
    xs, ys = xs[perm[n_valid:]], ys[perm[n_valid:]]
    features = nn.Sequential(nn.Linear(xs.size(1), hidden), nn.Sigmoid())
    multilabel = ys.dim() == 2  # (N, L) 0/1 targets: L independent binary labels
    classifier = nn.Linear(hidden, ys.size(1) if multilabel else int(ys.max()) + 1)
    task_loss = F.binary_cross_entropy_with_logits if multilabel else F.cross_entropy
    adv = DomainAdversarialLoss(CategoryDiscriminator(hidden, num_categories=2, num_layers=0, dropout=0.0))
    with torch.no_grad():
        for layer in (features[0], classifier):
            bound = (6.0 / (layer.in_features + layer.out_features)) ** 0.5
            layer.weight.uniform_(-bound, bound)
            layer.bias.zero_()
        for p in adv.parameters():  # the domain classifier starts knowing nothing, as in the authors' code
            p.zero_()
    params = [*features.parameters(), *classifier.parameters(), *adv.parameters()]
    opt = torch.optim.SGD(params, lr=lr)
    steps_per_epoch = (len(xs) + batch_size - 1) // batch_size
    total = max_epochs * steps_per_epoch
    best = (float("inf"), -1, None, float("nan"))
    keep_until, step = min_epochs, 0
    for epoch in range(max_epochs):
        order = torch.randperm(len(xs), generator=g)
        domain_acc = []
        for b in range(steps_per_epoch):
            i = order[b * batch_size : (b + 1) * batch_size]
            f_src = features(xs[i])  # (B, hidden)
            loss = task_loss(classifier(f_src), ys[i])
            if adversarial:
                j = torch.randint(0, len(xt), (len(i),), generator=g)
                coefficient = lam if schedule == "constant" else dann_lambda(step / total, max_value=lam)
                loss = loss + adv(f_src, features(xt[j]), lam=coefficient)
                domain_acc.append(adv.last_accuracy)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        with torch.no_grad():
            err = error_rate(classifier(features(xv)), yv)
        if err <= best[0] or stopping == "none":  # ties go to the later epoch
            acc = sum(domain_acc) / len(domain_acc) if domain_acc else float("nan")
            best = (err, epoch, copy.deepcopy((features.state_dict(), classifier.state_dict())), acc)
            keep_until = max(keep_until, int(1.5 * epoch))
        elif epoch > keep_until:
            break
    features.load_state_dict(best[2][0])
    classifier.load_state_dict(best[2][1])
    model = nn.Sequential(features, classifier).eval()
    return model, {"epoch": best[1], "valid_error": best[0], "hidden": features, "domain_accuracy": best[3]}


def run_pair(
    data: Path, source: str, target: str, seed: int, lams: tuple[float, ...] = (0.1, 1.0), **kw
) -> list[dict]:
    """`compare_methods` on one Blitzer pair: the source train file, the target train file without labels, the
    target test file; each row also names `source`, `target`, `seed`."""
    xs, ys = load_svmlight(data / f"{source}_train.svmlight")
    xt, _ = load_svmlight(data / f"{target}_train.svmlight")  # labels dropped: unlabeled target
    xtest, ytest = load_svmlight(data / f"{target}_test.svmlight")
    rows = compare_methods(xs, ys, xt, xtest, ytest, seed, lams, **kw)
    return [{"source": source, "target": target, "seed": seed, **r} for r in rows]


def compare_methods(xs, ys, xt, xtest, ytest, seed: int, lams: tuple[float, ...], pad_rows: int = 1000, **kw):
    """Source-only, DANN with each lambda, and DANN with lambda chosen by reverse validation.

    Reverse validation (Ganin et al. 2016, sec 5.1.2; Zhong et al. 2010): 10% of the labeled source rows are held
    out; on the other 90% the source-only network (lambda 0) and a DANN per lambda are trained, with the same
    initialisation and batch order (only lambda differs). Each DANN pseudo-labels the unlabeled target rows, a
    reverse DANN learns target (pseudo-labels) -> source, and its error on the held-out source rows scores the
    lambda. No target label is read; target test labels only give the reported accuracy.

    Args:
        xs, ys: labeled source rows; xt: unlabeled target rows; xtest, ytest: the target test set.
        seed: seeds the held-out split, initialisation and batch order.
        lams: GRL coefficients to compare.
        pad_rows: source and target rows for the proxy A-distance of the hidden layer.
        kw: `train_shallow` settings.

    Returns:
        One row per method: "source-only", "dann-<lambda>" for each lambda, "dann-rv" (the chosen one), each with
        `target_accuracy` (multi-label: exact match), `proxy_a_distance`, the kept `epoch`, its
        `domain_accuracy`; "dann-rv" adds `lam` and `reverse_errors`.
    """
    import torch

    from training.objectives import proxy_a_distance

    g = torch.Generator().manual_seed(seed + 1000)
    perm = torch.randperm(len(xs), generator=g)
    hold, fit = perm[: int(0.1 * len(xs))], perm[int(0.1 * len(xs)) :]
    rows, errors = {}, {}
    for lam in (0.0, *lams):
        t0 = time.time()
        model, info = train_shallow(xs[fit], ys[fit], xt, adversarial=lam > 0, seed=seed, lam=lam, **kw)
        with torch.no_grad():
            h = info["hidden"]
            row = {
                "method": "source-only" if lam == 0 else f"dann-{lam:g}",
                "target_accuracy": 1.0 - error_rate(model(xtest), ytest),
                "epoch": info["epoch"],
                "source_valid_error": info["valid_error"],
                "domain_accuracy": info["domain_accuracy"],
                "proxy_a_distance": proxy_a_distance(h(xs[:pad_rows]), h(xt[:pad_rows]), seed=seed),
            }
        if lam > 0:  # reverse validation: target (pseudo-labels) -> source, scored on held-out source rows
            with torch.no_grad():
                pseudo = predict(model(xt), multilabel=ys.dim() == 2)
            rev, _ = train_shallow(xt, pseudo, xs[fit], adversarial=True, seed=seed, lam=lam, **kw)
            with torch.no_grad():
                errors[lam] = error_rate(rev(xs[hold]), ys[hold])
        rows[lam] = {**row, "seconds": round(time.time() - t0, 1)}
    chosen = min(errors, key=lambda lam: (errors[lam], lam))
    rv = {
        **rows[chosen],
        "method": "dann-rv",
        "lam": chosen,
        "reverse_errors": {f"{k:g}": v for k, v in errors.items()},
    }
    return [*rows.values(), rv]


def _table(results: list[dict], pairs: list[tuple[str, str]], lams: tuple[float, ...]) -> str:
    """Markdown table: per pair mean ± std over seeds; the mean row averages the pairs per seed, then mean ± std
    over seeds. PAD columns are means over seeds (lower = source and target less separable)."""

    def accs(method: str, pair: tuple[str, str], seed: int | None = None) -> list[float]:
        return [
            r["target_accuracy"] * 100
            for r in results
            if r["method"] == method and (r["source"], r["target"]) == pair and seed in (None, r["seed"])
        ]

    def stat(method: str, pair: tuple[str, str] | None) -> tuple[float, float]:
        if pair is None:
            seeds = sorted({r["seed"] for r in results if r["method"] == method})
            vals = [statistics.mean(v for p in pairs for v in accs(method, p, s)) for s in seeds]
        else:
            vals = accs(method, pair)
        if not vals:
            return float("nan"), float("nan")
        return statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0

    def pad(method: str, pair: tuple[str, str] | None) -> str:
        vals = [
            r["proxy_a_distance"]
            for r in results
            if r["method"] == method
            and (pair is None and (r["source"], r["target"]) in pairs or (r["source"], r["target"]) == pair)
        ]
        return f"{statistics.mean(vals):.2f}" if vals else "-"

    fixed = [f"dann-{lam:g}" for lam in lams]
    head = ["source -> target", "paper DANN", "DANN, λ by reverse validation", "source-only", "RV - source-only",
            *[f"DANN λ={lam:g}" for lam in lams], "PAD source-only", "PAD DANN (RV)", "λ picked"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for pair in [*pairs, None]:
        rv, so = stat("dann-rv", pair), stat("source-only", pair)
        cells = [f"{rv[0]:.1f} ± {rv[1]:.1f}", f"{so[0]:.1f} ± {so[1]:.1f}", f"{rv[0] - so[0]:+.1f}"]
        cells += [f"{stat(m, pair)[0]:.1f} ± {stat(m, pair)[1]:.1f}" for m in fixed]
        cells += [pad("source-only", pair), pad("dann-rv", pair)]
        if pair is None:
            paper = statistics.mean(PAPER_DANN[p] * 100 for p in pairs)
            lines.append(f"| **mean** | **{paper:.1f}** | " + " | ".join(f"**{c}**" for c in cells) + " | |")
        else:
            picked = [f"{r['lam']:g}" for r in sorted(results, key=lambda r: r["seed"])
                      if r["method"] == "dann-rv" and (r["source"], r["target"]) == pair]  # fmt: skip
            lines.append(f"| {pair[0]} -> {pair[1]} | {PAPER_DANN[pair] * 100:.1f} | " + " | ".join(cells)
                         + f" | {', '.join(picked)} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench dann`: run the pairs and seeds, print the table, write it into docs/bench_dann.md."""
    ap = argparse.ArgumentParser(
        prog="shopguide bench dann", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with {domain}_{train,test}.svmlight")
    ap.add_argument("--pairs", nargs="*", default=None, help="source:target pairs (default: all 12)")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--lams", nargs="*", type=float, default=[0.1, 1.0], help="GRL coefficients compared by RV")
    ap.add_argument("--lr", type=float, default=0.016, help="SGD learning rate (authors: 0.001 per example)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-epochs", type=int, default=200)
    ap.add_argument("--min-epochs", type=int, default=30)
    ap.add_argument("--schedule", choices=["constant", "dann"], default="constant", help="GRL coefficient schedule")
    ap.add_argument(
        "--stopping",
        choices=["source-validation", "none"],
        default="source-validation",
        help="early stopping on source validation error (authors), or none: keep the last of --max-epochs",
    )
    ap.add_argument(
        "--results",
        type=Path,
        default=Path("outputs/bench_dann/results.jsonl"),
        help="finished cells are appended here and skipped on a rerun",
    )
    ap.add_argument("--out", type=Path, default=Path("docs/bench_dann.md"), help="markdown file to put the table in")
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
    settings = {"lams": args.lams, "lr": args.lr, "batch_size": args.batch_size, "max_epochs": args.max_epochs,
                "min_epochs": args.min_epochs, "schedule": args.schedule, "stopping": args.stopping}  # fmt: skip
    done: list[dict] = []
    if args.results.exists():
        done = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
        done = [r for r in done if {"stopping": "source-validation", **r.get("settings", {})} == settings]
    have = {(r["source"], r["target"], r["seed"]) for r in done if r["method"] == "dann-rv"}
    todo = (
        []
        if args.report_only
        else [(s, t, seed) for seed in args.seeds for (s, t) in pairs if (s, t, seed) not in have]
    )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    kw = {k: settings[k] for k in ("lr", "batch_size", "max_epochs", "min_epochs", "schedule", "stopping")}
    try:
        for s, t, seed in tqdm(todo, desc="dann bench"):
            rows = run_pair(args.data, s, t, seed, tuple(args.lams), **kw)
            for r in rows:
                r["settings"] = settings
            log.info("%s -> %s seed %d: %s", s, t, seed, {r["method"]: round(r["target_accuracy"], 3) for r in rows})
            with open(args.results, "a", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
            done += rows
    except DataError as e:
        print(e, file=sys.stderr)
        return 1
    results = [r for r in done if (r["source"], r["target"]) in pairs and r["seed"] in args.seeds]
    table = _table(results, pairs, tuple(args.lams))
    print(table)
    cmd = "shopguide bench dann " + " ".join(argv if argv is not None else sys.argv[1:])
    _write_table(args.out, cmd.strip(), table, results)
    return 0


START, END = "<!-- dann-table:start -->", "<!-- dann-table:end -->"


def _write_table(path: Path, cmd: str, table: str, results: list[dict]) -> None:
    """Put the table (and the command that made it) between the markers of `path`, keeping the rest."""
    minutes = sum(r["seconds"] for r in results if r["method"] != "dann-rv") / 60
    block = f"{START}\n`{cmd}` ({minutes:.0f} min of training in all):\n\n{table}\n{END}"
    old = path.read_text() if path.exists() else "# DANN reproduction: Blitzer Amazon reviews\n\n"
    if START in old and END in old:
        head, _, rest = old.partition(START)
        text = head + block + rest.partition(END)[2]
    else:
        text = old.rstrip() + "\n\n" + block + "\n"
    atomic_write_text(path, text)


if __name__ == "__main__":
    sys.exit(main())
