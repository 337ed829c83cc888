"""RECIPE `shopguide build`: a servable assistant bundle from a shop's own data, with the least work.

    shopguide build --catalog catalog.jsonl --out shop                        # no dialogues: the guide adapter
    shopguide build --catalog catalog/ --dialogues logs/ --out shop           # + adapters and a retrieval check
    shopguide build --catalog catalog.csv --dialogues logs.jsonl --unlabeled queries.jsonl --out shop
    python app.py --bundle shop                                               # or: shopguide serve --bundle shop

What it does, in order (each step has a progress bar; a summary is printed and written to OUT/build.json):

1. **Catalog** (JSONL / CSV / Parquet file or a folder of them) is checked; problems print as
   `file:line: field: message` and stop the build.
2. **Vocabulary** (`OUT/vocabulary.json`): derived from the catalog (`understanding.vocabulary.derive_vocabulary`:
   category names and their forms, closed-set attribute values), plus `--vocabulary FILE` (the shop's own
   words, same format) and, with `--unlabeled`, the words shoppers use for each category in their own
   utterances (`utterance_synonyms`; the routing accuracy on held-out utterances is reported before / after).
   No code knows the categories.
3. **Index** (`OUT/index`): every product, dense + BM25 (`--encoder`, default the bundled MiniLM), encoded under a
   progress bar. A rebuild whose catalog and encoder are unchanged (the catalog fingerprint in
   `index_config.json`, the encoder's in `build.json`) reuses the bundle's index instead of encoding again.
4. **Dialogues** (`--dialogues` file or folder of JSONL; any categories of the catalog): malformed lines are
   skipped and counted; product ids the catalog lacks are dropped from the copies (counted). They are split
   per category into train / validation / test (`--holdout`, by a hash of the id: stable) in a prepared
   work folder (`--work`, default OUT-work): `data/catalog/{category}.jsonl`,
   `data/dialogues/{category}.{split}.jsonl`, `data/unlabeled/{category}.jsonl` (the layout the SFT recipe
   reads). Replay `data/dialogues/*.test.jsonl` for held-out numbers.
5. **Retrieval self-check**: with dialogues, every train / validation assistant turn that names products and
   follows a user message is searched the way the assistant searches (its query, the shopper's needs as
   filters) in each mode (hybrid, dense, lexical = BM25); without, up to 300 products are searched for by the
   first words of their own description (or the title without brand; `catalog_self_check`). The mode with the
   best MRR@10 is written to `assistant.json` (`retrieval.mode`) with the numbers (`retrieval.self_check`).
6. **Adapters** (with dialogues, unless `--no-train`): LoRA SFT (`training/sft.py`) for every category with at
   least `--min-sft` training dialogues, and always for the category with the most (the source); fine-tuning
   transfer for a category with fewer (an SFT run that starts from the source adapter on its K dialogues:
   `init_adapter`, `data.max_train_dialogues=K`); the source adapter as it is for a category without any.
   Runs are resumable (rerun the same command after a kill; finished runs are reused). Without dialogues, or
   with `--no-train`: every category starts from the trained **guide adapter** (`--guide`, default the demo's
   apparel adapter: transfer across shops with no target dialogues), so a new shop opens with products instead
   of the raw base's refusals; `--guide none` is the **zero-training path**, the base model alone with the
   shop's product cards in its prompt.
7. **Bundle**: `OUT/assistant.json` (base, adapters, index, default_category, engine, retrieval), loadable by
   `Assistant.from_pretrained(OUT)`, `python app.py --bundle OUT` and `shopguide serve --bundle OUT`. A
   packaged base (`smollm2-135m-instruct`, the default) is named, not copied; a base folder is copied in.

OUT must be new, empty, or a bundle `shopguide build` made (anything else is refused before any work). Every
file of the bundle is written into a folder beside OUT and swapped in whole at the end
(`retrieval.fileio.atomic_folder`), so a build that fails or is killed leaves OUT as it was.

CPU time: an SFT step of SmolLM2-135M takes ~6 s on one core (docs/shop.md).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from assistant.dialogues import Dialogue
from assistant.generation.base_models import DEFAULT_BASE, is_packaged_base
from assistant.understanding.vocabulary import ShopVocabulary, derive_vocabulary, utterance_synonyms
from retrieval.catalog import Catalog, load_catalog
from retrieval.encoder import DEFAULT_ENCODER, Encoder, bundled_encoder_path, load_encoder
from retrieval.fileio import (
    DataError,
    Problem,
    atomic_folder,
    atomic_write_json,
    write_problem,
)
from retrieval.index import FORMAT_VERSION, ProductIndex, catalog_fingerprint
from retrieval.text import DEFAULT_FIELDS, product_text
from training.config import ConfigError, load_config
from training.self_check import MODES, catalog_self_check, retrieval_self_check, routing_accuracy
from training.sft import SFTConfig, is_finished
from training.sft import main as sft_main
from training.shop_data import load_shop_dialogues, prepare_work, read_unlabeled_file, split_of

log = logging.getLogger(__name__)

SFT_CONFIG = Path(__file__).parent / "configs" / "sft_smollm2.yaml"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "train_config.yaml", "metrics.json")
GUIDE_ADAPTER = Path(__file__).resolve().parents[1] / "demo" / "adapters" / "apparel"  # the bundled guide
BUNDLE_ENTRIES = frozenset({"assistant.json", "build.json", "vocabulary.json", "index", "adapters", "base"})
STEPS = ("catalog", "vocabulary", "index", "dialogues", "retrieval self-check", "adapters", "bundle")
ENCODE_CHUNK = 1024  # products per encoder call: one progress-bar step


# ---- the steps ------------------------------------------------------------------------------------------------


def build_vocabulary(
    catalog: Catalog, own: ShopVocabulary | None, unlabeled: dict[str, list[str]]
) -> tuple[ShopVocabulary, dict[str, Any]]:
    """The shop's vocabulary: derived from the catalog, then the shop's own file, then words from shopper
    utterances (derived on half of them, measured on the other half, then derived on all)."""
    shop = derive_vocabulary(catalog)
    if own is not None:
        shop = shop.merged(own)
    info: dict[str, Any] = {}
    if unlabeled:
        half_a = {c: ts[::2] for c, ts in unlabeled.items()}
        half_b = {c: ts[1::2] for c, ts in unlabeled.items()}
        before = routing_accuracy(half_b, catalog, shop)
        learned = utterance_synonyms(half_a)
        trial = shop.merged(ShopVocabulary({c: shop.synonyms.get(c, []) + w for c, w in learned.items()}))
        info = {
            "held_out_utterances": sum(len(v) for v in half_b.values()),
            "routing_accuracy_before": before,
            "routing_accuracy_after": routing_accuracy(half_b, catalog, trial),
        }
        words = utterance_synonyms(unlabeled)
        shop = shop.merged(
            ShopVocabulary({c: list(dict.fromkeys(shop.synonyms.get(c, []) + w)) for c, w in words.items()})
        )
        info["words_from_utterances"] = words
    return shop, info


def guide_adapter(path: str | None, base: str) -> Path | None:
    """The trained guide adapter a shop without dialogues starts from (`--guide`), or None (the zero-training
    path) when there is none or it was trained on another base."""
    if path is None or str(path).lower() == "none":
        return None
    folder = Path(path)
    config = folder / "adapter_config.json"
    if not config.is_file():
        raise DataError([Problem(str(folder), None, "--guide", "not an adapter folder (no adapter_config.json)")])
    trained_on = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if trained_on and Path(str(trained_on)).name != Path(str(base)).name:
        log.warning("guide adapter %s was trained on %s, not %s: zero-training bundle", folder, trained_on, base)
        return None
    return folder


def adapter_plan(train_counts: dict[str, int], categories: list[str], min_sft: int) -> dict[str, dict[str, Any]]:
    """Per category: `{"method": "sft"}` (>= min_sft training dialogues, or the most of all: the source),
    `{"method": "finetune", "from": source, "k": K}` (fewer), or `{"method": "source-only", "from": source}`."""
    if not any(train_counts.values()):
        return {}
    source = max(categories, key=lambda c: (train_counts.get(c, 0), c == categories[0]))
    plan: dict[str, dict[str, Any]] = {}
    for c in categories:
        n = train_counts.get(c, 0)
        if c == source or n >= min_sft:
            plan[c] = {"method": "sft", "k": n}
        elif n:
            plan[c] = {"method": "finetune", "from": source, "k": n}
        else:
            plan[c] = {"method": "source-only", "from": source, "k": 0}
    return dict(sorted(plan.items(), key=lambda kv: kv[1]["method"] != "sft"))  # SFT runs first


def _copy_adapter(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in ADAPTER_FILES:
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)


def train_adapters(
    plan: dict[str, dict[str, Any]], args: argparse.Namespace, base: str, data: Path, work: Path, out: Path
) -> dict[str, str]:
    """Run the planned SFT / fine-tuning runs (resumable) and copy the adapters into `out/adapters`."""
    runs: dict[str, Path] = {}
    common = [f"base={base}", f"data.data_dir={data}", f"seed={args.seed}", *args.set]
    for cat, step in plan.items():
        if step["method"] == "sft":
            over = [f"out_dir={work / 'runs' / 'sft' / cat}", f"data.category={cat}", f"max_steps={args.sft_steps}"]
        elif step["method"] == "finetune":
            over = [
                f"out_dir={work / 'runs' / 'finetune' / cat}",
                f"init_adapter={runs[step['from']]}",
                f"data.category={cat}",
                f"data.max_train_dialogues={step['k']}",
                f"max_steps={args.transfer_steps}",
                f"warmup_steps={min(10, args.transfer_steps)}",
            ]
        else:
            continue
        cfg = load_config(SFTConfig, args.sft_config, [*common, *over])
        cfg.warmup_steps = min(cfg.warmup_steps, cfg.max_steps)
        cfg.eval_every, cfg.save_every = min(cfg.eval_every, cfg.max_steps), min(cfg.save_every, cfg.max_steps)
        # a finished run is reused (a rerun after a kill goes on where it stopped); delete it to train again
        runs[cat] = Path(cfg.out_dir) if is_finished(cfg.out_dir) else sft_main(cfg)
        m = json.loads((runs[cat] / "metrics.json").read_text())
        step["steps"], step["val_loss"] = m.get("steps"), m.get(f"val_loss/{cat}")
    adapters = {}
    for cat, step in plan.items():
        src = runs.get(cat) or runs[step["from"]]
        name = cat if cat in runs else step["from"]
        if name not in adapters.values() or cat in runs:
            _copy_adapter(src, out / "adapters" / name)
        adapters[cat] = f"adapters/{name}"
    return adapters


# ---- the bundle folder and its index --------------------------------------------------------------------------


def previous_build(out: Path) -> dict[str, Any] | None:
    """The summary (`build.json`) of the bundle at `out`, or None when `out` is new or empty.

    Raises:
        DataError: `out` is a file, or a folder holding anything but a bundle `shopguide build` made (its
            files are the user's: never overwritten, nothing is written beside them).
    """
    names = ({p.name for p in out.iterdir()} if out.is_dir() else None) if out.exists() else set()
    if names == set():
        return None
    if names is not None and {"assistant.json", "build.json"} <= names <= BUNDLE_ENTRIES:
        with contextlib.suppress(OSError, ValueError):
            summary = json.loads((out / "build.json").read_text(encoding="utf-8"))
            if isinstance(summary, dict):
                return summary
    why = "a file" if names is None else "not empty"
    raise DataError([Problem(str(out), None, None, f"not a bundle `build` made and {why}; nothing written there")])


def encoder_fingerprint(encoder: str | None) -> str:
    """What the embeddings depend on besides the catalog: the encoder's name and its folder's files (name, size,
    modification time), so a retriever retrained into the same folder is an encoder changed."""
    name = encoder or DEFAULT_ENCODER
    folder = bundled_encoder_path() if name == DEFAULT_ENCODER else Path(name)
    files = sorted(f for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else []
    stats = [f"{f.relative_to(folder)} {f.stat().st_size} {f.stat().st_mtime_ns}" for f in files]
    return hashlib.sha256("\n".join([name, *stats]).encode()).hexdigest()[:16]


def reusable_index(folder: Path, catalog: Catalog, encoder: str | None, previous: dict[str, Any] | None):
    """The bundle's index at `folder` when it indexes this catalog with this encoder (same fingerprints, fields
    and format), else None."""
    if not previous or previous.get("index", {}).get("encoder_fingerprint") != encoder_fingerprint(encoder):
        return None
    try:
        cfg = json.loads((folder / "index_config.json").read_text(encoding="utf-8"))
        same = (
            cfg.get("format_version") == FORMAT_VERSION
            and cfg.get("encoder") == (encoder or DEFAULT_ENCODER)
            and tuple(cfg.get("fields", ())) == DEFAULT_FIELDS
            and cfg.get("catalog_fingerprint") == catalog_fingerprint(catalog)
        )
        return ProductIndex.load(folder) if same else None
    except (OSError, ValueError) as e:  # DataError is a ValueError: a damaged index is built again
        log.warning("%s: not reused (%s)", folder, str(e).splitlines()[-1])
        return None


def encode_products(catalog: Catalog, encoder: str | None) -> tuple[Encoder, Any]:
    """The catalog's embeddings (N, dim) under a progress bar, `ENCODE_CHUNK` products per encoder call (the
    encoders' own bars do not cover every runtime). Texts go in length order, so each call batches similar
    lengths as one call over the whole catalog would."""
    import numpy as np
    from tqdm.auto import tqdm

    enc = load_encoder(encoder)
    texts = [product_text(p) for p in catalog]
    order = np.argsort(np.fromiter((len(t) for t in texts), np.int64, len(texts)), kind="stable")
    emb = np.empty((len(texts), enc.dim), np.float32)  # (N, dim)
    with tqdm(total=len(texts), desc="encoding products", unit="product", leave=False) as bar:
        for s in range(0, len(order), ENCODE_CHUNK):
            rows = order[s : s + ENCODE_CHUNK]
            emb[rows] = enc.encode([texts[i] for i in rows])
            bar.update(len(rows))
    return enc, emb


# ---- the recipe -----------------------------------------------------------------------------------------------


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Run every step for the parsed `args` (see the module docstring) into a staging folder swapped in as OUT at
    the end; returns the summary (OUT/build.json).

    Raises:
        DataError: bad input, or OUT is not a folder the build may write (named as `OUT: -: message`).
    """
    from tqdm.auto import tqdm

    out = Path(args.out)
    work = Path(os.path.abspath(args.work)) if args.work else None
    if work is not None and (work == Path(os.path.abspath(out)) or Path(os.path.abspath(out)) in work.parents):
        raise DataError(
            [Problem(str(args.work), None, "--work", "inside OUT, which is replaced whole: put it beside")]
        )
    try:
        previous = previous_build(out)
        # the bar closes before the stage is dropped, so an error printed after it starts its own line
        with atomic_folder(os.path.abspath(out)) as stage, tqdm(total=len(STEPS), desc="build", unit="step") as bar:
            return _build(args, out, stage, previous, bar)
    except OSError as e:
        problem = write_problem(e, out)
        if problem is None:
            raise
        raise DataError([problem]) from e


def _build(args: argparse.Namespace, out: Path, stage: Path, previous: dict[str, Any] | None, bar: Any) -> dict:
    t0 = time.monotonic()
    work = Path(args.work) if args.work else out.with_name(out.name + "-work")

    def step(name: str) -> None:
        bar.set_description(f"build: {name}")

    step("catalog")
    catalog = load_catalog(args.catalog)
    categories = sorted(catalog.categories())
    summary: dict[str, Any] = {
        "out": str(out),
        "catalog": {"path": str(args.catalog), "products": len(catalog), "per_category": {}},
    }
    for c in categories:
        summary["catalog"]["per_category"][c] = sum(1 for p in catalog if p.category == c)
    bar.update()

    step("vocabulary")
    unlabeled, unl_skipped = read_unlabeled_file(args.unlabeled, categories) if args.unlabeled else ({}, 0)
    own = ShopVocabulary.load(args.vocabulary) if args.vocabulary else None
    shop, vocab_info = build_vocabulary(catalog, own, unlabeled)
    shop.save(stage / "vocabulary.json")
    summary["vocabulary"] = {
        "synonyms": shop.synonyms,
        "attributes": {c: len(a) for c, a in shop.attributes.items()},
        **vocab_info,
        **({"unlabeled_skipped_lines": unl_skipped} if args.unlabeled else {}),
    }
    bar.update()

    step("index")
    index = reusable_index(out / "index", catalog, args.encoder, previous)
    reused = index is not None
    if reused:
        log.info("%s reused: catalog and encoder unchanged since the last build", out / "index")
    else:
        enc, embeddings = encode_products(catalog, args.encoder)
        index = ProductIndex.build(catalog, encoder=enc, embeddings=embeddings, show_progress=True)
    index.save(stage / "index")
    summary["index"] = {"encoder": index.encoder_name, "kind": index.kind, "reused": reused}
    summary["index"]["encoder_fingerprint"] = encoder_fingerprint(args.encoder)
    bar.update()

    step("dialogues")
    dialogues: dict[str, list[Dialogue]] = {}
    counts: dict[str, dict[str, int]] = {}
    if args.dialogues:
        dialogues, report = load_shop_dialogues(args.dialogues, catalog)
        if not dialogues:
            raise DataError([Problem(str(args.dialogues), None, None, "no usable dialogue for this catalog")])
        counts = prepare_work(work / "data", catalog, dialogues, unlabeled, args.holdout, vocabulary=shop)
        summary["dialogues"] = {"path": str(args.dialogues), "per_category": counts, "dropped": report}
    bar.update()

    step("retrieval self-check")
    if dialogues:
        seen = [d for ds in dialogues.values() for d in ds if split_of(d.id, args.holdout) != "test"]
        retrieval = retrieval_self_check(index, shop, seen or [d for ds in dialogues.values() for d in ds])
    else:
        retrieval = catalog_self_check(index, catalog, seed=args.seed)
    if args.mode:
        retrieval = {**retrieval, "mode": args.mode, "why": "--mode"}
    summary["retrieval"] = retrieval
    bar.update()

    step("adapters")
    base = args.base
    if is_packaged_base(base):
        bundle_base = base
    elif Path(base).is_dir():
        shutil.copytree(base, stage / "base")  # from OUT/base too: OUT is replaced as a whole
        bundle_base = "base"
    else:
        raise DataError([Problem(str(base), None, "base", "not a packaged base name nor a model folder")])
    train_counts = {c: counts.get(c, {}).get("train", 0) for c in categories}
    plan = {} if args.no_train else adapter_plan(train_counts, categories, args.min_sft)
    adapters = train_adapters(plan, args, base, work / "data", work, stage) if plan else {}
    guide = None if plan else guide_adapter(args.guide, base)
    if guide is not None:  # no training here: every category starts from the trained guide (transfer across shops)
        _copy_adapter(guide, stage / "adapters" / "guide")
        adapters = {c: "adapters/guide" for c in categories}
        plan = {c: {"method": "guide", "from": str(guide), "k": 0} for c in categories}
    summary["adapters"] = plan or {"path": "zero training: the base model with the shop's product cards in its prompt"}
    bar.update()

    step("bundle")
    default = max(categories, key=lambda c: (train_counts.get(c, 0), summary["catalog"]["per_category"][c]))
    atomic_write_json(
        stage / "assistant.json",
        {
            "base": bundle_base,
            "adapters": adapters,
            "index": "index",
            "default_category": default,
            "engine": args.engine,
            "retrieval": {"mode": retrieval["mode"], "self_check": retrieval},
            "vocabulary": "vocabulary.json",
        },
    )
    summary.update(base=bundle_base, default_category=default, work=str(work), seconds=round(time.monotonic() - t0, 1))
    atomic_write_json(stage / "build.json", summary)
    bar.update()
    return summary


def print_summary(s: dict[str, Any]) -> None:
    """The summary of a build, for people."""
    cats = s["catalog"]["per_category"]
    print(f"\nbuilt {s['out']} in {s['seconds']:.0f} s")
    print(f"  catalog     {s['catalog']['products']} products: " + ", ".join(f"{c} {n}" for c, n in cats.items()))
    v = s["vocabulary"]
    print(
        f"  vocabulary  {s['out']}/vocabulary.json: "
        + "; ".join(f"{c}: {', '.join(w[:4])}" for c, w in v["synonyms"].items())
    )
    if "routing_accuracy_before" in v:
        print(
            f"              routing on {v['held_out_utterances']} held-out shopper utterances: "
            f"{v['routing_accuracy_before']:.3f} -> {v['routing_accuracy_after']:.3f} with their words"
        )
    reused = ", reused: catalog and encoder unchanged" if s["index"].get("reused") else ""
    print(f"  index       {s['index']['encoder']} ({s['index']['kind']}){reused}")
    if "dialogues" in s:
        per = s["dialogues"]["per_category"]
        print(
            "  dialogues   "
            + ", ".join(f"{c} {n['train']}/{n['validation']}/{n['test']}" for c, n in per.items())
            + " (train/validation/test)"
        )
        for reason, n in s["dialogues"]["dropped"].items():
            if reason != "problems":
                print(f"              {n} {reason}")
    r = s["retrieval"]
    if r.get("modes"):
        on = (
            f"{r['turns']} turns of {r['dialogues']} dialogues"
            if "turns" in r
            else f"{r['queries']} of the catalog's own products"
        )
        print(f"  retrieval   self-check on {on} (Hit@1 / Hit@5 / MRR@10):")
        for mode, m in r["modes"].items():
            mark = "  <- chosen" if mode == r["mode"] else ""
            print(f"              {mode:8s} {m['hit@1']:.3f} / {m['hit@5']:.3f} / {m['mrr@10']:.3f}{mark}")
    else:
        print(f"  retrieval   {r['mode']} ({r.get('why', '')})")
    a = s["adapters"]
    if "path" in a:
        print(f"  adapters    none: {a['path']} ({s['base']})")
    else:
        for c, p in a.items():
            how = {
                "sft": "LoRA SFT",
                "finetune": f"fine-tuned from {p.get('from')}",
                "source-only": f"{p.get('from')}'s adapter as is",
                "guide": f"the guide adapter {p.get('from')} (trained on another shop's dialogues)",
            }[p["method"]]
            extra = f", {p['steps']} steps, val loss {p['val_loss']:.3f}" if p.get("val_loss") is not None else ""
            print(f"  adapter     {c}: {how} (K={p['k']} dialogues{extra})")
    print(f"  serve       python app.py --bundle {s['out']}   |   shopguide serve --bundle {s['out']}")
    if "dialogues" in s:
        print(
            f"  held out    shopguide eval {s['work']}/data/dialogues/CATEGORY.test.jsonl "
            f"--catalog {s['catalog']['path']} --assistant {s['out']} --out runs/replay"
        )


def main(argv: list[str] | None = None) -> int:
    """`shopguide build`: returns the exit code (1 with file:line: field: message on bad input)."""
    p = argparse.ArgumentParser(
        prog="shopguide build", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--catalog", required=True, help="catalog file (JSONL / CSV / Parquet) or folder of them")
    p.add_argument("--dialogues", help="guide dialogues or logs (JSONL file or folder; docs/architecture.md contract)")
    p.add_argument("--unlabeled", help='shopper utterances without dialogues: JSONL of {"category", "text"}')
    p.add_argument("--vocabulary", help="the shop's own vocabulary.json (synonyms) added to the derived one")
    p.add_argument("--out", required=True, help="bundle folder")
    p.add_argument("--work", help="prepared data and training runs (default: OUT-work beside OUT)")
    p.add_argument(
        "--base",
        default=DEFAULT_BASE,
        help=f"base LM: a packaged short name (default {DEFAULT_BASE}) or an HF model folder (copied in)",
    )
    p.add_argument(
        "--encoder", default=None, help="product encoder of the index (default: the bundled MiniLM; tests: hash:64)"
    )
    p.add_argument("--mode", choices=MODES, help="force the retrieval mode instead of the self-check's choice")
    p.add_argument(
        "--no-train",
        action="store_true",
        help="zero-training bundle even with dialogues (they still pick the retrieval mode)",
    )
    p.add_argument(
        "--guide",
        default=str(GUIDE_ADAPTER) if (GUIDE_ADAPTER / "adapter_config.json").is_file() else None,
        metavar="DIR|none",
        help="without dialogues (or with --no-train), every category starts from this trained guide adapter "
        "(default: the demo's apparel adapter, trained on guide dialogues); 'none': the zero-training path, the "
        "raw base with the shop's product cards in its prompt",
    )
    p.add_argument(
        "--min-sft", type=int, default=100, help="training dialogues for a category's own SFT adapter (default 100)"
    )
    p.add_argument("--sft-steps", type=int, default=300, help="steps of each SFT run (default 300)")
    p.add_argument(
        "--transfer-steps", type=int, default=100, help="steps of each fine-tuning transfer run (default 100)"
    )
    p.add_argument("--sft-config", default=str(SFT_CONFIG), help="SFT config of every run (default: the SmolLM2 one)")
    p.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="extra SFT config overrides, e.g. lora.r=8"
    )
    p.add_argument(
        "--holdout",
        type=float,
        default=0.1,
        help="share of each category's dialogues held out as test (and as validation; default 0.1)",
    )
    p.add_argument("--engine", default="auto", choices=["auto", "ctranslate2", "torch"], help="the bundle's engine")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not 0 <= args.holdout < 0.5:
        print(f"shopguide build: --holdout must be in [0, 0.5), got {args.holdout}", file=sys.stderr)
        return 2
    try:
        summary = build(args)
    except DataError as e:
        for prob in e.problems:
            print(prob, file=sys.stderr)
        return 1
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
