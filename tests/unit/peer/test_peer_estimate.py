"""Probit likelihood against statsmodels; the two-step IV probit on DGPs with known truth."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from mig_lib.core import ParameterError
from mig_lib.peer import estimate


@pytest.fixture(scope="module")
def probit_data():
    rng = np.random.default_rng(11)
    n = 2000
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.binomial(1, 0.3, n), rng.uniform(size=n)])
    y = (X @ np.array([-0.5, 0.8, -0.4, 1.1]) + rng.normal(size=n) > 0).astype(float)
    return y, X


def test_loglike_and_score_match_statsmodels(probit_data):
    y, X = probit_data
    sm_model = sm.Probit(y, X)
    # moderate parameters: statsmodels clips Phi at machine epsilon, so deep in the tails it and the
    # exact log_ndtr formula part ways (that the exact one stays finite is tested below)
    for params in (np.zeros(4), np.array([-0.3, 0.5, 0.2, 0.9]), np.array([0.4, -1.2, 0.6, 1.5])):
        assert estimate.probit_loglike(params, y, X) == pytest.approx(sm_model.loglike(params), rel=1e-12)
        np.testing.assert_allclose(estimate.probit_score(params, y, X), sm_model.score(params), rtol=1e-9, atol=1e-9)


def test_loglike_is_finite_far_in_the_tails(probit_data):
    y, X = probit_data
    assert np.isfinite(estimate.probit_loglike(np.array([40.0, 0, 0, 0]), y, X))


def test_score_vanishes_at_the_statsmodels_estimate(probit_data):
    y, X = probit_data
    fit = sm.Probit(y, X).fit(disp=False, tol=1e-12, method="newton")
    np.testing.assert_allclose(estimate.probit_score(fit.params, y, X), 0, atol=1e-6)


def _rv_world(rng, n, rho):
    """Rivers-Vuong DGP: x = 0.5 + 0.8 z + 0.3 w + v, y = 1{0.2 + 0.7 x - 0.5 w + eps > 0}, corr(eps, v) = rho."""
    z, w, v, e = rng.normal(size=(4, n))
    x = 0.5 + 0.8 * z + 0.3 * w + v
    eps = rho * v + np.sqrt(1 - rho**2) * e
    y = (0.2 + 0.7 * x - 0.5 * w + eps > 0).astype(float)
    return pd.DataFrame({"y": y, "x": x, "w": w, "z": z, "const": 1.0})


def test_iv_probit_recovers_structural_coefficients_under_endogeneity():
    frame = _rv_world(np.random.default_rng(5), 20_000, rho=0.6)
    res = estimate.iv_probit(frame, "y", "x", ["w", "const"], ["z"])
    truth = pd.Series({"x": 0.7, "w": -0.5, "const": 0.2})
    for name, val in truth.items():
        assert abs(res.structural[name] - val) < 4 * res.structural_se[name], name
    assert res.exogeneity_p < 1e-6  # rho = 0.6: exogeneity clearly rejected
    assert res.first_stage["z"] == pytest.approx(0.8, abs=0.03)
    # the naive probit is biased upward for x (v and eps positively correlated)
    naive = estimate.fit_probit(frame, ["x", "w", "const"], outcome="y")
    assert naive.params["x"] > 0.7 + 4 * naive.bse["x"]


def test_murphy_topel_se_exceeds_naive_second_stage_se_under_endogeneity():
    frame = _rv_world(np.random.default_rng(6), 5000, rho=0.5)
    mt = estimate.iv_probit(frame, "y", "x", ["w", "const"], ["z"])
    plain = estimate.iv_probit(frame, "y", "x", ["w", "const"], ["z"], murphy_topel=False)
    assert mt.scaled_se["x"] > plain.scaled_se["x"]
    assert mt.scaled["x"] == plain.scaled["x"]


def test_exogeneity_test_has_about_nominal_size():
    rng = np.random.default_rng(2024)
    p_values = [estimate.iv_probit(_rv_world(rng, 600, rho=0.0), "y", "x", ["w", "const"], ["z"]).exogeneity_p
                for _ in range(200)]
    rejection = float(np.mean(np.array(p_values) < 0.05))
    # binomial(200, 0.05): sd 0.015; accept 0.05 +- ~3 sd
    assert 0.01 <= rejection <= 0.10


def test_exogeneity_test_has_power_under_endogeneity():
    rng = np.random.default_rng(99)
    p_values = [estimate.iv_probit(_rv_world(rng, 600, rho=0.5), "y", "x", ["w", "const"], ["z"]).exogeneity_p
                for _ in range(40)]
    assert np.mean(np.array(p_values) < 0.05) > 0.8


def test_bad_arguments_raise_named_errors():
    frame = _rv_world(np.random.default_rng(1), 100, 0.0)
    with pytest.raises(ParameterError, match="'instruments' = \\[\\]"):
        estimate.iv_probit(frame, "y", "x", ["w"], [])
    with pytest.raises(ParameterError, match="'exogenous' names column 'nope'"):
        estimate.iv_probit(frame, "y", "x", ["nope"], ["z"])
    with pytest.raises(ParameterError, match="'regressors' names column 'nope'"):
        estimate.fit_probit(frame, ["nope"], outcome="y")
    with pytest.raises(ParameterError, match="unknown category 'gossip'"):
        estimate.table4_regressors(["gossip"])


def test_constant_outcome_is_rejected_before_fitting():
    frame = _rv_world(np.random.default_rng(2), 300, 0.0).assign(y=0.0)
    with pytest.raises(ParameterError, match="outcome 'y' is 0 for all 300 observations"):
        estimate.fit_probit(frame, ["const", "x", "w"], outcome="y")
    with pytest.raises(ParameterError, match="outcome 'y' is 0 for all 300 observations"):
        estimate.iv_probit(frame, "y", "x", ["const", "w"], ["z"])


def test_perfect_separation_names_the_regressor():
    frame = _rv_world(np.random.default_rng(3), 300, 0.0)
    frame["y"] = (frame["w"] > 0.1).astype(float)
    with pytest.raises(ParameterError, match="regressor 'w' separates the outcome 'y' perfectly"):
        estimate.fit_probit(frame, ["const", "x", "w"], outcome="y")


def test_collinear_regressors_are_named():
    frame = _rv_world(np.random.default_rng(4), 300, 0.0)
    frame["two_x"] = 2 * frame["x"] - 1
    with pytest.raises(ParameterError, match=r"regressors \['x', 'const', 'two_x'\] are collinear"):
        estimate.fit_probit(frame, ["x", "w", "const", "two_x"], outcome="y")


def test_a_missing_education_category_names_its_dummy():
    from mig_lib.peer import synthetic
    from mig_lib.peer.model import EDUCATION_DUMMIES

    data = synthetic.draw_world(n_villages=40, seed=5).data.copy()
    top = EDUCATION_DUMMIES[-1]
    data[EDUCATION_DUMMIES[-2]] += data[top]   # nobody in the sample reached the top category
    data[top] = 0.0
    with pytest.raises(ParameterError, match=f"regressor '{top}' is 0 for every observation"):
        estimate.fit_probit(data, estimate.table3_regressors())


def test_quasi_complete_separation_warns_naming_the_dummy():
    frame = _rv_world(np.random.default_rng(6), 400, 0.0)
    frame["d"] = (np.arange(400) < 20).astype(float)
    frame.loc[frame["d"] == 1, "y"] = 1.0
    with pytest.warns(estimate.ProbitSeparationWarning, match="regressor 'd' predicts the outcome 'y' perfectly"):
        estimate.fit_probit(frame, ["const", "x", "w", "d"], outcome="y")
