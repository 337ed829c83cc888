"""The chat API's request contract: what a `/v1/chat/completions` body may hold, and the OpenAI-shaped 400 / 404
naming the field otherwise. `assistant.faces.server` calls `parse_chat_request` and `_settings` on every request.

    messages, category, stream = parse_chat_request(body, categories)   # or ApiError(400, ..., param)
    settings = _settings(body)                                          # GenerationSettings or None
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from assistant.generation.engine import GenerationSettings

MAX_MESSAGES = 64
MAX_MESSAGE_CHARS = 4_000
MAX_NEW_TOKENS = 512
MAX_SEED = 2**63 - 1
AUTO_MODEL = "shopguide"
ROLES = ("system", "developer", "user", "assistant", "tool")  # the message roles a chat request may use


class ApiError(Exception):
    """A request problem answered as `{"error": {"message", "type", "param", "code"}}` with `status`."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        if self.status == 401:
            kind = "authentication_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


def _settings(body: dict[str, Any]) -> Any:
    """`GenerationSettings` from the request's OpenAI knobs (None: engine defaults).

    Raises:
        ApiError: 400 naming the knob, for a value of the wrong type or out of OpenAI's range.
    """
    wanted: dict[str, Any] = {}
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = body.get(name)
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ApiError(400, f"{name} must be a positive integer", name)
        wanted["max_new_tokens"] = min(max_tokens, MAX_NEW_TOKENS)  # the server's own cap on a reply's length
    for name, lo, hi in (("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)):
        v = body.get(name)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ApiError(400, f"{name} must be a number from {lo:g} to {hi:g}", name)
        if not lo <= v <= hi:
            raise ApiError(400, f"{name} must be from {lo:g} to {hi:g}; got {v!r:.32}", name)
        wanted[name] = float(v)
    if wanted.get("top_p") == 0:  # a nucleus of probability 0 holds the top token alone: greedy, as temperature 0
        del wanted["top_p"]
        wanted["temperature"] = 0.0
    if "temperature" in wanted:  # OpenAI: 0 is greedy, above 0 samples
        t = wanted.pop("temperature")
        wanted.update(do_sample=t > 0, **({"temperature": t} if t > 0 else {}))
    seed = body.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ApiError(400, f"seed must be an integer from 0 to {MAX_SEED}", "seed")
        wanted["seed"] = seed
    if not wanted:
        return None

    known = {f.name for f in dataclasses.fields(GenerationSettings)}
    return GenerationSettings(**{k: v for k, v in wanted.items() if k in known})


def parse_chat_request(body: Any, categories: list[str]) -> tuple[list[dict[str, Any]], str | None, bool]:
    """Check a chat request body; returns (messages, category or None, stream).

    Raises:
        ApiError: 400 for a malformed body, 404 for an unknown model.
    """
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model", AUTO_MODEL)
    if model not in (AUTO_MODEL, None, "") and model not in categories:
        raise ApiError(
            404,
            f"model {model!r} does not exist; use {AUTO_MODEL!r} or one of: {', '.join(categories)}",
            "model",
            "model_not_found",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list", "messages")
    if len(messages) > MAX_MESSAGES:
        raise ApiError(400, f"too many messages ({len(messages)} > {MAX_MESSAGES})", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ApiError(400, f"messages[{i}] must be an object with a role and a content", f"messages[{i}]")
        if m.get("role") not in ROLES:
            role = m.get("role")
            raise ApiError(
                400, f"messages[{i}].role must be one of {', '.join(ROLES)}; got {role!r:.40}", f"messages[{i}].role"
            )
        content = m.get("content")
        _check_content(content, f"messages[{i}].content")
        text = content if isinstance(content, str) else json.dumps(content)
        if len(text) > MAX_MESSAGE_CHARS:
            raise ApiError(
                400,
                f"messages[{i}] is too long ({len(text)} > {MAX_MESSAGE_CHARS} characters)",
                f"messages[{i}].content",
                "message_too_long",
            )
    if messages[-1].get("role") != "user":
        raise ApiError(400, "the last message must be a user message", "messages")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):  # the string "false" would be truthy
        raise ApiError(400, "stream must be a boolean (true or false)", "stream")
    return messages, (model if model in categories else None), bool(stream)


def _check_content(content: Any, param: str) -> None:
    """A message's content is text: a string, or a list of text parts `{"type": "text", "text": str}`.

    Raises:
        ApiError: 400 naming `param` (or the part that is not text).
    """
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        kind = {type(None): "null", bool: "a boolean", int: "a number", float: "a number"}.get(
            type(content), "an object"
        )
        raise ApiError(400, f"{param} must be a string or a list of text parts, not {kind}", param)
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise ApiError(
                400,
                f'{param}[{j}] must be a text part {{"type": "text", "text": "..."}}: this assistant reads text only',
                f"{param}[{j}]",
            )
