"""The Kennan–Walker mixture likelihood (draft eqs 9–12 and 14).

For person i of type τ, with unobserved components ω = (η, σ_ε, ν at every location draw),

    L_i(θ_τ) = 1/(n_η n_σ n_ν^{N_i}) Σ_ω Π_t ψ_it(ω) λ_it(ω)                       (eq 11)

where λ_it is the logit probability of the observed next location (eq 9, from the solver) and
ψ_it the normal density of the observed wage (eq 10). The sample log-likelihood mixes over types,
Λ(θ) = Σ_i log Σ_τ π_τ L_i(θ_τ) (eq 12).

Two facts make the sum cheap:

* η and σ_ε enter wages only (utility is linear in income, so they shift every choice equally),
  hence Σ_ω Π ψ λ = Σ_ν-combos [Π_t λ_it(ν)] · [Σ_{η,σ} Π_t ψ_it(ν, η, σ)].
* A person's choice probability depends on the ν combination only through the match remembered
  at ℓ0 and ℓ1, so λ is precomputed per observed row for the n_ν² (m0, m1) pairs and each type.

"Location draws": a match value is drawn on arrival at a location that is neither the current
one ℓ0 nor the remembered one ℓ1 (eq 8). A person who goes A → B → C → A draws four values, since
by the time she returns to A it has been forgotten; N_i counts draws, not distinct provinces.
Everything is summed in logs (log-sum-exp), so long histories do not underflow.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.kw.data import PanelArrays
from mig_lib.kw.model import (build_model, education_groups, education_wage_levels, eta_points, sigma_eps_points,
                              support_points, wage_age_profile)
from mig_lib.kw.solve import solve

#: Parameters that enter wages (or the type mixture) only: changing them never requires
#: re-solving the dynamic programme.
WAGE_ONLY_PARAMETERS = ("wage_age_slope", "wage_age_curvature", "eta_1", "eta_2", "eta_3",
                        "sigma_eps_1", "sigma_eps_2", "sigma_eps_3", "sigma_eps_4")
#: Prefix of the education groups' wage levels: income in every province alike, so they add the same
#: constant to every choice value and never move a choice (wage-only for the likelihood's cache).
WAGE_LEVEL_PREFIX = "wage_level_"
MIXTURE_ONLY_PARAMETERS = ("type1_share",)

#: Solutions kept (least recently used dropped): finite differences alternate between a few points.
CACHE_SIZE = 8

#: A person with more location draws than this would need (n_ν n_ξ)^N_i terms; the enumeration rejects it.
MAX_DRAWS = 12
#: Annual panels enumerate the (n_ν n_ξ)^N_i match combinations of each person while the largest
#: count stays below this; beyond it (long panels, many moves, the preference match on) the
#: likelihood uses the forward recursion, which is linear in the years (6 match points: 8 draws,
#: 1.7 million combinations, are enumerated; 9 draws, 10 million and 160 MB a person, are not). The
#: book's 10-year panels reach 7 draws; the forward recursion's exact gradient holds a derivative per
#: state and parameter, too many at book size, so the switch is kept for panels that need it.
MAX_ENUMERATED_COMBINATIONS = 2_000_000


# ----------------------------------------------------------------------------------------------
# Location draws along each history
# ----------------------------------------------------------------------------------------------
def location_draws(panel: PanelArrays, home_remembered: bool = True, check: bool = True
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Index of the match draw remembered at ℓ0 and at ℓ1 on every row, and ℓ1 itself.

    Returns ``(previous_location, draw_here, draw_previous, n_draws)``: per row the remembered
    previous location ℓ1, the draw index (0..N_i-1) of the match at ℓ0 and at ℓ1; per person the
    number of draws N_i. This mirrors the transition of eq 8: stay keeps (ℓ0, ℓ1); a return to ℓ1
    swaps; any other move draws anew.

    The initial state: a person first observed at home starts with no other remembered province
    (ℓ1 = ℓ0). A person first observed away from home starts, with ``home_remembered`` (Kennan and
    Walker's treatment), at (ℓ0 = first province, ℓ1 = home) with a match drawn for each: a move
    home is then a return; without it, ℓ1 = ℓ0 and home is not remembered. Either way the first
    location is conditioned on, not explained.
    """
    previous = np.empty(panel.n_rows, dtype=np.int64)
    draw_here = np.empty(panel.n_rows, dtype=np.int64)
    draw_previous = np.empty(panel.n_rows, dtype=np.int64)
    n_draws = np.empty(panel.n_people, dtype=np.int64)
    for i in range(panel.n_people):
        start, end = panel.person_start[i], panel.person_start[i + 1]
        l0, l1, k0, k1, count = panel.location[start], panel.location[start], 0, 0, 1
        if home_remembered and panel.home[i] != l0:
            l1, k1, count = panel.home[i], 1, 2
        for t in range(start, end):
            if t > start:
                j = panel.location[t]
                if j == l0:
                    pass
                elif j == l1:
                    l0, l1, k0, k1 = l1, l0, k1, k0
                else:
                    l0, l1, k0, k1 = j, l0, count, k0
                    count += 1
            previous[t], draw_here[t], draw_previous[t] = l1, k0, k1
        n_draws[i] = count
    too_many = np.flatnonzero(n_draws > MAX_DRAWS)
    if check and len(too_many):
        raise ParameterError(
            f"person {panel.person_ids[too_many[0]]!r} arrives at {n_draws[too_many[0]]} new locations; "
            f"the enumerated likelihood sums (n_nu n_xi)^N terms and allows at most {MAX_DRAWS} draws: "
            "use the forward recursion (KWLikelihood(..., forward=True), the default for such panels)")
    return previous, draw_here, draw_previous, n_draws


# ----------------------------------------------------------------------------------------------
# The numba kernel: sum over ν combinations, (η, σ) pairs and types, in logs
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _logsumexp(values):
    top = values.max()
    if top == -np.inf:
        return -np.inf
    total = 0.0
    for v in values:
        total += np.exp(v - top)
    return top + np.log(total)


@njit(cache=True)
def combination_digits(c, n_match, n_xi, combo):
    """Put in ``combo`` the match drawn at each location draw in combination c (its mixed-radix
    digits, base ``n_match``), and return the index of its wage combination: the same digits with
    each match m replaced by its wage match m // n_xi (base n_match // n_xi). A match is a (ν, ξ)
    pair, m = ν-index · n_xi + ξ-index, and only ν enters the wage."""
    n_nu = n_match // n_xi
    rest = c
    wage_index = 0
    place = 1
    for k in range(combo.shape[0]):
        combo[k] = rest % n_match
        rest //= n_match
        wage_index += (combo[k] // n_xi) * place
        place *= n_nu
    return wage_index


@njit(cache=True)
def _wage_parts(start, end, n, n_nu, n_xi, draw_here, wage_log_density):
    """log Σ_e Π_rows ψ for every wage combination of one person (n_ν^n of them, indexed as
    :func:`combination_digits` returns): the wage part of every match combination that shares it."""
    n_wage = wage_log_density.shape[2]
    n_combos = n_nu ** n
    parts = np.empty(n_combos)
    combo = np.zeros(n, dtype=np.int64)
    wage_sum = np.empty(n_wage)
    for c in range(n_combos):
        combination_digits(c, n_nu, 1, combo)
        wage_sum[:] = 0.0
        for t in range(start, end):
            m0 = combo[draw_here[t]] * n_xi
            for e in range(n_wage):
                wage_sum[e] += wage_log_density[t, m0, e]
        parts[c] = _logsumexp(wage_sum)
    return parts


@njit(cache=True, parallel=True)
def person_log_likelihoods(person_start, n_draws, draw_here, draw_previous, choice_log_prob,
                           wage_log_density, log_type_weights, n_match, n_xi):
    """log Σ_τ π_τ L_i(θ_τ) for every person, and log L_i(θ_τ) per type.

    choice_log_prob: (R, T, M, M) log λ of the observed choice on row r for type τ when the
        matches remembered at ℓ0, ℓ1 are (m0, m1); 0 on rows without a choice.
    wage_log_density: (R, M, E) log ψ of the observed wage for match m0 and wage-error
        combination e = (η, σ_ε); 0 where the wage is missing. A match is a (ν, ξ) pair,
        m = ν-index · n_xi + ξ-index, and the density reads ν alone: it is read at m = ν-index · n_xi,
        and the wage sums are computed once per combination of ν's (n_ν^n instead of M^n).
    """
    n_people = len(person_start) - 1
    n_types = choice_log_prob.shape[1]
    n_wage = wage_log_density.shape[2]
    log_n_wage = np.log(n_wage)
    total = np.empty(n_people)
    by_type = np.empty((n_people, n_types))
    for i in prange(n_people):
        start, end = person_start[i], person_start[i + 1]
        n = n_draws[i]
        n_combos = n_match ** n
        wage_part = _wage_parts(start, end, n, n_match // n_xi, n_xi, draw_here, wage_log_density)
        combo = np.zeros(n, dtype=np.int64)
        terms = np.empty((n_types, n_combos))
        for c in range(n_combos):
            wage_index = combination_digits(c, n_match, n_xi, combo)
            for tau in range(n_types):
                choice_part = 0.0
                for t in range(start, end):
                    choice_part += choice_log_prob[t, tau, combo[draw_here[t]], combo[draw_previous[t]]]
                terms[tau, c] = choice_part + wage_part[wage_index] - log_n_wage
        mixture = np.empty(n_types)
        for tau in range(n_types):
            by_type[i, tau] = _logsumexp(terms[tau]) - n * np.log(n_match)
            mixture[tau] = log_type_weights[tau] + by_type[i, tau]
        total[i] = _logsumexp(mixture)
    return total, by_type


def person_log_likelihoods_reference(person_start, n_draws, draw_here, draw_previous, choice_log_prob,
                                     wage_log_density, log_type_weights, n_match):
    """Slow, obvious version of :func:`person_log_likelihoods` (eq 11–12 term by term, in levels)."""
    n_types = choice_log_prob.shape[1]
    n_wage = wage_log_density.shape[2]
    total = []
    for i in range(len(person_start) - 1):
        rows = range(person_start[i], person_start[i + 1])
        mixture = 0.0
        for tau in range(n_types):
            likelihood = 0.0
            for combo in itertools.product(range(n_match), repeat=int(n_draws[i])):
                for e in range(n_wage):
                    product = 1.0
                    for t in rows:
                        m0, m1 = combo[draw_here[t]], combo[draw_previous[t]]
                        product *= np.exp(choice_log_prob[t, tau, m0, m1]) * np.exp(wage_log_density[t, m0, e])
                    likelihood += product
            likelihood /= n_wage * n_match ** int(n_draws[i])
            mixture += np.exp(log_type_weights[tau]) * likelihood
        total.append(np.log(mixture))
    return np.array(total)


# ----------------------------------------------------------------------------------------------
# Panels with years between observations: a forward recursion over the unobserved state
# ----------------------------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def person_log_likelihoods_forward(person_start, home, row, age_index, location, gap, choice_prob,
                                   residual, nu, eta, sigma, log_type_weights, home_remembered):
    """log Σ_τ π_τ L_i(θ_τ) per person for panels whose rows may be several years apart.

    In a year between two observations neither the province nor the match is seen, so the
    likelihood sums over every path of states x = (ℓ0, ℓ1, m0, m1) that joins the observations.
    This is the forward recursion of a hidden Markov chain: f_t(x) = P(observations up to t, x_t =
    x), carried one year at a time with the transition of eq 8 and the choice probabilities
    ``choice_prob[τ, r, a, ℓ0, ℓ1, m0, m1, j]`` (r = the person's (education, home) row, ``row``;
    ``home`` is the home province); at an observed year f is set to zero outside the
    observed province and multiplied by the wage density of the match m0 (``residual`` is the wage
    minus μ_ℓ0 and G(age), ``nu`` the wage part of each match point, ``eta`` and ``sigma`` the
    wage-error points). The wage-error combination e = (η, σ_ε) is fixed for a person, so f carries
    one column per e. Levels are rescaled after every observation and the log scale accumulated,
    so long panels do not underflow. The recursion is :func:`_forward_person`, which the exact
    gradient runs with tangents; here it carries none.
    """
    n_people = len(person_start) - 1
    n_types = choice_prob.shape[0]
    E = eta.shape[0] * sigma.shape[0]
    # tangents with no parameter: the shared recursion then computes the likelihood alone
    no_choice = np.zeros(choice_prob.shape + (0,))
    no_residual = np.zeros((residual.shape[0], 0))
    no_nu, no_eta, no_sigma = np.zeros((nu.shape[0], 0)), np.zeros((eta.shape[0], 0)), np.zeros((sigma.shape[0], 0))
    total = np.empty(n_people)
    by_type = np.empty((n_people, n_types))
    for i in prange(n_people):
        mixture = np.empty(n_types)
        for tau in range(n_types):
            per_e, _ = _forward_person(person_start[i], person_start[i + 1], home[i], row[i], tau, age_index, location,
                                       gap, choice_prob, no_choice, residual, no_residual, nu, no_nu, eta, no_eta,
                                       sigma, no_sigma, home_remembered)
            by_type[i, tau] = _logsumexp(per_e) - np.log(E)
            mixture[tau] = log_type_weights[tau] + by_type[i, tau]
        total[i] = _logsumexp(mixture)
    return total, by_type


@njit(cache=True)
def _forward_person(start, end, h, row, tau, age_index, location, gap, choice_prob, d_log_choice_prob,
                            residual, d_residual, nu, d_nu, eta, d_eta, sigma, d_sigma, home_remembered):
    """log P(observations | type tau, e) of one person for every wage-error combination e, and its
    derivative: the forward recursion f carried with its tangent g = df/dθ (h is the home province,
    ``row`` the person's (education, home) row of the solved model).

    f and g are rescaled by the same factor after each observation, so Σg/Σf stays d log L. The
    plain likelihood passes tangents with no parameter (K = 0): g is then empty and costs nothing.
    """
    L = choice_prob.shape[3]
    M = choice_prob.shape[5]
    E = eta.shape[0] * sigma.shape[0]
    K = d_residual.shape[1]
    f = np.zeros((L, L, M, M, E))
    g = np.zeros((L, L, M, M, E, K))
    log_scale = np.zeros(E)
    log_psi = np.empty((M, E))
    d_log_psi = np.empty((M, E, K))
    l0 = location[start]
    l1 = l0
    if home_remembered and h != l0:
        l1 = h
    _row_wage(start, residual, d_residual, nu, d_nu, eta, d_eta, sigma, d_sigma, log_psi, d_log_psi)
    for e in range(E):
        top = -np.inf
        for m0 in range(M):
            top = max(top, log_psi[m0, e])
        log_scale[e] = top
        for m0 in range(M):
            for m1 in range(M):
                if l1 == l0 and m1 != m0:
                    continue
                weight = 1.0 / M if l1 == l0 else 1.0 / (M * M)
                value = weight * math.exp(log_psi[m0, e] - top)
                f[l0, l1, m0, m1, e] = value
                for k in range(K):
                    g[l0, l1, m0, m1, e, k] = value * d_log_psi[m0, e, k]
    for r in range(start, end - 1):
        for step in range(gap[r]):
            a = age_index[r] + step
            f_new = np.zeros((L, L, M, M, E))
            g_new = np.zeros((L, L, M, M, E, K))
            for x0 in range(L):
                for x1 in range(L):
                    for n0 in range(M):
                        for n1 in range(M):
                            mass = 0.0
                            for e in range(E):
                                mass += f[x0, x1, n0, n1, e]
                            if mass == 0.0:
                                continue
                            for j in range(L):
                                p = choice_prob[tau, row, a, x0, x1, n0, n1, j]
                                if p == 0.0:
                                    continue
                                if j == x0:
                                    _transfer(f, g, f_new, g_new, x0, x1, n0, n1, x0, x1, n0, n1, p,
                                              d_log_choice_prob[tau, row, a, x0, x1, n0, n1, j])
                                elif j == x1:
                                    _transfer(f, g, f_new, g_new, x0, x1, n0, n1, x1, x0, n1, n0, p,
                                              d_log_choice_prob[tau, row, a, x0, x1, n0, n1, j])
                                else:
                                    for s in range(M):
                                        _transfer(f, g, f_new, g_new, x0, x1, n0, n1, j, x0, s, n0, p / M,
                                                  d_log_choice_prob[tau, row, a, x0, x1, n0, n1, j])
            f = f_new
            g = g_new
        seen = location[r + 1]
        for x0 in range(L):
            if x0 != seen:
                f[x0] = 0.0
                g[x0] = 0.0
        _row_wage(r + 1, residual, d_residual, nu, d_nu, eta, d_eta, sigma, d_sigma, log_psi, d_log_psi)
        for e in range(E):
            top = -np.inf
            for n0 in range(M):
                top = max(top, log_psi[n0, e])
            for x1 in range(L):
                for n0 in range(M):
                    factor = math.exp(log_psi[n0, e] - top)
                    for n1 in range(M):
                        f[seen, x1, n0, n1, e] *= factor
                        for k in range(K):
                            g[seen, x1, n0, n1, e, k] = (g[seen, x1, n0, n1, e, k] * factor
                                                         + f[seen, x1, n0, n1, e] * d_log_psi[n0, e, k])
            mass = 0.0
            for x1 in range(L):
                for n0 in range(M):
                    for n1 in range(M):
                        mass += f[seen, x1, n0, n1, e]
            if mass > 0.0:
                for x1 in range(L):
                    for n0 in range(M):
                        for n1 in range(M):
                            f[seen, x1, n0, n1, e] /= mass
                            for k in range(K):
                                g[seen, x1, n0, n1, e, k] /= mass
                log_scale[e] += top + math.log(mass)
            else:
                log_scale[e] = -np.inf
    per_e = np.empty(E)
    d_per_e = np.zeros((E, K))
    for e in range(E):
        mass = 0.0
        for x0 in range(L):
            for x1 in range(L):
                for n0 in range(M):
                    for n1 in range(M):
                        mass += f[x0, x1, n0, n1, e]
                        for k in range(K):
                            d_per_e[e, k] += g[x0, x1, n0, n1, e, k]
        if mass > 0.0:
            per_e[e] = log_scale[e] + math.log(mass)
            for k in range(K):
                d_per_e[e, k] /= mass
        else:
            per_e[e] = -np.inf
    return per_e, d_per_e


# inlined into the recursion's innermost loop: as a call it made the plain likelihood (K = 0) 3.7x slower
@njit(cache=True, inline="always")
def _transfer(f, g, f_new, g_new, x0, x1, n0, n1, y0, y1, s0, s1, p, d_log_p):
    """Move probability p of state x to state y: f_new += p f, g_new += p (g + f d log p)."""
    for e in range(f.shape[4]):
        mass = f[x0, x1, n0, n1, e]
        f_new[y0, y1, s0, s1, e] += p * mass
        for k in range(g.shape[5]):
            g_new[y0, y1, s0, s1, e, k] += p * (g[x0, x1, n0, n1, e, k] + mass * d_log_p[k])


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@njit(cache=True)
def _wage_term(residual, d_residual, nu, d_nu, eta, d_eta, sigma, d_sigma, out):
    """log ψ = log φ((residual − ν − η)/σ) − log σ; its derivative into ``out`` (K,)."""
    z = (residual - nu - eta) / sigma
    for k in range(out.shape[0]):
        dz = (d_residual[k] - d_nu[k] - d_eta[k] - z * d_sigma[k]) / sigma
        out[k] = -z * dz - d_sigma[k] / sigma
    return -0.5 * z * z - math.log(sigma) - LOG_SQRT_2PI


@njit(cache=True)
def _row_wage(r, residual, d_residual, nu, d_nu, eta, d_eta, sigma, d_sigma, log_psi, d_log_psi):
    """log ψ (M, E) and its derivative (M, E, K) on row r; 0 where the wage is missing."""
    n_sigma = sigma.shape[0]
    for m in range(nu.shape[0]):
        for ie in range(eta.shape[0]):
            for s in range(n_sigma):
                e = ie * n_sigma + s
                if np.isnan(residual[r]):
                    log_psi[m, e] = 0.0
                    d_log_psi[m, e, :] = 0.0
                else:
                    log_psi[m, e] = _wage_term(residual[r], d_residual[r], nu[m], d_nu[m], eta[ie], d_eta[ie],
                                               sigma[s], d_sigma[s], d_log_psi[m, e])


@njit(cache=True, parallel=True)
def wage_log_density(residual, nu, eta, sigma):
    """log φ((residual − ν − η)/σ) − log σ for every row, ν, and (η, σ) pair (e = η index · n_σ + σ index).

    ``residual`` is the wage minus μ_ℓ0 and G(age); NaN (wage not observed) gives 0, i.e. the
    row contributes no wage factor.
    """
    n_rows, n_eta, n_sigma = len(residual), len(eta), len(sigma)
    out = np.zeros((n_rows, len(nu), n_eta * n_sigma))
    log_norm = np.log(sigma) + 0.5 * np.log(2 * np.pi)
    for r in prange(n_rows):
        if np.isnan(residual[r]):
            continue
        for m in range(len(nu)):
            for e in range(n_eta):
                x = residual[r] - nu[m] - eta[e]
                for s in range(n_sigma):
                    z = x / sigma[s]
                    out[r, m, e * n_sigma + s] = -0.5 * z * z - log_norm[s]
    return out


# ----------------------------------------------------------------------------------------------
# The model-facing likelihood
# ----------------------------------------------------------------------------------------------
@dataclass
class _CachedSolution:
    key: tuple
    choice_log_prob: np.ndarray   # per row (R, T, M, M) log λ; for the forward recursion every choice probability
    model: object


class KWLikelihood:
    """Log-likelihood of a panel under the part-1 model, for any parameter values.

    ``loglik_per_person(values)`` returns one log-likelihood per person (conditional on the first
    observed province; see :func:`location_draws` for the initial state). The dynamic programme is
    re-solved only when a parameter that moves choices changes: the last solution is cached, so
    finite differences in wage-only parameters (and the type share) cost one kernel call each.
    A missing wage (NaN in the panel) contributes no wage density ψ while the year's choice still
    counts: the unobserved wage is integrated out (see :mod:`mig_lib.kw.data`). ``forward`` chooses
    the forward recursion over the unobserved states (:func:`person_log_likelihoods_forward`);
    by default it is used for panels with years between observations and for annual panels whose
    enumeration would exceed :data:`MAX_ENUMERATED_COMBINATIONS`.
    """

    def __init__(self, geography, panel: PanelArrays, params: ParameterTable, ages: Sequence[int],
                 n_nu: int = 3, home_remembered: bool = True, forward: bool | None = None, n_xi: int = 1):
        self.geography, self.panel, self.params = geography, panel, params
        self.ages = np.asarray(list(ages), dtype=np.int64)
        self.n_nu = int(n_nu)
        self.n_xi = int(n_xi)
        groups = education_groups(params)
        if len(groups) > 1 and (panel.education is None or tuple(panel.education_groups) != tuple(groups)):
            raise ParameterError(
                f"the parameter table has education groups {groups} but the panel "
                + ("has no 'education' column" if panel.education is None
                   else f"numbers the groups {tuple(panel.education_groups)}")
                + f": build it with panel_arrays(..., education_groups={groups!r})")
        education = np.zeros(panel.n_people, dtype=np.int64) if len(groups) == 1 else panel.education
        self.education = education
        #: per person, the row of the model's (education, home) axis
        self.row = education * geography.n + panel.home
        if tuple(panel.provinces) != tuple(geography.codes):
            raise ParameterError(f"panel provinces {panel.provinces} differ from the geography's {geography.codes}")
        outside = (panel.age < self.ages[0]) | (panel.age > self.ages[-1])
        if outside.any():
            raise ParameterError(f"panel ages must lie in [{self.ages[0]}, {self.ages[-1]}]")
        self.home_remembered = bool(home_remembered)
        if forward is None:
            # the enumeration is exponential in a person's location draws, the forward recursion linear in years
            forward = not panel.observed_every_year or (
                (self.n_nu * self.n_xi) ** int(location_draws(panel, home_remembered, check=False)[3].max())
                > MAX_ENUMERATED_COMBINATIONS)
        self.forward = bool(forward)
        if not self.forward and not panel.observed_every_year:
            raise ParameterError("argument 'forward' = False is not allowed for a panel with years between "
                                 "observations: only the forward recursion sums over the unobserved years")
        if self.forward:
            # years between observations: the forward recursion sums over the unobserved states
            self.previous = panel.location.copy()
            self.draw_here = self.draw_previous = np.zeros(panel.n_rows, dtype=np.int64)
            self.n_draws = np.ones(panel.n_people, dtype=np.int64)
        else:
            self.previous, self.draw_here, self.draw_previous, self.n_draws = location_draws(panel, home_remembered)
        self.age_index = panel.age - self.ages[0]
        self.choice_rows = np.flatnonzero(panel.choice >= 0)
        self.wage_observed = np.isfinite(panel.wage)
        self._cache: OrderedDict[tuple, _CachedSolution] = OrderedDict()
        self.n_solves = 0
        self._row_person = np.repeat(np.arange(panel.n_people), np.diff(panel.person_start))
        # (row, m0, m1) triples the likelihood can reach: before any move l1 == l0 and m1 == m0
        rows = self.choice_rows
        m = self.n_nu * self.n_xi
        pairs = [(m0, m1) for m0 in range(m) for m1 in range(m)]
        never_moved = self.previous[rows] == panel.location[rows]
        keep = [(r, a, b) for r, fresh in zip(rows, never_moved) for a, b in pairs if not fresh or a == b]
        self._reachable = np.array(keep, dtype=np.int64).reshape(-1, 3)

    # -- choices ------------------------------------------------------------------------------
    def _choice_key(self, table: ParameterTable) -> tuple:
        skip = set(WAGE_ONLY_PARAMETERS) | set(MIXTURE_ONLY_PARAMETERS)
        return tuple(sorted((k, float(v)) for k, v in table.values.items()
                            if k not in skip and not k.startswith(WAGE_LEVEL_PREFIX)))

    def table(self, values: ParameterTable | Mapping[str, float]) -> ParameterTable:
        """The parameter table at ``values`` (a table is used as it is; a mapping overrides ``params``)."""
        return values if isinstance(values, ParameterTable) else self.params.with_values(dict(values))

    def build_model(self, values: ParameterTable | Mapping[str, float]):
        return build_model(self.geography, params=self.table(values), ages=range(self.ages[0], self.ages[-1] + 1),
                           n_nu=self.n_nu, n_xi=self.n_xi)

    def choice_requests(self, n_types: int):
        """The (type, home, age index, ℓ0, ℓ1, m0, m1, choice) states whose choice probability the
        likelihood reads, and where each goes in the (row, type, m0, m1) array (row, type, m0, m1)."""
        r, m0, m1 = (np.tile(col, n_types) for col in self._reachable.T)
        tau = np.repeat(np.arange(n_types), len(self._reachable))
        p = self.panel
        state = (tau, self.row[self._row_person[r]], self.age_index[r], p.location[r], self.previous[r], m0, m1,
                 p.choice[r])
        return state, (r, tau, m0, m1)

    def choice_log_prob_from(self, solution) -> np.ndarray:
        """What the likelihood kernels read from a solution: per row (R, T, M, M) log λ of the observed
        choice, or, for the forward recursion, every choice probability."""
        if self.forward:
            return solution.all_choice_probabilities()
        model = solution.model
        out = np.zeros((self.panel.n_rows, model.n_types, model.n_match, model.n_match))
        # one vectorised call over the reachable (row, m0, m1) triples and both types
        state, where = self.choice_requests(model.n_types)
        out[where] = solution.log_choice_probability(*state)
        return out

    def remember_choice_log_prob(self, values: ParameterTable | Mapping[str, float], model, choice_log_prob) -> None:
        """Keep the cells a solution of ``model`` (built at ``values``) gave, so that an evaluation at
        ``values`` does not solve again (:class:`mig_lib.kw.gradient.ExactScores` shares its solves)."""
        key = self._choice_key(self.table(values))
        if key not in self._cache:
            self._cache[key] = _CachedSolution(key=key, choice_log_prob=choice_log_prob, model=model)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)

    def _choice_log_prob(self, values: ParameterTable | Mapping[str, float]):
        table = self.table(values)
        key = self._choice_key(table)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        model = self.build_model(table)
        solution = solve(model)
        self.n_solves += 1
        self._cache[key] = _CachedSolution(key=key, choice_log_prob=self.choice_log_prob_from(solution), model=model)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return self._cache[key]

    # -- wages --------------------------------------------------------------------------------
    def wage_log_density(self, values: Mapping[str, float]) -> np.ndarray:
        """(R, M, n_η·n_σ) log normal density of each observed wage (eq 10) for each match index
        m (whose wage part is ν[m // n_ξ]: the preference match ξ is not in the wage); 0 if missing.

        Support points, the age profile and the education groups' wage levels come from the part-1
        model module, so the density uses exactly the wage equation the simulator draws from.
        """
        residual, nu, eta, sigma = self.wage_inputs(values)
        return wage_log_density(residual, np.repeat(nu, self.n_xi), eta, sigma)

    def wage_inputs(self, values: ParameterTable | Mapping[str, float]):
        """(residual, ν points, η points, σ_ε points): the wage minus μ_ℓ0, G(age) and the person's
        education wage level on every row,
        and the support points of the wage components, at ``values``."""
        table = self.table(values)
        p = self.panel
        level = education_wage_levels(table)[self.education][self._row_person]
        mean = self.geography.mean_income[p.location] + wage_age_profile(table, p.age) + level
        nu = support_points(table["nu_sd"], self.n_nu)
        return p.wage - mean, nu, eta_points(table), sigma_eps_points(table)

    def log_type_weights(self, values: ParameterTable | Mapping[str, float]) -> np.ndarray:
        """(T,) log π_τ."""
        share = self.table(values)["type1_share"]
        with np.errstate(divide="ignore"):
            return np.log(np.array([share, 1.0 - share]))

    # -- the likelihood -----------------------------------------------------------------------
    def loglik_per_person(self, values: ParameterTable | Mapping[str, float], by_type: bool = False):
        table = self.table(values)
        cached = self._choice_log_prob(table)
        weights = self.log_type_weights(table)
        if self.forward:
            residual, nu, eta, sigma = self.wage_inputs(table)
            total, per_type = person_log_likelihoods_forward(
                self.panel.person_start, self.panel.home, self.row, self.age_index, self.panel.location, self.panel.gap,
                cached.choice_log_prob, residual, np.repeat(nu, self.n_xi), eta, sigma, weights, self.home_remembered)
            return (total, per_type) if by_type else total
        wage = self.wage_log_density(table)
        total, per_type = person_log_likelihoods(
            self.panel.person_start, self.n_draws, self.draw_here, self.draw_previous,
            cached.choice_log_prob, wage, weights, self.n_nu * self.n_xi, self.n_xi)
        return (total, per_type) if by_type else total

    def loglik(self, values: ParameterTable | Mapping[str, float]) -> float:
        return float(np.sum(self.loglik_per_person(values)))

    def type_posterior(self, values: ParameterTable | Mapping[str, float]) -> np.ndarray:
        """Posterior probability that each person is of type 1 (Bayes' rule on eq 12)."""
        total, per_type = self.loglik_per_person(values, by_type=True)
        return np.exp(self.log_type_weights(values)[0] + per_type[:, 0] - total)


#: Table parameters the panel likelihood never estimates: β is fixed as in KW 2011 (the discount
#: factor is notoriously weakly identified in dynamic discrete choice).
FIXED_PARAMETERS = {"beta": "fixed at 0.95 as in Kennan and Walker (2011)",
                    # the draft's two types are people attached to places near home and people who are not
                    "gamma_culture_type2": "the draft's second type is defined by no attachment to places near home: "
                                           "gamma_C2 = 0 is a normalisation, not an estimate"}


def estimable_parameters(geography, params: ParameterTable, n_xi: int = 1) -> tuple[list[str], dict[str, str]]:
    """The parameters a panel on this geography can identify, and why the others are left out.

    ``n_xi`` is the number of points of the preference match ξ: with 1 (off) its s.d. is not
    in the model.

    A term whose regressor does not vary in the geography (no two provinces share a dialect
    group; no two provinces are adjacent) cannot be estimated: it is reported, not silently fixed.
    """
    excluded = dict(FIXED_PARAMETERS)
    if n_xi == 1:
        excluded["xi_sd"] = "the preference match xi is off (n_xi = 1)"
    same = geography.same_dialect() & ~np.eye(geography.n, dtype=bool)
    if not same.any():
        excluded["dialect_premium"] = "no two provinces of this geography share a dialect group"
    if not np.asarray(geography.adjacent).any():
        excluded["gamma_adjacent"] = "no two provinces of this geography share a border"
    if geography.n < 3:
        excluded["gamma_previous"] = "with two provinces every move returns to the previous one"
    for name, values in (("alpha_rent", geography.rent), ("alpha_house_price", geography.house_price)):
        if values is None or np.ptp(values) == 0:
            excluded[name] = ("no housing table loaded (mig_lib.kw.geography.load_amenities): the index is the same "
                              "in every province")
    if geography.culture is None:
        excluded["gamma_culture"] = "no cultural proximity index attached to the geography (C = 0)"
        excluded["gamma_culture_type2"] = excluded["gamma_culture"]
    for name in params.names:
        if name.startswith("amenity_") and name[len("amenity_"):] not in geography.codes:
            excluded[name] = "a province effect of a province outside this geography"
    names = [n for n in params.names if n not in excluded]
    return names, {n: why for n, why in excluded.items() if n in params}
