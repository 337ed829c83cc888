"""`shopguide data validate`: check a catalog or dialogue file and print every problem.

    shopguide data validate data/demo/catalog/apparel.jsonl --kind catalog
    shopguide data validate data/demo/catalog --kind catalog          # every catalog file in the folder
    shopguide data validate data/demo/dialogues/apparel.train.jsonl --kind dialogues --catalog data/demo/catalog

Each problem prints as `file:line: field: what is wrong`; the exit code is 1 when there is any. A folder is
checked file by file (catalogs: .jsonl, .jsonl.gz, .csv, .parquet; dialogues: .jsonl, .jsonl.gz). Dialogue
shapes that are valid but that replay treats specially (an assistant that speaks first, two assistant
messages in a row, no assistant message after any user message) print as warnings (`warning: file:line: ...`,
the first 10 of each kind, then counts); they do not change the exit code.
With `--catalog`, dialogue files are also checked against the catalog: product ids in `products`,
`target` and `candidates` exist, and every annotated fact (`facts: [{"product", "field", "value"}]`)
states the catalog's value.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from assistant.dialogues import dialogue_files, shape_warnings, validate_dialogues
from retrieval.catalog import Catalog, catalog_files, load_catalog, validate_catalog
from retrieval.fileio import DataError, Problem, iter_jsonl


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) < 0.005
    return str(a).strip().lower() == str(b).strip().lower()


def check_annotations(path: str, catalog: Catalog) -> list[Problem]:
    """Problems with the optional per-message annotations of a dialogue file against `catalog`.

    Args:
        path: a dialogue JSONL file (lines that are not valid dialogues are skipped here; the schema check
            reports them).
        catalog: the catalog the dialogues refer to.

    Returns:
        One `Problem` per unknown candidate id, unknown fact product, unknown fact field, or fact value that
        differs from the catalog.
    """
    problems: list[Problem] = []
    for line, rec in iter_jsonl(path):
        if not isinstance(rec, dict) or not isinstance(rec.get("messages"), list):
            continue
        for i, m in enumerate(rec["messages"]):
            if not isinstance(m, dict):
                continue
            where = f"messages[{i}]"
            cands = m.get("candidates")
            if cands is not None:
                if not isinstance(cands, list):
                    problems.append(Problem(path, line, f"{where}.candidates", "must be a list of product ids"))
                else:
                    for c in cands:
                        if str(c) not in catalog:
                            problems.append(
                                Problem(path, line, f"{where}.candidates", f"product {c!r} is not in the catalog")
                            )
            facts = m.get("facts")
            if facts is None:
                continue
            if not isinstance(facts, list):
                problems.append(Problem(path, line, f"{where}.facts", "must be a list of {product, field, value}"))
                continue
            for j, f in enumerate(facts):
                fw = f"{where}.facts[{j}]"
                if not isinstance(f, dict) or not {"product", "field", "value"} <= set(f):
                    problems.append(Problem(path, line, fw, "must be an object with product, field and value"))
                    continue
                p = catalog.get(str(f["product"]))
                if p is None:
                    problems.append(Problem(path, line, fw, f"product {f['product']!r} is not in the catalog"))
                    continue
                field = str(f["field"])
                if field in ("title", "price", "brand", "rating", "currency"):
                    actual = getattr(p, field)
                elif field in p.attributes:
                    actual = p.attributes[field]
                else:
                    problems.append(Problem(path, line, fw, f"{p.id} has no field {field!r}"))
                    continue
                if not _same(actual, f["value"]):
                    problems.append(
                        Problem(path, line, fw, f"{p.id} {field} is {actual!r} in the catalog, not {f['value']!r}")
                    )
    return problems


def main(argv: list[str] | None = None) -> int:
    """`shopguide data validate` entry point.

    Args:
        argv: command-line arguments (None: `sys.argv[1:]`).

    Returns:
        0 when the file has no problem, 1 otherwise.
    """
    ap = argparse.ArgumentParser(
        prog="shopguide data validate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("file", help="the file or folder to check (.jsonl, .jsonl.gz; catalogs also .csv, .parquet)")
    ap.add_argument("--kind", choices=["catalog", "dialogues"], required=True, help="what the file holds")
    ap.add_argument("--catalog", help="with --kind dialogues: catalog file or folder to check product ids against")
    args = ap.parse_args(argv)
    noun = "products" if args.kind == "catalog" else "dialogues"
    path = Path(args.file)
    files = [path]
    if path.is_dir():
        files = catalog_files(path) if args.kind == "catalog" else dialogue_files(path)
        if not files:
            print(f"{path}: -: folder holds no {args.kind} files", file=sys.stderr)
            return 1
    try:
        catalog = load_catalog(args.catalog) if args.kind == "dialogues" and args.catalog else None
    except DataError as e:  # the catalog the dialogues refer to could not be read
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1
    failed = False
    for f in files:
        warnings: list[Problem] = []
        if args.kind == "catalog":
            good, problems = validate_catalog(f)
        else:
            good, problems = validate_dialogues(f, set(catalog.by_id) if catalog else None)
            if catalog is not None and f.is_file():
                problems += check_annotations(str(f), catalog)
            lines = {rec.get("id"): line for line, rec in iter_jsonl(f) if isinstance(rec, dict)} if good else {}
            for d in good:
                warnings += [Problem(str(f), lines.get(d.id), fld, msg) for fld, msg in shape_warnings(d)]
        for p in problems:
            print(p, file=sys.stderr)
        _print_warnings(warnings)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"{f}: {len(good)} valid {noun}, {status}" + (f", {len(warnings)} warning(s)" if warnings else ""))
        failed = failed or bool(problems)
    return 1 if failed else 0


def _print_warnings(warnings: list[Problem], first: int = 10) -> None:
    """The first `first` warnings of each kind as `warning: file:line: field: message`, then a count per kind."""
    shown: Counter = Counter()
    for w in warnings:
        shown[w.message] += 1
        if shown[w.message] <= first:
            print(f"warning: {w}", file=sys.stderr)
    for message, n in shown.items():
        dialogues = len({w.line for w in warnings if w.message == message})
        print(f"warning: {n} x ({dialogues} dialogue(s)): {message}", file=sys.stderr)
