"""The assistant under test, as the shopper sees it: messages in, a reply (text, product ids, seconds) out.

    client = make_client("demo")                                    # a bundle folder: Assistant in this process
    client = make_client("http://127.0.0.1:7860/v1", model="shopguide", timeout=30)   # any OpenAI-compatible URL
    reply = client.chat([{"role": "user", "content": "hi"}])       # ClientReply(text, products, seconds)

Only `role` and `content` of each message are sent: the assistant never sees the shopper's goal or the
simulator's annotations. A failure of any kind raises `AssistantError` with a one-line reason (cannot
reach, timeout, HTTP status and the endpoint's message, malformed response), so the runner can count it
and go on; the HTTP client has a timeout on every request and at most `retries` retries, so a broken
endpoint never hangs a run.

Ablations (ours in process only): `ablate(client, "no-model")` is the same assistant with its engine replaced
by `ConstantEngine` (one sentence, whatever it is asked), `ablate(client, "model-only")` the same assistant with
its reply checks off (`Assistant.checks = ()`: the model's text with only card markup removed). Both are
shallow copies sharing the index, the catalog and the loaded model; the original is not changed.

Products: our server returns the recommended products with each reply (`products`, dicts with an `id`),
and `Assistant.reply` returns `Reply.products`; an endpoint that returns none gets `products=None`, and
the shopper then finds the products named in the text with the grounding check.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.orchestrator import Assistant  # harness wiring: the in-process client opens our bundle

ABLATIONS = ("full", "no-model", "model-only")  # the assistant as is, a constant engine, the model's text unchecked
CONSTANT_REPLY = "I'd recommend this one:"


class AssistantError(RuntimeError):
    """The assistant did not give a usable reply; the message says why in one line."""


@dataclass
class ClientReply:
    text: str
    products: list[str] | None  # product ids returned with the reply; None: the endpoint returns none
    seconds: float
    corrections: list[str] | None = None  # what the assistant's own check changed (ours: in process or HTTP)


def plain(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Only what an assistant may see: role and content."""
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def is_url(spec: str) -> bool:
    return str(spec).startswith(("http://", "https://"))


def base_url(url: str) -> str:
    """The OpenAI base URL of `url`: a bare `http://host:port` gets `/v1`, anything else is kept."""
    return url.rstrip("/") + "/v1" if urlsplit(url).path in ("", "/") else url.rstrip("/")


class InProcessClient:
    """An `Assistant` (or any object with `.reply(messages, category=None)`) called in this process."""

    def __init__(self, assistant: Any, name: str | None = None):
        self.assistant = assistant
        self.name = name or type(assistant).__name__

    def chat(self, messages: list[dict[str, Any]]) -> ClientReply:
        t0 = time.perf_counter()
        try:
            r = self.assistant.reply(plain(messages))
        except Exception as e:  # noqa: BLE001 - any failure of the assistant is counted, not fatal
            raise AssistantError(f"the assistant raised {type(e).__name__}: {e}") from e
        seconds = time.perf_counter() - t0
        products = getattr(r, "products", None)
        corrections = getattr(r, "corrections", None)
        return ClientReply(
            str(getattr(r, "text", "") or ""),
            None if products is None else [str(p) for p in products],
            seconds,
            None if corrections is None else [str(c) for c in corrections],
        )


class ConstantEngine:
    """An engine that says `text` whatever it is asked: the `no-model` ablation (what the assistant around the
    model achieves alone). Same interface as the assistant's engines."""

    def __init__(self, text: str = CONSTANT_REPLY):
        self.text = text

    def stream(self, messages: list[dict[str, str]], adapter: str | None = None, settings: Any = None):
        yield self.text


def can_ablate(client: Any) -> bool:
    """Whether `client` calls an assistant in this process whose engine and checks can be swapped."""
    a = getattr(client, "assistant", None)
    return isinstance(client, InProcessClient) and hasattr(a, "engine") and hasattr(a, "checks")


def ablate(client: InProcessClient, name: str) -> InProcessClient:
    """The client of ablation `name` (one of `ABLATIONS`) of an in-process assistant; "full" is `client` itself.

    Raises:
        ValueError: an unknown ablation name.
    """
    if name == "full":
        return client
    if name not in ABLATIONS:
        raise ValueError(f"ablation must be one of {', '.join(ABLATIONS)}; got {name!r}")
    variant = copy.copy(client.assistant)  # shares index, catalog and model; only the swapped field differs
    if name == "no-model":
        variant.engine = ConstantEngine()
    else:
        variant.checks = ()
    return InProcessClient(variant, name=client.name)


def _ids(products: Any) -> list[str] | None:
    if not isinstance(products, list):
        return None
    out = []
    for p in products:
        pid = p.get("id") if isinstance(p, dict) else p
        if isinstance(pid, (str, int)) and not isinstance(pid, bool):
            out.append(str(pid))
    return out


class OpenAIClient:
    """Any OpenAI-compatible chat endpoint, through the official `openai` client.

    Args:
        url: the endpoint's base URL (`http://host:port` gets `/v1`).
        model: the `model` sent with each request (ours: "shopguide" routes, a category forces it).
        api_key: bearer token (None: "none"; our server without --token accepts any).
        timeout: seconds for one request (connect + answer).
        retries: retries of a failed request (connection errors, 408/409/429/5xx), the client's backoff.
        temperature: sent when given (None: the endpoint's default).
    """

    def __init__(
        self,
        url: str,
        model: str = "shopguide",
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 1,
        temperature: float | None = None,
    ):
        try:
            import openai
        except ImportError as e:  # pragma: no cover - openai is a dependency of the test extra and of simulate
            raise AssistantError("testing a URL needs the `openai` package: pip install openai") from e
        self.openai = openai
        self.url, self.model, self.timeout, self.temperature = base_url(url), model, timeout, temperature
        self.name = self.url
        self.client = openai.OpenAI(base_url=self.url, api_key=api_key or "none", timeout=timeout, max_retries=retries)

    def chat(self, messages: list[dict[str, Any]]) -> ClientReply:
        o = self.openai
        kw: dict[str, Any] = {"model": self.model, "messages": plain(messages)}
        if self.temperature is not None:
            kw["temperature"] = self.temperature
        t0 = time.perf_counter()
        try:
            r = self.client.chat.completions.create(**kw)
        except o.APITimeoutError as e:
            raise AssistantError(f"no answer from {self.url} within {self.timeout:g} s (timeout)") from e
        except o.APIConnectionError as e:
            cause = e.__cause__ or e
            raise AssistantError(f"cannot reach {self.url}: {type(cause).__name__}: {cause}") from e
        except o.APIStatusError as e:
            raise AssistantError(f"{self.url} answered HTTP {e.status_code}: {_status_message(e)[:300]}") from e
        except Exception as e:  # noqa: BLE001 - a malformed response is the endpoint's failure
            raise AssistantError(f"unexpected response from {self.url}: {type(e).__name__}: {e}"[:400]) from e
        seconds = time.perf_counter() - t0
        choices = getattr(r, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            raise AssistantError(f"unexpected response from {self.url}: no choices[0].message")
        msg = choices[0].message
        if not isinstance(msg.content, str):
            raise AssistantError(
                f"unexpected response from {self.url}: choices[0].message.content is "
                f"{type(msg.content).__name__}, not text"
            )
        products = _ids((msg.model_extra or {}).get("products"))
        if products is None:
            products = _ids((r.model_extra or {}).get("products"))
        ours = (msg.model_extra or {}).get("shopguide") or (r.model_extra or {}).get("shopguide")
        corrections = ours.get("corrections") if isinstance(ours, dict) else None  # our server says what it fixed
        if not isinstance(corrections, list):
            corrections = None
        return ClientReply(
            msg.content, products, seconds, None if corrections is None else [str(c) for c in corrections]
        )


def _status_message(e: Any) -> str:
    """The endpoint's own error message (OpenAI `{"error": {"message"}}` shape, or the raw body)."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(inner.get("message"), str):
            return inner["message"]
    if isinstance(body, str) and body.strip():
        return body.strip()
    return str(getattr(e, "message", e))


def make_client(
    spec: str,
    model: str = "shopguide",
    api_key: str | None = None,
    timeout: float = 60.0,
    retries: int = 1,
    temperature: float | None = None,
    device: str | None = None,
) -> Any:
    """A client for `spec`: an http(s) URL (OpenAI-compatible endpoint) or an assistant bundle folder.

    Raises:
        DataError: the bundle folder is missing or malformed (from `Assistant.from_pretrained`).
    """
    if is_url(spec):
        return OpenAIClient(
            spec, model=model, api_key=api_key, timeout=timeout, retries=retries, temperature=temperature
        )
    return InProcessClient(Assistant.from_pretrained(spec, device=device), name=str(Path(spec).resolve()))
