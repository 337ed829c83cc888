"""Engine: streams text, stops early when the consumer stops, switches adapters, falls back to the base.

Run: python -m pytest -q tests/assistant/test_engine.py
"""

from __future__ import annotations

import pytest

from assistant.chat_format import build_messages

pytestmark = pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")  # peft 0.21
TEXTS = ["I want a red jacket under 60 dollars", "The Trail Jacket by Peak costs $49.99", "It is red."] * 3



@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and far faster than two on a shared, busy CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    import torch
    from peft import LoraConfig, get_peft_model

    from assistant.engine import Engine
    from assistant.model import load_adapters
    from training.pretrain import build_model, train_tokenizer

    tok = train_tokenizer(TEXTS, vocab_size=300)
    root = tmp_path_factory.mktemp("adapters")
    for k, cat in enumerate(("apparel", "shoes")):
        torch.manual_seed(k)
        base = build_model(tok, "llama", hidden_size=32, num_layers=2, num_heads=2, max_positions=256, seed=0)
        config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        peft_model = get_peft_model(base, config)
        with torch.no_grad():  # make the two adapters clearly different
            for n, p in peft_model.named_parameters():
                if "lora_B" in n:
                    p.mul_(50.0 * (k + 1))
        peft_model.save_pretrained(str(root / cat))
    base = build_model(tok, "llama", hidden_size=32, num_layers=2, num_heads=2, max_positions=256, seed=0).eval()
    model = load_adapters(base, {"apparel": root / "apparel", "shoes": root / "shoes"})
    return Engine(model, tok)


MSGS = build_messages([{"role": "user", "content": "I want a red jacket"}], [], "apparel")


def test_stream_yields_text_chunks(engine):
    from assistant.engine import GenerationSettings

    chunks = list(engine.stream(MSGS, "apparel", GenerationSettings(max_new_tokens=12)))
    assert chunks and all(isinstance(c, str) for c in chunks)
    assert "".join(chunks).strip() == engine.generate(MSGS, "apparel", GenerationSettings(max_new_tokens=12))


def test_adapters_switch_and_unknown_falls_back_to_base(engine):
    from assistant.engine import GenerationSettings

    s = GenerationSettings(max_new_tokens=10, repetition_penalty=1.0)
    a, b = engine.generate(MSGS, "apparel", s), engine.generate(MSGS, "shoes", s)
    base, unknown = engine.generate(MSGS, None, s), engine.generate(MSGS, "garden", s)
    assert engine.adapters == ["apparel", "shoes"]
    assert base == unknown
    assert len({a, b, base}) == 3
    assert engine.generate(MSGS, "apparel", s) == a  # switching back restores the first adapter


def test_consumer_can_stop_early(engine):
    from assistant.engine import GenerationSettings

    stream = engine.stream(MSGS, "shoes", GenerationSettings(max_new_tokens=200))
    first = next(stream)
    stream.close()  # the generation thread is cancelled and joined; the lock is free again
    assert isinstance(first, str)
    assert engine.generate(MSGS, "shoes", GenerationSettings(max_new_tokens=4)) is not None


def test_settings_are_validated():
    from assistant.engine import GenerationSettings

    with pytest.raises(ValueError, match="top_p"):
        GenerationSettings(top_p=0)
