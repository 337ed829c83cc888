"""The Gradio chat page: streamed replies, product cards, category and filter controls, thumbs up / down.

Built by `build_ui(assistant)` and mounted at `/` by `assistant.faces.server.build_app` (run `python app.py`).
Catalog and model text is always shown as text: replies are HTML-escaped before the chatbot renders them,
markdown image syntax is escaped too (the browser fetches no remote image a message or a repeated catalog text
names), and product cards are built from `html.escape`d fields, so a product titled `<img src=x onerror=...>`
shows literally. The raw conversation lives in a `gr.State`, so the model never sees escaped text.
Thumbs up / down append one dialogue record (the dialogue file format plus `feedback`, with a unique id) to a
JSONL file. Gradio's analytics are off.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.generation.remote_engine import GeneratorError
from assistant.orchestrator import Reply
from assistant.text import format_price

log = logging.getLogger(__name__)
AUTO = "Auto (from the conversation)"
EXAMPLES = {
    "apparel": "I need a warm jacket for winter, under $120",
    "shoes": "Waterproof hiking boots, not too heavy",
    "home": "A wool rug for the living room, under $200",
    "electronics": "Noise cancelling headphones for the train, under $150",
    "beauty": "A gentle moisturizer for dry skin, fragrance free",
}
UI_CSS = """
.sg-cards {display: flex; flex-direction: column; gap: 10px;}
.sg-card {display: flex; gap: 10px; border: 1px solid var(--border-color-primary); border-radius: 10px;
          padding: 10px; background: var(--background-fill-secondary);}
.sg-card img {width: 72px; height: 72px; object-fit: cover; border-radius: 6px; flex: none;}
.sg-title {font-weight: 600; word-break: break-word;}
.sg-price {color: var(--color-accent); font-weight: 600;}
.sg-meta {font-size: 0.85em; opacity: 0.85;}
.sg-empty {opacity: 0.7; font-style: italic;}
"""
_feedback_lock = threading.Lock()
# Gradio keeps each page session (a copy of the page's config plus the conversation, ~65 kB here) until 10,000
# sessions exist; a soak showed the server's memory creeping by that. The oldest sessions beyond this are dropped.
MAX_PAGE_SESSIONS = 500


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def render_cards(products: list[Any]) -> str:
    """HTML cards for `products`, every catalog field escaped; images only from http(s) URLs."""
    if not products:
        return '<div class="sg-empty">Recommended products will appear here.</div>'

    out = ['<div class="sg-cards">']
    for p in products:
        img = ""
        if p.image_url and p.image_url.startswith(("https://", "http://")):
            img = f'<img src="{_esc(p.image_url)}" alt="" loading="lazy" referrerpolicy="no-referrer">'
        attrs = "; ".join(
            f"{_esc(k)}: {_esc(', '.join(map(str, v)) if isinstance(v, list) else v)}"
            for k, v in list(p.attributes.items())[:4]
        )
        price = format_price(p.price, p.currency)
        out.append(
            f'<div class="sg-card" data-product-id="{_esc(p.id)}">{img}<div>'
            f'<div class="sg-title">{_esc(p.title)}</div>'
            + (f'<div class="sg-price">{_esc(price)}</div>' if price else "")
            + f'<div class="sg-meta">{_esc(p.brand or "")}{" · " if p.brand and attrs else ""}{attrs}</div>'
            f"</div></div>"
        )
    out.append("</div>")
    return "".join(out)


def example_prompt(category: str, catalog: Any) -> str:
    """A request for a category without a hand-written example: its most common product type (or the
    category name) under its median price, rounded up to a round number."""
    products = [p for p in catalog if p.category == category]
    types = Counter(str(p.attributes["type"]) for p in products if isinstance(p.attributes.get("type"), str))
    what = types.most_common(1)[0][0] if types else category
    prices = sorted(p.price for p in products if p.price is not None)
    if not prices:
        return f"What {what} would you recommend?"
    median = prices[len(prices) // 2]
    step = 10 if median < 200 else 50 if median < 1000 else 100
    return f"I'm looking for {what}, under ${int(-(-median // step) * step)}"


def show(text: str) -> str:
    """Reply text for the chatbot: HTML-escaped, so catalog or model text can never become markup, and with
    markdown images (`![alt](url)`, `![alt][ref]`) escaped to plain text, so the browser fetches nothing."""
    return html.escape(text, quote=False).replace("![", "!\\[")


def append_feedback(path: str | Path, record: dict[str, Any]) -> None:
    """Append one JSON line to `path` in a single write under a lock (fsync'd), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    with _feedback_lock:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def build_ui(assistant: Any, feedback_path: str | Path = "feedback.jsonl") -> Any:
    """The chat page for `assistant` (a `gr.Blocks`; mount it with `gr.mount_gradio_app`).

    Args:
        assistant: an `assistant.orchestrator.Assistant`.
        feedback_path: JSONL file that thumbs up / down records are appended to.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry
    import gradio as gr

    catalog = assistant.catalog
    brands = sorted({p.brand for p in catalog if p.brand})
    prices = [p.price for p in catalog if p.price is not None and math.isfinite(p.price)]
    # a whole number above 0, so the slider has a range and its far-right value is the one the page sends
    top_price = float(max(1, math.ceil(max(prices)))) if prices else 1000.0
    examples = [EXAMPLES.get(c) or example_prompt(c, catalog) for c in assistant.categories][:6]

    def respond(
        message: str, conv: list[dict], category: str, max_price: float, chosen_brands: list[str]
    ) -> Iterator[tuple[list[dict], str, list[dict], str]]:
        message = (message or "").strip()
        if not message:
            yield _display(conv), gr.skip(), conv, ""
            return
        conv = conv + [{"role": "user", "content": message[:4000]}]
        filters: dict[str, Any] = {}
        if max_price and max_price < top_price:
            filters["max_price"] = float(max_price)
        if chosen_brands:
            filters["brands"] = list(chosen_brands)
        shown = _display(conv) + [{"role": "assistant", "content": ""}]
        yield shown, gr.skip(), conv, ""
        text = ""
        try:
            for event in assistant.stream(conv, category=None if category == AUTO else category, filters=filters):
                if isinstance(event, Reply):
                    conv = conv + [
                        {
                            "role": "assistant",
                            "content": event.text,
                            "products": event.products,
                            "category": event.category,
                        }
                    ]
                    shown[-1] = {"role": "assistant", "content": show(event.text)}
                    cards = render_cards([catalog.get(i) for i in event.products or event.candidates[:3]])
                    yield shown, cards, conv, ""
                else:
                    text += event
                    shown[-1] = {"role": "assistant", "content": show(text)}
                    yield shown, gr.skip(), conv, ""
        except GeneratorError as e:  # the generator server answers nonsense or not at all: one line, no traceback
            log.error("chat turn failed: %s", e)
            shown[-1] = {
                "role": "assistant",
                "content": show("Sorry, the reply generator is not answering right now."),
            }
            yield shown, gr.skip(), conv[:-1], ""
        except Exception as e:  # noqa: BLE001 - show the failure in the chat; the page keeps working
            log.exception("chat turn failed")
            shown[-1] = {"role": "assistant", "content": show(f"Sorry, something went wrong ({type(e).__name__}).")}
            yield shown, gr.skip(), conv[:-1], ""

    def feedback(conv: list[dict], data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        if data.liked not in (True, False) or not isinstance(index, int) or index >= len(conv):
            return
        msg = conv[index]
        if msg.get("role") != "assistant":
            return
        messages = [
            {"role": m["role"], "content": m["content"], "products": m.get("products", [])} for m in conv[: index + 1]
        ]
        append_feedback(
            feedback_path,
            {
                "id": f"feedback-{uuid.uuid4().hex}",  # unique under concurrent thumbs (load_dialogues needs it)
                "category": msg.get("category") or assistant.default_category,
                "messages": messages,
                "feedback": "like" if data.liked else "dislike",
                "time": time.time(),
            },
        )

    feedback.__annotations__["data"] = gr.LikeData  # gradio finds event data by the real type, not a string

    with gr.Blocks(title="shopguide", analytics_enabled=False, delete_cache=(3600, 3600)) as ui:
        gr.Markdown("## shopguide\nTell me what you are shopping for; I recommend products from the catalog.")
        conv = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    height=460,
                    elem_id="sg-chat",
                    feedback_options=("Like", "Dislike"),
                    sanitize_html=True,
                    buttons=["copy"],
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="e.g. a red rain jacket under $60",
                        show_label=False,
                        scale=5,
                        elem_id="sg-input",
                        max_length=4000,
                        autofocus=True,
                    )
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="sg-send")
                gr.Examples(examples=examples, inputs=box, label="Try")
                clear = gr.Button("New conversation", size="sm")
            with gr.Column(scale=2):
                category = gr.Dropdown([AUTO] + list(assistant.categories), value=AUTO, label="Category")
                max_price = gr.Slider(0, top_price, value=top_price, step=1, label="Max price (far right: any)")
                chosen = gr.Dropdown(brands, value=[], multiselect=True, label="Brands")
                gr.Markdown("**Products**")
                cards = gr.HTML(render_cards([]), elem_id="sg-cards")
        inputs, outputs = [box, conv, category, max_price, chosen], [chatbot, cards, conv, box]
        box.submit(respond, inputs, outputs)
        send.click(respond, inputs, outputs)
        chatbot.like(feedback, [conv], None)
        clear.click(lambda: ([], render_cards([]), [], ""), None, outputs)
        chatbot.clear(lambda: (render_cards([]), []), None, [cards, conv])  # the chatbot's own trash button
    ui.queue(default_concurrency_limit=8)
    ui.state_session_capacity = MAX_PAGE_SESSIONS  # read when the page is mounted
    return ui


def _display(conv: list[dict]) -> list[dict]:
    return [{"role": m["role"], "content": show(m["content"])} for m in conv]
