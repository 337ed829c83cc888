"""Hardening of retrieval: bad and unusual catalog files (non-finite numbers, CSV without type inference, ragged
rows, folders given as files, corrupt Parquet, a UTF-8 BOM, gzipped JSONL), file permissions that follow the
umask, and index folders that an interrupted save leaves loadable.

Run: python -m pytest -q tests/retrieval/test_bad_catalogs.py
"""

from __future__ import annotations

import gzip
import json
import os

import pytest

from retrieval.catalog import load_catalog, validate_catalog
from retrieval.fileio import DataError, atomic_write_json, iter_jsonl

ROW = {"id": "a", "title": "Tee", "category": "apparel"}


@pytest.mark.parametrize("field", ["price", "rating"])
@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_non_finite_numbers_are_rejected_with_file_line_field(tmp_path, field, literal):
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps(ROW) + "\n" + json.dumps(dict(ROW, id="b"))[:-1] + f', "{field}": {literal}}}\n')
    good, problems = validate_catalog(f)
    assert [p.id for p in good] == ["a"]
    assert [(p.line, p.field) for p in problems] == [(2, field)]
    assert str(problems[0]).startswith(f"{f}:2: {field}: must be a finite")


def test_non_finite_attribute_and_extra_values_are_rejected(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text(
        '{"id": "a", "title": "T", "category": "x", "attributes": {"size": NaN}}\n'
        '{"id": "b", "title": "T", "category": "x", "weight": [1, Infinity]}\n'
    )
    _, problems = validate_catalog(f)
    assert [(p.line, p.field) for p in problems] == [(1, "attributes.size"), (2, "weight")]


def test_csv_cells_are_strings_converted_per_field(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text(
        "id,title,category,price,rating,sku\n"
        "007,Tee,apparel,10,4.5,0012\n"
        "008,Hat,apparel,cheap,,0013\n"
        "009,Sock,apparel,3,five,0014\n"
        "010,Cap,apparel,Infinity,,0015\n"
    )
    good, problems = validate_catalog(f)
    assert [(p.id, p.price, p.rating, p.extra) for p in good] == [("007", 10.0, 4.5, {"sku": "0012"})]
    assert [(p.line, p.field) for p in problems] == [(3, "price"), (4, "rating"), (5, "price")]
    assert "'cheap'" in problems[0].message


def test_csv_quoted_newlines_keep_line_numbers(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text('id,title,category,price\na,"Two\nlines",apparel,1\nb,Hat,apparel,x\n')
    _, problems = validate_catalog(f)
    assert [(p.line, p.field) for p in problems] == [(4, "price")]


def test_ragged_csv_row_is_a_problem_not_a_traceback(tmp_path, capsys):
    from training.cli import main as shopguide

    f = tmp_path / "c.csv"
    f.write_text("id,title,category\na,Tee,apparel\nb,Hat,apparel,extra,cells\nc,Cap\n")
    good, problems = validate_catalog(f)
    assert [p.id for p in good] == ["a"]
    assert [(p.line, p.field) for p in problems] == [(3, None), (4, None)]
    assert "5 cells" in problems[0].message and "header has 3" in problems[0].message
    assert shopguide(["data", "validate", str(f), "--kind", "catalog"]) == 1
    out = tmp_path / "ix"
    assert shopguide(["index", "build", "--catalog", str(f), "--out", str(out), "--encoder", "hash:32"]) == 1
    err = capsys.readouterr().err
    assert f"{f}:3: -: row has 5 cells" in err and "Traceback" not in err


def test_corrupt_parquet_is_one_problem(tmp_path):
    f = tmp_path / "c.parquet"
    f.write_bytes(b"PAR1 this is not parquet")
    _, problems = validate_catalog(f)
    assert len(problems) == 1 and problems[0].line is None and "Parquet" in problems[0].message


def test_parquet_rows_load(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "c.parquet"
    pq.write_table(
        pa.table({"id": ["007", "8"], "title": ["Tee", "Hat"], "category": ["x", "x"], "price": [1.5, None]}), f
    )
    cat = load_catalog(f)
    assert [(p.id, p.price) for p in cat] == [("007", 1.5), ("8", None)]


def test_folder_given_as_a_file_is_a_problem(tmp_path):
    d = tmp_path / "c.jsonl"
    d.mkdir()
    _, problems = validate_catalog(d)
    assert len(problems) == 1 and "folder" in problems[0].message
    with pytest.raises(DataError):
        load_catalog([d])


def test_utf8_bom_is_accepted(tmp_path):
    (tmp_path / "c.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(ROW).encode() + b"\n")
    (tmp_path / "c.csv").write_bytes(b"\xef\xbb\xbfid,title,category\nb,Hat,apparel\n")
    assert [p.id for p in load_catalog(tmp_path)] == ["b", "a"]  # files in name order
    assert [line for line, _ in iter_jsonl(tmp_path / "c.jsonl")] == [1]


def test_gzipped_jsonl_catalog_is_accepted(tmp_path):
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as f:
        f.write(json.dumps(ROW) + "\n")
    assert [p.id for p in load_catalog(tmp_path / "c.jsonl.gz")] == ["a"]
    assert [p.id for p in load_catalog(tmp_path)] == ["a"]  # found in a folder too


def test_truncated_gzip_is_a_problem(tmp_path):
    f = tmp_path / "c.jsonl.gz"
    f.write_bytes(gzip.compress((json.dumps(ROW) + "\n").encode() * 50)[:40])
    _, problems = validate_catalog(f)
    assert problems and "gzip" in problems[-1].message


def test_atomic_writes_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "a.json", {"x": 1})
        os.umask(0o077)
        atomic_write_json(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o600


def test_interrupted_index_update_leaves_the_old_index_loadable(tmp_path, monkeypatch):
    from retrieval.bm25 import BM25
    from retrieval.catalog import Product
    from retrieval.index import ProductIndex

    folder = tmp_path / "ix"
    products = [Product(f"p{i}", f"Product {i}", "apparel", price=float(i)) for i in range(6)]
    ProductIndex.build(products, encoder="hash:32").save(folder)
    before = sorted(p.id for p in ProductIndex.load(folder).catalog)

    def killed(self, folder):  # the process dies after products.jsonl and embeddings.npy are written
        raise KeyboardInterrupt

    idx = ProductIndex.load(folder)
    idx.remove(["p0", "p1"])
    idx.add([Product("new", "New thing", "apparel", price=1.0)])
    monkeypatch.setattr(BM25, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        idx.save(folder)
    monkeypatch.undo()
    assert sorted(p.id for p in ProductIndex.load(folder).catalog) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]  # nothing half-built left beside it
    idx.save(folder)
    assert "new" in ProductIndex.load(folder).catalog and "p0" not in ProductIndex.load(folder).catalog


def test_index_save_refuses_a_folder_that_holds_other_files(tmp_path):
    from retrieval.catalog import Product
    from retrieval.index import ProductIndex

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not an index folder"):
        ProductIndex.build([Product("a", "A", "x")], encoder="hash:16").save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "a", "title": "unterminated}', "invalid JSON: Unterminated string starting at column 22"),
        ('{"id": "a\x01"}', "invalid JSON: Invalid control character at column 10"),
        ('{"id": "a",}', "invalid JSON: Expecting property name enclosed in double quotes at column 12"),
    ],
)
def test_invalid_json_message_says_at_column_once(tmp_path, line, message):
    f = tmp_path / "c.jsonl"
    f.write_text(line)  # no newline: a string left open at the end of the file is "unterminated"
    [(_, problem)] = list(iter_jsonl(f))
    assert problem.message == message


@pytest.mark.parametrize(
    "name, kind",
    [(n, "exact") for n in ("bm25_counts.npz", "embeddings.npy", "bm25_vocab.json", "index_config.json")]
    + [("hnsw.faiss", "hnsw")],
)
def test_a_truncated_index_file_is_a_problem_naming_it(tmp_path, name, kind):
    from retrieval.catalog import Product
    from retrieval.index import ProductIndex

    folder = tmp_path / "ix"
    products = [Product(f"p{i}", f"Product {i}", "x") for i in range(5)]
    ProductIndex.build(products, encoder="hash:16", kind=kind).save(folder)
    f = folder / name
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(DataError) as e:
        ProductIndex.load(folder)
    [problem] = e.value.problems
    assert problem.file == str(f) and "cut short or corrupt" in problem.message


def test_oversized_fields_are_rejected_with_line_and_field(tmp_path):
    from retrieval.catalog import MAX_SHORT_CHARS, MAX_TEXT_CHARS

    f = tmp_path / "c.jsonl"
    rows = [
        ROW,
        dict(ROW, id="b", description="x" * (MAX_TEXT_CHARS + 1)),
        dict(ROW, id="c", title="t" * (MAX_SHORT_CHARS + 1)),
        dict(ROW, id="d", attributes={"colour": ["red", "r" * (MAX_SHORT_CHARS + 1)]}),
        dict(ROW, id="e", attributes={"n" * (MAX_SHORT_CHARS + 1): "red"}),
        dict(ROW, id="f", notes={"deep": ["n" * (MAX_TEXT_CHARS + 1)]}),
        dict(ROW, id="g", description="x" * MAX_TEXT_CHARS, title="t" * MAX_SHORT_CHARS),  # at the limits: fine
    ]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    good, problems = validate_catalog(f)
    assert [p.id for p in good] == ["a", "g"]
    fields = [(p.line, p.field) for p in problems]
    assert fields == [(2, "description"), (3, "title"), (4, "attributes.colour"), (5, "attributes"), (6, "notes")]
    assert problems[0].message == f"{MAX_TEXT_CHARS + 1:,} characters, over the limit of {MAX_TEXT_CHARS:,}"


def test_a_20_mb_description_stops_index_build_with_its_line(tmp_path, capsys):
    from training.cli import main as shopguide

    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps(ROW) + "\n" + json.dumps(dict(ROW, id="b", description="word " * 4_000_000)) + "\n")
    out = tmp_path / "ix"
    assert shopguide(["index", "build", "--catalog", str(f), "--out", str(out), "--encoder", "hash:16"]) == 1
    err = capsys.readouterr().err
    assert f"{f}:2: description: 20,000,000 characters, over the limit of" in err and "Traceback" not in err
    assert not out.exists()


def test_overlong_words_stay_out_of_the_bm25_vocabulary():
    from retrieval.bm25 import BM25, MAX_TOKEN_CHARS

    bm = BM25.build(["red " + "z" * (MAX_TOKEN_CHARS + 1) + " shirt", "y" * MAX_TOKEN_CHARS])
    assert sorted(bm.vocab) == sorted(["red", "shirt", "y" * MAX_TOKEN_CHARS])
