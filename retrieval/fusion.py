"""Fusing dense and lexical rankings: reciprocal-rank fusion and min-max-normalised linear fusion.

RRF (Cormack et al., 2009): score = w_dense / (60 + rank_dense) + w_lex / (60 + rank_lex), ranks from 1,
a missing rank contributing 0. Linear: over the union of both candidate lists, the exact cosine and the
exact BM25 score of every candidate, each min-max normalised over the union, weighted and summed.
"""

from __future__ import annotations

import numpy as np

from retrieval.ann import topk

RRF_K = 60.0


def fuse(
    d_slots: np.ndarray,
    d_sc: np.ndarray,
    l_slots_all: np.ndarray,
    l_sc_all: np.ndarray,
    n: int,
    top_k: int,
    fusion: str,
    weights: tuple[float, float],
    emb: np.ndarray,
    qv: np.ndarray,
    lex_mask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse a dense top-n (already filtered) with BM25 scores of all matching slots (filtered here).

    Args:
        d_slots, d_sc: dense candidates and cosine scores, best first.
        l_slots_all, l_sc_all: every slot containing a query term and its BM25 score, slots ascending.
        n: lexical candidates to take.
        top_k: results returned.
        fusion: "rrf" or "linear".
        weights: (dense, lexical).
        emb, qv: embeddings and query vector (linear fusion scores lexical candidates densely).
        lex_mask: bool over slots allowed (filters and live slots).

    Returns:
        (slots, fused scores), best first.
    """
    if fusion not in ("rrf", "linear"):
        raise ValueError(f"`fusion` must be rrf or linear, got {fusion!r}")
    wd, wl = weights
    keep = (l_sc_all > 0) & lex_mask[l_slots_all] if len(l_slots_all) else np.zeros(0, bool)
    ls, lsc = l_slots_all[keep], l_sc_all[keep]
    top = topk(lsc, n)
    l_slots = ls[top]
    if len(l_slots) == 0:
        k = min(top_k, len(d_slots))
        return d_slots[:k], (d_sc[:k] * wd if fusion == "linear" else wd / (RRF_K + 1 + np.arange(k)))
    union = np.unique(np.concatenate([d_slots, l_slots]))
    if fusion == "rrf":
        score = np.zeros(len(union))
        score[np.searchsorted(union, d_slots)] += wd / (RRF_K + 1 + np.arange(len(d_slots)))
        score[np.searchsorted(union, l_slots)] += wl / (RRF_K + 1 + np.arange(len(l_slots)))
    else:
        dense = emb[union] @ qv
        pos = np.searchsorted(ls, union)
        pos = np.minimum(pos, max(len(ls) - 1, 0))
        lex = np.where(ls[pos] == union, lsc[pos], 0.0) if len(ls) else np.zeros(len(union))
        score = wd * _minmax(dense) + wl * _minmax(lex)
    order = topk(score, top_k)
    return union[order], score[order].astype(np.float32)


def _minmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.ones_like(x)
