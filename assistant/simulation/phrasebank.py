"""Mine short phrase templates from RecQuest's real shopper turns into `recquest_phrases.json` (the simulated
shopper's phrase bank, `assistant.simulation.phrases.phrase_bank`).

    python -m assistant.simulation.phrasebank ../shared/data/recquest            # writes recquest_phrases.json
    python -m assistant.simulation.phrasebank ../shared/data/recquest --check    # prints, writes nothing

Only short frames are kept, never whole dialogues: an opening with the product word replaced by `{a} {v}`
("Hello, I need {a} {v}"), a budget with its amount replaced by `{p}`, a goodbye without buying, a nudge
for more options; at most `PER_FAMILY` each, the most frequent first. A frame whose words (or any three-word
piece of them) appear in the demo generator's or the assistant's understanding string literals is dropped, so
the bank talks in words the assistant was not built from (the same rule as the shopper's own templates).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

from retrieval.fileio import atomic_write_json

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("recquest_phrases.json")
PER_FAMILY = 12
NOUNS = {  # RecQuest's categories and how its shoppers name the product
    "running_shoes": r"running shoes?|running trainers?",
    "laptop": r"laptop|notebook computer",
    "bicycle": r"bicycle|bike",
    "smartwatch": r"smart ?watch|watch",
    "digital_camera": r"digital camera|camera",
}
_AMOUNT = r"(?:[$£€]\s?\d[\d,]*(?:\.\d+)?k?|\d[\d,]*(?:\.\d+)?\s?(?:k\b|dollars|pounds|euros|bucks|usd|gbp))"


def flat(text: str) -> str:
    """Lower-cased words and `{}` placeholders (how frames are compared with the runtime's literals)."""
    return " ".join(re.findall(r"\{\}|[a-z0-9']+", re.sub(r"\{[^{}]*\}", "{}", text.lower())))


def runtime_literals(root: Path = ROOT) -> str:
    """Every string literal of the demo generator and the assistant's understanding, flattened and joined."""
    out = []
    for folder in ("training/demo_data", "assistant/understanding"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    out.append(flat(node.value))
    return " | ".join(out)


def is_own(template: str, runtime: str) -> bool:
    """Whether a frame and every three-word piece of it are absent from the runtime's literals."""
    f = flat(template)
    if len([w for w in f.split() if w != "{}"]) >= 2 and f" {f} " in f" {runtime} ":
        return False
    for piece in re.split(r"\s*\{\}\s*", f):
        toks = piece.split()
        for i in range(len(toks) - 2):
            if re.search(rf"(?<![\w']){re.escape(' '.join(toks[i : i + 3]))}(?![\w'])", runtime):
                return False
    return True


def _clean(text: str) -> str:
    text = text.replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip()


def mine(folder: Path) -> dict[str, list[str]]:
    """Frames per family from the human turns of `folder/dialogues/*.json` (see the module docstring)."""
    found: dict[str, Counter] = {k: Counter() for k in ("open_kind", "budget", "goodbye", "nudge")}
    any_noun = "|".join(NOUNS.values())
    for path in sorted((folder / "dialogues").glob("*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        human = [_clean(m["content"]) for m in d.get("messages", []) if m.get("role") == "human" and m.get("content")]
        noun = NOUNS.get(d.get("domain"))
        if human and noun:
            first = human[0]
            m = re.search(rf"\b(?:a|an)\s+(?:{noun})\b", first, re.I)
            if (
                m
                and not re.search(r"\w", first[m.end() :])
                and len(first.split()) <= 10
                and not re.search(r"\d", first)
            ):
                found["open_kind"][first[: m.start()] + "{a} {v}" + first[m.end() :]] += 1
        for text in human:
            n_words = len(text.split())
            low = text.lower()
            amount = re.search(rf"{_AMOUNT}|(?<=budget)[^.?!\d]{{0,15}}?(\d[\d,]*)", low)
            if amount and n_words <= 14 and "?" not in text and re.search(r"budget|spend|under|max|up to", low):
                s, e = amount.span(1) if amount.group(1) else amount.span()
                frame = (text[:s] + "{p}" + text[e:]).strip()
                if not re.search(r"\d", frame) and not re.search(any_noun, frame.lower()):
                    found["budget"][frame] += 1
            plain = (
                n_words <= 8 and not re.search(r"\d|" + any_noun, low) and not re.search(r"\b[A-Z][a-z]+[A-Z]", text)
            )
            if plain and "?" not in text and re.search(r"\b(bye|goodbye|think about it|another time)\b", low):
                found["goodbye"][text] += 1
            if (
                plain
                and text.endswith("?")
                and not re.search(r"^how\b|\b(about|that|with|either|shoes?|[a-z]+books?)\b", low)
            ):
                if re.search(r"\b(other|else|alternatives?|options)\b", low):
                    found["nudge"][text] += 1
    runtime = runtime_literals()
    out = {}
    for family, counts in found.items():
        keep = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower())) if is_own(t, runtime)]
        out[family] = list({t.lower(): t for t in reversed(keep)}.values())[::-1][:PER_FAMILY]  # one per wording
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m assistant.simulation.phrasebank", description=__doc__.split("\n")[0])
    p.add_argument("recquest", help="the RecQuest folder (with dialogues/*.json)")
    p.add_argument("--check", action="store_true", help="print the frames, write nothing")
    args = p.parse_args(argv)
    folder = Path(args.recquest)
    if not (folder / "dialogues").is_dir():
        print(f"{folder}: no dialogues/ folder (RecQuest is not there)", file=sys.stderr)
        return 1
    families = mine(folder)
    if args.check:
        print(json.dumps(families, indent=1, ensure_ascii=False))
        return 0
    atomic_write_json(
        OUT,
        {
            "source": "RecQuest (iai-group/crs-knowledge @ b71878d), human turns; mined by "
            "python -m assistant.simulation.phrasebank",
            "families": families,
        },
    )
    print(f"wrote {OUT}: " + ", ".join(f"{k} {len(v)}" for k, v in families.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
