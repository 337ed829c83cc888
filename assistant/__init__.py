"""The shopping assistant: dialogue state, routing, the per-turn loop and its faces (web page, API, terminal).

    from assistant import Assistant
    a = Assistant.from_pretrained("demo")
    a.reply([{"role": "user", "content": "running shoes under $100"}]).text

Names are imported on first use, so `import assistant` stays light (no torch, no gradio).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Assistant", "Reply", "load_assistant"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from assistant import orchestrator

        return getattr(orchestrator, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
