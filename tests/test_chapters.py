"""Every notebook in _toc.yml, executed through papermill with CI parameters, checked against the
paper's printed values (data/published/<name>.json) and against its own invariants."""

from __future__ import annotations

import json
import math

import pandas as pd
import papermill
import pytest

from conftest import PUBLISHED, ROOT, chapter_parameters, notebooks
from mig_lib.core import compare
from mig_lib.core.mle import recovery_failures_in_records
from mig_lib.kw import default_parameters
from mig_lib.run import execute_chapter

pytestmark = pytest.mark.chapter
NOTEBOOKS = notebooks()
IDS = [nb.stem for nb in NOTEBOOKS]


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=IDS)
def executed(request, tmp_path_factory):
    notebook = request.param
    out_dir = tmp_path_factory.mktemp(notebook.stem)
    parameters = {**chapter_parameters(notebook), "results_path": str(out_dir / "records.json")}
    executed_nb, records = execute_chapter(notebook, out_dir / f"{notebook.stem}.ipynb", parameters,
                                           cwd=ROOT)
    return notebook, parameters, records


def test_records_match_the_paper(executed):
    notebook, _, records = executed
    assert records, f"{notebook.name} recorded nothing"
    published = PUBLISHED / f"{notebook.stem}.json"
    if not published.exists():
        pytest.skip(f"{notebook.name}: no published values to compare (data/published/{published.name})")
    table = compare(records, published)
    with pd.option_context("display.width", 200, "display.max_rows", None, "display.max_colwidth", 60):
        assert table["ok"].all(), (
            f"{notebook.name}: {int((~table['ok']).sum())} of {len(table)} published values missed\n"
            + table.loc[~table["ok"]].to_string()
        )


def test_results_path_holds_the_records(executed):
    notebook, parameters, records = executed
    saved = json.loads(open(parameters["results_path"]).read())
    assert saved == records, f"{notebook.name}: JSON at results_path differs from the notebook's records"


def test_estimates_within_three_standard_errors(executed):
    """Where a chapter estimates a simulated truth, recovery holds: for every record
    `<prefix>/estimate/<name>` with a sibling `<prefix>/true/<name>`, the estimate is within 3
    standard errors `<prefix>/se/<name>` of the truth (mig_lib.core.mle.recovery_failures)."""
    notebook, _, records = executed
    truth = {k: v for k, v in records.items() if "true" in k.split("/")[:-1]}
    if not truth:
        pytest.skip(f"{notebook.name} estimates no simulated truth")
    misses = recovery_failures_in_records(records, only_with_truth=True)
    assert not misses, f"{notebook.name}: estimates more than 3 s.e. from the truth:\n" + "\n".join(misses)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_bad_parameter_is_named(notebook, tmp_path):
    """Every chapter validates its parameters: a bad value stops it with one clear message."""
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        execute_chapter(notebook, tmp_path / "bad.ipynb", {"results_path": 12345}, cwd=ROOT)
    assert failure.value.ename == "ParameterError"
    assert "parameter 'results_path' = 12345 is not allowed" in failure.value.evalue


#: Pages whose identical-rerun check runs on a smaller version of their CI parameters (twice), not
#: on the CI run itself: the check is that the same parameters and seeds give the same records, which
#: a small run of the same code path (simulate, identify, estimate with the exact gradient, Hessian,
#: counterfactuals, exercises) shows as well as a large one, at a fraction of a full estimation.
RERUN_PARAMETERS = {
    "01_peer_effects": {"n_villages": 240, "n_monte_carlo": 2},
    "02_kennan_walker_estimation": {
        "provinces": ["BJ", "HE", "SD"], "n_people": 200, "n_years": 5, "n_monte_carlo": 0,
        "estimated_params": ["alpha_income", "gamma0_type1", "gamma_hukou", "xi_sd", "type1_share", "sigma_eps_1"],
    },
}


def test_same_run_gives_identical_records(executed, tmp_path):
    """Reproducibility: a second run with the same parameters (and seeds) records the same values."""
    notebook, parameters, records = executed
    if notebook.stem in RERUN_PARAMETERS:
        parameters = {**parameters, **RERUN_PARAMETERS[notebook.stem],
                      "results_path": str(tmp_path / "first.json")}
        records = execute_chapter(notebook, tmp_path / "first.ipynb", parameters, cwd=ROOT)[1]
    again = execute_chapter(notebook, tmp_path / "again.ipynb",
                            {**parameters, "results_path": str(tmp_path / "again.json")}, cwd=ROOT)[1]
    differ = sorted(k for k in set(records) | set(again) if records.get(k) != again.get(k))
    assert not differ, f"{notebook.name}: records differ between two identical runs: {differ[:10]}"


#: Chapters whose records go through multi-threaded BLAS products (see mig_lib.core.results).
BLAS_THREAD_INDEPENDENT = ["01_peer_effects"]


def test_records_do_not_depend_on_the_blas_thread_count(executed, tmp_path, monkeypatch):
    """Reproducibility across machines: with one BLAS thread the records are the same as with the
    default (every core), bit for bit."""
    notebook, parameters, records = executed
    if notebook.stem not in BLAS_THREAD_INDEPENDENT:
        pytest.skip(f"{notebook.name} is not in BLAS_THREAD_INDEPENDENT")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")   # inherited by the kernel papermill starts
    one_thread = execute_chapter(notebook, tmp_path / "one_thread.ipynb",
                                 {**parameters, "results_path": str(tmp_path / "one_thread.json")}, cwd=ROOT)[1]
    differ = sorted(k for k in set(records) | set(one_thread) if records.get(k) != one_thread.get(k))
    assert not differ, (f"{notebook.name}: records differ between OPENBLAS_NUM_THREADS=1 and the default: "
                        + ", ".join(f"{k} ({records.get(k)!r} vs {one_thread.get(k)!r})" for k in differ[:5]))


def test_estimation_page_refuses_a_request_beyond_memory(tmp_path, monkeypatch):
    """The resource guard runs in the page's validation cell, before anything is simulated."""
    page = ROOT / "chapters" / "02_kennan_walker_estimation.md"
    monkeypatch.setenv("MIG_LIB_MEMORY_LIMIT", "2e9")   # a 2 GB machine, inherited by the kernel
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        execute_chapter(page, tmp_path / "huge.ipynb",
                        {"n_people": 20_000, "n_years": 40, "provinces": "all", "n_monte_carlo": 0}, cwd=ROOT)
    assert failure.value.ename == "ResourceError"
    assert "20,000 people × 40 years × 31 provinces" in failure.value.evalue
    assert "this machine has 1.9 GiB of memory" in failure.value.evalue


def test_out_of_range_parameter_message(tmp_path):
    page = ROOT / "book" / "how_to_run.md"
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        execute_chapter(page, tmp_path / "bad.ipynb", {"moving_cost": -1.0}, cwd=ROOT)
    assert failure.value.evalue == (
        "parameter 'moving_cost' = -1.0 is not allowed: expected a number in [0, 10]"
    )


def test_estimation_recovers_another_truth(executed):
    """The estimation page is not tuned to its defaults: its CI run simulates another truth
    (tests/chapter_params/02_kennan_walker_estimation.yaml) that moves every estimated parameter
    away from the default table, and the estimator still converges with every estimate within
    3 s.e. of that truth. (At book size the default truth is measured by the frozen Monte Carlo.)"""
    notebook, parameters, records = executed
    if notebook.stem != "02_kennan_walker_estimation":
        pytest.skip(f"{notebook.name} is not the estimation page")
    other_truth = parameters["true_params"]
    assert records["converged"] == 1
    estimated = [k.split("/", 1)[1] for k in records if k.startswith("estimate/")]
    # the page estimates every parameter its geography identifies
    assert records["estimation/n_estimated"] == len(estimated) >= 25
    default = default_parameters()
    for name in estimated:
        assert records[f"true/{name}"] == other_truth[name], f"{name} was not simulated at the other truth"
        assert other_truth[name] != default[name], f"the other truth leaves {name} at its default"
    misses = recovery_failures_in_records(records, only_with_truth=True)   # not the exercises' own fits
    assert not misses, f"estimates more than 3 s.e. from the other truth: {misses}"
