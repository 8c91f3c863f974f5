"""Household problem in closed form (Section 2.2-2.3 of the paper).

An adult with preference for children ``phi`` maximises

    min[beta * c, (1 - beta) * n * b] + phi * n**epsilon (+ urban benefit)

subject to ``c + n*b + n*cost + fine*(n - quota) = income``. With Leontief preferences the
optimum sets ``beta*c = (1-beta)*n*b``, so the bracket equals ``beta*(1-beta)`` times disposable
income and the fertility choice solves the first-order condition (eq. 17)

    epsilon * phi * n**(epsilon - 1) = beta * (1 - beta) * (cost + fine),

independent of income (Proposition 1). Two fine rules (parameter ``kinked_fine``):

* 0 (the replication default): only high-preference adults pay the fine, linear in ``n - quota``
  (a subsidy below the quota). This reproduces the printed tables.
* 1 (the paper's eqs. 10, 12-14): everybody pays ``sigma * max(n - quota, 0)``, whatever the
  preference type. The objective is concave with a kink at the quota, so the optimum is the
  unfined optimum if that is below the quota, else the fined optimum if that is above it, else
  the quota itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.bht.model import CHILD_REARING_SHARE, YEARS_PER_PERIOD

#: Where an adult works and lives, and which rules apply:
#: (child-cost share parameter, fine-rate parameters that add up, quota parameter).
PLACES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "rural_L": ("k0_R", ("k_R",), "n_bar_R"),
    "rural_H": ("k0_R", ("k_R", "k_H"), "n_bar_R"),
    "public": ("k0_U", ("k_U", "k_S"), "n_bar_U"),
    "private_H_formal": ("k0_U", ("k_U", "k_PH"), "n_bar_U"),
    "private_L_formal": ("k0_U", ("k_U",), "n_bar_U"),
    # informal migrants (no hukou) pay urban child costs but face the rural quota and fines
    "private_H_informal": ("k0_U", ("k_R", "k_H"), "n_bar_R"),
    "private_L_informal": ("k0_U", ("k_R",), "n_bar_R"),
}


def fertility(phi, unit_cost, fine_per_child, beta, epsilon, n_max=np.inf):
    """Optimal children per adult, eq. (18): ``[eps*phi / (beta(1-beta)(cost+fine))]^(1/(1-eps))``.

    Capped at the biological limit ``n_max`` (the objective is concave in ``n``, so the capped
    optimum is the minimum of the two). Works elementwise on arrays.
    """
    if isinstance(unit_cost, float) and isinstance(fine_per_child, float) and isinstance(phi, float):
        # scalar fast path: the equilibrium solvers call this thousands of times
        marginal_cost = beta * (1.0 - beta) * (unit_cost + fine_per_child)
        if not marginal_cost > 0:
            raise ParameterError("argument 'unit_cost' + 'fine_per_child' must be positive: "
                                 "with a zero marginal cost of children fertility is unbounded")
        return min((epsilon * phi / marginal_cost) ** (1.0 / (1.0 - epsilon)), n_max)
    marginal_cost = beta * (1.0 - beta) * (np.asarray(unit_cost) + np.asarray(fine_per_child))
    if np.any(marginal_cost <= 0):
        raise ParameterError("argument 'unit_cost' + 'fine_per_child' must be positive: "
                             "with a zero marginal cost of children fertility is unbounded")
    n = (epsilon * np.asarray(phi) / marginal_cost) ** (1.0 / (1.0 - epsilon))
    return np.minimum(n, n_max)


def fine_paid(n, fine_per_child, quota, kinked=False):
    """The fine (negative: subsidy) at fertility ``n``: linear ``sigma (n - quota)`` or the
    paper's kinked ``sigma max(n - quota, 0)``."""
    excess = np.asarray(n) - quota
    return fine_per_child * (np.maximum(excess, 0.0) if kinked else excess)


def disposable_income(n, net_income, unit_cost, fine_per_child, quota, kinked=False):
    """Income left for consumption and bequests after child costs and the fine."""
    return net_income - n * unit_cost - fine_paid(n, fine_per_child, quota, kinked)


def kinked_fertility(phi, unit_cost, fine_per_child, quota, beta, epsilon, n_max=np.inf):
    """Optimal children under the kinked fine ``sigma max(n - quota, 0)`` (eqs. 10, 12-14, 18)."""
    free = float(fertility(phi, unit_cost, 0.0, beta, epsilon, n_max))
    if free <= quota:
        return free
    fined = float(fertility(phi, unit_cost, fine_per_child, beta, epsilon, n_max))
    return min(max(fined, quota), n_max)


def utility(n, phi, net_income, unit_cost, fine_per_child, quota, beta, epsilon, benefit=0.0, kinked=False):
    """Indirect utility at fertility ``n`` (the value functions V^R, V^S, V^{P,.} of the paper)."""
    disposable = disposable_income(n, net_income, unit_cost, fine_per_child, quota, kinked)
    return beta * (1.0 - beta) * disposable + phi * n ** epsilon + benefit


@dataclass(frozen=True)
class HouseholdChoice:
    """Optimal choices of one adult: children, bequest per child, consumption, utility."""

    n: float
    bequest: float
    consumption: float
    utility: float


def place_rules(params: ParameterTable, place: str, wage: float, high_preference: bool) -> tuple[float, float, float]:
    """(child-rearing cost per child, fine per child above the quota, quota) at a place.

    Costs and fines are proportional to the gross income ``wage``. Under the linear rule only
    high-preference adults face the fine; under the kinked rule everybody does (module docstring).
    """
    return _place_rules(params.values, place, wage, high_preference)


def _place_rules(p: dict, place: str, wage: float, high_preference: bool) -> tuple[float, float, float]:
    if place not in PLACES:
        raise ParameterError(f"argument 'place' = {place!r} is not allowed: expected one of "
                             + ", ".join(PLACES))
    cost_name, fine_names, quota_name = PLACES[place]
    unit_cost = float(CHILD_REARING_SHARE * p[cost_name] * wage)
    fined = high_preference or _kinked(p["kinked_fine"])
    fine = float(sum(p[name] for name in fine_names) * wage / YEARS_PER_PERIOD) if fined else 0.0
    return unit_cost, fine, p[quota_name]


def kinked_rule(params: ParameterTable) -> bool:
    """Whether ``params`` use the paper's kinked fine (``kinked_fine`` = 1) or the linear one (0)."""
    return _kinked(params["kinked_fine"])


def _kinked(value: float) -> bool:
    if value not in (0.0, 1.0):
        raise ParameterError(f"parameter 'kinked_fine' = {value!r} is not allowed: expected 0 (linear "
                             "fine, the replication default) or 1 (the paper's kinked fine)")
    return value == 1.0


def household_choice(params: ParameterTable, place: str, wage: float, high_preference: bool,
                     tax_rate: float = 0.0, benefit: float = 0.0) -> HouseholdChoice:
    """Closed-form solution for an adult of a given type at a given place.

    ``wage`` is the gross income (rural income x or an urban wage): child costs and fines are
    proportional to it. ``tax_rate`` is the effective earmarked tax (tau for natives, mu*tau for
    late hukou holders) and ``benefit`` the urban benefit in utils (B or mu*B).
    """
    if not wage > 0:
        raise ParameterError(f"argument 'wage' = {wage!r} is not allowed: expected a positive income")
    p = params.values
    unit_cost, fine, quota = _place_rules(p, place, wage, high_preference)
    phi = p["phi_high"] if high_preference else p["phi_low"]
    kinked = _kinked(p["kinked_fine"])
    if kinked:
        n = kinked_fertility(phi, unit_cost, fine, quota, p["beta"], p["epsilon"], p["n_max"])
    else:
        n = float(fertility(phi, unit_cost, fine, p["beta"], p["epsilon"], p["n_max"]))
    net_income = wage * (1.0 - tax_rate)
    excess = n - quota
    disposable = net_income - n * unit_cost - fine * (max(excess, 0.0) if kinked else excess)
    beta = p["beta"]
    return HouseholdChoice(
        n=n,
        bequest=beta * disposable / n,
        consumption=(1.0 - beta) * disposable,
        utility=beta * (1.0 - beta) * disposable + phi * n ** p["epsilon"] + benefit,
    )
