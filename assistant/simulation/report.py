"""The self-contained HTML report of a simulation run, in the style of `shopguide eval`'s report (its page
frame, CSS, plot and table helpers are reused from `assistant.evaluation.report`).

    write_report(path, metrics, results, catalog)

Sections: summary cards (95% CIs), the ablations side by side (when run), per-category bars of the rates
with their CIs, the success-vs-turns curve (overall and per category), the metrics table by category, errors,
and failed dialogues turn by turn beside the shopper's hidden goal. Every catalog, goal and reply text is HTML-escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.evaluation.report import _overall_table, _page, _plt, _png, esc, fmt
from assistant.simulation.goals import label
from assistant.simulation.metrics import HEADLINE, RATES, SCORES
from assistant.simulation.phrases import money
from retrieval.catalog import Catalog
from retrieval.fileio import atomic_write_text

_EXTRA_CSS = """<style>
.sim{display:grid;grid-template-columns:minmax(220px,300px) 1fr;gap:14px}
.goal{background:#fffbea;border-left:3px solid #e0a800;border-radius:8px;padding:10px 12px;font-size:13px}
.goal ul{margin:4px 0 8px 16px;padding:0} .goal li{margin:2px 0}
.turn.single .bubble{margin:0}
</style>"""
_CARDS = (*HEADLINE, "task_success_all")


def _cards(metrics: dict[str, Any]) -> str:
    c, o = metrics["counts"], metrics["overall"]
    out = [
        f'<div class="card"><div class="v">{c["shoppers"]}</div><div class="n">shoppers ({c["assistant_turns"]} '
        f"assistant turns, {c['categories']} categories)</div></div>",
        f'<div class="card"><div class="v">{c["errors"]}</div><div class="n">failed dialogues (assistant errors'
        f"{', ' + str(c['not_run']) + ' not run' if c.get('not_run') else ''})</div></div>",
    ]
    for name in _CARDS:
        d = o.get(name)
        if d and d["mean"] is not None:
            out.append(
                f'<div class="card"><div class="v">{fmt(d["mean"])}</div><div class="n">{esc(name)}</div>'
                f'<div class="ci">95% CI {fmt(d["lo"])} – {fmt(d["hi"])} · n={d["n"]}</div></div>'
            )
    return '<div class="cards">' + "".join(out) + "</div>"


def ablation_table(metrics: dict[str, Any]) -> str:
    """The ablations side by side: one row per metric, one column per ablation (mean, 95% CI, n)."""
    abl = metrics.get("ablations") or {}
    if not abl:
        return ""
    names = [n for n in SCORES if any(n in a["overall"] for a in abl.values())]
    head = "".join(f"<th>{esc(a)}</th>" for a in abl)
    rows = []
    for name in names:
        cells = []
        for a in abl.values():
            d = a["overall"].get(name) or {}
            cells.append(
                f'<td class="num">{fmt(d.get("mean"))} <span class="muted">[{fmt(d.get("lo"))}, {fmt(d.get("hi"))}] '
                f"n={d.get('n', 0)}</span></td>"
            )
        rows.append(f"<tr><td>{esc(name)}</td>{''.join(cells)}</tr>")
    note = (
        '<p class="muted"><b>full</b>: the assistant as is; <b>no-model</b>: its engine replaced by one that always '
        "says the same sentence (what the code around the model achieves alone); <b>model-only</b>: the reply "
        "checks off (the model's text as written). The same shoppers (same seed) in each.</p>"
    )
    return f'{note}<div class="scroll"><table><tr><th>metric</th>{head}</tr>{"".join(rows)}</table></div>'


def category_bars(metrics: dict[str, Any]) -> str:
    """Grouped bars with 95% CI whiskers: one group per category (and "all"), one bar per rate."""
    cats = list(metrics.get("per_category", {}))
    names = [n for n in RATES if metrics["overall"].get(n, {}).get("mean") is not None]
    if not cats or not names:
        return '<p class="muted">No per-category scores.</p>'
    import numpy as np

    plt = _plt()
    groups = cats + ["all"]
    fig, ax = plt.subplots(figsize=(10.5, 3.6))
    width = 0.8 / len(names)
    x = np.arange(len(groups))
    for j, name in enumerate(names):
        blocks = [metrics["per_category"][c].get(name, {}) for c in cats] + [metrics["overall"][name]]
        means = [b.get("mean") if b.get("mean") is not None else 0.0 for b in blocks]
        lo = [m - (b.get("lo") if b.get("lo") is not None else m) for m, b in zip(means, blocks)]
        hi = [(b.get("hi") if b.get("hi") is not None else m) - m for m, b in zip(means, blocks)]
        ax.bar(
            x + j * width - 0.4 + width / 2,
            means,
            width,
            yerr=[lo, hi],
            capsize=2,
            label=name,
            error_kw={"elinewidth": 0.8, "alpha": 0.7},
        )
    ax.set_xticks(x, groups, rotation=20 if len(groups) > 6 else 0)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share (95% CI)")
    ax.legend(fontsize=8, ncol=min(5, len(names)), loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def success_curve(metrics: dict[str, Any]) -> str:
    """Cumulative task success by assistant turn, overall (thick) and per category."""
    curves = metrics.get("success_by_turn", {})
    if not curves.get("overall"):
        return '<p class="muted">No dialogues.</p>'
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for name, ys in curves.items():
        if not ys:
            continue
        xs = list(range(1, len(ys) + 1))
        if name == "overall":
            ax.plot(xs, ys, color="#1d2330", lw=2.6, label="all", zorder=3)
        else:
            ax.plot(xs, ys, lw=1.3, marker="o", ms=3, label=name, alpha=0.85)
    ax.set_xlabel("assistant turn")
    ax.set_ylabel("shoppers served (cumulative)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _goal_card(rec: dict[str, Any], catalog: Catalog) -> str:
    g = rec["goal"]
    items = []
    for n in g["needs"]:
        if n["kind"] == "budget":
            items.append(f"budget: at most {esc(money(n['value'], g.get('currency')))}")
        elif n["kind"] == "attribute":
            items.append(f"{esc(label(n['topic']))}: {esc(n['value'])}")
        elif n["kind"] == "exclude_brand":
            items.append(f"not brand {esc(n['value'])}")
        else:
            items.append(f"{esc(label(n['topic']))}: not {esc(n['value'])}")
    plan = g.get("plan", {})
    style = g.get("style", {})
    sat = g.get("satisfying", [])
    shown = "".join(
        f"<li>{esc(pid)}: {esc(catalog.get(pid).title if catalog.get(pid) else '?')}</li>" for pid in sat[:5]
    )
    more = f"<li>… {len(sat) - 5} more</li>" if len(sat) > 5 else ""
    traits = [
        ("chatty" if style.get("chatty") else "terse"),
        f"typo rate {fmt(style.get('typo_rate'), 2)}",
        f"patience {g['patience']}",
    ]
    if plan.get("release"):
        traits.append(f"drops {label(plan['release'])} at turn {plan.get('release_turn')}")
    if plan.get("off_topic_turn"):
        traits.append(f"off-topic at turn {plan['off_topic_turn']}")
    if plan.get("check_attribute"):
        traits.append("checks an attribute")
    if plan.get("compare"):
        traits.append("asks a comparison")
    return (
        f'<div class="goal"><b>hidden goal</b> <span class="muted">({esc(rec["category"])})</span><ul>'
        + "".join(f"<li>{i}</li>" for i in items)
        + f"</ul><b>{len(sat)} product(s) meet it</b><ul>{shown}{more}"
        f'</ul><div class="muted">{esc(", ".join(traits))}</div></div>'
    )


def _turn_tags(t: dict[str, Any]) -> str:
    tags = [
        f'<span class="tag">products: {esc(", ".join(t.get("products") or []) or "none")}'
        f"{'' if t.get('from_endpoint') else ' (from text)'}</span>"
    ]
    if t.get("asked"):
        tags.append(f'<span class="tag">asks: {esc(", ".join(map(label, t["asked"])))}</span>')
    if t.get("reasked"):
        tags.append(f'<span class="tag err">re-asks: {esc(", ".join(map(label, t["reasked"])))}</span>')
    for pid, topics in (t.get("violations") or {}).items():
        tags.append(f'<span class="tag err">{esc(pid)} violates stated {esc(", ".join(map(label, topics)))}</span>')
    for w in t.get("wrong") or []:
        tags.append(
            f'<span class="tag err">wrong {esc(w["field"])} of {esc(w["product"])}: said {esc(w["stated"])}, '
            f"catalog {esc(w['actual'])}</span>"
        )
    for u in t.get("unknown") or []:
        tags.append(f'<span class="tag err">unknown product: {esc(u)}</span>')
    if "attribute_answer" in t:
        ok = t["attribute_answer"] == "correct"
        tags.append(f'<span class="tag {"ok" if ok else "err"}">attribute answer: {esc(t["attribute_answer"])}</span>')
    if "comparison" in t:
        tags.append(
            f'<span class="tag {"ok" if t["comparison"] else "err"}">comparison '
            f"{'done' if t['comparison'] else 'not done'}</span>"
        )
    if "off_topic_handled" in t:
        tags.append(
            f'<span class="tag {"ok" if t["off_topic_handled"] else "err"}">off-topic '
            f"{'handled' if t['off_topic_handled'] else 'not handled'}</span>"
        )
    if t.get("seconds") is not None:
        tags.append(f'<span class="tag">{t["seconds"]:.2f} s</span>')
    return "<div>" + "".join(tags) + "</div>"


def _dialogue(rec: dict[str, Any], catalog: Catalog, max_messages: int = 24) -> str:
    s = rec.get("scores", {})
    head = " · ".join(
        f"{esc(k)} {fmt(s.get(k))}"
        for k in ("assistant_turns", "needs_reasked", "false_facts", "violating_recommendations")
        if k in s
    )
    out = [
        f'<div class="dlg"><h3>{esc(rec["id"])} <span class="muted">({esc(rec["category"])}, '
        f'{esc(rec.get("outcome"))})</span></h3><div class="muted">{head}</div><div class="sim">',
        _goal_card(rec, catalog),
        "<div>",
    ]
    if "error" in rec:
        out.append(f'<div class="bubble bad">{esc(rec["error"])}</div>')
    turns = iter(rec.get("turns", []))
    for m in rec.get("messages", [])[:max_messages]:
        if m["role"] == "user":
            out.append(
                f'<div class="turn single"><div class="bubble user"><b>shopper:</b> {esc(m["content"])}</div></div>'
            )
        else:
            t = next(turns, {})
            bad = t.get("wrong") or t.get("unknown") or t.get("violations")
            out.append(
                f'<div class="turn single"><div class="bubble {"bad" if bad else "rep"}"><b>assistant (turn '
                f"{esc(t.get('turn'))}):</b> {esc(m['content'])}{_turn_tags(t)}</div></div>"
            )
    if len(rec.get("messages", [])) > max_messages:
        out.append(f'<p class="muted">… {len(rec["messages"]) - max_messages} more messages in results.jsonl</p>')
    return "".join(out) + "</div></div></div>"


def _failed(results: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Up to `n` failed dialogues (no success), taken round-robin over categories: errors first, then the
    ones that left."""
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(results, key=lambda r: "error" not in r):
        if r.get("outcome") != "success":
            by_cat.setdefault(r["category"], []).append(r)
    out: list[dict[str, Any]] = []
    while len(out) < n and any(by_cat.values()):
        for rows in by_cat.values():
            if rows and len(out) < n:
                out.append(rows.pop(0))
    return out


def _errors(metrics: dict[str, Any]) -> str:
    kinds = metrics.get("error_kinds") or {}
    if not kinds:
        return '<p class="muted">No assistant errors.</p>'
    rows = "".join(f'<tr><td class="num">{n}</td><td>{esc(msg)}</td></tr>' for msg, n in kinds.items())
    return f"<table><tr><th>dialogues</th><th>error</th></tr>{rows}</table>"


def render_report(
    metrics: dict[str, Any], results: list[dict[str, Any]], catalog: Catalog, failed_shown: int = 8
) -> str:
    """The HTML text of a simulation report."""
    meta = metrics.get("meta", {})
    lat = metrics.get("latency", {})
    model = f" · model {esc(meta['model'])}" if meta.get("model") else ""
    patience = "-".join(map(str, meta.get("patience", [])))
    sub = (
        f'<p class="muted">assistant {esc(meta.get("assistant"))}{model} · catalog {esc(meta.get("catalog"))} · '
        f"{esc(meta.get('shoppers_per_category'))} shoppers per category · seed {esc(meta.get('seed'))} · "
        f"patience {esc(patience)} turns · latency per turn p50 {fmt(lat.get('p50'), 2)} s, "
        f"p95 {fmt(lat.get('p95'), 2)} s</p>"
    )
    shown = _failed(results, failed_shown)
    body = [
        f"<h1>shopguide simulation</h1>{sub}",
        _EXTRA_CSS,
        "<h2>Summary</h2>",
        _cards(metrics),
        *(
            ["<h2>Ablations: what the model and the checks each carry</h2>", ablation_table(metrics)]
            if metrics.get("ablations")
            else []
        ),
        "<h2>Per category</h2>",
        category_bars(metrics),
        "<h2>Success vs turns</h2>",
        '<p class="muted">Share of shoppers whose accepted product the assistant had '
        "recommended by turn t (errors left out).</p>",
        success_curve(metrics),
        "<h2>Metrics by category</h2>",
        _overall_table(metrics, [n for n in SCORES if n in metrics["overall"]]),
        "<h2>Assistant errors</h2>",
        _errors(metrics),
        f"<h2>Failed dialogues ({len(shown)} shown)</h2>",
        '<p class="muted">Dialogues without success, spread over categories (assistant errors first), each beside '
        "the shopper's hidden goal. Definitions: docs/simulate.md.</p>",
    ]
    body += [_dialogue(r, catalog) for r in shown]
    return _page("shopguide simulation", "".join(body))


def write_report(
    path: str | Path, metrics: dict[str, Any], results: list[dict[str, Any]], catalog: Catalog, failed_shown: int = 8
) -> Path:
    """Write the report atomically; returns its path."""
    atomic_write_text(path, render_report(metrics, results, catalog, failed_shown))
    return Path(path)
