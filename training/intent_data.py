"""Training data for the intent head (`training/intent.py`): generated shopper dialogues per category, and real
shopper turns from RecQuest as unlabeled and weakly labelled text.

    slots = CategorySlots.from_products(load_catalog("/tmp/demo_data/catalog/electronics.jsonl").products)
    rows = generate_examples(slots, n_dialogues=200, seed=0, split="train")   # [{message, history, intent, ...}]
    real = recquest_turns("../shared/data/recquest")                        # [{message, history, intent|None}]

Every user turn is written from the templates below, slot-filled from the category's own catalog (types, attribute
values, brands, titles, prices): the same phrasing carries apparel words in apparel and battery life in
electronics, and `CATEGORY_TEMPLATES` adds questions only one category asks. The templates were written for this
module, not taken from the demo generator (`training/demo_data/user.py`), the simulated shopper
(`assistant/simulation/`) or the frozen dev set; `tests/training/test_intent.py` checks the first two.

Splits hold out phrasing as well as dialogues: template i of an intent writes only `TEMPLATE_SPLIT[i % 7]`
examples (5 of 7 train, 1 validation, 1 test), so a test accuracy measures phrasings the head never saw.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.text import plural
from assistant.understanding.intents import INTENTS
from retrieval.catalog import Product


def _t(block: str) -> list[str]:
    """Templates written several to a line, separated by " | "."""
    return [t.strip() for line in block.strip().splitlines() for t in line.split(" | ") if t.strip()]


SPLITS = ("train", "validation", "test")
TEMPLATE_SPLIT = ("train", "train", "train", "train", "train", "validation", "test")

OPENERS = _t(
    """
    I'm shopping for {a_type} | looking to buy {a_type} | do you carry {types} | {types}? | need {a_type} asap
    got any {types} in stock | can you show me {types} | what {types} do you sell | recommend me {a_type}
    in the market for {a_type} | my old {type} just died, I need a replacement | help me pick {a_type}
    I want to get {a_type} for myself | searching for a decent {type} | I'd like to see your {types}
    which {type} should I buy | buying a gift for my sister, she wants {a_type} | show {types}
    hey, do you guys have {types} | I'm after {a_type} | what's a good {type} right now
    could you find me {a_type} | time for a new {type}. ideas? | first time buying {a_type}, where do I start
    list some {types} please | I was hoping to find {a_type} today | what would you suggest for {a_type}
    my partner needs {a_type}
    """
)
CLAUSES = _t(
    """
    in {value} | preferably {value} | something {value} | from {brand} | ideally made by {brand}
    {attr} should be {value} | {value} would be ideal | must be {value}
    """
)
BUDGETS = _t(
    """
    under {money} | below {money} | less than {money} | {money} or less | up to {money} | around {money}
    with a budget of {money} | between {money} and {money2} | nothing too pricey | on the cheap side
    """
)
FOLLOW_UPS = _t(
    """
    can you show me some in {value}? | more like these but {value} | got more options? | what else do you have
    anything similar from {brand}? | now I also need {a_type} | what about {types} under {money}?
    I want it in {value} | show me the {value} versions | do you have cheaper ones | let's look at {types} now
    any others under {money}? | more please, maybe {value} this time | and what have you got from {brand}?
    """
)
TEMPLATES: dict[str, list[str]] = {
    "ask_about_product": _t(
        """
        what {attr} is {ref}? | how much does {ref} go for | does {ref} come in {value}? | is {ref} any good?
        tell me more about {ref} | what's the rating on {ref} | who's the maker of {ref}?
        can you give me details on the {name} | is {ref} {value}? | what material is {ref} | price on {ref}?
        how many stars does {ref} have | what can you tell me about the {name}? | is {ref} available in {value}
        describe {ref} for me | what's the {attr} of {ref} | would {ref} suit me if I need {value}?
        and {ref}, what does it cost? | is the {name} worth it? | any reviews for {ref}? | which brand is {ref} from
        is {ref} in stock? | what sizes does {ref} come in | can you check whether {ref} is {value}
        how long is the warranty on {ref} | what colours are there for the {name} | is {ref} new or refurbished
        does the {name} ship fast? | I'd like the specs of {ref} | quick question about {ref}: is it {value}?
        what's so special about the {name} | how is {ref} rated by buyers | what's the return policy for {ref}
        """
    ),
    "compare": _t(
        """
        which one is cheapest? | which of these has the best reviews | which has more {attr}
        {name} or {name2}, which is better for me? | how does the {name} compare to the {name2}
        what's the difference between the first two | rank them by price
        which would you pick between {ref} and {ref2} | of these, which is the most affordable
        is {ref} better than {ref2}? | which one is rated highest
        between the {name} and the {name2}, which has the better {attr}? | pros and cons of {ref} versus {ref2}?
        which is the best value here | put {ref} and {ref2} side by side for me | out of those, which costs less
        the {name} against the {name2}: thoughts? | which of them is highest rated | how do these stack up on {attr}
        is the {name} cheaper than the {name2}? | which is better quality, {ref} or {ref2}
        which one lasts longer | which is the better pick for me | which of the three would you buy
        the {name} vs the {name2}, go | how is {ref} different from {ref2}
        anything that sets {ref} apart from {ref2}?
        which is newer, {ref} or {ref2} | sort these from cheapest to priciest | which has the higher {attr}
        which one do people like more | tell me which is better value, {ref} or {ref2}
        """
    ),
    "release": _t(
        """
        I don't care about {attr} anymore | drop the {attr} requirement | {attr} isn't important after all
        never mind the price limit | forget about my budget | ignore what I said about {value}
        scrap the {brand} thing | remove the {attr} filter | it doesn't have to be {value} | I'm open on {attr} now
        budget's no longer an issue | remove the price cap please | no need for it to be {value} after all
        ok, {value} is optional | let's not limit it to {brand} | scratch the {value} part
        you can ignore the {attr} | price is no object now | disregard the {attr} I mentioned
        the {value} bit isn't essential | I'm happy with any brand now
        {attr} can be whatever | take off the budget limit | I'm no longer fussed about {value}
        lift the {attr} restriction | the brand can be anything | stop filtering by {attr}
        actually price doesn't matter that much anymore | {value} was just a nice-to-have, drop it
        unset the {attr} | broaden it, any {attr} | no {attr} preference anymore | go ahead and ignore my budget
        """
    ),
    "correct": _t(
        """
        no, I said {value} | I meant {value2}, not {value} | sorry, typo: {value2}
        that's wrong, I asked for {value} | not {value}, {value2} | you got the {attr} wrong, it should be {value}
        make it {value2} instead of {value} | I said under {money}, not {money2} | correction: {attr} {value2}
        no no, {value2} | you misheard me, {value} is what I want | these aren't {value}, I need {value}
        wait, I wrote {money} but meant {money2} | read again: {value} | wrong {attr}, I'm after {value}
        I asked for {brand}, these are not {brand} | my budget was {money}, not more
        not what I typed, I need {value2} | should have said {value2}, sorry
        that's {value}, I specifically said {value2} | let me correct that: {value2}
        oops, I meant {value2} | not quite, it's {value2} I want | {value}? no, {value2}
        no wait, {attr} {value2} | I think you misread, I need {value2} | change {value} to {value2} please
        wrong one, I said {value2} | I was clear: {value2}, not {value} | you put {value}, it's supposed to be {value2}
        fix the {attr}: {value2} | the budget is {money}, you showed me pricier stuff
        """
    ),
    "exclude": _t(
        """
        no {value} please | I hate {value} | I'm not into {value} | keep {brand} out of it
        {value} is off the table | steer clear of {value} | please skip anything {value} | exclude {brand}
        no more {brand} stuff | without {value} please | don't show me {value} ones | I can't stand {value}
        rule out {value} | {value} is a dealbreaker for me | leave out the {brand} ones
        not interested in {brand} at all | I react badly to {value}, so none of that | take {value} off the list
        ugh, no {brand} | I'd rather not have {value} | {brand} is banned for me
        no {value} ones please | never {brand} | anything {value} is out | cut the {value} ones
        don't want {brand} products | remove {brand} from the results | {value} doesn't work for me, skip it
        please no {value} | spare me the {value} stuff | filter out {value} | I'd like to avoid {brand}
        """
    ),
    "accept": _t(
        """
        I'll buy {ref} | {ref} is perfect, adding it to my cart | that's the one, I'll take it
        perfect, I'll order the {name} | let's do the {name} | sold on {ref} | ok I'm getting {ref}
        yes! {ref} please | I'll go with {ref} | checkout with {ref} please | put {ref} in my basket
        {ref} looks great, buying it | deal, I want {ref} | yep, that one. purchase it
        I'm convinced, give me {ref} | the {name} it is then | ordering {ref} now | love it, {ref} for me
        I'll have {ref}, thanks | book me the {name} | great, {ref} is exactly what I need, I'll get it
        add {ref} to cart | let's go for the {name} | I'm buying {ref} | sounds great, I'll get the {name}
        yes, {ref} is the winner | fine, I'll take {ref}
        """
    ),
    "reject": _t(
        """
        none of these work for me | nah, not feeling these | these all look wrong | I don't like any of them
        not what I had in mind | those are ugly | neither of those | meh, pass on these | those won't do
        nope, not these | not impressed with these options | I don't like the look of {ref}
        hmm, {ref} isn't for me | these are way off | no, I don't want {ref} | they all seem cheap looking
        not a single one of these appeals | honestly I dislike all of them | {ref}? no thanks
        those don't suit me at all | no, these miss the mark
        none of them, sorry | I'm not loving any of these | those look boring | nope, try again
        not these, they look terrible | all of these are a no | not convinced by any of them
        """
    ),
    "leave": _t(
        """
        that's all, thanks, bye | I'm done here | gotta go, thanks anyway | forget it, this isn't working
        I'll shop elsewhere | this is useless, goodbye | see you later | I'll come back another day
        never mind, I'm out | thanks for your help, have a good one | let me think it over, bye
        this is a waste of my time. bye | talk later | let me sleep on it, goodbye | I'm leaving, this is pointless
        cheers, I'm off | thanks but I'll look somewhere else | ok that's it for now, bye bye
        have to run, maybe later | done for today, thanks
        alright, bye now | I give up, bye | this isn't helping, I'm going | that's enough for today
        okay thank you, goodbye | catch you later | I'll pass, bye
        """
    ),
    "off_topic": _t(
        """
        what's the weather like today? | tell me a joke | who won the game yesterday | what's 15 times 4
        can you help me with my homework | what is the capital of france | write me a poem about cats
        what time is it in tokyo | how do I cook rice | can you book me a flight to rome | call my mom please
        recommend a good movie | are you a robot? | how old are you | translate good night into spanish
        what's the meaning of life | who is the president of brazil | can you order me a pizza | how far is the moon
        set an alarm for 7am | what should I name my dog
        how do I fix my wifi | what's the news today | sing me a song | who invented the telephone
        what's a good recipe for dinner | can you do my taxes | how tall is mount everest
        what's the score of the match | explain quantum physics | where's the nearest gas station
        """
    ),
    "greet": _t(
        """
        hey :D | hello there | hi, anyone around? | good evening | howdy | yo | hi :) | hey hey | mornin'
        hello, how are you? | hi again | hey, I'm back | greetings | hiya there | good afternoon! | hello hello
        heyy | hi, nice to meet you | hey, how's it going | sup | hullo
        hi there! | hey, good to see you | hello!! | well hello | hey, anybody home? | hi hi
        """
    ),
    "other_language": _t(
        """
        hola, busco {types} baratos | ich brauche {types}, maximal {price} Euro | je cherche des {types} pas chers
        cerco {types} economici | ¿tienen {types} en {value}? | wie viel kostet der {name}?
        combien coûte le {name} ? | quanto costa il {name}? | me llevo el segundo | ich nehme den ersten
        je prends le deuxième | prendo il primo, grazie | gracias, adiós | danke, tschüss | merci, au revoir
        buenas tardes, necesito ayuda | guten Tag, ich brauche Hilfe | bonjour, vous pouvez m'aider ?
        no me gustan estos | das gefällt mir nicht | estou procurando {types} até {price} reais
        ik zoek {types} onder {price} euro | hay algo más barato? | gibt es das auch in {value}?
        c'est trop cher pour moi | qual è il più economico? | quiero {types} de {brand}
        haben Sie etwas von {brand}?
        """
    ),
}
TEMPLATES["ask_products"] = [*OPENERS, *FOLLOW_UPS]
# questions that only shoppers of one category ask; shops with other categories get the generic ones only
CATEGORY_TEMPLATES: dict[str, dict[str, list[str]]] = {
    "apparel": {
        "ask_about_product": _t(
            """
            does {ref} shrink in the wash? | is {ref} true to size? | can {ref} go in the dryer?
            is the fabric on {ref} see-through? | will {ref} keep me warm in winter? | is {ref} itchy?
            does {ref} need ironing?
            """
        ),
        "ask_products": ["something to wear to my cousin's wedding", "I need an outfit for the office"],
    },
    "shoes": {
        "ask_about_product": _t(
            """
            are {ref} good for wide feet? | how's the arch support on {ref}? | do {ref} run small?
            can I wear {ref} in the rain? | are {ref} comfy for standing all day? | how grippy are the soles on {ref}?
            do {ref} need breaking in?
            """
        ),
        "ask_products": ["something for long walks with the dog", "shoes I can stand in all day at work"],
    },
    "home": {
        "ask_about_product": _t(
            """
            how heavy is {ref}? | does {ref} need assembly? | what are the dimensions of {ref}?
            is {ref} easy to clean? | will {ref} fit a small apartment? | is {ref} sturdy enough for kids?
            does {ref} come assembled?
            """
        ),
        "ask_products": ["furnishing my new flat and need {a_type}", "want to make my living room cosier"],
    },
    "electronics": {
        "ask_about_product": _t(
            """
            how long does the battery on {ref} last? | does {ref} support fast charging?
            can I pair {ref} with my iphone? | does {ref} get hot? | is {ref} good for gaming?
            does {ref} come with a charger? | how's the sound quality on {ref}?
            """
        ),
        "ask_products": ["something for video calls and streaming", "need a gadget for school work"],
    },
    "beauty": {
        "ask_about_product": _t(
            """
            is {ref} cruelty-free? | will {ref} break me out? | is {ref} ok for sensitive skin?
            how long does {ref} last on the skin? | does {ref} have fragrance in it? | is {ref} vegan?
            can I use {ref} every day?
            """
        ),
        "ask_products": ["something for my dry winter skin", "a nice present for my mom who loves skincare"],
    },
}

# assistant turns only set the context features (products shown, a question asked); their wording is not learned
_SHOW = ["Here are some {types}: {cards}. Any of these?", "I found {cards}.", "Take a look: {cards}. Want details?"]
_TEXT = {
    "answer": ["The {name} has that, yes.", "It is rated 4.2 and costs $59.", "Good question: it does."],
    "ask": ["What's your budget?", "Any preferences on {attr}?", "What will you use it for?"],
    "redirect": [
        "I can only help with shopping here. What are you looking for?",
        "Sorry, I can only reply in English.",
    ],
    "greet": ["Hi! What can I help you find today?", "Hello! Looking for anything in particular?"],
}
_ORDINALS = ["the first one", "the second one", "the third", "the 1st one", "the 2nd", "option 2", "number one"]
_PRONOUNS = ["it", "that one", "this one", "the last one", "the cheaper one", "the other one"]


@dataclass
class CategorySlots:
    """What a category's catalog offers the templates: per product type its products and attribute values."""

    category: str
    products: dict[str, list[Product]]  # type -> products with a price
    values: dict[str, dict[str, list[str]]]  # type -> attribute -> values
    brands: list[str] = field(default_factory=list)

    @classmethod
    def from_products(cls, products: list[Product]) -> CategorySlots:
        """Group a category's products by their `type` attribute (the category name when it has none)."""
        by_type: dict[str, list[Product]] = {}
        values: dict[str, dict[str, set[str]]] = {}
        for p in products:
            t = str(p.attributes.get("type") or p.category)
            by_type.setdefault(t, []).append(p)
            for k, v in p.attributes.items():
                if k != "type" and isinstance(v, (str, int, float)) and str(v) not in ("none", ""):
                    values.setdefault(t, {}).setdefault(k, set()).add(str(v))
        by_type = {t: ps for t, ps in by_type.items() if len(ps) >= 2}
        vals = {t: {k: sorted(v) for k, v in values.get(t, {}).items() if len(v) >= 2} for t in by_type}
        return cls(products[0].category, by_type, vals, sorted({p.brand for p in products if p.brand}))


def _money(rng: random.Random, x: float) -> str:
    x = int(round(x / (5 if x < 100 else 50 if x < 1000 else 100)) * (5 if x < 100 else 50 if x < 1000 else 100))
    x = max(x, 5)
    forms = [f"${x}", f"{x} dollars", f"{x} bucks", f"{x}", f"{x}usd", f"${x}.00"]
    if x >= 1000:
        forms += [f"{x / 1000:g}k", f"${x / 1000:g}k"]
    return rng.choice(forms)


def _name(p: Product, t: str) -> str:
    """The title less a trailing product type: "Voltiq X1 Laptop" -> "Voltiq X1"."""
    words, tw = p.title.split(), t.split()
    if len(words) > len(tw) and [w.lower() for w in words[-len(tw) :]] == [w.lower() for w in tw]:
        return " ".join(words[: -len(tw)])
    return p.title


def _ref(rng: random.Random, p: Product, t: str, attrs: dict[str, str]) -> str:
    kind = rng.random()
    if kind < 0.3:
        return rng.choice(_ORDINALS)
    if kind < 0.5:
        return rng.choice(_PRONOUNS)
    if kind < 0.75:
        return "the " + _name(p, t) + rng.choice(["", "", " one"])
    if kind < 0.85 and attrs:
        return f"the {rng.choice(list(attrs.values()))} one"
    if kind < 0.92 and p.brand:
        return f"the {p.brand} one"
    return "the " + p.title


_PREFIXES = ["hmm ", "ok ", "okay so ", "well, ", "right, ", "um ", "so ", "hey, ", "and ", "also, ", "listen, "]
_SUFFIXES = [" please", " thanks", " lol", " :)", "!", " pls", " thx", " ...", " tbh", " for now"]


def _noise(rng: random.Random, text: str) -> str:
    """Fillers, casing, dropped punctuation and the odd slip of the keyboard, as shoppers type."""
    if rng.random() < 0.25:
        text = rng.choice(_PREFIXES) + text
    if rng.random() < 0.2:
        text = text.rstrip(".!") + rng.choice(_SUFFIXES)
    r = rng.random()
    if r < 0.35:
        text = text.lower()
    elif r < 0.6:
        text = text[:1].upper() + text[1:]
    if rng.random() < 0.25:
        text = text.rstrip(".?!")
    if rng.random() < 0.1:
        words = text.split(" ")
        i = rng.randrange(len(words))
        if len(words[i]) > 4 and words[i].isalpha():
            j = rng.randrange(1, len(words[i]) - 1)
            words[i] = words[i][:j] + words[i][j + 1] + words[i][j] + words[i][j + 2 :]
        text = " ".join(words)
    return text


class _Writer:
    """Fills templates for one category and one split, all randomness from one `rng`."""

    def __init__(self, slots: CategorySlots, split: str, rng: random.Random):
        self.s, self.rng = slots, rng
        extra = CATEGORY_TEMPLATES.get(slots.category, {})
        keep = [i for i, s in enumerate(TEMPLATE_SPLIT) if s == split]
        self.templates = {
            k: [t for i, t in enumerate(v + extra.get(k, [])) if i % len(TEMPLATE_SPLIT) in keep]
            for k, v in TEMPLATES.items()
        }

    def slots(self, t: str, shown: list[Product]) -> dict[str, str]:
        rng, s = self.rng, self.s
        ps = s.products[t]
        attrs = s.values.get(t) or {"kind": [t, "other"]}
        attr = rng.choice(sorted(attrs))
        v1, v2 = rng.sample(attrs[attr], 2)
        prices = sorted(p.price for p in ps if p.price) or [50.0]
        lo = prices[rng.randrange(len(prices))]
        a, b = (shown + rng.sample(ps, 2))[:2] if len(shown) >= 2 else rng.sample(ps, 2)
        brand, brand2 = (rng.sample(s.brands, 2) if len(s.brands) >= 2 else ["Acme", "Zenith"])[:2]
        a_attrs = {k: str(v) for k, v in a.attributes.items() if k != "type"}
        many = plural(t)
        return {
            "type": t,
            "types": many,
            "a_type": (("some " if t == many else "an " if t[0] in "aeiou" else "a ") + t),
            "attr": attr,
            "value": v1,
            "value2": v2,
            "brand": brand,
            "brand2": brand2,
            "money": _money(rng, lo),
            "money2": _money(rng, lo * rng.uniform(1.3, 2.5)),
            "price": str(int(lo)),
            "name": _name(a, t),
            "name2": _name(b, t),
            "title": a.title,
            "ref": _ref(rng, a, t, a_attrs),
            "ref2": _ref(rng, b, t, {}),
        }

    def message(self, intent: str, t: str, shown: list[Product], first: bool) -> tuple[str, str]:
        """(text, template id) of a shopper turn with this intent."""
        rng = self.rng
        pool = self.templates[intent]
        if intent == "ask_products":  # a first request opens; a later one may follow up on what was shown
            pool = [p for p in pool if (p in OPENERS or p not in TEMPLATES["ask_products"]) or not first]
        template = rng.choice(pool)
        slots = self.slots(t, shown)
        text = template.format(**slots)
        if intent == "ask_products" and template in OPENERS:
            extra = [rng.choice(CLAUSES)] if rng.random() < 0.5 else []
            extra += [rng.choice(BUDGETS)] if rng.random() < 0.4 else []
            for c in rng.sample(extra, len(extra)):
                text += rng.choice([", ", " ", ". ", " - "]) + c.format(**slots)
        return _noise(rng, text), f"{intent}:{template}"

    def assistant(self, kind: str, t: str, shown: list[Product]) -> dict[str, Any]:
        slots = self.slots(t, shown)
        if kind == "show":
            cards = ", ".join(f"the {p.title} (${p.price:.2f})" for p in shown)
            text = self.rng.choice(_SHOW).format(types=plural(t), cards=cards)
            return {"role": "assistant", "content": text, "products": [p.id for p in shown]}
        return {"role": "assistant", "content": self.rng.choice(_TEXT[kind]).format(**slots), "products": []}


_REPLY = {  # how the assistant answers each intent: show products, answer in text, or ask a question
    "ask_products": "show",
    "release": "show",
    "correct": "show",
    "exclude": "show",
    "reject": "show",
    "ask_about_product": "answer",
    "compare": "answer",
    "off_topic": "redirect",
    "other_language": "redirect",
    "greet": "greet",
}
_MIDDLE = ["ask_about_product", "compare", "release", "correct", "exclude", "ask_products", "reject"]
_MIDDLE += ["off_topic", "greet", "other_language"]
_MIDDLE_WEIGHTS = [3, 3, 3, 3, 3, 1, 2, 1, 1, 1]


def generate_examples(slots: CategorySlots, n_dialogues: int, seed: int, split: str) -> list[dict[str, Any]]:
    """Generated dialogues of one category, one example per shopper turn.

    Args:
        slots: the category's catalog slots.
        n_dialogues: dialogues to write (each 3 to 9 shopper turns).
        seed: random seed (with the category and split, fixes the output).
        split: "train", "validation" or "test": which templates may write (see `TEMPLATE_SPLIT`).

    Returns:
        `{"category", "dialogue", "message", "history", "intent", "template"}` dicts; `history` holds the
        messages before the turn (`{"role", "content", "products"}`).
    """
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}, got {split!r}")
    rng = random.Random(f"{seed}:{slots.category}:{split}")
    w = _Writer(slots, split, rng)
    out: list[dict[str, Any]] = []
    for d in range(n_dialogues):
        t = rng.choice(sorted(slots.products))
        plan = [rng.choice(["greet", "off_topic", "other_language"])] if rng.random() < 0.35 else []
        plan.append("ask_products")
        plan += rng.choices(_MIDDLE, _MIDDLE_WEIGHTS, k=rng.randint(1, 5))
        plan.append(rng.choices(["accept", "leave", "reject"], [4, 3, 1])[0])
        history: list[dict[str, Any]] = []
        shown: list[Product] = []
        for i, intent in enumerate(plan):
            text, template = w.message(intent, t, shown, first=not shown)
            out.append(
                {
                    "category": slots.category,
                    "dialogue": f"{slots.category}-{split}-{seed}-{d:05d}",
                    "message": text,
                    "history": [dict(m) for m in history],
                    "intent": intent,
                    "template": template,
                }
            )
            history.append({"role": "user", "content": text, "products": []})
            kind = _REPLY.get(intent)
            if kind is None:  # accept / leave end the dialogue
                break
            if kind == "show" or (kind == "redirect" and not shown and rng.random() < 0.3):
                kind = "show"
                shown = rng.sample(slots.products[t], min(len(slots.products[t]), rng.randint(2, 4)))
            elif kind == "answer" and rng.random() < 0.2:
                kind = "ask"
            history.append(w.assistant(kind, t, shown))
        if len(out) and out[-1]["intent"] == "reject" and rng.random() < 0.5:
            text, template = w.message("leave", t, shown, first=False)
            row = dict(out[-1], message=text, intent="leave", template=template, history=[dict(m) for m in history])
            out.append(row)
    return out


# RecQuest domains -> the demo category a shop would file them under (bicycle has none: a new category)
RECQUEST_CATEGORIES = {
    "laptop": "electronics",
    "smartwatch": "electronics",
    "digital_camera": "electronics",
    "running_shoes": "shoes",
    "bicycle": "bicycle",
}
_SELECTED = re.compile(r"Selected item for recommendation: .*\(ID: ([^)]+)\)")


def _frame_pattern(frame: str) -> re.Pattern[str] | None:
    """A phrase-bank frame ("I need {a} {v}") as a regex matching the turns that start with it (a frame without
    slots: the same turn); None for frames of fewer than two fixed words around slots, which match anything."""
    parts = re.split(r"\{\w+\}", frame.lower())
    if len(parts) == 1:  # no slot: the turn itself
        return re.compile(r"\W*" + re.escape(frame.strip(" .!?")) + r"[\s.!?]*$", re.I)
    if sum(len(p.split()) for p in parts) < 2:
        return None
    return re.compile(r"\W*" + r".+".join(re.escape(p.strip()) for p in parts) + r"\W*", re.I)


def recquest_turns(root: str | Path, drop_frames: list[str] | tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """RecQuest's crowd shopper turns with their dialogue so far, weakly labelled by position where that is safe.

    Weak labels: every shopper turn before the assistant's first recommendation states or refines a need
    (`ask_products`), and the fixed "Yes, ..." answer to the study's "Are you sure you want to go with this
    recommendation?" is `accept`. The closing turn (the study asks the shopper to justify the choice) is dropped;
    every other turn is unlabeled (`intent` None).

    Args:
        root: the `recquest` folder (with `dialogues/*.json`).
        drop_frames: phrase frames to keep out (the simulated shopper's RecQuest phrase bank): a turn that starts
            with one is dropped, so no training text shares the simulator's phrasing.

    Returns:
        `{"category", "domain", "dialogue", "message", "history", "intent"}` dicts; `category` from
        `RECQUEST_CATEGORIES`.
    """
    patterns = [p for p in map(_frame_pattern, drop_frames) if p is not None]
    out: list[dict[str, Any]] = []
    for f in sorted(Path(root, "dialogues").glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        history: list[dict[str, Any]] = []
        pending: list[str] = []  # products selected since the last assistant message
        recommended = False
        for m in d.get("messages", []):
            role, text = m.get("role"), str(m.get("content") or "").strip()
            if role == "system":
                hit = _SELECTED.search(text)
                if hit:
                    pending.append(hit.group(1))
                continue
            if role == "ai":
                history.append({"role": "assistant", "content": text, "products": pending})
                recommended = recommended or bool(pending)
                pending = []
                continue
            if not text or (history and "explain" in history[-1]["content"] and "why" in history[-1]["content"]):
                continue
            asked = history and "Are you sure you want to go with" in history[-1]["content"]
            intent = "ask_products" if not recommended else "accept" if asked else None
            if any(p.match(text) for p in patterns):
                history.append({"role": "user", "content": text, "products": []})
                continue
            domain = str(d.get("domain"))
            row = {"category": RECQUEST_CATEGORIES.get(domain, domain), "domain": domain, "dialogue": f.stem}
            out.append(dict(row, message=text, history=[dict(h) for h in history], intent=intent))
            history.append({"role": "user", "content": text, "products": []})
    return out


def check_intents(rows: list[dict[str, Any]]) -> None:
    """Raise ValueError if a row's intent is not one of `INTENTS` (None is allowed: unlabeled)."""
    bad = {r["intent"] for r in rows if r["intent"] is not None and r["intent"] not in INTENTS}
    if bad:
        raise ValueError(f"unknown intents {sorted(bad)}; known: {', '.join(INTENTS)}")
