"""The shopper's needs as the demo generator tracks them (the keys of `understanding.needs.ShopperNeeds`), and
when a product meets them. Shared by `flow.py` (the shopper) and `dialogues.py` (the assistant).
"""

from __future__ import annotations

from typing import Any

from retrieval.catalog import Product


def empty_needs(category: str) -> dict[str, Any]:
    """The needs of a shopper who said nothing yet."""
    return {
        "category": category,
        "min_price": None,
        "max_price": None,
        "attributes": {},
        "exclude_attributes": {},
        "brands": [],
        "exclude_brands": [],
    }


def satisfies(p: Product, needs: dict[str, Any]) -> bool:
    """True when `p` meets every need (same semantics as `retrieval.filters.Filters.matches`)."""
    if needs["min_price"] is not None and (p.price is None or p.price < needs["min_price"]):
        return False
    if needs["max_price"] is not None and (p.price is None or p.price > needs["max_price"]):
        return False
    if needs["brands"] and p.brand not in needs["brands"]:
        return False
    if p.brand in needs["exclude_brands"]:
        return False
    for k, v in needs["attributes"].items():
        if str(p.attributes.get(k, "")).lower() != str(v).lower():
            return False
    return all(str(p.attributes.get(k, "")).lower() != str(v).lower() for k, v in needs["exclude_attributes"].items())
