"""Self-contained HTML reports of an evaluation run and of a comparison between two runs.

One file, no external requests: inline CSS, plots as inline base64 PNG (matplotlib, Agg backend). Every
piece of catalog, dialogue and model text is HTML-escaped (product titles and replies are untrusted).

    write_report(path, metrics, results)          # summary cards, per-category bars, distributions,
                                                  # metrics tables, skipped lines, worst dialogues
    write_compare_report(path, comparison, meta)  # differences B - A with 95% bootstrap CIs
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from assistant.evaluation.stages import STAGES
from assistant.evaluation.summary import HEADLINE, LOWER_IS_BETTER, worst_dialogues
from retrieval.fileio import atomic_write_text

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 12px;border-bottom:2px solid #dde1e8;padding-bottom:4px}
h3{font-size:15px;margin:0 0 8px}
.muted{color:#667085;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.card{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card .v{font-size:24px;font-weight:600} .card .n{font-size:12px;color:#667085;word-break:break-word}
.card .ci{font-size:12px;color:#667085}
img.plot{max-width:100%;background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.plots{display:grid;grid-template-columns:1fr 1fr;gap:12px}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%;box-shadow:0 1px 3px rgba(0,0,0,.08)}
th,td{padding:5px 8px;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto} details{margin-top:10px} summary{cursor:pointer;color:#3b5bdb;font-size:13px}
.dlg{background:#fff;border-radius:10px;padding:14px;margin:14px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.turn{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin:8px 0}
.turn.single{grid-template-columns:1fr}
.bubble{border-radius:8px;padding:8px 10px;font-size:13px;white-space:pre-wrap;word-break:break-word}
.user{background:#eef4ff;border-left:3px solid #5b8def;grid-column:1/-1}
.ref{background:#f3f4f6;border-left:3px solid #9aa3b2} .rep{background:#f0faf3;border-left:3px solid #3fa66b}
.bad{background:#fff1f0;border-left:3px solid #d9463b}
.tag{display:inline-block;font-size:11px;padding:1px 6px;border-radius:8px;background:#e6e9ef;margin-right:4px}
.tag.err{background:#fde2e0;color:#a8241a} .tag.ok{background:#dcf3e4;color:#1e7a45}
.pos{color:#1e7a45;font-weight:600} .neg{color:#a8241a;font-weight:600}
"""

_CARD_METRICS = (
    "grounding_rate",
    "hallucinated_products",
    "wrong_facts",
    "target_hit@1",
    "target_hit@3",
    "target_mrr",
    "acceptance",
    "elicited_when_unclear",
    "rouge_l",
    "chrf",
    "bleu",
    "ref_hit@1",
    "ref_ndcg@5",
    "ref_new_hit@1",
    "words_per_turn",
    "words",
    "repetition",
    "seconds_per_turn",
)
_BAR_METRICS = (
    "grounding_rate",
    "target_hit@3",
    "acceptance",
    "elicited_when_unclear",
    "rouge_l",
    "ref_hit@3",
    "ref_new_hit@3",
    "target_hit@5",
)
_DIST_METRICS = (
    "grounding_rate",
    "target_mrr",
    "words_per_turn",
    "repetition",
    "rouge_l",
    "chrf",
    "ref_ndcg@5",
    "words",
)


def esc(x: Any) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape("" if x is None else str(x), quote=True)


def fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) < 1000 else f"{v:,.0f}"
    return esc(v)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img class="plot" alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def category_bars(metrics: dict[str, Any]) -> str:
    """Grouped bars: one group per category, one bar per 0..1 metric present (up to 4)."""
    cats = list(metrics.get("per_category", {}))
    names = [m for m in _BAR_METRICS if m in metrics.get("overall", {})][:4]
    if not cats or not names:
        return '<p class="muted">No per-category scores.</p>'
    plt = _plt()
    import numpy as np

    fig, ax = plt.subplots(figsize=(10.5, 3.4))
    width = 0.8 / len(names)
    x = np.arange(len(cats))
    for j, name in enumerate(names):
        vals = [metrics["per_category"][c].get(name, {}).get("mean") for c in cats]
        ax.bar(x + j * width - 0.4 + width / 2, [v if v is not None else 0 for v in vals], width, label=name)
    ax.set_xticks(x, cats, rotation=20 if len(cats) > 5 else 0)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over dialogues")
    ax.legend(fontsize=8, ncol=min(4, len(names)), loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def distributions(results: list[dict[str, Any]]) -> str:
    """Histograms of per-dialogue scores for up to 4 metrics."""
    ok = [r for r in results if "error" not in r]
    names = [m for m in _DIST_METRICS if any(r["scores"].get(m) is not None for r in ok)][:4]
    if not names:
        return '<p class="muted">No scores to plot.</p>'
    plt = _plt()
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        vals = [r["scores"][name] for r in ok if isinstance(r["scores"].get(name), (int, float))]
        unit = all(0 <= v <= 1 for v in vals)
        ax.hist(vals, bins=20, range=(0, 1) if unit else None, color="#5b8def", edgecolor="white")
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("dialogues", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


def _cards(metrics: dict[str, Any]) -> str:
    overall = metrics.get("overall", {})
    c = metrics.get("counts", {})
    out = [
        f'<div class="card"><div class="v">{c.get("dialogues", 0)}</div><div class="n">dialogues '
        f"({c.get('assistant_turns', 0)} assistant turns)</div></div>",
        f'<div class="card"><div class="v">{c.get("skipped_lines", 0)} / {c.get("errors", 0)}</div>'
        '<div class="n">skipped lines / failed dialogues</div></div>',
    ]
    for name in _CARD_METRICS:
        if name in overall and overall[name]["mean"] is not None:
            o = overall[name]
            if o.get("kind") == "count":  # a count: its total, and the mean per dialogue beside it
                out.append(
                    f'<div class="card"><div class="v">{o.get("total", 0)}</div><div class="n">{esc(name)} (count)'
                    f'</div><div class="ci">{fmt(o["mean"])} per dialogue · 95% CI {fmt(o["lo"])} – '
                    f"{fmt(o['hi'])} · n={o['n']} dialogues</div></div>"
                )
                continue
            out.append(
                f'<div class="card"><div class="v">{fmt(o["mean"])}</div><div class="n">{esc(name)}</div>'
                f'<div class="ci">95% CI {fmt(o["lo"])} – {fmt(o["hi"])} · n={o["n"]}</div></div>'
            )
    for name, v in metrics.get("corpus", {}).items():
        if name != "turns":
            out.append(
                f'<div class="card"><div class="v">{fmt(v, 2)}</div><div class="n">corpus {esc(name)}</div></div>'
            )
    return '<div class="cards">' + "".join(out) + "</div>"


def _overall_table(metrics: dict[str, Any], names: list[str], counts: bool = True) -> str:
    cats = list(metrics.get("per_category", {}))
    head = "".join(f"<th>{esc(c)}</th>" for c in cats)
    rows = []
    for name in names:
        o = metrics["overall"][name]
        count = o.get("kind") == "count"

        def cell(c: str) -> str:
            d = metrics["per_category"][c].get(name, {})
            shown = f"{d.get('total', 0)} total, {fmt(d.get('mean'))}/dlg" if count else fmt(d.get("mean"))
            return f'<td class="num">{shown} <span class="muted">n={d.get("n", 0)}</span></td>'

        label = f"{esc(name)} <i>(count: total {o.get('total', 0)}, mean per dialogue)</i>" if count else esc(name)
        rows.append(
            f'<tr><td>{label}</td><td class="num">{fmt(o["mean"])}</td>'
            f'<td class="num">{fmt(o["lo"])} – {fmt(o["hi"])}</td><td class="num">{o["n"]}</td>'
            + "".join(cell(c) for c in cats)
            + "</tr>"
        )
    if counts:
        n_per = "".join(f'<td class="num">{metrics["per_category"][c].get("dialogues", 0)}</td>' for c in cats)
        rows.append(f"<tr><td><i>dialogues</i></td><td></td><td></td><td></td>{n_per}</tr>")
    return (
        f'<div class="scroll"><table><tr><th>metric</th><th>mean</th><th>95% CI</th><th>n</th>{head}</tr>'
        + "".join(rows)
        + "</table></div>"
    )


def _stage_tables(metrics: dict[str, Any]) -> str:
    """Replay only: Hit@k / MRR of each stage (retrieval, the reply, baselines) on the same turns."""
    table = metrics.get("stages") or {}
    if not table:
        return '<p class="muted">No replayed turn whose reference names a product.</p>'
    parts = []
    for gold, block in table.items():
        names = [n for n in next(block[s] for s in STAGES if s in block) if n != "n"]
        what = "the reference turn's products" if gold == "ref" else "the dialogue's target"
        rows = "".join(
            f"<tr><td>{esc(stage)}</td>"
            + "".join(
                f'<td class="num">{fmt(block[stage][n]["mean"])} <span class="muted">[{fmt(block[stage][n]["lo"])}'
                f", {fmt(block[stage][n]['hi'])}]</span></td>"
                for n in names
            )
            + f'<td class="num">{block[stage]["n"]}</td></tr>'
            for stage in STAGES
            if stage in block
        )
        parts.append(
            f"<h3>Against {what} ({block['turns']} turns in {block['dialogues']} dialogues)</h3>"
            f'<div class="scroll"><table><tr><th>stage</th>{"".join(f"<th>{esc(n)}</th>" for n in names)}'
            f"<th>n turns</th></tr>{rows}</table></div>"
        )
    return (
        '<p class="muted">retrieval: the assistant\'s own search (its first cards are what the model saw); final: '
        "the products the reply names; most_mentioned, bm25, dense, random: baselines on the same turns. "
        "95% CI bootstrapped over turns.</p>" + "".join(parts)
    )


def _problems(metrics: dict[str, Any]) -> str:
    parts = []
    if metrics.get("skipped"):
        rows = "".join(
            f'<tr><td class="num">{esc(s.get("line"))}</td><td>{esc(s.get("field"))}</td>'
            f"<td>{esc(s.get('message'))}</td></tr>"
            for s in metrics["skipped"][:200]
        )
        more = len(metrics["skipped"]) - 200
        parts.append(
            f"<h3>Skipped input lines ({len(metrics['skipped'])})</h3><table><tr><th>line</th><th>field</th>"
            f"<th>problem</th></tr>{rows}</table>" + (f'<p class="muted">… and {more} more</p>' if more > 0 else "")
        )
    if metrics.get("errors"):
        rows = "".join(
            f"<tr><td>{esc(e['id'])}</td><td>{esc(e.get('category'))}</td><td>{esc(e['error'])}</td></tr>"
            for e in metrics["errors"][:200]
        )
        parts.append(
            f"<h3>Failed dialogues ({len(metrics['errors'])})</h3><table><tr><th>id</th><th>category</th>"
            f"<th>error</th></tr>{rows}</table>"
        )
    return "".join(parts) or '<p class="muted">No malformed lines and no failed dialogues.</p>'


def _facts(t: dict[str, Any]) -> str:
    tags = []
    for w in t.get("wrong", []):
        tags.append(
            f'<span class="tag err">wrong {esc(w["field"])} of {esc(w["product"])}: said {esc(w["stated"])}, '
            f"catalog {esc(w['actual'])}</span>"
        )
    for u in t.get("unknown", []):
        tags.append(f'<span class="tag err">unknown product: {esc(u)}</span>')
    if t.get("facts") and not tags:
        tags.append(f'<span class="tag ok">{t["facts"]} fact(s) checked, all match</span>')
    prods = t.get("products", t.get("recommended")) or []
    if prods or "products" in t:
        tags.append(f'<span class="tag">products: {esc(", ".join(prods) or "none")}</span>')
    if t.get("reaction"):
        tags.append(f'<span class="tag">shopper: {esc(t["reaction"])}</span>')
    return "<div>" + "".join(tags) + "</div>"


def _dialogue(r: dict[str, Any]) -> str:
    s = r.get("scores", {})
    keys = [
        k
        for k in (
            "grounding_rate",
            "wrong_facts",
            "hallucinated_products",
            "target_hit@3",
            "rouge_l",
            "chrf",
            "ref_hit@1",
            "target_rank",
        )
        if k in s
    ]
    head = " · ".join(f"{esc(k)} {fmt(s[k])}" for k in keys)
    out = [
        f'<div class="dlg"><h3>{esc(r["id"])} <span class="muted">({esc(r["category"])}, line {esc(r.get("line"))}'
        f'{", target " + esc(r["target"]) if r.get("target") else ""})</span></h3><div class="muted">{head}</div>'
    ]
    if "error" in r:
        out.append(f'<div class="bubble bad">{esc(r["error"])}</div>')
    replay = r.get("mode") == "replay"
    if replay:
        out.append('<div class="turn"><b class="muted">reference</b><b class="muted">replay</b></div>')
    for t in r.get("turns", [])[:12]:
        cls = "bad" if (t.get("wrong_facts") or t.get("unknown")) else ("rep" if replay else "ref")
        out.append(f'<div class="turn{"" if replay else " single"}">')
        if t.get("user"):
            out.append(f'<div class="bubble user"><b>shopper:</b> {esc(t["user"])}</div>')
        if replay:
            out.append(
                f'<div class="bubble ref">{esc(t["reference"])}<div><span class="tag">products: '
                f"{esc(', '.join(t.get('reference_products') or []) or 'none')}</span></div></div>"
            )
            out.append(
                f'<div class="bubble {cls}">{esc(t["text"])}{_facts(t)}<div class="muted">ROUGE-L '
                f"{fmt(t.get('rouge_l'))} · chrF {fmt(t.get('chrf'), 1)}</div></div>"
            )
        else:
            out.append(
                f'<div class="bubble {cls}"><b>assistant (turn {t["turn"]}):</b> {esc(t["text"])}{_facts(t)}</div>'
            )
        out.append("</div>")
    if len(r.get("turns", [])) > 12:
        out.append(f'<p class="muted">… {len(r["turns"]) - 12} more turns in results.jsonl</p>')
    return "".join(out) + "</div>"


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head>'
        f"<body><main>{body}</main></body></html>\n"
    )


def render_report(
    metrics: dict[str, Any],
    results: list[dict[str, Any]],
    worst: int = 6,
    worst_records: list[dict[str, Any]] | None = None,
) -> str:
    """The HTML text of a run report (see the module docstring).

    Args:
        metrics: the run's metrics.json content.
        results: per-dialogue records (turns may be left out: only scores are read from them).
        worst: how many worst dialogues to show turn by turn.
        worst_records: full records (with turns) of those dialogues; default: picked from `results`.
    """
    meta = metrics.get("meta", {})
    mode = metrics.get("mode")
    what = "replay through " + esc(meta.get("assistant")) if mode == "replay" else "transcript scoring"
    names = list(metrics.get("overall", {}))
    head = [n for n in names if n in HEADLINE]
    rest = [n for n in names if n not in HEADLINE]
    sub = (
        f'<p class="muted">{what} · transcripts {esc(meta.get("transcripts"))} · catalog '
        f"{esc(meta.get('catalog'))}</p>"
    )
    body = [
        f"<h1>shopguide evaluation</h1>{sub}",
        "<h2>Summary</h2>",
        _cards(metrics),
        "<h2>Per category</h2>",
        category_bars(metrics),
        "<h2>Score distributions (per dialogue)</h2>",
        distributions(results),
        "<h2>Metrics by category</h2>",
        _overall_table(metrics, head),
        f"<details><summary>all {len(names)} metrics</summary>{_overall_table(metrics, rest, False)}</details>",
        *(
            ["<h2>Where the product is lost: retrieval vs reply vs baselines</h2>", _stage_tables(metrics)]
            if mode == "replay"
            else []
        ),
        "<h2>Input problems</h2>",
        _problems(metrics),
        f"<h2>Worst dialogues ({min(worst, len(results))})</h2>",
        '<p class="muted">Ordered by failed run, turns with a wrong fact or unknown product, grounding rate, '
        "then text overlap (replay) or target found (scoring).</p>",
    ]
    shown = worst_dialogues(worst_records if worst_records is not None else results, worst)
    body += [_dialogue(r) for r in shown]
    return _page("shopguide evaluation", "".join(body))


def write_report(
    path: str | Path,
    metrics: dict[str, Any],
    results: list[dict[str, Any]],
    worst: int = 6,
    worst_records: list[dict[str, Any]] | None = None,
) -> Path:
    """Write the run report atomically (arguments as in `render_report`); returns its path."""
    atomic_write_text(path, render_report(metrics, results, worst, worst_records))
    return Path(path)


def _forest(comparison: dict[str, Any]) -> str:
    rows = [
        (n, d)
        for n, d in comparison["overall"].items()
        if d.get("diff") is not None
        and all(v is None or -1.0 <= v <= 1.0 for v in (d.get("a"), d.get("b")))
        and n not in LOWER_IS_BETTER
    ][:16]
    if not rows:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1))
    for i, (_, d) in enumerate(rows):
        color = "#1e7a45" if d["lo"] > 0 else ("#a8241a" if d["hi"] < 0 else "#667085")
        ax.plot([d["lo"], d["hi"]], [i, i], color=color, lw=2)
        ax.plot([d["diff"]], [i], "o", color=color)
    ax.axvline(0, color="#999", lw=1)
    ax.set_yticks(range(len(rows)), [n for n, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("B − A (95% bootstrap CI)")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def render_compare(comparison: dict[str, Any], meta: dict[str, Any] | None = None) -> str:
    """The HTML text of a two-run comparison."""
    meta = meta or {}

    def table(block: dict[str, Any]) -> str:
        rows = []
        for name, d in block.items():
            sig = ""
            if d.get("lo") is not None and (d["lo"] > 0 or d["hi"] < 0):
                better = (d["diff"] > 0) != (name in LOWER_IS_BETTER)
                sig = f' class="{"pos" if better else "neg"}"'
            rows.append(
                f'<tr><td>{esc(name)}</td><td class="num">{fmt(d.get("a"))}</td><td class="num">'
                f'{fmt(d.get("b"))}</td><td class="num"{sig}>{fmt(d.get("diff"))}</td><td class="num">'
                f'{fmt(d.get("lo"))} – {fmt(d.get("hi"))}</td><td class="num">{fmt(d.get("p_value"))}</td>'
                f'<td class="num">{d.get("n")}</td></tr>'
            )
        return (
            '<div class="scroll"><table><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th><th>95% CI</th>'
            "<th>p</th><th>n</th></tr>" + "".join(rows) + "</table></div>"
        )

    how = (
        f"paired over {comparison['n_pairs']} dialogues present in both runs"
        if comparison["paired"]
        else f"unpaired ({comparison['n_a']} vs {comparison['n_b']} dialogues, no shared ids)"
    )
    body = [
        "<h1>shopguide evaluation: comparison</h1>",
        f'<p class="muted">A = {esc(meta.get("a"))}<br>B = {esc(meta.get("b"))}<br>{esc(how)}; '
        "green/red: the 95% CI excludes 0 and B is better/worse.</p>",
        "<h2>Differences</h2>",
        _forest(comparison),
        table(comparison["overall"]),
    ]
    for cat, block in comparison.get("per_category", {}).items():
        body += [f"<h2>Category {esc(cat)}</h2>", table(block)]
    return _page("shopguide comparison", "".join(body))


def write_compare_report(path: str | Path, comparison: dict[str, Any], meta: dict[str, Any] | None = None) -> Path:
    """Write the comparison report atomically; returns its path."""
    atomic_write_text(path, render_compare(comparison, meta))
    return Path(path)
