"""What the simulated shopper says: phrase templates per purpose (English, and a few shoppers who write Spanish
or German), budgets as people write them, per-shopper variation, and the phrase bank mined from real shopper
turns (`recquest_phrases.json`, written by `python -m assistant.simulation.phrasebank`).

    bank = templates("es")                     # family -> templates, the language's over the English ones
    casual_budget(1500, "USD", rng)            # "1.5k max", "max 1500 bucks", "about 1500 to spend", ...

The templates were written for the simulator, not taken from the assistant's or the demo generator's phrasing
(`tests/assistant/test_simulation.py` fails when a template, or any three-word piece of one, appears in their
word lists); the mined phrases were filtered the same way when the bank was written.
"""

from __future__ import annotations

import json
import random
from functools import cache
from pathlib import Path
from typing import Any

from assistant.simulation.goals import CURRENCY_SIGNS

BANK_PATH = Path(__file__).with_name("recquest_phrases.json")
LANGUAGES = ("es", "de")  # the other languages a few shoppers write in

TEMPLATES: dict[str, list[str]] = {
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
    "no_brand": ["skip {v}", "{v} is a no-go", "nothing from {v}", "avoid {v}", "anything but {v}, thanks"],
    "no_value": ["skip {v}", "{v} is a no-go", "nothing {v}", "avoid {v}", "anything but {v}, thanks"],
    "no_pref": ["{n} is up to you", "whatever {n}", "{n}: no strong feelings", "{n} isn't important"],
    "no_pref_brand": ["whatever brand", "the brand is up to you", "brand isn't important"],
    "restate": ["as I wrote, {x}", "said it already: {x}", "once more, {x}", "repeating myself: {x}"],
    "reject_stated": [
        "nope, that misses {x}",
        "not it, remember {x}",
        "that ignores what I wrote: {x}",
        "wrong one, {x}",
    ],
    "reject_hidden": ["mm, forgot to mention: {x}", "close, but {x}", "doesn't suit me, {x}", "oh, also {x}"],
    "over_budget": ["too pricey, {p} max", "over {p}, sorry", "beyond my {p} limit"],
    "accept": [
        "lovely, ordering the {t}",
        "the {t} works, I'm buying it",
        "done, the {t} goes in my cart",
        "yes, the {t}! buying it",
        "the {t}, adding to basket",
    ],
    "leave": ["ok, I'll try somewhere else", "not finding it here, bye", "giving up for today", "no luck, so long"],
    "frustrated": [
        "this is going nowhere, bye",
        "you keep missing what I said. done here",
        "forget it, this isn't helping",
        "ugh, I give up",
    ],
    "goodbye": [
        "thanks, I'll think it over. bye!",
        "good to know, I'll sleep on it",
        "ok thanks, maybe later. bye",
        "cheers, maybe another day",
    ],
    "nudge": ["show me a few?", "what's on offer?", "got anything?", "ideas?"],
    "ask_attr": ["which {n} has the {t}?", "the {t}: what {n}?", "{t} - {n}?", "and the {t}, which {n} is it?"],
    "ask_flag": ["the {t}, {n} or not?", "would the {t} be {n}?", "{n}, the {t}?"],
    "ask_attr_it": ["what {n} is it?", "and its {n}?", "what's its {n}?", "which {n} does it come in?"],
    "ask_flag_it": ["is it {n}?", "{n}, is it?", "would it be {n}?"],
    "ask_price": ["what does the {t} cost?", "the {t} costs what?", "price of the {t}?"],
    "ask_price_it": ["what does it cost?", "price on it?", "and it costs?"],
    "compare": [
        "{a} or {b}, how do they differ?",
        "torn between {a} and {b}, differences?",
        "{a} versus {b}?",
        "how does the {a} stack up against the {b}?",
    ],
    "compare_price": ["{a} or {b}: which one costs less?", "which is cheaper, {a} or {b}?", "{a} vs {b}, price-wise?"],
    "compare_number": ["{a} or {b}: which has more {n}?", "higher {n}: {a} or {b}?", "{n}: {a} or {b}?"],
    "compare_value": ["{a} or {b}: what {n} is each?", "how do {a} and {b} differ in {n}?", "{n} of {a} vs {b}?"],
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
        "actually the {n} is irrelevant",
    ],
    "correct": ["no wait, not {old}, {new}", "sorry, I meant {new}, not {old}", "correction: {new} rather than {old}"],
    "greet": ["hello!", "hey!", "heya,", "morning!"],
    "filler_end": ["cheers", "thx", "much appreciated", "it's a present", "ta"],
    # a free-text shop's target described in the catalog's words (last: the families above keep their draws)
    "describe": ["something with {v}", "{v} would be ideal", "must have {v}", "ideally {v}", "{v}, that's key"],
}

# The families a shopper who writes another language uses; values, titles and brands stay the catalog's.
FOREIGN: dict[str, dict[str, list[str]]] = {
    "es": {
        "open_kind": ["hola, busco {v}", "buenas, quiero comprar {v}", "hola, me hace falta {v}"],
        "open_kind_terse": ["busco {v}", "{v}, por favor"],
        "open_cat": ["hola, busco algo de {c}", "buenas, necesito ayuda con {c}"],
        "open_cat_terse": ["algo de {c}", "{c}, por favor"],
        "attr_label": ["{n}: {v}", "que el {n} sea {v}", "con {n} {v}"],
        "attr_plain": ["{v}, por favor", "mejor {v}", "que sea {v}"],
        "flag": ["tiene que ser {n}", "solo {n}"],
        "describe": ["algo con {v}", "que sea {v}"],
        "budget": ["como mucho {p}", "no más de {p}", "mi presupuesto es {p}"],
        "no_brand": ["nada de {v}", "cualquier cosa menos {v}"],
        "no_value": ["nada {v}", "cualquier cosa menos {v}"],
        "no_pref": ["el {n} me da igual", "cualquier {n} vale"],
        "no_pref_brand": ["la marca me da igual"],
        "restate": ["ya lo dije: {x}", "repito, {x}"],
        "reject_stated": ["no, eso no es {x}", "no me sirve, {x}"],
        "reject_hidden": ["casi, pero {x}", "se me olvidó: {x}"],
        "over_budget": ["demasiado caro, como mucho {p}", "se pasa de {p}"],
        "accept": ["perfecto, me llevo el {t}", "vale, compro el {t}"],
        "leave": ["bueno, lo busco en otra parte", "no hay suerte, adiós"],
        "frustrated": ["esto no funciona, adiós", "no me entiendes, me voy"],
        "goodbye": ["gracias, lo pienso y vuelvo. adiós", "vale, gracias, hasta luego"],
        "nudge": ["¿qué tienes?", "¿alguna idea?"],
        "ask_attr": ["¿qué {n} tiene el {t}?", "el {t}, ¿de qué {n} es?"],
        "ask_flag": ["¿el {t} es {n}?"],
        "ask_attr_it": ["¿y qué {n} tiene?", "¿de qué {n} es?"],
        "ask_flag_it": ["¿es {n}?"],
        "ask_price": ["¿cuánto cuesta el {t}?"],
        "ask_price_it": ["¿cuánto cuesta?"],
        "compare": ["¿{a} o {b}? ¿en qué se diferencian?"],
        "compare_price": ["¿cuál es más barato, {a} o {b}?"],
        "compare_number": ["¿cuál tiene más {n}, {a} o {b}?"],
        "compare_value": ["¿qué {n} tiene cada uno, {a} y {b}?"],
        "off_topic": ["¿va a llover mañana?", "¿me cuentas un chiste?"],
        "release": ["pensándolo bien, el {n} me da igual"],
        "correct": ["perdón, no {old}, sino {new}"],
        "greet": ["¡hola!"],
        "filler_end": ["gracias"],
    },
    "de": {
        "open_kind": ["hallo, ich suche {v}", "guten Tag, ich brauche {v}", "hallo, gibt es bei euch {v}?"],
        "open_kind_terse": ["suche {v}", "{v} bitte"],
        "open_cat": ["hallo, ich suche etwas aus {c}", "hallo, brauche Hilfe bei {c}"],
        "open_cat_terse": ["etwas aus {c}", "{c} bitte"],
        "attr_label": ["{n}: {v}", "{n} soll {v} sein", "mit {n} {v}"],
        "attr_plain": ["{v} bitte", "am liebsten {v}", "gern {v}"],
        "flag": ["muss {n} sein", "nur {n}"],
        "describe": ["etwas mit {v}", "am besten {v}"],
        "budget": ["höchstens {p}", "nicht mehr als {p}", "mein Budget ist {p}"],
        "no_brand": ["bloß nichts von {v}", "alles außer {v}"],
        "no_value": ["bitte nicht {v}", "alles außer {v}"],
        "no_pref": ["{n} ist mir egal", "jede {n} geht"],
        "no_pref_brand": ["die Marke ist mir egal"],
        "restate": ["wie gesagt: {x}", "nochmal: {x}"],
        "reject_stated": ["nein, das passt nicht: {x}", "falsch, {x}"],
        "reject_hidden": ["fast, aber {x}", "ach ja, noch: {x}"],
        "over_budget": ["zu teuer, höchstens {p}", "über {p}, leider"],
        "accept": ["super, ich nehme den {t}", "gut, ich kaufe den {t}"],
        "leave": ["na gut, ich schaue woanders", "kein Glück, tschüss"],
        "frustrated": ["das bringt nichts, tschüss", "du verstehst mich nicht, ich gehe"],
        "goodbye": ["danke, ich überlege es mir. tschüss", "okay danke, bis später"],
        "nudge": ["was habt ihr da?", "irgendwelche Ideen?"],
        "ask_attr": ["welche {n} hat der {t}?", "der {t}: welche {n}?"],
        "ask_flag": ["ist der {t} {n}?"],
        "ask_attr_it": ["und welche {n} hat er?", "welche {n} hat es?"],
        "ask_flag_it": ["ist er {n}?"],
        "ask_price": ["was kostet der {t}?"],
        "ask_price_it": ["was kostet er?"],
        "compare": ["{a} oder {b}, was ist der Unterschied?"],
        "compare_price": ["was ist billiger, {a} oder {b}?"],
        "compare_number": ["wer hat mehr {n}, {a} oder {b}?"],
        "compare_value": ["welche {n} haben {a} und {b}?"],
        "off_topic": ["regnet es morgen?", "erzählst du mir einen Witz?"],
        "release": ["ach, die {n} ist mir doch egal"],
        "correct": ["Entschuldigung, nicht {old}, sondern {new}"],
        "greet": ["hallo!"],
        "filler_end": ["danke"],
    },
}


@cache
def phrase_bank() -> dict[str, list[str]]:
    """The phrases mined from RecQuest's real shopper turns (family -> templates); {} when the file is absent."""
    try:
        data = json.loads(BANK_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: [str(t) for t in v] for k, v in data.get("families", {}).items() if isinstance(v, list)}


def templates(language: str = "en") -> dict[str, list[str]]:
    """Every phrase family for a shopper writing `language`: English shoppers get the built-in templates plus the
    mined bank; another language replaces the families it has."""
    out = {k: list(v) for k, v in TEMPLATES.items()}
    if language == "en":
        for k, v in phrase_bank().items():
            out.setdefault(k, [])
            out[k] += [t for t in v if t not in out[k]]
    else:
        out.update({k: list(v) for k, v in FOREIGN[language].items()})
    return out


def article(word: str) -> str:
    w = word.strip().lower()
    if w.endswith("s") and not w.endswith("ss"):
        return "some"
    return "an" if w[:1] in "aeiou" else "a"


def money(amount: float, currency: str | None) -> str:
    """A price as a shopper writes it: `$60`, `€49.50`, `120 CHF`."""
    text = f"{amount:.0f}" if float(amount).is_integer() else f"{amount:.2f}"
    sign = CURRENCY_SIGNS.get((currency or "USD").upper())
    return f"{sign}{text}" if sign else f"{text} {currency}"


def casual_budget(amount: float, currency: str | None, rng: random.Random) -> str | None:
    """A whole budget phrase as people write it, meaning `amount` as a limit ("1.5k max", "max 70 bucks", "about
    80 to spend", "70 or less"); None when the amount has cents."""
    if not float(amount).is_integer():
        return None
    n = int(amount)
    sign = CURRENCY_SIGNS.get((currency or "USD").upper(), "")
    forms = [f"max {n}", f"{n} or less", f"about {n} to spend"]
    if n >= 1000 and n % 100 == 0:
        forms += [f"{n / 1000:g}k max", f"up to {sign}{n / 1000:g}k"]
    if (currency or "USD").upper() == "USD":
        forms += [f"max {n} bucks", f"{n} bucks tops"]
    return rng.choice(forms)


def vary(text: str, rng: random.Random, style: dict[str, Any]) -> str:
    """Per-shopper surface variation: some write all lower case, some drop a final question mark."""
    if style.get("lowercase"):
        text = text.lower()
    if style.get("no_question_mark") and text.endswith("?") and rng.random() < 0.5:
        text = text[:-1]
    return text


__all__ = [
    "article",
    "FOREIGN",
    "LANGUAGES",
    "TEMPLATES",
    "casual_budget",
    "money",
    "phrase_bank",
    "templates",
    "vary",
]
