"""Response curve, equilibria, bifurcation and the female back-out (mig_lib.peer.model)."""

import numpy as np
import pytest
from scipy.stats import norm

from mig_lib.core import ParameterError
from mig_lib.peer import model
from mig_lib.peer.tables import TABLE2, TABLE3


def test_finds_all_three_fixed_points_of_a_curve_built_to_have_three():
    # Phi(a + s M) through (0.5, 0.5) with slope s phi(0) = 2 > 1: three crossings,
    # symmetric about 1/2 (Phi(-x) = 1 - Phi(x)).
    s = 2 * np.sqrt(2 * np.pi)
    curve = model.ResponseCurve(-s / 2, s)
    eqs = model.find_equilibria(curve, derivative=curve.derivative)
    assert len(eqs) == 3
    low, mid, high = (e.ratio for e in eqs)
    assert mid == pytest.approx(0.5, abs=1e-10)
    assert low + high == pytest.approx(1.0, abs=1e-10)
    for e in eqs:
        assert float(curve(e.ratio)) == pytest.approx(e.ratio, abs=1e-10)
    assert [e.stable for e in eqs] == [True, False, True]


def test_finds_three_fixed_points_of_a_non_probit_curve_with_numerical_slopes():
    # a cubic with roots 0.1, 0.4, 0.8 added to the diagonal
    curve = lambda m: np.asarray(m) + (np.asarray(m) - 0.1) * (np.asarray(m) - 0.4) * (np.asarray(m) - 0.8)
    eqs = model.find_equilibria(curve)
    assert [round(e.ratio, 10) for e in eqs] == [0.1, 0.4, 0.8]
    # slope of the curve is 1 + derivative of the cubic: > 1 at 0.1 and 0.8, < 1 at 0.4
    assert [e.stable for e in eqs] == [False, True, False]


def test_equilibrium_on_grid_node_is_not_lost():
    curve = lambda m: 0.5 + 0.5 * (np.asarray(m) - 0.5)  # fixed point exactly at the node 0.5
    eqs = model.find_equilibria(curve, n_grid=11)
    assert len(eqs) == 1 and eqs[0].ratio == pytest.approx(0.5)


def test_evaluation_index_reproduces_the_printed_married_marginal_effect():
    z = model.evaluation_index_from_marginal_effects()
    # independent check: the married dummy's discrete change at z is printed as -0.1196
    me = model.discrete_change(z, TABLE3.loc["married", "coef"], TABLE2.loc["married", "mean"])
    assert me == pytest.approx(TABLE3.loc["married", "me"], abs=2e-4)


def test_female_coefficient_reproduces_its_marginal_effect():
    z = model.evaluation_index_from_marginal_effects()
    b = model.female_coefficient()
    assert b < 0
    assert model.discrete_change(z, b, TABLE2.loc["female", "mean"]) == pytest.approx(-0.0436, abs=1e-10)


def test_representative_index_is_linear_in_the_means():
    base = model.representative_curve()
    shifted = model.representative_curve({"married": TABLE2.loc["married", "mean"] + 0.1})
    assert shifted.index_at_zero - base.index_at_zero == pytest.approx(0.1 * TABLE3.loc["married", "coef"])
    # slope: J + sum lambda s-bar; setting every dummy to zero leaves J alone
    zero = {f"{c}_{lv}": 0.0 for c in ("info", "borrow", "help", "housing", "care")
            for lv in ("very_frequently", "often", "just_so_so", "sometimes")}
    assert model.representative_curve(zero).slope == pytest.approx(TABLE3.loc["peer", "coef"])


def test_figure1_equilibrium_close_to_paper_and_stable():
    curve = model.scenario_curve("figure1")
    eqs = model.find_equilibria(curve, derivative=curve.derivative)
    assert len(eqs) == 1 and eqs[0].stable
    assert eqs[0].ratio == pytest.approx(0.0845, abs=0.003)


def test_intercept_for_high_equilibrium_is_where_one_appears():
    for slope in (2.0, 4.0, 6.0):  # below and above the fold threshold sqrt(2 pi)
        base_index = -3.0
        a = model.intercept_for_high_equilibrium(slope, base_index, base_intercept=0.0)
        just_below = model.ResponseCurve(base_index + a - 1e-4, slope)
        just_above = model.ResponseCurve(base_index + a + 1e-4, slope)
        assert model.high_equilibrium(just_below) is None
        assert model.high_equilibrium(just_above) is not None


def test_reached_equilibrium_shows_hysteresis():
    s = 6.0
    curve = model.ResponseCurve(-3.0, s)  # three equilibria
    eqs = [e.ratio for e in model.find_equilibria(curve, derivative=curve.derivative)]
    assert len(eqs) == 3
    assert model.reached_equilibrium(curve, 0.0) == pytest.approx(eqs[0])
    assert model.reached_equilibrium(curve, 0.99) == pytest.approx(eqs[2])


def test_bifurcation_diagram_branches():
    diagram = model.bifurcation_diagram(6.0, np.linspace(-1.5, 1.5, 31), base_index=-3.0)
    counts = diagram.groupby("shift").size()
    assert set(counts.unique()) <= {1, 3}
    assert (counts == 3).any() and (counts == 1).any()
    assert (diagram.loc[~diagram.stable, "curve_slope"] > 1).all()


def test_bad_arguments_raise_named_errors():
    with pytest.raises(ParameterError, match="'scenario' = 'figure9'"):
        model.scenario_curve("figure9")
    with pytest.raises(ParameterError, match="unknown regressor 'shoe_size'"):
        model.representative_curve({"shoe_size": 1.0})
    with pytest.raises(ParameterError, match="'n_grid' = 2"):
        model.find_equilibria(lambda m: m * 0, n_grid=2)


@pytest.mark.parametrize("scenario", ["figure1", "figure3", "figure4"])
def test_slope_by_category_adds_up_to_the_curve_slope(scenario):
    point = model.scenario_point(scenario)
    parts = model.slope_by_category(point)
    assert parts.sum() == pytest.approx(model.scenario_curve(scenario).slope, rel=1e-12)
    # written out for one category from Table 3 and Table 2
    expected_info = sum(TABLE3.loc[f"peer_x_info_{lv}", "coef"] * point.get(f"info_{lv}", TABLE2.loc[f"info_{lv}", "mean"])
                        for lv in ("very_frequently", "often", "just_so_so", "sometimes"))
    assert parts["info"] == pytest.approx(expected_info, rel=1e-12)
    assert parts["peer"] == TABLE3.loc["peer", "coef"]


def test_social_multiplier_is_the_equilibrium_response_to_a_shift():
    curve = model.scenario_curve("figure4")
    m_star = model.low_equilibrium(curve)
    eps = 1e-6
    shifted = [e.ratio for e in model.find_equilibria(lambda m: curve(m) + eps)]
    dm = (min(shifted, key=lambda m: abs(m - m_star)) - m_star) / eps
    assert model.social_multiplier(curve, m_star) == pytest.approx(dm, rel=1e-4)
    with pytest.raises(ParameterError, match="'ratio' = 0.5"):
        model.social_multiplier(model.ResponseCurve(-3.0, 6.0), 0.5)  # unstable middle


def test_age_peak_is_where_the_index_stops_rising():
    peak = model.age_peak()
    beta = model.true_coefficients()
    slope_at = beta["age"] + 2 * beta["age_squared"] * peak
    assert slope_at == pytest.approx(0.0, abs=1e-12)
    assert 31.0 < peak < 31.5
