"""Writing a reply: the system prompt and product cards (`prompts`), the one prompt renderer shared by training
and serving (`chat_format`), the packaged bases (`base_models`), model loading (`model`) and the engines
(PyTorch `engine`, CTranslate2 `ct2_engine`, an OpenAI-compatible server `remote_engine`)."""
