"""RECIPE: LoRA supervised fine-tuning of a causal LM on one category's guide dialogues.

    shopguide train sft training/configs/sft.yaml [key=value ...]      # e.g. max_steps=300 lora.r=8
    python -m training.sft training/configs/tiny.yaml out_dir=/tmp/run
    accelerate launch -m training.sft training/configs/sft.yaml        # several GPUs, unchanged

Kill it at any point and run the same command again: it resumes from the last checkpoint in
`OUT_DIR/checkpoints/` (weights, optimizer, scheduler, data position, RNG) and ends where an
uninterrupted run ends. Run it again after it finished and it says so and leaves the adapter alone
(`--overwrite` trains it again from scratch). The result in OUT_DIR is a standard PEFT adapter plus
`train_config.yaml`, `metrics.json` and `train_log.jsonl`.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import sys
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.generation.model import find_lora_targets, load_base, pick_device, pick_dtype
from retrieval.fileio import DataError, atomic_write_text
from training.checkpoint import load_checkpoint, save_adapter, save_checkpoint
from training.config import ConfigError, load_config, recipe_parser
from training.examples import (
    ForeverDataIterator,
    assistant_token_loss,
    build_examples,
    category_wording,
    load_split,
    prompt_format,
    sample_dialogues,
    weight_by_act,
)

log = logging.getLogger(__name__)


@dataclass
class LoraSettings:
    """LoRA hyper-parameters; names as in `peft.LoraConfig`. Empty `target_modules` -> found per architecture."""

    r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.r <= 0:
            raise ValueError(f"`lora.r` must be positive, got {self.r}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"`lora.lora_dropout` must be in [0, 1), got {self.lora_dropout}")


@dataclass
class DataSettings:
    """Where the dialogues come from and how they are cut."""

    data_dir: str = "data/demo"
    category: str = "apparel"
    train_split: str = "train"
    eval_split: str = "validation"
    eval_categories: list[str] = field(default_factory=list)  # extra categories to report validation loss on
    max_seq_len: int = 1024  # longest single example (older history is dropped to fit)
    max_train_dialogues: int | None = None  # K training dialogues (K-shot runs), None: all
    shots_seed: int | None = None  # with max_train_dialogues: a sample of K fixed by this seed (None: the first K)
    act_weights: dict[str, int] = field(
        default_factory=dict
    )  # e.g. {answer: 3}: repeat those turns (see weight_by_act)
    max_eval_dialogues: int | None = 200
    state_in_prompt: bool = False  # the dialogue state in the system message (chat_format.PromptFormat)
    history_messages: int | None = None  # keep only the last N messages of a turn's history (None: all)

    def __post_init__(self):
        prompt_format(self)  # names a bad history_messages
        if self.max_seq_len < 16:
            raise ValueError(f"`data.max_seq_len` must be >= 16, got {self.max_seq_len}")


@dataclass
class SFTConfig:
    """Resolved config of one SFT run (saved as train_config.yaml beside the adapter)."""

    base: str = (
        "smollm2-135m-instruct"  # an HF folder / hub id, or a packaged base's short name (smollm2-135m-instruct)
    )
    init_adapter: str = ""  # start from this adapter (e.g. the source category's): fine-tuning transfer
    out_dir: str = "outputs/sft/apparel"
    data: DataSettings = field(default_factory=DataSettings)
    lora: LoraSettings = field(default_factory=LoraSettings)
    batching: str = "grouped"  # "grouped": length-grouped padded batches; "packed": packed rows (training/examples.py)
    seq_len: int = 1024  # tokens per micro-batch: grouped -> B x longest budget; packed -> row length
    batch_size: int = 1  # packed only: rows per micro-batch
    grad_accum_steps: int = 1
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 10
    max_steps: int = 200
    eval_every: int = 100
    save_every: int = 50
    log_every: int = 10
    seed: int = 0
    gradient_checkpointing: bool = False
    keep_checkpoints: bool = False  # keep OUT_DIR/checkpoints after a finished run
    stop_after_steps: int | None = None  # stop (checkpointed) after this many steps: simulates a kill, for tests
    progress: bool = True

    def __post_init__(self):
        for name in ("seq_len", "batch_size", "grad_accum_steps", "max_steps", "save_every", "eval_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be positive, got {getattr(self, name)}")
        if self.batching not in ("grouped", "packed"):
            raise ValueError(f"`batching` must be grouped or packed, got {self.batching!r}")
        if self.seq_len < self.data.max_seq_len:
            raise ValueError(f"`seq_len` ({self.seq_len}) must be >= `data.max_seq_len` ({self.data.max_seq_len})")


def add_lora(model: Any, lora: LoraSettings) -> Any:
    """Wrap `model` in a trainable `peft` LoRA model (targets found by `find_lora_targets` when not set)."""
    from peft import LoraConfig, get_peft_model

    targets = lora.target_modules or find_lora_targets(model)
    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.lora_alpha,
        lora_dropout=lora.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():
        # peft 0.21 reads transformers' deprecated `is_gradient_checkpointing`; not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, config)


def load_trainable_adapter(model: Any, folder: str, adapter_name: str = "default") -> Any:
    """Wrap `model` in the LoRA adapter saved in `folder`, trainable (its rank and targets are the folder's)."""
    from peft import PeftModel

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = PeftModel.from_pretrained(model, str(folder), adapter_name=adapter_name, is_trainable=True)
    log.info("initialised from adapter %s", folder)
    return model


def lr_lambda(warmup_steps: int, max_steps: int):
    """Linear warm-up, then cosine decay to 10% of the peak (a picklable-free closure for `LambdaLR`)."""

    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        done = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
        return 0.1 + 0.45 * (1 + math.cos(math.pi * done))

    return f


def evaluate(model: Any, loaders: dict[str, Any], device: Any) -> dict[str, float]:
    """Validation loss (mean over reply tokens) and perplexity per category; `loaders` maps category -> batches."""
    import torch

    was_training = model.training
    model.eval()
    out: dict[str, float] = {}
    with torch.no_grad():
        for cat, batches in loaders.items():
            total, count = 0.0, 0
            for batch in batches:
                loss, n = assistant_token_loss(model, {k: v.to(device) for k, v in batch.items()})
                total, count = total + loss.item() * n, count + n
            out[f"val_loss/{cat}"] = total / max(count, 1)
            out[f"val_ppl/{cat}"] = math.exp(min(out[f"val_loss/{cat}"], 50))
    model.train(was_training)
    return out


def eval_batches(cfg: SFTConfig, category: str, tokenizer: Any) -> list[dict[str, Any]]:
    """Packed validation batches of `category` (fixed order)."""

    dialogues, catalog = load_split(cfg.data.data_dir, category, cfg.data.eval_split)
    dialogues = dialogues[: cfg.data.max_eval_dialogues]
    wording = category_wording(cfg.data.data_dir, category)
    examples = build_examples(
        dialogues, catalog, tokenizer, cfg.data.max_seq_len, False, wording, prompt_format(cfg.data)
    )
    it = ForeverDataIterator(
        examples, cfg.seq_len, cfg.batch_size, seed=0, pad_id=tokenizer.pad_token_id or 0, batching=cfg.batching
    )
    return [next(it) for _ in range(it.batches_per_epoch())]


def is_finished(out_dir: str | Path) -> bool:
    """True when `out_dir` holds the adapter of a finished run (`metrics.json` is written with it, last)."""
    return (Path(out_dir) / "adapter_config.json").is_file() and (Path(out_dir) / "metrics.json").is_file()


def main(cfg: SFTConfig) -> Path:
    """Train (or resume) the run described by `cfg`; returns the adapter folder."""
    import torch
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    out_dir, ckpt_dir = Path(cfg.out_dir), Path(cfg.out_dir) / "checkpoints"
    device = pick_device()
    mixed = "bf16" if pick_dtype(device) == torch.bfloat16 else "no"
    accelerator = Accelerator(mixed_precision=mixed, cpu=device == "cpu")
    torch.manual_seed(cfg.seed)

    # --- model: base in fp32 (autocast does bf16 where supported), LoRA on top
    model, tokenizer = load_base(cfg.base, device=str(accelerator.device), dtype=torch.float32)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = add_lora(model, cfg.lora) if not cfg.init_adapter else load_trainable_adapter(model, cfg.init_adapter)
    model.train()

    # --- data: one example per assistant turn, packed rows
    dialogues, catalog = load_split(cfg.data.data_dir, cfg.data.category, cfg.data.train_split)
    dialogues = sample_dialogues(dialogues, cfg.data.max_train_dialogues, cfg.data.shots_seed)
    wording = category_wording(cfg.data.data_dir, cfg.data.category)
    examples = build_examples(
        dialogues, catalog, tokenizer, cfg.data.max_seq_len, cfg.progress, wording, prompt_format(cfg.data)
    )
    if cfg.data.act_weights:
        examples = weight_by_act(examples, cfg.data.act_weights)
    pad_id = tokenizer.pad_token_id or 0
    train_it = ForeverDataIterator(
        examples, cfg.seq_len, cfg.batch_size, seed=cfg.seed, pad_id=pad_id, batching=cfg.batching
    )
    eval_loaders = {c: eval_batches(cfg, c, tokenizer) for c in [cfg.data.category, *cfg.data.eval_categories]}
    log.info(
        "%d training examples (%d tokens) -> %d %s batches per epoch",
        len(examples),
        sum(len(e) for e in examples),
        train_it.batches_per_epoch(),
        cfg.batching,
    )

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg.warmup_steps, cfg.max_steps))
    model, optimizer = accelerator.prepare(model, optimizer)
    raw_model = accelerator.unwrap_model(model)

    # --- resume
    step, extra = 0, {"train_tokens": 0, "seconds": 0.0}
    state = load_checkpoint(ckpt_dir, raw_model, optimizer, scheduler)
    if state is not None:
        step, extra = state["step"], state["extra"]
        train_it.load_state_dict(state["data"])
        accelerator.print(f"resuming {out_dir} at step {step}")
    stop_at = min(cfg.max_steps, cfg.stop_after_steps or cfg.max_steps)
    log_file = out_dir / "train_log.jsonl"
    out_dir.mkdir(parents=True, exist_ok=True)
    if accelerator.is_main_process:  # keep the log of the steps done so far: those after a kill are redone
        kept = [line for line in _log_lines(log_file) if json.loads(line).get("step", 0) <= step]
        atomic_write_text(log_file, "".join(kept))

    bar = tqdm(
        total=cfg.max_steps,
        initial=step,
        desc=f"sft {cfg.data.category}",
        unit="step",
        disable=not (cfg.progress and accelerator.is_main_process),
    )
    t0, tokens0 = time.monotonic(), extra["train_tokens"]
    last_eval: dict[str, float] | None = None
    while step < stop_at:
        # --- one optimizer step = grad_accum_steps micro-batches; each process takes its own batch
        loss_sum = 0.0
        for micro in range(cfg.grad_accum_steps):
            batches = [next(train_it) for _ in range(accelerator.num_processes)]
            batch = {k: v.to(accelerator.device) for k, v in batches[accelerator.process_index].items()}
            sync = micro == cfg.grad_accum_steps - 1
            with nullcontext() if sync else accelerator.no_sync(model), accelerator.autocast():
                loss, _ = assistant_token_loss(model, batch)
                accelerator.backward(loss / cfg.grad_accum_steps)
            loss_sum += loss.item() / cfg.grad_accum_steps
            extra["train_tokens"] += sum(b["input_ids"].numel() for b in batches)
        accelerator.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum:.3f}")

        record: dict[str, Any] = {}
        if step % cfg.log_every == 0 or step == cfg.max_steps:
            elapsed = extra["seconds"] + time.monotonic() - t0
            record = {
                "step": step,
                "loss": round(loss_sum, 4),
                "lr": scheduler.get_last_lr()[0],
                "tokens_per_s": round((extra["train_tokens"] - tokens0) / max(time.monotonic() - t0, 1e-9), 1),
                "seconds": round(elapsed, 1),
            }
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            last_eval = evaluate(model, eval_loaders, accelerator.device)
            record.update({"step": step, **{k: round(v, 4) for k, v in last_eval.items()}})
        if record and accelerator.is_main_process:
            log.info("%s", record)
            with open(log_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        if step % cfg.save_every == 0 or step == stop_at:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                save_checkpoint(
                    ckpt_dir,
                    step,
                    raw_model,
                    optimizer,
                    scheduler,
                    train_it.state_dict(),
                    {**extra, "seconds": extra["seconds"] + time.monotonic() - t0},
                )
    bar.close()
    extra["seconds"] += time.monotonic() - t0
    if step < cfg.max_steps:
        log.info("stopped at step %d of %d (stop_after_steps); rerun to resume", step, cfg.max_steps)
        return out_dir

    # --- finished: final metrics and the adapter folder
    metrics = {
        "steps": step,
        "train_examples": len(examples),
        "train_tokens": extra["train_tokens"],
        "seconds": round(extra["seconds"], 1),
        "base": cfg.base,
        "category": cfg.data.category,
        **{k: round(v, 4) for k, v in (last_eval or evaluate(model, eval_loaders, accelerator.device)).items()},
    }
    if accelerator.is_main_process:
        save_adapter(raw_model, out_dir, cfg, metrics)
        if not cfg.keep_checkpoints:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
    accelerator.wait_for_everyone()
    log.info("adapter %s: %s", out_dir, metrics)
    return out_dir


def _log_lines(path: Path) -> list[str]:
    """The complete JSON lines of a training log (a line torn by a kill is dropped)."""
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if isinstance(json.loads(line), dict):
                lines.append(line + "\n")
        except ValueError:
            continue
    return lines


def cli(argv: list[str] | None = None) -> int:
    """`shopguide train sft CONFIG.yaml [key=value ...]`."""
    p = recipe_parser("shopguide train sft", __doc__, "training/configs/sft.yaml", "max_steps=300 lora.r=8")
    p.add_argument("--overwrite", action="store_true", help="train again when OUT_DIR holds a finished run")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(SFTConfig, args.config, args.overrides)
        if is_finished(cfg.out_dir) and not args.overwrite:
            print(f"{cfg.out_dir} already finished (adapter and metrics.json there); pass --overwrite to train again")
            return 0
        if args.overwrite:  # from scratch: kept checkpoints would resume the old run
            shutil.rmtree(Path(cfg.out_dir) / "checkpoints", ignore_errors=True)
        out = main(cfg)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"adapter: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
