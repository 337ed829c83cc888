"""Generation by an OpenAI-compatible server (`generation/remote_engine.py`, `--generator URL`): a fake vLLM-like
server streams chat chunks; the assistant runs retrieval, checks and repair here, asks for the category's
adapter by name (the base's name for a category without one), and reports a dead, failing or nonsense-answering
server clearly (a 502 or an error event for the shopper, a log line).
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.testclient import TestClient

from assistant.faces.common import open_bundle
from assistant.generation.engine import GenerationSettings
from assistant.generation.remote_engine import GeneratorError, OpenAIEngine
from assistant.orchestrator import Assistant


def fake_vllm(served: set[str], seen: list[dict]) -> FastAPI:
    """Streams "I recommend the <first card>. It costs $<price + 1>." word by word, like `vllm serve` with
    `--served-model-name base --lora-modules apparel=...`; unknown models get vLLM's 404."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        seen.append(body)
        if body["model"] not in served:
            return JSONResponse({"error": {"message": f"The model `{body['model']}` does not exist."}}, 404)
        card = re.search(r"^\[(\S+)\] (.+?) \|.*?\$(\d+\.\d\d)", body["messages"][0]["content"], re.M)
        text = f"I recommend the {card.group(2)}. It costs ${float(card.group(3)) + 1:.2f}."

        def events():
            for word in re.findall(r"\S+\s*", text):
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
                chunk["choices"] = [{"index": 0, "delta": {"content": word}, "finish_reason": None}]
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def test_engine_streams_and_maps_adapters_to_served_models(live_server):
    seen: list[dict] = []
    url = live_server(fake_vllm({"base", "apparel"}, seen))
    engine = OpenAIEngine(url, {None: "base", "apparel": "apparel"})
    msgs = [
        {"role": "system", "content": "cards\n[a1] Rain Jacket | Peak | $49.99"},
        {"role": "user", "content": "hi"},
    ]
    chunks = list(engine.stream(msgs, adapter="apparel", settings=GenerationSettings(max_new_tokens=30)))
    assert len(chunks) > 3 and "".join(chunks) == "I recommend the Rain Jacket. It costs $50.99."
    assert seen[-1]["model"] == "apparel" and seen[-1]["temperature"] == 0.0 and seen[-1]["max_tokens"] == 30
    assert seen[-1]["repetition_penalty"] == 1.1 and seen[-1]["stream"] is True
    list(engine.stream(msgs, adapter="shoes"))  # no adapter for shoes: the base
    assert seen[-1]["model"] == "base"
    with pytest.raises(GeneratorError, match="HTTP 404 for model 'nope'"):
        list(OpenAIEngine(url, {None: "nope"}).stream(msgs))


def test_bundle_with_generator_url_loads_no_model_and_checks_replies(tiny_bundle, live_server, monkeypatch):
    import assistant.orchestrator as orchestrator

    def no_local_model(*a, **k):
        raise AssertionError("a local model was loaded")

    monkeypatch.setattr(orchestrator, "load_base", no_local_model)
    seen: list[dict] = []
    url = live_server(fake_vllm({"my-base", "apparel"}, seen))
    a = Assistant.from_pretrained(tiny_bundle, generator=url, generator_model="my-base")
    r = a.reply([{"role": "user", "content": "a red rain jacket"}])
    # the server's wrong price ($50.99) was repaired here, with the catalog's
    assert r.text == "I recommend the Trailblazer Rain Jacket. It costs $49.99." and r.products == ["a1"]
    assert r.corrections and seen[-1]["model"] == "apparel"
    a.reply([{"role": "user", "content": "running sneakers"}], category="shoes")
    assert seen[-1]["model"] == "my-base"


def test_unreachable_generator_is_a_clear_error(tiny_bundle, capsys):
    from tests.assistant.conftest import free_port

    assert open_bundle(str(tiny_bundle), generator=f"http://127.0.0.1:{free_port()}") is None
    err = capsys.readouterr().err
    assert "cannot load the assistant bundle" in err and "cannot be reached" in err


NONSENSE = {
    "html page": ("<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html"),
    "other json": ('{"status": "ok", "version": "1.2"}', "application/json"),
    "stream of other json": ('data: {"hello": "world"}\n\ndata: [DONE]\n\n', "text/event-stream"),
    "stream of text": ("data: <html>oops</html>\n\ndata: [DONE]\n\n", "text/event-stream"),
    "stream with text that is no string": (
        'data: {"choices": [{"index": 0, "delta": {"content": {"a": 1}}}]}\n\ndata: [DONE]\n\n',
        "text/event-stream",
    ),
}


def fake_nonsense(body: str, media_type: str) -> FastAPI:
    """A server that answers every chat completion with status 200 and `body`, which is no OpenAI chat stream
    (a web server's welcome page, some other service's JSON, ...)."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        return Response(body, media_type=media_type)

    return app


MSGS = [{"role": "system", "content": "cards\n[a1] Rain Jacket | Peak | $49.99"}, {"role": "user", "content": "hi"}]


@pytest.mark.parametrize("kind", list(NONSENSE))
def test_a_generator_answering_nonsense_with_200_is_an_error(live_server, kind):
    url = live_server(fake_nonsense(*NONSENSE[kind]))
    with pytest.raises(GeneratorError, match="not an OpenAI chat completion stream"):
        list(OpenAIEngine(url, {None: "base"}).stream(MSGS))


def test_a_generator_answering_nonsense_fails_the_start_up_check(tiny_bundle, live_server, capsys):
    url = live_server(fake_nonsense(*NONSENSE["html page"]))
    assert open_bundle(str(tiny_bundle), generator=url) is None
    err = capsys.readouterr().err
    assert "cannot load the assistant bundle" in err and "not an OpenAI chat completion stream" in err


def test_a_generator_turning_to_nonsense_gives_the_shopper_a_502_or_error_event(tiny_catalog, live_server, caplog):
    from conftest import FakeIndex

    from assistant.faces.server import build_api

    url = live_server(fake_nonsense(*NONSENSE["html page"]))
    a = Assistant(FakeIndex(tiny_catalog), OpenAIEngine(url, {None: "base"}), default_category="apparel")
    client = TestClient(build_api(a), raise_server_exceptions=False)
    user = [{"role": "user", "content": "a red rain jacket"}]
    with caplog.at_level(logging.ERROR):
        r = client.post("/v1/chat/completions", json={"messages": user})
    error = r.json()["error"]
    assert r.status_code == 502 and error["code"] == "generator_error", r.text
    assert "not an OpenAI chat completion stream" in error["message"] and url in error["message"]
    assert any("not an OpenAI chat completion stream" in rec.getMessage() for rec in caplog.records)

    caplog.clear()
    with caplog.at_level(logging.ERROR):
        r = client.post("/v1/chat/completions", json={"messages": user, "stream": True})
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    errors = [e["error"] for e in events if "error" in e]
    assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]")
    assert len(errors) == 1 and errors[0]["code"] == "generator_error", r.text
    assert "not an OpenAI chat completion stream" in errors[0]["message"]
    assert not any("usage" in e for e in events)  # no empty reply is passed off as an answer
    assert any("not an OpenAI chat completion stream" in rec.getMessage() for rec in caplog.records)
