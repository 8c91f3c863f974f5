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


def _design_with(frame: pd.DataFrame, columns: Sequence[str], ratio_col: str, dummy_col: str,
                 term_col: str, dummy_value: float, sibling_terms: Sequence[str] = ()) -> np.ndarray:
    """The design matrix with the dummy fixed at ``dummy_value`` and its interaction rebuilt.

    ``sibling_terms`` (the other levels of the same category) are set to zero: the levels are
    exclusive, so the comparison is 'this level' against the 'none/few' baseline.
    """
    data = frame.loc[:, list(columns)].copy()
    data[dummy_col] = dummy_value
    data[term_col] = data[ratio_col] * dummy_value
    for sib in sibling_terms:
        if sib in data.columns:
            data[sib] = 0.0
    return data.to_numpy(dtype=float)


def interaction_effect(params: pd.Series, cov: pd.DataFrame, frame: pd.DataFrame, ratio_col: str,
                       dummy_col: str, term_col: str, sibling_terms: Sequence[str] = ()) -> dict[str, float]:
    """Ai-Norton interaction effect of (ratio x dummy) in a fitted probit, averaged over ``frame``.

    For each observation the cross-difference of P in the dummy of the derivative in the ratio,
    ``(J + lambda) phi(u1) - J phi(u0)`` with ``u1``/``u0`` the index at dummy 1/0, is averaged;
    its standard error comes from the delta method with a numerical gradient in the
    coefficients. ``naive`` is what treating the product as its own regressor gives,
    the average of ``phi(u) * lambda``.

    ``params``/``cov`` come from a fitted statsmodels probit whose exog columns are in ``frame``
    (the dummy itself may be absent from the model, as in Table 3 where only the interaction
    enters; it then has coefficient 0).
    """
    columns = list(params.index)
    for name, col in (("ratio_col", ratio_col), ("term_col", term_col)):
        if col not in columns:
            raise ParameterError(f"argument {name!r} = {col!r} is not allowed: expected a model regressor")
    has_dummy = dummy_col in columns
    if dummy_col not in frame.columns:
        raise ParameterError(f"argument 'dummy_col' = {dummy_col!r} is not allowed: expected a column of 'frame'")
    X = frame.loc[:, columns].to_numpy(dtype=float)
    work = frame.loc[:, columns].copy()
    if not has_dummy:
        work[dummy_col] = frame[dummy_col]
        cols = columns + [dummy_col]
    else:
        cols = columns
    X1 = _design_with(work, cols, ratio_col, dummy_col, term_col, 1.0, sibling_terms)
    X0 = _design_with(work, cols, ratio_col, dummy_col, term_col, 0.0, sibling_terms)
    i_ratio, i_term = cols.index(ratio_col), cols.index(term_col)

    def effect(b_model: np.ndarray) -> float:
        b = np.append(b_model, 0.0) if not has_dummy else b_model
        u1, u0 = X1 @ b, X0 @ b
        # derivative in the ratio at dummy=1 minus at dummy=0 (ratio enters directly and via the term)
        return float(np.mean((b[i_ratio] + b[i_term]) * norm.pdf(u1) - b[i_ratio] * norm.pdf(u0)))

    b_hat = params.to_numpy(dtype=float)
    value = effect(b_hat)
    step = 1e-6 * np.maximum(1.0, np.abs(b_hat))
    grad = np.array([(effect(b_hat + e) - effect(b_hat - e)) / (2 * e[k])
                     for k, e in enumerate(np.diag(step))])
    se = float(np.sqrt(grad @ cov.to_numpy(dtype=float) @ grad))
    naive = float(np.mean(norm.pdf(X @ b_hat) * b_hat[columns.index(term_col)]))
    return {"ai_norton": value, "ai_norton_se": se, "naive": naive}
