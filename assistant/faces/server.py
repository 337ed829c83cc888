"""The assistant's HTTP faces: an OpenAI-compatible API and (mounted at `/`) the Gradio chat page.

    shopguide serve --bundle demo                       # http://127.0.0.1:7860 (page) and /v1 (API)
    SHOPGUIDE_TOKEN=SECRET SHOPGUIDE_AUTH=alice:pw shopguide serve --host 0.0.0.0   # secrets kept out of `ps`

API (any OpenAI client works: `OpenAI(base_url="http://127.0.0.1:7860/v1", api_key=TOKEN or "none")`):

    POST /v1/chat/completions   stream (SSE `data: {...}` chunks, then `data: [DONE]`) or not; `model` is a
                                category (its adapter) or "shopguide" (routed); the recommended products come
                                back as `choices[0].message.products` / top-level `products` (last chunk when
                                streaming), plus `shopguide` (category, needs, notes, corrections)
    GET  /v1/models             "shopguide" and one model per category
    GET  /v1/search?q=...       product search (category, min_price, max_price, brand, top_k)
    GET  /health                liveness and catalog size (never needs the token)

Safe defaults: 127.0.0.1, request bodies <= `MAX_BODY_BYTES`, <= `requests.MAX_MESSAGES` messages of <=
`requests.MAX_MESSAGE_CHARS` characters, errors in OpenAI's `{"error": {...}}` shape with a 4xx status naming the
field (bad JSON, NaN, huge integers, deep nesting, content that is not text, knobs of the wrong type or out of
OpenAI's range included), and a generation error ends the request, never the server (a failing `--generator`
server: 502 or an error event, and a log line). With a token every route but /health needs it, the page through
a login (`assistant/faces/access.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request  # module level: FastAPI resolves the string annotations of the routes here
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.faces.access import TokenGuard
from assistant.faces.common import add_bundle_args, open_from_args
from assistant.faces.requests import AUTO_MODEL, MAX_MESSAGE_CHARS, ApiError, _settings, parse_chat_request
from assistant.faces.webui import UI_CSS
from assistant.faces.webui import build_ui as _build_ui
from assistant.generation.remote_engine import GeneratorError
from retrieval.filters import Filters

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 256_000
MAX_UPLOAD_BYTES = 1_000_000
MAX_INFLIGHT = 16  # chat completions admitted at once; more get 429 + Retry-After
REQUEST_TIMEOUT_S = 120.0  # a completion that takes longer is cut off (504, or an error event when streaming)
TOKEN_ENV, AUTH_ENV = "SHOPGUIDE_TOKEN", "SHOPGUIDE_AUTH"


def product_dict(p: Any, score: float | None = None) -> dict[str, Any]:
    """A product as JSON for API responses (catalog fields; `score` when from a search)."""
    d = p.to_dict()
    if score is not None:
        d["score"] = round(float(score), 4)
    return d


def _reply_extra(reply: Any, catalog: Any) -> dict[str, Any]:
    products = [product_dict(catalog.get(i)) for i in reply.products if catalog.get(i) is not None]
    return {
        "products": products,
        "shopguide": {
            "category": reply.category,
            "needs": reply.needs.to_dict(),
            "notes": reply.notes,
            "corrections": reply.corrections,
            "candidates": reply.candidates,
        },
    }


class Admission:
    """At most `limit` chat completions in flight; the others are turned away at once (never queued unbounded)."""

    def __init__(self, limit: int):
        self.limit, self.inflight = limit, 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            if self.inflight >= self.limit:
                raise ApiError(429, f"busy: {self.inflight} completions in flight; retry shortly", code="rate_limited")
            self.inflight += 1

    def leave(self) -> None:
        with self._lock:
            self.inflight -= 1


def build_api(
    assistant: Any,
    token: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_inflight: int = MAX_INFLIGHT,
    request_timeout: float = REQUEST_TIMEOUT_S,
) -> Any:
    """The FastAPI app with the OpenAI-compatible routes (the page is mounted on it by `build_app`).

    Args:
        assistant: an `assistant.orchestrator.Assistant`.
        token: when set, every route but `/health` needs it (`assistant.faces.access.TokenGuard`): the API as
            `Authorization: Bearer <token>`, the page mounted by `build_app` through a login.
        max_body_bytes: larger request bodies get 413.
        max_inflight: chat completions served at once; one more gets 429 with `Retry-After` (backpressure).
        request_timeout: seconds a completion may take: then generation is cancelled and the request gets 504
            (non-streamed) or an error event (streamed). A streamed request whose client goes away is cancelled.

    Returns:
        A `fastapi.FastAPI`.
    """
    app = FastAPI(title="shopguide", docs_url=None, redoc_url=None)
    categories = list(assistant.categories)
    if token is not None:
        app.add_middleware(TokenGuard, token=token)

    admission = Admission(max_inflight)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {}
        param = str(err["loc"][-1]) if err.get("loc") else None
        return JSONResponse(ApiError(400, f"{param}: {err.get('msg', 'invalid')}", param).body(), status_code=400)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s failed", request.url.path)
        return JSONResponse(ApiError(500, f"internal error: {type(exc).__name__}").body(), status_code=500)

    @app.middleware("http")
    async def _limit(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/v1/"):
            size = request.headers.get("content-length")
            if size is not None and (not size.isdigit() or int(size) > max_body_bytes):
                return JSONResponse(ApiError(413, f"request body over {max_body_bytes} bytes").body(), status_code=413)
        return await call_next(request)

    async def _json(request: Request) -> Any:
        raw = await request.body()
        if len(raw) > max_body_bytes:
            raise ApiError(413, f"request body over {max_body_bytes} bytes")
        try:
            return json.loads(raw, parse_constant=_no_constant)
        except RecursionError as e:
            raise ApiError(400, "the request body is not valid JSON: nested too deeply") from e
        except json.JSONDecodeError as e:
            raise ApiError(400, f"the request body is not valid JSON: {e}") from e
        except ValueError as e:  # NaN / Infinity, an integer of over 4300 digits, bytes that are not UTF-8
            raise ApiError(400, f"the request body is not valid JSON: {str(e).split(':')[0]}") from e

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "products": len(assistant.catalog), "categories": categories}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        now = int(time.time())
        data = [
            {
                "id": AUTO_MODEL,
                "object": "model",
                "created": now,
                "owned_by": "shopguide",
                "description": "routes each conversation to its category",
            }
        ]
        data += [
            {"id": c, "object": "model", "created": now, "owned_by": "shopguide", "adapter": c in assistant.adapters}
            for c in categories
        ]
        return {"object": "list", "data": data}

    @app.get("/v1/search")
    def search(
        q: str,
        category: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        brand: str | None = None,
        top_k: int = 10,
    ) -> dict[str, Any]:
        if len(q) > MAX_MESSAGE_CHARS:
            raise ApiError(400, f"q is too long ({len(q)} > {MAX_MESSAGE_CHARS} characters)", "q")
        if category is not None and category not in categories:
            raise ApiError(400, f"unknown category {category!r}", "category")
        for name, v in (("min_price", min_price), ("max_price", max_price)):
            if v is not None and not math.isfinite(v):
                raise ApiError(400, f"{name} must be a finite number", name)
        try:
            filters = Filters(
                category=category, min_price=min_price, max_price=max_price, brands=[brand] if brand else []
            )
        except ValueError as e:
            raise ApiError(400, str(e), "min_price") from e
        hits = assistant.search(q, top_k=min(max(top_k, 1), 50), filters=filters)
        return {"object": "list", "data": [product_dict(p, s) for p, s in hits]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await _json(request)
        messages, category, stream = parse_chat_request(body, categories)
        settings = _settings(body)
        try:
            filters = None if body.get("filters") is None else Filters.from_dict(body["filters"])
        except ValueError as e:
            raise ApiError(400, str(e), "filters") from e
        cid, created, model = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), body.get("model") or AUTO_MODEL
        admission.enter()
        if not stream:
            cancel = threading.Event()
            try:
                reply = await asyncio.wait_for(
                    run_in_threadpool(assistant.reply, messages, category, filters, settings, cancel), request_timeout
                )
            except asyncio.TimeoutError as e:
                cancel.set()
                raise ApiError(504, f"the completion took longer than {request_timeout:g} s", code="timeout") from e
            except GeneratorError as e:
                log.error("generation failed: %s", e)
                raise _generator_error(e) from e
            except (ValueError, TypeError) as e:
                raise ApiError(400, str(e)) from e
            finally:
                admission.leave()
            extra = _reply_extra(reply, assistant.catalog)
            message = {"role": "assistant", "content": reply.text, "products": extra["products"]}
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": _usage(reply),
                **extra,
            }
        events = _sse(assistant, messages, category, filters, settings, cid, created, model, request, request_timeout)
        return StreamingResponse(
            _released(events, admission), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    return app


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _generator_error(e: GeneratorError) -> ApiError:
    """A failing generation server (`--generator URL`) as a 502: the fault is upstream, not in the request."""
    return ApiError(502, str(e), code="generator_error")


def _usage(reply: Any) -> dict[str, int]:
    return reply.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


async def _released(events: AsyncIterator[str], admission: Admission) -> AsyncIterator[str]:
    """`events`, then the request's admission slot is given back (also when the client went away)."""
    try:
        async for line in events:
            yield line
    finally:
        admission.leave()


_END = object()


async def _sse(
    assistant: Any,
    messages: list,
    category: str | None,
    filters: Any,
    settings: Any,
    cid: str,
    created: int,
    model: str,
    request: Any = None,
    timeout: float = REQUEST_TIMEOUT_S,
) -> AsyncIterator[str]:
    """The SSE lines of one streamed completion; errors become an `error` event, never an exception.

    Generation runs in a worker thread; this coroutine forwards its chunks and, between them, watches the client:
    when it disconnects (or `timeout` passes) generation is cancelled at the next token."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        obj = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"

    loop, queue, cancel = asyncio.get_running_loop(), asyncio.Queue(), threading.Event()

    def produce() -> None:
        try:
            for event in assistant.stream(
                messages, category=category, filters=filters, settings=settings, cancel=cancel
            ):
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except GeneratorError as e:  # the generation server's fault, said in one line: no traceback
            log.error("streamed generation failed: %s", e)
            loop.call_soon_threadsafe(queue.put_nowait, e)
        except Exception as e:  # noqa: BLE001 - handed to the consumer, which ends the stream with an error event
            log.exception("streamed generation failed")
            loop.call_soon_threadsafe(queue.put_nowait, e)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    yield chunk({"role": "assistant", "content": ""})
    worker = loop.run_in_executor(None, produce)
    deadline = loop.time() + timeout
    try:
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=0.25)
            except asyncio.TimeoutError:
                if request is not None and await request.is_disconnected():
                    log.info("client went away: generation cancelled")
                    cancel.set()
                    break
                if loop.time() > deadline:
                    cancel.set()
                    late = ApiError(504, f"the completion took longer than {timeout:g} s", code="timeout")
                    yield f"data: {json.dumps(late.body())}\n\n"
                    break
                continue
            if event is _END:
                break
            if isinstance(event, GeneratorError):
                yield f"data: {json.dumps(_generator_error(event).body())}\n\n"
            elif isinstance(event, Exception):
                error = ApiError(500, f"generation failed: {type(event).__name__}: {event}")
                yield f"data: {json.dumps(error.body())}\n\n"
            elif isinstance(event, str):
                yield chunk({"content": event})
            else:
                yield chunk({}, "stop", usage=_usage(event), **_reply_extra(event, assistant.catalog))
    finally:
        cancel.set()  # also when the response task itself is cancelled (client gone)
        await asyncio.shield(worker)
    yield "data: [DONE]\n\n"


def build_app(
    assistant: Any,
    token: str | None = None,
    auth: tuple[str, str] | None = None,
    feedback_path: str | Path = "feedback.jsonl",
    max_inflight: int = MAX_INFLIGHT,
    request_timeout: float = REQUEST_TIMEOUT_S,
) -> Any:
    """The whole server: the API of `build_api` with the chat page of `build_ui` mounted at `/`.

    Args:
        assistant: the `Assistant` to serve.
        token: the token every route but `/health` needs (None: open).
        auth: `(user, password)` login for the page (None: open).
        feedback_path: JSONL file that thumbs up / down are appended to.
    """
    import gradio as gr

    api = build_api(assistant, token=token, max_inflight=max_inflight, request_timeout=request_timeout)
    # the page uploads nothing: Gradio's upload route only gets a small limit (files go to its temp folder)
    return gr.mount_gradio_app(
        api,
        build_ui(assistant, feedback_path=feedback_path),
        path="/",
        auth=auth,
        css=UI_CSS,
        footer_links=[],
        max_file_size=MAX_UPLOAD_BYTES,
    )


def add_server_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options shared by `shopguide serve` and `python app.py`."""
    add_bundle_args(parser)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; use 0.0.0.0 to expose it)",
    )
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV) or None,
        help="require this token on every route but /health: `Authorization: Bearer TOKEN` on the API, a login "
        f"on the page (default: ${TOKEN_ENV}; the environment keeps it out of `ps`)",
    )
    parser.add_argument(
        "--auth",
        default=os.environ.get(AUTH_ENV) or None,
        metavar="USER:PASS",
        help=f"require this user login on the chat page (default: ${AUTH_ENV})",
    )
    parser.add_argument("--feedback", default="feedback.jsonl", help="thumbs up/down JSONL (default feedback.jsonl)")
    parser.add_argument(
        "--max-inflight",
        type=int,
        default=MAX_INFLIGHT,
        help=f"chat completions served at once; more get 429 with Retry-After (default {MAX_INFLIGHT})",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=REQUEST_TIMEOUT_S,
        help=f"seconds a completion may take before it is cancelled (default {REQUEST_TIMEOUT_S:g})",
    )
    return parser


def serve(args: argparse.Namespace) -> int:
    """Load the bundle in `args` and run the server until interrupted; returns an exit code."""
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            print("--auth must be USER:PASS", file=sys.stderr)
            return 2
        auth = (user, password)
    assistant = open_from_args(args)
    if assistant is None:
        return 1
    import uvicorn

    if args.host not in ("127.0.0.1", "localhost", "::1") and not (args.token and auth):
        log.warning(
            "listening on %s without %s: anyone who can reach this address can use it",
            args.host,
            " and ".join(x for x, missing in (("--token", not args.token), ("--auth", not auth)) if missing),
        )
    app = build_app(
        assistant,
        token=args.token,
        auth=auth,
        feedback_path=args.feedback,
        max_inflight=args.max_inflight,
        request_timeout=args.request_timeout,
    )
    print(f"shopguide: chat page http://{args.host}:{args.port}/  API http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`shopguide serve`: the chat page and the OpenAI-compatible API on one port."""
    parser = add_server_args(argparse.ArgumentParser(prog="shopguide serve", description=main.__doc__))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return serve(parser.parse_args(argv))


def build_ui(assistant: Any, feedback_path: str | Path = "feedback.jsonl") -> Any:
    """The Gradio chat page (`gr.Blocks`); see `assistant.faces.webui.build_ui`."""

    return _build_ui(assistant, feedback_path=feedback_path)
