"""Generation by an OpenAI-compatible server (`generation/remote_engine.py`, `--generator URL`): a fake vLLM-like
server streams chat chunks; the assistant runs retrieval, checks and repair here, asks for the category's
adapter by name (the base's name for a category without one), and reports a dead or failing server clearly.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

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
