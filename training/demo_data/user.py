"""The simulated shopper's voice for the demo dialogues: many surface forms per intent, per-category
phrasings (from `vocab.py`), casual styling and occasional typos.

Used by `training/demo_data/dialogues.py` and `training/demo_data/flow.py`; data-free logic only.
"""

from __future__ import annotations

import math
import random
import re

from training.demo_data import vocab as V

GREETINGS = ["hi", "hello", "hey there", "hi!", "good morning", "hey", "hello, can you help me?", "hiya"]
BUDGET_MAX = [
    "under ${m}",
    "no more than {m} dollars",
    "my budget is about ${m}",
    "I can spend up to ${m}",
    "less than {m} bucks",
    "max ${m}",
    "${m} tops",
    "budget ${m}",
    "nothing over ${m}",
    "ideally below ${m}",
]
BUDGET_RANGE = [
    "between ${lo} and ${hi}",
    "in the ${lo}-${hi} range",
    "somewhere from {lo} to {hi} dollars",
    "at least ${lo} but under ${hi}",
]
NO_BUDGET = [
    "no fixed budget",
    "price doesn't matter much",
    "I'm flexible on price",
    "not sure about budget, whatever is reasonable",
]
NO_PREF = [
    "no preference on {l}",
    "I don't mind the {l}",
    "{l} doesn't matter",
    "any {l} is fine",
    "not fussy about {l}",
]
BRAND_WANT = ["I like {b}", "ideally from {b}", "{b} if you have it", "I trust {b}", "only {b} please"]
BRAND_AVOID = ["not {b} though", "anything but {b}", "I had a bad experience with {b}, so not them", "no {b} please"]
ATTR_AVOID = ["not {v}", "anything except {v}", "I don't want {v}", "nothing {v} please"]
CHEAPER = [
    "those are a bit pricey, anything under ${m}?",
    "can you find something cheaper, like under ${m}?",
    "too expensive for me. max ${m}",
    "hmm, I'd rather stay below ${m}",
]
ADD_LATER = ["oh, and {c}", "actually, {c}", "one more thing: {c}", "forgot to say, {c}", "also {c}"]
QUESTION_PRICE = ["how much is {ref}?", "what does {ref} cost?", "price of {ref}?"]
QUESTION_BRAND = ["who makes {ref}?", "what brand is {ref}?"]
YES_NO = ["is {ref} {v}?", "does {ref} have {l} {v}?", "{ref} is {v}, right?", "can you confirm {ref} is {v}?"]
COMPARE = [
    "what's the difference between {a} and {b}?",
    "which is better, {a} or {b}?",
    "compare {a} and {b} for me",
    "{a} vs {b}?",
    "how do {a} and {b} differ?",
]
COMPARE_PRICE = ["{a} or {b}, which one is less money?", "is {a} cheaper than {b}?", "{a} or {b}, which costs less?"]
# what "more" means per ordered attribute, as a shopper asks it
COMPARE_MORE = {
    "battery life": "lasts longer",
    "storage": "holds more",
    "memory": "has more ram",
    "screen size": "has the bigger screen",
    "seats": "seats more",
    "shelves": "has more shelves",
    "volume": "gives me more product",
    "spf": "protects more",
}
COMPARE_ON_MORE = ["which {m}, {a} or {b}?", "between {a} and {b}, which one {m}?", "{a} vs {b}: which {m}?"]
COMPARE_ON = ["what {l} do {a} and {b} each have?", "{a} vs {b} on {l}?", "tell me the {l} of {a} and {b}"]
PICK = [
    "I'll take {ref}",
    "{ref} it is",
    "ok let's go with {ref}",
    "sold! {ref} please",
    "I'll order {ref}",
    "great, I'll get {ref}",
    "going with {ref}, thanks",
]
NO_BUY = [
    "I'll think about it, thanks",
    "not sure yet, I'll come back later",
    "thanks, I'll keep looking",
    "none of these are quite right, I'll pass for now",
]
ACCEPT_RELAX = [
    "ok, that works",
    "fine, I can live with that",
    "sure, show me",
    "alright, that's ok",
    "hmm ok, that's acceptable",
]
# Light paraphrases applied to user turns (word-bounded, case-insensitive); never touch values or titles.
PARAPHRASE = {
    "looking for": ["searching for", "hunting for", "on the lookout for", "trying to find"],
    "i need": ["i really need", "i gotta get", "i require"],
    "i want": ["i'd love", "i wanna", "i would like"],
    "please": ["pls", "plz", "if possible"],
    "can you": ["could you", "would you"],
    "thanks": ["thx", "thank you", "ty"],
    "great": ["awesome", "nice", "cool"],
    "i'll take": ["i'll grab", "i'll go for"],
    "actually": ["wait", "hmm actually", "oh"],
    "ok": ["okay", "alright", "k"],
    "something": ["smth", "an item"],
    "my budget is": ["budget-wise i'm at", "i'm budgeting"],
}
_PARA_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(PARAPHRASE, key=len, reverse=True)) + r")\b", re.I
)

# attributes whose values read as adjectives ("is it navy?"); others are asked as "does it have <label> <v>?"
ADJECTIVAL = frozenset({"color", "material", "fit", "style", "finish", "shape", "width", "scent", "light control"})
ORDINALS = ["the first one", "the second one", "the third one"]


def nice_ceil(x: float) -> int:
    """Round a price up to a number a shopper would say (5, 10, 50 or 100 steps)."""
    step = 5 if x < 50 else 10 if x < 200 else 50 if x < 1000 else 100
    return int(math.ceil(x / step) * step)


def nice_floor(x: float) -> int:
    """Round a price down to a number a shopper would say."""
    step = 5 if x < 50 else 10 if x < 200 else 50 if x < 1000 else 100
    return int(math.floor(x / step) * step)


class UserVoice:
    """Phrases user turns for one category, drawing all randomness from `rng`."""

    def __init__(self, category: str, rng: random.Random):
        self.spec = V.CATEGORIES[category]
        self.rng = rng

    def label(self, attr: str) -> str:
        return self.spec["labels"].get(attr, attr)

    def type_np(self, t: str) -> str:
        plural = self.spec["types"][t].get("plural", False)
        if plural:
            return self.rng.choice(
                ["some " + t, t, "new " + t]
                + (
                    ["a pair of " + t]
                    if "shoe" in t
                    or "boot" in t
                    or t in ("jeans", "shorts", "sandals", "sneakers", "loafers", "slippers", "headphones")
                    else []
                )
            )
        return ("an " if t[0] in "aeiou" else "a ") + self.rng.choice(["", "", "new ", "good "]) + t

    def need(self, attr: str, value: str) -> str:
        """A clause stating a wanted attribute value, sometimes only implied (category-specific)."""
        ind = self.spec["indirect"].get(attr, {}).get(value)
        if ind and self.rng.random() < 0.45:
            return self.rng.choice(ind)
        return self.rng.choice(self.spec["say"].get(attr, ["{v}"])).format(v=value)

    def budget(self, lo: float | None, hi: float | None) -> str:
        if lo is not None and hi is not None:
            return self.rng.choice(BUDGET_RANGE).format(lo=int(lo), hi=int(hi))
        return self.rng.choice(BUDGET_MAX).format(m=int(hi))

    def no_budget(self) -> str:
        return self.rng.choice(NO_BUDGET)

    def no_pref(self, attr: str) -> str:
        return self.rng.choice(NO_PREF).format(l=self.label(attr))

    def brand(self, b: str) -> str:
        return self.rng.choice(BRAND_WANT).format(b=b)

    def avoid_brand(self, b: str) -> str:
        return self.rng.choice(BRAND_AVOID).format(b=b)

    def avoid_attr(self, attr: str, v: str) -> str:
        return self.rng.choice(ATTR_AVOID).format(v=v)

    def opener(self, t: str) -> str:
        return self.rng.choice(self.spec["openers"]).format(t=self.type_np(t), T=t)

    def join(self, clauses: list[str]) -> str:
        """Clauses into one casual message."""
        clauses = [c for c in clauses if c]
        if not clauses:
            return self.rng.choice(["not sure", "hmm"])
        if len(clauses) == 1:
            text = clauses[0]
        else:
            glue = self.rng.choice([", ", ". ", ", and ", "; ", " - "])
            text = clauses[0] + "".join(
                (glue if i < len(clauses) - 1 else self.rng.choice([glue, " and ", ", "])) + c
                for i, c in enumerate(clauses[1:], start=1)
            )
        if self.rng.random() < 0.2:
            text += (
                ("" if text[-1:] in ".!?" else self.rng.choice([".", ",", "!"]))
                + " "
                + self.rng.choice(self.spec["context"])
            )
        return self.style(text)

    def style(self, text: str) -> str:
        """Casing, punctuation and an occasional typo."""
        r = self.rng.random()
        if r < 0.35:
            text = text[:1].upper() + text[1:]
        elif r < 0.5:
            text = text.lower()
        if self.rng.random() < 0.3 and text[-1:] not in ".?!":
            text += self.rng.choice([".", "!", "?" if text.split()[0].lower() in ("do", "can", "is", "any") else "."])
        if self.rng.random() < 0.3:
            text = _PARA_RE.sub(lambda m: self.rng.choice(PARAPHRASE[m.group(1).lower()]), text, count=2)
        if self.rng.random() < 0.18:
            text = typo(text, self.rng)
        return text

    def ref(self, p_title: str, pos: int, n: int, brand_unique: str | None) -> str:
        """How the shopper points at a shown product: title, ordinal, brand or a pronoun."""
        opts = (
            ["title", "title", "lower"]
            + (["ord"] if n > 1 and pos < 3 else ["it"])
            + (["brand"] if brand_unique else [])
        )
        kind = self.rng.choice(opts)
        if kind == "title":
            return "the " + p_title
        if kind == "lower":
            return p_title.lower()
        if kind == "ord":
            return ORDINALS[pos] if not (pos == n - 1 and self.rng.random() < 0.4) else "the last one"
        if kind == "brand":
            return f"the {brand_unique} one"
        return "it"

    def pick(self, ref: str) -> str:
        forms = PICK if self.rng.random() < 0.5 else self.spec.get("picks", PICK)
        return self.style(self.rng.choice(forms).format(ref=ref))

    def question(self, field: str, ref: str, guess: str | None) -> str:
        if field == "price":
            return self.style(self.rng.choice(QUESTION_PRICE).format(ref=ref))
        if field == "brand":
            return self.style(self.rng.choice(QUESTION_BRAND).format(ref=ref))
        if guess is not None:
            forms = YES_NO if field in ADJECTIVAL else [f for f in YES_NO if "{l}" in f]
            return self.style(self.rng.choice(forms).format(ref=ref, v=guess, l=self.label(field)))
        return self.style(
            self.rng.choice(self.spec["ask"].get(field, ["what's the {l} of {ref}?"])).format(
                ref=ref, l=self.label(field)
            )
        )

    def compare(self, a: str, b: str, field: str | None = None) -> str:
        if field is None:
            forms = COMPARE
        elif field == "price":
            forms = COMPARE_PRICE
        elif field in COMPARE_MORE:
            forms = [f.replace("{m}", COMPARE_MORE[field]) for f in COMPARE_ON_MORE]
        else:
            forms = COMPARE_ON
        return self.style(self.rng.choice(forms).format(a=a, b=b, l=self.label(field or "")))

    def pick_phrase(self, kind: str, **kw) -> str:
        table = {"greet": GREETINGS, "no_buy": NO_BUY, "accept": ACCEPT_RELAX, "cheaper": CHEAPER, "later": ADD_LATER}
        return self.style(self.rng.choice(table[kind]).format(**kw))


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip in a word of 4+ letters: swapped, dropped or doubled letter."""
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not idx:
        return text
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.random()
    if kind < 0.4:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif kind < 0.7:
        w = w[:j] + w[j + 1 :]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)
