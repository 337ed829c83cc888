"""`shopguide chat` over piped text: streamed replies, product lists, /category and /reset.

Run: python -m pytest -q tests/assistant/test_terminal.py
"""

from __future__ import annotations

import io

from assistant.faces.terminal import main, run_chat


def test_piped_chat_with_commands(tiny_assistant):
    out = io.StringIO()
    lines = "a red rain jacket\n/category shoes\nsomething nice\n/category garden\n/reset\n/quit\nnever read\n"
    assert run_chat(tiny_assistant, io.StringIO(lines), out) == 0
    text = out.getvalue()
    assert "I recommend the Trailblazer Rain Jacket. It costs $49.99." in text
    assert "  - [a1] Trailblazer Rain Jacket (Peak), $49.99" in text
    assert "(category: shoes)" in text and "unknown category 'garden'" in text and "(new conversation)" in text
    assert "never read" not in text


def test_repairs_are_silent(make_assistant):
    out = io.StringIO()
    run_chat(make_assistant(price_shift=1.0), io.StringIO("a red rain jacket\n"), out)
    assert "I recommend the Trailblazer Rain Jacket. It costs $49.99." in out.getvalue()
    assert "50.99" not in out.getvalue() and "corrected" not in out.getvalue().lower()


def test_missing_bundle_is_a_clear_error(tmp_path, capsys):
    assert main(["--bundle", str(tmp_path)]) == 1
    assert "shopguide build-demo" in capsys.readouterr().err


def test_a_generator_that_answers_nonsense_is_one_line_and_the_chat_goes_on(make_assistant, caplog):
    from assistant.generation.remote_engine import GeneratorError

    class Broken:
        def stream(self, messages, adapter=None, settings=None):
            raise GeneratorError("generator http://127.0.0.1:9/v1 answered HTTP 200 with text/html")
            yield  # a generator function, like every engine's stream

    assistant = make_assistant()
    good = assistant.engine
    assistant.engine = Broken()
    out = io.StringIO()
    run_chat(assistant, io.StringIO("a red rain jacket\n"), out)
    assert "the reply generator is not answering: generator http://127.0.0.1:9/v1 answered" in out.getvalue()
    failed = [r for r in caplog.records if "turn failed" in r.getMessage()]
    assert failed and all(r.exc_info is None for r in failed)  # one line, no traceback
    assistant.engine = good
    out = io.StringIO()
    run_chat(assistant, io.StringIO("a red rain jacket\n"), out)
    assert "Trailblazer Rain Jacket" in out.getvalue()
