"""Text primitives of the assistant's runtime, one definition each: sentences, yes / no, values stated in a
text, prices, attribute labels, plurals and phrase normalisation.

    sentence_spans("It is red. 1. The X costs $5.")   # [(0, 10), (10, 30)]: a list number ends no sentence
    sentence_cut("It is red. It c")                   # 10: the prefix that holds finished sentences
    polarity("Nope, it is blue.")                     # "no"
    value_in_text(54.0, "price", "It is $54.")        # True
    format_price(49.9)                                 # "$49.90"

Everything that reads the shopper (`assistant.understanding`), writes a prompt (`assistant.generation`) or
checks a reply (`assistant.checks`) uses these. The evaluator (`assistant.evaluation`, `assistant.simulation`)
keeps its own readers on purpose: a judge that shares the judged's rules measures nothing.
"""

from __future__ import annotations

import re
from typing import Any

# A sentence ends at . ! ? before whitespace, but not after a list number ("1. "), or at a line break.
_END = r"(?<![\s:]\d)(?<!^\d)[.!?](?=\s)"
_SENTENCE = re.compile(rf"[^\n]+?(?:{_END}|$)", re.M)
_SENTENCE_END = re.compile(rf"{_END}|\n", re.M)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` of each sentence of `text`; a list number ("1. ") does not end a sentence."""
    return [m.span() for m in _SENTENCE.finditer(text)]


def sentence_cut(text: str) -> int:
    """Length of the longest prefix of `text` that ends with a finished sentence (0: none yet)."""
    cut = 0
    for m in _SENTENCE_END.finditer(text):
        cut = m.end()
    return cut


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
_NO_INSIDE = re.compile(r"\b(afraid not|doesn'?t|does not|isn'?t|is not|not available|don'?t|do not)\b", re.I)
YES_NO_OPENING = re.compile(r"^\W*(?:yes|yep|yeah|yup|sure|no|nope)\b[!.,:]?\s*", re.I)


def polarity(text: str) -> str | None:
    """ "yes", "no" or None (neither) from the first sentence of `text`."""
    spans = sentence_spans(text.strip())
    first = text.strip()[slice(*spans[0])] if spans else ""
    if _NO.search(first):
        return "no"
    if _YES.search(first):
        return "yes"
    if _NO_INSIDE.search(first):
        return "no"
    return None


def opens_with_yes_or_no(text: str) -> bool:
    """Does `text` open with a bare yes / no word ("Yes!", "Nope,")?"""
    return bool(YES_NO_OPENING.search(text))


def format_price(price: float | None, currency: str | None = None) -> str | None:
    """A price as shown to people: "$49.99" (USD or no currency), "49.99 EUR" otherwise; None for None."""
    if price is None:
        return None
    if currency in (None, "", "USD", "$"):
        return f"${price:.2f}"
    return f"{price:.2f} {currency}"


def value_in_text(value: Any, field: str, text: str) -> bool:
    """Does `text` state `value`? Prices match as "$54.00", "$54" or "54.00"; words match whole, any case."""
    low = text.lower()
    if field == "price" and isinstance(value, (int, float)):
        forms = {f"{value:.2f}", f"{value:,.2f}"} | ({f"${int(value)}"} if float(value).is_integer() else set())
        return any(f in low for f in forms)
    words = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return all(re.search(r"(?<![a-z0-9])" + re.escape(w.lower()) + r"(?![a-z0-9])", low) for w in words)


def label(name: str) -> str:
    """An attribute name as people say it: `skin_type` -> `skin type`."""
    return name.replace("_", " ").strip().lower()


def mentions(text: str, phrase: str) -> bool:
    """Does `text` name `phrase` as whole words (spaces, "_" and "-" alike; a plural "s" / "es" allowed)?"""
    words = re.escape(phrase.lower()).replace(r"\ ", r"[\s_-]+")
    return bool(re.search(rf"(?<![\w-]){words}(?:e?s)?(?![\w-])", text.lower()))


def plural(word: str) -> str:
    """English plural of a word or phrase's last word: "dress" -> "dresses", "battery" -> "batteries"."""
    if word.endswith("s"):
        return word
    if word.endswith(("sh", "ch", "x", "z")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def singular(word: str) -> str:
    """English singular: "batteries" -> "battery", "dresses" -> "dress", "jeans" -> "jean" (a guess)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def normalize_phrase(s: Any) -> str:
    """How shopper text and catalog values are compared: stripped, lower-cased, runs of spaces as one."""
    return re.sub(r"\s+", " ", str(s).strip().lower())
