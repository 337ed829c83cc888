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
from training.demo_data import replies as R
from training.demo_data import vocab as V
from training.demo_data.flow import run_flow
from training.demo_data.needs import empty_needs, satisfies
from training.demo_data.user import UserVoice, nice_ceil, nice_floor

FACT_FIELDS = ("title", "price", "brand")
NUMBERS = {1: "one", 2: "two", 3: "three"}


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

    def plural(self, p: Product) -> bool:
        return bool(self.spec["types"][p.attributes["type"]].get("plural"))

    def pronoun(self, p: Product) -> str:
        return "they" if self.plural(p) else "it"

    def say(self, p: Product, item: str, facts: list[dict], needs: dict[str, Any], as_modifier: bool) -> str:
        """One reason about `p` as a modifier ("made of linen") or a predicate ("is made of linen"); `item` is an
        attribute name, "brand" or "budget". Stated values go into `facts` (the budget is the shopper's)."""
        rng, plural = self.rng, self.plural(p)
        if item == "budget":
            b, lo = R.dollars(needs["max_price"]), needs["min_price"]
            if lo is not None:
                forms = (
                    [f"in your {R.dollars(lo)} to {b} range"]
                    if as_modifier
                    else [f"{{be}} in your {R.dollars(lo)} to {b} range"]
                )
            elif as_modifier:
                forms = [f"within your {b}", f"under your {b} budget"] + (
                    [f"well under {b}"] if p.price <= 0.8 * needs["max_price"] else []
                )
            else:
                forms = [f"{{be}} within your {b}", f"{{be}} under your {b} budget", f"fit{{s}} your {b} budget"]
                forms += [f"{{be}} well under your {b}"] if p.price <= 0.8 * needs["max_price"] else []
            return R.agree(rng.choice(forms), plural)
        if item == "brand":
            facts.append({"product": p.id, "field": "brand", "value": p.brand})
            forms = (
                [f"from {p.brand}, as you wanted"]
                if as_modifier
                else [f"{{be}} from {p.brand}", f"{{be}} made by {p.brand}"]
            )
            return R.agree(rng.choice(forms), plural)
        value = p.attributes[item]
        facts.append({"product": p.id, "field": item, "value": value})
        if as_modifier:
            return R.modifier(rng, item, value, self.label(item))
        return R.predicate(rng, item, value, self.label(item), plural)

    def reasons(self, p: Product, items: list[str], facts: list[dict], needs: dict[str, Any]) -> str:
        """`items` said about `p` after its name: ": it is A and B", ", A and B" or " since it is A"."""
        if not items:
            return "."
        how = self.rng.choice(["pred", "mod", "since"])
        if how == "mod":
            return ", " + R.join([self.say(p, i, facts, needs, True) for i in items]) + "."
        preds = R.join([self.say(p, i, facts, needs, False) for i in items])
        return (": " if how == "pred" else " since ") + f"{self.pronoun(p)} {preds}."

    def first_items(self, p: Product, needs: dict[str, Any], also: str | None, budget: bool) -> list[str]:
        """Why the first product fits: up to two of the stated attribute needs it meets (the relaxed attribute
        `also` first), the brand asked for, sometimes the budget; a highlight when nothing was stated."""
        stated = [a for a in needs["attributes"] if a != "type" and a in p.attributes and a != also]
        items = ([also] if also in p.attributes else []) + self.rng.sample(
            stated, min(len(stated), 2 if also is None else 1)
        )
        if needs["brands"]:
            items.append("brand")
        if budget and needs["max_price"] is not None and (not items or self.rng.random() < 0.5):
            items.append("budget")
        if not items:
            others = [a for a in p.attributes if a != "type"]
            items = self.rng.sample(others, min(1, len(others)))
        return items[:3]

    def next_line(self, p: Product, needs: dict[str, Any], facts: list[dict], also: str | None, tpl: str) -> str:
        """A second or third product in one sentence, with one reason."""
        facts.append({"product": p.id, "field": "title", "value": p.title})
        facts.append({"product": p.id, "field": "price", "value": p.price})
        stated = [a for a in needs["attributes"] if a != "type" and a in p.attributes]
        pool = ([also] if also in p.attributes else []) or stated or [a for a in p.attributes if a != "type"]
        item = self.rng.choice(pool)
        tpl = R.agree(tpl, self.plural(p))
        said = self.say(p, item, facts, needs, "{M}" in tpl)
        return tpl.format(T=p.title, P=money(p.price), it=self.pronoun(p), R=said, M=said)

    def plural_type(self, needs: dict[str, Any]) -> str:
        t = needs["attributes"].get("type")
        if t is None:
            return "options"
        if self.spec["types"][t].get("plural"):
            return t
        return f"{t}es" if t.endswith(("s", "sh", "ch")) else f"{t}s"

    # ---- assistant turns -----------------------------------------------------------------------------
    def recommend(self, needs: dict[str, Any], last_key: str | None) -> dict[str, Any]:
        """A recommend turn, or a relax turn when nothing satisfies `needs`: the products in sentences, each
        named once with its price and the stated needs it meets."""
        rng = self.rng
        found = self.matches(needs)
        if found:
            k = min(len(found), rng.choice([1, 2, 2, 3, 3]))
            chosen, act, relaxed, basis, also = found[:k], "recommend", None, needs, None
        else:
            relaxed, chosen = self.relax(needs, last_key)
            act, k, basis = "relax", len(chosen), relaxed[1]
            also = relaxed[0] if relaxed[0] not in ("price", "brand", "*", "**") else None
        first = chosen[0]
        facts: list[dict] = [
            {"product": first.id, "field": "title", "value": first.title},
            {"product": first.id, "field": "price", "value": first.price},
        ]
        if act == "recommend":
            lead = rng.choice(R.LEAD_MANY if k > 1 else R.LEAD_ONE).format(t=self.plural_type(needs), n=NUMBERS[k])
            head = R.agree(rng.choice(R.FIRST), self.plural(first)).format(T=first.title, P=money(first.price))
        else:
            lead, prefix = self.relax_lead(needs, relaxed[0])
            head = prefix + rng.choice(R.CLOSEST).format(T=first.title, P=money(first.price))
            head = head[:1].upper() + head[1:]
        line = head + self.reasons(first, self.first_items(first, basis, also, act == "recommend"), facts, basis)
        forms = [rng.choice(R.NEXT), rng.choice(R.THIRD)]
        rest = [self.next_line(p, basis, facts, also, tpl) for p, tpl in zip(chosen[1:], forms)]
        tail = rng.choice(R.TAIL_MANY if k > 1 else R.TAIL_ONE).format(obj="them" if self.plural(first) else "it")
        text = " ".join(x for x in [lead, line, *rest] if x) + tail
        return {
            "role": "assistant",
            "content": text,
            "act": act,
            "products": [p.id for p in chosen],
            "facts": facts,
            "candidates": self.candidates(chosen, needs, found[k:] if act == "recommend" else []),
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

    def relax_lead(self, needs: dict[str, Any], key: str) -> tuple[str, str]:
        """What does not fit, said plainly, and the words that lead to the closest product (naming the
        dropped need: the budget, the brand or the attribute's label)."""
        t, rng = self.plural_type(needs), self.rng
        if key == "price":
            if needs["max_price"] is None:
                return rng.choice(
                    ["Nothing in that price range has all of that.", "Nothing fits that price range."]
                ), ""
            b = R.dollars(needs["max_price"])
            return (
                rng.choice(
                    [
                        f"Nothing fits all of that within your {b} budget.",
                        f"I can't find {t} with everything you asked for under {b}, so it means going over budget.",
                        f"Under {b}, nothing has all of that; you'd need to stretch the budget a little.",
                        f"Within a {b} budget, nothing matches everything, sorry.",
                    ]
                ),
                "",
            )
        if key == "brand":
            b = " or ".join(needs["brands"])
            return (
                rng.choice(
                    [
                        f"Nothing from {b} fits the rest of what you want.",
                        f"{b} has no {t} that fit the rest, sorry.",
                        f"I have no {b} {t} that match everything else.",
                    ]
                ),
                rng.choice(["From another brand, ", ""]),
            )
        if key in ("*", "**"):
            return rng.choice(
                ["Nothing matches all of that.", f"I couldn't find {t} with everything you asked for."]
            ), ""
        want = R.modifier(rng, key, needs["attributes"][key], self.label(key))
        lead = rng.choice(
            [
                f"Nothing {want} fits the rest of your needs.",
                f"I don't have {t} {want} that also meet everything else.",
                f"Sorry, no {t} {want} match the rest of what you asked for.",
            ]
        )
        return lead, rng.choice(
            ["If the {l} can change, ", "With a different {l}, ", "Setting the {l} aside, "]
        ).format(l=self.label(key))

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
            "content": self.rng.choice(R.GREET),
            "act": "greet",
            "products": [],
            "facts": [],
            "candidates": self.browse_candidates(empty_needs(self.cat)),
        }

    def elicit(self, ask: list[str], needs: dict[str, Any]) -> dict[str, Any]:
        rng, qs = self.rng, []
        for a in ask:
            if a == "budget":
                qs.append(rng.choice(R.ELICIT_BUDGET))
            elif a == "type":
                qs.append(rng.choice(R.ELICIT_TYPE))
            else:
                forms = R.ELICIT_OWN.get(a) or R.ELICIT_ATTR
                qs.append(rng.choice(forms).format(l=self.label(a), t=needs["attributes"].get("type")))
        text = " ".join(x for x in [rng.choice(R.ELICIT_LEAD), *qs] if x)
        return {
            "role": "assistant",
            "content": text,
            "act": "elicit",
            "products": [],
            "facts": [],
            "candidates": self.browse_candidates(needs),
        }

    def answer(self, p: Product, field: str, guess: str | None, cands: list[str]) -> dict[str, Any]:
        """One sentence on the field asked: the price, the brand, or the attribute (yes / no to a guess)."""
        rng, plural = self.rng, self.plural(p)
        subj = rng.choice([f"the {p.title}", self.pronoun(p), self.pronoun(p)])
        if field == "price":
            value = p.price
            forms = [
                "{S} {be} {V}.",
                "The {T} cost{s} {V}.",
                "That one is {V}.",
                "{S} sell{s} for {V}.",
                "It's {V} for the {T}.",
            ]
            v = money(p.price)
        elif field == "brand":
            value = v = p.brand
            obj = "them" if plural else "it"
            forms = [
                "{S} {be} made by {V}.",
                "{S} {be} from {V}.",
                "{V} makes " + obj + ".",
                "That one comes from {V}.",
            ]
        else:
            value = v = p.attributes[field]
            said = R.predicate(rng, field, value, self.label(field), plural)
            if guess is None:
                forms = [
                    "{S} " + said + ".",
                    "According to the listing, {S} " + said + ".",
                    "Good question: {S} " + said + ".",
                ]
            elif guess.lower() == str(value).lower():
                forms = ["Yes, {S} " + said + ".", "That's right, {S} " + said + ".", "Yep, {S} " + said + "."]
            else:
                forms = ["No, {S} " + said + ".", "Not quite: {S} " + said + ".", "I'm afraid not; {S} " + said + "."]
        text = R.agree(rng.choice(forms), plural).format(S=subj, T=p.title, V=v)
        return {
            "role": "assistant",
            "content": text[:1].upper() + text[1:],
            "act": "answer",
            "products": [p.id],
            "facts": [{"product": p.id, "field": field, "value": value}],
            "candidates": cands,
        }

    def compare(
        self, a: Product, b: Product, needs: dict[str, Any], cands: list[str], field: str | None = None
    ) -> tuple[dict, Product]:
        """Compare two shown products on `field` (the price or an attribute the shopper asked about) and say
        which wins; with no field, on the stated need only one meets, else on a number or the price.
        Returns the turn and the product it favours."""
        rng, facts = self.rng, []
        wanted = {k: v for k, v in needs["attributes"].items() if k != "type"}

        def fits(p: Product, k: str) -> bool:
            return str(p.attributes.get(k)).lower() == str(wanted[k]).lower()

        def pred(p: Product, k: str, plural: bool | None = None) -> str:
            facts.append({"product": p.id, "field": k, "value": p.attributes[k]})
            return R.predicate(rng, k, p.attributes[k], self.label(k), self.plural(p) if plural is None else plural)

        def price(p: Product) -> str:
            facts.append({"product": p.id, "field": "price", "value": p.price})
            return money(p.price)

        if field is None:
            split = [k for k in wanted if fits(a, k) != fits(b, k) and k in a.attributes and k in b.attributes]
            if split:
                k = rng.choice(split)
                win, lose = (a, b) if fits(a, k) else (b, a)
                tpl = rng.choice(
                    [
                        "The {W} {be} the better fit for you: {it} {RW}, as you asked, while the {L} {RL}.",
                        "For what you asked, I'd pick the {W}; {it} {RW}, and the {L} {RL}.",
                        "The {W} wins here because {it} {RW}; the {L} {RL}.",
                    ]
                )
                text = R.agree(tpl, self.plural(win)).format(
                    W=win.title, L=lose.title, it=self.pronoun(win), RW=pred(win, k), RL=pred(lose, k)
                )
                return self._turn("compare", text, [a, b], facts, cands), win
            ordered = [k for k in R.MORE_WINS if k in a.attributes and k in b.attributes]
            ordered = [k for k in ordered if R.amount(a.attributes[k]) != R.amount(b.attributes[k])]
            field = rng.choice(ordered) if ordered and rng.random() < 0.6 else "price"
        cheap, dear = (a, b) if a.price <= b.price else (b, a)
        if field == "price":
            if a.price == b.price:
                text, win = f"They cost the same, {price(a)} each, so it comes down to taste.", a
                price(b)
            else:
                tpl = rng.choice(
                    [
                        "The {W} {be} cheaper: {PW} against {PL} for the {L}.",
                        "The {W} cost{s} less: {PW}, where the {L} {be2} {PL}.",
                        "At {PW}, the {W} {be} the cheaper one; the {L} {be2} {PL}.",
                        "The {W}, at {PW}; the {L} {be2} {PL}.",
                        "The {L} {be2} {PL}, so the {W} at {PW} {be} the better deal.",
                    ]
                )
                text = R.agree(tpl, self.plural(cheap)).format(
                    W=cheap.title,
                    L=dear.title,
                    PW=price(cheap),
                    PL=price(dear),
                    be2="are" if self.plural(dear) else "is",
                )
                win = cheap
        elif field in R.MORE_WINS:
            va, vb = R.amount(a.attributes[field]), R.amount(b.attributes[field])
            if va == vb:
                text = f"Both {pred(a, field, True)}, so the price decides: the {cheap.title} is {price(cheap)} "
                text += f"and the {dear.title} {price(dear)}."
                facts.append({"product": b.id, "field": field, "value": b.attributes[field]})
                win = cheap
            else:
                win, lose = (a, b) if va > vb else (b, a)
                more = R.agree(R.MORE_WINS[field], self.plural(win))
                facts += [{"product": p.id, "field": field, "value": p.attributes[field]} for p in (win, lose)]
                text = rng.choice(
                    [
                        "The {W} {C}, {VW} against {VL}.",
                        "It's the {W}: {VW} against {VL} for the {L}.",
                        "The {W} {C}, with {VW} to {VL} for the {L}.",
                        "On {l}, the {W} wins: {VW} against {VL} for the {L}.",
                    ]
                ).format(
                    W=win.title,
                    L=lose.title,
                    C=more,
                    VW=win.attributes[field],
                    VL=lose.attributes[field],
                    l=self.label(field),
                )
                if rng.random() < 0.4 and a.price != b.price:
                    it = self.pronoun(win).capitalize()
                    text += (
                        f" {it}'s also the cheaper one at {price(win)}."
                        if win is cheap
                        else f" It does cost more: {price(win)} against {price(lose)}."
                    )
        else:  # an attribute without an order: say both; the stated need decides, else taste
            if a.attributes[field] == b.attributes[field]:
                text = f"Both {pred(a, field, True)}, so that won't decide it."
                facts.append({"product": b.id, "field": field, "value": b.attributes[field]})
                win = cheap
            else:
                fa, fb = field in wanted and fits(a, field), field in wanted and fits(b, field)
                win, lose = (a, b) if fa else (b, a)
                if fa == fb:
                    text = f"The {a.title} {pred(a, field)}, while the {b.title} {pred(b, field)}. "
                    text += rng.choice(
                        [
                            "It comes down to which you prefer.",
                            "Either works, so it's down to taste.",
                            "Both fit what you asked.",
                        ]
                    )
                    win = cheap
                else:
                    text = f"The {win.title} {pred(win, field)}, which is what you asked for; "
                    text += f"the {lose.title} {pred(lose, field)}."
        return self._turn("compare", text, [a, b], facts, cands), win

    def _turn(self, act: str, text: str, products: list[Product], facts: list[dict], cands: list[str]) -> dict:
        return {
            "role": "assistant",
            "content": text[:1].upper() + text[1:],
            "act": act,
            "products": [p.id for p in products],
            "facts": facts,
            "candidates": cands,
        }

    def close(self, p: Product | None, cands: list[str]) -> dict[str, Any]:
        """Confirm the product the shopper picked (by its title and price), or let them go."""
        if p is None:
            return self._turn("close", self.rng.choice(R.CLOSE_NONE), [], [], cands)
        text = self.rng.choice(R.CLOSE).format(T=p.title, P=money(p.price))
        facts = [
            {"product": p.id, "field": "title", "value": p.title},
            {"product": p.id, "field": "price", "value": p.price},
        ]
        return self._turn("close", text, [p], facts, cands)

    # ---- one whole dialogue ----------------------------------------------------------------------------
    def make(self, dialogue_id: str) -> dict[str, Any]:
        """One dialogue record (dialogue-file form), deterministic for the state of `rng`."""
        return run_flow(self, dialogue_id)


__all__ = ["DialogueMaker", "empty_needs", "satisfies", "money", "nice_ceil", "nice_floor"]
