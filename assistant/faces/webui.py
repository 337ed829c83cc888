"""The Gradio chat page: streamed replies, product cards, category and filter controls, thumbs up / down.

Built by `build_ui(assistant)` and mounted at `/` by `assistant.faces.server.build_app` (run `python app.py`).
Catalog and model text is always shown as text: replies are HTML-escaped before the chatbot renders them,
markdown image syntax is escaped too (the browser fetches no remote image a message or a repeated catalog text
names), and product cards are built from `html.escape`d fields, so a product titled `<img src=x onerror=...>`
shows literally. The raw conversation lives in a `gr.State`, so the model never sees escaped text.
What the assistant understood (`Reply.needs`) is shown as chips, and the filter controls follow it (see
`needs_chips` and `follow_reading`): removing a chip or picking another value for it adds the shopper's words
for it to the conversation ("any color is fine", "make it navy") and answers them, each phrasing first read
back through the assistant's own reader, so what the chips do is what the dialogue says.
Thumbs up / down append one dialogue record (the dialogue file format plus `feedback`, with a unique id) to a
JSONL file. Gradio's analytics are off.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import math
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.generation.remote_engine import GeneratorError
from assistant.orchestrator import Reply
from assistant.text import format_price, label

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
#sg-needs .token {border-radius: 999px;}
"""
_feedback_lock = threading.Lock()
# Gradio keeps each page session (a copy of the page's config plus the conversation, ~65 kB here) until 10,000
# sessions exist; a soak showed the server's memory creeping by that. The oldest sessions beyond this are dropped.
MAX_PAGE_SESSIONS = 500
MAX_ALTERNATIVES = 40  # an attribute with more distinct values in a category offers no values to change to
CANT_EDIT = "I can't change that need on its own yet: tell me in your own words what you'd like instead."


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


@dataclass(frozen=True)
class Chip:
    """One need as the page shows it.

    Attributes:
        text: the chip's words ("color: red", "not wool", "under $200", "brand: Zentro").
        field: what it constrains: an attribute name, `"not " + name`, `"price"`, `"brand"` or `"not brand"`.
        release: the shopper's words that drop it, in the order they are tried.
    """

    text: str
    field: str
    release: tuple[str, ...]


def _price(value: float) -> str:
    return (format_price(value) or "").removesuffix(".00")


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _said(name: str, value: Any) -> str:
    """An attribute need in words: `waterproof` (True), `waterproof: no` (False), `color: red or navy`."""
    values = _values(value)
    if all(v is True for v in values):
        return label(name)
    return f"{label(name)}: " + " or ".join("no" if v is False else str(v) for v in values)


def needs_chips(needs: Any) -> list[Chip]:
    """The chips for `needs` (a `ShopperNeeds` or its `to_dict()`): wanted attributes, excluded values, the price
    range, wanted brands and excluded brands, one chip each, in that order. The category is not a chip: the
    page's category control shows it.
    """
    n = needs.to_dict() if hasattr(needs, "to_dict") else dict(needs or {})
    chips = []
    for name, value in (n.get("attributes") or {}).items():
        said = label(name)
        chips.append(Chip(_said(name, value), name, (f"any {said} is fine", f"{said} doesn't matter")))
    for name, value in (n.get("exclude_attributes") or {}).items():
        said = label(name)
        words = _values(value)  # "not wool", "not red or navy"; "not waterproof"; "not waterproof: no"
        text = "not " + (" or ".join(words) if all(isinstance(v, str) for v in words) else _said(name, value))
        chips.append(Chip(text, "not " + name, (f"any {said} is fine", f"{said} doesn't matter")))
    lo, hi = n.get("min_price"), n.get("max_price")
    if lo is not None or hi is not None:
        text = f"{_price(lo)}-{_price(hi)}" if lo is not None and hi is not None else None
        text = text or (f"under {_price(hi)}" if hi is not None else f"over {_price(lo)}")
        chips.append(Chip(text, "price", ("any price is fine", "no budget")))
    if n.get("brands"):
        chips.append(Chip("brand: " + " or ".join(n["brands"]), "brand", ("any brand is fine",)))
    if n.get("exclude_brands"):
        also = " and ".join(n["exclude_brands"])
        chips.append(
            Chip("not " + " or ".join(n["exclude_brands"]), "not brand", (f"any brand is fine, {also} included",))
        )
    return chips


def chip_alternatives(
    chips: list[Chip], values: dict[str, list[str]], brands: list[str]
) -> dict[str, tuple[str, str]]:
    """What each chip can be changed to: option text -> (the chip's field, the shopper's words for it).

    Args:
        chips: the chips shown (`needs_chips`).
        values: the category's attribute values (attribute name -> distinct values in the catalog).
        brands: the category's brands.
    """
    shown = {c.text for c in chips}
    out: dict[str, tuple[str, str]] = {}
    for chip in chips:
        if chip.field == "brand":
            options = [(f"brand: {b}", b) for b in brands]
        elif chip.field in values:
            options = [(_said(chip.field, v), v) for v in values[chip.field]]
        else:
            continue
        for text, value in options:
            if text not in shown:
                out.setdefault(text, (chip.field, f"make it {value}"))
    return out


def follow_reading(
    controls: dict[str, Any], shown: dict[str, Any], reading: dict[str, Any], own: set[str]
) -> dict[str, Any]:
    """The filter controls after a reply: each follows the reading, except one the shopper set themselves (in
    `own`) that the turn's reading did not change: that one keeps the shopper's value, so it wins again.

    Args:
        controls: the controls' values this turn (`category`, `max_price`, `brands`).
        shown: the reading the page showed before the turn (same keys).
        reading: the reading after it (same keys).
        own: the controls the shopper set themselves this turn.
    """
    return {k: controls[k] if k in own and reading[k] == shown[k] else reading[k] for k in reading}


def category_values(catalog: Any) -> tuple[dict[str, dict[str, list[str]]], dict[str, list[str]]]:
    """Per category, what a chip can be changed to: each attribute's distinct text values (an attribute with
    more than `MAX_ALTERNATIVES` is free text and left out), and the brands."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    brands: dict[str, set[str]] = defaultdict(set)
    for p in catalog:
        if p.brand:
            brands[p.category].add(p.brand)
        for name, value in p.attributes.items():
            found[p.category][name].update(v for v in _values(value) if isinstance(v, str) and v.strip())
    values = {c: {n: sorted(vs) for n, vs in a.items() if 0 < len(vs) <= MAX_ALTERNATIVES} for c, a in found.items()}
    return values, {c: sorted(b) for c, b in brands.items()}


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

    values, category_brands = category_values(catalog)
    start = {"category": AUTO, "max_price": top_price, "brands": []}

    def shown_reading(conv: list[dict]) -> dict[str, Any]:
        """The controls as the page last set them from a reading (the page's own start before any reply)."""
        return next((m["reading"] for m in reversed(conv) if m.get("reading")), start)

    def own_controls(conv: list[dict], category: str, max_price: float | None, chosen: list[str]) -> set[str]:
        """The controls the shopper moved away from what the page showed: those win over the reading."""
        shown, own = shown_reading(conv), set()
        if category not in (AUTO, shown["category"]):
            own.add("category")
        if max_price is not None and abs(float(max_price) - shown["max_price"]) >= 0.5:
            own.add("max_price")
        if chosen and set(chosen) != set(shown["brands"]):
            own.add("brands")
        return own

    def reading_controls(needs: Any, category: str | None) -> dict[str, Any]:
        """The controls' values that show `needs` (the slider at its far right: no ceiling)."""
        hi = needs.max_price
        return {
            "category": category or AUTO,
            "max_price": top_price if hi is None else float(min(top_price, max(0, math.ceil(hi)))),
            "brands": [b for b in needs.brands if b in brands],
        }

    def chip_update(needs: Any, category: str | None) -> Any:
        chips = needs_chips(needs)
        texts = [c.text for c in chips]
        options = chip_alternatives(chips, values.get(category, {}), category_brands.get(category, []))
        return gr.update(choices=texts + list(options), value=texts)

    def respond(
        message: str, conv: list[dict], category: str, max_price: float, chosen_brands: list[str]
    ) -> Iterator[tuple[Any, ...]]:
        message, chosen_brands = (message or "").strip(), list(chosen_brands or [])
        same = (gr.skip(),) * 4  # the chips and the three filter controls, unchanged
        if not message:
            yield _display(conv), gr.skip(), conv, "", *same
            return
        own, shown_before = own_controls(conv, category, max_price, chosen_brands), shown_reading(conv)
        conv = conv + [{"role": "user", "content": message[:4000]}]
        forced = category if "category" in own else None
        if own & {"max_price", "brands"}:  # the shopper's words of this turn are newer than a moved control
            with contextlib.suppress(ValueError):  # an unknown category: the turn below says so
                now = reading_controls(assistant.understand(conv, category=forced).needs, None)
                own -= {k for k in ("max_price", "brands") if now[k] != shown_before[k]}
        filters: dict[str, Any] = {}
        if "max_price" in own:  # at the far right: any listed price, over a budget the reading has
            filters["max_price"] = float(max_price)
        if "brands" in own:
            filters["brands"] = chosen_brands
        shown = _display(conv) + [{"role": "assistant", "content": ""}]
        yield shown, gr.skip(), conv, "", *same
        text = ""
        try:
            for event in assistant.stream(conv, category=forced, filters=filters):
                if isinstance(event, Reply):
                    needs = event.needs  # a forced category is the shopper's setting, not a reading
                    reading = reading_controls(needs, shown_before["category"] if forced else event.category)
                    controls = {"category": category, "max_price": max_price, "brands": chosen_brands}
                    after = follow_reading(controls, shown_before, reading, own)
                    conv = conv + [
                        {
                            "role": "assistant",
                            "content": event.text,
                            "products": event.products,
                            "category": event.category,
                            "needs": needs.to_dict(),
                            "reading": reading,
                        }
                    ]
                    shown[-1] = {"role": "assistant", "content": show(event.text)}
                    cards = render_cards([catalog.get(i) for i in event.products or event.candidates[:3]])
                    chips = chip_update(needs, event.category)
                    yield shown, cards, conv, "", chips, after["category"], after["max_price"], after["brands"]
                else:
                    text += event
                    shown[-1] = {"role": "assistant", "content": show(text)}
                    yield shown, gr.skip(), conv, "", *same
        except GeneratorError as e:  # the generator server answers nonsense or not at all: one line, no traceback
            log.error("chat turn failed: %s", e)
            shown[-1] = {
                "role": "assistant",
                "content": show("Sorry, the reply generator is not answering right now."),
            }
            yield shown, gr.skip(), conv[:-1], "", *same
        except Exception as e:  # noqa: BLE001 - show the failure in the chat; the page keeps working
            log.exception("chat turn failed")
            shown[-1] = {"role": "assistant", "content": show(f"Sorry, something went wrong ({type(e).__name__}).")}
            yield shown, gr.skip(), conv[:-1], "", *same

    def edit_needs(
        picked: list[str], conv: list[dict], category: str, max_price: float, chosen_brands: list[str]
    ) -> Iterator[tuple[Any, ...]]:
        """A chip removed (a release) or changed (a correction): the shopper's words for it join the
        conversation and are answered, once the reader reads them as exactly that change."""
        last = next((m for m in reversed(conv) if m.get("role") == "assistant" and "needs" in m), None)
        if last is None:
            yield (gr.skip(),) * 8
            return
        chips = needs_chips(last["needs"])
        texts, picked = [c.text for c in chips], list(picked or [])
        options = chip_alternatives(chips, values.get(last["category"], {}), category_brands.get(last["category"], []))
        added = [t for t in picked if t not in texts and t in options]
        removed = [c for c in chips if c.text not in picked]
        if added:
            field, words = options[added[0]]
            changed = next(c.text for c in chips if c.field == field)
            tries, expected = [words], set(texts) - {changed} | {added[0]}
        elif removed:
            tries, expected = list(removed[0].release), set(texts) - {removed[0].text}
        else:
            yield (gr.skip(),) * 8
            return
        forced = category if "category" in own_controls(conv, category, max_price, chosen_brands) else None
        for words in tries:
            reading = assistant.understand(conv + [{"role": "user", "content": words}], category=forced)
            if {c.text for c in needs_chips(reading.needs)} == expected:
                for out in respond(words, conv, category, max_price, chosen_brands):
                    yield *out[:3], gr.skip(), *out[4:]  # what the shopper is typing stays
                return
        gr.Warning(CANT_EDIT)
        yield *(gr.skip(),) * 4, gr.update(value=texts), *(gr.skip(),) * 3

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
                needs_box = gr.Dropdown(
                    [],
                    value=[],
                    multiselect=True,
                    label="What I understood (x drops a need; pick a value to change one)",
                    elem_id="sg-needs",
                )
                category = gr.Dropdown([AUTO] + list(assistant.categories), value=AUTO, label="Category")
                max_price = gr.Slider(0, top_price, value=top_price, step=1, label="Max price (far right: any)")
                chosen = gr.Dropdown(brands, value=[], multiselect=True, label="Brands")
                gr.Markdown("**Products**")
                cards = gr.HTML(render_cards([]), elem_id="sg-cards")
        controls = [needs_box, category, max_price, chosen]
        inputs, outputs = [box, conv, category, max_price, chosen], [chatbot, cards, conv, box, *controls]
        box.submit(respond, inputs, outputs)
        send.click(respond, inputs, outputs)
        needs_box.input(edit_needs, [needs_box, conv, category, max_price, chosen], outputs)
        chatbot.like(feedback, [conv], None)
        reset = (gr.update(choices=[], value=[]), AUTO, top_price, [])
        clear.click(lambda: ([], render_cards([]), [], "", *reset), None, outputs)
        chatbot.clear(lambda: (render_cards([]), [], *reset), None, [cards, conv, *controls])  # its trash button
    ui.queue(default_concurrency_limit=8)
    ui.state_session_capacity = MAX_PAGE_SESSIONS  # read when the page is mounted
    return ui


def _display(conv: list[dict]) -> list[dict]:
    return [{"role": m["role"], "content": show(m["content"])} for m in conv]
