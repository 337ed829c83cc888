"""Hidden shopper goals drawn from any catalog in our contract, and what each category lets a goal use.

    profiles = catalog_profiles(catalog)                  # raises DataError when a category cannot be used
    goals = draw_goals(catalog, profiles, per_category=20, seed=0)
    goal.failed_needs(product, goal.needs)                # [] when the product meets every need

A category without closed-set attributes (a free-text catalog: titles and descriptions) gets goals that
describe the anchor in the catalog's words instead (`describe`): one or two distinctive title words and
sometimes a description word, with the budget; a product meets them when its text holds the words.

A goal (`Goal`) is drawn around an *anchor* product of the category that has a price: a budget at or a
little above its price, 1-3 of its attribute values as required needs (the category's "kind" attribute --
`type`, `product type`, `kind`, ... -- first when it has one), and sometimes an excluded brand or an excluded
value of another attribute. So at least one product (the anchor) meets all needs; `satisfying` lists all
of them. Only *closed-set* attributes are used: 2-50 distinct values (strings of at most 40 characters,
numbers, booleans where True is the need, or lists of such strings), on at least 20% of the category's
products, and not a free-text name such as `features` or `description`. Nothing here knows the demo's
vocabulary: every name and value comes from the catalog.

The goal also carries the shopper's plan, drawn with it from the same seed: patience, style (terse or
chatty, typo rate, whether it names attributes), how many needs it states in its first message, whether it
checks an attribute of a product before accepting, asks for a comparison, asks something off-topic,
changes its mind once (releases a required need), states one value wrongly and corrects it at once, says goodbye
instead of buying; a few shoppers write Spanish or German. `Goal.to_dict()` is what results.jsonl stores.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.simulation.describe import describe_products, mentions
from retrieval.catalog import Catalog, Product
from retrieval.fileio import DataError, Problem

KIND_NAMES = ("type", "product type", "kind", "item type", "subcategory", "sub category", "product kind", "style type")
FREE_TEXT_NAMES = {
    "features",
    "feature",
    "special feature",
    "special features",
    "description",
    "includes",
    "included",
    "included components",
    "notes",
    "details",
    "about",
    "bullet points",
    "title",
    "name",
}
MAX_VALUES = 50
MAX_VALUE_CHARS = 40
MIN_COVERAGE = 0.2
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}


def norm(value: Any) -> str:
    """Lower-cased, whitespace-collapsed text of a value (how values are compared)."""
    return re.sub(r"\s+", " ", str(value).strip().lower())


def label(name: str) -> str:
    """An attribute name as a shopper says it (`skin_type` -> `skin type`)."""
    return norm(name.replace("_", " "))


def value_matches(actual: Any, wanted: Any) -> bool:
    """Whether a product's attribute value `actual` (scalar or list) holds the `wanted` value."""
    if actual is None:
        return False
    if isinstance(actual, list):
        return any(value_matches(a, wanted) for a in actual)
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return isinstance(actual, bool) and isinstance(wanted, bool) and actual == wanted
    if isinstance(wanted, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(float(actual), float(wanted), rel_tol=1e-9)
    return norm(actual) == norm(wanted)


@dataclass(frozen=True)
class AttributeSpec:
    """A closed-set attribute of a category: its name, value type and distinct values (display form)."""

    name: str
    kind: str  # "text", "number" or "bool"
    values: tuple[Any, ...]
    coverage: float


@dataclass
class CategoryProfile:
    """What goals of one category can use: priced products, closed-set attributes, the kind attribute, brands."""

    category: str
    products: list[Product]  # the products with a price (goal anchors)
    attributes: dict[str, AttributeSpec]
    kind_attribute: str | None
    brands: list[str]
    currency: str | None
    described: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)  # free text: id -> words

    @property
    def free_text(self) -> bool:
        """No closed-set attribute: goals describe a target product in words (`describe`)."""
        return not self.attributes


def _usable_value(v: Any) -> str | None:
    """The value kind of a scalar closed-set candidate, or None when it cannot be a need."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number" if math.isfinite(float(v)) else None
    if isinstance(v, str) and 0 < len(v.strip()) <= MAX_VALUE_CHARS and re.search(r"[^\W\d_]", v):
        return "text"
    return None


def _attribute_specs(products: list[Product]) -> dict[str, AttributeSpec]:
    kinds: dict[str, Counter] = defaultdict(Counter)
    values: dict[str, dict[str, Any]] = defaultdict(dict)
    present: Counter = Counter()
    for p in products:
        for name, v in p.attributes.items():
            if label(name) in FREE_TEXT_NAMES:
                continue
            items = v if isinstance(v, list) else [v]
            got = [(x, _usable_value(x)) for x in items]
            got = [(x, k) for x, k in got if k is not None and not (isinstance(v, list) and k == "bool")]
            if not got:
                continue
            present[name] += 1
            for x, k in got:
                kinds[name][k] += 1
                values[name].setdefault(norm(x), x)
    out = {}
    for name, count in present.items():
        kind = kinds[name].most_common(1)[0][0]
        distinct = [v for v in values[name].values() if _usable_value(v) == kind]
        if kind == "bool":
            ok = True in distinct
        else:
            ok = 2 <= len(distinct) <= MAX_VALUES
        coverage = count / len(products)
        if ok and coverage >= MIN_COVERAGE:
            out[name] = AttributeSpec(name, kind, tuple(sorted(distinct, key=norm)), round(coverage, 3))
    return out


def catalog_profiles(
    catalog: Catalog, categories: list[str] | None = None, source: str = "catalog"
) -> dict[str, CategoryProfile]:
    """Check that every category (or the `categories` asked for) can give shoppers goals, and profile it.

    Args:
        catalog: the shoppers' catalog (the truth the scorer checks replies against).
        categories: categories to use (None: every category of the catalog).
        source: the catalog's file name, for the error messages.

    Returns:
        category -> `CategoryProfile`, in the order of `categories` (or sorted).

    Raises:
        DataError: a category is unknown, has fewer than two products with a price (budgets need prices),
            or no closed-set attribute (needs are drawn from attributes); each problem names the category.
    """
    by_cat: dict[str, list[Product]] = defaultdict(list)
    for p in catalog:
        by_cat[p.category].append(p)
    wanted = list(categories) if categories else sorted(by_cat)
    problems: list[Problem] = []
    out: dict[str, CategoryProfile] = {}
    for cat in wanted:
        prods = by_cat.get(cat, [])
        if not prods:
            problems.append(
                Problem(
                    source,
                    None,
                    "category",
                    f"no product has category {cat!r} (categories: {', '.join(sorted(by_cat)) or 'none'})",
                )
            )
            continue
        priced = [p for p in prods if p.price is not None and p.price > 0]
        if len(priced) < 2:
            problems.append(
                Problem(
                    source,
                    None,
                    "price",
                    f"category {cat!r}: {len(priced)} of {len(prods)} "
                    "products have a price; simulated shoppers need prices to set a budget",
                )
            )
            continue
        specs = _attribute_specs(priced)
        described = {} if specs else describe_products(priced)
        if not specs and len(described) < 2:
            problems.append(
                Problem(
                    source,
                    None,
                    "attributes",
                    f"category {cat!r}: no attribute with 2-{MAX_VALUES} "
                    f"distinct short values on at least {MIN_COVERAGE:.0%} of its priced products, and fewer than two "
                    "priced products whose title has a word that tells them apart; shoppers' needs come from those",
                )
            )
            continue
        kind = next((n for n in specs if label(n) in KIND_NAMES and specs[n].kind == "text"), None)
        brands = sorted({p.brand for p in prods if p.brand}, key=norm)
        currency = Counter(p.currency for p in priced if p.currency).most_common(1)
        out[cat] = CategoryProfile(cat, priced, specs, kind, brands, currency[0][0] if currency else None, described)
    if problems:
        raise DataError(problems)
    return out


@dataclass(frozen=True)
class Need:
    """One thing the shopper wants. `topic` is what an assistant's question about it names: `budget`,
    `brand`, or an attribute name (a required value and an excluded value of one attribute share it)."""

    kind: str  # "budget", "attribute", "exclude_brand", "exclude_attribute", "describe" (words of a free text)
    topic: str
    value: Any

    def met_by(self, p: Product) -> bool:
        if self.kind == "budget":
            return p.price is not None and p.price <= self.value + 1e-9
        if self.kind == "attribute":
            return value_matches(p.attributes.get(self.topic), self.value)
        if self.kind == "exclude_brand":
            return not (p.brand and norm(p.brand) == norm(self.value))
        if self.kind == "describe":
            return all(mentions(p, w) for w in self.value)
        return not value_matches(p.attributes.get(self.topic), self.value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Goal:
    """A shopper's hidden goal and plan (see the module docstring)."""

    id: str
    category: str
    needs: list[Need]  # in the order the shopper reveals them; the kind need (if any) first
    anchor: str
    satisfying: list[str]
    currency: str | None
    patience: int
    style: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def budget(self) -> float:
        return next(n.value for n in self.needs if n.kind == "budget")

    def need(self, topic: str) -> Need | None:
        return next((n for n in self.needs if n.topic == topic), None)

    def failed_needs(self, p: Product, needs: list[Need]) -> list[Need]:
        """The needs among `needs` that `p` does not meet (a product of another category fails all)."""
        if p.category != self.category:
            return list(needs) or [Need("attribute", "category", self.category)]
        return [n for n in needs if not n.met_by(p)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "needs": [n.to_dict() for n in self.needs],
            "anchor": self.anchor,
            "satisfying": self.satisfying,
            "currency": self.currency,
            "patience": self.patience,
            "style": self.style,
            "plan": self.plan,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Goal:
        return cls(
            d["id"],
            d["category"],
            [Need(**n) for n in d["needs"]],
            d["anchor"],
            list(d["satisfying"]),
            d.get("currency"),
            int(d["patience"]),
            dict(d.get("style") or {}),
            dict(d.get("plan") or {}),
        )


def nice_budget(price: float, rng: random.Random) -> float:
    """A budget a shopper would say, at or a little above `price` (rounded up to 5 / 10 / 50 / 100 steps)."""
    x = price * rng.uniform(1.0, 1.35)
    step = 5 if x < 50 else 10 if x < 200 else 50 if x < 1000 else 100
    return float(math.ceil(x / step - 1e-9) * step)


def category_style(category: str) -> dict[str, float]:
    """The category's way of talking, fixed per category name (not per run): how often its shoppers are
    chatty, make a typo, name the attribute with a value, state the budget early, and how many needs they
    put in their first message on average. Every category gets its own mix from the same generic phrases."""
    rng = random.Random(f"style:{category}")
    return {
        "chatty": round(rng.uniform(0.25, 0.75), 2),
        "typo_rate": round(rng.uniform(0.03, 0.15), 2),
        "labels": round(rng.uniform(0.3, 0.9), 2),
        "budget_early": round(rng.uniform(0.2, 0.8), 2),
        "opening_needs": round(rng.uniform(1.2, 2.6), 2),
        "phrasing": rng.randrange(1 << 16),
    }


def draw_goal(profile: CategoryProfile, rng: random.Random, goal_id: str, patience: tuple[int, int] = (6, 10)) -> Goal:
    """One goal of `profile`'s category (see the module docstring); all randomness from `rng`."""
    cat = profile.category
    chosen: list[str] = []
    if profile.free_text:  # the shopper holds a target product and describes it in the catalog's words
        pool = [p for p in profile.products if p.id in profile.described]
        anchor = rng.choice(pool)
        title, desc = profile.described[anchor.id]
        needs = [Need("describe", "details", rng.sample(title, min(len(title), rng.choice((1, 2, 2)))))]
        if desc and rng.random() < 0.6:
            needs.append(Need("describe", "use", [rng.choice(desc)]))
    else:
        for _ in range(50):  # an anchor with at least one usable attribute value
            anchor = rng.choice(profile.products)
            usable = [n for n in profile.attributes if _anchor_value(anchor, profile.attributes[n]) is not None]
            if usable:
                break
        else:
            raise DataError([Problem(cat, None, "attributes", "no priced product carries a usable attribute value")])
        n_req = rng.choice((1, 2, 2, 3, 3))
        if profile.kind_attribute in usable:
            chosen.append(profile.kind_attribute)
        others = [n for n in usable if n not in chosen]
        rng.shuffle(others)
        chosen += others[: max(0, n_req - len(chosen))]
        needs = [Need("attribute", n, _anchor_value(anchor, profile.attributes[n], rng)) for n in chosen]
    needs.append(Need("budget", "budget", nice_budget(anchor.price, rng)))
    r = rng.random()
    other_brands = [b for b in profile.brands if not (anchor.brand and norm(b) == norm(anchor.brand))]
    free = [n for n in profile.attributes if n not in chosen and profile.attributes[n].kind == "text"]
    if r < 0.2 and other_brands:
        needs.append(Need("exclude_brand", "brand", rng.choice(other_brands)))
    elif r < 0.35 and free:
        name = rng.choice(free)
        own = anchor.attributes.get(name)
        values = [v for v in profile.attributes[name].values if not value_matches(own, v)]
        if values:
            needs.append(Need("exclude_attribute", name, rng.choice(values)))
    head = needs[:1] if profile.kind_attribute in chosen or profile.free_text else []
    rest = needs[len(head) :]
    rng.shuffle(rest)
    needs = head + rest
    satisfying = [p.id for p in profile.products if all(n.met_by(p) for n in needs)]
    cstyle = category_style(cat)
    chatty = rng.random() < cstyle["chatty"]
    style = {
        "chatty": chatty,
        "typo_rate": round(cstyle["typo_rate"] * rng.uniform(0.5, 1.5), 3),
        "labels": rng.random() < cstyle["labels"],
        "phrasing": cstyle["phrasing"],
    }
    lo, hi = patience
    releasable = [n.topic for n in needs if n.kind == "attribute" and n.topic != profile.kind_attribute]
    plan = {
        "opening_needs": max(1, min(len(needs), round(rng.gauss(cstyle["opening_needs"], 0.8)))),
        "budget_early": rng.random() < cstyle["budget_early"],
        "check_attribute": rng.random() < 0.5,
        "compare": rng.random() < 0.3,
        "off_topic_turn": rng.choice((1, 2)) if rng.random() < 0.15 else None,
        "release": rng.choice(releasable) if releasable and rng.random() < 0.25 else None,
        "release_turn": rng.randint(2, 4),
    }
    # the behaviours of a strict reader's shoppers (docs/simulate.md): a slip corrected at once, a goodbye instead
    # of a purchase, another language, and surface habits
    slips = [
        n
        for n in needs
        if n.kind == "attribute" and n.topic != profile.kind_attribute and profile.attributes[n.topic].kind == "text"
    ]
    if slips and rng.random() < 0.15:
        n = rng.choice(slips)
        olds = [v for v in profile.attributes[n.topic].values if not value_matches(v, n.value)]
        if olds:
            plan["correct"] = {"topic": n.topic, "old": rng.choice(olds)}
    plan["goodbye"] = rng.random() < 0.1
    r = rng.random()
    style["language"] = "es" if r < 0.03 else "de" if r < 0.06 else "en"
    style["lowercase"] = rng.random() < 0.25
    style["no_question_mark"] = rng.random() < 0.2
    style["casual_budget"] = rng.random() < 0.5
    if plan["budget_early"]:  # the budget goes right after the kind need
        b = next(n for n in needs if n.kind == "budget")
        needs.remove(b)
        needs.insert(1 if head else 0, b)
    patience_turns = rng.randint(lo, hi)
    style["phrasing"] ^= rng.randrange(1 << 16)  # each shopper its own subset of the category's phrase families
    return Goal(goal_id, cat, needs, anchor.id, satisfying, profile.currency, patience_turns, style, plan)


def _anchor_value(p: Product, spec: AttributeSpec, rng: random.Random | None = None) -> Any:
    """The anchor's value of `spec` usable as a need (one element of a list), or None."""
    v = p.attributes.get(spec.name)
    items = v if isinstance(v, list) else [v]
    ok = [x for x in items if _usable_value(x) == spec.kind and (spec.kind != "bool" or x is True)]
    if not ok:
        return None
    return rng.choice(ok) if rng is not None else ok[0]


def draw_goals(
    profiles: dict[str, CategoryProfile], per_category: int, seed: int = 0, patience: tuple[int, int] = (6, 10)
) -> list[Goal]:
    """`per_category` goals for each profiled category, interleaved by category (ids `<category>-<n>`).

    Each goal has its own random stream (`seed`, category, number), so a goal does not change when other
    categories or more shoppers are added.
    """
    goals = []
    for i in range(per_category):
        for cat, prof in profiles.items():
            gid = f"{cat}-{i + 1:04d}"
            goals.append(draw_goal(prof, random.Random(f"{seed}:{gid}"), gid, patience))
    return goals
