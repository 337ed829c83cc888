"""`shopguide eval`: score dialogue transcripts, replay them through an assistant, or compare two runs.

    shopguide eval data/demo/dialogues/shoes.test.jsonl --catalog data/demo/catalog --out runs/eval-shoes
    shopguide eval TRANSCRIPTS.jsonl --catalog CATALOG --assistant demo --out runs/replay --workers 2
    shopguide eval --compare runs/replay-old runs/replay-new --out runs/compare

Outputs in --out: metrics.json, results.jsonl (one record per dialogue), report.html; a compare run writes
comparison.json and compare.html. Runs resume: rerun the same command after an interruption.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from assistant.evaluation.report import write_compare_report
from assistant.evaluation.runner import read_results, run_eval
from assistant.evaluation.stages import format_stage_table
from assistant.evaluation.summary import compare_runs
from retrieval.fileio import DataError, atomic_write_json

EPILOG = """examples:
  shopguide eval data/demo/dialogues/shoes.test.jsonl --catalog data/demo/catalog --out runs/eval-shoes
  shopguide eval logs.jsonl --catalog catalog/ --assistant demo --out runs/replay --workers 2
  shopguide eval --compare runs/replay-old runs/replay-new --out runs/compare

modes:
  scoring (no --assistant): checks every assistant turn of the transcripts against the catalog (products
    named, prices and attribute values stated, unknown products), recommendations against the dialogue's
    target and the shopper's next reply, elicitation, length and repetition.
  replay (--assistant DIR): sends each reference dialogue's history to the assistant at every assistant turn
    and compares the reply with the reference one: ROUGE-L, chrF, BLEU, Hit/Recall/NDCG@k and MRR of its
    products against the reference turn's products and the target (also without products mentioned
    earlier), plus the grounding checks.
  compare (--compare A B): differences B - A of every metric with 95% bootstrap CIs (paired by dialogue id).

Malformed lines are reported as file:line: field: message, skipped and listed in metrics.json ("skipped").
A dialogue that cannot be scored or replayed (e.g. no assistant turn follows a user message) is counted as
failed and listed; the run then exits 1 unless --allow-errors. Metric definitions: docs/eval.md.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shopguide eval",
        description=__doc__.split("\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("transcripts", nargs="?", help="dialogue JSONL file (contract: docs/architecture.md)")
    p.add_argument("--catalog", help="catalog file or folder the transcripts' products come from")
    p.add_argument("--assistant", metavar="DIR", help="assistant bundle to replay the dialogues through")
    p.add_argument("--out", required=True, help="output folder (created; an existing run there is resumed)")
    p.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"), help="compare two earlier --out folders")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1; replay loads a model per process)")
    p.add_argument("--k", default="1,3,5", help="ranking cut-offs, comma-separated (default 1,3,5)")
    p.add_argument("--limit", type=int, help="evaluate only the first N dialogues of the file")
    p.add_argument("--fresh", action="store_true", help="discard earlier results in --out instead of resuming")
    p.add_argument("--worst", type=int, default=6, help="worst dialogues shown in the report (default 6)")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples for --compare (default 2000)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--other-catalog",
        action="append",
        default=[],
        metavar="CATALOG",
        help="another shop's catalog (repeatable): replies naming its products are counted (other_catalog_products)",
    )
    p.add_argument(
        "--allow-errors", action="store_true", help="exit 0 even when some dialogues failed (they are still counted)"
    )
    return p


def _compare(args: argparse.Namespace) -> int:
    runs = []
    for d in args.compare:
        path = Path(d) / "results.jsonl"
        if not path.is_file():
            print(f"{path}: -: no results.jsonl here (run `shopguide eval ... --out {d}` first)", file=sys.stderr)
            return 1
        runs.append(read_results(path))
    cmp = compare_runs(runs[0], runs[1], n_resamples=args.resamples)
    meta = {"a": str(Path(args.compare[0]).resolve()), "b": str(Path(args.compare[1]).resolve())}
    out = Path(args.out)
    atomic_write_json(out / "comparison.json", {"meta": meta, **cmp})
    if not args.no_report:
        write_compare_report(out / "compare.html", cmp, meta)
    how = f"paired: {cmp['n_pairs']}" if cmp["paired"] else "unpaired"
    print(f"compared {cmp['n_a']} vs {cmp['n_b']} dialogues ({how})")
    print(f"{'metric':28s} {'A':>9s} {'B':>9s} {'B-A':>9s}  95% CI")
    for name, d in list(cmp["overall"].items())[:20]:
        if d["diff"] is None:
            continue
        print(f"{name:28s} {d['a']:9.4f} {d['b']:9.4f} {d['diff']:+9.4f}  [{d['lo']:+.4f}, {d['hi']:+.4f}]")
    print(f"wrote {out / 'comparison.json'}" + ("" if args.no_report else f" and {out / 'compare.html'}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run `shopguide eval`; returns the exit code (1 with file:line: field: message on bad input)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("assistant.evaluation").setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        if args.compare:
            return _compare(args)
        if not args.transcripts or not args.catalog:
            print(
                "shopguide eval: TRANSCRIPTS and --catalog are required (or use --compare RUN_A RUN_B)",
                file=sys.stderr,
            )
            return 2
        try:
            k_values = tuple(sorted({int(x) for x in args.k.split(",") if x.strip()}))
        except ValueError:
            print(f"shopguide eval: --k must be comma-separated integers, got {args.k!r}", file=sys.stderr)
            return 2

        metrics = run_eval(
            args.transcripts,
            args.catalog,
            args.out,
            assistant_dir=args.assistant,
            workers=args.workers,
            k_values=k_values,
            limit=args.limit,
            fresh=args.fresh,
            report=not args.no_report,
            progress=not args.quiet,
            worst=args.worst,
            other_catalogs=tuple(args.other_catalog),
        )
    except DataError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1
    c = metrics["counts"]
    print(
        f"{c['dialogues']} dialogues, {c['assistant_turns']} assistant turns, {c['skipped_lines']} skipped "
        f"line(s), {c['errors']} failed"
    )
    for s in metrics["skipped"][:10]:
        print(f"  skipped {s['problem'].splitlines()[0]}")
    for name, o in list(metrics["overall"].items())[:16]:
        if o["mean"] is None:
            continue
        if o.get("kind") == "count":
            print(
                f"  {name:28s} {o['total']} in total (count), {o['mean']:.4f} per dialogue  "
                f"[{o['lo']:.4f}, {o['hi']:.4f}]  n={o['n']}"
            )
        else:
            print(f"  {name:28s} {o['mean']:.4f}  [{o['lo']:.4f}, {o['hi']:.4f}]  n={o['n']}")
    for name, v in metrics.get("corpus", {}).items():
        print(f"  corpus {name:21s} {v:.4f}" if isinstance(v, float) else f"  corpus {name:21s} {v}")
    if metrics.get("stages"):
        print("where the product is lost (Hit@k / MRR per stage, the same turns):")
        print("\n".join(format_stage_table(metrics["stages"], k_values)))
    out = Path(args.out)
    print(
        f"wrote {out / 'metrics.json'}, {out / 'results.jsonl'}"
        + ("" if args.no_report else f", {out / 'report.html'}")
    )
    if c["errors"]:
        for e in metrics["errors"][:5]:
            print(f"  failed {e['id']}: {e['error']}", file=sys.stderr)
        if not args.allow_errors:
            print(
                f"shopguide eval: {c['errors']} dialogue(s) failed (listed in metrics.json); exit 1 "
                "(--allow-errors to accept)",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
