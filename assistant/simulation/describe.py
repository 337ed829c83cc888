"""How a shopper describes a product of a free-text catalog (titles and descriptions, no attribute table) in its
own words: a few words that tell it apart from the rest of its category. As in interactive CRS evaluation
(iEvaLM), the shopper holds a target product and describes it.

    words = describe_products(products)   # id -> (title words, description words); products without any left out
    mentions(product, "bamboo")           # whether the product's title, brand or description has the word

Distinctive words are words of at least four letters, not the brand's, found in at most a quarter of the
category's products: first those of the title, then those of the start of the description. Only the catalog's own
words are used.
"""

from __future__ import annotations

import re
from collections import Counter

from retrieval.catalog import Product

STOP = set(
    "with from for and the this that your you are our has have into over under more most very also just only "
    "each other than then them they their these those what when which while will would about after before "
    "made make makes perfect great best high quality new design designed features feature includes included "
    "inch inches pack pcs set size sizes color colors black white item items product products use used using "
    "easy ideal good like well every all any can one two three four five several many much live life time "
    "year years older great allow allows provide provides help helps keep keeps give gives take takes just "
    "enjoy perfect need needs want comes come even still also brand official original ensure ensures".split()
)
DESCRIPTION_CHARS = 400  # the start of a description is where it says what the product is
MAX_SHARE = 0.25  # a distinctive word is in at most this share of the category's products


def _tokens(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]{4,}", (text or "").lower()) if w not in STOP]


def _own_text(p: Product) -> str:
    return f"{p.title} {p.brand or ''} {(p.description or '')[:DESCRIPTION_CHARS]}"


def mentions(p: Product, word: str) -> bool:
    """Whether `p`'s title, brand or the start of its description holds `word` as a whole word."""
    return bool(re.search(rf"(?<![a-z]){re.escape(word.lower())}(?![a-z])", _own_text(p).lower()))


def describe_products(products: list[Product]) -> dict[str, tuple[list[str], list[str]]]:
    """id -> (distinctive title words, distinctive description words) for the products of one category that have
    at least one distinctive title word."""
    docs = {p.id: set(_tokens(_own_text(p))) for p in products}
    df = Counter(w for ws in docs.values() for w in ws)
    limit = max(1, int(MAX_SHARE * len(products)))
    out = {}
    for p in products:
        brand = set(_tokens(p.brand or "")) | set(_tokens(p.title.split()[0] if p.title.split() else ""))
        title = [w for w in dict.fromkeys(_tokens(p.title)) if w not in brand and df[w] <= limit]
        desc = [w for w in dict.fromkeys(_tokens((p.description or "")[:DESCRIPTION_CHARS])) if w not in brand]
        desc = [w for w in desc if w not in title and df[w] <= limit]
        if title:
            out[p.id] = (title[:6], desc[:6])
    return out


__all__ = ["describe_products", "mentions"]
