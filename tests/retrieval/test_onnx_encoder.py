"""The ONNX Runtime encoder (`retrieval/onnx_encoder.py`) against sentence-transformers on the bundled MiniLM.

Run: `python -m pytest -q tests/retrieval/test_onnx_encoder.py` (exports the bundled model once into the per-run
cache, ~10 s); skipped when onnxruntime is not installed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrieval.encoder import bundled_encoder_path, default_runtime, load_encoder
from retrieval.onnx_encoder import exportable

TEXTS = [
    "face wash himalaya purifying neem face wash",
    "warm waterproof jacket for winter hiking under 80 dollars",
    "Trail running shoes with grippy soles. Brand: Fleet. Category: shoes. color: red; size: 42",
    "quiet headphones for flights",
    "x",
]


@pytest.fixture(scope="module")
def torch_minilm():
    return load_encoder(runtime="torch")


@pytest.mark.parametrize("runtime,min_cos", [("onnx", 0.9999), ("onnx-int8", 0.98)])
def test_onnx_embeddings_agree_with_torch(torch_minilm, runtime, min_cos):
    pytest.importorskip("onnxruntime")
    enc = load_encoder(runtime=runtime)
    assert enc.runtime == runtime and enc.dim == torch_minilm.dim
    ref = torch_minilm.encode(TEXTS)
    for got in (enc.encode(TEXTS, batch_size=2), enc.encode_queries(TEXTS)):
        cos = (got * ref).sum(1)
        assert got.dtype == np.float32 and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-4)
        assert cos.min() > min_cos and cos.mean() > 0.99, cos


def test_runtime_choice(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.delenv("SHOPGUIDE_ENCODER_RUNTIME", raising=False)
    assert exportable(bundled_encoder_path()) and default_runtime(bundled_encoder_path(), "cpu") == "onnx"
    assert default_runtime(bundled_encoder_path(), "cuda") == "torch"
    (tmp_path / "modules.json").write_text(json.dumps([{"path": "", "type": "x.Transformer"}, {"type": "x.Dense"}]))
    assert not exportable(tmp_path) and default_runtime(tmp_path, "cpu") == "torch"
    monkeypatch.setenv("SHOPGUIDE_ENCODER_RUNTIME", "torch")
    assert default_runtime(bundled_encoder_path(), "cpu") == "torch"
    with pytest.raises(ValueError, match="runtime"):
        load_encoder(runtime="tensorrt")
