"""The training loops behind `training/transfer.py`: single-adapter fine-tuning (target-only, finetune, the
source adapter), the joint multi-task / adversarial loop, Reptile meta-learning, evaluation and saving.

Loops are written out (forward, loss, backward, step) as in `training/sft.py`; the objectives are arithmetic
on components from `training/objectives.py`. Called only by the recipe; see its docstring for the methods.
"""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path
from typing import Any

from assistant.model import load_base
from training.augment import augment_dialogues
from training.checkpoint import save_adapter
from training.examples import build_examples
from training.sft import add_lora
from training.transfer import TransferConfig, activate, lm_step_loss, load_split_dialogues, pooled
from training.transfer_data import (
    PaddedBatches,
    category_texts,
    choice_targets,
    needs_examples,
    pad_batch,
    text_batches,
)

log = logging.getLogger(__name__)


def _lr(cfg: TransferConfig, step: int, total: int) -> float:
    """Short linear warm-up (5% of the steps), then cosine decay to 10% of the peak."""
    warm = max(1, total // 20)
    if step < warm:
        return cfg.learning_rate * (step + 1) / warm
    return cfg.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm))))


def _pad_id(tok: Any) -> int:
    return tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)


def load_trainable(base: Any, path: Path, adapter_name: str = "default", trainable: bool = True) -> Any:
    """`PeftModel.from_pretrained(..., is_trainable=trainable)`, quiet about peft 0.21 reading transformers'
    deprecated `is_gradient_checkpointing` (not ours to fix; the test suite turns that warning into an error)."""
    import warnings

    from peft import PeftModel

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return PeftModel.from_pretrained(base, str(path), adapter_name=adapter_name, is_trainable=trainable)


def _progress(cfg: TransferConfig, total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(range(total), desc=desc, disable=not cfg.progress, leave=False)


def finetune(
    cfg: TransferConfig, model: Any, tok: Any, dialogues: list, catalogs: dict, steps: int, desc: str = "finetune"
) -> Any:
    """Train the trainable (LoRA) weights of `model` on the dialogues' LM loss for `steps` steps.

    `catalogs` maps category -> Catalog (each dialogue is rendered with its own category's cards).
    """
    import torch

    examples = []
    for cat, catalog in catalogs.items():
        ds = [d for d in dialogues if d.category == cat]
        if ds:
            examples += build_examples(ds, catalog, tok, cfg.data.max_seq_len, progress=False)
    batches = PaddedBatches(examples, cfg.batch_size, _pad_id(tok), cfg.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    model.train()
    for step in _progress(cfg, steps, desc):
        for g in opt.param_groups:
            g["lr"] = _lr(cfg, step, steps)
        loss, _ = lm_step_loss(model, next(batches))  # forward
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % cfg.log_every == 0 or step == steps - 1:
            log.info("%s step %d/%d loss %.4f", desc, step + 1, steps, loss.item())
    model.eval()
    return model


def run_single(cfg: TransferConfig, model: Any, tok: Any, shots: list, catalog: Any, init: Path | None) -> Any:
    """target-only (fresh LoRA, `init=None`) or finetune (continue the adapter at `init`) on the K dialogues."""

    model = load_trainable(model, init) if init else add_lora(model, cfg.lora)
    if not shots:
        log.info("no target dialogues (shots=%s): the adapter is left as initialised", cfg.shots)
        return model.eval()
    return finetune(cfg, model, tok, shots, {cfg.target: catalog}, cfg.max_steps, desc=cfg.method)


def source_adapter_dir(cfg: TransferConfig) -> Path:
    """The source adapter: `cfg.source_adapter`, or one trained here (once) into `OUT_DIR/source_adapter`."""
    import torch

    if cfg.source_adapter:
        path = Path(cfg.source_adapter)
        if not (path / "adapter_config.json").exists():
            raise FileNotFoundError(f"{path}: not a PEFT adapter folder (no adapter_config.json)")
        return path
    path = Path(cfg.out_dir) / "source_adapter"
    if (path / "adapter_config.json").exists():
        return path
    base, tok = load_base(cfg.base, device="cpu", dtype=torch.float32)
    dialogues, catalogs = [], {}
    for s in cfg.sources:
        ds, catalogs[s] = load_split_dialogues(cfg, s, "train", cfg.data.max_source_dialogues)
        dialogues += ds
    model = finetune(cfg, add_lora(base, cfg.lora), tok, dialogues, catalogs, cfg.source_steps, desc="source")
    save_adapters(
        model, {"source": "default"}, path.parent, cfg, {"sources": cfg.sources}, names={"source": path.name}
    )
    return path


def run_joint(
    cfg: TransferConfig, base: Any, tok: Any, shots: list, tgt_catalog: Any, src_dir: Path
) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """multitask, adversarial, multitask+adversarial and augment: one loop, objectives switched by method.

    Returns:
        `(model, {category: adapter name to save}, extra metrics)`.
    """
    import torch
    from peft import LoraConfig

    from training.objectives import CategoryDiscriminator, DomainAdversarialLoss, dann_lambda, mean_pool

    ts = cfg.transfer
    multitask = cfg.method in ("multitask", "multitask+adversarial", "augment")
    adversarial = cfg.method in ("adversarial", "multitask+adversarial", "augment")
    model = load_trainable(base, src_dir, "shared")
    extra: dict[str, Any] = {}
    real_shots = list(shots)
    if cfg.method == "augment":
        generated, extra = augment_dialogues(cfg, model, tok, real_shots, tgt_catalog)
        shots = real_shots + generated
    cats = [*cfg.sources, cfg.target]
    if multitask:
        targets = model.peft_config["shared"].target_modules
        for c in cats:
            model.add_adapter(
                c,
                LoraConfig(
                    r=ts.specific_r,
                    lora_alpha=2 * ts.specific_r,
                    target_modules=targets,
                    lora_dropout=cfg.lora.lora_dropout,
                    task_type="CAUSAL_LM",
                ),
            )

    def names(c: str) -> list[str]:
        return ["shared", c] if multitask else ["shared"]

    # data: LM batches per category, auxiliary targets, unlabeled text for the discriminator

    pad = _pad_id(tok)
    lm, needs, choice, texts = {}, {}, {}, {}
    for i, c in enumerate(cats):
        if c == cfg.target:
            ds, catalog, real = shots, tgt_catalog, real_shots
        else:
            ds, catalog = load_split_dialogues(cfg, c, "train", cfg.data.max_source_dialogues)
            real = ds
        if ds:
            lm[c] = PaddedBatches(
                build_examples(ds, catalog, tok, cfg.data.max_seq_len, progress=False),
                cfg.batch_size,
                pad,
                cfg.seed + i,
            )
        if multitask and ts.aux_needs_weight > 0:
            ex = needs_examples(ds, tok, cfg.data.max_seq_len)
            if ex:
                needs[c] = PaddedBatches(ex, max(1, cfg.batch_size // 2), pad, cfg.seed + 100 + i)
        if multitask and ts.aux_choice_weight > 0:
            choice[c] = choice_targets(ds, catalog, tok)
        if adversarial:
            texts[c] = text_batches(
                category_texts(cfg.data.data_dir, c, catalog, real),
                tok,
                ts.adv_batch_size,
                ts.adv_max_len,
                cfg.seed + 200 + i,
            )
    hidden_size = model.get_input_embeddings().weight.shape[1]
    adv = DomainAdversarialLoss(CategoryDiscriminator(hidden_size, hidden=ts.disc_hidden))
    head = torch.nn.Linear(hidden_size, hidden_size, bias=False)  # product-choice bilinear scorer
    params = [p for n, p in model.named_parameters() if "lora_" in n] + [*adv.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    rng = random.Random(cfg.seed)
    disc_acc: list[float] = []
    model.train()
    for step in _progress(cfg, cfg.max_steps, cfg.method):
        p = step / cfg.max_steps
        for g in opt.param_groups:
            g["lr"] = _lr(cfg, step, cfg.max_steps)
        # task: LM loss on a source or a target batch, weighted lambda_src / lambda_tgt
        cat = cfg.target if cfg.target in lm and rng.random() < ts.target_ratio else rng.choice(cfg.sources)
        activate(model, names(cat))
        batch = next(lm[cat])
        want_hidden = bool(choice.get(cat))
        lm_loss, hidden = lm_step_loss(model, batch, hidden=want_hidden)  # hidden: (B, T, H)
        loss = (ts.lambda_tgt if cat == cfg.target else ts.lambda_src) * lm_loss
        logs = {"lm": lm_loss.item()}
        # auxiliary 1: which candidate does the reply recommend? context = the turn's prompt positions
        rows = [(b, choice[cat][k]) for b, k in enumerate(batch["keys"]) if k in choice.get(cat, {})][:2]
        if rows:
            prompt = (batch["labels"] == -100) & (batch["attention_mask"] == 1)  # (B, T)
            ctx = mean_pool(hidden, prompt)  # (B, H)
            c_loss = 0.0
            for b, target in rows:
                cards = pooled(model, pad_batch(target.candidate_ids, None, pad))  # (C, H)
                scores = head(ctx[b]) @ cards.T / math.sqrt(hidden_size)  # (C,)
                c_loss = c_loss + torch.nn.functional.cross_entropy(scores[None], torch.tensor([target.gold]))
            loss = loss + ts.aux_choice_weight * c_loss / len(rows)
            logs["choice"] = c_loss.item() / len(rows)
        # auxiliary 2: extract the shopper's needs as JSON (generated text on the same trunk)
        if cat in needs:
            n_loss, _ = lm_step_loss(model, next(needs[cat]))
            loss = loss + ts.aux_needs_weight * n_loss
            logs["needs"] = n_loss.item()
        # category-adversarial: source vs target unlabeled text through the GRL, DANN lambda schedule
        if adversarial:
            src = rng.choice(cfg.sources)
            activate(model, names(src))
            f_src = pooled(model, next(texts[src]))  # (Bs, H)
            activate(model, names(cfg.target))
            f_tgt = pooled(model, next(texts[cfg.target]))  # (Bt, H)
            lam = dann_lambda(p, gamma=ts.adv_gamma, max_value=ts.adv_weight)
            loss = loss + adv(f_src, f_tgt, lam=lam)
            disc_acc.append(adv.last_accuracy)
            logs["disc_acc"] = adv.last_accuracy
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % cfg.log_every == 0 or step == cfg.max_steps - 1:
            log.info(
                "%s step %d/%d %s",
                cfg.method,
                step + 1,
                cfg.max_steps,
                " ".join(f"{k} {v:.4f}" for k, v in logs.items()),
            )
    model.eval()
    if disc_acc:
        tail = disc_acc[-max(1, len(disc_acc) // 5) :]
        extra["discriminator_accuracy_first"] = sum(disc_acc[: len(tail)]) / len(tail)
        extra["discriminator_accuracy_last"] = sum(tail) / len(tail)
    if not multitask:
        return model, {cfg.target: "shared"}, extra
    # one adapter per category: concatenating the ranks of shared + specific reproduces their sum exactly
    adapters = {}
    for c in cats:
        model.add_weighted_adapter(["shared", c], [1.0, 1.0], adapter_name=f"merged-{c}", combination_type="cat")
        adapters[c] = f"merged-{c}"
    return model, adapters, extra


def run_meta(cfg: TransferConfig, base: Any, tok: Any, shots: list, catalog: Any) -> tuple[Any, dict[str, Any]]:
    """Reptile (Nichol et al. 2018, https://arxiv.org/abs/1803.02999) over `cfg.meta_sources`, then fine-tune
    the learned LoRA initialisation on the K target dialogues (left as is when K = 0)."""
    import torch

    ts = cfg.transfer
    model = add_lora(base, cfg.lora)
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    tasks = {}
    for i, c in enumerate(cfg.meta_sources):
        ds, cat_catalog = load_split_dialogues(cfg, c, "train", cfg.data.max_source_dialogues)
        tasks[c] = PaddedBatches(
            build_examples(ds, cat_catalog, tok, cfg.data.max_seq_len, progress=False),
            cfg.batch_size,
            _pad_id(tok),
            cfg.seed + i,
        )
    model.train()
    for outer in _progress(cfg, ts.meta_outer_steps, "reptile"):
        c = cfg.meta_sources[outer % len(cfg.meta_sources)]
        theta = {n: p.detach().clone() for n, p in params.items()}
        opt = torch.optim.AdamW(list(params.values()), lr=cfg.learning_rate, weight_decay=0.0)
        for _ in range(ts.meta_inner_steps):  # inner loop: adapt to one category
            loss, _ = lm_step_loss(model, next(tasks[c]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        eps = ts.meta_step_size * (1 - outer / ts.meta_outer_steps)  # linearly annealed outer step
        with torch.no_grad():  # theta <- theta + eps * (theta_c - theta)
            for n, p in params.items():
                p.copy_(theta[n] + eps * (p - theta[n]))
        if outer % cfg.log_every == 0:
            log.info("reptile outer %d/%d (%s) inner loss %.4f", outer + 1, ts.meta_outer_steps, c, loss.item())
    model.eval()
    if shots:
        model = finetune(cfg, model, tok, shots, {cfg.target: catalog}, cfg.max_steps, desc="meta-adapt")
    return model, {"meta_sources": list(cfg.meta_sources)}


def evaluate_target(cfg: TransferConfig, model: Any, tok: Any, adapter: str) -> dict[str, float]:
    """Target validation loss / perplexity with `adapter` active, and the proxy A-distance between pooled
    features of source and target unlabeled text under that adapter."""
    import torch

    from training.objectives import proxy_a_distance

    model.set_adapter(adapter)
    model.eval()
    ds, catalog = load_split_dialogues(cfg, cfg.target, "validation", cfg.data.max_eval_dialogues)
    examples = build_examples(ds, catalog, tok, cfg.data.max_seq_len, progress=False)
    batches = PaddedBatches(examples, cfg.batch_size, _pad_id(tok), 0)
    total, count = 0.0, 0
    with torch.no_grad():
        for _ in range(math.ceil(len(examples) / cfg.batch_size)):
            batch = next(batches)
            loss, _ = lm_step_loss(model, batch)
            n = int((batch["labels"][:, 1:] != -100).sum())
            total, count = total + loss.item() * n, count + n
        feats = {}
        for c in (cfg.sources[0], cfg.target):
            cat_catalog = catalog if c == cfg.target else load_split_dialogues(cfg, c, "validation", 1)[1]
            it = text_batches(category_texts(cfg.data.data_dir, c, cat_catalog), tok, 32, cfg.transfer.adv_max_len, 7)
            feats[c] = torch.cat([pooled(model, next(it)) for _ in range(2)])
    val_loss = total / max(count, 1)
    return {
        "val_loss": val_loss,
        "val_ppl": math.exp(min(val_loss, 50)),
        "proxy_a_distance": proxy_a_distance(feats[cfg.sources[0]], feats[cfg.target], epochs=100),
    }


def save_adapters(
    model: Any,
    adapters: dict[str, str],
    root: Path,
    cfg: Any,
    metrics: dict[str, Any],
    names: dict[str, str] | None = None,
) -> None:
    """Write `root/<category>/` for each `{category: peft adapter name}`: one plain PEFT adapter (only that
    adapter's weights) + `train_config.yaml` + `metrics.json` (`training.checkpoint.save_adapter`)."""

    for cat, name in adapters.items():
        final = Path(root) / (names or {}).get(cat, cat)
        save_adapter(model, final, cfg, dict(metrics, category=cat), adapter_name=name)
