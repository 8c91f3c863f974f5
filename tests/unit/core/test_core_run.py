"""The command-line wrapper instructors use: parameters in, records out, one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import ROOT
from mig_lib.core import ParameterError
from mig_lib.run import main, parse_value, sweep
from mig_lib.run.values import load_yaml

HOW_TO = "book/how_to_run.md"


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if a chapter starts executing: the check must come before."""
    import papermill

    def refuse(*args, **kwargs):
        raise AssertionError("the chapter was executed")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def test_run_writes_records_with_yaml_parameters(tmp_path, at_root):
    params = tmp_path / "p.yaml"
    params.write_text("income_gap: 2.5\n")
    out = tmp_path / "records.json"
    assert main([HOW_TO, str(tmp_path / "out.ipynb"), "-f", str(params), "-p", "moving_cost", "2.5",
                 "-p", "sweep_workers", "0", "--results", str(out), "--no-progress"]) == 0
    records = json.loads(out.read_text())
    assert records["demo/move_probability"] == pytest.approx(0.5)
    assert (tmp_path / "out.ipynb").exists()


def test_run_names_a_missing_chapter(capsys):
    assert main(["nope.md"]) == 2
    assert capsys.readouterr().err.strip() == "error: chapter 'nope.md' does not exist"


# Issue 12 item 5: an unknown name ran with the defaults and exited 0.
def test_unknown_parameter_is_rejected_listing_the_chapters_parameters(at_root, no_kernel, capsys):
    assert main([HOW_TO, "-p", "moving_cots", "1.0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: parameter 'moving_cots' is not a parameter of book/how_to_run.md; "
        "its parameters are: moving_cost, income_gap, results_path, sweep_workers")


def test_unknown_grid_parameter_is_rejected_before_any_run(at_root, no_kernel):
    with pytest.raises(ParameterError, match="parameter 'income_gaps' is not a parameter of"):
        sweep(HOW_TO, {"income_gaps": [1.0, 2.0]}, workers=0, progress=False)


# Issue 12 item 6: -p values were YAML 1.1 (yes -> True, 010 -> 8, 1e6 -> '1e6').
@pytest.mark.parametrize("text, expected", [
    ("yes", "yes"), ("no", "no"), ("010", 10), ("1e6", 1e6), ("-2", -2), ("0.5", 0.5),
    ("True", True), ("False", False), ("None", None), ("BJ", "BJ"), ("true", "true"),
    ("[0.1, 0.2, 0.7]", [0.1, 0.2, 0.7]), ("[yes, 010, 1e6, BJ]", ["yes", 10, 1e6, "BJ"]),
    ("{a: 1, b: off}", {"a": 1, "b": "off"}),
])
def test_p_values_follow_papermills_rules(text, expected):
    value = parse_value("x", text)
    assert value == expected and type(value) is type(expected)


def test_yaml_uses_the_core_schema():
    assert load_yaml("a: yes\nb: 010\nc: 1e6\nd: true\ne: ~\nf: 0x10\n", "-f") == {
        "a": "yes", "b": 10, "c": 1e6, "d": True, "e": None, "f": 16}
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_yaml("[1, 2", "-y")


def test_a_number_in_exponent_form_reaches_the_chapter_as_a_number(tmp_path, at_root):
    out = tmp_path / "records.json"
    assert main([HOW_TO, "-p", "moving_cost", "1e0", "-y", "{income_gap: 1, sweep_workers: 0}", "--results", str(out)]) == 0
    assert json.loads(out.read_text())["demo/moving_cost"] == 1.0


# Issue 12 item 7: a bad value printed a 40-line papermill traceback.
def test_a_bad_value_prints_one_line(at_root, capsys):
    assert main([HOW_TO, "-p", "moving_cost", "20"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[IPKernelApp]")]
    assert err == ["error: parameter 'moving_cost' = 20 is not allowed: expected a number in [0, 10]"]


def test_verbose_keeps_the_traceback(at_root):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError, match="parameter 'moving_cost' = 20"):
        main([HOW_TO, "-p", "moving_cost", "20", "--verbose"])


# Issue 12 item 8: a folder, or a file in a missing folder, failed in the last cell or was created.
def test_results_path_that_is_a_folder_is_rejected_before_running(tmp_path, at_root, no_kernel, capsys):
    assert main([HOW_TO, "-p", "results_path", str(tmp_path)]) == 2
    assert f"parameter 'results_path' = '{tmp_path}' is not allowed: it is a folder" in capsys.readouterr().err


def test_results_path_in_a_missing_folder_is_rejected_before_running(tmp_path, at_root, no_kernel, capsys):
    target = tmp_path / "missing" / "records.json"
    assert main([HOW_TO, "-p", "results_path", str(target)]) == 2
    assert f"its folder '{tmp_path / 'missing'}' does not exist" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


def test_sweep_runs_every_combination_serially(tmp_path, at_root):
    out = tmp_path / "sweep.csv"
    assert main([HOW_TO, "-g", "moving_cost", "[0.5, 1.5]", "-g", "income_gap", "[1.5]", "-p", "sweep_workers", "0",
                 "--workers", "0", "--out-dir", str(tmp_path / "runs"), "--results", str(out), "--no-progress"]) == 0
    table = pd.read_csv(out)
    assert list(table["moving_cost"]) == [0.5, 1.5]
    assert list(table["demo/moving_cost"]) == [0.5, 1.5]
    assert table["demo/move_probability"].iloc[1] == pytest.approx(0.5)
    manifest = pd.read_csv(tmp_path / "runs" / "manifest.csv")
    assert list(manifest["status"]) == ["done", "done"] and (manifest["seconds"] > 0).all()


def test_a_bad_grid_value_stops_the_sweep_before_any_run(tmp_path, at_root, no_kernel, capsys):
    assert main([HOW_TO, "-g", "moving_cost", "[1, 20]", "--out-dir", str(tmp_path / "runs"), "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: run moving_cost=20-") and err.endswith(
        "parameter 'moving_cost' = 20 is not allowed: expected a number in [0, 10]")
    assert not (tmp_path / "runs").exists()


def test_sweep_rejects_a_scalar_grid():
    with pytest.raises(ValueError, match="grid parameter 'moving_cost' = 1.0 is not allowed"):
        sweep(ROOT / "book" / "how_to_run.md", {"moving_cost": 1.0})


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": -1}, "parameter 'workers' = -1 is not allowed: expected an integer >= 0"),
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "not allowed with a scheduler or a client"),
    ({"results_path": "r.json"}, "parameter 'results_path' is not allowed in a sweep"),
])
def test_sweep_rejects_bad_arguments_before_any_run(kwargs, message, no_kernel):
    fixed = {"results_path": kwargs.pop("results_path")} if "results_path" in kwargs else {}
    with pytest.raises(ParameterError, match=message):
        sweep(ROOT / "book" / "how_to_run.md", {"moving_cost": [1.0]}, fixed, progress=False, **kwargs)


def test_ctrl_c_in_a_sweep_says_the_finished_runs_are_kept(monkeypatch, capsys):
    import mig_lib.run.cli as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "sweep", interrupted)
    assert main([HOW_TO, "-g", "moving_cost", "[1, 2]"]) == 130
    assert capsys.readouterr().err.strip() == (
        "interrupted: every finished run is saved; run the same command again to go on")
