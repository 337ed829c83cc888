"""DANN benchmark pieces: the svmlight reader (and its errors), the shallow DANN on a synthetic shift, the table.

Run: python -m pytest -q tests/training/test_dann.py        (the real-data run is `-m slow`)
"""

from __future__ import annotations

import pytest

from retrieval.fileio import DataError


def test_load_svmlight_reads_sparse_counts_and_names_bad_lines(tmp_path):
    from training.bench.dann import load_svmlight

    good = tmp_path / "a.svmlight"
    good.write_text("1 0:2 3:1\n-1 1:5\n\n0 4:1.5 # comment\n")
    x, y = load_svmlight(good, n_features=5)
    assert x.shape == (3, 5) and y.tolist() == [1, 0, 0]
    assert x[0, 0] == 2 and x[0, 3] == 1 and x[1, 1] == 5 and x[2, 4] == 1.5
    bad = tmp_path / "b.svmlight"
    bad.write_text("1 0:2\n1 9:1\n1 x:1\n")
    with pytest.raises(DataError) as e:
        load_svmlight(bad, n_features=5)
    assert len(e.value.problems) == 2 and e.value.problems[0].line == 2 and "outside" in e.value.problems[0].message


def test_shallow_dann_trains_on_a_synthetic_shift_without_target_labels():
    import torch

    from training.bench.dann import train_shallow

    torch.manual_seed(0)
    w = torch.randn(20)
    xs = torch.randn(400, 20).abs()
    xt = torch.randn(400, 20).abs() + 0.5 * torch.rand(20)  # shifted target, labels never given
    ys = (xs @ w > (xs @ w).median()).long()
    yt = (xt @ w > (xt @ w).median()).long()
    for adversarial in (False, True):
        model, info = train_shallow(
            xs, ys, xt, adversarial=adversarial, seed=0, hidden=8, max_epochs=30, min_epochs=5, lr=0.5, batch_size=16
        )
        acc = (model(xt).argmax(-1) == yt).float().mean().item()
        assert 0 <= info["epoch"] < 30 and info["valid_error"] < 0.3
        assert acc > 0.6


def test_table_has_paper_numbers_mean_row_and_pad():
    from training.bench.dann import PAPER_DANN, _table

    pairs = [("books", "dvd"), ("electronics", "kitchen")]
    rows = [
        {
            "source": s,
            "target": t,
            "seed": seed,
            "method": m,
            "target_accuracy": 0.7 + 0.01 * seed + (0.02 if m.startswith("dann") else 0.0),
            "proxy_a_distance": 0.5 if m.startswith("dann") else 1.0,
            "lam": 0.1,
        }
        for s, t in pairs
        for seed in (0, 1)
        for m in ("dann-rv", "dann-0.1", "source-only")
    ]
    table = _table(rows, pairs, (0.1,))
    assert f"{PAPER_DANN[('books', 'dvd')] * 100:.1f}" in table
    assert "**mean**" in table and "+2.0" in table and "| 1.00 | 0.50 |" in table


@pytest.mark.slow
def test_dann_bench_runs_on_one_real_pair(shared_data, tmp_path):
    from training.bench.dann import main

    data = shared_data / "blitzer-dann"
    if not data.is_dir():
        pytest.skip("blitzer-dann not present")
    args = ["--data", str(data), "--pairs", "books:dvd", "--seeds", "0", "--max-epochs", "3", "--min-epochs", "1",
            "--results", str(tmp_path / "r.jsonl"), "--out", str(tmp_path / "d.md")]  # fmt: skip
    assert main(args) == 0 and "books -> dvd" in (tmp_path / "d.md").read_text()
