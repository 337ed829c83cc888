"""Simulation runs: draw the shoppers' goals, talk to the assistant in parallel, append each finished
dialogue (resumable), then recompute `metrics.json`, `transcripts.jsonl` and `report.html` from the results.

    metrics = run_simulation("catalog.jsonl", "demo", "runs/sim", shoppers=20, seed=0)
    metrics = run_simulation("catalog.jsonl", "http://127.0.0.1:7860/v1", "runs/sim-http", workers=4)
    record = simulate_dialogue(goal, profile, catalog, client)          # one shopper, no files

Output folder:
    run.json           what was simulated (a restart must match it, or pass fresh=True)
    results.jsonl      one record per finished shopper: goal, messages, per-turn reading, scores, outcome;
                       appended and fsync'ed; a restart skips the ids in it and retries failed ones
    transcripts.jsonl  the dialogues in the dialogue contract (`shopguide eval` scores them), failed ones left out
    metrics.json       recomputed from the whole results.jsonl at the end (metrics.summarize)
    report.html        self-contained report (report.write_report)

Parallelism is threads: the URL client waits on the network, and one in-process `Assistant` is
thread-safe and holds one copy of the model. Each shopper has its own random stream, so results do not
depend on `workers` or on the order dialogues finish. A dialogue whose assistant call fails ends there and
is recorded with its `error` (counted in metrics.json, retried on the next run); after
`max_consecutive_errors` failed dialogues in a row the remaining shoppers are not started and are recorded
as failed with the reason, so a dead endpoint ends the run quickly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from assistant.evaluation.runner import _repair_tail, read_results
from assistant.simulation.clients import ABLATIONS, AssistantError, ablate, can_ablate, is_url, make_client
from assistant.simulation.goals import CategoryProfile, Goal, catalog_profiles, draw_goals
from assistant.simulation.metrics import summarize
from assistant.simulation.report import write_report
from assistant.simulation.shopper import Shopper
from retrieval.catalog import Catalog, load_catalog
from retrieval.fileio import DataError, Problem, atomic_write_json, atomic_write_jsonl

log = logging.getLogger(__name__)
VERSION = 3  # bump when shopper behaviour changes: a run folder of another version is not resumed


def simulate_dialogue(
    goal: Goal, profile: CategoryProfile, catalog: Catalog, client: Any, products_from: str = "reply"
) -> dict[str, Any]:
    """Run one shopper against `client` (anything with `.chat(messages) -> ClientReply`).

    Returns:
        The results.jsonl record: id, category, goal, messages (dialogue contract plus `needs` on user
        messages and `seconds` on assistant ones), turns (what the shopper read each turn), scores, outcome
        ("success", "goodbye" (found a product, left to think it over), "left" or "error") and, when the
        assistant failed, `error`.
    """
    shopper = Shopper(goal, profile, catalog, products_from)
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": shopper.opening(), "products": [], "needs": shopper.needs_dict()}
    ]
    error = None
    reported = changed = 0  # replies whose endpoint says what its own check changed / that it changed
    while not shopper.done:
        try:
            r = client.chat(messages)
        except AssistantError as e:
            error = str(e)
            break
        text = shopper.respond(r.text, r.products, r.seconds)
        said = {
            "role": "assistant",
            "content": r.text,
            "products": shopper.turns[-1]["products"],
            "seconds": round(r.seconds, 4),
        }
        if r.corrections is not None:
            reported += 1
        if r.corrections:  # our assistant says what its check changed: kept for the record
            said["corrections"] = r.corrections
            changed += 1
        messages.append(said)
        if text is None:  # the reply to a goodbye or a leave: read, not answered
            continue
        messages.append(
            {
                "role": "user",
                "content": text,
                "products": [shopper.accepted] if shopper.accepted else [],
                "needs": shopper.needs_dict(),
            }
        )
    rec = {
        "id": goal.id,
        "category": goal.category,
        "goal": goal.to_dict(),
        "messages": messages,
        "turns": shopper.turns,
        "scores": {**shopper.scores(), "replies_changed_by_check": changed / reported if reported else None},
        "outcome": shopper.outcome or "error",
        "accepted": shopper.accepted,
    }
    if error is not None:
        rec["error"] = error
    return rec


def transcript(rec: dict[str, Any]) -> dict[str, Any]:
    """A results record as a dialogue in the contract: id, category, messages, target (the accepted product,
    else the goal's anchor), plus `simulation` (goal and outcome) kept as an unknown field."""
    target = rec.get("accepted") or rec["goal"]["anchor"]
    return {
        "id": rec["id"],
        "category": rec["category"],
        "messages": rec["messages"],
        "target": target,
        "simulation": {"outcome": rec["outcome"], "goal": rec["goal"]},
    }


def _fingerprint(catalog: Catalog) -> str:
    h = hashlib.sha256()
    for p in catalog:
        h.update(json.dumps(p.to_dict(), sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def run_simulation(
    catalog: str | Path | Catalog,
    assistant: str | Path | None,
    out: str | Path,
    *,
    shoppers: int = 20,
    seed: int = 0,
    categories: list[str] | None = None,
    patience: tuple[int, int] = (6, 10),
    model: str = "shopguide",
    api_key: str | None = None,
    timeout: float = 60.0,
    retries: int = 1,
    temperature: float | None = None,
    products_from: str = "reply",
    workers: int = 1,
    client: Any = None,
    fresh: bool = False,
    report: bool = True,
    progress: bool = True,
    max_consecutive_errors: int = 5,
    resamples: int = 1000,
    failed_shown: int = 8,
    device: str | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    ablations: bool | None = None,
) -> dict[str, Any]:
    """Simulate `shoppers` per category against an assistant into `out` (see the module docstring).

    Args:
        catalog: the shoppers' catalog (file, folder or `Catalog`): goals are drawn from it and replies are
            checked against it.
        assistant: an assistant bundle folder (loaded in this process) or an OpenAI-compatible URL; ignored
            when `client` is given.
        out: output folder.
        shoppers: shoppers per category.
        seed: goals, plans and phrasing all follow from it.
        categories: categories to simulate (None: all of the catalog's).
        patience: (min, max) assistant turns a shopper waits for a product meeting its goal.
        model, api_key, timeout, retries, temperature: for a URL (see `clients.OpenAIClient`).
        products_from: "reply" (the product ids returned with each reply, else the products named in its text)
            or "text" (only the text counts: compares an endpoint that returns ids with one that does not).
        workers: dialogues run at the same time (threads).
        client: an already built client (`.chat(messages)`, e.g. `InProcessClient(obj)`), for tests.
        fresh: discard earlier results in `out` instead of resuming.
        report: also write report.html.
        progress: show a tqdm progress bar.
        max_consecutive_errors: after this many failed dialogues in a row the rest are not started (0: never stop).
        resamples: bootstrap resamples for the CIs.
        failed_shown: failed dialogues shown beside their goal in the report.
        device: device for an in-process bundle.
        on_record: called with each finished record (tests, live monitoring).
        ablations: also run the `no-model` and `model-only` ablations (`clients.ABLATIONS`), each in its own
            subfolder of `out` (`full/`, `no-model/`, `model-only/`), and write `metrics.json` with
            `"ablations"` and `report.html` side by side in `out`. None: when the assistant runs in this
            process (a bundle folder, or an `InProcessClient` of an object with `engine` and `checks`); never for
            a URL.

    Returns:
        The metrics written to metrics.json (with ablations: the full run's, plus `"ablations"`).

    Raises:
        DataError: the catalog cannot give goals (missing prices / attributes, unknown category), the bundle
            is missing, or `out` holds a different run.
    """
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    source = "catalog" if isinstance(catalog, Catalog) else str(catalog)
    profiles = catalog_profiles(cat, categories, source=source)
    lo, hi = patience
    if not 1 <= lo <= hi:
        raise ValueError(f"patience must be 1 <= min <= max, got {patience}")
    if shoppers < 1:
        raise ValueError(f"shoppers must be at least 1, got {shoppers}")
    goals = draw_goals(profiles, shoppers, seed, patience)
    spec = None
    if assistant is not None:
        spec = str(assistant) if is_url(str(assistant)) else str(Path(assistant).resolve())
    config = {
        "version": VERSION,
        "catalog": None if isinstance(catalog, Catalog) else str(Path(catalog).resolve()),
        "catalog_fingerprint": _fingerprint(cat),
        "assistant": spec if spec is not None else getattr(client, "name", type(client).__name__),
        "model": model if spec and is_url(spec) else None,
        "shoppers_per_category": shoppers,
        "seed": seed,
        "categories": list(profiles),
        "patience": [lo, hi],
        "temperature": temperature,
        "products_from": products_from,
    }
    if client is None:
        if assistant is None:
            raise ValueError("pass an assistant (bundle folder or URL) or a client")
        client = make_client(
            str(assistant),
            model=model,
            api_key=api_key,
            timeout=timeout,
            retries=retries,
            temperature=temperature,
            device=device,
        )
    if ablations is None:
        ablations = can_ablate(client)

    def run(folder: Path, cfg: dict[str, Any], c: Any) -> dict[str, Any]:
        return _run_folder(
            folder, cfg, cat, profiles, goals, c, products_from, workers, fresh, report, progress,
            max_consecutive_errors, resamples, failed_shown, on_record,
        )  # fmt: skip

    if not ablations:
        return run(Path(out), config, client)
    if not can_ablate(client):
        raise ValueError("ablations need an assistant in this process (a bundle folder or an InProcessClient)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {name: run(out / name, {**config, "ablation": name}, ablate(client, name)) for name in ABLATIONS}
    metrics = {**runs["full"], "ablations": {n: _ablation_block(m) for n, m in runs.items()}}
    atomic_write_json(out / "run.json", {**config, "ablations": list(ABLATIONS)})
    atomic_write_json(out / "metrics.json", metrics)
    if report:
        results = read_results(out / "full" / "results.jsonl")
        order = {g.id: i for i, g in enumerate(goals)}
        results = sorted((r for r in results if r["id"] in order), key=lambda r: order[r["id"]])
        write_report(out / "report.html", metrics, results, cat, failed_shown=failed_shown)
    return metrics


def _ablation_block(m: dict[str, Any]) -> dict[str, Any]:
    """What metrics.json keeps of one ablation: the same metrics (overall, per category), counts and outcomes."""
    return {k: m[k] for k in ("counts", "outcomes", "overall", "per_category", "latency")}


def _run_folder(
    out: Path,
    config: dict[str, Any],
    cat: Catalog,
    profiles: dict[str, CategoryProfile],
    goals: list[Goal],
    client: Any,
    products_from: str,
    workers: int,
    fresh: bool,
    report: bool,
    progress: bool,
    max_consecutive_errors: int,
    resamples: int,
    failed_shown: int,
    on_record: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    """One simulation into one folder (resumable; see the module docstring); returns its metrics."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results_path, run_path = out / "results.jsonl", out / "run.json"
    if fresh:
        for p in (results_path, out / "metrics.json", out / "transcripts.jsonl"):
            p.unlink(missing_ok=True)
    elif run_path.exists() and results_path.exists():
        old = json.loads(run_path.read_text(encoding="utf-8"))
        if {k: old.get(k) for k in config} != config:
            diff = ", ".join(k for k in config if old.get(k) != config[k])
            raise DataError(
                [
                    Problem(
                        str(run_path),
                        None,
                        None,
                        f"this folder holds another simulation (differs in: {diff}); pass --fresh or another --out",
                    )
                ]
            )
    atomic_write_json(run_path, config)
    _repair_tail(results_path)
    done = {r["id"] for r in read_results(results_path, turns=False) if "error" not in r}
    todo = [g for g in goals if g.id not in done]
    order = {g.id: i for i, g in enumerate(goals)}
    bar = tqdm(
        total=len(goals),
        initial=len(goals) - len(todo),
        desc="simulate " + config.get("ablation", ""),
        unit="shopper",
        disable=not progress,
        dynamic_ncols=True,
    )
    lock = threading.Lock()
    streak = {"n": 0, "last": None, "stop": None}

    def one(goal: Goal) -> dict[str, Any]:
        if streak["stop"]:
            rec = {
                "id": goal.id,
                "category": goal.category,
                "goal": goal.to_dict(),
                "messages": [],
                "turns": [],
                "scores": {},
                "outcome": "error",
                "accepted": None,
                "error": streak["stop"],
            }
        else:
            try:
                rec = simulate_dialogue(goal, profiles[goal.category], cat, client, products_from)
            except Exception as e:  # a bug in one dialogue must not end a long run: recorded and counted
                log.exception("shopper %s failed", goal.id)
                rec = {
                    "id": goal.id,
                    "category": goal.category,
                    "goal": goal.to_dict(),
                    "messages": [],
                    "turns": [],
                    "scores": {},
                    "outcome": "error",
                    "accepted": None,
                    "error": f"{type(e).__name__}: {e}",
                }
        rec["line"] = order[goal.id] + 1
        with lock:
            if "error" in rec and not streak["stop"]:
                streak["n"] += 1
                streak["last"] = rec["error"]
                if max_consecutive_errors and streak["n"] >= max_consecutive_errors:
                    streak["stop"] = f"not run: {streak['n']} dialogues in a row failed (last: {rec['error']})"
                    log.warning("stopping: %s", streak["stop"])
            elif "error" not in rec:
                streak["n"] = 0
        return rec

    n_new = n_err = 0
    with open(results_path, "a", encoding="utf-8") as f:

        def write(rec: dict[str, Any]) -> None:
            nonlocal n_new, n_err
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            n_new += 1
            bar.update(1)
            if "error" in rec:
                n_err += 1
                bar.set_postfix(errors=n_err, refresh=False)
            if on_record is not None:
                on_record(rec)

        if workers <= 1:
            for g in todo:
                write(one(g))
        else:
            with ThreadPoolExecutor(workers) as pool:
                pending: set = set()
                for g in todo:
                    pending.add(pool.submit(one, g))
                    while len(pending) >= 2 * workers:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            write(fut.result())
                for fut in wait(pending).done:
                    write(fut.result())
    bar.close()
    results = read_results(results_path)
    results = [r for r in results if r["id"] in order]
    results.sort(key=lambda r: order[r["id"]])
    log.info("simulated %d new shopper(s), %d already done", n_new, len(done))
    metrics = summarize(results, {**config, "new_this_run": n_new}, n_resamples=resamples)
    atomic_write_json(out / "metrics.json", metrics)
    atomic_write_jsonl(out / "transcripts.jsonl", (transcript(r) for r in results if "error" not in r))
    if report:
        write_report(out / "report.html", metrics, results, cat, failed_shown=failed_shown)
    return metrics
