"""The representative response curve, its equilibria and their bifurcation in the intercept.

Equation (13) of the paper: P(M = 1) = Phi(x'beta + (J + sum_st lambda_st s_st) * M), with M the
village migration ratio (own family excluded). Holding x and the interaction dummies s at a
scenario's values, the probability is a curve in M; a social equilibrium is a fixed point
P(M*) = M*, stable when the curve crosses the 45-degree line from above (slope < 1).

Everything here is built from the *published* tables (:mod:`mig_lib.peer.tables`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import ndtr
from scipy.stats import norm

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.peer.tables import (
    CATEGORIES,
    FEMALE_MARGINAL_EFFECT,
    LEVELS,
    TABLE2,
    TABLE3,
    interaction_dummy,
    interaction_term,
)

#: Education dummies (illiterate is the omitted level) in increasing order.
EDUCATION_DUMMIES = ("primary_school", "junior_high_school", "senior_high_school", "tech_school_or_more")
#: Regressors whose squares enter Table 3; E[x^2] = mean^2 + sd^2 at the sample means.
SQUARED = {"age_squared": "age", "village_income_squared": "village_income"}
#: Continuous regressors whose printed marginal effect / coefficient reveals phi(index at means).
#: (Dummies get a discrete change in Stata, and the distance rows are printed with too few digits.)
SCALE_REVEALING = ("household_labor_force", "family_per_capita_land", "kids_under_6", "kids_6_to_12",
                   "elders_over_65", "village_income", "mig_1998")


def evaluation_index_from_marginal_effects(table3: pd.DataFrame = TABLE3) -> float:
    """The probit index at which Table 3's marginal effects were evaluated.

    For a continuous regressor the printed marginal effect is phi(z) * coef, so each ratio
    reveals phi(z); the median over :data:`SCALE_REVEALING` is inverted on the lower branch
    (the migration probability at the means is below one half).
    """
    ratios = (table3.loc[list(SCALE_REVEALING), "me"] / table3.loc[list(SCALE_REVEALING), "coef"]).astype(float)
    density = float(np.median(ratios))
    return -float(np.sqrt(-2.0 * np.log(density * np.sqrt(2.0 * np.pi))))


def discrete_change(index_at_means: float, coef: float, mean: float) -> float:
    """Stata's marginal effect of a dummy: Phi(z with d=1) - Phi(z with d=0), others at means."""
    return float(norm.cdf(index_at_means + coef * (1.0 - mean)) - norm.cdf(index_at_means - coef * mean))


def female_coefficient(index_at_means: float | None = None,
                       marginal_effect: float = FEMALE_MARGINAL_EFFECT,
                       female_share: float | None = None) -> float:
    """Back out the female coefficient Table 3 omits from its marginal effect (text: -4.36 points).

    The marginal effect of a dummy is a discrete change at the regressor means, so the
    coefficient solves ``discrete_change(z, b, share) = marginal_effect``. By default ``z`` is
    the evaluation index revealed by Table 3's own marginal effects
    (:func:`evaluation_index_from_marginal_effects`).
    """
    if not -0.5 < marginal_effect < 0.5:
        raise ParameterError(f"argument 'marginal_effect' = {marginal_effect!r} is not allowed: "
                             "expected a probability change in (-0.5, 0.5)")
    z = evaluation_index_from_marginal_effects() if index_at_means is None else float(index_at_means)
    share = float(TABLE2.loc["female", "mean"]) if female_share is None else float(female_share)
    return float(brentq(lambda b: discrete_change(z, b, share) - marginal_effect, -5.0, 5.0, xtol=1e-12))


def true_coefficients(female: float | None = None) -> pd.Series:
    """Table 3's coefficients plus the backed-out female coefficient: the synthetic world's truth."""
    coefs = TABLE3["coef"].astype(float).copy()
    coefs["female"] = female_coefficient() if female is None else float(female)
    return coefs


def sample_means(table2: pd.DataFrame = TABLE2) -> pd.Series:
    """Regressor values at the Table 2 means: squares as E[x^2] = mean^2 + sd^2, intercept 1."""
    means = table2["mean"].astype(float).copy()
    for square, base in SQUARED.items():
        means[square] = table2.loc[base, "mean"] ** 2 + table2.loc[base, "sd"] ** 2
    means["intercept"] = 1.0
    return means


@dataclass(frozen=True)
class ResponseCurve:
    """P(M) = Phi(index_at_zero + slope * M): the representative individual's response to M."""

    index_at_zero: float
    slope: float

    def probability(self, ratio):
        return norm.cdf(self.index_at_zero + self.slope * np.asarray(ratio, dtype=float))

    def derivative(self, ratio):
        return self.slope * norm.pdf(self.index_at_zero + self.slope * np.asarray(ratio, dtype=float))

    def __call__(self, ratio):
        return self.probability(ratio)


def _regressor_values(point: Mapping[str, float] | None) -> pd.Series:
    """The Table 2 means with the regressors named in ``point`` set to its values."""
    values = sample_means()
    for key, val in (point or {}).items():
        if key not in values.index:
            raise ParameterError(f"argument 'point' has unknown regressor {key!r}: allowed names are "
                                 f"{', '.join(values.index)}")
        values[key] = float(val)
    return values


def representative_curve(point: Mapping[str, float] | None = None,
                         coefs: Mapping[str, float] | None = None) -> ResponseCurve:
    """The response curve of a representative individual with regressors ``point``.

    ``point`` maps Table 3 regressor names (and the interaction dummies ``info_often`` ...) to
    values; missing entries default to the Table 2 means (:func:`sample_means`).
    ``coefs`` defaults to :func:`true_coefficients`.
    """
    values = _regressor_values(point)
    beta = true_coefficients() if coefs is None else pd.Series(coefs, dtype=float)
    index = sum(beta[t] * values[t] for t in beta.index if t != "peer" and not t.startswith("peer_x_"))
    slope = beta["peer"] + sum(beta[interaction_term(c, lv)] * values[interaction_dummy(c, lv)]
                               for c in CATEGORIES for lv in LEVELS)
    return ResponseCurve(float(index), float(slope))


def slope_by_category(point: Mapping[str, float] | None = None,
                      coefs: Mapping[str, float] | None = None) -> pd.Series:
    """The representative curve's slope in M split into J and each category's sum_t lambda_st s_st.

    ``point`` overrides the Table 2 interaction shares as in :func:`representative_curve`; the
    entries add up to that curve's slope.
    """
    values = _regressor_values(point)
    beta = true_coefficients() if coefs is None else pd.Series(coefs, dtype=float)
    parts = {"peer": float(beta["peer"])}
    for c in CATEGORIES:
        parts[c] = float(sum(beta[interaction_term(c, lv)] * values[interaction_dummy(c, lv)] for lv in LEVELS))
    return pd.Series(parts)


def social_multiplier(curve, ratio: float) -> float:
    """1 / (1 - P'(M*)): how much a shift of the curve at a stable equilibrium is amplified.

    A shift dP of the response curve moves the equilibrium by dM* = dP / (1 - P'(M*)).
    """
    slope = float(curve.derivative(ratio))
    if not slope < 1.0:
        raise ParameterError(f"argument 'ratio' = {ratio!r} is not allowed: the curve's slope there is "
                             f"{slope:.4f}, expected a stable equilibrium (slope < 1)")
    return 1.0 / (1.0 - slope)


def age_peak(coefs: Mapping[str, float] | None = None) -> float:
    """The age at which the index peaks: -b_age / (2 b_age^2)."""
    beta = true_coefficients() if coefs is None else pd.Series(coefs, dtype=float)
    return float(-beta["age"] / (2.0 * beta["age_squared"]))


def scenario_point(scenario: str) -> dict[str, float]:
    """Regressor overrides for the paper's policy figures (Section 7).

    * ``figure1``: everyone at the Table 2 means.
    * ``figure2``: the illiterate and primary-educated get junior high school.
    * ``figure3``: information exchange 'very frequently'; help, housing and care 'none/few'.
    * ``figure4``: both; ``figure5``: figure 4 with the intercept raised (see :func:`scenario_curve`).
    """
    means = TABLE2["mean"]
    education = {"primary_school": 0.0,
                 "junior_high_school": 1.0 - means["senior_high_school"] - means["tech_school_or_more"]}
    social = {interaction_dummy("info", lv): float(lv == "very_frequently") for lv in LEVELS}
    social.update({interaction_dummy(c, lv): 0.0 for c in ("help", "housing", "care") for lv in LEVELS})
    points = {"figure1": {}, "figure2": education, "figure3": social,
              "figure4": {**education, **social}, "figure5": {**education, **social}}
    if scenario not in points:
        raise ParameterError(f"argument 'scenario' = {scenario!r} is not allowed: expected one of "
                             f"{', '.join(points)}")
    return points[scenario]


def scenario_curve(scenario: str, intercept: float | None = None) -> ResponseCurve:
    """The representative curve of a policy scenario; ``figure5`` defaults to intercept -4.4399."""
    from mig_lib.peer.tables import FIGURE5_INTERCEPT

    coefs = true_coefficients()
    if intercept is None and scenario == "figure5":
        intercept = FIGURE5_INTERCEPT
    if intercept is not None:
        coefs["intercept"] = float(intercept)
    return representative_curve(scenario_point(scenario), coefs)


@dataclass(frozen=True)
class Equilibrium:
    ratio: float
    slope: float  # slope of the response curve at the fixed point

    @property
    def stable(self) -> bool:
        return self.slope < 1.0


def find_equilibria(curve: Callable[[np.ndarray], np.ndarray], n_grid: int = 4001,
                    derivative: Callable[[np.ndarray], np.ndarray] | None = None) -> list[Equilibrium]:
    """Every fixed point M* = curve(M*) in [0, 1], in increasing order, with its stability.

    A dense grid brackets every sign change of curve(M) - M and Brent's method polishes each;
    a fixed point exactly on a grid node is kept as is. The slope is ``derivative`` when
    given, else a central difference. Tangencies (double roots) between grid nodes can be
    missed: they are non-generic and exist only at a bifurcation value.
    """
    if n_grid < 3:
        raise ParameterError(f"argument 'n_grid' = {n_grid!r} is not allowed: expected an integer >= 3")
    grid = np.linspace(0.0, 1.0, n_grid)
    gap = np.asarray(curve(grid), dtype=float) - grid
    roots = [float(grid[i]) for i in np.flatnonzero(gap == 0.0)]
    change = np.flatnonzero(np.sign(gap[:-1]) * np.sign(gap[1:]) < 0)
    for i in change:
        roots.append(float(brentq(lambda m: float(curve(m)) - m, grid[i], grid[i + 1], xtol=1e-13)))
    roots.sort()
    out = []
    for m in roots:
        if derivative is not None:
            slope = float(derivative(m))
        else:
            h = 1e-6
            slope = float((curve(m + h) - curve(m - h)) / (2 * h))
        out.append(Equilibrium(m, slope))
    return out


def stable_equilibria(curve: ResponseCurve) -> list[Equilibrium]:
    return [e for e in find_equilibria(curve, derivative=curve.derivative) if e.stable]


def low_equilibrium(curve: ResponseCurve) -> float:
    """The lowest stable equilibrium: where a village starting from M = 0 settles."""
    return stable_equilibria(curve)[0].ratio


def high_equilibrium(curve: ResponseCurve) -> float | None:
    """The highest stable equilibrium if it lies above one half (a 'high-level' one), else None."""
    top = stable_equilibria(curve)[-1].ratio
    return top if top > 0.5 else None


def reached_equilibrium(curve, start: float, n_grid: int = 4001) -> float:
    """The stable equilibrium that myopic adjustment M_{t+1} = P(M_t) reaches from ``start``.

    The curve is increasing, so the sequence is monotone: up to the first fixed point above
    ``start`` when P(start) > start, down to the last one below it otherwise.
    """
    eqs = [e.ratio for e in find_equilibria(curve, n_grid=n_grid, derivative=curve.derivative)]
    if float(curve(start)) >= start:
        return min(m for m in eqs if m >= start - 1e-12)
    return max(m for m in eqs if m <= start + 1e-12)


def intercept_for_high_equilibrium(slope: float, base_index: float, base_intercept: float) -> float:
    """The smallest intercept at which a stable equilibrium above one half exists.

    With P(M) = Phi(a + s M): for s <= sqrt(2 pi) the curve is never steeper than the
    45-degree line, the equilibrium is unique and it passes 1/2 when a + s/2 >= 0. For steeper
    curves a high equilibrium is born at a saddle-node (fold): the curve is tangent to the
    diagonal, s phi(u) = 1, on its concave upper part u = +sqrt(2 log(s / sqrt(2 pi))), at
    M = Phi(u) > 1/2, so a = u - s Phi(u). ``base_index`` is the index at M = 0 when the
    intercept is ``base_intercept``; the intercept enters the index one for one.
    """
    if slope <= np.sqrt(2 * np.pi):
        a_needed = -slope / 2.0
    else:
        u_star = np.sqrt(2.0 * np.log(slope / np.sqrt(2.0 * np.pi)))
        a_needed = u_star - slope * norm.cdf(u_star)
    return float(base_intercept + (a_needed - base_index))


def bifurcation_diagram(slope: float, index_shifts: np.ndarray, base_index: float) -> pd.DataFrame:
    """Every equilibrium (stable or not) of Phi(base_index + shift + slope M) for each shift.

    Returns one row per (shift, equilibrium): shift, ratio, slope, stable, branch.
    """
    rows = []
    for shift in np.asarray(index_shifts, dtype=float):
        curve = ResponseCurve(base_index + float(shift), slope)
        eqs = find_equilibria(curve, derivative=curve.derivative)
        for k, e in enumerate(eqs):
            branch = "unstable" if not e.stable else ("low" if k == 0 and len(eqs) > 1 else
                                                       ("high" if len(eqs) > 1 else "unique"))
            rows.append({"shift": float(shift), "ratio": e.ratio, "curve_slope": e.slope,
                         "stable": e.stable, "branch": branch})
    return pd.DataFrame(rows)


def curve_parameters() -> ParameterTable:
    """The notation table of the representative curve (Figure 1 scenario)."""
    curve = representative_curve()
    rows = [
        ("peer_effect_J", float(TABLE3.loc["peer", "coef"]), 0.0, 10.0, "J",
         "baseline peer effect: coefficient of the village migration ratio M"),
        ("lambda_info_very_frequently", float(TABLE3.loc["peer_x_info_very_frequently", "coef"]), -10.0, 10.0,
         r"\lambda_{info,1}", "extra peer effect when information exchange is 'very frequent'"),
        ("female_coefficient", female_coefficient(), -5.0, 5.0, r"\beta_{female}",
         "female coefficient backed out from the -4.36 point marginal effect"),
        ("intercept", float(TABLE3.loc["intercept", "coef"]), -20.0, 20.0, r"\beta_0", "probit intercept"),
        ("index_at_zero", curve.index_at_zero, -20.0, 20.0, r"\alpha = \bar x'\beta",
         "representative index x'beta at M = 0 (Table 2 means)"),
        ("curve_slope", curve.slope, -20.0, 20.0, r"\gamma = J + \sum \lambda_{rt}\bar D_{rt}",
         "slope of the index in M at the mean interaction shares"),
    ]
    return ParameterTable(rows)


def apply_scenario(frame: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """Individual-level version of :func:`scenario_point`: the policy applied to every person.

    Figure 2 moves the illiterate and primary-educated to junior high; figure 3 sets
    information exchange to 'very frequently' and help, housing and care to 'none/few'.
    """
    scenario_point(scenario)  # validates the name
    out = frame.copy()
    if scenario in ("figure2", "figure4", "figure5"):
        low = 1.0 - out["senior_high_school"] - out["tech_school_or_more"]
        out["primary_school"] = 0.0
        out["junior_high_school"] = low
    if scenario in ("figure3", "figure4", "figure5"):
        for lv in LEVELS:
            out[interaction_dummy("info", lv)] = float(lv == "very_frequently")
            for c in ("help", "housing", "care"):
                out[interaction_dummy(c, lv)] = 0.0
    return out


def individual_curve_terms(frame: pd.DataFrame, coefs: Mapping[str, float] | None = None,
                           intercept: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each person's index at M = 0 and slope in M: P_i(M) = Phi(a_i + s_i M)."""
    beta = true_coefficients() if coefs is None else pd.Series(coefs, dtype=float).copy()
    if intercept is not None:
        beta["intercept"] = float(intercept)
    non_peer = [t for t in beta.index if t != "peer" and not t.startswith("peer_x_")]
    data = frame.assign(intercept=1.0)
    index = data[non_peer].to_numpy(dtype=float) @ beta[non_peer].to_numpy()
    slope = np.full(len(frame), beta["peer"])
    for c in CATEGORIES:
        for lv in LEVELS:
            slope = slope + beta[interaction_term(c, lv)] * data[interaction_dummy(c, lv)].to_numpy(dtype=float)
    return index, slope


@dataclass(frozen=True)
class SampleAverageCurve:
    """The paper's Figure 1 object: the mean over people of Phi(a_i + s_i M)."""

    index_at_zero: np.ndarray
    slope: np.ndarray

    def probability(self, ratio):
        r = np.atleast_1d(np.asarray(ratio, dtype=float))
        # scipy.special.ndtr: the normal cdf without scipy.stats' argument checks (grids of people x ratios)
        values = ndtr(self.index_at_zero[None, :] + self.slope[None, :] * r[:, None]).mean(axis=1)
        return values if np.ndim(ratio) else float(values[0])

    def derivative(self, ratio):
        r = np.atleast_1d(np.asarray(ratio, dtype=float))
        values = (self.slope[None, :] * norm.pdf(self.index_at_zero[None, :]
                                                  + self.slope[None, :] * r[:, None])).mean(axis=1)
        return values if np.ndim(ratio) else float(values[0])

    def __call__(self, ratio):
        return self.probability(ratio)
