"""Simulated shoppers: measure any shopping assistant end to end by task success.

    shopguide simulate --catalog CATALOG --assistant DIR|URL --shoppers N --seed S --out DIR

Modules: `goals` (hidden goals drawn from any catalog in our contract), `shopper` (the rule-based shopper:
phrasing, reading replies, the turn policy, per-dialogue scores), `clients` (an in-process `Assistant` or
any OpenAI-compatible URL), `runner` (parallel, resumable runs), `metrics` (aggregation with bootstrap CIs),
`report` (self-contained HTML), `cli` (the command). Definitions and the demo's numbers: docs/simulate.md.
"""
