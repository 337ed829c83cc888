"""Strict attribute-answer accuracy (`build-demo --eval-only`'s metric, `training.demo.attribute_accuracy`) of two
apparel adapters on the same test split: the demo's (whole-history prompts, the old demo data) and one retrained
on the rewritten demo data with the dialogue state in the prompt. docs/demo_data.md quotes it.

    shopguide data generate --out data/demo_v2 --seed 0
    shopguide train sft training/configs/sft_smollm2.yaml data.data_dir=data/demo_v2 data.category=apparel \\
        data.state_in_prompt=true data.history_messages=2 out_dir=outputs/sft_v2/apparel
    python docs/scripts/retrain_eval.py data/demo_v2 demo/adapters/apparel outputs/sft_v2/apparel [--limit 40]
"""

import argparse
import json

from assistant.generation.base_models import resolve_base
from assistant.generation.chat_format import PromptFormat
from assistant.generation.ct2_engine import CT2Engine
from training.demo import attribute_accuracy

ap = argparse.ArgumentParser()
ap.add_argument("data")
ap.add_argument("old")
ap.add_argument("new")
ap.add_argument("--category", default="apparel")
ap.add_argument("--limit", type=int, default=40)
args = ap.parse_args()
engine = CT2Engine.from_folders(resolve_base("smollm2-135m-instruct"), {"old": args.old, "new": args.new}, threads=2)
rows = {
    "old adapter, whole history": attribute_accuracy(engine, args.data, args.category, "old", limit=args.limit),
    "retrained, state + 2 messages": attribute_accuracy(
        engine, args.data, args.category, "new", limit=args.limit, fmt=PromptFormat(state=True, history=2)
    ),
}
for name, r in rows.items():
    keys = ("accuracy", "correct", "turns", "in_cards", "grounded", "repetitive")
    print(name, json.dumps({k: r[k] for k in keys}))
    for ex in r["examples"][:4]:
        print("   ", json.dumps(ex)[:300])
