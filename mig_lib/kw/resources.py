"""How much memory and time a Kennan–Walker estimation request needs, checked before it starts.

The parameter ranges of the estimation page (and the arguments of :func:`mig_lib.kw.estimate.estimate_kw`)
allow requests far beyond a laptop: 20,000 people × 40 years × 31 provinces, or 15 × 15 match
points. :func:`kw_estimation_resources` adds up the arrays the estimator allocates and the number
of likelihood evaluations it makes; :func:`check_kw_estimation_request` refuses a request whose
memory exceeds the machine's (or ``$MIG_LIB_MEMORY_LIMIT``; the estimate is in the message) and warns, with an ETA, when it
would run longer than :data:`WARN_SECONDS`.

Memory (8-byte floats) at its peak, during one likelihood evaluation that re-solves the model:

* the value function V, one per solve: types × (education groups × homes) × ages × L² × M², M = n_nu · n_xi
  (three at once with the exact gradient, which keeps its last two solutions, each with two
  probabilities per state while the kept solutions need at most half the memory budget,
  :func:`keeps_probabilities`);
* the choice values of every reachable (row, match at ℓ0, match at ℓ1) triple and type, an
  (N, L) array and its log-sum-exp (N ≤ rows × M² × types), built while the log choice
  probabilities are extracted;
* the cached log choice probabilities, rows × types × M² per cached solution
  (:data:`mig_lib.kw.likelihood.CACHE_SIZE` of them);
* the wage log-densities, rows × n_nu × n_η · n_σ.

Time: the rates below were measured on the book's reference machine (2 cores, shared with other
work while measuring), so the ETA is an order of magnitude, not a promise.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

from mig_lib.core import ParameterError

#: Requests expected to run longer than this (seconds) get a warning with the ETA. The estimation
#: page's book-size defaults (one estimate and two Monte Carlo replications) come to a few minutes.
WARN_SECONDS = 3 * 3600.0
#: Seconds per state of the value function per solve (numba "shared" solver).
SECONDS_PER_STATE = 1.6e-7
#: Seconds per reachable (row, m0, m1, type) choice probability extracted after a solve.
SECONDS_PER_CHOICE_TRIPLE = 3.2e-6
#: Seconds per panel row of one evaluation of the mixture kernel and the wage densities.
SECONDS_PER_ROW = 1.4e-5
#: L-BFGS-B iterations assumed (the estimation page's CI run takes 88).
ASSUMED_ITERATIONS = 90
#: Nelder–Mead check: at most 40 evaluations per parameter (see maximize_likelihood).
NELDER_MEAD_PER_PARAMETER = 40

# The exact gradient (mig_lib.kw.gradient.ExactScores, the estimator's default). L-BFGS-B's
# gradients and the Hessian's columns are reverse mode (ExactScores.total): a solve when the point
# moves the model, one adjoint pass back through the recursion (at most a solve's cost, whatever the
# number of parameters; about half when the solve kept its probabilities) and one pass over the people. BHHH's steps and the covariances need every
# person's scores (forward mode: a tangent per parameter that moves the model). Measured on the
# estimation page's book problem (6 provinces, 1,000 × 10, n_xi = 2, 26 parameters of which 15 move
# the model; one thread, idle machine): a Monte Carlo replication from the truth took 24 s, 87
# likelihood evaluations, 72 reverse-mode gradients (the Hessian's 26 included) and 7 score calls.
#: Reverse-mode gradient calls of L-BFGS-B (KW_OPTIONS), the Hessian's not counted (book problem,
#: 26 parameters: 45 from the truth, 62 from the page's shifted start).
ASSUMED_EXACT_GRADIENT_CALLS = 50
#: Newton polish: up to 5 steps, each a trial evaluation and a gradient (2 steps are typical).
NEWTON_CALLS = 5
#: Per-person score calls (forward mode) per estimation: BHHH's steps and the two at the estimate
#: (7 from the truth, 69 from the page's shifted start, where BHHH crawls along the valley).
SCORE_CALLS = 10
#: Seconds per value-function state and parameter that moves the model, in the differentiated
#: backward pass (0.28 s for 1.24 million states and 15 parameters).
SECONDS_PER_STATE_TANGENT = 1.5e-8
#: Seconds per reachable (row, m0, m1, type) choice and parameter that moves the model, for its
#: derivative (the tangents' extraction and scatter).
SECONDS_PER_TRIPLE_TANGENT = 4.0e-8
#: Seconds per panel row of the scores kernel (the sum over match combinations with derivatives).
SECONDS_PER_ROW_SCORES = 4.0e-5
#: Seconds per parameter for the derivatives of the model's input arrays (two cheap model builds).
SECONDS_PER_ARRAY_TANGENT = 8.0e-3
#: Seconds per (row, m0, m1, type) triple to extract the log choice probabilities after a solve, as
#: measured with the exact gradient at book size (the triples counted here are an upper bound: most
#: rows reach only m1 = m0, so :data:`SECONDS_PER_CHOICE_TRIPLE`, measured on full China, prices
#: the book problem ten times too high).
SECONDS_PER_CHOICE_TRIPLE_BOOK = 5.0e-7

#: The exact path's rates above were measured on a machine at load 8-16 (two cores). On an idle core
#: the book problem's replication from the truth took 24 s (reverse-mode gradients; 52 s before)
#: where those rates price 120 s, and a full-China estimation (ξ off, 25 parameters, two threads)
#: about 4.5 min where they price 20: the exact path's price is divided by this measured ratio.
EXACT_PATH_IDLE_SPEEDUP = 4.0

FLOAT_BYTES = 8
N_TYPES = 2
N_WAGE_COMBINATIONS = 7 * 4   # η points × σ_ε points
CACHE_SIZE = 8                # mig_lib.kw.likelihood.CACHE_SIZE (kept here so this module imports nothing heavy)
SOLUTIONS_KEPT = 2            # mig_lib.kw.gradient.SOLUTIONS_KEPT
#: The exact gradient's kept solutions also keep two probabilities per state (twice v̄'s memory, and
#: half the adjoint pass's time) while the kept solutions with them need at most this share of the
#: memory budget (:func:`machine_memory_bytes`). On the book's 24 GiB machine full China qualifies
#: with the preference match off (2.1 GB) and on (8.2 GB); with 8 GiB, only with it off.
KEPT_PROBABILITY_MEMORY_SHARE = 0.5


class ResourceError(ParameterError):
    """A request that needs more memory than the machine has."""


class LongRunWarning(UserWarning):
    """A request expected to run longer than :data:`WARN_SECONDS` (a UserWarning, so it is shown)."""


@dataclass(frozen=True)
class KWResources:
    """The estimate for one request: bytes at the peak, likelihood evaluations, solves, seconds."""

    bytes_values: int
    bytes_choice_batch: int
    bytes_choice_cache: int
    bytes_wage_density: int
    n_evaluations: int
    n_solves: int
    seconds: float

    @property
    def bytes_total(self) -> int:
        return self.bytes_values + self.bytes_choice_batch + self.bytes_choice_cache + self.bytes_wage_density

    def describe(self) -> str:
        return (f"about {format_bytes(self.bytes_total)} of memory (value functions "
                f"{format_bytes(self.bytes_values)}, choice probabilities {format_bytes(self.bytes_choice_batch)} "
                f"while extracted and {format_bytes(self.bytes_choice_cache)} cached, wage densities "
                f"{format_bytes(self.bytes_wage_density)}) and about {self.n_evaluations:,} likelihood "
                f"evaluations ({self.n_solves:,} of them re-solving the model), roughly "
                f"{format_seconds(self.seconds)}")


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def format_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


#: Environment variable that sets a smaller memory budget than the machine's (bytes), e.g. on a
#: machine shared with other work.
MEMORY_LIMIT_VARIABLE = "MIG_LIB_MEMORY_LIMIT"


def machine_memory_bytes() -> int:
    """The memory budget: ``$MIG_LIB_MEMORY_LIMIT`` if set, else the machine's physical memory."""
    limit = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if limit:
        try:
            return int(float(limit))
        except ValueError:
            raise ParameterError(f"environment variable {MEMORY_LIMIT_VARIABLE} = {limit!r} is not allowed: "
                                 "expected a number of bytes, e.g. 8e9") from None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def keeps_probabilities(value_bytes: int, memory_bytes: int | None = None) -> bool:
    """Whether the exact gradient keeps two probabilities per state beside each of its kept
    solutions, whose value functions take ``value_bytes`` each: while the kept solutions with their
    probabilities (three times v̄'s memory each) need at most :data:`KEPT_PROBABILITY_MEMORY_SHARE`
    of ``memory_bytes`` (default: :func:`machine_memory_bytes`, which ``$MIG_LIB_MEMORY_LIMIT`` lowers)."""
    budget = machine_memory_bytes() if memory_bytes is None else memory_bytes
    return SOLUTIONS_KEPT * 3 * value_bytes <= KEPT_PROBABILITY_MEMORY_SHARE * budget


def kw_estimation_resources(n_people: int, n_years: int, n_provinces: int, n_params: int,
                            n_choice_params: int | None = None, n_nu: int = 3, n_xi: int = 1,
                            n_ages: int = 40, nelder_mead_check: bool = True,
                            n_estimates: int = 1, n_education: int = 2, exact_gradient: bool = True,
                            memory_bytes: int | None = None) -> KWResources:
    """Memory and evaluations of ``n_estimates`` maximum-likelihood runs (see the module docstring).

    ``n_choice_params`` (default: all of ``n_params``) is how many estimated parameters move
    choices: only finite differences in those re-solve the model, and only they carry tangents
    through the backward recursion of the exact gradient. ``n_education`` education groups (the
    book's two by default) multiply the homes axis of V. ``exact_gradient`` (the estimator's
    default) prices every gradient as one call of the exact scores; otherwise as central
    differences, 2 evaluations per parameter. ``memory_bytes`` is the budget that decides whether
    the kept solutions keep their probabilities (:func:`keeps_probabilities`).
    """
    n_choice_params = n_params if n_choice_params is None else n_choice_params
    rows = n_people * n_years
    match = n_nu * n_xi
    homes = n_education * n_provinces
    states = N_TYPES * homes * n_ages * n_provinces ** 2 * match ** 2
    triples = rows * match ** 2 * N_TYPES
    # the exact gradient keeps its last SOLUTIONS_KEPT solutions while an evaluation solves another,
    # each with two probabilities per state while the budget allows
    bytes_values = states * FLOAT_BYTES * (SOLUTIONS_KEPT + 1 if exact_gradient else 1)
    if exact_gradient and keeps_probabilities(states * FLOAT_BYTES, memory_bytes):
        bytes_values += SOLUTIONS_KEPT * 2 * states * FLOAT_BYTES
    bytes_choice_batch = 2 * triples * n_provinces * FLOAT_BYTES
    bytes_choice_cache = CACHE_SIZE * rows * N_TYPES * match ** 2 * FLOAT_BYTES
    bytes_wage_density = rows * n_nu * N_WAGE_COMBINATIONS * FLOAT_BYTES
    k = n_params
    nelder_mead = NELDER_MEAD_PER_PARAMETER * k if nelder_mead_check else 0
    solve_seconds = states * SECONDS_PER_STATE + triples * SECONDS_PER_CHOICE_TRIPLE
    if exact_gradient:
        # every gradient priced with the adjoint pass at a solve's cost (an upper bound: the Hessian's
        # wage-only columns skip it and reuse the solution); a call whose point moves the model also re-solves
        calls = ASSUMED_EXACT_GRADIENT_CALLS + k + NEWTON_CALLS
        solving_calls = ASSUMED_EXACT_GRADIENT_CALLS + n_choice_params + 1 + NEWTON_CALLS
        plain = NEWTON_CALLS + nelder_mead
        solve_seconds = states * SECONDS_PER_STATE + triples * SECONDS_PER_CHOICE_TRIPLE_BOOK
        evaluations = n_estimates * (calls + SCORE_CALLS + plain)
        solves = n_estimates * (solving_calls + plain)
        seconds = n_estimates / EXACT_PATH_IDLE_SPEEDUP * (
            solving_calls * solve_seconds
            + calls * (states * SECONDS_PER_STATE + rows * SECONDS_PER_ROW_SCORES + k * SECONDS_PER_ARRAY_TANGENT)
            + SCORE_CALLS * (n_choice_params * (states * SECONDS_PER_STATE_TANGENT + triples * SECONDS_PER_TRIPLE_TANGENT)
                             + rows * SECONDS_PER_ROW_SCORES)
            + plain * (solve_seconds + rows * SECONDS_PER_ROW))
    else:
        gradient = 2 * k
        per_run = ASSUMED_ITERATIONS * (1 + gradient) + k * gradient + 5 * (3 + gradient) + nelder_mead
        share_solving = (2 * n_choice_params + 1) / (gradient + 1)
        evaluations = n_estimates * per_run
        solves = int(math.ceil(evaluations * share_solving))
        seconds = solves * solve_seconds + evaluations * rows * SECONDS_PER_ROW
    return KWResources(bytes_values=bytes_values, bytes_choice_batch=bytes_choice_batch,
                       bytes_choice_cache=bytes_choice_cache, bytes_wage_density=bytes_wage_density,
                       n_evaluations=int(evaluations), n_solves=solves, seconds=float(seconds))


def check_kw_estimation_request(n_people: int, n_years: int, n_provinces: int, n_params: int,
                                n_choice_params: int | None = None, n_nu: int = 3, n_xi: int = 1,
                                n_ages: int = 40, nelder_mead_check: bool = True, n_estimates: int = 1,
                                memory_bytes: int | None = None, warn_seconds: float = WARN_SECONDS,
                                exact_gradient: bool = True) -> KWResources:
    """Refuse a request that needs more memory than the machine has; warn above ``warn_seconds``.

    Raises :class:`ResourceError` (a ParameterError) with the estimate and the machine's memory;
    warns with :class:`LongRunWarning` giving the ETA. Returns the estimate.
    """
    estimate = kw_estimation_resources(n_people, n_years, n_provinces, n_params, n_choice_params, n_nu=n_nu,
                                       n_xi=n_xi, n_ages=n_ages, nelder_mead_check=nelder_mead_check,
                                       n_estimates=n_estimates, exact_gradient=exact_gradient,
                                       memory_bytes=memory_bytes)
    available = machine_memory_bytes() if memory_bytes is None else memory_bytes
    request = (f"{n_people:,} people × {n_years} years × {n_provinces} provinces, n_nu = {n_nu}, n_xi = {n_xi}, "
               f"{n_params} parameters" + (f", {n_estimates} estimations" if n_estimates > 1 else ""))
    if estimate.bytes_total > available:
        raise ResourceError(f"this estimation request ({request}) needs {estimate.describe()}; this machine has "
                            f"{format_bytes(available)} of memory. Use fewer people, years, provinces or match "
                            "points")
    if estimate.seconds > warn_seconds:
        warnings.warn(f"this estimation request ({request}) needs {estimate.describe()}: expect it to take "
                      f"about {format_seconds(estimate.seconds)} (ETA on a 2-core machine)", LongRunWarning,
                      stacklevel=2)
    return estimate


def check_kw_solution_memory(n_provinces: int, n_xi: int = 1, n_nu: int = 3, n_ages: int = 40, copies: int = 1,
                             n_education: int = 2, memory_bytes: int | None = None) -> int:
    """Refuse a model whose value function, held ``copies`` times at once, needs more memory than the
    machine has (:class:`ResourceError` naming the request); returns the bytes needed."""
    match = n_nu * n_xi
    one = N_TYPES * n_education * n_provinces * n_ages * n_provinces ** 2 * match ** 2 * FLOAT_BYTES
    available = machine_memory_bytes() if memory_bytes is None else memory_bytes
    if copies * one > available:
        raise ResourceError(f"this model ({n_provinces} provinces, n_nu = {n_nu}, n_xi = {n_xi}, {n_ages} ages) has a "
                            f"value function of {format_bytes(one)}, held {copies} times at once: "
                            f"{format_bytes(copies * one)}; this machine has {format_bytes(available)} of memory. "
                            "Use fewer provinces or match points")
    return copies * one
