"""Monte Carlo over synthetic worlds, and the linear-in-means contrast (the reflection problem)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm

from mig_lib.core import DATA_DIR, ParameterError
from mig_lib.core.mle import coverage_standard_error
from mig_lib.peer.estimate import CONTROLS, fit_probit, probit_generalized_residual, table3_regressors
from mig_lib.peer.synthetic import SyntheticWorld, draw_world
from mig_lib.peer.tables import INTERACTION_TERMS

Z95 = float(norm.ppf(0.975))
#: The frozen large Monte Carlo that the chapter shows (``python -m mig_lib.peer.montecarlo``).
FROZEN_PATH = DATA_DIR / "montecarlo" / "peer_effects.json"


def clustered_covariance(fit, groups: np.ndarray) -> np.ndarray:
    """Cluster-robust covariance of a fitted probit, H^-1 (sum_g S_g S_g') H^-1 with Stata's factor.

    S_g sums the score contributions (generalized residual times regressors) of cluster g.
    """
    X = fit.model.exog
    scores = X * probit_generalized_residual(fit.params.to_numpy(), fit.model.endog, X)[:, None]
    codes, _ = pd.factorize(groups)
    by_cluster = np.zeros((codes.max() + 1, X.shape[1]))
    np.add.at(by_cluster, codes, scores)
    n, k, g = X.shape[0], X.shape[1], by_cluster.shape[0]
    bread = fit.cov_params().to_numpy()
    return (g / (g - 1)) * ((n - 1) / (n - k)) * bread @ (by_cluster.T @ by_cluster) @ bread


def replication(seed: int, n_villages: int = 960, terms: Sequence[str] | None = None) -> list[dict]:
    """One Monte Carlo world: draw it with ``seed``, fit Table 3, one row per term.

    Each row holds the truth, the estimate, the model (inverse-Hessian) standard error, the
    standard error clustered by village, and whether each 95% Wald interval covers the truth.
    Module level so that a Dask worker can run it.
    """
    regressors = table3_regressors()
    terms = regressors if terms is None else list(terms)
    world = draw_world(n_villages=n_villages, seed=int(seed))
    fit = fit_probit(world.data, regressors)
    se_cluster = pd.Series(np.sqrt(np.diag(clustered_covariance(fit, world.data["village"].to_numpy()))),
                           index=fit.params.index)
    rows = []
    for t in terms:
        est, se, tru = float(fit.params[t]), float(fit.bse[t]), float(world.truth[t])
        rows.append({"seed": int(seed), "term": t, "converged": bool(fit.mle_retvals["converged"]),
                     "true": tru, "estimate": est, "se": se,
                     "se_cluster": float(se_cluster[t]), "covered": abs(est - tru) <= Z95 * se,
                     "covered_cluster": abs(est - tru) <= Z95 * float(se_cluster[t])})
    return rows


def monte_carlo(n_replications: int, n_villages: int = 960, seed: int = 0,
                terms: Sequence[str] | None = None, parallel: bool = False, **dask_options) -> pd.DataFrame:
    """Draw ``n_replications`` worlds (seeds seed, seed+1, ...) and fit Table 3 on each.

    Returns one row per (replication, term): true, estimate, se, se_cluster, covered (95% Wald
    interval with the model s.e.), covered_cluster. ``parallel`` runs the replications as tasks on
    dask.distributed (:func:`mig_lib.core.distributed.map_tasks`; ``dask_options`` go to it:
    ``client``, ``workers``, ``scheduler``, ``progress``).
    """
    if isinstance(n_replications, bool) or not isinstance(n_replications, (int, np.integer)) or n_replications < 1:
        raise ParameterError(f"argument 'n_replications' = {n_replications!r} is not allowed: expected an integer >= 1")
    task = partial(replication, n_villages=n_villages, terms=None if terms is None else list(terms))
    seeds = [seed + rep for rep in range(n_replications)]
    if parallel:
        from mig_lib.core.distributed import map_tasks

        results = map_tasks(task, seeds, description="peer Monte Carlo", **dask_options)
    else:
        results = [task(s) for s in seeds]
    rows = [dict(row, replication=rep) for rep, rows_ in enumerate(results) for row in rows_]
    return pd.DataFrame(rows)


def summarize(draws: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE, mean SE, s.d. of the estimates, their ratio and 95% coverage per term.

    Replications whose probit did not converge are left out (and counted in ``not_converged``).
    """
    failed = draws.groupby("term", sort=False)["converged"].apply(lambda c: int((~c).sum())) \
        if "converged" in draws else None
    if "converged" in draws:
        draws = draws[draws["converged"]]
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
    if "se_cluster" in draws:
        out["mean_se_cluster"] = g["se_cluster"].mean()
        out["coverage_cluster"] = g["covered_cluster"].mean()
    out["se_over_sd"] = out["mean_se"] / out["sd_estimate"]
    out["not_converged"] = 0 if failed is None else failed.reindex(out.index).fillna(0).astype(int)
    # Monte Carlo standard error of the bias: how far from zero it may be by chance alone
    out["bias_mcse"] = out["sd_estimate"] / np.sqrt(out["replications"])
    # and of a coverage rate, binomial
    out["coverage_mcse"] = coverage_standard_error(out["replications"], out["coverage"])
    return out


def freeze(draws: pd.DataFrame, path, command: str, parameters: dict) -> dict:
    """Write the Monte Carlo summary to JSON with the command, parameters and package versions."""
    import json
    import platform
    from importlib.metadata import version
    from pathlib import Path

    summary = summarize(draws)
    doc = {
        "what": "Monte Carlo of the Table 3 probit on synthetic CHIPS-like worlds (mig_lib.peer.montecarlo)",
        "command": command,
        "parameters": parameters,
        "versions": {"python": platform.python_version(),
                     **{pkg: version(pkg) for pkg in ("numpy", "scipy", "pandas", "statsmodels", "dask", "distributed")}},
        "replications": int(draws["replication"].nunique()),
        # a statistic that cannot be computed (one converged replication has no spread) is null
        "terms": {term: {k: (int(v) if isinstance(v, (int, np.integer)) else (float(v) if np.isfinite(v) else None))
                         for k, v in row.items()} for term, row in summary.iterrows()},
        # every replication, so a reader can recompute any statistic (seeds in replication order)
        "seeds": [int(x) for x in draws.groupby("replication")["seed"].first()],
        "draws": {term: {col: [round(float(x), 6) for x in group.sort_values("replication")[col]]
                         for col in ("estimate", "se", "se_cluster")}
                  for term, group in draws.groupby("term", sort=False)},
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m mig_lib.peer.montecarlo --replications 200 --out data/montecarlo/peer_effects.json``."""
    import argparse
    import shlex
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--n-villages", type=int, default=960)
    parser.add_argument("--seed", type=int, default=3002)
    parser.add_argument("--workers", type=int, default=None, help="Dask LocalCluster workers (default: cores)")
    parser.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    parser.add_argument("--serial", action="store_true", help="run without dask.distributed")
    parser.add_argument("--out", default=str(FROZEN_PATH))
    args = parser.parse_args(argv)
    options = {} if args.serial else {"workers": args.workers, "scheduler": args.scheduler}
    options = {k: v for k, v in options.items() if v is not None}
    draws = monte_carlo(args.replications, n_villages=args.n_villages, seed=args.seed,
                        terms=["peer", *INTERACTION_TERMS], parallel=not args.serial, **options)
    command = "python -m mig_lib.peer.montecarlo " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    doc = freeze(draws, args.out, command, {"replications": args.replications, "n_villages": args.n_villages,
                                            "first_seed": args.seed, "parallel": not args.serial})
    peer = doc["terms"]["peer"]
    print(f"peer: coverage {peer['coverage']:.3f} (clustered {peer['coverage_cluster']:.3f}), "
          f"mean s.e. {peer['mean_se']:.4f}, s.d. of estimates {peer['sd_estimate']:.4f}")


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


if __name__ == "__main__":
    main()
