"""Kennan–Walker maximum likelihood: simulate a panel, estimate it, repeat (Monte Carlo).

The generic machinery (transforms, optimiser, Newton polish, covariances, the result object and
its recovery check) is :mod:`mig_lib.core.mle`; this module plugs in the Kennan–Walker likelihood
(:class:`mig_lib.kw.likelihood.KWLikelihood`) and its exact scores
(:class:`mig_lib.kw.gradient.ExactScores`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd
from scipy.stats import norm

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.core.distributed import map_tasks
from mig_lib.core.mle import EstimationResult, maximize_likelihood
from mig_lib.kw.data import panel_arrays, panel_from_simulation
from mig_lib.kw.gradient import ExactScores
from mig_lib.kw.likelihood import (MIXTURE_ONLY_PARAMETERS, WAGE_ONLY_PARAMETERS, KWLikelihood,
                                   estimable_parameters)
from mig_lib.kw.model import build_model, education_groups
from mig_lib.kw.resources import check_kw_estimation_request
from mig_lib.kw.simulate import simulate_panel
from mig_lib.kw.solve import solve

# ----------------------------------------------------------------------------------------------
# Kennan–Walker: simulate a panel, estimate, repeat (Monte Carlo)
# ----------------------------------------------------------------------------------------------
#: Options the chapter uses for the Kennan–Walker MLE: L-BFGS-B until an iteration improves the mean
#: log-likelihood by less than 1e-6 (relative), then BHHH until a full step would gain under 0.001
#: log points (one standard error is worth about 0.5), then the Newton polish with the Hessian.
#: L-BFGS-B alone spent 60% of its calls crawling the last 0.06 log points along the flat valley of
#: the type-2 moving cost and the type share; BHHH's curvature (the scores' outer product) sees
#: that valley. On the book problem (one thread each, idle machine): 246 -> 114 gradient calls from the
#: page's shifted start, 206 -> 91 from the truth, the same maximum to 1e-6 log points. Going
#: straight from L-BFGS-B to the Newton polish (now that L-BFGS-B's gradients are reverse mode and
#: BHHH's per-person scores cost more) took 32 s instead of 72 s on the book problem, but on full
#: China its five Newton steps with one finite-difference Hessian stalled at a gradient norm of
#: 0.0026 (Newton decrement 0.0004): not converged, so BHHH stays.
KW_OPTIONS = {"optimizer": "lbfgsb-bhhh", "handover_tolerance": 1e-6, "bhhh_gain_tolerance": 1e-3,
              "function_tolerance": 1e-9, "gradient_tolerance": 1e-5}


def simulate_estimation_panel(geography, params: ParameterTable, n_people: int, n_years: int, seed: int,
                              ages=range(20, 60), n_nu: int = 3, observed_every: int = 1, n_xi: int = 1) -> pd.DataFrame:
    """A survey-like panel (see :mod:`mig_lib.kw.data`) of the first ``n_years`` of simulated lives,
    observed every ``observed_every`` years (education groups in equal shares)."""
    solution = solve(build_model(geography, params=params, ages=ages, n_nu=n_nu, n_xi=n_xi))
    return panel_from_simulation(simulate_panel(solution, n_people, seed=seed), geography.codes, n_years,
                                 observed_every=observed_every)


def estimate_kw(geography, frame: pd.DataFrame, params: ParameterTable, names: Sequence[str] | None = None,
                start: Mapping[str, float] | None = None, ages=range(20, 60), n_nu: int = 3, observed_every: int = 1,
                finite_differences: bool = False, n_xi: int = 1, **options) -> tuple[EstimationResult, KWLikelihood]:
    """Maximum likelihood for the Kennan–Walker model on a panel frame.

    ``params`` supplies the bounds and the values of the parameters that are not estimated;
    ``names`` defaults to :func:`mig_lib.kw.likelihood.estimable_parameters`; ``observed_every`` is the
    number of years between a person's observations (2 for CFPS); ``n_xi`` the points of the
    preference match ξ (1: off). The gradient is exact
    (:class:`mig_lib.kw.gradient.ExactScores`) unless ``finite_differences``; ``options`` go to
    :func:`mig_lib.core.mle.maximize_likelihood` over :data:`KW_OPTIONS` (``optimizer="lbfgsb"``,
    ``covariance="sandwich"``,
    ``nelder_mead_check=True``, ``progress=True``, ...). Returns ``(EstimationResult, KWLikelihood)``.
    """
    ages = list(ages)
    if names is None:
        names = estimable_parameters(geography, params, n_xi=n_xi)[0]
    n_people = int(pd.Series(frame["person"]).nunique()) if "person" in frame else 0
    if n_people:
        # refuse (or warn about) a request too large for this machine before allocating anything
        check_kw_estimation_request(
            n_people, int(math.ceil(len(frame) / n_people)), geography.n, len(names),
            sum(n not in WAGE_ONLY_PARAMETERS + MIXTURE_ONLY_PARAMETERS for n in names), n_nu=n_nu, n_xi=n_xi,
            n_ages=len(ages), nelder_mead_check=options.get("nelder_mead_check", False),
            exact_gradient=not finite_differences)
    groups = education_groups(params)
    panel = panel_arrays(frame, geography.codes, (ages[0], ages[-1]), observed_every=observed_every,
                         education_groups=groups if len(groups) > 1 else None)
    likelihood = KWLikelihood(geography, panel, params, ages=ages, n_nu=n_nu, n_xi=n_xi)
    moving_costs = [n for n in names if n.startswith("gamma")]
    if panel.n_moves == 0 and moving_costs:
        # without a single move the likelihood rises without bound as moving gets dearer: the
        # optimiser would stop somewhere along that ray and report it as an estimate
        raise ParameterError(
            f"the panel has no moves ({panel.n_people} people, {panel.n_rows} person-years, nobody changes "
            f"province), so the moving-cost parameters {moving_costs} cannot be estimated: leave them out of "
            "'names' (they stay at their table values) or use a panel with moves")
    scores = None if finite_differences else ExactScores(likelihood)
    # with exact scores, evaluations go through them: the solution of a line search's accepted step
    # is then the one its gradient uses
    evaluate = likelihood.loglik_per_person if scores is None else scores.loglik_per_person
    result = maximize_likelihood(evaluate, params, names, start=start, scores=scores,
                                 **{**KW_OPTIONS, **options})
    return result, likelihood


def _replication(replication: int, geography, params: ParameterTable, names: Sequence[str], n_people: int,
                 n_years: int, seed: int, observed_every: int, options: Mapping, n_xi: int = 1) -> dict:
    """One Monte Carlo replication: simulate a panel with its own seed and re-estimate it."""
    frame = simulate_estimation_panel(geography, params, n_people, n_years, seed=seed + 1 + replication,
                                      observed_every=observed_every, n_xi=n_xi)
    result, _ = estimate_kw(geography, frame, params, names, observed_every=observed_every, n_xi=n_xi, **options)
    row = {"replication": replication, "converged": result.converged, "seconds": result.seconds}
    row.update({f"estimate/{n}": result.estimate[n] for n in names})
    row.update({f"se/{n}": result.se[n] for n in names})
    for kind in ("opg", "sandwich"):
        row.update({f"se_{kind}/{n}": value for n, value in result.standard_errors(kind).items()})
    return row


def replication_task(geography, params: ParameterTable, names: Sequence[str], n_people: int, n_years: int,
                     seed: int, observed_every: int = 1, *, n_xi: int = 1, **options):
    """``task(r)`` -> the row of replication r (seed ``seed + 1 + r``): what :func:`monte_carlo` maps."""
    return partial(_replication, geography=geography, params=params, names=list(names), n_people=n_people,
                   n_years=n_years, seed=seed, observed_every=observed_every, options=dict(options), n_xi=n_xi)


def monte_carlo(geography, params: ParameterTable, names: Sequence[str], n_replications: int, n_people: int,
                n_years: int, seed: int, observed_every: int = 1, *, n_xi: int = 1, client=None,
                workers: int | None = None,
                scheduler: str | None = None, scheduler_file=None, progress: bool = False,
                **options) -> pd.DataFrame:
    """Simulate and re-estimate ``n_replications`` panels from the truth ``params``.

    Replications start at the truth (the usual Monte Carlo design: it measures the sampling
    distribution of the estimator, not the optimiser's search). One row per replication with
    ``estimate/<p>``, ``se/<p>``, ``converged`` and ``seconds``. Replication r always uses the
    seed ``seed + 1 + r``, so the draws do not depend on where they run: one after another in
    this process (the default), or as Dask tasks when ``client``, ``workers``, ``scheduler`` or
    ``scheduler_file`` is given (:func:`mig_lib.core.distributed.map_tasks`: an embedded
    LocalCluster of ``workers`` processes, or an existing cluster).
    """
    task = replication_task(geography, params, names, n_people, n_years, seed, observed_every, n_xi=n_xi, **options)
    if client is None and workers is None and scheduler is None and scheduler_file is None:
        rows = [task(r) for r in range(n_replications)]
    else:
        rows = map_tasks(task, range(n_replications), client=client, workers=workers, scheduler=scheduler,
                         scheduler_file=scheduler_file, progress=progress, description="KW Monte Carlo")
    return pd.DataFrame(rows).set_index("replication")


def monte_carlo_summary(draws: pd.DataFrame, truth: Mapping[str, float], level: float = 0.95) -> pd.DataFrame:
    """Bias, RMSE, mean s.e., s.d. of the estimates and coverage of the ``level`` Wald interval.

    Only converged replications count (``converged share`` says how many did); with the OPG and
    sandwich standard errors in ``draws`` their coverage is reported too. A replication whose
    standard error is missing (a flat direction) does not cover.
    """
    z = norm.ppf(0.5 + level / 2)
    converged = draws["converged"].astype(bool) if "converged" in draws else pd.Series(True, index=draws.index)
    kept = draws[converged]
    names = [c.split("/", 1)[1] for c in draws.columns if c.startswith("estimate/")]
    rows = []
    for name in names:
        est, se = kept[f"estimate/{name}"].to_numpy(), kept[f"se/{name}"].to_numpy()
        error = est - truth[name]
        row = {"parameter": name, "true": truth[name], "mean estimate": est.mean() if len(est) else np.nan,
               "bias": error.mean() if len(est) else np.nan,
               "rmse": float(np.sqrt(np.mean(error ** 2))) if len(est) else np.nan,
               "sd of estimates": est.std(ddof=1) if len(est) > 1 else np.nan,
               "mean se": np.nanmean(se) if np.isfinite(se).any() else np.nan,
               "coverage": float(np.mean(np.abs(error) <= z * se)) if len(est) else np.nan}
        for kind in ("opg", "sandwich"):
            if f"se_{kind}/{name}" in kept:
                other = kept[f"se_{kind}/{name}"].to_numpy()
                row[f"coverage ({kind})"] = float(np.mean(np.abs(error) <= z * other)) if len(est) else np.nan
        row["converged share"] = float(converged.mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index("parameter")
