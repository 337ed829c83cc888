"""Per-reply verdicts of the judge: is a reply *on point* and does it state a *wrong fact*? Calibrated against a
strict human reader (`bench/calibrate.py`, docs/simulate.md "Calibration against the strict reader").

    judge = ReplyJudge(reader, category)
    for user, reply, cards in turns:
        v = judge.judge(user, reply, cards)     # Verdict(on_point, wrong_fact, kind, reasons)

Definitions (the reader's `on_point` / `wrong_fact`, made mechanical):

* **wrong fact**: the reply states a price or attribute value the catalog contradicts, names an invented
  product, or recommends a product that breaks a need the shopper stated and still holds (a budget, a
  wanted value, an excluded value).
* **on point**: no wrong fact, and the reply does what the message asked. An attribute question ("what's it
  made of?", "does it come in black?") is answered when the reply states the asked attribute of the product
  the shopper meant; a comparison on price states prices, on another attribute states that attribute (or
  says the catalog lacks it); a closing ("I'll take the cheaper one") confirms the product meant; an
  off-topic question gets a polite redirect; a shopping message must not get the off-topic refusal; a
  message in another language must not get an English-only answer; an empty message must not be read as a
  purchase; a reply that repeats the previous one word for word, or lists one product twice, is not on point.

The shopper's needs are tracked by this module's own reading of the user messages (`NeedsTracker`), never by
the assistant's. Word lists here are single words or short idioms written for the judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.evaluation.reading import Reader, Reading, norm, sentences, value_in, words

# question kinds of a user message
ATTRIBUTE, COMPARE, CLOSING, OFF_TOPIC, EMPTY, FOREIGN, REQUEST = (
    "attribute",
    "compare",
    "closing",
    "off_topic",
    "empty",
    "foreign",
    "request",
)
_MONEY_BEFORE = {"under", "below", "max", "maximum", "budget", "around", "about", "upto", "within", "cap", "than"}
_ROUGH = {"around", "about", "roughly", "approximately", "ish"}
_AVOID = {"not", "no", "avoid", "without", "except", "but", "hate", "never", "nothing"}
_RELEASE = {"matter", "matters", "forget", "whatever", "flexible", "irrelevant"}
_BUY = {"take", "buy", "order", "ordering", "purchase", "checkout", "get"}
_CHEAP = {"cheaper", "cheapest", "price", "pricier", "expensive", "cost", "costs", "affordable", "less"}
_ASK_OPEN = {"what", "which", "does", "do", "is", "are", "how", "can", "could", "any", "will", "has", "have"}
_REFUSE = re.compile(r"\b(only help|can only|cannot help|can't help|outside what i)\b", re.I)
_REDIRECT_WORDS = {"sorry", "only", "unable", "cannot", "instead"}
_RELAXED = re.compile(r"\b(closest|couldn't find|could not find|no exact|nothing matches|none match)", re.I)
# attribute words a shopper uses that the catalog spells otherwise (judge's own synonyms)
_ALIASES = {
    "colour": "color",
    "colours": "color",
    "made": "material",
    "fabric": "material",
    "comfortable": "cushioning",
    "comfy": "cushioning",
    "cushioned": "cushioning",
    "lighter": "weight",
    "heavier": "weight",
    "weigh": "weight",
    "battery": "battery life",
    "bigger": "size",
    "smaller": "size",
    "larger": "size",
}
# a few common function words per language: a message using several, and no English ones, is not English
_FOREIGN = {
    "necesito",
    "para",
    "una",
    "quiero",
    "menos",
    "busco",
    "tienes",
    "ich",
    "suche",
    "unter",
    "bitte",
    "und",
    "mit",
    "für",
    "je",
    "cherche",
    "avec",
    "pour",
    "voglio",
    "cerco",
}
_ENGLISH = {"the", "and", "for", "with", "need", "want", "looking", "please", "i", "is", "it", "a", "under", "what"}


@dataclass
class Verdict:
    """The judge's verdict on one reply."""

    on_point: bool
    wrong_fact: bool
    kind: str  # what the user message asked (ATTRIBUTE, COMPARE, CLOSING, OFF_TOPIC, EMPTY, FOREIGN, REQUEST)
    reasons: list[str] = field(default_factory=list)


@dataclass
class NeedsTracker:
    """The shopper's needs so far, read by the judge from the user messages: a budget, wanted and excluded
    attribute values (a later value of the same attribute replaces the earlier one; "X doesn't matter"
    releases it)."""

    reader: Reader
    category: str | None
    budget: float | None = None
    want: dict[str, set[str]] = field(default_factory=dict)  # attribute -> acceptable values ("wool or fleece")
    avoid: dict[str, set[str]] = field(default_factory=dict)

    def update(self, text: str) -> None:
        shelf = self.reader.shelf(self.category)
        for s, e in sentences(text):
            for clause in re.split(r"[,;]| but | and ", _spell_values(text[s:e].lower(), shelf)):
                toks = words(clause)
                if not toks:
                    continue
                if toks[0] in {"is", "does", "do", "are", "has"} and clause.rstrip().endswith("?"):
                    continue  # "is it leather?" asks, it does not want
                named = _attributes_named(clause, shelf)
                if set(toks) & _RELEASE:
                    if {"budget", "price", "money"} & set(toks):
                        self.budget = None
                    for a in named:
                        self.want.pop(a, None)
                        self.avoid.pop(a, None)
                    if named or {"budget", "price"} & set(toks):
                        continue
                self._budget(clause)
                if shelf.value_rx is None:
                    continue
                fresh: dict[str, set[str]] = {}
                for m in shelf.value_rx.finditer(clause):
                    value = m.group(1)
                    if len(value) < 3 and not _after_label(clause[: m.start()], shelf.value_attrs[value]):
                        continue
                    prev = words(clause[: m.start()])[-3:]
                    for a in shelf.value_attrs[value]:
                        if set(prev) & _AVOID:
                            self.avoid.setdefault(a, set()).add(value)
                            self.want.get(a, set()).discard(value)
                        else:
                            fresh.setdefault(a, set()).add(value)  # "wool or fleece": either will do
                            self.avoid.get(a, set()).discard(value)
                self.want.update(fresh)

    def _budget(self, clause: str) -> None:
        for m in re.finditer(r"([$€£])?\s?(\d+(?:[.,]\d+)?)\s?(k\b|\$|bucks|dollars|euros?|eur|usd)?", clause):
            prev = words(clause[: m.start()])[-2:]
            money = m.group(1) or m.group(3) or (prev and prev[-1] in _MONEY_BEFORE)
            if not money or re.match(r"\s*(seats?|inch|gb|hours?|ml|spf)", clause[m.end() :]):
                continue
            amount = float(m.group(2).replace(",", "."))
            if m.group(3) == "k":
                amount *= 1000
            self.budget = amount * (1.15 if set(prev) & _ROUGH else 1.0)

    def violations(self, product: Any) -> list[str]:
        """The needs `product` breaks, as short reasons."""
        out = []
        if self.budget is not None and product.price is not None and product.price > self.budget + 0.01:
            out.append(f"{product.title} costs {product.price} over the budget {self.budget:g}")
        for a, vs in self.want.items():
            if vs and a in product.attributes and not any(value_in(product.attributes[a], v) for v in vs):
                out.append(f"{product.title}: {a} is {product.attributes[a]}, wanted {' or '.join(sorted(vs))}")
        for a, vs in self.avoid.items():
            for v in vs:
                if a in product.attributes and value_in(product.attributes[a], v):
                    out.append(f"{product.title}: {a} is {v}, which the shopper excluded")
        return out


def _spell_values(text: str, shelf: Any) -> str:
    """The catalog's spelling of "<attribute> <word>" values a shopper shortens: "size 10" -> "size us 10"
    when exactly one value of the attribute ends with that word."""
    for attr, values in shelf.attributes.items():
        label = norm(attr).replace("_", " ")

        def expand(m: re.Match, values: dict = values, label: str = label) -> str:
            word = m.group(1)
            fits = [v for v in values if v.endswith(" " + word)]
            return f"{label} {fits[0]}" if word not in values and len(fits) == 1 else m.group()

        text = re.sub(rf"\b{re.escape(label)}:?\s+(\w+)\b", expand, text)
    return text


def _after_label(before: str, attrs: set[str]) -> bool:
    prev = words(before)[-2:]
    return any(a.replace("_", " ").split()[-1] in prev for a in attrs)


def _attributes_named(text: str, shelf: Any, values: bool = True) -> list[str]:
    """Attributes a message names by their name (or a shopper's synonym) or (`values`) by one of their values."""
    toks = words(text)
    low = " ".join(toks)
    names = [a for a in shelf.attributes if re.search(rf"\b{re.escape(norm(a).replace('_', ' '))}\b", low)]
    names += [_ALIASES[t] for t in toks if t in _ALIASES]
    if values and shelf.value_rx is not None:
        for m in shelf.value_rx.finditer(low):
            if len(m.group(1)) >= 3:
                names += sorted(shelf.value_attrs[m.group(1)])
    return list(dict.fromkeys(names))


class ReplyJudge:
    """Judges the replies of one conversation in order (see the module docstring).

    Args:
        reader: the judge's reader of the catalog.
        category: the conversation's category (None: the whole catalog).
    """

    def __init__(self, reader: Reader, category: str | None):
        self.reader, self.category = reader, category
        self.needs = NeedsTracker(reader, category)
        self.last_products: list[str] = []  # products of the previous reply (text first, then cards)
        self.seen: list[str] = []  # every product of the conversation so far, the latest first
        self.last_reply: str | None = None

    def _kind(self, user: str) -> str:
        toks = words(user)
        if not toks:
            return EMPTY
        if len(set(toks) & _FOREIGN) >= 2 and not set(toks) & _ENGLISH:
            return FOREIGN
        shelf = self.reader.shelf(self.category)
        asks = "?" in user or toks[0] in _ASK_OPEN
        named = _attributes_named(user, shelf)
        comparative = any(t.endswith("er") and len(t) > 4 for t in toks) or set(toks) & {"more", "less", "better"}
        if asks and (("which" in toks and comparative) or set(toks) & {"compare", "vs", "versus", "difference"}):
            return COMPARE
        if set(toks) & _BUY and not asks or ("go" in toks and "with" in toks and not asks):
            return CLOSING
        referent = set(toks) & {"it", "its", "that", "this", "those", "these", "them", "one", "first", "second"}
        referent = referent or self.reader.names(user, self.category, self.seen)
        labelled = _attributes_named(user, shelf, values=False)
        if asks and named and (referent or labelled) and not set(toks) & {"show", "other", "another", "else"}:
            return ATTRIBUTE
        shopping = named or self.reader.names(user, self.category) or re.search(r"\d", user)
        if asks and not shopping and not set(toks) & {"it", "one", "those", "these", "them", "options"}:
            return OFF_TOPIC
        return REQUEST

    def _meant(self, user: str) -> str | None:
        """The product a message refers to: named, "the first / second", "the cheaper one", "the <value> one",
        else the previous reply's first product."""
        named = self.reader.names(user, self.category, self.seen)
        if named:
            return named[0].product_id
        toks = words(user)
        shelf = self.reader.shelf(self.category)
        seen = [self.reader.catalog.get(p) for p in self.seen if p in self.reader.catalog]
        if seen:  # a distinctive title word: "the Tidewell one", "the Peakline"
            titles = [set(shelf.keys.get(p.id, "").split()) for p in seen]
            common = set.intersection(*titles)
            long = {t for t in toks if len(t) >= 4}
            hits = [len(long & (t - common)) for t in titles]
            if max(hits) and hits.count(max(hits)) == 1:
                return seen[hits.index(max(hits))].id
        prods = [self.reader.catalog.get(p) for p in self.last_products if p in self.reader.catalog]
        for i, w in enumerate(("first", "second", "third")):
            if w in toks and len(prods) > i:
                return prods[i].id
        priced = [p for p in prods if p.price is not None]
        if priced and set(toks) & {"cheaper", "cheapest"}:
            return min(priced, key=lambda p: p.price).id
        if priced and set(toks) & {"pricier", "expensive", "dearer"}:
            return max(priced, key=lambda p: p.price).id
        if shelf.value_rx is not None:
            for m in shelf.value_rx.finditer(user.lower()):
                fits = [p for p in seen if any(value_in(v, m.group(1)) for v in p.attributes.values())]
                if len(fits) == 1:
                    return fits[0].id
        return prods[0].id if prods else None

    def judge(self, user: str, reply: str, cards: list[str] | None = None) -> Verdict:
        """The verdict on `reply` to `user` (the conversation's earlier turns were judged before)."""
        kind = self._kind(user or "")
        meant = self._meant(user or "") if kind in (ATTRIBUTE, CLOSING) else None
        self.needs.update(user or "")
        reading = self.reader.read(reply or "", self.category, cards)
        reasons: list[str] = []
        reasons += [f"wrong {f.field}: said {f.stated}, catalog {f.actual}" for f in reading.wrong]
        reasons += [f"invented product {u!r}" for u in reading.unknown]
        offered = reading.products or [c for c in cards or [] if c in self.reader.catalog]
        broken = []
        if kind in (REQUEST, CLOSING, FOREIGN):
            for pid in offered[:3]:
                broken += self.needs.violations(self.reader.catalog.get(pid))
        wrong = bool(reasons) or (bool(broken) and not _RELAXED.search(reply or ""))
        reasons += broken  # a need broken after saying openly that nothing fits: off point, not a false claim
        reasons += self._off_point(kind, user or "", reply or "", reading, meant)
        shown = list(dict.fromkeys(reading.products + [c for c in cards or [] if c in self.reader.catalog]))
        self.last_products = shown or self.last_products
        self.seen = list(dict.fromkeys(shown + self.seen))
        self.last_reply = reply
        return Verdict(not reasons, wrong, kind, reasons)

    def _off_point(self, kind: str, user: str, reply: str, reading: Reading, meant: str | None) -> list[str]:
        low = reply.lower()
        if self.last_reply is not None and norm(reply) == norm(self.last_reply):
            return ["repeats the previous reply word for word"]
        listed = re.findall(r"(?m)^\s*\d+\.\s*(?:the\s+)?(.{8,60}?)(?:,| —| -| \(| at | for |$)", reply, re.I)
        if len(listed) != len(set(map(norm, listed))):
            return ["lists one product twice"]
        refused = bool(_REFUSE.search(reply))
        if kind == OFF_TOPIC:
            redirect = refused or set(words(reply)) & _REDIRECT_WORDS or reading.questions
            return [] if redirect else ["answers an off-topic question instead of steering back"]
        if refused:
            return ["refuses a shopping message as off-topic"]
        if kind == FOREIGN:
            return ["answers a message in another language in English"]
        if kind == EMPTY:
            return ["reads an empty message as a choice"] if reading.products else []
        if kind == CLOSING:
            if meant and reading.products and meant not in reading.products:
                return ["confirms another product than the one chosen"]
            return []
        shelf = self.reader.shelf(self.category)
        asked = _attributes_named(user, shelf)
        if kind == ATTRIBUTE:
            stated = {f.field for f in reading.facts if f.ok and (meant is None or f.product_id == meant)}
            labelled = [a for a in _attributes_named(user, shelf, values=False) if a in shelf.attributes]
            missing = [a for a in labelled if a not in stated]
            if not labelled and not stated & set(asked):  # "is it stretch denim?": any of the value's attributes
                missing = [a for a in asked if a in shelf.attributes][:1]
            if missing:
                return [f"does not state the asked {', '.join(missing)}"]
            if meant and reading.products and meant not in reading.products:
                return ["answers about another product than the one asked about"]
            return []
        if kind == COMPARE:
            toks = set(words(user))
            if toks & _CHEAP:
                prices = [f for f in reading.facts if f.field == "price" and f.ok]
                return [] if prices else ["compares without the prices asked for"]
            dims = [a for a in asked if a not in {"price"}] or [t for t in toks if t.endswith("er") and len(t) > 4]
            known = [a for a in dims if a in shelf.attributes]
            if known and any(f.field in known for f in reading.facts):
                return []
            if re.search(r"\b(not listed|no information|don't have|do not have|isn't listed|not in the)\b", low):
                return []
            return [f"compares on something else than the asked {', '.join(dims) or 'attribute'}"]
        return []


__all__ = ["NeedsTracker", "ReplyJudge", "Verdict"]
