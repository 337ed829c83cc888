"""The `shopguide` command: one entry point that routes to each tool's own `main(argv)`.

    shopguide --help                      list every command
    shopguide data validate --help        help of one command

Each command lives in the module that owns it and parses its own arguments, so `--help` on a command is
written next to the code it explains. Modules are imported only when their command runs, so
`shopguide --help` is instant. The table (`COMMANDS`, one line per command) sits in `training/` because
training is the top of the import chain (training -> assistant -> retrieval) and may route to all three;
`[project.scripts]` in pyproject.toml points here.
"""

from __future__ import annotations

import importlib
import sys

# One line per command: (words, "module:function", one-line help). The function takes argv (list[str]) and
# returns an exit code; it is imported only when its command runs. Registering a command is one line here.
COMMANDS: list[tuple[str, str, str]] = [
    ("data validate", "training.data_tools.validate:main", "check a catalog or dialogue file (file:line: problem)"),
    ("data generate", "training.demo_data.generate:main", "write the demo catalogs and guide dialogues"),
    ("data import", "training.data_tools.importers:main", "convert RecQuest dialogues or Amazon-2023 metadata"),
    ("index build", "retrieval.cli:build_main", "encode a catalog into a search index folder"),
    ("index update", "retrieval.cli:update_main", "add, replace or remove products in an index, no rebuild"),
    ("search", "retrieval.cli:search_main", "search an index with text and filters"),
    ("train pretrain", "training.pretrain:main", "build the offline default base model (tokenizer + small LM)"),
    ("train sft", "training.sft:cli", "LoRA fine-tuning on a category's guide dialogues"),
    ("train transfer", "training.transfer:cli", "cross-category transfer of a LoRA adapter (all methods)"),
    ("train meta", "training.meta:cli", "Reptile meta-learning of a LoRA initialisation over categories"),
    ("train retriever", "training.retriever:main", "fine-tune the product encoder on dialogue -> product pairs"),
    ("build", "training.build:main", "a servable assistant bundle from a shop's catalog (and dialogues, if any)"),
    ("build-demo", "training.demo:main", "rebuild the bundled demo artifacts (base model, adapters, index)"),
    ("serve", "assistant.faces.server:main", "start the chat page and the OpenAI-compatible API"),
    ("chat", "assistant.faces.terminal:main", "chat with the assistant in the terminal"),
    ("understand", "assistant.faces.understand:main", "what the assistant reads in a message, as JSON (no model)"),
    ("eval", "assistant.evaluation.cli:main", "score dialogue transcripts; replay them through an assistant"),
    ("simulate", "assistant.simulation.cli:main", "simulated shoppers with hidden goals measure task success"),
    ("bench retrieval", "bench.retrieval:main", "retrieval quality and speed benchmark"),
    ("bench train", "training.bench.train:main", "training throughput and memory against a plain Trainer run"),
    ("bench transfer", "training.bench.transfer:main", "cross-category transfer over methods, shots, seeds"),
    ("bench dann", "training.bench.dann:main", "reproduce DANN on the Blitzer Amazon-reviews benchmark"),
    (
        "bench needs-dann",
        "training.bench.needs_dann:main",
        "DANN for needs extraction in a new category (text classifier)",
    ),
    (
        "bench transfer-cpu",
        "training.bench.transfer_cpu:main",
        "the transfer table this CPU finishes (~2 h, resumable)",
    ),
    (
        "bench intent-transfer",
        "training.bench.intent_transfer:main",
        "intent head transfer: source-only vs DANN vs multitask",
    ),
    ("bench serve", "bench.serve:main", "time to first token and full reply latency, 1 and 8 chats"),
    ("bench eval", "bench.eval:main", "transcripts per minute for scoring and replay"),
    ("bench soak", "bench.soak:main", "server memory over a long, bounded load on 127.0.0.1"),
    ("bench grounding", "bench.grounding:main", "product names, false alarms and prices on free text"),
    ("bench understanding", "bench.understanding:main", "intent, needs, referents, language on the frozen dev set"),
]


def _usage(prefix: tuple[str, ...] = ()) -> str:
    rows = [(words, help_) for words, _, help_ in COMMANDS if tuple(words.split()[: len(prefix)]) == prefix]
    width = max(len(w) for w, _ in rows)
    lines = [f"usage: shopguide {' '.join(prefix) + ' ' if prefix else ''}COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {w.ljust(width)}  {h}" for w, h in rows]
    lines += ["", "Run `shopguide COMMAND --help` for the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Route `argv` to the command it names; print the command list for --help or an unknown command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for words, target, _ in sorted(((tuple(w.split()), t, h) for w, t, h in COMMANDS), key=lambda c: -len(c[0])):
        if tuple(argv[: len(words)]) == words:
            module, func = target.split(":")
            fn = getattr(importlib.import_module(module), func)
            return int(fn(argv[len(words) :]) or 0)
    prefix = tuple(argv[:1]) if argv and any(w.split()[0] == argv[0] for w, _, _ in COMMANDS) else ()
    if not argv or argv[0] in ("-h", "--help") or (prefix and (len(argv) == 1 or argv[1] in ("-h", "--help"))):
        print(_usage(prefix))
        return 0
    print(f"shopguide: unknown command {' '.join(argv)!r}\n\n{_usage(prefix)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
