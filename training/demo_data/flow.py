"""The course of one demo dialogue: the shopper's hidden plan, what they reveal when, and the assistant's
turns in response (see `dialogues.py` for the assistant's policy).

A shopper starts from a "seed" product they would like (its type, a few of its attributes, a budget
around its price, sometimes a brand), reveals part of that, answers the assistant's questions, then may
add a need later, ask for something cheaper, exclude a brand or attribute, add a need nothing satisfies
(forcing a relax turn), ask about shown products, compare two, and finally pick one (or leave).
"""

from __future__ import annotations

import copy
from typing import Any

from training.demo_data.needs import empty_needs, satisfies
from training.demo_data.replies import MORE_WINS
from training.demo_data.user import nice_ceil, nice_floor

OPEN_NO_TYPE = [
    "I need some help choosing something",
    "can you help me shop?",
    "looking for a gift, not sure what",
    "I want to buy something but don't know where to start",
    "what would you recommend?",
]


def run_flow(m, did: str) -> dict[str, Any]:
    """Generate one dialogue with `DialogueMaker` `m`; returns the dialogue record."""
    rng, voice, cat = m.rng, m.voice, m.cat
    seed = rng.choice(m.products)
    ptype = seed.attributes["type"]
    names = [a for a in seed.attributes if a != "type"]
    k = rng.choices([1, 2, 3], [0.4, 0.4, 0.2])[0]
    pending: list[tuple] = [("attr", a, seed.attributes[a]) for a in rng.sample(names, min(k, len(names)))]
    if rng.random() < 0.7:
        hi = nice_ceil(seed.price * rng.uniform(1.0, 1.35))
        lo = nice_floor(seed.price * rng.uniform(0.5, 0.9)) if rng.random() < 0.15 else None
        pending.append(("price", lo if lo and lo < hi else None, hi))
    if rng.random() < 0.12:
        pending.append(("brand", seed.brand))
    if rng.random() < 0.08:
        others = [b for b in m.spec["brands"] if b != seed.brand]
        pending.append(("avoid_brand", rng.choice(others)))
    rng.shuffle(pending)

    needs = empty_needs(cat)
    msgs: list[dict[str, Any]] = []
    state = {"last_key": None}

    def apply(item: tuple) -> str:
        """Add a revealed plan item to the needs; returns the clause that says it."""
        kind = item[0]
        if kind == "attr":
            needs["attributes"][item[1]] = item[2]
            state["last_key"] = item[1]
            return voice.need(item[1], item[2])
        if kind == "price":
            needs["min_price"], needs["max_price"] = (float(item[1]) if item[1] else None), float(item[2])
            state["last_key"] = "price"
            return voice.budget(item[1], item[2])
        if kind == "brand":
            needs["brands"] = [item[1]]
            state["last_key"] = "brand"
            return voice.brand(item[1])
        needs["exclude_brands"].append(item[1])
        return voice.avoid_brand(item[1])

    def user(text: str) -> None:
        text = state.pop("prefix", "") + text
        msgs.append({"role": "user", "content": text, "products": [], "needs": copy.deepcopy(needs)})

    def stated() -> int:
        return (
            len([a for a in needs["attributes"] if a != "type"])
            + (needs["max_price"] is not None)
            + bool(needs["brands"])
        )

    # opening
    if rng.random() < 0.3:
        user(voice.pick_phrase("greet"))
        msgs.append(m.greet())
    vague = rng.random() < 0.4
    if vague and rng.random() < 0.3:
        user(voice.style(rng.choice(OPEN_NO_TYPE)))
    else:
        needs["attributes"]["type"] = ptype
        n_reveal = 0 if vague else rng.randint(1, len(pending))
        clauses = [voice.opener(ptype)] + [apply(pending.pop()) for _ in range(n_reveal)]
        user(voice.join(clauses))

    # elicit while the needs are thin
    asked: set[str] = set()
    for _ in range(2):
        if "type" in needs["attributes"] and stated() >= 2:
            break
        ask = []
        if "type" not in needs["attributes"]:
            ask.append("type")
        if needs["max_price"] is None and "budget" not in asked:
            ask.append("budget")
        if "type" in needs["attributes"]:
            order = m.spec["key_attrs"] + [a for a in names if a not in m.spec["key_attrs"]]
            free = [a for a in order if a in seed.attributes and a not in needs["attributes"] and a not in asked]
            ask += free[:1]
        ask = ask[:2]
        if not ask:
            break
        asked.update(ask)
        msgs.append(m.elicit(ask, needs))
        clauses = []
        for a in ask:
            if a == "type":
                needs["attributes"]["type"] = ptype
                clauses.append(
                    rng.choice(["{t}", "I need {t}", "{t} I think", "maybe {t}"]).format(t=voice.type_np(ptype))
                )
            elif a == "budget":
                item = next((x for x in pending if x[0] == "price"), None)
                if item:
                    pending.remove(item)
                    clauses.append(apply(item))
                else:
                    clauses.append(voice.no_budget())
            else:
                item = next((x for x in pending if x[0] == "attr" and x[1] == a), None)
                if item:
                    pending.remove(item)
                elif rng.random() < 0.6:
                    item = ("attr", a, seed.attributes[a])
                if item:
                    clauses.append(apply(item))
                else:
                    clauses.append(voice.no_pref(a))
        if pending and rng.random() < 0.3:
            clauses.append(apply(pending.pop()))
        user(voice.join(clauses))

    # recommend, then the shopper's follow-ups
    rec = m.recommend(needs, state["last_key"])
    relaxed = rec.get("relaxed")
    msgs.append(rec)
    shown = [m.by_id[i] for i in rec["products"]]
    cands = rec["candidates"]
    steps = []
    if pending and rng.random() < 0.5:
        steps.append("later")
    if rng.random() < 0.25:
        steps.append("refine")
    if rng.random() < 0.25:
        steps.append("impossible")
    rng.shuffle(steps)
    steps += ["question"] * rng.choices([0, 1, 2], [0.35, 0.45, 0.2])[0]
    if rng.random() < 0.35:
        steps.insert(rng.randrange(len(steps) + 1), "compare")
    compare_pick = None
    asked_about: set[tuple[str, str]] = set()
    for step in steps:
        if relaxed and rng.random() < 0.6:  # the shopper accepts the relaxation in their next message
            _accept_relax(needs, relaxed)
            state["prefix"] = voice.pick_phrase("accept").rstrip(".!?,") + rng.choice([". ", ", ", " - ", "! "])
            relaxed = None
        new_needs = None
        if step == "later" and pending:
            user(voice.pick_phrase("later", c=apply(pending.pop())))
            new_needs = True
        elif step == "refine":
            new_needs = _refine(m, needs, shown, state, user)
        elif step == "impossible":
            new_needs = _impossible(m, needs, state, user)
        elif step == "question":
            i = rng.randrange(len(shown))
            p = shown[i]
            r = rng.random()
            fields = [a for a in p.attributes if a != "type" and (p.id, a) not in asked_about]
            field = "price" if r < 0.15 or not fields else "brand" if r < 0.25 else rng.choice(fields)
            if (p.id, field) in asked_about:
                continue
            asked_about.add((p.id, field))
            guess = None
            if field not in ("price", "brand") and rng.random() < 0.35:
                values = (
                    m.spec["types"][ptype]["attrs"].get(field) or m.spec["common"].get(field) or [p.attributes[field]]
                )
                guess = p.attributes[field] if rng.random() < 0.5 else rng.choice(values)
            user(voice.question(field, _ref(m, shown, i), guess))
            msgs.append(m.answer(p, field, guess, cands))
        elif step == "compare" and len(shown) >= 2:
            i, j = sorted(rng.sample(range(len(shown)), 2))
            ra, rb = _ref(m, shown, i, no_it=True), _ref(m, shown, j, no_it=True)
            on = _compare_field(m, shown[i], shown[j])
            user(voice.compare(ra, rb, on))
            turn, compare_pick = m.compare(shown[i], shown[j], needs, cands, on)
            msgs.append(turn)
        if new_needs:
            rec = m.recommend(needs, state["last_key"])
            relaxed = rec.get("relaxed")
            msgs.append(rec)
            shown = [m.by_id[i] for i in rec["products"]]
            cands = rec["candidates"]
            compare_pick = None

    # close
    if rng.random() < 0.08:
        user(voice.pick_phrase("no_buy"))
        msgs.append(m.close(None, cands))
        target = None
    else:
        if compare_pick is not None and rng.random() < 0.6:
            chosen = compare_pick
        else:
            chosen = rng.choices(shown, [3, 2, 1][: len(shown)])[0]
        if relaxed:
            _accept_relax(needs, relaxed)
            state["prefix"] = voice.pick_phrase("accept").rstrip(".!?,") + rng.choice([". ", ", ", " - ", "! "])
        user(voice.pick(_ref(m, shown, shown.index(chosen))))
        msgs.append(m.close(chosen, cands))
        target = chosen.id
    d = {"id": did, "category": cat, "messages": msgs}
    if target:
        d["target"] = target
    return d


def _compare_field(m, a, b) -> str | None:
    """What the shopper compares two products on: nothing named, the price, a number or another attribute."""
    common = [k for k in a.attributes if k != "type" and k in b.attributes]
    ordered = [k for k in common if k in MORE_WINS]
    plain = [k for k in common if k not in MORE_WINS and a.attributes[k] != b.attributes[k]]
    r = m.rng.random()
    if r < 0.3:
        return None
    if r < 0.5 or not (ordered or plain):
        return "price"
    return m.rng.choice(ordered) if ordered and (not plain or r < 0.75) else m.rng.choice(plain)


def _ref(m, shown: list, i: int, no_it: bool = False) -> str:
    brands = [p.brand for p in shown]
    unique = shown[i].brand if brands.count(shown[i].brand) == 1 and len(shown) > 1 else None
    for _ in range(5):
        r = m.voice.ref(shown[i].title, i, len(shown), unique)
        if not (no_it and r == "it"):
            return r
    return "the " + shown[i].title


def _accept_relax(needs: dict, relaxed: str) -> None:
    """The shopper accepts what a relax turn dropped: update their needs to match."""
    if relaxed == "price":  # the needs become exactly what the assistant relaxed them to
        needs["min_price"] = needs["max_price"] = None
    elif relaxed == "brand":
        needs["brands"] = []
    elif relaxed in ("*", "**"):
        keep = needs["attributes"].get("type")
        needs["attributes"] = {"type": keep}
        needs["min_price"] = needs["max_price"] = None
        needs["brands"] = []
        if relaxed == "**":
            needs["exclude_attributes"], needs["exclude_brands"] = {}, []
    else:
        needs["attributes"].pop(relaxed, None)


def _refine(m, needs: dict, shown: list, state: dict, user) -> bool:
    """Cheaper, not this brand, or not this attribute value; returns True when the needs changed."""
    rng, voice, p = m.rng, m.voice, shown[0]
    kind = rng.choice(["cheaper", "brand", "attr"])
    if kind == "cheaper":
        new_max = nice_floor(min(x.price for x in shown) * 0.85)
        if new_max > 0 and (needs["min_price"] is None or new_max > needs["min_price"]):
            needs["max_price"] = float(new_max)
            state["last_key"] = "price"
            user(voice.pick_phrase("cheaper", m=new_max))
            return True
        kind = "brand"
    if kind == "brand" and p.brand not in needs["brands"] and p.brand not in needs["exclude_brands"]:
        needs["exclude_brands"].append(p.brand)
        user(voice.style(voice.avoid_brand(p.brand)))
        return True
    free = [
        a
        for a in p.attributes
        if a != "type" and a not in needs["attributes"] and a not in needs["exclude_attributes"]
    ]
    if not free:
        return False
    a = rng.choice(free)
    needs["exclude_attributes"][a] = p.attributes[a]
    user(voice.style(voice.avoid_attr(a, p.attributes[a])))
    return True


def _impossible(m, needs: dict, state: dict, user) -> bool:
    """Add a need that no product meets together with the others (the assistant must relax)."""
    rng = m.rng
    t = needs["attributes"].get("type")
    if t is None:
        return False
    spec_attrs = dict(m.spec["types"][t]["attrs"])
    spec_attrs.update({k: v for k, v in m.spec["common"].items() if k not in spec_attrs})
    names = [a for a in spec_attrs if a not in needs["attributes"]]
    rng.shuffle(names)
    for a in names:
        values = list(spec_attrs[a])
        rng.shuffle(values)
        for v in values:
            trial = copy.deepcopy(needs)
            trial["attributes"][a] = v
            if not any(satisfies(p, trial) for p in m.by_type[t]):
                needs["attributes"][a] = v
                state["last_key"] = a
                user(m.voice.pick_phrase("later", c=m.voice.need(a, v)))
                return True
    return False
