"""Cross-category transfer on a 2-core CPU: a table that finishes in <= 2 hours and resumes from the repo.

    python -m training.bench.transfer_cpu                     # the whole table (docs/bench_transfer.md: ~2 h)
    python -m training.bench.transfer_cpu --targets electronics --rows finetune:32 --seeds 0 --max-cells 1
    python -m training.bench.transfer_cpu --report-only       # rewrite the table in docs/bench_transfer.md

The protocol (issue #24): every cell is one run of the transfer recipe (`training/transfer.py`) with
  - per-turn examples with the dialogue state in the prompt (`data.state_in_prompt=true`,
    `data.history_messages=2`: needs so far + titles shown + the last 2 messages; ~460-550 tokens a turn),
  - the same step budget (`--steps`) and tokens per step for every method,
  - the demo's apparel adapter as the source (`--source`, reused, not retrained),
and its target adapter is scored on the target *test* split with the CTranslate2 engine (greedy,
`CT2Engine.from_folders(...).generate`), each turn prompted exactly as training renders it (`turn_messages`
with the same `PromptFormat`). The scores are the judge's, never the assistant's own checks:
  answer_acc   strict attribute-answer accuracy (`assistant.evaluation.answers.answer_is_correct`), answer turns
  compare_acc  compare turns: every compared value stated and no wrong fact read by the judge's reader
  quality      the judge's verdict (`evaluation.verdicts.ReplyJudge`, earlier turns replayed with the reference
               replies) on point, and no writing glitch (`evaluation.quality.glitches`); all scored turns
  wrong_fact   share of scored replies with a wrong fact by that verdict (a contradicted price or value, an
               invented product, a recommendation that breaks a stated need)
  fallback     share of replies the assistant's checks would have to replace: empty, a refusal, a recommend
               turn naming no product, an answer / compare turn stating no fact (read by the judge's reader)
  ppl          reply perplexity on the target validation split (teacher forcing, the recipe's `val_loss`)
  pad          proxy A-distance of source vs target text under the adapter (diagnostic; lower = closer)
Rows: source-only K=0 (no training: one run, the same for every seed), multitask+adversarial K=0 (source
dialogues + target unlabeled utterances), target-only, finetune and multitask+adversarial at K=32.

Every finished cell is one line of `--results` (default `docs/results/transfer_cpu.jsonl`, committed), written
atomically; a rerun skips the cells whose (method, target, K, seed, protocol) are there, so the table is
finished by whoever runs next, on any machine. The protocol id hashes every setting that changes a number,
the demo dialogues included (`data_digest`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from assistant.evaluation.answers import answer_is_correct, value_in_reply
from assistant.evaluation.quality import declines, glitches
from assistant.evaluation.reading import reader_for
from assistant.evaluation.verdicts import ReplyJudge
from assistant.generation.base_models import resolve_base
from assistant.generation.chat_format import PromptFormat
from assistant.generation.ct2_engine import CT2Engine
from assistant.generation.engine import GenerationSettings
from retrieval.fileio import DataError, atomic_write_text
from training import transfer
from training.config import load_config
from training.examples import category_wording, load_split, prompt_format, turn_messages
from training.transfer import TransferConfig

log = logging.getLogger(__name__)

DEFAULT_DATA = "data/demo"
ROWS = ("source-only:0", "multitask+adversarial:0", "target-only:32", "finetune:32", "multitask+adversarial:32")
METRICS = ("answer_acc", "compare_acc", "quality", "wrong_fact", "fallback", "ppl", "pad")
LOWER_IS_BETTER = {"wrong_fact", "fallback", "ppl", "pad"}
# the recipe settings of the protocol (besides --steps / --tokens-per-step): short per-turn examples, small
# auxiliary batches, a few validation dialogues; `--set` adds or replaces any `train transfer` key
RECIPE = (
    "data.state_in_prompt=true",
    "data.history_messages=2",
    "data.max_seq_len=768",
    "data.max_source_dialogues=64",
    "data.max_eval_dialogues=2",
    "warmup_steps=2",
    "log_every=5",
    "transfer.aux_rows=1",
    "transfer.text_batch_size=4",
    "transfer.text_max_len=64",
)


def data_digest(data: Path) -> str:
    """A hash of the demo dialogues (`DATA/dialogues/*.jsonl`): cells measured on other data get another id."""
    h = hashlib.sha256()
    for path in sorted((data / "dialogues").glob("*.jsonl")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:10]


def protocol(args: argparse.Namespace) -> dict[str, Any]:
    """Every setting that changes a cell's numbers, and its short id (`id`)."""
    settings = {
        "base": str(args.base),
        "source": str(args.source),
        "steps": args.steps,
        "tokens_per_step": args.tokens_per_step,
        "recipe": [*RECIPE, *args.set],
        "eval": {"answer": args.answer_turns, "compare": args.compare_turns, "recommend": args.recommend_turns},
        "max_new_tokens": args.max_new_tokens,
        "data": data_digest(Path(getattr(args, "data", DEFAULT_DATA))),  # tests build args without --data
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return {"id": f"cpu-{digest}", **settings}


def cells(args: argparse.Namespace) -> list[tuple[str, str, str, int]]:
    """(method, target, K, seed) of the table; source-only runs once per target (it trains nothing)."""
    out = []
    for target in args.targets:
        for row in args.rows:
            method, _, shots = row.partition(":")
            for seed in args.seeds[:1] if method == "source-only" else args.seeds:
                out.append((method, target, shots, seed))
    return out


def read_results(path: Path) -> list[dict[str, Any]]:
    """The finished cells; a torn line (a write killed half way on an old file system) is skipped."""
    rows = []
    if path.exists():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                rows.append(json.loads(line)) if line.strip() else None
            except json.JSONDecodeError:
                log.warning("%s:%d: not JSON, skipped", path, n)
    return rows


def append_result(path: Path, row: dict[str, Any]) -> None:
    """Add one cell to the results file: the whole file rewritten by rename (fsync'ed), never half a line."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    atomic_write_text(path, old + json.dumps(row, sort_keys=True) + "\n")


def eval_turns(dialogues: list[Any], n_answer: int, n_compare: int, n_recommend: int) -> list[tuple[Any, int, Any]]:
    """The scored turns of the test split, the same for every cell: the first answer turns with facts, compare
    turns with facts and recommend turns with products, in dialogue order."""
    picked: list[tuple[Any, int, Any]] = []
    for act, n, needs in (
        ("answer", n_answer, "facts"),
        ("compare", n_compare, "facts"),
        ("recommend", n_recommend, "products"),
    ):
        turns = [(d, i, m) for d in dialogues for i, m in d.assistant_turns() if m.get("act") == act and m.get(needs)]
        picked += turns[:n]
    return picked


def judge_turn(reader: Any, d: Any, i: int, reply: str) -> dict[str, bool]:
    """The judge's verdict on `reply` at assistant turn `i` of dialogue `d`, after replaying the earlier turns
    with their reference replies; cards are the products the reference shows (what the turn is about)."""
    judge = ReplyJudge(reader, d.category)
    user = ""
    for j, m in enumerate(d.messages[:i]):
        if m["role"] == "user":
            user = m["content"]
        else:
            judge.judge(user, m["content"], [str(p) for p in m.get("products") or []])
    m = d.messages[i]
    cards = [str(p) for p in m.get("products") or []]
    verdict = judge.judge(user, reply, cards)
    reading = reader.read(reply, d.category, cards)
    shelf = reader.shelf(d.category)
    clean = not glitches(reply, {a: vs.keys() for a, vs in shelf.attributes.items()}, reading.names)
    act = m.get("act")
    empty_handed = (act == "recommend" and not reading.products) or (act != "recommend" and not reading.facts)
    return {
        "on_point": verdict.on_point,
        "quality": verdict.on_point and clean,
        "wrong_fact": verdict.wrong_fact,
        "fallback": not reply.strip() or declines(reply) or empty_handed,
        "no_wrong_read": not reading.wrong and not reading.unknown,
    }


def score_cell(args: argparse.Namespace, adapter: Path, target: str, work: Path, fmt: PromptFormat) -> dict[str, Any]:
    """Generate the scored turns with the CTranslate2 engine (the adapter converted into `work/ct2`, removed
    after), each prompted in `fmt` (the format the adapter was trained with), and compute the judge's metrics."""
    dialogues, catalog = load_split(args.data, target, "test")
    turns = eval_turns(dialogues, args.answer_turns, args.compare_turns, args.recommend_turns)
    wording = category_wording(args.data, target)
    engine = CT2Engine.from_folders(
        resolve_base(args.base), {target: adapter}, threads=args.threads, cache=work / "ct2",
        progress=False, include_base=False, parallel=1,
    )  # fmt: skip
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, repetition_penalty=1.0)
    reader = reader_for(catalog)
    got: dict[str, list[float]] = {k: [] for k in ("answer_acc", "compare_acc", "quality", "wrong_fact", "fallback")}
    examples = []
    t0 = time.monotonic()
    for d, i, m in turns:
        reply = engine.generate(turn_messages(d, i, catalog, wording, fmt), adapter=target, settings=settings)
        question = next((x["content"] for x in reversed(d.messages[:i]) if x["role"] == "user"), "")
        v = judge_turn(reader, d, i, reply)
        for k in ("quality", "wrong_fact", "fallback"):
            got[k].append(float(v[k]))
        if m["act"] == "answer":
            got["answer_acc"].append(float(answer_is_correct(question, reply, m["facts"], m["content"])))
        elif m["act"] == "compare":
            stated = all(value_in_reply(f["value"], f["field"], reply) for f in m["facts"])
            got["compare_acc"].append(float(stated and v["no_wrong_read"]))
        if len(examples) < 3 or (m["act"] == "compare" and len(examples) < 4):
            examples.append({"act": m["act"], "question": question, "reply": reply})
    gen_s = time.monotonic() - t0
    del engine
    shutil.rmtree(work / "ct2", ignore_errors=True)
    row: dict[str, Any] = {k: (statistics.mean(v) if v else None) for k, v in got.items()}
    row.update(turns={k: len(v) for k, v in got.items()}, generate_seconds=round(gen_s, 1), examples=examples)
    return row


def run_cell(args: argparse.Namespace, proto: dict[str, Any], cell: tuple[str, str, str, int]) -> dict[str, Any]:
    """Train one cell with the recipe (resumes a killed run), score it, and return its result line."""
    method, target, shots, seed = cell
    work = args.out / "runs" / proto["id"] / target / method / f"k{shots}-s{seed}"
    overrides = [
        f"base={args.base}", f"data.data_dir={args.data}", f"out_dir={work}", f"method={method}",
        f"target={target}", f"shots={shots}", f"seed={seed}", f"source_adapter={args.source}",
        f"max_steps={args.steps}", f"save_every={max(1, args.steps // 2)}", f"seq_len={args.tokens_per_step}",
        "progress=false", *RECIPE, *args.set,
    ]  # fmt: skip
    cfg = load_config(TransferConfig, args.config, overrides)
    t0, cpu0 = time.time(), time.process_time()
    adapter = transfer.main(cfg)
    train_s = time.time() - t0
    if not (adapter / "metrics.json").exists():
        raise RuntimeError(f"{adapter}: the recipe stopped before the adapter was saved")
    metrics = json.loads((adapter / "metrics.json").read_text())
    t1 = time.time()
    row = score_cell(args, adapter, target, work, prompt_format(cfg.data))
    row.update(ppl=metrics.get("val_ppl"), pad=metrics.get("proxy_a_distance"))
    return {
        "method": method, "target": target, "shots": shots, "seed": seed, "protocol": proto["id"], **row,
        "val_loss": metrics.get("val_loss"), "disc_acc_last": metrics.get("discriminator_accuracy_last"),
        "train_seconds": round(train_s, 1), "score_seconds": round(time.time() - t1, 1),
        "wall_seconds": round(time.time() - t0, 1), "cpu_seconds": round(time.process_time() - cpu0, 1),
        "load_average": round(os.getloadavg()[0], 1), "threads": args.threads, "overrides": overrides,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }  # fmt: skip


def _fmt(vals: list[float]) -> str:
    if not vals:
        return "-"
    m = statistics.mean(vals)
    s = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{m:.3f} ± {s:.3f}" if abs(m) < 10 else f"{m:.1f} ± {s:.1f}"


def table(results: list[dict[str, Any]], proto: dict[str, Any], args: argparse.Namespace) -> str:
    """Markdown: one table per target (mean ± std over seeds, wall time per cell), the goal checks, what is left."""
    out = []
    mine = [r for r in results if r.get("protocol") == proto["id"]]
    for target in args.targets:
        rows = [r for r in mine if r["target"] == target]
        out += [f"### target: {target}", "", "| K | method | seeds | " + " | ".join(METRICS) + " | wall min / cell |"]
        out.append("|---|---|---|" + "---|" * (len(METRICS) + 1))
        for spec in args.rows:
            method, _, shots = spec.partition(":")
            cell = [r for r in rows if r["method"] == method and r["shots"] == shots]
            if not cell:
                out.append(f"| {shots} | {method} | - | " + " | ".join("-" for _ in METRICS) + " | - |")
                continue
            vals = {m: [r[m] for r in cell if r.get(m) is not None] for m in METRICS}
            wall = statistics.mean(r["wall_seconds"] for r in cell) / 60
            seeds = ",".join(str(r["seed"]) for r in cell)
            out.append(
                f"| {shots} | {method} | {seeds} | " + " | ".join(_fmt(vals[m]) for m in METRICS) + f" | {wall:.1f} |"
            )
        out.append("")
    out += ["Goal checks (issue #24; 'NOT' marks a goal these cells do not meet):", ""]
    out += [line for t in args.targets for line in goal_check(mine, t)] or ["- (no comparable cells yet)"]
    done = {(r["method"], r["target"], r["shots"], r["seed"]) for r in mine}
    todo = [c for c in cells(args) if c not in done]
    spent = sum(r["wall_seconds"] for r in mine) / 60
    out += ["", f"Protocol `{proto['id']}`: {len(done)} of {len(cells(args))} cells finished ({spent:.0f} min of wall "
            f"time); left: {', '.join('/'.join(map(str, c)) for c in todo) or 'none'}."]  # fmt: skip
    return "\n".join(out)


def goal_check(results: list[dict[str, Any]], target: str) -> list[str]:
    """K=32: multitask+adversarial above target-only and finetune by > 2 std (and >= 95% of target-only K=all
    when that row was run); K=0: above source-only by > 2 std."""

    def vals(method: str, shots: str, metric: str) -> list[float]:
        return [r[metric] for r in results if (r["target"], r["method"], r["shots"]) == (target, method, shots)
                and r.get(metric) is not None]  # fmt: skip

    lines = []
    for metric in ("answer_acc", "quality", "wrong_fact"):
        sign = -1 if metric in LOWER_IS_BETTER else 1
        for shots, other in (("32", "target-only"), ("32", "finetune"), ("0", "source-only")):
            ours, theirs = vals("multitask+adversarial", shots, metric), vals(other, shots, metric)
            if len(ours) < 2 or not theirs:
                continue
            diff = sign * (statistics.mean(ours) - statistics.mean(theirs))
            sd = max(statistics.stdev(ours), statistics.stdev(theirs) if len(theirs) > 1 else 0.0, 1e-9)
            verdict = "beats by > 2 std" if diff > 2 * sd else "NOT > 2 std"
            lines.append(f"- {target} {metric} K={shots}: multitask+adversarial vs {other} {diff:+.3f} "
                         f"({diff / sd:+.1f} std, {verdict})")  # fmt: skip
        ours, every = vals("multitask+adversarial", "32", metric), vals("target-only", "all", metric)
        if ours and every and metric not in LOWER_IS_BETTER and statistics.mean(every) > 0:
            share = statistics.mean(ours) / statistics.mean(every)
            lines.append(f"- {target} {metric}: multitask+adversarial K=32 reaches {share:.0%} of target-only K=all "
                         f"({'>= 95%' if share >= 0.95 else 'NOT >= 95%'})")  # fmt: skip
    return lines


BEGIN, END = (
    "<!-- transfer-cpu:begin (python -m training.bench.transfer_cpu --report-only) -->",
    "<!-- transfer-cpu:end -->",
)


def write_doc(path: Path, text: str, command: str) -> None:
    """Replace the generated part of `path` (between the markers) with `text`; the rest is written by hand."""
    body = f"{BEGIN}\n\nCommand: `{command}`\n\n{text}\n\n{END}"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        new = head + body + rest.partition(END)[2]
    else:
        new = old.rstrip() + ("\n\n" if old else "") + body + "\n"
    atomic_write_text(path, new)


def main(argv: list[str] | None = None) -> int:
    """`python -m training.bench.transfer_cpu`."""
    ap = argparse.ArgumentParser(prog="python -m training.bench.transfer_cpu", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--base", default="smollm2-135m-instruct")
    ap.add_argument("--data", default=DEFAULT_DATA, help="`shopguide data generate --out data/demo --seed 0`")
    ap.add_argument("--source", default="demo/adapters/apparel", help="the trained source adapter (reused)")
    ap.add_argument("--config", default="training/configs/transfer.yaml")
    ap.add_argument("--targets", nargs="*", default=["electronics", "beauty"])
    ap.add_argument("--rows", nargs="*", default=list(ROWS), help="METHOD:K, e.g. finetune:32")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=12, help="optimizer steps of every trained cell")
    ap.add_argument("--tokens-per-step", type=int, default=768, help="LM tokens per step (B x longest)")
    ap.add_argument("--set", nargs="*", default=[], help="extra recipe overrides (change the protocol id)")
    ap.add_argument("--answer-turns", type=int, default=12)
    ap.add_argument("--compare-turns", type=int, default=6)
    ap.add_argument("--recommend-turns", type=int, default=6)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2, help="torch and CTranslate2 threads")
    ap.add_argument("--max-cells", type=int, default=None, help="stop after this many cells (timing, a slice)")
    ap.add_argument("--out", type=Path, default=Path("outputs/bench_transfer_cpu"))
    ap.add_argument("--results", type=Path, default=Path("docs/results/transfer_cpu.jsonl"))
    ap.add_argument("--doc", type=Path, default=Path("docs/bench_transfer.md"))
    ap.add_argument("--report-only", action="store_true", help="rewrite the table from --results; run nothing")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    proto = protocol(args)
    done = {(r["method"], r["target"], r["shots"], r["seed"]) for r in read_results(args.results)
            if r.get("protocol") == proto["id"]}  # fmt: skip
    todo = [] if args.report_only else [c for c in cells(args) if c not in done][: args.max_cells]
    log.info("protocol %s: %d cells, %d done, %d to run now", proto["id"], len(cells(args)), len(done), len(todo))
    if todo:
        import torch

        torch.set_num_threads(args.threads)
    try:
        for cell in todo:
            row = run_cell(args, proto, cell)
            append_result(args.results, row)
            log.info(
                "cell %s: %s",
                "/".join(map(str, cell)),
                {m: row.get(m) for m in METRICS} | {"wall_s": row["wall_seconds"]},
            )
    except DataError as e:
        print(e, file=sys.stderr)
        return 1
    text = table(read_results(args.results), proto, args)
    print(text)
    command = "python -m training.bench.transfer_cpu " + " ".join(argv if argv is not None else sys.argv[1:])
    write_doc(args.doc, text, command.replace(" --report-only", "").strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
