"""Simulated shoppers (`assistant.simulation`): goals from any catalog, the honesty of the instrument (an oracle
scores ~100%, trivial assistants ~0), outputs in the dialogue contract, resuming, in-process == HTTP for the
same seed, and clear, counted, bounded failures (bad catalog, unreachable URL, erroring or hanging endpoint).

Everything runs on tiny fakes and servers on 127.0.0.1; no model is loaded.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.dialogues import load_dialogues
from assistant.simulation.cli import main as simulate_main
from assistant.simulation.cli import print_summary
from assistant.simulation.clients import ClientReply, InProcessClient, OpenAIClient
from assistant.simulation.goals import Goal, Need, catalog_profiles, draw_goals
from assistant.simulation.metrics import summarize
from assistant.simulation.replies import Lexicon, answer_status, read_reply
from assistant.simulation.runner import run_simulation, simulate_dialogue
from assistant.simulation.shopper import Shopper
from retrieval.catalog import Catalog, Product
from retrieval.fileio import DataError

NAMES = [
    "Aster",
    "Birch",
    "Cedar",
    "Delta",
    "Ember",
    "Fable",
    "Grove",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
]


def generic_catalog() -> Catalog:
    """Three categories whose names and values are none of the demo's: one with a `kind` attribute, a number
    and a flag; one without a kind attribute; one priced in EUR."""
    specs = {
        "garden": (
            "USD",
            ["Verdant", "Hollow Oak", "Brookfield"],
            {
                "kind": ["hose", "rake", "shovel", "planter"],
                "finish": ["matte", "glossy", "galvanized"],
                "length_m": [5, 10, 15],
                "frost_proof": [True, False],
            },
        ),
        "books": (
            "USD",
            ["Quill", "Papyrus", "Inkwell"],
            {
                "genre": ["mystery", "poetry", "biography", "cookery"],
                "format": ["hardcover", "paperback", "audiobook"],
                "language": ["english", "spanish", "german"],
            },
        ),
        "music": (
            "EUR",
            ["Tonewood", "Resona", "Cadenza"],
            {
                "instrument": ["ukulele", "violin", "cajon", "harmonica"],
                "level": ["beginner", "intermediate", "professional"],
                "wood": ["maple", "spruce", "mahogany"],
            },
        ),
    }
    products = []
    for c, (cur, brands, attrs) in specs.items():
        for i in range(36):
            a = {
                name: vals[(i * (k + 1) + i // len(vals)) % len(vals)] for k, (name, vals) in enumerate(attrs.items())
            }
            head = a.get("kind") or a.get("instrument") or a["genre"]
            title = f"{brands[i % 3]} {NAMES[i % 12]} {str(head).title()} {i + 1}"
            products.append(
                Product(
                    f"{c[:2]}-{i:03d}",
                    title,
                    c,
                    price=round(9.5 + (i * 37 % 90) + 0.49, 2),
                    currency=cur,
                    brand=brands[i % 3],
                    attributes=a,
                )
            )
    return Catalog(products)


SIGN = {"USD": "$", "EUR": "€"}


def facts(p: Product, language: str = "en") -> str:
    """The catalog facts of `p` in plain sentences (no "name: value" fields, which the judge marks down)."""
    its, is_, costs, and_ = {
        "en": ("its", "is", "costs", "and"),
        "es": ("su", "es", "cuesta", "y"),
        "de": ("die", "ist", "kostet", "und"),
    }[language]
    attrs = "; ".join(
        f"{its} {k.replace('_', ' ')} {is_} {('yes' if v else 'no') if isinstance(v, bool) else v}"
        for k, v in p.attributes.items()
    )
    return f"the {p.title} {costs} {SIGN[p.currency]}{p.price:.2f}, {and_} {attrs}"


class Oracle:
    """Cheats: built with the hidden goal. Recommends the products meeting it, and states the catalog facts of every
    product the shopper names."""

    def __init__(self, goal, catalog):
        self.goal, self.catalog = goal, catalog

    def chat(self, messages):
        last = messages[-1]["content"].lower()
        named = [p for p in self.catalog if p.category == self.goal.category and p.title.lower() in last]
        rel = self.goal.plan.get("release")
        released = rel and rel.replace("_", " ") in last and str(self.goal.need(rel).value).lower() not in last
        if released:  # products meeting the rest, without the released value
            value = self.goal.need(rel).value
            rest = [n for n in self.goal.needs if n.topic != rel]
            named = [
                p
                for p in self.catalog
                if p.category == self.goal.category
                and not self.goal.failed_needs(p, rest)
                and p.attributes.get(rel) != value
            ][:1]
        if not named:  # the products meeting the goal (two when there are, so a comparison can be asked)
            named = [self.catalog.get(pid) for pid in self.goal.satisfying[:2]]
        off = self.goal.plan.get("off_topic_turn")
        lead = "Sorry, I can only help with the shop. " if off and len(messages) == 2 * off + 1 else ""
        lang = self.goal.style.get("language", "en")
        lead += {"es": "Claro, para ti: ", "de": "Gern, für dich: "}.get(lang, "I can help you find that: ")
        return ClientReply(
            lead + "; ".join(facts(p, lang) for p in named) + ".",
            [p.id for p in named],
            0.0,
        )


class Cheapest:
    def __init__(self, catalog):
        self.p = min(catalog, key=lambda p: p.price)

    def chat(self, messages):
        return ClientReply(
            f"I recommend the {self.p.title} at {SIGN[self.p.currency]}{self.p.price:.2f}.", [self.p.id], 0.0
        )


class Asker:
    def chat(self, messages):
        return ClientReply(
            "What's your budget? Any brand or genre preference? What kind of item are you after?", [], 0.0
        )


@pytest.fixture(scope="module")
def gcat():
    return generic_catalog()


def _run(goals, profiles, catalog, make):
    return summarize([simulate_dialogue(g, profiles[g.category], catalog, make(g)) for g in goals], n_resamples=200)


def test_goals_come_from_any_catalog(gcat):
    profiles = catalog_profiles(gcat)
    assert profiles["garden"].kind_attribute == "kind" and profiles["books"].kind_attribute is None
    assert profiles["garden"].attributes["frost_proof"].kind == "bool"
    assert profiles["garden"].attributes["length_m"].kind == "number"
    goals = draw_goals(profiles, 12, seed=3)
    assert [g.id for g in goals[:3]] == ["books-0001", "garden-0001", "music-0001"]
    for g in goals:
        required = [n for n in g.needs if n.kind == "attribute"]
        assert 1 <= len(required) <= 3 and sum(n.kind == "budget" for n in g.needs) == 1
        assert g.anchor in g.satisfying
        assert set(g.satisfying) == {p.id for p in gcat if p.category == g.category and not g.failed_needs(p, g.needs)}
        if g.category == "garden":
            assert g.needs[0].topic == "kind"  # the kind of product is always part of the goal, said first
    assert [g.to_dict() for g in draw_goals(profiles, 12, seed=3)] == [g.to_dict() for g in goals]
    assert [g.to_dict() for g in draw_goals(profiles, 12, seed=4)] != [g.to_dict() for g in goals]
    # the shopper talks with the catalog's own words: values, attribute names, EUR budgets
    rec = simulate_dialogue(goals[2], profiles["music"], gcat, Asker())  # a music shopper
    said = " ".join(m["content"] for m in rec["messages"] if m["role"] == "user")
    assert "€" in said and "$" not in said
    assert any(str(n.value) in said for n in goals[2].needs if n.kind == "attribute")


def test_bad_catalog_gives_clear_errors(gcat, tmp_path, capsys):
    no_price = Catalog(
        [Product(f"x{i}", f"Thing {i}", "gadgets", attributes={"tone": "red" if i % 2 else "blue"}) for i in range(5)]
    )
    no_attrs = Catalog([Product(f"y{i}", f"Thing {i}", "gadgets", price=10.0 + i) for i in range(5)])
    with pytest.raises(DataError) as e:
        catalog_profiles(no_price, source="cat.jsonl")
    assert "cat.jsonl: price: category 'gadgets': 0 of 5 products have a price" in str(e.value)
    with pytest.raises(DataError, match="attributes: category 'gadgets': no attribute"):
        catalog_profiles(no_attrs)
    with pytest.raises(DataError, match="no product has category 'toys'"):
        catalog_profiles(gcat, ["toys"])
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(p.to_dict()) for p in no_attrs) + "\n")
    assert (
        simulate_main(
            ["--catalog", str(path), "--assistant", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "o"), "--quiet"]
        )
        == 1
    )
    assert "no attribute with 2-50 distinct short values" in capsys.readouterr().err


FREE_TEXT = [  # a small shop without an attribute table: titles, descriptions, prices, brands
    (
        "Harborline Bamboo Cutting Board",
        "Thick bamboo board with a juice groove for carving roasts.",
        34.0,
        "Harborline",
    ),
    (
        "Harborline Walnut Serving Tray",
        "Hand-oiled walnut tray with brass handles for breakfast in bed.",
        58.0,
        "Harborline",
    ),
    ("Quenby Enamel Dutch Oven", "Cast iron pot with a cream enamel finish, oven safe to 260 C.", 89.0, "Quenby"),
    ("Quenby Copper Saucepan", "Tri-ply copper saucepan with a pouring lip and glass lid.", 72.0, "Quenby"),
    ("Mirela Linen Apron", "Stonewashed linen apron with two deep pockets and cross-back straps.", 26.0, "Mirela"),
    ("Mirela Herb Keeper", "Glass herb keeper that keeps parsley and basil fresh for weeks.", 19.0, "Mirela"),
    ("Tolland Pour Over Kettle", "Gooseneck kettle for slow pour over coffee, matte black steel.", 45.0, "Tolland"),
    ("Tolland Burr Grinder", "Conical burr grinder with fifteen grind settings for espresso.", 110.0, "Tolland"),
    ("Ostrava Spice Rack", "Rotating spice rack with twelve labelled jars.", 38.0, "Ostrava"),
    ("Ostrava Salad Spinner", "Salad spinner with a pump handle and a brake button.", 29.0, "Ostrava"),
]


def free_text_catalog() -> Catalog:
    return Catalog(
        [
            Product(f"k{i}", t, "kitchen", price=pr, currency="USD", brand=b, description=d)
            for i, (t, d, pr, b) in enumerate(FREE_TEXT)
        ]
    )


def test_a_free_text_catalog_gives_goals_from_the_target_product(tmp_path):
    """Without closed-set attributes the shopper describes a target product in the catalog's words; an assistant that
    shows a product with those words succeeds, one that shows the cheapest does not."""
    cat = free_text_catalog()
    profiles = catalog_profiles(cat)
    assert profiles["kitchen"].free_text and profiles["kitchen"].kind_attribute is None
    goals = draw_goals(profiles, 12, seed=0)
    for g in goals:
        words = next(n.value for n in g.needs if n.kind == "describe")
        anchor = cat.get(g.anchor)
        assert g.anchor in g.satisfying and all(w in f"{anchor.title} {anchor.description}".lower() for w in words)
    recs = [simulate_dialogue(g, profiles["kitchen"], cat, Oracle(g, cat)) for g in goals]
    said = recs[0]["messages"][0]["content"].lower()
    assert any(w in said for w in next(n.value for n in goals[0].needs if n.kind == "describe"))
    oracle = summarize(recs, n_resamples=50)["overall"]
    cheap = summarize([simulate_dialogue(g, profiles["kitchen"], cat, Cheapest(cat)) for g in goals], n_resamples=50)
    assert oracle["task_success"]["mean"] == 1.0 and cheap["overall"]["task_success"]["mean"] < 0.3
    # the command takes such a catalog (it refused it before: "no attribute with 2-50 distinct short values")
    path = tmp_path / "free.jsonl"
    cat.save(path)
    code = simulate_main(
        [
            "--catalog",
            str(path),
            "--assistant",
            "http://127.0.0.1:9/v1",
            "--out",
            str(tmp_path / "o"),
            "--shoppers",
            "1",
            "--quiet",
            "--no-report",
            "--retries",
            "0",
            "--timeout",
            "1",
        ]
    )
    assert code == 1 and (tmp_path / "o" / "results.jsonl").exists()  # ran: every dialogue failed (nothing there)


def test_oracle_scores_full_trivial_assistants_near_zero(gcat):
    profiles = catalog_profiles(gcat)
    goals = draw_goals(profiles, 14, seed=0)
    oracle = _run(goals, profiles, gcat, lambda g: Oracle(g, gcat))["overall"]
    assert oracle["task_success"]["mean"] == 1.0
    assert oracle["attribute_answers_correct"]["mean"] == 1.0 and oracle["attribute_answers_correct"]["n"] >= 10
    assert oracle["comparisons_done"]["mean"] == 1.0 and oracle["comparisons_done"]["n"] >= 5
    assert oracle["off_topic_handled"]["n"] >= 2 and oracle["off_topic_handled"]["mean"] == 1.0
    assert oracle["false_facts"]["mean"] == 0 and oracle["needs_reasked"]["mean"] == 0
    assert oracle["replies_changed_by_check"]["mean"] is None  # it reports no corrections of its own
    assert oracle["violating_recommendations"]["mean"] == 0
    assert oracle["turns_to_success"]["mean"] <= 2
    # reading products from the text only (as for an endpoint that returns no ids) finds the same products
    text_only = [simulate_dialogue(g, profiles[g.category], gcat, Oracle(g, gcat), "text") for g in goals[:9]]
    assert all(
        r["outcome"] in ("success", "goodbye") and not any(t["from_endpoint"] for t in r["turns"]) for r in text_only
    )
    cheap = _run(goals, profiles, gcat, lambda g: Cheapest(gcat))["overall"]
    assert cheap["task_success"]["mean"] <= 0.1 and cheap["task_success"]["hi"] <= 0.15
    assert cheap["violating_recommendations"]["mean"] >= 0.9
    ask = _run(goals, profiles, gcat, lambda g: Asker())["overall"]
    assert ask["task_success"]["mean"] == 0 and ask["needs_reasked"]["mean"] >= 5
    assert ask["violating_recommendations"]["n"] == 0  # recommends nothing: the share is undefined, not 0


class Flawed(Oracle):
    """The oracle with one flaw, to show that the metric meant to catch it can fail."""

    def __init__(self, goal, catalog, flaw):
        super().__init__(goal, catalog)
        self.flaw = flaw

    def chat(self, messages):
        r = super().chat(messages)
        ids, text = list(r.products), r.text
        turn = len(messages) // 2 + 1
        if self.flaw == "wrong price" and turn == 2 and ids:  # one wrong price in the second reply
            p = self.catalog.get(ids[0])
            text += f" The {p.title} is {SIGN[p.currency]}{p.price + 7:.2f} today."
        elif self.flaw == "decline":
            text = "Sorry, I can only help with shopping questions. " + text
        elif self.flaw == "purchase":
            text = "Great choice! Enjoy your new purchase. " + text
        elif self.flaw == "glitch":
            text = text.replace("I can help you find that: ", "I can help you find that:\n2. ") + " style: boho"
        elif self.flaw == "english":
            text = "I can help you find that: " + "; ".join(facts(self.catalog.get(i)) for i in ids) + "."
        elif self.flaw == "stubborn":  # keeps the value the shopper corrected or released
            plan = self.goal.plan
            topic, value = None, None
            if plan.get("correct"):
                topic, value = plan["correct"]["topic"], plan["correct"]["old"]
            elif plan.get("release"):
                topic, value = plan["release"], self.goal.need(plan["release"]).value
            same = [p for p in self.catalog if p.category == self.goal.category and p.attributes.get(topic) == value]
            if topic and turn >= 2 and same:
                ids, text = [same[0].id], f"I can help you find that: {facts(same[0])}."
        elif self.flaw == "other product" and ids:  # answers about another product than the one asked about
            others = [p for p in self.catalog if p.category == self.goal.category and p.id not in ids]
            last = messages[-1]["content"].lower()
            if "?" in last or any(w in last for w in ("which", "what", "its ")):
                ids, text = [others[0].id], f"I can help you find that: {facts(others[0])}."
        return ClientReply(text, ids, 0.0)


def test_two_sided_metrics_fail_when_the_assistant_does_the_wrong_thing(gcat):
    """Each two-sided metric has an assistant that does its wrong thing and scores worse than the oracle."""
    profiles = catalog_profiles(gcat)
    goals = draw_goals(profiles, 14, seed=0)
    for g in goals[:12]:  # a few shoppers who write Spanish or German, so that the language metric is defined
        g.style["language"] = "es" if int(g.id[-2:]) % 2 else "de"
    base = _run(goals, profiles, gcat, lambda g: Oracle(g, gcat))["overall"]
    cases = {
        "wrong price": ("strict_success", "lower"),
        "decline": ("wrongly_declined", "higher"),
        "purchase": ("exits_not_read_as_purchase", "lower"),
        "glitch": ("reply_quality", "lower"),
        "english": ("unreadable_replies", "higher"),
        "stubborn": ("corrections_honoured", "lower"),
        "other product": ("wrong_product_replies", "higher"),
    }
    assert base["unreadable_replies"]["mean"] == 0 and base["unreadable_replies"]["n"] == 12
    assert base["wrongly_declined"]["mean"] == 0 and base["reply_quality"]["mean"] == 1.0
    for flaw, (name, way) in cases.items():
        got = _run(goals, profiles, gcat, lambda g, flaw=flaw: Flawed(g, gcat, flaw))["overall"]
        a, b = base[name]["mean"], got[name]["mean"]
        assert b is not None and (b < a if way == "lower" else b > a), (flaw, name, a, b)
        if flaw == "wrong price":  # the shopper still buys: only the strict success sees the wrong fact
            assert got["task_success"]["mean"] == base["task_success"]["mean"] == 1.0
    assert base["strict_success"]["mean"] >= 0.8 and base["replies_on_point"]["mean"] > 0.4
    cheap = _run(goals, profiles, gcat, lambda g: Cheapest(gcat))["overall"]
    assert cheap["strict_success"]["mean"] == 0 and cheap["replies_on_point"]["mean"] < 0.2


def test_a_release_is_honoured_by_showing_what_it_allows(gcat):
    """After "the format doesn't bind me", a reply still showing only that format does not honour the release."""
    prof = catalog_profiles(gcat)["books"]
    books = [p for p in gcat if p.category == "books" and p.attributes["genre"] == "poetry"]
    hard = next(p for p in books if p.attributes["format"] == "hardcover" and p.price <= 200)
    soft = next(p for p in books if p.attributes["format"] != "hardcover" and p.price <= 200)
    needs = [
        Need("attribute", "genre", "poetry"),
        Need("attribute", "format", "hardcover"),
        Need("budget", "budget", 200.0),
    ]
    style = {"chatty": False, "typo_rate": 0, "labels": True, "phrasing": 1}
    plan = {"opening_needs": 3, "release": "format", "release_turn": 1}
    outcomes = []
    for shown in (hard, soft):
        shopper = Shopper(Goal("books-r", "books", needs, hard.id, [], "USD", 6, dict(style), dict(plan)), prof, gcat)
        shopper.opening()
        said = shopper.respond("Let me look.", [])
        assert "format" in said and shopper.pending["kind"] == "release"
        shopper.respond(f"The {shown.title} is ${shown.price:.2f}.", [shown.id])
        outcomes.append(shopper.scores()["releases_honoured"])
    assert outcomes == [0.0, 1.0]


def test_reading_replies(gcat):
    prof = catalog_profiles(gcat)["books"]
    lex = Lexicon(prof)
    p = next(x for x in gcat if x.category == "books")
    r = read_reply(
        f"Is this for a gift? What's your price range? Hardcover or paperback? I like the {p.title}.",
        None,
        gcat,
        "books",
        lex,
    )
    assert r.asked == ["budget", "format"] and r.products == [p.id] and not r.from_endpoint  # title fallback
    assert read_reply("What kind of book are you looking for?", [], gcat, "books", lex).asked == []  # no kind attr
    assert read_reply("What's the most you'd want to pay?", [], gcat, "books", lex).asked == ["budget"]
    garden = catalog_profiles(gcat)["garden"]
    assert read_reply("What kind of item are you looking for?", [], gcat, "garden", Lexicon(garden)).asked == ["kind"]
    assert read_reply("Any frost proof needs?", [], gcat, "garden", Lexicon(garden)).asked == ["frost_proof"]
    r = read_reply(f"The {p.title} is a {p.attributes['genre']} book.", [p.id], gcat, "books", lex)
    assert answer_status(f"The {p.title} is a {p.attributes['genre']} book.", p, "genre", r) == "correct"
    other = next(v for v in ("mystery", "poetry", "biography", "cookery") if v != p.attributes["genre"])
    text = f"The {p.title} is a {other} book."
    assert answer_status(text, p, "genre", read_reply(text, [p.id], gcat, "books", lex)) != "correct"


def test_reasks_are_counted_confirmations_are_not(gcat):
    prof = catalog_profiles(gcat)["books"]
    anchor = next(p for p in gcat if p.category == "books" and p.attributes["genre"] == "poetry")
    needs = [Need("attribute", "genre", "poetry"), Need("budget", "budget", 200.0)]
    style = {"chatty": False, "typo_rate": 0, "labels": True, "phrasing": 1}
    goal = Goal("books-x", "books", needs, anchor.id, [anchor.id], "USD", 6, style, {"opening_needs": 2})
    shopper = Shopper(goal, prof, gcat)
    opening = shopper.opening()
    assert "poetry" in opening and "$200" in opening and shopper.needs_dict()["max_price"] == 200.0
    shopper.respond("Poetry under $200, right?", [])
    assert shopper.turns[-1]["asked"] == [] and shopper.turns[-1]["reasked"] == []
    answer = shopper.respond("What's your budget? Hardcover or paperback?", [])
    assert shopper.turns[-1]["reasked"] == ["budget"] and shopper.turns[-1]["asked"] == ["budget", "format"]
    assert "$200" in answer and "format" in answer  # restates the budget, no preference on the format
    shopper.respond(f"Take the {anchor.title}.", [anchor.id])
    assert shopper.outcome == "success" and shopper.scores()["needs_reasked"] == 1


def _strip_timing(recs):
    out = []
    for r in recs:
        r = json.loads(json.dumps(r))
        r.pop("line", None)
        r["scores"].pop("latency_s", None)
        for x in r["messages"] + r["turns"]:
            x.pop("seconds", None)
        out.append(r)
    return out


def test_run_outputs_resume_and_http_gives_same_results(tiny_assistant, tiny_catalog, live_server, tmp_path, capsys):
    from assistant.evaluation.runner import read_results, run_eval
    from assistant.faces.server import build_api

    seen = []
    kw = {"shoppers": 4, "seed": 7, "progress": False, "resamples": 100}
    m1 = run_simulation(
        tiny_catalog, None, tmp_path / "a", client=InProcessClient(tiny_assistant), on_record=seen.append, **kw
    )
    top = tmp_path / "a"
    out = top / "full"  # an assistant in this process: full, no-model and model-only, each in its own folder
    assert m1["counts"]["shoppers"] == 8 and m1["counts"]["errors"] == 0 and len(seen) == 24
    assert set(m1["per_category"]) == {"apparel", "shoes"}
    assert {"mean", "lo", "hi", "n"} <= set(m1["per_category"]["shoes"]["task_success"])
    assert list(m1["ablations"]) == ["full", "no-model", "model-only"]
    assert m1["ablations"]["full"]["overall"] == m1["overall"]
    assert all(
        a["counts"]["shoppers"] == 8 and a["overall"].keys() == m1["overall"].keys() for a in m1["ablations"].values()
    )
    saved = json.loads((top / "metrics.json").read_text())
    assert set(saved["ablations"]) == {"full", "no-model", "model-only"}
    no_model = [r["messages"][1]["content"] for r in read_results(top / "no-model" / "results.jsonl")]
    assert all("Trailblazer" not in t or "I'd recommend this one:" in t for t in no_model)
    dialogues = load_dialogues(out / "transcripts.jsonl", set(tiny_catalog.by_id))
    assert len(dialogues) == 8 and all(d.target in tiny_catalog for d in dialogues)
    html = (top / "report.html").read_text()
    assert "Success vs turns" in html and "<img src=x" not in html
    assert "Ablations" in html and "model-only" in html
    print_summary(m1, top)
    assert re.search(r"^\s+no-model\s+8\s", capsys.readouterr().out, re.M)  # the CLI prints the ablation table
    ev = run_eval(out / "transcripts.jsonl", tiny_catalog, tmp_path / "eval", progress=False, report=False)
    assert ev["counts"]["dialogues"] == 8 and ev["counts"]["skipped_lines"] == 0
    # rerun: resumes, nothing new, same numbers; another seed in the same folder is refused
    m2 = run_simulation(tiny_catalog, None, top, client=InProcessClient(tiny_assistant), **kw)
    assert m2["meta"]["new_this_run"] == 0 and m2["overall"] == m1["overall"]
    assert m2["ablations"]["no-model"]["overall"] == m1["ablations"]["no-model"]["overall"]
    with pytest.raises(DataError, match="differs in: seed"):
        run_simulation(tiny_catalog, None, top, client=InProcessClient(tiny_assistant), **{**kw, "seed": 8})
    # the same shoppers over HTTP (official openai client, our server, 2 workers): the same dialogues and scores
    url = live_server(build_api(tiny_assistant)) + "/v1"
    m3 = run_simulation(tiny_catalog, url, tmp_path / "b", workers=2, timeout=10, **kw)
    a, b = read_results(out / "results.jsonl"), read_results(tmp_path / "b" / "results.jsonl")
    assert _strip_timing(a) == _strip_timing(b)
    assert all(t["from_endpoint"] for r in b for t in r["turns"])
    assert m1["overall"]["replies_changed_by_check"]["n"] == 8  # our assistant reports what its check changed
    assert {k: v for k, v in m3["overall"].items() if k != "latency_s"} == {
        k: v for k, v in m1["overall"].items() if k != "latency_s"
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):  # quiet
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.startswith("/hang/"):
            time.sleep(3)
        body = json.dumps({"error": {"message": "model overloaded", "type": "server_error"}}).encode()
        try:
            self.send_response(503 if self.path.startswith("/busy/") else 500)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout) before the answer
            pass


@pytest.fixture
def broken_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_broken_endpoints_are_counted_and_never_hang(tiny_catalog, broken_server, tmp_path, capsys):
    kw = {"shoppers": 5, "seed": 0, "progress": False, "report": False, "retries": 0, "resamples": 50}
    t0 = time.time()
    m = run_simulation(
        tiny_catalog, f"http://127.0.0.1:{_free_port()}", tmp_path / "down", timeout=2, max_consecutive_errors=3, **kw
    )
    assert m["counts"]["errors"] == 10 and m["counts"]["failed_calls"] == 3 and m["counts"]["not_run"] == 7
    assert any(k.startswith("cannot reach http://127.0.0.1:") and "/v1" in k for k in m["error_kinds"])
    assert m["overall"]["task_success"]["n"] == 0 and m["overall"]["task_success_all"]["mean"] == 0
    m = run_simulation(
        tiny_catalog, broken_server + "/err/v1", tmp_path / "err", timeout=2, max_consecutive_errors=0, **kw
    )
    assert m["counts"]["errors"] == 10 and m["counts"]["failed_calls"] == 10
    assert list(m["error_kinds"]) == [f"{broken_server}/err/v1 answered HTTP 500: model overloaded"]
    m = run_simulation(
        tiny_catalog, broken_server + "/hang/v1", tmp_path / "hang", timeout=0.4, max_consecutive_errors=2, **kw
    )
    assert m["counts"]["failed_calls"] == 2 and m["counts"]["not_run"] == 8
    assert any("within 0.4 s (timeout)" in k for k in m["error_kinds"])
    assert time.time() - t0 < 15
    # the command says what went wrong and exits 1 when every dialogue failed
    path = tmp_path / "cat.jsonl"
    tiny_catalog.save(path)
    code = simulate_main(
        [
            "--catalog",
            str(path),
            "--assistant",
            broken_server + "/busy",
            "--shoppers",
            "2",
            "--out",
            str(tmp_path / "cli"),
            "--retries",
            "0",
            "--timeout",
            "2",
            "--quiet",
            "--no-report",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and f"{broken_server}/busy answered HTTP 503: model overloaded" in err
    assert "every dialogue failed" in err


def test_openai_client_reads_products_and_urls(tiny_assistant, live_server):
    from assistant.faces.server import build_api

    base = live_server(build_api(tiny_assistant))
    c = OpenAIClient(base, timeout=10, retries=0)  # no path: /v1 is added
    r = c.chat([{"role": "user", "content": "a red jacket", "products": ["ignored"], "needs": {}}])
    assert c.url == base + "/v1" and r.products == ["a1"] and "Trailblazer Rain Jacket" in r.text


def test_help_explains_each_option(capsys):
    with pytest.raises(SystemExit) as e:
        simulate_main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in (
        "--catalog",
        "--assistant",
        "--shoppers",
        "--seed",
        "--out",
        "--model",
        "--workers",
        "--patience",
        "--timeout",
        "--retries",
        "--categories",
        "--max-consecutive-errors",
        "--fresh",
    ):
        assert re.search(rf"^\s+{opt}\b.*\S", text, re.M), opt
    assert "task_success" in text and "docs/simulate.md" in text


def _literals(*folders: str) -> list[str]:
    """Every string literal (word lists, templates, regexes) in the Python files of `folders`, normalised."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    out.append(_flat(node.value))
    return out


def _flat(text: str) -> str:
    text = re.sub(r"\{[^{}]*\}", "{}", text.lower())
    return " ".join(re.findall(r"\{\}|[a-z0-9']+", text))


def test_shopper_and_judge_phrasing_is_not_the_assistants():
    """No shopper template, no three-word piece of one and no multi-word judge phrase appears verbatim in the
    demo generator's or the assistant's understanding word lists (the instrument talks in its own words)."""
    from assistant.evaluation import reading
    from assistant.simulation import phrases

    runtime = " | ".join(_literals("training/demo_data", "assistant/understanding"))
    assert "doesn't matter" in runtime  # the sources were read (a phrase the demo generator uses)
    found = []
    bank = phrases.phrase_bank()  # mined from RecQuest's shopper turns: short frames only
    assert bank["open_kind"] and bank["nudge"] and all(len(t.split()) <= 14 for v in bank.values() for t in v)
    banks = [phrases.TEMPLATES, bank] + list(phrases.FOREIGN.values())
    for family, templates in ((f, t) for bank in banks for f, t in bank.items()):
        for t in templates:
            flat = _flat(t)
            words = [w for w in flat.split() if w != "{}"]
            if len(words) >= 2 and f" {flat} " in f" {runtime} ".replace(" | ", " | "):
                found.append(f"{family}: {t!r}")
            for piece in re.split(r"\s*\{\}\s*", flat):
                toks = piece.split()
                for i in range(len(toks) - 2):
                    if re.search(rf"(?<![\w']){re.escape(' '.join(toks[i : i + 3]))}(?![\w'])", runtime):
                        found.append(f"{family}: {t!r} has {' '.join(toks[i : i + 3])!r}")
    phrases = [
        w
        for name in dir(reading)
        if name.isupper() or name.startswith("_") and name[1:].isupper()
        for w in (getattr(reading, name) if isinstance(getattr(reading, name), (set, tuple, list)) else [])
        if isinstance(w, str) and " " in w
    ]
    found += [f"judge phrase {p!r}" for p in phrases if _flat(p) in runtime]
    assert not found, "\n".join(found)
