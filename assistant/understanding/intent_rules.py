"""The intent of a shopper message derived by rules from what the other readers already read (the question's
`Ask`, the needs before and after the message, the language), and the reading's referent and comparison fields.

    intent = rule_intent(message, ask, before, after, language)   # "ask_products", "compare", "leave", ...
    refers_to(intent, ask)                                          # ["app-0072"]
    comparison(ask)                                                 # {"attribute": "price", "direction": "min"}

This is the rules row of `python -m bench.understanding`; a learned model replaces `rule_intent` by passing
`read_message(..., intents=model)` (anything with `.predict(message, history) -> str`). The few English cue
phrases the intents need beyond the other readers (greetings, goodbyes, picks, rejections, corrections) live
here, in one place.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.understanding.needs import ShopperNeeds
from assistant.understanding.questions import Ask

INTENTS = (
    "ask_products",
    "ask_about_product",
    "compare",
    "release",
    "correct",
    "exclude",
    "accept",
    "reject",
    "leave",
    "off_topic",
    "greet",
    "other_language",
)
"""What a shopper message does: one label per message, its main act."""

_GREETING = re.compile(
    r"^\W*(?:hi+|hello+|hey+|hiya|howdy|yo|good (?:morning|afternoon|evening|day)|greetings)\b"
    r"(?:\s+(?:there|again|all))?\W*$",
    re.I,
)
_LEAVE = re.compile(
    r"\b(?:bye|goodbye|see you|see ya|gotta go|have to go|i'?ll think about it|never ?mind|forget it|"
    r"that'?s all|that is all|i'?m done|no thanks|i'?ll pass|i'?ll look elsewhere|waste of time)\b",
    re.I,
)
_PICK = re.compile(
    r"\b(?:i'?ll take|i will take|i'?ll get|i will get|i'?ll buy|i will buy|i'?ll order|i will order|"
    r"i'?ll go (?:with|for)|going with|go with|add (?:it|that|this|them) to (?:my |the )?cart|sold|"
    r"(?:that'?s|this is|it'?s) the one|i want (?:that|this) one|i'?ll have|sounds good|"
    r"(?:i'?d like to|let'?s|we'?ll|i will) (?:take|go with|get|buy|order|pick|choose)|"
    r"(?:i|we) (?:choose|pick) (?:it|that|this|the)|add (?:it|that|this|the [\w -]+) to (?:my )?(?:cart|basket))\b",
    re.I,
)
_REJECT = re.compile(
    r"\b(?:(?:don'?t|do not|doesn'?t) (?:like|love|want) (?:it|that|this|them|those|these|any)|"
    r"not (?:that|this) one|none of (?:these|those|them)|not (?:for me|my (?:style|taste|thing))|"
    r"(?:i'?m|i am) not (?:a fan|into|sold|convinced)|nah|meh|ugly|hate (?:it|that|them|those|these))\b",
    re.I,
)
_CORRECTION = re.compile(
    r"^\W*(?:no+|nope|wait|actually|sorry|oops|i said|i meant|i mean|i asked for|not \w+[,-])\b|"
    r"\b(?:i said|i meant|i asked for|i told you|i wanted)\b",
    re.I,
)
_CHEAP = re.compile(
    r"\b(?:cheap|cheaper|cheapest|price|prices|cost|costs|costlier|expensive|pricier|priciest)\b", re.I
)
_RATED = re.compile(r"\b(?:rated|rating|ratings|reviews?|reviewed|stars?)\b", re.I)
_LESS = re.compile(
    r"\b(?:cheaper|cheapest|less|least|lower|lowest|smaller|smallest|lighter|lightest|shorter|shortest|fewer|"
    r"fewest|thinner|slimmer)\b",
    re.I,
)
_MORE = re.compile(
    r"\b(?:more|most|higher|highest|bigger|biggest|larger|largest|longer|longest|better|best|heavier|pricier|"
    r"priciest|expensive)\b",
    re.I,
)


def _changed(before: ShopperNeeds, after: ShopperNeeds) -> dict[str, bool]:
    """Which kinds of need the message changed."""
    wanted = {k: v for k, v in after.attributes.items() if before.attributes.get(k) != v}
    return {
        "wanted": bool(wanted) or set(after.brands) - set(before.brands) != set(),
        "replaced": any(k in before.attributes for k in wanted)
        or (
            (after.min_price, after.max_price) != (before.min_price, before.max_price)
            and (before.min_price, before.max_price) != (None, None)
            and (after.min_price, after.max_price) != (None, None)
        ),
        "price": (after.min_price, after.max_price) != (before.min_price, before.max_price),
        "excluded": any(
            k not in before.exclude_attributes or before.exclude_attributes[k] != v
            for k, v in after.exclude_attributes.items()
        )
        or bool(set(after.exclude_brands) - set(before.exclude_brands)),
        "released": bool(set(after.released) - set(before.released)),
    }


def rule_intent(message: str, ask: Ask, before: ShopperNeeds, after: ShopperNeeds, language: str = "en") -> str:
    """The main act of `message` (one of `INTENTS`), from the other readers' results.

    Args:
        message: the shopper's message.
        ask: what `questions.read_question` read in it.
        before: the needs before the message; after: the needs after it.
        language: its ISO 639-1 language (`language.detect_language`).

    Returns:
        The intent: another language first; then off-topic, greetings, goodbyes and picks as read; then a
        comparison or a question about a product; then the kind of need the message changed (released,
        excluded, corrected); rejections; and asking for products otherwise.
    """
    if language != "en":
        return "other_language"
    if ask.kind == "off_topic":
        return "off_topic"
    changed = _changed(before, after)
    new_need = changed["wanted"] or changed["price"] or changed["excluded"] or changed["released"]
    if _GREETING.search(message) and not new_need:
        return "greet"
    if _PICK.search(message):
        return "accept"
    if ask.kind == "closing" or (_LEAVE.search(message) and not new_need):
        return "leave"
    if ask.kind == "compare":
        return "compare"
    if ask.kind in ("attribute", "unresolved"):
        return "ask_about_product"
    if changed["released"]:
        return "release"
    if changed["excluded"] and not changed["wanted"]:
        return "exclude"
    if changed["replaced"] and _CORRECTION.search(message):
        return "correct"
    if _REJECT.search(message) and not changed["wanted"]:
        return "reject"
    if ask.products and "?" in message and not new_need:
        return "ask_about_product"
    return "ask_products"


_REFERS = ("ask_about_product", "compare", "accept", "reject", "other_language")


def refers_to(intent: str, ask: Ask) -> list[str]:
    """The products the message is about: those the question points at for an act on shown products, the ones
    it names for a request; none for acts about needs or the conversation (greet, leave, exclude, ...)."""
    if intent in _REFERS:
        return list(ask.products or ask.named)
    if intent == "ask_products":
        return list(ask.named)
    return []


def comparison(ask: Ask) -> dict[str, Any] | None:
    """`{"attribute", "direction": "max" | "min"}` of a comparison (`ask.kind == "compare"`), None otherwise
    or when it names neither an attribute nor a direction ("what's the difference?")."""
    if ask.kind != "compare":
        return None
    wording = ask.wording
    attribute = ask.attribute
    if attribute is None and _CHEAP.search(wording):
        attribute = "price"
    elif attribute is None and _RATED.search(wording):
        attribute = "rating"
    less, more = _LESS.search(wording), _MORE.search(wording)
    if attribute is None and not (less or more):
        return None
    priciest = attribute == "price" and re.search(r"\b(?:more expensive|most expensive|pricier|priciest)\b", wording)
    direction = "min" if less and not priciest else "max"
    return {"attribute": attribute, "direction": direction}
