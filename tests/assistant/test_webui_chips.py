"""The page shows what the assistant understood as chips, and its filter controls follow the reading: chips from
needs, the release / correction phrasings read back through the assistant's own reader on the tiny catalog, chip
edits as the page answers them, and the max-price slider, category and brand controls after a reply (a shopper's
own setting still wins).

Run: python -m pytest -q tests/assistant/test_webui_chips.py
"""

from __future__ import annotations

import pytest
from conftest import FakeEngine, FakeIndex
from fastapi.testclient import TestClient
from test_server_hardening import page_call, slider_value

from assistant.faces.server import build_app
from assistant.faces.webui import AUTO, CANT_EDIT, category_values, chip_alternatives, follow_reading, needs_chips
from assistant.orchestrator import Assistant
from assistant.understanding.needs import ShopperNeeds
from retrieval.catalog import Catalog, Product

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|The copy keyword):Warning")
REPLY = "I recommend the Trailblazer Rain Jacket. It costs $49.99."


def texts(needs) -> list[str]:
    return [c.text for c in needs_chips(needs)]


def dialogue(*users: str) -> list[dict]:
    out: list[dict] = []
    for u in users:
        out += [{"role": "user", "content": u}, {"role": "assistant", "content": REPLY}]
    return out[:-1]


def page_fn(ui, name: str):
    return next(f.fn for f in ui.fns.values() if f.fn is not None and f.fn.__name__ == name)


def last(events: list) -> tuple:
    return events[-1]


def value(update) -> object:
    return update.get("value") if isinstance(update, dict) else update


# --------------------------------------------------------------------------------------------- chips from needs
def test_chips_show_each_need_in_the_shoppers_words():
    needs = ShopperNeeds(
        category="electronics",
        max_price=200.0,
        attributes={"type": "headphones", "noise_cancelling": "active", "wireless": True},
        exclude_attributes={"material": "wool", "waterproof": True},
        brands=["Zentro"],
        exclude_brands=["Acme", "Peak"],
        released=["color"],
    )
    assert texts(needs) == [
        "type: headphones",
        "noise cancelling: active",
        "wireless",
        "not wool",
        "not waterproof",
        "under $200",
        "brand: Zentro",
        "not Acme or Peak",
    ]
    assert texts(needs.to_dict()) == texts(needs)  # the page keeps needs as the dialogue contract's dict


@pytest.mark.parametrize(
    "lo, hi, text",
    [(None, 199.99, "under $199.99"), (50.0, None, "over $50"), (50.0, 120.0, "$50-$120"), (0.0, None, "over $0")],
)
def test_a_price_chip_says_the_range(lo, hi, text):
    assert texts(ShopperNeeds(min_price=lo, max_price=hi)) == [text]


def test_no_needs_no_chips_and_lists_read_as_or():
    assert texts(ShopperNeeds()) == [] and texts({}) == [] and texts(None) == []
    needs = ShopperNeeds(
        attributes={"color": ["red", "navy"]},
        exclude_attributes={"material": ["wool", "down"], "waterproof": False},
        brands=["Peak", "Acme"],
    )
    assert texts(needs) == ["color: red or navy", "not wool or down", "not waterproof: no", "brand: Peak or Acme"]


def test_a_chip_changes_to_the_categorys_other_values_and_brands(tiny_catalog):
    values, brands = category_values(tiny_catalog)
    assert values["apparel"]["color"] == ["black", "green", "navy", "red", "white"]
    assert brands["shoes"] == ["Acme", "Peak", "Stride"]
    chips = needs_chips(ShopperNeeds(attributes={"color": "red"}, max_price=60.0, brands=["Peak"]))
    options = chip_alternatives(chips, values["apparel"], brands["apparel"])
    assert options["color: navy"] == ("color", "make it navy") and "color: red" not in options
    assert options["brand: Acme"] == ("brand", "make it Acme") and "brand: Peak" not in options
    assert not any(o.startswith(("material", "under")) for o in options)  # only chips shown change


# --------------------------------------------------------------------------------------------- the reader
START = "a red nylon jacket from Peak under $60, not wool"
BEFORE = ["color: red", "material: nylon", "not wool", "under $60", "brand: Peak"]


@pytest.mark.parametrize("chip", ["color: red", "under $60", "brand: Peak"])
def test_each_release_phrasing_is_read_as_that_release(tiny_assistant, chip):
    release = next(c for c in needs_chips(tiny_assistant.understand(dialogue(START)).needs) if c.text == chip)
    assert texts(tiny_assistant.understand(dialogue(START)).needs) == BEFORE
    for words in release.release:  # every phrasing the page may send, not only the first
        after = tiny_assistant.understand(dialogue(START, words))
        assert texts(after.needs) == [t for t in BEFORE if t != chip], words
        assert after.intent == "release", words


@pytest.mark.parametrize(
    "start, chip, after",
    [
        ("a jacket, not wool", "not wool", []),
        ("boots, not waterproof", "not waterproof", []),
        ("a jacket, not from Acme", "not Acme", []),
        ("a Peak jacket, not from Acme", "not Acme", []),
        ("waterproof boots under $150", "waterproof", ["under $150"]),
    ],
)
def test_releases_of_exclusions_and_flags_are_read(tiny_assistant, start, chip, after):
    (release,) = [c for c in needs_chips(tiny_assistant.understand(dialogue(start)).needs) if c.text == chip]
    read = [texts(tiny_assistant.understand(dialogue(start, words)).needs) for words in release.release]
    assert after in read, read


@pytest.mark.parametrize(
    "option, words, after",
    [
        ("color: navy", "make it navy", ["color: navy", "material: nylon", "not wool", "under $60", "brand: Peak"]),
        (
            "material: linen",
            "make it linen",
            ["color: red", "material: linen", "not wool", "under $60", "brand: Peak"],
        ),
        ("brand: Acme", "make it Acme", ["color: red", "material: nylon", "not wool", "under $60", "brand: Acme"]),
    ],
)
def test_each_correction_phrasing_is_read_as_that_correction(tiny_assistant, tiny_catalog, option, words, after):
    values, brands = category_values(tiny_catalog)
    chips = needs_chips(tiny_assistant.understand(dialogue(START)).needs)
    options = chip_alternatives(chips, values["apparel"], brands["apparel"])
    assert options[option][1] == words
    assert texts(tiny_assistant.understand(dialogue(START, words)).needs) == after


# --------------------------------------------------------------------------------------------- the page
@pytest.fixture
def page(tiny_assistant, tmp_path):
    from assistant.faces.webui import build_ui

    ui = build_ui(tiny_assistant, feedback_path=tmp_path / "fb.jsonl")
    return page_fn(ui, "respond"), page_fn(ui, "edit_needs"), tiny_assistant


def test_after_a_budget_the_slider_chips_and_category_follow_through_the_api(tiny_assistant, tmp_path):
    with TestClient(build_app(tiny_assistant, feedback_path=tmp_path / "fb.jsonl")) as c:
        top = slider_value(c)
        assert top == 190  # the catalog's maximum, rounded up
        out = page_call(c, ["a red rain jacket under $60", [], AUTO, top, []])
    chatbot, cards, _, _, chips, category, max_price, brands = out
    assert "Trailblazer" in cards and chatbot[-1]["role"] == "assistant"
    assert value(chips) == ["color: red", "under $60"] and ["color: navy", "color: navy"] in chips["choices"]
    assert value(category) == "apparel" and value(max_price) == 60 and value(brands) == []


def test_a_brand_in_the_words_sets_the_brand_control(page):
    respond, _, _ = page
    out = last(list(respond("shoes from Stride", [], AUTO, 190, [])))
    assert value(out[5]) == "shoes" and value(out[7]) == ["Stride"] and value(out[6]) == 190


def test_a_shoppers_own_slider_wins_until_their_words_change_the_budget(page):
    respond, _, assistant = page
    conv = last(list(respond("a rain jacket under $60", [], AUTO, 190, [])))[2]
    # the shopper drags the slider to 40: it is sent as a filter and stays at 40
    out = last(list(respond("something else?", conv, "apparel", 40, [])))
    assert assistant.index.queries[-1][1].max_price == 40 and value(out[6]) == 40
    conv = out[2]
    out = last(list(respond("and in white?", conv, "apparel", 40, [])))
    assert assistant.index.queries[-1][1].max_price == 40 and value(out[6]) == 40
    # the shopper's words are newer than the slider: they win, and the slider shows them
    out = last(list(respond("under $100 then", out[2], "apparel", 40, [])))
    assert assistant.index.queries[-1][1].max_price == 100 and value(out[6]) == 100
    # the slider the page set from the reading is not sent back as a filter that freezes it
    out = last(list(respond("actually under $150", out[2], "apparel", 100, [])))
    assert assistant.index.queries[-1][1].max_price == 150 and value(out[6]) == 150


def test_a_chosen_category_stays_until_auto(page):
    respond, _, assistant = page
    conv = last(list(respond("a rain jacket", [], AUTO, 190, [])))[2]
    out = last(list(respond("something under $100", conv, "shoes", 190, [])))
    assert out[2][-1]["category"] == "shoes" and value(out[5]) == "shoes"
    out = last(list(respond("in red?", out[2], "shoes", 100, [])))
    assert out[2][-1]["category"] == "shoes"  # still the shopper's, although the words talk of a jacket
    out = last(list(respond("in red?", out[2], AUTO, 100, [])))
    assert out[2][-1]["category"] == "apparel" and value(out[5]) == "apparel"


def test_removing_a_chip_says_the_release_and_answers_it(page):
    respond, edit, _ = page
    conv = last(list(respond(START, [], AUTO, 190, [])))[2]
    out = last(list(edit([t for t in BEFORE if t != "under $60"], conv, "apparel", 60, ["Peak"])))
    assert out[2][-2]["content"] == "any price is fine" and out[3] != ""  # what is typed stays
    assert value(out[4]) == ["color: red", "material: nylon", "not wool", "brand: Peak"] and value(out[6]) == 190
    out = last(list(edit(["material: nylon", "not wool"], out[2], "apparel", 190, ["Peak"])))
    assert out[2][-2]["content"] == "any color is fine"


def test_changing_a_chip_says_the_correction_and_answers_it(page):
    respond, edit, _ = page
    conv = last(list(respond(START, [], AUTO, 190, [])))[2]
    out = last(list(edit(BEFORE + ["brand: Acme"], conv, "apparel", 60, ["Peak"])))
    assert out[2][-2]["content"] == "make it Acme" and "brand: Acme" in value(out[4]) and value(out[7]) == ["Acme"]


def test_a_chip_the_reader_cannot_drop_alone_sends_nothing(page, monkeypatch):
    import gradio as gr

    respond, edit, _ = page
    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", warned.append)
    conv = last(list(respond("a nylon jacket, not wool", [], AUTO, 190, [])))[2]
    shown = texts(conv[-1]["needs"])
    assert shown == ["material: nylon", "not wool"]
    # "any material is fine" would drop the nylon too: the page says so instead of sending it
    (out,) = list(edit(["material: nylon"], conv, "apparel", 190, []))
    assert warned == [CANT_EDIT] and value(out[4]) == shown and not isinstance(out[2], list)  # nothing sent


def test_chips_and_controls_for_a_catalog_without_prices_or_attributes(tmp_path):
    products = [Product(f"p{i}", f"Rain Jacket {i}", "apparel", price=None) for i in range(2)]
    assistant = Assistant(FakeIndex(Catalog(products)), FakeEngine(), default_category="apparel")
    with TestClient(build_app(assistant, feedback_path=tmp_path / "fb.jsonl")) as c:
        out = page_call(c, ["a rain jacket under $80", [], AUTO, slider_value(c), []])
    assert value(out[4]) == ["under $80"] and value(out[6]) == 80 and value(out[7]) == []


def test_follow_reading_keeps_only_an_own_setting_the_reading_did_not_change():
    shown = {"category": "apparel", "max_price": 60, "brands": []}
    controls = {"category": "apparel", "max_price": 40, "brands": ["Acme"]}
    same = follow_reading(controls, shown, dict(shown), {"max_price", "brands"})
    assert same == {"category": "apparel", "max_price": 40, "brands": ["Acme"]}
    moved = follow_reading(controls, shown, {"category": "shoes", "max_price": 100, "brands": []}, {"max_price"})
    assert moved == {"category": "shoes", "max_price": 100, "brands": []}
