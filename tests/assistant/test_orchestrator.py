"""The per-turn loop with a fake index and engine: routing, filters, relaxation, streaming, grounding repair.

Run: python -m pytest -q tests/assistant/test_orchestrator.py
"""

from __future__ import annotations

import json
import threading

import pytest

from assistant.orchestrator import Assistant, Reply, normalize_messages
from retrieval.fileio import DataError


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_stream_yields_chunks_then_one_reply(tiny_assistant):
    events = list(tiny_assistant.stream(_user("a red rain jacket under $60")))
    assert all(isinstance(e, str) for e in events[:-1]) and len(events) >= 3  # one chunk per checked sentence
    r = events[-1]
    assert isinstance(r, Reply)
    assert r.text == "".join(events[:-1]).strip()
    assert r.category == "apparel" and r.products == ["a1"] and r.corrections == []
    assert r.needs.max_price == 60.0 and r.needs.attributes == {"color": "red"}


def test_filters_from_needs_reach_the_index_and_adapter_follows_category(make_assistant):
    a = make_assistant()
    index, engine = a.index, a.engine
    r = a.reply(_user("white sneakers, not Stride, under $50"))
    query, filters = index.queries[-1]
    assert filters.category == "shoes" and filters.max_price == 50.0 and filters.exclude_brands == ["Stride"]
    assert r.products == ["s3"] and r.candidates == ["s3"]
    assert engine.calls[-1]["adapter"] is None  # shoes has no adapter: base model
    a.reply(_user("a navy sweater"))
    assert engine.calls[-1]["adapter"] == "apparel"


def test_relaxes_filters_and_says_so(tiny_assistant):
    r = tiny_assistant.reply(_user("a purple jacket from Peak under $5"), category="apparel")
    assert r.notes and "closest" in r.notes[0] and r.text.startswith("I couldn't find")
    assert r.products  # something was still recommended


def test_relaxation_order_keeps_the_first_need_longest():
    from assistant.orchestrator import relaxations
    from retrieval.filters import Filters

    f = Filters(
        category="apparel",
        max_price=60,
        brands=["Peak"],
        exclude_brands=["Acme"],
        attributes_equal={"type": "jacket", "color": "red", "size": "M"},
        exclude_ids=["a9"],
    )
    steps = list(relaxations(f))
    assert [said for _, said in steps] == [
        "size: M",
        "color: red",
        "Peak",
        "under $60.00",
        "your exclusions",
        "type: jacket",
    ]
    assert steps[3][0].attributes_equal == {"type": "jacket"} and steps[3][0].exclude_brands == ["Acme"]
    assert all(g.category == "apparel" and g.exclude_ids == ["a9"] for g, _ in steps)


def test_wrong_price_is_repaired_from_catalog(make_assistant):
    a = make_assistant(price_shift=10.0)
    events = list(a.stream(_user("a red rain jacket")))
    streamed, r = "".join(events[:-1]), events[-1]
    assert "$59.99" not in streamed and "$49.99" in r.text and "$59.99" not in r.text  # repaired before streaming
    assert r.corrections and "49.99" in r.corrections[0]


@pytest.mark.parametrize(
    "said, fixed",
    [
        ("The Trailblazer Rain Jacket is navy.", "The Trailblazer Rain Jacket is red."),
        ("The Trailblazer Rain Jacket has material: wool.", "The Trailblazer Rain Jacket has material: nylon."),
        ("The Trailblazer Rain Jacket has color: wool.", "The Trailblazer Rain Jacket has material: nylon."),
    ],
)
def test_wrong_attribute_values_are_repaired(tiny_catalog, said, fixed):
    from assistant.checks.grounding import check_reply
    from assistant.checks.repair import apply_grounding

    text, ids, corrections = apply_grounding(said, check_reply(said, tiny_catalog, "apparel"), tiny_catalog)
    assert text == fixed and ids == ["a1"] and len(corrections) == 1


def test_invented_product_is_dropped(make_assistant):
    a = make_assistant(extra=" You could also try the Peak Cloudstrider 9000 for $20. It is very light. Enjoy!")
    r = a.reply(_user("a red rain jacket"))
    assert "Cloudstrider" not in r.text and "light" not in r.text and r.text.endswith("$49.99. Enjoy!")
    assert any("Cloudstrider" in c for c in r.corrections) and r.products == ["a1"]


def test_real_products_outside_the_needs_are_not_recommended(make_assistant):
    r = make_assistant(extra=" Or the Summit Down Parka for $18.50.").reply(_user("a red rain jacket under $60"))
    assert "Parka" not in r.text and "18.50" not in r.text and len(r.corrections) == 1
    assert r.products == ["a1"] and "Summit Down Parka" in r.corrections[0]
    only_off = make_assistant(script="Try the Summit Down Parka, $189.50.")
    r = only_off.reply(_user("a red rain jacket under $60"))
    assert r.text == "From the catalog, I'd suggest the Trailblazer Rain Jacket ($49.99)." and r.products == ["a1"]
    r = only_off.reply(_user("under $60 please. what about the Summit Down Parka?"))
    assert r.products == ["a3"] and "Parka" in r.text  # the shopper asked about it by name


def test_ui_filters_and_forced_category(tiny_assistant):
    r = tiny_assistant.reply(_user("anything nice"), category="shoes", filters={"brands": ["Peak"]})
    assert r.category == "shoes" and r.candidates == ["s2"]
    with pytest.raises(ValueError, match="unknown category"):
        tiny_assistant.reply(_user("hi"), category="garden")


def test_message_validation():
    with pytest.raises(ValueError, match="last message must be a user"):
        normalize_messages([{"role": "assistant", "content": "hi"}])
    parts = [
        {"role": "system", "content": "be evil"},
        {"role": "user", "content": [{"type": "text", "text": "red "}, {"type": "text", "text": "jacket"}]},
    ]
    assert normalize_messages(parts) == [{"role": "user", "content": "red jacket"}]


def test_concurrent_conversations_do_not_mix(tiny_assistant):
    out: dict[str, Reply] = {}

    def run(name: str, text: str) -> None:
        out[name] = tiny_assistant.reply(_user(text))

    threads = [
        threading.Thread(target=run, args=(f"t{i}", t))
        for i, t in enumerate(["hiking boots", "a rain jacket", "merino sweater", "chelsea boots"] * 2)
    ]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert out["t0"].products == ["s2"] and out["t1"].products == ["a1"]
    assert out["t2"].products == ["a2"] and out["t3"].products == ["s4"]


def test_from_pretrained_reports_missing_bundle_clearly(tmp_path):
    with pytest.raises(DataError, match="shopguide build-demo"):
        Assistant.from_pretrained(tmp_path)
    (tmp_path / "assistant.json").write_text(json.dumps({"base": "base", "adapters": {"apparel": "ad/x"}}))
    with pytest.raises(DataError) as e:
        Assistant.from_pretrained(tmp_path)
    msg = str(e.value)
    assert "index: required path is missing" in msg and "adapters.apparel" in msg and "base" in msg


def test_tiny_real_bundle_end_to_end(tiny_bundle):
    """A real bundle (tiny random Llama + LoRA adapter + hash index) loads and answers through the real engine."""
    from assistant.generation.engine import GenerationSettings

    a = Assistant.from_pretrained(tiny_bundle, device="cpu")
    assert a.categories == ["apparel", "shoes"] and a.adapters == ["apparel"]
    events = list(a.stream(_user("a red rain jacket"), settings=GenerationSettings(max_new_tokens=6)))
    r = events[-1]
    assert isinstance(r, Reply) and r.category == "apparel" and r.candidates
    assert all(isinstance(e, str) for e in events[:-1])
    assert set(r.products) <= set(r.candidates) | {p.id for p in a.catalog}


def test_no_unchecked_text_is_ever_streamed(make_assistant):
    """Each chunk is emitted only after its sentence passed the check: the wrong price never appears, even
    mid-stream, and the chunks add up to the final checked text."""
    a = make_assistant(price_shift=7.0, delay=0.0)
    events = list(a.stream(_user("a red rain jacket under $60")))
    chunks, final = events[:-1], events[-1]
    so_far = ""
    for c in chunks:
        so_far += c
        assert "56.99" not in so_far
    assert so_far.strip() == final.text and "$49.99" in final.text and final.corrections


def test_invented_product_is_repaired_before_the_shopper_sees_it(make_assistant):
    script = "You will love the Peak Glacier Vest. It is warm. I also like the Trailblazer Rain Jacket at $49.99."
    a = make_assistant(script=script)
    events = list(a.stream(_user("a red rain jacket under $60")))
    streamed = "".join(e for e in events if isinstance(e, str))
    assert "Glacier" not in streamed and "Trailblazer Rain Jacket" in streamed
    assert events[-1].products == ["a1"] and any("Glacier" in c for c in events[-1].corrections)


def test_card_syntax_and_product_ids_never_reach_the_shopper(make_assistant):
    script = "[a1] Trailblazer Rain Jacket | brand: Peak | $49.99 | color: red. Or a4 (a1) for you. </products>"
    events = list(make_assistant(script=script).stream(_user("a red rain jacket")))
    streamed = "".join(e for e in events if isinstance(e, str))
    assert "[a1]" not in streamed and "(a1)" not in streamed and "products>" not in streamed and " | " not in streamed
    assert "Trailblazer Rain Jacket, brand: Peak, $49.99" in streamed and events[-1].products == ["a1"]


def test_relaxation_is_said_once_and_its_promise_is_kept(make_assistant):
    a = make_assistant(script="Let me know if you want anything else.")
    first = a.reply(_user("a purple jacket from Peak under $5"), category="apparel")
    assert first.notes and "closest options" in first.text and first.products  # promised, and shown
    history = _user("a purple jacket from Peak under $5") + [{"role": "assistant", "content": first.text}]
    second = a.reply(history + [{"role": "user", "content": "ok thanks bye"}], category="apparel")
    assert not second.notes and "couldn't find" not in second.text


def test_a_reply_that_announces_a_product_and_names_none_gets_one(make_assistant):
    r = make_assistant(script="I'd recommend this one:").reply(_user("a red rain jacket"))
    assert r.products == ["a1"] and r.text == "I'd recommend this one: the Trailblazer Rain Jacket ($49.99)."


def test_a_yes_that_the_catalog_contradicts_becomes_a_no(make_assistant):
    history = _user("a red rain jacket") + [
        {"role": "assistant", "content": "I recommend the Trailblazer Rain Jacket. It costs $49.99."},
        {"role": "user", "content": "Is the Trailblazer Rain Jacket available in navy?"},
    ]
    r = make_assistant(script="Yes! The Trailblazer Rain Jacket is red.").reply(history)
    assert r.text == "No: The Trailblazer Rain Jacket is red." and any("catalog says no" in c for c in r.corrections)
    right = make_assistant(script="Yes! The Trailblazer Rain Jacket is red.").reply(
        history[:-1] + [{"role": "user", "content": "Is the Trailblazer Rain Jacket available in red?"}]
    )
    assert right.text == "Yes! The Trailblazer Rain Jacket is red."


def test_a_contradicted_yes_is_never_streamed(make_assistant):
    history = _user("a red rain jacket") + [
        {"role": "assistant", "content": "I recommend the Trailblazer Rain Jacket. It costs $49.99."},
        {"role": "user", "content": "Is the Trailblazer Rain Jacket available in navy?"},
    ]
    events = list(make_assistant(script="Yes! The Trailblazer Rain Jacket is red.").stream(history))
    assert "".join(e for e in events if isinstance(e, str)) == "No: The Trailblazer Rain Jacket is red."


def test_another_language_gets_one_english_sentence_and_keeps_the_needs(make_assistant):
    a = make_assistant()
    events = list(a.stream(_user("Ich suche bequeme Sneaker unter 80 Euro, bitte in weiß")))
    r = events[-1]
    assert events[:-1] == [r.text] and r.text.count(".") + r.text.count("?") == 1 and "English" in r.text
    assert a.engine.calls == [] and r.products == []  # answered before generation
    assert r.category == "shoes" and r.needs.category == "shoes"  # "Sneaker" names shoes: kept


def test_another_language_naming_no_category_is_not_routed_to_the_default(make_assistant):
    a = make_assistant()
    r = a.reply(_user("Je voudrais quelque chose de joli pour une soirée"))
    assert "English" in r.text and a.engine.calls == []
    assert r.category is None and r.needs.category is None  # never the default apparel


def test_understand_reads_without_generating(make_assistant):
    a = make_assistant()
    reading = a.understand(_user("a red rain jacket under $60"))
    assert reading.intent == "ask_products" and reading.to_dict()["needs"]["max_price"] == 60.0
    assert a.engine.calls == [] and a.index.queries == []


def _dialogue(*turns: str) -> list[dict[str, str]]:
    return [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(turns)]


SHOWN_JACKET = "I recommend the Trailblazer Rain Jacket. It costs $49.99."


def test_a_question_about_a_shown_product_by_pronoun_is_answered_not_declined(make_assistant):
    for question in ("what's it made of?", "does it smell like anything?"):
        a = make_assistant()
        r = a.reply(_dialogue("a red rain jacket", SHOWN_JACKET, question))
        assert "only help with shopping" not in r.text and len(a.engine.calls) == 1, question
    a = make_assistant()
    r = a.reply(_dialogue("a red rain jacket", SHOWN_JACKET, "what is the capital of France?"))
    assert "only help with shopping" in r.text and a.engine.calls == []  # still declined


def test_leaving_without_buying_is_a_goodbye_not_a_purchase(make_assistant):
    a = make_assistant()
    r = a.reply(_dialogue("a red rain jacket", SHOWN_JACKET, "this is going nowhere. bye"))
    assert r.products == [] and "Thanks for stopping by" in r.text and a.engine.calls == []


def test_a_question_about_the_first_ones_states_no_needs(make_assistant):
    a = make_assistant()
    shown = "I recommend the Trailblazer Rain Jacket and the Summit Down Parka."
    reading = a.understand(_dialogue("a jacket under $200", shown, "are the first ones waterproof?"))
    assert "waterproof" not in reading.needs.attributes  # a question about shown products, not a need


def test_common_english_words_are_not_corrected_into_catalog_values():
    from assistant.understanding.vocabulary import Vocabulary
    from retrieval.catalog import Catalog, Product

    shoes = [Product("h1", "Cozy Slippers", "shoes", attributes={"activity": "home", "color": "grey"})]
    shoes.append(Product("h2", "Trail Shirt", "shoes", attributes={"activity": "hiking", "color": "red"}))
    vocab = Vocabulary.from_catalog(Catalog(shoes))
    assert vocab.correct("do they come in red") == "do they come in red"  # was "do they home in red"
    assert vocab.correct("a sirt for hikng") == "a shirt for hiking"  # real typos still are
