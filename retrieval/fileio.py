"""File I/O shared by every package (`retrieval.fileio`): atomic writes, JSONL reading, and data problems
that name file, line and field.

Everything that writes an artifact goes through `atomic_write_*`, so a killed process never leaves a
half-written file behind: the data is written to a temporary file in the same folder and renamed over
the target (rename is atomic on POSIX and Windows for files on one filesystem). A folder that must change
as a whole (an index, a base model) is written with `atomic_folder`: built beside the target, then swapped in.
New files get the usual permissions (0666 less the umask), so an artifact one user builds another can read.
"""

from __future__ import annotations

import csv
import ctypes
import json
import os
import secrets
import shutil
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeVar

T = TypeVar("T")


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
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # os.open with 0o666 lets the kernel apply the umask (tempfile.mkstemp would make every artifact 0600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
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


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (`os.umask` alone must set one)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike) -> None:
    """Give `path` (a file, or every file under a folder) the mode a new file gets: 0666 less the umask.

    For files written by libraries that create them 0600 whatever the umask (safetensors 0.8 `save_file`,
    hence PEFT and transformers' `save_pretrained`), so an artifact one user builds another can read.
    """
    path = Path(path)
    mode = 0o666 & ~current_umask()
    for f in [path] if path.is_file() else path.rglob("*"):
        if f.is_file() and not f.is_symlink():
            os.chmod(f, mode)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux `renameat2(RENAME_EXCHANGE)`); False where unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None) if os.name == "posix" else None
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty folder beside `path` to write into; on clean exit it replaces `path` as a whole, its files
    with the umask's permissions (`apply_umask`).

    Readers see the old folder or the new one, never a mix: the new folder is swapped in with one atomic
    exchange on Linux; elsewhere the old one is renamed aside first (a kill between the two renames leaves
    `path` missing and both folders beside it). On an exception the new folder is removed and `path` is
    left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    tmp.mkdir()
    try:
        yield tmp
        apply_umask(tmp)
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        if not path.exists():
            os.replace(tmp, path)
        elif not _exchange(tmp, path):
            old = path.parent / f".{path.name}.{secrets.token_hex(6)}.old"
            os.replace(path, old)
            os.replace(tmp, path)
            tmp = old
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)  # after the swap: the old folder


def write_problem(e: OSError, path: str | os.PathLike) -> Problem | None:
    """The `Problem` naming `path` for an `OSError` raised while writing it with `atomic_folder` or `atomic_open`
    when the error is about `path`, a folder above it, or the staging file or folder beside it (a read-only
    mount, no permission, a file in the way, a full disk); None when it is about another file."""
    target = Path(os.path.abspath(path))
    for name in (e.filename, e.filename2):
        p = Path(os.path.abspath(name)) if name else None
        if p is not None and p != target and p in target.parents and p.is_file():
            return Problem(str(path), None, None, f"cannot be written: {p} is a file, not a folder")
        if p is not None and (p == target or p in target.parents):
            return Problem(str(path), None, None, f"cannot be written: {e.strerror or e}")
        head = p.relative_to(target.parent).parts[0] if p is not None and target.parent in p.parents else ""
        if head.startswith(f".{target.name}.") and head.endswith((".tmp", ".old")):  # the staging names above
            return Problem(str(path), None, None, f"cannot be written: {e.strerror or e}")
    return None


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
    A `.gz` file is decompressed on the fly (Amazon ships `meta_*.jsonl.gz`); a UTF-8 byte order mark is
    ignored; a gzip stream that breaks off ends the file with one more `Problem`.
    """
    import gzip

    name = str(path)
    opener = gzip.open if name.endswith(".gz") else open
    lineno = 0
    with opener(path, "rb") as f:
        lines = iter(f)
        while True:
            try:
                raw = next(lines, None)
            except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError; a cut stream is an EOFError
                yield lineno + 1, Problem(name, lineno + 1, None, f"not a readable gzip file ({e or 'cut short'})")
                return
            if raw is None:
                return
            lineno += 1
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark
                raw = raw[3:]
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
                msg = e.msg.removesuffix(" at")  # "Unterminated string starting at", "Invalid control character at"
                yield lineno, Problem(name, lineno, None, f"invalid JSON: {msg} at column {e.colno}")
            except (ValueError, RecursionError) as e:  # an integer of over 4300 digits; nesting past the stack
                why = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(":")[0]
                yield lineno, Problem(name, lineno, None, f"invalid JSON: {why}")


def iter_csv(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, str] | Problem]]:
    """Yield `(line, {column: text})` per CSV row (every cell as text: no type guessing), or `(line, Problem)`
    for a row with more or fewer cells than the header, bytes that are not UTF-8, or broken quoting. `line`
    is where the row starts (a quoted cell may span lines); blank lines are skipped; a UTF-8 BOM is ignored.
    """
    name = str(path)
    bad_bytes: dict[int, str] = {}

    def lines() -> Iterator[str]:
        with open(path, "rb") as f:
            for lineno, raw in enumerate(f, start=1):
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    bad_bytes[lineno] = f"not UTF-8 (byte {e.start}: {raw[e.start : e.start + 1]!r})"
                    yield raw.decode("utf-8", errors="replace")

    reader = csv.reader(lines())
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader, None)
        except csv.Error as e:
            yield start, Problem(name, start, None, f"not valid CSV: {e}")
            continue
        if cells is None:
            return
        bad = [n for n in range(start, reader.line_num + 1) if n in bad_bytes]
        if not cells:
            continue
        if bad:
            yield bad[0], Problem(name, bad[0], None, bad_bytes[bad[0]])
        elif header is None:
            header = [c.strip() for c in cells]
        elif len(cells) != len(header):
            yield start, Problem(name, start, None, f"row has {len(cells)} cells, the header has {len(header)}")
        else:
            yield start, dict(zip(header, cells))


def iter_parquet(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """Yield `(row, {column: value})` per Parquet row (`row` 1-based), then `(row, Problem)` and stop if the
    file cannot be read (not Parquet, or a corrupt row group)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches():
            for row in batch.to_pylist():
                n += 1
                yield n, row
    except (pa.ArrowException, OSError) as e:
        yield n + 1, Problem(str(path), n + 1 if n else None, None, f"not a readable Parquet file: {e}")


def read_artifact(path: str | os.PathLike, read: Callable[[Path], T]) -> T:
    """`read(path)` for a file a program wrote (a part of an index, a saved array), with a missing, cut short or
    corrupt file raised as a `DataError` that names it: the readers' own exceptions (`zipfile.BadZipFile`,
    numpy's `ValueError`, `json.JSONDecodeError`, faiss' `RuntimeError`) name no file.

    Raises:
        DataError: `path` is missing or `read` could not make sense of it.
    """
    path = Path(path)
    try:
        return read(path)
    except FileNotFoundError as e:
        raise DataError([Problem(str(path), None, None, "file not found")]) from e
    except (OSError, EOFError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError([Problem(str(path), None, None, f"cut short or corrupt ({why})")]) from e


def cache_root() -> Path:
    """Where converted models are cached (bases, CTranslate2 engines, ONNX encoders): `$SHOPGUIDE_CACHE`, else
    `$XDG_CACHE_HOME/shopguide`, else `~/.cache/shopguide`."""
    if os.environ.get("SHOPGUIDE_CACHE"):
        return Path(os.environ["SHOPGUIDE_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "shopguide"
