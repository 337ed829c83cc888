"""Sentence-transformers models run through ONNX Runtime: the same embeddings, several times faster on CPU.

    model = OnnxModel.load("path/to/st_model")                # exported once into the cache, then reused
    model = OnnxModel.load("path/to/st_model", quantize=True)  # int8 weights (dynamic quantization)
    x = model.encode(["red shirt"], max_seq_length=128)        # (N, dim) float32, rows L2-normalised

`retrieval.encoder.SentenceEncoder(runtime="onnx" | "onnx-int8")` runs its model through this module. fp32
gives the torch embeddings to float rounding (cosine 1.0); int8 quantizes the MatMul weights per output
channel and agrees with fp32 to a cosine of about 0.99 (measured in docs/bench_retrieval.md).

Why not sentence-transformers' own `backend="onnx"`: it needs optimum-onnx, whose release pins
transformers < 4.58 (we use 5.x). The graph exported here is the usual sentence-transformers stack that
`modules.json` lists: Transformer -> Pooling (mean or CLS) -> optional Normalize, which is what the bundled
all-MiniLM-L6-v2 and `shopguide train retriever` outputs are. `exportable(folder)` says whether a folder is.

Exports are cached under `cache_root()/onnx/<key>/` (`$SHOPGUIDE_CACHE`, as for converted bases), the key
hashing the model folder's path, file sizes and times, so a retrained folder gets a new export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from retrieval.fileio import cache_root

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the exported graph changes, so old caches are not reused
_POOLING = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


def _stack(folder: Path) -> tuple[Path, str, int] | None:
    """(transformer folder, pooling, max_seq_length) of a plain sentence-transformers folder, else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        return None
    pool_cfg = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    modes = [name for key, name in _POOLING.items() if pool_cfg.get(key)]
    others = [k for k, v in pool_cfg.items() if k.startswith("pooling_mode") and v and k not in _POOLING]
    if len(modes) != 1 or others:
        return None
    transformer = folder / modules[0]["path"]
    st_cfg = transformer / "sentence_bert_config.json"
    max_len = json.loads(st_cfg.read_text(encoding="utf-8")).get("max_seq_length") if st_cfg.exists() else None
    if not (transformer / "tokenizer.json").exists():
        return None
    return transformer, modes[0], int(max_len or 512)


def exportable(folder: str | Path) -> bool:
    """Whether `folder` is a sentence-transformers model that `OnnxModel` can export."""
    return Path(folder).is_dir() and _stack(Path(folder)) is not None


def _key(folder: Path) -> str:
    h = hashlib.sha256(f"{EXPORT_VERSION}:{folder.resolve()}".encode())
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def export(folder: str | Path, out_file: str | Path) -> Path:
    """Write the fp32 ONNX graph of a sentence-transformers folder to `out_file`.

    The graph takes `input_ids` and `attention_mask` (int64, (B, T)) and returns `embedding` (B, dim): the
    pooled, L2-normalised sentence embedding.

    Raises:
        ValueError: the folder is not a plain Transformer + Pooling (mean / CLS) model.
    """
    import torch
    from transformers import AutoModel

    folder = Path(folder)
    stack = _stack(folder)
    if stack is None:
        raise ValueError(f"{folder}: not a Transformer + Pooling (mean or CLS) sentence-transformers model")
    transformer, pooling, _ = stack
    # eager attention traces to plain MatMul/Softmax; the SDPA mask code traces shape-specialised branches
    model = AutoModel.from_pretrained(str(transformer), attn_implementation="eager").eval()

    class _Pooled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            h = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, D)
            if pooling == "cls":
                e = h[:, 0]
            else:
                m = attention_mask.unsqueeze(-1).to(h.dtype)  # (B, T, 1)
                e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, D)
            return torch.nn.functional.normalize(e, dim=-1)

    dummy = torch.ones(2, 8, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    with warnings.catch_warnings():  # the tracer's notes on the mask code and the legacy exporter's notice
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pooled(model),
            (dummy, dummy),
            str(out_file),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles the dynamic axes here
        )
    return Path(out_file)


def quantize(fp32_file: str | Path, out_file: str | Path) -> Path:
    """Write an int8 copy of an exported graph: dynamic quantization of the MatMul weights, per output channel
    (per-tensor scales measured cosine ~0.96 to fp32, per-channel ~0.99); attention's activation x activation
    MatMuls stay fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()  # the quantizer logs a line per tensor on the root logger
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        quantize_dynamic(
            Path(fp32_file),
            Path(out_file),
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        root.setLevel(level)
    return Path(out_file)


def cached_export(folder: str | Path, int8: bool = False) -> Path:
    """The ONNX file of `folder` (fp32, or int8 when `int8`) in the cache, made on first use.

    Each file is written under a temporary name and renamed into place, so an interrupted export never
    leaves half a model, and two processes exporting at once both end with a whole one.
    """
    folder = Path(folder)
    out = cache_root() / "onnx" / f"{folder.name}-{_key(folder)}"
    fp32 = out / "model.onnx"
    if not fp32.exists():
        log.info("exporting %s to ONNX (once) in %s", folder, out)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".model.onnx.tmp{os.getpid()}"
        os.replace(export(folder, tmp), fp32)
    if not int8:
        return fp32
    q8 = out / "model_int8.onnx"
    if not q8.exists():
        log.info("quantizing %s to int8 (once)", fp32)
        tmp = out / f".model_int8.onnx.tmp{os.getpid()}"
        os.replace(quantize(fp32, tmp), q8)
    return q8


class OnnxModel:
    """A sentence-transformers model exported to ONNX and run with ONNX Runtime on CPU.

    Args:
        onnx_file: the exported graph (see `export`).
        tokenizer_file: the model's `tokenizer.json`.
        max_seq_length: tokens kept per text (the model's own limit).
        threads: ONNX Runtime intra-op threads. 1 suits single queries, which is what this runtime is for:
            on a busy machine more threads mostly wait on each other.
    """

    def __init__(self, onnx_file: str | Path, tokenizer_file: str | Path, max_seq_length: int, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
        self.tokenizer_file = str(tokenizer_file)
        self.max_seq_length = int(max_seq_length)
        self._tokenizers: dict[int, Tokenizer] = {}
        self.dim = int(self.encode(["dimension probe"]).shape[1])

    @classmethod
    def load(cls, folder: str | Path, quantize: bool = False, threads: int = 1) -> OnnxModel:
        """The ONNX model of sentence-transformers `folder` (fp32, or int8 when `quantize`), exporting it once.

        Raises:
            ValueError: the folder cannot be exported (see `exportable`).
        """
        folder = Path(folder)
        stack = _stack(folder)
        if stack is None:
            raise ValueError(f"{folder}: not a Transformer + Pooling (mean or CLS) sentence-transformers model")
        transformer, _, max_len = stack
        return cls(cached_export(folder, int8=quantize), transformer / "tokenizer.json", max_len, threads)

    def _tokenizer(self, max_len: int):
        # one configured tokenizer per length: truncation is tokenizer state, and servers call from threads
        tok = self._tokenizers.get(max_len)
        if tok is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(self.tokenizer_file)
            tok.no_padding()  # tokenizer.json may pad to a fixed length; batches are padded to their longest here
            tok.enable_truncation(max_len)
            self._tokenizers[max_len] = tok
        return tok

    def encode(self, texts: list[str], max_seq_length: int | None = None, batch_size: int = 64) -> np.ndarray:
        """L2-normalised embeddings (N, dim) float32; texts of similar length are batched together."""
        max_len = min(max_seq_length or self.max_seq_length, self.max_seq_length)
        encs = self._tokenizer(max_len).encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encs), np.int64, len(encs))
        order = np.argsort(lengths, kind="stable")
        out: np.ndarray | None = None
        for s in range(0, len(order), batch_size):
            rows = order[s : s + batch_size]
            ids = np.zeros((len(rows), int(lengths[rows].max())), np.int64)  # (B, T), 0 = [PAD]
            mask = np.zeros_like(ids)
            for r, j in enumerate(rows):
                ids[r, : lengths[j]] = encs[j].ids
                mask[r, : lengths[j]] = 1
            emb = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]  # (B, dim)
            if out is None:
                out = np.empty((len(texts), emb.shape[1]), np.float32)
            out[rows] = emb
        return out if out is not None else np.zeros((0, 0), np.float32)
