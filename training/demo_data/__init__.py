"""The demo-data generator behind `shopguide data generate` (five categories of catalogs, guide dialogues and
unlabeled shopper text, byte-identical for a seed).

    generate.py    entry point: `generate(out, seed)` and `main(argv)`; writes the folder layout
    vocab.py       per-category product specs and shopper phrasing
    replies.py     the assistant's wording: attribute values in sentences, templates per act
    catalog.py     `make_catalog(category, n, rng)` -> list[Product]
    user.py        `UserVoice`: how a shopper of a category says things (paraphrases, typos)
    needs.py       `empty_needs`, `satisfies`: the shopper-needs dict and the filter semantics
    flow.py        `run_flow(maker, id)`: the course of one dialogue (the shopper's plan, turn by turn)
    dialogues.py   `DialogueMaker`: the assistant's turns (greet, elicit, recommend, relax, answer, ...)

Imports run one way: generate -> dialogues -> flow -> needs / user / replies -> vocab.
"""
