"""Equilibrium: residuals, corners, an independent 2-D solve, accounting identities, Theorem 2."""

import numpy as np
import pytest
from scipy.optimize import root

from mig_lib.bht import (TYPES, EquilibriumError, allocate, calibrate, equilibrium_residuals, largest_violation,
                         migration_gains, net_gains, net_gains_at, regime, run_equilibrium, run_experiment,
                         solve_equilibrium, solve_paper_pattern, theorem2_decomposition, type_conditions)
from mig_lib.bht.equilibrium import _complementarity_root, ces_output_and_wages
from mig_lib.bht.experiments import experiment_parameters
from mig_lib.core import ParameterError


@pytest.fixture(scope="module")
def calibration():
    return calibrate()


INTERIOR = ["benchmark", "uniform_population_constraint", "land_tenure_15y"]


ALL = INTERIOR + ["no_population_control", "immediate_land_loss", "no_urban_residency", "no_urban_benefits",
                   "full_urban_benefits"]


@pytest.mark.parametrize("name", ALL)
def test_paper_pattern_solves_its_two_indifference_conditions(calibration, name):
    params = experiment_parameters(calibration, name)
    alloc = solve_paper_pattern(params, calibration.stocks)
    residuals = equilibrium_residuals(params, calibration.stocks, alloc)
    assert abs(residuals["H_high"]) < 1e-10 and abs(residuals["L_low"]) < 1e-10
    gains = net_gains(params, calibration.stocks, alloc.chi_H, alloc.chi_L)
    if 0 < alloc.chi_L < 1:
        assert abs(gains["L_low"]) < 1e-10
    if 0 < alloc.chi_H < 1:
        assert abs(gains["H_high"]) < 1e-10


@pytest.mark.parametrize("name", INTERIOR)
def test_nested_solver_agrees_with_an_independent_two_dimensional_root(calibration, name):
    params = experiment_parameters(calibration, name)
    nested = solve_paper_pattern(params, calibration.stocks)

    def system(chi):
        g = net_gains(params, calibration.stocks, float(chi[0]), float(chi[1]))
        return [g["H_high"], g["L_low"]]

    sol = root(system, x0=[0.05, 0.3], method="hybr", tol=1e-13)
    # hybr may stop with "no progress" once at machine precision: judge by the residual
    assert max(abs(f) for f in sol.fun) < 1e-12
    assert sol.x == pytest.approx([nested.chi_H, nested.chi_L], abs=1e-9)


def test_benchmark_reproduces_the_calibrated_fractions(calibration):
    alloc = solve_paper_pattern(calibration.params, calibration.stocks)
    assert alloc.chi_H == pytest.approx(calibration.benchmark.chi_H, abs=1e-10)
    assert alloc.chi_L == pytest.approx(calibration.benchmark.chi_L, abs=1e-10)


def test_corners_satisfy_complementarity_signs(calibration):
    result = run_experiment(calibration, "no_urban_residency")
    assert result.allocation.chi_H == 0.0 and result.allocation.chi_L == 0.0
    assert result.net_gains["H_high"] < 0 and result.net_gains["L_low"] < 0
    full = solve_paper_pattern(experiment_parameters(calibration, "full_urban_benefits"), calibration.stocks)
    assert full.chi_H == 1.0 and full.chi_L == 1.0


@pytest.mark.parametrize("chi", [(0.0, 0.0), (0.3, 0.7), (1.0, 1.0)])
def test_accounting_identities(calibration, chi):
    s = calibration.stocks
    a = allocate(calibration.params, s, *chi)
    assert a.U_plus + a.R_plus == pytest.approx(s.U + s.R, rel=1e-14)       # people are conserved
    assert a.Y_P == pytest.approx(a.w_PH * a.PH_plus + a.w_PL * a.PL_plus, rel=1e-12)  # CRS: Euler
    assert a.B == pytest.approx(calibration.params["B0"] * a.G, rel=1e-14)


def test_ces_skill_premium_formula():
    _, w_PH, w_PL = ces_output_and_wages(2.0, 1.3, 0.4, 0.7, 0.5, 0.9)
    assert w_PH / w_PL == pytest.approx(0.4 / 0.6 * 1.3 ** 0.7 * (0.5 / 0.9) ** (0.7 - 1), rel=1e-13)


@pytest.mark.parametrize("skill", ["H", "L"])
@pytest.mark.parametrize("high", [True, False])
def test_theorem2_decomposition_adds_up(calibration, skill, high):
    parts = theorem2_decomposition(calibration.params, calibration.benchmark, skill, high)
    gains = migration_gains(calibration.params, calibration.benchmark)
    assert parts["quality_gain"] + parts["fertility_loss"] == pytest.approx(
        gains[f"{skill}_{'high' if high else 'low'}"], abs=1e-13)
    assert parts["quality_gain"] > 0
    if high:  # high-preference adults lose fertility utility by moving
        assert parts["fertility_loss"] < 0


def test_solver_refuses_an_increasing_gain():
    with pytest.raises(EquilibriumError, match="not unique"):
        _complementarity_root(lambda c: (c - 0.3) * (c - 0.8), "test", 1e-14)
    with pytest.raises(EquilibriumError, match="expected one equilibrium"):
        _complementarity_root(lambda c: c - 0.5, "test", 1e-14)  # both corners are equilibria
    assert _complementarity_root(lambda c: 0.4 - c, "test", 1e-15) == pytest.approx(0.4, abs=1e-14)


def test_allocate_rejects_fractions_outside_the_unit_interval(calibration):
    with pytest.raises(ParameterError, match="argument 'chi_L' = 1.5"):
        allocate(calibration.params, calibration.stocks, 0.1, 1.5)


def test_more_movers_lower_the_gain_of_the_indifferent_types(calibration):
    # the monotonicity that makes the nested complementarity solve well posed
    grid = np.linspace(0, 1, 6)
    for chi_H in (0.0, 0.5, 1.0):
        g = [net_gains(calibration.params, calibration.stocks, chi_H, c)["L_low"] for c in grid]
        assert np.all(np.diff(g) < 0)


# --- all four types' conditions -------------------------------------------------------------

def _hand_built(calibration, shares):
    """An allocation with the four moving shares given, at the calibrated parameters."""
    return allocate(calibration.params, calibration.stocks, shares["H_high"], shares["L_low"],
                    share_H_low=shares["H_low"], share_L_high=shares["L_high"])


def _gains_by_hand(params, alloc):
    """Net gains from the value functions directly (no use of net_gains_at)."""
    gains = migration_gains(params, alloc)
    return {k: v - params[f"Gamma_{k[0]}"] for k, v in gains.items()}


@pytest.mark.parametrize("violator, shares", [
    # everybody stays: every type would gain from moving at this allocation, H_high above all
    ("H_high", {"H_high": 0.0, "H_low": 0.0, "L_high": 0.0, "L_low": 0.0}),
    # the benchmark totals with H_low forced to move: it loses (-0.0009), a mover who loses
    ("H_low", None),
    # low-skilled high-preference all move: they lose at this crowded allocation
    ("L_high", {"H_high": 0.0, "H_low": 1.0, "L_high": 1.0, "L_low": 0.0}),
    # low-skilled low-preference half move while not indifferent
    ("L_low", {"H_high": 0.0, "H_low": 1.0, "L_high": 0.0, "L_low": 0.5}),
])
def test_each_types_condition_is_checked(calibration, violator, shares):
    alloc = calibration.benchmark if shares is None else _hand_built(calibration, shares)
    conditions = type_conditions(calibration.params, alloc)
    gains = _gains_by_hand(calibration.params, alloc)
    share = alloc.moving_shares()[violator]
    g = gains[violator]
    expected = max(g, 0) if share == 0 else (max(-g, 0) if share == 1 else abs(g))
    assert expected > 1e-4, f"the hand-built allocation should violate {violator}'s condition"
    assert conditions[violator]["violation"] == pytest.approx(expected, abs=1e-14)
    assert largest_violation(calibration.params, alloc)[0] >= expected
    assert regime(calibration.params, alloc).startswith("not an equilibrium")


def test_benchmark_paper_allocation_is_not_an_equilibrium(calibration):
    violation, worst = largest_violation(calibration.params, calibration.benchmark)
    assert worst == "H_low" and violation == pytest.approx(0.0009, abs=5e-5)


@pytest.mark.parametrize("name", ALL)
def test_four_type_solver_certifies_every_row(calibration, name):
    result = run_equilibrium(calibration, name)
    shares = result.allocation.moving_shares()
    gains = _gains_by_hand(result.params, result.allocation)
    for key in TYPES:  # complementarity, checked from the value functions
        s, g = shares[key], gains[key]
        assert 0.0 <= s <= 1.0
        if s == 0.0:
            assert g <= 1e-10
        elif s == 1.0:
            assert g >= -1e-10
        else:
            assert abs(g) < 1e-10
    assert not regime(result.params, result.allocation).startswith("not an equilibrium")


def test_four_type_benchmark_keeps_the_totals_but_reverses_who_moves(calibration):
    # H_low lose at the paper's allocation, so the high-skilled movers are high-preference adults
    eq = solve_equilibrium(calibration.params, calibration.stocks)
    assert eq.movers_H == pytest.approx(calibration.benchmark.movers_H, rel=1e-9)
    assert eq.movers_L == pytest.approx(calibration.benchmark.movers_L, rel=1e-9)
    assert eq.share_H_low == 0.0 and 0 < eq.chi_H < 1


def test_four_type_solver_handles_one_preference_type(calibration):
    for lam in (0.0, 1.0):
        params = calibration.params.with_values(lam=lam)
        eq = solve_equilibrium(params, calibration.stocks)
        assert largest_violation(params, eq)[0] < 1e-10
        with pytest.raises(ParameterError, match="'lam'"):
            solve_paper_pattern(params, calibration.stocks)


# --- laws of motion ------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["paper", "four_type", "hand_built"])
def test_next_generation_counts_every_child_once(calibration, which):
    """Total next-period population = sum over every adult of its own fertility choice, at the
    paper's allocation, at the four-type equilibrium (H_low stay) and at all-interior shares."""
    from mig_lib.bht.dynamics import next_generation
    from mig_lib.bht.household import household_choice

    params, s = calibration.params, calibration.stocks
    a = {"paper": lambda: calibration.benchmark,
         "four_type": lambda: solve_equilibrium(params, s),
         "hand_built": lambda: allocate(params, s, 0.3, 0.4, share_H_low=0.6, share_L_high=0.1)}[which]()
    p, w = params.values, a.place_incomes()
    lam, pi, theta = p["lam"], p["pi_S"], p["theta"]
    n = lambda place, high: household_choice(params, place, w[place], high).n  # noqa: E731
    natives = sum(count * (lam * n(place, False) + (1 - lam) * n(place, True))
                  for count, place in ((s.S, "public"), (s.PH, "private_H_formal"), (s.PL, "private_L_formal")))
    total = natives
    for skill, stock in (("H", s.H), ("L", s.L)):
        for high, weight in ((True, 1 - lam), (False, lam)):
            share = a.moving_shares()[f"{skill}_{'high' if high else 'low'}"]
            adults = weight * stock
            total += adults * (1 - share) * n(f"rural_{skill}", high)
            movers = adults * share
            if skill == "H":
                total += movers * (pi * n("public", high) + (1 - pi) * theta * n("private_H_formal", high)
                                   + (1 - pi) * (1 - theta) * n("private_H_informal", high))
            else:
                total += movers * (theta * n("private_L_formal", high) + (1 - theta) * n("private_L_informal", high))
    new = next_generation(params, s, a)
    assert new.U + new.R == pytest.approx(total, rel=1e-13)


@pytest.mark.parametrize("which", ["paper", "four_type", "hand_built", "low_skilled_high_preference_all_move"])
def test_skill_growth_bounds_hold_for_the_laws_of_motion(calibration, which):
    """H'/H never exceeds the high-skilled ceiling and L'/L never falls below the low-skilled floor,
    for allocations with and without high-preference low-skilled movers."""
    from mig_lib.bht.dynamics import next_generation, skill_growth_bounds

    params, s = calibration.params, calibration.stocks
    a = {"paper": lambda: calibration.benchmark,
         "four_type": lambda: solve_equilibrium(params, s),
         "hand_built": lambda: allocate(params, s, 0.3, 0.4, share_H_low=0.6, share_L_high=0.1),
         "low_skilled_high_preference_all_move": lambda: allocate(params, s, 0.0, 1.0, share_H_low=0.0,
                                                                  share_L_high=1.0)}[which]()
    new = next_generation(params, s, a)
    bounds = skill_growth_bounds(params, a)
    assert new.H / s.H <= bounds["H_ceiling"] + 1e-12
    assert new.L / s.L >= bounds["L_floor"] - 1e-12
    if which == "low_skilled_high_preference_all_move":
        # every low-skilled adult moves, so L' comes from informal migrants only: the floor is tight
        # up to the low-preference informal migrants' children
        lam, theta = params["lam"], params["theta"]
        from mig_lib.bht.household import household_choice
        n_low = household_choice(params, "private_L_informal", a.place_incomes()["private_L_informal"], False).n
        assert new.L / s.L == pytest.approx(bounds["L_floor"] + lam * (1 - theta) * n_low, rel=1e-12)


def test_no_balanced_growth_with_high_skilled_adults_at_the_calibration(calibration):
    from mig_lib.bht.dynamics import informal_wage_ratio_for_balanced_growth, skill_growth_bounds
    from mig_lib.bht.household import household_choice

    params, bench = calibration.params, calibration.benchmark
    bounds = skill_growth_bounds(params, bench)
    assert bounds["H_ceiling"] < bounds["L_floor"]
    ratio = informal_wage_ratio_for_balanced_growth(params, bench)
    assert ratio < bench.place_incomes()["private_H_informal"] / bench.x
    # at that wage the informal high-preference migrants' fertility reaches the low-skilled floor
    n_at_ratio = household_choice(params, "private_H_informal", ratio * bench.x, True).n
    assert n_at_ratio == pytest.approx(bounds["L_floor"], rel=1e-9)
