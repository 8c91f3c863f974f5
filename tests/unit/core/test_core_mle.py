"""The estimation core (mig_lib.core.mle): transforms, statsmodels cross-check, delta method, identification."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.core.mle import (EstimationError, from_unbounded, maximize_likelihood, numerical_gradient,
                             recovery_failures, recovery_failures_in_records, to_unbounded, unbounded_derivative)


@pytest.mark.parametrize("lower, upper", [(0.0, 1.0), (-2.0, 5.0), (0.0, math.inf), (-math.inf, 3.0),
                                          (-math.inf, math.inf)])
def test_transform_round_trip_and_derivative(lower, upper):
    for x in (-3.0, -0.2, 0.0, 0.7, 2.5):
        value = from_unbounded(x, lower, upper)
        assert lower < value < upper
        assert to_unbounded(value, lower, upper) == pytest.approx(x, abs=1e-9)
        h = 1e-6
        fd = (from_unbounded(x + h, lower, upper) - from_unbounded(x - h, lower, upper)) / (2 * h)
        assert unbounded_derivative(x, lower, upper) == pytest.approx(fd, rel=1e-6)


def logit_data(n=800, seed=3):
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ [-0.4, 1.1])))).astype(float)
    return x, y


def test_logit_matches_statsmodels():
    x, y = logit_data()
    table = ParameterTable([("b0", 0.0, -math.inf, math.inf, "b_0", "intercept"),
                            ("b1", 0.0, -math.inf, math.inf, "b_1", "slope")])

    def loglik(values):
        index = x @ [values["b0"], values["b1"]]
        return y * index - np.logaddexp(0.0, index)

    result = maximize_likelihood(loglik, table, ["b0", "b1"])
    reference = sm.Logit(y, x).fit(disp=0)
    assert result.converged
    np.testing.assert_allclose([result.estimate["b0"], result.estimate["b1"]], reference.params, atol=2e-5)
    np.testing.assert_allclose([result.se["b0"], result.se["b1"]], reference.bse, rtol=1e-4)
    assert result.loglik == pytest.approx(reference.llf, abs=1e-8)
    summary = result.summary(truth={"b0": -0.4, "b1": 1.1})
    assert list(summary.columns[:5]) == ["estimate", "se", "t", "at_bound", "identified"]
    assert summary.loc["b1", "t"] == pytest.approx(result.estimate["b1"] / result.se["b1"])


def test_delta_method_for_a_bounded_scale():
    data, table, loglik, _ = normal_model(n=500, seed=0)
    result = maximize_likelihood(loglik, table, ["mean", "sd"], n_starts=3, seed=1)
    sd_hat = data.std()
    assert result.estimate["mean"] == pytest.approx(data.mean(), abs=1e-5)
    assert result.estimate["sd"] == pytest.approx(sd_hat, abs=1e-5)
    # closed-form inverse information: var(mean) = sd^2/n, var(sd) = sd^2/(2n)
    assert result.se["mean"] == pytest.approx(sd_hat / np.sqrt(500), rel=1e-3)
    assert result.se["sd"] == pytest.approx(sd_hat / np.sqrt(1000), rel=1e-3)
    assert len(result.start_logliks) == 3
    assert not any(result.bounds_hit().values())


def test_unidentified_parameters_are_reported():
    rng = np.random.default_rng(2)
    data = rng.normal(0.5, 1.0, size=300)
    table = ParameterTable([("a", 0.0, -5.0, 5.0, "a", "first half of the mean"),
                            ("b", 0.0, -5.0, 5.0, "b", "second half of the mean"),
                            ("unused", 1.0, 0.0, 2.0, "c", "does not enter"),
                            ("sd", 1.0, 0.1, 5.0, r"\sigma", "sd")])

    def loglik(values):
        return -0.5 * ((data - values["a"] - values["b"]) / values["sd"]) ** 2 - np.log(values["sd"])

    result = maximize_likelihood(loglik, table, ["a", "b", "unused", "sd"])
    assert set(result.not_identified) == {"a", "b", "unused"}
    assert all(np.isnan(result.se[n]) for n in result.not_identified)
    assert np.isfinite(result.se["sd"])
    assert not result.summary().loc["a", "identified"]


def test_estimate_on_a_bound_is_flagged():
    zeros = np.zeros(50)
    table = ParameterTable([("p", 0.5, 0.0, 1.0, "p", "success probability")])
    result = maximize_likelihood(lambda v: zeros * 0 + np.log1p(-v["p"]), table, ["p"])
    assert result.estimate["p"] < 1e-3
    assert result.bounds_hit()["p"]


def test_numerical_gradient_of_a_closed_form():
    table = ParameterTable([("a", 0.3, -5.0, 5.0, "a", "a"), ("b", -1.2, -5.0, 5.0, "b", "b")])
    grad = numerical_gradient(lambda v: np.array([v["a"] ** 3 * v["b"], np.sin(v["b"])]), table, ["a", "b"])
    np.testing.assert_allclose(grad, [3 * 0.09 * -1.2, 0.027 + np.cos(-1.2)], rtol=1e-7)


def test_argument_errors():
    table = ParameterTable([("a", 0.0, -1.0, 1.0, "a", "a")])
    with pytest.raises(ParameterError, match="unknown parameter 'zz'"):
        maximize_likelihood(lambda v: np.zeros(2), table, ["zz"])
    with pytest.raises(ParameterError, match="n_starts"):
        maximize_likelihood(lambda v: np.zeros(2), table, ["a"], n_starts=0)
    with pytest.raises(ParameterError, match="names"):
        maximize_likelihood(lambda v: np.zeros(2), table, [])


def test_recovery_failures():
    good = {"estimate/a": 1.1, "se/a": 0.1, "true/a": 1.0, "converged": 1}
    assert recovery_failures_in_records(good) == []
    assert "3.5 s.e." in recovery_failures_in_records({**good, "estimate/a": 1.35})[0]
    assert recovery_failures_in_records({**good, "converged": 0}) == ["converged is recorded as false"]
    assert "not a positive number" in recovery_failures_in_records({**good, "se/a": float("nan")})[0]
    assert "missing" in recovery_failures_in_records({"estimate/b": 1.0})[0]
    # a prefix: the Monte Carlo's or another section's estimates are checked the same way
    prefixed = {f"mc/{k}": v for k, v in good.items()}
    assert recovery_failures_in_records(prefixed) == []
    assert "3.5 s.e." in recovery_failures_in_records({**prefixed, "mc/estimate/a": 1.35})[0]
    assert recovery_failures_in_records({"other": 1.0}) == []
    # the same check on mappings and on a result object
    assert recovery_failures({"a": 1.1}, {"a": 0.1}, {"a": 1.0}, converged=True) == []
    assert recovery_failures({"a": 1.1}, {"a": True}, {"a": 1.0})[0].startswith("a: standard error True")


def test_a_non_finite_criterion_raises_naming_the_parameter_vector():
    data = np.linspace(0.1, 2.0, 40)
    table = ParameterTable([("rate", 0.5, 0.0, 5.0, r"\lambda", "rate"), ("shift", 1.0, 0.0, 3.0, "s", "shift")])
    # NaN at the start: log of a negative number
    with pytest.raises(EstimationError, match=r"log-likelihood is nan for 40 of 40 people at parameter vector "
                                              r"\(rate=0.5, shift=1\)"):
        maximize_likelihood(lambda v: np.log(v["rate"] - v["shift"]) + 0 * data, table, ["rate", "shift"])
    # -inf met during the search: the likelihood keeps rising towards a region where it is impossible
    with pytest.raises(EstimationError, match=r"log-likelihood is -inf for \d+ of 40 people at parameter vector "
                                              r"\(rate=[0-9.e-]+, shift=[0-9.e-]+\)"):
        maximize_likelihood(lambda v: np.where(data > v["rate"] * 1.5, np.log(v["rate"]) - v["rate"] * data, -np.inf),
                            table, ["rate", "shift"], start={"rate": 0.05})


def test_a_maximum_on_a_bound_is_reported_not_converged():
    data = np.random.default_rng(7).normal(1.0, 0.2, size=400)
    table = ParameterTable([("mean", 0.0, -5.0, 5.0, "m", "mean"), ("sd", 1.0, 0.5, math.inf, "s", "sd"),
                            ("p", 0.5, 0.0, 1.0, "p", "a probability whose likelihood peaks at 0")])

    def loglik(values):
        return -0.5 * ((data - values["mean"]) / values["sd"]) ** 2 - np.log(values["sd"]) + np.log1p(-values["p"])

    result = maximize_likelihood(loglik, table, ["mean", "sd", "p"])
    assert not result.converged
    assert result.at_bound == ["sd", "p"] and "on a parameter bound: sd, p" in result.message
    assert np.isnan(result.se["sd"]) and np.isnan(result.se["p"])
    # the interior parameter keeps its (conditional) standard error: sd held at its bound 0.5
    assert result.se["mean"] == pytest.approx(0.5 / np.sqrt(400), rel=1e-3)


def test_a_collinear_pair_is_flat_at_the_hessians_accuracy():
    """y ~ N(a + b, sd): a and b are not separately identified, whatever the scale of the data."""
    for seed, mean, sd in [(5, -2.0, 0.3), (2, 0.5, 1.0)]:
        data = np.random.default_rng(seed).normal(mean, sd, size=1000)
        table = ParameterTable([("a", 0.0, -5.0, 5.0, "a", "a"), ("b", 0.0, -5.0, 5.0, "b", "b"),
                                ("sd", 1.0, 0.1, 5.0, "s", "sd")])
        result = maximize_likelihood(
            lambda v: -0.5 * ((data - v["a"] - v["b"]) / v["sd"]) ** 2 - np.log(v["sd"]), table, ["a", "b", "sd"],
)
        assert result.not_identified == ["a", "b"], (seed, result.not_identified)
        assert not result.converged and "flat direction" in result.message
        assert result.se["sd"] == pytest.approx(result.estimate["sd"] / np.sqrt(2000), rel=1e-3)

def normal_model(n=600, seed=4):
    data = np.random.default_rng(seed).normal(1.0, 2.0, size=n)
    table = ParameterTable([("mean", 0.0, -10.0, 10.0, r"\mu", "mean"),
                            ("sd", 1.0, 0.01, 20.0, r"\sigma", "standard deviation")])

    def loglik(values):
        return -0.5 * ((data - values["mean"]) / values["sd"]) ** 2 - np.log(values["sd"]) - 0.5 * np.log(2 * np.pi)

    def scores(values, names):
        z = (data - values["mean"]) / values["sd"]
        columns = {"mean": z / values["sd"], "sd": (z ** 2 - 1) / values["sd"]}
        return loglik(values), np.column_stack([columns[n] for n in names])

    return data, table, loglik, scores


def test_a_summed_gradient_is_used_where_per_person_scores_are_not_needed():
    """A scores object with a ``total`` method (reverse mode in the Kennan–Walker chapter): L-BFGS-B, the
    Hessian and the Newton polish call it, every person's scores are asked for once, at the estimate;
    the estimate and all three standard errors equal those of the scores-only run."""
    data, table, loglik, scores = normal_model()
    calls = {"total": 0, "scores": 0}

    class Counted:
        def __call__(self, values, names):
            calls["scores"] += 1
            return scores(values, names)

        def total(self, values, names):
            calls["total"] += 1
            contributions, per_person = scores(values, names)
            return contributions, per_person.sum(axis=0)

    plain = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores)
    summed = maximize_likelihood(loglik, table, ["mean", "sd"], scores=Counted())
    assert calls["scores"] == 1 and calls["total"] > 5
    assert summed.converged and summed.estimate == pytest.approx(plain.estimate, abs=1e-9)
    for kind in ("hessian", "opg", "sandwich"):
        assert summed.standard_errors(kind) == pytest.approx(plain.standard_errors(kind), rel=1e-6)

    class NotFinite(Counted):
        def total(self, values, names):
            contributions, gradient = super().total(values, names)
            return contributions, gradient * np.nan

    with pytest.raises(EstimationError, match="the gradient is not finite"):
        maximize_likelihood(loglik, table, ["mean", "sd"], scores=NotFinite())


def test_the_hessians_model_free_columns_ask_only_for_their_own_entries():
    """Scores that say which parameters do not move the expensive part (``model_free``) get the
    Hessian's columns in those parameters asked with ``only=``: the other entries come from the
    other columns by symmetry, and the standard errors equal those of the full differences."""
    # a location that moves with the scale, so that the Hessian's cross entry is far from zero
    data, table, _, _ = normal_model()

    def loglik(values):
        return -0.5 * ((data - values["mean"] - 0.3 * values["sd"]) / values["sd"]) ** 2 - np.log(values["sd"])

    def scores(values, names):
        z = (data - values["mean"] - 0.3 * values["sd"]) / values["sd"]
        columns = {"mean": z / values["sd"], "sd": (0.3 * z + z ** 2 - 1) / values["sd"]}
        return loglik(values), np.column_stack([columns[n] for n in names])

    asked = []

    class Partial:
        def __call__(self, values, names):
            return scores(values, names)

        def total(self, values, names, only=None):
            asked.append(None if only is None else list(only))
            contributions, per_person = scores(values, names)
            gradient = per_person.sum(axis=0)
            if only is not None:
                gradient = np.where(only, gradient, np.nan)
            return contributions, gradient

        def model_free(self, values, names):
            return np.array([n == "sd" for n in names])

    full = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores)
    partial = maximize_likelihood(loglik, table, ["mean", "sd"], scores=Partial())
    assert [False, True] in asked
    assert partial.converged and partial.hessian_unbounded[0, 1] == partial.hessian_unbounded[1, 0]
    assert abs(full.hessian_unbounded[0, 1]) > 0.1 * abs(full.hessian_unbounded[0, 0])
    # one forward difference (step 1e-4) instead of the mean of two: equal to the differences' truncation
    scale = np.abs(np.diag(full.hessian_unbounded)).max()
    np.testing.assert_allclose(partial.hessian_unbounded, full.hessian_unbounded, rtol=1e-4, atol=1e-4 * scale)
    for kind in ("hessian", "opg", "sandwich"):
        assert partial.standard_errors(kind) == pytest.approx(full.standard_errors(kind), rel=1e-4)


def test_exact_scores_bhhh_and_the_three_covariances():
    data, table, loglik, scores = normal_model()
    reference = maximize_likelihood(loglik, table, ["mean", "sd"])
    exact = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores)
    bhhh = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores, optimizer="bhhh")
    hybrid = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores, optimizer="lbfgsb-bhhh",
                                 handover_tolerance=1e-3, bhhh_gain_tolerance=1e-9)
    assert "L-BFGS-B" in hybrid.message and "then BHHH" in hybrid.message
    for result in (exact, bhhh, hybrid):
        assert result.converged and result.exact_gradient
        assert result.estimate["mean"] == pytest.approx(data.mean(), abs=1e-6)
        assert result.estimate["sd"] == pytest.approx(data.std(), abs=1e-6)
        assert result.se["sd"] == pytest.approx(reference.se["sd"], rel=1e-4)
    assert exact.n_evaluations < reference.n_evaluations / 2
    # OPG and sandwich: closed forms for the normal at the MLE (sd: fourth moment enters)
    n, sd = len(data), data.std()
    z = (data - data.mean()) / sd
    opg = exact.standard_errors("opg")
    natural_scores = np.column_stack([z / sd, (z ** 2 - 1) / sd])
    expected = np.sqrt(np.diag(np.linalg.inv(natural_scores.T @ natural_scores)))
    assert [opg["mean"], opg["sd"]] == pytest.approx(expected, rel=1e-4)
    sandwich = exact.standard_errors("sandwich")
    assert sandwich["sd"] == pytest.approx(sd * np.sqrt(np.sum((z ** 2 - 1) ** 2)) / (2 * n), rel=1e-3)
    assert exact.standard_errors("hessian") == pytest.approx(exact.se)
    chosen = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores, covariance="opg")
    assert chosen.se == pytest.approx(opg)
    with pytest.raises(ParameterError, match="optimizer = 'newton'"):
        maximize_likelihood(loglik, table, ["mean"], optimizer="newton")
    with pytest.raises(ParameterError, match="covariance = 'robust'"):
        maximize_likelihood(loglik, table, ["mean"], covariance="robust")
    with pytest.raises(ParameterError, match=r"handover_tolerance = 0 is not allowed: expected a finite number > 0"):
        maximize_likelihood(loglik, table, ["mean"], optimizer="lbfgsb-bhhh", handover_tolerance=0)
    with pytest.raises(ParameterError, match=r"bhhh_gain_tolerance = -1.0 is not allowed"):
        maximize_likelihood(loglik, table, ["mean"], optimizer="bhhh", bhhh_gain_tolerance=-1.0)


def test_the_nelder_mead_check_is_an_option():
    data, table, loglik, scores = normal_model()
    without = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores)
    checked = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores, nelder_mead_check=True)
    assert without.nelder_mead_gain == 0.0 and checked.nelder_mead_gain <= 1e-4
    assert checked.n_evaluations > without.n_evaluations + 10
    assert checked.loglik == pytest.approx(without.loglik, abs=1e-8)


def test_a_result_checks_its_own_recovery():
    data, table, loglik, scores = normal_model()
    result = maximize_likelihood(loglik, table, ["mean", "sd"], scores=scores)
    assert result.recovery_failures({"mean": 1.0, "sd": 2.0}) == []
    far = result.recovery_failures({"mean": result.estimate["mean"] + 4 * result.se["mean"], "sd": 2.0})
    assert len(far) == 1 and far[0].startswith("mean: estimate") and "4.0 s.e." in far[0]
    assert recovery_failures_in_records(result.records({"mean": 1.0, "sd": 2.0})) == []


def test_coverage_standard_error_is_the_binomial_one():
    from mig_lib.core.mle import coverage_standard_error

    assert coverage_standard_error(200) == pytest.approx(0.015411, abs=1e-6)   # sqrt(0.95 * 0.05 / 200)
    observed = np.array([0.9, 0.5])
    assert np.allclose(coverage_standard_error(np.array([100, 400]), observed), [0.03, 0.025])
