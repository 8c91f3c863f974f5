"""Backward induction for the Kennan-Walker model: numba solvers and two references.

The expected value v̄(x) = E max_j [v(x, j) + zeta_j] with EV1 shocks is the log-sum-exp of the
choice-specific values (up to Euler's constant, which we drop: it shifts every v̄ by the same
constant per remaining year and cancels from choice probabilities)

    v(x, j)  = u_h(x, j) + beta * E[v̄(x') | x, j]          (v̄ after the last age: model.terminal_value)
    v̄(x)    = log sum_j exp v(x, j)

and the transition (eq 8) is never stored as a matrix: staying keeps x, returning to l1 swaps the
remembered locations and matches, and a new province j draws its match uniformly, so the
expectation is the mean of v̄(j, l0, s, m0) over the n_match support points s.

Solvers (all return a :class:`KWSolution` holding v̄ for every state):

* ``solve(model, method="shared")`` -- numba, parallel over (type, home) with ``prange``.  For a
  given (l0, m0) the values of moving to a *new* province j do not depend on (l1, m1), so their
  exponentials are computed once per (l0, m0) and summed with prefix/suffix sums that leave out
  l1 (no subtraction, hence no cancellation).  Each state then needs only the stay and return
  terms, shifted by the largest of stay, return and new-province maximum (whose own term then needs
  no exponential): two exponentials and a logarithm instead of L exponentials.
* ``solve(model, method="fused")`` -- numba, the direct fused log-sum-exp with one exponential per
  (state, choice) entry; the kernel that the arithmetic-floor benchmark is about.
* ``solve_numpy`` -- vectorised numpy/scipy reference (builds the (L, L, M, M, L) value array per
  age, home and type).
* ``solve_python`` -- a deliberately obvious pure-Python reference for tiny geographies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from scipy.special import logsumexp

from mig_lib.core import ParameterError
from mig_lib.kw.model import KWModel

SOLVER_METHODS = ("shared", "fused")
#: The empty stand-in for the probabilities a plain solve does not keep.
NO_PROBABILITIES = np.empty((0,) * 8)


@dataclass
class KWSolution:
    """Expected values v̄ for every state, and choice probabilities computed on demand.

    ``V[tau, h, a, l0, l1, m0, m1]`` (float64) is v̄ at age ``model.ages[a]``.
    """

    model: KWModel
    V: np.ndarray
    method: str
    #: each state's return probability and new-province scale, when the solve kept them
    #: (:func:`solve_keeping_probabilities`, for the exact gradient); else None
    probabilities: np.ndarray | None = None

    @property
    def kept_probabilities(self) -> np.ndarray:
        """What the gradient kernels read: the kept probabilities, or the empty stand-in that tells
        them to recompute."""
        return NO_PROBABILITIES if self.probabilities is None else self.probabilities

    @property
    def n_states(self) -> int:
        return int(self.V.size)

    def _kernel_args(self):
        m = self.model
        return (self.V, m.terminal_value, m.location_utility, m.match_utility, m.moving_cost, m.age_cost, m.beta,
                m.return_discount)

    def choice_values(self, tau, home, age_index, l0, l1, m0, m1) -> np.ndarray:
        """(N, L) choice-specific values v(x, j) at N arbitrary states (int arrays of length N)."""
        states = _as_state_arrays(self, tau, home, age_index, l0, l1, m0, m1)
        return _choice_values_batch(*self._kernel_args(), *states)

    def choice_probabilities(self, tau, home, age_index, l0, l1, m0, m1) -> np.ndarray:
        """(N, L) logit choice probabilities rho(x, j) = exp(v(x, j) - v̄(x)) at N states."""
        values = self.choice_values(tau, home, age_index, l0, l1, m0, m1)
        return np.exp(values - logsumexp(values, axis=1, keepdims=True))

    def log_choice_probability(self, tau, home, age_index, l0, l1, m0, m1, choice) -> np.ndarray:
        """(N,) log rho(x, choice) at N states, for likelihoods."""
        states = _as_state_arrays(self, tau, home, age_index, l0, l1, m0, m1)
        choice = np.ascontiguousarray(np.asarray(choice, dtype=np.int64).reshape(-1))
        L = self.model.n_locations
        if choice.shape[0] != states[0].shape[0] or np.any((choice < 0) | (choice >= L)):
            raise ParameterError(f"argument 'choice' is not allowed: expected {states[0].shape[0]} province indices in "
                                 f"[0, {L - 1}]")
        return _log_choice_probability_batch(*self._kernel_args(), *states, choice)

    def at_home_choice_probabilities(self, tau: int = 0, education: int = 0, age_index: int = 0,
                                     match: int | None = None) -> np.ndarray:
        """(L, L) choice probabilities of a person at home who has never moved, one row per home h:
        state (l0 = l1 = h, the same match m at both), of type ``tau`` and education group index
        ``education``, at the model's age ``ages[age_index]``; ``match`` defaults to the middle draw."""
        model = self.model
        L, M = model.n_locations, model.n_match
        match = M // 2 if match is None else match
        for name, value, bound in (("tau", tau, model.n_types), ("education", education, model.n_education),
                                   ("age_index", age_index, model.n_ages), ("match", match, M)):
            if not isinstance(value, (int, np.integer)) or not 0 <= value < bound:
                raise ParameterError(f"argument '{name}' = {value!r} is not allowed: expected an integer in [0, {bound - 1}]")
        homes = np.arange(L)
        return self.choice_probabilities(np.full(L, tau), model.row_index(np.full(L, education), homes),
                                         np.full(L, age_index), homes, homes, np.full(L, match), np.full(L, match))

    def all_choice_probabilities(self, max_entries: int = 50_000_000) -> np.ndarray:
        """Every choice probability, shape V.shape + (L,). Only for small problems (memory!)."""
        size = self.V.size * self.model.n_locations
        if size > max_entries:
            raise ParameterError(
                f"all_choice_probabilities would hold {size:,} numbers (> max_entries = {max_entries:,}); "
                "use choice_probabilities at the states you need")
        grids = np.indices(self.V.shape).reshape(7, -1)
        probs = self.choice_probabilities(*grids)
        return probs.reshape(self.V.shape + (self.model.n_locations,))


def _as_state_arrays(solution: KWSolution, *state):
    names = ("tau", "home", "age_index", "l0", "l1", "m0", "m1")
    arrays = np.broadcast_arrays(*[np.asarray(s, dtype=np.int64).reshape(-1) for s in state])
    for name, values, bound in zip(names, arrays, solution.V.shape):
        if values.size and (values.min() < 0 or values.max() >= bound):
            raise ParameterError(f"argument '{name}' has values outside [0, {bound - 1}]")
    return tuple(np.ascontiguousarray(a) for a in arrays)


# --------------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def new_location_continuation(V, terminal, t, h, a, l0, m0, j):
    """mean_s v̄(j, l0, s, m0) at the next age (the terminal value after the last): what moving from
    l0 to a new province j continues with, its match drawn afresh."""
    M = V.shape[5]
    last = a == V.shape[2] - 1
    continuation = 0.0
    for s in range(M):
        continuation += terminal[h, j, s] if last else V[t, h, a + 1, j, l0, s, m0]
    return continuation / M


@njit(cache=True)
def _new_location_row(V, terminal, t, h, a, l0, m0, moving_cost, age_cost, beta, row):
    """row[j] = -Delta(l0 -> j) + beta * mean_s v̄(j, l0, s, m0), the value of moving to a new j."""
    for j in range(row.shape[0]):
        if j == l0:
            row[j] = -np.inf
            continue
        continuation = new_location_continuation(V, terminal, t, h, a, l0, m0, j)
        row[j] = -(moving_cost[t, h, l0, j] + age_cost[a]) + beta * continuation


@njit(cache=True, inline="always")
def _stay_value(V, terminal, beta, t, h, a, l0, l1, m0, m1):
    """The value of staying at l0 (the state is kept), flow utility left out."""
    last = a == V.shape[2] - 1
    return beta * (terminal[h, l0, m0] if last else V[t, h, a + 1, l0, l1, m0, m1])


@njit(cache=True, inline="always")
def _return_value(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, l1, m0, m1):
    """The value of returning to the previous province l1 != l0 (the remembered locations and
    matches swap), flow utility left out."""
    last = a == V.shape[2] - 1
    cost = moving_cost[t, h, l0, l1] + age_cost[a] - return_discount
    return -cost + beta * (terminal[h, l1, m1] if last else V[t, h, a + 1, l1, l0, m1, m0])


@njit(cache=True, inline="always")
def _put_stay_and_return(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, l1, m0, m1, row):
    """Complete a new-province row into every choice's value at state (l0, l1, m0, m1)."""
    row[l0] = _stay_value(V, terminal, beta, t, h, a, l0, l1, m0, m1)
    if l1 != l0:
        row[l1] = _return_value(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, l1, m0, m1)


@njit(cache=True, inline="always")
def _max_and_shifted_exp_sum(values):
    """(top, total): the largest value and sum_j exp(values[j] - top), so that the log-sum-exp is
    top + log(total) with no exponential overflowing."""
    top = values[0]
    for j in range(1, values.shape[0]):
        if values[j] > top:
            top = values[j]
    total = 0.0
    for j in range(values.shape[0]):
        total += math.exp(values[j] - top)
    return top, total


@njit(cache=True, inline="always")
def new_province_exponentials(row, row_max, l0, expo, before, after):
    """expo[j] = exp(row[j] − row_max) for the new provinces j ≠ l0 (0 at l0), and its running sums
    before[k] = Σ_{j < k} expo[j] and after[k] = Σ_{j > k} expo[j]: the sum over the new provinces
    other than l1 is then before[l1] + after[l1], with no subtraction to cancel."""
    L = row.shape[0]
    for j in range(L):
        expo[j] = 0.0 if j == l0 else math.exp(row[j] - row_max)
    before[0] = 0.0
    for j in range(L):
        before[j + 1] = before[j] + expo[j]
    after[L - 1] = 0.0
    for j in range(L - 1, 0, -1):
        after[j - 1] = after[j] + expo[j]


@njit(cache=True, inline="always")
def _shared_cells(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, m0, base, row,
                  expo, before, after, P):
    """v̄ at every (l1, m1) of one (l0, m0): the new-province exponentials once, then two per state.

    before[k] = sum of expo[j] for j < k and after[k] = sum for j > k (j != l0), so the sum over
    the new provinces other than l1 is one addition, with no subtraction to cancel. When ``P`` is
    not empty it receives, at every state, the return's probability and the new provinces' scale
    exp(max_j v_new(j) − log Σ), from which the exact gradient's adjoint pass reads every choice
    probability without an exponential (:func:`mig_lib.kw.gradient._value_adjoint_kernel`)."""
    store = P.shape[0] > 0
    L = row.shape[0]
    M = V.shape[5]
    row_max = -np.inf
    for j in range(L):
        if row[j] > row_max:
            row_max = row[j]
    new_province_exponentials(row, row_max, l0, expo, before, after)
    for l1 in range(L):
        new_sum = before[L] if l1 == l0 else before[l1] + after[l1]
        for m1 in range(M):
            stay = _stay_value(V, terminal, beta, t, h, a, l0, l1, m0, m1)
            # shifted by the largest of the three, whose own term then needs no exponential
            # (the exponentials and the logarithm are what this loop costs)
            # e_back and e_new: the return's and the new provinces' terms relative to the top one
            if l1 == l0:
                e_back = 0.0
                if stay >= row_max:
                    e_new = math.exp(row_max - stay)
                    top, total = stay, 1.0 + new_sum * e_new
                else:
                    e_new = 1.0
                    top, total = row_max, math.exp(stay - row_max) + new_sum
            else:
                back = _return_value(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, l1, m0, m1)
                if stay >= back and stay >= row_max:
                    e_back, e_new = math.exp(back - stay), math.exp(row_max - stay)
                    top, total = stay, 1.0 + e_back + new_sum * e_new
                elif back >= row_max:
                    e_back, e_new = 1.0, math.exp(row_max - back)
                    top, total = back, math.exp(stay - back) + 1.0 + new_sum * e_new
                else:
                    e_back, e_new = math.exp(back - row_max), 1.0
                    top, total = row_max, math.exp(stay - row_max) + e_back + new_sum
            V[t, h, a, l0, l1, m0, m1] = base + top + math.log(total)
            if store:
                P[t, h, a, l0, l1, m0, m1, 0] = e_back / total
                P[t, h, a, l0, l1, m0, m1, 1] = e_new / total if row_max > -np.inf else 0.0


@njit(cache=True, inline="always")
def _fused_cells(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, m0, base, row, values):
    """v̄ at every (l1, m1) of one (l0, m0): the direct log-sum-exp, one exponential per choice."""
    L = row.shape[0]
    M = V.shape[5]
    for l1 in range(L):
        for m1 in range(M):
            for j in range(L):
                values[j] = row[j]
            _put_stay_and_return(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, l1, m0, m1,
                                 values)
            top, total = _max_and_shifted_exp_sum(values)
            V[t, h, a, l0, l1, m0, m1] = base + top + math.log(total)


@njit(cache=True, parallel=True)
def _solve_kernel(V, terminal, location_utility, match_utility, moving_cost, age_cost, beta, return_discount, fused,
                  P):
    """Backward induction, in parallel over the independent (type, home) problems; at every age
    and (l0, m0), the new-province row is computed once and the cells of all (l1, m1) filled from it
    (``fused``: by :func:`_fused_cells`, else by :func:`_shared_cells`, which also fills ``P``
    unless it is empty)."""
    T, H, A, L, _, M, _ = V.shape
    for th in prange(T * H):
        t = th // H
        h = th % H
        row = np.empty(L)
        values = np.empty(L)      # fused: every choice's value at one state
        expo = np.empty(L)        # shared: the new-province exponentials and their running sums
        before = np.empty(L + 1)
        after = np.empty(L + 1)
        for a in range(A - 1, -1, -1):
            for l0 in range(L):
                for m0 in range(M):
                    _new_location_row(V, terminal, t, h, a, l0, m0, moving_cost, age_cost, beta, row)
                    base = location_utility[h, l0] + match_utility[m0]
                    if fused:
                        _fused_cells(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, m0, base,
                                     row, values)
                    else:
                        _shared_cells(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, m0,
                                      base, row, expo, before, after, P)


@njit(cache=True)
def _state_choice_row(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, l1, m0, m1, row):
    """row[j] = v(x, j) minus the flow utility of x (which is the same for every j), at one state."""
    _new_location_row(V, terminal, t, h, a, l0, m0, moving_cost, age_cost, beta, row)
    _put_stay_and_return(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, l1, m0, m1, row)


@njit(cache=True, parallel=True)
def _choice_values_batch(V, terminal, location_utility, match_utility, moving_cost, age_cost, beta, return_discount,
                         tau, home, age_index, l0s, l1s, m0s, m1s):
    N = tau.shape[0]
    L = V.shape[3]
    out = np.empty((N, L))
    for i in prange(N):
        t, h, a, l0, l1, m0, m1 = tau[i], home[i], age_index[i], l0s[i], l1s[i], m0s[i], m1s[i]
        row = np.empty(L)
        _state_choice_row(V, terminal, moving_cost, age_cost, beta, return_discount, t, h, a, l0, l1, m0, m1, row)
        base = location_utility[h, l0] + match_utility[m0]
        for j in range(L):
            out[i, j] = base + row[j]
    return out


@njit(cache=True, parallel=True)
def _log_choice_probability_batch(V, terminal, location_utility, match_utility, moving_cost, age_cost, beta,
                                  return_discount, tau, home, age_index, l0s, l1s, m0s, m1s, choices):
    """log rho(x, choice) at N states: the choice values and their log-sum-exp in one pass, without
    the (N, L) array (the likelihood's hot loop; the flow utility cancels)."""
    N = tau.shape[0]
    L = V.shape[3]
    out = np.empty(N)
    for i in prange(N):
        row = np.empty(L)
        _state_choice_row(V, terminal, moving_cost, age_cost, beta, return_discount, tau[i], home[i], age_index[i],
                          l0s[i], l1s[i], m0s[i], m1s[i], row)
        top, total = _max_and_shifted_exp_sum(row)
        out[i] = row[choices[i]] - top - math.log(total)
    return out


def value_shape(model: KWModel) -> tuple[int, ...]:
    """The shape (T, H, A, L, L, M, M) of V."""
    L, M = model.n_locations, model.n_match
    return (model.n_types, model.n_homes, model.n_ages, L, L, M, M)


def allocate_values(model: KWModel) -> np.ndarray:
    """An empty V array of shape (T, H, A, L, L, M, M)."""
    return np.empty(value_shape(model))


def _check_output(name: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    if array.shape != shape or array.dtype != np.float64 or not array.flags.c_contiguous:
        raise ParameterError(f"argument '{name}' must be a C-contiguous float64 array of shape {shape}")


def solve(model: KWModel, method: str = "shared", out: np.ndarray | None = None) -> KWSolution:
    """Solve the model by backward induction with numba (threads: ``numba.set_num_threads``).

    ``method`` is ``"shared"`` (default, fastest) or ``"fused"`` (one exponential per entry);
    ``out`` optionally reuses a preallocated V array (e.g. inside an estimation loop).
    """
    if method not in SOLVER_METHODS:
        raise ParameterError(f"argument 'method' = {method!r} is not allowed: expected one of {SOLVER_METHODS}")
    V = allocate_values(model) if out is None else out
    _check_output("out", V, value_shape(model))
    _solve_kernel(V, model.terminal_value, model.location_utility, model.match_utility, model.moving_cost,
                  model.age_cost, model.beta, model.return_discount, method == "fused", NO_PROBABILITIES)
    return KWSolution(model=model, V=V, method=method)


def solve_keeping_probabilities(model: KWModel, out: np.ndarray, probabilities: np.ndarray) -> KWSolution:
    """The shared solve, which also writes into ``probabilities`` (shape V.shape + (2,)) each state's
    return probability and new-province scale (see :func:`_shared_cells`): what the exact gradient's
    adjoint pass would otherwise recompute with two exponentials per state. ``out`` is the V array."""
    _check_output("out", out, value_shape(model))
    _check_output("probabilities", probabilities, value_shape(model) + (2,))
    _solve_kernel(out, model.terminal_value, model.location_utility, model.match_utility, model.moving_cost,
                  model.age_cost, model.beta, model.return_discount, False, probabilities)
    return KWSolution(model=model, V=out, method="shared", probabilities=probabilities)


# --------------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------------

def numpy_age_step(V_next, location_utility_h, match_utility, cost_th, age_cost_a, beta, return_discount,
                   terminal_h=None):
    """One backward step for one (type, home) in numpy: returns v̄ (L, L, M, M) at this age.

    ``V_next`` is v̄ at the next age, or None at the last age; then ``terminal_h`` (L, M) is the
    value of ending in (l, m) (None: 0).
    """
    L = cost_th.shape[0]
    M = match_utility.shape[0]
    off_diagonal = ~np.eye(L, dtype=bool)
    cost = cost_th + age_cost_a * off_diagonal                              # [l0, j]
    if V_next is None:
        # the terminal value depends on where one ends and its match only: v̄(l0, l1, m0, m1) = W(l0, m0)
        W = np.zeros((L, M)) if terminal_h is None else terminal_h
        V_next = np.broadcast_to(W[:, None, :, None], (L, L, M, M))
    new_mean = V_next.mean(axis=2)                                          # [j, l0, m0]
    continuation = np.broadcast_to(new_mean.transpose(1, 2, 0)[:, None, :, None, :], (L, L, M, M, L)).copy()
    returned = V_next.transpose(1, 0, 3, 2)                                 # [l0, l1, m0, m1] -> v̄(l1, l0, m1, m0)
    stayed = V_next
    values = beta * continuation - cost[:, None, None, None, :]
    diag = np.arange(L)
    values[diag, :, :, :, diag] = beta * stayed[diag]                      # j == l0: stay
    i0, i1 = np.nonzero(off_diagonal)
    values[i0, i1, :, :, i1] = (beta * returned[i0, i1] - cost[i0, i1][:, None, None] + return_discount)
    base = location_utility_h[:, None, None, None] + match_utility[None, None, :, None]
    return base + logsumexp(values, axis=-1)


def solve_numpy(model: KWModel) -> KWSolution:
    """Vectorised numpy/scipy reference solver (same result as ``solve``)."""
    V = allocate_values(model)
    for t in range(model.n_types):
        for h in range(model.n_homes):
            V_next = None
            for a in range(model.n_ages - 1, -1, -1):
                V[t, h, a] = numpy_age_step(V_next, model.location_utility[h], model.match_utility,
                                            model.moving_cost[t, h], model.age_cost[a], model.beta,
                                            model.return_discount, model.terminal_value[h])
                V_next = V[t, h, a]
    return KWSolution(model=model, V=V, method="numpy")


def solve_python(model: KWModel) -> KWSolution:
    """Pure-Python reference: loops over every state and choice, written to be read, not run big."""
    if model.n_states * model.n_locations > 2_000_000:
        raise ParameterError("solve_python is a reference for tiny geographies: the problem is too large")
    T, H, A, L, M = model.n_types, model.n_homes, model.n_ages, model.n_locations, model.n_match
    beta = model.beta
    W = model.terminal_value
    V = allocate_values(model)
    for t in range(T):
        for h in range(H):
            for a in reversed(range(A)):
                last = a == A - 1
                for l0 in range(L):
                    for l1 in range(L):
                        for m0 in range(M):
                            for m1 in range(M):
                                flow = float(model.location_utility[h, l0] + model.match_utility[m0])
                                values = []
                                for j in range(L):
                                    if j == l0:
                                        cost = 0.0
                                        future = W[h, l0, m0] if last else V[t, h, a + 1, l0, l1, m0, m1]
                                    elif j == l1:
                                        cost = model.moving_cost[t, h, l0, j] + model.age_cost[a] - model.return_discount
                                        future = W[h, l1, m1] if last else V[t, h, a + 1, l1, l0, m1, m0]
                                    else:
                                        cost = model.moving_cost[t, h, l0, j] + model.age_cost[a]
                                        future = (sum(W[h, j, s] for s in range(M)) / M if last
                                                  else sum(V[t, h, a + 1, j, l0, s, m0] for s in range(M)) / M)
                                    values.append(flow - cost + beta * future)
                                top = max(values)
                                V[t, h, a, l0, l1, m0, m1] = top + math.log(sum(math.exp(v - top) for v in values))
    return KWSolution(model=model, V=V, method="python")
