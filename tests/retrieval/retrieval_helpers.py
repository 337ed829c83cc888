"""Small random catalogs for the retrieval tests (imported by the test files, not collected)."""

from __future__ import annotations

import random

from retrieval.catalog import Product

COLORS = ["red", "blue", "black", "green", "white"]
SIZES = ["S", "M", "L", "XL"]
BRANDS = ["Acme", "Zed", "Fleet", "Homey", "Nordic", None]
KINDS = {
    "apparel": ["shirt", "jacket", "dress", "jeans"],
    "shoes": ["sneaker", "boot", "sandal"],
    "home": ["mug", "lamp", "pillow"],
}


def random_products(n: int, seed: int = 0, prefix: str = "p") -> list[Product]:
    """`n` products with random category, price (sometimes missing), brand, and scalar/list attributes."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cat = rng.choice(list(KINDS))
        kind = rng.choice(KINDS[cat])
        color = rng.choice(COLORS)
        attrs = {"color": color if rng.random() < 0.7 else [color, rng.choice(COLORS)]}
        if rng.random() < 0.6:
            attrs["size"] = rng.sample(SIZES, rng.randint(1, 3))
        if rng.random() < 0.3:
            attrs["material"] = rng.choice(["cotton blend", "wool", "leather", "recycled cotton"])
        out.append(
            Product(
                id=f"{prefix}{i}",
                title=f"{color} {kind} {rng.choice(['classic', 'sport', 'light', 'warm'])}",
                category=cat,
                price=None if rng.random() < 0.1 else round(rng.uniform(5, 200), 2),
                brand=rng.choice(BRANDS),
                attributes=attrs,
                description=f"A {kind} for every day.",
            )
        )
    return out
