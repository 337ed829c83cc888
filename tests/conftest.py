"""Shared pytest fixtures: offline settings, paths to real data (skipped when absent), tiny data files.

Run the default suite with `python -m pytest`; slow and GPU tests are opt-in (`-m slow`, `-m gpu`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never reach for a model hub from tests; the bundled encoder loads from site-packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets beside the checkout; tests that need them skip cleanly when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (only present in the development workplace)")
    return SHARED_DATA
