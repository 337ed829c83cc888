"""Compare `shopguide simulate` runs of two assistants over seeds: headline metrics as mean +- std over seeds
(each seed's value is the run's overall mean), and how often our assistant's check changed a reply.

    python docs/scripts/compare_sims.py runs/sim/base-s{0,1,2} -- runs/sim/new-s{0,1,2}
"""

import json
import statistics as st
import sys
from collections import Counter
from pathlib import Path

METRICS = [
    ("task_success", "task success", "{:.3f}"),
    ("turns_to_success", "turns to success", "{:.2f}"),
    ("needs_reasked", "needs re-asked / dialogue", "{:.2f}"),
    ("attribute_answers_correct", "attribute answers correct", "{:.3f}"),
    ("comparisons_done", "comparisons done", "{:.3f}"),
    ("violating_recommendations", "violating recommendations / dialogue", "{:.3f}"),
    ("false_facts", "false facts / dialogue", "{:.3f}"),
    ("off_topic_handled", "off-topic handled", "{:.3f}"),
    ("latency_s", "latency per turn (s)", "{:.2f}"),
]


def overall(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())["overall"]


def cell(runs: list[Path], key: str, fmt: str) -> str:
    vals = [overall(r)[key]["mean"] for r in runs if overall(r).get(key, {}).get("mean") is not None]
    n = sum(overall(r).get(key, {}).get("n", 0) for r in runs)
    if not vals:
        return "-"
    sd = st.stdev(vals) if len(vals) > 1 else 0.0
    return f"{fmt.format(st.mean(vals))} ± {fmt.format(sd)} (n={n})"


def own_answers(runs: list[Path]) -> str:
    """Attribute answers and comparisons the model got right itself: correct and not replaced by the catalog's
    answer (mean over seeds of the per-seed share of such turns)."""
    rows = {"attribute answers": [], "comparisons": []}
    for r in runs:
        counts = {"attribute answers": [0, 0], "comparisons": [0, 0]}
        for line in (r / "results.jsonl").read_text().splitlines():
            rec = json.loads(line)
            for t in rec["turns"]:
                said = rec["messages"][2 * t["turn"] - 1]
                replaced = any(c.startswith("answered from the catalog") for c in said.get("corrections", []))
                if "attribute_answer" in t:
                    counts["attribute answers"][0] += t["attribute_answer"] == "correct" and not replaced
                    counts["attribute answers"][1] += 1
                if "comparison" in t:
                    counts["comparisons"][0] += bool(t["comparison"]) and not replaced
                    counts["comparisons"][1] += 1
        for k, (good, n) in counts.items():
            if n:
                rows[k].append(good / n)
    return "; ".join(
        f"{k} right without the catalog's answer {st.mean(v):.3f} ± {st.stdev(v) if len(v) > 1 else 0:.3f}"
        for k, v in rows.items()
        if v
    )


# what a correction says -> its kind; the first matching row wins (the order matters: a polarity fix also has ", not")
KINDS = [
    ("answered from the catalog", lambda c: c.startswith("answered from the catalog")),
    ("dropped a re-asked question", lambda c: c.startswith("dropped a question")),
    ("removed a wrong price comparison", lambda c: "wrong price comparison" in c),
    ("yes/no made to agree", lambda c: "answered yes" in c or "answered no" in c),
    ("invented product removed", lambda c: "no such product" in c),
    ("suggested before any product was shown", lambda c: c.startswith("the shopper asked about a product")),
    ("product outside the stated needs removed", lambda c: c.endswith("it does not match your request")),
    ("wrong fact replaced", lambda c: ", not " in c),
]


def corrections(runs: list[Path]) -> Counter:
    kinds: Counter = Counter()
    for r in runs:
        for line in (r / "results.jsonl").read_text().splitlines():
            for m in json.loads(line)["messages"]:
                if m["role"] == "assistant":
                    kinds["replies"] += 1
                    for c in m.get("corrections", []):
                        kinds[next((k for k, said in KINDS if said(c)), "other")] += 1
    return kinds


def main() -> None:
    args = sys.argv[1:]
    cut = args.index("--")
    a, b = [Path(p) for p in args[:cut]], [Path(p) for p in args[cut + 1 :]]
    print(f"| metric | before ({len(a)} seeds) | after ({len(b)} seeds) |")
    print("|---|---|---|")
    for key, name, fmt in METRICS:
        print(f"| {name} | {cell(a, key, fmt)} | {cell(b, key, fmt)} |")
    for label, runs in (("before", a), ("after", b)):
        k = corrections(runs)
        replies = k.pop("replies", 0)
        parts = ", ".join(f"{name} {n} ({100 * n / max(replies, 1):.1f}%)" for name, n in k.most_common())
        print(f"\n{label}: {replies} replies; checks that changed a reply: {parts or 'none recorded'}")
        print(f"{label}: {own_answers(runs)}")


if __name__ == "__main__":
    main()
