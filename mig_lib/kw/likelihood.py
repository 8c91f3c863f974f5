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

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.kw.data import PanelArrays

#: Parameters that enter wages (or the type mixture) only: changing them never requires
#: re-solving the dynamic programme.
WAGE_ONLY_PARAMETERS = ("wage_age_slope", "wage_age_curvature", "eta_sd", "sigma_eps_low", "sigma_eps_high")
MIXTURE_ONLY_PARAMETERS = ("type1_share",)

#: Solutions kept (least recently used dropped): finite differences alternate between a few points.
CACHE_SIZE = 8

#: A person with more location draws than this would need n_ν^N_i terms; the loader rejects it.
MAX_DRAWS = 12


# ----------------------------------------------------------------------------------------------
# Location draws along each history
# ----------------------------------------------------------------------------------------------
def location_draws(panel: PanelArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Index of the match draw remembered at ℓ0 and at ℓ1 on every row, and ℓ1 itself.

    Returns ``(previous_location, draw_here, draw_previous, n_draws)``: per row the remembered
    previous location ℓ1 (equal to ℓ0 before the first move), the draw index (0..N_i-1) of the
    match at ℓ0 and at ℓ1; per person the number of draws N_i. This mirrors the transition of
    eq 8: stay keeps (ℓ0, ℓ1); a return to ℓ1 swaps; any other move draws anew.
    """
    previous = np.empty(panel.n_rows, dtype=np.int64)
    draw_here = np.empty(panel.n_rows, dtype=np.int64)
    draw_previous = np.empty(panel.n_rows, dtype=np.int64)
    n_draws = np.empty(panel.n_people, dtype=np.int64)
    for i in range(panel.n_people):
        start, end = panel.person_start[i], panel.person_start[i + 1]
        l0, l1, k0, k1, count = panel.location[start], panel.location[start], 0, 0, 1
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
    if len(too_many):
        raise ParameterError(
            f"person {panel.person_ids[too_many[0]]!r} arrives at {n_draws[too_many[0]]} new locations; "
            f"the exact likelihood enumerates n_nu^N terms and allows at most {MAX_DRAWS}")
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


@njit(cache=True, parallel=True)
def person_log_likelihoods(person_start, n_draws, draw_here, draw_previous, choice_log_prob,
                           wage_log_density, log_type_weights, n_match):
    """log Σ_τ π_τ L_i(θ_τ) for every person, and log L_i(θ_τ) per type.

    choice_log_prob: (R, T, M, M) log λ of the observed choice on row r for type τ when the
        matches remembered at ℓ0, ℓ1 are (m0, m1); 0 on rows without a choice.
    wage_log_density: (R, M, E) log ψ of the observed wage for match m0 and wage-error
        combination e = (η, σ_ε); 0 where the wage is missing.
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
        combo = np.zeros(n, dtype=np.int64)
        terms = np.empty((n_types, n_combos))
        wage_sum = np.empty(n_wage)
        for c in range(n_combos):
            # mixed-radix digits of c: the match drawn at each location draw
            rest = c
            for k in range(n):
                combo[k] = rest % n_match
                rest //= n_match
            wage_sum[:] = 0.0
            for t in range(start, end):
                m0 = combo[draw_here[t]]
                for e in range(n_wage):
                    wage_sum[e] += wage_log_density[t, m0, e]
            wage_part = _logsumexp(wage_sum) - log_n_wage
            for tau in range(n_types):
                choice_part = 0.0
                for t in range(start, end):
                    choice_part += choice_log_prob[t, tau, combo[draw_here[t]], combo[draw_previous[t]]]
                terms[tau, c] = choice_part + wage_part
        mixture = np.empty(n_types)
        for tau in range(n_types):
            by_type[i, tau] = _logsumexp(terms[tau]) - n * np.log(n_match)
            mixture[tau] = log_type_weights[tau] + by_type[i, tau]
        total[i] = _logsumexp(mixture)
    return total, by_type


def person_log_likelihoods_reference(person_start, n_draws, draw_here, draw_previous, choice_log_prob,
                                     wage_log_density, log_type_weights, n_match):
    """Slow, obvious version of :func:`person_log_likelihoods` (eq 11–12 term by term, in levels)."""
    import itertools

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
    choice_log_prob: np.ndarray
    model: object


class KWLikelihood:
    """Log-likelihood of a panel under the part-1 model, for any parameter values.

    ``loglik_per_person(values)`` returns one log-likelihood per person. The dynamic programme is
    re-solved only when a parameter that moves choices changes: the last solution is cached, so
    finite differences in wage-only parameters (and the type share) cost one kernel call each.
    A missing wage (NaN in the panel) contributes no wage density ψ while the year's choice still
    counts: the unobserved wage is integrated out (see :mod:`mig_lib.kw.data`).
    """

    def __init__(self, geography, panel: PanelArrays, params: ParameterTable, ages: Sequence[int],
                 n_nu: int = 3):
        from mig_lib.kw import model as kw_model

        self.geography, self.panel, self.params = geography, panel, params
        self.ages = np.asarray(list(ages), dtype=np.int64)
        self.n_nu = int(n_nu)
        self._model_module = kw_model
        if tuple(panel.provinces) != tuple(geography.codes):
            raise ParameterError(f"panel provinces {panel.provinces} differ from the geography's {geography.codes}")
        outside = (panel.age < self.ages[0]) | (panel.age > self.ages[-1])
        if outside.any():
            raise ParameterError(f"panel ages must lie in [{self.ages[0]}, {self.ages[-1]}]")
        self.previous, self.draw_here, self.draw_previous, self.n_draws = location_draws(panel)
        self.age_index = panel.age - self.ages[0]
        self.choice_rows = np.flatnonzero(panel.choice >= 0)
        self.wage_observed = np.isfinite(panel.wage)
        self._cache: OrderedDict[tuple, _CachedSolution] = OrderedDict()
        self.n_solves = 0
        self._row_person = np.repeat(np.arange(panel.n_people), np.diff(panel.person_start))
        # (row, m0, m1) triples the likelihood can reach: before any move l1 == l0 and m1 == m0
        rows = self.choice_rows
        m = self.n_nu
        pairs = [(m0, m1) for m0 in range(m) for m1 in range(m)]
        never_moved = self.previous[rows] == panel.location[rows]
        keep = [(r, a, b) for r, fresh in zip(rows, never_moved) for a, b in pairs if not fresh or a == b]
        self._reachable = np.array(keep, dtype=np.int64).reshape(-1, 3)

    # -- choices ------------------------------------------------------------------------------
    def _choice_key(self, values: Mapping[str, float]) -> tuple:
        skip = set(WAGE_ONLY_PARAMETERS) | set(MIXTURE_ONLY_PARAMETERS)
        return tuple(sorted((k, float(v)) for k, v in values.items() if k not in skip))

    def build_model(self, values: Mapping[str, float]):
        table = self.params.with_values(dict(values))
        return self._model_module.build_model(self.geography, params=table, ages=range(self.ages[0], self.ages[-1] + 1),
                                              n_nu=self.n_nu, n_xi=1)

    def _choice_log_prob(self, values: Mapping[str, float]):
        key = self._choice_key(values)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        from mig_lib.kw.solve import solve

        model = self.build_model(values)
        solution = solve(model)
        self.n_solves += 1
        n_types, m = model.n_types, model.n_match
        out = np.zeros((self.panel.n_rows, n_types, m, m))
        # one vectorised call over the reachable (row, m0, m1) triples and both types
        r, m0, m1 = (np.tile(col, n_types) for col in self._reachable.T)
        tau = np.repeat(np.arange(n_types), len(self._reachable))
        p = self.panel
        out[r, tau, m0, m1] = solution.log_choice_probability(
            tau, p.home[self._row_person[r]], self.age_index[r], p.location[r], self.previous[r], m0, m1,
            p.choice[r])
        self._cache[key] = _CachedSolution(key=key, choice_log_prob=out, model=model)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return self._cache[key]

    # -- wages --------------------------------------------------------------------------------
    def wage_log_density(self, values: Mapping[str, float]) -> np.ndarray:
        """(R, n_ν, n_η·n_σ) log normal density of each observed wage (eq 10); 0 if missing.

        Support points and the age profile come from the part-1 model module, so the density
        uses exactly the wage equation the simulator draws from.
        """
        m = self._model_module
        table = self.params.with_values(dict(values))
        p = self.panel
        mean = self.geography.mean_income[p.location] + m.wage_age_profile(table, p.age)
        nu = m.support_points(table["nu_sd"], self.n_nu)
        eta = m.eta_points(table)
        sigma = m.sigma_eps_points(table)
        return wage_log_density(p.wage - mean, nu, eta, sigma)

    # -- the likelihood -----------------------------------------------------------------------
    def loglik_per_person(self, values: Mapping[str, float], by_type: bool = False):
        values = {**self.params.values, **dict(values)}
        cached = self._choice_log_prob(values)
        wage = self.wage_log_density(values)
        share = values["type1_share"]
        weights = np.log(np.array([share, 1.0 - share]))
        total, per_type = person_log_likelihoods(
            self.panel.person_start, self.n_draws, self.draw_here, self.draw_previous,
            cached.choice_log_prob, wage, weights, self.n_nu)
        return (total, per_type) if by_type else total

    def loglik(self, values: Mapping[str, float]) -> float:
        return float(np.sum(self.loglik_per_person(values)))

    def type_posterior(self, values: Mapping[str, float]) -> np.ndarray:
        """Posterior probability that each person is of type 1 (Bayes' rule on eq 12)."""
        total, per_type = self.loglik_per_person(values, by_type=True)
        return np.exp(np.log(values.get("type1_share", self.params["type1_share"])) + per_type[:, 0] - total)


#: Table parameters the panel likelihood never estimates: β is fixed as in KW 2011 (the discount
#: factor is notoriously weakly identified in dynamic discrete choice), ξ is off (n_ξ = 1).
FIXED_PARAMETERS = {"beta": "fixed at 0.95 as in Kennan and Walker (2011)",
                    "xi_sd": "the preference match xi is off (n_xi = 1)"}


def estimable_parameters(geography, params: ParameterTable) -> tuple[list[str], dict[str, str]]:
    """The parameters a panel on this geography can identify, and why the others are left out.

    A term whose regressor does not vary in the geography (no two provinces share a dialect
    group; no two provinces are adjacent) cannot be estimated: it is reported, not silently fixed.
    """
    excluded = dict(FIXED_PARAMETERS)
    same = geography.same_dialect() & ~np.eye(geography.n, dtype=bool)
    if not same.any():
        excluded["dialect_premium"] = "no two provinces of this geography share a dialect group"
    if not np.asarray(geography.adjacent).any():
        excluded["gamma_adjacent"] = "no two provinces of this geography share a border"
    if geography.n < 3:
        excluded["gamma_previous"] = "with two provinces every move returns to the previous one"
    names = [n for n in params.names if n not in excluded]
    return names, {n: why for n, why in excluded.items() if n in params}
