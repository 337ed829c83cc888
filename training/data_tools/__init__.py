"""Data tooling behind `shopguide data import` and `shopguide data validate`: real data in, our formats out.

    importers.py   `shopguide data import SOURCE ...`: the table of importers, one line each
    recquest.py    RecQuest crowd dialogues -> catalog + dialogues
    amazon.py      Amazon Reviews 2023 product metadata -> catalog
    validate.py    `shopguide data validate`: check a catalog or dialogue file, print `file:line: field: message`

To add an importer: write `training/data_tools/<source>.py` with `HELP` (one line), `add_args(parser)` and
`run(args) -> int` (next to its library function, e.g. `import_amazon(file, out, category)`), then add one
line to `IMPORTERS` in `importers.py`.
"""
