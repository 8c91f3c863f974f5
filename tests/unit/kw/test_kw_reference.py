"""Independent checks written from the page's equations, not from ``build_model``'s arrays.

* a memoised pure-Python recursion that computes flow utility and moving costs term by term from
  the geography and the parameter table (eqs kw-eq-utility, kw-eq-cost, kw-eq-transition) and
  the stay-forever terminal value, against the solver's choice probabilities;
* age enters as age, not as a position in the age grid (the same world solved from 20 and from 25
  gives the same choices at 30; the likelihood of a panel does not depend on the first model age);
* the end of life: no rise in the moving probability at the last ages;
* simulated location paths against their exact probabilities (chi-square).
"""

import dataclasses
import itertools
import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from mig_lib.kw.data import panel_arrays
from mig_lib.kw.geography import load_amenities, load_china
from mig_lib.kw.likelihood import KWLikelihood
from mig_lib.kw.model import build_model, default_parameters
from mig_lib.kw.simulate import simulate_panel
from mig_lib.kw.solve import solve

TINY = ["BJ", "HE", "SH"]


def equation_reference(geo, params, ages, n_nu, n_xi, groups=("below_college", "college"), group_welfare=None):
    """Choice probabilities rho(tau, row, age, l0, l1, m0, m1) -> list, straight from the equations.

    ``row`` = e * L + h is the person's education group e (of ``groups``, the first the base) and
    home h; group e earns its wage level wage_level_<e> everywhere, receives ``group_welfare[e][l]``
    where it lives, and pays its intercept shift gamma0_<e> on every move.
    """
    p = params
    L = geo.n
    level = [0.0] + [p[f"wage_level_{g}"] for g in groups[1:]]
    shift = [0.0] + [p[f"gamma0_{g}"] for g in groups[1:]]
    last_age = ages[-1]
    normal = NormalDist()
    nu = [p["nu_sd"] * normal.inv_cdf((k + 0.5) / n_nu) for k in range(n_nu)]
    xi = [p["xi_sd"] * normal.inv_cdf((k + 0.5) / n_xi) for k in range(n_xi)] if n_xi > 1 else [0.0]
    matches = [(a, b) for a in range(n_nu) for b in range(n_xi)]   # m = s_nu * n_xi + s_xi
    intercept = (p["gamma0_type1"], p["gamma0_type2"])

    def flow(row, l, m):
        e, h = divmod(row, L)
        s_nu, s_xi = matches[m]
        away_same_dialect = l != h and geo.dialect_group[l] == geo.dialect_group[h]
        amenities = geo.amenity[l] + (p[f"amenity_{geo.codes[l]}"] if f"amenity_{geo.codes[l]}" in p else 0.0)
        for k, name in enumerate(geo.amenity_names):
            amenities += p[f"alpha_amenity_{name}"] * geo.amenity_covariates[l][k]
        if geo.rent is not None:
            amenities += p["alpha_rent"] * geo.rent[l] + p["alpha_house_price"] * geo.house_price[l]
        welfare = 0.0 if geo.local_welfare is None else geo.local_welfare[l]
        welfare += 0.0 if group_welfare is None else group_welfare[e][l]
        return (p["alpha_income"] * (geo.mean_income[l] + welfare + level[e] + nu[s_nu]) + xi[s_xi]
                + p["home_premium"] * (l == h)
                + p["dialect_premium"] * away_same_dialect + amenities)

    def cost(tau, row, age, l0, l1, j):
        e, h = divmod(row, L)
        if j == l0:
            return 0.0
        return (intercept[tau] + shift[e] + p["gamma_distance"] * geo.distance_km[l0][j] / 1000.0
                - p["gamma_adjacent"] * bool(geo.adjacent[l0][j]) - p["gamma_previous"] * (j == l1)
                + p["gamma_age"] * (age - 20) - p["gamma_population"] * geo.population[j] / 1e7
                + p["gamma_hukou"] * (j != h) - (p["gamma_culture"] if tau == 0 else p["gamma_culture_type2"])
                * (0.0 if geo.culture is None else geo.culture[h][j]))

    def after_last(h, l, m):
        return flow(h, l, m) / (1 - p["beta"])

    @lru_cache(maxsize=None)
    def expected_value(tau, h, age, l0, l1, m0, m1):
        values = choice_values(tau, h, age, l0, l1, m0, m1)
        top = max(values)
        return top + math.log(sum(math.exp(v - top) for v in values))

    def next_value(tau, h, age, l0, l1, m0, m1):
        if age == last_age:
            return after_last(h, l0, m0)
        return expected_value(tau, h, age + 1, l0, l1, m0, m1)

    def choice_values(tau, h, age, l0, l1, m0, m1):
        values = []
        for j in range(L):
            if j == l0:                         # stay: the state is kept
                future = next_value(tau, h, age, l0, l1, m0, m1)
            elif j == l1:                       # return: the remembered match comes back
                future = next_value(tau, h, age, l1, l0, m1, m0)
            else:                               # a new province: a fresh match, l0 becomes remembered
                future = sum(next_value(tau, h, age, j, l0, s, m0) for s in range(len(matches))) / len(matches)
            values.append(flow(h, l0, m0) - cost(tau, h, age, l0, l1, j) + p["beta"] * future)
        return values

    def probabilities(tau, h, age, l0, l1, m0, m1):
        values = choice_values(tau, h, age, l0, l1, m0, m1)
        top = max(values)
        weights = [math.exp(v - top) for v in values]
        return [w / sum(weights) for w in weights]

    return probabilities


TALENT = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.9, 0.0]]   # rho^E: 9,000 yuan a year to graduates living in HE


@pytest.mark.parametrize("overrides, n_nu, n_xi, group_welfare", [
    ({}, 2, 2, None),
    ({"gamma_age": 0.3, "gamma_previous": 3.0, "gamma_culture_type2": 1.7}, 3, 1, None),
    ({"beta": 0.8, "home_premium": -0.4, "dialect_premium": 0.9}, 2, 1, None),
    # the full model: education groups with their own intercepts and levels, xi on, a talent subsidy
    ({"xi_sd": 0.9, "gamma0_college": -1.3, "wage_level_college": 2.0, "alpha_income": 0.3}, 2, 2, TALENT),
])
def test_solver_matches_a_reference_written_from_the_equations(overrides, n_nu, n_xi, group_welfare):
    geo = load_china(["BJ", "TJ", "HE", "SH"])
    params = default_parameters().with_values(**overrides)
    ages = list(range(55, 60))
    solution = solve(build_model(geo, params, ages=ages, n_nu=n_nu, n_xi=n_xi, group_welfare=group_welfare))
    reference = equation_reference(geo, params, ages, n_nu, n_xi, group_welfare=group_welfare)
    M = n_nu * n_xi
    states = [(t, h, a, l0, l1, m0, m1) for t in range(2) for h in range(2 * geo.n) for a in range(len(ages))
              for l0 in range(geo.n) for l1 in range(geo.n) for m0 in range(M) for m1 in range(M)]
    ours = solution.choice_probabilities(*np.array(states).T)
    theirs = np.array([reference(t, h, ages[a], l0, l1, m0, m1) for t, h, a, l0, l1, m0, m1 in states])
    assert np.max(np.abs(ours - theirs)) < 1e-12
    if group_welfare is not None:   # the subsidy and the groups matter: the two groups choose differently
        base, college = np.array(states)[:, 1] < geo.n, np.array(states)[:, 1] >= geo.n
        assert np.max(np.abs(ours[base] - ours[college])) > 1e-3


def test_choices_at_an_age_do_not_depend_on_the_first_model_age():
    geo = load_china(["BJ", "HE", "SH", "GD"])
    params = default_parameters().with_values(gamma_age=0.08)
    from20 = solve(build_model(geo, params, ages=range(20, 60)))
    from25 = solve(build_model(geo, params, ages=range(25, 60)))
    states = np.indices((2, 4, 1, 4, 4, 3, 3)).reshape(7, -1)
    at30_from20 = from20.choice_probabilities(*states[:2], states[2] + 10, *states[3:])
    at30_from25 = from25.choice_probabilities(*states[:2], states[2] + 5, *states[3:])
    np.testing.assert_allclose(at30_from20, at30_from25, rtol=0, atol=1e-12)


def test_likelihood_does_not_depend_on_the_first_model_age():
    geo = load_china(TINY)
    rows = [(p, 2010 + t, 30 + t, loc, 5.0 + 0.2 * t, "BJ")
            for p, path in enumerate([["BJ", "SH", "SH", "BJ"], ["BJ", "BJ", "HE", "HE"]]) for t, loc in enumerate(path)]
    frame = pd.DataFrame(rows, columns=["person", "year", "age", "province", "wage", "home"])
    frame["education"] = np.where(frame["person"] == 1, "college", "below_college")
    panel = panel_arrays(frame, geo.codes, (20, 59), education_groups=("below_college", "college"))
    table = default_parameters()
    from20 = KWLikelihood(geo, panel, table, ages=range(20, 60)).loglik_per_person({})
    from25 = KWLikelihood(geo, panel, table, ages=range(25, 60)).loglik_per_person({})
    np.testing.assert_allclose(from20, from25, rtol=1e-12)


def moving_probability_by_age(terminal):
    geo = load_china(["BJ", "HE", "SH", "GD"])
    model = build_model(geo, ages=range(20, 60), n_nu=3, terminal=terminal)
    solution = solve(model)
    # everyone at home, never moved, every type, home and match: P(move) by age
    t, h, m = np.indices((2, 4, 3)).reshape(3, -1)
    rates = []
    for a in range(model.n_ages):
        probs = solution.choice_probabilities(t, h, np.full(len(t), a), h, h, m, m)
        rates.append(1 - probs[np.arange(len(t)), h])
    return np.array(rates)     # (A, states)


def test_no_moving_spike_at_the_end_of_life():
    stay = moving_probability_by_age("stay")
    # the probability of moving never rises with age, in any of these states, up to the last age
    assert np.all(np.diff(stay, axis=0) <= 1e-12)
    # with nothing after the last age a move costs only one year's flow: on average the last age is a spike
    none = moving_probability_by_age("none")
    assert none[-1].mean() > 1.5 * none[-2].mean()


def exact_path_probability(solution, home, path, row=None):
    """P(location path | home) from the solved model: mix over types and every match draw (eq 8);
    ``row`` is the solver's (education, home) row (default: the base group)."""
    row = home if row is None else row
    model = solution.model
    M = model.n_match
    share = model.params["type1_share"]
    total = 0.0
    for tau, weight in ((0, share), (1, 1 - share)):
        def walk(t, l0, l1, m0, m1):
            if t == len(path) - 1:
                return 1.0
            j = path[t + 1]
            prob = solution.choice_probabilities([tau], [row], [t], [l0], [l1], [m0], [m1])[0, j]
            if j == l0:
                return prob * walk(t + 1, l0, l1, m0, m1)
            if j == l1:
                return prob * walk(t + 1, l1, l0, m1, m0)
            return prob * sum(walk(t + 1, j, l0, s, m0) for s in range(M)) / M
        total += weight * sum(walk(0, home, home, m, m) for m in range(M)) / M
    return total


def test_simulated_path_frequencies_match_exact_path_probabilities():
    geo = load_china(["BJ", "HE", "SH"])
    model = build_model(geo, ages=range(20, 24), n_nu=2).with_params(gamma0_type1=0.5, gamma0_type2=1.5,
                                                                     alpha_income=0.4)
    solution = solve(model)
    n = 40_000
    # everyone in the college group: the path probabilities use its row of the solver
    simulated = simulate_panel(solution, n, seed=3, homes=np.zeros(n, dtype=int), education=np.ones(n, dtype=int))
    paths = simulated.pivot(index="person", columns="age", values="location").to_numpy()
    observed = pd.Series(map(tuple, paths)).value_counts()
    every_path = list(itertools.product(range(3), repeat=4))
    every_path = [p for p in every_path if p[0] == 0]
    expected = np.array([exact_path_probability(solution, 0, p, row=model.row_index(1, 0)) for p in every_path])
    assert expected.sum() == pytest.approx(1.0, abs=1e-12)
    counts = np.array([observed.get(p, 0) for p in every_path])
    # pool rare paths so that every cell expects at least 5
    common = expected * n >= 5
    cells_expected, cells_observed = expected[common] * n, counts[common]
    if (~common).any():
        cells_expected = np.r_[cells_expected, expected[~common].sum() * n]
        cells_observed = np.r_[cells_observed, counts[~common].sum()]
    statistic = float(np.sum((cells_observed - cells_expected) ** 2 / cells_expected))
    print(f"chi-square {statistic:.1f} on {len(cells_expected) - 1} d.f.")
    assert common.sum() >= 15
    assert chi2.sf(statistic, len(cells_expected) - 1) > 1e-3


def test_amenities_and_housing_enter_flow_utility_as_written(tmp_path):
    """Draft section 3.4: a_j + Σ_k α_k Y_kj + α_r r_j + α_h h_j, from a loaded (made-up, test-only) table."""
    table = pd.DataFrame({"code": ["BJ", "TJ", "HE", "SH", "GD"], "rent": [9.0, 4.0, 2.5, 8.0, 5.0],
                          "house_price": [6.0, 3.0, 1.2, 5.8, 3.1], "amenity_green_space": [0.4, 0.1, 0.3, 0.2, 0.6],
                          "amenity_hospital_beds": [1.0, 0.5, 0.2, 0.9, 0.4], "source": "test values, not data"})
    path = tmp_path / "amenities.csv"
    table.to_csv(path, index=False)
    geo = load_amenities(load_china(["BJ", "TJ", "HE", "SH"]), path)
    geo = dataclasses.replace(geo, local_welfare=np.array([0.0, 0.3, 0.0, 0.8]))   # rho_j: income, not wage
    assert geo.amenity_names == ("green_space", "hospital_beds")
    params = default_parameters(amenity_names=geo.amenity_names, province_effects=geo.codes).with_values(
        alpha_amenity_green_space=1.5, alpha_amenity_hospital_beds=-0.7, alpha_rent=0.12, alpha_house_price=-0.3,
        amenity_TJ=0.4, amenity_SH=-0.25)
    ages = list(range(56, 60))
    solution = solve(build_model(geo, params, ages=ages, n_nu=2))
    reference = equation_reference(geo, params, ages, 2, 1)
    states = [(t, h, a, l0, l1, m0, m1) for t in range(2) for h in range(2 * geo.n) for a in range(len(ages))
              for l0 in range(geo.n) for l1 in range(geo.n) for m0 in range(2) for m1 in range(2)]
    ours = solution.choice_probabilities(*np.array(states).T)
    theirs = np.array([reference(t, h, ages[a], l0, l1, m0, m1) for t, h, a, l0, l1, m0, m1 in states])
    assert np.max(np.abs(ours - theirs)) < 1e-12
    # and the terms matter: without them the probabilities differ
    plain = solve(build_model(load_china(["BJ", "TJ", "HE", "SH"]), default_parameters(), ages=ages, n_nu=2))
    assert np.max(np.abs(plain.choice_probabilities(*np.array(states).T) - ours)) > 1e-3
