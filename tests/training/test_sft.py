"""LoRA SFT recipe on tiny Llama / Qwen2 / GPT-2 models built from configs, on hand-written dialogues.

Covers: packing never attends across examples; a few steps reduce loss; the adapter folder is plain PEFT
and reloads with `PeftModel.from_pretrained`; kill-and-resume ends with the same weights as one run.
Run: python -m pytest -q tests/training/test_sft.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_thread")

COLORS = ["red", "blue", "black", "green", "white", "grey"]


def write_tiny_data(root: Path) -> Path:
    """A 6-product apparel catalog and short guide dialogues with candidates / facts, like the generator's."""
    products = [
        {
            "id": f"a{i}",
            "title": f"{c.title()} Shirt",
            "category": "apparel",
            "price": 10.0 + 5 * i,
            "brand": "Peak" if i % 2 else "Nord",
            "attributes": {"color": c, "material": "cotton"},
        }
        for i, c in enumerate(COLORS)
    ]
    (root / "catalog").mkdir(parents=True)
    (root / "catalog" / "apparel.jsonl").write_text("".join(json.dumps(p) + "\n" for p in products))
    (root / "dialogues").mkdir()
    for split, n in (("train", 12), ("validation", 3)):
        rows = []
        for k in range(n):
            p = products[k % 6]
            q = products[(k + 1) % 6]
            rows.append(
                {
                    "id": f"{split}{k}",
                    "category": "apparel",
                    "messages": [
                        {"role": "user", "content": f"I want a {p['attributes']['color']} shirt"},
                        {
                            "role": "assistant",
                            "content": f"The {p['title']} by {p['brand']} costs ${p['price']:.2f}.",
                            "products": [p["id"]],
                            "candidates": [p["id"], q["id"]],
                            "act": "recommend",
                        },
                        {"role": "user", "content": "What color is it?"},
                        {
                            "role": "assistant",
                            "content": f"It is {p['attributes']['color']}.",
                            "products": [p["id"]],
                            "candidates": [p["id"]],
                            "act": "answer",
                            "facts": [{"product": p["id"], "field": "color", "value": p["attributes"]["color"]}],
                        },
                    ],
                }
            )
        (root / "dialogues" / f"apparel.{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def build_tiny_base(out: Path, arch: str, data_dir: Path) -> Path:
    """Tokenizer trained on the tiny data + a 2-layer model of `arch`, saved as an HF folder."""
    from training.pretrain import build_model, source_texts, train_tokenizer

    tok = train_tokenizer(source_texts(data_dir, ["apparel"]), vocab_size=600)
    model = build_model(tok, arch, hidden_size=32, num_layers=2, num_heads=2, max_positions=512)
    if arch == "gpt2":
        tok.chat_template = None  # load_base must install the project template
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def bases(tmp_path_factory, tiny_data) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bases")
    return {a: build_tiny_base(root / a, a, tiny_data) for a in ("llama", "qwen2", "gpt2")}


def tiny_cfg(base: Path, data: Path, out: Path, *overrides: str):
    from training.config import load_config
    from training.sft import SFTConfig

    return load_config(
        SFTConfig,
        "training/configs/tiny.yaml",
        [f"base={base}", f"data.data_dir={data}", f"out_dir={out}", *overrides],
    )


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gpt2"])
def test_packed_rows_do_not_attend_across_examples(arch, bases, tiny_data):
    import torch

    from assistant.generation.model import load_base
    from training.examples import build_examples, collate, load_split

    model, tok = load_base(bases[arch], device="cpu", dtype=torch.float32)
    dialogues, catalog = load_split(tiny_data, "apparel", "train")
    a, b = build_examples(dialogues[:2], catalog, tok, 256, progress=False)[:2]
    packed = collate([[a, b]], tok.pad_token_id)
    with torch.no_grad():
        # use_cache=False as in training: with a cache transformers does not look for packed positions
        joint = model(input_ids=packed["input_ids"], position_ids=packed["position_ids"], use_cache=False).logits[0]
        alone = model(input_ids=torch.tensor([b.input_ids])).logits[0]
    assert torch.allclose(joint[len(a) :], alone, atol=1e-5)


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gpt2"])
@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")  # peft 0.21 uses a deprecated name
def test_sft_reduces_loss_and_writes_plain_peft_adapter(arch, bases, tiny_data, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from training.sft import main

    out = main(tiny_cfg(bases[arch], tiny_data, tmp_path / "run"))
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in log if "loss" in r]
    assert len(losses) == 6 and losses[-1] < losses[0]
    names = {p.name for p in out.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "train_config.yaml", "metrics.json"} <= names
    assert "model.safetensors" not in names and "checkpoints" not in names
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["val_loss/apparel"] > 0

    base = AutoModelForCausalLM.from_pretrained(str(bases[arch]))
    plain = PeftModel.from_pretrained(base, str(out)).eval()  # nothing of ours
    from assistant.generation.model import load_adapters, load_base

    ours = load_adapters(load_base(bases[arch], device="cpu", dtype=torch.float32)[0], {"apparel": out})
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with torch.no_grad():
        assert torch.allclose(plain(input_ids=ids).logits, ours(input_ids=ids).logits, atol=1e-6)
        with ours.disable_adapter():
            assert not torch.allclose(ours(input_ids=ids).logits, plain(input_ids=ids).logits, atol=1e-4)


@pytest.mark.parametrize("batching", ["grouped", "packed"])
def test_kill_and_resume_matches_uninterrupted_run(batching, bases, tiny_data, tmp_path):
    import torch
    from safetensors.torch import load_file

    from training.sft import main

    full = main(tiny_cfg(bases["llama"], tiny_data, tmp_path / "full", f"batching={batching}"))
    part = tiny_cfg(bases["llama"], tiny_data, tmp_path / "resumed", "stop_after_steps=3", f"batching={batching}")
    out = main(part)
    assert not (out / "adapter_model.safetensors").exists() and (out / "checkpoints" / "latest").exists()
    out = main(tiny_cfg(bases["llama"], tiny_data, tmp_path / "resumed", f"batching={batching}"))  # same command again
    a, b = load_file(str(full / "adapter_model.safetensors")), load_file(str(out / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_config_errors_name_the_key(tmp_path):
    from training.config import ConfigError, load_config
    from training.sft import SFTConfig

    with pytest.raises(ConfigError, match="lora.r"):
        load_config(SFTConfig, "training/configs/tiny.yaml", ["lora.r=0"])
    with pytest.raises(ConfigError, match="unknown config key `lora.rank`"):
        load_config(SFTConfig, "training/configs/tiny.yaml", ["lora.rank=4"])


def test_forever_iterator_and_mixer_resume_exactly():
    import torch

    from training.examples import CategoryMixer, Example, ForeverDataIterator, pack

    examples = [Example(list(range(1, n + 1)), [-100] * (n - 2) + [1, 2], "apparel") for n in range(5, 40, 3)]
    rows = pack(examples, 64, seed=1, epoch=0)
    assert sorted(i for r in rows for i in r) == list(range(len(examples)))
    assert all(sum(len(examples[i]) for i in r) <= 64 for r in rows)

    def make():
        its = {
            "a": ForeverDataIterator(examples, 64, 2, seed=3),
            "b": ForeverDataIterator(examples[:4], 64, 1, seed=4),
        }
        return CategoryMixer(its, "proportional", seed=5)

    mixer = make()
    for _ in range(7):  # crosses epoch boundaries
        next(mixer)
    state = mixer.state_dict()
    expected = [next(mixer) for _ in range(5)]
    resumed = make()
    resumed.load_state_dict(state)
    for (cat, batch), (cat2, batch2) in zip(expected, (next(resumed) for _ in range(5))):
        assert cat == cat2 and all(torch.equal(batch[k], batch2[k]) for k in batch)


@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")
def test_finetune_from_a_source_adapter_with_weighted_acts(bases, tiny_data, tmp_path):
    """`init_adapter` starts from a trained adapter (fine-tuning transfer); `data.act_weights` repeats turns."""
    import torch
    from safetensors.torch import load_file

    from assistant.generation.model import load_base
    from training.examples import build_examples, load_split, weight_by_act
    from training.sft import main

    source = main(tiny_cfg(bases["llama"], tiny_data, tmp_path / "source"))
    out = main(
        tiny_cfg(bases["llama"], tiny_data, tmp_path / "ft", f"init_adapter={source}", "data.act_weights={answer: 3}")
    )
    a, b = (load_file(str(d / "adapter_model.safetensors")) for d in (source, out))
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)
    _, tok = load_base(bases["llama"], device="cpu")
    dialogues, catalog = load_split(tiny_data, "apparel", "train")
    examples = build_examples(dialogues, catalog, tok, 256, progress=False)
    weighted = weight_by_act(examples, {"answer": 3, "greet": 0})
    acts = [e.act for e in examples]
    assert acts.count("answer") > 0
    assert len(weighted) == len(examples) + 2 * acts.count("answer") - acts.count("greet")


def test_grouped_batches_carry_mask_and_index_and_pooling_ignores_padding(bases):
    """`max_rows` caps a grouped batch; `token_mask` marks real tokens, `index` the example; pooled features of a
    text are the same alone and padded beside a longer one; the mixer follows explicit weights."""
    import torch

    from assistant.generation.model import load_base
    from training.examples import CategoryMixer, Example, ForeverDataIterator, collate, pooled_hidden

    model, tok = load_base(bases["llama"], device="cpu", dtype=torch.float32)
    texts = ["red shirt", "a blue cotton shirt by Nord for every day", "grey", "white shirt please"]
    examples = [Example(tok(t)["input_ids"], [-100] * len(tok(t)["input_ids"]), "apparel") for t in texts]
    it = ForeverDataIterator(examples, seq_len=10_000, seed=0, max_rows=3)
    batches = [next(it) for _ in range(it.batches_per_epoch())]
    assert max(len(b["input_ids"]) for b in batches) == 3
    assert sorted(i for b in batches for i in b["index"].tolist()) == [0, 1, 2, 3]
    for b in batches:
        assert b["token_mask"].sum(1).tolist() == [len(examples[i]) for i in b["index"].tolist()]
    with torch.no_grad():
        together = pooled_hidden(model, collate([[examples[0]], [examples[1]]]))  # (2, H), row 0 padded
        alone = pooled_hidden(model, collate([[examples[0]]]))  # (1, H)
    assert torch.allclose(together[0], alone[0], atol=1e-5)
    mixer = CategoryMixer({"a": it, "b": ForeverDataIterator(examples, 10_000, seed=1)}, "proportional",
                          weights={"a": 0.0, "b": 1.0})  # fmt: skip
    assert {next(mixer)[0] for _ in range(5)} == {"b"}


def test_sample_dialogues_is_seeded_and_first_k_without_a_seed(tiny_data):
    from training.examples import load_split, sample_dialogues

    dialogues, _ = load_split(tiny_data, "apparel", "train")
    assert [d.id for d in sample_dialogues(dialogues, 3, None)] == [d.id for d in dialogues[:3]]
    a, b = sample_dialogues(dialogues, 3, 0), sample_dialogues(dialogues, 3, 1)
    assert len(a) == 3 and [d.id for d in a] == [d.id for d in sample_dialogues(dialogues, 3, 0)]
    assert [d.id for d in a] != [d.id for d in b]
    assert len(sample_dialogues(dialogues, None, 0)) == len(dialogues)
