"""Kennan–Walker maximum likelihood (mig_lib.kw.estimate): recovery, guards, Monte Carlo."""

import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.core.mle import recovery_failures_in_records
from mig_lib.kw.estimate import estimate_kw, monte_carlo, simulate_estimation_panel
from mig_lib.kw.geography import load_china
from mig_lib.kw.model import default_parameters


def test_kw_recovery_with_other_true_parameters():
    """Acceptance: the estimator recovers a different truth (small world, a few key parameters)."""
    geo = load_china(["BJ", "HE", "SH"])
    truth = default_parameters().with_values(alpha_income=0.3, gamma0_type1=3.5, type1_share=0.8, eta_3=1.1,
                                             sigma_eps_1=0.3)
    names = ["alpha_income", "gamma0_type1", "nu_sd", "eta_3", "sigma_eps_1"]
    frame = simulate_estimation_panel(geo, truth, n_people=300, n_years=8, seed=11)
    result, _ = estimate_kw(geo, frame, truth, names)
    assert result.exact_gradient and result.recovery_failures(truth) == []
    assert recovery_failures_in_records(result.records(truth)) == []


def test_kw_bounds_exclude_degenerate_wage_noise():

    for name in ("sigma_eps_1", "sigma_eps_2", "sigma_eps_3", "sigma_eps_4", "eta_1", "eta_2", "eta_3"):
        with pytest.raises(ParameterError, match=f"parameter '{name}' = 0.0 is not allowed"):
            default_parameters().with_values(**{name: 0.0})


def test_moving_costs_are_not_estimated_from_a_panel_without_moves():


    geo = load_china(["BJ", "HE", "SH"])
    frame = pd.DataFrame([{"person": p, "year": 2010 + t, "age": 25 + t, "province": geo.codes[p % 3],
                           "wage": 3.0 + 0.1 * t, "education": ("below_college", "college")[p % 2]}
                          for p in range(30) for t in range(5)])
    with pytest.raises(ParameterError, match=r"the panel has no moves .* \['gamma0_type1', 'gamma_hukou'\] cannot"):
        estimate_kw(geo, frame, default_parameters(), ["alpha_income", "gamma0_type1", "gamma_hukou"])


def test_monte_carlo_on_a_local_cluster_equals_the_serial_run():
    """Replications as Dask tasks (two worker processes) give the serial run's draws, row for row."""
    geo = load_china(["BJ", "HE", "SH"])
    truth = default_parameters()
    names = ["alpha_income", "sigma_eps_1"]
    arguments = dict(n_replications=3, n_people=120, n_years=5, seed=3)
    serial = monte_carlo(geo, truth, names, **arguments)
    on_cluster = monte_carlo(geo, truth, names, workers=2, **arguments)
    columns = [c for c in serial.columns if c != "seconds"]
    pd.testing.assert_frame_equal(serial[columns], on_cluster[columns])
    assert list(on_cluster.index) == [0, 1, 2]


def test_exact_and_finite_difference_gradients_reach_the_same_estimate():
    """The same data and start: the exact gradient and the central-difference path agree on the
    maximum and the standard errors, with far fewer likelihood evaluations; BHHH agrees too."""
    geo = load_china(["BJ", "HE", "SH"])
    truth = default_parameters()
    names = ["alpha_income", "gamma0_type1", "gamma_hukou", "nu_sd", "sigma_eps_2"]
    frame = simulate_estimation_panel(geo, truth, n_people=200, n_years=6, seed=5)
    exact, _ = estimate_kw(geo, frame, truth, names)
    finite, _ = estimate_kw(geo, frame, truth, names, finite_differences=True)
    assert exact.converged and finite.converged and exact.exact_gradient and not finite.exact_gradient
    assert exact.loglik == pytest.approx(finite.loglik, abs=1e-6)
    for name in names:
        assert exact.estimate[name] == pytest.approx(finite.estimate[name], abs=1e-3 * exact.se[name])
        assert exact.se[name] == pytest.approx(finite.se[name], rel=1e-3)
    assert exact.n_evaluations < finite.n_evaluations / 3
    bhhh, _ = estimate_kw(geo, frame, truth, names, optimizer="bhhh")
    assert bhhh.converged and bhhh.loglik == pytest.approx(exact.loglik, abs=1e-4)


def test_the_frozen_monte_carlo_file_holds_what_the_page_reads(tmp_path):
    """Coverage counts converged replications only; a missing s.e. does not cover; the file holds
    the replications, converged share, coverage per parameter, every draw and the versions."""
    from mig_lib.kw.montecarlo import freeze, frozen_table, load_frozen

    draws = pd.DataFrame({"converged": [True, True, True, False], "seconds": [1.0, 2.0, 3.0, 4.0],
                          "estimate/a": [1.1, 0.5, 1.0, 9.0], "se/a": [0.1, 0.1, float("nan"), 0.1],
                          "se_opg/a": [0.1, 0.2, 0.1, 0.1], "se_sandwich/a": [0.2, 0.1, 0.1, 0.1]})
    doc = freeze(draws, {"a": 1.0}, {"n_people": 10}, "python -m mig_lib.kw.montecarlo --replications 4", 10.0,
                 tmp_path / "mc.json")
    assert load_frozen(tmp_path / "mc.json") == doc and load_frozen(tmp_path / "missing.json") is None
    assert doc["replications"] == 4 and doc["converged_share"] == 0.75
    assert doc["coverage"] == {"a": pytest.approx(1 / 3)}
    assert doc["summary"]["a"]["coverage (opg)"] == pytest.approx(2 / 3)
    assert doc["summary"]["a"]["bias"] == pytest.approx((0.1 - 0.5 + 0.0) / 3)
    assert set(doc["versions"]) >= {"python", "numpy", "numba"}
    assert frozen_table(doc).loc["a", "coverage"] == pytest.approx(1 / 3)


