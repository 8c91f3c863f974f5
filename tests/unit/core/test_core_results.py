"""The results contract: record → registry/notebook → JSON; published file schema; compare."""

from __future__ import annotations

import json
import math

import nbformat
import numpy as np
import pandas as pd
import pytest

from mig_lib.core import (RECORD_MIME, clear_records, compare, load_published, read_records, record, record_all,
                          record_columns, recorded, write_records)


@pytest.fixture(autouse=True)
def _fresh_registry():
    clear_records()
    yield
    clear_records()


def _published(tmp_path, values):
    path = tmp_path / "chapter.json"
    path.write_text(json.dumps({"paper": "A paper", "values": values}))
    return path


def test_record_converts_numpy_and_returns_nothing(tmp_path):
    assert record("table4/benchmark/chi_H", np.float64(0.25)) is None
    record("state_space/size", np.int64(12))
    record("flags/converged", np.bool_(True))
    assert recorded() == {"table4/benchmark/chi_H": 0.25, "state_space/size": 12, "flags/converged": True}
    assert type(recorded()["state_space/size"]) is int
    write_records(tmp_path / "out" / "records.json")
    assert json.loads((tmp_path / "out" / "records.json").read_text()) == recorded()


def test_write_records_without_path_writes_nothing(tmp_path):
    record("a", 1.0)
    write_records(None)
    assert list(tmp_path.iterdir()) == []


def test_record_all_records_each_key_behind_the_prefix():
    record_all({"table4/benchmark/chi_H": 0.25, "table5/benchmark/tfr": np.float64(1.5)}, prefix="four_type/")
    assert recorded() == {"four_type/table4/benchmark/chi_H": 0.25, "four_type/table5/benchmark/tfr": 1.5}
    with pytest.raises(ValueError, match="record key"):
        record_all({"bad key": 1.0})


def test_record_columns_records_each_chosen_cell_under_its_row_label():
    table = pd.DataFrame({"equilibrium": [0.0845, 0.0935], "n_equilibria": [1, 3], "note": ["a", "b"]},
                         index=["figure1", "figure2"])
    record_columns(table, {"equilibrium": "{}/equilibrium", "n_equilibria": "{}/n_equilibria"})
    assert recorded() == {"figure1/equilibrium": 0.0845, "figure2/equilibrium": 0.0935,
                          "figure1/n_equilibria": 1, "figure2/n_equilibria": 3}
    assert type(recorded()["figure2/n_equilibria"]) is int      # an integer column records integers


@pytest.mark.parametrize("keys, message", [({"missing": "{}/x"}, r"columns \['missing'\].*expected some of"),
                                           ({"value": "no/placeholder"}, "one '{}' where the row label goes"),
                                           ({"value": "{}/{}"}, "one '{}' where the row label goes")])
def test_record_columns_rejects_unknown_columns_and_bad_patterns(keys, message):
    with pytest.raises(ValueError, match=message):
        record_columns(pd.DataFrame({"value": [1.0]}, index=["a"]), keys)
    assert recorded() == {}                                      # nothing half-recorded


@pytest.mark.parametrize("key", ["", "has space", "/leading", "trailing/", "a//b", 3])
def test_record_rejects_bad_keys(key):
    with pytest.raises(ValueError, match="record key"):
        record(key, 1.0)


def test_record_rejects_values_that_are_not_data():
    with pytest.raises(TypeError, match="record value"):
        record("a", object())


def test_read_records_from_an_executed_notebook():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={RECORD_MIME: {"key": "x/y", "value": 1.5}}),
        nbformat.v4.new_output("display_data", data={"text/plain": "ignored"}),
        nbformat.v4.new_output("display_data", data={RECORD_MIME: json.dumps({"key": "z", "value": [1, 2]})}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("text"), cell]
    assert read_records(nb) == {"x/y": 1.5, "z": [1, 2]}


def test_compare_reports_pass_fail_and_missing(tmp_path):
    path = _published(tmp_path, {
        "a": {"value": 0.0845, "tolerance": {"abs": 0.003}, "source": "Figure 1"},
        "b": {"value": 100.0, "tolerance": {"rel": 0.01}, "source": "Table 2"},
        "c": {"value": 1.0, "tolerance": {"abs": 1e-4}, "source": "Table 3"},
        "d": {"value": 2.0, "tolerance": {"abs": 1e-4}, "source": "Table 4"},
    })
    table = compare({"a": 0.0860, "b": 102.0, "c": 1.00005}, path).set_index("key")
    assert list(table.columns) == ["paper", "ours", "difference", "tolerance", "ok", "source"]
    assert table.loc["a", "ok"] and table.loc["c", "ok"]
    assert not table.loc["b", "ok"]                      # 2% off with a 1% tolerance
    assert math.isclose(table.loc["b", "difference"], 2.0)
    assert not table.loc["d", "ok"] and math.isnan(table.loc["d", "ours"])   # never recorded
    assert table.loc["b", "tolerance"] == "rel 0.01"


def test_compare_either_tolerance_suffices(tmp_path):
    path = _published(tmp_path, {"a": {"value": 0.0, "tolerance": {"abs": 1e-3, "rel": 1e-2}, "source": "s"}})
    assert compare({"a": 5e-4}, path)["ok"].item()
    assert not compare({"a": 2e-3}, path)["ok"].item()


def test_compare_non_numbers_are_not_ok(tmp_path):
    path = _published(tmp_path, {"a": {"value": 1.0, "tolerance": {"abs": 1.0}, "source": "s"}})
    assert not compare({"a": "1.0"}, path)["ok"].item()
    assert not compare({"a": True}, path)["ok"].item()
    assert not compare({"a": float("nan")}, path)["ok"].item()


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"tolerance": {"abs": 1}, "source": "s"}, "needs a 'value'"),
        ({"value": "0.1", "tolerance": {"abs": 1}, "source": "s"}, "'value' must be a number"),
        ({"value": 0.1, "tolerance": {"absolute": 1}, "source": "s"}, "'tolerance' must be"),
        ({"value": 0.1, "tolerance": {"abs": -1}, "source": "s"}, "non-negative"),
        ({"value": 0.1, "tolerance": {"abs": 1}}, "needs a 'source'"),
    ],
)
def test_published_schema_errors_name_the_entry(tmp_path, entry, message):
    path = _published(tmp_path, {"table2/z": entry})
    with pytest.raises(ValueError, match=message) as err:
        load_published(path)
    assert "'table2/z'" in str(err.value)


def test_published_file_must_be_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_published(path)


def test_published_path_finds_the_files_from_any_directory(tmp_path, monkeypatch):
    from mig_lib.core import published_path

    monkeypatch.chdir(tmp_path)
    path = published_path("03_becker_harris_todaro")
    assert path.is_file() and path.parent.name == "published"
    assert load_published(path)
