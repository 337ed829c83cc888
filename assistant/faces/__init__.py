"""The faces shoppers and programs talk to: the OpenAI-compatible API and Gradio page (`server`, `webui`), the
terminal chat (`terminal`), the token guard (`access`) and what they share (`common`: bundle options, opening)."""
