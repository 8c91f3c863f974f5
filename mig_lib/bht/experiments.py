"""The seven policy experiments of Section 4.3 as parameter transforms, and their results
(Tables 4-6).

Each experiment changes parameters of the calibrated model; the beginning-of-period stocks stay
at their data values (the paper compares one period's migration and fertility responses; the
balanced-growth equations (30)-(36) do not enter the tables).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.bht.calibrate import Calibration
from mig_lib.bht.equilibrium import (Allocation, EquilibriumError, allocate, largest_violation, net_gains_at, regime,
                                     solve_equilibrium, solve_paper_pattern, type_conditions)
from mig_lib.bht.model import FINE_RATES
from mig_lib.bht.outcomes import table4_columns, table5_columns, table6_columns


def _uniform_population_constraint(p: ParameterTable) -> ParameterTable:
    return p.with_values(n_bar_U=0.8)  # n_bar_R is already 0.8


def _no_population_control(p: ParameterTable) -> ParameterTable:
    return p.with_values({name: 0.0 for name in FINE_RATES})  # biological cap n_max remains


#: name -> (label as in the paper, transform of the calibrated parameters)
EXPERIMENTS: dict[str, tuple[str, Callable[[ParameterTable], ParameterTable]]] = {
    "benchmark": ("Benchmark economy", lambda p: p),
    "uniform_population_constraint": ("Uniform population constraint", _uniform_population_constraint),
    "no_population_control": ("No population control", _no_population_control),
    "no_urban_residency": ("No urban residency", lambda p: p.with_values(theta=0.0)),
    "no_urban_benefits": ("No urban benefits", lambda p: p.with_values(mu=0.0)),
    "full_urban_benefits": ("Full urban benefits", lambda p: p.with_values(mu=1.0)),
    "immediate_land_loss": ("Immediate loss of land entitlement", lambda p: p.with_values(delta=0.0)),
    "land_tenure_15y": ("15 years of guaranteed land tenure", lambda p: p.with_values(delta=15.0 / 36.0)),
}

#: Rows whose printed allocation is not what the paper's own pattern solves to: the pattern the
#: paper reports is imposed (full urban benefits: a pure fertility-based SME; solving the
#: paper's pattern there gives chi_H = chi_L = 1 instead).
PRINTED_PATTERNS = {"full_urban_benefits": {"chi_H": 0.0, "chi_L": 1.0}}


@dataclass(frozen=True)
class ExperimentResult:
    name: str
    label: str
    params: ParameterTable
    allocation: Allocation
    table4: dict[str, float]
    table5: dict[str, float]
    table6: dict[str, float]
    net_gains: dict[str, float]   # gain - Gamma of the four rural types at the allocation
    conditions: dict[str, dict[str, float]]  # every type's share, net gain, requirement, violation

    @property
    def violation(self) -> float:
        """Largest violation of any type's equilibrium condition (0 when all hold)."""
        return max(c["violation"] for c in self.conditions.values())

    @property
    def regime(self) -> str:
        return regime(self.params, self.allocation)

    def columns(self) -> dict[str, dict[str, float]]:
        return {"table4": self.table4, "table5": self.table5, "table6": self.table6}


def experiment_parameters(calibration: Calibration, name: str) -> ParameterTable:
    """The calibrated parameters transformed by experiment ``name``."""
    if name not in EXPERIMENTS:
        raise ParameterError(f"argument 'name' = {name!r} is not allowed: expected one of "
                             + ", ".join(EXPERIMENTS))
    return EXPERIMENTS[name][1](calibration.params)


def evaluate(calibration: Calibration, name: str, label: str, params: ParameterTable,
             alloc: Allocation) -> ExperimentResult:
    """Table 4-6 columns and the net gains of every type at a given allocation."""
    stocks = calibration.stocks
    return ExperimentResult(name=name, label=label, params=params, allocation=alloc,
                            table4=table4_columns(stocks, alloc),
                            table5=table5_columns(params, stocks, alloc),
                            table6=table6_columns(stocks, alloc), net_gains=net_gains_at(params, alloc),
                            conditions=type_conditions(params, alloc))


def run_experiment(calibration: Calibration, name: str, params: ParameterTable | None = None) -> ExperimentResult:
    """The paper's allocation of one named experiment (what its printed row reports).

    The paper's pattern is solved (:func:`solve_paper_pattern`), or, for the rows in
    :data:`PRINTED_PATTERNS`, the printed pattern imposed. The result carries every type's
    condition: a positive ``violation`` means the allocation is not an equilibrium of the model.
    ``params`` replaces the experiment's parameters (e.g. with the kinked fine switched on).
    """
    params = experiment_parameters(calibration, name) if params is None else params
    if name in PRINTED_PATTERNS:
        alloc = allocate(params, calibration.stocks, **PRINTED_PATTERNS[name])
    else:
        alloc = solve_paper_pattern(params, calibration.stocks)
    return evaluate(calibration, name, EXPERIMENTS[name][0], params, alloc)


def run_equilibrium(calibration: Calibration, name: str, params: ParameterTable | None = None) -> ExperimentResult:
    """The model's four-type equilibrium of one named experiment (:func:`solve_equilibrium`)."""
    params = experiment_parameters(calibration, name) if params is None else params
    alloc = solve_equilibrium(params, calibration.stocks)
    return evaluate(calibration, name, EXPERIMENTS[name][0], params, alloc)


def run_all(calibration: Calibration, four_type: bool = False,
            transform: Callable[[ParameterTable], ParameterTable] | None = None) -> dict[str, ExperimentResult]:
    """Every experiment of Tables 4-6: the paper's allocations, or with ``four_type`` the model's
    four-type equilibria. ``transform`` is applied to every experiment's parameters."""
    run = run_equilibrium if four_type else run_experiment
    out = {}
    for name in EXPERIMENTS:
        params = experiment_parameters(calibration, name)
        out[name] = run(calibration, name, transform(params) if transform else params)
    return out


def experiment_records(results: Mapping[str, ExperimentResult]) -> dict[str, float | str]:
    """Tables 4-6 of every experiment under the keys the chapter records them by,
    ``<table>/<experiment>/<column>``. An infinite value (S+/H+ once no high-skilled farmer is left)
    becomes the string "inf": JSON, where records are written, has no infinity."""
    return {f"{table}/{name}/{column}": value if math.isfinite(value) else str(value)
            for name, result in results.items() for table, columns in result.columns().items()
            for column, value in columns.items()}


def percent_changes(result: ExperimentResult, benchmark: ExperimentResult) -> dict[str, dict[str, float]]:
    """Percentage changes relative to the benchmark, as in the paper's '(% change)' rows."""
    out = {}
    for table, cols in result.columns().items():
        base = benchmark.columns()[table]
        out[table] = {k: 100.0 * (v / base[k] - 1.0) for k, v in cols.items()
                      if k not in ("chi_H", "chi_L") and base[k] != 0.0}
    return out


def comparative_statics(calibration: Calibration, name: str, values, tied: tuple[str, ...] = ()) -> "pd.DataFrame":
    """Solve the four-type equilibrium for every value of one parameter, others calibrated.

    One row per value: the moving share of each type, the regime (checked on all four types),
    Tables 4-6 columns, and the largest violation of any type's condition at the paper's
    pattern solved at that value (``paper_pattern_violation``). Values at which the solver
    cannot certify an equilibrium get the regime 'no certified equilibrium' and NaNs.
    Parameters named in ``tied`` move together with ``name`` (e.g. ``mu`` and ``mu_tax``).
    """
    import pandas as pd

    calibration.params.row(name)  # unknown names raise ParameterError
    rows = []
    for value in values:
        params = calibration.params.with_values({n: float(value) for n in (name, *tied)})
        try:
            paper = solve_paper_pattern(params, calibration.stocks)
            paper_violation = largest_violation(params, paper)[0]
        except EquilibriumError:
            paper_violation = float("nan")
        try:
            alloc = solve_equilibrium(params, calibration.stocks)
        except EquilibriumError:
            rows.append({name: float(value), "regime": "no certified equilibrium",
                         "paper_pattern_violation": paper_violation})
            continue
        result = evaluate(calibration, "statics", "", params, alloc)
        rows.append({name: float(value), "regime": result.regime,
                     **{f"share_{k}": v for k, v in alloc.moving_shares().items()},
                     **result.table4, **result.table5, **result.table6,
                     "paper_pattern_violation": paper_violation})
    return pd.DataFrame(rows)
