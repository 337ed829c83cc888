"""`shopguide simulate`: simulated shoppers with hidden goals talk to an assistant; task success and more.

    shopguide simulate --catalog demo/index/products.jsonl --assistant demo --shoppers 30 --seed 0 --out runs/sim
    shopguide simulate --catalog catalog.jsonl --assistant http://127.0.0.1:7860/v1 --model shopguide --out runs/sim

Outputs in --out: results.jsonl, transcripts.jsonl (dialogue contract), metrics.json, report.html. Runs
resume: rerun the same command after an interruption.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from assistant.faces.common import configure_threads
from assistant.simulation.clients import is_url
from assistant.simulation.metrics import HEADLINE, SHORT
from assistant.simulation.runner import run_simulation
from retrieval.fileio import DataError

EPILOG = """examples:
  shopguide simulate --catalog demo/index/products.jsonl --assistant demo --shoppers 30 --seed 0 --out runs/sim-demo
  python app.py &   # then the same shoppers over HTTP, through the official openai client:
  shopguide simulate --catalog demo/index/products.jsonl --assistant http://127.0.0.1:7860/v1 --shoppers 30 \\
      --seed 0 --out runs/sim-http --workers 4
  shopguide eval runs/sim-demo/transcripts.jsonl --catalog demo/index/products.jsonl --out runs/sim-demo-eval

what happens:
  Each shopper gets a hidden goal drawn from the catalog (a category, a budget, 1-3 required attribute values
  that some product meets, sometimes an excluded brand or value), a style (its category's way of talking,
  terse or chatty, mild typos) and a patience. It talks to the assistant, which sees only the messages:
  reveals needs when asked or unprompted, rejects products with a reason, checks attribute answers against
  the catalog, sometimes asks for a comparison or something off-topic or drops a need, accepts a product that
  meets its goal (success) or leaves when its patience runs out.

metrics (per category and overall, 95% bootstrap CIs; definitions in docs/simulate.md):
  task_success, strict_success (success and every question answered right and no wrong fact), turns_to_success,
  needs_reasked, attribute_answers_correct, comparisons_done, violating_recommendations, false_facts (the judge's
  reader on every reply), off_topic_handled, replies_on_point (the judge's verdicts), reply_quality,
  wrongly_declined, corrections_honoured, releases_honoured, exits_not_read_as_purchase, wrong_product_replies,
  unreadable_replies, latency_s;
  assistant errors are counted (metrics.json "counts", "errors") and retried on the next run.

exit status: 0 when the run finished (assistant errors are counted in the results), 1 on bad input (catalog
without the needed fields, missing bundle, another run in --out) or when every dialogue failed, 2 on bad options.
"""


def _patience(text: str) -> tuple[int, int]:
    try:
        lo, _, hi = text.partition("-")
        lo_i, hi_i = int(lo), int(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or MIN-MAX, got {text!r}") from None
    if not 1 <= lo_i <= hi_i:
        raise argparse.ArgumentTypeError(f"expected 1 <= MIN <= MAX, got {text!r}")
    return lo_i, hi_i


def _positive(kind: type):
    def parse(text: str):
        v = kind(text)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return v

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shopguide simulate",
        description=__doc__.split("\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--catalog",
        required=True,
        help="the shoppers' catalog (file or folder in the catalog contract): "
        "goals are drawn from it and every reply is checked against it; needs prices and attributes",
    )
    p.add_argument(
        "--assistant",
        required=True,
        metavar="DIR|URL",
        help="an assistant bundle folder (loaded in this process, e.g. demo) or the base URL of any "
        "OpenAI-compatible chat endpoint (http://host:port gets /v1)",
    )
    p.add_argument(
        "--out", required=True, help="output folder (created; an earlier run of the same command there is resumed)"
    )
    p.add_argument(
        "--shoppers", type=_positive(int), default=20, metavar="N", help="simulated shoppers per category (default 20)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="random seed of goals, plans and phrasing: the same seed gives the same shoppers (default 0)",
    )
    p.add_argument("--categories", metavar="A,B", help="only these categories (default: all in the catalog)")
    p.add_argument(
        "--patience",
        type=_patience,
        default=(6, 10),
        metavar="MIN-MAX",
        help="assistant turns a shopper waits for a product meeting its goal, drawn per shopper (default 6-10)",
    )
    p.add_argument(
        "--model",
        default="shopguide",
        metavar="NAME",
        help="model name sent to a URL (ours: shopguide "
        "routes each dialogue, a category name forces it; default shopguide)",
    )
    p.add_argument("--api-key", default=None, metavar="KEY", help="bearer token for a URL (default: none)")
    p.add_argument(
        "--timeout",
        type=_positive(float),
        default=60.0,
        metavar="SECONDS",
        help="time limit of one request to a URL (default 60)",
    )
    p.add_argument("--retries", type=int, default=1, help="retries of a failed request to a URL (default 1)")
    p.add_argument(
        "--temperature", type=float, default=None, help="sent to a URL when given (default: the endpoint's own)"
    )
    p.add_argument(
        "--products-from",
        choices=("reply", "text"),
        default="reply",
        help="how the shopper sees recommended products: reply = the product ids returned with each reply (our "
        "server's `products`; the text when an endpoint returns none), text = only the products named in the text "
        "(to compare with an endpoint that returns no ids; default reply)",
    )
    p.add_argument(
        "--workers",
        type=_positive(int),
        default=1,
        metavar="K",
        help="dialogues at the same time (threads; default 1). Results do not depend on it",
    )
    p.add_argument(
        "--max-consecutive-errors",
        type=int,
        default=5,
        metavar="N",
        help="after N failed dialogues in a row, record the rest as not run instead of trying them "
        "(default 5; 0: try every one)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for an in-process bundle (default 1)")
    p.add_argument("--device", default=None, help="device for an in-process bundle: cpu, cuda, mps (default: best)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    p.add_argument(
        "--show-failed",
        type=int,
        default=8,
        metavar="N",
        help="failed dialogues shown beside their hidden goal in report.html (default 8)",
    )
    p.add_argument(
        "--full-only",
        action="store_true",
        help="for an assistant bundle in this process, run only the full assistant; by default the same shoppers "
        "also talk to its no-model (a constant engine) and model-only (reply checks off) ablations, each in its own "
        "subfolder of --out (a URL runs only as is)",
    )
    p.add_argument("--fresh", action="store_true", help="discard earlier results in --out instead of resuming")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def print_summary(metrics: dict, out: Path, report: bool = True) -> None:
    """The per-category table of the headline metrics, and what went wrong."""
    c = metrics["counts"]
    print(
        f"{c['shoppers']} shoppers, {c['assistant_turns']} assistant turns, {c['successes']} successes, "
        f"{c['errors']} failed dialogue(s)"
    )
    cols = HEADLINE
    short = [SHORT[n] for n in cols]
    print(f"  {'category':12s} {'n':>4s} " + " ".join(f"{s:>10s}" for s in short))
    rows = [(cat, block) for cat, block in metrics["per_category"].items()] + [("all", metrics["overall"])]
    for cat, block in rows:
        n = block.get("dialogues", c["dialogues"]) if cat != "all" else c["dialogues"]
        vals = []
        for name in cols:
            m = block.get(name, {}).get("mean")
            vals.append(f"{m:10.3f}" if m is not None else f"{'-':>10s}")
        print(f"  {cat:12s} {n:4d} " + " ".join(vals))
    if metrics.get("ablations"):
        print("ablations (overall, same shoppers):")
        print(f"  {'ablation':12s} {'n':>4s} " + " ".join(f"{s:>10s}" for s in short))
        for name, block in metrics["ablations"].items():
            vals = [block["overall"].get(n, {}).get("mean") for n in cols]
            print(
                f"  {name:12s} {block['counts']['dialogues']:4d} "
                + " ".join(f"{v:10.3f}" if v is not None else f"{'-':>10s}" for v in vals)
            )
    for name in ("task_success", "strict_success"):
        o = metrics["overall"][name]
        if o["mean"] is not None:
            print(f"  {name} {o['mean']:.3f}  95% CI [{o['lo']:.3f}, {o['hi']:.3f}]")
    for msg, n in list(metrics.get("error_kinds", {}).items())[:5]:
        print(f"  error ({n} dialogue(s)): {msg}", file=sys.stderr)
    files = ["metrics.json"] + (["report.html"] if report else [])
    sub = [f"{a}/" for a in metrics.get("ablations", {})] or [""]
    files += [f"{d}{f}" for d in sub for f in ("results.jsonl", "transcripts.jsonl")]
    print("wrote " + ", ".join(str(out / f) for f in files))


def main(argv: list[str] | None = None) -> int:
    """Run `shopguide simulate`; returns the exit code (1 with file:line: field: message on bad input)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not is_url(args.assistant):
        if not Path(args.assistant).is_dir():
            print(
                f"shopguide simulate: --assistant {args.assistant!r} is neither an http(s) URL nor a folder",
                file=sys.stderr,
            )
            return 1
        configure_threads(max(1, args.threads))
    cats = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    if (Path(args.out) / "assistant.json").exists():  # results never land inside an assistant bundle
        print(f"{args.out}: -: --out: this folder is an assistant bundle; choose another --out", file=sys.stderr)
        return 1
    try:
        metrics = run_simulation(
            args.catalog,
            args.assistant,
            args.out,
            shoppers=args.shoppers,
            seed=args.seed,
            categories=cats,
            patience=args.patience,
            model=args.model,
            api_key=args.api_key,
            timeout=args.timeout,
            retries=args.retries,
            temperature=args.temperature,
            products_from=args.products_from,
            workers=args.workers,
            fresh=args.fresh,
            report=not args.no_report,
            progress=not args.quiet,
            max_consecutive_errors=args.max_consecutive_errors,
            resamples=args.resamples,
            failed_shown=args.show_failed,
            device=args.device,
            ablations=False if args.full_only else None,
        )
    except DataError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1
    print_summary(metrics, Path(args.out), not args.no_report)
    if metrics["counts"]["errors"] and metrics["counts"]["errors"] == metrics["counts"]["shoppers"]:
        print(
            f"every dialogue failed: the assistant at {args.assistant} gave no usable reply (see the errors above)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
