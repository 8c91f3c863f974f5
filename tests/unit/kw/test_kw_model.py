"""Model primitives: parameter table, support points, flow utility and moving costs by hand."""

import numpy as np
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.geography import load_china
from mig_lib.kw.model import (build_model, default_parameters, eta_points, sigma_eps_points, support_points,
                              wage_age_profile)


@pytest.fixture(scope="module")
def china_model():
    return build_model(load_china())


def test_full_state_space_size(china_model):
    # 2 types x (2 education groups x 31 homes) x 40 ages x 31 x 31 locations x 3 x 3 remembered match draws
    assert china_model.n_states == 2 * (2 * 31) * 40 * 31 * 31 * 3 * 3 == 42_899_040


def test_parameter_table_has_kw_values_and_bounds():
    p = default_parameters()
    assert p["beta"] == 0.95 and p["gamma0_type1"] == 4.790 and p["gamma_adjacent"] == 0.808
    assert p["gamma_distance"] == pytest.approx(0.265 / 1.609344)   # KW's 0.265 per 1,000 miles, per 1,000 km
    with pytest.raises(ParameterError, match="'beta'"):
        p.with_values(beta=1.5)
    assert set(p.notation().columns) == {"paper symbol", "code name", "meaning", "value"}


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_support_points_are_symmetric_quantiles(n):
    points = support_points(2.0, n)
    assert np.allclose(points, -points[::-1])
    assert np.all(np.diff(points) > 0)
    assert abs(points.mean()) < 1e-12


def test_many_support_points_approach_the_normal_sd():
    assert np.std(support_points(2.0, 2001)) == pytest.approx(2.0, rel=5e-3)


def test_eta_and_sigma_eps_points():
    p = default_parameters()
    eta = eta_points(p)
    assert len(eta) == 7 and np.allclose(eta, -eta[::-1]) and eta[3] == 0.0
    assert list(eta[4:]) == [p["eta_1"], p["eta_2"], p["eta_3"]]
    sig = sigma_eps_points(p)
    assert list(sig) == [p["sigma_eps_1"], p["sigma_eps_2"], p["sigma_eps_3"], p["sigma_eps_4"]]
    assert wage_age_profile(p, [20])[0] == 0.0


def test_moving_cost_by_hand(china_model):
    g, p, cost = china_model.geography, china_model.params, china_model.moving_cost
    h, l0, j = g.index("SC"), g.index("SC"), g.index("GD")
    by_hand = (p["gamma0_type2"] + p["gamma_distance"] * g.distance_km[l0, j] / 1000
               - p["gamma_adjacent"] * g.adjacent[l0, j] - p["gamma_population"] * g.population[j] / 1e7
               + p["gamma_hukou"] - p["gamma_culture_type2"] * g.culture[h, j])
    assert cost[1, h, l0, j] == pytest.approx(by_hand)
    # moving back home carries no hukou friction and the largest cultural proximity (C(h, h) = 1)
    assert g.culture[h, h] == pytest.approx(1.0)
    assert cost[0, h, j, h] == pytest.approx(p["gamma0_type1"] + p["gamma_distance"] * g.distance_km[j, h] / 1000
                                             - p["gamma_population"] * g.population[h] / 1e7 - p["gamma_culture"])
    assert np.all(np.diagonal(cost, axis1=2, axis2=3) == 0)
    off = ~np.eye(31, dtype=bool)
    base, college = cost[:, :31], cost[:, 31:]   # rows e * L + h: the base group, then the college group
    attachment = (p["gamma_culture"] - p["gamma_culture_type2"]) * g.culture[:, None, :]   # [h, l0, j]
    difference = p["gamma0_type2"] - p["gamma0_type1"] + np.broadcast_to(attachment, base[0].shape)
    assert np.allclose((base[1] - base[0])[:, off], difference[:, off])
    # the college group pays its own intercept shift on every move, and nothing for staying
    assert np.allclose((college - base)[:, :, off], p["gamma0_college"])
    assert np.all(np.diagonal(college, axis1=2, axis2=3) == 0)


def test_location_utility_by_hand(china_model):
    g, p, u = china_model.geography, china_model.params, china_model.location_utility
    sc, cq, gd = g.index("SC"), g.index("CQ"), g.index("GD")
    assert u[sc, sc] == pytest.approx(p["alpha_income"] * g.mean_income[sc] + p["home_premium"])
    assert u[sc, cq] == pytest.approx(p["alpha_income"] * g.mean_income[cq] + p["dialect_premium"])  # both SW Mandarin
    assert u[sc, gd] == pytest.approx(p["alpha_income"] * g.mean_income[gd])


def test_match_index_combines_nu_and_xi():
    m = build_model(load_china(["BJ", "SH"]), n_nu=3, n_xi=2)
    assert m.n_match == 6
    expected = m.params["alpha_income"] * m.nu_points[:, None] + m.xi_points[None, :]
    assert np.allclose(m.match_utility, expected.ravel())
    assert np.allclose(m.nu_of_match, np.repeat(m.nu_points, 2))


def test_with_params_rebuilds_arrays(china_model):
    richer = china_model.with_params(alpha_income=0.3)
    level = np.repeat([0.0, china_model.params["wage_level_college"]], 31)[:, None]   # income of each row's group
    assert np.allclose(richer.location_utility - china_model.location_utility,
                       (0.3 - china_model.params["alpha_income"]) * (china_model.geography.mean_income[None, :] + level))


@pytest.mark.parametrize("kwargs, fragment", [({"ages": [20, 22]}, "'ages'"), ({"n_nu": 0}, "'n_nu'"),
                                              ({"n_xi": 2.5}, "'n_xi'")])
def test_bad_model_arguments(kwargs, fragment):
    with pytest.raises(ParameterError, match=fragment):
        build_model(load_china(["BJ", "SH"]), **kwargs)


def test_cultural_proximity_index():
    from mig_lib.kw.geography import cultural_proximity, entropy_weights, tree_similarity

    geo = load_china()
    index, parts = cultural_proximity(geo)
    assert np.allclose(index, index.T) and np.allclose(np.diag(index), 1.0) and index.min() > 0
    weights = [w for w, _ in parts.values()]
    assert sum(weights) == pytest.approx(1.0) and min(weights) > 0
    # eq 13 on the dialect tree: same subgroup 1, two Mandarin subgroups 1/2, Mandarin vs Wu 1/3, vs Tibetan 1/4
    s = tree_similarity(["Jilu Mandarin", "Jilu Mandarin", "Beijing Mandarin", "Wu", "Tibetan"])
    assert list(s[0]) == pytest.approx([1.0, 1.0, 0.5, 1 / 3, 0.25])
    # entropy weights: a constant indicator carries no information, so the other takes all the weight
    assert entropy_weights([np.ones((3, 3)), np.array([[1, 0.1, 0.9], [0.1, 1, 0.5], [0.9, 0.5, 1]])]) \
        == pytest.approx([0.0, 1.0])
    # a user matrix joins with the given weights; the sub-geography keeps the 31-province index
    cuisine = np.eye(geo.n) * 0.5 + 0.5
    index2, parts2 = cultural_proximity(geo, extra={"cuisine": cuisine},
                                        weights={"distance decay": 1, "dialect similarity": 1, "cuisine": 2})
    assert parts2["cuisine"][0] == pytest.approx(0.5)
    np.testing.assert_allclose(index2, 0.25 * parts["distance decay"][1] + 0.25 * parts["dialect similarity"][1]
                               + 0.5 * cuisine)
    sub = load_china(["BJ", "SH", "GD"])
    keep = [geo.index(c) for c in sub.codes]
    np.testing.assert_allclose(sub.culture, index[np.ix_(keep, keep)])
    with pytest.raises(ParameterError, match="extra similarity 'bad'"):
        cultural_proximity(geo, extra={"bad": np.ones((2, 2))})
