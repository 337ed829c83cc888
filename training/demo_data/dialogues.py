"""Demo guide dialogues: a simulated shopper with hidden needs talks to a consistent, grounded assistant.

The assistant's policy is the same in every category (so it can be learned once and transferred):
- greet when greeted; elicit (budget, product type, one key attribute) while fewer than two constraints
  besides the type are known, at most twice;
- recommend the best-rated 1-3 candidates that satisfy every stated need, naming each by its exact title,
  its price (`$49.99`) and the attribute values that match, quoted verbatim from the catalog;
- when no candidate satisfies the needs, `relax` the constraint the shopper added last (then the others)
  and say which one was relaxed;
- answer attribute / price / brand questions about a shown product, compare two shown products, close.
The shoppers differ per category (see `vocab.py`): how they open, state needs, and ask.

Every assistant message carries `act`, `products`, `facts` and `candidates` (relax turns also `relaxed`:
"price", "brand", an attribute name, or "*" / "**" when only the product type was kept); every user message
carries `needs`. Used by `generate.py`; the course of a dialogue is in `flow.py`.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from assistant.text import format_price
from retrieval.catalog import Product
from training.demo_data import vocab as V
from training.demo_data.flow import run_flow
from training.demo_data.needs import empty_needs, satisfies
from training.demo_data.user import UserVoice, nice_ceil, nice_floor

FACT_FIELDS = ("title", "price", "brand")


def money(x: float) -> str:
    """`49.9` -> `"$49.90"`: the one way the assistant writes a price (`assistant.text.format_price`)."""
    return format_price(x)


class DialogueMaker:
    """Makes dialogues for one category from its catalog; all randomness comes from `rng`."""

    def __init__(self, category: str, products: list[Product], rng: random.Random):
        self.cat = category
        self.spec = V.CATEGORIES[category]
        self.products = products
        self.by_id = {p.id: p for p in products}
        self.by_type: dict[str, list[Product]] = {}
        for p in products:
            self.by_type.setdefault(p.attributes["type"], []).append(p)
        self.rng = rng
        self.voice = UserVoice(category, rng)

    # ---- helpers -------------------------------------------------------------------------------------
    def label(self, attr: str) -> str:
        return self.spec["labels"].get(attr, attr)

    def matches(self, needs: dict[str, Any]) -> list[Product]:
        pool = self.by_type.get(needs["attributes"].get("type"), self.products)
        return sorted((p for p in pool if satisfies(p, needs)), key=lambda p: (-(p.rating or 0), p.price, p.id))

    def candidates(self, chosen: list[Product], needs: dict[str, Any], extra_matches: list[Product]) -> list[str]:
        """About 5 ids as a retriever would return them: the chosen ones, maybe a lower-ranked match,
        and near-misses of the same type (they fail a stated need), in shuffled order."""
        rng = self.rng
        ids = [p.id for p in chosen]
        if extra_matches and rng.random() < 0.5:
            ids.append(rng.choice(extra_matches).id)
        pool = [p for p in self.by_type.get(needs["attributes"].get("type"), self.products) if p.id not in ids]
        near = [p for p in pool if not satisfies(p, needs)]
        rng.shuffle(near)
        want = rng.choice([5, 5, 5, 4, 6])
        ids += [p.id for p in near[: max(0, want - len(ids))]]
        if len(ids) < want:
            others = [p for p in self.products if p.id not in ids]
            ids += [p.id for p in rng.sample(others, min(len(others), want - len(ids)))]
        rng.shuffle(ids)
        return ids

    def attr_phrase(self, attr: str, value: str) -> str:
        label = self.label(attr)
        if label.lower() not in value.lower():
            return self.rng.choice([f"{label} {value}", f"{label}: {value}", f"{value} {label}"])
        if label.lower() in value.lower().split():  # "living room", "2 seats": the value names itself
            return value
        return f"{label}: {value}"  # "bedroom": not "bedroom room"

    def reason(
        self, p: Product, needs: dict[str, Any], facts: list[dict], also: str | None = None, first: bool = True
    ) -> str:
        """Why `p` fits: the stated attribute needs (verbatim values), the relaxed attribute `also` (its
        actual value), plus sometimes one extra highlight."""
        wanted = [a for a in needs["attributes"] if a != "type" and a in p.attributes]
        if also in p.attributes and also not in wanted:
            wanted.insert(0, also)
        others = [a for a in p.attributes if a not in wanted and a != "type"]
        shown = wanted + ([self.rng.choice(others)] if others and (len(wanted) < 2 or self.rng.random() < 0.4) else [])
        parts = []
        for a in shown:
            facts.append({"product": p.id, "field": a, "value": p.attributes[a]})
            parts.append(self.attr_phrase(a, p.attributes[a]))
        bits = ", ".join(parts[:-1]) + (f" and {parts[-1]}" if len(parts) > 1 else parts[-1]) if parts else ""
        extra = ""
        if needs["brands"]:
            facts.append({"product": p.id, "field": "brand", "value": p.brand})
            extra = f" It's from {p.brand}, as you wanted."
        if needs["max_price"] is not None and first and self.rng.random() < 0.5:
            extra += self.rng.choice(
                [
                    " Within your budget.",
                    " Fits your budget.",
                    "",
                    " Comfortably in budget.",
                    " And it's under your budget.",
                ]
            )
        tpl = self.rng.choice(
            [
                "It has {b}.",
                "You get {b}.",
                "Highlights: {b}.",
                "It comes with {b}.",
                "{B}.",
                "It offers {b}.",
                "Key points: {b}.",
                "It features {b}.",
                "Why it fits: {b}.",
                "Good match on {b}.",
            ]
        )
        return (tpl.format(b=bits, B=bits[:1].upper() + bits[1:]) if bits else "") + extra

    def product_line(
        self, p: Product, needs: dict[str, Any], facts: list[dict], n: int, i: int, also: str | None = None
    ) -> str:
        facts.append({"product": p.id, "field": "title", "value": p.title})
        facts.append({"product": p.id, "field": "price", "value": p.price})
        head = self.rng.choice(
            ["{t} ({p})", "{t} at {p}", "{t} for {p}", "{t}, {p}", "{t} — {p}", "The {t}, priced at {p}", "{t}: {p}"]
        ).format(t=p.title, p=money(p.price))
        why = self.reason(p, needs, facts, also, first=i == 0)
        return (f"{i + 1}. " if n > 1 else "") + f"{head}. {why}".strip()

    def plural_type(self, needs: dict[str, Any]) -> str:
        t = needs["attributes"].get("type")
        if t is None:
            return "options"
        return t if self.spec["types"][t].get("plural") else f"{t}s"

    # ---- assistant turns -----------------------------------------------------------------------------
    def recommend(self, needs: dict[str, Any], last_key: str | None) -> dict[str, Any]:
        """A recommend turn, or a relax turn when nothing satisfies `needs`."""
        found = self.matches(needs)
        if found:
            k = min(len(found), self.rng.choice([1, 2, 2, 3, 3, 3]))
            chosen, lead, act, relaxed = found[:k], None, "recommend", None
        else:
            relaxed, chosen = self.relax(needs, last_key)
            act = "relax"
            k = len(chosen)
        facts: list[dict] = []
        lines = [
            self.product_line(
                p, needs if act == "recommend" else relaxed[1], facts, k, i, None if act == "recommend" else relaxed[0]
            )
            for i, p in enumerate(chosen)
        ]
        if act == "recommend":
            leads = V.RECOMMEND_ONE_LEAD if k == 1 else V.RECOMMEND_LEAD
            lead = self.rng.choice(leads).format(t=self.plural_type(needs))
        else:
            lead = self.relax_lead(needs, relaxed[0], chosen, facts)
        tail = (
            self.rng.choice(
                [
                    "",
                    "",
                    " Want details on any of them?",
                    " Shall I compare them?",
                    " Any of these look good?",
                    " Happy to tell you more about any of them.",
                    " Let me know if one catches your eye.",
                ]
            )
            if k > 1
            else self.rng.choice(["", " Want to know more about it?", " Any questions about it?"])
        )
        sep = "\n" if self.rng.random() < 0.6 else " "
        text = lead + sep + sep.join(lines) + tail
        extra_pool = found[k:] if act == "recommend" else []
        cands = self.candidates(chosen, needs, extra_pool)
        return {
            "role": "assistant",
            "content": text,
            "act": act,
            "products": [p.id for p in chosen],
            "facts": facts,
            "candidates": cands,
            **({"relaxed": relaxed[0]} if relaxed else {}),
        }

    def relax(self, needs: dict[str, Any], last_key: str | None) -> tuple[tuple[str, dict], list[Product]]:
        """Drop one stated need (the last one added first) so that something matches.

        Returns ((key, relaxed_needs), chosen products). Keys: "price", "brand", or an attribute name.
        """
        keys = [k for k in needs["attributes"] if k != "type"]
        order = ([last_key] if last_key else []) + ["price"] + keys[::-1] + ["brand", "*", "**"]
        for key in order:
            n2 = copy.deepcopy(needs)
            if key == "price":
                if n2["max_price"] is None and n2["min_price"] is None:
                    continue
                n2["max_price"] = n2["min_price"] = None
            elif key == "brand":
                if not n2["brands"]:
                    continue
                n2["brands"] = []
            elif key in ("*", "**"):  # keep only the product type (and, for "*", the exclusions)
                n2 = empty_needs(self.cat)
                n2["attributes"]["type"] = needs["attributes"].get("type")
                if key == "*":
                    n2["exclude_attributes"] = dict(needs["exclude_attributes"])
                    n2["exclude_brands"] = list(needs["exclude_brands"])
            elif key in n2["attributes"]:
                del n2["attributes"][key]
            else:
                continue
            found = self.matches(n2)
            if key == "price":  # closest to the budget first
                found.sort(key=lambda p: (p.price, p.id))
            if found:
                return (key, n2), found[: self.rng.choice([1, 2, 2])]
        raise RuntimeError(f"no {needs['attributes'].get('type')} in the {self.cat} catalog")

    def relax_lead(self, needs: dict[str, Any], key: str, chosen: list[Product], facts: list[dict]) -> str:
        t = self.plural_type(needs)
        rng = self.rng
        if key == "price":
            budget = f"under ${needs['max_price']:.0f}" if needs["max_price"] is not None else "in that price range"
            return rng.choice(
                [
                    f"I couldn't find {t} that fit everything {budget}. If you can stretch the budget a "
                    f"little, these are the closest:",
                    f"Nothing matches all your needs {budget}, sorry. Relaxing the budget, here's what comes closest:",
                    f"Unfortunately there are no {t} {budget} with all of that. Going slightly over budget:",
                ]
            )
        if key == "brand":
            b = ", ".join(needs["brands"])
            return rng.choice(
                [
                    f"I don't have {b} {t} that fit the rest of your needs. From other brands:",
                    f"Nothing from {b} matches, unfortunately. If you're open to another brand:",
                ]
            )
        if key in ("*", "**"):
            return rng.choice(
                [
                    f"I couldn't find {t} that match all of that. These are the closest I have:",
                    "Nothing matches everything you asked for. Dropping some of the requirements:",
                ]
            )
        label, want = self.label(key), needs["attributes"][key]
        return rng.choice(
            [
                f"Sorry, there are no {t} with {label} {want} that also meet your other needs. If you're "
                f"flexible on {label}, these come closest:",
                f"I couldn't find {want} {t} that fit everything else. Relaxing the {label}, I'd suggest:",
                f"Nothing in {want} matches all of your needs, unfortunately. With a different {label}:",
            ]
        )

    def browse_candidates(self, needs: dict[str, Any]) -> list[str]:
        """What a retriever shows before anything is recommended (serving always shows cards): a few products
        meeting the needs so far plus near-misses of the same type, or any products when the type is unknown."""
        rng = self.rng
        want = rng.choice([5, 5, 5, 4, 6])
        if "type" not in needs["attributes"]:
            return [p.id for p in rng.sample(self.products, min(want, len(self.products)))]
        found = self.matches(needs)
        ids = [p.id for p in rng.sample(found, min(len(found), rng.randint(2, 4)))]
        near = [p for p in self.by_type[needs["attributes"]["type"]] if p.id not in ids]
        ids += [p.id for p in rng.sample(near, min(len(near), want - len(ids)))]
        rng.shuffle(ids)
        return ids

    def greet(self) -> dict[str, Any]:
        return {
            "role": "assistant",
            "content": self.rng.choice(V.GREET).format(cat=self.cat),
            "act": "greet",
            "products": [],
            "facts": [],
            "candidates": self.browse_candidates(empty_needs(self.cat)),
        }

    def elicit(self, ask: list[str], needs: dict[str, Any]) -> dict[str, Any]:
        qs = []
        for a in ask:
            if a == "budget":
                qs.append(self.rng.choice(V.ELICIT_BUDGET))
            elif a == "type":
                qs.append(self.rng.choice(V.ELICIT_TYPE))
            else:
                qs.append(self.rng.choice(V.ELICIT_ATTR).format(label=self.label(a)))
        text = self.rng.choice(V.ELICIT_LEAD) + " " + " ".join(qs)
        return {
            "role": "assistant",
            "content": text,
            "act": "elicit",
            "products": [],
            "facts": [],
            "candidates": self.browse_candidates(needs),
        }

    def answer(self, p: Product, field: str, guess: str | None, cands: list[str]) -> dict[str, Any]:
        rng = self.rng
        if field == "price":
            value, text = (
                p.price,
                rng.choice(
                    [
                        "The {t} costs {v}.",
                        "It's {v} — that's the {t}.",
                        "The {t} is priced at {v}.",
                        "The {t} sells for {v}.",
                        "You can get the {t} for {v}.",
                    ]
                ).format(t=p.title, v=money(p.price)),
            )
        elif field == "brand":
            value, text = (
                p.brand,
                rng.choice(
                    [
                        "The {t} is made by {v}.",
                        "That one is from {v} (the {t}).",
                        "{v} makes the {t}.",
                        "The brand of the {t} is {v}.",
                    ]
                ).format(t=p.title, v=p.brand),
            )
        else:
            value, label = p.attributes[field], self.label(field)
            if guess is None:
                text = rng.choice(
                    [
                        "The {t} has {l} {v}.",
                        "Its {l} is {v} — that's the {t}.",
                        "For the {t}, the {l} is {v}.",
                        "{v}: that's the {l} of the {t}.",
                        "The {l} of the {t} is {v}.",
                        "Good question! The {t} has {l} {v}.",
                        "According to the listing, the {t} has {l} {v}.",
                    ]
                )
            elif guess.lower() == str(value).lower():
                text = rng.choice(
                    [
                        "Yes, the {t} has {l} {v}.",
                        "Yes! The {t} is {v}.",
                        "That's right, {l}: {v} on the {t}.",
                        "Correct — the {t} has {l} {v}.",
                        "Yep, the {t}'s listing says {l} {v}.",
                    ]
                )
            else:
                text = rng.choice(
                    [
                        "No, the {t} has {l} {v}.",
                        "Not quite: for the {t}, the {l} is {v}.",
                        "No — the {t} is {v}.",
                        "Actually no, the {t} has {l} {v}.",
                        "I'm afraid not. The {t} has {l} {v}.",
                    ]
                )
            text = text.format(t=p.title, l=label, v=value, g=guess)
            text = text[:1].upper() + text[1:]
        return {
            "role": "assistant",
            "content": text,
            "act": "answer",
            "products": [p.id],
            "facts": [{"product": p.id, "field": field, "value": value}],
            "candidates": cands,
        }

    def compare(self, a: Product, b: Product, needs: dict[str, Any], cands: list[str]) -> tuple[dict, Product]:
        rng = self.rng
        facts = [
            {"product": a.id, "field": "price", "value": a.price},
            {"product": b.id, "field": "price", "value": b.price},
        ]
        common = [k for k in a.attributes if k in b.attributes and k != "type"]
        differ = [k for k in common if a.attributes[k] != b.attributes[k]]
        show = rng.sample(differ, min(len(differ), 2)) if differ else common[:1]
        pa = ", ".join(self.attr_phrase(k, a.attributes[k]) for k in show)
        pb = ", ".join(self.attr_phrase(k, b.attributes[k]) for k in show)
        for k in show:
            facts += [
                {"product": a.id, "field": k, "value": a.attributes[k]},
                {"product": b.id, "field": k, "value": b.attributes[k]},
            ]
        body = rng.choice(
            [
                "The {A} is {pa} with {xa}, while the {B} is {pb} with {xb}.",
                "{A}: {pa}, {xa}. {B}: {pb}, {xb}.",
                "Comparing them: the {A} costs {pa} and has {xa}; the {B} costs {pb} and has {xb}.",
                "Side by side: the {A} ({pa}) has {xa}, and the {B} ({pb}) has {xb}.",
                "Here's the difference. The {A} is {pa} and offers {xa}. The {B} is {pb} and offers {xb}.",
            ]
        ).format(A=a.title, B=b.title, pa=money(a.price), pb=money(b.price), xa=pa, xb=pb)
        cheaper = a if a.price <= b.price else b
        wanted = {k: v for k, v in needs["attributes"].items() if k != "type"}
        fit_a = sum(str(a.attributes.get(k)).lower() == str(v).lower() for k, v in wanted.items())
        fit_b = sum(str(b.attributes.get(k)).lower() == str(v).lower() for k, v in wanted.items())
        if fit_a != fit_b:  # one of them meets more of the stated needs: say which need
            better, other = (a, b) if fit_a > fit_b else (b, a)
            k = next(
                k
                for k, v in wanted.items()
                if str(better.attributes.get(k)).lower() == str(v).lower()
                and str(other.attributes.get(k)).lower() != str(v).lower()
            )
            if k not in show:
                facts.append({"product": better.id, "field": k, "value": better.attributes[k]})
            verdict = rng.choice(
                [
                    f"Since you wanted {self.label(k)} {better.attributes[k]}, the {better.title} is the better fit.",
                    f"For your needs I'd pick the {better.title}: it has {self.label(k)} {better.attributes[k]}.",
                ]
            )
            pick = better
        elif a.price == b.price:
            verdict, pick = "They cost the same, so it's a matter of taste.", a
        else:
            verdict, pick = (
                rng.choice(
                    [
                        f"If price matters most, the {cheaper.title} is the cheaper one.",
                        f"The {cheaper.title} is the better deal of the two.",
                        f"Both fit your needs; the {cheaper.title} costs less.",
                    ]
                ),
                cheaper,
            )
        return (
            {
                "role": "assistant",
                "content": f"{body} {verdict}",
                "act": "compare",
                "products": [a.id, b.id],
                "facts": facts,
                "candidates": cands,
            },
            pick,
        )

    def close(self, p: Product | None, cands: list[str]) -> dict[str, Any]:
        if p is None:
            return {
                "role": "assistant",
                "content": self.rng.choice(V.CLOSE_NONE),
                "act": "close",
                "products": [],
                "facts": [],
                "candidates": cands,
            }
        text = self.rng.choice(V.CLOSE).format(title=p.title, price=money(p.price))
        return {
            "role": "assistant",
            "content": text,
            "act": "close",
            "products": [p.id],
            "facts": [
                {"product": p.id, "field": "title", "value": p.title},
                {"product": p.id, "field": "price", "value": p.price},
            ],
            "candidates": cands,
        }

    # ---- one whole dialogue ----------------------------------------------------------------------------
    def make(self, dialogue_id: str) -> dict[str, Any]:
        """One dialogue record (dialogue-file form), deterministic for the state of `rng`."""
        return run_flow(self, dialogue_id)


__all__ = ["DialogueMaker", "empty_needs", "satisfies", "money", "nice_ceil", "nice_floor"]
