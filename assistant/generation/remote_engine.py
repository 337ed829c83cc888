"""Generation by any OpenAI-compatible server (vLLM, TGI, llama.cpp's server, ...): the assistant unchanged,
the model served elsewhere.

    # on the GPU machine: the base, and each category's LoRA adapter under the category's name
    vllm serve <base folder> --served-model-name smollm2-135m-instruct \\
        --enable-lora --lora-modules apparel=demo/adapters/apparel electronics=demo/adapters/electronics ...
    # here: every face takes --generator
    python app.py --generator http://gpu-box:8000/v1

    engine = OpenAIEngine("http://gpu-box:8000/v1", {None: "smollm2-135m-instruct", "apparel": "apparel"})
    for chunk in engine.stream(msgs, adapter="apparel", settings=GenerationSettings()): ...

Same interface as `engine.Engine` and `ct2_engine.CT2Engine`: the same messages (system
prompt with this turn's product cards, then the dialogue) go to the server, which applies the model's own chat
template, as our engines do (`assistant.generation.chat_format`); the reply streams back as it is generated. A category
with an adapter asks for the model named like the category, anything else for the base's name. Retrieval,
needs, the grounding check and repair stay in this process. Greedy unless `settings.do_sample`. The copy bias
of the PyTorch engine is not applied (no logits hook over HTTP). Uses the official `openai` client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from assistant.generation.engine import GenerationSettings

log = logging.getLogger(__name__)


def base_url(url: str) -> str:
    """The OpenAI base URL: `http://host:port` (no path) gets `/v1`; anything else is kept as given."""
    parts = urlsplit(url)
    return url.rstrip("/") + "/v1" if parts.path in ("", "/") else url.rstrip("/")


class GeneratorError(RuntimeError):
    """The generation server failed; the message names it and says why in one line."""


class OpenAIEngine:
    """Stream replies from an OpenAI-compatible chat endpoint.

    Args:
        url: the server's base URL (`http://host:port` gets `/v1`).
        models: adapter (category) -> served model name; the `None` key is the base model's name.
        api_key: bearer token (None: "none").
        timeout: seconds to connect and to wait between streamed chunks.
        repetition_penalty: send the settings' repetition penalty as vLLM's `repetition_penalty` extra
            parameter (servers that reject unknown parameters: False).
    """

    tokenizer = None  # usage counts come from the server, not from a local tokenizer

    def __init__(
        self,
        url: str,
        models: Mapping[str | None, str],
        api_key: str | None = None,
        timeout: float = 60.0,
        repetition_penalty: bool = True,
    ):
        import openai

        if None not in models:
            raise ValueError("models needs the base model's name under the key None")
        self.url = base_url(url)
        self.models = dict(models)
        self.repetition_penalty = repetition_penalty
        self.openai = openai
        self.client = openai.OpenAI(base_url=self.url, api_key=api_key or "none", timeout=timeout, max_retries=1)

    def model_for(self, adapter: str | None) -> str:
        """The served model name for `adapter` (a category without its own model uses the base)."""
        return self.models.get(adapter) or self.models[None]

    def stream(
        self, msgs: Sequence[dict[str, str]], adapter: str | None = None, settings: GenerationSettings | None = None
    ) -> Iterator[str]:
        """Yield the reply text in chunks as the server streams it; closing the iterator closes the request.

        Raises:
            GeneratorError: the server is unreachable, answers with an error or with something that is not an
                OpenAI chat completion stream, or times out.
        """
        settings = settings or GenerationSettings()
        kw: dict[str, Any] = {
            "model": self.model_for(adapter),
            "messages": [{"role": m["role"], "content": m["content"]} for m in msgs],
            "max_tokens": settings.max_new_tokens,
            "stream": True,
        }
        if settings.do_sample:
            kw.update(temperature=settings.temperature, top_p=settings.top_p)
            if settings.seed is not None:
                kw["seed"] = settings.seed
        else:
            kw["temperature"] = 0.0
        if self.repetition_penalty and settings.repetition_penalty != 1.0:
            kw["extra_body"] = {"repetition_penalty": settings.repetition_penalty}
        o = self.openai
        try:
            response = self.client.chat.completions.create(**kw)
        except o.APITimeoutError as e:
            raise GeneratorError(f"generator {self.url}: no answer in time") from e
        except o.APIConnectionError as e:
            raise GeneratorError(f"generator {self.url} cannot be reached: {e.__cause__ or e}") from e
        except o.APIStatusError as e:
            raise GeneratorError(
                f"generator {self.url} answered HTTP {e.status_code} for model {kw['model']!r}"
            ) from e
        # A server that is not an OpenAI one (a web server's page, another service's JSON) may answer 200 too: its
        # answer holds no chat completion chunk, and taking it for an empty reply would hide the fault.
        kind = response.response.headers.get("content-type", "no content type")
        nonsense = f"generator {self.url} answered HTTP 200 with {kind}, not an OpenAI chat completion stream"
        chunks = 0  # chunks in the shape of a chat completion chunk
        try:
            for chunk in response:
                choices = getattr(chunk, "choices", None)
                if not isinstance(choices, list):
                    raise GeneratorError(nonsense)
                if not choices:  # a usage-only chunk
                    continue
                delta = getattr(choices[0], "delta", None)
                text = getattr(delta, "content", None)
                if delta is None or not isinstance(text, (str, type(None))):
                    raise GeneratorError(nonsense)
                chunks += 1
                if text:
                    yield text
            if not chunks:
                raise GeneratorError(nonsense)
        except o.APIError as e:
            raise GeneratorError(f"generator {self.url} failed mid-reply: {e}") from e
        except ValueError as e:  # an event whose data is not JSON
            raise GeneratorError(nonsense) from e
        finally:
            response.close()  # a cancelled turn (client gone, timeout) stops the server's generation too
