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
