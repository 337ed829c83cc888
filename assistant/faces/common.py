"""What every face of the assistant (chat page + API in `server.py`, terminal in `terminal.py`, `app.py`)
shares: the bundle options, torch thread setup, and loading a bundle with a readable error.

    parser = add_bundle_args(argparse.ArgumentParser())     # --bundle, --device, --threads, --engine, --generator
    assistant = open_from_args(args)                          # None: the reason is printed

A new face (say a Slack bot) is a module in `assistant/` that calls these two, wraps `Assistant.stream`,
and gets one line in the command table (`training/cli.py`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from assistant.generation.base_models import BaseNotInstalled
from assistant.generation.remote_engine import GeneratorError
from assistant.orchestrator import ENGINES, load_assistant
from retrieval.fileio import DataError

log = logging.getLogger(__name__)


def add_bundle_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every face takes: `--bundle`, `--device`, `--threads`, `--engine`."""
    parser.add_argument("--bundle", default="demo", help="assistant bundle folder (default: demo)")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads of torch and CTranslate2 (default: half the cores, 1-4)"
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="generation engine: ctranslate2 (fast on CPU; each adapter is merged and converted once, then "
        "cached), torch (the reference, and the GPU path), auto (default: the bundle's choice, else "
        "ctranslate2 on CPU when installed)",
    )
    parser.add_argument(
        "--generator",
        metavar="URL",
        default=os.environ.get("SHOPGUIDE_GENERATOR"),
        help="generate with an OpenAI-compatible server instead of a local engine, e.g. vLLM serving the base and "
        "each category's adapter under the category's name (README: Generation on another machine); "
        "retrieval and checks stay here "
        "(default: $SHOPGUIDE_GENERATOR, else local). Its token: $SHOPGUIDE_GENERATOR_KEY",
    )
    parser.add_argument(
        "--generator-model",
        metavar="NAME",
        default=None,
        help="the base model's name on --generator (default: the bundle's base, e.g. smollm2-135m-instruct)",
    )
    return parser


def open_from_args(args: argparse.Namespace, threads: int | None = None) -> Any:
    """`open_bundle` with the options of `add_bundle_args` (`threads` overrides `args.threads`)."""
    return open_bundle(
        args.bundle,
        device=args.device,
        threads=threads if threads is not None else args.threads,
        engine=args.engine,
        generator=getattr(args, "generator", None),
        generator_model=getattr(args, "generator_model", None),
    )


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op CPU threads: `threads`, or half the cores (1 to 4). Batch-1 chat models are small,
    and on a busy machine more threads mostly wait on each other: on a loaded 2-core machine a MiniLM query
    took ~1 s with 2 threads and ~0.03 s with 1. Returns the number set."""
    import torch

    n = threads or max(1, min(4, (os.cpu_count() or 2) // 2))
    torch.set_num_threads(n)
    log.info("torch CPU threads: %d", n)
    return n


def open_bundle(
    bundle: str,
    device: str | None = None,
    threads: int | None = None,
    engine: str | None = None,
    generator: str | None = None,
    generator_model: str | None = None,
) -> Any:
    """Set the torch threads and load the assistant bundle at `bundle` with `engine` (None: auto), or with a
    remote OpenAI-compatible `generator` URL (its token from $SHOPGUIDE_GENERATOR_KEY).

    Returns:
        The `Assistant`, or None when the bundle cannot be loaded (the reason is printed to stderr, with the
        command that builds the demo bundle when it is missing).
    """
    try:
        n = configure_threads(threads)
        return load_assistant(
            bundle,
            device=device,
            engine=engine,
            threads=n,
            generator=generator,
            generator_model=generator_model,
            generator_key=os.environ.get("SHOPGUIDE_GENERATOR_KEY"),
        )
    except DataError as e:
        print(f"cannot load the assistant bundle {bundle!r}:\n{e}", file=sys.stderr)
        return None
    except (BaseNotInstalled, ValueError, GeneratorError) as e:
        print(f"cannot load the assistant bundle {bundle!r}: {e}", file=sys.stderr)
        return None
