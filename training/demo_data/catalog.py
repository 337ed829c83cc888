"""Demo catalogs: a few hundred invented products per category, built from `training/demo_data/vocab.py`.

Every product has a unique title (`{brand} {line} {Type}`), a price in USD (2 decimals), a rating, a
description written from its attributes, and attributes `type` plus the type's and category's attributes.
Attribute values are plain strings, so the text the assistant says can quote them verbatim.
Used by `training/demo_data/generate.py` (`shopguide data generate`).
"""

from __future__ import annotations

import random

from retrieval.catalog import Product
from training.demo_data.vocab import CATEGORIES

DESCRIPTION_OPENERS = [
    "The {title} is a {adj} {t} from {brand}.",
    "{brand} made the {title} for people who want a {adj} {t}.",
    "Meet the {title}: a {adj} {t} by {brand}.",
    "A {adj} {t} from {brand}, the {title}.",
]
ADJECTIVES = [
    "well-made",
    "popular",
    "versatile",
    "thoughtfully designed",
    "dependable",
    "great-value",
    "premium",
    "customer-favorite",
]


def title_case(s: str) -> str:
    """`"running shoes"` -> `"Running Shoes"`, keeping words like `t-shirt` -> `T-Shirt`."""
    return " ".join("-".join(w[:1].upper() + w[1:] for w in word.split("-")) for word in s.split())


def _price(rng: random.Random, lo: float, hi: float) -> float:
    base = lo + (hi - lo) * rng.random() ** 1.4  # more cheap than expensive items
    ending = rng.choice([0.99, 0.99, 0.95, 0.5, 0.0])
    return round(max(lo, int(base) + ending), 2)


def _description(rng: random.Random, spec: dict, p: dict) -> str:
    t = p["attributes"]["type"]
    first = rng.choice(DESCRIPTION_OPENERS).format(title=p["title"], adj=rng.choice(ADJECTIVES), t=t, brand=p["brand"])
    labels = spec["labels"]
    parts = [f"{labels.get(k, k)}: {v}" for k, v in p["attributes"].items() if k != "type"]
    rng.shuffle(parts)
    second = rng.choice(["Details — {x}.", "Key features: {x}.", "Specs at a glance: {x}.", "It offers {x}."])
    return f"{first} {second.format(x='; '.join(parts))}"


def make_catalog(category: str, n: int, rng: random.Random) -> list[Product]:
    """Build `n` products of `category`, deterministic for the state of `rng`.

    Args:
        category: a key of `vocab.CATEGORIES`.
        n: number of products (ids `{prefix}-0001` ... ).
        rng: the random source (use one `random.Random` per category).

    Returns:
        The products, in id order. Every type gets at least `n // (2 * types)` products.
    """
    spec = CATEGORIES[category]
    types = list(spec["types"])
    seen_titles: set[str] = set()
    products: list[Product] = []
    for i in range(n):
        ptype = types[i % len(types)] if i < len(types) * 4 else rng.choice(types)
        tspec = spec["types"][ptype]
        attrs: dict[str, str] = {"type": ptype}
        for name, values in tspec["attrs"].items():
            attrs[name] = rng.choice(values)
        for name, values in spec["common"].items():
            if name not in attrs:
                attrs[name] = rng.choice(values)
        brand = rng.choice(spec["brands"])
        for _ in range(200):
            title = f"{brand} {rng.choice(spec['lines'])} {title_case(ptype)}"
            if title not in seen_titles:
                break
            brand = rng.choice(spec["brands"])
        else:  # the vocabulary ran out of combinations: number the title
            title = f"{brand} {rng.choice(spec['lines'])} {title_case(ptype)} {i + 1}"
        seen_titles.add(title)
        d = {"title": title, "brand": brand, "attributes": attrs}
        products.append(
            Product(
                id=f"{spec['prefix']}-{i + 1:04d}",
                title=title,
                category=category,
                price=_price(rng, *tspec["price"]),
                currency="USD",
                brand=brand,
                description=_description(rng, spec, d),
                attributes=attrs,
                rating=round(rng.triangular(2.8, 5.0, 4.4), 1),
            )
        )
    return products
