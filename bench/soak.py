"""`shopguide bench soak`: does the server's memory level off under a long, bounded load?

    shopguide bench soak                                   # bundle demo/, 240 conversations, 4 clients
    shopguide bench soak --conversations 600 --minutes 30 --out docs/bench_soak.md

Starts `python app.py --bundle BUNDLE` on 127.0.0.1 in its own process and runs multi-turn shopping
conversations against it from `--concurrency` client threads, through every face: streamed and plain
`POST /v1/chat/completions` (the history grows turn by turn), `GET /v1/search`, and the chat page's own
`respond` through Gradio's HTTP API. After every `--sample-every` requests it reads the server's resident
memory (RSS). It stops by itself after `--conversations` conversations or `--minutes`, whichever comes
first, and stops the server.

Verdict: the RSS slope over the second half of the run (least squares, MB per 100 requests). Memory "levels
off" when that slope is under `--flat-mb` (default 1 MB per 100 requests); the first half absorbs warm-up
(allocator pools, caches filling to their bounds). Results: a table on stdout and a markdown file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.serve import PROMPTS, REPO, _port
from retrieval.fileio import atomic_write_text

FOLLOW_UPS = ["Something cheaper?", "Which one is the most popular?", "Do you have it in black?", "Thanks!"]
SEARCHES = ["jacket", "boots", "rug", "headphones", "moisturizer", "laptop"]


def _rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def slope_per_100(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of `(requests, rss_mb)` points, in MB per 100 requests (0.0 for fewer than 2)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return 100 * sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


class Soak:
    """Runs the conversations and samples the server's RSS; `requests` counts every HTTP request sent."""

    def __init__(self, url: str, pid: int, args: argparse.Namespace, deadline: float):
        import httpx

        self.url, self.pid, self.deadline = url, pid, deadline
        self.max_tokens, self.sample_every, self.page_every = args.max_tokens, args.sample_every, args.page_every
        self.http = httpx.Client(base_url=url, timeout=300)
        config = self.http.get("/config").json()  # the page sends its price slider's value
        self.slider = next(c["props"]["value"] for c in config["components"] if c.get("type") == "slider")
        self.lock = threading.Lock()
        self.requests = 0
        self.errors: dict[str, int] = {}
        self.samples: list[tuple[int, float]] = [(0, _rss_mb(pid))]

    def _count(self, ok: bool, kind: str) -> None:
        with self.lock:
            self.requests += 1
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1
            if self.requests % self.sample_every == 0:
                self.samples.append((self.requests, _rss_mb(self.pid)))

    def chat(self, messages: list[dict], stream: bool) -> str:
        body = {"model": "shopguide", "messages": messages, "max_tokens": self.max_tokens, "stream": stream}
        text, ok = "", False
        try:
            if stream:
                with self.http.stream("POST", "/v1/chat/completions", json=body) as r:
                    for line in r.iter_lines():
                        if line.startswith("data: {"):
                            choices = json.loads(line[6:]).get("choices") or [{}]
                            text += choices[0].get("delta", {}).get("content") or ""
                    ok = r.status_code == 200
            else:
                r = self.http.post("/v1/chat/completions", json=body)
                ok = r.status_code == 200
                text = r.json()["choices"][0]["message"]["content"] if ok else ""
        finally:
            self._count(ok, "chat")
        return text

    def search(self, q: str) -> None:
        r = self.http.get("/v1/search", params={"q": q, "top_k": 5})
        self._count(r.status_code == 200, "search")

    def page(self, message: str) -> None:
        data = [message, [], "Auto (from the conversation)", self.slider, []]
        ok = False
        try:
            r = self.http.post("/gradio_api/call/respond", json={"data": data})
            if r.status_code == 200:
                done = self.http.get(f"/gradio_api/call/respond/{r.json()['event_id']}").text
                ok = "event: complete" in done
        finally:
            self._count(ok, "page")

    def conversation(self, i: int, turns: int) -> None:
        if time.monotonic() > self.deadline:
            return
        messages = [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
        for t in range(turns):
            reply = self.chat(messages, stream=(i + t) % 2 == 0)
            messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": FOLLOW_UPS[t % 4]}]
        self.search(SEARCHES[i % len(SEARCHES)])
        if self.page_every and i % self.page_every == 0:
            self.page(PROMPTS[(i + 3) % len(PROMPTS)])


def run(args: argparse.Namespace) -> dict:
    """Start the server, soak it, stop it; returns the samples and the verdict."""
    import httpx

    port = _port()
    url = f"http://127.0.0.1:{port}"
    feedback = Path(tempfile.mkdtemp(prefix="shopguide-soak-")) / "feedback.jsonl"
    cmd = [sys.executable, str(REPO / "app.py"), "--bundle", args.bundle, "--port", str(port)]
    cmd += ["--feedback", str(feedback)] + (["--threads", str(args.threads)] if args.threads else [])
    env = {k: v for k, v in os.environ.items() if k not in ("SHOPGUIDE_TOKEN", "SHOPGUIDE_AUTH")}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode}")
            if time.monotonic() - started > 300:
                raise RuntimeError("app.py did not answer within 300 s")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        t0 = time.monotonic()
        soak = Soak(url, proc.pid, args, t0 + 60 * args.minutes)
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(soak.conversation, range(args.conversations), itertools.repeat(args.turns)))
        soak.samples.append((soak.requests, _rss_mb(proc.pid)))
        wall = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    samples = sorted(dict(soak.samples).items())
    second_half = [s for s in samples if s[0] >= soak.requests / 2]
    slope = slope_per_100(second_half)
    return {
        "samples": samples,
        "requests": soak.requests,
        "errors": sum(soak.errors.values()),
        "failed": soak.errors,
        "minutes": wall / 60,
        "slope_second_half": slope,
        "levels_off": slope < args.flat_mb,
    }


def main(argv: list[str] | None = None) -> int:
    """`shopguide bench soak`: resident memory of the server over a long, bounded run."""
    p = argparse.ArgumentParser(
        prog="shopguide bench soak",
        description=main.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument("--bundle", default="demo", help="assistant bundle folder (default: demo)")
    p.add_argument("--conversations", type=int, default=240, help="conversations in all (default 240)")
    p.add_argument("--turns", type=int, default=3, help="chat turns per conversation (default 3)")
    p.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    p.add_argument("--max-tokens", type=int, default=48, help="max_tokens of each chat request (default 48)")
    p.add_argument("--page-every", type=int, default=4, help="one page turn every N conversations (0: none)")
    p.add_argument("--sample-every", type=int, default=50, help="requests between RSS samples (default 50)")
    p.add_argument("--minutes", type=float, default=30.0, help="stop after this long in any case (default 30)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads of the server")
    p.add_argument("--flat-mb", type=float, default=1.0, help="slope (MB / 100 requests) that counts as level")
    p.add_argument("--out", default="docs/bench_soak.md", help="markdown results file ('' for none)")
    args = p.parse_args(argv)
    load = os.getloadavg()
    r = run(args)
    lines = ["| requests | server RSS (MB) |", "|---|---|"] + [f"| {n} | {mb:.1f} |" for n, mb in r["samples"]]
    verdict = (
        f"{r['requests']} requests ({r['errors']} failed) in {r['minutes']:.1f} min; RSS "
        f"{r['samples'][0][1]:.0f} -> {r['samples'][-1][1]:.0f} MB; slope over the second half "
        f"{r['slope_second_half']:+.2f} MB per 100 requests: "
        + ("levels off" if r["levels_off"] else f"still growing (over {args.flat_mb} MB per 100 requests)")
    )
    print("\n".join(lines) + "\n\n" + verdict)
    if args.out:
        command = "shopguide bench soak " + " ".join(argv if argv is not None else sys.argv[1:])
        doc = [
            "# Memory soak",
            "",
            f"Command: `{command.strip()}`",
            "",
            f"`python app.py --bundle {args.bundle}` on 127.0.0.1 in its own process; {args.concurrency} client "
            f"threads; {args.conversations} conversations of {args.turns} chat turns (streamed and plain, "
            f"`max_tokens={args.max_tokens}`), one `/v1/search` each and, every {args.page_every} conversations, "
            "one turn through the page's `respond`. Server RSS read every "
            f"{args.sample_every} requests. Machine: {platform.machine()}, {os.cpu_count()} CPU cores, load "
            f"average {load[0]:.1f} at the start.",
            "",
            *lines,
            "",
            f"Result: {verdict}.",
        ]
        atomic_write_text(args.out, "\n".join(doc) + "\n")
        print(f"wrote {args.out}")
    return 0 if r["levels_off"] and not r["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
