"""`python app.py`: a missing bundle is a clear message; with a (tiny, real) bundle it serves the page and
streams an OpenAI-style completion. The serving test starts app.py as a subprocess (slow: run with -m slow).

Run: python -m pytest -q tests/test_app.py -m "slow or not slow"
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _fixtures():
    spec = importlib.util.spec_from_file_location("assistant_test_fixtures", REPO / "tests/assistant/conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_missing_bundle_says_how_to_build_it(tmp_path):
    r = subprocess.run(
        [sys.executable, str(REPO / "app.py"), "--bundle", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    assert "shopguide build-demo" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow  # ~40 s on a shared 2-core machine: a fresh interpreter imports torch, transformers, gradio
def test_app_serves_page_and_streams(tmp_path):
    import httpx

    bundle = _fixtures().build_tiny_bundle(tmp_path / "bundle")
    port = _port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "app.py"),
            "--bundle",
            str(bundle),
            "--port",
            str(port),
            "--feedback",
            str(tmp_path / "fb.jsonl"),
            "--device",
            "cpu",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "app.py did not start serving"
            time.sleep(0.3)
        page = httpx.get(url + "/", timeout=30)
        assert page.status_code == 200 and "gradio" in page.text.lower()
        body = {
            "model": "shopguide",
            "stream": True,
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "a red rain jacket"}],
        }
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as r:
            lines = [line for line in r.iter_lines() if line.startswith("data: ")]
        assert lines[-1] == "data: [DONE]"
        chunks = [json.loads(line[6:]) for line in lines[:-1]]
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and "products" in chunks[-1]
        assert chunks[-1]["shopguide"]["category"] == "apparel"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
