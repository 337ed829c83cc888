"""`shopguide bench serve`: serving latency of an assistant bundle through the real HTTP API.

    shopguide bench serve                                  # bundle demo/, 1 and 8 concurrent chats
    shopguide bench serve --bundle DIR --concurrency 1,8 --requests 16 --max-tokens 120

For each concurrency level, that many clients (threads) send streamed `POST /v1/chat/completions` requests
(single-turn shopping requests, round-robin over a fixed list) to a uvicorn server running the same app as
`python app.py`, until `--requests` requests are done. Per request: time to first token (first non-empty
content chunk) and full reply time (until `[DONE]`), both measured at the client; tokens/s per request (p50)
and over all chats (reply tokens of the level over its wall time); the load average at the level's start and
end; and, for the CTranslate2 engine, the batch sizes it started. Also measured once:
`startup`, the seconds from launching `python app.py` in a fresh interpreter until the page (`GET /`)
answers. Results: a table on stdout and a markdown file with the exact command.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assistant.faces.common import configure_threads, open_from_args
from assistant.faces.server import build_app
from retrieval.fileio import atomic_write_text

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
PROMPTS = [
    "I need a warm jacket for winter, under $120",
    "Waterproof hiking boots, not too heavy",
    "A wool rug for the living room, under $200",
    "Noise cancelling headphones for the train, under $150",
    "A gentle moisturizer for dry skin, fragrance free",
    "Running shoes for road running, around $100",
    "A linen shirt for summer, not white",
    "A laptop for college, under $900",
]


def _rss_mb() -> float:
    """Current resident memory of this process in MB (Linux /proc; else the peak from getrusage)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def one_request(url: str, prompt: str, max_tokens: int, token: str | None) -> tuple[float, float, int, str]:
    """Stream one completion; returns (ttft_s, full_s, reply_chars, text). TTFT is inf when no text came back."""
    import httpx

    body = {
        "model": "shopguide",
        "stream": True,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    t0 = time.perf_counter()
    ttft, chars, text = float("inf"), 0, ""
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers, timeout=600) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: {"):
                continue
            delta = json.loads(line[6:]).get("choices", [{}])[0].get("delta", {}).get("content") or ""
            if delta and ttft == float("inf"):
                ttft = time.perf_counter() - t0
            chars += len(delta)
            text += delta
    return ttft, time.perf_counter() - t0, chars, text


def run_level(
    url: str, concurrency: int, requests: int, max_tokens: int, tokenizer: Any = None, prompts: list[str] = PROMPTS
) -> dict[str, Any]:
    """`requests` streamed requests from `concurrency` parallel clients; latency percentiles in seconds, and
    tokens/s per request (reply tokens by `tokenizer` over the time from first to last chunk)."""
    from tqdm import tqdm

    bar = tqdm(total=requests, desc=f"{concurrency} concurrent", leave=False)
    lock = threading.Lock()

    def job(i: int) -> tuple[float, float, int, str]:
        out = one_request(url, prompts[i % len(prompts)], max_tokens, None)
        with lock:
            bar.update(1)
        return out

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(job, range(requests)))
    wall = time.perf_counter() - t0
    bar.close()
    ttft = [r[0] for r in results if r[0] != float("inf")]
    full = [r[1] for r in results]
    rates, total = [], 0
    if tokenizer is not None:
        for t, f, _, text in results:
            n = len(tokenizer(text, add_special_tokens=False)["input_ids"])
            total += n
            if n > 1 and f > t:
                rates.append(n / (f - t))
    return {
        "tokens_per_s": _percentile(rates, 0.5) if rates else None,
        "tokens_per_s_all": total / wall if tokenizer is not None else None,
        "load": (load, os.getloadavg()[0]),
        "concurrency": concurrency,
        "requests": requests,
        "ttft_p50": _percentile(ttft, 0.5) if ttft else None,
        "ttft_p95": _percentile(ttft, 0.95) if ttft else None,
        "full_p50": _percentile(full, 0.5),
        "full_p95": _percentile(full, 0.95),
        "chars_mean": sum(r[2] for r in results) / len(results),
        "no_text": len(results) - len(ttft),
        "replies_per_min": 60 * requests / wall,
    }


def measure_startup(bundle: str, engine: str | None = None, cache: str | None = None) -> tuple[float, float]:
    """Launch `python app.py --bundle BUNDLE` fresh; seconds until `GET /` answers and until the first streamed
    content chunk of a request sent right then (each from the launch). `cache`: the SHOPGUIDE_CACHE to use (an
    empty folder times a first start, with the base and engine conversions; None: the user's cache)."""
    import httpx

    port = _port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, **({"SHOPGUIDE_CACHE": cache} if cache else {}))
    cmd = [sys.executable, str(REPO / "app.py"), "--bundle", bundle, "--port", str(port)]
    cmd += ["--engine", engine] if engine else []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode}")
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        page = time.perf_counter() - t0
        ttft = one_request(url, PROMPTS[0], 32, None)[0]
        return page, ttft
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench serve`: TTFT and full-reply latency for concurrent streamed chats."""
    p = argparse.ArgumentParser(
        prog="shopguide bench serve",
        description=main.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument("--bundle", default="demo", help="assistant bundle folder (default: demo)")
    p.add_argument("--concurrency", default="1,8", help="comma-separated concurrent chats (default 1,8)")
    p.add_argument("--requests", type=int, default=16, help="requests per concurrency level (default 16)")
    p.add_argument("--max-tokens", type=int, default=120, help="max_tokens of each request (default 120)")
    p.add_argument(
        "--same-prompt",
        action="store_true",
        help="every request sends the first prompt (equal-length prompts: the case the CTranslate2 engine batches)",
    )
    p.add_argument("--no-startup", action="store_true", help="skip timing a fresh `python app.py` start")
    p.add_argument(
        "--cold-start",
        action="store_true",
        help="also time a first start with an empty cache (base conversion + engine conversions)",
    )
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: as `python app.py`)")
    p.add_argument("--engine", default=None, help="ctranslate2, torch or auto (default: as `python app.py`)")
    p.add_argument("--generator", default=None, metavar="URL", help="an OpenAI-compatible generation server")
    p.add_argument("--generator-model", default=None, metavar="NAME", help="the base's name on --generator")
    p.add_argument("--out", default="docs/bench_serve.md", help="markdown results file")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import uvicorn

    threads = configure_threads(args.threads)
    assistant = open_from_args(args, threads=threads)
    if assistant is None:
        return 1
    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(assistant, feedback_path="/dev/null"), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    load = os.getloadavg()
    one_request(url, "hello", 4, None)  # warm-up: first-call allocations, encoder caches
    tokenizer = getattr(assistant.engine, "tokenizer", None)
    engine_name = type(assistant.engine).__name__
    sizes = getattr(assistant.engine, "batch_sizes", None)  # CT2Engine: batch size -> batches started
    rows = []
    for c in args.concurrency.split(","):
        before = dict(sizes or {})
        prompts = PROMPTS[:1] if args.same_prompt else PROMPTS
        rows.append(run_level(url, int(c), args.requests, args.max_tokens, tokenizer, prompts))
        if sizes is not None:
            rows[-1]["batches"] = {k: v - before.get(k, 0) for k, v in sorted(sizes.items()) if v > before.get(k, 0)}
    rss_mb = _rss_mb()
    server.should_exit = True
    cold = None
    if args.cold_start and not args.no_startup:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="shopguide-cold-") as empty:
            cold = measure_startup(args.bundle, args.engine, cache=empty)
    startup = None if args.no_startup else measure_startup(args.bundle, args.engine)

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    header = (
        "| engine | concurrent chats | requests | TTFT p50 (s) | TTFT p95 (s) | full p50 (s) | full p95 (s) | "
        "tokens/s (p50) | tokens/s (all chats) | reply chars (mean) | replies/min | load (start-end) |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [
        f"| {engine_name} | {r['concurrency']} | {r['requests']} | {f(r['ttft_p50'])} | {f(r['ttft_p95'])} "
        f"| {f(r['full_p50'])} | {f(r['full_p95'])} | {f(r['tokens_per_s'])} | {f(r['tokens_per_s_all'])} "
        f"| {r['chars_mean']:.0f} | {r['replies_per_min']:.1f} | {r['load'][0]:.1f}-{r['load'][1]:.1f} |"
        for r in rows
    ]
    if sizes is not None:
        lines += [
            "",
            "Batches started (size: count): "
            + "; ".join(
                f"{r['concurrency']} chats: " + (", ".join(f"{k}: {v}" for k, v in r["batches"].items()) or "none")
                for r in rows
            ),
        ]
    print("\n".join(lines))
    print(f"resident memory of the serving process after the runs: {rss_mb:.0f} MB")
    if cold:
        print(f"first start (empty cache): page served {cold[0]:.1f} s after launch")
    if startup:
        print(f"startup: page served {startup[0]:.1f} s after launch; first streamed chunk {startup[1]:.2f} s later")
    command = "shopguide bench serve " + " ".join(argv if argv is not None else sys.argv[1:])
    doc = [
        "# Serving latency",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"Bundle: `{args.bundle}` ({len(assistant.catalog)} products, categories "
        f"{', '.join(assistant.categories)}, adapters {', '.join(assistant.adapters) or 'none'}); "
        f"`max_tokens={args.max_tokens}`; {threads} CPU thread(s) per generation (torch, CTranslate2 "
        "`intra_threads`); streamed `POST /v1/chat/completions` "
        "through uvicorn on 127.0.0.1, timed at the client; "
        + ("every request sends the same prompt." if args.same_prompt else f"{len(PROMPTS)} prompts, round-robin."),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} at the start (other jobs shared the machine: numbers are noisy).",
        "",
    ] + lines
    if any(r["no_text"] for r in rows):
        doc += [
            "",
            "Requests whose reply had no text are left out of the TTFT columns: "
            + ", ".join(f"{r['no_text']} at {r['concurrency']} chats" for r in rows),
        ]
    doc += [
        "",
        f"Resident memory of the serving process (bundle, engine, index, server) after the runs: {rss_mb:.0f} MB.",
    ]
    if cold:
        doc += [
            "",
            f"First start (`python app.py --bundle {args.bundle}` with an empty `SHOPGUIDE_CACHE`: base and engine "
            f"conversions included): the page answers {cold[0]:.1f} s after launch.",
        ]
    if startup:
        doc += [
            "",
            f"Warm start (`python app.py --bundle {args.bundle}`, fresh interpreter, cache filled): the page answers "
            f"{startup[0]:.1f} s after launch; a request sent then gets its first streamed chunk after "
            f"{startup[1]:.2f} s.",
        ]
    atomic_write_text(args.out, "\n".join(doc) + "\n")
    print(f"wrote {args.out}")
    return 0
