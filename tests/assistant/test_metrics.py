"""Unit tests of the evaluation metrics on small hand-computed inputs.

Run: python -m pytest -q tests/assistant/test_metrics.py
"""

from __future__ import annotations

import math

import pytest

from assistant.evaluation import metrics as M


def test_rouge_l_hand_computed():
    # pred: a b c d, ref: a c d e -> LCS "a c d" = 3; P = 3/4, R = 3/4, F1 = 0.75
    assert M.rouge_l("a b c d", "A, c d e") == pytest.approx(0.75)
    # LCS 2 ("the cat"), P = 2/3, R = 2/5 -> F1 = 2*(2/3)*(2/5)/(2/3+2/5) = 0.5
    assert M.rouge_l("the cat sat", "the big cat was here") == pytest.approx(0.5)
    assert M.rouge_l("", "x") == 0.0
    assert M.rouge_l("same words here", "same words here") == pytest.approx(1.0)


def test_chrf_bleu_scale_and_order():
    assert M.chrf("the red shoe", "the red shoe") == pytest.approx(100.0)
    assert M.bleu("the red running shoe is here", "the red running shoe is here") == pytest.approx(100.0)
    assert M.chrf("the red shoe", "the red shoes") > M.chrf("a blue hat", "the red shoes")
    assert M.corpus_bleu(["a b c d"], ["a b c d"]) == pytest.approx(100.0)


def test_ranking_metrics_hand_computed():
    pred = ["x", "g1", "y", "g2"]
    gold = {"g1", "g2"}
    assert M.hit_at_k(pred, gold, 1) == 0.0
    assert M.hit_at_k(pred, gold, 2) == 1.0
    assert M.recall_at_k(pred, gold, 2) == 0.5
    assert M.recall_at_k(pred, gold, 4) == 1.0
    # DCG@4 = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert M.ndcg_at_k(pred, gold, 4) == pytest.approx(expected)
    assert M.ndcg_at_k(["g1"], {"g1"}, 5) == pytest.approx(1.0)
    assert M.mrr(pred, gold) == pytest.approx(0.5)
    assert M.mrr(pred, {"y"}, k=2) == 0.0
    assert M.mrr(["a", "a", "b"], {"b"}) == pytest.approx(0.5)  # duplicates count once
    assert M.recall_at_k(pred, set(), 3) is None and M.ndcg_at_k(pred, [], 3) is None


def test_diversity_and_repetition():
    # bigrams: (a b) (b a) (a b) -> 2 unique of 3
    assert M.distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    assert M.repetition_rate("a b a b", 2) == pytest.approx(1 / 3)
    assert M.repetition_rate("one two three", 3) == 0.0
    assert M.overlap_with_previous("a b c d", ["x a b c"], 3) == pytest.approx(0.5)
    assert M.distinct_n([""], 2) is None


def test_bootstrap_ci_contains_mean_and_is_reproducible():
    vals = [0, 1] * 50
    ci = M.bootstrap_ci(vals, n_resamples=500, seed=1)
    assert ci["value"] == pytest.approx(0.5) and ci["lo"] < 0.5 < ci["hi"] and ci["n"] == 100
    assert ci == M.bootstrap_ci(vals, n_resamples=500, seed=1)
    assert M.bootstrap_ci([None])["value"] is None


def test_paired_bootstrap_contains_true_difference():
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.1, size=200)
    b = a + 0.1 + rng.normal(0, 0.02, size=200)  # true difference 0.1
    r = M.paired_bootstrap(list(a), list(b))
    assert r["lo"] <= 0.1 <= r["hi"] and r["lo"] > 0 and r["p_value"] < 0.01
    u = M.bootstrap_diff(list(a), list(b))
    assert u["lo"] <= 0.1 <= u["hi"]
    with pytest.raises(ValueError):
        M.paired_bootstrap([1.0], [1.0, 2.0])
