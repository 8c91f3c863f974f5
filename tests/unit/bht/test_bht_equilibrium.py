"""Equilibrium: residuals, corners, an independent 2-D solve, accounting identities, Theorem 2."""

import numpy as np
import pytest
from scipy.optimize import root

from mig_lib.bht import (EquilibriumError, allocate, calibrate, equilibrium_residuals, migration_gains,
                         net_gains, run_experiment, solve_equilibrium, theorem2_decomposition)
from mig_lib.bht.equilibrium import _complementarity_root, ces_output_and_wages
from mig_lib.bht.experiments import experiment_parameters
from mig_lib.core import ParameterError


@pytest.fixture(scope="module")
def calibration():
    return calibrate()


INTERIOR = ["benchmark", "uniform_population_constraint", "land_tenure_15y"]


@pytest.mark.parametrize("name", INTERIOR + ["no_population_control", "immediate_land_loss",
                                             "no_urban_residency", "no_urban_benefits", "full_urban_benefits"])
def test_residuals_vanish_at_every_solution(calibration, name):
    params = experiment_parameters(calibration, name)
    alloc = solve_equilibrium(params, calibration.stocks)
    residuals = equilibrium_residuals(params, calibration.stocks, alloc)
    assert max(abs(r) for r in residuals.values()) < 1e-10
    gains = net_gains(params, calibration.stocks, alloc.chi_H, alloc.chi_L)
    if 0 < alloc.chi_L < 1:
        assert abs(gains["L_low"]) < 1e-10
    if 0 < alloc.chi_H < 1:
        assert abs(gains["H_high"]) < 1e-10


@pytest.mark.parametrize("name", INTERIOR)
def test_nested_solver_agrees_with_an_independent_two_dimensional_root(calibration, name):
    params = experiment_parameters(calibration, name)
    nested = solve_equilibrium(params, calibration.stocks)

    def system(chi):
        g = net_gains(params, calibration.stocks, float(chi[0]), float(chi[1]))
        return [g["H_high"], g["L_low"]]

    sol = root(system, x0=[0.05, 0.3], method="hybr", tol=1e-13)
    # hybr may stop with "no progress" once at machine precision: judge by the residual
    assert max(abs(f) for f in sol.fun) < 1e-12
    assert sol.x == pytest.approx([nested.chi_H, nested.chi_L], abs=1e-9)


def test_benchmark_reproduces_the_calibrated_fractions(calibration):
    alloc = solve_equilibrium(calibration.params, calibration.stocks)
    assert alloc.chi_H == pytest.approx(calibration.benchmark.chi_H, abs=1e-10)
    assert alloc.chi_L == pytest.approx(calibration.benchmark.chi_L, abs=1e-10)


def test_corners_satisfy_complementarity_signs(calibration):
    result = run_experiment(calibration, "no_urban_residency")
    assert result.allocation.chi_H == 0.0 and result.allocation.chi_L == 0.0
    assert result.net_gains["H_high"] < 0 and result.net_gains["L_low"] < 0
    full = run_experiment(calibration, "full_urban_benefits")
    assert full.allocation.chi_H == 1.0 and full.net_gains["H_high"] > 0


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
