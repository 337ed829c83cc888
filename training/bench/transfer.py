"""Cross-category transfer benchmark: methods x target categories x shots x seeds, scored on the target test split.

    shopguide bench transfer --base smollm2-135m-instruct          # the full grid: 2 targets x K 0/8/32/all x 3 seeds
    shopguide bench transfer --base outputs/bench_transfer/base --targets electronics --shots 0 32 \\
        --methods source-only finetune multitask+adversarial --seeds 0

Each cell runs the transfer recipe (`training/transfer.py`, config `--config` plus `--set key=value`
overrides) into `OUT/runs/<target>/<method>/k<K>-s<seed>/`, loads the saved target adapter with
`assistant.generation.model.load_adapters` (exactly as serving does) and scores it on the first `--eval-dialogues`
target test dialogues:
  ppl         perplexity of the reference replies (teacher forcing, every assistant turn)
  answer_acc  attribute answers judged correct by `assistant.evaluation.answers.answer_is_correct` (every
              fact value stated, the reference's yes/no kept), greedy replies to the first `--gen-turns`
              answer turns with facts
  hit1, rec3  Hit@1 / Recall@3 of the products the generated reply names (`assistant.checks.grounding.check_reply`)
              against the products the reference reply recommends (first `--gen-turns` recommend turns)
  grounded    share of stated facts in generated replies that match the catalog (`GroundingReport.grounding_rate`)
  rouge_l     ROUGE-L F1 and chrF of those greedy replies vs the reference
  chrf
  pad         proxy A-distance between pooled features of source and target text under the adapter
Finished cells are appended to `OUT/results.jsonl` and skipped on a rerun (resumable); the markdown table
(mean ± std over seeds) goes to `--doc` with the command that produced it. The source adapter is trained once
(`OUT/source`) and shared by every cell; seeds vary the K-shot sample, initialisation and batch order.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import sys
import time
from pathlib import Path

from assistant.checks.grounding import check_reply
from assistant.evaluation.answers import answer_is_correct
from assistant.evaluation.metrics import chrf, hit_at_k, recall_at_k, rouge_l
from assistant.generation.chat_format import render_prompt
from assistant.generation.model import load_adapters, load_base
from retrieval.fileio import DataError, atomic_write_text
from training import transfer
from training.config import load_config
from training.examples import category_wording, load_split, turn_messages
from training.transfer import TransferConfig, source_adapter_dir
from training.transfer_eval import reply_loss

log = logging.getLogger(__name__)

METRICS = ("ppl", "answer_acc", "hit1", "rec3", "grounded", "rouge_l", "chrf", "pad")
HIGHER_IS_BETTER = {"ppl": False, "pad": False}


def score_adapter(
    base: str,
    adapter: Path,
    data_dir: str,
    target: str,
    eval_dialogues: int,
    gen_turns: int,
    max_seq_len: int,
    max_new_tokens: int,
) -> dict[str, float | None]:
    """Load base + the target adapter as serving does and compute the metrics of the module docstring."""
    import torch

    model, tok = load_base(base, device="cpu", dtype=torch.float32)
    model = load_adapters(model, {target: adapter})
    dialogues, catalog = load_split(data_dir, target, "test")
    dialogues = dialogues[:eval_dialogues]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    nll = reply_loss(
        model, tok, dialogues, catalog, max_seq_len, max(2048, max_seq_len), category_wording(data_dir, target)
    )
    gen: dict[str, list[float]] = {k: [] for k in ("rouge_l", "chrf", "hit1", "rec3", "answer_acc", "grounded")}
    turns = [
        (d, i, m) for d in dialogues for i, m in d.assistant_turns() if m.get("act") == "answer" and m.get("facts")
    ]
    turns = (
        turns[:gen_turns]
        + [
            (d, i, m)
            for d in dialogues
            for i, m in d.assistant_turns()
            if m.get("act") == "recommend" and m.get("products")
        ][:gen_turns]
    )
    with torch.no_grad():
        for d, i, m in turns:
            ids = render_prompt(turn_messages(d, i, catalog, category_wording(data_dir, target)), tok)[-max_seq_len:]
            out = model.generate(
                input_ids=torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
                eos_token_id=tok.eos_token_id,
            )
            text = tok.decode(out[0, len(ids) :], skip_special_tokens=True).strip()
            ref = m["content"]
            gen["rouge_l"].append(rouge_l(text, ref))
            gen["chrf"].append(chrf(text, ref))
            report = check_reply(text, catalog, category=target, shown=m.get("candidates") or None)
            if report.grounding_rate is not None:
                gen["grounded"].append(report.grounding_rate)
            if m.get("act") == "recommend":
                gen["hit1"].append(hit_at_k(report.products, m["products"], 1))
                gen["rec3"].append(recall_at_k(report.products, m["products"], 3))
            else:
                question = next((x["content"] for x in reversed(d.messages[:i]) if x["role"] == "user"), "")
                gen["answer_acc"].append(float(answer_is_correct(question, text, m["facts"], ref)))
    row: dict[str, float | None] = {"ppl": math.exp(min(nll, 50))}
    row.update({k: (statistics.mean(v) if v else None) for k, v in gen.items()})
    row["eval_turns"] = len(turns)
    return row


def run_cell(args: argparse.Namespace, method: str, target: str, shots: str, seed: int, source: Path) -> dict:
    """Train one (method, target, K, seed) cell with the recipe and score its adapter."""

    out = args.out / "runs" / target / method / f"k{shots}-s{seed}"
    overrides = [
        f"base={args.base}",
        f"data.data_dir={args.data}",
        f"out_dir={out}",
        f"method={method}",
        f"target={target}",
        f"shots={shots}",
        f"seed={seed}",
        f"source_adapter={source}",
        f"data.max_seq_len={args.max_seq_len}",
        "progress=false",
        *args.set,
    ]
    cfg = load_config(TransferConfig, args.config, overrides)
    t0 = time.time()
    adapter = transfer.main(cfg)
    train_s = time.time() - t0
    metrics = json.loads((adapter / "metrics.json").read_text())
    row = score_adapter(
        args.base,
        adapter,
        args.data,
        target,
        args.eval_dialogues,
        args.gen_turns,
        args.max_seq_len,
        args.max_new_tokens,
    )
    row["pad"] = metrics.get("proxy_a_distance")
    return {
        "method": method,
        "target": target,
        "shots": shots,
        "seed": seed,
        **row,
        "disc_acc_last": metrics.get("discriminator_accuracy_last"),
        "train_seconds": round(train_s, 1),
        "overrides": overrides,
    }


def _fmt(vals: list[float]) -> str:
    if not vals:
        return "-"
    m = statistics.mean(vals)
    s = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{m:.3f} ± {s:.3f}" if abs(m) < 10 else f"{m:.1f} ± {s:.1f}"


def tables(results: list[dict], targets: list[str]) -> str:
    """One markdown table per target: rows (K, method), columns the metrics as mean ± std over seeds."""
    out = []
    for target in targets:
        rows = [r for r in results if r["target"] == target]
        if not rows:
            continue
        out += [
            f"### target: {target}",
            "",
            "| K | method | seeds | " + " | ".join(METRICS) + " |",
            "|---|---|---|" + "---|" * len(METRICS),
        ]
        keys = sorted(
            {(r["shots"], r["method"]) for r in rows}, key=lambda k: (1e9 if k[0] == "all" else int(k[0]), k[1])
        )
        for shots, method in keys:
            cell = [r for r in rows if r["shots"] == shots and r["method"] == method]
            vals = {m: [r[m] for r in cell if r.get(m) is not None] for m in METRICS}
            out.append(f"| {shots} | {method} | {len(cell)} | " + " | ".join(_fmt(vals[m]) for m in METRICS) + " |")
        out.append("")
    return "\n".join(out)


def goal_check(results: list[dict], target: str, k: str = "32") -> list[str]:
    """The issue's goals, checked on what was run: ratio to the all-data target adapter, margins in std."""

    def vals(method: str, shots: str, metric: str) -> list[float]:
        return [
            r[metric]
            for r in results
            if r["target"] == target and r["method"] == method and r["shots"] == shots and r.get(metric) is not None
        ]

    lines = []
    best = "multitask+adversarial"
    for metric in ("ppl", "answer_acc", "hit1", "grounded", "rouge_l", "chrf"):
        every = [r[metric] for r in results if r["target"] == target and r.get(metric) is not None]
        if every and not any(every):
            lines.append(f"- {target} {metric}: 0 for every cell: not informative in this run")
            continue
        ours, ref = vals(best, k, metric), vals("target-only", "all", metric)
        if ours and ref:
            a, b = statistics.mean(ours), statistics.mean(ref)
            ratio = (b / a if metric == "ppl" else a / b) if a and b else float("nan")
            share = "n/a (a value is 0)" if math.isnan(ratio) else f"{ratio * 100:.0f}%"
            lines.append(
                f"- {target} {metric}: {best} K={k} reaches {share} of target-only K=all "
                f"({a:.3f} vs {b:.3f}; ppl compared as its inverse)"
            )
        for other in ("target-only", "finetune"):
            theirs = vals(other, k, metric)
            if ours and len(theirs) > 1 and len(ours) > 1:
                diff = statistics.mean(ours) - statistics.mean(theirs)
                if metric == "ppl":
                    diff = -diff
                sd = max(statistics.stdev(ours), statistics.stdev(theirs), 1e-9)
                lines.append(
                    f"- {target} {metric}: {best} vs {other} at K={k}: {diff:+.3f} = {diff / sd:+.1f} std "
                    f"({'beats by > 2 std' if diff > 2 * sd else 'NOT > 2 std'})"
                )
        zero, src = vals(best, "0", metric), vals("source-only", "0", metric)
        if zero and src:
            a, b = statistics.mean(zero), statistics.mean(src)
            better = a < b if metric == "ppl" else a > b
            lines.append(
                f"- {target} {metric}: K=0 {best} {a:.3f} vs source-only {b:.3f} "
                f"({'beats' if better else 'does NOT beat'} source-only)"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench transfer`."""
    ap = argparse.ArgumentParser(
        prog="shopguide bench transfer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--base", required=True, help="base model folder (e.g. from `shopguide train pretrain`)")
    ap.add_argument("--data", default="data/demo", help="data folder (catalog/, dialogues/, unlabeled/)")
    ap.add_argument("--config", default="training/configs/transfer.yaml")
    ap.add_argument("--set", nargs="*", default=[], help="extra recipe overrides, e.g. max_steps=30 seq_len=1024")
    ap.add_argument(
        "--methods", nargs="*", default=["source-only", "target-only", "finetune", "multitask+adversarial"]
    )
    ap.add_argument("--targets", nargs="*", default=["electronics", "beauty"])
    ap.add_argument("--shots", nargs="*", default=["0", "8", "32", "all"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--source", default="", help="trained source adapter; empty: train once into OUT/source")
    ap.add_argument("--eval-dialogues", type=int, default=20)
    ap.add_argument("--gen-turns", type=int, default=16)
    ap.add_argument("--max-seq-len", type=int, default=640)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("outputs/bench_transfer"))
    ap.add_argument("--doc", type=Path, default=Path("docs/bench_transfer.md"))
    ap.add_argument("--report-only", action="store_true", help="write the tables from finished cells; run nothing")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import torch

    torch.manual_seed(0)
    results_path = args.out / "results.jsonl"
    done = [json.loads(x) for x in results_path.read_text().splitlines() if x.strip()] if results_path.exists() else []
    source = Path(args.source) if args.source or args.report_only else _source_adapter(args)
    cells = [
        (m, t, k, s)
        for t in args.targets
        for k in args.shots
        for m in args.methods
        for s in args.seeds
        if not (m in ("target-only", "finetune") and k == "0") and not (m == "source-only" and k != "0")
    ]
    have = {(r["method"], r["target"], r["shots"], r["seed"]) for r in done}
    todo = [] if args.report_only else [c for c in cells if c not in have]
    log.info("%d cells, %d done, %d to run", len(cells), len([c for c in cells if c in have]), len(todo))
    from tqdm.auto import tqdm

    try:
        for m, t, k, s in tqdm(todo, desc="transfer bench"):
            row = run_cell(args, m, t, k, s, source)
            log.info("%s", {k2: v for k2, v in row.items() if k2 != "overrides"})
            args.out.mkdir(parents=True, exist_ok=True)
            with open(results_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            done.append(row)
    except DataError as e:
        print(e, file=sys.stderr)
        return 1
    wanted = set(cells)
    results = [r for r in done if (r["method"], r["target"], r["shots"], r["seed"]) in wanted]
    text = tables(results, args.targets)
    print(text)
    goals = [line for t in args.targets for line in goal_check(results, t)]
    print("\n".join(goals))
    cmd = "shopguide bench transfer " + " ".join(argv if argv is not None else sys.argv[1:])
    missing = [c for c in cells if c not in {(r["method"], r["target"], r["shots"], r["seed"]) for r in results}]
    _write_doc(args.doc, cmd, text, goals, missing)
    return 0


def _source_adapter(args: argparse.Namespace) -> Path:
    cfg = load_config(
        TransferConfig,
        args.config,
        [
            f"base={args.base}",
            f"data.data_dir={args.data}",
            f"out_dir={args.out / 'source'}",
            "progress=false",
            f"data.max_seq_len={args.max_seq_len}",
            *args.set,
        ],
    )
    return source_adapter_dir(cfg)


HEADER = """# Cross-category transfer benchmark (bundled demo data)

Source category apparel (plus shoes, home for `meta`), targets from the demo generator
(`shopguide data generate --out data/demo --seed 0`). Each section below is one `shopguide bench transfer`
command; every cell is one recipe run (`shopguide train transfer ...`, its overrides are stored in
`OUT/results.jsonl`) scored on the target *test* split. Metrics (see `training/bench/transfer.py`):
ppl = perplexity of the reference replies (lower is better); answer_acc = attribute answers judged correct
by `assistant.evaluation.answers.answer_is_correct`; hit1 / rec3 = Hit@1 / Recall@3 of the products the
reply names; grounded = share of stated facts that match the catalog; rouge_l / chrf of greedy replies;
pad = proxy A-distance between source and target text features under the adapter (lower = more aligned).
mean ± std over seeds; a method run with one seed shows ± 0.000. Nothing was tuned on the test split:
every setting is the config default or fixed up front for compute.

"""


def _write_doc(path: Path, cmd: str, text: str, goals: list[str], missing: list[tuple]) -> None:
    section = f"""## Run: `{cmd}`

{text}
Goal checks on these cells (the issue's targets; "NOT" marks a goal this run does not meet):

{chr(10).join(goals) or "- (no comparable cells)"}

Cells of this command not run: {", ".join("/".join(map(str, c)) for c in missing) or "none"}.
"""
    old = path.read_text() if path.exists() else ""
    marker = f"## Run: `{cmd}`"
    if marker in old:  # replace this command's section, keep the others
        head, _, rest = old.partition(marker)
        nxt = rest.find("\n## Run: ")
        old = head + (rest[nxt + 1 :] if nxt >= 0 else "")
    if not old.strip():
        old = HEADER
    atomic_write_text(path, old.rstrip() + "\n\n" + section)


if __name__ == "__main__":
    sys.exit(main())
