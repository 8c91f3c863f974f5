"""Maximum likelihood on transformed parameters, with Hessian standard errors.

The estimator is generic: it maximises any log-likelihood that returns one contribution per
person, over a chosen subset of a :class:`~mig_lib.core.ParameterTable`, reading the bounds from
the table. The Kennan–Walker chapter plugs in :func:`mig_lib.kw.likelihood.loglik_per_person`.

Steps (the draft's plan, section 4.3):

1. Map each bounded parameter to an unbounded one (logit for two finite bounds, log for one),
   so the optimiser never leaves the parameter space.
2. L-BFGS-B on the mean negative log-likelihood with central-difference gradients; optionally
   several starts (multistart), keeping the best.
3. A Nelder–Mead run started at the optimum checks that the quasi-Newton step did not stop at a
   non-optimum (a kink, a flat direction); if it finds a better point L-BFGS-B restarts there.
4. The Hessian of the log-likelihood in the unbounded coordinates by forward differences of
   the central-difference gradient; its inverse is the covariance there, mapped back with the
   delta method. A few Newton steps with that Hessian finish flat valleys that quasi-Newton
   methods crawl along; convergence is judged by the Newton decrement (log-likelihood left to gain).
5. Identification: near-zero curvature directions of the Hessian are reported and the
   parameters that load on them get no standard error (they are reported, not silently fixed).
"""

from __future__ import annotations

import math
import time
from functools import partial
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.core.distributed import map_tasks

LoglikPerPerson = Callable[[dict[str, float]], np.ndarray]


class EstimationError(RuntimeError):
    """The likelihood cannot be maximised as asked (a non-finite value, or data that cannot identify it)."""


# ----------------------------------------------------------------------------------------------
# Parameter transformations
# ----------------------------------------------------------------------------------------------
def to_unbounded(value: float, lower: float, upper: float) -> float:
    """Map a value inside [lower, upper] to the real line (logit, log or identity)."""
    if math.isfinite(lower) and math.isfinite(upper):
        share = (value - lower) / (upper - lower)
        share = min(max(share, 1e-12), 1 - 1e-12)
        return math.log(share / (1 - share))
    if math.isfinite(lower):
        return math.log(max(value - lower, 1e-300))
    if math.isfinite(upper):
        return -math.log(max(upper - value, 1e-300))
    return float(value)


def from_unbounded(x: float, lower: float, upper: float) -> float:
    """Inverse of :func:`to_unbounded`."""
    if math.isfinite(lower) and math.isfinite(upper):
        return lower + (upper - lower) * _expit(x)
    if math.isfinite(lower):
        return lower + math.exp(min(x, 700.0))
    if math.isfinite(upper):
        return upper - math.exp(min(-x, 700.0))
    return float(x)


def unbounded_derivative(x: float, lower: float, upper: float) -> float:
    """d value / d x of :func:`from_unbounded` (the delta-method Jacobian's diagonal)."""
    if math.isfinite(lower) and math.isfinite(upper):
        p = _expit(x)
        return (upper - lower) * p * (1 - p)
    if math.isfinite(lower):
        return math.exp(min(x, 700.0))
    if math.isfinite(upper):
        return math.exp(min(-x, 700.0))
    return 1.0


def _expit(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


# ----------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------
@dataclass
class EstimationResult:
    """What an MLE run produced; ``summary()`` gives the table the chapter prints."""

    names: list[str]
    estimate: dict[str, float]
    se: dict[str, float]
    lower: dict[str, float]
    upper: dict[str, float]
    loglik: float
    n_people: int
    converged: bool
    iterations: int
    n_evaluations: int
    seconds: float
    message: str
    covariance: np.ndarray
    hessian_unbounded: np.ndarray
    gradient_norm: float
    nelder_mead_gain: float
    not_identified: list[str]
    newton_decrement: float = float("nan")
    start_logliks: list[float] = field(default_factory=list)
    at_bound: list[str] = field(default_factory=list)

    def bounds_hit(self, relative_tolerance: float = 1e-4) -> dict[str, bool]:
        """Parameters whose estimate sits (numerically) on a bound of the parameter table."""
        return {name: _on_bound(self.estimate[name], self.lower[name], self.upper[name], relative_tolerance)
                for name in self.names}

    def summary(self, truth: Mapping[str, float] | None = None) -> pd.DataFrame:
        """Estimate, s.e., t, bounds hit, identification (and the truth when it is known)."""
        hit = self.bounds_hit()
        rows = []
        for name in self.names:
            se = self.se[name]
            row = {"parameter": name, "estimate": self.estimate[name], "se": se,
                   "t": self.estimate[name] / se if se and np.isfinite(se) else np.nan,
                   "at_bound": hit[name], "identified": name not in self.not_identified}
            if truth is not None:
                row["true"] = truth[name]
                row["(estimate - true)/se"] = (self.estimate[name] - truth[name]) / se if np.isfinite(se) else np.nan
            rows.append(row)
        table = pd.DataFrame(rows).set_index("parameter")
        table.attrs.update(loglik=self.loglik, converged=self.converged, iterations=self.iterations,
                           n_evaluations=self.n_evaluations, seconds=self.seconds)
        return table

    def __repr__(self) -> str:  # pragma: no cover - display only
        return (f"EstimationResult(loglik={self.loglik:.4f}, converged={self.converged}, "
                f"iterations={self.iterations}, evaluations={self.n_evaluations}, "
                f"seconds={self.seconds:.1f}, not_identified={self.not_identified})\n"
                f"{self.summary().to_string()}")


def recovery_failures(records: Mapping[str, object], n_se: float = 3.0) -> list[str]:
    """Check a chapter's records: every ``estimate/<p>`` within ``n_se`` s.e. of ``true/<p>``.

    Returns a list of human-readable failures (empty when recovery holds); also fails when
    ``converged`` is recorded as false or a standard error is missing or not positive.
    The chapter harness can call ``assert not recovery_failures(records)``.
    """
    failures = []
    if "converged" in records and not records["converged"]:
        failures.append("converged is recorded as false")
    names = [key.split("/", 1)[1] for key in records if key.startswith("estimate/")]
    if not names:
        failures.append("no estimate/<param> records")
    for name in names:
        est, se, true = records.get(f"estimate/{name}"), records.get(f"se/{name}"), records.get(f"true/{name}")
        if true is None or se is None:
            failures.append(f"{name}: missing true/{name} or se/{name}")
            continue
        if not (isinstance(se, (int, float)) and np.isfinite(se) and se > 0):
            failures.append(f"{name}: standard error {se!r} is not a positive number")
            continue
        if abs(est - true) > n_se * se:
            failures.append(f"{name}: estimate {est:.4g} is {abs(est - true) / se:.1f} s.e. from the truth {true:.4g}")
    return failures


# ----------------------------------------------------------------------------------------------
# The estimator
# ----------------------------------------------------------------------------------------------
class _Objective:
    """Mean log-likelihood as a function of the unbounded vector, with evaluation bookkeeping."""

    def __init__(self, loglik_per_person: LoglikPerPerson, table: ParameterTable, names: Sequence[str],
                 step: float, progress):
        self.loglik_per_person = loglik_per_person
        self.table, self.names, self.step = table, list(names), step
        self.bounds = [table.bounds(n) for n in self.names]
        self.n_evaluations = 0
        self.progress = progress
        self.n_people: int | None = None

    def values(self, x: np.ndarray) -> dict[str, float]:
        values = dict(self.table.values)
        for name, xi, (lo, hi) in zip(self.names, x, self.bounds):
            values[name] = from_unbounded(float(xi), lo, hi)
        return values

    def per_person(self, x: np.ndarray) -> np.ndarray:
        self.n_evaluations += 1
        if self.progress is not None:
            self.progress.update(1)
        values = self.values(x)
        contributions = np.asarray(self.loglik_per_person(values), dtype=float)
        bad = ~np.isfinite(contributions)
        if bad.any():
            shown = ", ".join(f"{n}={values[n]:.6g}" for n in self.names)
            kinds = sorted({"nan" if np.isnan(v) else f"{v}" for v in contributions[bad]})
            raise EstimationError(
                f"the log-likelihood is {'/'.join(kinds)} for {int(bad.sum())} of {len(contributions)} people at "
                f"parameter vector ({shown}); other parameters at their table values. A non-finite criterion "
                "means the data are impossible under these values (a zero variance, a zero probability): check "
                "the data and the parameter bounds")
        self.n_people = len(contributions)
        return contributions

    def mean(self, x: np.ndarray) -> float:
        return float(np.mean(self.per_person(x)))

    def negative_mean(self, x: np.ndarray) -> float:
        return -self.mean(x)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Central-difference gradient of the mean log-likelihood."""
        return np.mean(self.scores(x), axis=0)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Per-person central-difference scores (n_people x n_params)."""
        columns = []
        for k in range(len(x)):
            up, down = x.copy(), x.copy()
            up[k] += self.step
            down[k] -= self.step
            columns.append((self.per_person(up) - self.per_person(down)) / (2 * self.step))
        return np.column_stack(columns)

    def negative_mean_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        return self.negative_mean(x), -self.gradient(x)


def numerical_gradient(loglik_per_person: LoglikPerPerson, table: ParameterTable, names: Sequence[str],
                       values: Mapping[str, float] | None = None, step: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of the total log-likelihood in the natural parameters."""
    base = dict(table.values)
    base.update(values or {})
    gradient = np.empty(len(names))
    for k, name in enumerate(names):
        h = step * max(1.0, abs(base[name]))
        up, down = dict(base), dict(base)
        up[name] += h
        down[name] -= h
        gradient[k] = (np.sum(loglik_per_person(up)) - np.sum(loglik_per_person(down))) / (2 * h)
    return gradient


def loglik_gradient(loglik_per_person: LoglikPerPerson, table: ParameterTable, names: Sequence[str],
                    values: Mapping[str, float] | None = None, step: float = 1e-5) -> np.ndarray:
    """Gradient of the total log-likelihood in the natural parameters, computed as the optimiser
    does: central differences in the unbounded coordinates, then the chain rule."""
    names = list(names)
    base = table.with_values(dict(values or {}))
    objective = _Objective(loglik_per_person, base, names, step, None)
    x = np.array([to_unbounded(base[n], *base.bounds(n)) for n in names])
    scores = objective.scores(x)
    jacobian = np.array([unbounded_derivative(xi, *base.bounds(n)) for xi, n in zip(x, names)])
    return scores.sum(axis=0) / jacobian


def maximize_likelihood(
    loglik_per_person: LoglikPerPerson,
    table: ParameterTable,
    names: Sequence[str],
    start: Mapping[str, float] | None = None,
    n_starts: int = 1,
    start_spread: float = 0.5,
    seed: int = 0,
    nelder_mead_check: bool = True,
    nelder_mead_iterations: int = 200,
    step: float = 1e-5,
    hessian_step: float = 1e-4,
    gradient_tolerance: float = 1e-6,
    function_tolerance: float = 1e-12,
    max_corrections: int = 30,
    max_iterations: int = 500,
    progress: bool = False,
    identification_tolerance: float = 1e-7,
    newton_steps: int = 5,
    newton_tolerance: float = 1e-2,
) -> EstimationResult:
    """Maximise ``sum(loglik_per_person(values))`` over ``names`` within the table's bounds.

    ``loglik_per_person(values)`` receives the full dict of table values (the parameters not
    being estimated keep their table values) and returns one log-likelihood per person.
    ``start`` overrides the table values as the first starting point; further starts
    (``n_starts`` > 1) perturb it by N(0, start_spread) in the unbounded coordinates.
    """
    names = list(names)
    if not names:
        raise ParameterError("names = [] is not allowed: expected at least one parameter to estimate")
    for name in names:
        table.row(name)  # unknown names raise a ParameterError listing the allowed ones
    if n_starts < 1:
        raise ParameterError(f"n_starts = {n_starts!r} is not allowed: expected an integer >= 1")
    first = table.with_values(dict(start or {}))
    tick = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm  # optional; only used for long runs

        bar = tqdm(desc="likelihood evaluations", unit="eval")
    objective = _Objective(loglik_per_person, table, names, step, bar)
    x_first = np.array([to_unbounded(first[n], *table.bounds(n)) for n in names])
    lbfgs_options = {"maxiter": max_iterations, "gtol": gradient_tolerance, "ftol": function_tolerance,
                     "maxcor": max_corrections}
    rng = np.random.default_rng(seed)
    starts = [x_first] + [x_first + rng.normal(0.0, start_spread, len(names)) for _ in range(n_starts - 1)]

    best, start_logliks = None, []
    for x0 in starts:
        fit = optimize.minimize(objective.negative_mean_and_gradient, x0, jac=True, method="L-BFGS-B",
                                options=lbfgs_options)
        start_logliks.append(-fit.fun)
        if best is None or fit.fun < best.fun:
            best = fit
    iterations = int(best.nit)

    nelder_mead_gain = 0.0
    if nelder_mead_check:
        simplex = np.vstack([best.x] + [best.x + 0.05 * np.eye(len(names))[k] for k in range(len(names))])
        polish = optimize.minimize(objective.negative_mean, best.x, method="Nelder-Mead",
                                   options={"initial_simplex": simplex, "maxiter": 40 * len(names),
                                            "xatol": 1e-6, "fatol": 1e-10})
        nelder_mead_gain = float(best.fun - polish.fun) * (objective.n_people or 1)
        if nelder_mead_gain > 1e-4:
            # Nelder–Mead found higher likelihood: restart the quasi-Newton search from there.
            best = optimize.minimize(objective.negative_mean_and_gradient, polish.x, jac=True, method="L-BFGS-B",
                                     options=lbfgs_options)
            iterations += int(best.nit)

    x_hat = best.x
    n_people = objective.n_people
    bounds = [table.bounds(n) for n in names]
    # An estimate on a bound is not an interior maximum: its score need not vanish and the
    # logit/log transform flattens the likelihood there, so it is held fixed for the Hessian,
    # the Newton steps and the covariance, and reported (never as converged).
    at_bound = [n for n, xi, (lo, hi) in zip(names, x_hat, bounds) if _on_bound(from_unbounded(xi, lo, hi), lo, hi)]
    gradient = objective.gradient(x_hat)
    hessian, noise = _hessian_unbounded(objective, x_hat, hessian_step, gradient)
    hessian, noise = hessian * n_people, noise * n_people
    not_identified = _flat_parameters(hessian, noise, names, identification_tolerance, at_bound)
    held = set(not_identified) | set(at_bound)
    # Newton polish: quasi-Newton steps stop early along flat valleys; a few Newton steps with the
    # Hessian just computed finish the job. The Newton decrement g'(-H)^{-1}g / 2 bounds the
    # log-likelihood still to gain, which is the convergence criterion reported below.
    decrement = _newton_decrement(hessian, gradient * n_people, names, held)
    loglik = float(np.sum(objective.per_person(x_hat)))
    for _ in range(newton_steps):
        if not np.isfinite(decrement[0]) or decrement[0] < 1e-6:
            break
        for scale in (1.0, 0.5, 0.25):   # step halving: the valley may not be quadratic far out
            trial = x_hat + scale * decrement[1]
            trial_loglik = float(np.sum(objective.per_person(trial)))
            if trial_loglik > loglik:
                break
        if not trial_loglik > loglik:
            break
        x_hat, loglik = trial, trial_loglik
        gradient = objective.gradient(x_hat)
        decrement = _newton_decrement(hessian, gradient * n_people, names, held)
    jacobian = np.array([unbounded_derivative(xi, *table.bounds(n)) for xi, n in zip(x_hat, names)])
    covariance = _covariance(hessian, jacobian, names, held)
    values = objective.values(x_hat)
    estimate = {n: values[n] for n in names}
    se = {n: float(np.sqrt(covariance[k, k])) if n not in held and covariance[k, k] > 0 else float("nan")
          for k, n in enumerate(names)}
    gradient_norm = float(np.max(np.abs(gradient)))
    converged = bool(np.isfinite(decrement[0]) and decrement[0] < newton_tolerance and not held)
    message = str(best.message)
    if at_bound:
        message = f"estimate on a parameter bound: {', '.join(at_bound)} (not an interior maximum). " + message
    if not_identified:
        message = (f"flat direction of the likelihood (not identified by these data): {', '.join(not_identified)}. "
                   + message)
    if not at_bound and not not_identified and not converged:
        message = f"Newton decrement {decrement[0]:.3g} is not below {newton_tolerance:g}. " + message
    if bar is not None:
        bar.close()
    return EstimationResult(
        names=names, estimate=estimate, se=se,
        lower={n: table.bounds(n)[0] for n in names}, upper={n: table.bounds(n)[1] for n in names},
        loglik=loglik, n_people=n_people, converged=converged, iterations=iterations,
        n_evaluations=objective.n_evaluations, seconds=time.perf_counter() - tick,
        message=message, covariance=covariance, hessian_unbounded=hessian,
        gradient_norm=gradient_norm, nelder_mead_gain=nelder_mead_gain,
        not_identified=not_identified, start_logliks=start_logliks, newton_decrement=float(decrement[0]),
        at_bound=at_bound,
    )


def _on_bound(value: float, lower: float, upper: float, relative_tolerance: float = 1e-4) -> bool:
    """Whether ``value`` sits (numerically) on a finite bound: within a relative 1e-4 of the range."""
    width = upper - lower if math.isfinite(upper - lower) else max(abs(value), 1.0)
    tol = relative_tolerance * width
    return bool((math.isfinite(lower) and value - lower < tol) or (math.isfinite(upper) and upper - value < tol))


def _newton_decrement(hessian: np.ndarray, gradient_total: np.ndarray, names: list[str],
                      held) -> tuple[float, np.ndarray]:
    """(g'(-H)^{-1}g / 2, Newton step) on the parameters not ``held``; (nan, 0) if -H is not positive definite."""
    keep = [i for i, n in enumerate(names) if n not in held]
    step = np.zeros(len(names))
    if not keep:
        return 0.0, step
    sub = np.ix_(keep, keep)
    try:
        factor = np.linalg.cholesky(-hessian[sub])
    except np.linalg.LinAlgError:
        return float("nan"), step
    step[keep] = np.linalg.solve(factor.T, np.linalg.solve(factor, gradient_total[keep]))
    return 0.5 * float(gradient_total[keep] @ step[keep]), step


#: A curvature is indistinguishable from zero when it is below this multiple of the bound on the
#: Hessian's finite-difference error (Weyl: an error matrix E moves every eigenvalue by at most
#: ||E||_2). The bound (entrywise absolute errors) overstates the typical error: perfectly
#: collinear pairs show curvatures of at most 0.05 times it (unit tests), while the strongly
#: correlated but identified moving-cost intercept and hukou friction of the estimation page's
#: CI run show 0.22 times it. A tenth of the bound separates the two, with a margin of about two
#: on each side.
HESSIAN_NOISE_MULTIPLE = 0.1


def _hessian_unbounded(objective: _Objective, x: np.ndarray, step: float,
                       gradient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hessian of the mean log-likelihood and an entrywise bound on its finite-difference error.

    Forward differences of the central-difference gradient (K extra gradients instead of 2K).
    The error bound adds what the asymmetry of the raw differences shows (truncation, and the
    noise of the likelihood itself) to the rounding error of the two nested differences,
    2 eps mean|l_i| / (gradient step * Hessian step).
    """
    k = len(x)
    raw = np.empty((k, k))
    for j in range(k):
        up = x.copy()
        up[j] += step
        raw[:, j] = (objective.gradient(up) - gradient) / step
    mean_abs = float(np.mean(np.abs(objective.per_person(x))))
    rounding = 2 * np.finfo(float).eps * max(mean_abs, 1.0) / (objective.step * step)
    noise = 0.5 * np.abs(raw - raw.T) + rounding
    return 0.5 * (raw + raw.T), noise


def _flat_parameters(hessian: np.ndarray, noise: np.ndarray, names: list[str], tolerance: float,
                     held: Sequence[str]) -> list[str]:
    """Parameters that load on a flat (or negative-curvature) direction of the Hessian.

    Works on the information -H scaled to unit diagonal (a correlation form, the same in the
    natural and the unbounded coordinates). A direction is flat when its curvature is below
    ``tolerance`` times the largest, or below :data:`HESSIAN_NOISE_MULTIPLE` times the spectral
    norm of the scaled finite-difference error: a perfectly collinear pair has a true curvature of
    zero that finite differences show as a small number of either sign. Every parameter with a
    loading above 0.3 on a flat direction is reported.
    """
    keep = [i for i, n in enumerate(names) if n not in held]
    information = -hessian
    flat = {names[i] for i in keep if not information[i, i] > 0}
    keep = [i for i in keep if names[i] not in flat]
    if keep:
        sub = np.ix_(keep, keep)
        scale = np.sqrt(np.diag(information)[keep])
        correlation_form = information[sub] / np.outer(scale, scale)
        scaled_noise = noise[sub] / np.outer(scale, scale)
        threshold = max(tolerance * max(float(np.linalg.eigvalsh(correlation_form).max()), 1.0),
                        HESSIAN_NOISE_MULTIPLE * float(np.linalg.norm(scaled_noise, 2)))
        eigenvalues, eigenvectors = np.linalg.eigh(correlation_form)
        for k in np.flatnonzero(eigenvalues <= threshold):
            flat.update(names[keep[i]] for i in np.flatnonzero(np.abs(eigenvectors[:, k]) > 0.3))
    return [n for n in names if n in flat]


def _covariance(hessian: np.ndarray, jacobian: np.ndarray, names: list[str], held) -> np.ndarray:
    """Delta-method covariance of the natural parameters; NaN rows and columns for ``held`` ones.

    The information matrix is -H in the unbounded coordinates, inverted on the parameters that
    are neither on a bound nor flat (whose block is positive definite by construction).
    """
    covariance = np.full((len(names), len(names)), np.nan)
    keep = [i for i, n in enumerate(names) if n not in held]
    if keep:
        sub = np.ix_(keep, keep)
        try:
            covariance_unbounded = np.linalg.inv(-hessian[sub])
        except np.linalg.LinAlgError:
            return covariance
        covariance[sub] = covariance_unbounded * np.outer(jacobian[keep], jacobian[keep])
    return covariance


# ----------------------------------------------------------------------------------------------
# Kennan–Walker: simulate a panel, estimate, repeat (Monte Carlo)
# ----------------------------------------------------------------------------------------------
#: Options the chapter uses for the Kennan–Walker MLE: stop when an iteration improves the mean
#: log-likelihood by less than 1e-7 (relative) — statistically nothing: a 1,000-person panel then
#: gains under 0.001 log points per iteration, while one standard error is worth about 0.5.
KW_OPTIONS = {"function_tolerance": 1e-9, "gradient_tolerance": 1e-5}


def simulate_estimation_panel(geography, params: ParameterTable, n_people: int, n_years: int, seed: int,
                              ages=range(20, 60), n_nu: int = 3, observed_every: int = 1, n_xi: int = 1) -> pd.DataFrame:
    """A survey-like panel (see :mod:`mig_lib.kw.data`) of the first ``n_years`` of simulated lives,
    observed every ``observed_every`` years (education groups in equal shares)."""
    from mig_lib.kw.data import panel_from_simulation
    from mig_lib.kw.model import build_model
    from mig_lib.kw.simulate import simulate_panel
    from mig_lib.kw.solve import solve

    solution = solve(build_model(geography, params=params, ages=ages, n_nu=n_nu, n_xi=n_xi))
    return panel_from_simulation(simulate_panel(solution, n_people, seed=seed), geography.codes, n_years,
                                 observed_every=observed_every)


def estimate_kw(geography, frame: pd.DataFrame, params: ParameterTable, names: Sequence[str] | None = None,
                start: Mapping[str, float] | None = None, ages=range(20, 60), n_nu: int = 3, observed_every: int = 1,
                n_xi: int = 1, **options):
    """Maximum likelihood for the Kennan–Walker model on a panel frame.

    ``params`` supplies the bounds and the values of the parameters that are not estimated;
    ``names`` defaults to :func:`mig_lib.kw.likelihood.estimable_parameters`; ``observed_every`` is the
    number of years between a person's observations (2 for CFPS); ``n_xi`` the points of the
    preference match ξ (1: off). Returns
    ``(EstimationResult, KWLikelihood)``.
    """
    from mig_lib.kw.data import panel_arrays
    from mig_lib.kw.likelihood import (MIXTURE_ONLY_PARAMETERS, WAGE_ONLY_PARAMETERS, KWLikelihood,
                                       estimable_parameters)
    from mig_lib.kw.model import education_groups
    from mig_lib.kw.resources import check_kw_estimation_request

    ages = list(ages)
    if names is None:
        names = estimable_parameters(geography, params, n_xi=n_xi)[0]
    n_people = int(pd.Series(frame["person"]).nunique()) if "person" in frame else 0
    if n_people:
        # refuse (or warn about) a request too large for this machine before allocating anything
        check_kw_estimation_request(
            n_people, int(math.ceil(len(frame) / n_people)), geography.n, len(names),
            sum(n not in WAGE_ONLY_PARAMETERS + MIXTURE_ONLY_PARAMETERS for n in names), n_nu=n_nu, n_xi=n_xi,
            n_ages=len(ages), nelder_mead_check=options.get("nelder_mead_check", True))
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
    result = maximize_likelihood(likelihood.loglik_per_person, params, names, start=start,
                                 **{**KW_OPTIONS, **options})
    return result, likelihood


def _replication(replication: int, geography, params: ParameterTable, names: Sequence[str], n_people: int,
                 n_years: int, seed: int, observed_every: int, options: Mapping, n_xi: int = 1) -> dict:
    """One Monte Carlo replication: simulate a panel with its own seed and re-estimate it."""
    frame = simulate_estimation_panel(geography, params, n_people, n_years, seed=seed + 1 + replication,
                                      observed_every=observed_every, n_xi=n_xi)
    result, _ = estimate_kw(geography, frame, params, names, observed_every=observed_every, n_xi=n_xi,
                            **{"nelder_mead_check": False, **options})
    row = {"replication": replication, "converged": result.converged, "seconds": result.seconds}
    row.update({f"estimate/{n}": result.estimate[n] for n in names})
    row.update({f"se/{n}": result.se[n] for n in names})
    return row


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
    task = partial(_replication, geography=geography, params=params, names=list(names), n_people=n_people,
                   n_years=n_years, seed=seed, observed_every=observed_every, options=dict(options), n_xi=n_xi)
    if client is None and workers is None and scheduler is None and scheduler_file is None:
        rows = [task(r) for r in range(n_replications)]
    else:
        rows = map_tasks(task, range(n_replications), client=client, workers=workers, scheduler=scheduler,
                         scheduler_file=scheduler_file, progress=progress, description="KW Monte Carlo")
    return pd.DataFrame(rows).set_index("replication")


def monte_carlo_summary(draws: pd.DataFrame, truth: Mapping[str, float], level: float = 0.95) -> pd.DataFrame:
    """Bias, RMSE, mean s.e., s.d. of the estimates and coverage of the ``level`` Wald interval."""
    from scipy.stats import norm

    z = norm.ppf(0.5 + level / 2)
    names = [c.split("/", 1)[1] for c in draws.columns if c.startswith("estimate/")]
    rows = []
    for name in names:
        est, se = draws[f"estimate/{name}"].to_numpy(), draws[f"se/{name}"].to_numpy()
        error = est - truth[name]
        rows.append({"parameter": name, "true": truth[name], "mean estimate": est.mean(), "bias": error.mean(),
                     "rmse": float(np.sqrt(np.mean(error ** 2))), "sd of estimates": est.std(ddof=1) if len(est) > 1 else np.nan,
                     "mean se": np.nanmean(se), "coverage": float(np.mean(np.abs(error) <= z * se))})
    return pd.DataFrame(rows).set_index("parameter")
