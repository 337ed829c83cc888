"""What the shopper asks (`understanding/questions.py`) and the catalog's answer (`checks/answers.py`), alone and in
the orchestrator:
a reply that does not state the asked value is answered from the catalog, a wrong price order is replaced,
a question for a need already stated is dropped, an off-topic message is redirected without generating."""

from __future__ import annotations

import pytest

from assistant.checks.answers import answers, catalog_answer, drop_reasked, wrong_price_order
from assistant.checks.grounding import check_reply
from assistant.understanding.needs import ShopperNeeds, Vocabulary
from assistant.understanding.questions import Ask, asked_values, read_question

SHOWN = "I recommend the Trailblazer Rain Jacket ($49.99) and the Merino Crew Sweater ($79.00). Any questions?"


def dialogue(*turns: str) -> list[dict[str, str]]:
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)]


@pytest.fixture
def read(tiny_catalog):
    vocab = Vocabulary.from_catalog(tiny_catalog)

    def go(*turns: str, needs: ShopperNeeds | None = None):
        return read_question(dialogue(*turns), tiny_catalog, check_reply, "apparel", vocab, needs)

    return go


@pytest.mark.parametrize(
    "question, products, attribute",
    [
        ("What color is the first one?", ["a1"], "color"),
        ("what material is the second one?", ["a2"], "material"),
        ("What's the material of the Merino Crew Sweater?", ["a2"], "material"),
        ("How much is the second one?", ["a2"], "price"),
        ("Does it come in navy?", ["a1"], "color"),
        ("is the last one made of wool?", ["a2"], "material"),
    ],
)
def test_attribute_questions_find_the_product_and_the_attribute(read, question, products, attribute):
    ask = read("a jacket please", SHOWN, question)
    assert (ask.kind, ask.products, ask.attribute) == ("attribute", products, attribute)


def test_ordinals_use_the_latest_reply_that_listed_enough_products(read):
    one = "The Trailblazer Rain Jacket's color is red."
    ask = read("a jacket please", SHOWN, "what color is the first one?", one, "How much is the second one?")
    assert (ask.products, ask.attribute) == (["a2"], "price")
    compare = read("a jacket please", SHOWN, "what color is the first one?", one, "Compare the two you showed me.")
    assert (compare.kind, compare.products) == ("compare", ["a1", "a2"])
    longer = read("a jacket please", SHOWN, "Which one has the warmer material?")
    assert (longer.kind, longer.attribute) == ("compare", "material")


def test_comparison_closing_and_off_topic_are_told_apart(read):
    assert read("a jacket please", SHOWN, "Compare the two you showed me.").products == ["a1", "a2"]
    assert read("a jacket please", SHOWN, "which one is cheaper?").kind == "compare"
    assert read("a jacket please", SHOWN, "Thanks, that's all!").kind == "closing"
    assert read("What's the capital of France?").kind == "off_topic"
    assert read("a jacket please", SHOWN, "can you tell me a joke?").kind == "off_topic"
    assert read("a jacket please", SHOWN, "who won the game last night?").kind == "off_topic"
    weather = "by the way, what's the weather going to be like tomorrow? if that's possible"
    assert read("a jacket please", SHOWN, weather).kind == "off_topic"  # "that" points at no product here
    # shopping in any words is never off-topic
    for msg in (
        "do you have anything in wool?",
        "what would you suggest for a wedding?",
        "what's your return policy?",
        "what's popular right now?",
        "do you sell tents?",
        "what should I get my girlfriend for her birthday?",
        "what's its material like?",  # an attribute name of the catalog, whatever the routed category
    ):
        assert read(msg).kind != "off_topic", msg
    assert read("hello there").kind == "other"
    assert read("can I return it if it doesn't fit?").kind == "other"  # "it" alone, before any product: no guess


def test_short_values_count_only_as_written(tiny_catalog):
    from retrieval.catalog import Catalog, Product

    cat = Catalog(
        [
            Product("x", "Kestrel Coast Jacket", "apparel", price=75.0, attributes={"size": "XXL"}),
            Product("y", "Alder Echo Jacket", "apparel", price=99.0, attributes={"size": "S"}),
        ]
    )
    assert asked_values("does it come in size M or S?", cat.get("x"), cat) == {"size": "S"}
    assert asked_values("what's it's size?", cat.get("x"), cat) == {}


def test_catalog_answer_states_the_value_and_the_polarity(read, tiny_catalog):
    ask = read("a jacket please", SHOWN, "Does the first one come in navy?")
    text = catalog_answer(ask, tiny_catalog)
    assert text == "No, the Trailblazer Rain Jacket's color is red, not navy."
    assert answers(text, ["a1"], ask, tiny_catalog)
    assert not answers("Yes! The Trailblazer Rain Jacket is navy.", ["a1"], ask, tiny_catalog)
    assert not answers("The Merino Crew Sweater is red.", ["a2"], ask, tiny_catalog)  # another product
    price = read("a jacket please", SHOWN, "How much is the second one?")
    assert catalog_answer(price, tiny_catalog) == "The Merino Crew Sweater costs $79.00."


def test_wrong_price_order_is_caught(tiny_catalog):
    a1, a2 = tiny_catalog.get("a1"), tiny_catalog.get("a2")  # $49.99, $79.00
    assert wrong_price_order("Both fit; the Merino Crew Sweater costs less.", [a1, a2])
    assert wrong_price_order("The Trailblazer Rain Jacket is more expensive.", [a1, a2])
    assert not wrong_price_order("The Trailblazer Rain Jacket costs less.", [a1, a2])
    ask = Ask("compare", ["a1", "a2"])
    text = catalog_answer(ask, tiny_catalog)
    assert "The Trailblazer Rain Jacket costs $29.01 less." in text and answers(text, ["a1", "a2"], ask, tiny_catalog)


def test_assistant_drops_a_wrong_price_order(make_assistant):
    a = make_assistant(
        script="The Trailblazer Rain Jacket and the Merino Crew Sweater both fit. The Merino Crew Sweater costs less."
    )
    r = a.reply(dialogue("a jacket or a sweater"))
    assert r.text == "The Trailblazer Rain Jacket and the Merino Crew Sweater both fit."
    assert any("wrong price comparison" in c for c in r.corrections)


def test_questions_for_stated_needs_are_dropped_confirmations_kept():
    needs = ShopperNeeds(max_price=40.0, attributes={"color": "red"})
    text, dropped = drop_reasked(
        "Great. What size would you like? Any budget limit I should keep in mind? Which color do you prefer?",
        needs,
        ["color", "size"],
    )
    assert text == "Great. What size would you like?" and dropped == ["budget", "color"]
    kind = ShopperNeeds(max_price=40.0, attributes={"type": "jacket"})
    text, dropped = drop_reasked(
        "Sure! What kind of apparel do you have in mind? What's the most you'd pay?", kind, []
    )
    assert text == "Sure!" and dropped == ["type", "budget"]
    kept, none = drop_reasked("So red, under $40, right?", needs, ["color"])
    assert kept == "So red, under $40, right?" and none == []
    closing, _ = drop_reasked("Enjoy it! Anything else I can help with?", ShopperNeeds(), [], closing=True)
    assert closing == "Enjoy it!"
    listed, _ = drop_reasked("I'd recommend this one:\nThe Merino Crew Sweater. Budget?", needs, [])
    assert listed == "I'd recommend this one:\nThe Merino Crew Sweater."  # the rest of the text is untouched


def test_an_attribute_question_whose_reply_was_dropped_gets_the_catalog_answer(make_assistant):
    a = make_assistant(script="The Acme Cloudstrider 9 Jacket costs $20.")  # an invented product
    r = a.reply(dialogue("a jacket please", SHOWN, "How much is the second one?"))
    assert r.text == "The Merino Crew Sweater costs $79.00." and r.products == ["a2"]


def test_assistant_answers_from_the_catalog_when_the_model_does_not(make_assistant):
    wrong = make_assistant(script="The Trailblazer Rain Jacket has material wool.")
    r = wrong.reply(dialogue("a jacket please", SHOWN, "What color is the first one?"))
    assert r.text == "The Trailblazer Rain Jacket's color is red." and r.products == ["a1"]
    assert any("answered from the catalog" in c for c in r.corrections)
    right = make_assistant(script="It's red: the Trailblazer Rain Jacket comes in red.")
    r = right.reply(dialogue("a jacket please", SHOWN, "What color is the first one?"))
    assert r.text == "It's red: the Trailblazer Rain Jacket comes in red." and not r.corrections
    # the product asked about leads the model's cards even when this turn's search would not find it
    prompt = right.engine.calls[-1]["messages"][0]["content"]
    assert prompt.index("Trailblazer Rain Jacket") < prompt.index("Merino Crew Sweater")


def test_a_promised_product_goes_after_the_colon():
    from assistant.checks.pipeline import suggest
    from retrieval.catalog import Product

    boots = Product("b", "Peakline Ridge Boots", "shoes", price=120.99)
    text, ids = suggest("I'd recommend this one:  Any questions about it?", boots)
    assert text == "I'd recommend this one: the Peakline Ridge Boots ($120.99). Any questions about it?"
    assert suggest("Want to know more about it?", boots)[0] == (
        "From the catalog, I'd suggest the Peakline Ridge Boots ($120.99). Want to know more about it?"
    )
    assert suggest("Yes!", boots)[0] == "From the catalog, I'd suggest the Peakline Ridge Boots ($120.99)."
    assert suggest("Here it is:", boots)[0] == "Here it is: the Peakline Ridge Boots ($120.99)."
    assert suggest("Got it.", boots)[0] == "Got it. From the catalog, I'd suggest the Peakline Ridge Boots ($120.99)."


def test_a_rejected_product_is_not_put_back_on_the_cards(make_assistant):
    a = make_assistant()
    a.reply(dialogue("a jacket please", SHOWN, "that's over my budget of $40"))
    prompt = a.engine.calls[-1]["messages"][0]["content"]
    assert "Merino Crew Sweater" not in prompt and "Trailblazer Rain Jacket" not in prompt  # both over $40


def test_assistant_does_not_reask_and_recommends_instead(make_assistant):
    a = make_assistant(script="Got it. Any budget limit I should keep in mind?")
    r = a.reply(dialogue("a red jacket under $60"))
    assert "budget" not in r.text and r.products == ["a1"]
    assert r.text.startswith("Got it. From the catalog, I'd suggest the Trailblazer Rain Jacket")


def test_a_reference_before_any_product_gets_a_suggestion(make_assistant):
    a = make_assistant(script="The first pair has weight of $100.99.")
    r = a.reply(dialogue("a red jacket", "Any budget?", "what's the weight of the first one?"))
    assert (
        r.text
        == "I haven't suggested a product yet. From the catalog, I'd suggest the Trailblazer Rain Jacket ($49.99)."
    )


def test_which_has_more_names_the_winner(tiny_catalog):
    from retrieval.catalog import Catalog, Product

    cat = Catalog(
        [
            Product(
                "x", "Auralis Core Headphones", "electronics", price=62.99, attributes={"battery life": "40 hours"}
            ),
            Product("y", "Zentro S7 Headphones", "electronics", price=127.99, attributes={"battery life": "30 hours"}),
        ]
    )
    text = catalog_answer(
        Ask("compare", ["y", "x"], "battery life", wording="which one has longer battery life?"), cat
    )
    assert text.endswith(
        "The Auralis Core Headphones cost $65.00 less."
        " The Auralis Core Headphones have the longer battery life (40 hours)."
    )
    assert text.startswith("The Zentro S7 Headphones are $127.99 with battery life 30 hours.")


def test_off_topic_is_redirected_without_generating(make_assistant):
    a = make_assistant()
    events = list(a.stream(dialogue("What's the capital of France?")))
    assert a.engine.calls == [] and events[0] == events[-1].text
    assert events[-1].text.startswith("Sorry, I can only help with shopping") and events[-1].products == []


def test_the_catalog_answers_pass_the_grounding_check(tiny_catalog):
    """What the check writes must survive the same check ("costs $29.01 less" is a difference, not a price)."""
    asks = [Ask("compare", ["a1", "a2"]), Ask("compare", ["a3", "a4"], "material", wording="which is warmer?")]
    asks += [Ask("attribute", [pid], name) for pid in ("a1", "a2", "a3") for name in ("color", "material", "price")]
    asks += [Ask("attribute", ["a2"], "color", {"color": "red"}, yes_no=True)]
    for ask in asks:
        text = catalog_answer(ask, tiny_catalog)
        report = check_reply(text, tiny_catalog, category="apparel")
        assert report.ok and set(report.products) == set(ask.products), text
