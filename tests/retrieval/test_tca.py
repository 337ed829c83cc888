"""TCA on embeddings: it reduces a measured source/target discrepancy (MMD) and keeps class structure.

Run: `python -m pytest -q tests/retrieval/test_tca.py`.
"""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.encoder import HashEncoder, load_encoder
from retrieval.tca import TCA, TCAEncoder, mmd2


def _shifted_domains(seed: int = 0, n: int = 600, d: int = 24):
    """Five shared classes; the target is the source shifted along a random direction plus noise."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(5, d)) * 1.5
    ys, yt = rng.integers(0, 5, n), rng.integers(0, 5, n)
    shift = rng.normal(size=d)
    shift *= 12 / np.linalg.norm(shift)
    xs = centers[ys] + rng.normal(size=(n, d))
    xt = centers[yt] + shift + rng.normal(size=(n, d))
    return xs.astype(np.float32), ys, xt.astype(np.float32), yt


def _nearest_centroid_acc(xs, ys, xt, yt):
    cent = np.stack([xs[ys == c].mean(0) for c in range(5)])
    pred = np.argmin(((xt[:, None] - cent[None]) ** 2).sum(-1), 1)
    return float((pred == yt).mean())


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_tca_reduces_mmd_and_helps_transfer(kernel):
    xs, ys, xt, yt = _shifted_domains(2)
    before = mmd2(xs, xt)
    tca = TCA(n_components=8, n_landmarks=200, kernel=kernel).fit(xs, xt)
    zs, zt = tca.transform(xs), tca.transform(xt)
    after = mmd2(zs, zt)
    assert zs.shape == (600, 8)
    assert after < 0.3 * before, (before, after)
    # a classifier fitted on the source transfers better in the shared components
    assert _nearest_centroid_acc(zs, ys, zt, yt) > _nearest_centroid_acc(xs, ys, xt, yt)


def test_mmd_is_zero_for_same_sample_and_positive_for_shift():
    xs, _, xt, _ = _shifted_domains(1)
    assert mmd2(xs, xs) == pytest.approx(0, abs=1e-9)
    assert mmd2(xs, xt) > 0.05


def test_tca_encoder_saves_and_reloads(tmp_path):
    base = HashEncoder(64)
    src = base.encode([f"red cotton shirt size {i}" for i in range(50)])
    tgt = base.encode([f"wireless headphones model {i}" for i in range(50)])
    enc = TCAEncoder(base, TCA(n_components=16, n_landmarks=40).fit(src, tgt))
    enc.save(tmp_path / "tca")
    again = load_encoder(str(tmp_path / "tca"), cached=False)
    assert again.dim == 16
    x = ["blue shirt", "noise cancelling headphones"]
    np.testing.assert_allclose(again.encode(x), enc.encode(x), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(again.encode_query("shirt")), 1, atol=1e-5)
