"""The product catalog: the `Product` record, loading and validating catalog files, and product text.

A catalog is JSONL, CSV or Parquet with one product per row:

    id (str, required, unique)   title (str, required)   category (str, required)
    price (number)  currency (str)  brand (str)  description (str)
    attributes (object name -> value; in CSV a JSON string)  image_url (str)  rating (number)

Unknown fields are kept in `Product.extra`. JSONL is read line by line so that every problem names its
line; CSV and Parquet are read through `datasets` and a row's line is its row number + 1 (the header).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retrieval.fileio import DataError, Problem, atomic_write_jsonl, iter_jsonl

KNOWN_FIELDS = (
    "id",
    "title",
    "category",
    "price",
    "currency",
    "brand",
    "description",
    "attributes",
    "image_url",
    "rating",
)
_STR_FIELDS = ("currency", "brand", "description", "image_url")
_NUM_FIELDS = ("price", "rating")


@dataclass
class Product:
    """One catalog record. `attributes` maps attribute names to scalar values (str, number, bool) or lists."""

    id: str
    title: str
    category: str
    price: float | None = None
    currency: str | None = None
    brand: str | None = None
    description: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    image_url: str | None = None
    rating: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The catalog-file form: known fields (None dropped) plus the unknown ones, flat."""
        d = {k: v for k, v in asdict(self).items() if k != "extra" and v is not None}
        if not d.get("attributes"):
            d.pop("attributes", None)
        d.update(self.extra)
        return d


def product_to_text(p: Product) -> str:
    """Text used to embed and lexically index a product: title, brand, category, attributes, description."""
    parts = [p.title]
    if p.brand:
        parts.append(f"brand: {p.brand}")
    parts.append(f"category: {p.category}")
    for k, v in p.attributes.items():
        parts.append(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}")
    if p.description:
        parts.append(p.description)
    return ". ".join(parts)


def parse_product(obj: Any, file: str, line: int) -> tuple[Product | None, list[Problem]]:
    """Check one raw record and build a `Product`; returns (None, problems) when it cannot be used."""
    if not isinstance(obj, dict):
        return None, [Problem(file, line, None, f"expected a JSON object, got {type(obj).__name__}")]
    probs: list[Problem] = []
    for name in ("id", "title", "category"):
        v = obj.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            probs.append(Problem(file, line, name, "required field is missing or empty"))
        elif name == "id" and isinstance(v, int) and not isinstance(v, bool):
            pass  # numeric ids are accepted and turned into strings
        elif not isinstance(v, str):
            probs.append(Problem(file, line, name, f"must be a string, got {type(v).__name__}"))
    for name in _NUM_FIELDS:
        v = obj.get(name)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            probs.append(Problem(file, line, name, f"must be a number, got {type(v).__name__} {v!r}"))
        elif math.isnan(v) or v < 0:
            probs.append(Problem(file, line, name, f"must be a non-negative number, got {v!r}"))
    for name in _STR_FIELDS:
        v = obj.get(name)
        if v is not None and not isinstance(v, str):
            probs.append(Problem(file, line, name, f"must be a string, got {type(v).__name__}"))
    attrs = obj.get("attributes")
    if attrs is not None and not isinstance(attrs, dict):
        probs.append(
            Problem(file, line, "attributes", f"must be an object of name -> value, got {type(attrs).__name__}")
        )
    if probs:
        return None, probs
    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    return Product(
        id=str(obj["id"]),
        title=obj["title"].strip(),
        category=obj["category"].strip(),
        price=None if obj.get("price") is None else float(obj["price"]),
        currency=obj.get("currency"),
        brand=obj.get("brand"),
        description=obj.get("description"),
        attributes=dict(attrs or {}),
        image_url=obj.get("image_url"),
        rating=None if obj.get("rating") is None else float(obj["rating"]),
        extra=extra,
    ), []


def _rows_from_table(path: Path) -> Iterator[tuple[int, Any]]:
    """CSV / Parquet rows through `datasets`, with empty cells as missing and `attributes` JSON-decoded."""
    import datasets

    builder = "csv" if path.suffix.lower() == ".csv" else "parquet"
    ds = datasets.load_dataset(builder, data_files=str(path), split="train")
    for i, row in enumerate(ds):
        row = {k: v for k, v in row.items() if v is not None and v != ""}
        if isinstance(row.get("attributes"), str):
            try:
                row["attributes"] = json.loads(row["attributes"])
            except json.JSONDecodeError as e:
                yield i + 2, Problem(str(path), i + 2, "attributes", f"not a JSON object: {e.msg}")
                continue
        yield i + 2, row


def iter_catalog_records(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Raw `(line, record_or_Problem)` pairs of a catalog file of any supported format."""
    path = Path(path)
    if not path.exists():
        raise DataError([Problem(str(path), None, None, "file not found")])
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        yield from iter_jsonl(path)
    elif suffix in (".csv", ".parquet"):
        yield from _rows_from_table(path)
    else:
        raise DataError(
            [Problem(str(path), None, None, f"unknown catalog format {suffix!r} (use .jsonl, .csv or .parquet)")]
        )


def validate_catalog(path: str | Path) -> tuple[list[Product], list[Problem]]:
    """Read a whole catalog file and return the good products and every problem found (never raises
    for bad content): bad JSON, non-UTF-8 bytes, missing or mistyped fields, duplicate ids."""
    products: list[Product] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for line, rec in iter_catalog_records(path):
        if isinstance(rec, Problem):
            problems.append(rec)
            continue
        p, probs = parse_product(rec, str(path), line)
        problems.extend(probs)
        if p is None:
            continue
        if p.id in first_line:
            problems.append(
                Problem(str(path), line, "id", f"duplicate id {p.id!r} (first on line {first_line[p.id]})")
            )
            continue
        first_line[p.id] = line
        products.append(p)
    if not products and not problems:
        problems.append(Problem(str(path), None, None, "catalog is empty"))
    return products, problems


class Catalog:
    """An ordered list of products with lookup by id."""

    def __init__(self, products: Iterable[Product]):
        self.products = list(products)
        self.by_id = {p.id: p for p in self.products}
        if len(self.by_id) != len(self.products):
            raise ValueError("Catalog product ids must be unique")

    def __len__(self) -> int:
        return len(self.products)

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def __contains__(self, product_id: str) -> bool:
        return product_id in self.by_id

    def get(self, product_id: str) -> Product | None:
        return self.by_id.get(product_id)

    def categories(self) -> list[str]:
        return sorted({p.category for p in self.products})

    def save(self, path: str | Path) -> None:
        """Write the catalog as JSONL (atomically)."""
        atomic_write_jsonl(path, (p.to_dict() for p in self.products))


def load_catalog(path: str | Path | Iterable[str | Path]) -> Catalog:
    """Load and validate one or more catalog files.

    Args:
        path: a catalog file, a folder of them (`*.jsonl`, `*.csv`, `*.parquet`), or a list of files.

    Returns:
        The `Catalog`, products in file order.

    Raises:
        DataError: listing every problem as `file:line: field: message`; nothing is loaded partially.
    """
    if isinstance(path, (str, Path)):
        p = Path(path)
        files = sorted(f for ext in ("*.jsonl", "*.csv", "*.parquet") for f in p.glob(ext)) if p.is_dir() else [p]
        if p.is_dir() and not files:
            raise DataError([Problem(str(p), None, None, "folder holds no .jsonl, .csv or .parquet catalog files")])
    else:
        files = [Path(f) for f in path]
    products: list[Product] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for f in files:
        prods, probs = validate_catalog(f)
        problems.extend(probs)
        for prod in prods:
            if prod.id in seen:
                problems.append(Problem(str(f), None, "id", f"duplicate id {prod.id!r} (also in {seen[prod.id]})"))
                continue
            seen[prod.id] = str(f)
            products.append(prod)
    if problems:
        raise DataError(problems)
    return Catalog(products)
