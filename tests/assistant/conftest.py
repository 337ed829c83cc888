"""Shared fixtures for the assistant tests: a tiny catalog (with an XSS title), a fake index and a fake engine.

The fakes stand in for `retrieval.index.ProductIndex` and `assistant.generation.engine.Engine` so orchestrator and
server tests run in milliseconds; `tiny_assistant` wires them into a real `Assistant` (real state, router,
prompt building and grounding check).
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from retrieval.catalog import Catalog, Product
from retrieval.filters import Filters

XSS_TITLE = "<img src=x onerror=alert(1)>"


def tiny_products() -> list[Product]:
    """Ten products over two categories; one carries a script-injection title."""
    return [
        Product(
            "a1",
            "Trailblazer Rain Jacket",
            "apparel",
            price=49.99,
            brand="Peak",
            attributes={"color": "red", "material": "nylon"},
            description="Light waterproof shell.",
        ),
        Product(
            "a2",
            "Merino Crew Sweater",
            "apparel",
            price=79.0,
            brand="Woolly",
            attributes={"color": "navy", "material": "wool"},
        ),
        Product(
            "a3",
            "Summit Down Parka",
            "apparel",
            price=189.5,
            brand="Peak",
            attributes={"color": "black", "material": "down"},
        ),
        Product(
            "a4",
            "Linen Button Shirt",
            "apparel",
            price=35.0,
            brand="Acme",
            attributes={"color": "white", "material": "linen"},
        ),
        Product(
            "a5",
            XSS_TITLE,
            "apparel",
            price=12.0,
            brand="Acme",
            attributes={"color": "green", "material": "cotton"},
            image_url="https://example.invalid/x.png",
        ),
        Product(
            "s1",
            "Velocity Running Sneakers",
            "shoes",
            price=89.99,
            brand="Stride",
            attributes={"color": "blue", "waterproof": False},
        ),
        Product(
            "s2",
            "Ridge Hiking Boots",
            "shoes",
            price=129.0,
            brand="Peak",
            attributes={"color": "brown", "waterproof": True},
        ),
        Product(
            "s3",
            "Canvas Slip-On Sneakers",
            "shoes",
            price=39.0,
            brand="Acme",
            attributes={"color": "white", "waterproof": False},
        ),
        Product(
            "s4",
            "Leather Chelsea Boots",
            "shoes",
            price=149.0,
            brand="Stride",
            attributes={"color": "black", "material": "leather"},
        ),
        Product("s5", "Trail Sandals", "shoes", price=45.0, brand="Stride", attributes={"color": "red"}),
    ]


class FakeIndex:
    """Word-overlap search with exact filters, the shape of `ProductIndex.search`."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.queries: list[tuple[str, Filters | None]] = []

    def search(
        self, query: str, top_k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[tuple[Product, float]]:
        self.queries.append((query, filters))
        words = set(re.findall(r"\w+", query.lower()))
        hits = []
        for p in self.catalog:
            if filters is not None and not filters.matches(p):
                continue
            text = f"{p.title} {p.brand} {p.category} {' '.join(map(str, p.attributes.values()))}".lower()
            hits.append((p, len(words & set(re.findall(r"\w+", text))) + 0.001))
        hits.sort(key=lambda h: -h[1])
        return hits[:top_k]


class FakeEngine:
    """Recommends the first product card of the prompt, word by word.

    `price_shift` adds to the stated price (to exercise repair); `extra` is appended verbatim; `delay`
    seconds pass before each word (to watch streaming); `fail` raises instead; `script` is said instead.
    """

    def __init__(
        self,
        price_shift: float = 0.0,
        extra: str = "",
        fail: bool = False,
        delay: float = 0.0,
        script: str | None = None,
    ):
        self.script = script
        self.delay = delay
        self.price_shift = price_shift
        self.extra = extra
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    def stream(
        self, messages: list[dict[str, str]], adapter: str | None = None, settings: Any = None
    ) -> Iterator[str]:
        self.calls.append({"messages": messages, "adapter": adapter, "settings": settings})
        if self.fail:
            raise RuntimeError("generation failed")
        cards = re.findall(r"^\[(\S+)\] (.+?) \|.*?\$(\d+\.\d\d)", messages[0]["content"], re.M)
        if self.script is not None:
            text = self.script
        elif cards:
            _, title, price = cards[0]
            text = f"I recommend the {title}. It costs ${float(price) + self.price_shift:.2f}.{self.extra}"
        else:
            text = f"What are you looking for?{self.extra}"
        for word in re.findall(r"\S+\s*", text):
            if self.delay:
                time.sleep(self.delay)
            yield word


def tiny_shop_vocabulary():
    """The tiny shop's vocabulary file: the words shoppers use for its two categories (as the demo's)."""
    from assistant.understanding.vocabulary import ShopVocabulary

    return ShopVocabulary(
        {
            "apparel": ["apparel", "clothes", "clothing", "outfit", "wear", "garment"],
            "shoes": ["shoes", "shoe", "footwear", "sneakers", "boots"],
        }
    )


@pytest.fixture
def tiny_shop():
    return tiny_shop_vocabulary()


@pytest.fixture
def tiny_catalog() -> Catalog:
    return Catalog(tiny_products())


@pytest.fixture
def make_assistant(tiny_catalog):
    """Factory: a real `Assistant` over the tiny catalog with a `FakeIndex` and a `FakeEngine(**engine_kw)`;
    `apparel` has an adapter. Returns the assistant; its fakes are `.index` and `.engine`."""
    from assistant.orchestrator import Assistant

    def make(**engine_kw: Any) -> Assistant:
        return Assistant(
            FakeIndex(tiny_catalog),
            FakeEngine(**engine_kw),
            adapters=["apparel"],
            default_category="apparel",
            vocabulary=tiny_shop_vocabulary(),
        )

    return make


@pytest.fixture
def tiny_assistant(make_assistant):
    return make_assistant()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server():
    """Factory: run a FastAPI app under a real uvicorn server on 127.0.0.1 in a thread; returns its base URL.
    Every server started is shut down when the test ends."""

    import uvicorn

    servers = []

    def start(app: Any) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.time() + 30
        while not server.started:
            if time.time() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def build_tiny_bundle(folder: Any) -> Any:
    """Write a real assistant bundle with the tiny catalog: a 1-layer Llama with a BPE tokenizer and chat
    template (random weights, safetensors), an `apparel` LoRA adapter, and a hash-encoder index."""
    from pathlib import Path

    from peft import LoraConfig, get_peft_model

    from retrieval.fileio import atomic_write_json
    from retrieval.index import ProductIndex
    from training.pretrain import build_model, train_tokenizer

    folder = Path(folder)
    catalog = Catalog(tiny_products())
    texts = [f"{p.title} {p.brand} {p.attributes} ${p.price}" for p in catalog] * 5
    tok = train_tokenizer(
        texts + ["I recommend the jacket. It costs $49.99. Hello, what do you need?"] * 5, vocab_size=400
    )
    model = build_model(tok, hidden_size=32, num_layers=1, num_heads=2, max_positions=2048)
    model.save_pretrained(folder / "base")
    tok.save_pretrained(folder / "base")
    with warnings.catch_warnings():  # peft 0.21 reads transformers' deprecated `is_gradient_checkpointing`
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        lora = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    lora.save_pretrained(folder / "adapters" / "apparel")
    ProductIndex.build(catalog, encoder="hash:64").save(folder / "index")
    atomic_write_json(
        folder / "assistant.json",
        {"base": "base", "adapters": {"apparel": "adapters/apparel"}, "index": "index", "default_category": "apparel"},
    )
    return folder


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """A real tiny bundle folder (built once per session, ~2 s)."""
    return build_tiny_bundle(tmp_path_factory.mktemp("bundle"))
