"""Tests of `shopguide eval` (assistant/evaluation): scoring and replay on hand-made dialogues with
hand-computed expected values, malformed lines, resume, parallel runs, HTML escaping and run comparison.

Run: python -m pytest -q tests/assistant/test_evaluation.py
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant.dialogues import Dialogue
from assistant.evaluation.cli import main as eval_main
from assistant.evaluation.reading import Reader
from assistant.evaluation.report import render_report
from assistant.evaluation.runner import read_results, run_eval
from assistant.evaluation.scoring import replay_dialogue, score_dialogue, user_reaction
from assistant.evaluation.summary import compare_runs
from retrieval.catalog import Catalog, Product

XSS = "<img src=x onerror=alert(1)>"


def products() -> list[Product]:
    return [
        Product("p1", "Acme Trail Runner", "shoes", price=49.99, brand="Acme", attributes={"color": "red"}),
        Product("p2", "Zephyr Cloud Walker", "shoes", price=89.5, brand="Zephyr", attributes={"color": "black"}),
        Product("p3", "Nimbus Road Racer", "shoes", price=120.0, brand="Nimbus", attributes={"color": "blue"}),
        Product("p4", XSS, "shoes", price=10.0, brand="Evil"),
    ]


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(products())


def u(text: str) -> dict:
    return {"role": "user", "content": text, "products": []}


def a(text: str, prods: list[str] | None = None, **kw) -> dict:
    return {"role": "assistant", "content": text, "products": prods or [], **kw}


def dialogue(i: str, msgs: list[dict], target: str | None = "p1") -> Dialogue:
    return Dialogue(i, "shoes", msgs, target)


def test_target_at_turn_one_has_hit_at_1(catalog):
    d = dialogue(
        "d1",
        [
            u("I want running shoes under $60"),
            a("Try the Acme Trail Runner at $49.99.", ["p1"]),
            u("Great, I'll take it!"),
        ],
    )
    s = score_dialogue(d, Reader(catalog))["scores"]
    assert s["target_hit@1"] == 1.0 and s["target_rank"] == 1 and s["first_target_turn"] == 1
    assert s["target_mrr"] == 1.0 and s["acceptance"] == 1.0 and s["target_accepted"] == 1.0
    assert s["grounding_rate"] == 1.0 and s["wrong_facts"] == 0


def test_target_second_and_wrong_price_flagged(catalog):
    d = dialogue(
        "d2",
        [
            u("hi, I need shoes"),
            a("What is your budget?"),
            u("around 100"),
            a("The Zephyr Cloud Walker costs $79.99.", ["p2"]),  # catalog: 89.50
            u("No, something else please"),
            a("Then the Acme Trail Runner at $49.99.", ["p1"]),
            u("sounds good"),
        ],
    )
    r = score_dialogue(d, Reader(catalog))
    s = r["scores"]
    # recommendations in order: p2, p1 -> target rank 2; Hit@1 0, Hit@3 1; MRR 1/2
    assert s["target_hit@1"] == 0.0 and s["target_hit@3"] == 1.0 and s["target_mrr"] == 0.5
    assert s["first_target_turn"] == 3 and s["first_recommendation_turn"] == 2
    assert s["wrong_facts"] == 1 and s["facts"] == 2 and s["grounding_rate"] == 0.5 and s["turns_with_error"] == 1
    assert r["turns"][1]["wrong"] == [{"product": "p2", "field": "price", "stated": "$79.99", "actual": 89.5}]
    assert s["acceptance"] == 0.5 and s["rejection"] == 0.5
    assert s["needs_unclear"] == 1.0 and s["elicited_when_unclear"] == 1.0


def test_elicitation_missing_when_recommending_at_once(catalog):
    d = dialogue("d3", [u("hello, shoes please"), a("The Nimbus Road Racer is great.", ["p3"]), u("ok")])
    s = score_dialogue(d, Reader(catalog))["scores"]
    assert s["needs_unclear"] == 1.0 and s["elicited_when_unclear"] == 0.0
    assert s["target_hit@5"] == 0.0 and s["target_rank"] is None


def test_user_reaction_lexicon():
    assert user_reaction("Great, I'll take it") == "accept"
    assert user_reaction("too expensive for me") == "reject"
    assert user_reaction("what colour is it?") == "neutral"


@dataclass
class FakeReply:
    text: str
    products: list[str]
    category: str | None = None
    needs: dict = field(default_factory=dict)
    grounding: object = None


class FakeAssistant:
    """Replies from a script, one per call, recording what it was sent."""

    def __init__(self, script: list[tuple[str, list[str]]]):
        self.script = list(script)
        self.calls: list[tuple[list[dict], str | None]] = []

    def reply(self, messages, category=None):
        self.calls.append((messages, category))
        text, prods = self.script[(len(self.calls) - 1) % len(self.script)]
        return FakeReply(text, prods, category)


def test_replay_hand_computed(catalog):
    d = dialogue(
        "r1",
        [
            u("running shoes"),
            a("Try the Acme Trail Runner.", ["p1"]),
            u("{system noise}"),
            a("Compare the Acme Trail Runner and the Nimbus Road Racer.", ["p1", "p3"]),
            u("ok"),
        ],
    )
    d.messages.insert(2, {"role": "system", "content": "log line", "products": []})
    fake = FakeAssistant(
        [("Try the Acme Trail Runner.", ["p1"]), ("The Zephyr Cloud Walker costs $99.", ["p2", "p1"])]
    )
    r = replay_dialogue(d, fake, Reader(catalog))
    t1, t2 = r["turns"]
    assert t1["rouge_l"] == pytest.approx(1.0) and t1["chrf"] == pytest.approx(100.0)
    assert t1["ref_hit@1"] == 1.0 and t1["target_hit@1"] == 1.0 and t1["target_mrr"] == 1.0
    # turn 2: gold {p1, p3}, predicted [p2, p1]: Hit@1 0, Recall@3 1/2, MRR 1/2
    assert t2["ref_hit@1"] == 0.0 and t2["ref_recall@3"] == 0.5 and t2["ref_mrr"] == 0.5
    # without p1 (mentioned at turn 1): gold {p3}, predicted [p2] -> 0; target p1 already seen -> no target_new
    assert t2["ref_new_hit@3"] == 0.0 and "target_new_hit@1" not in t2
    assert t2["wrong_facts"] == 1 and r["scores"]["grounding_rate"] == 0.0
    assert r["scores"]["ref_hit@1"] == 0.5
    # history: reference messages before the turn, system messages dropped, category passed
    assert [m["role"] for m in fake.calls[1][0]] == ["user", "assistant", "user"] and fake.calls[1][1] == "shoes"


def write_inputs(tmp_path: Path, n: int = 6, bad: bool = True) -> tuple[Path, Path]:
    cat = tmp_path / "catalog.jsonl"
    cat.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in products()))
    lines = []
    for i in range(n):
        target = ["p1", "p2", "p3"][i % 3]
        title = {"p1": "Acme Trail Runner", "p2": "Zephyr Cloud Walker", "p3": "Nimbus Road Racer"}[target]
        d = {
            "id": f"d{i}",
            "category": "shoes",
            "target": target,
            "messages": [
                u("hi, I need shoes"),
                a("Any budget?"),
                u("under $150"),
                a(f"The {title} is a good pick.", [target if i % 2 else "p1"]),
                u("I'll take it"),
            ],
        }
        lines.append(json.dumps(d))
    if bad:
        lines.insert(1, "{not json")
        lines.insert(3, json.dumps({"id": "x", "messages": [u("hi")]}))  # no category
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, cat


def strip_meta(m: dict) -> dict:
    return {k: v for k, v in m.items() if k != "meta"}


def test_malformed_lines_reported_with_numbers_and_counted(tmp_path):
    path, cat = write_inputs(tmp_path)
    m = run_eval(path, cat, tmp_path / "out", progress=False, report=False)
    assert m["counts"]["dialogues"] == 6 and m["counts"]["skipped_lines"] == 2
    assert [(s["line"], s["field"]) for s in m["skipped"]] == [(2, None), (4, "category")]
    assert m["skipped"][0]["problem"].startswith(f"{path}:2: -: invalid JSON")
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["counts"]["skipped_lines"] == 2


def test_resume_gives_same_metrics_as_one_run(tmp_path):
    path, cat = write_inputs(tmp_path)
    full = run_eval(path, cat, tmp_path / "one", progress=False, report=False)
    part = tmp_path / "two"
    run_eval(path, cat, part, progress=False, report=False, limit=3)
    with open(part / "results.jsonl", "a") as f:
        f.write('{"id": "d4", "categ')  # a run killed mid-write
    with pytest.raises(Exception, match="different run"):  # limit differs: refuses to mix runs silently
        run_eval(path, cat, part, progress=False, report=False)
    cfg = json.loads((part / "run.json").read_text())
    cfg["limit"] = None
    (part / "run.json").write_text(json.dumps(cfg))
    resumed = run_eval(path, cat, part, progress=False, report=False)
    assert resumed["meta"]["new_this_run"] == 3
    assert strip_meta(resumed) == strip_meta(full)
    assert len(read_results(part / "results.jsonl")) == 6


def test_parallel_workers_match_serial(tmp_path):
    path, cat = write_inputs(tmp_path, n=10, bad=False)
    serial = run_eval(path, cat, tmp_path / "s", progress=False, report=False)
    par = run_eval(path, cat, tmp_path / "p", progress=False, report=False, workers=2, chunk_size=2)
    assert strip_meta(par) == strip_meta(serial)


def test_report_escapes_catalog_and_dialogue_text(tmp_path, catalog):
    d = dialogue(
        "x1",
        [u(f"show me {XSS}"), a(f"Here is {XSS} for $10.00, and the Evil Acme Runner 9000.", ["p4"]), u("no")],
        target="p4",
    )
    r = score_dialogue(d, Reader(catalog))
    r["line"] = 1
    from assistant.evaluation.summary import summarize

    page = render_report(summarize([r]), [r])
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<img ") == page.count('<img class="plot"')  # only our plots are images


def test_cli_scores_and_reports_a_missing_file(tmp_path, capsys):
    path, cat = write_inputs(tmp_path)
    out = tmp_path / "cli"
    assert eval_main([str(path), "--catalog", str(cat), "--out", str(out), "--quiet"]) == 0
    assert {"metrics.json", "results.jsonl", "report.html", "run.json"} <= {p.name for p in out.iterdir()}
    assert "6 dialogues" in capsys.readouterr().out
    assert eval_main([str(tmp_path / "missing.jsonl"), "--catalog", str(cat), "--out", str(out), "--quiet"]) == 1
    assert "transcript file not found" in capsys.readouterr().err


def test_compare_ci_contains_true_difference(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.7, size=120)

    def mk(i, v, cat):
        return {"id": f"d{i}", "category": cat, "mode": "score", "turns": [], "scores": {"x": float(v)}}

    ra = [mk(i, v, "c1" if i % 2 else "c2") for i, v in enumerate(base)]
    rb = [mk(i, v + 0.1 + rng.normal(0, 0.05), "c1" if i % 2 else "c2") for i, v in enumerate(base)]
    cmp = compare_runs(ra, rb)
    d = cmp["overall"]["x"]
    assert cmp["paired"] and cmp["n_pairs"] == 120
    assert d["lo"] <= 0.1 <= d["hi"] and d["lo"] > 0
    assert set(cmp["per_category"]) == {"c1", "c2"}
    # the CLI writes comparison.json and compare.html from two run folders
    for name, rows in (("A", ra), ("B", rb)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert (
        eval_main(
            ["--compare", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(tmp_path / "C"), "--resamples", "300"]
        )
        == 0
    )
    saved = json.loads((tmp_path / "C" / "comparison.json").read_text())
    assert saved["overall"]["x"]["lo"] <= 0.1 <= saved["overall"]["x"]["hi"]
    assert (tmp_path / "C" / "compare.html").read_text().startswith("<!DOCTYPE html>")


def test_generated_demo_split_is_grounded_and_a_shifted_price_is_caught(tmp_path):
    """End to end on a small generated test split: reference dialogues are grounded by construction."""
    from training.demo_data.generate import generate_category

    generate_category(tmp_path, "shoes", seed=0, n_products=120, sizes={"test": 25}, n_unlabeled=2)
    t = tmp_path / "dialogues" / "shoes.test.jsonl"
    m = run_eval(t, tmp_path / "catalog", tmp_path / "run", progress=False, report=False)
    o = m["overall"]
    assert m["counts"]["dialogues"] == 25 and m["counts"]["skipped_lines"] == 0
    assert o["grounding_rate"]["mean"] == 1.0 and o["wrong_facts"]["mean"] == 0.0
    assert o["hallucinated_products"]["mean"] == 0.0 and o["target_hit@5"]["n"] > 0
    # the checker names exactly the products each generated reply is annotated with, where the reply names one
    # (an answer by pronoun, "They are made of mesh.", names none: the rewritten demo replies answer that way)
    named_turns = 0
    for r in read_results(tmp_path / "run" / "results.jsonl"):
        for turn in r["turns"]:
            if turn["named"]:
                named_turns += 1
                assert set(turn["recommended"]) <= set(turn["named"]) or not turn["recommended"]
    assert named_turns >= 25
    # shift the first stated price of every recommending reply by $7: each such reply is flagged
    rows = [json.loads(line) for line in t.read_text().splitlines()]
    shifted = 0
    for d in rows:
        for msg in d["messages"]:
            price = next((f["value"] for f in msg.get("facts", []) if f["field"] == "price"), None)
            if price is not None and f"${price:.2f}" in msg["content"]:
                msg["content"] = msg["content"].replace(f"${price:.2f}", f"${price + 7:.2f}", 1)
                shifted += 1
    bad = tmp_path / "shifted.jsonl"
    bad.write_text("".join(json.dumps(d) + "\n" for d in rows))
    m2 = run_eval(bad, tmp_path / "catalog", tmp_path / "run2", progress=False, report=False)
    assert shifted > 10 and m2["overall"]["wrong_facts"]["mean"] * 25 == pytest.approx(shifted)


def test_recquest_import_scores(shared_data, tmp_path):
    """Scoring runs on the real RecQuest logs (skipped when ../shared/data is absent)."""
    from training.data_tools.importers import main as import_main

    assert import_main(["recquest", str(shared_data / "recquest"), "--out", str(tmp_path / "rq")]) == 0
    t = tmp_path / "rq" / "dialogues" / "bicycle.jsonl"
    m = run_eval(t, tmp_path / "rq" / "catalog.jsonl", tmp_path / "run", progress=False, report=False, limit=30)
    assert m["counts"]["dialogues"] == 30 and m["counts"]["errors"] == 0 and m["counts"]["skipped_lines"] == 0
    assert m["overall"]["target_hit@5"]["n"] == 30 and m["overall"]["words_per_turn"]["mean"] > 10


def test_unknown_product_ids_are_scored_as_hallucinations_not_skipped(tmp_path, catalog):
    d = {"id": "h1", "category": "shoes", "messages": [u("shoes"), a("Try the Phantom X1.", ["p999", "p1"])]}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(d) + "\n")
    m = run_eval(path, catalog, tmp_path / "out", progress=False, report=False)
    assert m["counts"]["dialogues"] == 1 and m["counts"]["skipped_lines"] == 0
    assert m["overall"]["hallucinated_products"]["mean"] == 1.0
    # the text names the invented product too ("Phantom X1"): listed both ways, counted once
    assert read_results(tmp_path / "out" / "results.jsonl")[0]["turns"][0]["unknown"] == ["Phantom X1", "p999"]


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_transcript_file_is_an_error(tmp_path, capsys, content):
    path, cat = write_inputs(tmp_path)
    path.write_text(content)
    assert eval_main([str(path), "--catalog", str(cat), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert f"{path}: -: holds no dialogues" in capsys.readouterr().err


# ---- real logs: assistant-first dialogues, consecutive assistant messages, stage records ---------------------


def real_log_shapes() -> list[dict]:
    """Dialogues in the shapes real logs have (tiny catalog of conftest.py, apparel)."""
    return [
        {  # the assistant greets first, then sends two messages in a row
            "id": "first-and-double",
            "category": "apparel",
            "target": "a2",
            "messages": [
                a("Welcome! What are you shopping for today?"),
                u("a red rain jacket please"),
                a("Try the Trailblazer Rain Jacket.", ["a1"]),
                a("It is light and waterproof."),
                u("and something warm, a wool sweater?"),
                a("The Merino Crew Sweater is a good pick.", ["a2"]),
            ],
        },
        {"id": "nothing-to-replay", "category": "apparel", "messages": [a("Hello! How can I help?"), u("bye")]},
    ]


def test_replay_calls_the_assistant_only_after_user_messages(make_assistant, tiny_catalog):
    assistant = make_assistant()
    d = Dialogue(**{k: v for k, v in real_log_shapes()[0].items()})
    r = replay_dialogue(d, assistant, Reader(tiny_catalog))
    calls = assistant.engine.calls
    assert len(calls) == 2 and r["scores"]["assistant_turns"] == 2 and r["scores"]["context_turns"] == 2
    assert [t["turn"] for t in r["turns"]] == [2, 4]  # turns 1 (greeting) and 3 (second in a row) are context
    # the greeting and the second assistant message stay in the history the assistant gets
    history = calls[1]["messages"][1:]
    assert [m["role"] for m in history] == ["assistant", "user", "assistant", "assistant", "user"]
    # each stage ranks the reference products on the same turns
    t1, t2 = r["turns"]
    assert set(t1["ranks"]) == {"ref", "target"} and t1["ranks"]["ref"]["final"] == 1
    assert t1["ranks"]["ref"]["retrieval"] == t1["candidates"].index("a1") + 1
    assert t1["stages"]["final"] == t1["products"] == ["a1"]
    assert t2["ranks"]["ref"]["most_mentioned"] is None  # a2 was never mentioned before turn 4
    assert t2["ranks"]["target"]["random"] == {"n": 5, "gold": 1}
    assert t2["stages"]["most_mentioned"][0] == "a1"  # logged in turn 2 and named again in turn 3
    # turn 4: "red" (turn 2) still filters the search, so retrieval misses the navy sweater: the stage records
    # show the loss happens before generation, while a plain search of the same words finds it second
    assert t2["ranks"]["ref"]["retrieval"] is None and t2["ranks"]["ref"]["bm25"] == 2
    assert r["scores"]["ref_retrieval_hit@5"] == 0.5


def test_stage_table_random_baseline_is_exact():
    from assistant.evaluation.stages import random_expectation

    e = random_expectation(10, 1, (1, 3))
    assert e["hit@1"] == pytest.approx(0.1) and e["hit@3"] == pytest.approx(0.3)
    assert e["mrr"] == pytest.approx(sum(1 / r for r in range(1, 11)) / 10)
    assert random_expectation(4, 2, (3,))["hit@3"] == pytest.approx(1.0)


def test_unreplayable_dialogue_is_a_counted_error_and_fails_the_cli(make_assistant, tiny_bundle, tmp_path, capsys):
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in real_log_shapes()))
    m = run_eval(path, tiny_bundle / "index", tmp_path / "run", assistant=make_assistant(), progress=False)
    assert m["counts"]["dialogues"] == 1 and m["counts"]["errors"] == 1
    assert (
        m["errors"][0]["id"] == "nothing-to-replay" and "no assistant turn follows a user" in m["errors"][0]["error"]
    )
    stages = m["stages"]["ref"]
    assert stages["turns"] == 2 and {"retrieval", "final", "most_mentioned", "random"} <= set(stages)
    assert "Where the product is lost" in (tmp_path / "run" / "report.html").read_text()
    args = [str(path), "--catalog", str(tiny_bundle / "index"), "--assistant", str(tiny_bundle), "--quiet"]
    assert eval_main([*args, "--out", str(tmp_path / "cli")]) == 1
    err = capsys.readouterr().err
    assert "1 dialogue(s) failed" in err and "--allow-errors" in err
    assert eval_main([*args, "--out", str(tmp_path / "cli"), "--allow-errors"]) == 0
    out = capsys.readouterr().out
    assert "where the product is lost" in out and "retrieval" in out and "most_mentioned" in out


def test_counts_are_labelled_as_counts_with_n_per_category(tmp_path):
    path, cat = write_inputs(tmp_path, bad=False)
    m = run_eval(path, cat, tmp_path / "out", progress=False)
    o = m["overall"]
    assert o["wrong_facts"]["kind"] == "count" and o["wrong_facts"]["total"] == 0
    assert o["target_hit@1"]["kind"] == "rate" and m["per_category"]["shoes"]["target_hit@1"]["n"] == 6
    page = (tmp_path / "out" / "report.html").read_text()
    assert "(count: total 0, mean per dialogue)" in page and "n=6" in page


def test_replies_naming_another_shops_products_are_counted(tmp_path, catalog):
    other = tmp_path / "other.jsonl"
    rows = [Product("x1", "Casa Verde Dune Rug", "home", price=80.0), Product("x2", "Acme Trail Runner", "shoes")]
    other.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in rows))
    path = tmp_path / "t.jsonl"
    msgs = [u("shoes please"), a("Try the Acme Trail Runner, or the Casa Verde Dune Rug.", ["p1"]), u("ok")]
    path.write_text(json.dumps({"id": "o1", "category": "shoes", "messages": msgs}) + "\n")
    cat = tmp_path / "catalog.jsonl"
    cat.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in products()))
    m = run_eval(path, cat, tmp_path / "run", progress=False, report=False, other_catalogs=(other,))
    # the rug is another shop's; the runner is sold by both shops, so it does not count
    assert m["overall"]["other_catalog_products"]["total"] == 1
    assert read_results(tmp_path / "run" / "results.jsonl")[0]["turns"][0]["other_catalog"] == ["x1"]


# ---- per-reply verdicts (on point, wrong fact) and their calibration against a strict reader -----------------


def test_reply_verdicts_on_a_hand_made_conversation(catalog):
    from assistant.evaluation.verdicts import ReplyJudge

    judge = ReplyJudge(Reader(catalog), "shoes")
    v = judge.judge("running shoes under $60, not black", "Try the Acme Trail Runner at $49.99.", ["p1"])
    assert v.on_point and not v.wrong_fact and v.kind == "request"
    v = judge.judge("what colour is it?", "The Acme Trail Runner's color is red.", ["p1"])
    assert v.on_point and v.kind == "attribute"
    v = judge.judge("what colour is it?", "It costs $49.99.", ["p1"])
    assert not v.on_point and not v.wrong_fact  # the colour was asked, not the price
    v = judge.judge("show me another one", "The Zephyr Cloud Walker costs $89.50.", ["p2"])
    assert v.wrong_fact and not v.on_point  # over the budget and black, which the shopper excluded
    v = judge.judge("what's the weather tomorrow?", "Sorry, I can only help with shoes here.", [])
    assert v.on_point and v.kind == "off_topic"
    v = judge.judge("ok I'll take the Acme one", "Great, the Zephyr Cloud Walker is yours.", ["p2"])
    assert not v.on_point and v.kind == "closing"


def test_calibration_against_the_strict_reader(shared_data):
    """The judge's verdicts on the strict reader's 160 replies (skipped without ../shared/data)."""
    from bench.calibrate import agreement, judge_all
    from retrieval.catalog import load_catalog

    folder = shared_data / "strict-reader-2026-12"
    demo = Path(__file__).resolve().parents[2] / "demo" / "index" / "products.jsonl"
    if not folder.is_dir() or not demo.is_file():
        pytest.skip("strict reader set or demo catalog absent")
    rows = judge_all(folder, Reader(load_catalog(demo)))
    assert len(rows) == 160 and {r["split"] for r in rows} == {"tune", "held-out"}
    tune = [r for r in rows if r["split"] == "tune"]
    # the figures docs/simulate.md reports (regression guards: tuned on the first 20 conversations only)
    assert agreement(tune, "on_point")["agreement"] >= 0.9 and agreement(tune, "wrong_fact")["agreement"] >= 0.9
    assert agreement(rows, "on_point")["agreement"] >= 0.75 and agreement(rows, "wrong_fact")["agreement"] >= 0.85
