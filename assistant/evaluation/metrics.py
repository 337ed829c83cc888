"""Pure metric functions for dialogue evaluation: text overlap, ranking, diversity and bootstrap CIs.

Text overlap:   rouge_l (LCS F1 over lower-cased word tokens, 0..1), chrf / bleu (sacrebleu, 0..100).
Ranking:        hit_at_k, recall_at_k, ndcg_at_k, mrr: a ranked list of predicted ids against a set of gold
                ids (binary relevance; duplicates in the prediction count once, at their first rank).
                Recall/NDCG return None when there is no gold id (nothing to score).
Diversity:      distinct_n over a set of texts, repetition_rate inside one text, overlap_with_previous.
Uncertainty:    bootstrap_ci (percentile bootstrap of a statistic), paired_bootstrap (difference of means
                on paired values, e.g. the same dialogues under two runs), bootstrap_diff (unpaired).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters/digits; punctuation dropped)."""
    return _WORD.findall(text.casefold())


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(pred: str, ref: str) -> float:
    """ROUGE-L F1: 2PR/(P+R) with P = LCS/|pred|, R = LCS/|ref| over word tokens; 0 when either is empty.

    Args:
        pred: generated text.
        ref: reference text.

    Returns:
        F1 in [0, 1].
    """
    p, r = words(pred), words(ref)
    lcs = _lcs(p, r)
    if lcs == 0:
        return 0.0
    prec, rec = lcs / len(p), lcs / len(r)
    return 2 * prec * rec / (prec + rec)


def chrf(pred: str, ref: str) -> float:
    """Sentence chrF (sacrebleu defaults: char 6-grams, beta 2), on sacrebleu's 0..100 scale."""
    import sacrebleu

    return float(sacrebleu.sentence_chrf(pred, [ref]).score)


def bleu(pred: str, ref: str) -> float:
    """Sentence BLEU (sacrebleu, exponential smoothing, effective order), 0..100."""
    import sacrebleu

    return float(sacrebleu.sentence_bleu(pred, [ref]).score)


def corpus_chrf(preds: list[str], refs: list[str]) -> float:
    """Corpus chrF over aligned lists (statistics pooled before the score), 0..100."""
    import sacrebleu

    return float(sacrebleu.corpus_chrf(preds, [refs]).score) if preds else 0.0


def corpus_bleu(preds: list[str], refs: list[str]) -> float:
    """Corpus BLEU over aligned lists, 0..100."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(preds, [refs]).score) if preds else 0.0


def _ranked(pred: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(pred))


def hit_at_k(pred: Iterable[str], gold: Iterable[str], k: int) -> float:
    """1.0 when any gold id is among the first k distinct predicted ids, else 0.0."""
    g = set(gold)
    return float(any(p in g for p in _ranked(pred)[:k]))


def recall_at_k(pred: Iterable[str], gold: Iterable[str], k: int) -> float | None:
    """Share of gold ids among the first k distinct predicted ids; None when there is no gold id."""
    g = set(gold)
    if not g:
        return None
    return len(g & set(_ranked(pred)[:k])) / len(g)


def ndcg_at_k(pred: Iterable[str], gold: Iterable[str], k: int) -> float | None:
    """Binary-relevance NDCG@k: sum_{i<=k, pred_i in gold} 1/log2(i+1) over the ideal DCG of
    min(|gold|, k) hits; None when there is no gold id."""
    g = set(gold)
    if not g:
        return None
    dcg = sum(1.0 / math.log2(i + 2) for i, p in enumerate(_ranked(pred)[:k]) if p in g)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(g), k)))
    return dcg / ideal


def mrr(pred: Iterable[str], gold: Iterable[str], k: int | None = None) -> float:
    """Reciprocal rank of the first gold id among the distinct predicted ids (cut at k when given); 0 if absent."""
    g = set(gold)
    ranked = _ranked(pred)
    for i, p in enumerate(ranked[:k] if k else ranked, start=1):
        if p in g:
            return 1.0 / i
    return 0.0


def _ngrams(toks: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def distinct_n(texts: Iterable[str], n: int = 2) -> float | None:
    """Distinct-n: unique word n-grams / all word n-grams over `texts`; None when there are none."""
    grams = [g for t in texts for g in _ngrams(words(t), n)]
    return len(set(grams)) / len(grams) if grams else None


def repetition_rate(text: str, n: int = 3) -> float:
    """Share of a text's word n-grams that repeat an earlier n-gram of the same text (0 = no repeats)."""
    grams = _ngrams(words(text), n)
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def overlap_with_previous(text: str, previous: Iterable[str], n: int = 3) -> float:
    """Share of a reply's word n-grams already said in `previous` replies (repeating oneself across turns)."""
    grams = _ngrams(words(text), n)
    if not grams:
        return 0.0
    seen = {g for t in previous for g in _ngrams(words(t), n)}
    return sum(g in seen for g in grams) / len(grams)


def _clean(values: Iterable[float | None]) -> np.ndarray:
    return np.array([float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))])


def bootstrap_ci(
    values: Iterable[float | None],
    stat: Callable[[np.ndarray], float] = np.mean,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float | int | None]:
    """Percentile bootstrap confidence interval of `stat` (None values are dropped).

    Args:
        values: per-item values (e.g. per-dialogue scores).
        stat: statistic of a 1-D array (mean by default).
        n_resamples: bootstrap resamples.
        confidence: interval mass, e.g. 0.95.
        seed: random seed (results are reproducible).

    Returns:
        {"value", "lo", "hi", "n"}; value/lo/hi are None when there are no values.
    """
    x = _clean(values)
    if x.size == 0:
        return {"value": None, "lo": None, "hi": None, "n": 0}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    if stat is np.mean:
        stats = x[idx].mean(axis=1)
    else:
        stats = np.array([stat(x[i]) for i in idx])
    a = (1 - confidence) / 2
    return {
        "value": float(stat(x)),
        "lo": float(np.quantile(stats, a)),
        "hi": float(np.quantile(stats, 1 - a)),
        "n": int(x.size),
    }


def paired_bootstrap(
    a: Sequence[float | None],
    b: Sequence[float | None],
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float | int | None]:
    """Bootstrap CI of mean(b - a) over paired items (pairs with a None on either side are dropped).

    Args:
        a: per-item values of run A.
        b: per-item values of run B, aligned with `a`.
        n_resamples, confidence, seed: as in `bootstrap_ci`.

    Returns:
        {"diff", "lo", "hi", "p_value", "n"}: diff = mean(b) - mean(a); p_value is the two-sided share of
        resampled differences on the other side of zero (None values when no pair is left).

    Raises:
        ValueError: when `a` and `b` differ in length.
    """
    if len(a) != len(b):
        raise ValueError(f"paired_bootstrap needs aligned lists, got {len(a)} and {len(b)} values")
    pairs = [(float(x), float(y)) for x, y in zip(a, b) if x is not None and y is not None]
    if not pairs:
        return {"diff": None, "lo": None, "hi": None, "p_value": None, "n": 0}
    d = np.array([y - x for x, y in pairs])
    rng = np.random.default_rng(seed)
    stats = d[rng.integers(0, d.size, size=(n_resamples, d.size))].mean(axis=1)
    return _diff_summary(float(d.mean()), stats, confidence, d.size)


def bootstrap_diff(
    a: Iterable[float | None],
    b: Iterable[float | None],
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float | int | None]:
    """Unpaired bootstrap CI of mean(b) - mean(a), resampling each side independently (same keys as
    `paired_bootstrap`; `n` is the smaller side)."""
    x, y = _clean(a), _clean(b)
    if x.size == 0 or y.size == 0:
        return {"diff": None, "lo": None, "hi": None, "p_value": None, "n": 0}
    rng = np.random.default_rng(seed)
    sx = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    sy = y[rng.integers(0, y.size, size=(n_resamples, y.size))].mean(axis=1)
    return _diff_summary(float(y.mean() - x.mean()), sy - sx, confidence, int(min(x.size, y.size)))


def _diff_summary(diff: float, stats: np.ndarray, confidence: float, n: int) -> dict[str, float | int | None]:
    a = (1 - confidence) / 2
    if diff >= 0:
        p = 2 * float(np.mean(stats <= 0))
    else:
        p = 2 * float(np.mean(stats >= 0))
    return {
        "diff": diff,
        "lo": float(np.quantile(stats, a)),
        "hi": float(np.quantile(stats, 1 - a)),
        "p_value": min(1.0, p),
        "n": int(n),
    }


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the non-None values; None when there are none."""
    x = _clean(values)
    return float(x.mean()) if x.size else None
