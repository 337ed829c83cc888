"""Fusing dense and lexical rankings: reciprocal-rank fusion and min-max-normalised linear fusion.

RRF (Cormack et al., 2009): score = w_dense / (60 + rank_dense) + w_lex / (60 + rank_lex), ranks from 1,
a missing rank contributing 0. Linear: over the union of both candidate lists, the exact cosine and the
exact BM25 score of every candidate, each min-max normalised over the union, weighted and summed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from retrieval.ann import topk

RRF_K = 60.0


def fuse(
    d_slots: np.ndarray,
    d_sc: np.ndarray,
    l_slots: np.ndarray,
    top_k: int,
    fusion: str,
    weights: tuple[float, float],
    dense: Callable[[np.ndarray], np.ndarray],
    lexical: Callable[[np.ndarray], np.ndarray],
    l_sc: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse a dense and a lexical top-n, both already filtered, best first.

    Args:
        d_slots, d_sc: dense candidates and their cosine scores.
        l_slots: lexical (BM25) candidates.
        top_k: results returned.
        fusion: "rrf" or "linear".
        weights: (dense, lexical).
        dense, lexical: exact scores of given slots (linear fusion scores the union of both lists with both).
        l_sc: the lexical candidates' exact scores when known (BM25's top-k gives them): `lexical` then scores
            only the dense candidates outside the lexical list.

    Returns:
        (slots, fused scores), best first.
    """
    if fusion not in ("rrf", "linear"):
        raise ValueError(f"`fusion` must be rrf or linear, got {fusion!r}")
    wd, wl = weights
    if len(l_slots) == 0:
        k = min(top_k, len(d_slots))
        return d_slots[:k], (d_sc[:k] * wd if fusion == "linear" else wd / (RRF_K + 1 + np.arange(k)))
    union = np.unique(np.concatenate([d_slots, l_slots]))
    if fusion == "rrf":
        score = np.zeros(len(union))
        score[np.searchsorted(union, d_slots)] += wd / (RRF_K + 1 + np.arange(len(d_slots)))
        score[np.searchsorted(union, l_slots)] += wl / (RRF_K + 1 + np.arange(len(l_slots)))
    else:
        score = wd * _minmax(dense(union)) + wl * _minmax(_lexical(union, l_slots, l_sc, lexical))
    order = topk(score, top_k)
    return union[order], score[order].astype(np.float32)


def _lexical(
    union: np.ndarray, l_slots: np.ndarray, l_sc: np.ndarray | None, lexical: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    if l_sc is None:
        return lexical(union)
    out = np.zeros(len(union), np.float32)
    known = np.zeros(len(union), bool)
    pos = np.searchsorted(union, l_slots)
    out[pos], known[pos] = l_sc, True
    rest = np.flatnonzero(~known)
    out[rest] = lexical(union[rest])
    return out


def _minmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.ones_like(x)
