"""Migration equilibrium (Section 3): who moves, what everybody earns, and the urban benefit.

The paper's mixed migration equilibrium: rural high-skilled adults with the low preference for
children always move, rural low-skilled adults with the high preference always stay, and two
types are indifferent -- a fraction ``chi_H`` of the high-skilled high-preference type and a
fraction ``chi_L`` of the low-skilled low-preference type move. Corners (0 or 1) give the
segregated equilibria of Section 3.1.

An equilibrium is a condition on all four rural types (skill H/L x preference high/low): a type
whose moving share is 0 must not gain from moving, a type whose share is 1 must not lose, and a
type with an interior share must be indifferent (:func:`type_conditions`). Two solvers:

* :func:`solve_paper_pattern` imposes the paper's pattern (high-skilled low-preference adults all
  move, low-skilled high-preference adults all stay) and solves the indifference of the other two
  types. This is how the paper's tables are computed; the result is *not* certified as an
  equilibrium (at several policy rows the imposed types would change their minds).
* :func:`solve_equilibrium` imposes nothing: each of the four moving shares is in [0, 1] by
  complementarity, and the returned state is checked against every type's condition.

Both are nested one-dimensional complementarity problems (the allocation depends on the shares
only through the number of movers of each skill), bracketed on a grid and solved by Brent's
method. What is guaranteed: every returned state satisfies its conditions to ``tol``; uniqueness
is checked on the grid only (two crossings inside one grid cell would not be seen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.bht.household import household_choice, kinked_rule, place_rules
from mig_lib.bht.model import PopulationStocks


class EquilibriumError(RuntimeError):
    """The equilibrium solver could not certify a unique equilibrium."""


@dataclass(frozen=True)
class Allocation:
    """Populations after migration, prices and the urban benefit at given ``(chi_H, chi_L)``."""

    chi_H: float         # moving share of high-skilled high-preference adults
    chi_L: float         # moving share of low-skilled low-preference adults
    movers_H: float      # [lam s_H_low + (1-lam) chi_H] H
    movers_L: float      # [lam chi_L + (1-lam) s_L_high] L
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
    share_H_low: float = 1.0   # moving share of high-skilled low-preference adults (paper: 1)
    share_L_high: float = 0.0  # moving share of low-skilled high-preference adults (paper: 0)

    def moving_shares(self) -> dict[str, float]:
        """Moving share of each of the four rural types."""
        return {"H_high": self.chi_H, "H_low": self.share_H_low, "L_high": self.share_L_high,
                "L_low": self.chi_L}

    def place_incomes(self) -> dict[str, float]:
        """Gross income at every place of :data:`~mig_lib.bht.household.PLACES`."""
        return {"rural_L": self.x, "rural_H": self.x, "public": self.w_S,
                "private_H_formal": self.w_PH, "private_H_informal": self.w_PH,
                "private_L_formal": self.w_PL, "private_L_informal": self.w_PL}

    @property
    def after_migration(self) -> PopulationStocks:
        """The five stocks after migration, so that U+ and R+ are summed where U and R are."""
        return PopulationStocks(S=self.S_plus, PH=self.PH_plus, PL=self.PL_plus, H=self.H_plus, L=self.L_plus)

    @property
    def U_plus(self) -> float:
        return self.after_migration.U

    @property
    def R_plus(self) -> float:
        return self.after_migration.R


def rural_income(z: float, q: float, delta: float, R: float, R_plus: float) -> float:
    """Eq. (2): output per farmer when migrants idle their land for a fraction delta of the period."""
    if R_plus <= 0.0:
        return np.inf
    return z * q * (1.0 + (R - R_plus) * (1.0 - delta) / R_plus)


def ces_output_and_wages(A_P: float, psi: float, alpha: float, rho: float, PH_plus: float,
                         PL_plus: float) -> tuple[float, float, float]:
    """Eqs. (4), (6), (7): private output and the two competitive private wages.

    ``rho = 0`` is the Cobb-Douglas limit ``A_P (psi P^H)^alpha (P^L)^(1-alpha)``.
    """
    if rho == 0.0:
        output = A_P * (psi * PH_plus) ** alpha * PL_plus ** (1.0 - alpha)
        return output, alpha * output / PH_plus, (1.0 - alpha) * output / PL_plus
    index = alpha * (psi * PH_plus) ** rho + (1.0 - alpha) * PL_plus ** rho
    output = A_P * index ** (1.0 / rho)
    common = A_P * index ** (1.0 / rho - 1.0)
    w_PH = common * alpha * psi ** rho * PH_plus ** (rho - 1.0)
    w_PL = common * (1.0 - alpha) * PL_plus ** (rho - 1.0)
    return output, w_PH, w_PL


def allocate(params: ParameterTable, stocks: PopulationStocks, chi_H: float, chi_L: float,
             share_H_low: float = 1.0, share_L_high: float = 0.0) -> Allocation:
    """Everything implied by the migration fractions (eqs. 2-7, 25-29, 37-38).

    ``chi_H``, ``chi_L`` are the moving shares of the two types the paper lets be indifferent;
    ``share_H_low`` and ``share_L_high`` those of the two types the paper fixes at 1 and 0.
    """
    for name, value in (("chi_H", chi_H), ("chi_L", chi_L), ("share_H_low", share_H_low),
                        ("share_L_high", share_L_high)):
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"argument {name!r} = {value!r} is not allowed: expected a number in [0, 1]")
    p = params.values
    lam, pi, theta, mu_tax, tau = p["lam"], p["pi_S"], p["theta"], p["mu_tax"], p["tau"]
    movers_H = (lam * share_H_low + (1.0 - lam) * chi_H) * stocks.H
    movers_L = (lam * chi_L + (1.0 - lam) * share_L_high) * stocks.L
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
                      Y_P=Y_P, G=G, B=p["B0"] * G, share_H_low=share_H_low, share_L_high=share_L_high)


def migrant_prospects(params: ParameterTable, alloc: Allocation, skill: str) -> list[tuple[float, str, float, float, float]]:
    """Where a rural migrant of ``skill`` ('H' or 'L') ends up: (probability, place, wage, tax
    rate, benefit) for each outcome of the job and hukou lotteries."""
    p = params.values
    pi, theta = p["pi_S"], p["theta"]
    late_tax, late_benefit = p["mu_tax"] * p["tau"], p["mu"] * alloc.B
    w = alloc.place_incomes()
    if skill == "H":
        return [(pi, "public", w["public"], p["tau"], alloc.B),
                ((1 - pi) * theta, "private_H_formal", w["private_H_formal"], late_tax, late_benefit),
                ((1 - pi) * (1 - theta), "private_H_informal", w["private_H_informal"], 0.0, 0.0)]
    if skill == "L":
        return [(theta, "private_L_formal", w["private_L_formal"], late_tax, late_benefit),
                (1 - theta, "private_L_informal", w["private_L_informal"], 0.0, 0.0)]
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
        if kinked_rule(params) and n <= quota:
            fine = 0.0  # below the kink the fine does not enter the first-order condition
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


def net_gains_at(params: ParameterTable, alloc: Allocation) -> dict[str, float]:
    """Gains from moving minus the migration cost (eqs. 20-21) of the four types at an allocation."""
    if alloc.R_plus <= 0.0:  # nobody left to farm: a stayer would have unbounded income
        return {key: -np.inf for key in TYPES}
    gains = migration_gains(params, alloc)
    p = params.values
    return {key: value - (p["Gamma_H"] if key.startswith("H") else p["Gamma_L"])
            for key, value in gains.items()}


def net_gains(params: ParameterTable, stocks: PopulationStocks, chi_H: float, chi_L: float) -> dict[str, float]:
    """Net gains V_H(phi), V_L(phi) at the paper's pattern with fractions ``(chi_H, chi_L)``."""
    return net_gains_at(params, allocate(params, stocks, chi_H, chi_L))


#: The four rural types: skill (H, L) and preference for children (high, low).
TYPES = ("H_high", "H_low", "L_high", "L_low")
#: Shares closer than this to 0 or 1 are treated as corners.
_SNAP = 1e-12


def _complementarity_root(residual, label: str, xtol: float, grid_points: int = 9) -> float:
    """Solve 0 <= c <= 1 with residual(c) = 0 inside, <= 0 at 0, >= 0 at 1.

    ``residual`` is the net gain of the marginal mover. A scan on ``grid_points`` equally spaced
    points finds every sign change between grid points; each is refined by Brent's method. Two
    crossings inside one grid cell are not seen: the scan guarantees uniqueness on the grid only.
    """
    grid = np.linspace(0.0, 1.0, grid_points)
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


def _check_paper_pattern(params: ParameterTable) -> None:
    lam = params["lam"]
    if not 0.0 < lam < 1.0:
        raise ParameterError(f"parameter 'lam' = {lam!r} is not allowed here: the paper's pattern has "
                             "both preference types, so lam must be in (0, 1); solve_equilibrium "
                             "handles lam = 0 or 1")


def solve_low_skilled(params: ParameterTable, stocks: PopulationStocks, chi_H: float,
                      xtol: float = 1e-15) -> float:
    """Inner problem of the paper's pattern: chi_L given chi_H (low-skilled low-preference indifference)."""
    return _complementarity_root(lambda c: net_gains(params, stocks, chi_H, c)["L_low"],
                                 f"chi_L at chi_H={chi_H:.6g}", xtol)


def solve_paper_pattern(params: ParameterTable, stocks: PopulationStocks, xtol: float = 1e-15) -> Allocation:
    """The paper's allocation: (chi_H, chi_L) by nested complementarity with the pattern imposed.

    High-skilled low-preference adults all move and low-skilled high-preference adults all stay,
    whatever their gains; only the other two types' conditions are solved. The result is an
    equilibrium of the model only if :func:`type_conditions` finds no violation.
    """
    _check_paper_pattern(params)

    def outer(chi_H: float) -> float:
        chi_L = solve_low_skilled(params, stocks, chi_H, xtol)
        return net_gains(params, stocks, chi_H, chi_L)["H_high"]

    chi_H = _complementarity_root(outer, "chi_H", xtol)
    chi_L = solve_low_skilled(params, stocks, chi_H, xtol)
    return allocate(params, stocks, chi_H, chi_L)


def equilibrium_residuals(params: ParameterTable, stocks: PopulationStocks, alloc: Allocation) -> dict[str, float]:
    """Complementarity residual of each of the four types (zero where its condition holds).

    Share 0: the positive part of the net gain (a stayer who would gain); share 1: the negative
    part (a mover who loses); interior share: the net gain itself (indifference).
    """
    gains = net_gains_at(params, alloc)
    out = {}
    for key, share in alloc.moving_shares().items():
        g = gains[key]
        out[key] = max(g, 0.0) if share <= _SNAP else (min(g, 0.0) if share >= 1.0 - _SNAP else g)
    return out


def type_conditions(params: ParameterTable, alloc: Allocation) -> dict[str, dict[str, float]]:
    """For every type: its moving share, net gain, what its share requires and the violation."""
    gains = net_gains_at(params, alloc)
    residuals = equilibrium_residuals(params, None, alloc)
    out = {}
    for key, share in alloc.moving_shares().items():
        needs = "gain <= 0" if share <= _SNAP else ("gain >= 0" if share >= 1.0 - _SNAP else "gain = 0")
        out[key] = {"share": share, "net_gain": gains[key], "requires": needs,
                    "violation": abs(residuals[key])}
    return out


def largest_violation(params: ParameterTable, alloc: Allocation) -> tuple[float, str]:
    """The largest violation of any type's condition at ``alloc`` and the type (0 when all hold)."""
    residuals = equilibrium_residuals(params, None, alloc)
    key = max(residuals, key=lambda k: abs(residuals[k]))
    return abs(residuals[key]), key


def _order(g_high: float, g_low: float, lam: float) -> tuple[tuple[str, float], tuple[str, float]]:
    """(type, population weight) of the preference type that gains more, then of the other."""
    high, low = ("high", 1.0 - lam), ("low", lam)
    return (high, low) if g_high >= g_low else (low, high)


def _marginal_gain(m: float, gains: dict[str, float], skill: str, lam: float) -> float:
    """Net gain of the marginal mover when a fraction ``m`` of the skill group moves.

    The types that gain more move first; at the boundary between the two types' blocks the
    marginal gain is any value between theirs, and the one nearest zero is returned.
    """
    g = {"high": gains[f"{skill}_high"], "low": gains[f"{skill}_low"]}
    (top, w_top), (bottom, w_bottom) = _order(g["high"], g["low"], lam)
    if w_top == 0.0:
        return g[bottom]
    if w_bottom == 0.0 or m < w_top - _SNAP:
        return g[top]
    if m > w_top + _SNAP:
        return g[bottom]
    return float(np.median([g[bottom], 0.0, g[top]]))


def _split(m: float, gains: dict[str, float], skill: str, lam: float) -> dict[str, float]:
    """Moving shares of the two preference types when a fraction ``m`` of the skill group moves."""
    g = {"high": gains[f"{skill}_high"], "low": gains[f"{skill}_low"]}
    (top, w_top), (bottom, w_bottom) = _order(g["high"], g["low"], lam)
    shares = {}
    if w_top == 0.0 or w_bottom == 0.0:
        present, absent = (bottom, top) if w_top == 0.0 else (top, bottom)
        shares[present] = m
        shares[absent] = 1.0 if g[absent] > 0 else 0.0   # a type with no members: any share
    else:
        shares[top] = min(m / w_top, 1.0)
        shares[bottom] = max((m - w_top) / w_bottom, 0.0)
    return {f"{skill}_{k}": (0.0 if v <= _SNAP else 1.0 if v >= 1.0 - _SNAP else v) for k, v in shares.items()}


def allocate_movers(params: ParameterTable, stocks: PopulationStocks, m_H: float, m_L: float) -> Allocation:
    """An allocation with fractions ``m_H`` of high- and ``m_L`` of low-skilled adults moving.

    Prices and the benefit depend on the shares only through these totals; the split between
    preference types here is nominal (both move in the same proportion).
    """
    return allocate(params, stocks, m_H, m_L, share_H_low=m_H, share_L_high=m_L)


def solve_equilibrium(params: ParameterTable, stocks: PopulationStocks, xtol: float = 1e-15,
                      tol: float = 1e-10, grid_points: int = 9) -> Allocation:
    """The model's migration equilibrium with all four types free (no pattern imposed).

    Nested complementarity in the fractions of each skill group that move: for every high-skilled
    fraction the inner problem makes the marginal low-skilled mover indifferent (or a corner),
    the outer problem does the same for the high-skilled. The types that gain more move first.
    The returned state is checked against every type's condition (:func:`type_conditions`);
    a violation larger than ``tol`` raises :class:`EquilibriumError`.
    """
    lam = params["lam"]

    def inner(m_H: float) -> float:
        return _complementarity_root(
            lambda m: _marginal_gain(m, net_gains_at(params, allocate_movers(params, stocks, m_H, m)), "L", lam),
            f"low-skilled movers at m_H={m_H:.6g}", xtol, grid_points)

    def outer(m_H: float) -> float:
        gains = net_gains_at(params, allocate_movers(params, stocks, m_H, inner(m_H)))
        return _marginal_gain(m_H, gains, "H", lam)

    m_H = _complementarity_root(outer, "high-skilled movers", xtol, grid_points)
    m_L = inner(m_H)
    # a root at a block boundary (one type all moves, the other all stays) is the boundary itself
    m_H, m_L = (next((w for w in (lam, 1.0 - lam) if abs(m - w) < 1e-9), m) for m in (m_H, m_L))
    gains = net_gains_at(params, allocate_movers(params, stocks, m_H, m_L))
    shares = {**_split(m_H, gains, "H", lam), **_split(m_L, gains, "L", lam)}
    alloc = allocate(params, stocks, shares["H_high"], shares["L_low"], share_H_low=shares["H_low"],
                     share_L_high=shares["L_high"])
    violation, worst = largest_violation(params, alloc)
    if not violation <= tol:
        raise EquilibriumError(f"the four-type solver stopped at shares {shares} where {worst} violates "
                               f"its condition by {violation:.3g} (> tol {tol:g}); no equilibrium certified")
    return alloc


def regime(params: ParameterTable, alloc: Allocation, tol: float = 1e-9) -> str:
    """Name of the migration pattern (Section 3.1), or 'not an equilibrium' when any of the four
    types' conditions fails by more than ``tol``."""
    violation, worst = largest_violation(params, alloc)
    if violation > tol:
        return f"not an equilibrium ({worst} off by {violation:.2g})"
    s = alloc.moving_shares()
    if all(v == 0.0 for v in s.values()):
        return "no migration"
    if s["H_low"] != 1.0 or s["L_high"] != 0.0:
        def word(v):
            return "all" if v == 1.0 else ("none" if v == 0.0 else "some")
        return "not the paper's pattern: " + ", ".join(f"{k} {word(v)}" for k, v in s.items())
    chi_H, chi_L = alloc.chi_H, alloc.chi_L
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
