"""The paper's kinked fine against eqs. (10)/(12)/(18), and legal values that must give a result
or one clear error (rho = 0, lam = 0 or 1, a binding n_max, presets with mu changed)."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from mig_lib.bht import (allocate, calibrate, household_choice, largest_violation, paper_parameters, run_all,
                         solve_equilibrium, solve_paper_pattern)
from mig_lib.bht.equilibrium import ces_output_and_wages
from mig_lib.bht.household import place_rules
from mig_lib.core import ParameterError

KINKED = paper_parameters().with_values(kinked_fine=1.0)


def paper_objective(n, phi, income, unit_cost, fine, quota, beta, epsilon):
    """Eq. (9) with the budget (10)/(12): Leontief bracket beta(1-beta) x disposable income, the
    fine sigma max{n - quota, 0} (written from the equations, not from the library)."""
    disposable = income - n * unit_cost - max(n - quota, 0.0) * fine
    return beta * (1 - beta) * disposable + phi * n ** epsilon


def brute_force_n(phi, income, unit_cost, fine, quota, beta, epsilon):
    """Maximise the paper's objective on each side of the kink and at the kink."""
    candidates = [quota]
    for lo, hi in ((1e-9, quota), (quota, 20.0)):
        res = minimize_scalar(lambda n: -paper_objective(n, phi, income, unit_cost, fine, quota, beta, epsilon),
                              bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
        candidates.append(res.x)
    return max(candidates, key=lambda n: paper_objective(n, phi, income, unit_cost, fine, quota, beta, epsilon))


@pytest.mark.parametrize("place", ["rural_H", "rural_L", "public", "private_H_formal", "private_H_informal"])
@pytest.mark.parametrize("phi_high", [0.25, 0.5346, 1.2])
@pytest.mark.parametrize("high", [True, False])
def test_kinked_fine_matches_the_papers_budget(place, phi_high, high):
    params = KINKED.with_values(phi_high=phi_high, phi_low=0.5)
    p = params.values
    wage = 1.7
    unit_cost, fine, quota = place_rules(params, place, wage, high)
    assert fine > 0  # the kinked fine applies to both preference types
    phi = phi_high if high else 0.5
    expected = brute_force_n(phi, wage, unit_cost, fine, quota, p["beta"], p["epsilon"])
    choice = household_choice(params, place, wage, high)
    assert choice.n == pytest.approx(expected, abs=2e-6)
    assert choice.utility == pytest.approx(
        paper_objective(expected, phi, wage, unit_cost, fine, quota, p["beta"], p["epsilon"]), abs=1e-9)
    if choice.n > quota + 1e-9:  # above the quota: eq. (18) with the fine
        assert choice.n == pytest.approx((p["epsilon"] * phi / (p["beta"] * (1 - p["beta"]) * (unit_cost + fine)))
                                         ** (1 / (1 - p["epsilon"])), rel=1e-12)


def test_kinked_fine_depends_on_n_not_on_the_preference_type():
    # a low-preference public worker with phi_low = 0.5 wants more children than the urban quota
    linear = paper_parameters().with_values(phi_low=0.5)
    kinked = linear.with_values(kinked_fine=1.0)
    free = household_choice(linear, "public", 2.0, False)
    assert free.n > linear["n_bar_U"]                       # linear rule: above the quota, no fine
    fined = household_choice(kinked, "public", 2.0, False)
    assert fined.n < free.n                                  # kinked rule: the fine applies
    # and a high-preference adult whose unfined optimum is below the quota pays nothing
    cheap = kinked.with_values(phi_high=0.05)
    n_unfined = household_choice(cheap.with_values(k_R=0.0, k_H=0.0), "rural_H", 1.0, True).n
    assert n_unfined < cheap["n_bar_R"]
    assert household_choice(cheap, "rural_H", 1.0, True).n == pytest.approx(n_unfined, rel=1e-14)


def test_linear_fine_subsidises_below_the_quota():
    cal = calibrate()
    choice = household_choice(cal.params, "rural_H", cal.benchmark.x, True)
    assert choice.n < cal.params["n_bar_R"]  # Condition 3 fails at the calibration
    kinked = household_choice(cal.params.with_values(kinked_fine=1.0), "rural_H", cal.benchmark.x, True)
    assert kinked.n >= cal.params["n_bar_R"] - 1e-12


def test_fine_rule_must_be_zero_or_one():
    with pytest.raises(ParameterError, match="'kinked_fine' = 0.5"):
        household_choice(paper_parameters().with_values(kinked_fine=0.5), "public", 2.0, True)


# --- section 5: legal values ------------------------------------------------------------------

def test_rho_zero_is_the_cobb_douglas_limit_in_the_solver_and_a_clear_error_in_calibrate():
    near = ces_output_and_wages(3.0, 1.3, 0.5, 1e-9, 0.4, 0.9)
    exact = ces_output_and_wages(3.0, 1.3, 0.5, 0.0, 0.4, 0.9)
    assert exact == pytest.approx(near, rel=1e-7)
    cal = calibrate()
    params = cal.params.with_values(rho=0.0)
    alloc = solve_paper_pattern(params, cal.stocks)
    assert np.isfinite(alloc.w_PH) and 0 <= alloc.chi_H <= 1
    with pytest.raises(ParameterError, match="'rho' = 0.0"):
        calibrate(presets=paper_parameters().with_values(rho=0.0))


@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_lam_at_its_bounds(lam):
    with pytest.raises(ParameterError, match=f"'lam' = {lam}"):
        calibrate(presets=paper_parameters().with_values(lam=lam))
    cal = calibrate()
    params = cal.params.with_values(lam=lam)
    with pytest.raises(ParameterError, match="'lam'"):
        solve_paper_pattern(params, cal.stocks)
    eq = solve_equilibrium(params, cal.stocks)  # the four-type solver has the limit case
    assert largest_violation(params, eq)[0] < 1e-10


def test_binding_biological_limit_is_named():
    with pytest.raises(ParameterError, match="n_max = 0.5"):
        calibrate(presets=paper_parameters().with_values(n_max=0.5))


def test_presets_with_mu_changed_alone_are_refused():
    with pytest.raises(ParameterError, match="'mu' = 0.3 and 'mu_tax' = 0.4514"):
        calibrate(presets=paper_parameters().with_values(mu=0.3))
    cal = calibrate(presets=paper_parameters().with_values(mu=0.3, mu_tax=0.3))
    assert cal.params["mu_tax"] == cal.params["mu"] == 0.3


def test_kinked_fine_cannot_be_calibrated_to_the_rural_high_skilled_target():
    with pytest.raises(ParameterError, match="rural_H fertility target 0.6929.*kinked fine"):
        calibrate(presets=paper_parameters().with_values(kinked_fine=1.0))
