"""Maximum likelihood on transformed parameters: the book's one estimation core.

It maximises any log-likelihood that returns one contribution per person, over a chosen subset
of a :class:`~mig_lib.core.ParameterTable`, reading the bounds from the table. The likelihood
receives one ``ParameterTable`` per evaluation (the estimated values set, the others at their
table values). Give it ``scores`` — a function returning the per-person log-likelihoods and
their exact derivatives — and every gradient is exact (the Kennan–Walker chapter plugs in
:class:`mig_lib.kw.gradient.ExactScores`); without it the gradient is a central difference. When
``scores`` also has a ``total(table, names)`` method returning the contributions and the summed
gradient (reverse mode, cheaper than every person's scores), the optimiser's gradients and the
Hessian's differences use it, and the per-person scores are computed only where they are needed:
BHHH steps and the OPG and sandwich covariances.

Steps (the draft's plan, section 4.3):

1. Map each bounded parameter to an unbounded one (logit for two finite bounds, log for one),
   so the optimiser never leaves the parameter space.
2. L-BFGS-B on the mean negative log-likelihood (default), or BHHH — Newton steps with the outer
   product of the per-person scores as the curvature; optionally several starts, keeping the best.
3. Optionally (off by default) a Nelder–Mead run started at the optimum checks that the gradient
   search did not stop at a non-optimum; if it finds a better point the search restarts there.
4. The Hessian in the unbounded coordinates by forward differences of the gradient. A few Newton
   steps with it finish flat valleys that quasi-Newton methods crawl along. Convergence is judged
   by the Newton decrement (log-likelihood left to gain) and the gradient norm; nothing on a bound,
   flat or non-finite is reported converged.
5. Standard errors: the inverse Hessian (default), the inverse outer product of the scores (OPG)
   or the sandwich, mapped back with the delta method. Parameters on a near-zero curvature
   direction are reported as not identified and get no standard error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from tqdm.auto import tqdm

from mig_lib.core.validation import ParameterError
from mig_lib.core.parameter_table import ParameterTable

#: loglik_per_person(table) -> (N,) log-likelihood contributions
LoglikPerPerson = Callable[[ParameterTable], np.ndarray]
#: scores(table, names) -> ((N,) contributions, (N, K) derivatives in the natural parameters)
Scores = Callable[[ParameterTable, Sequence[str]], tuple[np.ndarray, np.ndarray]]

OPTIMIZERS = ("lbfgsb", "bhhh", "lbfgsb-bhhh")
COVARIANCES = ("hessian", "opg", "sandwich")


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


def shifted_start(table: ParameterTable, names: Sequence[str], shift: float) -> dict[str, float]:
    """A starting point ``shift`` away from the table's values in every transformed coordinate of
    ``names`` (a start that is not the truth, inside the bounds whatever their form)."""
    return {n: from_unbounded(to_unbounded(table[n], *table.bounds(n)) + shift, *table.bounds(n)) for n in names}


# ----------------------------------------------------------------------------------------------
# Recovery of a known truth
# ----------------------------------------------------------------------------------------------
def coverage_standard_error(replications, coverage=0.95):
    """Monte Carlo (binomial) standard error of a coverage rate estimated from ``replications``
    intervals: sqrt(coverage (1 - coverage) / R), at the nominal 0.95 unless ``coverage`` (the
    observed rate) is given. Works elementwise on arrays and Series."""
    return np.sqrt(coverage * (1 - coverage) / replications)


def recovery_failures(estimate: Mapping[str, float], se: Mapping[str, float], truth: Mapping[str, float],
                      converged: bool | None = None, n_se: float = 3.0) -> list[str]:
    """Every estimate within ``n_se`` standard errors of the truth: the failures, in words (empty if none).

    A missing truth or standard error, a standard error that is not a positive number, and
    ``converged`` false are failures too.
    """
    failures = []
    if converged is not None and not converged:
        failures.append("converged is recorded as false")
    if not estimate:
        failures.append("no estimates")
    for name, value in estimate.items():
        s, true = se.get(name), truth.get(name)
        if true is None or s is None:
            failures.append(f"{name}: missing true/{name} or se/{name}")
            continue
        if isinstance(s, bool) or not (isinstance(s, (int, float)) and np.isfinite(s) and s > 0):
            failures.append(f"{name}: standard error {s!r} is not a positive number")
            continue
        if abs(value - true) > n_se * s:
            failures.append(f"{name}: estimate {value:.4g} is {abs(value - true) / s:.1f} s.e. from the truth {true:.4g}")
    return failures


def recovery_failures_in_records(records: Mapping[str, object], n_se: float = 3.0,
                                 only_with_truth: bool = False) -> list[str]:
    """:func:`recovery_failures` on a chapter's records: every ``<prefix>/estimate/<p>`` against
    ``<prefix>/true/<p>`` and ``<prefix>/se/<p>`` (the prefix may be empty); a recorded
    ``<prefix>/converged`` counts. Records without estimates give no failures; with
    ``only_with_truth`` an estimate without a recorded truth is skipped (not a simulated truth)."""
    groups: dict[tuple, dict[str, dict]] = {}
    for key, value in records.items():
        parts = key.split("/")
        if "estimate" not in parts[:-1]:
            continue
        i = parts.index("estimate")
        if only_with_truth and "/".join(parts[:i] + ["true"] + parts[i + 1:]) not in records:
            continue
        prefix, name = tuple(parts[:i]), "/".join(parts[i + 1:])
        group = groups.setdefault(prefix, {"estimate": {}, "se": {}, "true": {}})
        group["estimate"][name] = value
        for kind in ("se", "true"):
            sibling = "/".join(parts[:i] + [kind] + parts[i + 1:])
            if sibling in records:
                group[kind][name] = records[sibling]
    failures = []
    for prefix, group in groups.items():
        converged = records.get("/".join(prefix + ("converged",)))
        failures += recovery_failures(group["estimate"], group["se"], group["true"], converged, n_se)
    return failures


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
    optimizer: str = "lbfgsb"
    covariance_kind: str = "hessian"
    exact_gradient: bool = False
    n_gradients: int = 0
    #: (N, K) per-person scores at the estimate, in the unbounded coordinates
    scores_unbounded: np.ndarray | None = None
    jacobian: np.ndarray | None = None

    def bounds_hit(self, relative_tolerance: float = 1e-4) -> dict[str, bool]:
        """Parameters whose estimate sits (numerically) on a bound of the parameter table."""
        return {name: _on_bound(self.estimate[name], self.lower[name], self.upper[name], relative_tolerance)
                for name in self.names}

    def covariance_of(self, kind: str) -> np.ndarray:
        """The covariance of the natural parameters: ``"hessian"`` (inverse Hessian), ``"opg"``
        (inverse outer product of the scores) or ``"sandwich"`` (H⁻¹ (S'S) H⁻¹)."""
        if kind not in COVARIANCES:
            raise ParameterError(f"argument 'kind' = {kind!r} is not allowed: expected one of {COVARIANCES}")
        held = set(self.not_identified) | set(self.at_bound)
        if kind == "hessian":
            return _covariance(self.hessian_unbounded, None, self.jacobian, self.names, held)
        if self.scores_unbounded is None:
            raise ParameterError(f"the {kind} covariance needs the per-person scores, which this result does not hold")
        outer = self.scores_unbounded.T @ self.scores_unbounded
        if kind == "opg":
            return _covariance(-outer, None, self.jacobian, self.names, held)
        return _covariance(self.hessian_unbounded, outer, self.jacobian, self.names, held)

    def standard_errors(self, kind: str = "hessian") -> dict[str, float]:
        covariance = self.covariance_of(kind)
        return {n: float(np.sqrt(covariance[k, k])) if covariance[k, k] > 0 else float("nan")
                for k, n in enumerate(self.names)}

    def recovery_failures(self, truth: Mapping[str, float], n_se: float = 3.0) -> list[str]:
        """The estimates more than ``n_se`` standard errors from ``truth`` (and non-convergence), in words."""
        return recovery_failures(self.estimate, self.se, {n: truth[n] for n in self.names if n in truth},
                                 self.converged, n_se)

    def records(self, truth: Mapping[str, float] | None = None) -> dict[str, float]:
        """``estimate/<p>``, ``se/<p>`` (and ``true/<p>``) and ``converged``: what a chapter records."""
        out = {f"estimate/{n}": float(self.estimate[n]) for n in self.names}
        out.update({f"se/{n}": float(self.se[n]) for n in self.names})
        if truth is not None:
            out.update({f"true/{n}": float(truth[n]) for n in self.names})
        out["converged"] = int(self.converged)
        return out

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


# ----------------------------------------------------------------------------------------------
# The objective
# ----------------------------------------------------------------------------------------------
class Objective:
    """The log-likelihood as a function of the unbounded vector, with evaluation bookkeeping.

    ``per_person(x)`` hands the likelihood one :class:`ParameterTable`; ``scores(x)`` returns the
    per-person contributions and scores in the unbounded coordinates (exact when a ``scores``
    function is given, else central differences with ``step``).
    """

    def __init__(self, loglik_per_person: LoglikPerPerson, table: ParameterTable, names: Sequence[str],
                 scores: Scores | None = None, step: float = 1e-5, progress=None):
        self.loglik_per_person, self.exact_scores = loglik_per_person, scores
        self.table, self.names, self.step = table, list(names), step
        self.bounds = [table.bounds(n) for n in self.names]
        self.n_evaluations = 0
        self.n_gradients = 0
        self.progress = progress
        self.n_people: int | None = None
        self._last: tuple[bytes, np.ndarray, np.ndarray] | None = None
        self._last_total: tuple[bytes, np.ndarray, np.ndarray] | None = None

    def table_at(self, x: np.ndarray) -> ParameterTable:
        return self.table.with_values({n: from_unbounded(float(xi), lo, hi)
                                       for n, xi, (lo, hi) in zip(self.names, x, self.bounds)})

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        return np.array([unbounded_derivative(float(xi), lo, hi) for xi, (lo, hi) in zip(x, self.bounds)])

    def _tick(self) -> None:
        self.n_evaluations += 1
        if self.progress is not None:
            self.progress.update(1)

    def _checked(self, contributions, x: np.ndarray) -> np.ndarray:
        contributions = np.asarray(contributions, dtype=float)
        bad = ~np.isfinite(contributions)
        if bad.any():
            table = self.table_at(x)
            shown = ", ".join(f"{n}={table[n]:.6g}" for n in self.names)
            kinds = sorted({"nan" if np.isnan(v) else f"{v}" for v in contributions[bad]})
            raise EstimationError(
                f"the log-likelihood is {'/'.join(kinds)} for {int(bad.sum())} of {len(contributions)} people at "
                f"parameter vector ({shown}); other parameters at their table values. A non-finite criterion "
                "means the data are impossible under these values (a zero variance, a zero probability): check "
                "the data and the parameter bounds")
        self.n_people = len(contributions)
        return contributions

    def per_person(self, x: np.ndarray) -> np.ndarray:
        self._tick()
        return self._checked(self.loglik_per_person(self.table_at(x)), x)

    def scores(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) contributions and (N, K) scores in the unbounded coordinates at x (the last one is cached)."""
        key = np.asarray(x, dtype=float).tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1], self._last[2]
        self.n_gradients += 1
        if self.exact_scores is not None:
            self._tick()
            contributions, natural = self.exact_scores(self.table_at(x), self.names)
            contributions = self._checked(contributions, x)
            scores = np.asarray(natural, dtype=float) * self.jacobian(x)[None, :]
        else:
            contributions = self.per_person(x)
            columns = []
            for k in range(len(x)):
                up, down = x.copy(), x.copy()
                up[k] += self.step
                down[k] -= self.step
                columns.append((self.per_person(up) - self.per_person(down)) / (2 * self.step))
            scores = np.column_stack(columns)
        if not np.all(np.isfinite(scores)):
            raise EstimationError(f"the scores are not finite at parameter vector "
                                  f"({', '.join(f'{n}={v:.6g}' for n, v in zip(self.names, x))}) (unbounded)")
        self._last = (key, contributions, scores)
        return contributions, scores

    def total(self, x: np.ndarray, only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(N,) contributions and the gradient of their mean in the unbounded coordinates at x: by the
        scores' ``total`` method when they have one (no per-person scores), else from the scores.
        ``only`` (booleans, the parameters of :meth:`model_free`) asks for those entries alone; the
        others are then NaN."""
        key = np.asarray(x, dtype=float).tobytes()
        for last in (self._last, self._last_total):
            if last is not None and last[0] == key:
                return last[1], (last[2] if last is self._last_total else np.mean(last[2], axis=0))
        total = getattr(self.exact_scores, "total", None)
        if total is None:
            contributions, scores = self.scores(x)
            return contributions, np.mean(scores, axis=0)
        self.n_gradients += 1
        self._tick()
        if only is None:
            contributions, natural = total(self.table_at(x), self.names)
        else:
            contributions, natural = total(self.table_at(x), self.names, only=only)
        contributions = self._checked(contributions, x)
        gradient = np.asarray(natural, dtype=float) * self.jacobian(x) / len(contributions)
        wanted = np.ones(len(x), dtype=bool) if only is None else np.asarray(only, dtype=bool)
        if not np.all(np.isfinite(gradient[wanted])):
            raise EstimationError(f"the gradient is not finite at parameter vector "
                                  f"({', '.join(f'{n}={v:.6g}' for n, v in zip(self.names, x))}) (unbounded)")
        if only is None:
            self._last_total = (key, contributions, gradient)
        return contributions, gradient

    def gradient(self, x: np.ndarray, only: np.ndarray | None = None) -> np.ndarray:
        """Gradient of the mean log-likelihood in the unbounded coordinates (``only``: see :meth:`total`)."""
        return self.total(x, only)[1]

    def model_free(self, x: np.ndarray) -> np.ndarray:
        """(K,) booleans: the parameters whose part of the gradient the scores' ``total`` can give
        cheaply on its own (``only=``), because they do not move the expensive part of the model
        (the scores' ``model_free`` method; none when the scores have no such method)."""
        free = getattr(self.exact_scores, "model_free", None)
        if free is None or getattr(self.exact_scores, "total", None) is None:
            return np.zeros(len(x), dtype=bool)
        return np.asarray(free(self.table_at(x), self.names), dtype=bool)

    def negative_mean(self, x: np.ndarray) -> float:
        return -float(np.mean(self.per_person(x)))

    def negative_mean_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        contributions, gradient = self.total(x)
        return -float(np.mean(contributions)), -gradient


def numerical_gradient(loglik_per_person: LoglikPerPerson, table: ParameterTable, names: Sequence[str],
                       values: Mapping[str, float] | None = None, step: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of the total log-likelihood in the natural parameters."""
    base = table.with_values(dict(values or {}))
    gradient = np.empty(len(names))
    for k, name in enumerate(names):
        h = step * max(1.0, abs(base[name]))
        gradient[k] = (np.sum(loglik_per_person(base.with_values({name: base[name] + h})))
                       - np.sum(loglik_per_person(base.with_values({name: base[name] - h})))) / (2 * h)
    return gradient


# ----------------------------------------------------------------------------------------------
# The estimator
# ----------------------------------------------------------------------------------------------
def maximize_likelihood(
    loglik_per_person: LoglikPerPerson,
    table: ParameterTable,
    names: Sequence[str],
    start: Mapping[str, float] | None = None,
    scores: Scores | None = None,
    optimizer: str = "lbfgsb",
    covariance: str = "hessian",
    n_starts: int = 1,
    start_spread: float = 0.5,
    seed: int = 0,
    nelder_mead_check: bool = False,
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
    converged_gradient: float = 1e-3,
    handover_tolerance: float = 1e-6,
    bhhh_gain_tolerance: float = 0.0,
) -> EstimationResult:
    """Maximise ``sum(loglik_per_person(table))`` over ``names`` within the table's bounds.

    ``loglik_per_person`` receives a table (the parameters not estimated keep their values) and
    returns one log-likelihood per person; ``scores`` (optional) returns them with their exact
    derivatives in ``names``. ``start`` overrides the table values as the first starting point;
    further starts (``n_starts`` > 1) perturb it by N(0, start_spread) in the unbounded
    coordinates. ``optimizer`` is ``"lbfgsb"``, ``"bhhh"`` or ``"lbfgsb-bhhh"`` (L-BFGS-B until an
    iteration gains less than ``handover_tolerance`` relative, then BHHH); BHHH also stops when a
    full step would gain less than ``bhhh_gain_tolerance`` log points. ``covariance`` is ``"hessian"``,
    ``"opg"`` or ``"sandwich"``. Converged means a Newton decrement below ``newton_tolerance``
    and a mean gradient below ``converged_gradient`` (sup norm, unbounded coordinates), with no
    estimate on a bound or on a flat direction.
    """
    names = table.checked_names(names)
    if isinstance(n_starts, bool) or not isinstance(n_starts, int) or n_starts < 1:
        raise ParameterError(f"n_starts = {n_starts!r} is not allowed: expected an integer >= 1")
    if optimizer not in OPTIMIZERS:
        raise ParameterError(f"optimizer = {optimizer!r} is not allowed: expected one of {OPTIMIZERS}")
    if covariance not in COVARIANCES:
        raise ParameterError(f"covariance = {covariance!r} is not allowed: expected one of {COVARIANCES}")
    for name, value, smallest in (("handover_tolerance", handover_tolerance, "> 0"),
                                  ("bhhh_gain_tolerance", bhhh_gain_tolerance, ">= 0")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or (value <= 0 if smallest == "> 0" else value < 0):
            raise ParameterError(f"{name} = {value!r} is not allowed: expected a finite number {smallest}")
    first = table.with_values(dict(start or {}))
    tick = time.perf_counter()
    bar = tqdm(desc="likelihood evaluations", unit="eval", disable=not progress)
    objective = Objective(loglik_per_person, table, names, scores, step, bar)
    x_first = np.array([to_unbounded(first[n], *table.bounds(n)) for n in names])
    lbfgs_options = {"maxiter": max_iterations, "gtol": gradient_tolerance, "ftol": function_tolerance,
                     "maxcor": max_corrections}
    rng = np.random.default_rng(seed)
    starts = [x_first] + [x_first + rng.normal(0.0, start_spread, len(names)) for _ in range(n_starts - 1)]

    def search(x0):
        if optimizer == "bhhh":
            return _bhhh(objective, x0, max_iterations, gradient_tolerance, bhhh_gain_tolerance)
        if optimizer == "lbfgsb-bhhh":
            # L-BFGS-B is robust far from the maximum but crawls along flat valleys near it; BHHH
            # (curvature from the scores, one gradient a step) finishes in a few steps once close.
            approach = optimize.minimize(objective.negative_mean_and_gradient, x0, jac=True, method="L-BFGS-B",
                                         options={**lbfgs_options, "ftol": handover_tolerance})
            finish = _bhhh(objective, approach.x, max_iterations, gradient_tolerance, bhhh_gain_tolerance)
            finish.nit += int(approach.nit)
            finish.message = f"L-BFGS-B ({approach.nit} iterations: {approach.message}), then {finish.message}"
            return finish
        return optimize.minimize(objective.negative_mean_and_gradient, x0, jac=True, method="L-BFGS-B",
                                 options=lbfgs_options)

    best, start_logliks = None, []
    for x0 in starts:
        fit = search(x0)
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
            # Nelder–Mead found higher likelihood: restart the gradient search from there.
            best = search(polish.x)
            iterations += int(best.nit)

    x_hat = best.x
    bounds = [table.bounds(n) for n in names]
    # An estimate on a bound is not an interior maximum: its score need not vanish and the
    # logit/log transform flattens the likelihood there, so it is held fixed for the Hessian,
    # the Newton steps and the covariance, and reported (never as converged).
    at_bound = [n for n, xi, (lo, hi) in zip(names, x_hat, bounds) if _on_bound(from_unbounded(xi, lo, hi), lo, hi)]
    contributions, person_scores = objective.scores(x_hat)
    n_people = len(contributions)
    gradient = person_scores.mean(axis=0)
    hessian, noise = _hessian_unbounded(objective, x_hat, hessian_step, gradient)
    hessian, noise = hessian * n_people, noise * n_people
    not_identified = _flat_parameters(hessian, noise, names, identification_tolerance, at_bound)
    held = set(not_identified) | set(at_bound)
    # Newton polish: quasi-Newton steps stop early along flat valleys; a few Newton steps with the
    # Hessian just computed finish the job. The Newton decrement g'(-H)^{-1}g / 2 bounds the
    # log-likelihood still to gain, which is the convergence criterion reported below.
    decrement = _newton_decrement(hessian, gradient * n_people, names, held)
    loglik = float(np.sum(contributions))
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
        gradient = objective.total(x_hat)[1]
        decrement = _newton_decrement(hessian, gradient * n_people, names, held)
    # every person's score at the estimate, once (for the OPG and the sandwich)
    contributions, person_scores = objective.scores(x_hat)
    gradient = person_scores.mean(axis=0)
    jacobian = objective.jacobian(x_hat)
    outer = person_scores.T @ person_scores
    chosen = {"hessian": (hessian, None), "opg": (-outer, None), "sandwich": (hessian, outer)}[covariance]
    covariance_matrix = _covariance(*chosen, jacobian, names, held)
    fitted = objective.table_at(x_hat)
    estimate = {n: fitted[n] for n in names}
    se = {n: float(np.sqrt(covariance_matrix[k, k])) if n not in held and covariance_matrix[k, k] > 0 else float("nan")
          for k, n in enumerate(names)}
    free = [k for k, n in enumerate(names) if n not in held]
    gradient_norm = float(np.max(np.abs(gradient[free]))) if free else 0.0
    converged = bool(np.isfinite(decrement[0]) and decrement[0] < newton_tolerance
                     and gradient_norm < converged_gradient and not held)
    message = str(best.message)
    if at_bound:
        message = f"estimate on a parameter bound: {', '.join(at_bound)} (not an interior maximum). " + message
    if not_identified:
        message = (f"flat direction of the likelihood (not identified by these data): {', '.join(not_identified)}. "
                   + message)
    if not at_bound and not not_identified and not converged:
        message = (f"Newton decrement {decrement[0]:.3g} (tolerance {newton_tolerance:g}), gradient norm "
                   f"{gradient_norm:.3g} (tolerance {converged_gradient:g}): not converged. " + message)
    bar.close()
    return EstimationResult(
        names=names, estimate=estimate, se=se,
        lower={n: table.bounds(n)[0] for n in names}, upper={n: table.bounds(n)[1] for n in names},
        loglik=loglik, n_people=n_people, converged=converged, iterations=iterations,
        n_evaluations=objective.n_evaluations, seconds=time.perf_counter() - tick,
        message=message, covariance=covariance_matrix, hessian_unbounded=hessian,
        gradient_norm=gradient_norm, nelder_mead_gain=nelder_mead_gain,
        not_identified=not_identified, start_logliks=start_logliks, newton_decrement=float(decrement[0]),
        at_bound=at_bound, optimizer=optimizer, covariance_kind=covariance, exact_gradient=scores is not None,
        n_gradients=objective.n_gradients, scores_unbounded=person_scores, jacobian=jacobian,
    )


def _bhhh(objective: Objective, x0: np.ndarray, max_iterations: int, gradient_tolerance: float,
          bhhh_gain_tolerance: float = 0.0):
    """BHHH: Newton steps with the outer product of the per-person scores as the curvature, halving
    the step until the log-likelihood rises. Returns a scipy-like result (x, fun, nit, message)."""
    x = np.asarray(x0, dtype=float)
    contributions, scores = objective.scores(x)
    value = float(np.mean(contributions))
    message = f"BHHH stopped after {max_iterations} iterations"
    iteration = 0
    for iteration in range(1, max_iterations + 1):
        gradient = scores.mean(axis=0)
        if np.max(np.abs(gradient)) < gradient_tolerance:
            message = "BHHH: the gradient is below its tolerance"
            break
        outer = scores.T @ scores / len(contributions)
        try:
            direction = np.linalg.solve(outer + 1e-10 * np.trace(outer) * np.eye(len(x)), gradient)
        except np.linalg.LinAlgError:
            message = "BHHH: the outer product of the scores is singular"
            break
        gain = 0.5 * len(contributions) * float(gradient @ direction)
        if gain < bhhh_gain_tolerance:
            # the Newton decrement with this curvature: what a full step would still gain (log points)
            message = f"BHHH: a full step would gain {gain:.2g} log points (< {bhhh_gain_tolerance:g})"
            break
        scale, improved = 1.0, False
        while scale > 1e-6:
            trial = x + scale * direction
            trial_value = float(np.mean(objective.per_person(trial)))
            if trial_value > value:
                improved = True
                break
            scale /= 2
        if not improved:
            message = "BHHH: no step raises the log-likelihood"
            break
        gained = trial_value - value
        x, value = trial, trial_value
        contributions, scores = objective.scores(x)
        if gained < 1e-12 * max(1.0, abs(value)):
            message = "BHHH: the log-likelihood no longer rises"
            break
    return optimize.OptimizeResult(x=x, fun=-value, nit=iteration, message=message)


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
#: Relative accuracy of an exact gradient: the model's array derivatives are central differences
#: with a 1e-6 step (mig_lib.kw.gradient.ARRAY_STEP), exact up to rounding of about 1e-10.
EXACT_GRADIENT_ACCURACY = 1e-10


def _hessian_unbounded(objective: Objective, x: np.ndarray, step: float,
                       gradient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hessian of the mean log-likelihood and an entrywise bound on its finite-difference error.

    Forward differences of the gradient (K extra gradients). The error bound adds what the
    asymmetry of the raw differences shows (truncation, and the noise of the likelihood itself)
    to the rounding error of the differences: for a central-difference gradient,
    2 eps mean|l_i| / (gradient step * Hessian step); for an exact one, its relative accuracy
    times the scores' scale over the Hessian step.

    A column in a parameter of :meth:`Objective.model_free` (when some parameters are not) asks
    only for the model-free entries of the gradient, which need no pass through the model; its
    other entries are the matching row of the other columns (the Hessian is symmetric), so their
    asymmetry is not seen and their bound is the rounding part alone.
    """
    k = len(x)
    raw = np.empty((k, k))
    free = objective.model_free(x)
    if free.all():
        free = np.zeros(k, dtype=bool)
    for j in np.argsort(free, kind="stable"):   # the columns that move the model first
        up = x.copy()
        up[j] += step
        if free[j]:
            raw[free, j] = (objective.gradient(up, only=free)[free] - gradient[free]) / step
            raw[~free, j] = raw[j, ~free]
        else:
            raw[:, j] = (objective.gradient(up) - gradient) / step
    contributions, scores = objective.scores(x)
    if objective.exact_scores is not None:
        rounding = EXACT_GRADIENT_ACCURACY * max(float(np.mean(np.abs(scores))), 1.0) / step
    else:
        rounding = 2 * np.finfo(float).eps * max(float(np.mean(np.abs(contributions))), 1.0) / (objective.step * step)
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


def _covariance(hessian: np.ndarray, outer: np.ndarray | None, jacobian: np.ndarray, names: list[str],
                held) -> np.ndarray:
    """Delta-method covariance of the natural parameters; NaN rows and columns for ``held`` ones.

    (-H)^{-1} in the unbounded coordinates, or the sandwich (-H)^{-1} S'S (-H)^{-1} when the outer
    product of the scores ``outer`` is given, on the parameters that are neither on a bound nor flat.
    """
    covariance = np.full((len(names), len(names)), np.nan)
    keep = [i for i, n in enumerate(names) if n not in held]
    if keep:
        sub = np.ix_(keep, keep)
        try:
            inverse = np.linalg.inv(-hessian[sub])
        except np.linalg.LinAlgError:
            return covariance
        covariance_unbounded = inverse if outer is None else inverse @ outer[sub] @ inverse
        covariance[sub] = covariance_unbounded * np.outer(jacobian[keep], jacobian[keep])
    return covariance
