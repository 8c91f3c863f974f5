"""The mixture likelihood: location draws, the numba kernel vs enumeration, and the full model."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.data import panel_arrays
from mig_lib.kw.likelihood import (location_draws, person_log_likelihoods,
                                   person_log_likelihoods_reference)


def path_panel(paths, provinces=(0, 1, 2, 3)):
    rows = []
    for person, path in enumerate(paths):
        for t, loc in enumerate(path):
            rows.append({"person": person, "year": 2010 + t, "age": 25 + t, "province": loc, "wage": 1.0})
    return panel_arrays(pd.DataFrame(rows), provinces, (20, 59))


def test_location_draws_follow_eq8():
    # A A B A C A : stay, new B, return to l1=A, stay.. new C (forget B), return to A
    panel = path_panel([[0, 0, 1, 0, 2, 0], [3, 2, 1, 2, 3]])
    previous, here, prev, n = location_draws(panel)
    assert list(n) == [3, 4]
    assert list(previous[:6]) == [0, 0, 0, 1, 0, 2]
    assert list(here[:6]) == [0, 0, 1, 0, 2, 0]
    assert list(prev[:6]) == [0, 0, 0, 1, 0, 2]
    # 3 -> 2 -> 1 -> 2 (return to l1) -> 3 (3 was forgotten: a new draw)
    assert list(here[6:]) == [0, 1, 2, 1, 3]
    assert list(prev[6:]) == [0, 0, 1, 2, 1]


def test_too_many_draws_is_an_error():
    with pytest.raises(ParameterError, match="at most 12"):
        location_draws(path_panel([[k % 4 for k in range(14)]]))


def random_inputs(seed, paths, n_types=2, n_match=3, n_wage=6):
    rng = np.random.default_rng(seed)
    panel = path_panel(paths)
    _, here, prev, n = location_draws(panel)
    rows = panel.n_rows
    logits = rng.normal(size=(rows, n_types, n_match, n_match, 4))
    choice_log_prob = logits[..., 0] - np.log(np.exp(logits).sum(-1))
    choice_log_prob[panel.choice < 0] = 0.0
    wage_log_density = rng.normal(-1.0, 0.5, size=(rows, n_match, n_wage))
    log_weights = np.log(np.array([0.3, 0.7][:n_types]))
    return panel, (panel.person_start, n, here, prev, choice_log_prob, wage_log_density, log_weights, n_match)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_matches_brute_force_enumeration(seed):
    paths = [[0, 0, 1, 0, 2, 0], [3, 2, 1, 2, 3], [1], [2, 2, 2], [0, 1, 2, 3, 0, 1, 2]]
    _, args = random_inputs(seed, paths)
    fast, by_type = person_log_likelihoods(*args, 1)
    slow = person_log_likelihoods_reference(*args)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    np.testing.assert_allclose(np.log(np.exp(by_type + args[-2]).sum(1)), fast, rtol=1e-12)


@pytest.mark.parametrize("n_nu, n_xi", [(2, 2), (3, 2), (2, 3)])
def test_kernel_shares_the_wage_sums_of_matches_with_the_same_nu(n_nu, n_xi):
    """With the preference match on, a match is a (ν, ξ) pair and the wage density reads ν alone
    (constant over the n_xi matches m = ν-index · n_xi + ξ-index): the kernel's wage sums per
    combination of ν's give the brute force's over every match combination."""
    paths = [[0, 0, 1, 0, 2, 0], [3, 2, 1, 2, 3], [1], [2, 2, 2], [0, 1, 2, 3, 0, 1]]
    _, args = random_inputs(5, paths, n_match=n_nu * n_xi)
    args = list(args)
    args[5] = np.repeat(args[5][:, :n_nu, :], n_xi, axis=1)
    fast, _ = person_log_likelihoods(*args, n_xi)
    np.testing.assert_allclose(fast, person_log_likelihoods_reference(*args), rtol=1e-12)


def test_kernel_does_not_underflow_on_long_histories():
    _, args = random_inputs(4, [[0, 1] * 5 + [1] * 25])
    args = list(args)
    args[5] = args[5] - 30.0   # densities ~ e^-30 per year: the level product underflows
    fast, _ = person_log_likelihoods(*args, 1)
    assert np.isfinite(fast).all() and fast[0] < -900


# ----------------------------------------------------------------------------------------------
# The likelihood of the part-1 model
# ----------------------------------------------------------------------------------------------
import itertools

from scipy.integrate import quad, simpson
from scipy.stats import norm

from mig_lib.core.mle import numerical_gradient
from mig_lib.kw.gradient import loglik_gradient
from mig_lib.kw.geography import load_china
from mig_lib.kw.likelihood import KWLikelihood
from mig_lib.kw.model import (EDUCATION_GROUPS, build_model, default_parameters, education_wage_levels, eta_points,
                              sigma_eps_points, wage_age_profile)
from mig_lib.kw.solve import solve

TINY = ["BJ", "SH", "GD"]
AGES = (20, 59)


@pytest.fixture(scope="module")
def tiny_geography():
    return load_china(TINY)


def education_of(person):
    """Odd-numbered people are in the college group: every hand-made panel mixes both groups."""
    return EDUCATION_GROUPS[person % 2]


def code_panel(geo, rows):
    frame = pd.DataFrame(rows, columns=["person", "year", "age", "province", "wage", "home"])
    frame["education"] = frame["person"].map(education_of)
    # the wage equation is normal in levels: densities are integrated over negative wages too
    return panel_arrays(frame, geo.codes, AGES, allow_negative_wages=True, education_groups=EDUCATION_GROUPS)


def brute_force_loglik(geo, params, rows_by_person, n_nu=3, home_remembered=True, n_xi=1):
    """Eq 11-12 literally: enumerate (type, eta, sigma, nu at every arrival), track the state x
    forward with eq 8, multiply choice probabilities and wage densities in levels. A person first
    seen away from home starts with home remembered (and a match drawn there) if ``home_remembered``.
    A person's education group (``education_of``) picks the solver's row (group, home) and adds
    the group's wage level to the mean wage."""
    model = build_model(geo, params=params, n_nu=n_nu, n_xi=n_xi)
    solution = solve(model)
    nu, eta, sig = model.nu_points, eta_points(params), sigma_eps_points(params)
    n_match = n_nu * n_xi   # a draw is a (nu, xi) pair; only nu = nu[m // n_xi] enters the wage
    index = {c: k for k, c in enumerate(geo.codes)}
    memo = {}
    out = []
    for rows in rows_by_person:
        locs = [index[r[3]] for r in rows]
        home = index[rows[0][5]]
        group = EDUCATION_GROUPS.index(education_of(rows[0][0]))
        level = education_wage_levels(params)[group]
        away = home_remembered and locs[0] != home
        arrivals = 1 + away + sum(1 for t in range(1, len(locs)) if locs[t] != locs[t - 1])
        mixture = 0.0
        for tau, share in ((0, params["type1_share"]), (1, 1 - params["type1_share"])):
            total, count = 0.0, 0
            for combo in itertools.product(range(n_match), repeat=arrivals):
                for e, s in itertools.product(range(len(eta)), range(len(sig))):
                    l0, l1, m0, m1, used, product = locs[0], locs[0], combo[0], combo[0], 1, 1.0
                    if away:
                        l1, m1, used = home, combo[1], 2
                    for t, row in enumerate(rows):
                        age = row[2]
                        if t > 0:
                            j = locs[t]
                            if j == l1 and j != l0:
                                l0, l1, m0, m1 = l1, l0, m1, m0
                            elif j != l0:
                                l0, l1, m0, m1 = j, l0, combo[used], m0
                                used += 1
                        if np.isfinite(row[4]):
                            mean = (geo.mean_income[l0] + wage_age_profile(params, [age])[0] + level + nu[m0 // n_xi]
                                    + eta[e])
                            product *= norm.pdf(row[4], mean, sig[s])
                        if t + 1 < len(rows):
                            state = (tau, group * geo.n + home, age - 20, l0, l1, m0, m1)
                            if state not in memo:
                                memo[state] = solution.choice_probabilities(*[np.array([v]) for v in state])[0]
                            product *= memo[state][locs[t + 1]]
                    total += product
                    count += 1
            # a return to l1 uses no draw, so trailing draws may go unused: they average out
            mixture += share * total / count
        out.append(np.log(mixture))
    return np.array(out)


def test_model_likelihood_matches_brute_force(tiny_geography):
    geo = tiny_geography
    params = default_parameters().with_values(type1_share=0.35, gamma0_type1=2.0, gamma0_type2=3.5)
    paths = {0: [("BJ", 3.1), ("SH", 7.9), ("BJ", np.nan), ("GD", 5.0)],
             1: [("SH", 8.2), ("SH", 8.0), ("SH", 7.7)],
             2: [("GD", 6.0), ("BJ", 7.5), ("SH", 8.8), ("BJ", 6.9)]}
    homes = {0: "BJ", 1: "SH", 2: "SH"}
    rows = [(p, 2010 + t, 24 + t, loc, w, homes[p]) for p, path in paths.items() for t, (loc, w) in enumerate(path)]
    likelihood = KWLikelihood(geo, code_panel(geo, rows), default_parameters(), ages=range(20, 60))
    ours = likelihood.loglik_per_person(params.values)
    by_person = [[r for r in rows if r[0] == p] for p in paths]
    np.testing.assert_allclose(ours, brute_force_loglik(geo, params, by_person), rtol=1e-10)


def test_likelihood_with_the_preference_match_matches_brute_force(tiny_geography):
    """Draft eqs 9 and 11 with ξ on: every draw is a (ν, ξ) pair, ξ moves choices only, ν also wages."""
    geo = tiny_geography
    params = default_parameters().with_values(type1_share=0.6, gamma0_type1=2.0, xi_sd=0.8, gamma0_college=-1.0)
    paths = {0: [("BJ", 3.1), ("SH", 7.9), ("SH", 8.3), ("BJ", np.nan)],
             1: [("SH", 9.2), ("GD", 7.0), ("GD", 7.7)],
             2: [("GD", 6.0), ("GD", 6.4)]}
    homes = {0: "BJ", 1: "SH", 2: "BJ"}
    rows = [(p, 2010 + t, 26 + t, loc, w, homes[p]) for p, path in paths.items() for t, (loc, w) in enumerate(path)]
    likelihood = KWLikelihood(geo, code_panel(geo, rows), default_parameters(), ages=range(20, 60), n_nu=2, n_xi=2)
    ours = likelihood.loglik_per_person(params.values)
    by_person = [[r for r in rows if r[0] == p] for p in paths]
    np.testing.assert_allclose(ours, brute_force_loglik(geo, params, by_person, n_nu=2, n_xi=2), rtol=1e-10)
    # and ξ matters: the same panel without it has another likelihood
    without = KWLikelihood(geo, code_panel(geo, rows), default_parameters(), ages=range(20, 60), n_nu=2)
    assert np.all(np.abs(without.loglik_per_person(params.values) - ours) > 1e-4)


def test_panel_starting_away_from_home_remembers_home(tiny_geography):
    """KW's initial condition: first seen in SH with home BJ, the state is (SH, BJ, ν_SH, ν_BJ)."""
    geo = tiny_geography
    params = default_parameters().with_values(type1_share=0.4, gamma0_type1=2.0, gamma_previous=1.5)
    paths = {0: [("SH", 8.1), ("BJ", 4.0), ("BJ", 3.6)],            # goes home: a return to the remembered BJ
             1: [("GD", 6.0), ("SH", 8.5), ("BJ", 3.9), ("GD", 5.8)],  # home BJ forgotten after the move to SH
             2: [("SH", 7.2), ("SH", 7.9)]}
    homes = {0: "BJ", 1: "BJ", 2: "GD"}
    rows = [(p, 2010 + t, 31 + t, loc, w, homes[p]) for p, path in paths.items() for t, (loc, w) in enumerate(path)]
    panel = code_panel(geo, rows)
    by_person = [[r for r in rows if r[0] == p] for p in paths]
    remembered = KWLikelihood(geo, panel, default_parameters(), ages=range(20, 60)).loglik_per_person(params.values)
    np.testing.assert_allclose(remembered, brute_force_loglik(geo, params, by_person), rtol=1e-10)
    forgotten = KWLikelihood(geo, panel, default_parameters(), ages=range(20, 60),
                             home_remembered=False).loglik_per_person(params.values)
    np.testing.assert_allclose(forgotten, brute_force_loglik(geo, params, by_person, home_remembered=False),
                               rtol=1e-10)
    # the two initial conditions differ, and only for people who start away from home
    assert np.all(np.abs(remembered - forgotten) > 1e-6)
    # with home remembered, the first row's remembered province is home
    previous, _, _, n_draws = location_draws(panel)
    assert previous[0] == geo.index("BJ") and n_draws[0] == 2


def test_one_year_histories_sum_to_one(tiny_geography):
    """Σ_j ∫ L(w, j) dw = 1 for a person observed for one wage and one choice."""
    geo = tiny_geography
    grid = np.linspace(-6.0, 20.0, 2601)
    for group in (0, 1):   # even person numbers: the base group; odd: college (see education_of)
        rows = []
        person = group
        for j in geo.codes:
            for w in grid:
                rows += [(person, 2010, 30, "SH", w, "BJ"), (person, 2011, 31, j, np.nan, "BJ")]
                person += 2
        likelihood = KWLikelihood(geo, code_panel(geo, rows), default_parameters(), ages=range(20, 60))
        density = np.exp(likelihood.loglik_per_person({"type1_share": 0.3})).reshape(len(geo.codes), len(grid))
        choice_probability = simpson(density, x=grid, axis=1)
        assert choice_probability.sum() == pytest.approx(1.0, abs=1e-9)
        assert (choice_probability > 0).all()


def test_gradient_agrees_with_central_difference(tiny_geography):
    geo = tiny_geography
    rows = [(p, 2010 + t, 22 + t, loc, 4.0 + p + 0.3 * t, "BJ")
            for p, path in enumerate([["BJ", "SH", "SH", "BJ"], ["BJ", "BJ", "GD", "GD"], ["BJ"] * 4])
            for t, loc in enumerate(path)]
    table = default_parameters()
    likelihood = KWLikelihood(geo, code_panel(geo, rows), table, ages=range(20, 60))
    names = ["alpha_income", "gamma0_type1", "gamma_distance", "nu_sd", "type1_share", "wage_age_slope",
             "eta_2", "sigma_eps_4"]
    ours = loglik_gradient(likelihood, table, names)
    reference = numerical_gradient(likelihood.loglik_per_person, table, names, step=1e-6)
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)


def test_wage_only_changes_reuse_the_solution(tiny_geography):
    geo = tiny_geography
    rows = [(0, 2010 + t, 22 + t, loc, 5.0, "BJ") for t, loc in enumerate(["BJ", "SH", "GD"])]
    panel = code_panel(geo, rows)
    cached = KWLikelihood(geo, panel, default_parameters(), ages=range(20, 60))
    cached.loglik_per_person({})
    first = cached.n_solves
    a = cached.loglik_per_person({"eta_2": 0.9, "wage_age_slope": 0.02, "type1_share": 0.8})
    assert cached.n_solves == first
    fresh = KWLikelihood(geo, panel, default_parameters(), ages=range(20, 60))
    np.testing.assert_allclose(a, fresh.loglik_per_person({"eta_2": 0.9, "wage_age_slope": 0.02, "type1_share": 0.8}))
    cached.loglik_per_person({"gamma_hukou": 1.0})
    assert cached.n_solves == first + 1


def test_a_missing_wage_is_integrated_out(tiny_geography):
    """L(history with wage t missing) = ∫ L(history with wage t = w) dw, as mig_lib.kw.data documents."""
    geo = tiny_geography
    rows = [(0, 2010, 30, "BJ", 4.2, "BJ"), (0, 2011, 31, "SH", np.nan, "BJ"), (0, 2012, 32, "SH", 8.1, "BJ")]
    likelihood = KWLikelihood(geo, code_panel(geo, rows), default_parameters(), ages=range(20, 60))
    missing = float(np.exp(likelihood.loglik_per_person({})[0]))
    wage = likelihood.panel.wage.copy()
    likelihood.panel = dataclasses.replace(likelihood.panel, wage=wage)

    def with_wage(w):
        wage[1] = w
        return np.exp(likelihood.loglik_per_person({})[0])

    # adaptive Gauss–Kronrod: about 300 likelihood evaluations where a Simpson grid needed 4,001
    integral, _ = quad(with_wage, -10.0, 30.0, epsabs=0.0, epsrel=1e-11, limit=200)
    assert integral == pytest.approx(missing, rel=1e-8)


def test_estimable_parameters_follow_the_model_switches(tiny_geography):
    from mig_lib.kw.likelihood import estimable_parameters

    names, excluded = estimable_parameters(tiny_geography, default_parameters())
    assert "xi_sd" not in names and "n_xi = 1" in excluded["xi_sd"]
    names, excluded = estimable_parameters(tiny_geography, default_parameters(), n_xi=2)
    assert "xi_sd" in names and "xi_sd" not in excluded
    # every education parameter is estimated; beta is held with its reason
    assert {"wage_level_college", "gamma0_college"} <= set(names) and "Kennan and Walker" in excluded["beta"]
