"""Category routing: first signal picks the category, follow-ups stay, clear mentions switch.

Run: python -m pytest -q tests/assistant/test_router.py
"""

from __future__ import annotations

from assistant.understanding.needs import Vocabulary
from assistant.understanding.router import route
from assistant.understanding.vocabulary import ShopVocabulary, derive_vocabulary

CATS = ["apparel", "shoes"]


def _user(*texts: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": t} for t in texts]


def test_routes_by_title_words_brands_and_synonyms(tiny_catalog):
    shop = ShopVocabulary({"apparel": ["apparel", "clothes"]})  # a shop's vocabulary.json adds its own words
    v = Vocabulary.from_catalog(tiny_catalog, shop=shop)
    assert route(_user("I want a rain jacket"), CATS, v, default="shoes") == "apparel"
    assert route(_user("looking for sneakers"), CATS, v, default="apparel") == "shoes"
    assert route(_user("some new clothes"), CATS, v, default="shoes") == "apparel"
    assert route(_user("some new clothes"), CATS, Vocabulary.from_catalog(tiny_catalog), default="shoes") == "shoes"


def test_unseen_categories_route_by_their_derived_vocabulary():
    """No code knows these categories: their names, title words and attribute values route them."""
    from retrieval.catalog import Catalog, Product

    cat = Catalog(
        [Product("c1", "Alpha X100 Mirrorless Camera", "digital_camera", attributes={"sensor": "full-frame"}),
         Product("c2", "Beta Zoom Compact Camera", "digital_camera", attributes={"sensor": "APS-C"}),
         Product("r1", "Gel Trail Runner 3", "running_shoes", attributes={"terrain": "trail"}),
         Product("r2", "Road Glide 9", "running_shoes", attributes={"terrain": "road"})]
    )  # fmt: skip
    shop = derive_vocabulary(cat)
    assert shop.synonyms["digital_camera"] == ["digital camera", "digital cameras", "camera", "cameras"]
    assert shop.attributes["digital_camera"]["sensor"]["synonyms"] == {"full frame": "full-frame", "aps c": "APS-C"}
    v = Vocabulary.from_catalog(cat, shop=shop)
    cats = ["digital_camera", "running_shoes"]
    assert route(_user("I need new running shoes"), cats, v) == "running_shoes"
    assert route(_user("a camera for travel"), cats, v) == "digital_camera"
    from assistant.understanding.needs import needs_from_dialogue

    assert needs_from_dialogue(_user("a full frame camera"), v).attributes == {"sensor": "full-frame"}


def test_no_signal_gives_default(tiny_catalog):
    v = Vocabulary.from_catalog(tiny_catalog)
    assert route(_user("hello there"), CATS, v, default="shoes") == "shoes"
    assert route([], CATS, v, default=None) is None


def test_sticky_on_follow_up_and_switches_on_clear_mention(tiny_catalog, tiny_shop):
    v = Vocabulary.from_catalog(tiny_catalog, shop=tiny_shop)
    msgs = _user("hiking boots please", "is it waterproof?", "what about the red one?")
    assert route(msgs, CATS, v, default="apparel") == "shoes"
    assert route(msgs + _user("ok, now I need clothes: a sweater"), CATS, v, default="shoes") == "apparel"


def test_assistant_messages_are_ignored(tiny_catalog):
    v = Vocabulary.from_catalog(tiny_catalog)
    msgs = [
        {"role": "user", "content": "a rain jacket"},
        {"role": "assistant", "content": "Or maybe boots and sneakers?"},
    ]
    assert route(msgs, CATS, v, default="shoes") == "apparel"


def test_without_vocabulary_category_names_only():
    assert route(_user("show me shoes"), CATS, None, default="apparel") == "shoes"
    assert route(_user("a jacket"), CATS, None, default="apparel") == "apparel"


def test_a_kind_of_product_outweighs_a_title_word():
    """ "a smartwatch for running": "running" is a shoes title word, but a smartwatch is a kind of product only
    electronics sells (a value of its `type`)."""
    from retrieval.catalog import Catalog, Product

    shoes = [
        Product(f"s{i}", f"Stride {n} Running Shoes", "shoes", attributes={"type": "running shoes"})
        for i, n in enumerate(["Tempo", "Swift", "Arc"])
    ]
    watches = [
        Product("w", "Auralis Max Smartwatch", "electronics", attributes={"type": "smartwatch"}),
        Product("h", "Auralis Core Headphones", "electronics", attributes={"type": "headphones"}),
        Product("t", "Orbis Lite Tablet", "electronics", attributes={"type": "tablet"}),
    ]
    v = Vocabulary.from_catalog(Catalog(shoes + watches))
    assert route(_user("need a smartwatch for running"), ["electronics", "shoes"], v) == "electronics"
    assert route(_user("running shoes please"), ["electronics", "shoes"], v) == "shoes"
