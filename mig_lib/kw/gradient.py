"""The exact gradient of the Kennan–Walker log-likelihood, and per-person scores.

Every structural parameter θ_k acts on the likelihood only through the arrays of
:class:`~mig_lib.kw.model.KWModel` (location utility, match utility, moving cost, age cost,
terminal value, β and the return discount), the wage inputs (residual, ν, η and σ_ε points) and
the log type weights. Their derivatives are taken generically by central differences of the cheap
builders (``build_model``, ``KWLikelihood.wage_inputs``): nearly every entry is linear in each
parameter, so these differences are exact up to rounding, whatever parameters the table holds.

The expensive part, the dependence of v̄ on θ through the backward recursion, is differentiated
exactly in the same pass structure as the solver (:mod:`mig_lib.kw.solve`):

    dv̄(x) = d base(x) + Σ_j ρ(x, j) dv(x, j),       ρ(x, j) = exp(v(x, j) − v̄(x)),

with dv(x, j) = −dΔ(x, j) + dβ E[v̄(x')] + β E[dv̄(x')]. The values of moving to a *new* province
do not depend on (ℓ1, m1), so their ρ-weighted derivatives are summed once per (ℓ0, m0) with
prefix/suffix sums that leave out ℓ1, as the solver does for the values. Tangents dv̄/dθ are kept
for two ages at a time per (type, home), never for every age, so full China fits in memory; the
derivative of each log choice probability the likelihood reads, d log ρ(x, j) = dv(x, j) −
(dv̄(x) − d base(x)), is taken at its age during the pass.

The derivative then follows the likelihood through the sum over match combinations, the
(η, σ_ε) mixture and the type mixture (annual panels), or through the forward recursion (years
between observations), giving one score vector per person: BHHH, the outer-product and sandwich
covariances use them directly.

The optimiser needs only their sum, and that is cheaper in reverse mode
(:meth:`ExactScores.total`): one pass over the people gives the likelihood's weight on every log
choice probability it reads (its adjoint), and one adjoint pass through the recursion, youngest
age first, carries those weights onto the model's arrays, which are contracted with the arrays'
derivatives once — the pass carries no K-long tangents, so its cost does not grow with the number
of parameters (:func:`_value_adjoint_kernel`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from scipy import sparse

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.kw.likelihood import LOG_SQRT_2PI, KWLikelihood, _forward_person, _logsumexp, combination_digits
from mig_lib.kw.model import KWModel
from mig_lib.kw.resources import keeps_probabilities
from mig_lib.kw.solve import (NO_PROBABILITIES, allocate_values, new_location_continuation, new_province_exponentials,
                              solve, solve_keeping_probabilities)

#: Relative step of the central differences of the model's arrays. The arrays are linear in every
#: parameter but β (and the log type weights are smooth), so the difference is exact up to
#: rounding, about 1e-16 / 1e-6 relative.
ARRAY_STEP = 1e-6

#: The reverse-mode pass over the people keeps each combination's wage-error shares up to this many
#: numbers per person (8 bytes each; a person's wage combinations are n_ν^draws).
STORED_WAGE_SHARES = 2_000_000

#: Solutions :class:`ExactScores` keeps (least recently used dropped; each holds v̄ for every state).
SOLUTIONS_KEPT = 2

#: The forward recursion needs the derivative of every choice probability: refuse beyond this.
MAX_FORWARD_ENTRIES = 60_000_000


@dataclass(frozen=True)
class ArrayTangents:
    """Derivatives of the model's and the likelihood's inputs, parameter axis K last."""

    location_utility: np.ndarray  # (H, L, K)
    match_utility: np.ndarray     # (M, K)
    moving_cost: np.ndarray       # (T, H, L, L, K)
    age_cost: np.ndarray          # (A, K)
    terminal: np.ndarray          # (H, L, M, K)
    beta: np.ndarray              # (K,)
    return_discount: np.ndarray   # (K,)
    residual: np.ndarray          # (R, K) wage minus μ and G(age)
    nu: np.ndarray                # (n_ν, K)
    eta: np.ndarray               # (n_η, K)
    sigma: np.ndarray             # (n_σ, K)
    log_type_weights: np.ndarray  # (T, K)

    @property
    def enters_model(self) -> np.ndarray:
        """(K,) whether each parameter moves any array of the dynamic programme."""
        arrays = (self.location_utility, self.match_utility, self.moving_cost, self.age_cost, self.terminal)
        moved = np.zeros(self.beta.shape[0], dtype=bool)
        for array in arrays:
            moved |= np.any(array.reshape(-1, array.shape[-1]) != 0.0, axis=0)
        return moved | (self.beta != 0.0) | (self.return_discount != 0.0)


def _inputs(likelihood: KWLikelihood, table: ParameterTable):
    model = likelihood.build_model(table)
    residual, nu, eta, sigma = likelihood.wage_inputs(table)
    return (model.location_utility, model.match_utility, model.moving_cost, model.age_cost, model.terminal_value,
            np.array([model.beta]), np.array([model.return_discount]), residual, nu, eta, sigma,
            likelihood.log_type_weights(table))


def array_tangents(likelihood: KWLikelihood, table: ParameterTable, names: Sequence[str],
                   step: float = ARRAY_STEP) -> ArrayTangents:
    """Central differences of every input array in each parameter of ``names`` (one-sided at a bound)."""
    columns = []
    for name in names:
        lower, upper = table.bounds(name)
        value = table[name]
        h = step * max(1.0, abs(value))
        up, down = min(value + h, upper), max(value - h, lower)
        if not up > down:
            raise ParameterError(f"parameter {name!r} = {value!r} has no room inside its bounds [{lower}, {upper}]")
        above = _inputs(likelihood, table.with_values({name: up}))
        below = _inputs(likelihood, table.with_values({name: down}))
        columns.append([_difference(a, b, up - down) for a, b in zip(above, below)])
    stacked = [np.ascontiguousarray(np.stack([column[i] for column in columns], axis=-1)) for i in range(12)]
    stacked[5], stacked[6] = stacked[5][0], stacked[6][0]   # β and the return discount are scalars
    return ArrayTangents(*stacked)


def _difference(above: np.ndarray, below: np.ndarray, width: float) -> np.ndarray:
    above, below = np.asarray(above, dtype=float), np.asarray(below, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.atleast_1d((above - below) / width)
    # equal entries (including equal infinities and missing wages) do not move
    out[above == below] = 0.0
    out[np.isnan(above) & np.isnan(below)] = 0.0
    return out


# ----------------------------------------------------------------------------------------------
# The backward recursion, differentiated
# ----------------------------------------------------------------------------------------------
@njit(cache=True, parallel=True, fastmath=True)
def _choice_tangents_kernel(V, terminal, location_utility, match_utility, moving_cost, age_cost, beta,
                            return_discount, d_terminal, d_location_utility, d_match_utility, d_moving_cost,
                            d_age_cost, d_beta, d_return_discount, group_start, request, out, P):
    """d log ρ(x, j)/dθ for the requested (state, choice) pairs, grouped by (type, home, age).

    ``request[r] = (ℓ0, ℓ1, m0, m1, j)``; the requests of (t, h, a) are rows
    ``group_start[(t H + h) A + a]`` up to the next group's start. After the last age the
    "next" values are the terminal value W(ℓ, m), the same whatever (ℓ1, m1). ``P``: the return
    probabilities and new-province scales the solve kept, or empty (recomputed, as in
    :func:`_value_adjoint_kernel`).
    """
    T, H, A, L, _, M, _ = V.shape
    K = d_beta.shape[0]
    stored = P.shape[0] > 0
    for th in prange(T * H):
        t = th // H
        h = th % H
        v_terminal = np.empty((L, L, M, M))
        d_next = np.empty((L, L, M, M, K))
        for l0 in range(L):
            for l1 in range(L):
                for m0 in range(M):
                    for m1 in range(M):
                        v_terminal[l0, l1, m0, m1] = terminal[h, l0, m0]
                        d_next[l0, l1, m0, m1, :] = d_terminal[h, l0, m0, :]
        d_now = np.empty((L, L, M, M, K))
        row = np.empty(L)
        expo = np.empty(L)
        d_row = np.zeros((L, K))
        before_sum = np.empty(L + 1)    # before_sum[i] = Σ_{j < i, j ≠ ℓ0} expo[j]
        after_sum = np.empty(L + 1)
        before = np.empty((L + 1, K))   # before[i] = Σ_{j < i, j ≠ ℓ0} expo[j] d_row[j]
        after = np.empty((L + 1, K))    # after[i] = Σ_{j > i, j ≠ ℓ0} expo[j] d_row[j]
        d_base = np.empty(K)
        for a in range(A - 1, -1, -1):
            v_next = v_terminal if a == A - 1 else V[t, h, a + 1]
            for l0 in range(L):
                for m0 in range(M):
                    row_max = -np.inf
                    for j in range(L):
                        if j == l0:
                            continue
                        c = 0.0
                        for s in range(M):
                            c += v_next[j, l0, s, m0]
                        c /= M
                        row[j] = -(moving_cost[t, h, l0, j] + age_cost[a]) + beta * c
                        row_max = max(row_max, row[j])
                        for k in range(K):
                            d_row[j, k] = -(d_moving_cost[t, h, l0, j, k] + d_age_cost[a, k]) + d_beta[k] * c
                        for s in range(M):
                            for k in range(K):
                                d_row[j, k] += beta / M * d_next[j, l0, s, m0, k]
                    new_province_exponentials(row, row_max, l0, expo, before_sum, after_sum)
                    for k in range(K):
                        before[0, k] = 0.0
                        after[L - 1, k] = 0.0
                        d_base[k] = d_location_utility[h, l0, k] + d_match_utility[m0, k]
                    for j in range(L):
                        for k in range(K):
                            before[j + 1, k] = before[j, k] + expo[j] * d_row[j, k]
                    for j in range(L - 1, 0, -1):
                        for k in range(K):
                            after[j - 1, k] = after[j, k] + expo[j] * d_row[j, k]
                    base = location_utility[h, l0] + match_utility[m0]
                    for l1 in range(L):
                        new_sum = before_sum[L] if l1 == l0 else before_sum[l1] + after_sum[l1]
                        for m1 in range(M):
                            log_total = V[t, h, a, l0, l1, m0, m1] - base
                            stay_next = v_next[l0, l1, m0, m1]
                            if stored:
                                p_new = P[t, h, a, l0, l1, m0, m1, 1]
                            else:
                                p_new = math.exp(row_max - log_total) if row_max > -np.inf else 0.0
                            if l1 == l0:
                                # staying's probability as one minus the others' (one exponential fewer)
                                p_stay = 1.0 - new_sum * p_new
                                for k in range(K):
                                    d_now[l0, l1, m0, m1, k] = (
                                        d_base[k] + p_stay * (d_beta[k] * stay_next + beta * d_next[l0, l1, m0, m1, k])
                                        + p_new * before[L, k])
                            else:
                                back_next = v_next[l1, l0, m1, m0]
                                if stored:
                                    p_back = P[t, h, a, l0, l1, m0, m1, 0]
                                else:
                                    back = (-(moving_cost[t, h, l0, l1] + age_cost[a] - return_discount)
                                            + beta * back_next)
                                    p_back = math.exp(back - log_total)
                                p_stay = 1.0 - p_back - new_sum * p_new
                                for k in range(K):
                                    d_back = (d_return_discount[k] - d_moving_cost[t, h, l0, l1, k] - d_age_cost[a, k]
                                              + d_beta[k] * back_next + beta * d_next[l1, l0, m1, m0, k])
                                    d_now[l0, l1, m0, m1, k] = (
                                        d_base[k] + p_stay * (d_beta[k] * stay_next + beta * d_next[l0, l1, m0, m1, k])
                                        + p_back * d_back + p_new * (before[l1, k] + after[l1, k]))
            group = (t * H + h) * A + a
            for r in range(group_start[group], group_start[group + 1]):
                l0, l1, m0, m1, j = request[r, 0], request[r, 1], request[r, 2], request[r, 3], request[r, 4]
                for k in range(K):
                    if j == l0:
                        d_value = d_beta[k] * v_next[l0, l1, m0, m1] + beta * d_next[l0, l1, m0, m1, k]
                    elif j == l1:
                        d_value = (d_return_discount[k] - d_moving_cost[t, h, l0, l1, k] - d_age_cost[a, k]
                                   + d_beta[k] * v_next[l1, l0, m1, m0] + beta * d_next[l1, l0, m1, m0, k])
                    else:
                        c = 0.0
                        dc = 0.0
                        for s in range(M):
                            c += v_next[j, l0, s, m0]
                            dc += d_next[j, l0, s, m0, k]
                        d_value = -(d_moving_cost[t, h, l0, j, k] + d_age_cost[a, k]) + (d_beta[k] * c + beta * dc) / M
                    out[r, k] = (d_value + d_location_utility[h, l0, k] + d_match_utility[m0, k]
                                 - d_now[l0, l1, m0, m1, k])
            d_next, d_now = d_now, d_next


def choice_log_prob_tangents(model: KWModel, V: np.ndarray, tangents: ArrayTangents, tau, home, age_index, l0, l1,
                             m0, m1, choice) -> np.ndarray:
    """(N, K) d log ρ(x, choice)/dθ at N states, by one differentiated backward pass."""
    layout = _grouped_requests(V.shape[:3], tau, home, age_index, l0, l1, m0, m1, choice)
    return _tangents_of_requests(model, V, tangents, *layout)


def _grouped_requests(shape, tau, home, age_index, l0, l1, m0, m1, choice):
    """(order, group_start, request): the states sorted by (type, home, age) as the backward passes
    read them (``shape`` = (T, H, A)); ``request[r] = (ℓ0, ℓ1, m0, m1, choice)`` in that order."""
    T, H, A = shape
    group = (np.asarray(tau) * H + np.asarray(home)) * A + np.asarray(age_index)
    order = np.argsort(group, kind="stable")
    request = np.ascontiguousarray(np.column_stack([l0, l1, m0, m1, choice])[order], dtype=np.int64)
    group_start = np.zeros(T * H * A + 1, dtype=np.int64)
    np.cumsum(np.bincount(group, minlength=T * H * A), out=group_start[1:])
    return order, group_start, request


def _tangents_of_requests(model: KWModel, V: np.ndarray, tangents: ArrayTangents, order, group_start, request,
                          probabilities: np.ndarray = NO_PROBABILITIES):
    K = tangents.beta.shape[0]
    sorted_out = np.empty((len(order), K))
    _choice_tangents_kernel(V, model.terminal_value, model.location_utility, model.match_utility, model.moving_cost,
                            model.age_cost, model.beta, model.return_discount, tangents.terminal,
                            tangents.location_utility, tangents.match_utility, tangents.moving_cost,
                            tangents.age_cost, tangents.beta, tangents.return_discount, group_start, request,
                            sorted_out, probabilities)
    out = np.empty_like(sorted_out)
    out[order] = sorted_out
    return out


# ----------------------------------------------------------------------------------------------
# The wage density and its derivative
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _streaming_add(value, gradient, state, accumulated):
    """Add exp(value) (with its gradient) to a running log-sum-exp ``state = [max, Σ exp(v − max)]``."""
    if value == -np.inf:
        return
    if value > state[0]:
        scale = math.exp(state[0] - value) if state[0] > -np.inf else 0.0
        state[1] *= scale
        for k in range(accumulated.shape[0]):
            accumulated[k] *= scale
        state[0] = value
    weight = math.exp(value - state[0])
    state[1] += weight
    for k in range(accumulated.shape[0]):
        accumulated[k] += weight * gradient[k]


@njit(cache=True)
def _draw_wage_sums(start, end, n, n_match, draw_here, residual, nu, eta, sigma):
    """(n, M, n_η n_σ) wage log densities summed over the rows of each location draw, for each match
    and (η, σ) pair (rows with a missing wage add nothing)."""
    n_eta, n_sigma = eta.shape[0], sigma.shape[0]
    draw_sum = np.zeros((n, n_match, n_eta * n_sigma))
    for r in range(start, end):
        if np.isnan(residual[r]):
            continue
        d = draw_here[r]
        for m in range(n_match):
            for ie in range(n_eta):
                for s in range(n_sigma):
                    z = (residual[r] - nu[m] - eta[ie]) / sigma[s]
                    draw_sum[d, m, ie * n_sigma + s] += -0.5 * z * z - math.log(sigma[s]) - LOG_SQRT_2PI
    return draw_sum


@njit(cache=True)
def _add_wage_derivative(start, end, draw_here, wage_weight, residual, d_residual, nu, d_nu, eta, d_eta, sigma,
                         d_sigma, out):
    """out += Σ over the (draw, match, e) cells of their weight times ∂ log ψ, contracted through the
    coefficients of ∂ log ψ = (z/σ)(−∂residual + ∂ν + ∂η) + ((z² − 1)/σ) ∂σ, z = (residual − ν − η)/σ."""
    n_match, n_eta, n_sigma = nu.shape[0], eta.shape[0], sigma.shape[0]
    K = out.shape[0]
    coefficient_nu = np.zeros(n_match)
    coefficient_eta = np.zeros(n_eta)
    coefficient_sigma = np.zeros(n_sigma)
    for r in range(start, end):
        if np.isnan(residual[r]):
            continue
        d = draw_here[r]
        coefficient_residual = 0.0
        for m in range(n_match):
            for ie in range(n_eta):
                for s in range(n_sigma):
                    w = wage_weight[d, m, ie * n_sigma + s]
                    if w == 0.0:
                        continue
                    z = (residual[r] - nu[m] - eta[ie]) / sigma[s]
                    slope = w * z / sigma[s]
                    coefficient_residual -= slope
                    coefficient_nu[m] += slope
                    coefficient_eta[ie] += slope
                    coefficient_sigma[s] += w * (z * z - 1.0) / sigma[s]
        for k in range(K):
            out[k] += coefficient_residual * d_residual[r, k]
    for k in range(K):
        for m in range(n_match):
            out[k] += coefficient_nu[m] * d_nu[m, k]
        for ie in range(n_eta):
            out[k] += coefficient_eta[ie] * d_eta[ie, k]
        for s in range(n_sigma):
            out[k] += coefficient_sigma[s] * d_sigma[s, k]


@njit(cache=True)
def _mix_types(i, running, accumulated, log_count, log_type_weights, d_log_type_weights, total, scores):
    """log Σ_τ π_τ L_i(τ) and its gradient from per-type running sums (``running[τ] = [max, Σ]``)."""
    n_types = running.shape[0]
    K = scores.shape[1]
    mixture = np.empty(n_types)
    top = -np.inf
    for tau in range(n_types):
        by_type = running[tau, 0] + math.log(running[tau, 1]) - log_count if running[tau, 1] > 0 else -np.inf
        mixture[tau] = log_type_weights[i, tau] + by_type
        if mixture[tau] > top:
            top = mixture[tau]
    if top == -np.inf:
        total[i] = -np.inf
        return
    weight_total = 0.0
    for tau in range(n_types):
        weight_total += math.exp(mixture[tau] - top)
    total[i] = top + math.log(weight_total)
    for tau in range(n_types):
        w = math.exp(mixture[tau] - total[i])
        if w == 0.0:
            continue
        for k in range(K):
            scores[i, k] += w * (d_log_type_weights[i, tau, k] + accumulated[tau, k] / running[tau, 1])


@njit(cache=True, parallel=True)
def _forward_scores_kernel(person_start, home, row, age_index, location, gap, choice_prob, d_log_choice_prob,
                           residual, d_residual, nu, d_nu, eta, d_eta, sigma, d_sigma, log_type_weights,
                           d_log_type_weights, home_remembered):
    """log L_i and its gradient per person for panels with years between observations."""
    n_people = len(person_start) - 1
    n_types = choice_prob.shape[0]
    K = d_residual.shape[1]
    total = np.empty(n_people)
    scores = np.zeros((n_people, K))
    for i in prange(n_people):
        running = np.empty((n_types, 2))
        accumulated = np.zeros((n_types, K))
        for tau in range(n_types):
            running[tau, 0] = -np.inf
            running[tau, 1] = 0.0
            per_e, d_per_e = _forward_person(person_start[i], person_start[i + 1], home[i], row[i], tau, age_index,
                                                     location, gap, choice_prob, d_log_choice_prob, residual,
                                                     d_residual, nu, d_nu, eta, d_eta, sigma, d_sigma,
                                                     home_remembered)
            for e in range(per_e.shape[0]):
                _streaming_add(per_e[e], d_per_e[e], running[tau], accumulated[tau])
        _mix_types(i, running, accumulated, math.log(eta.shape[0] * sigma.shape[0]), log_type_weights,
                   d_log_type_weights, total, scores)
    return total, scores


# ----------------------------------------------------------------------------------------------
# Reverse mode: the total gradient for the optimiser
# ----------------------------------------------------------------------------------------------
# The forward (tangent) pass above carries K derivatives through every state, which the per-person
# scores need (BHHH, OPG, sandwich). The optimiser needs only their sum, and that is one adjoint
# pass: the likelihood's weight on each log choice probability it reads flows back through the
# backward recursion, from the youngest age to the oldest, onto the model's arrays, and is
# contracted with the arrays' derivatives once at the end — whatever the number of parameters.

@njit(cache=True, parallel=True)
def _person_adjoints_kernel(person_start, n_draws, draw_here, draw_previous, choice_log_prob,
                            residual, d_residual, nu, d_nu, eta, d_eta, sigma, d_sigma, log_type_weights,
                            d_log_type_weights, n_match, n_xi, choice_adjoint):
    """log L_i, the wage and type-share part of ∂ log L_i/∂θ, and the adjoint of every log λ cell.

    ∂ log L_i(τ) is the weighted mean, over match combinations c and wage errors e, of the
    derivatives of the terms, and each term is a sum of row terms (one log λ per row, one log ψ per
    row with a wage). So a first pass computes each combination's log term; the type posterior is
    then known, and a second pass puts each combination's posterior weight straight on the cells it
    reads:
    ``cell_adjoint[choice_index[r, τ, m0, m1]]`` = ∂ Σ_i log L_i / ∂ log λ(r, τ, m0, m1) (rows belong
    to one person, so the cells of different people never collide).

    A match is a (ν, ξ) pair (m = ν-index · n_xi + ξ-index; ``nu`` is repeated n_xi times) and the
    wage reads ν alone, so the wage sums, their shares over e and their weights are kept per
    combination of ν's (:func:`mig_lib.kw.likelihood.combination_digits`): n_ν^n of them instead of
    M^n, which with the preference match on is most of this kernel's work.
    """
    n_people = len(person_start) - 1
    n_types = choice_log_prob.shape[1]
    n_eta, n_sigma = eta.shape[0], sigma.shape[0]
    n_nu = n_match // n_xi
    E = n_eta * n_sigma
    K = d_residual.shape[1]
    total = np.empty(n_people)
    scores = np.zeros((n_people, K))
    log_E = math.log(E)
    for i in prange(n_people):
        start, end = person_start[i], person_start[i + 1]
        n = n_draws[i]
        draw_sum = _draw_wage_sums(start, end, n, n_match, draw_here, residual, nu, eta, sigma)
        n_combos = n_match ** n
        n_wage_combos = n_nu ** n
        combo = np.zeros(n, dtype=np.int64)
        wage_sum = np.empty(E)
        wage_part = np.empty(n_wage_combos)
        terms = np.empty((n_types, n_combos))
        stored = n_wage_combos * E <= STORED_WAGE_SHARES
        wage_share = np.empty(n_wage_combos * E if stored else 0)
        # the wage part of every combination of ν's (digits m = ν-index · n_xi, the first ξ of each)
        for w in range(n_wage_combos):
            combination_digits(w, n_nu, 1, combo)
            top = -np.inf
            for e in range(E):
                v = 0.0
                for d in range(n):
                    v += draw_sum[d, combo[d] * n_xi, e]
                wage_sum[e] = v
                top = max(top, v)
            if top == -np.inf:
                wage_part[w] = -np.inf
                if stored:
                    wage_share[w * E:(w + 1) * E] = 0.0
            else:
                acc = 0.0
                for e in range(E):
                    wage_sum[e] = math.exp(wage_sum[e] - top)
                    acc += wage_sum[e]
                wage_part[w] = top + math.log(acc)
                if stored:
                    for e in range(E):
                        wage_share[w * E + e] = wage_sum[e] / acc
        for c in range(n_combos):
            w = combination_digits(c, n_match, n_xi, combo)
            for tau in range(n_types):
                choice_part = 0.0
                for r in range(start, end):
                    choice_part += choice_log_prob[r, tau, combo[draw_here[r]], combo[draw_previous[r]]]
                terms[tau, c] = choice_part + wage_part[w]
        # the type posterior: mixture[τ] = log π_τ + log L_i(τ)
        log_count = n * math.log(n_match) + log_E
        mixture = np.empty(n_types)
        log_by_type = np.empty(n_types)
        for tau in range(n_types):
            log_by_type[tau] = _logsumexp(terms[tau])
            mixture[tau] = log_type_weights[i, tau] + log_by_type[tau] - log_count
        total[i] = _logsumexp(mixture)
        if total[i] == -np.inf:
            continue
        posterior = np.empty(n_types)
        for tau in range(n_types):
            posterior[tau] = math.exp(mixture[tau] - total[i])
            for k in range(K):
                scores[i, k] += posterior[tau] * d_log_type_weights[i, tau, k]
        # pass 2: each combination's posterior weight on the choice cells it reads, and summed per
        # combination of ν's for the wage cells
        wage_combination_weight = np.zeros(n_wage_combos)
        weight = np.empty(n_types)
        for c in range(n_combos):
            w = combination_digits(c, n_match, n_xi, combo)
            combination_weight = 0.0
            for tau in range(n_types):
                weight[tau] = (posterior[tau] * math.exp(terms[tau, c] - log_by_type[tau])
                               if posterior[tau] > 0.0 else 0.0)
                combination_weight += weight[tau]
            if combination_weight == 0.0:
                continue
            wage_combination_weight[w] += combination_weight
            for tau in range(n_types):
                if weight[tau] == 0.0:
                    continue
                for r in range(start, end):
                    choice_adjoint[r, tau, combo[draw_here[r]], combo[draw_previous[r]]] += weight[tau]
        # the wage cells' weights, on the first ξ of each ν (nu and its derivative repeat over ξ)
        wage_weight = np.zeros((n, n_match, E))
        for w in range(n_wage_combos):
            if wage_combination_weight[w] == 0.0:
                continue
            combination_digits(w, n_nu, 1, combo)
            for e in range(E):
                if stored:
                    share = wage_combination_weight[w] * wage_share[w * E + e]
                else:
                    v = 0.0
                    for d in range(n):
                        v += draw_sum[d, combo[d] * n_xi, e]
                    share = wage_combination_weight[w] * math.exp(v - wage_part[w])
                for d in range(n):
                    wage_weight[d, combo[d] * n_xi, e] += share
        _add_wage_derivative(start, end, draw_here, wage_weight, residual, d_residual, nu, d_nu, eta, d_eta, sigma,
                             d_sigma, scores[i])
    return total, scores


@njit(cache=True, parallel=True, fastmath=True)
def _value_adjoint_kernel(V, terminal, location_utility, match_utility, moving_cost, age_cost, beta, return_discount,
                          group_start, request, weight, bar_location, bar_match, bar_moving, bar_age, bar_terminal,
                          bar_scalars, P):
    """Adjoints of the model's arrays given the adjoint ``weight[r]`` of each requested log ρ(x, j).

    ``request[r] = (ℓ0, ℓ1, m0, m1, j)`` grouped by (type, home, age) as in
    :func:`_choice_tangents_kernel`. Every (type, home) writes its own slice of the ``bar_*``
    arrays (summed by the caller): ``bar_location[th, ℓ]``, ``bar_match[th, m]``,
    ``bar_moving[t, h, ℓ0, j]``, ``bar_age[th, a]``, ``bar_terminal[th, ℓ, m]`` and
    ``bar_scalars[th] = (β̄, discount̄)``.

    With log ρ(x, j) = w(x, j) − log Σ_j' exp w(x, j') and v̄(x) = base(x) + log Σ_j' exp w(x, j'),
    the adjoint v̄̄(x) that later ages send back goes to base(x) and, times ρ(x, j), to every
    w(x, j); a request's weight goes to w(x, j) and, negated, to the log-sum. Each w(x, j) then
    sends β times its adjoint to the v̄ it continues with at the next age (the mean over the new
    province's matches for a new province), and its adjoint, negated, to the move's costs. The
    new-province terms are summed per (ℓ0, m0) over the states that may choose them, as the solver
    sums their exponentials: Σ over ℓ1 ≠ j equals the total minus the ℓ1 = j part.

    ``P`` holds the return probability and the new-province scale of every state when the solve
    kept them (:func:`mig_lib.kw.solve.solve_keeping_probabilities`); empty, they are recomputed
    from v̄ (two exponentials per state).
    """
    T, H, A, L, _, M, _ = V.shape
    stored = P.shape[0] > 0
    for th in prange(T * H):
        t = th // H
        h = th % H
        future = np.zeros((L, L, M, M))        # adjoint of v̄ at this age, from the age before
        future_next = np.zeros((L, L, M, M))   # adjoint of v̄ at the next age, from this one
        request_sum = np.zeros((L, L, M, M))   # Σ of the weights requested at each state of this age
        d_stay = np.zeros((L, L, M, M))
        d_back = np.zeros((L, L, M, M))
        d_new = np.zeros((L, M, L))
        row = np.empty(L)
        expo = np.empty(L)
        before = np.empty(L + 1)   # running sums of expo from the left and the right, as in the solver
        after = np.empty(L + 1)
        continuation = np.empty(L)
        q_by_previous = np.empty(L)
        bar_beta = 0.0
        bar_discount = 0.0
        for a in range(A):
            last = a == A - 1
            request_sum[:] = 0.0
            d_stay[:] = 0.0
            d_back[:] = 0.0
            d_new[:] = 0.0
            future_next[:] = 0.0
            group = (t * H + h) * A + a
            for r in range(group_start[group], group_start[group + 1]):
                l0, l1, m0, m1, j = request[r, 0], request[r, 1], request[r, 2], request[r, 3], request[r, 4]
                g = weight[r]
                request_sum[l0, l1, m0, m1] += g
                if j == l0:
                    d_stay[l0, l1, m0, m1] += g
                elif j == l1:
                    d_back[l0, l1, m0, m1] += g
                else:
                    d_new[l0, m0, j] += g
            for l0 in range(L):
                for m0 in range(M):
                    row_max = -np.inf
                    for j in range(L):
                        if j != l0:
                            continuation[j] = new_location_continuation(V, terminal, t, h, a, l0, m0, j)
                            row[j] = -(moving_cost[t, h, l0, j] + age_cost[a]) + beta * continuation[j]
                            row_max = max(row_max, row[j])
                    new_province_exponentials(row, row_max, l0, expo, before, after)
                    q_by_previous[:] = 0.0
                    base = location_utility[h, l0] + match_utility[m0]
                    q_total = 0.0
                    base_adjoint = 0.0
                    for l1 in range(L):
                        new_sum = before[L] if l1 == l0 else before[l1] + after[l1]
                        for m1 in range(M):
                            from_future = future[l0, l1, m0, m1]
                            base_adjoint += from_future
                            log_sum_adjoint = from_future - request_sum[l0, l1, m0, m1]
                            stay_direct = d_stay[l0, l1, m0, m1]
                            back_direct = d_back[l0, l1, m0, m1]
                            if log_sum_adjoint == 0.0 and stay_direct == 0.0 and back_direct == 0.0:
                                continue
                            # the new provinces' and the return's probabilities (kept by the solve, or by
                            # exponentials), staying's as one minus them, with an error of rounding size
                            log_total = 0.0
                            if stored:
                                p_back = P[t, h, a, l0, l1, m0, m1, 0]
                                scale = P[t, h, a, l0, l1, m0, m1, 1]
                            else:
                                log_total = V[t, h, a, l0, l1, m0, m1] - base
                                scale = math.exp(row_max - log_total) if row_max > -np.inf else 0.0
                            if l1 != l0:
                                back_next = terminal[h, l1, m1] if last else V[t, h, a + 1, l1, l0, m1, m0]
                                if not stored:
                                    back = (-(moving_cost[t, h, l0, l1] + age_cost[a] - return_discount)
                                            + beta * back_next)
                                    p_back = math.exp(back - log_total)
                                w = log_sum_adjoint * p_back + back_direct
                                bar_moving[t, h, l0, l1] -= w
                                bar_age[th, a] -= w
                                bar_discount += w
                                bar_beta += w * back_next
                                if last:
                                    bar_terminal[th, l1, m1] += beta * w
                                else:
                                    future_next[l1, l0, m1, m0] += beta * w
                            else:
                                p_back = 0.0
                            stay_next = terminal[h, l0, m0] if last else V[t, h, a + 1, l0, l1, m0, m1]
                            w = log_sum_adjoint * (1.0 - p_back - new_sum * scale) + stay_direct
                            bar_beta += w * stay_next
                            if last:
                                bar_terminal[th, l0, m0] += beta * w
                            else:
                                future_next[l0, l1, m0, m1] += beta * w
                            q = log_sum_adjoint * scale
                            q_by_previous[l1] += q
                            q_total += q
                    bar_location[th, l0] += base_adjoint
                    bar_match[th, m0] += base_adjoint
                    for j in range(L):
                        if j == l0:
                            continue
                        w = expo[j] * (q_total - q_by_previous[j]) + d_new[l0, m0, j]
                        if w == 0.0:
                            continue
                        bar_moving[t, h, l0, j] -= w
                        bar_age[th, a] -= w
                        bar_beta += w * continuation[j]
                        for s in range(M):
                            if last:
                                bar_terminal[th, j, s] += beta * w / M
                            else:
                                future_next[j, l0, s, m0] += beta * w / M
            future, future_next = future_next, future
        bar_scalars[th, 0] = bar_beta
        bar_scalars[th, 1] = bar_discount


# ----------------------------------------------------------------------------------------------
# The likelihood-facing function
# ----------------------------------------------------------------------------------------------
class ExactScores:
    """``scores(table, names)`` -> per-person log-likelihoods (N,) and exact scores ∂ log L_i/∂θ (N, K)
    in the table's natural units: the ``scores`` argument of :func:`mig_lib.core.mle.maximize_likelihood`.

    One solve of the model and one differentiated backward pass per call, whatever the number of
    parameters (the pass carries a tangent per parameter that moves the model; the others cost
    nothing there). The choice part of the last call is kept: a call that changes only parameters
    that do not move the model (wages, type shares — as the Hessian's differences do) reuses it.
    """

    def __init__(self, likelihood: KWLikelihood):
        self.likelihood = likelihood
        self._choice_key: bytes | None = None
        self._choice: tuple | None = None
        self._solutions: OrderedDict[bytes, tuple] = OrderedDict()
        self._requests: dict = {}

    def total(self, table: ParameterTable, names: Sequence[str], only=None) -> tuple[np.ndarray, np.ndarray]:
        """(N,) per-person log-likelihoods and the (K,) gradient of their sum, in the natural units.

        ``only`` (K booleans, optional) names the entries wanted; when none of them moves the model
        (wages, type shares) the others are NaN and the adjoint pass is skipped (the Hessian's
        columns in those parameters, see :meth:`model_free`).

        Annual panels: reverse mode — one solve, one adjoint pass back through the recursion
        (:func:`_value_adjoint_kernel`) and one pass over the people
        (:func:`_person_adjoints_kernel`), whatever the number of parameters. Panels with years
        between observations (the forward recursion) sum their per-person scores.
        """
        names = self._checked_names(table, names)
        likelihood = self.likelihood
        if likelihood.forward:
            contributions, scores = self(table, names)
            return contributions, scores.sum(axis=0)
        tangents = array_tangents(likelihood, table, names)
        model = likelihood.build_model(table)
        solution, choice = self._solved(model, table)
        contributions, partial, choice_adjoint = self._person_pass(table, model, tangents, choice)
        gradient = partial.sum(axis=0)
        if not tangents.enters_model.any():
            return contributions, gradient
        if only is not None:
            wanted = np.asarray(only, dtype=bool)
            if wanted.shape != (len(names),):
                raise ParameterError(f"argument 'only' must be {len(names)} booleans, one per name in 'names'")
            if not (wanted & tangents.enters_model).any():
                # the parameters asked for do not move the model: their derivatives are the person
                # pass's alone, and the adjoint pass (what the others need) is skipped
                gradient[~wanted] = np.nan
                return contributions, gradient
        where, order, group_start, request = self._request_layout(model)
        T, H, A, L, M = model.n_types, model.n_homes, model.n_ages, model.n_locations, model.n_match
        bar_location, bar_match = np.zeros((T * H, L)), np.zeros((T * H, M))
        bar_moving, bar_age = np.zeros((T, H, L, L)), np.zeros((T * H, A))
        bar_terminal, bar_scalars = np.zeros((T * H, L, M)), np.zeros((T * H, 2))
        _value_adjoint_kernel(solution.V, model.terminal_value, model.location_utility, model.match_utility,
                              model.moving_cost, model.age_cost, model.beta, model.return_discount, group_start,
                              request, np.ascontiguousarray(choice_adjoint[where][order]), bar_location, bar_match, bar_moving,
                              bar_age, bar_terminal, bar_scalars, solution.kept_probabilities)
        scalars = bar_scalars.sum(axis=0)
        gradient += (np.tensordot(bar_location.reshape(T, H, L).sum(axis=0), tangents.location_utility, axes=2)
                     + bar_match.sum(axis=0) @ tangents.match_utility
                     + np.tensordot(bar_moving, tangents.moving_cost, axes=4)
                     + bar_age.sum(axis=0) @ tangents.age_cost
                     + np.tensordot(bar_terminal.reshape(T, H, L, M).sum(axis=0), tangents.terminal, axes=3)
                     + scalars[0] * tangents.beta + scalars[1] * tangents.return_discount)
        return contributions, gradient

    def model_free(self, table: ParameterTable, names: Sequence[str]) -> np.ndarray:
        """(K,) booleans: which of ``names`` do not move the dynamic programme (wage and type-share
        parameters), so that their part of the gradient needs no adjoint pass (``total(..., only=)``)."""
        return ~array_tangents(self.likelihood, table, self._checked_names(table, names)).enters_model

    def _person_pass(self, table: ParameterTable, model: KWModel, tangents: ArrayTangents, choice: np.ndarray):
        """(N,) log L_i, (N, K) their wage and type-share derivatives, and the (R, T, M, M) adjoint of
        every log λ cell (annual panels; :func:`_person_adjoints_kernel`)."""
        likelihood, panel = self.likelihood, self.likelihood.panel
        residual, nu, eta, sigma = likelihood.wage_inputs(table)
        K = tangents.beta.shape[0]
        log_weights = np.ascontiguousarray(np.broadcast_to(likelihood.log_type_weights(table),
                                                           (panel.n_people, model.n_types)))
        d_log_weights = np.ascontiguousarray(np.broadcast_to(tangents.log_type_weights,
                                                             (panel.n_people, model.n_types, K)))
        choice_adjoint = np.zeros(choice.shape)
        contributions, partial = _person_adjoints_kernel(
            panel.person_start, likelihood.n_draws, likelihood.draw_here, likelihood.draw_previous, choice, residual,
            tangents.residual, np.repeat(nu, model.n_xi),
            np.ascontiguousarray(np.repeat(tangents.nu, model.n_xi, axis=0)), eta, tangents.eta, sigma,
            tangents.sigma, log_weights, d_log_weights, model.n_match, model.n_xi, choice_adjoint)
        return contributions, partial, choice_adjoint

    def _checked_names(self, table: ParameterTable, names: Sequence[str]) -> list[str]:
        names = list(names)
        if not names:
            raise ParameterError("names = [] is not allowed: expected at least one parameter")
        for name in names:
            table.row(name)
        return names

    def loglik_per_person(self, table: ParameterTable) -> np.ndarray:
        """(N,) per-person log-likelihoods, as :meth:`KWLikelihood.loglik_per_person`, with the solution
        kept: a gradient or scores asked for at the same point next (a line search's accepted step)
        does not solve the model again."""
        table = self.likelihood.table(table)
        self._solved(self.likelihood.build_model(table), table)
        return self.likelihood.loglik_per_person(table)

    def _solved(self, model: KWModel, table: ParameterTable):
        """The solution of ``model`` and the log λ cells the likelihood reads. The last
        :data:`SOLUTIONS_KEPT` are kept: the Hessian's differences in the parameters that do not
        move the model (wages, type share) then reuse the estimate's solution. The likelihood is
        handed the cells too, so its own evaluation at ``table`` does not solve again."""
        key = b"".join(np.ascontiguousarray(a).tobytes() for a in (
            model.location_utility, model.match_utility, model.moving_cost, model.age_cost, model.terminal_value,
            np.array([model.beta, model.return_discount])))
        if key not in self._solutions:
            # the dropped solution's arrays are filled again: no fresh allocation (and page faults)
            # of a few hundred megabytes at every step of the search
            dropped = self._solutions.popitem(last=False)[1][0] if len(self._solutions) >= SOLUTIONS_KEPT else None
            values = dropped.V if dropped is not None else allocate_values(model)
            probabilities = dropped.probabilities if dropped is not None else None
            # two probabilities per state spare the adjoint and tangent passes two exponentials a
            # state, at twice v̄'s memory: kept while the memory budget allows
            if probabilities is None and keeps_probabilities(values.nbytes):
                probabilities = np.empty(values.shape + (2,))
            if probabilities is None:
                solution = solve(model, out=values)
            else:
                solution = solve_keeping_probabilities(model, values, probabilities)
            self.likelihood.n_solves += 1
            self._solutions[key] = (solution, self.likelihood.choice_log_prob_from(solution))
        self._solutions.move_to_end(key)
        self.likelihood.remember_choice_log_prob(table, model, self._solutions[key][1])
        return self._solutions[key]

    def _request_layout(self, model: KWModel):
        """The reachable (row, type, m0, m1) cells, and their states grouped by (type, home, age)."""
        shape = (model.n_types, model.n_homes, model.n_ages, model.n_match)
        if shape not in self._requests:
            state, where = self.likelihood.choice_requests(model.n_types)
            self._requests[shape] = (where, *_grouped_requests(shape[:3], *state))
        return self._requests[shape]

    def __call__(self, table: ParameterTable, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        names = self._checked_names(table, names)
        likelihood = self.likelihood
        tangents = array_tangents(likelihood, table, names)
        moved = np.flatnonzero(tangents.enters_model)
        model = likelihood.build_model(table)
        sub = _restricted(tangents, moved)
        key = b"".join(np.ascontiguousarray(a).tobytes() for a in (
            model.location_utility, model.match_utility, model.moving_cost, model.age_cost, model.terminal_value,
            np.array([model.beta, model.return_discount]), moved, *(getattr(sub, f) for f in MODEL_FIELDS)))
        if key != self._choice_key:
            self._choice = self._choice_part(model, sub, moved, len(names), table)
            self._choice_key = key
        choice, d_choice = self._choice
        panel = likelihood.panel
        if not likelihood.forward:
            # each person's score: the wage and type-share part, plus the posterior weight on each of
            # the person's log λ cells times that cell's derivative (the cells' tangents, forward mode)
            contributions, scores, choice_adjoint = self._person_pass(table, model, tangents, choice)
            if len(moved):
                where = self._request_layout(model)[0]
                scores[:, moved] += self._cell_person(model) @ (choice_adjoint[where][:, None] * d_choice)
            return contributions, scores
        residual, nu, eta, sigma = likelihood.wage_inputs(table)
        log_weights = np.ascontiguousarray(np.broadcast_to(likelihood.log_type_weights(table),
                                                           (panel.n_people, model.n_types)))
        d_log_weights = np.ascontiguousarray(np.broadcast_to(tangents.log_type_weights,
                                                             (panel.n_people, model.n_types, len(names))))
        return _forward_scores_kernel(
            panel.person_start, panel.home, likelihood.row, likelihood.age_index, panel.location, panel.gap, choice,
            d_choice, residual, tangents.residual, np.repeat(nu, model.n_xi),
            np.ascontiguousarray(np.repeat(tangents.nu, model.n_xi, axis=0)), eta, tangents.eta, sigma,
            tangents.sigma, log_weights, d_log_weights, likelihood.home_remembered)

    def _cell_person(self, model: KWModel):
        """(N, cells) sparse 0/1 matrix: which person each reachable log λ cell belongs to."""
        key = ("person", model.n_types)
        if key not in self._requests:
            rows = self._request_layout(model)[0][0]
            person = self.likelihood._row_person[rows]
            self._requests[key] = sparse.csr_matrix((np.ones(len(rows)), (person, np.arange(len(rows)))),
                                                    shape=(self.likelihood.panel.n_people, len(rows)))
        return self._requests[key]

    def _choice_part(self, model: KWModel, sub: ArrayTangents, moved: np.ndarray, K: int, table: ParameterTable):
        """What the likelihood kernels read from the solved model, and its derivatives (K last)."""
        likelihood = self.likelihood
        solution, choice = self._solved(model, table)
        if likelihood.forward:
            size = model.n_states * model.n_locations * max(len(moved), 1)
            if size > MAX_FORWARD_ENTRIES:
                raise ParameterError(f"the forward recursion's exact gradient would hold {size:,} derivatives "
                                     f"(> {MAX_FORWARD_ENTRIES:,}): use fewer provinces or an annual panel")
            d_choice = np.zeros(solution.V.shape + (model.n_locations, K))
            if len(moved):
                grids = [g.reshape(-1) for g in np.indices(solution.V.shape + (model.n_locations,))]
                d_choice[..., moved] = choice_log_prob_tangents(model, solution.V, sub, *grids).reshape(
                    d_choice.shape[:-1] + (len(moved),))
            return choice, d_choice
        # only the reachable (row, type, m0, m1) cells, and only the parameters that move the model:
        # a dense (R, T, M, M, K) array would be mostly zeros (150 MB at book size)
        where, *layout = self._request_layout(model)
        d_choice = (_tangents_of_requests(model, solution.V, sub, *layout, solution.kept_probabilities) if len(moved)
                    else np.zeros((len(where[0]), 0)))
        return choice, d_choice


#: The fields of :class:`ArrayTangents` that the dynamic programme reads.
MODEL_FIELDS = ("location_utility", "match_utility", "moving_cost", "age_cost", "terminal", "beta",
                "return_discount")


def loglik_and_scores(likelihood: KWLikelihood, table: ParameterTable,
                      names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-person log-likelihoods (N,) and exact scores (N, K) at one point (see :class:`ExactScores`)."""
    return ExactScores(likelihood)(table, names)


def _restricted(tangents: ArrayTangents, columns: np.ndarray) -> ArrayTangents:
    """The tangents of the parameters ``columns`` only (those that move the dynamic programme)."""
    return ArrayTangents(*(np.ascontiguousarray(getattr(tangents, f)[..., columns])
                           for f in ArrayTangents.__dataclass_fields__))


def loglik_gradient(likelihood: KWLikelihood, table: ParameterTable, names: Sequence[str]) -> np.ndarray:
    """The exact gradient of the total log-likelihood in the natural parameters ``names``."""
    return loglik_and_scores(likelihood, table, names)[1].sum(axis=0)
