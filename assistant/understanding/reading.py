"""One reading of the shopper's last message, made once per turn: the category, the needs after it, what it
asks and which products it is about.

    reading = read_message(history, catalog=..., vocabulary=..., categories=[...], check=check_reply)
    reading.category, reading.needs, reading.ask, reading.budget

The orchestrator acts on this object only; nothing after it reads the shopper's text again. Each reader runs
once, in this order: the budget of the last message (`needs.parse_budget`), the category of the dialogue
(`router.route`), the needs (`needs.needs_from_dialogue`, given that category and budget), and what the
message asks (`questions.read_question`, given the needs and budget).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.understanding.needs import ShopperNeeds, needs_from_dialogue, parse_budget
from assistant.understanding.questions import Ask, read_question
from assistant.understanding.router import route
from assistant.understanding.vocabulary import Vocabulary


@dataclass
class Reading:
    """What the assistant understood of the dialogue after the shopper's last message.

    Attributes:
        history: the dialogue as `{"role", "content": str}` turns, ending with the shopper's message.
        message: the shopper's last message.
        category: the category the turn is in (routed, or forced by the caller).
        needs: the shopper's needs after the message (`ShopperNeeds`).
        ask: what the message asks and the products it refers to (`Ask`).
        budget: the message's own budget `(min, max)` as read, None when it states none.
    """

    history: list[dict[str, str]]
    message: str
    category: str | None
    needs: ShopperNeeds
    ask: Ask = field(default_factory=Ask)
    budget: tuple[float | None, float | None] | None = None


def read_message(
    history: Sequence[dict[str, str]],
    *,
    catalog: Any,
    vocabulary: Vocabulary,
    categories: Sequence[str],
    check: Callable[..., Any],
    default_category: str | None = None,
    category: str | None = None,
) -> Reading:
    """Read the last message of `history` once (see `Reading`).

    Args:
        history: normalised turns; the last one is the shopper's.
        catalog: the shop's `retrieval.catalog.Catalog`.
        vocabulary: the catalog's vocabulary (`Vocabulary.from_catalog`).
        categories: the categories a turn may be routed to.
        check: the product-name reader (`assistant.checks.grounding.check_reply`), used to find the products a
            message or an earlier reply names.
        default_category: the category when the dialogue names none.
        category: force the category (e.g. chosen on the page); None routes it.
    """
    history = list(history)
    message = history[-1]["content"]
    budget = parse_budget(message)
    category = category or route(history, list(categories), vocabulary, default_category)
    needs = needs_from_dialogue(history, vocabulary, category=category, last_budget=budget)
    ask = read_question(history, catalog, check, category, vocabulary, needs, budget=budget)
    return Reading(history, message, category, needs, ask, budget)
