"""The shopper's needs as the demo generator tracks them (the keys of `understanding.needs.ShopperNeeds`), and
when a product meets them. Shared by `flow.py` (the shopper) and `dialogues.py` (the assistant).
"""

from __future__ import annotations

from typing import Any

from assistant.understanding.needs import ShopperNeeds
from retrieval.catalog import Product


def empty_needs(category: str) -> dict[str, Any]:
    """The needs of a shopper who said nothing yet (the dialogue contract's shape, `ShopperNeeds.to_dict`)."""
    return ShopperNeeds(category=category).to_dict()


def satisfies(p: Product, needs: dict[str, Any]) -> bool:
    """True when `p` meets every need: the search's own exact filter (`retrieval.filters.Filters.matches`)."""
    return ShopperNeeds.from_dict(needs).to_filters().matches(p)
