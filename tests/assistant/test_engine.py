"""Engine: streams text, stops early when the consumer stops, switches adapters, falls back to the base.

Run: python -m pytest -q tests/assistant/test_engine.py
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.generation.chat_format import build_messages

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning"),  # peft 0.21
    pytest.mark.usefixtures("one_thread"),
]
TEXTS = ["I want a red jacket under 60 dollars", "The Trail Jacket by Peak costs $49.99", "It is red."] * 3


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    import torch
    from peft import LoraConfig, get_peft_model

    from assistant.generation.engine import Engine
    from assistant.generation.model import load_adapters
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
    from assistant.generation.engine import GenerationSettings

    chunks = list(engine.stream(MSGS, "apparel", GenerationSettings(max_new_tokens=12)))
    assert chunks and all(isinstance(c, str) for c in chunks)
    assert "".join(chunks).strip() == engine.generate(MSGS, "apparel", GenerationSettings(max_new_tokens=12))


def test_adapters_switch_and_unknown_falls_back_to_base(engine):
    from assistant.generation.engine import GenerationSettings

    s = GenerationSettings(max_new_tokens=10, repetition_penalty=1.0)
    a, b = engine.generate(MSGS, "apparel", s), engine.generate(MSGS, "shoes", s)
    base, unknown = engine.generate(MSGS, None, s), engine.generate(MSGS, "garden", s)
    assert engine.adapters == ["apparel", "shoes"]
    assert base == unknown
    assert len({a, b, base}) == 3
    assert engine.generate(MSGS, "apparel", s) == a  # switching back restores the first adapter


def test_consumer_can_stop_early(engine):
    from assistant.generation.engine import GenerationSettings

    stream = engine.stream(MSGS, "shoes", GenerationSettings(max_new_tokens=200))
    first = next(stream)
    stream.close()  # the generation thread is cancelled and joined; the lock is free again
    assert isinstance(first, str)
    assert engine.generate(MSGS, "shoes", GenerationSettings(max_new_tokens=4)) is not None


def test_settings_are_validated():
    from assistant.generation.engine import GenerationSettings

    with pytest.raises(ValueError, match="top_p"):
        GenerationSettings(top_p=0)


CARD = SimpleNamespace(
    id="a12", title="Trail Jacket", brand="Peak", price=49.99, currency="USD", attributes={"color": "red", "size": "M"}
)
CARD_MSGS = build_messages([{"role": "user", "content": "Is the Trail Jacket red?"}], [CARD], "apparel")


def test_copy_bias_raises_card_token_logits_only(engine):
    import torch

    from assistant.generation.chat_format import render_prompt
    from assistant.generation.engine import copy_processor
    from assistant.generation.prompts import product_card, system_prompt

    tok = engine.tokenizer
    ids = render_prompt(CARD_MSGS, tok)
    proc = copy_processor(tok, CARD_MSGS, bias=3.0, prompt_len=len(ids))
    card_ids = set(tok(product_card(CARD), add_special_tokens=False)["input_ids"])
    template_ids = set(tok(system_prompt("apparel"), add_special_tokens=False)["input_ids"])
    boosted = set(proc.boost_ids)
    assert boosted and boosted <= card_ids
    assert not boosted & (template_ids | set(tok.all_special_ids))
    assert all(any(c.isalnum() for c in tok.decode([t])) for t in boosted)
    scores = torch.randn(1, len(tok))
    out = proc(torch.tensor([ids]), scores.clone())
    delta = out - scores
    mask = torch.zeros(len(tok), dtype=torch.bool)
    mask[sorted(boosted)] = True
    assert torch.allclose(delta[0, mask], torch.full((int(mask.sum()),), 3.0))
    assert torch.equal(delta[0, ~mask], torch.zeros(int((~mask).sum())))
    assert copy_processor(tok, MSGS[1:], bias=3.0) is None  # no card block, no processor
    assert copy_processor(tok, MSGS, bias=3.0) is None  # the "no products" marker is not a copy source


def test_copy_continuation_boosts_the_next_card_token(engine):
    import torch

    from assistant.generation.engine import copy_processor
    from assistant.generation.prompts import format_cards

    tok = engine.tokenizer
    source = tok(format_cards([CARD])[len("<products>") : -len("</products>")], add_special_tokens=False)["input_ids"]
    proc = copy_processor(tok, CARD_MSGS, bias=0.0, continuation=5.0, prompt_len=2)
    j = next(j for j in range(2, len(source)) if source[j] in proc.boost_ids and source[j - 1] in proc.boost_ids)
    prompt = [0, 0]
    out = proc(torch.tensor([prompt + source[j - 2 : j]]), torch.zeros(1, len(tok)))
    assert out[0, source[j]] == 5.0
    assert int((out[0] != 0).sum()) >= 1 and set(torch.nonzero(out[0]).flatten().tolist()) <= set(proc.boost_ids)
    assert torch.equal(proc(torch.tensor([prompt]), torch.zeros(1, len(tok))), torch.zeros(1, len(tok)))


def test_large_copy_bias_makes_the_reply_copy_card_tokens(engine, monkeypatch):
    from assistant.generation.engine import GenerationSettings, copy_processor

    outputs = []
    generate = engine.model.generate

    def spy(**kwargs):
        out = generate(**kwargs)
        outputs.append(out[0, kwargs["input_ids"].shape[1] :].tolist())  # the reply's token ids
        return out

    monkeypatch.setattr(engine.model, "generate", spy)
    boosted = set(copy_processor(engine.tokenizer, CARD_MSGS, bias=1.0).boost_ids) | set(engine.stop_ids)
    plain = engine.generate(
        CARD_MSGS,
        "apparel",
        GenerationSettings(
            max_new_tokens=8, repetition_penalty=1.0, copy_bias=0.0, copy_continuation=0.0, copy_focus=0.0
        ),
    )
    assert outputs[-1] and not set(outputs[-1]) <= boosted  # this untrained model does not copy by itself
    copied = engine.generate(
        CARD_MSGS,
        "apparel",
        GenerationSettings(
            max_new_tokens=8, repetition_penalty=1.0, copy_bias=1e4, copy_continuation=0.0, copy_focus=0.0
        ),
    )
    assert copied != plain
    assert outputs[-1] and set(outputs[-1]) <= boosted


def test_copy_focus_boosts_the_card_the_reply_names(engine):
    import torch

    from assistant.generation.engine import copy_processor

    tok = engine.tokenizer
    other = SimpleNamespace(
        id="b7",
        title="Rain Coat",
        brand="Vento",
        price=30.0,
        currency="USD",
        attributes={"color": "blue", "size": "XL"},
    )
    msgs = build_messages([{"role": "user", "content": "Which is red?"}], [CARD, other], "apparel")
    proc = copy_processor(tok, msgs, bias=0.0, focus=5.0, prompt_len=1)
    only_first, only_other = proc.line_ids[0] - proc.line_ids[1], proc.line_ids[1] - proc.line_ids[0]
    assert only_first and only_other
    pair = next(p for p, lines in proc.pair_lines.items() if lines == {0})  # names the first card only
    out = proc(torch.tensor([[0, *pair]]), torch.zeros(1, len(tok)))
    assert all(out[0, t] == 5.0 for t in proc.line_ids[0])
    assert all(out[0, t] == 0.0 for t in only_other)
    assert torch.equal(proc(torch.tensor([[0]]), torch.zeros(1, len(tok))), torch.zeros(1, len(tok)))
