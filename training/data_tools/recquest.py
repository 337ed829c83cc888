"""RecQuest crowd dialogues -> our catalog and dialogue files (`shopguide data import recquest`).

    shopguide data import recquest ../shared/data/recquest --out data/recquest

**RecQuest** (iai-group/crs-knowledge): `dialogues/*.json` (one crowd dialogue each) and `tasks/<domain>.json`.
Roles human -> user, ai -> assistant. `system` log messages are not turns; they annotate the turns:
"Retrieved items" (newline-separated titles) -> `candidates` of the next assistant message; "Selected item
for recommendation: TITLE (ID: ASIN)" -> `products` (and act `recommend`) of the next assistant message;
the decision label (Recommend, Elicit, Answer, Answer_About_Recommendation, Redirect, ...) -> `act`;
"Updated to N preferences: ..." -> `preferences` of the user message before it. The catalog is rebuilt from
every titled id (selected items, targets) plus the task targets' full text (features, description,
details as attributes; RecQuest has no prices); retrieved titles without an ASIN get a stable id
`rq-<sha1 of title>`. Writes `OUT/catalog.jsonl` and `OUT/dialogues/{domain}.jsonl` (all dialogues of a
domain in one file, file order = dialogue file name order; no split). Everything dropped is counted and
logged with its reason.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

from retrieval.catalog import Product
from retrieval.fileio import DataError, Problem, atomic_write_jsonl

log = logging.getLogger(__name__)

_SELECTED = re.compile(
    r"Selected item for recommendation:\s*(?P<title>.*?)\s*\(ID:\s*(?P<id>[A-Z0-9]{6,})\)\s*$", re.S
)
_ACTS = {
    "recommend": "recommend",
    "elicit": "elicit",
    "answer": "answer",
    "answer_about_recommendation": "answer",
    "question_about_recommendation": "answer",
    "redirect": "redirect",
}


def _title_id(title: str) -> str:
    return "rq-" + hashlib.sha1(title.strip().lower().encode()).hexdigest()[:10]


def import_recquest(src: str | Path, out: str | Path) -> dict[str, Any]:
    """Convert a RecQuest folder to `OUT/catalog.jsonl` + `OUT/dialogues/{domain}.jsonl`.

    Args:
        src: the RecQuest folder (holding `dialogues/` and `tasks/`).
        out: output folder.

    Returns:
        A report: counts of dialogues per domain, products, messages, and dropped items with reasons.

    Raises:
        DataError: when `src` has no `dialogues/*.json`.
    """
    src, out = Path(src), Path(out)
    files = sorted((src / "dialogues").glob("*.json"))
    if not files:
        raise DataError([Problem(str(src / "dialogues"), None, None, "no RecQuest dialogue files (*.json) found")])
    dropped: Counter = Counter()
    products: dict[str, dict[str, Any]] = {}
    title_to_id: dict[str, str] = {}

    def add(pid: str, title: str | None, category: str, **fields) -> None:
        if not title or not title.strip():
            return
        title = title.strip()
        rec = products.setdefault(pid, {"id": pid, "title": title, "category": category})
        if rec["category"] != category:
            dropped["product seen in two domains (kept the first)"] += 1
        for k, v in fields.items():
            if v and not rec.get(k):
                rec[k] = v
        title_to_id.setdefault(title.lower(), pid)

    # 1. tasks: target products with full text
    for tf in sorted((src / "tasks").glob("*.json")):
        try:
            tasks = json.loads(tf.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            log.warning("%s: -: unreadable task file (%s); skipped", tf, e)
            dropped["unreadable task file"] += 1
            continue
        for t in tasks:
            tgt = t.get("target") or {}
            if not tgt.get("asin") or not tgt.get("content"):
                dropped["task without target asin/content"] += 1
                continue
            parsed = parse_task_content(tgt["content"])
            attrs = parse_details(parsed.get("details", ""))
            desc = " ".join(x for x in (parsed.get("features"), parsed.get("description")) if x) or None
            brand = attrs.get("Brand") or attrs.get("Manufacturer")
            add(
                tgt["asin"],
                parsed.get("title"),
                tf.stem,
                description=desc,
                attributes=attrs or None,
                brand=brand,
                image_url=t.get("img_path"),
            )

    # 2. dialogues: parse all, collecting titles of selected items first
    raw: list[tuple[Path, dict]] = []
    for f in files:
        try:
            d = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            log.warning("%s: -: not valid JSON (%s); dialogue skipped", f, e)
            dropped["dialogue file not valid JSON"] += 1
            continue
        if not isinstance(d, dict) or not isinstance(d.get("messages"), list) or not d.get("domain"):
            log.warning("%s: messages/domain: missing; dialogue skipped", f)
            dropped["dialogue without messages or domain"] += 1
            continue
        raw.append((f, d))
        for m in d["messages"]:
            if isinstance(m, dict) and m.get("role") == "system" and isinstance(m.get("content"), str):
                mm = _SELECTED.match(m["content"].strip())
                if mm:
                    add(mm["id"], mm["title"], d["domain"])
    # every titled id first (selected items, targets), so a title retrieved in one dialogue and selected in a later
    # one gets its ASIN, not a second made-up id
    for f, d in raw:
        tgt = d.get("target") or {}
        if tgt.get("id") and tgt.get("title"):
            add(tgt["id"], tgt["title"], d["domain"])
    for f, d in raw:
        for m in d["messages"]:  # newline-separated retrieved titles (ids made from titles when unknown)
            if (
                isinstance(m, dict)
                and m.get("role") == "system"
                and str(m.get("content")).startswith("Retrieved items")
            ):
                for title in _retrieved_lines(m["content"]):
                    add(title_to_id.get(title.lower()) or _title_id(title), title, d["domain"])

    known: dict[str, list[tuple[str, str]]] = {}  # domain -> (lower-cased title, id), longest first
    for p in products.values():
        known.setdefault(p["category"], []).append((p["title"].lower(), p["id"]))
    for v in known.values():
        v.sort(key=lambda x: -len(x[0]))
    by_domain: dict[str, list[dict]] = {}
    n_msgs = Counter()
    for f, d in raw:
        rec = _convert_dialogue(f, d, products, title_to_id, known, dropped, n_msgs)
        if rec is not None:
            by_domain.setdefault(rec["category"], []).append(rec)

    n_products = atomic_write_jsonl(
        out / "catalog.jsonl", (Product(**{k: v for k, v in p.items()}).to_dict() for p in products.values())
    )
    for dom, rows in sorted(by_domain.items()):
        atomic_write_jsonl(out / "dialogues" / f"{dom}.jsonl", rows)
    report = {
        "dialogues": {k: len(v) for k, v in sorted(by_domain.items())},
        "products": n_products,
        "messages": dict(n_msgs),
        "dropped": dict(dropped),
    }
    log.info(
        "RecQuest: %d dialogues in %d domains (%s), %d products, messages %s",
        sum(report["dialogues"].values()),
        len(by_domain),
        ", ".join(f"{k} {v}" for k, v in report["dialogues"].items()),
        n_products,
        dict(n_msgs),
    )
    for reason, n in sorted(dropped.items()):
        if n:
            log.info("dropped or changed %d: %s", n, reason)
    return report


def _retrieved_lines(text: str) -> list[str]:
    """Titles of a newline-separated "Retrieved items:" log message ([] for the comma-joined form)."""
    body = text.split(":", 1)[1] if ":" in text else ""
    lines = [t.strip() for t in body.split("\n") if t.strip()]
    return lines if len(lines) > 1 or (lines and body.lstrip(" ").startswith("\n")) else []


def _convert_dialogue(
    f: Path, d: dict, products: dict, title_to_id: dict, known: dict, dropped: Counter, n_msgs: Counter
) -> dict | None:
    """One RecQuest dialogue -> our record (or None when it has no user message)."""
    domain = d["domain"]
    msgs: list[dict[str, Any]] = []
    pending: dict[str, Any] = {}  # annotations for the next assistant message
    last_rec: str | None = None
    for m in d["messages"]:
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            dropped["message that is not an object with string content"] += 1
            continue
        role, text = m.get("role"), m["content"].strip()
        if role == "system":
            head = text.split("\n", 1)[0].strip()
            body = text.split(":", 1)[1] if ":" in text else ""
            if text.startswith("Retrieved items"):
                lines = _retrieved_lines(text)
                if lines:
                    ids = [title_to_id[t.lower()] for t in lines]
                else:  # older logs join titles with ", " (titles hold commas too): keep the known titles found
                    low = body.lower()
                    found = sorted((low.find(t), pid) for t, pid in known[domain] if t in low)
                    ids = [pid for _, pid in found]
                    dropped["comma-joined retrieved lists (only titles known from elsewhere kept)"] += 1
                pending["candidates"] = list(dict.fromkeys(ids))
            elif _SELECTED.match(text):
                pid = _SELECTED.match(text)["id"]
                pending["products"] = [pid]
                pending["act"] = "recommend"
                last_rec = pid
            elif text.startswith("Updated to") or text.startswith("Updated preferences:"):
                prefs = [p.strip() for p in body.split("\n") if p.strip()]
                for u in reversed(msgs):
                    if u["role"] == "user":
                        u["preferences"] = prefs
                        break
            elif head.lower() in _ACTS:
                pending.setdefault("act", _ACTS[head.lower()])
                if head.lower() in ("answer_about_recommendation", "question_about_recommendation") and last_rec:
                    pending.setdefault("products", [last_rec])
            continue
        if role not in ("human", "ai"):
            dropped[f"message with unknown role {role!r}"] += 1
            continue
        if not text:
            dropped["empty message"] += 1
            continue
        if role == "human":
            msgs.append({"role": "user", "content": text, "products": []})
            n_msgs["user"] += 1
            continue
        out = {"role": "assistant", "content": text, "products": []}
        if text.startswith("Great! You've selected"):
            tgt = (d.get("target") or {}).get("id")
            out.update(act="close", products=[tgt] if tgt in products else [])
        else:
            out.update(pending)
            if out.get("act") == "recommend" and not out["products"]:  # decided to recommend, selected nothing
                if "?" in text:
                    out["act"] = "elicit"
                else:
                    out.pop("act")
                dropped["'Recommend' decision without a selected item (act set to elicit / removed)"] += 1
        if "candidates" in out:
            out["candidates"] = list(dict.fromkeys(out["candidates"] + out["products"]))
        pending = {}
        msgs.append(out)
        n_msgs["assistant"] += 1
    if not any(m["role"] == "user" for m in msgs):
        log.warning("%s: messages: no user message; dialogue skipped", f)
        dropped["dialogue without a user message"] += 1
        return None
    rec: dict[str, Any] = {"id": f.stem, "category": domain, "messages": msgs}
    tgt = (d.get("target") or {}).get("id")
    if tgt and tgt in products:
        rec["target"] = tgt
    elif tgt:
        dropped["target with no known title (target left out)"] += 1
    else:
        dropped["dialogue without a target"] += 1
    recs = [r for r in d.get("recommendations") or [] if r in products]
    dropped["recommended id with no known title"] += len(d.get("recommendations") or []) - len(recs)
    rec.update(recommendations=recs, completed=bool(d.get("completed")), source="recquest")
    return rec


# ---- RecQuest task text --------------------------------------------------------------------------------
_SECTION = re.compile(r"\s+(features|description|details):\s")
_UNITS = frozenset(
    "inches inch pounds pound ounces ounce hours hour gb tb mb ghz mhz mah watts watt mm cm kg lbs "
    "pixels black white silver grey gray red blue green pink gold yes no".split()
)
# Common Amazon detail keys: a parsed key that ENDS with one of these gives its extra leading words back to
# the previous value ("SSD Graphics Coprocessor" -> value "... SSD", key "Graphics Coprocessor").
_KNOWN_KEYS = frozenset(
    k.lower()
    for k in (
        "Brand",
        "Series",
        "Color",
        "Colour",
        "Manufacturer",
        "Model Name",
        "Number of Processors",
        "Graphics Coprocessor",
        "Bike Type",
        "Included Components",
        "Number of Speeds",
        "Wireless Type",
        "Flash Memory Size",
        "Batteries",
        "Item Weight",
        "Wheel Size",
        "Frame Material",
        "Screen Size",
        "Display Type",
        "Operating System",
        "Material",
        "Style",
        "Department",
        "Size",
        "Special Feature",
        "Connectivity Technology",
        "Battery Life",
        "Resolution",
        "Chipset Brand",
        "Screen Size",
        "Max Screen Resolution",
        "Hard Disk Size",
        "Standing screen display size",
        "Ram Memory Installed Size",
        "Card Description",
        "Graphics Card Description",
        "Computer Memory Type",
        "Power Source",
        "Suspension Type",
        "Brake Style",
        "Front Brake Style",
        "Age Range (Description)",
        "Hard Drive Rotational Speed",
        "Item model number",
        "Date First Available",
        "Product Dimensions",
        "Brand Name",
        "Part Number",
        "Suggested Users",
        "Processor",
        "Memory Speed",
        "Hard Drive",
        "CPU Model",
        "Processor Brand",
    )
)
_KEY_WORD = re.compile(r"^(?:[A-Z][a-z]+|[A-Z]{2,5}|[a-z]+|\([^)]*\)?|[a-z]*\))$")


def parse_task_content(text: str) -> dict[str, str]:
    """Split a RecQuest task's `title: ...  features: ...  description: ...  details: ...` text."""
    parts = _SECTION.split(" " + text.strip())
    out = {"title": parts[0].strip().removeprefix("title:").strip()}
    for name, body in zip(parts[1::2], parts[2::2]):
        out[name] = body.strip()
    return out


def parse_details(text: str) -> dict[str, str]:
    """Best-effort `Key: value Key two: value ...` -> dict (Amazon detail tables flattened to one line).

    A key is the run of words before a colon that starts with a capitalised word and holds no digits or
    unit / colour words (so "16 GB DDR4 Memory Speed: 2133 MHz" gives "Memory Speed"). Heuristic: a value
    that ends in capitalised words may lose them to the next key.
    """
    tokens = re.sub(r"\{[^{}]*\}", " ", text).split()  # drop embedded dicts (Best Sellers Rank: {...})
    keys: list[tuple[int, int]] = []  # (start, end) token index of each key; the colon ends tokens[end - 1]
    for i, tok in enumerate(tokens):
        if not tok.endswith(":") or len(tok) < 2:
            continue
        j = i
        words = [tok[:-1]]
        while j > 0 and len(words) < 7 and (not keys or j - 1 >= keys[-1][1]):
            w = tokens[j - 1]
            if not _KEY_WORD.match(w) or w.lower() in _UNITS or w.endswith(":"):
                break
            words.insert(0, w)
            j -= 1
        while words and not words[0][:1].isupper():  # a key starts with a capital
            words.pop(0)
            j += 1
        if words and _KEY_WORD.match(words[-1]) is not None or (words and words[-1][:1].isupper()):
            keys.append((j, i + 1))
    for n, (start, end) in enumerate(keys):  # give leading words of "<value words> <known key>" back
        words = [w.rstrip(":") for w in tokens[start:end]]
        if " ".join(words).lower() in _KNOWN_KEYS:
            continue
        for cut in range(1, len(words)):
            if " ".join(words[cut:]).lower() in _KNOWN_KEYS:
                keys[n] = (start + cut, end)
                break
    out: dict[str, str] = {}
    for n, (start, end) in enumerate(keys):
        stop = keys[n + 1][0] if n + 1 < len(keys) else len(tokens)
        key = " ".join(tokens[start:end])[:-1].strip()
        value = " ".join(tokens[end:stop]).strip(" |;,")
        if key and value and key not in out:
            out[key] = value
    return out


HELP = "RecQuest dialogues folder -> catalog + dialogues"


def add_args(parser: argparse.ArgumentParser) -> None:
    """The options of `shopguide data import recquest`."""
    parser.add_argument("src", help="the RecQuest folder (with dialogues/ and tasks/)")
    parser.add_argument("--out", required=True, help="output folder")


def run(args: argparse.Namespace) -> int:
    """Import with the parsed `args`, print a summary; returns an exit code (DataError is the caller's)."""
    r = import_recquest(args.src, args.out)
    print(
        f"imported {sum(r['dialogues'].values())} dialogues ({r['dialogues']}), {r['products']} products -> {args.out}"
    )
    return 0
