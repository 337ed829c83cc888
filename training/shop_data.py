"""A shop's own data as `shopguide build` reads it: its dialogue logs cleaned for this catalog, its unlabeled
shopper utterances, a stable train / validation / test split, and the recipes' data layout written under the
build's work folder.

    dialogues, report = load_shop_dialogues("logs/", catalog)
    counts = prepare_work(work / "data", catalog, dialogues, unlabeled, holdout=0.1, vocabulary=shop)
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from assistant.dialogues import Dialogue, dialogue_files, validate_dialogues
from assistant.understanding.vocabulary import ShopVocabulary
from retrieval.catalog import Catalog
from retrieval.fileio import DataError, Problem, atomic_write_jsonl, iter_jsonl


def load_shop_dialogues(path: str | Path, catalog: Catalog) -> tuple[dict[str, list[Dialogue]], dict[str, Any]]:
    """A shop's dialogue logs, per category, cleaned for training on this catalog.

    Args:
        path: a dialogue JSONL file or a folder of them.
        catalog: the shop's catalog.

    Returns:
        `({category: [Dialogue]}, report)`: malformed lines are skipped, dialogues of categories the catalog
        does not have are left out, product ids the catalog lacks are removed from the messages (the
        report counts each and keeps the first problems as `file:line: field: message`). System messages
        are dropped (logs, not turns).
    """
    p = Path(path)
    files = dialogue_files(p) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise DataError([Problem(str(p), None, None, "no dialogue file (*.jsonl) found")])
    by_cat: dict[str, list[Dialogue]] = defaultdict(list)
    report: Counter = Counter()
    problems: list[str] = []
    seen: set[str] = set()
    for f in files:
        good, probs = validate_dialogues(f)
        report["skipped lines"] += len({(q.file, q.line) for q in probs})
        problems += [str(q) for q in probs[:20]]
        for d in good:
            if d.category not in catalog.categories():
                report["dialogues of a category the catalog lacks"] += 1
                continue
            if d.id in seen:
                report["duplicate dialogue ids"] += 1
                continue
            seen.add(d.id)
            msgs = []
            for m in d.messages:
                if m["role"] == "system":
                    continue
                m = dict(m)
                for key in ("products", "candidates"):
                    ids = [str(x) for x in m.get(key) or []] if isinstance(m.get(key), list) else []
                    kept = [x for x in ids if x in catalog]
                    report["product ids not in the catalog (removed)"] += len(ids) - len(kept)
                    if key in m:
                        m[key] = kept
                msgs.append(m)
            target = d.target if d.target in catalog else None
            report["targets not in the catalog (removed)"] += d.target is not None and target is None
            if not any(m["role"] == "assistant" for m in msgs):
                report["dialogues without an assistant message"] += 1
                continue
            by_cat[d.category].append(Dialogue(d.id, d.category, msgs, target, d.extra))
    out = {k: v for k, v in report.items() if v}
    out["problems"] = problems[:20]
    return dict(by_cat), out


def read_unlabeled_file(path: str | Path, categories: list[str]) -> tuple[dict[str, list[str]], int]:
    """`{category: [text]}` from a JSONL of `{"category", "text"}` (our unlabeled format); returns the texts and
    how many lines were skipped (bad JSON, no text, a category the catalog lacks)."""
    texts: dict[str, list[str]] = defaultdict(list)
    skipped = 0
    for _, rec in iter_jsonl(path):
        ok = isinstance(rec, dict) and isinstance(rec.get("text"), str) and rec["text"].strip()
        if not ok or rec.get("category") not in categories:
            skipped += 1
            continue
        texts[rec["category"]].append(rec["text"].strip())
    return dict(texts), skipped


def split_of(dialogue_id: str, holdout: float) -> str:
    """ "train", "validation" or "test" from a hash of the id: stable across runs and file orders."""
    x = int(hashlib.sha1(dialogue_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if x < holdout else "validation" if x < 2 * holdout else "train"


def prepare_work(
    data: Path,
    catalog: Catalog,
    dialogues: dict[str, list[Dialogue]],
    unlabeled: dict[str, list[str]],
    holdout: float,
    vocabulary: ShopVocabulary | None = None,
) -> dict[str, dict[str, int]]:
    """Write the SFT recipe's layout under `data` and return dialogue counts per category and split. A category
    whose validation split would be empty validates on its training dialogues (SFT needs one). `vocabulary` (the
    bundle's) is written as `data/vocabulary.json`, so training renders the category wording the bundle serves."""
    counts: dict[str, dict[str, int]] = {}
    if vocabulary is not None:
        vocabulary.save(data / "vocabulary.json")
    for cat in catalog.categories():
        atomic_write_jsonl(data / "catalog" / f"{cat}.jsonl", (p.to_dict() for p in catalog if p.category == cat))
        splits: dict[str, list[Dialogue]] = {"train": [], "validation": [], "test": []}
        for d in dialogues.get(cat, []):
            splits[split_of(d.id, holdout)].append(d)
        if splits["train"] and not splits["validation"]:
            splits["validation"] = splits["train"][:1]
        if not splits["train"] and (splits["validation"] or splits["test"]):  # too few to hold any out
            splits["train"] = splits["validation"] + splits["test"]
            splits["validation"], splits["test"] = splits["train"][:1], []
        for split, rows in splits.items():
            atomic_write_jsonl(data / "dialogues" / f"{cat}.{split}.jsonl", (d.to_dict() for d in rows))
        if unlabeled.get(cat):
            atomic_write_jsonl(
                data / "unlabeled" / f"{cat}.jsonl", ({"category": cat, "text": t} for t in unlabeled[cat])
            )
        counts[cat] = {k: len(v) for k, v in splits.items()}
    return counts
