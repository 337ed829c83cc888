"""The per-turn loop of the shopping assistant: needs -> route -> retrieve -> generate -> check -> repair.

    from assistant import Assistant
    a = Assistant.from_pretrained("demo")
    r = a.reply([{"role": "user", "content": "a red jacket under $80"}])
    r.text, r.products                      # the grounded reply and the product ids it recommends
    for event in a.stream(messages):        # str chunks as they are generated, then the final `Reply`
        ...

`Assistant` keeps no per-conversation state: every call gets the whole dialogue (OpenAI-style messages),
so one instance serves many concurrent conversations. The streamed chunks are the model's raw words; the
final `Reply.text` is the checked text (wrong prices / attribute values replaced by the catalog's, unknown
product names flagged), and `Reply.corrections` says what changed so a streaming face can show it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.checks import grounding
from assistant.checks.answers import off_topic_reply
from assistant.checks.pipeline import CHECKS, Turn, run_checks
from assistant.checks.repair import NOTHING_LEFT
from assistant.generation.base_models import bundle_base, is_packaged_base
from assistant.generation.chat_format import PromptFormat, build_messages, render_prompt, shown_products
from assistant.generation.ct2_engine import CT2Engine
from assistant.generation.engine import Engine, GenerationSettings
from assistant.generation.model import load_adapters, load_base
from assistant.generation.remote_engine import OpenAIEngine
from assistant.text import format_price, opens_with_yes_or_no, sentence_cut
from assistant.understanding.needs import ShopperNeeds, Vocabulary
from assistant.understanding.questions import Ask, reply_products
from assistant.understanding.reading import Reading, read_message
from assistant.understanding.vocabulary import ShopVocabulary
from retrieval.fileio import DataError, Problem
from retrieval.filters import Filters
from retrieval.index import ProductIndex

log = logging.getLogger(__name__)
TOP_K = 5
GOODBYE = "Sorry I couldn't find the right thing for you this time. Thanks for stopping by, and come back any time!"
OTHER_LANGUAGE = "Sorry, this shop speaks English only; could you tell me in English what you are looking for?"
HISTORY_USER_TURNS = 3  # user messages that make up the search query


@dataclass
class Reply:
    """One assistant turn.

    Attributes:
        text: the reply after the grounding check and repair.
        products: ids of catalog products the reply recommends or discusses, in order of mention.
        category: the category the turn was routed to (also the adapter used, when there is one).
        needs: the shopper's needs read from the dialogue.
        grounding: the `assistant.checks.grounding.GroundingReport` of the generated text (None when unchecked).
        candidates: ids of the products shown to the model for this turn.
        notes: what the assistant did that the shopper should know (relaxed filters).
        corrections: human-readable repairs made to the generated text (empty when it was grounded).
        usage: `{"prompt_tokens", "completion_tokens", "total_tokens"}` by the engine's tokenizer (the rendered
            prompt, and the generated text before repair); empty when the engine has no tokenizer.
    """

    text: str
    products: list[str]
    category: str | None
    needs: ShopperNeeds
    grounding: Any = None
    candidates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)


def _text(content: Any) -> str:
    """Message content as text: a string, or OpenAI content parts (text parts joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return "" if content is None else str(content)


def normalize_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """User / assistant turns as `{"role", "content": str}`; system messages are dropped (the assistant
    writes its own system prompt). Raises ValueError when there is no user message to answer."""
    out = [
        {"role": m["role"], "content": _text(m.get("content"))}
        for m in messages
        if isinstance(m, dict) and m.get("role") in ("user", "assistant")
    ]
    if not out or out[-1]["role"] != "user":
        raise ValueError("the last message must be a user message")
    return out


def merge_filters(base: Filters, extra: Filters | dict | None) -> Filters:
    """`base` (from the needs) with every non-empty field of `extra` (e.g. UI filters) taking precedence."""
    if extra is None:
        return base
    if isinstance(extra, dict):
        extra = Filters.from_dict(extra)
    return replace(base, **{k: v for k, v in vars(extra).items() if v not in (None, [], {})})


def relaxations(filters: Filters) -> Iterator[tuple[Filters, str]]:
    """Ever looser versions of `filters`, each with what it gave up, in the order a shop assistant would:
    the most recently stated wanted attribute first (the first one, usually the product type, last), then
    the brand, the price range, the exclusions and finally the first attribute. Rejected ids always stay."""

    wanted = list(filters.attributes_equal.items())
    for name, value in reversed(wanted[1:]):
        filters = replace(filters, attributes_equal={k: v for k, v in filters.attributes_equal.items() if k != name})
        yield filters, f"{name}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
    if filters.brands:
        said = " or ".join(filters.brands)
        filters = replace(filters, brands=[])
        yield filters, said
    if filters.min_price is not None or filters.max_price is not None:
        lo, hi = format_price(filters.min_price), format_price(filters.max_price)
        said = f"{lo}-{hi}" if lo and hi else f"under {hi}" if hi else f"over {lo}"
        filters = replace(filters, min_price=None, max_price=None)
        yield filters, said
    if filters.exclude_attributes or filters.exclude_brands or filters.attributes_contain:
        filters = replace(filters, exclude_attributes={}, exclude_brands=[], attributes_contain={})
        yield filters, "your exclusions"
    if filters.attributes_equal:
        ((name, value),) = filters.attributes_equal.items()
        filters = replace(filters, attributes_equal={})
        yield filters, f"{name}: {value}"


@dataclass
class Plan:
    """What a turn knows before generating: the reading of the shopper's message, the retrieved products (the
    products the message asks about lead them), notes for the shopper (relaxed filters), the filters that found
    the products and the search query."""

    reading: Reading
    products: list[Any]
    notes: list[str]
    filters: Filters
    query: str = ""

    # the reading's parts, named as the faces and tests know them
    @property
    def history(self) -> list[dict[str, str]]:
        return self.reading.history

    @property
    def category(self) -> str | None:
        return self.reading.category

    @property
    def needs(self) -> ShopperNeeds:
        return self.reading.needs

    @property
    def ask(self) -> Ask:
        return self.reading.ask


class Assistant:
    """The shopping assistant over one catalog index, one generation engine and its category adapters.

    Args:
        index: a `retrieval.index.ProductIndex` (anything with `.search(query, top_k, filters)` and `.catalog`).
        engine: an `assistant.generation.engine.Engine` (anything with `.stream(messages, adapter, settings)`).
        adapters: categories that have an adapter; other categories use the base model (`adapter=None`).
        default_category: the category when the dialogue names none.
        check_reply: the grounding checker; defaults to `assistant.checks.grounding.check_reply`.
        top_k: products retrieved per turn.
        search_mode: the index's retrieval mode ("hybrid", "dense" or "lexical"; a bundle's `retrieval.mode`).
        vocabulary: an `understanding.vocabulary.ShopVocabulary` (a bundle's `vocabulary.json`) adding synonyms to
            the vocabulary read from the catalog; None: the catalog's alone.
    """

    # how prompts are rendered: a bundle's `"prompt"` (set by `from_pretrained`); the default is the whole history
    prompt_format = PromptFormat()

    def __init__(
        self,
        index: Any,
        engine: Any,
        *,
        adapters: list[str] | tuple[str, ...] = (),
        default_category: str | None = None,
        check_reply: Any = None,
        top_k: int = TOP_K,
        search_mode: str = "hybrid",
        vocabulary: ShopVocabulary | None = None,
    ):
        self.index = index
        self.engine = engine
        self.adapters = list(adapters)
        self.catalog = index.catalog
        self.categories = sorted(set(self.catalog.categories()) | set(self.adapters))
        self.default_category = default_category or (self.categories[0] if self.categories else None)
        self.vocabulary = Vocabulary.from_catalog(self.catalog, shop=vocabulary)
        self.check_reply = check_reply if check_reply is not None else grounding.check_reply
        self.top_k = top_k
        self.search_mode = search_mode
        self.checks = CHECKS  # the reply checks in order (`assistant.checks.pipeline`); () passes the model's text
        self._search_lock = threading.Lock()

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        device: str | None = None,
        dtype: Any = None,
        warm_up: bool = True,
        engine: str | None = None,
        threads: int = 1,
        generator: str | None = None,
        generator_model: str | None = None,
        generator_key: str | None = None,
        **kwargs: Any,
    ) -> Assistant:
        """Load an assistant bundle folder (`assistant.json`, base model, adapters, index).

        Args:
            path: the bundle folder, e.g. `demo`.
            device, dtype: passed to `assistant.generation.model.load_base` (None: chosen there).
            warm_up: run `warm_up()` before returning.
            engine: "ctranslate2" (fast CPU engine, adapters merged and converted once), "torch" (the reference,
                and the GPU path), or None/"auto": the bundle's `engine` key, else ctranslate2 on CPU when it
                is installed, else torch.
            threads: CPU threads of the CTranslate2 engine (torch's are set by the caller).
            generator: the URL of an OpenAI-compatible server (vLLM, ...) that generates instead of a local
                engine (`assistant.generation.remote_engine`): the base model is not loaded here; a category with an
                adapter asks for the model named like the category, others for `generator_model`.
            generator_model: the base's name on that server (default: the bundle's `base`).
            generator_key: its bearer token (default: none).
            **kwargs: passed to `Assistant` (e.g. `top_k`).

        Raises:
            DataError: the bundle or one of its parts is missing or malformed (names file and field).
        """
        path = Path(path)
        cfg_file = path / "assistant.json"
        if not cfg_file.exists():
            raise DataError(
                [
                    Problem(
                        str(cfg_file),
                        None,
                        None,
                        "no assistant bundle here (no assistant.json); "
                        "`shopguide build` or `shopguide build-demo` makes one",
                    )
                ]
            )
        try:
            cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError([Problem(str(cfg_file), None, None, f"not valid JSON: {e}")]) from e
        problems = [
            Problem(str(cfg_file), None, k, "required path is missing")
            for k in ("base", "index")
            if not isinstance(cfg.get(k), str)
        ]
        adapters = cfg.get("adapters") or {}
        if not isinstance(adapters, dict):
            problems.append(Problem(str(cfg_file), None, "adapters", "must be an object category -> folder"))
            adapters = {}
        folders = [("index", cfg.get("index"))] + [(f"adapters.{c}", p) for c, p in adapters.items()]
        if not is_packaged_base(cfg.get("base")):
            folders.append(("base", cfg.get("base")))
        for key, rel in folders:
            if isinstance(rel, str) and not (path / rel).is_dir():
                problems.append(Problem(str(cfg_file), None, key, f"folder {path / rel} does not exist"))
        try:  # the prompt format the bundle's adapters were trained with (absent: the whole history, no state)
            prompt_format = PromptFormat.from_dict(cfg.get("prompt"))
        except ValueError as e:
            problems.append(Problem(str(cfg_file), None, "prompt", str(e)))
        if problems:
            raise DataError(problems)

        index = ProductIndex.load(path / cfg["index"])
        adapter_dirs = {c: str(path / p) for c, p in adapters.items()}
        kind = "openai" if generator else choose_engine(engine or cfg.get("engine"), device)
        if generator:
            models = {None: generator_model or Path(cfg["base"]).name, **{c: c for c in adapters}}
            generator_engine: Any = OpenAIEngine(generator, models, api_key=generator_key)
        elif kind == "ctranslate2":
            base = bundle_base(path, cfg["base"])
            # the adapters are merged and converted behind the base (once; cached), so a first start answers sooner
            generator_engine = CT2Engine.from_folders(
                base, adapter_dirs, threads=threads, device=device or "cpu", background=True
            )
        else:
            model, tok = load_base(bundle_base(path, cfg["base"]), device=device, dtype=dtype)
            if adapters:
                model = load_adapters(model, adapter_dirs)
            generator_engine = Engine(model, tok)
        log.info(
            "loaded assistant bundle %s: %d products, adapters %s, engine %s",
            path,
            len(index.catalog),
            sorted(adapters),
            kind,
        )
        retrieval = cfg.get("retrieval") if isinstance(cfg.get("retrieval"), dict) else {}
        vocab_file = path / cfg.get("vocabulary", "vocabulary.json")
        kwargs.setdefault("search_mode", retrieval.get("mode") or "hybrid")
        kwargs.setdefault("vocabulary", ShopVocabulary.load(vocab_file) if vocab_file.is_file() else None)
        assistant = cls(
            index, generator_engine, adapters=sorted(adapters), default_category=cfg.get("default_category"), **kwargs
        )
        assistant.prompt_format = prompt_format
        if warm_up:
            assistant.warm_up()
        return assistant

    def warm_up(self) -> None:
        """One reading, one search and a one-token generation, so the first shopper does not pay for lazy
        loading (language detector, query encoder, first forward pass)."""

        t0 = time.perf_counter()
        self.understand([{"role": "user", "content": "I am looking for something nice for the weekend"}])
        products = [p for p, _ in self.search("hello", top_k=2)]
        msgs = build_messages([{"role": "user", "content": "hello"}], products, self.default_category)
        for _ in self.engine.stream(msgs, adapter=None, settings=GenerationSettings(max_new_tokens=1)):
            pass
        log.info("warm-up took %.1f s", time.perf_counter() - t0)

    # -- one turn ---------------------------------------------------------------------------------------

    def search(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[tuple[Any, float]]:
        """Products for `query` under `filters` (thread-safe wrapper of the index search)."""
        with self._search_lock:
            return self.index.search(query, top_k=top_k or self.top_k, filters=filters, mode=self.search_mode)

    def _retrieve(self, query: str, filters: Filters) -> tuple[list[Any], list[str], Filters]:
        """Search with `filters`, relaxing them step by step when nothing matches; returns (products, notes,
        the filters that found them)."""
        hits = self.search(query, filters=filters)
        dropped: list[str] = []
        if not hits:
            for looser, said in relaxations(filters):
                dropped.append(said)
                hits = self.search(query, filters=looser)
                filters = looser
                if hits:
                    break
        notes = []
        if dropped:
            notes.append(
                f"I couldn't find anything with {', '.join(dropped)}, so here are the closest options. "
                if hits
                else "I couldn't find any products matching your request. "
            )
        return [p for p, _ in hits], notes, filters

    def understand(self, messages: list[dict[str, Any]], category: str | None = None, intents: Any = None) -> Reading:
        """The reading of the last user message (`understanding.reading.Reading`; `shopguide understand`).

        Args:
            messages: the dialogue so far, OpenAI-style; the last one is the user's.
            category: force a category (None: routed from the dialogue).
            intents: a learned intent reader (`.predict(message, history) -> str`); None: the rules.

        Raises:
            ValueError: no user message to read, or an unknown category.
        """
        history = normalize_messages(messages)
        if category is not None and category not in self.categories:
            raise ValueError(f"unknown category {category!r}; choose one of {', '.join(self.categories)}")
        return read_message(
            history,
            catalog=self.catalog,
            vocabulary=self.vocabulary,
            categories=self.categories,
            check=self.check_reply,
            default_category=self.default_category,
            category=category,
            intents=intents,
        )

    def plan(
        self, messages: list[dict[str, Any]], category: str | None = None, filters: Filters | dict | None = None
    ) -> Plan:
        """Everything before generation: the reading of the last message, then retrieval (see `Plan`)."""
        reading = self.understand(messages, category)
        history, needs, ask = reading.history, reading.needs, reading.ask
        said = " ".join(m["content"] for m in [m for m in history if m["role"] == "user"][-HISTORY_USER_TURNS:])
        query = f"{said} {' '.join(str(v) for v in needs.attributes.values())}".strip()
        products, notes, used = self._retrieve(query, merge_filters(needs.to_filters(), filters))
        replies = [m["content"] for m in history if m["role"] == "assistant"]
        notes = [n for n in notes if not any(n.strip() in r for r in replies)]  # say a relaxation once
        if ask.kind in ("attribute", "compare"):  # "what color is the first one?": it is on the model's cards
            # (only for questions about it: "that one doesn't work" must not bring a rejected product back)
            asked = [self.catalog.get(pid) for pid in ask.products]
            products = asked + [p for p in products if p.id not in ask.products][: max(0, self.top_k - len(asked))]
        return Plan(reading, products, notes, used, query)

    def stream(
        self,
        messages: list[dict[str, Any]],
        category: str | None = None,
        filters: Filters | dict | None = None,
        settings: Any = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[str | Reply]:
        """Answer the last user message, streaming.

        Args:
            messages: the dialogue so far, OpenAI-style; the last one is the user's.
            category: force a category (None: routed from the dialogue).
            filters: extra hard filters (e.g. from the UI) over the ones read from the dialogue.
            settings: `assistant.generation.engine.GenerationSettings` (None: the engine's defaults).
            cancel: when set (the client went away, a timeout), generation stops at the next token and the
                reply ends with what was generated so far.

        Yields:
            `str` text chunks as they are generated, then exactly one final `Reply`.

        Raises:
            ValueError: no user message to answer, or an unknown category.
        """

        plan = self.plan(messages, category, filters)
        reading, products, notes = plan.reading, plan.products, plan.notes
        category, needs, ask = reading.category, reading.needs, reading.ask
        if ask.kind == "off_topic":  # nothing to shop for: redirect instead of answering from the model's memory
            text = off_topic_reply(needs, self.vocabulary.wording(category))
            log.info("turn: category=%s off-topic message, redirected", category)
            yield text
            yield Reply(text=text, products=[], category=category, needs=needs, notes=notes)
            return
        if reading.intent == "other_language" or reading.language != "en":  # the model and the checks read English
            log.info("turn: message in %s, answered that the shop speaks English", reading.language)
            yield OTHER_LANGUAGE
            yield Reply(text=OTHER_LANGUAGE, products=[], category=category, needs=needs)
            return
        if reading.intent == "leave" and ask.kind != "closing":  # "this is going nowhere. bye": not a purchase
            log.info("turn: category=%s the shopper leaves without buying", category)
            yield GOODBYE
            yield Reply(text=GOODBYE, products=[], category=category, needs=needs)
            return
        adapter = category if category in self.adapters else None
        wording, fmt = self.vocabulary.wording(category), self.prompt_format
        if fmt.state:  # the dialogue state as training rendered it: needs read so far, products earlier replies named
            named = reversed(reply_products(reading.history, self.check_reply, self.catalog, category))
            titles = [self.catalog.get(pid).title for pid in shown_products(list(named))]
            prompt = build_messages(reading.history, products, category, wording, fmt, needs.to_dict(), titles)
        else:
            prompt = build_messages(reading.history, products, category, wording=wording, fmt=fmt)
        turn = Turn(reading, self.catalog, products, plan.filters, notes, check=self.check_reply)
        checks = self.checks or ()

        # Only checked text reaches the shopper: the raw words are held until a sentence ends, then the text so
        # far is checked and repaired, and only what extends the text already sent is streamed.
        raw, sent, checked_upto, generated = "".join(notes), "", 0, ""
        tokens = self.engine.stream(prompt, adapter=adapter, settings=settings)
        for chunk in tokens:
            if cancel is not None and cancel.is_set():
                tokens.close()  # stops the engine's generation
                log.info("generation cancelled")
                break
            raw += chunk or ""
            generated += chunk or ""
            cut = sentence_cut(raw)
            if cut > checked_upto:
                checked_upto = cut
                draft = run_checks(raw[:cut], turn, final=False, steps=checks)
                safe = "" if draft.text == NOTHING_LEFT else draft.text  # all dropped so far: wait for more
                if checks and "?" in reading.message and not draft.ids and opens_with_yes_or_no(safe):
                    continue  # a bare "Yes!" waits until the product it is about is named and checked
                if checks and ask.kind in ("attribute", "compare", "unresolved"):
                    continue  # a short answer that may be replaced by the catalog's: sent whole, once checked
                if safe.startswith(sent) and len(safe) > len(sent):
                    yield safe[len(sent) :]
                    sent = safe
        draft = run_checks(raw, turn, final=True, steps=checks)
        text, ids, corrections, report = draft.text, draft.ids, draft.corrections, draft.report
        if text.startswith(sent):
            if len(text) > len(sent):
                yield text[len(sent) :]
        else:  # a later sentence changed the repair of an earlier one; what was sent had passed the check
            log.warning("checked reply does not extend the streamed text; final text differs from the stream")
        if corrections:
            log.info("repaired reply: %s", "; ".join(corrections))
        log.info(
            "turn: category=%s adapter=%s candidates=%s products=%s corrections=%s",
            category,
            adapter,
            turn.shown,
            ids,
            draft.changed_by or 0,
        )
        yield Reply(
            text=text,
            products=ids,
            category=category,
            needs=needs,
            grounding=report,
            candidates=turn.shown,
            notes=notes,
            corrections=corrections,
            usage=self._usage(prompt, generated),
        )

    def _usage(self, prompt: list[dict[str, str]], generated: str) -> dict[str, int]:
        tokenizer = getattr(self.engine, "tokenizer", None)
        if tokenizer is None:
            return {}
        n_prompt = len(render_prompt(prompt, tokenizer))
        n_reply = len(tokenizer(generated, add_special_tokens=False)["input_ids"]) if generated else 0
        return {"prompt_tokens": n_prompt, "completion_tokens": n_reply, "total_tokens": n_prompt + n_reply}

    def reply(
        self,
        messages: list[dict[str, Any]],
        category: str | None = None,
        filters: Filters | dict | None = None,
        settings: Any = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        """Answer the last user message (the non-streaming form of `stream`)."""
        final = None
        for event in self.stream(messages, category=category, filters=filters, settings=settings, cancel=cancel):
            if isinstance(event, Reply):
                final = event
        return final


ENGINES = ("auto", "ctranslate2", "torch")


def choose_engine(wanted: str | None, device: str | None = None) -> str:
    """ "ctranslate2" or "torch" for a requested engine name (None/"auto": CTranslate2 on CPU when installed).

    Raises:
        ValueError: an unknown engine name, or ctranslate2 requested but not installed.
    """
    wanted = (wanted or "auto").lower()
    if wanted not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {wanted!r}")
    have_ct2 = importlib.util.find_spec("ctranslate2") is not None
    if wanted == "ctranslate2" and not have_ct2:
        raise ValueError("engine ctranslate2 needs the ctranslate2 package: pip install ctranslate2")
    if wanted == "auto":
        wanted = "ctranslate2" if have_ct2 and device in (None, "cpu") and not _cuda() else "torch"
    return wanted


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def load_assistant(path: str | Path = "demo", **kwargs: Any) -> Assistant:
    """`Assistant.from_pretrained(path, **kwargs)`."""
    return Assistant.from_pretrained(path, **kwargs)
