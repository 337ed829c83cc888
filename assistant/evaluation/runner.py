"""Batch evaluation runs: stream a transcript file, score or replay each dialogue in parallel, append results
as they finish (resumable), then recompute `metrics.json` and the HTML report from `results.jsonl`.

    metrics = run_eval("test.jsonl", "catalog/", "runs/eval1", workers=2)              # scoring mode
    metrics = run_eval("test.jsonl", "catalog/", "runs/eval2", assistant_dir="demo")   # replay mode

Output folder:
    run.json        what was evaluated (a restart must match it, or pass fresh=True)
    results.jsonl   one record per finished dialogue, appended and fsync'ed; a restart skips the ids in it
    metrics.json    written atomically at the end, always recomputed from the whole results.jsonl
    report.html     self-contained report

A malformed line (bad JSON, missing field, target not in the catalog, duplicate id) is logged as
`file:line: field: message`, skipped, and listed in metrics.json under "skipped". Product ids in messages that
are not in the catalog do not skip a dialogue: scoring counts them as hallucinated products. A file without
any dialogue is an error, not a run of "0 dialogues". A dialogue whose scoring or
replay raises is recorded with its "error" and counted, and retried on the next restart.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from assistant.dialogues import Dialogue, parse_dialogue
from assistant.evaluation.reading import Reader
from assistant.evaluation.report import write_report
from assistant.evaluation.scoring import K_VALUES, replay_dialogue, score_dialogue
from assistant.evaluation.summary import summarize, worst_dialogues
from assistant.orchestrator import Assistant
from retrieval.catalog import Catalog, load_catalog
from retrieval.fileio import DataError, Problem, atomic_write_json, iter_jsonl

log = logging.getLogger(__name__)
_STATE: dict[str, Any] = {}  # per-process: reader, assistant, k_values


def _watch_parent(parent: int) -> None:
    """Exit a worker whose parent died (e.g. killed with SIGKILL), instead of waiting forever."""
    while True:
        time.sleep(2.0)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(
    catalog: Catalog,
    assistant_dir: str | None,
    assistant: Any,
    k_values: tuple[int, ...],
    parent: int | None = None,
    others: tuple[str, ...] = (),
) -> None:
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _STATE["reader"] = Reader(catalog)
    _STATE["others"] = [Reader(load_catalog(p)) for p in others]
    _STATE["k"] = k_values
    if assistant is not None:
        _STATE["assistant"] = assistant
    elif assistant_dir is not None:
        _STATE["assistant"] = Assistant.from_pretrained(assistant_dir)
    else:
        _STATE["assistant"] = None


def _evaluate(item: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    line, raw = item
    d = Dialogue(raw["id"], raw["category"], raw["messages"], raw.get("target"), raw.get("extra", {}))
    try:
        if _STATE["assistant"] is None:
            rec = score_dialogue(d, _STATE["reader"], _STATE["k"], others=_STATE["others"])
        else:
            rec = replay_dialogue(d, _STATE["assistant"], _STATE["reader"], _STATE["k"], others=_STATE["others"])
    except Exception as e:  # one broken dialogue must not end a long run; it is recorded and counted
        log.exception("dialogue %s failed", d.id)
        rec = {
            "id": d.id,
            "category": d.category,
            "mode": "replay" if _STATE["assistant"] else "score",
            "target": d.target,
            "turns": [],
            "scores": {},
            "error": f"{type(e).__name__}: {e}",
        }
    rec["line"] = line
    return rec


def _evaluate_chunk(chunk: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [_evaluate(item) for item in chunk]


def iter_transcripts(
    path: str | Path, product_ids: set[str] | None, skipped: list[dict[str, Any]]
) -> Iterator[tuple[int, Dialogue]]:
    """Yield `(line, Dialogue)` for each good line; append a record to `skipped` (and log it) for each bad one.

    Args:
        path: a dialogue JSONL file.
        product_ids: catalog ids that targets must belong to (None: not checked). Ids in messages are not
            checked here: naming a product the catalog lacks is what scoring counts as a hallucination.
        skipped: receives `{"line", "field", "message", "problem"}` per skipped line.
    """
    first: dict[str, int] = {}
    for line, rec in iter_jsonl(path):
        probs: list[Problem]
        d = None
        if isinstance(rec, Problem):
            probs = [rec]
        else:
            d, probs = parse_dialogue(rec, str(path), line)
            if d is not None and d.id in first:
                msg = f"duplicate id {d.id!r} (first on line {first[d.id]})"
                probs, d = [Problem(str(path), line, "id", msg)], None
            elif d is not None and product_ids is not None and d.target is not None and d.target not in product_ids:
                msg = f"product {d.target!r} is not in the catalog"
                probs, d = [Problem(str(path), line, "target", msg)], None
        if d is None:
            for p in probs:
                log.warning("skipped %s", p)
            skipped.append(
                {
                    "line": line,
                    "field": probs[0].field,
                    "message": "; ".join(p.message for p in probs),
                    "problem": "\n".join(str(p) for p in probs),
                }
            )
            continue
        first[d.id] = line
        yield line, d


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for raw in f if raw.strip())


def read_results(path: str | Path, turns: bool = True, ids: set[str] | None = None) -> list[dict[str, Any]]:
    """Records of a results.jsonl, the last one per dialogue id winning; a torn last line is ignored.

    Args:
        path: the results file.
        turns: keep each record's per-turn details; False replaces them by `n_turns` (constant memory per
            dialogue, for large files).
        ids: only these dialogue ids (None: all).

    Returns:
        The records in input-file line order.
    """
    out: dict[str, dict[str, Any]] = {}
    if not Path(path).exists():
        return []
    for _, rec in iter_jsonl(path):
        if isinstance(rec, dict) and "id" in rec and (ids is None or rec["id"] in ids):
            if not turns:
                rec["n_turns"] = len(rec.pop("turns", []))
            out[rec["id"]] = rec
    return sorted(out.values(), key=lambda r: (r.get("line") or 0, str(r["id"])))


def _repair_tail(path: Path) -> None:
    """Cut a partly written last line (a run killed mid-write) so appending starts on a clean line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    size = path.stat().st_size
    with open(path, "rb+") as f:
        start = size
        while start > 0:  # read backwards in blocks: results files can be large
            start = max(0, start - (1 << 16))
            f.seek(start)
            data = f.read(size - start)
            if data.endswith(b"\n"):
                return
            cut = data.rfind(b"\n")
            if cut >= 0 or start == 0:
                f.truncate(start + cut + 1)
                return


def run_eval(
    transcripts: str | Path,
    catalog: str | Path | Catalog,
    out: str | Path,
    *,
    assistant_dir: str | Path | None = None,
    assistant: Any = None,
    workers: int = 1,
    k_values: tuple[int, ...] = K_VALUES,
    limit: int | None = None,
    fresh: bool = False,
    report: bool = True,
    progress: bool = True,
    chunk_size: int = 4,
    worst: int = 6,
    other_catalogs: tuple[str | Path, ...] = (),
) -> dict[str, Any]:
    """Evaluate a transcript file into `out` (see the module docstring) and return the metrics.

    Args:
        transcripts: dialogue JSONL file.
        catalog: catalog file/folder or a loaded `Catalog`.
        out: output folder.
        assistant_dir: assistant bundle to replay through (replay mode); None scores the transcripts.
        assistant: an already built object with `.reply(messages, category=...)` (replay in this process,
            workers must be 1); for tests and notebooks.
        workers: processes (each loads the catalog, and in replay mode its own assistant).
        k_values: ranking cut-offs.
        limit: evaluate at most this many dialogues of the file.
        fresh: discard earlier results in `out` instead of resuming.
        report: also write report.html.
        progress: show a tqdm progress bar.
        chunk_size: dialogues per task sent to a worker process.
        worst: worst dialogues shown turn by turn in the report.
        other_catalogs: catalogs of other shops (files or folders): replies naming their products are counted
            (`other_catalog_products`), e.g. to show a bundle never names the demo's products.

    Returns:
        The metrics dictionary written to metrics.json.

    Raises:
        DataError: the transcript or catalog file is missing/unreadable or holds no dialogue, or `out` holds a
            different run.
        ValueError: an in-process `assistant` with workers > 1.
    """
    from tqdm import tqdm

    transcripts, out = Path(transcripts), Path(out)
    if not transcripts.is_file():
        raise DataError([Problem(str(transcripts), None, None, "transcript file not found")])
    if _count_lines(transcripts) == 0:
        raise DataError([Problem(str(transcripts), None, None, "holds no dialogues (the file is empty)")])
    if assistant is not None and workers > 1:
        raise ValueError("an in-process assistant object needs workers=1; pass assistant_dir for parallel replay")
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    others = tuple(str(p) for p in other_catalogs)
    mode = "score" if assistant is None and assistant_dir is None else "replay"
    config = {
        "transcripts": str(transcripts.resolve()),
        "catalog": None if isinstance(catalog, Catalog) else str(Path(catalog).resolve()),
        "mode": mode,
        "k_values": list(k_values),
        "assistant": str(Path(assistant_dir).resolve())
        if assistant_dir
        else (type(assistant).__name__ if assistant is not None else None),
        "limit": limit,
        "other_catalogs": [str(Path(p).resolve()) for p in other_catalogs] or None,
    }
    if assistant_dir is not None and not (Path(assistant_dir) / "assistant.json").is_file():  # before --out is touched
        msg = "no assistant bundle here (no assistant.json); pass --assistant the folder `shopguide build` wrote"
        raise DataError([Problem(str(assistant_dir), None, "--assistant", msg)])
    out.mkdir(parents=True, exist_ok=True)
    results_path, run_path = out / "results.jsonl", out / "run.json"
    if fresh:
        for p in (results_path, out / "metrics.json"):
            p.unlink(missing_ok=True)
    elif run_path.exists() and results_path.exists():
        old = json.loads(run_path.read_text())
        if {k: old.get(k) for k in config} != config:
            msg = (
                f"this folder holds results of a different run ({old.get('mode')} of {old.get('transcripts')}); "
                "pass --fresh or another --out"
            )
            raise DataError([Problem(str(run_path), None, None, msg)])
    atomic_write_json(run_path, config)
    _repair_tail(results_path)
    done = {r["id"] for r in read_results(results_path, turns=False) if "error" not in r}
    skipped: list[dict[str, Any]] = []
    total = _count_lines(transcripts)
    if limit is not None:
        total = min(total, limit)
    bar = tqdm(total=total, desc=f"eval ({mode})", unit="dlg", disable=not progress, dynamic_ncols=True)

    def todo() -> Iterator[tuple[int, dict[str, Any]]]:
        n = seen_skips = 0
        for line, d in iter_transcripts(transcripts, set(cat.by_id), skipped):
            bar.update(len(skipped) - seen_skips)
            seen_skips = len(skipped)
            if limit is not None and n >= limit:
                return
            n += 1
            if d.id in done:
                bar.update(1)
                continue
            yield (
                line,
                {"id": d.id, "category": d.category, "messages": d.messages, "target": d.target, "extra": d.extra},
            )

    n_new = 0
    with open(results_path, "a", encoding="utf-8") as f:

        def write(rec: dict[str, Any]) -> None:
            nonlocal n_new
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            n_new += 1
            bar.update(1)

        if workers <= 1:
            _init_worker(cat, str(assistant_dir) if assistant_dir else None, assistant, tuple(k_values), None, others)
            for item in todo():
                write(_evaluate(item))
        else:
            ctx = mp.get_context("fork" if mode == "score" and "fork" in mp.get_all_start_methods() else "spawn")
            with ProcessPoolExecutor(
                workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(
                    cat,
                    str(assistant_dir) if assistant_dir else None,
                    None,
                    tuple(k_values),
                    os.getpid(),
                    others,
                ),
            ) as pool:
                pending: set = set()
                chunk: list[tuple[int, dict[str, Any]]] = []
                for item in todo():
                    chunk.append(item)
                    if len(chunk) >= chunk_size:
                        pending.add(pool.submit(_evaluate_chunk, chunk))
                        chunk = []
                    while len(pending) >= 2 * workers:  # bounded memory on large files
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            for rec in fut.result():
                                write(rec)
                if chunk:
                    pending.add(pool.submit(_evaluate_chunk, chunk))
                for fut in wait(pending).done:
                    for rec in fut.result():
                        write(rec)
    bar.close()
    log.info("evaluated %d new dialogue(s), %d already done, %d line(s) skipped", n_new, len(done), len(skipped))
    results = read_results(results_path, turns=mode == "replay")  # corpus chrF/BLEU need the replay turns
    if not results:
        why = f"holds no dialogues that can be evaluated ({len(skipped)} malformed line(s), logged above)"
        raise DataError([Problem(str(transcripts), None, None, why)])
    metrics = summarize(results, skipped, {**config, "new_this_run": n_new}, k_values=tuple(k_values))
    atomic_write_json(out / "metrics.json", metrics)
    if report:
        bad = {r["id"] for r in worst_dialogues(results, worst)}
        write_report(out / "report.html", metrics, results, worst, worst_records=read_results(results_path, ids=bad))
    return metrics
