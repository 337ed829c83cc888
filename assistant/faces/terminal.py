"""`shopguide chat`: talk to the assistant in the terminal (streams tokens, lists recommended products).

    shopguide chat                         # the bundled demo
    shopguide chat --bundle DIR --category shoes
    echo "waterproof boots under 150" | shopguide chat     # piped: one reply per input line

Commands: `/reset` starts over, `/category NAME` (or `/category auto`) fixes or frees the category,
`/help`, `/quit`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, TextIO

from assistant.faces.common import add_bundle_args, open_from_args
from assistant.generation.engine import GenerationSettings
from assistant.generation.remote_engine import GeneratorError
from assistant.orchestrator import Reply
from assistant.text import format_price

HELP = "commands: /reset  /category NAME|auto  /help  /quit"


def _product_line(p: Any) -> str:
    price = format_price(p.price, p.currency)
    return f"  - [{p.id}] {p.title}" + (f" ({p.brand})" if p.brand else "") + (f", {price}" if price else "")


def run_chat(assistant: Any, stdin: TextIO, stdout: TextIO, category: str | None = None, settings: Any = None) -> int:
    """The chat loop over text streams (used by `main`; tests pass `io.StringIO`).

    Args:
        assistant: an `Assistant`.
        stdin, stdout: where lines come from and replies go.
        category: a fixed category (None: routed from the dialogue).
        settings: `GenerationSettings` for every reply (None: the engine's defaults).

    Returns:
        0 at the end of input or on /quit.
    """

    interactive = stdin.isatty()
    messages: list[dict[str, str]] = []
    if interactive:
        print(f"shopguide - categories: {', '.join(assistant.categories)}. {HELP}", file=stdout)
    while True:
        if interactive:
            print("you> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            cmd, _, arg = text.partition(" ")
            if cmd in ("/quit", "/exit"):
                return 0
            if cmd == "/reset":
                messages = []
                print("(new conversation)", file=stdout)
            elif cmd == "/category":
                arg = arg.strip()
                if arg in ("", "auto"):
                    category = None
                    print("(category: from the conversation)", file=stdout)
                elif arg in assistant.categories:
                    category = arg
                    print(f"(category: {arg})", file=stdout)
                else:
                    print(f"(unknown category {arg!r}; choose from {', '.join(assistant.categories)})", file=stdout)
            else:
                print(HELP, file=stdout)
            continue
        messages.append({"role": "user", "content": text})
        print("shopguide> ", end="", file=stdout, flush=True)
        try:
            for event in assistant.stream(messages, category=category, settings=settings):
                if isinstance(event, Reply):
                    reply = event
                else:
                    print(event, end="", file=stdout, flush=True)
        except GeneratorError as e:  # the generator server answers nonsense or not at all: one line, no traceback
            logging.getLogger(__name__).error("turn failed: %s", e)
            print(f"\n(sorry, the reply generator is not answering: {e})", file=stdout)
            messages.pop()
            continue
        except Exception as e:  # noqa: BLE001 - one failed turn must not end the session
            logging.getLogger(__name__).exception("turn failed")
            print(f"\n(sorry, that failed: {type(e).__name__}: {e})", file=stdout)
            messages.pop()
            continue
        print(file=stdout)
        if reply.products:
            print("recommended:", file=stdout)
            for pid in reply.products:
                print(_product_line(assistant.catalog.get(pid)), file=stdout)
        stdout.flush()
        messages.append({"role": "assistant", "content": reply.text})


def main(argv: list[str] | None = None) -> int:
    """`shopguide chat`: the assistant in the terminal."""
    parser = argparse.ArgumentParser(prog="shopguide chat", description=main.__doc__)
    add_bundle_args(parser)
    parser.add_argument("--category", default=None, help="fix the category (default: routed from the dialogue)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="reply length limit in tokens")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each turn did")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    assistant = open_from_args(args)
    if assistant is None:
        return 1
    if args.category is not None and args.category not in assistant.categories:
        print(f"unknown category {args.category!r}; choose from {', '.join(assistant.categories)}", file=sys.stderr)
        return 2
    settings = None
    if args.max_new_tokens:
        settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    return run_chat(assistant, sys.stdin, sys.stdout, category=args.category, settings=settings)
