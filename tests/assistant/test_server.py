"""The OpenAI-compatible API and the page, on the tiny fake-backed assistant: TestClient for limits and errors,
a real uvicorn server with the official `openai` client for stream / non-stream, and feedback records.

Run: python -m pytest -q tests/assistant/test_server.py
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from assistant.faces.server import build_api, build_app
from assistant.faces.webui import append_feedback, example_prompt, render_cards

USER = [{"role": "user", "content": "a red rain jacket"}]


@pytest.fixture
def client(tiny_assistant):
    return TestClient(build_api(tiny_assistant, token="s3cret"))


AUTH = {"Authorization": "Bearer s3cret"}


def test_health_models_and_search(client):
    assert client.get("/health").json()["products"] == 10
    ids = [m["id"] for m in client.get("/v1/models", headers=AUTH).json()["data"]]
    assert ids == ["shopguide", "apparel", "shoes"]
    hits = client.get("/v1/search", params={"q": "boots", "category": "shoes", "max_price": 140}, headers=AUTH).json()
    assert [h["id"] for h in hits["data"]][0] == "s2" and all(h["price"] <= 140 for h in hits["data"])


def test_token_is_required_on_the_api(client):
    r = client.get("/v1/models")
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert client.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"model": "garden", "messages": USER}, 404, "does not exist"),
        ({"messages": []}, 400, "non-empty"),
        ({"messages": [{"role": "user", "content": "x" * 5000}]}, 400, "too long"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, 400, "last message must be a user"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, 400, "role"),
        ({"messages": USER, "max_tokens": -3}, 400, "max_tokens"),
        ({"messages": [{"role": "user", "content": "hi"}] * 100}, 400, "too many"),
    ],
)
def test_bad_requests_get_clear_4xx(client, body, status, words):
    r = client.post("/v1/chat/completions", json=body, headers=AUTH)
    assert r.status_code == status and words in r.json()["error"]["message"]


def test_body_size_and_json_limits(client):
    r = client.post("/v1/chat/completions", content=b"{" + b" " * 300_000 + b"}", headers=AUTH)
    assert r.status_code == 413
    r = client.post("/v1/chat/completions", content=b"{not json", headers=AUTH)
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]


def test_generation_error_does_not_kill_the_server(make_assistant):
    c = TestClient(build_api(make_assistant(fail=True)), raise_server_exceptions=False)
    assert c.post("/v1/chat/completions", json={"messages": USER}).status_code == 500
    lines = c.post("/v1/chat/completions", json={"messages": USER, "stream": True}).text.strip().split("\n\n")
    assert "generation failed" in lines[-2] and lines[-1] == "data: [DONE]"
    assert c.get("/health").status_code == 200


def test_openai_client_non_stream_and_stream(tiny_assistant, live_server):
    from openai import OpenAI

    url = live_server(build_api(tiny_assistant, token="s3cret"))
    client = OpenAI(base_url=f"{url}/v1", api_key="s3cret", max_retries=0)
    r = client.chat.completions.create(model="shopguide", messages=USER)
    assert "Trailblazer Rain Jacket" in r.choices[0].message.content
    assert [p["id"] for p in r.model_extra["products"]] == ["a1"]
    assert r.choices[0].message.model_extra["products"][0]["price"] == 49.99
    chunks = list(client.chat.completions.create(model="apparel", messages=USER, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == r.choices[0].message.content and len(chunks) >= 4  # role, one chunk per checked sentence, stop
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["products"][0]["id"] == "a1"
    assert [m.id for m in client.models.list()][:2] == ["shopguide", "apparel"]
    with pytest.raises(Exception, match="401"):
        OpenAI(base_url=f"{url}/v1", api_key="nope", max_retries=0).models.list()


def test_stream_carries_only_checked_text_and_no_correction_note(make_assistant):
    c = TestClient(build_api(make_assistant(price_shift=5.0)))
    events = [
        json.loads(line[6:])
        for line in c.post("/v1/chat/completions", json={"messages": USER, "stream": True}).text.split("\n\n")
        if line.startswith("data: {")
    ]
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert "$49.99" in text and "$54.99" not in text and "Correction" not in text
    r = c.post("/v1/chat/completions", json={"messages": USER}).json()
    assert "$49.99" in r["choices"][0]["message"]["content"] and r["shopguide"]["corrections"]


def test_cards_escape_catalog_text(tiny_catalog):
    html = render_cards([tiny_catalog.get("a5")])
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_example_prompts_come_from_the_catalog(tiny_catalog):
    assert example_prompt("shoes", tiny_catalog) == "I'm looking for shoes, under $90"


def test_feedback_records_are_dialogues(tmp_path):
    from assistant.dialogues import load_dialogues

    path = tmp_path / "fb" / "feedback.jsonl"
    for liked in ("like", "dislike"):
        append_feedback(
            path,
            {
                "id": f"f-{liked}",
                "category": "apparel",
                "feedback": liked,
                "messages": [
                    {"role": "user", "content": "hi", "products": []},
                    {"role": "assistant", "content": "Try a1", "products": ["a1"]},
                ],
            },
        )
    ds = load_dialogues(path, product_ids={"a1"})
    assert [d.extra["feedback"] for d in ds] == ["like", "dislike"]


def test_page_is_mounted_with_the_api_and_login(tiny_assistant, tmp_path):
    c = TestClient(build_app(tiny_assistant, auth=("alice", "pw"), feedback_path=tmp_path / "fb.jsonl"))
    assert c.get("/health").json()["status"] == "ok"
    assert c.get("/").status_code == 200
    assert c.get("/config").status_code == 401  # the page's app config needs the login
    assert c.post("/login", data={"username": "alice", "password": "nope"}).status_code == 400
    assert c.post("/login", data={"username": "alice", "password": "pw"}).json()["success"] is True
    config = c.get("/config")
    assert config.status_code == 200 and "sg-chat" in config.text
