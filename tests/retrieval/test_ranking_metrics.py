"""Ranking metrics on hand-computed cases: `python -m pytest -q tests/retrieval/test_metrics.py`."""

import math

import pytest

from retrieval.metrics import ranking_metrics


def test_hand_computed_metrics():
    m = ranking_metrics([["a", "b", "c"], ["x", "y", "z"], ["q"]], [{"b"}, {"x", "z"}, set()], ks=(1, 2))
    assert m["n"] == 2
    assert m["recall@1"] == pytest.approx((0 + 0.5) / 2)
    assert m["recall@2"] == pytest.approx((1 + 0.5) / 2)
    assert m["mrr"] == pytest.approx((0.5 + 1) / 2)
    nd1 = (1 / math.log2(3)) / 1
    nd2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["ndcg@10"] == pytest.approx((nd1 + nd2) / 2)
