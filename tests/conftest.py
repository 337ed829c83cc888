"""Shared pytest fixtures: offline settings, paths to real data (skipped when absent), tiny data files.

Run the default suite with `python -m pytest`; slow and GPU tests are opt-in (`-m slow`, `-m gpu`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Never reach for a model hub from tests; the bundled encoder loads from site-packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Converted bases and CTranslate2 models go to a per-run cache, never the user's ~/.cache/shopguide.
os.environ.setdefault("SHOPGUIDE_CACHE", tempfile.mkdtemp(prefix="shopguide-test-cache-"))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets beside the checkout; tests that need them skip cleanly when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (only present in the development workplace)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's tiny torch models on one thread: fastest for tiny models, and far faster than two on a
    shared, busy CPU. Use with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
