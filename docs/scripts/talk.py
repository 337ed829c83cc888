"""Talk to a bundle as a shopper would: a few scripted turns per category; prints each reply with the catalog
facts of the products it names, so every reply can be read against the catalog."""

import json
import sys
import time

import torch

from assistant.orchestrator import Assistant

torch.set_num_threads(1)

bundle = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else None
a = Assistant.from_pretrained(bundle, device="cpu", threads=1)
SCRIPTS = {
    "apparel": [
        "Hi! I need a jacket for the office, under $120.",
        "What color is the first one?",
        "Does it come in size M?",
        "Compare the two you showed me.",
    ],
    "electronics": [
        "I'm looking for headphones for my commute, budget around $150.",
        "Are the first ones noise cancelling?",
        "How much is the second one?",
        "Which one has longer battery life?",
    ],
    "beauty": [
        "I need a moisturizer for dry skin, under $40.",
        "Is the first one fragrance free?",
        "What size is it?",
        "Thanks, that's all!",
    ],
    "shoes": [
        "Running shoes for road running, around $100 please.",
        "What's the weight of the first pair?",
        "Do you have them in a wider fit?",
    ],
    "home": [
        "A rug for the living room, under $200.",
        "What material is the first one?",
        "What's the capital of France?",
    ],
}
lines = []


def say(s):
    print(s)
    lines.append(s)


for cat, turns in SCRIPTS.items():
    say(f"\n## {cat}\n")
    msgs = []
    for t in turns:
        msgs.append({"role": "user", "content": t})
        t0 = time.perf_counter()
        r = a.reply(msgs)
        dt = time.perf_counter() - t0
        msgs.append({"role": "assistant", "content": r.text})
        say(f"**Shopper:** {t}\n")
        say(f"**Guide** ({r.category}, {dt:.1f} s): {r.text}\n")
        for pid in r.products:
            p = a.catalog.get(pid)
            say(f"  - catalog [{pid}] {p.title} | {p.brand} | ${p.price} | {json.dumps(p.attributes)}")
        if r.corrections:
            say(f"  - (repaired, not shown to the shopper: {'; '.join(r.corrections)})")
        say("")
if out:
    open(out, "w").write("\n".join(lines) + "\n")
