"""Tests of catalog fact checking in assistant replies (`assistant.grounding`), on a hand-made catalog.

Run: python -m pytest -q tests/assistant/test_grounding.py
"""

from __future__ import annotations

import pytest

from assistant.grounding import Grounder, check_reply
from retrieval.catalog import Catalog, Product


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(
        [
            Product(
                "s1",
                "Acme Trail Runner 39",
                "shoes",
                price=49.99,
                currency="USD",
                brand="Acme",
                attributes={"color": "red", "material": "mesh"},
            ),
            Product(
                "s2",
                "Acme Trail Runner 40",
                "shoes",
                price=59.0,
                brand="Acme",
                attributes={"color": "blue", "material": "leather"},
            ),
            Product(
                "s3",
                "Zephyr Cloud Walker",
                "shoes",
                price=89.5,
                brand="Zephyr",
                attributes={"color": "black", "material": "leather"},
            ),
            Product(
                "B07XYZ1234",
                "ASICS Men's Gel-Kayano 29 Running Shoes, 10.5, Black/White",
                "shoes",
                price=120,
                brand="ASICS",
                attributes={"color": "black"},
            ),
            Product("h1", "Zephyr Cloud Lamp", "home", price=30, brand="Zephyr", attributes={"color": "white"}),
        ]
    )


def test_names_and_correct_facts(catalog):
    r = check_reply("I recommend the Acme Trail Runner 39 at $49.99. It comes in red mesh.", catalog, "shoes")
    assert r.products == ["s1"]
    assert [(m.field, m.ok) for m in r.mentions] == [("price", True), ("color", True), ("material", True)]
    assert r.grounding_rate == 1.0 and r.unknown == [] and r.ok


def test_wrong_price_is_flagged(catalog):
    r = check_reply("Try the Acme Trail Runner 40 for $49.99 - it is blue.", catalog, "shoes")
    assert r.products == ["s2"]
    wrong = r.wrong
    assert len(wrong) == 1 and wrong[0].field == "price" and wrong[0].actual == 59.0 and wrong[0].stated == "$49.99"
    assert r.grounding_rate == pytest.approx(0.5)


def test_price_forms_budgets_and_wrong_attribute(catalog):
    r = check_reply("The Zephyr Cloud Walker costs 89 dollars and is made of mesh.", catalog, "shoes")
    assert [(m.field, m.ok) for m in r.mentions] == [("price", True), ("material", False)]
    text = "Options under $100: Acme Trail Runner 39 – 49.99 USD, Zephyr Cloud Walker – $95."
    r = check_reply(text, catalog, "shoes")
    assert r.products == ["s1", "s3"]
    assert [(m.product_id, m.ok) for m in r.mentions] == [("s1", True), ("s3", False)]
    r = check_reply("What is your budget? Something between $50 and $80?", catalog, "shoes")
    assert r.mentions == [] and r.grounding_rate is None and r.products == []


def test_needs_before_a_name_are_not_checked(catalog):
    r = check_reply("Since you want leather, the Acme Trail Runner 39 is light.", catalog, "shoes")
    assert r.products == ["s1"] and r.mentions == []


def test_fuzzy_long_title_explicit_id_and_model_numbers(catalog):
    r = check_reply("Consider B07XYZ1234, about $119.", catalog, "shoes")
    assert r.products == ["B07XYZ1234"] and r.mentions[0].ok
    # a different model number is not the catalog product: it is an unknown product
    r = check_reply("You might like the Acme Skyhopper 9000 or the Acme Trail Runner 41.", catalog, "shoes")
    assert r.products == []
    assert r.unknown == ["Acme Skyhopper 9000", "Acme Trail Runner 41"]
    # a shortened real title is not reported as unknown
    r = check_reply("The ASICS Gel-Kayano 29 is a classic.", catalog, "shoes")
    assert r.unknown == []


def test_shown_products_preferred_and_category_scope(catalog):
    g = Grounder(catalog)
    # "Zephyr Cloud" alone is ambiguous between the walker and the lamp; category decides
    assert g.check("the Zephyr Cloud Walker", "shoes").products == ["s3"]
    assert g.check("the Zephyr Cloud Lamp", "home").products == ["h1"]
    # "Acme Trail Runner" fits 39 and 40 equally: the shown one wins
    assert g.check("Look at the Acme Trail Runner.", "shoes", shown=["s2"]).products == ["s2"]
    assert g.check("Look at the Acme Trail Runner.", "shoes", shown=["s1"]).products == ["s1"]


def test_generic_capitalised_words_are_not_unknown_products(catalog):
    r = check_reply("Acme Running Shoes are great. Hello There, Welcome To The Shop!", catalog, "shoes")
    assert r.unknown == []


def test_contrasts_needs_and_shortened_titles(catalog):
    # "than leather" compares, "prefer leather" is the shopper's need: neither is a claim about p1
    r = check_reply("The Acme Trail Runner 39 is red mesh, lighter than leather ones you prefer.", catalog, "shoes")
    assert [(m.field, m.stated, m.ok) for m in r.mentions] == [("color", "red", True), ("material", "mesh", True)]
    # a negated value is a negative claim: right when the product's value differs
    r = check_reply("No, the Zephyr Cloud Walker is not mesh.", catalog, "shoes")
    assert [(m.stated, m.ok) for m in r.mentions] == [("not mesh", True)]
    text = "The Zephyr Cloud Walker isn't leather."
    m = check_reply(text, catalog, "shoes").mentions[0]
    assert (m.stated, m.ok) == ("isn't leather", False) and text[m.start : m.end] == m.stated
    # a brand-led shortened title that only one product holds names that product
    r = check_reply("The ASICS Kayano 29 costs $120.", catalog, "shoes")
    assert r.products == ["B07XYZ1234"] and r.mentions[0].ok and r.unknown == []


def test_attribution_across_sentences_and_foreign_names(catalog):
    # a sentence naming no product continues the one product named just before
    r = check_reply("Acme Trail Runner 39 at $49.99. Highlights: color blue.", catalog, "shoes")
    assert [(m.field, m.stated, m.ok) for m in r.mentions] == [("price", "$49.99", True), ("color", "blue", False)]
    # ... but not when that sentence named two products
    r = check_reply("Acme Trail Runner 39 or Zephyr Cloud Walker? Highlights: color blue.", catalog, "shoes")
    assert r.mentions == []
    # a capitalised name the catalog does not know makes the sentence's facts unattributable
    r = check_reply("The Acme Trail Runner 39 beats the Samsung Galaxy Sprint, which is blue.", catalog, "shoes")
    assert r.mentions == [] and r.unknown == []


def test_product_of_another_category_is_named_and_checked(catalog):
    r = check_reply("The Zephyr Cloud Lamp costs $35.", catalog, "shoes")
    assert r.products == ["h1"] and [(m.field, m.ok) for m in r.mentions] == [("price", False)]
