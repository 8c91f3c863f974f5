"""Household closed forms against a numerical optimiser, and Propositions 1-3 as properties."""

import math

import numpy as np

import pytest
from hypothesis import assume, given, settings, strategies as st
from scipy.optimize import minimize_scalar

from mig_lib.bht import household_choice, paper_parameters
from mig_lib.bht.household import fertility, place_rules, PLACES
from mig_lib.core import ParameterError

PARAMS = paper_parameters()


def brute_force_household(phi, income, unit_cost, fine, quota, beta, epsilon):
    """Maximise min(beta c, (1-beta) n b) + phi n^eps over (n, c) with b from the budget,
    by nested bounded scalar searches -- no use of the first-order conditions."""

    def best_given_n(n):
        disposable = income - n * unit_cost - fine * (n - quota)
        if disposable <= 0:
            return 1e6  # infeasible: no consumption left

        def value(c):
            b = (disposable - c) / n
            return min(beta * c, (1 - beta) * n * b) + phi * n ** epsilon

        # Golden-section search to machine precision: scipy's bounded search stops at a relative
        # tolerance of sqrt(machine eps) in c, and the value noise that leaves (~1e-9 at the kink)
        # is enough to move the flat outer optimum in n by 1e-4.
        low, high = 0.0, disposable
        ratio = (np.sqrt(5.0) - 1.0) / 2.0
        for _ in range(200):
            left, right = high - ratio * (high - low), low + ratio * (high - low)
            if value(left) < value(right):
                low = left
            else:
                high = right
        return -value(0.5 * (low + high))

    n_feasible = (income + fine * quota) / (unit_cost + fine)  # all income spent on children
    res = minimize_scalar(best_given_n, bounds=(1e-6, 0.999 * n_feasible), method="bounded", options={"xatol": 1e-12})
    return res.x, -res.fun


@settings(max_examples=15, deadline=None)
@given(phi=st.floats(0.05, 1.5), beta=st.floats(0.05, 0.45), epsilon=st.floats(0.05, 0.5),
       cost=st.floats(0.05, 0.5), fine=st.floats(0.0, 0.2), margin=st.floats(0.5, 3.0))
def test_closed_form_fertility_matches_numerical_optimiser(phi, beta, epsilon, cost, fine, margin):
    n_closed = float(fertility(phi, cost, fine, beta, epsilon))
    assume(0.05 < n_closed < 6.0)
    quota = 0.8
    income = n_closed * cost + fine * (n_closed - quota) + margin  # disposable income = margin
    n_num, v_num = brute_force_household(phi, income, cost, fine, quota, beta, epsilon)
    v_closed = beta * (1 - beta) * margin + phi * n_closed ** epsilon
    # the objective is flat at the optimum: n is found to ~1e-8 (the outer search's tolerance)
    assert n_num == pytest.approx(n_closed, rel=1e-6)
    assert v_num == pytest.approx(v_closed, abs=1e-7)
    assert v_num <= v_closed + 1e-12  # the closed form is never beaten


def test_household_choice_is_consistent_with_its_budget():
    choice = household_choice(PARAMS, "public", 2.0, True, tax_rate=0.2, benefit=0.9)
    cost, fine, quota = place_rules(PARAMS, "public", 2.0, True)
    beta = PARAMS["beta"]
    # Leontief: beta c = (1 - beta) n b, and c + n b + costs = net income
    assert beta * choice.consumption == pytest.approx((1 - beta) * choice.n * choice.bequest, rel=1e-12)
    spent = choice.consumption + choice.n * choice.bequest + choice.n * cost + fine * (choice.n - quota)
    assert spent == pytest.approx(2.0 * 0.8, rel=1e-12)


# ---- Proposition 1: n rises with phi, falls with beta (< 1/2) and cost, independent of income
@settings(max_examples=60, deadline=None)
@given(phi=st.floats(0.05, 2.0), beta=st.floats(0.05, 0.45), epsilon=st.floats(0.02, 0.9),
       cost=st.floats(0.01, 1.0), fine=st.floats(0.0, 0.5), step=st.floats(1.01, 1.5))
def test_proposition1_rural_fertility(phi, beta, epsilon, cost, fine, step):
    n = float(fertility(phi, cost, fine, beta, epsilon))
    assert float(fertility(phi * step, cost, fine, beta, epsilon)) > n
    assert float(fertility(phi, cost * step, fine, beta, epsilon)) < n
    assert float(fertility(phi, cost, fine + 0.01, beta, epsilon)) < n        # a fine discourages
    if fine > 1e-6:
        assert float(fertility(phi, cost, 0.0, beta, epsilon)) > n           # removing it encourages
    beta_up = min(0.4999, beta * step)
    if beta_up > beta:
        assert float(fertility(phi, cost, fine, beta_up, epsilon)) < n
    # a subsidy (negative fine) encourages fertility
    assert float(fertility(phi, cost, -0.5 * cost, beta, epsilon)) > float(fertility(phi, cost, 0.0, beta, epsilon))


@settings(max_examples=30, deadline=None)
@given(income=st.floats(0.5, 5.0), factor=st.floats(1.01, 3.0))
def test_proposition1_income_independence_at_fixed_costs(income, factor):
    # with child costs fixed in levels, income does not move fertility; in the calibrated model
    # costs are proportional to income, so only the cost channel changes n
    assert float(fertility(0.5, 0.2, 0.05, 0.21, 0.1)) == float(fertility(0.5, 0.2, 0.05, 0.21, 0.1))
    low = household_choice(PARAMS, "rural_L", income, True)
    high = household_choice(PARAMS, "rural_L", income * factor, True)
    assert high.n < low.n  # costs scale with income


# ---- Proposition 2: bequests rise with income, fall with the number of children
@settings(max_examples=40, deadline=None)
@given(income=st.floats(0.8, 5.0), factor=st.floats(1.05, 2.0))
def test_proposition2_quality_choice(income, factor):
    beta, eps = PARAMS["beta"], PARAMS["epsilon"]
    cost, fine, quota = 0.2, 0.05, 0.8

    def bequest(phi, x):
        n = float(fertility(phi, cost, fine, beta, eps))
        return beta * (x - n * cost - fine * (n - quota)) / n, n

    b_low, n_low = bequest(0.5, income)
    b_rich, _ = bequest(0.5, income * factor)
    b_more_kids, n_more = bequest(0.5 * factor, income)
    assert b_rich > b_low                          # quality rises with income
    assert n_more > n_low and b_more_kids < b_low  # quantity-quality trade-off


# ---- Proposition 3: n_F <= n_I < n_R under its assumptions (urban costs above rural, urban fines >= rural)
@settings(max_examples=60, deadline=None)
@given(phi=st.floats(0.2, 2.0), rural_cost=st.floats(0.05, 0.5), extra_cost=st.floats(1e-3, 0.5),
       rural_fine=st.floats(0.0, 0.3), extra_fine=st.floats(0.0, 0.3))
def test_proposition3_fertility_ranking(phi, rural_cost, extra_cost, rural_fine, extra_fine):
    beta, eps = PARAMS["beta"], PARAMS["epsilon"]
    urban_cost, urban_fine = rural_cost + extra_cost, rural_fine + extra_fine
    n_R = float(fertility(phi, rural_cost, rural_fine, beta, eps))
    n_I = float(fertility(phi, urban_cost, rural_fine, beta, eps))   # informal: urban costs, rural fine
    n_F = float(fertility(phi, urban_cost, urban_fine, beta, eps))   # formal: urban costs and fine
    assert n_F <= n_I < n_R


def test_fertility_is_capped_at_the_biological_limit():
    assert float(fertility(50.0, 0.01, 0.0, 0.21, 0.1, n_max=2.75)) == 2.75


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ParameterError, match="argument 'place' = 'moon'"):
        household_choice(PARAMS, "moon", 1.0, True)
    with pytest.raises(ParameterError, match="argument 'wage' = -1.0"):
        household_choice(PARAMS, "public", -1.0, True)
    with pytest.raises(ParameterError, match="marginal cost"):
        fertility(0.5, 0.0, 0.0, 0.21, 0.1)
    assert set(PLACES) >= {"rural_H", "rural_L", "public"}


def test_low_preference_adults_pay_no_fine():
    _, fine, _ = place_rules(PARAMS, "rural_H", 1.0, False)
    assert fine == 0.0
    _, fine_high, _ = place_rules(PARAMS, "rural_H", 1.0, True)
    assert fine_high == pytest.approx((PARAMS["k_R"] + PARAMS["k_H"]) / 36.0)
    assert math.isfinite(household_choice(PARAMS, "rural_H", 1.0, False).utility)
