"""Marginal effects of the probit with peer-effect interactions.

* :func:`appendix1_marginal_effects` -- the paper's Appendix 1 (eqs 15-17): the baseline peer
  effect with every interaction at 'none/few', and each interaction's departure from it.
* :func:`table3_marginal_effects` -- Table 3's column for the other regressors, Stata style
  (discrete change for dummies, phi(z) * coef for continuous regressors, at the means).
* :func:`interaction_effect` -- the Ai-Norton (2003) interaction effect of a fitted probit,
  averaged over the sample, with a delta-method standard error, next to the naive one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from mig_lib.core import ParameterError
from mig_lib.peer.model import SQUARED, discrete_change, representative_curve, sample_means, true_coefficients
from mig_lib.peer.tables import CATEGORIES, INTERACTION_DUMMIES, LEVELS, interaction_dummy, interaction_term

#: Table 3 regressors that are dummies (Stata reports a discrete change for them).
DUMMY_REGRESSORS = ("female", "married", "communist", "health_very_good", "health_good", "health_so_so",
                    "health_bad", "primary_school", "junior_high_school", "senior_high_school",
                    "tech_school_or_more", "friends_outside", "friends_village_cadre", "mountain_area",
                    "hill_area")


def appendix1_marginal_effects(coefs: Mapping[str, float] | None = None, ratio: float | None = None,
                               point: Mapping[str, float] | None = None) -> pd.Series:
    """Eqs (15)-(17): ``peer_baseline`` and ``<category>_<level>`` departures from it.

    Baseline: every interaction dummy at 0 ('none/few'), other regressors at the Table 2 means
    (or ``point``), M at its mean (or ``ratio``)::

        peer_baseline = phi(x'b + J M) J
        <c>_<l>       = phi(x'b + (J + lambda_cl) M) (J + lambda_cl) - peer_baseline
    """
    beta = true_coefficients() if coefs is None else pd.Series(coefs, dtype=float)
    m = float(sample_means()["peer"]) if ratio is None else float(ratio)
    at_baseline = {**(point or {}), **{d: 0.0 for d in INTERACTION_DUMMIES}}
    curve = representative_curve(at_baseline, beta)
    J = beta["peer"]
    z0 = curve.index_at_zero + J * m
    baseline = float(norm.pdf(z0) * J)
    out = {"peer_baseline": baseline}
    for c in CATEGORIES:
        for lv in LEVELS:
            lam = beta[interaction_term(c, lv)]
            out[interaction_dummy(c, lv)] = float(norm.pdf(z0 + lam * m) * (J + lam) - baseline)
    return pd.Series(out)


def peer_marginal_effect_at_means(coefs: Mapping[str, float] | None = None) -> float:
    """dP/dM with every regressor (interaction shares included) at its mean: phi(z)(J + sum lambda s)."""
    curve = representative_curve(None, coefs)
    m = float(sample_means()["peer"])
    return float(curve.derivative(m))


def table3_marginal_effects(coefs: Mapping[str, float] | None = None) -> pd.Series:
    """The marginal effects of Table 3's non-peer regressors at the Table 2 means, Stata style.

    Dummies: discrete change 0 -> 1 with the others at their means. Continuous regressors:
    phi(z) * coef, squares treated as separate regressors (this is what Stata's mfx prints for
    ``village per capita income`` and its square), except ``age``, for which the Table 3 footnote
    gives the derivative including the square, phi(z) (b_age + 2 b_age2 age), at the mean age.
    """
    beta = true_coefficients() if coefs is None else pd.Series(coefs, dtype=float)
    means = sample_means()
    curve = representative_curve(None, beta)
    z = curve.index_at_zero + curve.slope * means["peer"]
    dens = norm.pdf(z)
    out = {}
    for term in beta.index:
        if term in ("intercept", "peer", "age_squared") or term.startswith("peer_x_"):
            continue
        if term in DUMMY_REGRESSORS:
            out[term] = discrete_change(z, beta[term], means[term])
        elif term == "age":
            out[term] = float(dens * (beta["age"] + 2 * beta["age_squared"] * means["age"]))
        else:
            out[term] = float(dens * beta[term])
    return pd.Series(out)


def age_marginal_effect_line(coefs: Mapping[str, float] | None = None) -> tuple[float, float]:
    """(intercept, slope) of the age marginal effect phi(z)(b_age + 2 b_age2 age) in age."""
    beta = true_coefficients() if coefs is None else pd.Series(coefs, dtype=float)
    means = sample_means()
    curve = representative_curve(None, beta)
    dens = float(norm.pdf(curve.index_at_zero + curve.slope * means["peer"]))
    return dens * beta["age"], -2.0 * dens * beta["age_squared"]


def table3_interactions() -> dict[str, str]:
    """Every ratio interaction of Table 3: ``peer_x_<category>_<level>`` -> its dummy ``<category>_<level>``."""
    return {interaction_term(c, lv): interaction_dummy(c, lv) for c in CATEGORIES for lv in LEVELS}


def interaction_effect(params: pd.Series, cov: pd.DataFrame, frame: pd.DataFrame, ratio_col: str,
                       dummy_col: str, term_col: str, sibling_terms: Sequence[str] = (),
                       interactions: Mapping[str, str] | None = None) -> dict[str, float]:
    """Ai-Norton interaction effect of (ratio x dummy) in a fitted probit, averaged over ``frame``.

    The ratio enters the index directly and through *every* interaction in the model,
    ``interactions`` (term column -> dummy column; default ``{term_col: dummy_col}``, a model with
    one interaction). For each observation the derivative of P in the ratio is
    ``phi(u) (J + sum_t lambda_t D_t)``; the effect is its value with ``dummy_col`` at 1 minus its
    value at the baseline (``dummy_col`` and the dummies of ``sibling_terms``, the other levels of
    the same category, at 0), every other dummy at the observation's own value, averaged over the
    sample. Its standard error comes from the delta method with the analytic gradient in the
    coefficients. ``naive`` is what treating the product as its own regressor gives, the average
    of ``phi(u) * lambda``.

    ``params``/``cov`` come from a fitted statsmodels probit whose exog columns are in ``frame``
    (a dummy may be absent from the model, as in Table 3 where only the interactions enter).
    """
    columns = list(params.index)
    interactions = {term_col: dummy_col} if interactions is None else dict(interactions)
    for name, col in (("ratio_col", ratio_col), ("term_col", term_col)):
        if col not in columns:
            raise ParameterError(f"argument {name!r} = {col!r} is not allowed: expected a model regressor")
    if interactions.get(term_col) != dummy_col:
        raise ParameterError(f"argument 'interactions' maps {term_col!r} to {interactions.get(term_col)!r}: "
                             f"expected the dummy {dummy_col!r}")
    for term, dummy in interactions.items():
        if term not in columns:
            raise ParameterError(f"argument 'interactions' names {term!r}, which is not a model regressor")
        if dummy not in frame.columns:
            raise ParameterError(f"argument 'interactions' names dummy {dummy!r}, which 'frame' does not have")
        if not np.allclose(frame[term], frame[ratio_col] * frame[dummy], rtol=0, atol=1e-12):
            raise ParameterError(f"argument 'interactions' pairs {term!r} with {dummy!r}, but the column is not "
                                 f"{ratio_col!r} x {dummy!r}")
    unknown = [t for t in sibling_terms if t not in interactions]
    if unknown:
        raise ParameterError(f"argument 'sibling_terms' names {unknown[0]!r}, which is not in 'interactions'")
    terms = list(interactions)
    ratio = frame[ratio_col].to_numpy(dtype=float)

    def scenario(value: float) -> tuple[np.ndarray, np.ndarray]:
        """Design matrix and interaction dummies with dummy_col at ``value``, its siblings at 0."""
        dummies = frame[[interactions[t] for t in terms]].astype(float).copy()
        dummies.columns = terms
        dummies[term_col] = value
        for sib in sibling_terms:
            dummies[sib] = 0.0
        design = frame[columns].astype(float).copy()
        for t in terms:
            design[t] = ratio * dummies[t].to_numpy()
            if interactions[t] in columns:
                design[interactions[t]] = dummies[t].to_numpy()
        return design.to_numpy(), dummies.to_numpy()

    (X1, D1), (X0, D0) = scenario(1.0), scenario(0.0)
    i_ratio, i_terms = columns.index(ratio_col), [columns.index(t) for t in terms]

    def slope_times_density(X: np.ndarray, D: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each person's dP/dM = s phi(u), and its gradient in b (rows: people)."""
        u = X @ b
        slope = b[i_ratio] + D @ b[i_terms]
        dens = norm.pdf(u)
        grad = -(slope * u * dens)[:, None] * X  # phi'(u) = -u phi(u)
        grad[:, i_ratio] += dens
        grad[:, i_terms] += dens[:, None] * D
        return slope * dens, grad

    b_hat = params.to_numpy(dtype=float)
    d1, g1 = slope_times_density(X1, D1, b_hat)
    d0, g0 = slope_times_density(X0, D0, b_hat)
    value = float(np.mean(d1 - d0))
    grad = (g1 - g0).mean(axis=0)
    se = float(np.sqrt(grad @ cov.loc[columns, columns].to_numpy(dtype=float) @ grad))
    X = frame[columns].to_numpy(dtype=float)
    naive = float(np.mean(norm.pdf(X @ b_hat) * b_hat[columns.index(term_col)]))
    return {"ai_norton": value, "ai_norton_se": se, "naive": naive}
