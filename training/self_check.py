"""Checks `shopguide build` runs on a shop's own data to choose its settings: routing accuracy on held-out
utterances (with and without learned synonyms) and the retrieval mode, from the shop's dialogues
(`retrieval_self_check`) or, without dialogues, from its catalog (`catalog_self_check`).
"""

from __future__ import annotations

import random
import re
from typing import Any

from assistant.dialogues import Dialogue
from assistant.evaluation.scoring import replayable_turns
from assistant.orchestrator import Assistant
from assistant.understanding.router import route
from assistant.understanding.vocabulary import ShopVocabulary, Vocabulary
from retrieval.catalog import Catalog
from retrieval.index import ProductIndex

MODES = ("hybrid", "dense", "lexical")  # lexical = BM25; ties go to the earlier mode
SELF_CHECK_DEPTH = 10


def routing_accuracy(texts: dict[str, list[str]], catalog: Catalog, shop: ShopVocabulary) -> float | None:
    """Share of utterances the router sends to their own category (no default: silence counts as wrong)."""
    vocab = Vocabulary.from_catalog(catalog, shop=shop)
    cats = sorted(catalog.categories())
    rows = [(c, t) for c, ts in texts.items() for t in ts]
    if not rows:
        return None
    return sum(route([{"role": "user", "content": t}], cats, vocab) == c for c, t in rows) / len(rows)


def retrieval_self_check(
    index: ProductIndex, shop: ShopVocabulary, dialogues: list[Dialogue], max_turns: int = 2000
) -> dict[str, Any]:
    """Hit@1, Hit@5 and MRR@10 of each retrieval mode on the dialogues' recommendation turns, searched as the
    assistant searches (`Assistant.plan`: query from the last user messages, needs as filters, relaxed when
    nothing matches); picks the mode with the best MRR@10 (ties: hybrid, dense, lexical)."""
    from tqdm.auto import tqdm

    probe = Assistant(index, engine=None, vocabulary=shop, top_k=SELF_CHECK_DEPTH)
    turns = []
    for d in dialogues:
        todo, _ = replayable_turns(d)
        for _, i, msg in todo:
            if msg.get("products"):
                turns.append((d, i, set(msg["products"])))
    turns = turns[:max_turns]
    if not turns:
        return {"mode": "hybrid", "turns": 0, "why": "no assistant turn names a product after a user message"}
    scores: dict[str, dict[str, float]] = {}
    for mode in MODES:
        probe.search_mode = mode
        hit1 = hit5 = rr = 0.0
        for d, i, gold in tqdm(turns, desc=f"retrieval self-check ({mode})", unit="turn", leave=False):
            history = [{"role": m["role"], "content": m["content"]} for m in d.messages[:i]]
            ids = [p.id for p in probe.plan(history, d.category).products]
            rank = next((r for r, pid in enumerate(ids, start=1) if pid in gold), None)
            hit1 += rank == 1
            hit5 += rank is not None and rank <= 5
            rr += 1.0 / rank if rank else 0.0
        n = len(turns)
        scores[mode] = {"hit@1": hit1 / n, "hit@5": hit5 / n, "mrr@10": rr / n}
    best = max(MODES, key=lambda m: (round(scores[m]["mrr@10"], 6), -MODES.index(m)))
    return {"mode": best, "turns": len(turns), "dialogues": len({d.id for d, _, _ in turns}), "modes": scores}


def _probe(product: Any, rng: random.Random) -> str:
    """Words a shopper might search `product` by: a 6-word window from past the start of its description (whose
    opening often repeats the title), else up to 4 content words of its title in random order, without the
    brand and model codes."""
    words = (product.description or "").split()
    if len(words) >= 26:
        start = rng.randrange(20, len(words) - 5)
        return " ".join(words[start : start + 6])
    brand = {w.lower() for w in (product.brand or "").split()}
    title = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", product.title) if len(w) > 2 and w.lower() not in brand]
    rng.shuffle(title)
    return " ".join(title[:4]).lower()


def catalog_self_check(
    index: ProductIndex, catalog: Catalog, n: int = 300, seed: int = 0, margin: float = 0.05
) -> dict[str, Any]:
    """The retrieval mode for a shop without dialogues, from its own catalog: up to `n` products are each searched
    for by a few of their own words (`_probe`), unfiltered, in each mode. Such probes share words with the
    product, which favours BM25 more than real shoppers do (on RecQuest's catalog they rank lexical > hybrid >
    dense while its human dialogues rank dense first), so hybrid, the default, is kept unless another mode's
    MRR@10 beats it by more than `margin`."""
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    products = list(catalog)
    rng.shuffle(products)
    probes = [(q, p.id) for p in products if len((q := _probe(p, rng)).split()) >= 2][:n]
    if not probes:
        return {"mode": "hybrid", "queries": 0, "why": "no product has words to search by: the default mode"}
    scores: dict[str, dict[str, float]] = {}
    for mode in MODES:
        hit1 = hit5 = rr = 0.0
        for query, pid in tqdm(probes, desc=f"retrieval self-check ({mode})", unit="query", leave=False):
            ids = [p.id for p, _ in index.search(query, top_k=SELF_CHECK_DEPTH, mode=mode)]
            rank = next((r for r, x in enumerate(ids, start=1) if x == pid), None)
            hit1 += rank == 1
            hit5 += rank is not None and rank <= 5
            rr += 1.0 / rank if rank else 0.0
        scores[mode] = {"hit@1": hit1 / len(probes), "hit@5": hit5 / len(probes), "mrr@10": rr / len(probes)}
    best = max(MODES, key=lambda m: (round(scores[m]["mrr@10"], 6), -MODES.index(m)))
    if scores[best]["mrr@10"] - scores["hybrid"]["mrr@10"] <= margin:
        best = "hybrid"
    why = f"no dialogues: products searched by a few of their own words; hybrid unless beaten by > {margin}"
    return {"mode": best, "queries": len(probes), "modes": scores, "why": why}
