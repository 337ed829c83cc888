"""The shopper's reaction to a recommendation (`assistant.evaluation.reactions`), measured on labelled replies we
wrote (tests/assistant/data/): `reactions.jsonl` (159; the rules were written on it), `reactions_heldout.jsonl`
(63; written after the first rules, its errors then generalised the rules) and `reactions_heldout2.jsonl` (60;
written after the rules were frozen: the number to trust, 49/60 = 0.817, the old word list 44/60 = 0.733).

Run: python -m pytest -q tests/assistant/test_reactions.py
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from assistant.evaluation.reactions import reaction

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict]:
    return [json.loads(x) for x in (DATA / name).read_text().splitlines() if x.strip()]


@pytest.mark.parametrize(
    ("name", "at_least"),
    [("reactions.jsonl", 0.98), ("reactions_heldout.jsonl", 0.98), ("reactions_heldout2.jsonl", 0.81)],
)
def test_accuracy_on_the_labelled_samples(name, at_least):
    rows = _rows(name)
    assert Counter(r["label"] for r in rows).keys() == {"accept", "reject", "neutral"}
    right = sum(reaction(r["text"]) == r["label"] for r in rows)
    assert right / len(rows) >= at_least, (name, right, len(rows))


def test_precision_of_accept_and_reject_on_the_frozen_sample():
    rows = _rows("reactions_heldout2.jsonl")
    pred = [(reaction(r["text"]), r["label"]) for r in rows]
    for label in ("accept", "reject"):
        said = [gold for p, gold in pred if p == label]
        assert sum(g == label for g in said) / len(said) >= 0.94, label  # what is read as a decision is one


def test_the_cases_word_lists_misread():
    assert reaction("No, I haven't. What is it about?") == "neutral"
    assert reaction("Not bad at all, I'll order it.") == "accept"
    assert reaction("No worries, I'll take it anyway.") == "accept"
    assert reaction("Yes, what colours does it come in?") == "neutral"
    assert reaction("I don't like the color.") == "reject"
    assert reaction("Too pricey at first glance, but I'll take it.") == "accept"
    assert reaction("If it's waterproof I'll take it. Is it?") == "neutral"
