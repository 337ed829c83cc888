"""Repairing a generated reply with its grounding report: the catalog's facts replace wrong ones, and
sentences naming products that do not exist (or must not be recommended) are dropped.

    text, product_ids, corrections = apply_grounding(reply, check_reply(reply, catalog, category), catalog)
"""

from __future__ import annotations

import re
from typing import Any

from assistant.text import YES_NO_OPENING, format_price, polarity, sentence_spans
from assistant.understanding.questions import asked_values

# what a reply becomes when every sentence named a product that does not exist
NOTHING_LEFT = "Sorry, I couldn't find that product in our catalog. Could you tell me more about what you need?"
_PRONOUN_START = re.compile(r"^\W*(?:it|its|it's|this one|they|their)\b", re.I)


def _label_before(text: str, pos: int, product: Any) -> tuple[int, str] | None:
    """`(start, attribute)` when the text right before `pos` is "<attribute name>: " of `product`."""
    m = re.search(r"((?:[A-Za-z_-]+ ){0,2}[A-Za-z_-]+):\s*$", text[max(0, pos - 40) : pos])
    if m is None or product is None:
        return None
    names = {k.replace("_", " ").lower(): k for k in product.attributes}
    words = m.group(1).split()
    for i in range(len(words)):
        said = " ".join(words[i:]).lower()
        if said in names:
            return max(0, pos - 40) + m.start(1) + len(" ".join(words[:i])) + (1 if i else 0), names[said]
    return None


def apply_grounding(
    text: str, report: Any, catalog: Any, drop: dict[str, str] | None = None
) -> tuple[str, list[str], list[str]]:
    """Repair `text` with a `GroundingReport`: wrong prices and attribute values are replaced by the
    catalog's, sentences naming products that are not in the catalog are dropped.

    Args:
        text: the generated reply.
        report: its `GroundingReport`.
        catalog: the catalog it was checked against.
        drop: product id -> reason, for real products that must not be recommended (e.g. outside the
            shopper's hard needs): sentences naming them are dropped too.

    Returns:
        `(repaired_text, product_ids_named, corrections)`.
    """

    edits: list[tuple[int, int, str]] = []
    corrections: list[str] = []
    for m in report.mentions:
        if m.ok or m.start < 0 or m.product_id in (drop or {}):
            continue
        p = catalog.get(m.product_id)
        if m.field == "price":
            value = plain = format_price(m.actual, getattr(p, "currency", None))
            start = m.start
        else:
            value = ", ".join(map(str, m.actual)) if isinstance(m.actual, list) else str(m.actual)
            plain, start = value, m.start
            label = _label_before(text, m.start, p)  # "material: relaxed" about the fit -> "fit: regular"
            if label is not None and label[1] != m.field:
                start, value = label[0], f"{m.field.replace('_', ' ')}: {value}"
        edits.append((start, m.end, value))
        corrections.append(f"{p.title if p else m.product_id}: {m.field} is {plain}, not {m.stated}")
    sentences = sentence_spans(text)
    for name in report.unknown:
        follow = False  # "It has ..." right after a sentence naming the invented product is about it too
        for a, b in sentences:
            if name in text[a:b] or (follow and _PRONOUN_START.match(text[a:b])):
                edits.append((a, b, ""))
                follow = True
            else:
                follow = False
        corrections.append(f"removed {name!r}: no such product in the catalog")
    for pid, reason in (drop or {}).items():
        where = [sp.start for sp in report.spans if sp.product_id == pid]
        where += [m.start for m in report.mentions if m.product_id == pid and m.start >= 0]  # "It is red."
        for a, b in sentence_spans(text):
            if any(a <= w < b for w in where):
                edits.append((a, b, ""))
        p = catalog.get(pid)
        corrections.append(f"removed {p.title if p else pid!r}: {reason}")
    cut = [(a, b) for a, b, v in edits if v == ""]  # a dropped sentence wins over fixes inside it
    edits = [e for e in edits if e[2] == "" or not any(a <= e[0] and e[1] <= b for a, b in cut)]
    out, last = [], len(text)
    for a, b, value in sorted(set(edits), key=lambda e: (e[0], -e[1]), reverse=True):
        if b > last:  # inside a sentence already dropped
            continue
        out.append(text[b:last])
        out.append(value)
        last = a
    out.append(text[:last])
    fixed = re.sub(r"[ \t]{2,}", " ", "".join(reversed(out))).strip()
    dropped = [(a, b) for a, b, v in edits if v == ""]
    spans = getattr(report, "spans", None) or []
    ids = list(dict.fromkeys(s.product_id for s in spans if not any(a <= s.start < b for a, b in dropped)))
    ids += [pid for pid in report.products if pid not in ids and not spans]
    if not fixed and (report.unknown or drop):
        fixed = NOTHING_LEFT
    return fixed, ids, corrections


def fix_polarity(text: str, question: str, product: Any, catalog: Any) -> tuple[str, str | None]:
    """Make a reply's opening yes / no agree with the catalog for a yes/no question about `product`.

    Args:
        text: the (already repaired) reply.
        question: the shopper's message; the values of `product`'s attributes it names are what is asked.
        product: the product the reply is about.
        catalog: where the attribute values of the product's category come from.

    Returns:
        `(text, correction)`: "Yes! It is blue." to "is it available in black?" becomes "No: It is blue.";
        `correction` is None when nothing changed (no yes/no opening, no asked value, or it agrees).
    """
    said = polarity(text)
    if said is None or not YES_NO_OPENING.search(text):
        return text, None
    asked = asked_values(question, product, catalog)
    if not asked:
        return text, None
    truth = "yes" if all(str(product.attributes[k]).lower() == v.lower() for k, v in asked.items()) else "no"
    if said == truth:
        return text, None
    fixed = ("Yes: " if truth == "yes" else "No: ") + YES_NO_OPENING.sub("", text, count=1)
    return fixed, f"{product.title}: answered {said}, the catalog says {truth}"
