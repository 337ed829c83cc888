"""The attribute-answer check: values, yes/no polarity, echoed questions."""

from assistant.evaluation.answers import answer_is_correct, polarity, value_in_reply

BEIGE = [{"field": "color", "value": "beige"}]


def test_values_prices_and_whole_words():
    assert value_in_reply(54.0, "price", "It costs $54.") and value_in_reply(54.0, "price", "only 54.00")
    assert not value_in_reply(54.0, "price", "It costs $45.")
    assert value_in_reply("red", "color", "It is Red.") and not value_in_reply("red", "color", "It is reddish.")


def test_wrong_polarity_is_wrong_even_when_the_value_is_stated():
    q = "do the shorts come in beige?"
    assert not answer_is_correct(q, "No, the shorts have color beige.", BEIGE, "Yes, they are beige.")
    assert answer_is_correct(q, "Yes, the shorts have color beige.", BEIGE, "Yes, they are beige.")


def test_echoing_the_question_earns_no_credit():
    q = "Can you confirm the hoodie is fleece?"
    facts = [{"field": "material", "value": "fleece"}]
    assert not answer_is_correct(q, "The hoodie has material fleece.", facts, "Yep, the listing says fleece.")
    assert answer_is_correct(q, "Yep, the hoodie is fleece.", facts, "Yep, the listing says fleece.")


def test_no_answers_need_the_true_value():
    q = "does the skirt have fit regular?"
    facts = [{"field": "fit", "value": "slim"}]
    ref = "I'm afraid not. The skirt has fit slim."
    assert answer_is_correct(q, "No, it has fit slim.", facts, ref)
    assert not answer_is_correct(q, "Yes, it has fit regular.", facts, ref)
    assert not answer_is_correct(q, "Yes, it is slim.", facts, ref)


def test_wh_questions_and_brand_questions_are_not_echoes():
    assert answer_is_correct(
        "who makes the Marlowe Aria Hoodie?",
        "Marlowe makes it.",
        [{"field": "brand", "value": "Marlowe"}],
        "Marlowe makes the Marlowe Aria Hoodie.",
    )
    assert answer_is_correct(
        "is it slim or loose?", "Its fit is slim.", [{"field": "fit", "value": "slim"}], "Its fit is slim."
    )
    assert polarity("Good question! It is red.") is None and polarity("I'm afraid not.") == "no"
