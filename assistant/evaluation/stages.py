"""Where a replayed turn loses the product: each stage's ranking of the reference product, side by side with
simple baselines on the same turns.

For a replayed turn whose reference names products, `turn_stages` records the reference products' rank in

    retrieval       the assistant's own search (its query and filters, `deep_k` deep; its first `top_k` are the
                    cards the model saw)
    final           the products the reply names (what the shopper gets)
    most_mentioned  products by how often the dialogue so far mentioned them (ids logged or named in the text;
                    ties: the latest mention first)
    bm25, dense     a plain search of the same query in the dialogue's category, lexical / dense only
    random          a random order of the category's products (exact expected Hit@k and MRR, no sampling)

against two golds: `ref` (the reference turn's products) and `target` (the dialogue's target). `stage_table`
pools the turns of many dialogues into Hit@k / MRR per stage with n and a 95% bootstrap CI over turns, so a
shop sees at a glance whether retrieval misses the product or the reply drops it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from assistant.evaluation import metrics as M
from retrieval.filters import Filters

STAGES = ("retrieval", "final", "most_mentioned", "bm25", "dense", "random")
GOLDS = ("ref", "target")
DEEP_K = 50  # how deep the retrieval rank of the reference is looked for
_SHOWN = 10  # ids kept per stage in results.jsonl


def rank_of(ranked: list[str], gold: list[str]) -> int | None:
    """1-based position of the first gold id in `ranked` (duplicates counted once); None when absent."""
    g = set(gold)
    for i, p in enumerate(dict.fromkeys(ranked), start=1):
        if p in g:
            return i
    return None


def random_expectation(n: int, g: int, k_values: tuple[int, ...]) -> dict[str, float]:
    """Expected Hit@k and MRR of a uniformly random order of `n` products holding `g` gold ones (exact)."""
    if n <= 0 or g <= 0:
        return {**{f"hit@{k}": 0.0 for k in k_values}, "mrr": 0.0}
    total = math.comb(n, g)
    out = {f"hit@{k}": 1.0 - math.comb(n - g, min(k, n)) / math.comb(n, min(k, n)) for k in k_values}
    # P(first gold at rank r) = C(n - r, g - 1) / C(n, g)
    out["mrr"] = sum(math.comb(n - r, g - 1) / total / r for r in range(1, n - g + 2))
    return out


def most_mentioned(mentions: list[list[str]]) -> list[str]:
    """Ids by mention count over `mentions` (one list per earlier message), the latest mention first on ties."""
    count: Counter = Counter()
    last: dict[str, int] = {}
    for j, ids in enumerate(mentions):
        for p in dict.fromkeys(ids):
            count[p] += 1
            last[p] = j
    return sorted(count, key=lambda p: (-count[p], -last[p]))


def _search(index: Any, query: str, category: str | None, mode: str, k: int) -> list[str] | None:
    try:
        return [p.id for p, _ in index.search(query, top_k=k, filters=Filters(category=category), mode=mode)]
    except Exception:  # an index without that mode (e.g. no embeddings): the baseline is left out
        return None


def turn_stages(
    assistant: Any,
    history: list[dict[str, Any]],
    category: str | None,
    reply: Any,
    mentions: list[list[str]],
    catalog: Any,
    deep_k: int = DEEP_K,
) -> dict[str, list[str] | None]:
    """Each stage's ranked product ids for one turn (random is computed from the catalog, not listed).

    Args:
        assistant: the replayed assistant; its `plan`, `search` and `index` are used when it has them (any
            object with `.reply` works: then retrieval is the reply's `candidates` and no search baseline runs).
        history: the messages the assistant was given.
        category: the dialogue's category.
        reply: the assistant's `Reply` for this turn.
        mentions: product ids mentioned by each earlier message (logged or named in its text).
        catalog: the catalog (for the category's size).
        deep_k: depth of the retrieval and search lists.
    """
    plan_fn, search_fn, index = (getattr(assistant, n, None) for n in ("plan", "search", "index"))
    retrieved: list[str] | None = list(getattr(reply, "candidates", None) or []) or None
    query = " ".join(m["content"] for m in [m for m in history if m["role"] == "user"][-3:])
    if callable(plan_fn) and callable(search_fn):
        plan = plan_fn(history, category)
        query = getattr(plan, "query", "") or query
        retrieved = [p.id for p, _ in search_fn(query, top_k=deep_k, filters=plan.filters)]
    out: dict[str, list[str] | None] = {
        "retrieval": retrieved,
        "final": [str(p) for p in (getattr(reply, "products", None) or [])],
        "most_mentioned": most_mentioned(mentions),
        "bm25": None,
        "dense": None,
    }
    if index is not None and hasattr(index, "search"):
        out["bm25"] = _search(index, query, category, "lexical", deep_k)
        out["dense"] = _search(index, query, category, "dense", deep_k)
    return out


def turn_ranks(
    stages: dict[str, list[str] | None], golds: dict[str, list[str]], catalog: Any, category: str | None
) -> dict[str, Any]:
    """`{"ref": {stage: rank|None, "random": {hit@k.., mrr}}, "target": ...}` for the golds that are given."""
    pool = {p.id for p in catalog if category is None or p.category == category}
    out: dict[str, Any] = {}
    for name, gold in golds.items():
        if not gold:
            continue
        row: dict[str, Any] = {s: (rank_of(ids, gold) if ids is not None else "n/a") for s, ids in stages.items()}
        row["random"] = {"n": len(pool), "gold": len(set(gold) & pool)}
        out[name] = row
    return out


def _turn_values(rank: Any, k_values: tuple[int, ...], n_random: dict[str, int] | None = None) -> dict[str, float]:
    if n_random is not None:
        return random_expectation(n_random["n"], n_random["gold"], k_values)
    return {
        **{f"hit@{k}": float(rank is not None and rank <= k) for k in k_values},
        "mrr": 1.0 / rank if rank else 0.0,
    }


def stage_table(
    results: list[dict[str, Any]], k_values: tuple[int, ...], n_resamples: int = 1000
) -> dict[str, dict[str, Any]]:
    """Pool the turns of replay results into `{gold: {"turns": n, "dialogues": n, stage: {metric: {mean, lo, hi}}}}`
    (a stage a turn could not compute, e.g. no dense index, is left out of that stage's n)."""
    table: dict[str, dict[str, Any]] = {}
    for gold in GOLDS:
        values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        turns = dialogues = 0
        for r in results:
            rows = [t["ranks"][gold] for t in r.get("turns", []) if gold in (t.get("ranks") or {})]
            turns += len(rows)
            dialogues += bool(rows)
            for row in rows:
                for stage in STAGES:
                    if stage not in row or row[stage] == "n/a":
                        continue
                    v = _turn_values(row[stage], k_values, row[stage] if stage == "random" else None)
                    for name, x in v.items():
                        values[stage][name].append(x)
        if not turns:
            continue
        block: dict[str, Any] = {"turns": turns, "dialogues": dialogues}
        for stage in STAGES:
            if stage not in values:
                continue
            block[stage] = {"n": len(next(iter(values[stage].values())))}
            for name, xs in values[stage].items():
                ci = M.bootstrap_ci(xs, n_resamples=n_resamples)
                block[stage][name] = {"mean": ci["value"], "lo": ci["lo"], "hi": ci["hi"]}
        table[gold] = block
    return table


def format_stage_table(table: dict[str, dict[str, Any]], k_values: tuple[int, ...]) -> list[str]:
    """Plain-text lines of the stage table (for the CLI)."""
    lines = []
    names = [f"hit@{k}" for k in k_values] + ["mrr"]
    for gold, block in table.items():
        what = "reference turn's products" if gold == "ref" else "dialogue's target"
        lines.append(f"  vs the {what}: {block['turns']} turns in {block['dialogues']} dialogues")
        lines.append("    " + f"{'stage':16s}" + "".join(f"{n:>9s}" for n in names) + "        n")
        for stage in STAGES:
            if stage in block:
                row = block[stage]
                lines.append(
                    "    " + f"{stage:16s}" + "".join(f"{row[n]['mean']:9.3f}" for n in names) + f"{row['n']:9d}"
                )
    return lines


def named_ids(message: dict[str, Any], reader: Any, category: str | None) -> list[str]:
    """Product ids a message mentions: its logged `products`, then those its text names (`reading.Reader`)."""
    ids = [str(p) for p in message.get("products") or []]
    if message.get("content"):
        ids += [n.product_id for n in reader.names(message["content"], category)]
    return list(dict.fromkeys(ids))
