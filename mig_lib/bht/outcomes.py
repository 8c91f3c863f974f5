"""What the tables report at an allocation: fertility by group (Table 5), population ratios
(Table 4) and incomes (Table 6).

Fertility is grouped by where the children will live: children of informal migrants (no hukou)
inherit rural residency, so their parents count with the rural group of their skill (the only
grouping that reproduces Table 5; the calibration targets are the benchmark row of Table 5).
"""

from __future__ import annotations

import math

from mig_lib.core import ParameterTable
from mig_lib.bht.equilibrium import Allocation
from mig_lib.bht.household import household_choice, place_rules
from mig_lib.bht.model import PopulationStocks


def _weighted_mean(pairs) -> float:
    """Mean of values weighted by head counts; NaN for an empty group."""
    total = sum(weight for weight, _ in pairs)
    return sum(weight * value for weight, value in pairs) / total if total > 0 else math.nan


def _n(params, place, wage, high):
    return household_choice(params, place, wage, high).n


def fertility_by_group(params: ParameterTable, stocks: PopulationStocks, alloc: Allocation) -> dict[str, float]:
    """Average children per adult (half the total fertility rate) in the five groups of Table 5."""
    p = params.values
    lam, pi, theta = p["lam"], p["pi_S"], p["theta"]
    H, L = stocks.H, stocks.L

    incomes = alloc.place_incomes()

    def mix(place):
        """(low-preference n, high-preference n) at a place."""
        return _n(params, place, incomes[place], False), _n(params, place, incomes[place], True)

    rH_lo, rH_hi = mix("rural_H")
    rL_lo, rL_hi = mix("rural_L")
    s_lo, s_hi = mix("public")
    fH_lo, fH_hi = mix("private_H_formal")
    fL_lo, fL_hi = mix("private_L_formal")
    iH_lo, iH_hi = mix("private_H_informal")
    iL_lo, iL_hi = mix("private_L_informal")

    s = alloc.moving_shares()
    # movers and stayers of each type; informal migrants' children count with the rural group
    move_H_lo, move_H_hi = lam * s["H_low"] * H, (1 - lam) * s["H_high"] * H
    stay_H_lo, stay_H_hi = lam * (1 - s["H_low"]) * H, (1 - lam) * (1 - s["H_high"]) * H
    move_L_lo, move_L_hi = lam * s["L_low"] * L, (1 - lam) * s["L_high"] * L
    stay_L_lo, stay_L_hi = lam * (1 - s["L_low"]) * L, (1 - lam) * (1 - s["L_high"]) * L
    informal = (1 - pi) * (1 - theta)
    rural_H = _weighted_mean([(stay_H_hi, rH_hi), (stay_H_lo, rH_lo), (informal * move_H_lo, iH_lo),
                              (informal * move_H_hi, iH_hi)])
    rural_L = _weighted_mean([(stay_L_hi, rL_hi), (stay_L_lo, rL_lo), ((1 - theta) * move_L_lo, iL_lo),
                              ((1 - theta) * move_L_hi, iL_hi)])

    native_mix = lambda lo, hi: lam * lo + (1 - lam) * hi  # noqa: E731 - preferences redrawn at birth
    public = _weighted_mean([(stocks.S, native_mix(s_lo, s_hi)), (pi * move_H_lo, s_lo), (pi * move_H_hi, s_hi)])
    late_H = (1 - pi) * theta
    private_H = _weighted_mean([(stocks.PH, native_mix(fH_lo, fH_hi)), (late_H * move_H_lo, fH_lo),
                                (late_H * move_H_hi, fH_hi)])
    private_L = _weighted_mean([(stocks.PL, native_mix(fL_lo, fL_hi)), (theta * move_L_lo, fL_lo),
                                (theta * move_L_hi, fL_hi)])
    return {"rural_H": rural_H, "rural_L": rural_L, "public": public, "private_H": private_H,
            "private_L": private_L}


def table4_columns(stocks: PopulationStocks, alloc: Allocation) -> dict[str, float]:
    """Migration decisions and population ratios (Table 4)."""
    total = stocks.U + stocks.R
    return {
        "chi_H": alloc.chi_H,
        "chi_L": alloc.chi_L,
        "frac_H_movers": alloc.movers_H / stocks.H,
        "frac_L_movers": alloc.movers_L / stocks.L,
        "frac_movers": (alloc.movers_H + alloc.movers_L) / stocks.R,
        "urban_share": alloc.U_plus / total,
        "PH_over_PL": alloc.PH_plus / alloc.PL_plus,
        "S_over_PH": alloc.S_plus / alloc.PH_plus,
        "new_migrant_share": 1.0 - stocks.U / alloc.U_plus,
        "H_over_L_rural": alloc.H_plus / alloc.L_plus,
        "S_over_H": alloc.S_plus / alloc.H_plus if alloc.H_plus > 0 else math.inf,
    }


def table5_columns(params: ParameterTable, stocks: PopulationStocks, alloc: Allocation) -> dict[str, float]:
    """Total fertility rates (Table 5): twice the per-adult fertility of each group."""
    groups = fertility_by_group(params, stocks, alloc)
    return {f"tfr_{name}": 2.0 * value for name, value in groups.items()}


def table6_columns(stocks: PopulationStocks, alloc: Allocation) -> dict[str, float]:
    """Per-capita incomes, income ratios and the urban benefit (Table 6)."""
    y_U = (alloc.Y_S + alloc.Y_P) / alloc.U_plus
    y_R = alloc.x
    return {
        "y": (y_U * alloc.U_plus + y_R * alloc.R_plus) / (alloc.U_plus + alloc.R_plus),
        "y_U": y_U,
        "y_R": y_R,
        "y_U_over_y_R": y_U / y_R,
        "wS_over_wPH": alloc.w_S / alloc.w_PH,
        "skill_premium": alloc.w_PH / alloc.w_PL,
        "urban_benefit": alloc.B,
    }


def private_ratio_bound(params: ParameterTable) -> float:
    """The largest private high/low-skilled employment ratio P^H+/P^L+ at which the private skill
    premium w_P^H / w_P^L is still at least one (the paper's Condition 1): the CES wage ratio
    alpha/(1 - alpha) psi^rho (P^H+/P^L+)^(rho - 1) equals one there."""
    p = params.values
    return (p["alpha"] / (1 - p["alpha"]) * p["psi"] ** p["rho"]) ** (1 / (1 - p["rho"]))


def paper_conditions(params: ParameterTable, alloc: Allocation) -> list[dict]:
    """The paper's Conditions 1-3 at an allocation, one row per condition (Condition 3 once per
    place): 1, the private employment ratio is at most :func:`private_ratio_bound`; 2, beta < 1/2;
    3, the quota binds for high-preference adults and not for low-preference ones,
    n(low) <= quota < n(high). Each row: condition, value, bound, holds (and for Condition 3
    the low-preference fertility)."""
    ratio, bound = alloc.PH_plus / alloc.PL_plus, private_ratio_bound(params)
    rows = [{"condition": "1: P^H+/P^L+ <= (P^H+/P^L+)_max", "value": ratio, "bound": bound, "holds": ratio <= bound},
            {"condition": "2: beta < 1/2", "value": params["beta"], "bound": 0.5, "holds": params["beta"] < 0.5}]
    for place, income in alloc.place_incomes().items():
        quota = place_rules(params, place, income, True)[2]
        n_high, n_low = _n(params, place, income, True), _n(params, place, income, False)
        rows.append({"condition": f"3 at {place}: n(low) <= quota < n(high)", "value": n_high, "bound": quota,
                     "n (low preference)": n_low, "holds": n_low <= quota < n_high})
    return rows
