"""The reading of one message: intent by rules (or a learned reader), language, referents, comparison, released
needs and the JSON shape of `Reading.to_dict`.

Run: python -m pytest -q tests/assistant/test_reading.py
"""

from __future__ import annotations

import pytest

from assistant.checks.grounding import check_reply
from assistant.understanding.intent_rules import INTENTS
from assistant.understanding.language import detect_language
from assistant.understanding.reading import read_message
from assistant.understanding.vocabulary import Vocabulary

SHOWN = "You could try the Trailblazer Rain Jacket ($49.99) or the Merino Crew Sweater ($79.00)."


@pytest.fixture
def read(tiny_catalog, tiny_shop):
    vocabulary = Vocabulary.from_catalog(tiny_catalog, shop=tiny_shop)

    def read(*turns: str, intents=None):
        roles = ["user", "assistant"] * len(turns)
        history = [{"role": r, "content": t} for r, t in zip(roles, turns)]
        return read_message(
            history,
            catalog=tiny_catalog,
            vocabulary=vocabulary,
            categories=["apparel", "shoes"],
            check=check_reply,
            default_category="apparel",
            intents=intents,
        )

    return read


def test_to_dict_has_the_dialogue_contract_keys(read):
    d = read("a red rain jacket under $60").to_dict()
    assert d["intent"] == "ask_products" and d["language"] == "en" and d["category"] == "apparel"
    assert d["needs"] == {
        "category": "apparel",
        "min_price": None,
        "max_price": 60.0,
        "attributes": {"color": "red"},
        "exclude_attributes": {},
        "brands": [],
        "exclude_brands": [],
        "released": [],
    }
    assert d["refers_to"] == [] and d["compare"] is None and d["ask_attribute"] is None


@pytest.mark.parametrize(
    "turns, intent",
    [
        (("hi there",), "greet"),
        (("a red rain jacket under $60",), "ask_products"),
        (("a jacket", SHOWN, "what color is the second one?"), "ask_about_product"),
        (("a jacket", SHOWN, "which one is cheaper?"), "compare"),
        (("a red jacket", SHOWN, "the color doesn't matter"), "release"),
        (("a jacket", SHOWN, "nothing from Peak please"), "exclude"),
        (("a jacket", SHOWN, "I'll take the first one"), "accept"),
        (("a jacket", SHOWN, "none of these, not my style"), "reject"),
        (("a red jacket", SHOWN, "no, I said white"), "correct"),
        (("a jacket", SHOWN, "thanks, bye"), "leave"),
        (("what is the capital of France?",), "off_topic"),
        (("Ich brauche eine warme Jacke für den Winter",), "other_language"),
    ],
)
def test_rule_intents(read, turns, intent):
    assert intent in INTENTS
    assert read(*turns).intent == intent


def test_references_and_comparison(read):
    r = read("a jacket", SHOWN, "what color is the second one?")
    assert r.refers_to == ["a2"] and r.ask_attribute == "color"
    r = read("a jacket", SHOWN, "which one is cheaper?")
    assert r.compare == {"attribute": "price", "direction": "min"} and r.refers_to == ["a1", "a2"]
    assert read("a jacket", SHOWN, "nothing from Peak please").refers_to == []  # an exclusion points at nothing


def test_released_needs_accumulate_and_a_restated_need_is_not_released(read):
    r = read("a red jacket under $60", SHOWN, "the color doesn't matter")
    assert r.needs.released == ["color"] and "color" not in r.needs.attributes
    r = read("a red jacket under $60", SHOWN, "the color doesn't matter", SHOWN, "no budget")
    assert r.needs.released == ["color", "price"] and r.needs.max_price is None
    r = read("a red jacket", SHOWN, "the color doesn't matter", SHOWN, "white after all")
    assert r.needs.released == [] and r.needs.attributes["color"] == "white"


def test_short_messages_and_product_names_are_english():
    for text in ["ok", "hiii", "thx!", "Trailblazer Rain Jacket", "size 10", "the second one", "merci"]:
        assert detect_language(text) == "en", text
    assert detect_language("Ich suche bequeme Sneaker unter 80 Euro") == "de"
    assert detect_language("¿Tienes esta chaqueta en azul, por favor?") == "es"


def test_another_language_is_never_routed_to_a_category_it_did_not_name(read):
    r = read("Je voudrais une robe noire pour une soirée")
    assert r.intent == "other_language" and r.language == "fr" and r.category is None


def test_a_learned_reader_replaces_the_rules(read):
    class Fixed:
        def __init__(self):
            self.calls = []

        def predict(self, message, history):
            self.calls.append((message, history))
            return "greet"

    model = Fixed()
    r = read("a jacket", SHOWN, "a red one", intents=model)
    assert r.intent == "greet" and r.needs.attributes == {"color": "red"}
    assert model.calls == [
        ("a red one", [{"role": "user", "content": "a jacket"}, {"role": "assistant", "content": SHOWN}])
    ]


@pytest.fixture
def catalog_bundle(tmp_path, tiny_catalog, tiny_shop):
    """A bundle whose base model and adapters do not exist: `understand` must not need them."""
    from retrieval.fileio import atomic_write_json

    tiny_catalog.save(tmp_path / "index" / "products.jsonl")
    tiny_shop.save(tmp_path / "vocabulary.json")
    atomic_write_json(
        tmp_path / "assistant.json",
        {
            "base": "no-such-base",
            "adapters": {"apparel": "adapters/apparel"},
            "index": "index",
            "default_category": "apparel",
        },
    )
    return tmp_path


def test_understand_command_prints_one_json_per_message(catalog_bundle, tmp_path, capsys):
    import json

    from assistant.faces.understand import main, open_reader

    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": "a jacket"}, {"role": "assistant", "content": SHOWN}]))
    assert main(["--bundle", str(catalog_bundle), "--history", str(history), "what color is the second one?"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["intent"] == "ask_about_product" and d["refers_to"] == ["a2"] and d["ask_attribute"] == "color"
    messages = tmp_path / "messages.txt"
    messages.write_text("hi there\n\nwhite sneakers under $50\nIch brauche eine warme Jacke für den Winter\n")
    assert main(["--bundle", str(catalog_bundle), "--file", str(messages)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["intent"] for d in lines] == ["greet", "ask_products", "other_language"]
    assert (
        lines[1]["needs"]["max_price"] == 50.0
        and lines[1]["category"] == "shoes"
        and lines[0]["needs"]["released"] == []
    )
    reading = open_reader(catalog_bundle).understand([{"role": "user", "content": "white sneakers under $50"}])
    assert reading.to_dict() == lines[1]  # the same from Python


def test_understand_command_bad_input_is_file_line_field_message(catalog_bundle, tmp_path, capsys):
    from assistant.faces.understand import main

    history = tmp_path / "history.jsonl"
    history.write_text('{"role": "user", "content": "a jacket"}\n{"role": "bot", "content": "hi"}\n')
    assert main(["--bundle", str(catalog_bundle), "--history", str(history), "hi"]) == 1
    assert f"{history}:2: role: must be one of user, assistant" in capsys.readouterr().err
    messages = tmp_path / "messages.txt"
    messages.write_bytes(b"hi\n\xff\xfe\n")
    assert main(["--bundle", str(catalog_bundle), "--file", str(messages)]) == 1
    assert f"{messages}:2: -: not UTF-8 text" in capsys.readouterr().err
    assert main(["--bundle", str(tmp_path / "none"), "hi"]) == 1
    err = capsys.readouterr().err
    assert "no assistant bundle here" in err and "Traceback" not in err
