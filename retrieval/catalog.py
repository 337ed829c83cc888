"""The product catalog: the `Product` record, loading and validating catalog files, and product text.

A catalog is JSONL (optionally `.jsonl.gz`), CSV or Parquet with one product per row:

    id (str, required, unique)   title (str, required)   category (str, required)
    price (number)  currency (str)  brand (str)  description (str)
    attributes (object name -> value; in CSV a JSON string)  image_url (str)  rating (number)

Unknown fields are kept in `Product.extra`; numbers anywhere in a record must be finite. Texts have size limits
(characters; a record over one is rejected, naming its line and field): `MAX_SHORT_CHARS` for id, title,
category, brand, currency and every attribute name and value, `MAX_URL_CHARS` for image_url, `MAX_TEXT_CHARS`
for description and any text in an unknown field. Every problem
names its line: JSONL is read line by line; CSV is read as text (no type guessing: `007` stays `007`), its
cells converted field by field, and a problem names the line the row starts on; in Parquet the "line" is
the 1-based row number. A UTF-8 byte order mark is ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retrieval.fileio import DataError, Problem, atomic_write_jsonl, iter_csv, iter_jsonl, iter_parquet

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
# Size limits in characters: generous for real catalogs (Amazon's longest "technical details" are ~15,000
# characters, BigBasket's longest title 131), small enough that one careless export cannot blow up the index.
MAX_SHORT_CHARS = 1_000  # id, title, category, brand, currency; each attribute name and value
MAX_URL_CHARS = 8_192  # image_url
MAX_TEXT_CHARS = 50_000  # description; each text anywhere in an unknown field
_MAX_CHARS = {"description": MAX_TEXT_CHARS, "image_url": MAX_URL_CHARS}
CATALOG_PATTERNS = ("*.jsonl", "*.jsonl.gz", "*.csv", "*.parquet")


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


def _too_long(n: int, limit: int) -> str:
    return f"{n:,} characters, over the limit of {limit:,}"


def _not_json(value: Any, max_chars: int) -> str | None:
    """Why `value` is not plain JSON with finite numbers and texts (keys too) of at most `max_chars` characters
    (None when it is); iterative, so depth is no limit."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return f"must be a finite number, got {v!r}"
        if isinstance(v, str) and len(v) > max_chars:
            return _too_long(len(v), max_chars)
        if isinstance(v, dict):
            stack.extend(v.values())
            stack.extend(v.keys())
        elif isinstance(v, list):
            stack.extend(v)
        elif not (v is None or isinstance(v, (str, int, float, bool))):
            return f"must be a JSON value, got {type(v).__name__}"
    return None


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
        elif len(v) > MAX_SHORT_CHARS:
            probs.append(Problem(file, line, name, _too_long(len(v), MAX_SHORT_CHARS)))
    for name in _NUM_FIELDS:
        v = obj.get(name)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            probs.append(Problem(file, line, name, f"must be a number, got {type(v).__name__} {v!r}"))
        elif not math.isfinite(v) or v < 0:
            probs.append(Problem(file, line, name, f"must be a finite non-negative number, got {v!r}"))
    for name in _STR_FIELDS:
        v = obj.get(name)
        if v is not None and not isinstance(v, str):
            probs.append(Problem(file, line, name, f"must be a string, got {type(v).__name__}"))
        elif v is not None and len(v) > _MAX_CHARS.get(name, MAX_SHORT_CHARS):
            probs.append(Problem(file, line, name, _too_long(len(v), _MAX_CHARS.get(name, MAX_SHORT_CHARS))))
    attrs = obj.get("attributes")
    if attrs is not None and not isinstance(attrs, dict):
        probs.append(
            Problem(file, line, "attributes", f"must be an object of name -> value, got {type(attrs).__name__}")
        )
        attrs = None
    elif attrs is not None and any(len(k) > MAX_SHORT_CHARS for k in attrs):
        longest = max(len(k) for k in attrs)
        probs.append(Problem(file, line, "attributes", f"a name of {_too_long(longest, MAX_SHORT_CHARS)}"))
    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    for name in [k for k in extra if len(k) > MAX_SHORT_CHARS]:  # reported without the name itself
        probs.append(Problem(file, line, None, f"a field name of {_too_long(len(name), MAX_SHORT_CHARS)}"))
        del extra[name]
    values = [(f"attributes.{k}", v, MAX_SHORT_CHARS) for k, v in (attrs or {}).items() if len(k) <= MAX_SHORT_CHARS]
    values += [(k, v, MAX_TEXT_CHARS) for k, v in extra.items()]
    for name, v, limit in values:
        why = _not_json(v, limit)
        if why:
            probs.append(Problem(file, line, name, why))
    if probs:
        return None, probs
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


def _table_record(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV or Parquet row as a catalog record: empty cells missing; numbers and `attributes` converted where
    they are text. A cell that does not convert stays text, so `parse_product` names that one field."""
    rec = {k: v for k, v in row.items() if v is not None and v != ""}
    for k in _NUM_FIELDS:
        if isinstance(rec.get(k), str):
            try:
                rec[k] = float(rec[k])
            except ValueError:
                pass
    if isinstance(rec.get("attributes"), str):
        try:
            rec["attributes"] = json.loads(rec["attributes"])
        except (ValueError, RecursionError):
            pass
    return rec


def iter_catalog_records(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Raw `(line, record_or_Problem)` pairs of a catalog file of any supported format.

    Raises:
        DataError: the file is missing, is a folder, or has an unknown extension.
    """
    path = Path(path)
    if not path.exists():
        raise DataError([Problem(str(path), None, None, "file not found")])
    if path.is_dir():
        raise DataError([Problem(str(path), None, None, "is a folder, not a catalog file")])
    name = path.name.lower()
    if name.endswith((".jsonl", ".json", ".jsonl.gz", ".json.gz")):
        return iter_jsonl(path)
    if name.endswith((".csv", ".parquet")):
        rows = iter_csv(path) if name.endswith(".csv") else iter_parquet(path)
        return ((line, r if isinstance(r, Problem) else _table_record(r)) for line, r in rows)
    why = f"unknown catalog format {path.suffix!r} (use .jsonl, .jsonl.gz, .csv or .parquet)"
    raise DataError([Problem(str(path), None, None, why)])


def validate_catalog(path: str | Path) -> tuple[list[Product], list[Problem]]:
    """Read a whole catalog file and return the good products and every problem found (never raises): a
    missing file, a folder, bad JSON or CSV, non-UTF-8 bytes, missing or mistyped fields, duplicate ids."""
    products: list[Product] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    try:
        records = iter_catalog_records(path)
    except DataError as e:
        return [], e.problems
    for line, rec in records:
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


def catalog_files(folder: str | Path) -> list[Path]:
    """The catalog files in `folder` (`CATALOG_PATTERNS`), in name order."""
    return sorted(f for pattern in CATALOG_PATTERNS for f in Path(folder).glob(pattern) if f.is_file())


def load_catalog(path: str | Path | Iterable[str | Path]) -> Catalog:
    """Load and validate one or more catalog files.

    Args:
        path: a catalog file, a folder of them (`*.jsonl`, `*.jsonl.gz`, `*.csv`, `*.parquet`), or a list of files.

    Returns:
        The `Catalog`, products in file order.

    Raises:
        DataError: listing every problem as `file:line: field: message`; nothing is loaded partially.
    """
    if isinstance(path, (str, Path)):
        p = Path(path)
        files = catalog_files(p) if p.is_dir() else [p]
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
