"""Migration equilibrium (Section 3): who moves, what everybody earns, and the urban benefit.

The paper's mixed migration equilibrium: rural high-skilled adults with the low preference for
children always move, rural low-skilled adults with the high preference always stay, and two
types are indifferent -- a fraction ``chi_H`` of the high-skilled high-preference type and a
fraction ``chi_L`` of the low-skilled low-preference type move. Corners (0 or 1) give the
segregated equilibria of Section 3.1.

Given ``(chi_H, chi_L)`` everything else is explicit (:func:`allocate`); the equilibrium is a
nested complementarity problem (:func:`solve_equilibrium`): for every ``chi_H`` the inner problem
finds the ``chi_L`` that makes the low-skilled indifferent (or a corner), and the outer problem
does the same for ``chi_H``. Each one-dimensional problem is bracketed and solved by Brent's
method; several equilibria or a failed bracket raise :class:`EquilibriumError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.bht.household import household_choice, place_rules
from mig_lib.bht.model import PopulationStocks


class EquilibriumError(RuntimeError):
    """The equilibrium solver could not certify a unique equilibrium."""


@dataclass(frozen=True)
class Allocation:
    """Populations after migration, prices and the urban benefit at given ``(chi_H, chi_L)``."""

    chi_H: float
    chi_L: float
    movers_H: float      # [lam + (1-lam) chi_H] H
    movers_L: float      # lam chi_L L
    S_plus: float
    PH_plus: float
    PL_plus: float
    H_plus: float
    L_plus: float
    x: float             # rural income per farmer (eq. 2)
    w_S: float
    w_PH: float
    w_PL: float
    Y_S: float
    Y_P: float
    G: float             # benefit budget per urban resident (eq. 38)
    B: float             # urban benefit in utils, B0 * G

    @property
    def U_plus(self) -> float:
        return self.S_plus + self.PH_plus + self.PL_plus

    @property
    def R_plus(self) -> float:
        return self.H_plus + self.L_plus


def rural_income(z: float, q: float, delta: float, R: float, R_plus: float) -> float:
    """Eq. (2): output per farmer when migrants idle their land for a fraction delta of the period."""
    return z * q * (1.0 + (R - R_plus) * (1.0 - delta) / R_plus)


def ces_output_and_wages(A_P: float, psi: float, alpha: float, rho: float, PH_plus: float,
                         PL_plus: float) -> tuple[float, float, float]:
    """Eqs. (4), (6), (7): private output and the two competitive private wages."""
    index = alpha * (psi * PH_plus) ** rho + (1.0 - alpha) * PL_plus ** rho
    output = A_P * index ** (1.0 / rho)
    common = A_P * index ** (1.0 / rho - 1.0)
    w_PH = common * alpha * psi ** rho * PH_plus ** (rho - 1.0)
    w_PL = common * (1.0 - alpha) * PL_plus ** (rho - 1.0)
    return output, w_PH, w_PL


def allocate(params: ParameterTable, stocks: PopulationStocks, chi_H: float, chi_L: float) -> Allocation:
    """Everything implied by the migration fractions (eqs. 2-7, 25-29, 37-38)."""
    for name, value in (("chi_H", chi_H), ("chi_L", chi_L)):
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"argument {name!r} = {value!r} is not allowed: expected a number in [0, 1]")
    p = params.values
    lam, pi, theta, mu_tax, tau = p["lam"], p["pi_S"], p["theta"], p["mu_tax"], p["tau"]
    movers_H = (lam + (1.0 - lam) * chi_H) * stocks.H
    movers_L = lam * chi_L * stocks.L
    S_plus = stocks.S + pi * movers_H
    PH_plus = stocks.PH + (1.0 - pi) * movers_H
    PL_plus = stocks.PL + movers_L
    H_plus = stocks.H - movers_H
    L_plus = stocks.L - movers_L
    x = rural_income(p["z"], p["q"], p["delta"], stocks.R, H_plus + L_plus)
    Y_P, w_PH, w_PL = ces_output_and_wages(p["A_P"], p["psi"], p["alpha"], p["rho"], PH_plus, PL_plus)
    w_S = p["A_S"]
    # eq. (37): natives and public-sector migrants pay tau on their wage all period; private
    # migrants who obtain hukou (probability theta) pay it for the fraction mu_tax of the period
    taxes = tau * (w_S * S_plus + w_PH * stocks.PH + w_PL * stocks.PL) + mu_tax * tau * theta * (
        w_PH * (1.0 - pi) * movers_H + w_PL * movers_L)
    hukou_holders = stocks.U + pi * movers_H + theta * ((1.0 - pi) * movers_H + movers_L)
    G = taxes / hukou_holders
    return Allocation(chi_H=chi_H, chi_L=chi_L, movers_H=movers_H, movers_L=movers_L,
                      S_plus=S_plus, PH_plus=PH_plus, PL_plus=PL_plus, H_plus=H_plus,
                      L_plus=L_plus, x=x, w_S=w_S, w_PH=w_PH, w_PL=w_PL, Y_S=w_S * S_plus,
                      Y_P=Y_P, G=G, B=p["B0"] * G)


def migrant_prospects(params: ParameterTable, alloc: Allocation, skill: str) -> list[tuple[float, str, float, float, float]]:
    """Where a rural migrant of ``skill`` ('H' or 'L') ends up: (probability, place, wage, tax
    rate, benefit) for each outcome of the job and hukou lotteries."""
    p = params.values
    pi, theta = p["pi_S"], p["theta"]
    late_tax, late_benefit = p["mu_tax"] * p["tau"], p["mu"] * alloc.B
    if skill == "H":
        return [(pi, "public", alloc.w_S, p["tau"], alloc.B),
                ((1 - pi) * theta, "private_H_formal", alloc.w_PH, late_tax, late_benefit),
                ((1 - pi) * (1 - theta), "private_H_informal", alloc.w_PH, 0.0, 0.0)]
    if skill == "L":
        return [(theta, "private_L_formal", alloc.w_PL, late_tax, late_benefit),
                (1 - theta, "private_L_informal", alloc.w_PL, 0.0, 0.0)]
    raise ParameterError(f"argument 'skill' = {skill!r} is not allowed: expected 'H' or 'L'")


def value_of_moving(params: ParameterTable, alloc: Allocation, skill: str, high_preference: bool) -> float:
    """Expected value of migrating: pi V^S + (1-pi) V^{P,H} (eq. 20) or V^{P,L} (eq. 21)."""
    return sum(prob * household_choice(params, place, wage, high_preference, tax, benefit).utility
               for prob, place, wage, tax, benefit in migrant_prospects(params, alloc, skill))


def theorem2_decomposition(params: ParameterTable, alloc: Allocation, skill: str,
                           high_preference: bool) -> dict[str, float]:
    """Theorem 2: gain from moving = expected locational quality gain + expected fertility loss.

    At an interior fertility optimum eq. (17) gives ``beta(1-beta) n (cost + fine) = eps phi n^eps``,
    so each value function is ``beta(1-beta)(net income + fine * quota) + (1-eps) phi n^eps + benefit``:
    the first and last terms are the locational quality part, the middle one the fertility part.
    (Exact only when the biological cap n_max does not bind.)
    """
    p = params.values
    scale, eps = p["beta"] * (1 - p["beta"]), p["epsilon"]
    phi = p["phi_high"] if high_preference else p["phi_low"]

    def parts(place, wage, tax, benefit):
        _, fine, quota = place_rules(params, place, wage, high_preference)
        n = household_choice(params, place, wage, high_preference).n
        return scale * (wage * (1 - tax) + fine * quota) + benefit, (1 - eps) * phi * n ** eps

    stay_quality, stay_fertility = parts(f"rural_{skill}", alloc.x, 0.0, 0.0)
    quality = -stay_quality
    fertility_part = -stay_fertility
    for prob, place, wage, tax, benefit in migrant_prospects(params, alloc, skill):
        q_part, f_part = parts(place, wage, tax, benefit)
        quality += prob * q_part
        fertility_part += prob * f_part
    return {"quality_gain": quality, "fertility_loss": fertility_part}


def migration_gains(params: ParameterTable, alloc: Allocation) -> dict[str, float]:
    """Gain from moving, before the migration cost Gamma, of the four rural types.

    Keys ``H_high``, ``H_low``, ``L_high``, ``L_low`` (skill, preference for children).
    """
    gains = {}
    for high in (True, False):
        tag = "high" if high else "low"
        gains[f"H_{tag}"] = (value_of_moving(params, alloc, "H", high)
                             - household_choice(params, "rural_H", alloc.x, high).utility)
        gains[f"L_{tag}"] = (value_of_moving(params, alloc, "L", high)
                             - household_choice(params, "rural_L", alloc.x, high).utility)
    return gains


def net_gains(params: ParameterTable, stocks: PopulationStocks, chi_H: float, chi_L: float) -> dict[str, float]:
    """Gains from moving minus the migration cost (eqs. 20-21), i.e. V_H(phi) and V_L(phi)."""
    gains = migration_gains(params, allocate(params, stocks, chi_H, chi_L))
    p = params.values
    return {key: value - (p["Gamma_H"] if key.startswith("H") else p["Gamma_L"])
            for key, value in gains.items()}


def _complementarity_root(residual, label: str, xtol: float) -> float:
    """Solve 0 <= chi <= 1 with residual(chi) = 0 inside, <= 0 at 0, >= 0 at 1.

    ``residual`` is the net gain of the indifferent type. More movers lower the gain in every
    calibration we know; a grid scan guards against several crossings.
    """
    grid = np.linspace(0.0, 1.0, 9)
    values = np.array([residual(c) for c in grid])
    solutions = []
    if values[0] <= 0.0:
        solutions.append(0.0)
    if values[-1] >= 0.0:
        solutions.append(1.0)
    for lo, hi, f_lo, f_hi in zip(grid[:-1], grid[1:], values[:-1], values[1:]):
        if f_lo > 0.0 > f_hi:
            solutions.append(brentq(residual, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=200))
        elif f_lo < 0.0 < f_hi:
            raise EquilibriumError(f"{label}: the net gain increases with the number of movers on "
                                   f"[{lo:.3f}, {hi:.3f}]; the equilibrium is not unique")
    if len(solutions) != 1:
        raise EquilibriumError(f"{label}: expected one equilibrium, found {sorted(solutions)}")
    return float(solutions[0])


def solve_low_skilled(params: ParameterTable, stocks: PopulationStocks, chi_H: float,
                      xtol: float = 1e-15) -> float:
    """Inner problem: chi_L given chi_H (indifference of the low-skilled low-preference type)."""
    return _complementarity_root(lambda c: net_gains(params, stocks, chi_H, c)["L_low"],
                                 f"chi_L at chi_H={chi_H:.6g}", xtol)


def solve_equilibrium(params: ParameterTable, stocks: PopulationStocks, xtol: float = 1e-15) -> Allocation:
    """The migration equilibrium (chi_H, chi_L) by nested complementarity; raises if not unique."""
    def outer(chi_H: float) -> float:
        chi_L = solve_low_skilled(params, stocks, chi_H, xtol)
        return net_gains(params, stocks, chi_H, chi_L)["H_high"]

    chi_H = _complementarity_root(outer, "chi_H", xtol)
    chi_L = solve_low_skilled(params, stocks, chi_H, xtol)
    return allocate(params, stocks, chi_H, chi_L)


def equilibrium_residuals(params: ParameterTable, stocks: PopulationStocks, alloc: Allocation) -> dict[str, float]:
    """Complementarity residuals: the net gain of each indifferent type where its fraction is
    interior (zero at an exact equilibrium), and the violated sign at a corner (zero if fine)."""
    gains = net_gains(params, stocks, alloc.chi_H, alloc.chi_L)
    out = {}
    for chi, key in ((alloc.chi_H, "H_high"), (alloc.chi_L, "L_low")):
        g = gains[key]
        out[key] = max(g, 0.0) if chi == 0.0 else (min(g, 0.0) if chi == 1.0 else g)
    return out


def regime(chi_H: float, chi_L: float) -> str:
    """Name of the migration pattern (Section 3.1) at given fractions of the indifferent types."""
    inner_H, inner_L = 0.0 < chi_H < 1.0, 0.0 < chi_L < 1.0
    if inner_H and inner_L:
        return "mixed (MME)"
    if chi_H == 1.0:
        return {True: "skill-based SME", False: "pure skill-based SME" if chi_L == 0.0 else "all indifferent move"}[inner_L]
    if chi_H == 0.0:
        if inner_L:
            return "fertility-based SME"
        return "pure fertility-based SME" if chi_L == 1.0 else "corner: no indifferent type moves"
    return "high-skilled interior, low-skilled corner"
