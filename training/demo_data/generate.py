"""`shopguide data generate`: write the bundled demo data (catalogs, guide dialogues, unlabeled utterances).

    shopguide data generate --out data/demo --seed 0

Layout (contract in docs/architecture.md):

    OUT/catalog/{category}.jsonl                            products (retrieval/catalog.py fields)
    OUT/dialogues/{category}.{train,validation,test}.jsonl  guide dialogues (assistant/dialogues.py)
    OUT/unlabeled/{category}.jsonl                          {"category", "text"}: shopper utterances alone
    OUT/vocabulary.json                                     the demo's shop vocabulary (category synonyms)

Categories: apparel (the source), shoes and home (extra sources), electronics and beauty (targets).
Everything is deterministic for `--seed` (one `random.Random` per category and part, never global state)
and takes a few seconds. Vocabulary: `vocab.py`; catalog: `catalog.py`; the shopper:
`user.py`; the assistant policy: `dialogues.py`; the course of a dialogue: `flow.py`.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from pathlib import Path

from assistant.understanding.vocabulary import ShopVocabulary, derive_vocabulary
from retrieval.catalog import load_catalog
from retrieval.fileio import atomic_write_jsonl
from training.demo_data.catalog import make_catalog
from training.demo_data.dialogues import DialogueMaker
from training.demo_data.vocab import CATEGORIES, SYNONYMS, VALUE_SYNONYMS, WORDING

log = logging.getLogger(__name__)

SOURCES = ("apparel", "shoes", "home")
TARGETS = ("electronics", "beauty")
TRAIN_SIZE = {"apparel": 600, "shoes": 300, "home": 300, "electronics": 300, "beauty": 300}
EVAL_SIZE = 60
N_PRODUCTS = 300
N_UNLABELED = 600


def _rng(seed: int, category: str, part: str) -> random.Random:
    return random.Random(f"shopguide:{seed}:{category}:{part}")


def generate_category(
    out: Path,
    category: str,
    seed: int,
    n_products: int = N_PRODUCTS,
    sizes: dict[str, int] | None = None,
    n_unlabeled: int = N_UNLABELED,
) -> dict[str, int]:
    """Write one category's catalog, dialogue splits and unlabeled utterances under `out`.

    Args:
        out: the output folder (sub-folders are created).
        category: a key of `vocab.CATEGORIES`.
        seed: the seed; the same seed gives byte-identical files.
        n_products: catalog size.
        sizes: dialogues per split (default: `TRAIN_SIZE[category]` train, 60 validation, 60 test).
        n_unlabeled: number of unlabeled utterances.

    Returns:
        Counts written, keyed "products", "train", "validation", "test", "unlabeled".
    """
    sizes = sizes or {"train": TRAIN_SIZE[category], "validation": EVAL_SIZE, "test": EVAL_SIZE}
    products = make_catalog(category, n_products, _rng(seed, category, "catalog"))
    counts = {"products": atomic_write_jsonl(out / "catalog" / f"{category}.jsonl", (p.to_dict() for p in products))}
    prefix = CATEGORIES[category]["prefix"]
    for split, n in sizes.items():
        maker = DialogueMaker(category, products, _rng(seed, category, split))
        rows = [maker.make(f"{prefix}-{split}-{i + 1:04d}") for i in range(n)]
        counts[split] = atomic_write_jsonl(out / "dialogues" / f"{category}.{split}.jsonl", rows)
    # utterances from dialogues that are never written: what a shop's search log would hold
    maker = DialogueMaker(category, products, _rng(seed, category, "unlabeled"))
    texts: list[str] = []
    seen: set[str] = set()
    for i in range(n_unlabeled * 2):
        for msg in maker.make(f"u{i}")["messages"]:
            if msg["role"] == "user" and msg["content"] not in seen:
                seen.add(msg["content"])
                texts.append(msg["content"])
        if len(texts) >= n_unlabeled:
            break
    counts["unlabeled"] = atomic_write_jsonl(
        out / "unlabeled" / f"{category}.jsonl", ({"category": category, "text": t} for t in texts[:n_unlabeled])
    )
    return counts


def demo_vocabulary(catalog) -> ShopVocabulary:
    """The demo's shop vocabulary: what `derive_vocabulary` reads from the catalog plus the hand-made category
    synonyms of `vocab.SYNONYMS`, value synonyms of `vocab.VALUE_SYNONYMS` and the category wording of
    `vocab.WORDING` (the same file format any shop's
    `shopguide build` writes)."""
    cats = sorted({p.category for p in catalog})
    values = {c: {a: {"synonyms": syn} for a, syn in VALUE_SYNONYMS[c].items()} for c in cats if c in VALUE_SYNONYMS}
    wording = {c: WORDING[c] for c in cats if c in WORDING}
    own = ShopVocabulary({c: SYNONYMS[c] for c in cats if c in SYNONYMS}, values, wording)
    return derive_vocabulary(catalog).merged(own)


def generate(out: str | Path, seed: int = 0, categories: list[str] | None = None, **kw) -> dict[str, dict[str, int]]:
    """Write the demo data of `categories` (default all five) under `out`, and `out/vocabulary.json` for every
    catalog there; returns counts per category."""
    out = Path(out)
    result = {}
    for cat in categories or list(CATEGORIES):
        result[cat] = generate_category(out, cat, seed, **kw)
        log.info("%s: %s", cat, ", ".join(f"{k} {v}" for k, v in result[cat].items()))
    demo_vocabulary(load_catalog(sorted((out / "catalog").glob("*.jsonl")))).save(out / "vocabulary.json")
    return result


def main(argv: list[str] | None = None) -> int:
    """`shopguide data generate` entry point."""
    ap = argparse.ArgumentParser(
        prog="shopguide data generate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", required=True, help="output folder (created; files in it are replaced)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same bytes")
    ap.add_argument("--categories", nargs="+", choices=list(CATEGORIES), help="only these categories (default all)")
    ap.add_argument("--products", type=int, default=N_PRODUCTS, help=f"products per category (default {N_PRODUCTS})")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = generate(args.out, args.seed, args.categories, n_products=args.products)
    for cat, c in counts.items():
        print(f"{cat:12s} " + "  ".join(f"{k} {v}" for k, v in c.items()))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
