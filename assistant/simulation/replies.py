"""What the simulated shopper reads in one assistant reply, with the judge's reader (`assistant.evaluation.reading`):
the products it recommends, the questions it asks about needs, and whether it answered an attribute question or
a comparison. Nothing here uses the assistant's own reading or checks (`tests/test_layout.py`).

    lexicon = Lexicon(profile)
    r = read_reply(text, products, catalog, category, lexicon)     # ReplyReading: products, questions, report
    answer_status(text, product, "color", r)                      # "correct", "wrong" or "no answer"
    compared(text, [a, b], r, dim="price")                         # a comparison made on the asked dimension
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.evaluation.reading import Reading, reader_for
from assistant.simulation.goals import CategoryProfile, Need, label, norm
from retrieval.catalog import Catalog, Product

# Question / reply words of the simulated shopper's reading, single words only (its own lists).
_BUDGET_Q = re.compile(r"\b(budget|price|pricing|priced|spend|afford|cost|costs|pay|paying|money|expensive)\b")
_BRAND_Q = re.compile(r"\b(brands?|makers?|manufacturer|labels?)\b")
_KIND_Q = re.compile(r"\b(kind|sort|type|category|what\s+are\s+you\s+after|which\s+product)\b")
_DETAILS_Q = re.compile(r"\b(kind|sort|type|looking for|features?|details|describe|specific|prefer|in mind)\b")
_YES = re.compile(r"\b(yes|yep|yeah|indeed|correct|absolutely|definitely)\b")
_NEG = re.compile(r"\b(no|not|isn'?t|doesn'?t|nope|lacks|without|non)\b")
REDIRECT = re.compile(r"\b(sorry|unable|cannot|can'?t|only|instead|unfortunately)\b")


@dataclass
class ReplyReading:
    """What the shopper read in one reply."""

    products: list[str]  # catalog ids recommended / discussed, in order
    from_endpoint: bool  # the ids came with the reply (else: found in the text by the judge's reader)
    questions: list[tuple[str, list[str]]]  # (question sentence, need topics it asks about)
    report: Reading

    @property
    def asked(self) -> list[str]:
        """Need topics the reply asks about, in order, each once."""
        return list(dict.fromkeys(t for _, topics in self.questions for t in topics))

    @property
    def false_facts(self) -> int:
        return len(self.report.wrong) + len(self.report.unknown)


class Lexicon:
    """Question words -> need topics, for one category, from the catalog's own attribute names and values."""

    def __init__(self, profile: CategoryProfile):
        self.kind = profile.kind_attribute
        self.free_text = profile.free_text
        self.names: list[tuple[str, re.Pattern]] = []
        for name, spec in profile.attributes.items():
            words = [re.escape(label(name))]
            words += [re.escape(norm(v)) for v in spec.values if spec.kind == "text" and len(norm(v)) >= 3]
            if spec.kind == "bool":
                words.append(re.escape(label(name)))
            self.names.append(
                (
                    name,
                    re.compile(
                        r"(?<![\w-])(" + "|".join(sorted(set(words), key=len, reverse=True)) + r")(e?s)?(?![\w-])"
                    ),
                )
            )

    def topics(self, sentence: str) -> list[str]:
        s = norm(sentence)
        found = [name for name, rx in self.names if rx.search(s)]
        if _BUDGET_Q.search(s) or re.search(r"[$€£]\s?\d", s):
            found.append("budget")
        if _BRAND_Q.search(s):
            found.append("brand")
        if not found and self.kind and _KIND_Q.search(s):
            found.append(self.kind)
        if not found and self.free_text and _DETAILS_Q.search(s):  # a free-text shop asks what the shopper wants
            found.append("details")
        return found


def read_reply(
    text: str, products: list[str] | None, catalog: Catalog, category: str, lexicon: Lexicon
) -> ReplyReading:
    """Read one assistant reply (see the module docstring): products, need questions, the judge's reading."""
    ids = [p for p in dict.fromkeys(str(x) for x in products or []) if p in catalog] if products is not None else None
    reader = reader_for(catalog)
    report = reader.read(text or "", category, shown=ids or None)
    questions = []
    for sent in report.questions:
        if not reader.names(sent, category, ids):
            topics = lexicon.topics(sent)
            if topics:
                questions.append((sent, topics))
    return ReplyReading(ids if ids is not None else list(report.products), ids is not None, questions, report)


def answer_status(text: str, p: Product | None, name: str, reading: ReplyReading) -> str:
    """ "correct", "wrong" or "no answer": does the reply state `p`'s catalog value of attribute `name`?

    A value answer is correct when one of the product's values appears in the reply as whole words and the
    judge's reader found no wrong value of that attribute for it; another value of the attribute without
    the right one is wrong. A yes/no answer (boolean attributes) is correct when it says yes for True or
    has a negation for False.
    """
    if p is not None and name == "price":
        prices = [f for f in reading.report.facts if f.product_id == p.id and f.field == "price"]
        if not prices:
            return "no answer"
        return "correct" if all(f.ok for f in prices) else "wrong"
    if p is None or name not in p.attributes:
        return "no answer"
    actual, low = p.attributes[name], norm(text)
    if isinstance(actual, bool):
        yes, neg = bool(_YES.search(low)), bool(_NEG.search(low))
        if not yes and not neg:
            return "no answer"
        return "correct" if (actual and yes and not neg) or (not actual and neg) else "wrong"
    wrong = any(m.product_id == p.id and m.field == name for m in reading.report.wrong)
    values = actual if isinstance(actual, list) else [actual]
    if any(_has_value(low, v) for v in values) and not wrong:
        return "correct"
    if wrong:
        return "wrong"
    return "no answer"


def _values(v: Any) -> list[Any]:
    return [] if v is None else v if isinstance(v, list) else [v]


def words_in(text: str) -> bool:
    """Whether a reply has any word (an empty reply is in no language)."""
    return bool(re.search(r"[^\W\d_]", text or ""))


def echoes(sentence: str, need: Need) -> bool:
    """Whether a question sentence repeats the value of a stated need (a confirmation, not a re-ask)."""
    low = norm(sentence)
    if need.kind == "budget":
        return bool(re.search(rf"(?<![\d.]){int(need.value)}(?![\d])", low))
    if isinstance(need.value, bool):
        return _has_value(low, label(need.topic))
    return _has_value(low, need.value)


def _has_value(low: str, v: Any) -> bool:
    return bool(re.search(r"(?<![\w-])" + re.escape(norm(v)) + r"(?![\w-])", low))


def compared(text: str, pair: list[Product | None], reading: ReplyReading, dim: str | None = None) -> bool:
    """A comparison is done when the reply names both products (by id or in the text) and states at least
    one catalog fact of either (a checked price / value that matches, or one of their attribute values); on a
    named dimension (`dim`: "price" or an attribute) that fact must be of it, and no fact of it wrong."""
    if any(p is None for p in pair):
        return False
    named = set(reading.products) | set(reading.report.products)
    if not all(p.id in named for p in pair):
        return False
    ids = {p.id for p in pair}
    if dim is not None:
        on_dim = [f for f in reading.report.facts if f.product_id in ids and f.field == dim]
        if any(not f.ok for f in on_dim):
            return False
        values = [v for p in pair for v in _values(p.attributes.get(dim)) if not isinstance(v, bool)]
        return bool(on_dim) or any(_has_value(norm(text), v) for v in values if len(norm(v)) >= 1)
    if any(f.ok and f.product_id in ids for f in reading.report.facts):
        return True
    low = norm(text)
    return any(
        _has_value(low, v)
        for p in pair
        for vs in p.attributes.values()
        for v in (vs if isinstance(vs, list) else [vs])
        if not isinstance(v, bool) and len(norm(v)) >= 2
    )


__all__ = ["REDIRECT", "Lexicon", "ReplyReading", "answer_status", "compared", "echoes", "read_reply", "words_in"]
