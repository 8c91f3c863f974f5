"""Laws of motion (30)-(36), the balanced-growth migration equilibrium and Proposition 4.

Children inherit their parents' skill and residency (Section 3.2): the children of public
workers are next period's public workers, those of formal private workers (natives and migrants
who obtained hukou) next period's private workers, and those of stayers and of informal migrants
next period's rural adults of the parents' skill. With ``n`` children per adult (the model is
unisex), each next-period stock is the head count of its parent group times the group's mean
fertility, the same grouping as Table 5 (:func:`~mig_lib.bht.outcomes.fertility_by_group`).

The policy tables are one-period comparisons, as the paper's are; this module is for the
balanced-growth analysis only: at a balanced-growth equilibrium (BGME) every stock grows by the
same factor (Proposition 4), so the stocks normalised by U reproduce themselves. Land per beginning-of-period rural adult ``q`` is held at its
calibrated value along the path (the paper's ``x`` depends on ``q``, not on the land stock).
"""

from __future__ import annotations

import numpy as np

from mig_lib.core import ParameterTable
from mig_lib.bht.equilibrium import Allocation, EquilibriumError, largest_violation, solve_paper_pattern
from mig_lib.bht.model import PopulationStocks
from mig_lib.bht.outcomes import fertility_by_group

#: The stocks in the order of the laws of motion: S (30), P^H (31), P^L (32), H (34), L (35).
STOCKS = ("S", "PH", "PL", "H", "L")


def parent_groups(params: ParameterTable, stocks: PopulationStocks, alloc: Allocation) -> dict[str, float]:
    """Head counts of the five parent groups whose children form next period's stocks."""
    p = params.values
    pi, theta = p["pi_S"], p["theta"]
    return {
        "S": stocks.S + pi * alloc.movers_H,
        "PH": stocks.PH + (1 - pi) * theta * alloc.movers_H,
        "PL": stocks.PL + theta * alloc.movers_L,
        "H": alloc.H_plus + (1 - pi) * (1 - theta) * alloc.movers_H,
        "L": alloc.L_plus + (1 - theta) * alloc.movers_L,
    }


def next_generation(params: ParameterTable, stocks: PopulationStocks, alloc: Allocation) -> PopulationStocks:
    """Eqs. (30)-(36): next period's stocks from this period's allocation."""
    heads = parent_groups(params, stocks, alloc)
    n = fertility_by_group(params, stocks, alloc)
    group = {"S": "public", "PH": "private_H", "PL": "private_L", "H": "rural_H", "L": "rural_L"}
    return PopulationStocks(**{k: heads[k] * n[group[k]] for k in STOCKS})


def growth_factors(params: ParameterTable, stocks: PopulationStocks, alloc: Allocation | None = None) -> dict[str, float]:
    """Z'/Z for every stock (and U, R) after one period; ``alloc`` defaults to the paper's allocation."""
    alloc = alloc or solve_paper_pattern(params, stocks)
    new = next_generation(params, stocks, alloc)
    out = {k: getattr(new, k) / getattr(stocks, k) for k in STOCKS}
    out["U"], out["R"] = new.U / stocks.U, new.R / stocks.R
    return out


def simulate_path(params: ParameterTable, start: PopulationStocks, periods: int) -> "pd.DataFrame":
    """Iterate the laws of motion from ``start``, re-solving the paper's allocation each period.

    One row per period: the stocks normalised by U, each stock's growth factor Z'/Z (equal for
    all stocks at a balanced-growth equilibrium, Proposition 4), the migration fractions and the
    largest violation of any type's equilibrium condition. Stops early, with a ``stopped`` note
    on the last row, when the paper's allocation cannot be solved.
    """
    import pandas as pd

    rows, stocks = [], start
    for t in range(periods):
        try:
            alloc = solve_paper_pattern(params, stocks)
        except EquilibriumError as err:
            rows.append({"period": t, "stopped": str(err)})
            break
        factors = growth_factors(params, stocks, alloc)
        new = next_generation(params, stocks, alloc)
        rows.append({"period": t, **{f"{k}/U": getattr(stocks, k) / stocks.U for k in STOCKS},
                     **{f"growth {k}": v for k, v in factors.items()},
                     "spread of growth factors": max(factors.values()) - min(factors.values()),
                     "chi_H": alloc.chi_H, "chi_L": alloc.chi_L,
                     "largest violation": largest_violation(params, alloc)[0]})
        stocks = PopulationStocks(**{k: getattr(new, k) / new.U for k in STOCKS})
    return pd.DataFrame(rows)


def overall_fertility(params: ParameterTable, stocks: PopulationStocks, alloc: Allocation) -> float:
    """Children per adult in the whole economy (next period's population over this period's)."""
    new = next_generation(params, stocks, alloc)
    return (new.U + new.R) / (stocks.U + stocks.R)


def skill_growth_bounds(params: ParameterTable, alloc: Allocation) -> dict[str, float]:
    """Bounds on the growth of the rural stocks that hold for any stocks, from eqs. (34)-(35).

    Next period's rural high-skilled adults are the children of at most H parents (stayers and
    informal migrants), so H'/H is at most the largest fertility among those parent groups
    (``H_ceiling``). The high-preference low-skilled adults, a share 1 - lambda of L, leave
    children in L' unless they move and obtain hukou, so L'/L is at least ``L_floor``. At a
    balanced-growth equilibrium with high-skilled adults H'/H = L'/L, which needs
    ``H_ceiling >= L_floor``.
    """
    from mig_lib.bht.household import household_choice

    p = params.values
    incomes = alloc.place_incomes()
    n = {(place, high): household_choice(params, place, incomes[place], high).n
         for place in ("rural_H", "private_H_informal", "rural_L", "private_L_informal") for high in (True, False)}
    stay_L_high = 1 - alloc.share_L_high
    return {
        "H_ceiling": max(n[(place, high)] for place in ("rural_H", "private_H_informal") for high in (True, False)),
        "L_floor": (1 - p["lam"]) * (stay_L_high * n[("rural_L", True)]
                                     + (1 - stay_L_high) * (1 - p["theta"]) * n[("private_L_informal", True)]),
    }


def informal_wage_ratio_for_balanced_growth(params: ParameterTable, alloc: Allocation) -> float:
    """The private high-skilled wage, relative to rural income, at which ``H_ceiling = L_floor``.

    Rural fertilities are proportional to one another whatever the rural income (costs and
    fines scale with it), so only the informal high-skilled migrants' fertility, which falls
    as their urban wage rises relative to x, can lift the high-skilled ceiling to the low-skilled
    floor. A balanced-growth equilibrium with high-skilled adults needs w_P^H / x at or below
    this ratio (rural income and the low-skilled allocation held as in ``alloc``).
    """
    from scipy.optimize import brentq

    from mig_lib.bht.household import household_choice

    floor = skill_growth_bounds(params, alloc)["L_floor"]
    rural_ceiling = max(household_choice(params, "rural_H", alloc.x, high).n for high in (True, False))
    if rural_ceiling >= floor:
        return float("inf")

    def gap(log_ratio: float) -> float:
        wage = alloc.x * float(np.exp(log_ratio))
        return max(household_choice(params, "private_H_informal", wage, high).n for high in (True, False)) - floor

    return float(np.exp(brentq(gap, -20.0, 20.0, xtol=1e-12)))
