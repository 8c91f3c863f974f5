"""Monte Carlo over synthetic worlds, and the linear-in-means contrast (the reflection problem)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm

from mig_lib.core import ParameterError
from mig_lib.peer.estimate import CONTROLS, fit_probit, table3_regressors
from mig_lib.peer.synthetic import SyntheticWorld, draw_world

Z95 = float(norm.ppf(0.975))


def monte_carlo(n_replications: int, n_villages: int = 960, seed: int = 0,
                terms: Sequence[str] | None = None) -> pd.DataFrame:
    """Draw ``n_replications`` worlds (seeds seed, seed+1, ...) and fit Table 3 on each.

    Returns one row per (replication, term): true, estimate, se, covered (95% Wald interval).
    """
    if isinstance(n_replications, bool) or not isinstance(n_replications, (int, np.integer)) or n_replications < 1:
        raise ParameterError(f"argument 'n_replications' = {n_replications!r} is not allowed: expected an integer >= 1")
    regressors = table3_regressors()
    terms = regressors if terms is None else list(terms)
    rows = []
    for rep in range(n_replications):
        world = draw_world(n_villages=n_villages, seed=seed + rep)
        fit = fit_probit(world.data, regressors)
        for t in terms:
            est, se, tru = float(fit.params[t]), float(fit.bse[t]), float(world.truth[t])
            rows.append({"replication": rep, "term": t, "true": tru, "estimate": est, "se": se,
                         "covered": abs(est - tru) <= Z95 * se})
    return pd.DataFrame(rows)


def summarize(draws: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE, mean SE, s.d. of the estimates and 95% coverage per term."""
    g = draws.assign(error=draws["estimate"] - draws["true"]).groupby("term", sort=False)
    out = pd.DataFrame({
        "true": g["true"].first(),
        "bias": g["error"].mean(),
        "rmse": g["error"].apply(lambda e: float(np.sqrt(np.mean(e**2)))),
        "sd_estimate": g["estimate"].std(ddof=1),
        "mean_se": g["se"].mean(),
        "coverage": g["covered"].mean(),
        "replications": g["estimate"].size(),
    })
    # Monte Carlo standard error of the bias: how far from zero it may be by chance alone
    out["bias_mcse"] = out["sd_estimate"] / np.sqrt(out["replications"])
    return out


def _village_means(world: SyntheticWorld, columns: Sequence[str]) -> pd.DataFrame:
    return world.data.groupby("village")[list(columns)].mean()


def reflection_contrast(world: SyntheticWorld) -> dict[str, float]:
    """How well the village means of the regressors predict the equilibrium ratio.

    * probit world: the village's expected ratio, a *nonlinear* function of its members;
    * linear-in-means world: the same members and a linear probability model
      y = a + x'b + J m with the probit's slopes at the means; rational expectations give
      m_v = (a + xbar_v'b) / (1 - J), an exact linear function of the village means.

    Returns the R^2 of each ratio on the village means (1 means Manski's reflection problem:
    the peer effect cannot be separated from the contextual effects), and the smallest
    singular value of the standardized design [village means, ratio] in each world.
    """
    controls = [c for c in CONTROLS if c != "intercept"]
    slopes = [c for c in world.data.columns if c.startswith("peer_x_") and not c.endswith("_score")]
    dummies = [c.removeprefix("peer_x_") for c in slopes]
    means = _village_means(world, controls + dummies)
    X = sm.add_constant(means)
    m_probit = world.data.groupby("village")["village_expected_ratio"].first()
    # the linear-probability analogue: slopes scaled by phi at the index of the mean person
    beta = world.truth
    index_mean = float(world.data[controls].mean() @ beta[controls] + beta["intercept"])
    scale = float(norm.pdf(index_mean + beta["peer"] * m_probit.mean()))
    J_lin = float(np.clip(beta["peer"] * scale, -0.9, 0.9))
    a_lin = float(norm.cdf(index_mean) - scale * index_mean)
    m_linear = (a_lin + means[controls].to_numpy() @ (scale * beta[controls].to_numpy())) / (1 - J_lin)
    out = {}
    for name, m in (("probit", m_probit.to_numpy()), ("linear", m_linear)):
        fit = sm.OLS(m, X).fit()
        design = np.column_stack([X.to_numpy()[:, 1:], m])
        design = (design - design.mean(0)) / design.std(0)
        out[f"{name}/r_squared"] = float(fit.rsquared)
        out[f"{name}/smallest_singular_value"] = float(np.linalg.svd(design, compute_uv=False)[-1])
    return out
