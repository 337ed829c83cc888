"""Category routing: first signal picks the category, follow-ups stay, clear mentions switch.

Run: python -m pytest -q tests/assistant/test_router.py
"""

from __future__ import annotations

from assistant.needs import Vocabulary
from assistant.router import route

CATS = ["apparel", "shoes"]


def _user(*texts: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": t} for t in texts]


def test_routes_by_title_words_brands_and_synonyms(tiny_catalog):
    v = Vocabulary.from_catalog(tiny_catalog)
    assert route(_user("I want a rain jacket"), CATS, v, default="shoes") == "apparel"
    assert route(_user("looking for sneakers"), CATS, v, default="apparel") == "shoes"
    assert route(_user("some new clothes"), CATS, v, default="shoes") == "apparel"


def test_no_signal_gives_default(tiny_catalog):
    v = Vocabulary.from_catalog(tiny_catalog)
    assert route(_user("hello there"), CATS, v, default="shoes") == "shoes"
    assert route([], CATS, v, default=None) is None


def test_sticky_on_follow_up_and_switches_on_clear_mention(tiny_catalog):
    v = Vocabulary.from_catalog(tiny_catalog)
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
