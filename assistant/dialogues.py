"""Guide dialogues and transcripts: the `Dialogue` record and loading / validating dialogue files.

One dialogue per JSONL line, OpenAI's chat message shape plus `products`:

    {"id": str, "category": str,
     "messages": [{"role": "user"|"assistant"|"system", "content": str,
                   "products": [product ids recommended or discussed in that turn]}, ...],
     "target": product id (optional)}

Optional per-message annotations written by the bundled generator and kept for evaluation:
`act` (greet, elicit, recommend, answer, compare, relax, close, ...), `facts` (list of
{"product", "field", "value"} the turn states), `candidates` (product ids shown to the assistant for
that turn), `needs` (the shopper's needs after a user turn). Unknown fields are kept everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.fileio import DataError, Problem, iter_jsonl

ROLES = ("user", "assistant", "system")


@dataclass
class Dialogue:
    """A dialogue in one category. `messages` are plain dicts (role, content, products, ...)."""

    id: str
    category: str
    messages: list[dict[str, Any]]
    target: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "category": self.category, "messages": self.messages}
        if self.target is not None:
            d["target"] = self.target
        d.update(self.extra)
        return d

    def assistant_turns(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """`(index, message)` for every assistant message."""
        return ((i, m) for i, m in enumerate(self.messages) if m["role"] == "assistant")


def parse_dialogue(
    obj: Any, file: str, line: int, product_ids: set[str] | None = None
) -> tuple[Dialogue | None, list[Problem]]:
    """Check one raw dialogue record; `product_ids`, when given, is the catalog to check product ids against."""
    if not isinstance(obj, dict):
        return None, [Problem(file, line, None, f"expected a JSON object, got {type(obj).__name__}")]
    probs: list[Problem] = []
    for name in ("id", "category"):
        v = obj.get(name)
        if isinstance(v, int) and not isinstance(v, bool) and name == "id":
            continue
        if not isinstance(v, str) or not v.strip():
            probs.append(Problem(file, line, name, "required string is missing or empty"))
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        probs.append(Problem(file, line, "messages", "required list is missing"))
        msgs = []
    elif not msgs:
        probs.append(Problem(file, line, "messages", "dialogue is empty"))
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            probs.append(Problem(file, line, where, "must be an object with role and content"))
            continue
        if m.get("role") not in ROLES:
            probs.append(
                Problem(file, line, f"{where}.role", f"must be one of {', '.join(ROLES)}, got {m.get('role')!r}")
            )
        if not isinstance(m.get("content"), str):
            probs.append(Problem(file, line, f"{where}.content", "must be a string"))
        prods = m.get("products", [])
        if not isinstance(prods, list) or not all(isinstance(p, (str, int)) for p in prods):
            probs.append(Problem(file, line, f"{where}.products", "must be a list of product ids"))
        elif product_ids is not None:
            for p in prods:
                if str(p) not in product_ids:
                    probs.append(Problem(file, line, f"{where}.products", f"product {p!r} is not in the catalog"))
    if msgs and not any(isinstance(m, dict) and m.get("role") == "user" for m in msgs):
        probs.append(Problem(file, line, "messages", "dialogue has no user message"))
    target = obj.get("target")
    if target is not None:
        if not isinstance(target, (str, int)):
            probs.append(Problem(file, line, "target", "must be a product id"))
        elif product_ids is not None and str(target) not in product_ids:
            probs.append(Problem(file, line, "target", f"product {target!r} is not in the catalog"))
    if probs:
        return None, probs
    messages = [dict(m, products=[str(p) for p in m.get("products", [])]) for m in msgs]
    extra = {k: v for k, v in obj.items() if k not in ("id", "category", "messages", "target")}
    return Dialogue(
        str(obj["id"]), obj["category"].strip(), messages, None if target is None else str(target), extra
    ), []


def shape_warnings(d: Dialogue) -> list[tuple[str, str]]:
    """`(field, message)` for shapes that are valid but that replay treats specially: an assistant message
    that does not follow a user message (an assistant that speaks first, two assistant messages in a row) is
    kept as context and not replayed, and a dialogue where no assistant message follows a user message cannot be
    replayed at all. Real logs have these shapes; `shopguide data validate` reports them as warnings."""
    out: list[tuple[str, str]] = []
    prev: str | None = None
    replayable = 0
    for i, m in enumerate(d.messages):
        if m["role"] == "system":
            continue
        if m["role"] == "assistant":
            if prev is None:
                out.append((f"messages[{i}]", "the assistant speaks first: replay keeps this message as context"))
            elif prev == "assistant":
                out.append(
                    (f"messages[{i}]", "a second assistant message in a row: replay keeps it as context, not replayed")
                )
            else:
                replayable += 1
        prev = m["role"]
    if not replayable:
        out.append(("messages", "no assistant message follows a user message: replay cannot use this dialogue"))
    return out


def validate_dialogues(path: str | Path, product_ids: set[str] | None = None) -> tuple[list[Dialogue], list[Problem]]:
    """Read a whole dialogue file; returns the good dialogues and every problem (bad JSON, non-UTF-8,
    missing or mistyped fields, unknown products, empty dialogues, duplicate ids). Never raises for content."""
    path = Path(path)
    if not path.exists():
        return [], [Problem(str(path), None, None, "file not found")]
    if path.is_dir():
        return [], [Problem(str(path), None, None, "is a folder, not a dialogue file")]
    out: list[Dialogue] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for line, rec in iter_jsonl(path):
        if isinstance(rec, Problem):
            problems.append(rec)
            continue
        d, probs = parse_dialogue(rec, str(path), line, product_ids)
        problems.extend(probs)
        if d is None:
            continue
        if d.id in first_line:
            problems.append(
                Problem(str(path), line, "id", f"duplicate id {d.id!r} (first on line {first_line[d.id]})")
            )
            continue
        first_line[d.id] = line
        out.append(d)
    if not out and not problems:
        problems.append(Problem(str(path), None, None, "file holds no dialogues"))
    return out, problems


def dialogue_files(folder: str | Path) -> list[Path]:
    """The dialogue files in `folder` (`*.jsonl`, `*.jsonl.gz`), in name order."""
    return sorted(f for pattern in ("*.jsonl", "*.jsonl.gz") for f in Path(folder).glob(pattern) if f.is_file())


def load_dialogues(path: str | Path | Iterable[str | Path], product_ids: set[str] | None = None) -> list[Dialogue]:
    """Load and validate dialogue files (a file, a list of files, or a folder of `*.jsonl` / `*.jsonl.gz`).

    Raises:
        DataError: listing every problem as `file:line: field: message`.
    """
    if isinstance(path, (str, Path)):
        p = Path(path)
        files = dialogue_files(p) if p.is_dir() else [p]
    else:
        files = [Path(f) for f in path]
    dialogues: list[Dialogue] = []
    problems: list[Problem] = []
    for f in files:
        ds, probs = validate_dialogues(f, product_ids)
        dialogues.extend(ds)
        problems.extend(probs)
    if problems:
        raise DataError(problems)
    return dialogues
