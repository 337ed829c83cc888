"""Ranking metrics for retrieval: Recall@k, NDCG@k, MRR over ranked id lists and gold id sets.

    m = ranking_metrics([["p3", "p1", ...], ...], [{"p1"}, ...], ks=(1, 5, 10))
    # {"recall@1": ..., "recall@5": ..., "recall@10": ..., "ndcg@10": ..., "mrr": ..., "n": ...}

Recall@k is the fraction of gold items found in the top k (averaged over queries); NDCG@k uses binary
gains; MRR is the reciprocal rank of the first gold item (0 when none is ranked).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def ranking_metrics(
    ranked: Sequence[Sequence[str]], gold: Sequence[set[str]], ks: Sequence[int] = (1, 5, 10), ndcg_k: int = 10
) -> dict[str, float]:
    """Mean ranking metrics over queries.

    Args:
        ranked: per query, the retrieved ids best first.
        gold: per query, the relevant ids (queries with no gold are skipped).
        ks: cut-offs for Recall@k.
        ndcg_k: cut-off for NDCG.

    Returns:
        {"recall@k" for each k, "ndcg@{ndcg_k}", "mrr", "n"}.
    """
    sums = {f"recall@{k}": 0.0 for k in ks}
    sums[f"ndcg@{ndcg_k}"] = 0.0
    sums["mrr"] = 0.0
    n = 0
    for r, g in zip(ranked, gold):
        if not g:
            continue
        n += 1
        for k in ks:
            sums[f"recall@{k}"] += len(set(r[:k]) & g) / len(g)
        dcg = sum(1 / math.log2(i + 2) for i, x in enumerate(r[:ndcg_k]) if x in g)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(len(g), ndcg_k)))
        sums[f"ndcg@{ndcg_k}"] += dcg / idcg
        sums["mrr"] += next((1 / (i + 1) for i, x in enumerate(r) if x in g), 0.0)
    out = {k: v / max(n, 1) for k, v in sums.items()}
    out["n"] = n
    return out
