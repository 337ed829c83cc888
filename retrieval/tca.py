"""Transfer Component Analysis (Pan et al., 2011) on sentence embeddings, scaled with Nystrom landmarks.

Exact TCA solves an eigenproblem over the (n_s + n_t)^2 kernel matrix. Here the kernel is approximated
through `m` landmarks Z (Nystrom): phi(x) = k(x, Z) K_ZZ^{-1/2}, an m-dimensional feature map with
phi(x) . phi(y) ~ k(x, y). In that space TCA's objective

    max_W  tr(W' Phi' H Phi W)   s.t.   W' (Phi' L Phi + mu I) W = I

(H centres, L is the MMD matrix, so Phi' L Phi = d d' with d = mean phi(source) - mean phi(target)) is a
generalised symmetric eigenproblem of size m x m, so fitting costs O(n m^2) time and O(n m) memory
instead of O(n^2). `transform` maps query and product embeddings into the shared components.

    tca = TCA(n_components=128, n_landmarks=512).fit(source_emb, target_emb)
    z = tca.transform(x)                                    # (n, 128)
    enc = TCAEncoder(load_encoder(), tca); enc.save("outputs/tca_encoder")   # loadable by load_encoder
    mmd2(source_emb, target_emb)                            # squared MMD, RBF kernel, median bandwidth
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from retrieval.fileio import atomic_open, atomic_write_json

log = logging.getLogger(__name__)


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0)


def median_gamma(x: np.ndarray, max_n: int = 1000, seed: int = 0) -> float:
    """RBF `gamma = 1 / median(squared distance)` over a sample of `x` (the median heuristic)."""
    rng = np.random.default_rng(seed)
    s = x[rng.choice(len(x), min(max_n, len(x)), replace=False)].astype(np.float64)
    d = _sqdist(s, s)[np.triu_indices(len(s), 1)]
    med = float(np.median(d)) if len(d) else 1.0
    return 1.0 / max(med, 1e-12)


def mmd2(x: np.ndarray, y: np.ndarray, gamma: float | None = None, max_n: int = 2000, seed: int = 0) -> float:
    """Squared maximum mean discrepancy between samples `x` and `y` (biased V-statistic, RBF kernel).

    Args:
        x, y: (n, d) and (m, d) samples.
        gamma: RBF width; None -> median heuristic over the pooled sample (scale-free comparisons).
        max_n: rows sampled from each side.
        seed: sampling seed.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float64)[rng.choice(len(x), min(max_n, len(x)), replace=False)]
    y = np.asarray(y, np.float64)[rng.choice(len(y), min(max_n, len(y)), replace=False)]
    g = gamma if gamma is not None else median_gamma(np.concatenate([x, y]), seed=seed)
    kxx, kyy, kxy = (np.exp(-g * _sqdist(a, b)).mean() for a, b in ((x, x), (y, y), (x, y)))
    return float(kxx + kyy - 2 * kxy)


class TCA:
    """Landmark (Nystrom) TCA.

    Args:
        n_components: output dimension.
        n_landmarks: Nystrom landmarks, drawn half from each domain.
        kernel: "rbf" (median-heuristic width unless `gamma`) or "linear".
        mu: trade-off; small mu removes the domain mean difference more aggressively.
        gamma: RBF width.
        seed: landmark sampling seed.
    """

    def __init__(
        self,
        n_components: int = 128,
        n_landmarks: int = 512,
        kernel: str = "rbf",
        mu: float = 1e-3,
        gamma: float | None = None,
        seed: int = 0,
    ):
        if kernel not in ("rbf", "linear"):
            raise ValueError(f"`kernel` must be rbf or linear, got {kernel!r}")
        self.n_components, self.n_landmarks, self.kernel = n_components, n_landmarks, kernel
        self.mu, self.gamma, self.seed = mu, gamma, seed
        self.landmarks: np.ndarray | None = None
        self.proj: np.ndarray | None = None  # K_ZZ^{-1/2} @ W : (m, n_components)
        self.center: np.ndarray | None = None  # mean of phi over source + target

    def _k(self, a: np.ndarray, z: np.ndarray) -> np.ndarray:
        if self.kernel == "linear":
            return a @ z.T
        return np.exp(-self.gamma * _sqdist(a, z))

    def fit(self, source: np.ndarray, target: np.ndarray) -> TCA:
        """Fit on source and target embeddings ((n_s, d), (n_t, d))."""
        import scipy.linalg

        xs, xt = np.asarray(source, np.float64), np.asarray(target, np.float64)
        rng = np.random.default_rng(self.seed)
        if self.kernel == "rbf" and self.gamma is None:
            self.gamma = median_gamma(np.concatenate([xs, xt]), seed=self.seed)
        half = self.n_landmarks // 2
        z = np.concatenate(
            [
                xs[rng.choice(len(xs), min(half, len(xs)), replace=False)],
                xt[rng.choice(len(xt), min(self.n_landmarks - half, len(xt)), replace=False)],
            ]
        )
        kzz = self._k(z, z)
        vals, vecs = np.linalg.eigh((kzz + kzz.T) / 2)
        keep = vals > vals.max() * 1e-8
        inv_sqrt = vecs[:, keep] / np.sqrt(vals[keep])  # (m, r): phi(x) = k(x, Z) @ inv_sqrt
        ps, pt = self._k(xs, z) @ inv_sqrt, self._k(xt, z) @ inv_sqrt
        d = ps.mean(0) - pt.mean(0)
        allp = np.concatenate([ps, pt])
        mean = allp.mean(0)
        cov = (allp - mean).T @ (allp - mean) / len(allp)
        r = cov.shape[0]
        scale = float(np.trace(cov)) / r  # mu relative to the feature scale
        b = np.outer(d, d) + self.mu * scale * np.eye(r)
        k = min(self.n_components, r)
        w_vals, w = scipy.linalg.eigh(cov, b, subset_by_index=[r - k, r - 1])
        w = w[:, ::-1]
        self.landmarks, self.proj, self.center = (
            z.astype(np.float32),
            (inv_sqrt @ w).astype(np.float32),
            (mean @ w).astype(np.float32),
        )
        log.info("TCA fitted: %d landmarks, rank %d, %d components", len(z), r, k)
        return self

    def transform(self, x: np.ndarray, batch: int = 8192) -> np.ndarray:
        """Project embeddings (n, d) onto the transfer components (n, n_components), centred."""
        if self.proj is None:
            raise RuntimeError("TCA is not fitted")
        x = np.asarray(x, np.float32)
        out = np.empty((len(x), self.proj.shape[1]), np.float32)
        for s in range(0, len(x), batch):
            out[s : s + batch] = self._k(x[s : s + batch], self.landmarks) @ self.proj - self.center
        return out

    def state(self) -> dict[str, np.ndarray]:
        return {"landmarks": self.landmarks, "proj": self.proj, "center": self.center}

    def config(self) -> dict:
        return {
            "n_components": int(self.proj.shape[1]),
            "n_landmarks": int(len(self.landmarks)),
            "kernel": self.kernel,
            "mu": self.mu,
            "gamma": self.gamma,
            "seed": self.seed,
        }


class TCAEncoder:
    """A base encoder followed by a fitted TCA projection (L2-normalised), usable anywhere an encoder is."""

    def __init__(self, base, tca: TCA, name: str | None = None):
        self.base, self.tca = base, tca
        self.dim = int(tca.proj.shape[1])
        self.name = name or f"tca({base.name})"

    def encode(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        z = self.tca.transform(self.base.encode(texts, batch_size=batch_size, show_progress=show_progress))
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        base = self.base.encode_queries(texts) if hasattr(self.base, "encode_queries") else self.base.encode(texts)
        z = self.tca.transform(base)
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]

    def save(self, folder: str | Path) -> Path:
        """Write `tca.npz` + `tca_config.json` (naming the base encoder); `load_encoder(folder)` reloads it."""

        folder = Path(folder)
        with atomic_open(folder / "tca.npz", "wb") as f:
            np.savez(f, **self.tca.state())
        atomic_write_json(folder / "tca_config.json", {"base_encoder": self.base.name, **self.tca.config()})
        self.name = str(folder)
        return folder

    @staticmethod
    def base_encoder_name(folder: str | Path) -> str:
        """The name of the base encoder a saved TCA folder was fitted on (what `load` needs as `base`)."""
        return json.loads((Path(folder) / "tca_config.json").read_text(encoding="utf-8"))["base_encoder"]

    @classmethod
    def load(cls, folder: str | Path, base) -> TCAEncoder:
        """Reload a saved TCA folder on top of `base`, the loaded encoder named by `base_encoder_name(folder)`.
        `retrieval.encoder.load_encoder(folder)` does both steps."""
        folder = Path(folder)
        cfg = json.loads((folder / "tca_config.json").read_text(encoding="utf-8"))
        tca = TCA(cfg["n_components"], cfg["n_landmarks"], cfg["kernel"], cfg["mu"], cfg["gamma"], cfg["seed"])
        z = np.load(folder / "tca.npz")
        tca.landmarks, tca.proj, tca.center = z["landmarks"], z["proj"], z["center"]
        return cls(base, tca, name=str(folder))
