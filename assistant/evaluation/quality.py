"""The judge's reading of how a reply is written, beside what it says: glitches a strict reader marks down, an
on-topic message declined, a goodbye read as a purchase, a reply in a language the shopper cannot read.

    glitches("It features color navy and size XL.", {"color": {"navy"}, "size": {"xl"}})   # ["attribute dump"]
    declines("Sorry, I can only help with shopping.")                                       # True
    confirms_purchase("Great choice! Enjoy your new boots.")                                # True
    language_of("hola, busco unas botas")                                                   # "es"

Glitch kinds (each found with the judge's own patterns, none from the assistant):

* **field syntax**: an attribute written as a form field, "style: boho", "color = navy";
* **attribute dump**: attribute names glued to their values, "it features color navy and size XL";
* **repeated product**: one product named in two items of a list, or a sentence said twice;
* **numbering**: a numbered list that does not count 1, 2, 3 ("2." first, a number skipped or repeated);
* **spliced template**: a reply ending on ":" or ",", a colon followed by a new sentence of its own ("this one:
  I'd suggest ..."), a sentence starting in lower case, doubled punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from assistant.evaluation.reading import Name, norm, sentences, words

_DECLINE = re.compile(
    r"\b(only (?:help|assist) with|can only (?:help|assist|talk)|cannot help with|can't help with|not able to help"
    r"|unable to help|outside (?:of )?(?:what|my)|i'?m (?:just |only )?a shopping|i am (?:just |only )?a shopping"
    r"|not something i can)",
    re.I,
)
_PURCHASE = re.compile(
    r"\b(great choice|good choice|excellent choice|nice choice|great pick|added (?:it )?to (?:your )?(?:cart|basket)"
    r"|order (?:is|has been) (?:placed|confirmed)|enjoy your (?:new )?"
    r"|thanks? (?:you )?for (?:your )?(?:purchase|order)"
    r"|happy with your purchase|you(?:'ve| have) (?:chosen|picked|bought)|confirm(?:ed)? your (?:order|purchase))",
    re.I,
)
_FUNCTION_WORDS = {
    "en": {"the", "and", "is", "it", "you", "for", "with", "this", "of", "a", "to", "in", "are", "have", "your", "i"},
    "es": {"el", "la", "los", "las", "es", "y", "de", "que", "con", "para", "una", "un", "por", "tiene", "muy", "más"},
    "de": {"der", "die", "das", "und", "ist", "mit", "für", "ein", "eine", "nicht", "ich", "sie", "es", "auch", "hat"},
    "fr": {"le", "la", "les", "est", "et", "de", "avec", "pour", "une", "un", "pas", "vous", "il", "des", "sur"},
}


def declines(text: str) -> bool:
    """Whether a reply declines to help (says it can only help with shopping, or cannot help with this)."""
    return bool(_DECLINE.search(text or ""))


def confirms_purchase(text: str) -> bool:
    """Whether a reply reads the last message as a purchase ("great choice", "added to your cart", "enjoy your")."""
    return bool(_PURCHASE.search(text or ""))


def language_of(text: str) -> str | None:
    """The language whose common function words a text uses most (en, es, de, fr); None below three such words."""
    toks = words(text or "")
    counts = {lang: sum(t in ws for t in toks) for lang, ws in _FUNCTION_WORDS.items()}
    lang, n = max(counts.items(), key=lambda kv: kv[1])
    return lang if n >= 3 else None


def glitches(
    text: str, attributes: Mapping[str, Iterable[str]] | None = None, names: list[Name] | None = None
) -> list[str]:
    """The glitch kinds found in a reply (see the module docstring), each once.

    Args:
        text: the reply.
        attributes: the category's attribute names -> their values (lower case), as the judge's reader knows them.
        names: the products the judge's reader found in the text (for repeated products in a list).
    """
    text = text or ""
    out: list[str] = []
    labels = {a: norm(a).replace("_", " ") for a in (attributes or {})}
    if labels:
        alts = "|".join(sorted(map(re.escape, labels.values()), key=len, reverse=True))
        if re.search(rf"(?<![\w-])(?:{alts})\s*[:=]\s*\w", text, re.I):
            out.append("field syntax")
        glued = 0
        low = text.lower()
        for a, label in labels.items():
            vals = [re.escape(norm(v)) for v in (attributes or {})[a] if len(norm(v)) >= 2]
            if vals:
                glued += len(re.findall(rf"(?<![\w-]){re.escape(label)}\s+(?:{'|'.join(vals)})(?![\w-])", low))
        if glued >= 2 or re.search(rf"\b(?:features?|has|offers)\s+(?:a\s+)?(?:{alts})\s+\w", low):
            out.append("attribute dump")
    items = [m for m in re.finditer(r"(?m)^\s*(?:\d{1,2}[.)]|[-*•])\s+(.+)$", text)]
    if names and len(items) >= 2:
        seen: dict[str, int] = {}
        for i, m in enumerate(items):
            for n in names:
                if m.start() <= n.start < m.end():
                    if seen.setdefault(n.product_id, i) != i:
                        out.append("repeated product")
                        break
    said = [norm(text[s:e]) for s, e in sentences(text)]
    said = [s for s in said if len(s.split()) >= 4]
    if len(said) != len(set(said)) and "repeated product" not in out:
        out.append("repeated product")
    numbers = [int(m.group(1)) for m in re.finditer(r"(?:^|\n|\s)(\d{1,2})[.)]\s+(?=[A-Z*\"'])", text)]
    if numbers and (numbers[0] != 1 or any(b != a + 1 for a, b in zip(numbers, numbers[1:], strict=False))):
        out.append("numbering")
    stripped = text.rstrip()
    if (
        stripped.endswith((":", ","))
        or re.search(r":\s+(?:I|I'd|I'm|We|From)\b", text)
        or re.search(r"[.!?]\s+[a-z]", re.sub(r"\b(?:e\.g|i\.e|vs|approx)\.", "", text))
        or re.search(r"(?:[,:;]\s*[.,:;])|\.\s*\.(?!\.)", text.replace("...", ""))
    ):
        out.append("spliced template")
    return list(dict.fromkeys(out))


__all__ = ["confirms_purchase", "declines", "glitches", "language_of"]
