"""Dialogue evaluation: transcript scoring, replay through an assistant, comparison and HTML report.

    shopguide eval TRANSCRIPTS.jsonl --catalog CATALOG [--assistant DIR] --out DIR
    shopguide eval --compare RUN_A RUN_B --out DIR

Modules: `metrics` (pure metric functions), `scoring` (per-turn and per-dialogue scores), `runner`
(parallel, resumable batch runs), `summary` (aggregation, per-category breakdown, run comparison),
`report` (self-contained HTML), `cli` (the command).
"""
