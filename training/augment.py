"""GAN-style data augmentation for a new category (method `augment` of `training/transfer.py`).

The source-adapted model writes target-category guide turns from the target catalog (a real or templated
shopper utterance + the target products that best match it); a discriminator trained to tell real target
text from these generations scores each one; the generations it finds most real are kept, provided they
pass a diversity check (no reply too repetitive in itself, none too close to one already kept), which
guards against the generator collapsing onto one reply. The kept turns become target dialogues.

    dialogues, stats = augment_dialogues(peft_model, tokenizer, real_dialogues, catalog, "electronics",
                                         utterances, cfg.transfer, max_seq_len=768, seed=0)
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from typing import Any

from assistant.dialogues import Dialogue
from assistant.generation.chat_format import build_messages, render_prompt
from retrieval.catalog import product_to_text
from training.transfer_eval import text_features

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9]+")


def bigrams(text: str) -> set[tuple[str, str]]:
    """Word bigrams of lower-cased text."""
    words = _WORD.findall(text.lower())
    return set(zip(words, words[1:]))


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n (Li et al. 2016): unique word n-grams / all word n-grams over `texts` (0 when none)."""
    grams = []
    for t in texts:
        w = _WORD.findall(t.lower())
        grams += list(zip(*[w[i:] for i in range(n)]))
    return len(set(grams)) / len(grams) if grams else 0.0


def select_diverse(
    texts: Sequence[str], order: Sequence[int], keep: int, max_similarity: float, min_distinct: float = 0.5
) -> list[int]:
    """Walk `order` (best first) and keep up to `keep` indices whose reply is not repetitive in itself
    (distinct-2 >= `min_distinct`) and whose bigram Jaccard with every kept reply is <= `max_similarity`."""
    kept: list[int] = []
    kept_grams: list[set] = []
    for i in order:
        g = bigrams(texts[i])
        if not g or distinct_n([texts[i]]) < min_distinct:
            continue
        if any(len(g & k) / len(g | k) > max_similarity for k in kept_grams):
            continue
        kept.append(i)
        kept_grams.append(g)
        if len(kept) >= keep:
            break
    return kept


def fit_text_discriminator(real, fake, steps: int = 300, weight_decay: float = 1e-2, seed: int = 0):
    """Logistic regression real (1) vs generated (0) on standardised pooled features.

    Args:
        real: (Nr, H) features of real target text.
        fake: (Nf, H) features of generated text.

    Returns:
        `(score_fn, train_accuracy)`: `score_fn(features) -> (N,) P(real)`.
    """
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    x = torch.cat([real, fake]).float()
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
    w = torch.where(y == 1, 0.5 / len(real), 0.5 / len(fake)) * len(y)  # class-balanced
    mu, sd = x.mean(0), x.std(0).clamp(min=1e-6)
    clf = torch.nn.Linear(x.size(1), 1)
    opt = torch.optim.Adam(clf.parameters(), lr=0.05, weight_decay=weight_decay)
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            F.binary_cross_entropy_with_logits(clf((x - mu) / sd).squeeze(-1), y, weight=w).backward()
            opt.step()
    with torch.no_grad():
        acc = ((clf((x - mu) / sd).squeeze(-1) > 0).float() == y).float().mean().item()

    def score(f):
        with torch.no_grad():
            return torch.sigmoid(clf((f.float() - mu) / sd).squeeze(-1))

    return score, acc


def _match_products(utterance: str, catalog: Any, k: int, rng: random.Random) -> list:
    """The k target products sharing most words with the utterance (random ties): a lexical retriever."""

    words = set(_WORD.findall(utterance.lower()))
    scored = [(len(words & set(_WORD.findall(product_to_text(p).lower()))), rng.random(), p) for p in catalog.products]
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [p for _, _, p in scored[:k]]


def augment_dialogues(
    model: Any,
    tok: Any,
    real: Sequence[Dialogue],
    catalog: Any,
    category: str,
    utterances: Sequence[str],
    settings: Any,
    max_seq_len: int,
    seed: int,
) -> tuple[list[Dialogue], dict[str, Any]]:
    """Generate `settings.augment_n` target turns with the (source-adapted) `model`, keep the most
    realistic diverse ones.

    Args:
        model: PeftModel with the source adapter active.
        tok: its tokenizer.
        real: the real target training dialogues (may be empty, K = 0).
        catalog: the target catalog.
        category: the target category.
        utterances: unlabeled target shopper utterances (prompts of the generated turns).
        settings: `augment_n`, `augment_keep_fraction`, `augment_max_new_tokens`, `augment_max_similarity`,
            `text_max_len` (the transfer recipe's `TransferSettings`).
        max_seq_len: longest prompt in tokens (older tokens are cut).
        seed: fixes the prompts, the sampling and the discriminator.

    Returns:
        `(dialogues, stats)`: the kept generated dialogues and numbers for metrics.json.
    """
    import torch

    ts = settings
    rng = random.Random(seed)
    torch.manual_seed(seed)
    utterances = list(utterances) + [m["content"] for d in real for m in d.messages if m["role"] == "user"]
    if not utterances:
        utterances = [f"I am looking for {category}."]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    model.eval()
    prompts, replies = [], []
    with torch.no_grad():
        for _ in range(ts.augment_n):
            u = rng.choice(utterances)
            products = _match_products(u, catalog, 3, rng)
            ids = render_prompt(build_messages([{"role": "user", "content": u}], products, category), tok)
            ids = ids[-max_seq_len:]
            out = model.generate(
                input_ids=torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=ts.augment_max_new_tokens,
                do_sample=True,
                top_p=0.9,
                temperature=0.9,
                pad_token_id=pad,
                eos_token_id=tok.eos_token_id,
            )
            reply = tok.decode(out[0, len(ids) :], skip_special_tokens=True).strip()
            prompts.append((u, products))
            replies.append(reply)

        def feats(texts: Sequence[str]):  # (N, H) pooled features, in order
            return text_features(model, tok, [t or "." for t in texts], ts.text_max_len)

        real_text = [m["content"] for d in real for m in d.messages if m["role"] == "assistant"]
        if len(real_text) < 8:  # K = 0 (or tiny K): the catalog and shopper text are the real target text
            real_text += [product_to_text(p) for p in catalog.products] + utterances
        real_text = rng.sample(real_text, min(len(real_text), 256))
        usable = [i for i, r in enumerate(replies) if r]
        if not usable:
            log.warning("augment: the generator produced only empty replies; nothing kept")
            return [], {"augment_generated": len(replies), "augment_kept": 0}
        score, disc_acc = fit_text_discriminator(feats(real_text), feats([replies[i] for i in usable]), seed=seed)
        p_real = score(feats([replies[i] for i in usable]))
    order = [usable[j] for j in torch.argsort(p_real, descending=True).tolist()]
    keep = select_diverse(
        replies, order, max(1, int(ts.augment_keep_fraction * len(replies))), ts.augment_max_similarity
    )
    dialogues = []
    for n, i in enumerate(keep):
        u, products = prompts[i]
        named = [p.id for p in products if p.title.lower() in replies[i].lower()]
        dialogues.append(
            Dialogue(
                f"augment-{seed}-{n}",
                category,
                [
                    {"role": "user", "content": u, "products": []},
                    {
                        "role": "assistant",
                        "content": replies[i],
                        "products": named,
                        "candidates": [p.id for p in products],
                        "act": "recommend" if named else "answer",
                    },
                ],
            )
        )
    stats = {
        "augment_generated": len(replies),
        "augment_kept": len(keep),
        "augment_discriminator_accuracy": disc_acc,
        "augment_p_real_kept": float(p_real[[usable.index(i) for i in keep]].mean()) if keep else 0.0,
        "augment_p_real_all": float(p_real.mean()),
        "augment_distinct2_all": distinct_n([replies[i] for i in usable]),
        "augment_distinct2_kept": distinct_n([replies[i] for i in keep]),
    }
    log.info("augment: %s", stats)
    return dialogues, stats
