"""File I/O shared by every package (`retrieval.fileio`): atomic writes, JSONL reading, and data problems
that name file, line and field.

Everything that writes an artifact goes through `atomic_write_*`, so a killed process never leaves a
half-written file behind: the data is written to a temporary file in the same folder and renamed over
the target (rename is atomic on POSIX and Windows for files on one filesystem).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, printable as `file:line: field: message`."""

    file: str
    line: int | None  # 1-based; None for whole-file problems
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field or '-'}: {self.message}"


class DataError(ValueError):
    """Raised when an input file has problems; carries every `Problem` found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        shown = "\n".join(str(p) for p in self.problems[:20])
        more = f"\n... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} problem(s):\n{shown}{more}")


@contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[TextIO | BinaryIO]:
    """Open a temporary file beside `path`; on clean exit fsync and rename it over `path`.

    Args:
        path: final file path; its parent folder is created.
        mode: "w" (text) or "wb" (binary).
        encoding: text encoding (ignored for binary mode).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write `obj` as JSON to `path` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write `rows` as JSON lines to `path` atomically; returns the number of rows."""
    n = 0
    with atomic_open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, Any | Problem]]:
    """Yield `(line_number, object)` for each non-blank line, or `(line_number, Problem)` for lines
    that are not UTF-8 or not valid JSON. Never raises for bad content, so callers can report all of it.
    A `.gz` file is decompressed on the fly (Amazon ships `meta_*.jsonl.gz`).
    """
    import gzip

    name = str(path)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield (
                    lineno,
                    Problem(name, lineno, None, f"not UTF-8 (byte {e.start}: {raw[e.start : e.start + 1]!r})"),
                )
                continue
            if not text.strip():
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as e:
                yield lineno, Problem(name, lineno, None, f"invalid JSON: {e.msg} at column {e.colno}")
