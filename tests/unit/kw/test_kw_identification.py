"""Identification report: the outer-product information against closed forms and the estimator."""

import numpy as np
import pytest

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.kw.identification import identification_report, per_person_scores


def normal_sample(n, seed=0):
    return np.random.default_rng(seed).normal(1.0, 2.0, n)


def normal_loglik(x):
    def loglik(values):
        mu, sd = values["mu"], values["sd"]
        return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)
    return loglik


TABLE = ParameterTable([("mu", 1.0, -10.0, 10.0, r"\mu", "mean"), ("sd", 2.0, 0.01, 10.0, r"\sigma", "s.d."),
                        ("unused", 0.5, 0.0, 1.0, "u", "a parameter the likelihood ignores")])


def test_scores_are_the_analytic_scores_of_a_normal():
    x = normal_sample(50)
    scores = per_person_scores(normal_loglik(x), TABLE, ["mu", "sd"])
    np.testing.assert_allclose(scores[:, 0], (x - 1.0) / 4.0, rtol=1e-6)
    np.testing.assert_allclose(scores[:, 1], (x - 1.0) ** 2 / 8.0 - 0.5, rtol=1e-6, atol=1e-8)


def test_standard_errors_approach_the_fisher_information_bound():
    # Fisher information per person of N(mu, sd^2): 1/sd^2 for mu, 2/sd^2 for sd
    n = 40_000
    report = identification_report(normal_loglik(normal_sample(n, 1)), TABLE, ["mu", "sd"])
    assert report.loc["mu", "se at the truth"] == pytest.approx(2.0 / np.sqrt(n), rel=0.03)
    assert report.loc["sd", "se at the truth"] == pytest.approx(2.0 / np.sqrt(2 * n), rel=0.03)
    # people needed scale with (se / target)^2
    target = 0.2 * 1.0
    assert report.loc["mu", "people needed"] == int(np.ceil(n * (report.loc["mu", "se at the truth"] / target) ** 2))
    assert report["identified"].all() and report["precise enough"].all()


def test_a_parameter_the_likelihood_ignores_is_not_identified():
    report = identification_report(normal_loglik(normal_sample(200)), TABLE, ["mu", "unused"])
    assert not report.loc["unused", "identified"] and np.isnan(report.loc["unused", "se at the truth"])
    assert report.loc["mu", "identified"]


def test_bad_arguments():
    with pytest.raises(ParameterError, match="names"):
        identification_report(normal_loglik(normal_sample(10)), TABLE, [])
    with pytest.raises(ParameterError, match="relative_precision"):
        identification_report(normal_loglik(normal_sample(10)), TABLE, ["mu"], relative_precision=0.0)
