"""The seven policy experiments of Section 4.3 as parameter transforms, and their results
(Tables 4-6).

Each experiment changes parameters of the calibrated model; the beginning-of-period stocks stay
at their data values (the paper compares one period's migration and fertility responses; the
balanced-growth equations (30)-(36) do not enter the tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.bht.calibrate import Calibration
from mig_lib.bht.equilibrium import Allocation, allocate, migration_gains, solve_equilibrium
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

#: The migration pattern the paper reports for full urban benefits (a pure fertility-based SME).
PAPER_PATTERN_FULL_BENEFITS = {"chi_H": 0.0, "chi_L": 1.0}


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
    gains = migration_gains(params, alloc)
    net = {k: v - (params["Gamma_H"] if k.startswith("H") else params["Gamma_L"]) for k, v in gains.items()}
    return ExperimentResult(name=name, label=label, params=params, allocation=alloc,
                            table4=table4_columns(stocks, alloc),
                            table5=table5_columns(params, stocks, alloc),
                            table6=table6_columns(stocks, alloc), net_gains=net)


def run_experiment(calibration: Calibration, name: str) -> ExperimentResult:
    """Solve the equilibrium of one named experiment."""
    params = experiment_parameters(calibration, name)
    alloc = solve_equilibrium(params, calibration.stocks)
    return evaluate(calibration, name, EXPERIMENTS[name][0], params, alloc)


def full_benefits_paper_pattern(calibration: Calibration) -> ExperimentResult:
    """Full urban benefits with the paper's reported migration pattern (chi_H=0, chi_L=1) imposed."""
    params = experiment_parameters(calibration, "full_urban_benefits")
    alloc = allocate(params, calibration.stocks, **PAPER_PATTERN_FULL_BENEFITS)
    return evaluate(calibration, "full_urban_benefits_paper_pattern",
                    "Full urban benefits (paper's pattern imposed)", params, alloc)


def run_all(calibration: Calibration) -> dict[str, ExperimentResult]:
    """Every experiment of Tables 4-6, plus the full-benefits row with the paper's pattern."""
    results = {name: run_experiment(calibration, name) for name in EXPERIMENTS}
    results["full_urban_benefits_paper_pattern"] = full_benefits_paper_pattern(calibration)
    return results


def percent_changes(result: ExperimentResult, benchmark: ExperimentResult) -> dict[str, dict[str, float]]:
    """Percentage changes relative to the benchmark, as in the paper's '(% change)' rows."""
    out = {}
    for table, cols in result.columns().items():
        base = benchmark.columns()[table]
        out[table] = {k: 100.0 * (v / base[k] - 1.0) for k, v in cols.items()
                      if k not in ("chi_H", "chi_L") and base[k] != 0.0}
    return out


def comparative_statics(calibration: Calibration, name: str, values, tied: tuple[str, ...] = ()) -> "pd.DataFrame":
    """Solve the equilibrium for every value of one parameter, other parameters calibrated.

    One row per value: the migration fractions, the regime, Tables 4-6 columns and the net gains
    (gain - Gamma) of the two types whose behaviour the mixed equilibrium assumes (high-skilled
    low-preference should move: >= 0; low-skilled high-preference should stay: <= 0). Values at
    which the solver cannot certify a unique equilibrium get the regime 'not unique' and NaNs.
    Parameters named in ``tied`` move together with ``name`` (e.g. ``mu`` and ``mu_tax``).
    """
    import pandas as pd

    from mig_lib.bht.equilibrium import EquilibriumError, regime

    calibration.params.row(name)  # unknown names raise ParameterError
    rows = []
    for value in values:
        params = calibration.params.with_values({n: float(value) for n in (name, *tied)})
        try:
            alloc = solve_equilibrium(params, calibration.stocks)
        except EquilibriumError:
            rows.append({name: float(value), "regime": "not unique"})
            continue
        result = evaluate(calibration, "statics", "", params, alloc)
        rows.append({name: float(value), "regime": regime(alloc.chi_H, alloc.chi_L), **result.table4,
                     **result.table5, **result.table6,
                     "net_gain_H_low": result.net_gains["H_low"], "net_gain_L_high": result.net_gains["L_high"]})
    return pd.DataFrame(rows)
