"""Bad input to `shopguide eval` and `shopguide simulate` (issue #26, items 12 and 13): a clear one-line problem
naming the flag, and nothing written where it does not belong.

Run: python -m pytest -q tests/assistant/test_judge_cli_hardening.py
"""

from __future__ import annotations

import json

from assistant.evaluation.cli import main as eval_main
from assistant.simulation.cli import main as simulate_main


def test_eval_with_a_missing_assistant_names_the_flag_and_writes_nothing(tmp_path, capsys):
    transcripts = tmp_path / "t.jsonl"
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    transcripts.write_text(json.dumps({"id": "d1", "category": "apparel", "messages": msgs}) + "\n")
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(json.dumps({"id": "a1", "title": "Rain Jacket", "category": "apparel"}) + "\n")
    out = tmp_path / "out"
    code = eval_main(
        [str(transcripts), "--catalog", str(catalog), "--assistant", str(tmp_path / "nope"), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "nope: --assistant: no assistant bundle here" in err and "--bundle" not in err
    assert not out.exists()


def test_simulate_refuses_to_write_into_a_bundle(tmp_path, capsys):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "assistant.json").write_text("{}")
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(json.dumps({"id": "a1", "title": "Rain Jacket", "category": "apparel"}) + "\n")
    code = simulate_main(["--catalog", str(catalog), "--assistant", str(bundle), "--out", str(bundle)])
    assert code == 1
    assert "this folder is an assistant bundle" in capsys.readouterr().err
    assert sorted(p.name for p in bundle.iterdir()) == ["assistant.json"]
