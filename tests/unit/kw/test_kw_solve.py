"""Solver: numba (two kernels) vs numpy vs pure Python, closed forms, invariances, errors."""

import dataclasses

import numpy as np
import pytest
from scipy.special import logsumexp

from mig_lib.core import ParameterError
from mig_lib.kw.geography import load_china
from mig_lib.kw.model import build_model
from mig_lib.kw.solve import allocate_values, solve, solve_keeping_probabilities, solve_numpy, solve_python

SMALL = ["BJ", "HE", "SD", "SH"]


@pytest.fixture(scope="module")
def small_model():
    return build_model(load_china(SMALL), ages=range(50, 55), n_nu=2, n_xi=2)


@pytest.fixture(scope="module")
def small_solution(small_model):
    return solve(small_model)


@pytest.mark.parametrize("overrides, n_nu, n_xi", [({}, 2, 2), ({}, 3, 1),
                                                   ({"alpha_income": 5.0, "nu_sd": 8.0, "gamma_previous": -5.0}, 3, 1),
                                                   ({"beta": 0.0}, 1, 1)])
def test_three_implementations_agree(overrides, n_nu, n_xi):
    model = build_model(load_china(SMALL), ages=range(55, 59), n_nu=n_nu, n_xi=n_xi).with_params(**overrides)
    shared, fused = solve(model).V, solve(model, method="fused").V
    reference, obvious = solve_numpy(model).V, solve_python(model).V
    assert np.all(np.isfinite(shared))
    for other in (fused, reference, obvious):
        assert np.max(np.abs(shared - other)) < 1e-10


def test_expected_value_is_logsumexp_of_choice_values(small_solution):
    states = np.indices(small_solution.V.shape).reshape(7, -1)
    values = small_solution.choice_values(*states)
    assert np.allclose(logsumexp(values, axis=1), small_solution.V.ravel(), atol=1e-12)
    probs = small_solution.all_choice_probabilities()
    assert np.all(probs > 0) and np.allclose(probs.sum(axis=-1), 1.0)
    chosen = np.arange(states.shape[1]) % 4
    lp = small_solution.log_choice_probability(*states, chosen)
    assert np.allclose(lp, np.log(probs.reshape(-1, 4)[np.arange(len(chosen)), chosen]))


def test_last_age_two_provinces_is_a_binary_logit():
    model = build_model(load_china(["BJ", "TJ"]), ages=[59], n_nu=1, terminal="none")
    sol = solve(model)
    # with nothing after the last age v(x, j) = u(x, j): moving BJ -> TJ with home BJ costs moving_cost[tau, 0, 0, 1]
    for tau in (0, 1):
        cost = model.moving_cost[tau, 0, 0, 1] + model.age_cost[0]
        p = sol.choice_probabilities([tau], [0], [0], [0], [0], [0], [0])[0]
        assert p[1] == pytest.approx(1 / (1 + np.exp(cost)), rel=1e-12)


def test_last_age_with_staying_forever_after_is_a_binary_logit():
    geo = load_china(["BJ", "TJ"])
    model = build_model(geo, ages=[59], n_nu=1)
    p = model.params
    sol = solve(model)
    # written from the equations: after 59 the person lives where they are forever, so a move at 59
    # gains beta/(1 - beta) times the difference in flow utility (home BJ: TJ is away from home)
    flow = {k: p["alpha_income"] * geo.mean_income[k] + p["home_premium"] * (k == 0)
            + p["dialect_premium"] * (k != 0 and geo.dialect_group[k] == geo.dialect_group[0]) for k in (0, 1)}
    for tau, intercept, attachment in ((0, p["gamma0_type1"], p["gamma_culture"]),
                                       (1, p["gamma0_type2"], p["gamma_culture_type2"])):
        cost = (intercept + p["gamma_distance"] * geo.distance_km[0, 1] / 1000 - p["gamma_adjacent"]
                - p["gamma_population"] * geo.population[1] / 1e7 + p["gamma_hukou"] + p["gamma_age"] * (59 - 20)
                - attachment * geo.culture[0, 1])
        gain = p["beta"] / (1 - p["beta"]) * (flow[1] - flow[0])
        prob = sol.choice_probabilities([tau], [0], [0], [0], [0], [0], [0])[0]
        assert prob[1] == pytest.approx(1 / (1 + np.exp(cost - gain)), rel=1e-12)


def test_myopic_people_choose_by_flow_utility_only():
    model = build_model(load_china(SMALL), ages=range(30, 33), n_nu=2).with_params(beta=0.0)
    sol = solve(model)
    p_young = sol.choice_probabilities([0], [1], [0], [1], [2], [0], [1])
    p_old = sol.choice_probabilities([0], [1], [2], [1], [2], [0], [1])
    # with beta = 0 only the moving cost varies with j; age changes it by gamma_age per year
    cost = model.moving_cost[0, 1, 1].copy()
    cost[[0, 2, 3]] += model.age_cost[0]
    cost[2] -= model.return_discount
    assert np.allclose(p_young[0], np.exp(-cost) / np.exp(-cost).sum())
    assert p_old[0, 1] > p_young[0, 1]  # moving gets costlier with age


def test_wage_constants_cannot_move_choices(small_model, small_solution):
    # a utility constant common to all provinces (like alpha0 * (G(age) + eta)) shifts v̄, not choices
    shifted_geo = dataclasses.replace(small_model.geography, amenity=small_model.geography.amenity + 3.0)
    shifted = solve(build_model(shifted_geo, small_model.params, ages=small_model.ages, n_nu=2, n_xi=2))
    states = np.indices(small_solution.V.shape).reshape(7, -1)
    assert np.allclose(shifted.choice_probabilities(*states), small_solution.choice_probabilities(*states), atol=1e-12)
    assert not np.allclose(shifted.V, small_solution.V)


def test_higher_destination_income_attracts_movers(small_model, small_solution):
    geo = small_model.geography
    richer_sh = dataclasses.replace(geo, mean_income=geo.mean_income + 0.5 * (np.arange(4) == 3))
    sol = solve(build_model(richer_sh, small_model.params, ages=small_model.ages, n_nu=2, n_xi=2))
    state = ([0], [1], [0], [1], [1], [0], [0])
    assert sol.choice_probabilities(*state)[0, 3] > small_solution.choice_probabilities(*state)[0, 3]


def test_preallocated_output_is_reused(small_model):
    out = allocate_values(small_model)
    assert solve(small_model, out=out).V is out


@pytest.mark.parametrize("overrides", [{}, {"gamma0_type1": -3.0, "gamma0_type2": -2.0, "gamma_previous": -4.0}],
                         ids=["staying_likely", "moving_likely"])
def test_kept_probabilities_are_the_return_and_new_province_shares(overrides):
    """What the solve keeps for the exact gradient, against the choice probabilities: the return's
    probability ρ(x, ℓ1) (0 before any move) and exp(max_j v_new(j) − v̄(x)), the largest new
    province's value read at the never-moved state (l1 = l0, m1 = m0), where every j ≠ ℓ0 is new.
    With moving cheap, the return or a new province is the largest term at many states."""
    model = build_model(load_china(SMALL), ages=range(50, 55), n_nu=2, n_xi=2).with_params(**overrides)
    kept = solve_keeping_probabilities(model, allocate_values(model), np.empty(allocate_values(model).shape + (2,)))
    plain = solve(model)
    np.testing.assert_allclose(kept.V, plain.V, rtol=1e-14, atol=0)
    t, h, a, l0, l1, m0, m1 = [g.reshape(-1) for g in np.indices(plain.V.shape)]
    values = plain.choice_values(t, h, a, l0, l1, m0, m1)
    probabilities = np.exp(values - logsumexp(values, axis=1, keepdims=True))
    back = np.where(l1 != l0, probabilities[np.arange(len(l0)), l1], 0.0)
    never_moved = plain.choice_values(t, h, a, l0, l0, m0, m0)
    never_moved[np.arange(len(l0)), l0] = -np.inf
    scale = np.exp(never_moved.max(axis=1) - plain.V.reshape(-1))
    np.testing.assert_allclose(kept.probabilities[..., 0].reshape(-1), back, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kept.probabilities[..., 1].reshape(-1), scale, rtol=1e-12, atol=1e-15)
    if overrides:   # every branch of the solver's shift is taken: stay, return or a new province on top
        stay = values[np.arange(len(l0)), l0]
        ret = np.where(l1 != l0, values[np.arange(len(l0)), l1], -np.inf)
        best_new = never_moved.max(axis=1)
        assert ((ret > stay) & (ret > best_new)).any() and ((best_new > stay) & (best_new > ret)).any()
        assert ((stay > ret) & (stay > best_new)).any()


def test_bad_arguments_are_refused(small_model, small_solution):
    with pytest.raises(ParameterError, match="'method'"):
        solve(small_model, method="magic")
    with pytest.raises(ParameterError, match="'out'"):
        solve(small_model, out=np.empty(3))
    with pytest.raises(ParameterError, match="'l0'"):
        small_solution.choice_probabilities([0], [0], [0], [9], [0], [0], [0])
    with pytest.raises(ParameterError, match="'choice'"):
        small_solution.log_choice_probability([0], [0], [0], [0], [0], [0], [0], [4])
    with pytest.raises(ParameterError, match="max_entries"):
        small_solution.all_choice_probabilities(max_entries=10)
    with pytest.raises(ParameterError, match="tiny"):
        solve_python(build_model(load_china()))


def test_at_home_choice_probabilities_are_the_never_moved_states(small_model, small_solution):
    L, M = small_model.n_locations, small_model.n_match
    homes = np.arange(L)
    for tau, education, age_index, match in ((0, 0, 0, None), (1, 1, 3, 0)):
        m = M // 2 if match is None else match
        by_hand = small_solution.choice_probabilities(np.full(L, tau), education * L + homes, np.full(L, age_index),
                                                      homes, homes, np.full(L, m), np.full(L, m))
        ours = small_solution.at_home_choice_probabilities(tau=tau, education=education, age_index=age_index,
                                                           match=match)
        np.testing.assert_array_equal(ours, by_hand)
        np.testing.assert_allclose(ours.sum(axis=1), 1.0)
    # the college group's lower moving-cost intercept makes leaving home likelier
    stay = np.diagonal
    assert np.all(stay(small_solution.at_home_choice_probabilities(education=1))
                  < stay(small_solution.at_home_choice_probabilities(education=0)))
    with pytest.raises(ParameterError, match="'education' = 2"):
        small_solution.at_home_choice_probabilities(education=2)
