"""Hardening of the server and the chat page on the tiny fake-backed assistant: the token guards every route but
/health (page included, through a login), bad JSON, filters, message contents that are not text and knobs of the
wrong type or out of range get 400s in OpenAI's error shape naming the field, the page works for any catalog that
validates, feedback ids are unique under concurrent thumbs, chat text fetches no remote images, Gradio analytics
are off, and the secrets can come from the environment.

Run: python -m pytest -q tests/assistant/test_server_hardening.py
"""

from __future__ import annotations

import json
import threading

import pytest
from conftest import FakeEngine, FakeIndex, tiny_products
from fastapi.testclient import TestClient

from assistant.faces.server import add_server_args, build_api, build_app
from assistant.faces.webui import AUTO, show
from assistant.orchestrator import Assistant
from retrieval.catalog import Catalog, Product

# gradio's queue calls pandas options that pandas 3 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|The copy keyword):Warning")
USER = [{"role": "user", "content": "a red rain jacket"}]
AUTH = {"Authorization": "Bearer s3cret"}


def page_call(client: TestClient, data: list, headers: dict | None = None) -> list:
    """Run the page's `respond` through Gradio's HTTP API; returns the data of the `complete` event."""
    r = client.post("/gradio_api/call/respond", json={"data": data}, headers=headers or {})
    assert r.status_code == 200, r.text
    events = client.get(f"/gradio_api/call/respond/{r.json()['event_id']}", headers=headers or {}).text
    kinds = [line[7:] for line in events.splitlines() if line.startswith("event: ")]
    assert kinds[-1] == "complete", events[-500:]
    return json.loads(events.strip().splitlines()[-1][6:])


def slider_value(client: TestClient, headers: dict | None = None) -> float:
    config = client.get("/config", headers=headers or {}).json()
    return next(c["props"]["value"] for c in config["components"] if c.get("type") == "slider")


# --------------------------------------------------------------------------------------------- token
@pytest.fixture
def guarded(tiny_assistant, tmp_path):
    with TestClient(build_app(tiny_assistant, token="s3cret", feedback_path=tmp_path / "fb.jsonl")) as c:
        yield c


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/"),
        ("get", "/config"),
        ("get", "/openapi.json"),
        ("get", "/gradio_api/info"),
        ("post", "/gradio_api/upload"),
        ("post", "/gradio_api/call/respond"),
        ("post", "/gradio_api/queue/join"),
        ("get", "/v1/models"),
    ],
)
def test_with_a_token_every_route_but_health_needs_it(guarded, method, path):
    r = getattr(guarded, method)(path)
    assert r.status_code == 401, (path, r.status_code, r.text[:200])
    assert guarded.get("/health").status_code == 200


def test_the_page_without_token_shows_a_login_and_the_api_error_shape(guarded):
    r = guarded.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 401 and "<form" in r.text and 'name="token"' in r.text
    r = guarded.post("/gradio_api/call/respond", json={"data": []})
    assert r.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive_and_opens_the_page_api(guarded, scheme):
    headers = {"Authorization": f"{scheme} s3cret"}
    assert guarded.get("/v1/models", headers=headers).status_code == 200
    reply = page_call(guarded, ["a red rain jacket", [], AUTO, slider_value(guarded, headers), []], headers)
    assert "Trailblazer" in json.dumps(reply)
    assert guarded.get("/v1/models", headers={"Authorization": f"{scheme} wrong"}).status_code == 401


def test_token_login_sets_a_cookie_for_the_page(guarded):
    r = guarded.post("/token-login", data={"token": "wrong"}, follow_redirects=False)
    assert r.status_code == 401 and guarded.get("/config").status_code == 401
    r = guarded.post("/token-login", data={"token": "s3cret"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "s3cret" not in cookie
    assert guarded.get("/").status_code == 200 and guarded.get("/config").status_code == 200
    assert "Trailblazer" in json.dumps(page_call(guarded, ["a red rain jacket", [], AUTO, slider_value(guarded), []]))


def test_token_and_password_come_from_the_environment(monkeypatch):
    import argparse

    monkeypatch.setenv("SHOPGUIDE_TOKEN", "from-env")
    monkeypatch.setenv("SHOPGUIDE_AUTH", "alice:pw")
    args = add_server_args(argparse.ArgumentParser()).parse_args([])
    assert args.token == "from-env" and args.auth == "alice:pw"
    args = add_server_args(argparse.ArgumentParser()).parse_args(["--token", "flag"])
    assert args.token == "flag"
    assert "SHOPGUIDE_TOKEN" in add_server_args(argparse.ArgumentParser()).format_help()


# --------------------------------------------------------------------------------------------- bad requests
@pytest.fixture
def client(tiny_assistant):
    return TestClient(build_api(tiny_assistant), raise_server_exceptions=False)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"messages": [{"role": "user", "content": "hi"}], "top_p": NaN}',
        b'{"messages": [{"role": "user", "content": "hi"}], "temperature": Infinity}',
        b'{"messages": [{"role": "user", "content": "hi"}], "seed": ' + b"9" * 5000 + b"}",
        b"[" * 100_000,
        b'{"messages": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    ],
    ids=["top_p NaN", "temperature Infinity", "5000-digit integer", "[ x 100000", "messages nested 5000 deep"],
)
def test_hostile_json_gets_400_not_500(client, raw):
    r = client.post("/v1/chat/completions", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("seed", [10**30, -1, 1.5, "7"])
def test_a_seed_out_of_range_is_400(client, seed):
    r = client.post("/v1/chat/completions", json={"messages": USER, "seed": seed})
    assert r.status_code == 400 and r.json()["error"]["param"] == "seed"


@pytest.mark.parametrize("depth", [50, 900, 990])
def test_deep_but_parseable_content_is_never_500(client, depth):
    raw = b'{"messages": [{"role": "user", "content": ' + b"[" * depth + b"]" * depth + b"}]}"
    for stream in (b"false", b"true"):
        body = raw[:-1] + b', "stream": ' + stream + b"}"
        r = client.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (200, 400), r.text[:300]


@pytest.mark.parametrize(
    "params, param",
    [
        ({}, "q"),
        ({"q": "boots", "top_k": "many"}, "top_k"),
        ({"q": "boots", "min_price": "nan"}, "min_price"),
        ({"q": "boots", "max_price": "inf"}, "max_price"),
        ({"q": "boots", "min_price": 50, "max_price": 10}, "min_price"),
    ],
)
def test_search_errors_come_back_in_the_openai_shape(client, params, param):
    r = client.get("/v1/search", params=params)
    body = r.json()
    assert r.status_code == 400 and "detail" not in body and body["error"]["param"] == param, body


@pytest.mark.parametrize(
    "filters, words",
    [
        ({"colour": "red"}, "unknown filter 'colour'"),
        ({"max_price": "cheap"}, "max_price must be a number"),
        ({"brands": "Peak"}, "brands must be a list of strings"),
        ({"attributes_equal": ["red"]}, "attributes_equal must be an object"),
        ({"min_price": 9, "max_price": 1}, "is above"),
        ("cheap", "filters must be an object"),
    ],
)
def test_filter_errors_are_400_without_python_internals(client, filters, words):
    r = client.post("/v1/chat/completions", json={"messages": USER, "filters": filters})
    message = r.json()["error"]["message"]
    assert r.status_code == 400 and words in message, message
    assert "__init__" not in message and "keyword argument" not in message and "NoneType" not in message


@pytest.mark.parametrize(
    "content, param",
    [
        (None, "messages[0].content"),
        (7, "messages[0].content"),
        (True, "messages[0].content"),
        ({"text": "a red rain jacket"}, "messages[0].content"),
        ([{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}], "messages[0].content[0]"),
        ([{"type": "text", "text": 5}], "messages[0].content[0]"),
        (["a red rain jacket"], "messages[0].content[0]"),
    ],
    ids=["null", "number", "bool", "object", "image part", "text part of a number", "list of strings"],
)
def test_message_content_that_is_not_text_is_400_naming_the_field(client, content, param):
    for role in ("user", "assistant"):
        messages = [{"role": role, "content": content}] + ([] if role == "user" else USER)
        r = client.post("/v1/chat/completions", json={"messages": messages})
        error = r.json()["error"]
        assert r.status_code == 400 and error["type"] == "invalid_request_error", r.text
        assert error["param"] == param and param in error["message"], error


def test_message_content_as_text_parts_is_fine(client):
    parts = [{"type": "text", "text": "a red rain "}, {"type": "text", "text": "jacket"}]
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": parts}]})
    assert r.status_code == 200 and "Trailblazer" in r.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    "knob, value",
    [
        ("max_tokens", True),
        ("max_tokens", False),
        ("max_tokens", 2.0),
        ("max_tokens", "10"),
        ("max_completion_tokens", True),
        ("temperature", 2.5),
        ("temperature", -0.1),
        ("temperature", True),
        ("top_p", 1.5),
        ("top_p", -0.5),
        ("stream", "false"),
        ("stream", "true"),
        ("stream", 1),
        ("stream", 0),
    ],
)
def test_knobs_of_the_wrong_type_or_out_of_range_are_400_naming_them(client, knob, value):
    r = client.post("/v1/chat/completions", json={"messages": USER, knob: value})
    error = r.json()["error"]
    assert r.status_code == 400 and error["type"] == "invalid_request_error", r.text
    assert error["param"] == knob and knob in error["message"], error


@pytest.mark.parametrize(
    "knobs",
    [
        {"temperature": 0},
        {"temperature": 2},
        {"temperature": 0.7, "top_p": 1},
        {"top_p": 0},
        {"max_tokens": 1000},
        {"stream": None},
        {"stream": False},
    ],
)
def test_knobs_in_range_are_taken(client, knobs):
    r = client.post("/v1/chat/completions", json={"messages": USER, **knobs})
    assert r.status_code == 200 and r.json()["object"] == "chat.completion", r.text


def test_the_role_error_lists_exactly_the_accepted_roles(client):
    from assistant.faces.requests import ROLES

    r = client.post("/v1/chat/completions", json={"messages": [{"role": "wizard", "content": "hi"}]})
    message = r.json()["error"]["message"]
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].role"
    assert all(role in message for role in ROLES) and "wizard" in message, message
    for role in ROLES:  # each role the message names is accepted
        messages = [{"role": role, "content": "hi"}, *USER]
        assert client.post("/v1/chat/completions", json={"messages": messages}).status_code == 200, role


# --------------------------------------------------------------------------------------------- the page
@pytest.mark.parametrize("prices", [[0.0, 0.0], [None, None], [0.5, 1e12], [3.25, 189.5]])
def test_the_page_works_for_any_catalog_that_validates(tmp_path, prices):
    products = [
        Product(f"p{i}", f"Rain Jacket {i}", "apparel", price=price, brand="Peak") for i, price in enumerate(prices)
    ]
    assistant = Assistant(FakeIndex(Catalog(products)), FakeEngine(), default_category="apparel")
    with TestClient(build_app(assistant, feedback_path=tmp_path / "fb.jsonl")) as c:
        reply = page_call(c, ["a rain jacket", [], AUTO, slider_value(c), []])
    assert reply[0][-1]["role"] == "assistant" and "Rain Jacket" in reply[1]  # a reply and product cards


def test_concurrent_thumbs_give_unique_feedback_ids_and_a_loadable_file(tiny_assistant, tmp_path):
    import gradio as gr

    from assistant.dialogues import load_dialogues
    from assistant.faces.webui import build_ui

    path = tmp_path / "feedback.jsonl"
    ui = build_ui(tiny_assistant, feedback_path=path)
    feedback = next(f.fn for f in ui.fns.values() if f.fn is not None and f.fn.__name__ == "feedback")
    conv = [
        {"role": "user", "content": "a red rain jacket"},
        {"role": "assistant", "content": "Try the Trailblazer", "products": ["a1"], "category": "apparel"},
    ]
    start = threading.Barrier(40)

    def thumbs(k: int) -> None:
        start.wait()
        for _ in range(10):
            feedback(conv, gr.LikeData(None, {"index": [1, 0], "value": "x", "liked": k % 2 == 0}))

    threads = [threading.Thread(target=thumbs, args=(k,)) for k in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dialogues = load_dialogues(path, product_ids={p.id for p in tiny_products()})
    assert len(dialogues) == 400 and len({d.id for d in dialogues}) == 400


@pytest.mark.parametrize(
    "text",
    [
        "look ![pixel](https://evil.example/p.png)",
        "![a][ref]\n\n[ref]: https://evil.example/p.png",
        "<img src=https://evil.example/p.png>",
        "![x](<https://evil.example/p.png>)",
    ],
)
def test_chat_text_renders_no_remote_images(text):
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(show(text))
    assert "<img" not in html  # no image element: the browser fetches nothing


def test_gradio_analytics_are_off(tiny_assistant, tmp_path):
    from assistant.faces.webui import build_ui

    assert build_ui(tiny_assistant, feedback_path=tmp_path / "fb.jsonl").analytics_enabled is False


def test_page_sessions_and_uploads_are_bounded(tiny_assistant, tmp_path, monkeypatch):
    from assistant.faces import webui

    monkeypatch.setattr(webui, "MAX_PAGE_SESSIONS", 5, raising=False)
    ui = webui.build_ui(tiny_assistant, feedback_path=tmp_path / "fb.jsonl")
    import gradio as gr

    from assistant.faces.server import build_api

    with TestClient(gr.mount_gradio_app(build_api(tiny_assistant), ui, path="/")) as c:
        for _ in range(8):  # each API call is a new page session holding a copy of the page's config
            page_call(c, ["a red rain jacket", [], AUTO, slider_value(c), []])
        assert len(ui.state_holder.session_data) <= 5
    with TestClient(build_app(tiny_assistant, feedback_path=tmp_path / "fb.jsonl")) as c:
        r = c.post("/gradio_api/upload", files={"files": ("big.bin", b"x" * 2_000_000)})
        assert r.status_code == 413
