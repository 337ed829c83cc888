"""Serving under load: backpressure (429 + Retry-After), cancellation when the client goes away, timeouts, and
real `usage` counts."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from conftest import FakeIndex

from assistant.faces.server import build_api
from assistant.orchestrator import Assistant

USER = [{"role": "user", "content": "a red rain jacket"}]


class SlowEngine:
    """Yields one word every `delay` seconds, forever unless closed; counts what it produced."""

    def __init__(self, delay: float = 0.05):
        self.delay, self.produced, self.closed = delay, 0, threading.Event()

    def stream(self, messages, adapter=None, settings=None):
        try:
            for i in range(10_000):
                time.sleep(self.delay)
                self.produced += 1
                yield f"word{i}. "
        finally:
            self.closed.set()


@pytest.fixture
def slow(tiny_catalog):
    engine = SlowEngine()
    return Assistant(FakeIndex(tiny_catalog), engine, adapters=["apparel"], default_category="apparel"), engine


def test_full_server_answers_429_with_retry_after(slow):
    from fastapi.testclient import TestClient

    assistant, engine = slow
    c = TestClient(build_api(assistant, max_inflight=1, request_timeout=3))
    first: list = []
    t = threading.Thread(target=lambda: first.append(c.post("/v1/chat/completions", json={"messages": USER})))
    t.start()
    deadline = time.time() + 10
    while engine.produced == 0 and time.time() < deadline:  # the first request is generating
        time.sleep(0.02)
    busy = c.post("/v1/chat/completions", json={"messages": USER})
    assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "rate_limited"
    assert c.get("/health").status_code == 200
    t.join(30)
    assert first[0].status_code == 504  # the slow one hit the timeout, and its slot came back:
    engine.delay = 0.0
    assert c.post("/v1/chat/completions", json={"messages": USER}).status_code != 429


def test_client_disconnect_cancels_generation(slow, live_server):
    assistant, engine = slow
    url = live_server(build_api(assistant, request_timeout=60))
    with (
        httpx.Client(timeout=30) as c,
        c.stream("POST", f"{url}/v1/chat/completions", json={"messages": USER, "stream": True}) as r,
    ):
        for line in r.iter_lines():
            if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                break  # one chunk of text arrived; now the client goes away
    assert engine.closed.wait(10), "generation was not cancelled"
    produced = engine.produced
    time.sleep(0.5)
    assert engine.produced == produced < 200  # it stopped, long before the 10,000 words


def test_timeout_cancels_and_answers_504(slow):
    from fastapi.testclient import TestClient

    assistant, engine = slow
    c = TestClient(build_api(assistant, request_timeout=0.5))
    r = c.post("/v1/chat/completions", json={"messages": USER})
    assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
    assert engine.closed.wait(10)


def test_usage_counts_match_the_tokenizer(tiny_bundle):
    from fastapi.testclient import TestClient

    from assistant.generation.chat_format import render_prompt

    a = Assistant.from_pretrained(tiny_bundle, device="cpu", engine="torch", warm_up=False)
    c = TestClient(build_api(a))
    r = c.post("/v1/chat/completions", json={"messages": USER, "max_tokens": 8}).json()
    u = r["usage"]
    plan = a.plan(USER)
    from assistant.generation.chat_format import build_messages

    prompt = build_messages(plan.history, plan.products, plan.category)
    assert u["prompt_tokens"] == len(render_prompt(prompt, a.engine.tokenizer)) > 0
    assert 0 < u["completion_tokens"] <= 8 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    lines = c.post("/v1/chat/completions", json={"messages": USER, "max_tokens": 8, "stream": True}).text.split("\n\n")
    last = [json.loads(x[6:]) for x in lines if x.startswith("data: {")][-1]
    assert last["usage"] == u  # greedy: the same reply, the same counts
