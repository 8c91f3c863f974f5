"""Policy experiments with the (estimated) Kennan–Walker model for China.

Each scenario changes parameters of the table or the geography's mean incomes, re-solves the
dynamic programme and simulates the same people with the same random numbers (common random
numbers: differences between scenarios are then due to the policy, not to sampling noise).

Scenarios used in the chapter:

* ``baseline``;
* ``moving_subsidy``: a one-off payment of S (10,000 yuan) to anyone who moves between provinces.
  Utility is linear in income, so it lowers every moving-cost intercept by α0·S — the analogue of
  Kennan and Walker's $10,000 experiment;
* ``hukou_halved`` / ``hukou_removed``: the hukou friction γ_H at half or zero;
* ``no_home_premium``: the home premium α^H set to zero;
* ``income_rise``: mean income μ_j of one province raised by Δ (10,000 yuan): how the migration
  rate and the destination shares respond to an expected-income differential (KW's headline);
* ``talent_subsidy``: the draft's talent policy (sections 3.3 and 4.1.5): a yearly payment S
  (10,000 yuan) to the people of one education group (graduates, by default) who live in one
  province, for as long as they live there — local welfare raised by S for that group only,
  which is income but not wage. It is not a per-move payment: graduates who already live there
  receive it as well as newcomers, every year; other groups receive nothing;
* ``residence_subsidy``: the same payment to everyone who lives there, whatever their education
  (what the talent subsidy would be without targeting).

``run_scenarios`` reports the migration rate of each education group as well, the draft's
section 5.2 question whether groups face different frictions and respond differently to policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.kw.model import build_model, education_groups
from mig_lib.kw.simulate import simulate_panel
from mig_lib.kw.solve import solve


@dataclass(frozen=True)
class Scenario:
    """A counterfactual: parameter overrides and/or additions to provinces' mean incomes."""

    name: str
    description: str
    overrides: Mapping[str, float] = field(default_factory=dict)
    income_change: Mapping[str, float] = field(default_factory=dict)  # province code -> Δμ
    welfare_change: Mapping[str, float] = field(default_factory=dict)  # province code -> Δρ (local welfare)
    welfare_education: str | None = None   # the education group the welfare change is paid to; None: everyone


def standard_scenarios(params: ParameterTable, subsidy: float = 1.0, income_province: str | None = None,
                       income_rise: float = 1.0, talent_province: str | None = None,
                       talent_subsidy: float = 0.5, talent_education: str = "college") -> list[Scenario]:
    """The chapter's scenarios, built from the (true or estimated) parameter values.

    The talent subsidy goes to the ``talent_education`` group living in ``talent_province``; the
    residence subsidy pays the same to everyone living there.
    """
    alpha = params["alpha_income"]
    scenarios = [
        Scenario("baseline", "the model as estimated"),
        Scenario("moving_subsidy", f"one-off payment of {subsidy:g} × 10,000 yuan per interprovincial move",
                 {"gamma0_type1": params["gamma0_type1"] - alpha * subsidy,
                  "gamma0_type2": params["gamma0_type2"] - alpha * subsidy}),
        Scenario("hukou_halved", "hukou friction halved", {"gamma_hukou": 0.5 * params["gamma_hukou"]}),
        Scenario("hukou_removed", "hukou friction removed", {"gamma_hukou": 0.0}),
        Scenario("no_home_premium", "home premium removed", {"home_premium": 0.0}),
    ]
    if income_province is not None:
        scenarios.append(Scenario("income_rise", f"mean income of {income_province} raised by {income_rise:g} × 10,000 yuan",
                                  income_change={income_province: income_rise}))
    if talent_province is not None:
        groups = education_groups(params)
        if talent_education not in groups[1:]:
            raise ParameterError(f"argument 'talent_education' = {talent_education!r} is not allowed: expected an "
                                 f"education group of the parameter table other than the base, one of {groups[1:]}")
        label = talent_education.replace("_", " ")
        scenarios.append(Scenario("talent_subsidy", f"{talent_subsidy:g} × 10,000 yuan a year to {label} residents of "
                                  f"{talent_province}", welfare_change={talent_province: talent_subsidy},
                                  welfare_education=talent_education))
        scenarios.append(Scenario("residence_subsidy", f"{talent_subsidy:g} × 10,000 yuan a year to every resident of "
                                  f"{talent_province}", welfare_change={talent_province: talent_subsidy}))
    return scenarios


def migration_rate(simulated: pd.DataFrame, n_years: int | None = None) -> float:
    """Share of person-years followed by an interprovincial move, in the first ``n_years`` of life."""
    window = simulated if n_years is None else simulated[simulated["age"] < simulated["age"].min() + n_years]
    return float(window["moved"].mean())


def destination_shares(simulated: pd.DataFrame, codes, n_years: int | None = None) -> pd.Series:
    """Share of moves that go to each province (in the first ``n_years`` of life)."""
    window = simulated if n_years is None else simulated[simulated["age"] < simulated["age"].min() + n_years]
    moves = window.loc[window["moved"], "choice"].to_numpy()
    counts = np.bincount(moves, minlength=len(codes)).astype(float)
    return pd.Series(counts / max(counts.sum(), 1.0), index=list(codes), name="destination share")


def simulate_scenario(geography, params: ParameterTable, scenario: Scenario, n_people: int, seed: int,
                      ages=range(20, 60), n_nu: int = 3, homes=None, n_xi: int = 1) -> pd.DataFrame:
    """Re-solve the model under a scenario and simulate ``n_people`` lives (fixed seed)."""
    table = params.with_values(dict(scenario.overrides))
    geo = geography
    unknown = [c for c in [*scenario.income_change, *scenario.welfare_change] if c not in geography.codes]
    if unknown:
        raise ParameterError(f"scenario {scenario.name!r}: province code(s) {unknown} are not in the "
                             f"geography {list(geography.codes)}")
    if scenario.income_change:
        income = geography.mean_income.copy()
        for code, change in scenario.income_change.items():
            income[geography.index(code)] += change
        geo = replace(geo, mean_income=income)
    groups = education_groups(table)
    group_welfare = None
    if scenario.welfare_change and scenario.welfare_education is not None:
        if scenario.welfare_education not in groups:
            raise ParameterError(f"scenario {scenario.name!r}: education group {scenario.welfare_education!r} is not "
                                 f"one of the parameter table's groups {groups}")
        group_welfare = np.zeros((len(groups), geography.n))
        for code, change in scenario.welfare_change.items():
            group_welfare[groups.index(scenario.welfare_education), geography.index(code)] += change
    elif scenario.welfare_change:
        welfare = np.zeros(geography.n) if geography.local_welfare is None else geography.local_welfare.copy()
        for code, change in scenario.welfare_change.items():
            welfare[geography.index(code)] += change
        geo = replace(geo, local_welfare=welfare)
    solution = solve(build_model(geo, params=table, ages=ages, n_nu=n_nu, n_xi=n_xi, group_welfare=group_welfare))
    return simulate_panel(solution, n_people, seed=seed, homes=homes)


def run_scenarios(geography, params: ParameterTable, scenarios, n_people: int, seed: int, n_years: int,
                  ages=range(20, 60), n_nu: int = 3, n_xi: int = 1) -> pd.DataFrame:
    """Migration rate, moves per person and destination shares under each scenario, overall and by
    education group (columns ``migration_rate/<group>``, ``share_to_<code>/<group>``).

    Homes are drawn once and shared by all scenarios; with the same seed every scenario also
    reuses the same education, taste, match and wage draws.
    """
    rng = np.random.default_rng(seed)
    homes = rng.choice(geography.n, size=n_people, p=geography.population / geography.population.sum())
    rows = []
    for scenario in scenarios:
        simulated = simulate_scenario(geography, params, scenario, n_people, seed, ages=ages, n_nu=n_nu, homes=homes,
                                      n_xi=n_xi)
        shares = destination_shares(simulated, geography.codes, n_years)
        row = {"scenario": scenario.name, "description": scenario.description,
               "migration_rate": migration_rate(simulated, n_years),
               "lifetime_migration_rate": migration_rate(simulated),
               **{f"share_to_{code}": shares[code] for code in geography.codes}}
        for group, people in simulated.groupby("education", sort=False):
            group_shares = destination_shares(people, geography.codes, n_years)
            row[f"migration_rate/{group}"] = migration_rate(people, n_years)
            row.update({f"share_to_{code}/{group}": group_shares[code] for code in geography.codes})
        rows.append(row)
    table = pd.DataFrame(rows).set_index("scenario")
    table["change_vs_baseline"] = table["migration_rate"] - table.loc[table.index[0], "migration_rate"]
    return table
