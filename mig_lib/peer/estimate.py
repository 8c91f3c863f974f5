"""Estimation: the Table 3-5 probits (statsmodels), the Table 6 two-step IV probit.

* :func:`probit_loglike` / :func:`probit_score` -- the probit log-likelihood and its gradient,
  written out so the tests can hold them against statsmodels (and readers can see them).
* :func:`fit_probit` -- statsmodels ``Probit`` on named regressors.
* :func:`table3_regressors`, :func:`table4_regressors`, :func:`table5_regressors` -- the
  specifications.
* :func:`iv_probit` -- Rivers-Vuong (1988) control-function two-step probit with Murphy-Topel
  (1985) standard errors and the Wald test of exogeneity.
"""

from __future__ import annotations

from collections.abc import Sequence
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import log_ndtr

from mig_lib.core import ParameterError
from mig_lib.peer.tables import CATEGORIES, LEVELS, TABLE3, interaction_term

#: Table 3's controls (everything but the peer terms), female included, intercept last.
CONTROLS = tuple(t for t in TABLE3.index if t != "peer" and not t.startswith("peer_x_") and t != "intercept") \
    + ("female", "intercept")
#: The village-level control Table 4 columns 1-2 swap for county dummies.
LAGGED_RATIO = "mig_1998"


def probit_loglike(params: np.ndarray, y: np.ndarray, X: np.ndarray) -> float:
    """sum_i [y_i log Phi(x_i'b) + (1 - y_i) log Phi(-x_i'b)], with log Phi evaluated stably."""
    index = X @ params
    return float(np.sum(y * log_ndtr(index) + (1 - y) * log_ndtr(-index)))


def probit_generalized_residual(params: np.ndarray, y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """d log-likelihood / d index: q phi(q x'b) / Phi(q x'b) with q = 2y - 1 (inverse Mills ratio)."""
    q = 2 * y - 1
    index = q * (X @ params)
    return q * np.exp(stats.norm.logpdf(index) - log_ndtr(index))


def probit_score(params: np.ndarray, y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The gradient of :func:`probit_loglike`: sum_i lambda_i x_i."""
    return X.T @ probit_generalized_residual(params, y, X)


def table3_regressors() -> list[str]:
    """Table 3: the peer effect, all 20 interactions, the controls and the 1998 ratio."""
    return ["peer", *[interaction_term(c, lv) for c in CATEGORIES for lv in LEVELS], *CONTROLS]


def table4_regressors(groups: Sequence[str] | None = None, county_dummies: bool = False,
                      counties: Sequence | None = None) -> list[str]:
    """Table 4: interactions of ``groups`` only (None: all; []: none); county dummies instead of the 1998 ratio.

    With ``county_dummies`` the caller adds dummy columns named ``county_<k>`` for ``counties``
    (all but the first, see :func:`add_county_dummies`).
    """
    groups = list(CATEGORIES) if groups is None else list(groups)
    unknown = [g for g in groups if g not in CATEGORIES]
    if unknown:
        raise ParameterError(f"argument 'groups' has unknown category {unknown[0]!r}: allowed are {', '.join(CATEGORIES)}")
    controls = [c for c in CONTROLS if not (county_dummies and c == LAGGED_RATIO)]
    dummies = [f"county_{k}" for k in list(counties or [])[1:]] if county_dummies else []
    return ["peer", *[interaction_term(c, lv) for c in groups for lv in LEVELS], *controls, *dummies]


def add_county_dummies(frame: pd.DataFrame, county_col: str = "county") -> tuple[pd.DataFrame, list]:
    counties = sorted(frame[county_col].unique())
    dummies = pd.get_dummies(frame[county_col], prefix="county", dtype=float)
    return pd.concat([frame, dummies], axis=1), counties


def table5_regressors(categories: Sequence[str] | None = None) -> list[str]:
    """Table 5: continuous interaction scores (0 none/few ... 4 very frequently) times the ratio."""
    categories = list(CATEGORIES) if categories is None else list(categories)
    return ["peer", *[f"peer_x_{c}_score" for c in categories], *CONTROLS]


def check_probit_data(y: pd.Series, X: pd.DataFrame) -> None:
    """Raise a ParameterError naming the variable when the probit MLE does not exist or is not unique.

    Checked before fitting (statsmodels would only warn, or fail with a bare singular-matrix
    error): an outcome that is not 0/1 or takes one value only; a regressor with missing values;
    a regressor that is constant other than the intercept (a dummy of an education category
    nobody in the data has is all zero); regressors that are exact linear combinations of others;
    a regressor that separates the outcomes perfectly (all 1s above a threshold, all 0s below:
    the coefficient runs off to infinity). A 0/1 regressor one of whose values always goes with
    the same outcome (quasi-complete separation) only warns (:class:`ProbitSeparationWarning`):
    small samples meet it by chance, and the other coefficients remain estimable.
    """
    outcome = y.name
    values = y.to_numpy(dtype=float)
    if np.isnan(values).any() or not np.isin(values, (0.0, 1.0)).all():
        raise ParameterError(f"outcome {outcome!r} must hold only 0 and 1 (no missing values)")
    if values.min() == values.max():
        raise ParameterError(f"outcome {outcome!r} is {values[0]:g} for all {len(values)} observations: a probit "
                             "needs both outcomes")
    for name in X.columns:
        if X[name].isna().any():
            raise ParameterError(f"regressor {name!r} has {int(X[name].isna().sum())} missing value(s)")
    matrix = X.to_numpy(dtype=float)
    constant = [name for k, name in enumerate(X.columns) if np.ptp(matrix[:, k]) == 0]
    intercepts = [name for name in constant if matrix[0, list(X.columns).index(name)] != 0]
    for name in constant:
        if name not in intercepts[:1]:
            value = matrix[0, list(X.columns).index(name)]
            hint = " (a dummy nobody in the data has: drop it or merge its category)" if value == 0 else ""
            raise ParameterError(f"regressor {name!r} is {value:g} for every observation{hint}; it cannot be "
                                 "estimated" + ("" if value == 0 else " alongside the intercept"))
    _check_not_collinear(X, matrix, "regressors")
    one = values == 1
    for k, name in enumerate(X.columns):
        if name in intercepts[:1]:
            continue
        x = matrix[:, k]
        if x[one].min() > x[~one].max() or x[one].max() < x[~one].min():
            raise ParameterError(f"regressor {name!r} separates the outcome {outcome!r} perfectly (every "
                                 f"{outcome} = 1 lies on one side of a threshold): the probit MLE does not exist")
        if np.isin(x, (0.0, 1.0)).all():
            for level in (0.0, 1.0):
                same = values[x == level]
                if same.min() == same.max():
                    # Stata drops such a regressor and its observations; we keep the fit (the other
                    # coefficients are still estimated) but say that this coefficient is meaningless.
                    warnings.warn(
                        f"regressor {name!r} predicts the outcome {outcome!r} perfectly where {name} = {level:g} "
                        f"(all {len(same)} such observations have {outcome} = {same[0]:g}): quasi-complete "
                        f"separation, so the coefficient of {name!r} and its s.e. are meaningless",
                        ProbitSeparationWarning, stacklevel=3)


def _check_not_collinear(X: pd.DataFrame, matrix: np.ndarray, what: str) -> None:
    """Exact collinearity: the eigenvector of the smallest eigenvalue of the scaled X'X names the columns."""
    scale = np.sqrt((matrix ** 2).mean(axis=0))
    scale[scale == 0] = 1.0
    scaled = matrix / scale
    eigenvalues, eigenvectors = np.linalg.eigh(scaled.T @ scaled / len(matrix))
    if eigenvalues[0] <= 1e-10 * eigenvalues[-1]:
        involved = [X.columns[k] for k in np.flatnonzero(np.abs(eigenvectors[:, 0]) > 1e-3)]
        raise ParameterError(f"{what} {involved} are collinear (one is a linear combination of the others): "
                             "drop one of them")


class ProbitSeparationWarning(UserWarning):
    """A 0/1 regressor predicts the outcome perfectly in one of its groups (quasi-complete separation)."""


def fit_probit(frame: pd.DataFrame, regressors: Sequence[str], outcome: str = "migrant"):
    """statsmodels Probit of ``outcome`` on ``regressors`` (Newton, tight tolerance).

    The data are checked first (:func:`check_probit_data`): degenerate data raise one error
    naming the variable instead of a statsmodels warning or a singular-matrix error.
    """
    missing = [r for r in [outcome, *regressors] if r not in frame.columns]
    if missing:
        raise ParameterError(f"argument 'regressors' names column {missing[0]!r}, which 'frame' does not have")
    y, X = frame[outcome].astype(float), frame[list(regressors)].astype(float)
    check_probit_data(y, X)
    return sm.Probit(y, X).fit(method="newton", maxiter=100, tol=1e-10, disp=False)


@dataclass(frozen=True)
class IVProbitResult:
    """Two-step control-function probit.

    ``scaled``: second-stage coefficients (structural / sigma_{eps|v}) with Murphy-Topel SEs;
    ``structural``: rescaled to Var(eps) = 1 (Rivers-Vuong); ``control_coef``: the coefficient
    of the first-stage residual, whose Wald test is the exogeneity test.
    """

    scaled: pd.Series
    scaled_se: pd.Series
    structural: pd.Series
    structural_se: pd.Series
    control_coef: float
    exogeneity_wald: float
    exogeneity_p: float
    first_stage: pd.Series
    first_stage_se: pd.Series
    residual_sd: float
    nobs: int
    first_stage_r2: float = float("nan")
    #: second-step probit log likelihood plus the Gaussian first step's: the joint log likelihood
    #: of (outcome, endogenous regressor) at the two-step estimates
    joint_loglik: float = float("nan")


def iv_probit(frame: pd.DataFrame, outcome: str, endogenous: str, exogenous: Sequence[str],
              instruments: Sequence[str], murphy_topel: bool = True) -> IVProbitResult:
    """Rivers-Vuong two-step probit for one continuous endogenous regressor.

    Step 1 (OLS): endogenous = W pi + v, W = exogenous + instruments.
    Step 2 (probit): outcome on [endogenous, exogenous, v_hat]. Under joint normality of
    (eps, v) the step-2 coefficients are beta / sigma with sigma^2 = 1 - rho^2, and
    beta = b / sqrt(1 + theta^2 sigma_v^2) with theta the v_hat coefficient.
    Standard errors: Murphy-Topel, adding the first step's sampling error (which vanishes when
    theta = 0, so the exogeneity Wald test is the plain z test on theta).
    """
    for name, cols in (("exogenous", exogenous), ("instruments", instruments)):
        if len(cols) == 0 and name == "instruments":
            raise ParameterError("argument 'instruments' = [] is not allowed: expected at least one instrument")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ParameterError(f"argument {name!r} names column {missing[0]!r}, which 'frame' does not have")
    W = frame[list(exogenous) + list(instruments)].astype(float)
    _check_not_collinear(W, W.to_numpy(), "first-stage regressors")
    x = frame[endogenous].astype(float)
    first = sm.OLS(x, W).fit()
    v_hat = first.resid.rename("control_residual")
    Z2 = pd.concat([x, frame[list(exogenous)].astype(float), v_hat], axis=1)
    y = frame[outcome].astype(float)
    check_probit_data(y, Z2)
    second = sm.Probit(y, Z2).fit(method="newton", maxiter=100, tol=1e-10, disp=False)
    theta = second.params.to_numpy()
    V2 = second.cov_params().to_numpy()
    if murphy_topel:
        Wm, Zm = W.to_numpy(), Z2.to_numpy()
        g = probit_generalized_residual(theta, y.to_numpy(), Zm)
        v = v_hat.to_numpy()
        sigma2 = float(v @ v) / (len(v) - Wm.shape[1])
        V1 = sigma2 * np.linalg.inv(Wm.T @ Wm)
        s2 = Zm * g[:, None]  # second-step scores
        d2_dpi = -(g * theta[-1])[:, None] * Wm  # d l2_i / d pi through v_hat = x - W pi
        s1 = Wm * (v / sigma2)[:, None]  # first-step (Gaussian) scores
        C = s2.T @ d2_dpi
        R = s2.T @ s1
        middle = C @ V1 @ C.T - R @ V1 @ C.T - C @ V1 @ R.T
        V = V2 + V2 @ middle @ V2
    else:
        V = V2
    names = list(Z2.columns)
    scaled = pd.Series(theta, index=names)
    scaled_se = pd.Series(np.sqrt(np.clip(np.diag(V), 0, None)), index=names)
    sd_v = float(np.std(v_hat, ddof=len(W.columns)))
    factor = np.sqrt(1 + theta[-1] ** 2 * sd_v**2)
    structural = scaled.iloc[:-1] / factor
    # delta method for b / sqrt(1 + t^2 s^2) in (b, t), s treated as known
    grad_t = -scaled.iloc[:-1].to_numpy() * theta[-1] * sd_v**2 / factor**3
    k = len(names) - 1
    var_struct = (np.diag(V)[:k] / factor**2 + grad_t**2 * V[-1, -1] + 2 * grad_t / factor * V[:k, -1])
    structural_se = pd.Series(np.sqrt(np.clip(var_struct, 0, None)), index=names[:-1])
    wald = float((theta[-1] / np.sqrt(V[-1, -1])) ** 2)
    return IVProbitResult(
        scaled=scaled, scaled_se=scaled_se, structural=structural, structural_se=structural_se,
        control_coef=float(theta[-1]), exogeneity_wald=wald, exogeneity_p=float(stats.chi2.sf(wald, 1)),
        first_stage=first.params, first_stage_se=first.bse, residual_sd=sd_v, nobs=int(len(y)),
        first_stage_r2=float(first.rsquared), joint_loglik=float(second.llf + first.llf),
    )


def recovery_table(result, truth: pd.Series, terms: Sequence[str] | None = None) -> pd.DataFrame:
    """True coefficient, estimate, SE, z and whether the 95% interval covers the truth."""
    terms = list(result.params.index) if terms is None else list(terms)
    est, se = result.params[terms], result.bse[terms]
    tru = truth.reindex(terms)
    z = (est - tru) / se
    return pd.DataFrame({"true": tru, "estimate": est, "se": se, "z": z, "covered": z.abs() <= 1.959964})
