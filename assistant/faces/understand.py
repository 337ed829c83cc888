"""`shopguide understand`: what the assistant reads in a shopper's message, as JSON, without generating anything.

    shopguide understand --bundle demo "a red rain jacket under $60"
    shopguide understand --bundle demo --history dialogue.json "is the second one waterproof?"
    shopguide understand --bundle demo --file messages.txt      # one message a line -> one JSON a line

Only the bundle's catalog (its index's `products.jsonl`) and vocabulary are loaded: no language model, no
encoder, no search. From Python: `open_reader(bundle).understand(messages)` (an `Assistant` over the catalog
alone), or `Assistant.understand` on a loaded assistant. The fields are documented in docs/understanding.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# ShopVocabulary through the orchestrator: faces sit above it and do not import understanding/ (tests/test_layout.py)
from assistant.orchestrator import Assistant, ShopVocabulary
from retrieval.catalog import Catalog, load_catalog
from retrieval.fileio import DataError, Problem

ROLES = ("user", "assistant")


@dataclass
class CatalogOnly:
    """Stands in for the search index of an `Assistant` that only reads messages: its catalog, never a search."""

    catalog: Catalog


def open_reader(bundle: str | Path) -> Assistant:
    """An `Assistant` over `bundle`'s catalog and vocabulary alone, for `understand` (no engine, no index).

    Raises:
        DataError: no `assistant.json`, no index named in it, or a malformed catalog or vocabulary file.
    """
    bundle = Path(bundle)
    cfg_file = bundle / "assistant.json"
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise DataError([Problem(str(cfg_file), None, None, "no assistant bundle here (no assistant.json)")]) from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError([Problem(str(cfg_file), None, None, f"not valid JSON: {e}")]) from e
    if not isinstance(cfg, dict) or not isinstance(cfg.get("index"), str):
        raise DataError([Problem(str(cfg_file), None, "index", "required path is missing")])
    products = bundle / cfg["index"] / "products.jsonl"
    if not products.is_file():
        raise DataError([Problem(str(cfg_file), None, "index", f"{products} does not exist")])
    vocab_file = bundle / cfg.get("vocabulary", "vocabulary.json")
    adapters = cfg.get("adapters") if isinstance(cfg.get("adapters"), dict) else {}
    return Assistant(
        CatalogOnly(load_catalog(products)),
        None,
        adapters=sorted(adapters),
        default_category=cfg.get("default_category"),
        vocabulary=ShopVocabulary.load(vocab_file) if vocab_file.is_file() else None,
    )


def read_history(path: str | Path) -> list[dict[str, Any]]:
    """The dialogue before the message: a JSON list of `{"role", "content"}` messages, or one such object a line.

    Raises:
        DataError: unreadable file, invalid JSON, or a message without a user/assistant role or text content.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError([Problem(str(path), None, None, f"cannot be read: {e}")]) from e
    try:
        data = json.loads(text)
        rows = [(None, m) for m in data] if isinstance(data, list) else [(1, data)]
    except json.JSONDecodeError:
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((n, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise DataError([Problem(str(path), n, None, f"not valid JSON: {e.msg} at column {e.colno}")])
    problems = []
    for i, (n, m) in enumerate(rows):
        where, name = (n, "") if n is not None else (None, f"[{i}].")
        if not isinstance(m, dict):
            problems.append(Problem(str(path), where, name.rstrip(".") or None, "a message must be a JSON object"))
        elif m.get("role") not in ROLES:
            problems.append(Problem(str(path), where, f"{name}role", f"must be one of {', '.join(ROLES)}"))
        elif not isinstance(m.get("content"), str):
            problems.append(Problem(str(path), where, f"{name}content", "must be text"))
    if problems:
        raise DataError(problems)
    return [{"role": m["role"], "content": m["content"]} for _, m in rows]


def read_lines(path: str | Path) -> list[str]:
    """The messages of a `--file`: one a line, blank lines skipped.

    Raises:
        DataError: unreadable file, or a line that is not UTF-8 text.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError([Problem(str(path), None, None, f"cannot be read: {e.strerror or e}")]) from e
    lines, problems = [], []
    for n, line in enumerate(raw.splitlines(), 1):
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            problems.append(Problem(str(path), n, None, "not UTF-8 text"))
            continue
        if text:
            lines.append(text)
    if problems:
        raise DataError(problems)
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopguide understand",
        description="Print what the assistant reads in a shopper's message as JSON: intent, category, needs "
        "(min_price, max_price, attributes, exclude_attributes, brands, exclude_brands, released), refers_to, "
        "compare, ask_attribute, language. Loads only the bundle's catalog and vocabulary (no model). Fields: "
        "docs/understanding.md.",
    )
    parser.add_argument("message", nargs="?", help="the shopper's message (or --file)")
    parser.add_argument("--bundle", default="demo", help="assistant bundle folder (default: demo)")
    parser.add_argument(
        "--history",
        metavar="FILE",
        help='the dialogue before the message: a JSON list of {"role": "user"|"assistant", "content": "..."} '
        "(or one such object a line); assistant messages name the products shown",
    )
    parser.add_argument(
        "--file",
        metavar="MESSAGES.txt",
        help="read one message a line and print one JSON a line, each read on its own (after --history)",
    )
    parser.add_argument("--category", default=None, help="force the category (default: routed from the dialogue)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print the reading of a message (or of each line of --file) as JSON; 1 on bad input, with its reason."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.message is None) == (args.file is None):
        parser.error("give one message, or --file MESSAGES.txt")
    try:
        history = read_history(args.history) if args.history else []
        messages = read_lines(args.file) if args.file else [args.message]
        reader = open_reader(args.bundle)
        for message in messages:
            reading = reader.understand(history + [{"role": "user", "content": message}], category=args.category)
            print(json.dumps(reading.to_dict(), ensure_ascii=False), flush=True)
    except ValueError as e:  # a DataError (file:line: field: message), or an unknown --category
        print(f"shopguide understand: {e}", file=sys.stderr)
        return 1
    return 0
