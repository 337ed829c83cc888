"""Amazon Reviews 2023 product metadata -> our catalog (`shopguide data import amazon`).

    shopguide data import amazon meta_Electronics.jsonl.gz --out data/amazon --category electronics

Fields read: `parent_asin` (id), `title`, `features` + `description` (description), `price` (number or
string such as "$1,299.00"; "None"/"" mean no price), `store` or `details.Brand` (brand), `categories` (the
last entry is the category unless --category is given; else `main_category`), `details` (attributes: scalar
values and lists of strings), `average_rating`, `images` (first hi_res / large / thumb URL). A bad line is
reported as `file:line: field: message` and skipped; a price that cannot be read is reported and left out.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import Any

from retrieval.catalog import MAX_TEXT_CHARS, Product
from retrieval.fileio import DataError, Problem, atomic_write_jsonl, iter_jsonl

log = logging.getLogger(__name__)

_PRICE = re.compile(r"^\s*(?:US\s?)?\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*$")


def _parse_price(v: Any) -> tuple[float | None, str | None]:
    """Amazon `price` (number, "$1,299.00", "None", "", null) -> (price, problem message)."""
    if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none", "null", "nan", "—", "-")):
        return None, None
    if isinstance(v, bool):
        return None, f"must be a number or a price string, got {v!r}"
    if isinstance(v, (int, float)):
        return (float(v), None) if v >= 0 and v == v else (None, f"must be a non-negative number, got {v!r}")
    if isinstance(v, str):
        m = _PRICE.match(v)
        if m:
            return float(m.group(1).replace(",", "") + (m.group(2) or "")), None
        return None, f"not a price: {v!r} (price left out)"
    return None, f"must be a number or a price string, got {type(v).__name__}"


def _image(images: Any) -> str | None:
    if isinstance(images, list):
        for im in images:
            if isinstance(im, dict):
                for k in ("hi_res", "large", "thumb"):
                    if isinstance(im.get(k), str) and im[k]:
                        return im[k]
            elif isinstance(im, str) and im:
                return im
    return None


def amazon_record(obj: Any, file: str, line: int, category: str | None) -> tuple[Product | None, list[Problem]]:
    """One Amazon-2023 metadata record -> (Product or None, problems). Price problems keep the product."""
    if not isinstance(obj, dict):
        return None, [Problem(file, line, None, f"expected a JSON object, got {type(obj).__name__}")]
    probs: list[Problem] = []
    pid, title = obj.get("parent_asin"), obj.get("title")
    if not isinstance(pid, str) or not pid.strip():
        probs.append(Problem(file, line, "parent_asin", "required string is missing or empty"))
    if not isinstance(title, str) or not title.strip():
        probs.append(Problem(file, line, "title", "required string is missing or empty"))
    for name in ("features", "description", "categories", "images"):
        if obj.get(name) is not None and not isinstance(obj[name], list):
            probs.append(Problem(file, line, name, f"must be a list, got {type(obj[name]).__name__}"))
    if obj.get("details") is not None and not isinstance(obj["details"], dict):
        probs.append(Problem(file, line, "details", f"must be an object, got {type(obj['details']).__name__}"))
    rating = obj.get("average_rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, (int, float)) or rating < 0):
        probs.append(Problem(file, line, "average_rating", f"must be a non-negative number, got {rating!r}"))
    cats = (
        [c for c in obj.get("categories") or [] if isinstance(c, str) and c.strip()]
        if isinstance(obj.get("categories"), list)
        else []
    )
    cat = category or (cats[-1] if cats else None) or obj.get("main_category")
    if not isinstance(cat, str) or not cat.strip():
        probs.append(Problem(file, line, "categories", "no category: give --category or a `categories` entry"))
    if probs:
        return None, probs
    price, msg = _parse_price(obj.get("price"))
    warn = [Problem(file, line, "price", msg)] if msg else []
    details = obj.get("details") or {}
    attrs = {
        str(k): v
        for k, v in details.items()
        if isinstance(v, (str, int, float, bool)) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
    }
    brand = obj.get("store") if isinstance(obj.get("store"), str) and obj["store"].strip() else None
    brand = brand or (attrs.get("Brand") if isinstance(attrs.get("Brand"), str) else None)
    text = [str(x).strip() for x in (obj.get("features") or []) + (obj.get("description") or []) if str(x).strip()]
    extra = {"categories": cats} if cats else {}
    description = " ".join(text)
    if len(description) > MAX_TEXT_CHARS:  # a listing's features + description can exceed the catalog's limit
        warn.append(Problem(file, line, "description", f"cut to the catalog limit of {MAX_TEXT_CHARS:,} characters"))
        description = description[:MAX_TEXT_CHARS].rsplit(" ", 1)[0]
    return Product(
        id=pid.strip(),
        title=" ".join(title.split()),
        category=cat.strip(),
        price=price,
        currency="USD" if price is not None else None,
        brand=brand,
        description=description or None,
        attributes=attrs,
        image_url=_image(obj.get("images")),
        rating=None if rating is None else float(rating),
        extra=extra,
    ), warn


def import_amazon(file: str | Path, out: str | Path, category: str | None = None) -> dict[str, Any]:
    """Convert an Amazon-2023 metadata JSONL file to `OUT/catalog.jsonl`.

    Args:
        file: the metadata file (one JSON object per line; `.gz` is read compressed).
        out: output folder.
        category: category for every product; default: the record's last `categories` entry.

    Returns:
        {"products": n written, "skipped": n bad lines, "problems": [Problem, ...] (bad lines and warnings)}.

    Raises:
        DataError: when the file does not exist.
    """
    file = Path(file)
    if not file.exists():
        raise DataError([Problem(str(file), None, None, "file not found")])
    products: list[Product] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    skipped = 0
    for line, obj in iter_jsonl(file):
        if isinstance(obj, Problem):
            problems.append(obj)
            skipped += 1
            continue
        p, probs = amazon_record(obj, str(file), line, category)
        problems.extend(probs)
        if p is None:
            skipped += 1
            continue
        if p.id in seen:
            problems.append(
                Problem(str(file), line, "parent_asin", f"duplicate {p.id!r} (first on line {seen[p.id]})")
            )
            skipped += 1
            continue
        seen[p.id] = line
        products.append(p)
    n = atomic_write_jsonl(Path(out) / "catalog.jsonl", (p.to_dict() for p in products))
    log.info("Amazon: %d products from %s, %d bad line(s) skipped", n, file, skipped)
    return {"products": n, "skipped": skipped, "problems": problems}


HELP = "Amazon Reviews 2023 metadata JSONL -> catalog"


def add_args(parser: argparse.ArgumentParser) -> None:
    """The options of `shopguide data import amazon`."""
    parser.add_argument("file", help="meta_*.jsonl or meta_*.jsonl.gz file")
    parser.add_argument("--out", required=True, help="output folder (writes catalog.jsonl)")
    parser.add_argument("--category", help="category for every product (default: last `categories` entry)")


def run(args: argparse.Namespace) -> int:
    """Import with the parsed `args`, print bad lines and a summary; returns an exit code."""
    r = import_amazon(args.file, args.out, args.category)
    for p in r["problems"]:
        print(p, file=sys.stderr)
    print(f"imported {r['products']} products, skipped {r['skipped']} bad line(s) -> {args.out}/catalog.jsonl")
    return 0
