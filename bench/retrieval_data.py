"""Evaluation sets for `shopguide bench retrieval`: demo target categories, ePQA evidence ranking,
RecQuest target products, and BigBasket products replicated to any size for speed runs.

Each quality set is `EvalSet(name, products, queries)` where a query is `(text, gold ids, Filters)`: the
filters restrict a query to its own candidate pool (a category, a question's evidence), and the index
applies them exactly. The real datasets are read from `../shared/data` and are never copied.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.dialogues import load_dialogues
from retrieval.catalog import Product, load_catalog
from retrieval.filters import Filters
from training.retriever import recommendation_pairs


@dataclass
class EvalSet:
    """Products to index, and queries `(text, gold ids, filters)` with the unlabeled target texts for TCA."""

    name: str
    products: list[Product]
    queries: list[tuple[str, set[str], Filters | None]]
    target_texts: list[str] = field(default_factory=list)


def demo_sets(data: Path, targets: list[str]) -> list[EvalSet]:
    """One set per target category: its catalog, its test-split recommendation turns (category filter)."""

    sets = []
    for c in targets:
        cat = load_catalog(data / "catalog" / f"{c}.jsonl")
        pairs = recommendation_pairs(load_dialogues(data / "dialogues" / f"{c}.test.jsonl", set(cat.by_id)))
        lines = (data / "unlabeled" / f"{c}.jsonl").read_text(encoding="utf-8").splitlines()
        unl = [json.loads(x)["text"] for x in lines if x.strip()]
        sets.append(EvalSet(f"demo/{c}", list(cat), [(q, set(g), Filters(category=c)) for q, g in pairs], unl))
    return sets


def epqa_set(path: Path, max_questions: int | None = None) -> EvalSet:
    """ePQA dev: rank each question's evidence candidates; gold = label 2 (the evidence answers it).

    Each candidate is a product (id = qa_pair_id, title = the evidence text, category = the ASIN) with a
    `qid` attribute; a query's filter `attributes_equal={"qid": ...}` limits it to its own candidates.
    """
    by_q: dict[str, list[dict]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_q.setdefault(row["qid"], []).append(row)
    products, queries = [], []
    for qid, rows in list(by_q.items())[:max_questions]:
        gold = {f"{qid}-{r['qa_pair_id']}" for r in rows if r["label"] == "2"}
        for r in rows:
            products.append(
                Product(
                    f"{qid}-{r['qa_pair_id']}",
                    r["candidate"].strip() or "-",
                    r["ASIN"],
                    description=r["title"],
                    attributes={"qid": qid, "source": r["source"]},
                )
            )
        if gold:
            queries.append((rows[0]["question"], gold, Filters(attributes_equal={"qid": qid})))
    return EvalSet("ePQA evidence", products, queries, [q for q, _, _ in queries])


_SELECTED = re.compile(r"Selected item for recommendation: (.*) \(ID: ([A-Z0-9]+)\)\s*$", re.S)


def recquest_set(root: Path) -> EvalSet:
    """RecQuest: corpus = every recommended item (title) plus the task targets (full text); query = the
    human turns of a dialogue, gold = its target product; filter = the dialogue's domain."""
    items: dict[str, Product] = {}
    for f in sorted((root / "tasks").glob("*.json")):
        for t in json.loads(f.read_text(encoding="utf-8")):
            tgt = t.get("target") or {}
            if tgt.get("asin"):
                content = tgt.get("content", "")
                title = content.split("  features:")[0].removeprefix("title: ").strip()
                items[tgt["asin"]] = Product(tgt["asin"], title or tgt["asin"], f.stem, description=content)
    queries = []
    for f in sorted((root / "dialogues").glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        for m in d.get("messages", []):
            hit = _SELECTED.match(m.get("content", "")) if m.get("role") == "system" else None
            if hit and hit.group(2) not in items:
                items[hit.group(2)] = Product(hit.group(2), hit.group(1).strip(), d["domain"])
        human = " ".join(m["content"].strip() for m in d.get("messages", []) if m.get("role") == "human")
        tid = (d.get("target") or {}).get("id")
        if human and tid:
            queries.append((human, {tid}, Filters(category=d["domain"])))
    queries = [q for q in queries if next(iter(q[1])) in items]
    return EvalSet("RecQuest target", list(items.values()), queries, [q for q, _, _ in queries])


def bigbasket_products(path: Path) -> list[Product]:
    """The 27,555 BigBasket products (title, category, brand, sale price, sub-category and type attributes)."""
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                price = float(row["sale_price"])
            except (TypeError, ValueError):
                price = None
            out.append(
                Product(
                    f"bb{row['index']}",
                    (row["product"] or "").strip() or "-",
                    row["category"].strip(),
                    price=price,
                    brand=(row["brand"] or "").strip() or None,
                    attributes={"sub_category": row["sub_category"].strip(), "type": row["type"].strip()},
                )
            )
    return out


def replicate(
    products: list[Product], emb: np.ndarray, n: int, noise: float = 0.01, seed: int = 0
) -> tuple[list[Product], np.ndarray]:
    """`n` products by replicating `products` (copy r gets id suffix and a jittered price) with their
    embeddings plus Gaussian noise (re-normalised) so that copies are near, not exact, duplicates."""
    rng = np.random.default_rng(seed)
    base = len(products)
    reps = []
    for i in range(n):
        p = products[i % base]
        r = i // base
        price = None if p.price is None else round(p.price * (1 + 0.01 * (r % 7)), 2)
        reps.append(
            Product(
                f"{p.id}-{r}",
                p.title if r == 0 else f"{p.title} pack {r}",
                p.category,
                price=price,
                brand=p.brand,
                attributes=p.attributes,
            )
        )
    x = np.empty((n, emb.shape[1]), np.float32)
    for s in range(0, n, 100_000):  # in chunks: float32 throughout, no n x d float64 temporaries
        e = min(n, s + 100_000)
        x[s:e] = emb[np.arange(s, e) % base] + rng.standard_normal((e - s, emb.shape[1]), np.float32) * noise
        x[s:e] /= np.linalg.norm(x[s:e], axis=1, keepdims=True)
    return reps, x
