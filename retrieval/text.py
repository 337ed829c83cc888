"""The product text that is embedded and BM25-indexed, built from a chosen list of fields.

With the default fields the text equals `retrieval.catalog.product_to_text` (title, brand, category,
attributes, description), so every package describes a product to a model the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from retrieval.catalog import Product, product_to_text

DEFAULT_FIELDS = ("title", "brand", "category", "attributes", "description")
KNOWN = frozenset(DEFAULT_FIELDS)


def product_text(p: Product, fields: Iterable[str] = DEFAULT_FIELDS) -> str:
    """Text of `p` restricted to `fields` (any of title, brand, category, attributes, description).

    Raises:
        ValueError: an unknown field name.
    """
    fields = tuple(fields)
    if fields == DEFAULT_FIELDS:
        return product_to_text(p)
    bad = [f for f in fields if f not in KNOWN]
    if bad:
        raise ValueError(f"unknown text field(s) {bad}; use any of {', '.join(DEFAULT_FIELDS)}")
    parts = []
    for f in fields:
        if f == "title":
            parts.append(p.title)
        elif f == "brand" and p.brand:
            parts.append(f"brand: {p.brand}")
        elif f == "category":
            parts.append(f"category: {p.category}")
        elif f == "attributes":
            parts += [f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in p.attributes.items()]
        elif f == "description" and p.description:
            parts.append(p.description)
    return ". ".join(parts)
