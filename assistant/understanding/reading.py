"""One reading of the shopper's last message, made once per turn: the category, the needs after it, what it
asks, which products it is about, its intent and its language.

    reading = read_message(history, catalog=..., vocabulary=..., categories=[...], check=check_reply)
    reading.intent, reading.category, reading.needs, reading.refers_to, reading.compare, reading.language
    reading.to_dict()          # the JSON of `shopguide understand` (fields: docs/understanding.md)

The orchestrator acts on this object only; nothing after it reads the shopper's text again. Each reader runs
once, in this order: the language (`language.detect_language`), the budget of the last message
(`needs.parse_budget`), the category of the dialogue (`router.route`), the needs before the message and after it
(`needs.needs_from_dialogue`, `needs.update_needs`, given that category and budget), what the message asks
(`questions.read_question`, given the needs and budget), and the intent: `intents.predict(message, history)`
when a learned model is given, else `intent_rules.rule_intent` over what the others read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.understanding.intent_rules import comparison, refers_to, rule_intent
from assistant.understanding.language import detect_language
from assistant.understanding.needs import ShopperNeeds, needs_from_dialogue, parse_budget, update_needs
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
        intent: what the message does, one of `intent_rules.INTENTS`.
        language: its ISO 639-1 language ("en" when it cannot tell).
        refers_to: ids of the products it is about (`intent_rules.refers_to`).
        compare: `{"attribute", "direction": "max" | "min"}` of a comparison, else None.
        ask_attribute: the attribute asked about a product ("price", "color", ...), else None.
    """

    history: list[dict[str, str]]
    message: str
    category: str | None
    needs: ShopperNeeds
    ask: Ask = field(default_factory=Ask)
    budget: tuple[float | None, float | None] | None = None
    intent: str = "ask_products"
    language: str = "en"
    refers_to: list[str] = field(default_factory=list)
    compare: dict[str, Any] | None = None
    ask_attribute: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The reading as JSON-ready data, needs under the dialogue contract's keys (see docs/understanding.md)."""
        n = self.needs
        needs = {
            "category": n.category,
            "min_price": n.min_price,
            "max_price": n.max_price,
            "attributes": dict(n.attributes),
            "exclude_attributes": dict(n.exclude_attributes),
            "brands": list(n.brands),
            "exclude_brands": list(n.exclude_brands),
            "released": list(n.released),
        }
        return {
            "message": self.message,
            "intent": self.intent,
            "category": self.category,
            "needs": needs,
            "refers_to": list(self.refers_to),
            "compare": dict(self.compare) if self.compare else None,
            "ask_attribute": self.ask_attribute,
            "language": self.language,
            "budget": list(self.budget) if self.budget else None,
        }


def read_message(
    history: Sequence[dict[str, str]],
    *,
    catalog: Any,
    vocabulary: Vocabulary,
    categories: Sequence[str],
    check: Callable[..., Any],
    default_category: str | None = None,
    category: str | None = None,
    intents: Any = None,
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
        intents: a learned intent reader, anything with `.predict(message, history_before) -> str`; None: the
            rules (`intent_rules.rule_intent`).
    """
    history = list(history)
    message = history[-1]["content"]
    language = detect_language(message)
    budget = parse_budget(message)
    # a message in another language goes to a category only when the dialogue names one, never to the default
    default = default_category if language == "en" else None
    category = category or route(history, list(categories), vocabulary, default)
    before = needs_from_dialogue(history[:-1], vocabulary, category=category)
    needs = update_needs(before, message, vocabulary, category=category, budget=budget)
    ask = read_question(history, catalog, check, category, vocabulary, needs, budget=budget)
    if intents is not None:
        intent = intents.predict(message, history[:-1])
    else:
        intent = rule_intent(message, ask, before, needs, language)
    return Reading(
        history,
        message,
        category,
        needs,
        ask,
        budget,
        intent=intent,
        language=language,
        refers_to=refers_to(intent, ask),
        compare=comparison(ask),
        ask_attribute=ask.attribute if ask.kind == "attribute" else None,
    )
