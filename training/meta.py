"""RECIPE: Reptile meta-learning of a LoRA initialisation over several categories (Nichol et al. 2018,
https://arxiv.org/abs/1803.02999). The result adapts to a new category in few steps: `shopguide train transfer
method=meta` runs this recipe, then an SFT run (`training/sft.py`, `init_adapter=`) on the K target dialogues.

    shopguide train meta training/configs/meta.yaml out_dir=outputs/meta outer_steps=60
    accelerate launch -m training.meta training/configs/meta.yaml      # N processes: N categories per outer step

One outer step: remember the weights theta, take `inner_steps` Adam steps on one category's dialogues (a fresh
optimizer: inner state is not carried over), then move theta a fraction `step_size` (linearly annealed to 0)
towards the adapted weights. With N processes each adapts to its own category and the moves are averaged
(batched Reptile). Kill it and run the same command again: it resumes from `OUT_DIR/checkpoints/` and ends
where an uninterrupted run ends. OUT_DIR is a plain PEFT adapter + `train_config.yaml` + `metrics.json`.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.generation.model import load_base, pick_device
from retrieval.fileio import DataError
from training.checkpoint import load_checkpoint, save_adapter, save_checkpoint
from training.config import ConfigError, load_config, recipe_parser
from training.examples import ForeverDataIterator, assistant_token_loss, build_examples, category_wording, load_split
from training.sft import LoraSettings, add_lora

log = logging.getLogger(__name__)


@dataclass
class MetaConfig:
    """Resolved config of one Reptile run (saved as train_config.yaml beside the adapter)."""

    base: str = "smollm2-135m-instruct"  # an HF folder / hub id, or a packaged base's short name
    out_dir: str = "outputs/meta"
    categories: list[str] = field(default_factory=lambda: ["apparel", "shoes", "home"])  # the meta-training tasks
    data_dir: str = "data/demo"
    max_seq_len: int = 768  # longest single example
    max_dialogues: int | None = None  # first N training dialogues per category (None: all)
    lora: LoraSettings = field(default_factory=LoraSettings)
    seq_len: int = 2048  # tokens per batch (B x longest, grouped batching as in sft)
    learning_rate: float = 1e-3  # inner Adam learning rate
    outer_steps: int = 30
    inner_steps: int = 4
    step_size: float = 0.5  # Reptile epsilon at the first outer step, annealed linearly to 0
    save_every: int = 5  # outer steps between checkpoints
    log_every: int = 5
    seed: int = 0
    stop_after_steps: int | None = None  # stop (checkpointed) after this many outer steps: simulates a kill
    progress: bool = True

    def __post_init__(self):
        for name in ("outer_steps", "inner_steps", "save_every", "log_every", "seq_len"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be positive, got {getattr(self, name)}")
        if not 0 < self.step_size <= 1:
            raise ValueError(f"`step_size` must be in (0, 1], got {self.step_size}")
        if not self.categories:
            raise ValueError("`categories` must name at least one category")
        if self.seq_len < self.max_seq_len:
            raise ValueError(f"`seq_len` ({self.seq_len}) must be >= `max_seq_len` ({self.max_seq_len})")


def main(cfg: MetaConfig) -> Path:
    """Meta-train (or resume) the LoRA initialisation described by `cfg`; returns the adapter folder."""
    import torch
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    out_dir, ckpt_dir = Path(cfg.out_dir), Path(cfg.out_dir) / "checkpoints"
    accelerator = Accelerator(cpu=pick_device() == "cpu")
    torch.manual_seed(cfg.seed)
    model, tok = load_base(cfg.base, device=str(accelerator.device), dtype=torch.float32)
    model = add_lora(model, cfg.lora)
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}

    # --- data: one resumable iterator per category
    iters = {}
    for i, c in enumerate(cfg.categories):
        dialogues, catalog = load_split(cfg.data_dir, c, "train")
        wording = category_wording(cfg.data_dir, c)
        examples = build_examples(
            dialogues[: cfg.max_dialogues], catalog, tok, cfg.max_seq_len, progress=False, wording=wording
        )
        iters[c] = ForeverDataIterator(examples, cfg.seq_len, seed=cfg.seed + i, pad_id=tok.pad_token_id or 0)

    # --- resume (the inner optimizer is rebuilt every outer step, so weights + data position are the state)
    opt = torch.optim.AdamW(params.values(), lr=cfg.learning_rate, weight_decay=0.0)
    step, extra = 0, {"seconds": 0.0, "inner_loss": []}
    state = load_checkpoint(ckpt_dir, model)
    if state is not None:
        step, extra = state["step"], state["extra"]
        for c, s in state["data"].items():
            iters[c].load_state_dict(s)
        accelerator.print(f"resuming {out_dir} at outer step {step}")
    stop_at = min(cfg.outer_steps, cfg.stop_after_steps or cfg.outer_steps)
    bar = tqdm(
        total=cfg.outer_steps, initial=step, desc="reptile", disable=not (cfg.progress and accelerator.is_main_process)
    )
    t0 = time.monotonic()
    model.train()
    while step < stop_at:
        # every process draws every process's batches (same data position everywhere) and uses its own
        n = accelerator.num_processes
        tasks = [cfg.categories[(step * n + r) % len(cfg.categories)] for r in range(n)]
        batches = [[next(iters[c]) for _ in range(cfg.inner_steps)] for c in tasks]
        theta = {k: p.detach().clone() for k, p in params.items()}
        opt = torch.optim.AdamW(params.values(), lr=cfg.learning_rate, weight_decay=0.0)
        for batch in batches[accelerator.process_index]:  # inner loop: adapt to one category
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
            loss, _ = assistant_token_loss(model, batch)  # forward
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        eps = cfg.step_size * (1 - step / cfg.outer_steps)  # linearly annealed outer step
        with torch.no_grad():  # theta <- theta + eps * mean over processes of (theta_task - theta)
            for k, p in params.items():
                move = accelerator.reduce(p - theta[k], reduction="mean") if n > 1 else p - theta[k]
                p.copy_(theta[k] + eps * move)
        step += 1
        bar.update(1)
        extra["inner_loss"].append(round(loss.item(), 4))
        if step % cfg.log_every == 0 or step == cfg.outer_steps:
            log.info("reptile outer %d/%d (%s) inner loss %.4f", step, cfg.outer_steps, tasks[0], loss.item())
        if step % cfg.save_every == 0 or step == stop_at:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                data = {c: it.state_dict() for c, it in iters.items()}
                save_checkpoint(
                    ckpt_dir,
                    step,
                    model,
                    opt,
                    None,
                    data,
                    {**extra, "seconds": extra["seconds"] + time.monotonic() - t0},
                )
    bar.close()
    extra["seconds"] += time.monotonic() - t0
    if step < cfg.outer_steps:
        log.info("stopped at outer step %d of %d (stop_after_steps); rerun to resume", step, cfg.outer_steps)
        return out_dir
    metrics = {"outer_steps": step, "categories": list(cfg.categories), "inner_loss_last": extra["inner_loss"][-1],
               "seconds": round(extra["seconds"], 1), "base": cfg.base}  # fmt: skip
    if accelerator.is_main_process:
        save_adapter(model, out_dir, cfg, metrics)
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    accelerator.wait_for_everyone()
    log.info("meta-learned initialisation %s: %s", out_dir, json.dumps(metrics))
    return out_dir


def cli(argv: list[str] | None = None) -> int:
    """`shopguide train meta CONFIG.yaml [key=value ...]`."""
    ap = recipe_parser("shopguide train meta", __doc__, "training/configs/meta.yaml", "outer_steps=60 lora.r=8")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = main(load_config(MetaConfig, args.config, args.overrides))
    except (ConfigError, DataError) as e:
        print(f"shopguide train meta: {e}", file=sys.stderr)
        return 1
    print(f"adapter: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
