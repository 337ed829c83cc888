"""Per-turn and per-dialogue scores: transcript scoring (logs as they are) and replay through an assistant.

`score_dialogue(d, reader)` scores any system's transcript in the dialogue contract; `replay_dialogue(d,
assistant, reader)` replays each reference assistant turn (history = the reference messages before it,
system messages dropped) and compares the assistant's reply with the reference reply. Both return one
JSON-ready result: `{"id", "category", "mode", "turns": [...], "scores": {name: number|None}}`; the flat
`scores` are what `summary.py` averages, breaks down per category and compares between runs. Metric
definitions are in docs/eval.md. Replies are read with the judge's own `reading.Reader` (product names by
fuzzy title matching, stated prices and values against the catalog), never with the assistant's checks.
"""

from __future__ import annotations

import re
import time
from typing import Any

from assistant.dialogues import Dialogue
from assistant.evaluation import metrics as M
from assistant.evaluation import stages as S
from assistant.evaluation.reactions import reaction
from assistant.evaluation.reading import Reader, Reading

K_VALUES = (1, 3, 5)
_RECOMMEND_ACTS = {"recommend", "relax", "compare"}


def user_reaction(text: str) -> str:
    """'reject', 'accept' or 'neutral': the shopper's reply to a recommendation, read with the rules of
    `assistant.evaluation.reactions` (accuracy measured on a labelled sample: docs/eval.md)."""
    return reaction(text)


def _constraints(needs: dict[str, Any]) -> int:
    n = sum(needs.get(k) is not None for k in ("min_price", "max_price"))
    n += len(needs.get("attributes") or {}) + len(needs.get("exclude_attributes") or {})
    return n + len(needs.get("brands") or []) + len(needs.get("exclude_brands") or [])


def needs_unclear(d: Dialogue, reader: Reader) -> bool:
    """Were the shopper's needs unclear at the first user turn? Uses the `needs` annotation when present
    (no price, attribute or brand constraint yet); otherwise the opening message is unclear when it is short
    (< 12 words) and states no price and no attribute value or brand of the category's catalog."""
    first = next((m for m in d.messages if m["role"] == "user"), None)
    if first is None:
        return False
    if isinstance(first.get("needs"), dict):
        return _constraints(first["needs"]) == 0
    toks = M.words(first["content"])
    if len(toks) >= 12 or re.search(r"[$€£₹]\s?\d|\d+\s?(dollars|usd|bucks|euros?)", first["content"], re.I):
        return False
    shelf = reader.shelf(d.category)
    low = " ".join(toks)
    if shelf.value_rx is not None and shelf.value_rx.search(low):
        return False
    return not any(re.search(rf"(?<!\w){re.escape(b)}(?!\w)", low) for b in shelf.brands if b)


def _last_user(d: Dialogue, i: int) -> str | None:
    """The user message right before message `i` (None when the assistant speaks first)."""
    return next((m["content"] for m in reversed(d.messages[:i]) if m["role"] == "user"), None)


def _recommended(msg: dict[str, Any], report: Reading) -> list[str]:
    """The ids a turn recommends: its logged `products` when present, else the products its text names."""
    return list(msg.get("products") or []) or list(report.products)


def _is_recommendation(msg: dict[str, Any], recommended: list[str]) -> bool:
    act = msg.get("act")
    return act in _RECOMMEND_ACTS if act else bool(recommended)


def other_catalog_names(text: str, others: list[Reader] | None, own: Any) -> list[str]:
    """Ids of products of `others` (other shops' catalogs) that `text` names; a product whose title is also in
    the own catalog (both shops sell it) is not counted."""
    if not others:
        return []
    titles = {p.title.casefold() for p in own}
    out = []
    for g in others:
        out += [pid for pid in g.read(text).products if g.catalog.get(pid).title.casefold() not in titles]
    return out


def _grounding_fields(report: Reading) -> dict[str, Any]:
    return {
        "named": report.products,
        "facts": len(report.facts),
        "wrong_facts": len(report.wrong),
        "grounding_rate": report.grounding_rate,
        "unknown": report.unknown,
        "wrong": [
            {"product": m.product_id, "field": m.field, "stated": m.stated, "actual": m.actual} for m in report.wrong
        ],
    }


def score_dialogue(
    d: Dialogue, reader: Reader, k_values: tuple[int, ...] = K_VALUES, others: list[Reader] | None = None
) -> dict[str, Any]:
    """Score a transcript as it is: grounding, recommendation vs target, acceptance, elicitation, length.

    Args:
        d: the dialogue (assistant turns may carry `products`, `act`, `candidates`).
        reader: the judge's reader of the catalog.
        k_values: cut-offs for Hit@k of the dialogue's recommendations against its target.
        others: readers of other shops' catalogs: products of theirs a turn names are counted
            (`other_catalog_products`).

    Returns:
        The result record (see the module docstring).
    """
    turns: list[dict[str, Any]] = []
    ranked: list[str] = []  # distinct recommended ids in order of first recommendation
    first_rec_turn = first_target_turn = None
    asked_before_rec = False
    previous: list[str] = []
    facts = wrong = 0
    for n, (i, msg) in enumerate(d.assistant_turns(), start=1):
        # a reply about one product may name it by pronoun ("They sell for $57.50."): that product is its focus
        about = msg.get("products") or []
        shown = about if len(about) == 1 else (msg.get("candidates") or about)
        report = reader.read(msg["content"], d.category, shown)
        rec = _recommended(msg, report)
        is_rec = _is_recommendation(msg, rec)
        nxt = next((m for m in d.messages[i + 1 :] if m["role"] == "user"), None)
        reaction = user_reaction(nxt["content"]) if (nxt is not None and is_rec) else None
        question = "?" in msg["content"]
        if is_rec:
            if first_rec_turn is None:
                first_rec_turn = n
            ranked.extend(p for p in rec if p not in ranked)
            if d.target is not None and d.target in rec and first_target_turn is None:
                first_target_turn = n
        elif first_rec_turn is None and question:
            asked_before_rec = True
        facts += len(report.facts)
        wrong += len(report.wrong)
        turns.append(
            {
                "turn": n,
                "index": i,
                "user": _last_user(d, i),
                "text": msg["content"],
                "act": msg.get("act"),
                "recommended": rec,
                "is_recommendation": is_rec,
                "question": question,
                "reaction": reaction,
                "words": len(M.words(msg["content"])),
                "repetition": M.repetition_rate(msg["content"]),
                "self_overlap": M.overlap_with_previous(msg["content"], previous),
                **_grounding_fields(report),
                "other_catalog": other_catalog_names(msg["content"], others, reader.catalog),
            }
        )
        # logged product ids the catalog lacks are hallucinated products too (the text may not name them)
        ids = [p for p in msg.get("products") or [] if p not in reader.catalog]
        # an invented product may be both logged by id and named in the text: counted once (the larger side)
        turns[-1]["hallucinated"] = max(len(ids), len(turns[-1]["unknown"]))
        turns[-1]["unknown"] += ids
        previous.append(msg["content"])
    rec_turns = [t for t in turns if t["reaction"] is not None]
    unclear = needs_unclear(d, reader)
    scores: dict[str, Any] = {
        "assistant_turns": len(turns),
        "grounding_rate": (facts - wrong) / facts if facts else None,
        "facts": facts,
        "wrong_facts": wrong,
        "hallucinated_products": sum(t["hallucinated"] for t in turns),
        "turns_with_error": sum(bool(t["wrong_facts"] or t["unknown"]) for t in turns),
        **({"other_catalog_products": sum(len(t["other_catalog"]) for t in turns)} if others else {}),
        "recommendation_turns": sum(t["is_recommendation"] for t in turns),
        "first_recommendation_turn": first_rec_turn,
        "acceptance": M.mean(t["reaction"] == "accept" for t in rec_turns) if rec_turns else None,
        "rejection": M.mean(t["reaction"] == "reject" for t in rec_turns) if rec_turns else None,
        "needs_unclear": float(unclear),
        "elicited_when_unclear": float(asked_before_rec or first_rec_turn is None) if unclear else None,
        "questions_before_recommendation": sum(
            t["question"] for t in turns if first_rec_turn is None or t["turn"] < first_rec_turn
        ),
        "words_per_turn": M.mean(t["words"] for t in turns),
        "repetition": M.mean(t["repetition"] for t in turns),
        "self_overlap": M.mean(t["self_overlap"] for t in turns),
        "distinct_2": M.distinct_n([t["text"] for t in turns], 2),
    }
    if d.target is not None:
        for k in k_values:
            scores[f"target_hit@{k}"] = M.hit_at_k(ranked, [d.target], k)
        scores["target_mrr"] = M.mrr(ranked, [d.target])
        scores["target_rank"] = ranked.index(d.target) + 1 if d.target in ranked else None
        scores["first_target_turn"] = first_target_turn
        accepted = [t for t in rec_turns if d.target in t["recommended"]]
        scores["target_accepted"] = float(any(t["reaction"] == "accept" for t in accepted)) if accepted else None
    return {"id": d.id, "category": d.category, "mode": "score", "target": d.target, "turns": turns, "scores": scores}


def _ranking(pred: list[str], gold: list[str], prefix: str, k_values: tuple[int, ...], out: dict[str, Any]) -> None:
    if not gold:
        return
    for k in k_values:
        out[f"{prefix}_hit@{k}"] = M.hit_at_k(pred, gold, k)
        out[f"{prefix}_recall@{k}"] = M.recall_at_k(pred, gold, k)
        out[f"{prefix}_ndcg@{k}"] = M.ndcg_at_k(pred, gold, k)
    out[f"{prefix}_mrr"] = M.mrr(pred, gold)


class NotReplayable(ValueError):
    """A dialogue with no assistant turn that follows a user message: nothing to replay."""


def replayable_turns(d: Dialogue) -> tuple[list[tuple[int, int, dict[str, Any]]], int]:
    """`([(turn number, message index, message)], context_turns)`: the assistant turns that follow a user
    message (system messages skipped) are replayed; the others (an assistant that speaks first, a second
    assistant message in a row) stay in the history as context."""
    out, context = [], 0
    for n, (i, msg) in enumerate(d.assistant_turns(), start=1):
        prev = next((m for m in reversed(d.messages[:i]) if m["role"] != "system"), None)
        if prev is not None and prev["role"] == "user":
            out.append((n, i, msg))
        else:
            context += 1
    return out, context


def replay_dialogue(
    d: Dialogue,
    assistant: Any,
    reader: Reader,
    k_values: tuple[int, ...] = K_VALUES,
    deep_k: int = S.DEEP_K,
    others: list[Reader] | None = None,
) -> dict[str, Any]:
    """Replay every reference assistant turn that follows a user message through
    `assistant.reply(history, category=...)` and compare.

    The history is the reference dialogue before the turn (role, content, products; system messages
    dropped), so each reply is judged in the context the reference reply had. Assistant turns that do not
    follow a user message (an assistant-first greeting, a second assistant message in a row) are not replayed
    and stay in the history as context (`context_turns`). Ranking metrics compare the reply's `products` (in
    order) with the reference turn's products (`ref_*`) and with the target (`target_*`); the `*_new` variants
    first remove every product already mentioned earlier in the dialogue from both lists (repeating earlier
    products inflates scores). On turns whose reference names products, `ranks` records where the reference
    products and the target rank at each stage (retrieval, the reply, baselines; see `stages.py`).

    Args:
        d: the reference dialogue.
        assistant: an object with `.reply(messages, category=None)` returning text and products (and, for the
            stage records, `.plan`, `.search` and `.index` like `assistant.orchestrator.Assistant`).
        reader: the judge's reader, used on the replayed text.
        k_values: ranking cut-offs.
        deep_k: how deep the reference product's retrieval rank is looked for.
        others: readers of other shops' catalogs (see `score_dialogue`).

    Returns:
        The result record with per-turn `reference` and `replay` text side by side.

    Raises:
        NotReplayable: no assistant turn follows a user message (recorded as the dialogue's error).
    """
    todo, context = replayable_turns(d)
    if not todo:
        roles = ", ".join(m["role"] for m in d.messages[:6])
        raise NotReplayable(
            f"no assistant turn follows a user message (roles: {roles}{', ...' * (len(d.messages) > 6)})"
        )
    turns: list[dict[str, Any]] = []
    previous: list[str] = []
    mentions: list[list[str]] = []  # product ids each earlier (non-system) message mentions
    done = 0
    for n, i, ref in todo:
        history = [
            {"role": m["role"], "content": m["content"], "products": list(m.get("products") or [])}
            for m in d.messages[:i]
            if m["role"] != "system"
        ]
        for m in d.messages[done:i]:
            if m["role"] != "system":
                mentions.append(S.named_ids(m, reader, d.category))
        done = i
        seen = {p for ids in mentions for p in ids}
        t0 = time.perf_counter()
        r = assistant.reply(history, category=d.category)
        seconds = time.perf_counter() - t0
        text, pred = str(getattr(r, "text", "")), [str(p) for p in (getattr(r, "products", None) or [])]
        report = reader.read(text, d.category, pred or None)
        gold = list(ref.get("products") or [])
        row: dict[str, Any] = {
            "turn": n,
            "index": i,
            "user": _last_user(d, i),
            "reference": ref["content"],
            "text": text,
            "products": pred,
            "reference_products": gold,
            "candidates": [str(c) for c in getattr(r, "candidates", None) or []],
            "seconds": round(seconds, 4),
            "routed_category": getattr(r, "category", None),
            "rouge_l": M.rouge_l(text, ref["content"]),
            "chrf": M.chrf(text, ref["content"]),
            "bleu": M.bleu(text, ref["content"]),
            "words": len(M.words(text)),
            "reference_words": len(M.words(ref["content"])),
            "repetition": M.repetition_rate(text),
            "self_overlap": M.overlap_with_previous(text, previous),
            **_grounding_fields(report),
            "other_catalog": other_catalog_names(text, others, reader.catalog),
        }
        _ranking(pred, gold, "ref", k_values, row)
        _ranking([p for p in pred if p not in seen], [p for p in gold if p not in seen], "ref_new", k_values, row)
        if d.target is not None:
            _ranking(pred, [d.target], "target", k_values, row)
            if d.target not in seen:
                _ranking([p for p in pred if p not in seen], [d.target], "target_new", k_values, row)
        if gold:  # a recommendation turn of the reference: where did each stage rank its products?
            stages = S.turn_stages(assistant, history, d.category, r, mentions, reader.catalog, deep_k)
            golds = {"ref": gold, "target": [d.target] if d.target is not None else []}
            row["ranks"] = S.turn_ranks(stages, golds, reader.catalog, d.category)
            row["stages"] = {k: (v[: S._SHOWN] if v is not None else None) for k, v in stages.items()}
            for name in golds:
                rank = row["ranks"].get(name, {}).get("retrieval")
                if rank != "n/a" and name in row["ranks"]:
                    for k in k_values:
                        row[f"{name}_retrieval_hit@{k}"] = float(rank is not None and rank <= k)
        turns.append(row)
        previous.append(text)
    numeric = sorted(
        {k for t in turns for k, v in t.items() if isinstance(v, float) and k != "seconds"}
        | {"words", "reference_words"}
    )
    scores: dict[str, Any] = {"assistant_turns": len(turns), "context_turns": context}
    for k in numeric:
        scores[k] = M.mean(t.get(k) for t in turns)
    facts = sum(t["facts"] for t in turns)
    wrong = sum(t["wrong_facts"] for t in turns)
    scores.update(
        {
            "grounding_rate": (facts - wrong) / facts if facts else None,
            "facts": facts,
            "wrong_facts": wrong,
            "hallucinated_products": sum(len(t["unknown"]) for t in turns),
            "turns_with_error": sum(bool(t["wrong_facts"] or t["unknown"]) for t in turns),
            **({"other_catalog_products": sum(len(t["other_catalog"]) for t in turns)} if others else {}),
            "seconds_per_turn": M.mean(t["seconds"] for t in turns),
            "distinct_2": M.distinct_n([t["text"] for t in turns], 2),
        }
    )
    return {"id": d.id, "category": d.category, "mode": "replay", "target": d.target, "turns": turns, "scores": scores}
