"""The rule-based simulated shopper: it talks from a hidden `Goal`, reads each assistant reply against the
catalog, and keeps the per-turn record the metrics are computed from.

    shopper = Shopper(goal, profile, catalog)
    text = shopper.opening()
    while not shopper.done:
        reply = client.chat(messages)              # ClientReply(text, products or None, seconds)
        text = shopper.respond(reply.text, reply.products, reply.seconds)   # next user message (accept / leave too)
    shopper.scores()

**Reading a reply**: `assistant.simulation.replies` (products, need questions, answers, comparisons) with the
judge's reader, plus per reply the judge's verdict (`evaluation.verdicts.ReplyJudge`: on point, wrong fact) and
its quality reading (`evaluation.quality`: glitches, a decline, a purchase confirmation, the reply's language).

**Policy** after each reply (turn t): a product among the considered ones that meets every need still held
(the hidden ones too) becomes the candidate. Then, in order: at turn 1 correct a value said by mistake in the
first message (`plan.correct`: "no wait, not boho, industrial"); at the off-topic turn ask something unrelated;
with a candidate, ask one of its attribute values (pointing at it by title, name without brand, "the navy one",
"the cheapest one" or "it"), ask to compare it with another shown product (in general, on price or on an
attribute), then accept it (success) or, with `plan.goodbye`, say goodbye to think it over; leave when t
reaches the patience (frustrated when the assistant wasted turns); after a goodbye or a leave one more reply is
read (is it taken as a purchase?). Otherwise release one need at the release turn, answer the questions the reply
asked (restating needs already given: a re-ask), reject a recommended product with a reason, or reveal the next
need or ask for options. Phrases: `assistant.simulation.phrases` (the shopper's own subset of each family,
Spanish or German for a few shoppers, budgets as people write them, lower case or no "?" for some).
"""

from __future__ import annotations

import random
import re
from typing import Any

from assistant.evaluation.quality import confirms_purchase, declines, glitches, language_of
from assistant.evaluation.reading import reader_for
from assistant.evaluation.verdicts import ReplyJudge
from assistant.simulation.goals import CategoryProfile, Goal, Need, label, norm, value_matches
from assistant.simulation.phrases import article, casual_budget, money, templates, vary
from assistant.simulation.replies import (
    REDIRECT,
    Lexicon,
    ReplyReading,
    answer_status,
    compared,
    echoes,
    read_reply,
    words_in,
)
from retrieval.catalog import Catalog, Product

CONSIDERED = 3  # products of one reply a shopper looks at (the first ones)


class Shopper:
    """A simulated shopper with a hidden goal (see the module docstring)."""

    def __init__(self, goal: Goal, profile: CategoryProfile, catalog: Catalog, products_from: str = "reply"):
        if products_from not in ("reply", "text"):
            raise ValueError(f"products_from must be 'reply' or 'text', got {products_from!r}")
        self.goal, self.profile, self.catalog = goal, profile, catalog
        self.products_from = products_from
        self.rng = random.Random(f"talk:{goal.id}:{goal.anchor}")
        self.lang = goal.style.get("language", "en")
        pick = random.Random(goal.style.get("phrasing", 0))  # the shopper's own subset of each phrase family
        self.templates = {
            k: pick.sample(v, min(len(v), 3)) if len(v) > 3 else v for k, v in templates(self.lang).items()
        }
        self.judge = ReplyJudge(reader_for(catalog), goal.category)  # per-reply verdicts, in dialogue order
        self.slip: dict[str, Any] | None = dict(goal.plan["correct"]) if goal.plan.get("correct") else None
        self.watch: dict[str, Any] | None = None  # a correction or release whose honouring the next replies show
        self.last_word = False  # a goodbye or leave was said: the reply to it is read, then the dialogue ends
        self.said = ""  # the last user message (what the next reply answers)
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
        self.protected: set[str] = {norm(b) for b in profile.brands} | {
            norm(v) for n in goal.needs for v in (n.value if isinstance(n.value, list) else [n.value])
        }

    # -- phrasing ----------------------------------------------------------------------------------------
    def _say(self, family: str, **kw: Any) -> str:
        return self.rng.choice(self.templates[family]).format(**kw)

    def _need_text(self, need: Need) -> str:
        if need.kind == "budget":
            casual = casual_budget(need.value, self.goal.currency, self.rng) if self.lang == "en" else None
            if casual and self.goal.style.get("casual_budget") and self.rng.random() < 0.6:
                return casual
            return self._say("budget", p=money(need.value, self.goal.currency))
        if self.slip and need.topic == self.slip["topic"]:  # the value said by mistake, corrected on turn 1
            need = Need(need.kind, need.topic, self.slip["old"])
        if need.kind == "exclude_brand":
            return self._say("no_brand", v=need.value)
        if need.kind == "exclude_attribute":
            return self._say("no_value", v=need.value)
        if need.kind == "describe":
            return self._say("describe", v=" and ".join(need.value))
        spec = self.profile.attributes[need.topic]
        if spec.kind == "bool":
            return self._say("flag", n=label(need.topic))
        if need.topic == self.profile.kind_attribute:
            return f"{article(str(need.value))} {need.value}"
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
        self.said = vary(text, self.rng, self.goal.style)
        return self.said

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
        return self.outcome is not None and not self.last_word

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
                d["attributes"][n.topic] = self.slip["old"] if self.slip and self.slip["topic"] == n.topic else n.value
            elif n.kind == "exclude_attribute":
                d["exclude_attributes"][n.topic] = n.value
            elif n.kind == "exclude_brand":
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
            parts.append(self._say("open_kind" if chatty else "open_kind_terse", a=article(v), v=v))
            k -= 1
            todo = [n for n in todo if n is not kind]
        else:
            parts.append(self._say("open_cat" if chatty else "open_cat_terse", c=g.category))
        if self.slip:  # the slip is said in the first message, so that turn 1 can correct it
            todo = sorted(todo, key=lambda n: n.topic != self.slip["topic"])
            k = max(k, 1)
        parts += [self._reveal(n) for n in todo[: max(0, k)]]
        self.pending = {"kind": "opening"}
        return self._finish(parts)

    def respond(self, text: str, products: list[str] | None, seconds: float | None = None) -> str | None:
        """Read the assistant's reply and write the next user message; sets `outcome` when the dialogue ends.
        Returns None for the reply to a goodbye or a leave (read, not answered)."""
        self.turn += 1
        t = self.turn
        if self.products_from == "text":  # only what the reply says counts, as for an endpoint without ids
            products = None
        reading = read_reply(text, products, self.catalog, self.goal.category, self.lexicon)
        asked = self._asked(reading)
        verdict = self.judge.judge(self.said, text or "", reading.products if reading.from_endpoint else None)
        shelf = reader_for(self.catalog).shelf(self.goal.category)
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
            "on_point": verdict.on_point,
            "verdict_wrong_fact": verdict.wrong_fact,
            "verdict_reasons": verdict.reasons,
            "glitches": glitches(text, {a: vs.keys() for a, vs in shelf.attributes.items()}, reading.report.names),
        }
        if self.lang != "en" and words_in(text):
            row["unreadable"] = language_of(text) != self.lang
        self._judge_pending(reading, text, row)
        considered = reading.products[:CONSIDERED]
        self._judge_watch(considered, row)
        if self.last_word:  # the reply to a goodbye or a leave: is it read as a purchase?
            row["exit_read_as_purchase"] = confirms_purchase(text)
            self.last_word = False
            self.pending = None
            row["shopper"] = None
            self.turns.append(row)
            return None
        stated = [n for n in self.stated_needs() if not (self.slip and n.topic == self.slip["topic"])]
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
        """Score the reply against what the last user message asked (attribute, comparison, off-topic), and
        whether it declined an on-topic message."""
        p = self.pending or {}
        if p.get("kind") == "attribute":
            row["attribute_answer"] = answer_status(text, self.catalog.get(p["product"]), p["name"], reading)
            named = reading.report.products
            row["wrong_product"] = bool(named) and p["product"] not in named
        elif p.get("kind") == "compare":
            pair = [self.catalog.get(p["a"]), self.catalog.get(p["b"])]
            row["comparison"] = compared(text, pair, reading, p.get("dim"))
            row["wrong_product"] = bool(set(reading.report.products) - {p["a"], p["b"]}) and not all(
                x in reading.report.products for x in (p["a"], p["b"])
            )
        elif p.get("kind") == "off_topic":
            on_track = bool(REDIRECT.search(norm(text)) or reading.asked)
            row["off_topic_handled"] = on_track and reading.false_facts == 0
        if p and p.get("kind") not in ("off_topic", "leave", "goodbye"):
            row["declined"] = declines(text)

    def _judge_watch(self, considered: list[str], row: dict[str, Any]) -> None:
        """After a correction or a release: the first reply that recommends products (within two) honours it when
        no product still carries the corrected value / some product lacks the released one (when the catalog has
        such a product meeting the other stated needs)."""
        w = self.watch
        if w is None or self.turn <= w["turn"]:
            return
        key = f"{w['kind']}_honoured"
        if considered:
            prods = [self.catalog.get(pid) for pid in considered]
            holds = [value_matches(p.attributes.get(w["topic"]), w["value"]) for p in prods]
            row[key] = not any(holds) if w["kind"] == "correction" else (not all(holds) or not w["alternatives"])
            self.watch = None
        elif self.turn - w["turn"] >= 2:
            row[key] = False
            self.watch = None

    def _asked(self, reading: ReplyReading) -> list[str]:
        """The need topics the reply asks about, leaving out confirmations ("under $60, right?" after the
        shopper said under $60: the question repeats the stated value)."""
        out: list[str] = []
        for sent, topics in reading.questions:
            for topic in topics:
                need = self.goal.need(topic)
                if self.stated.get(topic) == "need" and need is not None and echoes(sent, need):
                    continue
                if topic not in out:
                    out.append(topic)
        return out

    def _next(self, asked: list[str], considered: list[str]) -> str:
        g, t = self.goal, self.turn
        patience = g.patience + (1 if g.plan.get("off_topic_turn") else 0)
        cand = self.catalog.get(self.candidate) if self.candidate else None
        if self.slip:  # "no wait, not boho, industrial": the value said by mistake is corrected at once
            slip, self.slip = self.slip, None
            need = g.need(slip["topic"])
            self.watch = {"kind": "correction", "topic": need.topic, "value": slip["old"], "turn": t}
            self.pending = {"kind": "correct", "topic": need.topic}
            return self._finish([self._say("correct", old=slip["old"], new=need.value)], [str(slip["old"])])
        if t == g.plan.get("off_topic_turn") and not self.asked_off_topic and t < patience:
            self.asked_off_topic = True
            self.pending = {"kind": "off_topic"}
            return self._finish([self._say("off_topic")])
        if cand is not None and t < patience:
            if g.plan.get("check_attribute") and not self.asked_attribute:
                self.asked_attribute = True
                return self._ask_attribute(cand, considered)
            others = [pid for pid in considered + self.seen if pid != cand.id]
            if g.plan.get("compare") and not self.asked_compare and others:
                self.asked_compare = True
                return self._compare(cand, self.catalog.get(others[0]))
        if cand is not None and g.plan.get("goodbye"):  # found it, but leaves to think it over
            self.outcome, self.last_word = "goodbye", True
            self.pending = {"kind": "goodbye", "product": cand.id}
            return self._finish([self._say("goodbye")])
        if cand is not None:
            self.accepted, self.outcome = cand.id, "success"
            self.pending = {"kind": "accept", "product": cand.id}
            return self._finish([self._say("accept", t=cand.title)], [cand.title])
        if t >= patience:
            self.outcome, self.last_word = "left", True
            self.pending = {"kind": "leave"}
            wasted = sum(len(r["reasked"]) + len(r["violations"]) + len(r["wrong"]) for r in self.turns)
            return self._finish([self._say("frustrated" if wasted >= 2 else "leave")])
        parts: list[str] = []
        pending: dict[str, Any] | None = None
        rel = g.plan.get("release")
        if rel and rel not in self.released and t >= g.plan.get("release_turn", 2):
            self.released.add(rel)
            self.stated[rel] = "no preference"
            parts.append(self._say("release", n=label(rel)))
            pending = {"kind": "release", "topic": rel}
            value = g.need(rel).value
            rest = self.stated_needs()
            others = [
                p
                for p in self.profile.products
                if not value_matches(p.attributes.get(rel), value) and not g.failed_needs(p, rest)
            ]
            self.watch = {"kind": "release", "topic": rel, "value": value, "turn": t, "alternatives": bool(others)}
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

    def _reference(self, p: Product, considered: list[str]) -> tuple[str | None, str]:
        """How the shopper points at a shown product: (phrase after "the", kind) -- its title, its title without
        the brand, "the navy one" (a value no other shown product has), "the cheapest one", or "it" (phrase None:
        the last reply's first product)."""
        shown = [self.catalog.get(x) for x in considered if x != p.id and x in self.catalog]
        refs: list[tuple[str | None, str]] = [(p.title, "title")]
        if p.brand and p.title.lower().startswith(p.brand.lower() + " ") and len(p.title.split()) > 2:
            refs.append((p.title[len(p.brand) + 1 :], "name"))
        if considered and considered[0] == p.id:
            refs.append((None, "it"))
        if shown:
            own = [
                v
                for a, v in p.attributes.items()
                if a in self.profile.attributes and self.profile.attributes[a].kind == "text" and isinstance(v, str)
            ]
            own = [
                v for v in own if not any(value_matches(o.attributes.get(a), v) for o in shown for a in o.attributes)
            ]
            if own:
                refs.append((f"{self.rng.choice(own)} one", "value"))
            if p.price is not None and all(o.price is not None and o.price > p.price for o in shown):
                refs.append(("cheapest one", "cheapest"))
        return self.rng.choice(refs)

    def _ask_attribute(self, p: Product, considered: list[str]) -> str:
        names = [
            n.topic
            for n in self.active_needs()
            if n.kind == "attribute" and n.topic in p.attributes and n.topic != self.profile.kind_attribute
        ]
        names = names or [n for n in self.profile.attributes if n in p.attributes and n != self.profile.kind_attribute]
        names = names or [n for n in self.profile.attributes if n in p.attributes]
        ref, how = self._reference(p, considered)
        name = self.rng.choice(names) if names else "price"
        self.pending = {"kind": "attribute", "product": p.id, "name": name, "reference": how}
        if name == "price":
            fam = "ask_price"
        else:
            fam = "ask_flag" if self.profile.attributes[name].kind == "bool" else "ask_attr"
        if ref is None:
            return self._finish([self._say(fam + "_it", n=label(name))])
        return self._finish([self._say(fam, n=label(name), t=ref)], [ref])

    def _compare(self, a: Product, b: Product) -> str:
        """Ask to compare two shown products: in general, on price, or on an attribute both have."""
        dims: list[tuple[str, str | None]] = [("compare", None)]
        if a.price is not None and b.price is not None and a.price != b.price:
            dims.append(("compare_price", "price"))
        for n, spec in self.profile.attributes.items():
            va, vb = a.attributes.get(n), b.attributes.get(n)
            if va is None or vb is None or va == vb or spec.kind == "bool" or n == self.profile.kind_attribute:
                continue
            dims.append(("compare_number" if spec.kind == "number" else "compare_value", n))
        fam, dim = self.rng.choice(dims)
        self.pending = {"kind": "compare", "a": a.id, "b": b.id, "dim": dim}
        return self._finish([self._say(fam, a=a.title, b=b.title, n=label(dim or ""))], [a.title, b.title])

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
        false_facts = sum(len(r["wrong"]) + len(r["unknown"]) for r in rows)
        found = self.outcome in ("success", "goodbye")
        strict = (
            found
            and all(a == "correct" for a in answers)
            and all(comps)
            and all(off)
            and false_facts == 0
            and not any(r.get("verdict_wrong_fact") for r in rows)
        )

        def share(key: str, want: Any = True) -> float | None:
            vals = [r[key] == want for r in rows if key in r]
            return sum(vals) / len(vals) if vals else None

        return {
            "task_success": float(found),
            "strict_success": float(strict),
            "turns_to_success": self.candidate_turn if found else None,
            "needs_reasked": sum(len(r["reasked"]) for r in rows),
            "attribute_answers_correct": (sum(a == "correct" for a in answers) / len(answers)) if answers else None,
            "comparisons_done": (sum(comps) / len(comps)) if comps else None,
            "violating_recommendations": bad / recs if recs else None,
            "false_facts": false_facts,
            "off_topic_handled": float(off[0]) if off else None,
            "replies_on_point": share("on_point"),
            "reply_quality": share("glitches", []),
            "wrongly_declined": share("declined"),
            "corrections_honoured": share("correction_honoured"),
            "releases_honoured": share("release_honoured"),
            "exits_not_read_as_purchase": share("exit_read_as_purchase", False),
            "wrong_product_replies": share("wrong_product"),
            "unreadable_replies": share("unreadable"),
            "latency_s": sum(secs) / len(secs) if secs else None,
            "assistant_turns": len(rows),
            "recommended_products": recs,
        }


__all__ = ["CONSIDERED", "Shopper"]
