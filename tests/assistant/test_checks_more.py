"""The checks that catch what slipped (issue #23, #26.16): invented brandless names, sizes, labelled values and
numbers with units, facts of free-text catalogs, a closing that confirms the named product, comparisons on any
attribute with units.

Run: python -m pytest -q tests/assistant/test_checks_more.py
"""

from __future__ import annotations

import pytest

from assistant.checks.answers import catalog_answer, compare_products, superlative, which_more
from assistant.checks.grounding import check_reply
from assistant.checks.quantities import order
from assistant.checks.repair import apply_grounding
from assistant.understanding.questions import Ask
from retrieval.catalog import Catalog, Product


@pytest.fixture(scope="module")
def shop() -> Catalog:
    """The shapes of the strict reader's misses: a size-L shirt, navy linen curtains, phones with storage and
    battery life in different units, shoes in US sizes, floor lamps, and a free-text toys category."""
    a = {"type": "shirt", "material": "linen", "color": "navy", "size": "L"}
    return Catalog(
        [
            Product("ap1", "Loomcraft Metro Shirt", "apparel", price=41.5, brand="Loomcraft", attributes=a),
            Product(
                "ap2",
                "Kestrel Coast Jacket",
                "apparel",
                price=89.0,
                brand="Kestrel",
                attributes={"type": "jacket", "material": "nylon", "color": "red", "size": "M"},
            ),
            Product(
                "ap3",
                "Kestrel Storm Jacket",
                "apparel",
                price=99.0,
                brand="Kestrel",
                attributes={"type": "jacket", "material": "polyester", "color": "black", "size": "XL"},
            ),
            Product(
                "h1",
                "Hearthline Haven Curtains",
                "home",
                price=59.0,
                brand="Hearthline",
                attributes={"type": "curtains", "material": "linen", "color": "navy"},
            ),
            Product(
                "h2",
                "Brightloft Dune Floor Lamp",
                "home",
                price=120.0,
                brand="Brightloft",
                attributes={"type": "floor lamp", "material": "brass", "color": "white"},
            ),
            Product(
                "h3",
                "Casa Verde Arc Floor Lamp",
                "home",
                price=140.0,
                brand="Casa Verde",
                attributes={"type": "floor lamp", "material": "metal", "color": "black"},
            ),
            Product(
                "e1",
                "Orbis Neo Smartphone",
                "electronics",
                price=619.99,
                brand="Orbis",
                rating=4.1,
                attributes={"type": "smartphone", "storage": "512 GB", "battery life": "20 hours", "weight": "190 g"},
            ),
            Product(
                "e2",
                "Zentro Mini Smartphone",
                "electronics",
                price=549.0,
                brand="Zentro",
                rating=4.6,
                attributes={"type": "smartphone", "storage": "1 TB", "battery life": "2 days", "weight": "0.17 kg"},
            ),
            Product(
                "e3",
                "Lumora Core Smartphone",
                "electronics",
                price=499.0,
                brand="Lumora",
                rating=3.9,
                attributes={"type": "smartphone", "storage": "128 GB", "battery life": "18 hours", "weight": "210 g"},
            ),
            Product(
                "sh1",
                "Stridewell Pulse Running Shoes",
                "shoes",
                price=120.0,
                brand="Stridewell",
                attributes={"type": "running shoes", "size": "US 10", "color": "blue"},
            ),
            Product(
                "sh2",
                "Stridewell Glide Sneakers",
                "shoes",
                price=90.0,
                brand="Stridewell",
                attributes={"type": "sneakers", "size": "US 8", "color": "white"},
            ),
            Product(
                "t1",
                "Woodstock- Collage 500 pc Puzzle",
                "toys",
                price=17.49,
                description="A colourful collage jigsaw. Finished size 18 x 24 inches. For ages 8 and up.",
            ),
            Product(
                "t2",
                "Learning Resources Serve It Up! Play Restaurant, Pretend Restaurant Set, 35 Pieces, Ages 3+",
                "toys",
                price=23.74,
                description="Pretend play set with a menu and play food. Battery-free.",
            ),
        ]
    )


def _wrong(r) -> list[tuple[str, str, str]]:
    return [(m.product_id, m.field, m.stated) for m in r.wrong]


# ---- every attribute value, size, unit and number stated about a product is checked --------------------------


def test_a_size_the_shirt_does_not_have_is_wrong_and_repaired(shop):
    text = "I'd recommend this one: Loomcraft Metro Shirt — $41.50. It features color navy and size XL."
    r = check_reply(text, shop, "apparel", shown=["ap1"])
    assert _wrong(r) == [("ap1", "size", "XL")]
    fixed, _, _ = apply_grounding(text, r, shop)
    assert fixed.endswith("It features color navy and size L.")
    assert check_reply("The Loomcraft Metro Shirt comes in size L.", shop, "apparel").wrong == []


def test_a_value_of_another_attribute_said_with_a_label_is_wrong(shop):
    text = "The Hearthline Haven Curtains have a navy material and a navy color."
    r = check_reply(text, shop, "home")
    assert _wrong(r) == [("h1", "material", "navy")]
    fixed, _, corrections = apply_grounding(text, r, shop)
    assert fixed == "The Hearthline Haven Curtains have a linen material and a navy color."
    r = check_reply("The Hearthline Haven Curtains' material is navy.", shop, "home")
    assert _wrong(r) == [("h1", "material", "navy")]


def test_a_number_with_a_unit_is_checked_against_the_attribute_of_its_dimension(shop):
    text = "The Orbis Neo Smartphone has 456 GB of storage and a 20-hour battery."
    r = check_reply(text, shop, "electronics")
    assert _wrong(r) == [("e1", "storage", "456")]
    assert [m.ok for m in r.mentions if m.field == "battery life"] == [True]
    fixed, _, _ = apply_grounding(text, r, shop)
    assert fixed == "The Orbis Neo Smartphone has 512 GB of storage and a 20-hour battery."
    r = check_reply("The Zentro Mini Smartphone has 1000 GB of storage and lasts 48 hours.", shop, "electronics")
    assert r.wrong == [] and len(r.mentions) == 2  # 1 TB is 1000 GB, 2 days are 48 hours
    r = check_reply("The Zentro Mini Smartphone lasts 20 hours.", shop, "electronics")
    assert _wrong(r) == [("e2", "battery life", "20 hours")]
    assert apply_grounding("The Zentro Mini Smartphone lasts 20 hours.", r, shop)[0].endswith("lasts 2 days.")


def test_shoe_sizes_are_compared_by_number(shop):
    assert _wrong(check_reply("The Stridewell Pulse Running Shoes come in size 9.", shop, "shoes")) == [
        ("sh1", "size", "9")
    ]
    assert check_reply("The Stridewell Pulse Running Shoes come in size 10.", shop, "shoes").wrong == []


@pytest.mark.parametrize(
    "text",
    [
        "Since you wear size XL, the Loomcraft Metro Shirt in size L may run small.",
        "The Orbis Neo Smartphone charges in 2 hours and is lighter than phones with 40 hours of battery.",
        "The Orbis Neo Smartphone has up to 30 hours of battery if you need more than 512 GB.",
        "The Loomcraft Metro Shirt is not size XL.",
        "Your navy color choice fits the Hearthline Haven Curtains.",
    ],
)
def test_needs_bounds_contrasts_and_events_are_not_claims(shop, text):
    category = next(p.category for p in shop if p.title.split()[0] in text)
    assert check_reply(text, shop, category).wrong == []


# ---- checks that work on a free-text catalog -------------------------------------------------------------------


def test_numbers_in_a_free_text_title_or_description_are_checked(shop):
    text = "The Woodstock Collage Puzzle has 1000 pieces and is great for ages 3+."
    r = check_reply(text, shop, "toys")
    assert _wrong(r) == [("t1", "description", "1000"), ("t1", "description", "ages 3+")]
    fixed, _, corrections = apply_grounding(text, r, shop)
    assert "has 500 pieces" in fixed and "1000" not in fixed and "3+" not in fixed and "ages 8" in fixed
    r = check_reply("The Woodstock Collage Puzzle has 500 pieces, 18 x 24 inches, for ages 8+.", shop, "toys")
    assert r.wrong == [] and len(r.mentions) >= 2
    r = check_reply("The Serve It Up Play Restaurant set has 35 pieces, for kids 3 and up.", shop, "toys")
    assert r.wrong == []
    # nothing of that dimension in the product's text: not checked
    assert check_reply("The Serve It Up Play Restaurant weighs 2 kg.", shop, "toys").mentions == []


# ---- every product a reply names exists ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, category, name",
    [
        (
            "The alert jacket is a luxury item, created by a team of designers in London.",
            "apparel",
            "alert jacket",
        ),
        ("I'd suggest the Aroma and White floor lamp, $150.00.", "home", "Aroma and White floor lamp"),
        ("Our Cloudline floor lamp is a bestseller.", "home", "Cloudline floor lamp"),
    ],
)
def test_brandless_and_lower_case_invented_names_are_unknown(shop, text, category, name):
    r = check_reply(text, shop, category)
    assert r.unknown == [name] and r.products == []
    fixed, ids, corrections = apply_grounding(text, r, shop)
    assert name not in fixed and ids == [] and any(name in c for c in corrections)


@pytest.mark.parametrize(
    "text",
    [
        "The jacket is warm. A jacket like this one is great, and the first one is cheaper.",
        "The red jacket and the black jacket are both Kestrel.",
        "The Kestrel Coast Jacket is $89.00; the Coast jacket is nylon.",
        "The Storm jacket is black.",
        "The perfect lightweight jacket for rain is the Kestrel Coast Jacket.",
        "Both jackets are warm; the other jacket is cheaper.",
        "The Kestral Coast jacket is red.",
    ],
)
def test_generic_references_and_partial_names_are_not_unknown(shop, text):
    r = check_reply(text, shop, "apparel", shown=["ap2", "ap3"])
    assert r.unknown == [], r.unknown


def test_an_invented_title_after_a_recommendation_is_unknown_even_from_catalog_words():
    books = Catalog(
        [
            Product("b1", "The Silent Patient", "books", price=10.5, description="A thriller of silent shadows."),
            Product("b2", "Verity", "books", price=8.0, description="A dark thriller."),
        ]
    )
    r = check_reply("I recommend The Silent Shadows, a gripping thriller.", books, "books")
    assert r.unknown == ["The Silent Shadows"]
    assert check_reply("I recommend The Silent Patient, a gripping thriller.", books, "books").unknown == []


def test_an_invented_name_in_a_turn_is_dropped_before_the_shopper_sees_it(make_assistant):
    a = make_assistant(extra=" The Nimbus jacket is a luxury item created by designers in London. It is warm.")
    r = a.reply([{"role": "user", "content": "a red rain jacket"}])
    assert "Nimbus" not in r.text and "London" not in r.text and "It is warm" not in r.text
    assert r.text.startswith("I recommend the Trailblazer Rain Jacket")


# ---- a closing confirms the product the shopper named ----------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "the Merino Crew Sweater sounds good, I'll take it",
        "ok I'll go with the Merino Crew Sweater",
        "Great, thanks, I'll buy the Merino Crew Sweater",
    ],
)
def test_a_choice_is_confirmed_with_the_named_product(make_assistant, message):
    a = make_assistant(script="Great choice! The Trailblazer Rain Jacket is $49.99. Enjoy!")
    shown = "I recommend the Trailblazer Rain Jacket ($49.99) and the Merino Crew Sweater ($79.00)."
    history = [
        {"role": "user", "content": "a jacket or sweater please"},
        {"role": "assistant", "content": shown},
        {"role": "user", "content": message},
    ]
    r = a.reply(history)
    assert "Merino Crew Sweater" in r.text and "$79.00" in r.text and "Trailblazer" not in r.text
    assert r.products == ["a2"] and any("confirm" in c for c in r.corrections)
    assert r.text.rstrip().endswith("Enjoy!")


def test_a_choice_the_reply_already_confirms_is_left_alone(make_assistant):
    a = make_assistant(script="Great choice! The Merino Crew Sweater is $79.00.")
    r = a.reply([{"role": "user", "content": "I'll take the Merino Crew Sweater"}])
    assert r.text == "Great choice! The Merino Crew Sweater is $79.00." and r.corrections == []


# ---- comparisons on any attribute with units ------------------------------------------------------------------


def test_quantities_order_across_units_and_sizes():
    assert order("20 hours", "2 days") == -1 and order("512 GB", "1 TB") == -1 and order("1 TB", "1000 GB") == 0
    assert order("XL", "L") == 1 and order("XS", "XXL") == -1 and order("US 9", "US 10") == -1
    assert order("190 g", "0.17 kg") == 1 and order("red", "blue") is None and order("2 days", "512 GB") is None


def test_which_more_compares_values_in_different_units(shop):
    orbis, zentro = shop.get("e1"), shop.get("e2")
    assert "Zentro Mini Smartphone has the longer battery life (2 days)" in which_more(
        orbis, zentro, "battery life", "which has the longer battery life?"
    )
    assert "Zentro Mini Smartphone has more storage (1 TB)" in which_more(
        orbis, zentro, "storage", "which one has more storage?"
    )
    shirt, jacket = shop.get("ap1"), shop.get("ap3")
    assert "Kestrel Storm Jacket" in which_more(shirt, jacket, "size", "which one is bigger?")
    assert "Orbis" in which_more(zentro, orbis, "weight", "which is heavier?")


@pytest.mark.parametrize(
    "question, winner, words",
    [
        ("which is the cheapest?", "e3", "cheapest"),
        ("which one is the best rated?", "e2", "best rated"),
        ("which is the lightest?", "e2", "lightest"),
        ("which has the most storage?", "e2", "most storage"),
        ("which has the longest battery life?", "e2", "longest battery life"),
    ],
)
def test_superlatives_among_the_shown_products(shop, question, winner, words):
    products = [shop.get(i) for i in ("e1", "e2", "e3")]
    text = superlative(products, question)
    assert text.startswith(f"The {shop.get(winner).title}") and words in text


def test_a_comparison_answer_names_the_winner_on_the_asked_attribute(shop):
    ask = Ask("compare", ["e1", "e2"], "storage", wording="which one has more storage?")
    assert "The Zentro Mini Smartphone has more storage (1 TB)." in catalog_answer(ask, shop)
    assert "cheapest" in compare_products(shop.get("e1"), shop.get("e3"), None, "which is the cheapest?")
