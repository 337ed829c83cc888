"""Does a shop's retrieval lose its products to the needs filters? Hit@1 / Hit@5 / MRR@10 of each retrieval mode
with the needs as hard filters, without the attribute filters, without the brand filters, and with the category
alone, on the recommendation turns of a dialogue split (searched as `Assistant.plan` searches; no generation).

    python docs/scripts/retrieval_filters.py BUNDLE 'WORK/data/dialogues/*.validation.jsonl'
"""

import glob
import sys
from dataclasses import replace

import torch

from assistant.dialogues import load_dialogues
from assistant.evaluation.scoring import replayable_turns
from assistant.orchestrator import Assistant
from assistant.understanding.vocabulary import ShopVocabulary
from retrieval.index import ProductIndex

torch.set_num_threads(1)
bundle, pattern = sys.argv[1], sys.argv[2]
index = ProductIndex.load(f"{bundle}/index")
probe = Assistant(index, engine=None, vocabulary=ShopVocabulary.load(f"{bundle}/vocabulary.json"), top_k=10)
dialogues = [d for f in sorted(glob.glob(pattern)) for d in load_dialogues(f, set(index.catalog.by_id))]
turns = [(d, i, set(m["products"])) for d in dialogues for _, i, m in replayable_turns(d)[0] if m.get("products")]
print(f"{len(dialogues)} dialogues, {len(turns)} recommendation turns ({pattern})")


def variants(f):
    yield "needs as filters", f
    yield "no attribute filters", replace(f, attributes_equal={}, exclude_attributes={}, attributes_contain={})
    yield "no brand filters", replace(f, brands=[], exclude_brands=[])
    yield (
        "category only",
        replace(f, attributes_equal={}, exclude_attributes={}, attributes_contain={}, brands=[], exclude_brands=[]),
    )


scores: dict[tuple[str, str], list[float]] = {}
for d, i, gold in turns:
    plan = probe.plan([{"role": m["role"], "content": m["content"]} for m in d.messages[:i]], d.category)
    for name, filters in variants(replace(plan.needs.to_filters(), category=d.category)):
        for mode in ("hybrid", "lexical", "dense"):
            probe.search_mode = mode
            ids = [p.id for p, _ in probe.search(plan.query, top_k=10, filters=filters)]
            rank = next((r for r, pid in enumerate(ids, 1) if pid in gold), None)
            s = scores.setdefault((mode, name), [0.0, 0.0, 0.0])
            s[0] += rank == 1
            s[1] += rank is not None and rank <= 5
            s[2] += 1 / rank if rank else 0.0
print("| mode | filters | Hit@1 | Hit@5 | MRR@10 |\n|---|---|---|---|---|")
for (mode, name), (h1, h5, rr) in sorted(scores.items()):
    n = len(turns)
    print(f"| {mode} | {name} | {h1 / n:.3f} | {h5 / n:.3f} | {rr / n:.3f} |")
