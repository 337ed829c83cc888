"""Structured product filters, produced by the dialogue state and applied exactly by the index.

A product outside the filters is never returned: the index applies `Filters.matches` (or its
vectorised equivalent) as a hard constraint, not as a score.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from retrieval.catalog import Product


def normalize_value(v: Any) -> str:
    """How filters compare a product's value to a wanted one: as stripped, lower-cased text."""
    return str(v).strip().lower()


@dataclass
class Filters:
    """Hard constraints on products. Empty / None fields do not constrain.

    Attributes:
        category: only this category.
        min_price, max_price: inclusive price bounds; products without a price fail any bound.
        brands: only these brands (case-insensitive); exclude_brands: never these.
        attributes_equal: attribute name -> wanted value (case-insensitive; list-valued attributes
            match when any element equals it).
        attributes_contain: attribute name -> substring the value must contain (case-insensitive).
        exclude_attributes: attribute name -> value the product must not have.
        exclude_ids: product ids never to return (e.g. ones the shopper rejected).
    """

    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    brands: list[str] = field(default_factory=list)
    exclude_brands: list[str] = field(default_factory=list)
    attributes_equal: dict[str, Any] = field(default_factory=dict)
    attributes_contain: dict[str, str] = field(default_factory=dict)
    exclude_attributes: dict[str, Any] = field(default_factory=dict)
    exclude_ids: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError(f"`min_price` ({self.min_price}) is above `max_price` ({self.max_price})")

    @classmethod
    def from_dict(cls, obj: Any) -> Filters:
        """Filters from a JSON object (an API request's `filters`), each value type-checked.

        Raises:
            ValueError: naming the filter: an unknown name, a wrong type, a price that is not a finite number,
                or `min_price` above `max_price`.
        """
        if not isinstance(obj, dict):
            raise ValueError("filters must be an object of filter name -> value")
        names = [f.name for f in fields(cls)]
        for name, v in obj.items():
            if name not in names:
                raise ValueError(f"unknown filter {name!r} (known: {', '.join(names)})")
            if v is None:
                continue
            if name == "category" and not isinstance(v, str):
                raise ValueError("category must be a string")
            if name in ("min_price", "max_price") and (
                isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
            ):
                raise ValueError(f"{name} must be a number")
            if name in ("brands", "exclude_brands", "exclude_ids") and not (
                isinstance(v, list) and all(isinstance(x, str) for x in v)
            ):
                raise ValueError(f"{name} must be a list of strings")
            if name in ("attributes_equal", "attributes_contain", "exclude_attributes") and not (
                isinstance(v, dict)
                and all(_scalar(x) or (isinstance(x, list) and all(map(_scalar, x))) for x in v.values())
            ):
                raise ValueError(f"{name} must be an object of attribute name -> value")
        return cls(**{k: v for k, v in obj.items() if v is not None})

    def is_empty(self) -> bool:
        return not any(asdict(self).values())

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v}

    def matches(self, p: Product) -> bool:
        """True when `p` satisfies every constraint."""
        if self.category is not None and normalize_value(p.category) != normalize_value(self.category):
            return False
        if self.min_price is not None and (p.price is None or p.price < self.min_price):
            return False
        if self.max_price is not None and (p.price is None or p.price > self.max_price):
            return False
        brand = normalize_value(p.brand) if p.brand else None
        if self.brands and brand not in {normalize_value(b) for b in self.brands}:
            return False
        if self.exclude_brands and brand in {normalize_value(b) for b in self.exclude_brands}:
            return False
        if self.exclude_ids and p.id in set(self.exclude_ids):
            return False
        for name, want in self.attributes_equal.items():
            if not _has_value(p.attributes.get(name), want):
                return False
        for name, part in self.attributes_contain.items():
            v = p.attributes.get(name)
            values = v if isinstance(v, list) else [v]
            if v is None or not any(normalize_value(part) in normalize_value(x) for x in values):
                return False
        for name, unwanted in self.exclude_attributes.items():
            if _has_value(p.attributes.get(name), unwanted):
                return False
        return True


def _scalar(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, (int, float)) and math.isfinite(v))


def _has_value(value: Any, want: Any) -> bool:
    if value is None:
        return False
    values = value if isinstance(value, list) else [value]
    wants = want if isinstance(want, list) else [want]
    have = {normalize_value(x) for x in values}
    return any(normalize_value(w) in have for w in wants)
