"""`shopguide bench retrieval`: retrieval quality and speed; prints tables and writes docs/bench_retrieval.md.

    shopguide bench retrieval                                   # quality + speed at 10k, 100k, 1M
    shopguide bench retrieval --parts quality --tuned-encoder outputs/retriever
    shopguide bench retrieval --parts speed --sizes 10000,100000

Quality: Recall@1/5/10, NDCG@10, MRR for random, BM25, dense, hybrid (RRF and linear), dense/hybrid after
TCA (mean ± std over TCA seeds) and with a fine-tuned encoder, on the demo target categories
(query = user turns at a recommendation turn, gold = the recommended products), ePQA evidence ranking
and RecQuest target products (real data, skipped when `../shared/data` is absent). Speed: see
`bench/retrieval_speed.py`. Each part keeps the command that produced it; re-running one part
keeps the other part's last results (outputs/bench_retrieval.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.retrieval_data import EvalSet, bigbasket_products, demo_sets, epqa_set, recquest_set
from bench.retrieval_speed import encoding_speed, speed_at_size
from retrieval.encoder import load_encoder
from retrieval.fileio import atomic_write_json, atomic_write_text
from retrieval.index import ProductIndex
from retrieval.metrics import ranking_metrics
from retrieval.tca import TCA, TCAEncoder, mmd2
from retrieval.text import product_text
from training.demo_data.generate import main as generate
from training.retriever import load_demo

log = logging.getLogger(__name__)
METRICS = ("recall@1", "recall@5", "recall@10", "ndcg@10", "mrr")


def _embed(encoder, texts: list[str], cache: dict, key: str, queries: bool = False) -> np.ndarray:
    """Embeddings of `texts`, once per key; queries go through `encode_queries` exactly as `search` would."""
    if key not in cache:
        if queries and hasattr(encoder, "encode_queries"):
            cache[key] = encoder.encode_queries(texts)
        else:
            cache[key] = encoder.encode(texts, batch_size=64, show_progress=len(texts) > 2000)
    return cache[key]


def evaluate_set(
    es: EvalSet, encoders: dict[str, object], source_texts: list[str], tca_seeds: list[int], rng_seed: int = 0
) -> dict:
    """Every method on one evaluation set; returns {method: {metric: value or [values over seeds]}}."""

    qtexts = [q for q, _, _ in es.queries]
    gold = [g for _, g, _ in es.queries]
    filters = [f for _, _, f in es.queries]
    ptexts = [product_text(p) for p in es.products]
    res: dict = {"n_queries": len(es.queries), "n_products": len(es.products)}

    def run(idx: ProductIndex, mode: str, qvecs: np.ndarray | None, **kw) -> dict:
        ranked = []
        for i, q in enumerate(qtexts):
            hits = idx.search(q, 10, filters[i], mode, query_vector=None if qvecs is None else qvecs[i], **kw)
            ranked.append([p.id for p, _ in hits])
        return ranking_metrics(ranked, gold)

    first = next(iter(encoders.values()))
    lex = ProductIndex.build(
        es.products, encoder=first, kind="exact", embeddings=np.zeros((len(es.products), first.dim), np.float32)
    )
    rng = np.random.default_rng(rng_seed)
    ranked = []
    for f in filters:
        allowed = np.flatnonzero(lex.mask(f)) if lex.mask(f) is not None else np.arange(len(es.products))
        ranked.append([es.products[j].id for j in rng.permutation(allowed)[:10]])
    res["random"] = ranking_metrics(ranked, gold)
    res["BM25"] = run(lex, "lexical", None)
    for name, enc in encoders.items():
        cache: dict = {}
        pe, qe = _embed(enc, ptexts, cache, "p"), _embed(enc, qtexts, cache, "q", queries=True)
        idx = ProductIndex.build(es.products, encoder=enc, kind="exact", embeddings=pe)
        res[f"dense [{name}]"] = run(idx, "dense", qe)
        res[f"hybrid rrf [{name}]"] = run(idx, "hybrid", qe, fusion="rrf")
        res[f"hybrid linear [{name}]"] = run(idx, "hybrid", qe, fusion="linear")
        if name != "base" or not tca_seeds or not source_texts:
            continue
        se = _embed(enc, source_texts, cache, "s", queries=True)
        te = np.concatenate([_embed(enc, es.target_texts, cache, "t", queries=True), pe])
        per_seed: dict[str, list] = {"dense": [], "hybrid": []}
        mmds = []
        for seed in tca_seeds:
            tca = TCA(n_components=256, n_landmarks=512, seed=seed).fit(se, te)
            tenc = TCAEncoder(enc, tca)
            norm = lambda z: z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)  # noqa: E731
            tidx = ProductIndex.build(es.products, encoder=tenc, kind="exact", embeddings=norm(tca.transform(pe)))
            tq = norm(tca.transform(qe))
            per_seed["dense"].append(run(tidx, "dense", tq))
            per_seed["hybrid"].append(run(tidx, "hybrid", tq, fusion="rrf"))
            mmds.append((mmd2(se, te, seed=seed), mmd2(tca.transform(se), tca.transform(te), seed=seed)))
        for mode, rows in per_seed.items():
            res[f"{mode} + TCA [{name}]"] = {m: [r[m] for r in rows] for m in METRICS}
        res["mmd_before_after_tca"] = [float(np.mean([a for a, _ in mmds])), float(np.mean([b for _, b in mmds]))]
    return res


def weight_sweep(es: EvalSet, enc, weights: list[tuple[float, float]]) -> dict:
    """Hybrid (linear fusion) metrics for several (dense, lexical) weights with one encoder."""
    cache: dict = {}
    qtexts = [q for q, _, _ in es.queries]
    pe = _embed(enc, [product_text(p) for p in es.products], cache, "p")
    qe = _embed(enc, qtexts, cache, "q", queries=True)
    idx = ProductIndex.build(es.products, encoder=enc, kind="exact", embeddings=pe)
    out = {}
    for w in weights:
        ranked = [
            [p.id for p, _ in idx.search(q, 10, f, "hybrid", query_vector=qe[i], fusion="linear", weights=w)]
            for i, (q, _, f) in enumerate(es.queries)
        ]
        out[f"{w[0]:g}:{w[1]:g}"] = ranking_metrics(ranked, [g for _, g, _ in es.queries])
    return out


def _fmt(v) -> str:
    if isinstance(v, list):
        return f"{np.mean(v):.3f} ± {np.std(v):.3f}"
    return f"{v:.3f}"


def quality_tables(results: dict) -> str:
    out = []
    for set_name, res in results.items():
        out.append(f"\n**{set_name}** ({res['n_queries']} queries, {res['n_products']} products)\n")
        out.append("| method | " + " | ".join(METRICS) + " |")
        out.append("|---|" + "---:|" * len(METRICS))
        for method, m in res.items():
            if isinstance(m, dict):
                out.append(f"| {method} | " + " | ".join(_fmt(m[k]) for k in METRICS) + " |")
        if "mmd_before_after_tca" in res:
            b, a = res["mmd_before_after_tca"]
            out.append(
                f"\nMMD² (RBF, median bandwidth) source vs target embeddings: {b:.4f} before TCA, "
                f"{a:.4f} after (mean over seeds)."
            )
    return "\n".join(out)


def _pp(r: dict, key: str) -> str:
    return f"{r[key + '_p50_ms']:.2f} / {r[key + '_p95_ms']:.2f}"


def speed_table(rows: list[dict], enc: dict) -> str:
    """Markdown: latency per size (p50 / p95 ms), build, memory, recall; then beam widths and query encoding."""
    out = [
        "| products | index | build s (given emb.) | build s incl. encoding | memory MB | dense "
        "| BM25 | hybrid | hybrid + own category & price | recall@10 of it | hybrid + Beauty & price "
        "| recall@10 of it | hybrid + brand | ST semantic_search p50 | our exact p50 |",
        "|" + "---:|" * 15,
    ]

    def graphs(r: dict) -> str:
        return f" + {r['category_graphs']} category graphs" if r.get("category_graphs") else ""

    for r in rows:
        enc_s = f"{r['build_incl_encoding_s']:.0f}" if "build_incl_encoding_s" in r else "not run"
        out.append(
            f"| {r['n']:,} | {r['kind']}{graphs(r)} "
            f"| {r['build_s']:.1f} | {enc_s} | {r['memory_mb'] + r['embeddings_mb']:,.0f} "
            f"| {_pp(r, 'dense')} | {_pp(r, 'bm25')} "
            f"| {_pp(r, 'hybrid')} | {_pp(r, 'hybrid+own category+price')} "
            f"| {r['recall@10']['hybrid own category+price']:.3f} | {_pp(r, 'hybrid+category+price')} "
            f"| {r['recall@10']['hybrid category+price']:.3f} | {_pp(r, 'hybrid+brand')} "
            f"| {r['st_semantic_search_p50_ms']:.1f} "
            f"| {r['exact_p50_ms']:.2f} |"
        )
    for r in rows:
        rec = ", ".join(f"{k} {v:.3f}" for k, v in r["recall@10"].items())
        sel = ", ".join(f"{k} {r[k + '_selectivity']:.1%}" for k in ("own category+price", "category+price", "brand"))
        out.append(f"\n{r['n']:,}: recall@10 vs exact dense candidates: {rec}. Filters keep {sel} of products.")
        if r.get("ef_sweep"):
            out.append(
                f"HNSW beam width at {r['n']:,} (same graphs, {r.get('hnsw')}): "
                + "; ".join(
                    f"ef {e['ef']}: dense {e['dense_p50_ms']:.2f} / {e['dense_p95_ms']:.2f} ms, recall@10 "
                    f"{e['dense_recall@10']:.3f}; hybrid + own category & price {e['hybrid_filtered_p50_ms']:.2f} / "
                    f"{e['hybrid_filtered_p95_ms']:.2f} ms, recall@10 {e['hybrid_filtered_recall@10']:.3f}"
                    for e in r["ef_sweep"]
                )
                + "."
            )
    if enc:
        out += [
            "",
            f"Query encoding ({enc['encoder']}, one thread, 100 queries): p50 / p95 ms for one uncached query; "
            "cosine and dense-search recall@10 (over the 27,555 BigBasket products) against the torch embeddings.",
            "",
            "| runtime | single query p50 / p95 ms | per query in batches of 32 ms | products/s | cosine min / mean "
            "| recall@10 vs torch |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for rt, e in enc["runtimes"].items():
            out.append(
                f"| {rt} | {e['single_p50_ms']:.1f} / {e['single_p95_ms']:.1f} | {e['batched_per_query_ms']:.1f} "
                f"| {e['products_per_s']:.0f} | {e['cos_min']:.4f} / {e['cos_mean']:.4f} "
                f"| {e['recall@10_vs_torch']:.3f} |"
            )
        if enc.get("catalog_encoding"):
            c = enc["catalog_encoding"]
            out.append(
                f"\nEncoding the whole BigBasket catalog ({c['n']:,} products, {c['runtime']} runtime): "
                f"{c['s']:.0f} s ({c['n'] / c['s']:.0f} products/s), measured."
            )
    return "\n".join(out)


def _machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"{os.cpu_count()} cores ({cpu}), load average at the end {load}"


def write_doc(path: Path, state: dict) -> None:
    """Render docs/bench_retrieval.md from the stored results of both parts."""
    lines = [
        "# Retrieval benchmark",
        "",
        "Produced by `shopguide bench retrieval` (`bench/retrieval.py`). Each part lists the exact "
        "command that produced it. Numbers are from one shared machine; speed numbers were measured while "
        "other engineers' jobs shared the CPU, so they are noisy (compare ratios measured in the same run).",
        "",
    ]
    q = state.get("quality")
    if q:
        lines += [
            "## Quality",
            "",
            f"Command: `{q['command']}`  ",
            f"Date: {q['date']}; machine: {q['machine']}; "
            f"encoders: {', '.join(f'{k} = `{v}`' for k, v in q['encoders'].items())}; TCA seeds "
            f"{q['tca_seeds']} (TCA rows: mean ± std).",
            "",
            quality_tables(q["results"]),
            "",
        ]
    w = state.get("sweep")
    if w:
        lines += [
            "## Fusion weights (sensitivity, real data)",
            "",
            f"Command: `{w['command']}`  ",
            f"Date: {w['date']}; encoder `{w['encoder']}`; hybrid with linear fusion, weights (dense:lexical). "
            "A sensitivity check on the evaluation data itself, not a tuned setting: the library default "
            "stays 1:1. 1:0 is dense-only and 0:1 BM25-only ranking through the same fusion code.",
            "",
        ]
        for set_name, rows in w["results"].items():
            lines += [
                f"**{set_name}**",
                "",
                "| weights | " + " | ".join(METRICS) + " |",
                "|---|" + "---:|" * len(METRICS),
            ]
            lines += [f"| {k} | " + " | ".join(_fmt(m[x]) for x in METRICS) + " |" for k, m in rows.items()]
            lines.append("")
    s = state.get("speed")
    if s:
        lines += [
            "## Speed",
            "",
            f"Command: `{s['command']}`  ",
            f"Date: {s['date']}; machine: {s['machine']}.",
            "",
            "Latencies: p50 / p95 ms per single query (top 10), query embedding given; baselines in the same "
            "run: `sentence_transformers.util.semantic_search` over a torch tensor of the same embeddings and "
            "our exact numpy search. Catalogs above 27,555 products are BigBasket replicated (copies get a "
            "'pack N' title suffix and Gaussian-noised embeddings). Search is timed with BLAS, torch and FAISS "
            "on 1 thread. Build times and memory are measured at each size: memory = the process's resident "
            "memory growth during the build (after freeing garbage) plus the embeddings array the index "
            "adopts. Hybrid = linear fusion (the default), 100 candidates per retriever. Recall@10 is against "
            "the same search with exact dense candidates (same filters, BM25 and fusion). HNSW settings per "
            "size (empty = library defaults m=32, ef_construction=80, ef_search=400): "
            + "; ".join(f"{r['n']:,}: {r.get('hnsw')}" for r in s["rows"] if r["kind"] == "hnsw")
            + ".",
            "",
            speed_table(s["rows"], s.get("encoding", {})),
            "",
        ]
    if state.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in state["notes"]]
    atomic_write_text(path, "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench retrieval`."""
    ap = argparse.ArgumentParser(
        prog="shopguide bench retrieval",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--parts", default="quality,speed", help="comma-separated: quality, speed")
    ap.add_argument("--data", default="data/demo", help="demo data folder (generated to a temp folder if absent)")
    ap.add_argument("--source", default="apparel")
    ap.add_argument("--targets", default="electronics,beauty")
    ap.add_argument("--shared", default="../shared/data", help="real datasets folder (skipped when absent)")
    ap.add_argument("--encoder", default=None, help="base encoder (default bundled all-MiniLM-L6-v2)")
    ap.add_argument("--tuned-encoder", default=None, help="a `shopguide train retriever` output folder")
    ap.add_argument("--tca-seeds", default="0,1,2")
    ap.add_argument(
        "--weights",
        default="1:0,1:0.5,1:1,1:2,1:4,0:1",
        help="(dense:lexical) weights of linear fusion for the sweep part",
    )
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200, help="timed queries per size")
    ap.add_argument(
        "--hnsw",
        default="",
        help="HNSW settings for speed runs, e.g. m=24,ef_construction=64 (default: the library's)",
    )
    ap.add_argument("--encode-upto", type=int, default=10_000, help="also time the build incl. encoding up to N")
    ap.add_argument("--epqa-questions", type=int, default=None, help="use only the first N ePQA questions")
    ap.add_argument("--out", default="docs/bench_retrieval.md")
    ap.add_argument("--state", default="outputs/bench_retrieval.json", help="results of the last run of each part")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    command = "shopguide bench retrieval " + " ".join(sys.argv[1:] if argv is None else argv)
    command = command.replace("bench retrieval bench retrieval", "bench retrieval").strip()
    parts = set(args.parts.split(","))
    state_path = Path(args.state)
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    shared = Path(args.shared)
    base = load_encoder(args.encoder)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if "quality" in parts:
        data = Path(args.data)
        if not (data / "catalog").exists():
            data = Path(tempfile.mkdtemp(prefix="shopguide_demo_"))
            generate(["--out", str(data), "--seed", "0"])

        _, src_pairs = load_demo(data, [args.source], "train")
        src_cat, _ = load_demo(data, [args.source], "validation")
        source_texts = [q for q, _ in src_pairs][:1500] + [product_text(p) for p in src_cat]
        encoders = {"base": base}
        if args.tuned_encoder:
            encoders["tuned"] = load_encoder(args.tuned_encoder, cached=False)
        sets = demo_sets(data, [t for t in args.targets.split(",") if t])
        if (shared / "product-qa/ePQA/dev.csv").exists():
            sets.append(epqa_set(shared / "product-qa/ePQA/dev.csv", args.epqa_questions))
        else:
            log.warning("ePQA not found under %s: skipped", shared)
        if (shared / "recquest/dialogues").exists():
            sets.append(recquest_set(shared / "recquest"))
        seeds = [int(s) for s in args.tca_seeds.split(",") if s]
        results = {}
        for es in sets:
            log.info("quality: %s (%d queries)", es.name, len(es.queries))
            results[es.name] = evaluate_set(es, encoders, source_texts, seeds)
        state["quality"] = {
            "command": command,
            "date": stamp,
            "machine": _machine(),
            "tca_seeds": seeds,
            "encoders": {k: v.name for k, v in encoders.items()},
            "results": results,
        }
        print(quality_tables(results))
    if "sweep" in parts:
        weights = [tuple(float(x) for x in w.split(":")) for w in args.weights.split(",") if w]
        sweep_sets = []
        if (shared / "product-qa/ePQA/dev.csv").exists():
            sweep_sets.append(epqa_set(shared / "product-qa/ePQA/dev.csv", args.epqa_questions))
        if (shared / "recquest/dialogues").exists():
            sweep_sets.append(recquest_set(shared / "recquest"))
        state["sweep"] = {
            "command": command,
            "date": stamp,
            "encoder": base.name,
            "results": {es.name: weight_sweep(es, base, weights) for es in sweep_sets},
        }
    if "speed" in parts:
        bb = bigbasket_products(shared / "bigbasket/BigBasket_Products.csv")
        cache = Path("outputs/bench_cache") / f"bigbasket_{Path(base.name).name}.npy"
        catalog_encoding = state.get("speed", {}).get("encoding", {}).get("catalog_encoding")
        if cache.exists():
            emb = np.load(cache)
        else:
            t = time.perf_counter()
            emb = base.encode([product_text(p) for p in bb], batch_size=64, show_progress=True)
            catalog_encoding = {"n": len(bb), "s": time.perf_counter() - t, "runtime": base.runtime}
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, emb)
        rng = np.random.default_rng(0)
        picks = rng.choice(len(bb), args.queries, replace=False)
        qtexts = [f"{bb[i].attributes['type']} {bb[i].title.split(' - ')[0]}".lower() for i in picks]
        qcats = [bb[i].category for i in picks]
        enc_info = {
            "encoder": base.name,
            "runtimes": encoding_speed(args.encoder, qtexts, [product_text(bb[i]) for i in range(500)], emb),
            "catalog_encoding": catalog_encoding,
        }
        base.cache.clear() if hasattr(base, "cache") else None
        qvecs = base.encode(qtexts, batch_size=64)
        hnsw = {k: int(v) for k, v in (kv.split("=") for kv in args.hnsw.split(",") if kv)}
        rows = []
        for n in [int(s) for s in args.sizes.split(",") if s]:
            log.info("speed: %d products", n)
            row = speed_at_size(
                n, bb, emb, base, qtexts, qvecs, qcats, args.queries, hnsw_params=hnsw, encode_upto=args.encode_upto
            )
            row.update(command=command, date=stamp, machine=_machine(), hnsw=hnsw)
            rows.append(row)
            print(speed_table(rows[-1:], {}))
        old = [r for r in state.get("speed", {}).get("rows", []) if r["n"] not in {x["n"] for x in rows}]
        rows = sorted(old + rows, key=lambda r: r["n"])
        state["speed"] = {
            "command": "; ".join(dict.fromkeys(r["command"] for r in rows)),
            "date": stamp,
            "machine": _machine(),
            "rows": rows,
            "encoding": enc_info,
        }
        print(speed_table(rows, enc_info))
    state_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(state_path, state)
    write_doc(Path(args.out), state)
    print(f"wrote {args.out}")
    return 0
