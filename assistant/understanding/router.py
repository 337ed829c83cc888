"""Category routing: which category (and so which adapter) a dialogue is in. A pure function.

    category = route(messages, ["apparel", "shoes"], vocabulary, default="apparel")

Each user message is scored against every category's keywords (category names and synonyms, the
distinctive words of its product titles, its brands; see `Vocabulary.category_scores`). The first message
with a signal picks the category; later messages stay in it unless one points clearly elsewhere, so a
follow-up like "is it waterproof?" never flips the category.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.understanding.vocabulary import Vocabulary, choose_category


def _scores(text: str, categories: list[str], vocabulary: Vocabulary | None) -> dict[str, float]:
    if vocabulary is not None:
        scores = vocabulary.category_scores(text)
    else:  # no catalog vocabulary: category names only
        low = text.lower()
        scores = {c: 2.0 for c in categories if re.search(rf"\b{re.escape(c.lower())}\b", low)}
    return {c: s for c, s in scores.items() if c in categories}


def route(
    messages: list[dict[str, Any]],
    categories: list[str],
    vocabulary: Vocabulary | None = None,
    default: str | None = None,
) -> str | None:
    """The category of the dialogue after its last message.

    Args:
        messages: OpenAI-style `{"role", "content"}` dicts; only user messages are read.
        categories: the categories that can be chosen (e.g. the catalog's).
        vocabulary: keyword weights per category; None matches category names only.
        default: returned when no message points at any category.

    Returns:
        A name from `categories`, or `default`.
    """
    current: str | None = None
    for m in messages:
        if m.get("role") != "user" or not isinstance(m.get("content"), str):
            continue
        current = choose_category(_scores(m["content"], categories, vocabulary), current)
    return current if current is not None else default
