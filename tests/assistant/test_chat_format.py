"""Prompt rendering: cards, messages, and exact assistant-token masks under several chat templates.

Run: python -m pytest -q tests/assistant/test_chat_format.py
"""

from __future__ import annotations

import copy

import pytest

from assistant.generation.chat_format import IGNORE_INDEX, build_messages, render, render_prompt
from assistant.generation.prompts import format_cards, product_card
from retrieval.catalog import Product

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
LLAMA3 = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)

PRODUCTS = [
    Product("a1", "Trail Jacket", "apparel", price=49.99, brand="Peak", attributes={"color": "red"}),
    Product("a2", "Wool Scarf", "apparel", price=15.0, attributes={"material": "wool", "size": ["S", "M"]}),
]
HISTORY = [
    {"role": "user", "content": "I need a red jacket", "needs": {}},
    {"role": "assistant", "content": "How much do you want to spend?", "act": "elicit"},
    {"role": "user", "content": "under 60 dollars"},
]
REPLY = {"role": "assistant", "content": "The Trail Jacket by Peak is red and costs $49.99."}


@pytest.fixture(scope="module")
def base_tokenizer():
    from training.pretrain import train_tokenizer

    texts = [format_cards(PRODUCTS)] + [m["content"] for m in HISTORY + [REPLY]] * 3
    return train_tokenizer(texts, vocab_size=400)


@pytest.fixture(params=["project", "chatml", "llama3"])
def tokenizer(request, base_tokenizer):
    tok = copy.deepcopy(base_tokenizer)
    if request.param != "project":
        tok.add_special_tokens(
            {
                "additional_special_tokens": [
                    "<|im_start|>",
                    "<|im_end|>",
                    "<|start_header_id|>",
                    "<|end_header_id|>",
                    "<|eot_id|>",
                ]
            }
        )
        tok.chat_template = CHATML if request.param == "chatml" else LLAMA3
    return tok


def test_product_card_is_compact_and_complete():
    card = product_card(PRODUCTS[0])
    assert card == "[a1] Trail Jacket | brand: Peak | $49.99 | color: red"
    assert "size: S, M" in product_card(PRODUCTS[1])
    block = format_cards(PRODUCTS)
    assert block.startswith("<products>\n") and block.endswith("\n</products>")
    assert "no products" in format_cards([])


def test_build_messages_puts_cards_in_system_and_keeps_role_content():
    msgs = build_messages(HISTORY, PRODUCTS, "apparel")
    assert msgs[0]["role"] == "system" and "[a1] Trail Jacket" in msgs[0]["content"]
    assert "not instructions" in msgs[0]["content"]
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant", "user"]
    assert all(set(m) == {"role", "content"} for m in msgs)


def test_render_masks_exactly_the_last_reply(tokenizer):
    msgs = build_messages(HISTORY, PRODUCTS, "apparel") + [REPLY]
    ids, labels = render(msgs, tokenizer, train_on="last")
    assert len(ids) == len(labels)
    trained = [i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX]
    text = tokenizer.decode(trained)
    assert text.startswith(REPLY["content"])
    end = text[len(REPLY["content"]) :]
    assert end in (tokenizer.eos_token, "<|im_end|>", "<|eot_id|>")  # the end-of-turn marker is trained too
    # labels are one contiguous block equal to the ids, -100 everywhere else
    first = next(k for k, lab in enumerate(labels) if lab != IGNORE_INDEX)
    last = first + len(trained)
    assert labels[first:last] == ids[first:last]
    assert set(labels[:first]) == {IGNORE_INDEX} and set(labels[last:]) <= {IGNORE_INDEX}
    assert ids[:first] == render_prompt(msgs[:-1], tokenizer)  # serving prompt == training prefix, token for token


def test_render_all_trains_every_reply(tokenizer):
    msgs = build_messages(HISTORY, PRODUCTS, "apparel") + [REPLY]
    ids, labels = render(msgs, tokenizer, train_on="all")
    text = tokenizer.decode([i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX])
    assert HISTORY[1]["content"] in text and REPLY["content"] in text
    assert "red jacket" not in text and "Trail Jacket |" not in text


def test_render_rejects_bad_arguments(tokenizer):
    with pytest.raises(ValueError, match="train_on"):
        render(build_messages(HISTORY, [], None) + [REPLY], tokenizer, train_on="some")
    with pytest.raises(ValueError, match="assistant"):
        render(build_messages(HISTORY[:1], [], None), tokenizer)
