"""How the demo assistant words things: attribute values in a sentence, and the templates of each act.

People say "it comes in navy", "made of linen", "40 hours on a charge", "for dry skin", never "color navy" or
"material: linen". Each catalog attribute has modifier forms (after a product name: "the X, made of linen")
and predicate forms (after a subject: "it is made of linen"); both keep the catalog value verbatim, so every
fact the assistant states can be checked against the catalog. Predicates agree with the subject through
`{be}` / `{have}` / `{s}` (singular "is / has / -s", plural "are / have / -"), because some product types are
plural ("jeans", "headphones", "curtains").

Nothing here names a category: the trained adapter is reused in other shops, so generic questions say "it",
the product type, or nothing. Read by `dialogues.py`; all choices are drawn with the caller's `rng`.
"""

from __future__ import annotations

import random
import re

# what a use / occasion / activity / room value is "for", as people say it ("for the office", "for workouts")
PURPOSE = {
    "office": "the office",
    "wedding": "a wedding",
    "party": "a party",
    "casual": "casual wear",
    "everyday": "everyday wear",
    "outdoor": "the outdoors",
    "workout": "workouts",
    "formal": "formal occasions",
    "home": "use at home",
    "beach": "the beach",
}

# attribute -> (modifier forms, predicate forms); `{v}` the catalog value, `{P}` its PURPOSE phrase
FORMS: dict[str, tuple[list[str], list[str]]] = {
    "color": (["in {v}"], ["come{s} in {v}", "{be} {v}"]),
    "material": (["made of {v}", "in {v}"], ["{be} made of {v}", "{be} made from {v}"]),
    "fit": (["with a {v} fit", "in a {v} fit"], ["{have} a {v} fit", "{be} cut with a {v} fit"]),
    "occasion": (["made for {P}", "good for {P}"], ["{be} made for {P}", "work{s} well for {P}"]),
    "width": (["in a {v} width"], ["come{s} in a {v} width"]),
    "cushioning": (["with {v} cushioning"], ["{have} {v} cushioning"]),
    "activity": (["built for {P}", "made for {P}"], ["{be} built for {P}", "{be} made for {P}"]),
    "style": (["in a {v} style", "with a {v} look"], ["{have} a {v} look", "{be} done in a {v} style"]),
    "room": (["for the {v}"], ["{be} meant for the {v}", "suit{s} the {v}"]),
    "seats": (["with {v}"], ["{have} {v}"]),
    "lumbar support": (["with {v} lumbar support"], ["{have} {v} lumbar support"]),
    "shelves": (["with {v}"], ["{have} {v}"]),
    "light control": (["in a {v} fabric"], ["{be} {v}", "{be} made in a {v} fabric"]),
    "shape": (["with a {v} top", "in a {v} shape"], ["{be} {v}", "{have} a {v} shape"]),
    "screen size": (["with a {v} screen"], ["{have} a {v} screen"]),
    "storage": (["with {v} of storage"], ["{have} {v} of storage", "come{s} with {v} of storage"]),
    "memory": (["with {v}"], ["{have} {v}", "come{s} with {v}"]),
    "battery life": (
        ["with {v} of battery", "lasting {v} on a charge"],
        ["last{s} {v} on a charge", "run{s} for {v} per charge", "{have} {v} of battery life"],
    ),
    "connectivity": (["with {v}"], ["{have} {v}", "support{s} {v}"]),
    "use": (["good for {P}", "made for {P}"], ["{be} made for {P}", "{be} a good pick for {P}"]),
    "noise cancelling": (["with {v} noise cancelling"], ["{have} {v} noise cancelling"]),
    "water resistance": (["rated {v} for water"], ["{be} rated {v} for water", "{have} an {v} rating"]),
    "skin type": (["for {v} skin"], ["{be} made for {v} skin", "suit{s} {v} skin"]),
    "finish": (["with a {v} finish"], ["{have} a {v} finish", "give{s} a {v} finish"]),
    "concern": (["for {v}", "aimed at {v}"], ["{be} aimed at {v}", "target{s} {v}"]),
    "volume": (["in a {v} bottle"], ["come{s} in a {v} bottle", "hold{s} {v}"]),
    "shade": (["in the shade {v}", "in {v}"], ["come{s} in {v}", "{be} the shade {v}"]),
    "spf": (["with {v}"], ["{have} {v}", "{be} {v}"]),
    "scent": (["with a {v} scent"], ["{have} a {v} scent", "smell{s} {v}"]),
    "intensity": (["as an {v}"], ["{be} an {v}"]),
    "hair type": (["for {v} hair"], ["{be} made for {v} hair", "suit{s} {v} hair"]),
}
# values that read badly in the attribute's usual forms
VALUE_FORMS: dict[str, tuple[list[str], list[str]]] = {
    "none": (["with no {l} (none at all)"], ["{have} no {l} (none at all)"]),
    "upholstered": (["upholstered"], ["{be} upholstered"]),
    "wired": (["wired"], ["{be} wired"]),
    "unscented": (["unscented"], ["{be} unscented"]),
    "LED included": (["with the LED included"], ["come{s} with the LED included"]),
    "E26 bulb not included": (["(E26 bulb not included)"], ["take{s} a standard bulb (E26 bulb not included)"]),
}


def _size_forms(value: str) -> tuple[list[str], list[str]]:
    if re.match(r"\d+x\d+", value):  # rugs: "8x10 ft"
        return ["measuring {v}"], ["measure{s} {v}", "{be} {v}"]
    if value.startswith("US "):  # shoes
        return ["in a {v}", "in {v}"], ["come{s} in {v}", "{be} available in {v}"]
    if value in ("twin", "full", "queen", "king"):  # beds
        return ["in {v} size"], ["{be} {v} size", "come{s} in {v} size"]
    return ["in size {v}"], ["come{s} in size {v}", "{be} available in size {v}"]


def _forms(attr: str, value: str) -> tuple[list[str], list[str]]:
    if value in VALUE_FORMS:
        return VALUE_FORMS[value]
    if attr == "size":
        return _size_forms(value)
    return FORMS.get(attr, (["with {l} {v}"], ["{have} {l} {v}"]))


def agree(template: str, plural: bool) -> str:
    """Fill the verb slots of a predicate for a singular or plural subject."""
    if plural:
        return template.replace("{be}", "are").replace("{have}", "have").replace("{s}", "")
    return template.replace("{be}", "is").replace("{have}", "has").replace("{s}", "s")


def modifier(rng: random.Random, attr: str, value: str, label: str) -> str:
    """`material`, `linen` -> "made of linen": a phrase that follows a product's name."""
    return rng.choice(_forms(attr, value)[0]).format(v=value, l=label, P=PURPOSE.get(value, value))


def predicate(rng: random.Random, attr: str, value: str, label: str, plural: bool) -> str:
    """`material`, `linen` -> "is made of linen": a verb phrase for the subject "it" / "they" / a title."""
    return agree(rng.choice(_forms(attr, value)[1]), plural).format(v=value, l=label, P=PURPOSE.get(value, value))


def join(parts: list[str]) -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def dollars(x: float) -> str:
    """A budget as a shopper says it: 80.0 -> "$80" (prices of products are always `$49.99`)."""
    return f"${x:.0f}" if float(x).is_integer() else f"${x:.2f}"


# attributes where more wins, how the winner is said, and how a shopper asks
MORE_WINS = {
    "battery life": "last{s} longer",
    "storage": "{have} more storage",
    "memory": "{have} more memory",
    "screen size": "{have} the bigger screen",
    "seats": "seat{s} more people",
    "shelves": "{have} more shelves",
    "volume": "{be} the bigger size",
    "spf": "{have} the higher SPF",
}


def amount(value: str) -> float | None:
    """The number in an ordered value ("1 TB" -> 1024 GB, "SPF 50" -> 50, "40 hours" -> 40)."""
    m = re.search(r"\d+(?:\.\d+)?", value)
    if not m:
        return None
    return float(m.group()) * (1024 if value.endswith(" TB") else 1)


GREET = [
    "Hi! What are you shopping for today?",
    "Hello! What can I help you find?",
    "Hey there! Tell me what you're after and I'll pull up a few good options.",
    "Welcome! Looking for anything in particular?",
    "Hi, thanks for stopping by. What do you have in mind?",
    "Hello! I can search the shop for you. What do you need?",
    "Hi there! Tell me a bit about what you want.",
    "Good to see you! What brings you in today?",
    "Hi! What can I find for you?",
    "Hello, happy to help. What are you after?",
]
ELICIT_LEAD = [
    "Happy to help.",
    "Sure!",
    "Let's narrow it down.",
    "Got it.",
    "I can help with that.",
    "Sounds good.",
    "Okay!",
    "Thanks, that helps.",
    "Great.",
    "",
]
ELICIT_BUDGET = [
    "What's your budget?",
    "Do you have a price range in mind?",
    "How much would you like to spend?",
    "Is there a budget I should stay under?",
    "Roughly what price range works for you?",
    "What's the most you'd want to pay?",
]
ELICIT_TYPE = [
    "What are you looking for exactly?",
    "What sort of thing do you need?",
    "What should I look for?",
    "Is there a particular item you need?",
    "What did you have in mind?",
]
ELICIT_ATTR = [
    "Any {l} in mind?",
    "What {l} would you like?",
    "Do you have any {l} in mind for the {t}?",
    "Any particular {l} you prefer?",
    "Which {l} works for you?",
]
ELICIT_OWN = {
    "color": ["Any color you'd like?", "What color should the {t} be?"],
    "size": ["What size do you need?", "Which size should I look for?"],
    "occasion": ["What's the occasion?", "Where will you wear it?"],
    "activity": ["What will you mostly wear them for?", "Where will you wear them most?"],
    "width": ["Do your feet need a particular width?"],
    "use": ["What will you mainly use it for?"],
    "room": ["Which room is it for?"],
    "skin type": ["What's your skin type?"],
    "hair type": ["What's your hair type?"],
    "concern": ["What would you like it to help with?"],
    "battery life": ["How much battery life do you need?"],
    "storage": ["How much storage do you need?"],
}
FIRST = [  # the first recommended product; the reason follows
    "I'd go with the {T} at {P}",
    "The {T} ({P}) {be} a good fit",
    "My pick is the {T} for {P}",
    "Have a look at the {T} for {P}",
    "The {T} at {P} look{s} right",
    "I'd suggest the {T} ({P})",
    "The best match is the {T} at {P}",
    "Try the {T} at {P}",
]
NEXT = [  # a second or third product; `{R}` a predicate, `{M}` a modifier, `{it}` the subject pronoun
    "The {T} ({P}) {be} another good option: {it} {R}.",
    "There's also the {T} at {P}, {M}.",
    "Or the {T} for {P}, which {R}.",
    "The {T} at {P} work{s} too; {it} {R}.",
    "If you'd like a second option, the {T} ({P}) {R}.",
    "Another one: the {T}, {P}, {M}.",
]
THIRD = ["And the {T} ({P}) {R}.", "A third option is the {T} at {P}, {M}.", "Last, the {T} for {P}: {it} {R}."]
LEAD_MANY = ["", "", "A few {t} fit what you asked for.", "I found {n} {t} that match.", "Good news, {n} {t} fit."]
LEAD_ONE = ["", "", "", "One stands out.", "Here's the one I'd pick."]
TAIL_MANY = ["", "", " Want more detail on any of them?", " Should I compare them?", " Any of these catch your eye?"]
TAIL_ONE = ["", "", " Want to know more about {obj}?", " Any questions about {obj}?"]
CLOSE = [
    "Great choice: the {T} at {P}. Enjoy it!",
    "The {T} for {P}, good pick. Thanks for shopping with us!",
    "Good pick. The {T} comes to {P}; anything else I can help with?",
    "Done: the {T}, {P}. Enjoy!",
    "Lovely, the {T} ({P}) is a great pick. Have a good day!",
    "Nice one. The {T} at {P} is a solid choice.",
    "You've picked the {T} at {P}. Happy shopping!",
    "Perfect, the {T} for {P}. Let me know if you need anything else.",
    "Great, go for the {T} at {P}.",
    "The {T}, {P}: a good choice. Enjoy!",
]
CLOSE_NONE = [
    "No problem, take your time. I'm here if you want to look again.",
    "Sure, feel free to come back anytime.",
    "Of course. Let me know if you'd like more options later.",
    "Understood. Happy to help again whenever you're ready.",
    "No worries! Good luck with your search.",
    "That's fine. Come back whenever you like.",
]
CLOSEST = [  # the first product of a relax turn, after what did not fit
    "the closest is the {T} at {P}",
    "the nearest match is the {T} ({P})",
    "the closest I have is the {T} ({P})",
]
