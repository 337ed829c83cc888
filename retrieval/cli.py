"""Command-line tools for the product index (routed by `shopguide`, see training/cli.py).

    shopguide index build --catalog data/demo/catalog --out outputs/index [--encoder NAME] [--kind auto]
    shopguide index update --index outputs/index [--add new.jsonl] [--remove id1,id2]
    shopguide search --index outputs/index "warm jacket" --max-price 80 --brand Acme [--json]

Bad input prints `file:line: field: message` and exits 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from retrieval.catalog import load_catalog
from retrieval.fileio import DataError
from retrieval.filters import Filters
from retrieval.index import ProductIndex
from retrieval.text import DEFAULT_FIELDS


def _fail(e: Exception) -> int:
    print(f"error: {e}", file=sys.stderr)
    return 1


def build_main(argv: list[str] | None = None) -> int:
    """`shopguide index build`: encode a catalog into an index folder."""
    ap = argparse.ArgumentParser(
        prog="shopguide index build", description="Encode a catalog into a search index folder."
    )
    ap.add_argument("--catalog", required=True, nargs="+", help="catalog file(s) or a folder (.jsonl/.csv/.parquet)")
    ap.add_argument("--out", required=True, help="index folder to write")
    ap.add_argument(
        "--encoder",
        default=None,
        help="sentence-transformers folder or id, 'hash:DIM', or a TCA folder (default: bundled all-MiniLM-L6-v2)",
    )
    ap.add_argument(
        "--kind",
        default="auto",
        choices=["auto", "exact", "hnsw"],
        help="exact search, FAISS HNSW, or auto (HNSW from 50,000 products)",
    )
    ap.add_argument(
        "--fields",
        default=None,
        help="comma-separated text fields (default: title,brand,category,attributes,description)",
    )
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    try:
        catalog = load_catalog(args.catalog[0] if len(args.catalog) == 1 else args.catalog)
        fields = tuple(args.fields.split(",")) if args.fields else DEFAULT_FIELDS
        t = time.perf_counter()
        idx = ProductIndex.build(
            catalog,
            encoder=args.encoder,
            kind=args.kind,
            fields=fields,
            batch_size=args.batch_size,
            show_progress=True,
        )
        idx.save(args.out)
    except (DataError, FileNotFoundError, ValueError) as e:
        return _fail(e)
    print(
        f"indexed {len(idx)} products ({idx.kind}, encoder {idx.encoder_name}) in {time.perf_counter() - t:.1f}s "
        f"-> {args.out}"
    )
    return 0


def update_main(argv: list[str] | None = None) -> int:
    """`shopguide index update`: add/replace and remove products without a rebuild."""
    ap = argparse.ArgumentParser(
        prog="shopguide index update",
        description="Add, replace (same id) or remove products in an index folder; only new products are encoded.",
    )
    ap.add_argument("--index", required=True, help="index folder (updated in place)")
    ap.add_argument("--add", nargs="*", default=[], help="catalog file(s) with products to add or replace")
    ap.add_argument("--remove", default="", help="comma-separated product ids to remove")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    try:
        idx = ProductIndex.load(args.index)
        removed = idx.remove([i for i in args.remove.split(",") if i]) if args.remove else 0
        added = idx.add(list(load_catalog(args.add))) if args.add else 0
        idx.save(args.index)
    except (DataError, FileNotFoundError, ValueError, KeyError) as e:
        return _fail(e)
    print(f"removed {removed}, added/replaced {added}; index holds {len(idx)} products")
    return 0


def search_main(argv: list[str] | None = None) -> int:
    """`shopguide search`: query an index with text and filters."""
    ap = argparse.ArgumentParser(prog="shopguide search", description="Search an index with text and filters.")
    ap.add_argument("query", help="what the shopper wants, in words")
    ap.add_argument("--index", required=True, help="index folder")
    ap.add_argument("-k", "--top-k", type=int, default=10)
    ap.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "lexical"])
    ap.add_argument("--fusion", default="linear", choices=["linear", "rrf"])
    ap.add_argument("--category")
    ap.add_argument("--min-price", type=float)
    ap.add_argument("--max-price", type=float)
    ap.add_argument("--brand", action="append", default=[], help="only this brand (repeatable)")
    ap.add_argument("--exclude-brand", action="append", default=[], help="never this brand (repeatable)")
    ap.add_argument("--attr", action="append", default=[], metavar="NAME=VALUE", help="attribute equals (repeatable)")
    ap.add_argument(
        "--attr-contains",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        help="attribute contains text (repeatable)",
    )
    ap.add_argument("--exclude-attr", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--json", action="store_true", help="one JSON object per result: product fields + score")
    args = ap.parse_args(argv)

    def pairs(items: list[str], flag: str) -> dict[str, str]:
        out = {}
        for it in items:
            if "=" not in it:
                raise ValueError(f"{flag} expects NAME=VALUE, got {it!r}")
            k, v = it.split("=", 1)
            out[k.strip()] = v.strip()
        return out

    try:
        filters = Filters(
            category=args.category,
            min_price=args.min_price,
            max_price=args.max_price,
            brands=args.brand,
            exclude_brands=args.exclude_brand,
            attributes_equal=pairs(args.attr, "--attr"),
            attributes_contain=pairs(args.attr_contains, "--attr-contains"),
            exclude_attributes=pairs(args.exclude_attr, "--exclude-attr"),
        )
        idx = ProductIndex.load(args.index)
        results = idx.search(args.query, top_k=args.top_k, filters=filters, mode=args.mode, fusion=args.fusion)
    except (DataError, FileNotFoundError, ValueError) as e:
        return _fail(e)
    for rank, (p, score) in enumerate(results, 1):
        if args.json:
            print(json.dumps({**p.to_dict(), "score": round(score, 6), "rank": rank}, ensure_ascii=False))
        else:
            price = f"{p.price:.2f}" if p.price is not None else "-"
            print(f"{rank:>3}. {score:8.4f}  {p.id}  {p.title[:70]}  [{p.category}; {p.brand or '-'}; {price}]")
    if not results and not args.json:
        print("no products match")
    return 0
