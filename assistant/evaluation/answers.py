"""Is a reply a correct answer to an attribute question? Values, yes/no polarity, and echoed questions.

    answer_is_correct(question="is the Echo Hoodie fleece?", reply="No, it is cotton.",
                      facts=[{"field": "material", "value": "fleece"}], reference="Yep, it is fleece.")  # False

Three rules, each closing a way to earn credit without answering:
- every fact value must be stated (`value_in_reply`: prices as "$54.00"/"$54"/"54.00", words whole);
- a yes/no question is answered with the reference's polarity: "No, the shorts have color beige" is wrong
  when the answer is yes, and a reply that states the value but opens with the wrong polarity is wrong;
- when a yes/no question already holds every fact value ("is it fleece?"), stating the value is only an echo,
  so the reply must also say yes explicitly (brand questions and "X or Y?" questions are not echoes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_YES = re.compile(
    r"^\W*(yes|yep|yeah|yup|sure|correct|indeed|absolutely|definitely|it does|it is|they do|they are|"
    r"that'?s right|right|exactly|confirmed)\b",
    re.I,
)
_NO = re.compile(
    r"^\W*(no|nope|not really|not quite|unfortunately|sadly|i'?m afraid|afraid not|actually,? no|it doesn'?t|"
    r"it isn'?t|they don'?t|they aren'?t|sorry)\b",
    re.I,
)
_YES_NO_QUESTION = re.compile(
    r"^(\W*\w+[,!.]?\s+){0,6}?(does|do|is|are|can|could|would|will|has|have|was|were)\b|\bconfirm\b", re.I
)
_NO_INSIDE = re.compile(r"\b(afraid not|doesn'?t|does not|isn'?t|is not|not available|don'?t|do not)\b", re.I)


def value_in_reply(value: Any, field: str, reply: str) -> bool:
    """Does `reply` state `value`? Prices match as "$54.00", "$54" or "54.00"; words match whole, any case."""
    text = reply.lower()
    if field == "price" and isinstance(value, (int, float)):
        forms = {f"{value:.2f}", f"{value:,.2f}"} | ({f"${int(value)}"} if float(value).is_integer() else set())
        return any(f in text for f in forms)
    words = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return all(re.search(r"(?<![a-z0-9])" + re.escape(w.lower()) + r"(?![a-z0-9])", text) for w in words)


def polarity(text: str) -> str | None:
    """ "yes", "no" or None (neither) from the first sentence of `text`."""
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    if _NO.search(first):
        return "no"
    if _YES.search(first):
        return "yes"
    if _NO_INSIDE.search(first):
        return "no"
    return None


def answer_is_correct(question: str, reply: str, facts: Sequence[Mapping[str, Any]], reference: str | None) -> bool:
    """Every fact stated, the reference's yes/no polarity kept, and echoed values backed by an explicit yes/no.

    Args:
        question: the shopper's message the reply answers.
        reply: the generated reply.
        facts: `[{"field", "value"}, ...]`: what a correct answer states (catalog values).
        reference: the reference reply; its polarity (if any) is the expected one. None: no polarity check.
    """
    if not all(value_in_reply(f["value"], f["field"], reply) for f in facts):
        return False
    expected = polarity(reference) if reference else None
    said = polarity(reply)
    if expected is not None and said is not None and said != expected:
        return False
    yes_no = bool(_YES_NO_QUESTION.search(question)) and " or " not in question.lower()
    echoed = (
        yes_no
        and bool(facts)
        and all(f["field"] != "brand" and value_in_reply(f["value"], f["field"], question) for f in facts)
    )
    if echoed:  # the asked value is the catalog's: only an explicit yes answers it
        return said == "yes" if expected in (None, "yes") else said == expected
    return True
