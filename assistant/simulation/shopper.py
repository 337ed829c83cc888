"""The rule-based simulated shopper: it talks from a hidden `Goal`, reads each assistant reply against the
catalog, and keeps the per-turn record the metrics are computed from.

    shopper = Shopper(goal, profile, catalog)
    text = shopper.opening()
    while not shopper.done:
        reply = client.chat(messages)              # ClientReply(text, products or None, seconds)
        text = shopper.respond(reply.text, reply.products, reply.seconds)   # next user message (accept / leave too)
    shopper.scores()

**Reading a reply** (`read_reply`). *Recommended products*: the catalog ids the endpoint returned with the
reply (our server's `products` field; `Reply.products` in process) or, for an endpoint that returns none
(or with `products_from="text"`), the products the judge's reader finds named in the text
(`assistant.evaluation.reading`, fuzzy title matching); the shopper looks at the first `CONSIDERED` of them.
*Questions about needs*: in each sentence with a `?` that names no
product, the words of a need topic: the attribute's name as the catalog spells it (`skin_type` -> "skin type",
plural too) or one of its values; money words ("budget", "price", "spend", "afford", ...) for the budget;
"brand / maker / label" for the brand; "kind / sort / type" for the category's kind attribute when nothing else
matched (the word lists are the simulator's own: `_BUDGET_Q`, `_BRAND_Q`, `_KIND_Q`). A question repeating
the stated value ("under $60, right?") is a confirmation, not a question. *False facts*: wrong prices /
attribute values plus invented product names, as the judge's reader finds them in every reply. Nothing here
uses the assistant's own reading or checks (`tests/test_layout.py`).

**Policy** after each reply (turn t): a product among the considered ones that meets every need still held
(the hidden ones too) becomes the candidate. Then, in order: at the off-topic turn ask something unrelated;
with a candidate, check one of its attribute values (`plan.check_attribute`), ask to compare it with
another recommended product (`plan.compare`), then accept it (success); leave when t reaches the patience;
release one need at the release turn (`plan.release`: "any <name> is fine"); answer the questions the
reply asked (restating needs already given: a re-ask); reject a recommended product with a reason (the
first need it fails: restated when already given, revealed when still hidden); otherwise reveal the next
need or ask for options. Phrases are generic templates filled with the catalog's names and values; each
category keeps its own subset of them (`category_style`), chatty shoppers greet and add fillers, terse
ones write fragments, and a message sometimes carries one typo (never in a product title, brand or need value).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from assistant.evaluation.reading import Reading, reader_for
from assistant.simulation.goals import CURRENCY_SIGNS, CategoryProfile, Goal, Need, label, norm
from retrieval.catalog import Catalog, Product

CONSIDERED = 3  # products of one reply a shopper looks at (the first ones)

# Written for the simulator, not taken from the assistant's or the demo generator's phrasing (a test checks
# that no template, nor any three-word piece of one, appears in their word lists).
_T = {
    "open_kind": [
        "hello, I am hunting for {a} {v}",
        "hey! could you point me to {a} {v}?",
        "morning, I'd love to find {a} {v}",
        "heya, browsing today for {a} {v}",
        "hello, after {a} {v}, any luck?",
        "hey, wondering if you stock {a} {v}",
    ],
    "open_kind_terse": [
        "{v}?",
        "{v} pls",
        "searching {a} {v}",
        "{a} {v}, what've you got",
        "got {a} {v}?",
        "{v} wanted",
    ],
    "open_cat": [
        "hello, browsing {c} for something",
        "hey, could use some advice in {c}",
        "hi, I'm after something from {c}",
        "good afternoon, what's good in {c}?",
    ],
    "open_cat_terse": ["{c}?", "browsing {c}", "{c} stuff", "{c} - ideas?"],
    "attr_label": [
        "{n} = {v}",
        "{n}: {v} only",
        "{v} as the {n}",
        "want the {n} {v}",
        "{n} must be {v}",
        "with {n} {v}",
    ],
    "attr_plain": [
        "{v}",
        "{v} preferred",
        "{v} would be great",
        "{v}, nothing else",
        "{v} ideally",
        "{v} if in stock",
    ],
    "flag": ["{n} only", "{n} is a must", "{n} required", "only {n} ones", "{n} matters to me"],
    "budget": [
        "{p} at most",
        "spending {p} max",
        "can't go over {p}",
        "{p} is my limit",
        "ceiling of {p}",
        "below {p} please",
        "not above {p}",
    ],
    "no_brand": ["skip {v}", "{v} is a no-go", "nothing from {v}", "avoid {v}"],
    "no_value": ["skip {v}", "{v} is a no-go", "nothing {v}", "avoid {v}"],
    "no_pref": ["{n} is up to you", "whatever {n}", "{n}: no strong feelings", "{n} isn't important"],
    "no_pref_brand": ["whatever brand", "the brand is up to you", "brand isn't important"],
    "restate": ["as I wrote, {x}", "I told you: {x}", "once more, {x}", "repeating myself: {x}"],
    "reject_stated": [
        "nope, that misses {x}",
        "not it, remember {x}",
        "that ignores what I wrote: {x}",
        "wrong one, {x}",
    ],
    "reject_hidden": ["mm, forgot to mention: {x}", "close, but {x}", "not for me, {x}", "oh, also {x}"],
    "over_budget": ["too pricey, {p} max", "over {p}, sorry", "beyond my {p} limit"],
    "accept": [
        "lovely, ordering the {t}",
        "the {t} works, I'm buying it",
        "done, the {t} goes in my cart",
        "yes, the {t}! buying it",
        "the {t}, adding to basket",
    ],
    "leave": [
        "ok, I'll try somewhere else",
        "forget it, bye",
        "not finding it here, bye",
        "giving up for today",
    ],
    "nudge": ["show me a few?", "what's on offer?", "got anything?", "ideas?"],
    "ask_attr": [
        "which {n} has the {t}?",
        "the {t}: what {n}?",
        "{t} - {n}?",
        "and the {t}, which {n} is it?",
    ],
    "ask_flag": ["the {t}, {n} or not?", "would the {t} be {n}?", "{n}, the {t}?"],
    "compare": [
        "{a} or {b}, how do they differ?",
        "torn between {a} and {b}, differences?",
        "{a} versus {b}?",
        "how does the {a} stack up against the {b}?",
    ],
    "off_topic": [
        "unrelated, but will it rain tomorrow?",
        "quick one: who scored last night?",
        "got a funny story for me?",
        "which city is Australia's capital?",
        "can you solve 17 times 23?",
        "where should I eat pizza tonight?",
    ],
    "release": [
        "hmm, scratch the {n}, whatever works",
        "second thoughts: {n} is up to you",
        "changed my mind, {n} can be anything",
    ],
    "greet": ["hello!", "hey!", "heya,", "morning!"],
    "filler_end": ["cheers", "thx", "much appreciated", "it's a present", "ta"],
}

# Question / reply words of the simulated shopper's reading, single words only (its own lists).
_BUDGET_Q = re.compile(r"\b(budget|price|pricing|priced|spend|afford|cost|costs|pay|paying|money|expensive)\b")
_BRAND_Q = re.compile(r"\b(brands?|makers?|manufacturer|labels?)\b")
_KIND_Q = re.compile(r"\b(kind|sort|type|category|what\s+are\s+you\s+after|which\s+product)\b")
_YES = re.compile(r"\b(yes|yep|yeah|indeed|correct|absolutely|definitely)\b")
_NEG = re.compile(r"\b(no|not|isn'?t|doesn'?t|nope|lacks|without|non)\b")
_REDIRECT = re.compile(r"\b(sorry|unable|cannot|can'?t|only|instead|unfortunately)\b")


def _article(word: str) -> str:
    w = word.strip().lower()
    if w.endswith("s") and not w.endswith("ss"):
        return "some"
    return "an" if w[:1] in "aeiou" else "a"


def money(amount: float, currency: str | None) -> str:
    """A price as a shopper writes it: `$60`, `€49.50`, `120 CHF`."""
    text = f"{amount:.0f}" if float(amount).is_integer() else f"{amount:.2f}"
    sign = CURRENCY_SIGNS.get((currency or "USD").upper())
    return f"{sign}{text}" if sign else f"{text} {currency}"


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


class Shopper:
    """A simulated shopper with a hidden goal (see the module docstring)."""

    def __init__(self, goal: Goal, profile: CategoryProfile, catalog: Catalog, products_from: str = "reply"):
        if products_from not in ("reply", "text"):
            raise ValueError(f"products_from must be 'reply' or 'text', got {products_from!r}")
        self.goal, self.profile, self.catalog = goal, profile, catalog
        self.products_from = products_from
        self.rng = random.Random(f"talk:{goal.id}:{goal.anchor}")
        pick = random.Random(goal.style.get("phrasing", 0))  # the category's own subset of each phrase family
        self.templates = {k: pick.sample(v, min(len(v), 3)) if len(v) > 3 else v for k, v in _T.items()}
        self.lexicon = Lexicon(profile)
        self.stated: dict[str, str] = {}  # topic -> "need" | "no preference"
        self.released: set[str] = set()
        self.turn = 0
        self.seen: list[str] = []  # products recommended so far (in order of first recommendation)
        self.candidate: str | None = None
        self.candidate_turn: int | None = None
        self.accepted: str | None = None
        self.pending: dict[str, Any] | None = None  # what the last user message asked
        self.outcome: str | None = None  # "success" or "left"
        self.asked_attribute = self.asked_compare = self.asked_off_topic = False
        self.turns: list[dict[str, Any]] = []
        # typos never touch brands or the goal's own values: a mild typo should not hide a need
        self.protected: set[str] = {norm(b) for b in profile.brands} | {norm(n.value) for n in goal.needs}

    # -- phrasing ----------------------------------------------------------------------------------------
    def _say(self, family: str, **kw: Any) -> str:
        return self.rng.choice(self.templates[family]).format(**kw)

    def _need_text(self, need: Need) -> str:
        if need.kind == "budget":
            return self._say("budget", p=money(need.value, self.goal.currency))
        if need.kind == "exclude_brand":
            return self._say("no_brand", v=need.value)
        if need.kind == "exclude_attribute":
            return self._say("no_value", v=need.value)
        spec = self.profile.attributes[need.topic]
        if spec.kind == "bool":
            return self._say("flag", n=label(need.topic))
        if need.topic == self.profile.kind_attribute:
            return f"{_article(str(need.value))} {need.value}"
        if spec.kind == "number" or self.goal.style.get("labels"):
            return self._say("attr_label", n=label(need.topic), v=need.value)
        return self._say("attr_plain", v=need.value)

    def _finish(self, parts: list[str], protect: list[str] = ()) -> str:
        parts = [p for p in parts if p]
        text = ", ".join(parts)
        if self.goal.style.get("chatty") and self.rng.random() < 0.3:
            text += (" " if text.endswith(("?", "!")) else ", ") + self.rng.choice(self.templates["filler_end"])
        if self.rng.random() < self.goal.style.get("typo_rate", 0):
            text = self._typo(text, protect)
        return text

    def _typo(self, text: str, protect: list[str]) -> str:
        """One mild typo (swap, drop or double a letter) in a word of 4+ letters outside product titles,
        brands and need values."""
        keep = [norm(t) for t in protect] + list(self.protected)
        low = text.lower()
        spans = [(m.start(), m.start() + len(k)) for k in keep if k for m in re.finditer(re.escape(k), low)]
        words = [
            m
            for m in re.finditer(r"[A-Za-z]{4,}", text)
            if not any(a <= m.start() < b or a < m.end() <= b for a, b in spans)
        ]
        if not words:
            return text
        m = self.rng.choice(words)
        w = m.group()
        i = self.rng.randrange(1, len(w) - 2)
        kind = self.rng.randrange(3)
        new = (
            w[:i] + w[i + 1] + w[i] + w[i + 2 :]
            if kind == 0
            else w[:i] + w[i + 1 :]
            if kind == 1
            else w[:i] + w[i] + w[i:]
        )
        return text[: m.start()] + new + text[m.end() :]

    # -- state -------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.outcome is not None

    def active_needs(self) -> list[Need]:
        """The needs the shopper still holds (all but a released one)."""
        return [n for n in self.goal.needs if n.topic not in self.released]

    def stated_needs(self) -> list[Need]:
        """The held needs the shopper has said so far (what a recommendation must not violate)."""
        return [n for n in self.active_needs() if self.stated.get(n.topic) == "need"]

    def needs_dict(self) -> dict[str, Any]:
        """The stated needs in the dialogue contract's `needs` shape (category, price range, attributes, ...)."""
        d: dict[str, Any] = {
            "category": self.goal.category,
            "min_price": None,
            "max_price": None,
            "attributes": {},
            "exclude_attributes": {},
            "brands": [],
            "exclude_brands": [],
        }
        for n in self.stated_needs():
            if n.kind == "budget":
                d["max_price"] = n.value
            elif n.kind == "attribute":
                d["attributes"][n.topic] = n.value
            elif n.kind == "exclude_attribute":
                d["exclude_attributes"][n.topic] = n.value
            else:
                d["exclude_brands"].append(n.value)
        return d

    def _reveal(self, need: Need) -> str:
        self.stated[need.topic] = "need"
        return self._need_text(need)

    def _unrevealed(self) -> list[Need]:
        return [n for n in self.active_needs() if n.topic not in self.stated]

    # -- the dialogue ------------------------------------------------------------------------------------
    def opening(self) -> str:
        """The first message: a greeting (chatty), the kind of product or the category, and some needs."""
        g, chatty = self.goal, self.goal.style.get("chatty")
        kind = g.need(self.profile.kind_attribute) if self.profile.kind_attribute else None
        k = int(g.plan.get("opening_needs", 1))
        todo = self._unrevealed()
        parts = []
        if kind is not None:
            self.stated[kind.topic] = "need"
            v = str(kind.value)
            parts.append(self._say("open_kind" if chatty else "open_kind_terse", a=_article(v), v=v))
            k -= 1
            todo = [n for n in todo if n is not kind]
        else:
            parts.append(self._say("open_cat" if chatty else "open_cat_terse", c=g.category))
        parts += [self._reveal(n) for n in todo[: max(0, k)]]
        self.pending = {"kind": "opening"}
        return self._finish(parts)

    def respond(self, text: str, products: list[str] | None, seconds: float | None = None) -> str:
        """Read the assistant's reply and write the next user message; sets `outcome` when the dialogue ends."""
        self.turn += 1
        t = self.turn
        if self.products_from == "text":  # only what the reply says counts, as for an endpoint without ids
            products = None
        reading = read_reply(text, products, self.catalog, self.goal.category, self.lexicon)
        asked = self._asked(reading)
        row: dict[str, Any] = {
            "turn": t,
            "products": reading.products,
            "from_endpoint": reading.from_endpoint,
            "asked": asked,
            "reasked": [a for a in asked if a in self.stated],
            "new": [],
            "violations": {},
            "unknown": list(reading.report.unknown),
            "seconds": seconds,
            "wrong": [
                {"product": m.product_id, "field": m.field, "stated": m.stated, "actual": m.actual}
                for m in reading.report.wrong
            ],
        }
        self._judge_pending(reading, text, row)
        considered = reading.products[:CONSIDERED]
        stated = self.stated_needs()
        for pid in considered:
            if pid in self.seen:
                continue
            self.seen.append(pid)
            row["new"].append(pid)
            p = self.catalog.get(pid)
            failed = self.goal.failed_needs(p, stated)
            if failed:
                row["violations"][pid] = [n.topic for n in failed]
        if self.candidate is None:
            for pid in considered:
                if not self.goal.failed_needs(self.catalog.get(pid), self.active_needs()):
                    self.candidate, self.candidate_turn = pid, t
                    break
        reply = self._next(asked, considered)
        row["shopper"] = self.pending.get("kind") if self.pending else None
        self.turns.append(row)
        return reply

    def _judge_pending(self, reading: ReplyReading, text: str, row: dict[str, Any]) -> None:
        """Score the reply against what the last user message asked (attribute, comparison, off-topic)."""
        p = self.pending or {}
        if p.get("kind") == "attribute":
            row["attribute_answer"] = answer_status(text, self.catalog.get(p["product"]), p["name"], reading)
        elif p.get("kind") == "compare":
            row["comparison"] = compared(text, [self.catalog.get(p["a"]), self.catalog.get(p["b"])], reading)
        elif p.get("kind") == "off_topic":
            on_track = bool(_REDIRECT.search(norm(text)) or reading.asked)
            row["off_topic_handled"] = on_track and reading.false_facts == 0

    def _asked(self, reading: ReplyReading) -> list[str]:
        """The need topics the reply asks about, leaving out confirmations ("under $60, right?" after the
        shopper said under $60: the question repeats the stated value)."""
        out: list[str] = []
        for sent, topics in reading.questions:
            for topic in topics:
                need = self.goal.need(topic)
                if self.stated.get(topic) == "need" and need is not None and _echoes(sent, need):
                    continue
                if topic not in out:
                    out.append(topic)
        return out

    def _next(self, asked: list[str], considered: list[str]) -> str:
        g, t = self.goal, self.turn
        patience = g.patience + (1 if g.plan.get("off_topic_turn") else 0)
        cand = self.catalog.get(self.candidate) if self.candidate else None
        if t == g.plan.get("off_topic_turn") and not self.asked_off_topic and t < patience:
            self.asked_off_topic = True
            self.pending = {"kind": "off_topic"}
            return self._finish([self._say("off_topic")])
        if cand is not None and t < patience:
            if g.plan.get("check_attribute") and not self.asked_attribute:
                self.asked_attribute = True
                return self._ask_attribute(cand)
            others = [pid for pid in considered + self.seen if pid != cand.id]
            if g.plan.get("compare") and not self.asked_compare and others:
                self.asked_compare = True
                other = self.catalog.get(others[0])
                self.pending = {"kind": "compare", "a": cand.id, "b": other.id}
                return self._finish([self._say("compare", a=cand.title, b=other.title)], [cand.title, other.title])
        if cand is not None:
            self.accepted, self.outcome = cand.id, "success"
            self.pending = {"kind": "accept", "product": cand.id}
            return self._finish([self._say("accept", t=cand.title)], [cand.title])
        if t >= patience:
            self.outcome = "left"
            self.pending = {"kind": "leave"}
            return self._finish([self._say("leave")])
        parts: list[str] = []
        pending: dict[str, Any] | None = None
        rel = g.plan.get("release")
        if rel and rel not in self.released and t >= g.plan.get("release_turn", 2):
            self.released.add(rel)
            self.stated[rel] = "no preference"
            parts.append(self._say("release", n=label(rel)))
            pending = {"kind": "release", "topic": rel}
        if asked:
            before = len(self._unrevealed())
            parts += self._answer([a for a in asked if a != rel or not pending])
            todo = self._unrevealed()
            if todo and len(todo) == before and self.rng.random() < 0.5:  # nothing new was asked: volunteer one
                parts.append(self._reveal(todo[0]))
            self.pending = pending or {"kind": "answer", "topics": asked}
            return self._finish(parts)
        if parts:
            self.pending = pending
            return self._finish(parts)
        if considered:  # no candidate: every product looked at fails some need
            return self._reject(self.catalog.get(considered[0]))
        todo = self._unrevealed()
        if todo:
            self.pending = {"kind": "reveal", "topic": todo[0].topic}
            return self._finish([self._reveal(todo[0])])
        self.pending = {"kind": "nudge"}
        return self._finish([self._say("nudge")])

    def _answer(self, topics: list[str]) -> list[str]:
        parts: list[str] = []
        restated = False
        for topic in topics[:3]:
            need = next((n for n in self.active_needs() if n.topic == topic), None)
            if need is None:  # no need on this topic (or released): say so, again if asked again
                self.stated.setdefault(topic, "no preference")
                parts.append(self._say("no_pref_brand") if topic == "brand" else self._say("no_pref", n=label(topic)))
                continue
            if topic in self.stated:
                x = self._need_text(need)
                parts.append(x if restated else self._say("restate", x=x))
                restated = True
            else:
                parts.append(self._reveal(need))
        return parts

    def _reject(self, p: Product) -> str:
        failed = self.goal.failed_needs(p, self.active_needs())
        need = failed[0] if failed else None
        self.pending = {"kind": "reject", "product": p.id, "topic": need.topic if need else None}
        if need is None:
            return self._finish([self._say("nudge")])
        if need.topic == "category":  # a product of another category
            kind = self.goal.need(self.profile.kind_attribute) if self.profile.kind_attribute else None
            x = self._need_text(kind) if kind else f"something in {self.goal.category}"
            return self._finish([self._say("reject_stated", x=x)], [p.title])
        if need.kind == "budget" and self.stated.get("budget") == "need":
            return self._finish([self._say("over_budget", p=money(need.value, self.goal.currency))], [p.title])
        if self.stated.get(need.topic) == "need":
            return self._finish([self._say("reject_stated", x=self._need_text(need))], [p.title])
        return self._finish([self._say("reject_hidden", x=self._reveal(need))], [p.title])

    def _ask_attribute(self, p: Product) -> str:
        names = [
            n.topic
            for n in self.active_needs()
            if n.kind == "attribute" and n.topic in p.attributes and n.topic != self.profile.kind_attribute
        ]
        names = names or [n for n in self.profile.attributes if n in p.attributes and n != self.profile.kind_attribute]
        names = names or [n for n in self.profile.attributes if n in p.attributes]
        name = self.rng.choice(names)
        self.pending = {"kind": "attribute", "product": p.id, "name": name}
        fam = "ask_flag" if self.profile.attributes[name].kind == "bool" else "ask_attr"
        return self._finish([self._say(fam, n=label(name), t=p.title)], [p.title])

    # -- scores ------------------------------------------------------------------------------------------
    def scores(self) -> dict[str, Any]:
        """Per-dialogue metrics (definitions: docs/simulate.md)."""
        rows = self.turns
        answers = [r["attribute_answer"] for r in rows if "attribute_answer" in r]
        comps = [r["comparison"] for r in rows if "comparison" in r]
        off = [r["off_topic_handled"] for r in rows if "off_topic_handled" in r]
        recs = sum(len(r["new"]) for r in rows)
        bad = sum(len(r["violations"]) for r in rows)
        secs = [r["seconds"] for r in rows if r.get("seconds") is not None]
        return {
            "task_success": float(self.outcome == "success"),
            "turns_to_success": self.candidate_turn if self.outcome == "success" else None,
            "needs_reasked": sum(len(r["reasked"]) for r in rows),
            "attribute_answers_correct": (sum(a == "correct" for a in answers) / len(answers)) if answers else None,
            "comparisons_done": (sum(comps) / len(comps)) if comps else None,
            "violating_recommendations": bad / recs if recs else None,
            "false_facts": sum(len(r["wrong"]) + len(r["unknown"]) for r in rows),
            "off_topic_handled": float(off[0]) if off else None,
            "latency_s": sum(secs) / len(secs) if secs else None,
            "assistant_turns": len(rows),
            "recommended_products": recs,
        }


def answer_status(text: str, p: Product | None, name: str, reading: ReplyReading) -> str:
    """ "correct", "wrong" or "no answer": does the reply state `p`'s catalog value of attribute `name`?

    A value answer is correct when one of the product's values appears in the reply as whole words and the
    judge's reader found no wrong value of that attribute for it; another value of the attribute without
    the right one is wrong. A yes/no answer (boolean attributes) is correct when it says yes for True or
    has a negation for False.
    """
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


def _echoes(sentence: str, need: Need) -> bool:
    """Whether a question sentence repeats the value of a stated need (a confirmation, not a re-ask)."""
    low = norm(sentence)
    if need.kind == "budget":
        return bool(re.search(rf"(?<![\d.]){int(need.value)}(?![\d])", low))
    if isinstance(need.value, bool):
        return _has_value(low, label(need.topic))
    return _has_value(low, need.value)


def _has_value(low: str, v: Any) -> bool:
    return bool(re.search(r"(?<![\w-])" + re.escape(norm(v)) + r"(?![\w-])", low))


def compared(text: str, pair: list[Product | None], reading: ReplyReading) -> bool:
    """A comparison is done when the reply names both products (by id or in the text) and states at least
    one catalog fact of either (a checked price / value that matches, or one of their attribute values)."""
    if any(p is None for p in pair):
        return False
    named = set(reading.products) | set(reading.report.products)
    if not all(p.id in named for p in pair):
        return False
    ids = {p.id for p in pair}
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


__all__ = ["CONSIDERED", "Lexicon", "ReplyReading", "Shopper", "answer_status", "compared", "money", "read_reply"]
