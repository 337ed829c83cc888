"""`shopguide build` (training/build.py) end to end on tiny fakes: a brandless two-category shop with a tiny
scratch base (1 layer, random weights) and the hash encoder -- the zero-training path, and adapters from
dialogues in real-log shapes (SFT, fine-tuning transfer, source-only) -- and the bundles load.

Run: python -m pytest -q tests/training/test_build.py
"""

from __future__ import annotations

import json

import pytest

from retrieval.catalog import Product
from training.build import adapter_plan, main
from training.shop_data import split_of

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing")]


def shop_products() -> list[Product]:
    """A brandless shop: no `brand` field anywhere; short titles."""
    teas = [
        ("t1", "Morning Mist Sencha", "green", "Japan", 12.5),
        ("t2", "Golden Monkey", "black", "China", 18.0),
        ("t3", "Iron Goddess Oolong", "oolong", "China", 22.0),
        ("t4", "Chamomile Dream", "herbal", "Egypt", 8.0),
        ("t5", "Darjeeling First Flush", "black", "India", 24.0),
        ("t6", "Jasmine Pearls", "green", "China", 19.5),
    ]
    ware = [
        ("w1", "Cast Iron Kettle", "cast iron", 45.0),
        ("w2", "Glass Teapot", "glass", 29.0),
        ("w3", "Clay Gaiwan", "clay", 16.0),
    ]
    out = [Product(i, t, "tea", price=p, attributes={"type": k, "origin": o}) for i, t, k, o, p in teas]
    out += [Product(i, t, "teaware", price=p, attributes={"material": m}) for i, t, m, p in ware]
    out.append(Product("g1", "Tasting Flight", "gift_sets", price=35.0, attributes={"size": "six tins"}))
    return out


def u(text):
    return {"role": "user", "content": text, "products": []}


def a(text, prods=None):
    return {"role": "assistant", "content": text, "products": prods or []}


def shop_dialogues() -> list[dict]:
    rows = []
    picks = [("t1", "Morning Mist Sencha", "a green tea"), ("t2", "Golden Monkey", "a strong black tea"),
             ("t3", "Iron Goddess Oolong", "an oolong"), ("t4", "Chamomile Dream", "something herbal for bed"),
             ("t6", "Jasmine Pearls", "a fragrant green tea")]  # fmt: skip
    for n, (pid, title, ask) in enumerate(picks):
        rows.append(
            {
                "id": f"tea-{n}",
                "category": "tea",
                "target": pid,
                "messages": [
                    a("Welcome to the tea shop! What can I brew for you?"),  # the assistant speaks first
                    u(f"I'd like {ask}"),
                    a(f"Try the {title}.", [pid]),
                    a("It is one of our favourites."),  # two assistant messages in a row
                    u("great, I'll take it"),
                    a("Enjoy!"),
                ],
            }
        )
    for n, (pid, title) in enumerate([("w2", "Glass Teapot"), ("w1", "Cast Iron Kettle")]):
        rows.append(
            {
                "id": f"ware-{n}",
                "category": "teaware",
                "messages": [u("a teapot please"), a(f"The {title} is lovely.", [pid, "not-in-catalog"])],
            }
        )
    return rows


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from training.pretrain import build_model, train_tokenizer

    root = tmp_path_factory.mktemp("shop")
    (root / "catalog.jsonl").write_text("".join(json.dumps(p.to_dict()) + "\n" for p in shop_products()))
    (root / "dialogues").mkdir()
    (root / "dialogues" / "logs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in shop_dialogues()))
    (root / "unlabeled.jsonl").write_text(
        "".join(json.dumps({"category": c, "text": t}) + "\n" for c, t in [("tea", "a brew for tonight")] * 8)
    )
    texts = [f"{p.title} {p.attributes} ${p.price}" for p in shop_products()] * 5
    tok = train_tokenizer(texts + ["Try the tea. It costs $12.50. What can I brew for you?"] * 5, vocab_size=400)
    model = build_model(tok, hidden_size=32, num_layers=1, num_heads=2, max_positions=2048)
    model.save_pretrained(root / "base")
    tok.save_pretrained(root / "base")
    (root / "sft.yaml").write_text(
        "seq_len: 1024\nbatch_size: 1\nlearning_rate: 0.01\nwarmup_steps: 1\nsave_every: 2\neval_every: 2\n"
        "progress: false\nlora: {r: 4, lora_alpha: 8}\ndata: {max_seq_len: 1024, max_eval_dialogues: 2}\n"
    )
    return root


def common(shop, out):
    return ["--catalog", str(shop / "catalog.jsonl"), "--out", str(out), "--base", str(shop / "base"),
            "--encoder", "hash:64", "--engine", "torch"]  # fmt: skip


def test_zero_training_bundle_loads_and_answers(shop, tmp_path, capsys):
    out = tmp_path / "zero"
    assert main(common(shop, out)) == 0
    cfg = json.loads((out / "assistant.json").read_text())
    assert cfg["adapters"] == {} and cfg["base"] == "base" and cfg["retrieval"]["mode"] == "hybrid"
    vocab = json.loads((out / "vocabulary.json").read_text())["categories"]
    assert vocab["gift_sets"]["synonyms"][:2] == ["gift sets", "gift set"]  # a category no code knows
    assert vocab["tea"]["attributes"]["type"]["values"][0] in {"green", "black"}
    assert "zero training" in capsys.readouterr().out
    from assistant.orchestrator import Assistant

    assistant = Assistant.from_pretrained(out, engine="torch", device="cpu")
    assert assistant.vocabulary.categories["gift_sets"].keywords["gift sets"] == 2.0
    r = assistant.reply([{"role": "user", "content": "a green tea from Japan"}])
    assert r.category == "tea" and r.candidates and r.candidates[0] == "t1"


def test_build_with_dialogues_trains_sft_transfer_and_source_only(shop, tmp_path, capsys):
    out = tmp_path / "trained"
    args = common(shop, out) + ["--dialogues", str(shop / "dialogues"), "--unlabeled", str(shop / "unlabeled.jsonl"),
                                "--sft-config", str(shop / "sft.yaml"), "--sft-steps", "2", "--transfer-steps", "1",
                                "--min-sft", "4", "--holdout", "0"]  # fmt: skip
    assert main(args) == 0
    cfg = json.loads((out / "assistant.json").read_text())
    assert cfg["adapters"] == {"tea": "adapters/tea", "teaware": "adapters/teaware", "gift_sets": "adapters/tea"}
    assert (out / "adapters/teaware/adapter_model.safetensors").is_file()
    ft = (out / "adapters/teaware/train_config.yaml").read_text()
    assert "init_adapter:" in ft and "max_train_dialogues: 2" in ft
    check = cfg["retrieval"]["self_check"]
    assert check["turns"] == 7 and set(check["modes"]) == {"hybrid", "dense", "lexical"}
    assert cfg["retrieval"]["mode"] in check["modes"] and cfg["default_category"] == "tea"
    summary = json.loads((out / "build.json").read_text())
    assert summary["dialogues"]["dropped"]["product ids not in the catalog (removed)"] == 2
    assert summary["vocabulary"]["words_from_utterances"]["tea"] == ["brew", "tonight"]
    printed = capsys.readouterr().out
    assert "<- chosen" in printed and "fine-tuned from tea" in printed and "python app.py --bundle" in printed
    # the prepared work folder is the SFT layout, with the assistant-first shapes kept as they are
    work = tmp_path / "trained-work" / "data"
    rows = [json.loads(x) for x in (work / "dialogues" / "tea.train.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and rows[0]["messages"][0]["role"] == "assistant"
    from assistant.orchestrator import Assistant

    assistant = Assistant.from_pretrained(out, engine="torch", device="cpu", warm_up=False)
    assert sorted(assistant.adapters) == ["gift_sets", "tea", "teaware"]
    assert assistant.search_mode == cfg["retrieval"]["mode"]


def test_adapter_plan_and_stable_splits():
    plan = adapter_plan({"a": 150, "b": 120, "c": 7}, ["a", "b", "c", "d"], min_sft=100)
    assert [plan[c]["method"] for c in "abcd"] == ["sft", "sft", "finetune", "source-only"]
    assert plan["c"] == {"method": "finetune", "from": "a", "k": 7} and plan["d"]["from"] == "a"
    assert adapter_plan({}, ["a"], 100) == {}
    assert adapter_plan({"x": 3}, ["x", "y"], 100)["x"]["method"] == "sft"  # the largest is always the source
    splits = [split_of(f"d{i}", 0.1) for i in range(2000)]
    assert 0.07 < splits.count("test") / 2000 < 0.13 and split_of("d7", 0.1) == split_of("d7", 0.1)


def test_bad_catalog_is_reported_not_raised(tmp_path, capsys):
    (tmp_path / "c.jsonl").write_text('{"id": "x"}\n')
    assert main(["--catalog", str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "o"), "--encoder", "hash:64"]) == 1
    assert "c.jsonl:1" in capsys.readouterr().err


ROW = {"title": "x", "category": "cocoa", "price": 5.0}


def errors(capsys) -> list[str]:
    """stderr lines as a terminal shows them: a progress bar redraws its line with \\r, an error must not."""
    return capsys.readouterr().err.split("\n")


@pytest.mark.parametrize("how", ["parent is a file", "read-only folder"])
def test_an_out_folder_that_cannot_be_written_is_one_problem(shop, tmp_path, capsys, monkeypatch, how):
    import errno
    import os

    if how == "parent is a file":  # tests run as root, where chmod 0o555 does not stop writes
        (tmp_path / "f").write_text("")
        out = tmp_path / "f" / "shop"
    else:  # a read-only mount: every mkdir in it fails with EROFS
        (tmp_path / "ro").mkdir()
        out = tmp_path / "ro" / "shop"
        real = os.mkdir

        def mkdir(path, *a, **k):
            if os.path.dirname(os.fspath(path)) == str(tmp_path / "ro"):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
            return real(path, *a, **k)

        monkeypatch.setattr(os, "mkdir", mkdir)
    assert main(common(shop, out)) == 1
    lines = errors(capsys)
    assert any(line.startswith(f"{out}: -: cannot be written") for line in lines), lines
    assert not any("Traceback" in line for line in lines)


def test_build_writes_into_no_folder_it_did_not_make(shop, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "vocabulary.json").write_text("my own words")
    (mine / "assistant.json").write_text("my own assistant")
    assert main(common(shop, mine)) == 1
    assert any(line.startswith(f"{mine}: -: not a bundle `build` made and not empty") for line in errors(capsys))
    assert (mine / "vocabulary.json").read_text() == "my own words"
    assert (mine / "assistant.json").read_text() == "my own assistant"
    foreign = tmp_path / "foreign"
    (foreign / "index").mkdir(parents=True)
    (foreign / "index" / "notes.txt").write_text("mine")
    assert main(common(shop, foreign)) == 1
    assert sorted(p.name for p in foreign.rglob("*")) == ["index", "notes.txt"]  # no vocabulary.json either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign", "mine"]  # nothing staged is left beside
    out = tmp_path / "shop"  # a work folder inside OUT would go when OUT is swapped
    assert main(common(shop, out) + ["--work", str(out / "work")]) == 1 and not out.exists()


def test_a_failed_rebuild_leaves_the_bundle_as_it_was(shop, tmp_path, capsys):
    out = tmp_path / "shop"
    assert main(common(shop, out)) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    changed = tmp_path / "catalog.jsonl"  # the vocabulary and index would change before the dialogues step fails
    changed.write_text((shop / "catalog.jsonl").read_text() + json.dumps(dict(ROW, id="c9", title="Cocoa")) + "\n")
    assert main(["--catalog", str(changed), *common(shop, out)[2:], "--dialogues", str(tmp_path / "none.jsonl")]) == 1
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.jsonl", "shop"]


def test_rebuild_with_the_same_catalog_reuses_the_index(shop, tmp_path, capsys, monkeypatch):
    from retrieval.index import ProductIndex

    out = tmp_path / "shop"
    assert main(common(shop, out)) == 0
    assert "encoding products" in capsys.readouterr().err  # a progress bar while encoding

    def no_encoding(*a, **k):
        raise AssertionError("the index was built again")

    with monkeypatch.context() as m:
        m.setattr(ProductIndex, "build", no_encoding)
        assert main(common(shop, out)) == 0
    assert json.loads((out / "build.json").read_text())["index"]["reused"] is True
    assert "reused: catalog and encoder unchanged" in capsys.readouterr().out
    assert ProductIndex.load(out / "index").search("green tea", top_k=1)[0][0].id in {"t1", "t6"}
    # another encoder, or a changed catalog: encoded again
    assert main(common(shop, out)[:-4] + ["--encoder", "hash:32", "--engine", "torch"]) == 0
    assert json.loads((out / "build.json").read_text())["index"]["reused"] is False
    changed = tmp_path / "catalog.jsonl"
    changed.write_text((shop / "catalog.jsonl").read_text().replace("Glass Teapot", "Glass Teapot XL"))
    assert main(["--catalog", str(changed), *common(shop, out)[2:]]) == 0
    assert json.loads((out / "build.json").read_text())["index"]["reused"] is False
    assert "Glass Teapot XL" in (out / "index" / "products.jsonl").read_text()


def test_build_errors_start_on_their_own_line(tmp_path, capsys):
    (tmp_path / "c.jsonl").write_text('{"id": "x"}\n')
    assert main(["--catalog", str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "o"), "--encoder", "hash:64"]) == 1
    assert any(line.startswith(f"{tmp_path / 'c.jsonl'}:1: title:") for line in errors(capsys))


def test_a_shop_without_dialogues_starts_from_the_guide_adapter(shop, tmp_path, capsys):
    trained = tmp_path / "trained"
    args = common(shop, trained) + ["--dialogues", str(shop / "dialogues"), "--sft-config", str(shop / "sft.yaml"),
                                    "--sft-steps", "2", "--min-sft", "100", "--holdout", "0"]  # fmt: skip
    assert main(args) == 0
    guide = trained / "adapters" / "tea"
    out = tmp_path / "new-shop"
    assert main(common(shop, out) + ["--guide", str(guide)]) == 0
    cfg = json.loads((out / "assistant.json").read_text())
    assert cfg["adapters"] == {c: "adapters/guide" for c in ("gift_sets", "tea", "teaware")}
    assert (out / "adapters/guide/adapter_model.safetensors").is_file()
    check = cfg["retrieval"]["self_check"]  # no dialogues: the mode is chosen on the catalog's own products
    assert check["queries"] == len(shop_products()) and set(check["modes"]) == {"hybrid", "dense", "lexical"}
    assert "the guide adapter" in capsys.readouterr().out
    from assistant.orchestrator import Assistant

    assistant = Assistant.from_pretrained(out, engine="torch", device="cpu", warm_up=False)
    assert sorted(assistant.adapters) == ["gift_sets", "tea", "teaware"]
    assert assistant.reply([{"role": "user", "content": "a green tea from Japan"}]).category == "tea"
    none = tmp_path / "raw"
    assert main(common(shop, none) + ["--guide", "none"]) == 0
    assert json.loads((none / "assistant.json").read_text())["adapters"] == {}


def test_a_guide_trained_on_another_base_is_not_used(shop, tmp_path, caplog):
    guide = tmp_path / "guide"
    guide.mkdir()
    (guide / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "some-other-base"}))
    out = tmp_path / "o"
    assert main(common(shop, out) + ["--guide", str(guide)]) == 0
    assert json.loads((out / "assistant.json").read_text())["adapters"] == {}
    assert "trained on some-other-base" in caplog.text
