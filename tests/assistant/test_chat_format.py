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


def test_default_prompt_format_is_todays_prompt():
    """No format, `PromptFormat()` and a bundle without a `"prompt"` key all render exactly the old prompt."""
    from assistant.generation.chat_format import PromptFormat
    from assistant.generation.prompts import system_prompt

    old = [{"role": "system", "content": system_prompt("apparel") + "\n" + format_cards(PRODUCTS)}]
    old += [{"role": m["role"], "content": m["content"]} for m in HISTORY]
    assert build_messages(HISTORY, PRODUCTS, "apparel") == old
    assert build_messages(HISTORY, PRODUCTS, "apparel", fmt=PromptFormat.from_dict(None)) == old


def test_state_in_prompt_carries_needs_and_shown_titles_and_keeps_the_last_messages():
    from assistant.generation.chat_format import PromptFormat
    from assistant.generation.prompts import system_prompt

    needs = {"attributes": {"color": "red"}, "exclude_attributes": {"material": "wool"}, "max_price": 60.0}
    msgs = build_messages(
        HISTORY, PRODUCTS, "apparel", fmt=PromptFormat(state=True, history=2), needs=needs, shown=["Trail Jacket"]
    )
    system = msgs[0]["content"]
    assert system.split("\n")[0] == system_prompt("apparel")  # the first line stays the engine's static prompt
    assert "The shopper wants so far: color: red, material: not wool, under $60\nShown so far: Trail Jacket" in system
    assert "[a1] Trail Jacket" in system
    assert msgs[1:] == [{"role": m["role"], "content": m["content"]} for m in HISTORY[-2:]]
    empty = build_messages(HISTORY[:1], [], "apparel", fmt=PromptFormat(state=True), needs=None)[0]["content"]
    assert "wants so far: nothing yet\nShown so far: nothing yet" in empty


def test_prompt_format_from_a_bundle_names_bad_values():
    from assistant.generation.chat_format import PromptFormat, shown_products

    assert PromptFormat.from_dict({"state": True, "history": 2}) == PromptFormat(True, 2)
    assert PromptFormat.from_dict({}) == PromptFormat()
    for bad, word in (
        ({"history": 0}, "history"),
        ({"state": "yes"}, "state"),
        ({"turns": 2}, "turns"),
        ([], "object"),
    ):
        with pytest.raises(ValueError, match=word):
            PromptFormat.from_dict(bad)
    # shown products: ordered by their latest showing, each once, the last MAX_SHOWN
    assert shown_products([["a", "b"], ["c"], ["a"]]) == ["b", "c", "a"]
    assert shown_products([[str(i)] for i in range(9)]) == ["4", "5", "6", "7", "8"]


def test_state_prompt_of_a_training_example_and_of_serving_are_token_identical(tokenizer, make_assistant):
    """The same turn rendered by training (`turn_messages` from a dialogue record) and by serving
    (`Assistant.stream` from its reading and search) gives the same prompt tokens, with the state on."""
    from assistant.dialogues import Dialogue
    from assistant.generation.chat_format import PromptFormat
    from training.examples import dialogue_examples, turn_messages

    fmt = PromptFormat(state=True, history=2)
    assistant = make_assistant()
    assistant.prompt_format = fmt
    chat = [
        {"role": "user", "content": "hi, I need a jacket"},
        {"role": "assistant", "content": "Sure. Any color or budget?"},
        {"role": "user", "content": "I need a red jacket under $60"},
        {"role": "assistant", "content": "The Trailblazer Rain Jacket by Peak is red and costs $49.99."},
        {"role": "user", "content": "what is the Trailblazer Rain Jacket made of?"},
    ]
    list(assistant.stream(chat))
    served = assistant.engine.calls[-1]["messages"]
    plan = assistant.plan(chat)
    needs = {"category": "apparel", "min_price": None, "max_price": 60.0, "attributes": {"color": "red"},
             "exclude_attributes": {}, "brands": [], "exclude_brands": []}  # fmt: skip
    assert plan.reading.needs.to_dict() == needs  # the reading agrees with the record's needs on this turn
    record = [dict(m) for m in chat] + [{"role": "assistant", "content": "It is made of nylon."}]
    record[0]["needs"] = {**needs, "max_price": None, "attributes": {}}
    record[2]["needs"] = record[4]["needs"] = needs
    record[3].update(products=["a1"], act="recommend")
    record[5].update(products=["a1"], candidates=[p.id for p in plan.products], act="answer")
    dialogue = Dialogue("d1", "apparel", record)
    wording = assistant.vocabulary.wording("apparel")
    trained = turn_messages(dialogue, 5, assistant.catalog, wording, fmt)
    assert trained == served
    example = dialogue_examples(dialogue, assistant.catalog, tokenizer, 4096, wording, fmt)[-1]
    prompt = example.input_ids[: next(i for i, x in enumerate(example.labels) if x != IGNORE_INDEX)]
    assert prompt == render_prompt(served, tokenizer)
    # the state replaces the older messages: a longer dialogue's prompt stays as long, the whole history grows
    long = Dialogue("d2", "apparel", record[:2] * 4 + record[2:])
    whole = render_prompt(turn_messages(long, 11, assistant.catalog, wording), tokenizer)
    state = render_prompt(turn_messages(long, 11, assistant.catalog, wording, fmt), tokenizer)
    assert len(state) == len(prompt) < len(whole)


def test_a_bundle_prompt_key_sets_the_serving_format_and_a_bad_one_is_named(tmp_path):
    import json

    from assistant.generation.chat_format import PromptFormat
    from assistant.orchestrator import Assistant
    from retrieval.fileio import DataError
    from tests.assistant.conftest import build_tiny_bundle

    bundle = build_tiny_bundle(tmp_path / "b")
    cfg = json.loads((bundle / "assistant.json").read_text())
    assert Assistant.from_pretrained(bundle, engine="torch", warm_up=False).prompt_format == PromptFormat()
    (bundle / "assistant.json").write_text(json.dumps({**cfg, "prompt": {"state": True, "history": 2}}))
    assert Assistant.from_pretrained(bundle, engine="torch", warm_up=False).prompt_format == PromptFormat(True, 2)
    (bundle / "assistant.json").write_text(json.dumps({**cfg, "prompt": {"history": -1}}))
    with pytest.raises(DataError, match="prompt"):
        Assistant.from_pretrained(bundle, engine="torch", warm_up=False)
