"""How much memory and time a Kennan–Walker estimation request needs, checked before it starts.

The parameter ranges of the estimation page (and the arguments of :func:`mig_lib.kw.estimate.estimate_kw`)
allow requests far beyond a laptop: 20,000 people × 40 years × 31 provinces, or 15 × 15 match
points. :func:`kw_estimation_resources` adds up the arrays the estimator allocates and the number
of likelihood evaluations it makes; :func:`check_kw_estimation_request` refuses a request whose
memory exceeds the machine's (or ``$MIG_LIB_MEMORY_LIMIT``; the estimate is in the message) and warns, with an ETA, when it
would run longer than :data:`WARN_SECONDS`.

Memory (8-byte floats) at its peak, during one likelihood evaluation that re-solves the model:

* the value function V, one per solve: types × (education groups × homes) × ages × L² × M², M = n_nu · n_xi;
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
#: page's book-size defaults (one estimate and five Monte Carlo replications) come to about 2.3 h
#: at the rates below, which were measured on a busy machine: the real run is shorter.
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

FLOAT_BYTES = 8
N_TYPES = 2
N_WAGE_COMBINATIONS = 7 * 4   # η points × σ_ε points
CACHE_SIZE = 8                # mig_lib.kw.likelihood.CACHE_SIZE (kept here so this module imports nothing heavy)


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
        return (f"about {format_bytes(self.bytes_total)} of memory (value function "
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


def kw_estimation_resources(n_people: int, n_years: int, n_provinces: int, n_params: int,
                            n_choice_params: int | None = None, n_nu: int = 3, n_xi: int = 1,
                            n_ages: int = 40, nelder_mead_check: bool = True,
                            n_estimates: int = 1, n_education: int = 2) -> KWResources:
    """Memory and evaluations of ``n_estimates`` maximum-likelihood runs (see the module docstring).

    ``n_choice_params`` (default: all of ``n_params``) is how many estimated parameters move
    choices: only finite differences in those re-solve the model. ``n_education`` education
    groups (the book's two by default) multiply the homes axis of V.
    """
    n_choice_params = n_params if n_choice_params is None else n_choice_params
    rows = n_people * n_years
    match = n_nu * n_xi
    homes = n_education * n_provinces
    states = N_TYPES * homes * n_ages * n_provinces ** 2 * match ** 2
    triples = rows * match ** 2 * N_TYPES
    bytes_values = states * FLOAT_BYTES
    bytes_choice_batch = 2 * triples * n_provinces * FLOAT_BYTES
    bytes_choice_cache = CACHE_SIZE * rows * N_TYPES * match ** 2 * FLOAT_BYTES
    bytes_wage_density = rows * n_nu * N_WAGE_COMBINATIONS * FLOAT_BYTES
    k = n_params
    gradient = 2 * k
    per_run = (ASSUMED_ITERATIONS * (1 + gradient) + k * gradient + 5 * (3 + gradient)
               + (NELDER_MEAD_PER_PARAMETER * k if nelder_mead_check else 0))
    share_solving = (2 * n_choice_params + 1) / (gradient + 1)
    evaluations = n_estimates * per_run
    solves = int(math.ceil(evaluations * share_solving))
    seconds = (solves * (states * SECONDS_PER_STATE + triples * SECONDS_PER_CHOICE_TRIPLE)
               + evaluations * rows * SECONDS_PER_ROW)
    return KWResources(bytes_values=bytes_values, bytes_choice_batch=bytes_choice_batch,
                       bytes_choice_cache=bytes_choice_cache, bytes_wage_density=bytes_wage_density,
                       n_evaluations=int(evaluations), n_solves=solves, seconds=float(seconds))


def check_kw_estimation_request(n_people: int, n_years: int, n_provinces: int, n_params: int,
                                n_choice_params: int | None = None, n_nu: int = 3, n_xi: int = 1,
                                n_ages: int = 40, nelder_mead_check: bool = True, n_estimates: int = 1,
                                memory_bytes: int | None = None, warn_seconds: float = WARN_SECONDS) -> KWResources:
    """Refuse a request that needs more memory than the machine has; warn above ``warn_seconds``.

    Raises :class:`ResourceError` (a ParameterError) with the estimate and the machine's memory;
    warns with :class:`LongRunWarning` giving the ETA. Returns the estimate.
    """
    estimate = kw_estimation_resources(n_people, n_years, n_provinces, n_params, n_choice_params, n_nu=n_nu,
                                       n_xi=n_xi, n_ages=n_ages, nelder_mead_check=nelder_mead_check,
                                       n_estimates=n_estimates)
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
