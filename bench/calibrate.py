"""Calibration of the judge against a strict human reader: the judge's per-reply verdicts (`on_point`,
`wrong_fact`, assistant/evaluation/verdicts.py) on the replies the reader judged, with agreement, Cohen's
kappa and confusion matrices, overall and on the tuning half (first 20 conversations) and the held-out half.

    python -m bench.calibrate ../shared/data/strict-reader-2026-12 --catalog demo/index/products.jsonl
    python -m bench.calibrate DIR --catalog CAT --show 10        # also 10 tuning-half disagreements per verdict

DIR holds `transcripts.jsonl` (conversations: turns with user, assistant, cards) and `judgements.jsonl` (one
judged reply a line: conv, turn, on_point, wrong_fact, note). No model runs: this reads text only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.evaluation.reading import Reader
from assistant.evaluation.verdicts import ReplyJudge
from retrieval.catalog import load_catalog

VERDICTS = ("on_point", "wrong_fact")
TUNE_CONVERSATIONS = 20  # the first 20 conversations may be looked at while writing rules; the rest are held out


def judge_all(folder: Path, reader: Reader) -> list[dict[str, Any]]:
    """One row per judged reply: conv, turn, split, the reader's and the judge's verdicts, reasons, note."""
    convs = [json.loads(line) for line in (folder / "transcripts.jsonl").read_text().splitlines() if line.strip()]
    labels = {}
    for line in (folder / "judgements.jsonl").read_text().splitlines():
        if line.strip():
            j = json.loads(line)
            labels[(j["conv"], j["turn"])] = j
    rows = []
    for i, conv in enumerate(convs):
        judge = ReplyJudge(reader, conv.get("category"))
        for t in conv["turns"]:
            cards = [c["id"] for c in t.get("cards") or []]
            v = judge.judge(t.get("user") or "", t.get("assistant") or "", cards)
            label = labels.get((conv["id"], t["turn"]))
            if label is None:
                continue
            rows.append(
                {
                    "conv": conv["id"],
                    "turn": t["turn"],
                    "split": "tune" if i < TUNE_CONVERSATIONS else "held-out",
                    "kind": v.kind,
                    "judge": {"on_point": v.on_point, "wrong_fact": v.wrong_fact},
                    "reader": {k: bool(label[k]) for k in VERDICTS},
                    "reasons": v.reasons,
                    "note": label.get("note", ""),
                    "user": t.get("user") or "",
                    "assistant": t.get("assistant") or "",
                }
            )
    return rows


def agreement(rows: list[dict[str, Any]], verdict: str) -> dict[str, Any]:
    """Agreement, Cohen's kappa and the confusion matrix {reader: {judge: n}} of one verdict."""
    m = {r: {j: 0 for j in (True, False)} for r in (True, False)}
    for row in rows:
        m[row["reader"][verdict]][row["judge"][verdict]] += 1
    n = len(rows)
    agree = (m[True][True] + m[False][False]) / n if n else None
    p_reader = (m[True][True] + m[True][False]) / n if n else 0.0
    p_judge = (m[True][True] + m[False][True]) / n if n else 0.0
    chance = p_reader * p_judge + (1 - p_reader) * (1 - p_judge)
    kappa = (agree - chance) / (1 - chance) if n and chance < 1 else None
    return {"n": n, "agreement": agree, "kappa": kappa, "matrix": m}


def format_block(name: str, rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"{name}: {len(rows)} replies"]
    for verdict in VERDICTS:
        a = agreement(rows, verdict)
        m = a["matrix"]
        kappa = f"{a['kappa']:.2f}" if a["kappa"] is not None else "-"
        lines.append(f"  {verdict:10s} agreement {a['agreement']:.3f}  kappa {kappa}")
        lines.append(f"    {'':18s} judge yes  judge no")
        lines.append(f"    {'reader yes':18s} {m[True][True]:9d} {m[True][False]:9d}")
        lines.append(f"    {'reader no':18s} {m[False][True]:9d} {m[False][False]:9d}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.calibrate", description=__doc__.split("\n")[0])
    p.add_argument("folder", help="the strict reader's folder (transcripts.jsonl, judgements.jsonl)")
    p.add_argument("--catalog", default="demo/index/products.jsonl", help="the catalog the replies are about")
    p.add_argument(
        "--show", type=int, default=0, metavar="N", help="print N disagreements per verdict (tuning half only)"
    )
    p.add_argument("--json", metavar="FILE", help="also write the rows and figures as JSON")
    args = p.parse_args(argv)
    folder = Path(args.folder)
    if not (folder / "judgements.jsonl").is_file():
        print(f"{folder}: no judgements.jsonl", file=sys.stderr)
        return 1
    rows = judge_all(folder, Reader(load_catalog(args.catalog)))
    lines = format_block("all", rows)
    for split in ("tune", "held-out"):
        lines += format_block(split, [r for r in rows if r["split"] == split])
    print("\n".join(lines))
    for verdict in VERDICTS if args.show else ():
        tune = [r for r in rows if r["split"] == "tune"]  # held-out disagreements are not shown: no tuning on them
        bad = [r for r in tune if r["judge"][verdict] != r["reader"][verdict]][: args.show]
        print(f"\n{verdict} disagreements (first {len(bad)}):")
        for r in bad:
            print(f"- {r['conv']} t{r['turn']} [{r['split']}, {r['kind']}] reader {r['reader'][verdict]}: {r['note']}")
            print(f"    judge: {'; '.join(r['reasons']) or 'no objection'}")
    if args.json:
        figures = {
            s: {v: agreement([r for r in rows if s == "all" or r["split"] == s], v) for v in VERDICTS}
            for s in ("all", "tune", "held-out")
        }
        Path(args.json).write_text(json.dumps({"figures": figures, "rows": rows}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
