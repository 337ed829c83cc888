"""shopguide: the chat page and the OpenAI-compatible API of the bundled demo assistant, on one port.

    python app.py                          # http://127.0.0.1:7860 (page), /v1 (API), bundle ./demo
    python app.py --bundle DIR --host 0.0.0.0 --port 8000 --token SECRET --auth user:pass
    SHOPGUIDE_TOKEN=SECRET SHOPGUIDE_AUTH=user:pass python app.py --host 0.0.0.0   # secrets kept out of `ps`

The same server as `shopguide serve` (see `assistant/faces/server.py`). A missing bundle is reported with the
command that builds it (`shopguide build-demo`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from assistant.faces.server import add_server_args, serve


def main(argv: list[str] | None = None) -> int:
    parser = add_server_args(argparse.ArgumentParser(description="shopguide chat page + OpenAI-compatible API"))
    parser.set_defaults(bundle=str(Path(__file__).resolve().parent / "demo"))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
