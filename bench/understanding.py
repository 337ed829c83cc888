"""Benchmark of the reading (`Assistant.understand`) on the frozen understanding dev set; results in
docs/understanding.md.

    python -m bench.understanding                        # the rules row
    python -m bench.understanding --intents DIR          # plus a learned row: intents from a model in DIR
    shopguide bench understanding [--data DIR] [--by-tag]

Reads `../shared/data/understanding-dev-2026-12/` (frozen: measure only, never tune on it; its README): the demo
cases against the bundled `demo/` catalog and vocabulary, the free-text cases against a catalog and vocabulary
built in memory from its `freetext_catalog.jsonl`. Prints per file, overall, per expected intent and per tag,
with n: intent accuracy, needs exact match and each needs field, refers_to exact / precision / recall, compare,
ask_attribute, language and all fields right; then p50 / p95 ms per message on one thread. Without the data it
says so and exits 0.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from assistant.faces.understand import CatalogOnly, open_reader
from assistant.orchestrator import Assistant
from assistant.text import normalize_phrase
from assistant.understanding.vocabulary import derive_vocabulary
from retrieval.catalog import load_catalog

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "understanding-dev-2026-12"
NEEDS = (
    "category",
    "min_price",
    "max_price",
    "attributes",
    "exclude_attributes",
    "brands",
    "exclude_brands",
    "released",
)
FIELDS = ("intent", "needs", "refers_to", "compare", "ask_attribute", "language", "all")
LOADER = "assistant.understanding.intents:IntentModel"


def _norm(value: Any) -> Any:
    """A need's value in comparable form: names and values case- and spacing-free, lists as sets, numbers as
    floats ("merino wool" == ["Merino Wool"])."""
    if isinstance(value, dict):
        return {normalize_phrase(str(k)): _norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return frozenset(_norm(v) for v in value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return normalize_phrase(str(value))


def _as_set(value: Any) -> Any:
    """An attribute's value as a set, so one value equals a one-value list."""
    return value if isinstance(value, frozenset) else frozenset([value])


def score_case(expect: dict[str, Any], got: dict[str, Any]) -> dict[str, Any]:
    """Per-field rightness of one reading against the case's `expect`."""
    right: dict[str, Any] = {}
    for key in NEEDS:
        want, have = _norm(expect["needs"].get(key)), _norm(got["needs"].get(key))
        if key in ("attributes", "exclude_attributes"):
            want = {k: _as_set(v) for k, v in (want or {}).items()}
            have = {k: _as_set(v) for k, v in (have or {}).items()}
        right[f"needs.{key}"] = want == have
    right["needs"] = all(right[f"needs.{k}"] for k in NEEDS)
    gold, pred = set(expect["refers_to"]), set(got["refers_to"])
    right["refers_to"] = gold == pred
    right["_ref"] = (len(gold & pred), len(pred), len(gold))
    right["intent"] = expect["intent"] == got["intent"]
    right["compare"] = _norm(expect["compare"]) == _norm(got["compare"])
    right["ask_attribute"] = _norm(expect["ask_attribute"]) == _norm(got["ask_attribute"])
    right["language"] = expect["language"] == got["language"]
    right["all"] = all(right[f] for f in FIELDS if f != "all")
    return right


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    out: dict[str, Any] = {"n": n}
    for key in rows[0]:
        if not key.startswith("_"):
            out[key] = sum(r[key] for r in rows) / n
    hit, pred, gold = (sum(r["_ref"][i] for r in rows) for i in range(3))
    out["refers_p"] = hit / pred if pred else None
    out["refers_r"] = hit / gold if gold else None
    return out


def freetext_reader(data: Path) -> Assistant:
    """An `Assistant` over the free-text catalog alone, its vocabulary derived in memory (as `shopguide build`)."""
    catalog = load_catalog(data / "freetext_catalog.jsonl")
    return Assistant(CatalogOnly(catalog), None, vocabulary=derive_vocabulary(catalog))


def load_intents(folder: str, loader: str = LOADER) -> Any:
    """A learned intent reader: `loader` ("module:Class") `.load(folder)`; anything with `.predict` will do."""
    module, name = loader.split(":")
    return getattr(importlib.import_module(module), name).load(folder)


def run(reader: Assistant, cases: list[dict[str, Any]], intents: Any = None) -> tuple[list[dict], list[float]]:
    """Read every case once; returns (per-case scores with tags, ms per message)."""
    reader.understand([{"role": "user", "content": "warm up"}], intents=intents)  # builds lazy models
    scored, times = [], []
    for case in cases:
        messages = case["history"] + [{"role": "user", "content": case["message"]}]
        t0 = time.perf_counter()
        got = reader.understand(messages, intents=intents).to_dict()
        times.append((time.perf_counter() - t0) * 1000)
        scored.append({**score_case(case["expect"], got), "_intent": case["expect"]["intent"], "_tags": case["tags"]})
    return scored, times


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def print_tables(name: str, row: str, scored: list[dict], times: list[float], by_tag: bool) -> None:
    overall = _summary(scored)
    print(f"\n### {name}: {row} (n={overall['n']})\n")
    print("| field | " + " | ".join(["intent", "needs", "refers_to", "refers P", "refers R"]) + " | compare | ask_attr"
          " | language | all |")  # fmt: skip
    print("|---|" + "---:|" * 9)
    print(f"| overall | {_cells(overall)} |")
    print("\n| needs field | " + " | ".join(NEEDS) + " |\n|---|" + "---:|" * len(NEEDS))
    print("| exact | " + " | ".join(_pct(overall[f"needs.{k}"]) for k in NEEDS) + " |")
    groups: dict[str, list[dict]] = defaultdict(list)
    for s in scored:
        groups[f"intent {s['_intent']}"].append(s)
        if by_tag:
            for tag in s["_tags"]:
                groups[f"tag {tag}"].append(s)
    print("\n| group | n | intent | needs | refers_to | refers P | refers R | compare | ask_attr | language | all |")
    print("|---|---:|" + "---:|" * 9)
    for key in sorted(groups):
        summary = _summary(groups[key])
        print(f"| {key} | {summary['n']} | {_cells(summary)} |")
    p50, p95 = statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]
    print(f"\nms per message (one thread): p50 {p50:.1f}, p95 {p95:.1f}")


def _cells(s: dict[str, Any]) -> str:
    keys = ("intent", "needs", "refers_to", "refers_p", "refers_r", "compare", "ask_attribute", "language", "all")
    return " | ".join(_pct(s[k]) for k in keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopguide bench understanding", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help=f"the dev set folder (default: {DATA})")
    parser.add_argument("--bundle", default=str(REPO / "demo"), help="the bundle of the demo cases (default: demo/)")
    parser.add_argument("--intents", metavar="DIR", help="also a learned row: an intent model folder")
    parser.add_argument("--intents-loader", default=LOADER, help=f"MODULE:CLASS whose .load(DIR) (default {LOADER})")
    parser.add_argument("--by-tag", action="store_true", help="also one line per tag")
    args = parser.parse_args(argv)
    if not (args.data / "demo.jsonl").is_file():
        print(f"skipped: no understanding dev set at {args.data} (it lives in shared/data beside the repo)")
        return 0
    rows: list[tuple[str, Any]] = [("rules", None)]
    if args.intents:
        rows.append(("learned", load_intents(args.intents, args.intents_loader)))
    readers = {"demo": open_reader(args.bundle), "freetext": freetext_reader(args.data)}
    print(f"understanding dev set: {args.data.name}")
    for name, reader in readers.items():
        cases = [json.loads(line) for line in (args.data / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        for row, intents in rows:
            scored, times = run(reader, cases, intents)
            print_tables(name, row, scored, times, args.by_tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
