"""`shopguide data validate`: check a catalog or dialogue file and print every problem.

    shopguide data validate data/demo/catalog/apparel.jsonl --kind catalog
    shopguide data validate data/demo/dialogues/apparel.train.jsonl --kind dialogues --catalog data/demo/catalog

Each problem prints as `file:line: field: what is wrong`; the exit code is 1 when there is any.
"""

from __future__ import annotations

import argparse
import sys

from assistant.dialogues import validate_dialogues
from retrieval.catalog import load_catalog, validate_catalog
from retrieval.files import DataError


def validate_main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="shopguide data validate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", help="the file to check (.jsonl; catalogs may also be .csv or .parquet)")
    ap.add_argument("--kind", choices=["catalog", "dialogues"], required=True, help="what the file holds")
    ap.add_argument("--catalog", help="with --kind dialogues: catalog file or folder to check product ids against")
    args = ap.parse_args(argv)
    try:
        if args.kind == "catalog":
            good, problems = validate_catalog(args.file)
        else:
            ids = None
            if args.catalog:
                ids = set(load_catalog(args.catalog).by_id)
            good, problems = validate_dialogues(args.file, ids)
    except DataError as e:  # the file (or the catalog it refers to) could not be read at all
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1
    for p in problems:
        print(p, file=sys.stderr)
    noun = "products" if args.kind == "catalog" else "dialogues"
    status = "ok" if not problems else f"{len(problems)} problem(s)"
    print(f"{args.file}: {len(good)} valid {noun}, {status}")
    return 1 if problems else 0
