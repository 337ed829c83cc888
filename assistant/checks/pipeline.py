"""The reply checks as an ordered list of named steps, run on every generated text before the shopper sees it.

    turn = Turn(reading, catalog, products, filters, notes, check=check_reply)
    draft = run_checks(raw_text, turn, final=True)          # CHECKS, in order
    draft.text, draft.ids, draft.corrections, draft.changed_by

The orchestrator runs the steps on each finished sentence while streaming (`final=False`) and once more on the
whole reply (`final=True`; some steps only act then, e.g. the catalog's answer replaces a reply only once it is
complete). Each step reads the `Turn` (what the shopper said and was shown) and changes the `Draft`; every
change is a correction, and `Draft.changed_by` counts them per step. An `Assistant` whose `checks` is empty
passes the model's text through (the `model-only` ablation of `shopguide simulate`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.checks.answers import (
    NOTHING_SHOWN,
    answers,
    catalog_answer,
    confirm,
    drop_reasked,
    drop_wrong_price_order,
    superlative_winner,
)
from assistant.checks.repair import NOTHING_LEFT, apply_grounding, fix_polarity
from assistant.generation.prompts import strip_card_syntax
from assistant.text import format_price, sentence_spans
from assistant.understanding.questions import attribute_names, reply_products
from assistant.understanding.reading import Reading
from retrieval.filters import Filters

ANSWERING = ("attribute", "compare")  # asks whose fallback is the catalog's own answer


@dataclass
class Turn:
    """What the checks know of a turn.

    Attributes:
        reading: the reading of the shopper's message (`assistant.understanding.reading.Reading`).
        catalog: the shop's catalog.
        products: the products shown to the model, best first.
        filters: the filters that found them (the shopper's hard needs, possibly relaxed).
        notes: notes put before the reply (a relaxation: "I couldn't find anything with ...").
        check: the grounding checker (`assistant.checks.grounding.check_reply`).
    """

    reading: Reading
    catalog: Any
    products: list[Any]
    filters: Filters
    notes: list[str] = field(default_factory=list)
    check: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        self.shown = [p.id for p in self.products]
        self.names = attribute_names(self.catalog, self.reading.category)  # cached per catalog and category


@dataclass
class Draft:
    """A reply while it is checked: its text, the products it names, the grounding report of the model's text,
    the corrections so far and how many each step made."""

    text: str
    final: bool
    ids: list[str] = field(default_factory=list)
    report: Any = None
    corrections: list[str] = field(default_factory=list)
    changed_by: dict[str, int] = field(default_factory=dict)
    off_needs: dict[str, str] = field(default_factory=dict)  # product id -> why it must not be recommended
    reasked: list[str] = field(default_factory=list)  # needs the model asked for again (dropped)

    def correct(self, step: str, what: list[str]) -> None:
        if what:
            self.corrections += what
            self.changed_by[step] = self.changed_by.get(step, 0) + len(what)


def suggest(text: str, top: Any) -> tuple[str, list[str]]:
    """The grounded fallback when nothing else is left: recommend the best candidate by name."""
    name = top.title + (f" ({format_price(top.price, top.currency)})" if top.price is not None else "")
    text = "" if text == NOTHING_LEFT else text.strip()
    text = re.sub(r"^\W*(?:yes|yep|sure|no|nope)\W*$", "", text, flags=re.I)  # a bare "Yes!" about nothing
    promise = re.search(r":\s*([^:.!]*\?)?\s*$", text)  # "this one: Any questions?" -> the product after ":"
    if promise:
        after = f" {promise.group(1).strip()}" if promise.group(1) else ""
        return f"{text[: promise.start()]}: the {name}.{after}", [top.id]
    if text and all(text[a:b].strip().endswith("?") for a, b in sentence_spans(text)):
        return f"From the catalog, I'd suggest the {name}. {text}", [top.id]  # "Want to know more about it?"
    return f"{text} From the catalog, I'd suggest the {name}.".strip(), [top.id]


# -- the steps, in the order they run ---------------------------------------------------------------------


def ground_facts(draft: Draft, turn: Turn) -> None:
    """Wrong prices and attribute values become the catalog's; sentences naming products that do not exist, or
    real products from the model's memory that break the shopper's hard needs (unless the shopper named
    them: "what about the X?"), are dropped."""
    catalog = turn.catalog
    draft.off_needs = {
        pid: "it does not match your request"
        for pid in draft.report.products
        if pid not in turn.shown and pid not in turn.reading.ask.named and not turn.filters.matches(catalog.get(pid))
    }
    draft.text, draft.ids, fixes = apply_grounding(draft.text, draft.report, catalog, drop=draft.off_needs)
    draft.correct("ground_facts", fixes)


def confirm_choice(draft: Draft, turn: Turn) -> None:
    """A message choosing a product ("the Zentro Mini sounds good, I'll take it") is answered about that product:
    sentences naming another product instead give way to one confirming the chosen product."""
    ask = turn.reading.ask
    chosen = [pid for pid in ask.named or ask.products if pid in turn.catalog]
    if not chosen or not draft.ids or turn.reading.intent != "accept":
        return
    report = turn.check(draft.text, turn.catalog, category=turn.reading.category, shown=turn.shown)
    draft.text, ids, fix = confirm(draft.text, report, turn.catalog.get(chosen[0]))
    if fix:
        draft.ids = ids
        draft.correct("confirm_choice", [fix])


def keep_a_promise(draft: Draft, turn: Turn) -> None:
    """A reply left with no product after grounding, or one promising a product ("I'd recommend this one:",
    a relaxation note), recommends the best candidate (final text only)."""
    promised = (bool(turn.notes) and "closest options" in turn.notes[0]) or draft.text.rstrip().endswith(":")
    lost = draft.off_needs or draft.report.unknown
    if (
        draft.final
        and (lost or promised)
        and not draft.ids
        and turn.products
        and turn.reading.ask.kind not in ANSWERING
    ):
        before = draft.text
        draft.text, draft.ids = suggest(draft.text, turn.products[0])
        draft.correct("keep_a_promise", [f"recommended the top candidate: the reply named none ({before!r})"])


def agree_yes_no(draft: Draft, turn: Turn) -> None:
    """A yes / no opening agrees with the catalog about the value the question names."""
    if draft.ids and "?" in turn.reading.message:
        product = turn.catalog.get(draft.ids[0])
        draft.text, fix = fix_polarity(draft.text, turn.reading.message, product, turn.catalog)
        draft.correct("agree_yes_no", [fix] if fix else [])


def price_order(draft: Draft, turn: Turn) -> None:
    """A sentence getting two products' price order wrong ("the dearer X costs less") is dropped."""
    if len(draft.ids) >= 2:
        draft.text, fixes = drop_wrong_price_order(draft.text, draft.ids, turn.catalog)
        draft.correct("price_order", fixes)


def no_reasking(draft: Draft, turn: Turn) -> None:
    """Questions for needs the shopper already stated are dropped (every question after a closing); when only
    those were asked, the top candidate is recommended instead (final text only)."""
    closing = turn.reading.ask.kind == "closing"
    draft.text, draft.reasked = drop_reasked(draft.text, turn.reading.needs, turn.names, closing=closing)
    draft.correct("no_reasking", [f"dropped a question about {t}: already stated" for t in draft.reasked])
    if draft.final and draft.reasked and not draft.ids and "?" not in draft.text and turn.products and not closing:
        draft.text, draft.ids = suggest(draft.text, turn.products[0])
        draft.correct("no_reasking", ["recommended the top candidate instead of asking for stated needs"])


def nothing_shown_yet(draft: Draft, turn: Turn) -> None:
    """ "The first one?" before any product was shown: say so and suggest one (final text only)."""
    if draft.final and turn.reading.ask.kind == "unresolved" and not draft.ids and turn.products:
        fix = f"the shopper asked about a product before any was shown: {draft.text!r}"
        draft.text, draft.ids = suggest(NOTHING_SHOWN, turn.products[0])
        draft.correct("nothing_shown_yet", [fix])


def answer_from_catalog(draft: Draft, turn: Turn) -> None:
    """An attribute question or comparison whose reply does not state the catalog's answer gets the catalog's
    (final text only)."""
    ask = turn.reading.ask
    if not draft.final or ask.kind not in ANSWERING:
        return
    pool: list[str] = []
    if ask.kind == "compare" and len(ask.named) < 2:  # "which is the cheapest?": among the products shown last
        shown = reply_products(turn.reading.history, turn.check, turn.catalog, turn.reading.category)
        pool = shown[0] if shown and len(shown[0]) > 2 else []
        pool = pool if superlative_winner([turn.catalog.get(pid) for pid in pool], ask.wording) else []
    if not answers(draft.text, draft.ids, ask, turn.catalog, pool):
        what = ask.attribute if ask.kind == "attribute" else "the comparison"
        winner = superlative_winner([turn.catalog.get(pid) for pid in pool], ask.wording) if pool else None
        draft.text = catalog_answer(ask, turn.catalog, pool)
        draft.ids = [winner[0].id] if winner else list(ask.products)
        draft.correct("answer_from_catalog", [f"answered from the catalog: the reply did not state {what} correctly"])


Check = Callable[[Draft, Turn], None]
CHECKS: tuple[Check, ...] = (
    ground_facts,
    confirm_choice,
    keep_a_promise,
    agree_yes_no,
    price_order,
    no_reasking,
    nothing_shown_yet,
    answer_from_catalog,
)


def run_checks(raw: str, turn: Turn, final: bool, steps: Sequence[Check] = CHECKS) -> Draft:
    """Check `raw` (the model's text so far) for `turn`: card markup and product ids are removed, the
    grounding report is read, then each of `steps` runs in order.

    Args:
        raw: the generated text (with any note put before it).
        turn: what the checks know of the turn.
        final: the whole reply (True) or the finished sentences so far while streaming (False).
        steps: the checks to run; empty: the model's text with only card markup removed.

    Returns:
        The checked `Draft`; with no steps, `ids` are the products the text names.
    """
    text = strip_card_syntax(raw, turn.catalog.by_id)  # card markup and ids never reach the shopper
    report = turn.check(text, turn.catalog, category=turn.reading.category, shown=turn.shown)
    draft = Draft(text, final, ids=list(report.products), report=report)
    for step in steps:
        step(draft, turn)
    return draft
