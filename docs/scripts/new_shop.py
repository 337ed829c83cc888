"""A new shop with no dialogues, talked to as its shoppers open: the first user message of RecQuest's real
dialogues (a catalog the demo never saw) through two bundles of the same catalog, one built with the guide
adapter (`shopguide build`, the default) and one on the raw base (`--guide none`). Prints, per bundle, how many
first replies show products and how many refuse; docs/shop.md quotes it.

    shopguide data import recquest ../shared/data/recquest --out /tmp/rq
    shopguide build --catalog /tmp/rq/catalog.jsonl --out /tmp/rq_guide
    shopguide build --catalog /tmp/rq/catalog.jsonl --out /tmp/rq_raw --guide none
    python docs/scripts/new_shop.py /tmp/rq/dialogues /tmp/rq_guide /tmp/rq_raw [--per-category 12]
"""

import argparse
import json
import re
from pathlib import Path

import torch

from assistant.orchestrator import Assistant

# A refusal or a brush-off instead of products (the raw base's "I don't have any products available",
# "please find other options online").
REFUSAL = re.compile(
    r"\b(i don'?t have any|no products? (?:available|in stock)|not (?:able|available) to|can'?t help|cannot help|"
    r"other options online|i'?m sorry for your loss|unfortunately,? (?:i|we) (?:don'?t|do not))\b",
    re.I,
)


def first_messages(folder: Path, per_category: int) -> list[tuple[str, str]]:
    out = []
    for f in sorted(folder.glob("*.jsonl")):
        n = 0
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            first = next((m["content"] for m in d["messages"] if m["role"] == "user"), None)
            if first and n < per_category:
                out.append((d["category"], first))
                n += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dialogues")
    ap.add_argument("bundles", nargs="+")
    ap.add_argument("--per-category", type=int, default=12)
    ap.add_argument("--engine", default="torch")
    args = ap.parse_args()
    torch.set_num_threads(1)
    turns = first_messages(Path(args.dialogues), args.per_category)
    print(f"{len(turns)} first messages")
    for bundle in args.bundles:
        a = Assistant.from_pretrained(bundle, device="cpu", engine=args.engine, threads=1)
        shown = refused = right_category = 0
        for category, text in turns:
            r = a.reply([{"role": "user", "content": text}])
            shown += bool(r.products)
            refused += bool(REFUSAL.search(r.text))
            right_category += r.category == category
            print(f"  [{Path(bundle).name}] {text[:60]!r} -> {r.text[:110]!r}")
        n = len(turns)
        print(
            f"{bundle}: products shown {shown}/{n} ({shown / n:.0%}), refusals {refused}/{n}, "
            f"routed to the dialogue's category {right_category}/{n}"
        )


if __name__ == "__main__":
    main()
