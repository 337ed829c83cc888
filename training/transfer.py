"""RECIPE: cross-category transfer of a LoRA adapter to a new category, every method in one file.

    shopguide train transfer training/configs/transfer.yaml method=multitask+adversarial target=electronics shots=32
    shopguide train transfer training/configs/transfer.yaml method=source-only target=beauty shots=0
    python -m training.transfer training/configs/transfer.yaml method=meta target=beauty shots=8 out_dir=/tmp/run

Methods (`method=`):
  target-only            fresh LoRA from the base on the K target dialogues
  source-only            the source adapter as is (zero-shot)
  finetune               the source adapter continued on the K target dialogues
  multitask              a shared LoRA (from the source adapter) + a small LoRA per category, trained jointly on
                         source and target: lambda_src * L_src + lambda_tgt * L_tgt, plus the product-choice and
                         needs-extraction auxiliary losses on the same trunk
  adversarial            one LoRA trained on source dialogues + a category discriminator on pooled hidden states
                         behind a gradient-reversal layer (DANN schedule), fed unlabeled target text: works at K = 0
  multitask+adversarial  both (the default for a new category)
  augment                the source model writes target dialogues from the target catalog, a discriminator keeps
                         the ones it cannot tell from real target text (with a diversity check); then as above
  meta                   Reptile over the source categories -> a LoRA initialisation, adapted on the K dialogues

`shots=K` takes K target training dialogues (seeded sample; `all` for every one). The output folder holds
`adapters/<category>/` (one plain PEFT adapter per category, shared + specific already merged, with
`train_config.yaml` and `metrics.json`), ready for `assistant.model.load_adapters`.
"""

from __future__ import annotations

import logging
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.model import load_base
from retrieval.fileio import DataError
from training.config import ConfigError, load_config
from training.examples import load_split
from training.sft import LoraSettings
from training.transfer_data import parse_shots, select_shots

log = logging.getLogger(__name__)

METHODS = (
    "target-only",
    "source-only",
    "finetune",
    "multitask",
    "adversarial",
    "multitask+adversarial",
    "augment",
    "meta",
)


@dataclass
class TransferData:
    """Where the dialogues come from and how long examples may be."""

    data_dir: str = "data/demo"
    max_seq_len: int = 768
    max_source_dialogues: int | None = None
    max_eval_dialogues: int | None = 50

    def __post_init__(self):
        if self.max_seq_len < 16:
            raise ValueError(f"`data.max_seq_len` must be >= 16, got {self.max_seq_len}")


@dataclass
class TransferSettings:
    """Knobs of the transfer objectives; each is used by the methods named in its comment."""

    lambda_src: float = 1.0  # multitask/adversarial: weight of the source LM loss
    lambda_tgt: float = 1.0  # weight of the target LM loss
    target_ratio: float = 0.5  # share of steps whose LM batch is a target batch (when there are target examples)
    specific_r: int = 4  # multitask: rank of each per-category LoRA (the shared one has lora.r)
    aux_choice_weight: float = 0.2  # multitask: product-choice loss weight (0 turns it off)
    aux_needs_weight: float = 0.2  # multitask: needs-extraction loss weight (0 turns it off)
    adv_weight: float = 0.1  # adversarial: final DANN lambda of the schedule
    adv_gamma: float = 10.0  # adversarial: schedule steepness
    disc_hidden: int = 128  # adversarial: discriminator width
    adv_batch_size: int = 8  # adversarial: unlabeled texts per category per step
    adv_max_len: int = 96  # adversarial: tokens per unlabeled text
    augment_n: int = 48  # augment: dialogues generated
    augment_keep_fraction: float = 0.5  # augment: share kept (least distinguishable from real)
    augment_max_new_tokens: int = 60
    augment_max_similarity: float = 0.7  # augment: drop a reply whose bigram Jaccard to a kept one exceeds this
    meta_outer_steps: int = 30  # meta: Reptile outer steps
    meta_inner_steps: int = 4  # meta: inner Adam steps per outer step
    meta_step_size: float = 0.5  # meta: Reptile interpolation epsilon

    def __post_init__(self):
        if not 0 <= self.target_ratio <= 1:
            raise ValueError(f"`transfer.target_ratio` must be in [0, 1], got {self.target_ratio}")
        if not 0 < self.augment_keep_fraction <= 1:
            raise ValueError(f"`transfer.augment_keep_fraction` must be in (0, 1], got {self.augment_keep_fraction}")


@dataclass
class TransferConfig:
    """Resolved config of one transfer run (saved as train_config.yaml beside each adapter)."""

    base: str = "smollm2-135m-instruct"
    out_dir: str = "outputs/transfer/run"
    method: str = "multitask+adversarial"
    target: str = "electronics"
    shots: str = "32"  # K target training dialogues, or "all"
    sources: list[str] = field(default_factory=lambda: ["apparel"])
    meta_sources: list[str] = field(default_factory=lambda: ["apparel", "shoes", "home"])
    source_adapter: str = ""  # a trained source adapter folder; empty -> trained here first (source_steps)
    source_steps: int = 200
    data: TransferData = field(default_factory=TransferData)
    lora: LoraSettings = field(default_factory=LoraSettings)
    transfer: TransferSettings = field(default_factory=TransferSettings)
    batch_size: int = 4
    learning_rate: float = 1e-3
    max_steps: int = 100
    log_every: int = 10
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"`method` must be one of {', '.join(METHODS)}, got {self.method!r}")

        parse_shots(self.shots)
        for name in ("batch_size", "max_steps", "log_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be positive, got {getattr(self, name)}")
        if self.target in self.sources:
            raise ValueError(f"`target` {self.target!r} is also in `sources`")


def lm_step_loss(model: Any, batch: dict[str, Any], hidden: bool = False) -> tuple[Any, Any]:
    """Masked LM loss of a padded batch; with `hidden`, also the last-layer hidden states (B, T, H)."""
    from training.objectives import masked_lm_loss

    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        use_cache=False,
        output_hidden_states=hidden,
    )
    return masked_lm_loss(out.logits, batch["labels"]), (out.hidden_states[-1] if hidden else None)


def pooled(model: Any, batch: dict[str, Any]) -> Any:
    """Mean-pooled last-layer hidden states (B, H) of a padded text batch."""
    from training.objectives import mean_pool

    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        use_cache=False,
        output_hidden_states=True,
    )
    return mean_pool(out.hidden_states[-1], batch["attention_mask"])


def activate(model: Any, names: list[str]) -> None:
    """Make `names` the active LoRA adapters (their outputs add up) and keep every LoRA weight trainable.

    peft's `set_adapter` freezes inactive adapters; in a joint step different categories' adapters are
    active for different forwards, so all of them stay `requires_grad` and only the active ones get gradient.
    """
    model.base_model.set_adapter(names if len(names) > 1 else names[0])
    for n, p in model.named_parameters():
        if "lora_" in n:
            p.requires_grad_(True)


def load_split_dialogues(cfg: TransferConfig, category: str, split: str, limit: int | None = None):
    """Dialogues and catalog of one category's split (first `limit` dialogues)."""

    dialogues, catalog = load_split(cfg.data.data_dir, category, split)
    return (dialogues[:limit] if limit else dialogues), catalog


def main(cfg: TransferConfig) -> Path:
    """Run one transfer method; returns the target adapter folder `OUT_DIR/adapters/<target>`."""
    import torch

    from training.transfer_methods import (
        evaluate_target,
        load_trainable,
        run_joint,
        run_meta,
        run_single,
        save_adapters,
        source_adapter_dir,
    )

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    out = Path(cfg.out_dir)
    tgt_train, tgt_catalog = load_split_dialogues(cfg, cfg.target, "train")
    shots = select_shots(tgt_train, cfg.shots, cfg.seed)
    log.info("method %s, target %s, %d target dialogues (shots=%s)", cfg.method, cfg.target, len(shots), cfg.shots)
    needs_target = cfg.method in ("target-only",)
    if needs_target and not shots:
        raise ValueError(f"method {cfg.method} needs target dialogues; got shots={cfg.shots}")

    src_dir = source_adapter_dir(cfg) if cfg.method not in ("target-only", "meta") else None
    model, tok = load_base(cfg.base, device="cpu" if not torch.cuda.is_available() else None, dtype=torch.float32)
    extra: dict[str, Any] = {}
    if cfg.method == "source-only":
        model = load_trainable(model, src_dir, cfg.target, trainable=False)
        adapters = {cfg.target: cfg.target}
    elif cfg.method in ("target-only", "finetune"):
        model = run_single(cfg, model, tok, shots, tgt_catalog, init=src_dir)
        adapters = {cfg.target: "default"}
    elif cfg.method == "meta":
        model, extra = run_meta(cfg, model, tok, shots, tgt_catalog)
        adapters = {cfg.target: "default"}
    else:
        model, adapters, extra = run_joint(cfg, model, tok, shots, tgt_catalog, src_dir)
    metrics = {
        "method": cfg.method,
        "target": cfg.target,
        "shots": cfg.shots,
        "target_dialogues": len(shots),
        **extra,
        **evaluate_target(cfg, model, tok, adapters[cfg.target]),
    }
    log.info("target validation: %s", {k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)})
    save_adapters(model, adapters, out / "adapters", cfg, metrics)
    return out / "adapters" / cfg.target


def cli(argv: list[str] | None = None) -> int:
    """`shopguide train transfer CONFIG.yaml [key=value ...]`."""
    import argparse

    ap = argparse.ArgumentParser(
        prog="shopguide train transfer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("config", help="YAML config (e.g. training/configs/transfer.yaml)")
    ap.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. method=meta shots=8 max_steps=50")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        cfg = load_config(TransferConfig, args.config, args.overrides)
        path = main(cfg)
    except (ConfigError, DataError, ValueError, FileNotFoundError) as e:
        print(f"shopguide train transfer: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(cli())
