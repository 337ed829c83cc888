"""Simulation metrics: per-dialogue scores (from `Shopper.scores`) aggregated overall and per category with
95% percentile-bootstrap CIs over dialogues, the success-by-turn curve, latency percentiles and the errors.

    metrics = summarize(results, meta)       # results: the records of results.jsonl

Definitions of the scores: docs/simulate.md. Dialogues whose assistant failed (`error`) are counted and
listed, and left out of the means, except in `task_success_all`, which counts them as failures.
Everything here is recomputed from results.jsonl alone.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from assistant.evaluation.metrics import bootstrap_ci

# Shown in this order; all are per-dialogue values averaged over the dialogues where they are defined.
SCORES = (
    "task_success",
    "strict_success",
    "turns_to_success",
    "needs_reasked",
    "attribute_answers_correct",
    "comparisons_done",
    "violating_recommendations",
    "false_facts",
    "off_topic_handled",
    "replies_on_point",
    "reply_quality",
    "wrongly_declined",
    "corrections_honoured",
    "releases_honoured",
    "exits_not_read_as_purchase",
    "wrong_product_replies",
    "unreadable_replies",
    "latency_s",
    "assistant_turns",
    "recommended_products",
    "replies_changed_by_check",
)
# The scores a reader looks at first (terminal table, report cards), with their short column names.
SHORT = {
    "task_success": "success",
    "strict_success": "strict",
    "replies_on_point": "on_point",
    "reply_quality": "quality",
    "attribute_answers_correct": "attr_ok",
    "comparisons_done": "compared",
    "needs_reasked": "re-asked",
    "false_facts": "false",
    "wrongly_declined": "declined",
    "corrections_honoured": "corrected",
    "releases_honoured": "released",
    "exits_not_read_as_purchase": "exit_ok",
    "wrong_product_replies": "wrong_prod",
    "unreadable_replies": "unreadable",
    "latency_s": "latency",
}
HEADLINE = tuple(SHORT)
RATES = (
    "task_success",
    "strict_success",
    "attribute_answers_correct",
    "comparisons_done",
    "violating_recommendations",
    "off_topic_handled",
    "replies_on_point",
    "reply_quality",
    "wrongly_declined",
    "corrections_honoured",
    "releases_honoured",
    "exits_not_read_as_purchase",
    "wrong_product_replies",
    "unreadable_replies",
    "replies_changed_by_check",
)  # shares in [0, 1]
LOWER_IS_BETTER = {
    "turns_to_success",
    "needs_reasked",
    "violating_recommendations",
    "false_facts",
    "latency_s",
    "wrongly_declined",
    "wrong_product_replies",
    "unreadable_replies",
}


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
        return None
    return float(v)


def _ci(values: list[Any], n_resamples: int, seed: int) -> dict[str, Any]:
    c = bootstrap_ci([_num(v) for v in values], n_resamples=n_resamples, seed=seed)
    return {"mean": c["value"], "lo": c["lo"], "hi": c["hi"], "n": c["n"]}


def success_by_turn(results: list[dict[str, Any]], max_turn: int) -> list[float]:
    """Share of the dialogues whose accepted product had been recommended by assistant turn t, t = 1..max_turn."""
    if not results:
        return []
    turns = [r["scores"].get("turns_to_success") for r in results]
    return [sum(1 for x in turns if x is not None and x <= t) / len(results) for t in range(1, max_turn + 1)]


def _quantile(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    i = (len(xs) - 1) * q
    a, b = math.floor(i), math.ceil(i)
    return xs[a] + (xs[b] - xs[a]) * (i - a)


def summarize(
    results: list[dict[str, Any]], meta: dict[str, Any] | None = None, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Build `metrics.json` from the results records.

    Returns:
        {"meta", "counts", "outcomes", "overall": {score: {mean, lo, hi, n}}, "per_category": {category:
        {"dialogues", "errors", score: {mean, lo, hi, n}}}, "success_by_turn": {"overall": [...],
        category: [...]}, "latency": {turns, mean, p50, p95, max}, "errors", "error_kinds"}.
    """
    ok = [r for r in results if "error" not in r]
    bad = [r for r in results if "error" in r]
    overall = {name: _ci([r["scores"].get(name) for r in ok], n_resamples, seed) for name in SCORES}
    overall["task_success_all"] = _ci(
        [0.0 if "error" in r else r["scores"].get("task_success") for r in results], n_resamples, seed
    )
    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_cat[r["category"]].append(r)
    max_turn = max([len(r.get("turns", [])) for r in results] + [1])
    per_category: dict[str, Any] = {}
    curves: dict[str, list[float]] = {"overall": success_by_turn(ok, max_turn)}
    for cat in by_cat:  # first-seen order: the order goals were drawn in
        rows = [r for r in by_cat[cat] if "error" not in r]
        per_category[cat] = {"dialogues": len(rows), "errors": len(by_cat[cat]) - len(rows)}
        for name in SCORES:
            per_category[cat][name] = _ci([r["scores"].get(name) for r in rows], n_resamples, seed)
        curves[cat] = success_by_turn(rows, max_turn)
    secs = [float(t["seconds"]) for r in results for t in r.get("turns", []) if _num(t.get("seconds")) is not None]
    errors = [{"id": r["id"], "category": r["category"], "error": r["error"]} for r in bad]
    return {
        "meta": meta or {},
        "counts": {
            "shoppers": len(results),
            "dialogues": len(ok),
            "errors": len(bad),
            "assistant_turns": sum(len(r.get("turns", [])) for r in results),
            "failed_calls": sum(1 for r in bad if r.get("messages")),
            "not_run": sum(1 for r in bad if not r.get("messages")),
            "successes": sum(1 for r in ok if r.get("outcome") == "success"),
            "categories": len(by_cat),
        },
        "outcomes": dict(Counter(r.get("outcome", "error") for r in results)),
        "overall": overall,
        "per_category": per_category,
        "success_by_turn": curves,
        "latency": {
            "turns": len(secs),
            "mean": sum(secs) / len(secs) if secs else None,
            "p50": _quantile(secs, 0.5),
            "p95": _quantile(secs, 0.95),
            "max": max(secs) if secs else None,
        },
        "errors": errors,
        "error_kinds": dict(Counter(e["error"] for e in errors).most_common(20)),
    }
