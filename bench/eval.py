"""`shopguide bench eval`: throughput of `shopguide eval` -- transcripts per minute for scoring and replay.

    shopguide bench eval                                   # demo test split (+ RecQuest when present)
    shopguide bench eval --assistant demo --replay-dialogues 20
    shopguide bench eval --workers 1,2 --out docs/bench_eval.md

Rows:
  score     transcript scoring (grounding, target, acceptance, elicitation, length) of every dialogue;
  replay    replay through an assistant bundle (`--assistant DIR`, default `demo/` when it exists): each
            reference assistant turn is regenerated, so this is dominated by the model;
  harness   replay through an "echo" assistant that returns the reference reply instantly: the cost of the
            replay bookkeeping and metrics (ROUGE-L, chrF, BLEU, ranking, grounding) without any model.
Each row is one fresh run (no resume) with the report disabled; wall time includes reading the catalog
and the transcripts. Results go to a markdown file with the exact command.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.evaluation.runner import run_eval
from retrieval.fileio import atomic_write_text
from training.data_tools.importers import main as import_main

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


class EchoAssistant:
    """Replies with the reference reply of the dialogue it is replaying (looked up by history): no model."""

    def __init__(self, dialogues_path: Path):
        import json

        self.next: dict[tuple[str, ...], tuple[str, list[str]]] = {}
        with open(dialogues_path, encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                msgs = [m for m in d["messages"] if m["role"] != "system"]
                for i, m in enumerate(msgs):
                    if m["role"] == "assistant":
                        key = tuple(x["content"] for x in msgs[:i])
                        self.next[key] = (m["content"], list(m.get("products") or []))

    def reply(self, messages: list[dict[str, Any]], category: str | None = None) -> Any:
        from types import SimpleNamespace

        text, prods = self.next.get(tuple(m["content"] for m in messages), ("", []))
        return SimpleNamespace(text=text, products=prods, category=category, needs={}, grounding=None)


def _describe(bundle: str) -> str:
    """`name/: adapters a, b` from the bundle's assistant.json (what the replay row measured)."""
    import json

    try:
        cfg = json.loads((Path(bundle) / "assistant.json").read_text())
        adapters = ", ".join(sorted(cfg.get("adapters") or {})) or "none"
    except (OSError, ValueError):
        adapters = "?"
    return f"{Path(bundle).name}/: adapters {adapters}"


def _concat(files: list[Path], out: Path) -> int:
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for p in files:
            for line in open(p, encoding="utf-8"):
                if line.strip():
                    f.write(line if line.endswith("\n") else line + "\n")
                    n += 1
    return n


def _time_run(name: str, transcripts: Path, catalog: Path, workdir: Path, **kw: Any) -> dict[str, Any]:
    out = workdir / name
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    m = run_eval(transcripts, catalog, out, report=False, progress=False, fresh=True, **kw)
    wall = time.perf_counter() - t0
    c = m["counts"]
    words = m["overall"].get("words", m["overall"].get("words_per_turn", {})).get("mean")
    return {
        "dialogues": c["dialogues"],
        "turns": c["assistant_turns"],
        "seconds": wall,
        "words": words,
        "per_minute": 60 * c["dialogues"] / wall if wall else float("nan"),
        "turns_per_second": c["assistant_turns"] / wall if wall else float("nan"),
        "errors": c["errors"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the markdown results file; returns the exit code."""
    p = argparse.ArgumentParser(
        prog="shopguide bench eval",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument("--data", default=str(REPO / "data" / "demo"), help="demo data folder (catalog/, dialogues/)")
    p.add_argument(
        "--recquest",
        default=None,
        help="RecQuest import folder (catalog.jsonl, dialogues/); default: import "
        "../shared/data/recquest into a temporary folder when present",
    )
    p.add_argument("--assistant", default=None, help="assistant bundle for the replay row (default demo/ if present)")
    p.add_argument("--workers", default="1,2", help="process counts for the scoring rows (default 1,2)")
    p.add_argument(
        "--replay-dialogues", type=int, default=10, help="dialogues replayed through the model (default 10)"
    )
    p.add_argument("--out", default=str(REPO / "docs" / "bench_eval.md"), help="markdown results file")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    data = Path(args.data)
    if not (data / "catalog").is_dir():
        print(f"{data}: -: no demo data here (run `shopguide data generate --out {data} --seed 0`)", file=sys.stderr)
        return 1
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    rows: list[tuple[str, str, str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        tmp = Path(tmp)
        demo_t = tmp / "demo_test.jsonl"
        _concat(sorted((data / "dialogues").glob("*.test.jsonl")), demo_t)
        sets = [("demo test", demo_t, data / "catalog")]
        rq = Path(args.recquest) if args.recquest else None
        if rq is None and (SHARED / "recquest").is_dir():
            rq = tmp / "recquest"
            import_main(["recquest", str(SHARED / "recquest"), "--out", str(rq)])
        if rq is not None and (rq / "catalog.jsonl").is_file():
            rq_t = tmp / "recquest.jsonl"
            _concat(sorted((rq / "dialogues").glob("*.jsonl")), rq_t)
            sets.append(("RecQuest", rq_t, rq / "catalog.jsonl"))
        for label, t, cat in sets:
            for w in workers:
                r = _time_run(f"score-{label}-{w}".replace(" ", "_"), t, cat, tmp, workers=w)
                rows.append(("score", label, f"{w} process(es)", r))
                print(f"score  {label:10s} workers={w}: {r['per_minute']:.0f} transcripts/min")
        r = _time_run("harness", demo_t, data / "catalog", tmp, assistant=EchoAssistant(demo_t))
        rows.append(("replay harness (echo, no model)", "demo test", "1 process", r))
        print(f"harness demo test: {r['per_minute']:.0f} transcripts/min")
        bundle = args.assistant or (str(REPO / "demo") if (REPO / "demo" / "assistant.json").is_file() else None)
        if bundle:
            r = _time_run("replay", demo_t, data / "catalog", tmp, assistant_dir=bundle, limit=args.replay_dialogues)
            rows.append((f"replay ({_describe(bundle)})", "demo test", "1 process", r))
            print(f"replay demo test: {r['per_minute']:.2f} transcripts/min, {r['turns_per_second']:.2f} turns/s")
        else:
            print("no assistant bundle (pass --assistant DIR): replay row skipped")
    cmd = "shopguide bench eval " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# `shopguide eval` throughput",
        "",
        f"Command: `{cmd.strip()}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores visible, Python {platform.python_version()}. "
        "CPU shared with other jobs while this ran, so the numbers are noisy (a lower bound).",
        "",
        "| mode | transcripts | processes | dialogues | assistant turns | seconds | transcripts/min | turns/s |"
        " words/reply | failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, label, procs, r in rows:
        words = "–" if r["words"] is None else f"{r['words']:.1f}"
        lines.append(
            f"| {mode} | {label} | {procs} | {r['dialogues']} | {r['turns']} | {r['seconds']:.1f} | "
            f"{r['per_minute']:.1f} | {r['turns_per_second']:.2f} | {words} | {r['errors']} |"
        )
    if not any(m.startswith("replay (") for m, *_ in rows):
        lines += [
            "",
            "No assistant bundle was available, so the model replay row is missing; run with `--assistant DIR`.",
        ]
    lines += [
        "",
        "Rows: *score* = transcript scoring; *replay harness* = replay through an assistant that echoes "
        "the reference reply (metrics and bookkeeping cost without a model); *replay* = replay through "
        "the bundle (each reference assistant turn regenerated; the first `--replay-dialogues` dialogues; "
        "wall time includes loading the bundle, and generation time grows with reply length, so "
        "words/reply is shown).",
        "",
    ]
    atomic_write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
