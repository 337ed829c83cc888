"""The learned intent of a shopper message: a small MLP head over a sentence embedding of the message and a few
features of the dialogue so far, trained by `training/intent.py` (docs/bench_intent.md).

    model = IntentModel.load("demo/understanding")          # head.safetensors + intent_config.json
    model.predict("is the second one waterproof?", history)  # -> "ask_about_product"
    model.predict_proba(message, history)                   # -> {intent: probability}
    model.predict_batch(messages, histories)                # -> [intent, ...]

`history` is the dialogue before the message, OpenAI-style dicts `{"role", "content", "products"?}`. The head runs
in numpy (two matrix products), so serving needs neither torch nor a GPU; the message embedding comes from the
encoder named in `intent_config.json` (the bundled MiniLM through ONNX Runtime unless told otherwise), and the
whole prediction takes a few milliseconds on one thread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from assistant.understanding.intent_rules import INTENTS
from retrieval.encoder import Encoder, load_encoder
from retrieval.fileio import atomic_open, atomic_write_json

CONTEXT_FEATURES = ("has_history", "shown_ever", "shown_last", "shown_count", "assistant_asked", "user_turns")
"""The dialogue features next to the message embedding, each in [0, 1] (see `context_features`)."""

CONFIG_FILE = "intent_config.json"
WEIGHTS_FILE = "head.safetensors"


def context_features(history: list[dict[str, Any]]) -> list[float]:
    """The dialogue-so-far features the head reads beside the message (same order as `CONTEXT_FEATURES`).

    Args:
        history: earlier messages, `{"role", "content", "products"?}`; the assistant role may be "assistant" or
            "ai".

    Returns:
        Whether there is a history; whether any assistant message showed products; whether the last one did;
        how many it showed (/5, capped); whether it ended with a question; the shopper's earlier turns (/6, capped).
    """
    bot = [m for m in history if m.get("role") in ("assistant", "ai")]
    last = bot[-1] if bot else {}
    shown_last = len(last.get("products") or [])
    return [
        float(bool(history)),
        float(any(m.get("products") for m in bot)),
        float(shown_last > 0),
        min(shown_last, 5) / 5.0,
        float(str(last.get("content", "")).rstrip().endswith("?")),
        min(sum(m.get("role") == "user" for m in history), 6) / 6.0,
    ]


class IntentModel:
    """An intent head with its encoder: `predict(message, history) -> intent`.

    Args:
        weights: the head's arrays: `features.{i}.weight` (H_i, H_{i-1}), `features.{i}.bias`, then
            `intent.weight` (len(INTENTS), H) and `intent.bias` (as `training/intent.py` saves them).
        config: `intent_config.json`: `encoder` (a `load_encoder` name), `intents`, `context_features`, ...
        encoder: an encoder to use instead of loading `config["encoder"]` (tests, or one shared with the index).
    """

    def __init__(self, weights: dict[str, np.ndarray], config: dict[str, Any], encoder: Encoder | None = None):
        self.config = dict(config)
        self.intents: list[str] = list(config.get("intents", INTENTS))
        n = sum(1 for k in weights if k.startswith("features.") and k.endswith(".weight"))
        self._layers = [(weights[f"features.{i}.weight"].T.copy(), weights[f"features.{i}.bias"]) for i in range(n)]
        self._out = (weights["intent.weight"].T.copy(), weights["intent.bias"])
        self.weights = weights
        self.encoder = encoder if encoder is not None else load_encoder(config.get("encoder"))

    @classmethod
    def load(cls, folder: str | Path, encoder: Encoder | None = None) -> IntentModel:
        """Load `folder/head.safetensors` and `folder/intent_config.json` (written by `save`).

        Raises:
            FileNotFoundError: the folder lacks either file.
        """
        from safetensors.numpy import load_file

        folder = Path(folder)
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        return cls(load_file(str(folder / WEIGHTS_FILE)), config, encoder)

    def save(self, folder: str | Path) -> Path:
        """Write `head.safetensors` and `intent_config.json` into `folder` (each file atomically)."""
        from safetensors.numpy import save

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / WEIGHTS_FILE, "wb", encoding=None) as f:
            f.write(save({k: np.ascontiguousarray(v) for k, v in self.weights.items()}))
        atomic_write_json(folder / CONFIG_FILE, self.config)
        return folder

    def features(self, messages: list[str], histories: list[list[dict[str, Any]]]) -> np.ndarray:
        """(N, dim + len(CONTEXT_FEATURES)) inputs of the head: message embeddings and context features."""
        emb = self.encoder.encode_queries([str(m) for m in messages]) if messages else np.zeros((0, self.encoder.dim))
        ctx = np.asarray([context_features(h) for h in histories], np.float32).reshape(len(messages), -1)
        return np.concatenate([np.asarray(emb, np.float32), ctx], 1)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(N, D) head inputs -> (N, len(intents)) logits; the forward pass of the trained torch head."""
        for w, b in self._layers:
            x = np.maximum(x @ w + b, 0.0)  # (N, H): Linear -> ReLU (dropout is off at inference)
        w, b = self._out
        return x @ w + b

    def predict_batch(self, messages: list[str], histories: list[list[dict[str, Any]]] | None = None) -> list[str]:
        """The intent of each message given its history (None: no history for any)."""
        histories = histories if histories is not None else [[] for _ in messages]
        out = self.logits(self.features(list(messages), list(histories))).argmax(1)
        return [self.intents[i] for i in out]

    def predict_proba(self, message: str, history: list[dict[str, Any]] | None = None) -> dict[str, float]:
        """Probability of each intent for one message."""
        z = self.logits(self.features([message], [history or []]))[0]
        p = np.exp(z - z.max())
        p /= p.sum()
        return {k: float(v) for k, v in zip(self.intents, p)}

    def predict(self, message: str, history: list[dict[str, Any]] | None = None) -> str:
        """The intent of one message given the dialogue before it."""
        return self.predict_batch([message], [history or []])[0]
