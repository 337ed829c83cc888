"""RECIPE: cross-category transfer of a LoRA adapter to a new category.

    shopguide train transfer training/configs/transfer.yaml method=multitask+adversarial target=electronics shots=32
    shopguide train transfer training/configs/transfer.yaml method=source-only target=beauty shots=0
    accelerate launch -m training.transfer training/configs/transfer.yaml target=beauty shots=8   # N processes

Methods (`method=`); every one starts from the same source adapter (`source_adapter=`, or an SFT run on
`sources[0]` into OUT_DIR/source_adapter):
  source-only            the source adapter as is (zero-shot)
  target-only            an SFT run (`training/sft.py`) from the base on the K target dialogues
  finetune               an SFT run from the source adapter on the K target dialogues
  meta                   Reptile over `meta.sources` (`training/meta.py`), then an SFT run from its result
  multitask              the joint loop below: a shared LoRA (from the source adapter) + a small LoRA per
                         category, source_weight * L_src + target_weight * L_tgt, plus the product-choice and
                         needs-extraction auxiliary losses on the same trunk
  adversarial            the joint loop with one LoRA and a category discriminator on mean-pooled hidden states
                         behind a gradient-reversal layer (DANN schedule of its coefficient), fed unlabeled
                         target text: works at K = 0
  multitask+adversarial  both (the default for a new category)
  augment                the source model writes target dialogues from the target catalog, a discriminator keeps
                         the ones it cannot tell from real target text (`training/augment.py`); then as above

`shots=K` takes K target training dialogues (a sample fixed by `seed`, the same for every method; `all` for
every one). The output folder holds `adapters/<category>/` (one plain PEFT adapter per category, shared +
specific already merged, with `train_config.yaml` and `metrics.json`: target validation loss and the proxy
A-distance between source and target text under the adapter). Every stage resumes after a kill: rerun the
same command (finished stages are reused, the running one continues from its checkpoint).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.dialogues import Dialogue
from assistant.generation.chat_format import IGNORE_INDEX
from assistant.generation.model import load_base, pick_device
from retrieval.fileio import DataError, atomic_write_json, atomic_write_jsonl
from training import meta
from training.augment import augment_dialogues
from training.checkpoint import load_checkpoint, save_adapter, save_checkpoint
from training.config import ConfigError, load_config, recipe_parser, save_config
from training.examples import (
    CategoryMixer,
    Example,
    ForeverDataIterator,
    assistant_token_loss,
    build_examples,
    category_wording,
    collate,
    load_split,
    pooled_hidden,
    prompt_format,
    sample_dialogues,
    weight_by_act,
)
from training.sft import DataSettings, LoraSettings, SFTConfig, is_finished, load_trainable_adapter, lr_lambda
from training.sft import main as sft_main
from training.transfer_data import (
    category_texts,
    choice_targets,
    needs_examples,
    parse_shots,
    read_unlabeled,
    text_examples,
)
from training.transfer_eval import evaluate_target

log = logging.getLogger(__name__)

SFT_METHODS = ("target-only", "finetune")
JOINT_METHODS = ("multitask", "adversarial", "multitask+adversarial", "augment")
METHODS = ("source-only", *SFT_METHODS, "meta", *JOINT_METHODS)
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json", "train_config.yaml", "metrics.json")


@dataclass
class TransferData:
    """Where the dialogues come from and how long examples may be."""

    data_dir: str = "data/demo"
    max_seq_len: int = 768
    max_source_dialogues: int | None = None  # first N source training dialogues (None: all)
    max_eval_dialogues: int | None = 50
    act_weights: dict[str, int] = field(default_factory=dict)  # repeat turns of these acts (see weight_by_act)
    state_in_prompt: bool = False  # the dialogue state in the system message (chat_format.PromptFormat)
    history_messages: int | None = None  # keep only the last N messages of a turn's history (None: all)

    def __post_init__(self):
        prompt_format(self)  # names a bad history_messages
        if self.max_seq_len < 16:
            raise ValueError(f"`data.max_seq_len` must be >= 16, got {self.max_seq_len}")


@dataclass
class TransferSettings:
    """Knobs of the joint loop; each is used by the methods named in its comment."""

    source_weight: float = 1.0  # loss weight of a source LM batch
    target_weight: float = 1.0  # loss weight of a target LM batch
    target_share: float = 0.5  # share of LM batches drawn from the target (when it has dialogues)
    category_r: int = 4  # multitask: rank of each per-category LoRA (the shared one keeps the source's rank)
    choice_weight: float = 0.2  # multitask: loss weight of product choice (0 turns it off)
    needs_weight: float = 0.2  # multitask: loss weight of needs extraction (0 turns it off)
    aux_rows: int = 2  # multitask: examples per step of each auxiliary task
    grl_coefficient: float = 0.1  # adversarial: final coefficient of the gradient-reversal layer (DANN schedule)
    grl_gamma: float = 10.0  # adversarial: steepness of that schedule
    discriminator_hidden: int = 128  # adversarial: width of the category discriminator
    text_batch_size: int = 8  # adversarial: unlabeled texts per category per step
    text_max_len: int = 96  # adversarial: tokens per unlabeled text
    augment_n: int = 48  # augment: dialogues generated
    augment_keep_fraction: float = 0.5  # augment: share kept (least distinguishable from real)
    augment_max_new_tokens: int = 60
    augment_max_similarity: float = 0.7  # augment: drop a reply whose bigram Jaccard to a kept one exceeds this

    def __post_init__(self):
        if not 0 <= self.target_share <= 1:
            raise ValueError(f"`transfer.target_share` must be in [0, 1], got {self.target_share}")
        if not 0 < self.augment_keep_fraction <= 1:
            raise ValueError(f"`transfer.augment_keep_fraction` must be in (0, 1], got {self.augment_keep_fraction}")


@dataclass
class MetaSettings:
    """method=meta: Reptile over `sources` (`training/meta.py`), then SFT on the K target dialogues."""

    sources: list[str] = field(default_factory=lambda: ["apparel", "shoes", "home"])
    outer_steps: int = 30
    inner_steps: int = 4
    step_size: float = 0.5


@dataclass
class TransferConfig:
    """Resolved config of one transfer run (saved as OUT_DIR/transfer_config.yaml)."""

    base: str = "smollm2-135m-instruct"
    out_dir: str = "outputs/transfer/run"
    method: str = "multitask+adversarial"
    target: str = "electronics"
    shots: str = "32"  # K target training dialogues, or "all"
    sources: list[str] = field(default_factory=lambda: ["apparel"])
    source_adapter: str = ""  # a trained source adapter folder; empty -> an SFT run on sources[0] first
    source_steps: int = 200
    data: TransferData = field(default_factory=TransferData)
    lora: LoraSettings = field(default_factory=LoraSettings)
    transfer: TransferSettings = field(default_factory=TransferSettings)
    meta: MetaSettings = field(default_factory=MetaSettings)
    seq_len: int = 2048  # tokens per batch (B x longest, grouped batching as in sft)
    learning_rate: float = 1e-3
    warmup_steps: int = 5
    max_steps: int = 100
    save_every: int = 25
    log_every: int = 10
    seed: int = 0
    stop_after_steps: int | None = None  # stop (checkpointed) after this many steps: simulates a kill, for tests
    progress: bool = True

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"`method` must be one of {', '.join(METHODS)}, got {self.method!r}")
        parse_shots(self.shots)
        for name in ("seq_len", "max_steps", "save_every", "log_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be positive, got {getattr(self, name)}")
        if self.target in self.sources:
            raise ValueError(f"`target` {self.target!r} is also in `sources`")
        if self.seq_len < self.data.max_seq_len:
            raise ValueError(f"`seq_len` ({self.seq_len}) must be >= `data.max_seq_len` ({self.data.max_seq_len})")


def main(cfg: TransferConfig) -> Path:
    """Run one transfer method (or resume it); returns the target adapter folder `OUT_DIR/adapters/<target>`."""
    from accelerate import PartialState

    state = PartialState(cpu=pick_device() == "cpu")
    out = Path(cfg.out_dir)
    final = out / "adapters" / cfg.target
    k = parse_shots(cfg.shots)
    if cfg.method in SFT_METHODS and k == 0:
        raise ValueError(f"method {cfg.method} needs target dialogues; got shots={cfg.shots}")
    if is_finished(final) and "proxy_a_distance" in json.loads((final / "metrics.json").read_text()):
        log.info("%s already finished and scored; remove it to train again", final)
        return final
    if state.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "transfer_config.yaml")
    log.info("method %s, target %s, shots=%s", cfg.method, cfg.target, cfg.shots)

    src = source_adapter_dir(cfg) if cfg.method not in ("target-only", "meta") else None
    if cfg.method == "source-only":
        if state.is_main_process:
            copy_adapter(src, final)
        adapters = {cfg.target: final}
    elif cfg.method in SFT_METHODS:
        init = src if cfg.method == "finetune" else None
        adapters = {cfg.target: run_sft(sft_config(cfg, cfg.target, final, init, k, cfg.seed, cfg.max_steps))}
    elif cfg.method == "meta":
        start = run_meta(cfg)
        if k == 0 and is_finished(start) and state.is_main_process:
            copy_adapter(start, final)
        elif k != 0 and is_finished(start):
            run_sft(sft_config(cfg, cfg.target, final, start, k, cfg.seed, cfg.max_steps))
        adapters = {cfg.target: final}
    else:
        adapters = train_joint(cfg, src)
    state.wait_for_everyone()
    if not is_finished(final):  # stopped early (stop_after_steps): rerun to resume
        return final
    if state.is_main_process:
        scores = evaluate_target(cfg, final)
        log.info("target validation: %s", {k: round(v, 4) for k, v in scores.items()})
        for cat, folder in adapters.items():
            metrics = json.loads((folder / "metrics.json").read_text()) if (folder / "metrics.json").exists() else {}
            metrics.update(method=cfg.method, target=cfg.target, shots=cfg.shots, category=cat, **scores)
            atomic_write_json(folder / "metrics.json", metrics)
    state.wait_for_everyone()
    return final


def copy_adapter(src: Path, dst: Path) -> None:
    """Copy the PEFT files of adapter folder `src` to `dst` (e.g. source-only: the source adapter as is)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ADAPTER_FILES:  # metrics.json last: it marks a finished folder
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)


def sft_config(
    cfg: TransferConfig, category: str, out: Path, init: Path | None, k: int | None, shots_seed: int | None, steps: int
) -> SFTConfig:
    """The SFT run of a transfer stage: `category`'s K dialogues (a sample fixed by `shots_seed`), from `init`."""
    data = DataSettings(
        data_dir=cfg.data.data_dir,
        category=category,
        max_seq_len=cfg.data.max_seq_len,
        max_train_dialogues=k,
        shots_seed=shots_seed,
        act_weights=dict(cfg.data.act_weights),
        max_eval_dialogues=cfg.data.max_eval_dialogues,
        state_in_prompt=cfg.data.state_in_prompt,
        history_messages=cfg.data.history_messages,
    )
    return SFTConfig(
        base=cfg.base, init_adapter=str(init or ""), out_dir=str(out), data=data, lora=cfg.lora,
        seq_len=cfg.seq_len, learning_rate=cfg.learning_rate, warmup_steps=cfg.warmup_steps, max_steps=steps,
        eval_every=steps, save_every=cfg.save_every, log_every=cfg.log_every, seed=cfg.seed,
        stop_after_steps=cfg.stop_after_steps, progress=cfg.progress,
    )  # fmt: skip


def run_sft(sft: SFTConfig) -> Path:
    """`training.sft.main`, skipped when its adapter folder is already finished."""
    out = Path(sft.out_dir)
    return out if is_finished(out) else sft_main(sft)


def source_adapter_dir(cfg: TransferConfig) -> Path:
    """The source adapter: `cfg.source_adapter`, or an SFT run on `sources[0]` into `OUT_DIR/source_adapter`.

    Raises:
        FileNotFoundError: `cfg.source_adapter` is not a PEFT adapter folder.
    """
    if cfg.source_adapter:
        path = Path(cfg.source_adapter)
        if not (path / "adapter_config.json").exists():
            raise FileNotFoundError(f"{path}: not a PEFT adapter folder (no adapter_config.json)")
        return path
    path = Path(cfg.out_dir) / "source_adapter"
    return run_sft(sft_config(cfg, cfg.sources[0], path, None, cfg.data.max_source_dialogues, None, cfg.source_steps))


def run_meta(cfg: TransferConfig) -> Path:
    """method=meta, first stage: Reptile over `cfg.meta.sources` into `OUT_DIR/meta_init`."""
    mc = meta.MetaConfig(
        base=cfg.base, out_dir=str(Path(cfg.out_dir) / "meta_init"), categories=list(cfg.meta.sources),
        data_dir=cfg.data.data_dir, max_seq_len=cfg.data.max_seq_len, max_dialogues=cfg.data.max_source_dialogues,
        lora=cfg.lora, seq_len=cfg.seq_len, learning_rate=cfg.learning_rate, outer_steps=cfg.meta.outer_steps,
        inner_steps=cfg.meta.inner_steps, step_size=cfg.meta.step_size, save_every=cfg.save_every,
        log_every=cfg.log_every, seed=cfg.seed, stop_after_steps=cfg.stop_after_steps, progress=cfg.progress,
    )  # fmt: skip
    out = Path(mc.out_dir)
    return out if is_finished(out) else meta.main(mc)


def activate(model: Any, names: list[str]) -> None:
    """Make `names` the active LoRA adapters (their outputs add up) and keep every LoRA weight trainable.

    peft's `set_adapter` freezes inactive adapters; in a joint step different categories' adapters are
    active for different forwards, so all of them stay `requires_grad` and only the active ones get gradient.
    """
    model.base_model.set_adapter(names if len(names) > 1 else names[0])
    for n, p in model.named_parameters():
        if "lora_" in n:
            p.requires_grad_(True)


def average_gradients(params: list[Any], accelerator: Any) -> None:
    """Average gradients over processes (all-reduce); a parameter no process used keeps `grad = None`.

    The joint step runs several forwards with different adapters active, which DDP's one-forward bookkeeping
    does not allow, so the gradients are averaged here instead (what DDP would do, zeros for unused ones).
    """
    import torch

    if accelerator.num_processes == 1:
        return
    used = torch.tensor([float(p.grad is not None) for p in params], device=accelerator.device)
    used = accelerator.reduce(used, reduction="sum")  # (P,) processes that used each parameter
    live = [p for p, u in zip(params, used.tolist()) if u > 0]
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in live])
    flat = accelerator.reduce(flat, reduction="mean")
    for p in live:
        p.grad, flat = flat[: p.numel()].view_as(p).clone(), flat[p.numel() :]


def train_joint(cfg: TransferConfig, src_dir: Path) -> dict[str, Path]:
    """multitask, adversarial, multitask+adversarial and augment: one loop, objectives switched by method.

    Returns:
        `{category: adapter folder}` written under `OUT_DIR/adapters/` ({} when stopped early).
    """
    import torch
    import torch.nn.functional as F
    from accelerate import Accelerator
    from peft import LoraConfig
    from tqdm.auto import tqdm

    from training.objectives import CategoryDiscriminator, DomainAdversarialLoss, dann_lambda, mean_pool

    ts = cfg.transfer
    multitask = cfg.method in ("multitask", "multitask+adversarial", "augment")
    adversarial = cfg.method in ("adversarial", "multitask+adversarial", "augment")
    out, ckpt_dir = Path(cfg.out_dir), Path(cfg.out_dir) / "checkpoints"
    accelerator = Accelerator(cpu=pick_device() == "cpu")
    device = accelerator.device
    torch.manual_seed(cfg.seed)
    model, tok = load_base(cfg.base, device=str(device), dtype=torch.float32)
    model = load_trainable_adapter(model, src_dir, adapter_name="shared")
    pad = tok.pad_token_id or 0
    cats = [*cfg.sources, cfg.target]

    # --- data: the K target dialogues (+ generated ones for augment) and the source dialogues
    dialogues, catalogs = {}, {}
    for c in cfg.sources:
        ds, catalogs[c] = load_split(cfg.data.data_dir, c, "train")
        dialogues[c] = ds[: cfg.data.max_source_dialogues]
    ds, catalogs[cfg.target] = load_split(cfg.data.data_dir, cfg.target, "train")
    real_target = dialogues[cfg.target] = sample_dialogues(ds, parse_shots(cfg.shots), cfg.seed)
    extra: dict[str, Any] = {}
    if cfg.method == "augment":
        generated, extra = generated_dialogues(cfg, model, tok, real_target, catalogs[cfg.target], accelerator)
        dialogues[cfg.target] = real_target + generated
        torch.manual_seed(cfg.seed)  # the same initialisation below whether or not this run generated

    # --- one resumable iterator per category and task; the LM mixer draws the category of each step
    lm, needs, choice, texts = {}, {}, {}, {}
    for i, c in enumerate(cats):
        if dialogues[c]:
            wording = category_wording(cfg.data.data_dir, c)
            examples = build_examples(
                dialogues[c], catalogs[c], tok, cfg.data.max_seq_len, False, wording, prompt_format(cfg.data)
            )
            examples = weight_by_act(examples, cfg.data.act_weights) if cfg.data.act_weights else examples
            lm[c] = ForeverDataIterator(examples, cfg.seq_len, seed=cfg.seed + i, pad_id=pad)
            if multitask and ts.choice_weight > 0:  # {example index: candidates' cards and the recommended one}
                targets = choice_targets(dialogues[c], catalogs[c], tok)
                keys = [(j, (e.dialogue_id, e.turn)) for j, e in enumerate(examples)]
                choice[c] = {j: targets[key] for j, key in keys if key in targets}
            needs_ex = needs_examples(dialogues[c], tok, cfg.data.max_seq_len) if multitask else []
            if needs_ex and ts.needs_weight > 0:
                needs[c] = ForeverDataIterator(needs_ex, cfg.seq_len, seed=cfg.seed + 100 + i, pad_id=pad,
                                               max_rows=ts.aux_rows)  # fmt: skip
        if adversarial:
            real = real_target if c == cfg.target else dialogues[c]
            ex = text_examples(category_texts(cfg.data.data_dir, c, catalogs[c], real), tok, ts.text_max_len, c)
            texts[c] = ForeverDataIterator(ex, ts.text_batch_size * ts.text_max_len, seed=cfg.seed + 200 + i,
                                           pad_id=pad, max_rows=ts.text_batch_size)  # fmt: skip
    share = {c: ts.target_share if c == cfg.target else (1 - ts.target_share) / len(cfg.sources) for c in lm}
    mixer = CategoryMixer(lm, "proportional", seed=cfg.seed, weights=share)

    # --- model: a small LoRA per category beside the shared one (multitask), discriminator, product scorer
    if multitask:
        for c in cats:
            model.add_adapter(c, LoraConfig(r=ts.category_r, lora_alpha=2 * ts.category_r,
                                            target_modules=model.peft_config["shared"].target_modules,
                                            lora_dropout=cfg.lora.lora_dropout, task_type="CAUSAL_LM"))  # fmt: skip
    activate(model, ["shared"])
    hidden_size = model.get_input_embeddings().weight.shape[1]
    adv = DomainAdversarialLoss(CategoryDiscriminator(hidden_size, hidden=ts.discriminator_hidden))
    choice_head = torch.nn.Linear(hidden_size, hidden_size, bias=False)  # bilinear context x card scorer
    trainable = torch.nn.ModuleDict({"model": model, "adversary": adv, "choice_head": choice_head}).to(device)
    params = [p for p in trainable.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.warmup_steps, cfg.max_steps))

    # --- resume
    aux = {**{f"needs/{c}": it for c, it in needs.items()}, **{f"text/{c}": it for c, it in texts.items()}}
    step, history = 0, {"disc_acc": [], "seconds": 0.0}
    state = load_checkpoint(ckpt_dir, trainable, opt, scheduler)
    if state is not None:
        step, history = state["step"], state["extra"]
        mixer.load_state_dict(state["data"]["mixer"])
        for name, it in aux.items():
            it.load_state_dict(state["data"][name])
        accelerator.print(f"resuming {out} at step {step}")
    stop_at = min(cfg.max_steps, cfg.stop_after_steps or cfg.max_steps)

    def names(c: str) -> list[str]:
        return ["shared", c] if multitask else ["shared"]

    def draw(q: int) -> dict[str, Any]:
        """Process q's inputs for this step; every process draws all of them, so data positions stay equal."""
        cat, batch = next(mixer)
        d = {"cat": cat, "lm": batch, "needs": next(needs[cat]) if cat in needs else None}
        if adversarial:
            d["src"] = cfg.sources[(step * accelerator.num_processes + q) % len(cfg.sources)]
            d["src_text"], d["tgt_text"] = next(texts[d["src"]]), next(texts[cfg.target])
        return {k: ({n: t.to(device) for n, t in v.items()} if isinstance(v, dict) else v) for k, v in d.items()}

    bar = tqdm(total=cfg.max_steps, initial=step, desc=cfg.method,
               disable=not (cfg.progress and accelerator.is_main_process))  # fmt: skip
    t0 = time.monotonic()
    model.train()
    while step < stop_at:
        mine = [draw(q) for q in range(accelerator.num_processes)][accelerator.process_index]
        cat, batch = mine["cat"], mine["lm"]
        logs: dict[str, float] = {}
        with accelerator.autocast():
            # task: LM loss on a source or a target batch, weighted source_weight / target_weight
            activate(model, names(cat))
            lm_loss, _, hidden = assistant_token_loss(model, batch, with_hidden=True)  # hidden: (B, T, H)
            loss = (ts.target_weight if cat == cfg.target else ts.source_weight) * lm_loss
            logs["lm"] = lm_loss.item()
            # auxiliary 1: which candidate does the reply recommend? context = the turn's prompt positions
            rows = [(b, choice[cat][j]) for b, j in enumerate(batch["index"].tolist()) if j in choice.get(cat, {})]
            if rows[: ts.aux_rows]:
                prompt = (batch["labels"] == IGNORE_INDEX) & (batch["token_mask"] == 1)  # (B, T)
                ctx = mean_pool(hidden, prompt)  # (B, H)
                c_loss = 0.0
                for b, target in rows[: ts.aux_rows]:
                    cards = [[Example(ids, [IGNORE_INDEX] * len(ids), cat)] for ids in target.candidate_ids]
                    cards = collate(cards, pad)
                    card_f = pooled_hidden(model, {k: v.to(device) for k, v in cards.items()})  # (C, H)
                    scores = choice_head(ctx[b]) @ card_f.T / math.sqrt(hidden_size)  # (C,)
                    c_loss = c_loss + F.cross_entropy(scores[None], torch.tensor([target.gold], device=device))
                c_loss = c_loss / len(rows[: ts.aux_rows])
                loss = loss + ts.choice_weight * c_loss
                logs["choice"] = c_loss.item()
            # auxiliary 2: extract the shopper's needs as JSON (generated text on the same trunk)
            if mine["needs"] is not None:
                n_loss, _ = assistant_token_loss(model, mine["needs"])
                loss = loss + ts.needs_weight * n_loss
                logs["needs"] = n_loss.item()
            # category-adversarial: source vs target text through the GRL, its coefficient on the DANN schedule
            if adversarial:
                activate(model, names(mine["src"]))
                f_src = pooled_hidden(model, mine["src_text"])  # (Bs, H)
                activate(model, names(cfg.target))
                f_tgt = pooled_hidden(model, mine["tgt_text"])  # (Bt, H)
                grl = dann_lambda(step / cfg.max_steps, gamma=ts.grl_gamma, max_value=ts.grl_coefficient)
                loss = loss + adv(f_src, f_tgt, lam=grl)
                history["disc_acc"].append(adv.last_accuracy)
                logs.update(disc_acc=adv.last_accuracy, grl=grl)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        average_gradients(params, accelerator)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        scheduler.step()
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.max_steps:
            log.info(
                "%s step %d/%d %s", cfg.method, step, cfg.max_steps, " ".join(f"{k} {v:.4f}" for k, v in logs.items())
            )
        if step % cfg.save_every == 0 or step == stop_at:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                data = {"mixer": mixer.state_dict(), **{name: it.state_dict() for name, it in aux.items()}}
                seconds = history["seconds"] + time.monotonic() - t0
                save_checkpoint(ckpt_dir, step, trainable, opt, scheduler, data, {**history, "seconds": seconds})
    bar.close()
    history["seconds"] += time.monotonic() - t0
    if step < cfg.max_steps:
        log.info("stopped at step %d of %d (stop_after_steps); rerun to resume", step, cfg.max_steps)
        return {}

    # --- finished: one plain adapter per category (shared + its own, concatenated ranks: exactly their sum)
    model.eval()
    acc = history["disc_acc"]
    tail = max(1, len(acc) // 5)
    if acc:
        extra.update(
            discriminator_accuracy_first=sum(acc[:tail]) / tail, discriminator_accuracy_last=sum(acc[-tail:]) / tail
        )
    extra.update(steps=step, seconds=round(history["seconds"], 1), target_dialogues=len(real_target),
                 processes=accelerator.num_processes)  # fmt: skip
    if accelerator.num_processes > 1:  # averaged gradients keep every process's weights identical
        sums = accelerator.gather(torch.stack([p.detach().double().sum() for p in params]).sum()[None])
        extra["weights_in_sync"] = bool(torch.allclose(sums, sums[0].expand_as(sums)))
    folders = {c: out / "adapters" / c for c in (cats if multitask else [cfg.target])}
    if accelerator.is_main_process:
        for c, folder in folders.items():
            name = "shared"
            if multitask:
                name = f"merged-{c}"
                model.add_weighted_adapter(["shared", c], [1.0, 1.0], adapter_name=name, combination_type="cat")
            save_adapter(model, folder, cfg, extra, adapter_name=name)
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    accelerator.wait_for_everyone()
    return folders


def generated_dialogues(
    cfg: TransferConfig, model: Any, tok: Any, real: list[Dialogue], catalog: Any, accelerator: Any
) -> tuple[list[Dialogue], dict[str, Any]]:
    """method=augment: generated target dialogues, written once to `OUT_DIR/augment.jsonl` (main process) and
    read back by every process and by a resumed run."""
    path, stats_path = Path(cfg.out_dir) / "augment.jsonl", Path(cfg.out_dir) / "augment_stats.json"
    if accelerator.is_main_process and not stats_path.exists():
        utterances = read_unlabeled(Path(cfg.data.data_dir) / "unlabeled" / f"{cfg.target}.jsonl")
        generated, stats = augment_dialogues(
            model, tok, real, catalog, cfg.target, utterances, cfg.transfer, cfg.data.max_seq_len, cfg.seed
        )
        atomic_write_jsonl(path, [d.to_dict() for d in generated])
        atomic_write_json(stats_path, stats)
    accelerator.wait_for_everyone()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Dialogue(r["id"], r["category"], r["messages"]) for r in rows], json.loads(stats_path.read_text())


def cli(argv: list[str] | None = None) -> int:
    """`shopguide train transfer CONFIG.yaml [key=value ...]`."""
    ap = recipe_parser(
        "shopguide train transfer", __doc__, "training/configs/transfer.yaml", "method=meta shots=8 max_steps=50"
    )
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
