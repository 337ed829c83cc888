"""`shopguide bench grounding`: how well the catalog checker reads free text -- product names found, false alarms,
prices pinned to the right product, and product-like names the catalog lacks.

    shopguide bench grounding --recquest data/recquest --out docs/bench_grounding.md
    shopguide bench grounding --recquest data/recquest --demo data/demo --out docs/bench_grounding.md

Rows (each on text nobody wrote for this checker, except the templates of 3 and 4):

1. **Logged product named** (RecQuest, real LLM replies): recommend turns whose logged selected product the
   checker finds in the text (recall), and the turns where it names a different product instead.
2. **False alarms across categories** (RecQuest): every assistant reply checked against a catalog holding only the
   *other* categories' products -- any product named there is a false alarm (a bicycle reply cannot name a
   laptop). Per turn.
3. **Partial titles** (RecQuest catalog): "I recommend the {first k words of the title}." for every product and
   k = 2..4 where those words are in that one title only: share found, share naming another product.
4. **Prices next to their product** (demo catalog, when given): two products of a category with their prices in
   four sentence shapes ("the X ($a) ... the Y costs $b", "for $b you get the Y", ...): share of prices pinned
   to the right product, and correct prices flagged as wrong (false alarms).
5. **Generated replies** (demo test split, when given; and all splits): named products against the `products`
   annotations (precision / recall), unknown-product flags and facts flagged wrong (every one is false: the
   replies only name catalog products and state their catalog facts).
7. **Invented names** (demo catalog): brandless invented names in the strict reader's shapes ("I'd suggest the
   Aroma and White floor lamp, $150.00", "The alert jacket is a luxury item ...") flagged unknown, and a real
   product's partial name with its kind ("the Dune floor lamp") flagged (false alarms).
8. **Sizes and numbers with units** (demo catalog): every size / quantity attribute value stated right and wrong
   ("comes in size XL", "has 768 GB of storage"): wrong ones flagged, right ones flagged (false alarms).
6. **Unknown names** (RecQuest): product-like names the checker flags as absent from the catalog, distinct,
   most frequent first (judged by hand in docs/bench_grounding.md).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from assistant.checks.grounding import Grounder
from assistant.checks.grounding_index import tokenize
from assistant.dialogues import load_dialogues
from retrieval.catalog import Catalog, load_catalog
from retrieval.fileio import atomic_write_text


def recquest_rows(folder: Path) -> dict[str, Any]:
    """Rows 1, 2, 3 and 6 on a RecQuest import (`shopguide data import recquest ... --out folder`)."""
    catalog = load_catalog(folder / "catalog.jsonl")
    dialogues = load_dialogues(folder / "dialogues")
    g = Grounder(catalog)
    others = {c: Grounder(Catalog([p for p in catalog if p.category != c])) for c in catalog.categories()}
    rec = found = other = turns = alarms = 0
    unknown: Counter = Counter()
    for d in dialogues:
        for _, m in d.assistant_turns():
            turns += 1
            r = g.check(m["content"], d.category, m.get("candidates"))
            unknown.update(r.unknown)
            if m.get("act") == "recommend" and m.get("products"):
                rec += 1
                found += m["products"][0] in r.products
                other += bool(r.products) and m["products"][0] not in r.products
            alarms += bool(others[d.category].check(m["content"], None).products)
    # 3. partial titles
    partial = hits = wrong = 0
    for p in catalog:
        words = p.title.split()
        for k in (2, 3, 4):
            head = " ".join(words[:k])
            toks = set(tokenize(head))
            if len(words) <= k or not toks or any(toks <= set(tokenize(q.title)) for q in catalog if q.id != p.id):
                continue
            partial += 1
            named = g.check(f"I recommend the {head}.", p.category).products
            hits += named == [p.id]
            wrong += bool(named) and named != [p.id]
    return {
        "recommend_turns": rec,
        "logged_found": found,
        "other_named": other,
        "turns": turns,
        "cross_category_alarms": alarms,
        "partial": partial,
        "partial_found": hits,
        "partial_wrong": wrong,
        "unknown": unknown,
    }


_PRICE_SHAPES = (
    "The {x} costs ${a}, while for ${b} you get the {y}.",
    "Compared with the {x} (${a}), the {y} costs ${b}.",
    "At ${b}, the {y} beats the {x} at ${a}.",
    "The {x} is ${a} and the {y} is ${b}.",
)


def price_rows(catalog: Catalog, pairs: int = 200, seed: int = 0) -> dict[str, int]:
    """Row 4: `pairs` random same-category pairs x the shapes above, titles and prices from the catalog."""
    g = Grounder(catalog)
    rng = random.Random(seed)
    by_cat: dict[str, list[Any]] = {}
    for p in catalog:
        if p.price is not None:
            by_cat.setdefault(p.category, []).append(p)
    stated = right = false_alarms = 0
    for _ in range(pairs):
        cat = rng.choice(sorted(by_cat))
        x, y = rng.sample(by_cat[cat], 2)
        if abs(x.price - y.price) < 0.01:
            continue
        for shape in _PRICE_SHAPES:
            text = shape.format(x=x.title, y=y.title, a=f"{x.price:.2f}", b=f"{y.price:.2f}")
            r = g.check(text, cat)
            want = {f"${x.price:.2f}": x.id, f"${y.price:.2f}": y.id}
            for m in (m for m in r.mentions if m.field == "price"):
                stated += 1
                right += want.get(m.stated) == m.product_id
                false_alarms += not m.ok
            stated += sum(1 for u in r.unattributed if u in want)  # not pinned at all: counted as missed
    return {"prices": stated, "pinned_right": right, "false_alarms": false_alarms}


def demo_rows(folder: Path, splits: tuple[str, ...] = ("test",)) -> dict[str, int]:
    """Row 5 on a generated demo data folder (`splits`; every fact and name of its replies is the catalog's)."""
    catalog = load_catalog(folder / "catalog")
    g = Grounder(catalog)
    tp = fp = fn = unknown = replies = facts = wrong = 0
    names: Counter = Counter()
    for split in splits:
        for f in sorted((folder / "dialogues").glob(f"*.{split}.jsonl")):
            for d in load_dialogues(f):
                for _, m in d.assistant_turns():
                    replies += 1
                    r = g.check(m["content"], d.category, m.get("candidates"))
                    gold, got = set(m.get("products") or []), set(r.products)
                    tp, fp, fn = tp + len(gold & got), fp + len(got - gold), fn + len(gold - got)
                    unknown += len(r.unknown)
                    names.update(r.unknown)
                    facts, wrong = facts + len(r.mentions), wrong + len(r.wrong)
    return {
        "replies": replies,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "unknown_flags": unknown,
        "facts": facts,
        "wrong_flags": wrong,
        "names": names,
    }


# Row 7: invented names in the shapes the strict reader saw ("the Aroma and White floor lamp, $150.00", "The alert
# jacket is a luxury item"); the words were chosen before the checker was written and are in no demo title.
INVENTED = ("Aroma and White", "alert", "Nimbus", "Cloudline", "Verano", "Silverpeak", "Harbor Mist", "cozy Aurora")
_NAME_SHAPES = (
    "I'd suggest the {name} {kind}, ${price}.",
    "The {name} {kind} is a luxury item created by a team of designers in London.",
    "You might like our {name} {kind}: it is a customer favourite.",
)


def name_rows(catalog: Catalog, seed: int = 0) -> dict[str, int]:
    """Row 7: each invented word x shape x category kind (flagged: recall), and the same shapes with a real
    product's partial name ("the Dune floor lamp": its title's second word and its kind; flagged: false alarms)."""
    g = Grounder(catalog)
    rng = random.Random(seed)
    kinds: dict[str, list[Any]] = {}
    for p in catalog:
        if isinstance(p.attributes.get("type"), str):
            kinds.setdefault(p.category, []).append(p)
    invented = caught = real = alarms = 0
    for cat, prods in sorted(kinds.items()):
        for kind in sorted({p.attributes["type"] for p in prods}):
            for name in INVENTED:
                for shape in _NAME_SHAPES:
                    invented += 1
                    caught += bool(g.check(shape.format(name=name, kind=kind, price="150.00"), cat).unknown)
            for p in rng.sample([p for p in prods if p.attributes["type"] == kind], 3):
                word = p.title.split()[1] if len(p.title.split()) > 2 else p.title.split()[0]
                for shape in _NAME_SHAPES:
                    real += 1
                    text = shape.format(name=word, kind=kind, price=f"{p.price:.2f}")
                    alarms += bool(g.check(text, cat, shown=[p.id]).unknown)
    return {"invented": invented, "caught": caught, "real": real, "name_alarms": alarms}


_FACT_SHAPES = ("The {title} comes in {label} {value}.", "The {title} has {value} of {label}.")


def quantity_rows(catalog: Catalog) -> dict[str, int]:
    """Row 8: every size / number-with-unit attribute value of every product stated in two shapes, right (a
    flag is a false alarm) and wrong (the number x 1.5, or the next clothing size: a flag is a catch)."""
    g = Grounder(catalog)
    stated = caught = right = alarms = 0
    sizes = ["XS", "S", "M", "L", "XL", "XXL"]
    quantity = re.compile(r"(?:US )?(\d+(?:\.\d+)?)(?:x\d+)? ?[A-Za-z]{2,}(?: [A-Za-z]+)?")  # "512 GB", "US 10"
    for p in catalog:
        for name, value in p.attributes.items():
            if not isinstance(value, str) or name == "type":
                continue
            if value in sizes:
                wrong = sizes[(sizes.index(value) + 1) % len(sizes)]
            elif quantity.fullmatch(value):
                num = quantity.fullmatch(value).group(1)
                wrong = value.replace(num, f"{float(num) * 1.5:g}", 1)
            else:
                continue
            for shape in _FACT_SHAPES:
                good = shape.format(title=p.title, label=name, value=value)
                bad = shape.format(title=p.title, label=name, value=wrong)
                right, stated = right + 1, stated + 1
                alarms += bool(g.check(good, p.category, shown=[p.id]).wrong)
                caught += bool(g.check(bad, p.category, shown=[p.id]).wrong)
    return {"quantities": stated, "quantity_caught": caught, "quantity_right": right, "quantity_alarms": alarms}


def _pct(a: int, b: int) -> str:
    return f"{a / b:.3f} ({a}/{b})" if b else "-"


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench grounding`."""
    ap = argparse.ArgumentParser(
        prog="shopguide bench grounding", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--recquest", help="a RecQuest import folder (shopguide data import recquest ... --out DIR)")
    ap.add_argument("--demo", help="a generated demo data folder (shopguide data generate --out DIR)")
    ap.add_argument("--out", help="markdown file for the results")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    lines = ["# Grounding on free text (`shopguide bench grounding`)", ""]
    lines.append(f"    shopguide bench grounding {' '.join(argv or sys.argv[1:])}")
    lines.append("")
    if args.recquest:
        r = recquest_rows(Path(args.recquest))
        lines += [
            "| measure | value |",
            "|---|---|",
            f"| logged product found in recommend turns (recall) | {_pct(r['logged_found'], r['recommend_turns'])} |",
            f"| recommend turns naming another product instead | {_pct(r['other_named'], r['recommend_turns'])} |",
            f"| replies naming a product of another category (false alarm, per turn) | "
            f"{_pct(r['cross_category_alarms'], r['turns'])} |",
            f"| partial titles found (first 2-4 words, unique) | {_pct(r['partial_found'], r['partial'])} |",
            f"| partial titles naming another product | {_pct(r['partial_wrong'], r['partial'])} |",
            f"| unknown product-like names flagged | {sum(r['unknown'].values())} ({len(r['unknown'])} distinct) |",
            "",
            "Unknown names, most frequent first: " + ", ".join(f"{n} ({c})" for n, c in r["unknown"].most_common(60)),
            "",
        ]
    if args.demo:
        catalog = load_catalog(Path(args.demo) / "catalog")
        p = price_rows(catalog)
        d = demo_rows(Path(args.demo))
        a = demo_rows(Path(args.demo), ("train", "validation", "test"))
        n = name_rows(catalog)
        q = quantity_rows(catalog)
        lines += [
            "| measure (demo data) | value |",
            "|---|---|",
            f"| prices pinned to the right product (two products per sentence) | "
            f"{_pct(p['pinned_right'], p['prices'])} |",
            f"| correct prices flagged wrong (false alarms) | {_pct(p['false_alarms'], p['prices'])} |",
            f"| named products, precision | {_pct(d['tp'], d['tp'] + d['fp'])} |",
            f"| named products, recall | {_pct(d['tp'], d['tp'] + d['fn'])} |",
            f"| unknown-product flags on {d['replies']} generated replies (all false) | {d['unknown_flags']} |",
            f"| all splits, {a['replies']} replies: unknown-product flags (all false) | {a['unknown_flags']} |",
            f"| all splits: facts checked / flagged wrong (all false) | {a['facts']} / {a['wrong_flags']} |",
            f"| invented brandless names flagged unknown (8 names x 3 shapes x kind) | "
            f"{_pct(n['caught'], n['invented'])} |",
            f"| a real product's partial name + kind flagged unknown (false alarms) | "
            f"{_pct(n['name_alarms'], n['real'])} |",
            f"| wrong sizes / numbers with units flagged (x1.5 or next size, 2 shapes) | "
            f"{_pct(q['quantity_caught'], q['quantities'])} |",
            f"| right sizes / numbers with units flagged wrong (false alarms) | "
            f"{_pct(q['quantity_alarms'], q['quantity_right'])} |",
            "",
        ]
        if a["names"]:
            lines += [
                "Unknown names on demo replies: " + ", ".join(f"{k} ({c})" for k, c in a["names"].most_common(20))
            ]
    lines.append(f"({time.perf_counter() - t0:.0f} s)")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
