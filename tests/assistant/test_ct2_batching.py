"""Batched generation in the CTranslate2 engine, on a tiny random Llama converted in float32.

    pytest tests/assistant/test_ct2_batching.py

Concurrent requests are started together (a barrier) against an engine with a wide batching window, and each
reply is compared with the same request generated alone.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ctranslate2")

from assistant.generation.chat_format import render_prompt  # noqa: E402
from assistant.generation.ct2_engine import CT2Engine  # noqa: E402
from assistant.generation.engine import GenerationSettings  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
WORDS = ["red", "blue", "jacket", "budget", "hello", "there", "what", "your", "the", "it"]


def _tiny_lm(folder: Path) -> Path:
    """A 2-layer random Llama with a small BPE tokenizer and chat template (as test_base_and_ct2.py)."""
    from training.pretrain import build_model, train_tokenizer

    texts = ["I recommend the Trail Jacket. It costs $49.99.", "What is your budget? Hello there, red or blue?"] * 20
    tok = train_tokenizer(texts, vocab_size=300)
    model = build_model(tok, hidden_size=64, num_layers=2, num_heads=4, max_positions=512)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _lora(base: Path, out: Path) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(2)
    for name, p in peft.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.5)
    peft.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> tuple[CT2Engine, CT2Engine]:
    """(batching engine with a 0.3 s window, engine over the same generators that starts each request at once)."""
    root = tmp_path_factory.mktemp("ct2-batching")
    base = _tiny_lm(root / "base")
    adapter = _lora(base, root / "adapter")
    batched = CT2Engine.from_folders(
        base,
        {"apparel": adapter, "shoes": adapter},
        quantization="float32",
        cache=root / "cache",
        progress=False,
        batch_window_s=0.3,
    )
    alone = CT2Engine(batched.generators, batched.tokenizer, batched.max_length, batch_window_s=0.0)
    return batched, alone


def _msgs(words: list[str], system: str = "You are a shopping guide.") -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": " ".join(words)}]


def _equal_length_prompts(tok: Any, n: int) -> list[list[dict[str, str]]]:
    """`n` different user messages whose prompts have the same number of tokens."""
    by_length: dict[int, list[list[dict[str, str]]]] = {}
    for i, a in enumerate(WORDS):
        for b in WORDS[i + 1 :]:
            msgs = _msgs([a, b, "under $50?"])
            by_length.setdefault(len(render_prompt(msgs, tok)), []).append(msgs)
    group = max(by_length.values(), key=len)
    assert len(group) >= n
    return group[:n]


def _together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads released at the same moment; their results in order."""
    barrier, results, errors = threading.Barrier(len(jobs)), [None] * len(jobs), []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as e:  # re-raised below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("penalty", [1.1, 1.0])
def test_batched_replies_are_the_greedy_text_of_one_at_a_time(engines, penalty):
    batched, alone = engines
    settings = GenerationSettings(max_new_tokens=24, repetition_penalty=penalty)
    prompts = _equal_length_prompts(batched.tokenizer, 4) + [_msgs(["hello"])]  # the last one batches alone
    want = [alone.generate(m, "apparel", settings) for m in prompts]
    before = batched.batch_sizes[4]
    got = _together([lambda m=m: batched.generate(m, "apparel", settings) for m in prompts])
    assert got == want
    assert batched.batch_sizes[4] == before + 1  # the four equal-length prompts shared one batch


def test_each_request_keeps_its_own_max_new_tokens(engines):
    batched, alone = engines
    msgs = _msgs(["red", "jacket"])
    full = alone.token_ids(msgs, "apparel", max_new_tokens=20)
    before = batched.batch_sizes[3]
    got = _together([lambda k=k: batched.token_ids(msgs, "apparel", max_new_tokens=k) for k in (3, 9, 20)])
    assert got == [full[:3], full[:9], full]
    assert batched.batch_sizes[3] == before + 1


def test_closing_one_stream_stops_its_share_and_leaves_the_others_alone(engines):
    batched, alone = engines
    settings = GenerationSettings(max_new_tokens=200, repetition_penalty=1.0)
    prompts = _equal_length_prompts(batched.tokenizer, 3)
    want = [alone.generate(m, "apparel", settings) for m in prompts]
    requests: list[Any] = []

    def leave_early() -> int:
        request = batched._submit(prompts[0], "apparel", settings)
        requests.append(request)
        ids = batched._token_ids(request)
        next(ids)
        ids.close()  # what a consumer closing `stream` does
        return request.count

    jobs = [leave_early] + [lambda m=m: batched.generate(m, "apparel", settings) for m in prompts[1:]]
    got = _together(jobs)
    assert got[1:] == want[1:]
    assert len(batched.tokenizer(want[0])["input_ids"]) > 150  # it would have gone on
    assert requests[0].count < 100 and requests[0].finished  # its share stopped early


def test_a_stream_closed_before_its_batch_starts_is_dropped(engines):
    batched, _ = engines
    stream = batched.stream(_msgs(["blue"]), "apparel", GenerationSettings(max_new_tokens=8))
    chunks = []
    t = threading.Thread(target=lambda: chunks.extend(stream))
    t.start()
    t.join(timeout=30)
    assert not t.is_alive()
    early = batched._submit(_msgs(["red"]), "apparel", GenerationSettings(max_new_tokens=8))
    early.cancelled.set()  # the consumer left while the request waited for the window
    assert early.out.get(timeout=30) is None and early.count == 0


def test_adapters_with_the_same_files_share_one_generator_and_batch_together(engines):
    batched, alone = engines
    assert batched.generators["apparel"] is batched.generators["shoes"]
    assert batched.generators["apparel"] is not batched.generators["__base__"]
    settings = GenerationSettings(max_new_tokens=16)
    a, b = _equal_length_prompts(batched.tokenizer, 2)
    before = batched.batch_sizes[2]
    got = _together(
        [
            lambda: batched.generate(a, "apparel", settings),
            lambda: batched.generate(b, "shoes", settings),
            lambda: batched.generate(a, None, settings),  # the base: another model, its own batch
        ]
    )
    assert got == [
        alone.generate(a, "apparel", settings),
        alone.generate(b, "shoes", settings),
        alone.generate(a, None, settings),
    ]
    assert batched.batch_sizes[2] == before + 1


def test_system_head_is_a_cached_static_prompt_with_the_same_text(engines):
    batched, alone = engines
    head = "You are a shopping guide for apparel. Ask about needs, recommend products and answer questions."
    msgs = _msgs(["red", "jacket"], system=head + "\n[a1] Trail Jacket | $49.99")
    ids = render_prompt(msgs, batched.tokenizer)
    k = batched._static_length(msgs, ids)
    assert 16 <= k < len(ids)
    plain = CT2Engine(batched.generators, batched.tokenizer, batched.max_length, static_prompt=False)
    assert plain._static_length(msgs, ids) == 0
    settings = GenerationSettings(max_new_tokens=24)
    assert alone.generate(msgs, "apparel", settings) == plain.generate(msgs, "apparel", settings)
