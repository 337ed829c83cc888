"""Tests of catalog fact checking in assistant replies (`assistant.checks.grounding`), on a hand-made catalog.

Run: python -m pytest -q tests/assistant/test_grounding.py
"""

from __future__ import annotations

import pytest

from assistant.checks.grounding import Grounder, check_reply
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
    # a product-like name the catalog does not know (no catalog brand needed) is unknown, and makes the
    # sentence's facts unattributable
    r = check_reply("The Acme Trail Runner 39 beats the Samsung Galaxy Sprint, which is blue.", catalog, "shoes")
    assert r.mentions == [] and r.unknown == ["Samsung Galaxy Sprint"]


def test_product_of_another_category_is_named_and_checked(catalog):
    r = check_reply("The Zephyr Cloud Lamp costs $35.", catalog, "shoes")
    assert r.products == ["h1"] and [(m.field, m.ok) for m in r.mentions] == [("price", False)]


# ---- free text: short / partial titles, model numbers, prices next to their product, brandless catalogs --------


@pytest.fixture(scope="module")
def brandless() -> Catalog:
    """No `brand` anywhere: books with short titles, phones whose titles start with the maker."""
    return Catalog(
        [
            Product("b1", "1922", "books", price=9.99),
            Product("b2", "Regretting You", "books", price=12.0),
            Product("b3", "The Silent Patient", "books", price=10.5),
            Product("b4", "Verity", "books", price=8.0),
            Product("p1", "Samsung Galaxy S20 FE 5G, 128GB, Cloud Navy", "phones", price=599.0),
            Product("p2", "Samsung Galaxy S21 Ultra 5G", "phones", price=799.0),
            Product("p3", "Google Pixel 7a", "phones", price=499.0),
            Product("p4", "Apple iPhone 13 mini", "phones", price=699.0),
        ]
    )


def test_short_titles_and_bare_years(brandless):
    g = Grounder(brandless)
    assert g.check("Have you read 1922? It's a chilling novella.", "books").products == ["b1"]
    assert g.check("I loved Regretting You, it is moving.", "books").products == ["b2"]
    assert g.check("In 1922 the war had ended, by 1922-23 it was over.", "books").products == []


def test_partial_titles_and_model_numbers(brandless):
    g = Grounder(brandless)
    assert g.check("The Galaxy S20 is a great choice.", "phones").products == ["p1"]
    assert g.check("Get the S20 FE.", "phones").products == ["p1"]
    assert g.check("The Pixel 7a is cheap.", "phones").products == ["p3"]
    # a partial title that goes on with a word no title has is another product, not ours
    r = g.check("The Galaxy S20 Plus is big.", "phones")
    assert r.products == [] and r.unknown == ["The Galaxy S20 Plus"]
    # ambiguous partials ("Galaxy 5G" is in two titles) name nothing
    assert g.check("Any Galaxy 5G phone works.", "phones").products == []


def test_price_is_pinned_to_the_product_next_to_it(brandless):
    g = Grounder(brandless)
    for text in (
        "The Galaxy S20 FE costs $599, while for $799 you get the Galaxy S21 Ultra.",
        "At $799, the Galaxy S21 Ultra beats the Galaxy S20 FE at $599.",
        "Compared with the Galaxy S20 FE ($599), the Galaxy S21 Ultra costs $799.",
        "The Galaxy S21 Ultra is $799 and the Galaxy S20 FE is $599.",
    ):
        r = g.check(text, "phones")
        assert sorted((m.product_id, m.stated) for m in r.mentions) == [("p1", "$599"), ("p2", "$799")], text
        assert all(m.ok for m in r.mentions), text
    # a price in a clause naming neither product is not pinned to a guess
    r = g.check("The Pixel 7a beats the iPhone 13 mini, and it costs $499.", "phones")
    assert r.mentions == [] and r.unattributed == ["$499"]


def test_unknown_product_names_without_any_brand_field(brandless):
    g = Grounder(brandless)
    r = g.check("You might enjoy The Midnight Library by Matt Haig, or try the Casa Verde Dune Rug.", "books")
    assert r.unknown == ["The Midnight Library", "Casa Verde Dune Rug"]
    r = g.check("You could also try the Sony WH-1000XM4 or the OnePlus Nord N20.", "phones")
    assert r.unknown == ["Sony WH-1000XM4", "OnePlus Nord N20"]
    # ordinary capitalised words, headings, standards and catalog products are not unknown products
    text = (
        "Great Choice! Key Features: Bluetooth 5.0 and Windows 11 support. Happy Shopping! The Silent Patient it is."
    )
    r = g.check(text, "books")
    assert r.unknown == [] and r.products == ["b3"]


def test_names_do_not_run_over_line_breaks(brandless):
    """A numbered list ("... Nike Adrena\n2. Adrena\n3.") is not a product "Adrena 3"; what is flagged is dropped by
    repair, which works per line."""
    r = Grounder(brandless).check("Try these:\n1. Nike Adrena\n2. Adrena\n3. Nike", "phones")
    assert r.unknown == []


def test_a_t_shirt_is_not_the_shirt_of_the_same_name():
    """A lone letter is dropped from names, so "T-Shirt" is kept whole: the Atlas T-Shirt is not the Atlas Shirt."""
    cat = Catalog(
        [
            Product("t", "Kestrel Atlas T-Shirt", "apparel", price=20.0, attributes={"occasion": "workout"}),
            Product("s", "Kestrel Atlas Shirt", "apparel", price=40.0, attributes={"occasion": "casual"}),
        ]
    )
    r = check_reply("The Kestrel Atlas T-Shirt has occasion casual.", cat, category="apparel")
    assert r.products == ["t"] and [m.stated for m in r.wrong] == ["casual"]
    assert check_reply("The Kestrel Atlas Shirt is $40.", cat, category="apparel").products == ["s"]
