"""`shopguide data import`: convert real public data to our catalog and dialogue formats.

    shopguide data import recquest ../shared/data/recquest --out data/recquest
    shopguide data import amazon meta_Electronics.jsonl --out data/amazon --category electronics

Each importer is a module of this package with the same three names: `HELP` (one line), `add_args(parser)`
(its arguments) and `run(args) -> int` (import, print a summary, return an exit code). Bad input raises
`DataError`, printed here as `file:line: field: message` with exit code 1. Everything an importer drops is
counted and logged with its reason.
"""

from __future__ import annotations

import argparse
import logging
import sys

from retrieval.fileio import DataError
from training.data_tools import amazon, recquest

# source name -> importer module; adding an importer is one line here.
IMPORTERS = {
    "recquest": recquest,
    "amazon": amazon,
}


def main(argv: list[str] | None = None) -> int:
    """`shopguide data import` entry point."""
    ap = argparse.ArgumentParser(
        prog="shopguide data import", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="source", required=True)
    for name, importer in IMPORTERS.items():
        importer.add_args(
            sub.add_parser(
                name,
                help=importer.HELP,
                description=importer.__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return IMPORTERS[args.source].run(args)
    except DataError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
