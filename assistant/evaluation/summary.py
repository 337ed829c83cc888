"""Aggregation of per-dialogue results: overall means with bootstrap CIs, per-category breakdown, corpus
chrF/BLEU, worst dialogues, and the comparison of two runs (difference with bootstrap CIs).

Everything here works on the records of `results.jsonl` (see `scoring.py`), so the numbers in
`metrics.json` can always be recomputed from that file alone.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from assistant.evaluation import metrics as M
from assistant.evaluation.stages import stage_table

# Metrics where lower is better; every other metric is read as higher-is-better (for colours and "worst").
LOWER_IS_BETTER = {
    "wrong_facts",
    "other_catalog_products",
    "hallucinated_products",
    "turns_with_error",
    "repetition",
    "self_overlap",
    "rejection",
    "first_recommendation_turn",
    "first_target_turn",
    "target_rank",
    "seconds_per_turn",
}
# Shown first, in this order, when present.
HEADLINE = (
    "grounding_rate",
    "hallucinated_products",
    "wrong_facts",
    "target_hit@1",
    "target_hit@3",
    "target_mrr",
    "acceptance",
    "elicited_when_unclear",
    "rouge_l",
    "chrf",
    "bleu",
    "ref_hit@1",
    "ref_hit@3",
    "ref_ndcg@5",
    "ref_mrr",
    "ref_new_hit@1",
    "ref_new_ndcg@5",
    "target_hit@5",
    "target_new_hit@5",
    "words_per_turn",
    "words",
    "repetition",
    "distinct_2",
)


# Per-dialogue counts of events: averaged they read "per dialogue", and their total is shown beside (a count is
# never displayed as a rate). Every metric named *rate, *hit@k, *recall@k, *ndcg@k, *mrr, acceptance, ... is a
# share in 0..1; the rest are values (words, seconds, ranks, chrF).
COUNTS = {
    "assistant_turns",
    "context_turns",
    "facts",
    "wrong_facts",
    "hallucinated_products",
    "other_catalog_products",
    "turns_with_error",
    "recommendation_turns",
    "questions_before_recommendation",
}
_VALUES = {"words_per_turn", "words", "reference_words", "seconds_per_turn", "chrf", "bleu", "target_rank"}
_VALUES |= {"first_recommendation_turn", "first_target_turn"}


def metric_kind(name: str) -> str:
    """ "count" (events per dialogue; a total is shown too), "rate" (a share in 0..1) or "value"."""
    if name in COUNTS:
        return "count"
    return "value" if name in _VALUES else "rate"


def metric_names(results: list[dict[str, Any]]) -> list[str]:
    """Numeric score names present in any result, headline metrics first."""
    names = {
        k
        for r in results
        for k, v in r.get("scores", {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    head = [h for h in HEADLINE if h in names]
    return head + sorted(names - set(head))


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
        return None
    return float(v)


def summarize(
    results: list[dict[str, Any]],
    skipped: list[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
    n_resamples: int = 1000,
    k_values: tuple[int, ...] = (1, 3, 5),
) -> dict[str, Any]:
    """Build `metrics.json` from per-dialogue results.

    Args:
        results: the records of results.jsonl (records with an "error" are counted, not averaged).
        skipped: malformed input lines (`{"line", "field", "message", "problem"}`).
        meta: run description (inputs, mode, command) copied into the output.
        n_resamples: bootstrap resamples for the 95% CIs (over dialogues).
        k_values: cut-offs of the replay stage table.

    Returns:
        {"mode", "meta", "counts", "overall": {name: {mean, lo, hi, n, kind[, total]}}, "per_category": {cat:
        {"dialogues", name: {mean, n[, total]}}}, "corpus", "stages" (replay: retrieval vs final vs baselines,
        see `stages.py`), "stages_per_category", "skipped", "errors"}.
    """
    ok = [r for r in results if "error" not in r]
    names = metric_names(ok)
    overall = {}
    for name in names:
        vals = [_num(r["scores"].get(name)) for r in ok]
        ci = M.bootstrap_ci(vals, n_resamples=n_resamples)
        overall[name] = {"mean": ci["value"], "lo": ci["lo"], "hi": ci["hi"], "n": ci["n"], "kind": metric_kind(name)}
        if overall[name]["kind"] == "count":
            overall[name]["total"] = int(sum(v for v in vals if v is not None))
    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in ok:
        by_cat[r["category"]].append(r)
    per_category = {}
    for cat in sorted(by_cat):
        rows = by_cat[cat]
        per_category[cat] = {"dialogues": len(rows)}
        for name in names:
            vals = [_num(r["scores"].get(name)) for r in rows]
            vals = [v for v in vals if v is not None]
            per_category[cat][name] = {"mean": sum(vals) / len(vals) if vals else None, "n": len(vals)}
            if metric_kind(name) == "count":
                per_category[cat][name]["total"] = int(sum(vals))
    modes = sorted({r.get("mode", "score") for r in results})
    corpus: dict[str, Any] = {}
    stages: dict[str, Any] = {}
    stages_per_category: dict[str, Any] = {}
    if "replay" in modes:
        preds = [t["text"] for r in ok for t in r["turns"]]
        refs = [t["reference"] for r in ok for t in r["turns"]]
        corpus = {"chrf": M.corpus_chrf(preds, refs), "bleu": M.corpus_bleu(preds, refs), "turns": len(preds)}
        stages = stage_table(ok, k_values, n_resamples)
        stages_per_category = {c: stage_table(by_cat[c], k_values, 200) for c in sorted(by_cat)}
    errors = [{"id": r["id"], "category": r.get("category"), "error": r["error"]} for r in results if "error" in r]
    return {
        "mode": modes[0] if len(modes) == 1 else modes,
        "meta": meta or {},
        "counts": {
            "dialogues": len(ok),
            "assistant_turns": sum(r.get("n_turns", len(r.get("turns", []))) for r in ok),
            "errors": len(errors),
            "skipped_lines": len(skipped or []),
            "categories": len(by_cat),
        },
        "overall": overall,
        "per_category": per_category,
        "corpus": corpus,
        "stages": stages,
        "stages_per_category": stages_per_category,
        "skipped": list(skipped or []),
        "errors": errors,
    }


def badness(r: dict[str, Any]) -> tuple:
    """Sort key putting the worst dialogue first: errors, then factual errors, then low text overlap /
    missed target."""
    s = r.get("scores", {})
    if "error" in r:
        return (0, 0, 0, 0)
    hits = _num(s.get("target_hit@3"))
    overlap = _num(s.get("rouge_l"))
    rate = _num(s.get("grounding_rate"))
    return (
        1,
        -(s.get("turns_with_error") or 0),
        1.0 if rate is None else rate,
        overlap if overlap is not None else (hits if hits is not None else 1.0),
    )


def worst_dialogues(results: list[dict[str, Any]], n: int = 5) -> list[dict[str, Any]]:
    """The `n` worst dialogues by `badness` (ties keep file order)."""
    return sorted(results, key=badness)[:n]


def compare_runs(
    a: list[dict[str, Any]], b: list[dict[str, Any]], n_resamples: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Difference B - A of every shared metric, with bootstrap 95% CIs, overall and per category.

    Dialogues present in both runs (same id) are paired (paired bootstrap over those); when the runs share
    no dialogue the two sides are resampled independently.

    Args:
        a: results of run A (the baseline).
        b: results of run B.
        n_resamples: bootstrap resamples.
        seed: random seed.

    Returns:
        {"paired", "n_a", "n_b", "n_pairs", "overall": {name: {a, b, diff, lo, hi, p_value, n}},
        "per_category": {cat: {name: {...}}}}.
    """
    a = [r for r in a if "error" not in r]
    b = [r for r in b if "error" not in r]
    ida = {r["id"]: r for r in a}
    idb = {r["id"]: r for r in b}
    common = [i for i in ida if i in idb]
    names = [n for n in metric_names(a) if n in set(metric_names(b))]

    def block(ra: list[dict[str, Any]], rb: list[dict[str, Any]], paired: bool) -> dict[str, Any]:
        out = {}
        for name in names:
            va = [_num(r["scores"].get(name)) for r in ra]
            vb = [_num(r["scores"].get(name)) for r in rb]
            if paired:
                d = M.paired_bootstrap(va, vb, n_resamples=n_resamples, seed=seed)
            else:
                d = M.bootstrap_diff(va, vb, n_resamples=n_resamples, seed=seed)
            out[name] = {"a": M.mean(va), "b": M.mean(vb), **d}
        return out

    paired = bool(common)
    if paired:
        ra, rb = [ida[i] for i in common], [idb[i] for i in common]
    else:
        ra, rb = a, b
    cats = sorted({r["category"] for r in ra} & {r["category"] for r in rb})
    return {
        "paired": paired,
        "n_a": len(a),
        "n_b": len(b),
        "n_pairs": len(common),
        "overall": block(ra, rb, paired),
        "per_category": {c: block(*_in_category(ra, rb, c, paired), paired) for c in cats},
    }


def _in_category(
    ra: list[dict[str, Any]], rb: list[dict[str, Any]], cat: str, paired: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if paired:  # keep the pairs aligned: select by run A's category
        keep = [i for i, r in enumerate(ra) if r["category"] == cat]
        return [ra[i] for i in keep], [rb[i] for i in keep]
    return [r for r in ra if r["category"] == cat], [r for r in rb if r["category"] == cat]
