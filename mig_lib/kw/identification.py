"""Identification and power: the Fisher information of a panel at the truth, before estimating.

At the true parameters the information matrix equals the expected outer product of the
per-person scores, I = E[s_i s_i'] (the information-matrix equality), so on a simulated panel

    I_N = Σ_i s_i s_i',      s_i = ∂ log L_i(θ) / ∂θ  at the truth,

estimates the information of that panel. Its inverse is the covariance an estimator would reach;
a parameter whose information is (nearly) a combination of the others' is not identified by the
panel. Because I_N grows in proportion to the number of people, a panel of n people has standard
errors se_N · sqrt(N / n): the number of people needed for a target standard error follows.
The report depends on the geography, the panel length and the observation frequency of the
simulated panel, which is why it is computed on the same design as the estimation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.core.mle import Scores


def per_person_scores(loglik_per_person: Callable[[ParameterTable], np.ndarray], table: ParameterTable,
                      names: Sequence[str], values: Mapping[str, float] | None = None,
                      step: float = 1e-4, scores: Scores | None = None) -> np.ndarray:
    """(N, K) scores ∂ log L_i/∂θ_k in the table's natural units.

    Exact when ``scores`` (the estimator's, e.g. :class:`mig_lib.kw.gradient.ExactScores`) is given;
    otherwise central differences with step ``step * max(1, |θ_k|)``, one-sided next to a bound of
    the table, so the likelihood is never evaluated outside the parameter space.
    """
    base = table.with_values(dict(values or {}))
    if scores is not None:
        result = np.asarray(scores(base, list(names))[1], dtype=float)
        if not np.all(np.isfinite(result)):
            raise ParameterError("the per-person scores are not finite at these parameter values")
        return result
    columns = []
    for name in names:
        lower, upper = table.bounds(name)
        h = step * max(1.0, abs(base[name]))
        up_value, down_value = min(base[name] + h, upper), max(base[name] - h, lower)
        if up_value - down_value <= 0:
            raise ParameterError(f"parameter {name!r} = {base[name]!r} has no room inside its bounds [{lower}, {upper}]")
        up = np.asarray(loglik_per_person(base.with_values({name: up_value})), dtype=float)
        down = np.asarray(loglik_per_person(base.with_values({name: down_value})), dtype=float)
        columns.append((up - down) / (up_value - down_value))
    scores = np.column_stack(columns)
    if not np.all(np.isfinite(scores)):
        raise ParameterError("the per-person scores are not finite at these parameter values")
    return scores


def identification_report(loglik_per_person: Callable[[dict], np.ndarray], table: ParameterTable,
                          names: Sequence[str], values: Mapping[str, float] | None = None,
                          relative_precision: float = 0.2, floor: float = 0.1, step: float = 1e-4,
                          tolerance: float = 1e-8, scores: Scores | None = None) -> pd.DataFrame:
    """Standard errors at the truth and the panel size each parameter needs.

    For each parameter: its value, the standard error this panel would give (from the inverse
    outer-product information), the target standard error ``relative_precision · max(|θ|, floor)``
    and the number of people needed to reach it. A parameter on a direction of (near-)zero
    information (smallest eigenvalue of the correlation-form information below ``tolerance``, loading
    above 0.3) is reported as not identified, with no standard error. ``scores`` (optional) gives
    exact per-person scores, the same the estimator uses (see :func:`per_person_scores`).
    """
    names = list(names)
    if not names:
        raise ParameterError("names = [] is not allowed: expected at least one parameter")
    if not (0 < relative_precision and floor > 0):
        raise ParameterError(f"relative_precision = {relative_precision!r} and floor = {floor!r} must be positive")
    base = table.with_values(dict(values or {}))
    person_scores = per_person_scores(loglik_per_person, table, names, values, step, scores)
    n_people = person_scores.shape[0]
    information = person_scores.T @ person_scores
    scale = np.sqrt(np.diag(information))
    flat = set()
    if np.any(scale == 0):
        flat.update(n for n, s in zip(names, scale) if s == 0)
    safe = np.where(scale > 0, scale, 1.0)
    eigenvalues, eigenvectors = np.linalg.eigh(information / np.outer(safe, safe))
    for k in np.flatnonzero(eigenvalues <= tolerance * max(eigenvalues.max(), 1.0)):
        flat.update(names[i] for i in np.flatnonzero(np.abs(eigenvectors[:, k]) > 0.3))
    keep = [i for i, n in enumerate(names) if n not in flat]
    se = np.full(len(names), np.nan)
    if keep:
        covariance = np.linalg.inv(information[np.ix_(keep, keep)])
        se[keep] = np.sqrt(np.diag(covariance))
    rows = []
    for k, name in enumerate(names):
        target = relative_precision * max(abs(base[name]), floor)
        needed = math.ceil(n_people * (se[k] / target) ** 2) if np.isfinite(se[k]) else np.nan
        rows.append({"parameter": name, "value": base[name], "se at the truth": se[k],
                     "target se": target, "people needed": needed,
                     "identified": name not in flat, "precise enough": bool(np.isfinite(se[k]) and se[k] <= target)})
    report = pd.DataFrame(rows).set_index("parameter")
    report.attrs.update(n_people=n_people, relative_precision=relative_precision, floor=floor)
    return report
