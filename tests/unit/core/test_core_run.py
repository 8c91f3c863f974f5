"""The command-line wrapper instructors use: YAML parameters in, records out."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from mig_lib.run import main


def test_run_writes_records_with_yaml_parameters(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    params = tmp_path / "p.yaml"
    params.write_text("income_gap: 2.5\n")
    out = tmp_path / "records.json"
    assert main(["book/how_to_run.md", str(tmp_path / "out.ipynb"), "-f", str(params),
                 "-p", "moving_cost", "2.5", "--results", str(out)]) == 0
    records = json.loads(out.read_text())
    assert records["demo/move_probability"] == pytest.approx(0.5)
    assert (tmp_path / "out.ipynb").exists()


def test_run_names_a_missing_chapter(tmp_path):
    with pytest.raises(FileNotFoundError, match="chapter 'nope.md' does not exist"):
        main(["nope.md"])


def test_sweep_runs_every_combination(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "sweep.csv"
    assert main(["book/how_to_run.md", "-g", "moving_cost", "[0.5, 1.5]", "-g", "income_gap", "[1.5]",
                 "--results", str(out)]) == 0
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table["moving_cost"]) == [0.5, 1.5]
    assert list(table["demo/moving_cost"]) == [0.5, 1.5]
    assert table["demo/move_probability"].iloc[1] == pytest.approx(0.5)


def test_sweep_rejects_a_scalar_grid():
    from mig_lib.run import sweep

    with pytest.raises(ValueError, match="grid parameter 'moving_cost' = 1.0 is not allowed"):
        sweep(ROOT / "book" / "how_to_run.md", {"moving_cost": 1.0})
