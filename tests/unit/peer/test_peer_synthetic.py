"""The synthetic CHIPS-like world: Table 2 shares, equilibrium consistency, reproducibility."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from mig_lib.core import ParameterError
from mig_lib.peer import estimate, synthetic
from mig_lib.peer.tables import TABLE2


@pytest.fixture(scope="module")
def world():
    return synthetic.draw_world(n_villages=960, seed=7)


def test_size_matches_chips(world):
    d = world.data
    assert 15_000 < len(d) < 18_000
    assert 8_500 < d["household"].nunique() < 10_500
    assert d["village"].nunique() == 960 and d["county"].nunique() == 120


def test_table2_shares_within_sampling_error(world):
    check = synthetic.share_check(world, n_sd=4.0)
    covariates = check.drop(index=["peer"])  # the ratio is an equilibrium outcome, not drawn to match
    bad = covariates[~covariates["within"]]
    assert bad.empty, bad


def test_village_ratio_is_a_fixed_point_excluding_the_family(world):
    d = world.data
    beta = world.truth
    non_peer = [t for t in beta.index if t != "peer" and not t.startswith("peer_x_")]
    slope = beta["peer"] + sum(beta[t] * d[t.removeprefix("peer_x_")] for t in beta.index if t.startswith("peer_x_"))
    index = d[non_peer].to_numpy() @ beta[non_peer].to_numpy()
    p = norm.cdf(index + slope.to_numpy() * d["peer"].to_numpy())
    # the village's unsampled people: their own draw of the village, shifted, responding to the village ratio
    rest = world.unsampled
    rest_slope = beta["peer"] + sum(beta[t] * rest[t.removeprefix("peer_x_")] for t in beta.index if t.startswith("peer_x_"))
    rest_index = rest[non_peer].to_numpy() @ beta[non_peer].to_numpy()
    village_m = d.groupby("village")["village_expected_ratio"].first()
    village_shift = d.groupby("village")["unsampled_index_shift"].first()
    v = rest["village"].to_numpy()
    q = norm.cdf(rest_index + village_shift.to_numpy()[v] + rest_slope.to_numpy() * village_m.to_numpy()[v])
    unsampled_rate = pd.Series(q).groupby(v).mean()
    m = d["village_expected_ratio"].to_numpy()
    pop = d["village_population"]
    n_v = d.groupby("village")["village"].transform("size")
    village_total = (d.assign(p=p).groupby("village")["p"].transform("sum")
                     + unsampled_rate.reindex(d["village"]).to_numpy() * (pop - n_v))
    np.testing.assert_allclose(m, village_total / pop, atol=1e-10)
    fam_sum = d.assign(p=p).groupby("household")["p"].transform("sum")
    fam_n = d.groupby("household")["household"].transform("size")
    expected = (village_total - fam_sum) / (pop - fam_n)
    np.testing.assert_allclose(d["peer"], expected, atol=1e-10)


def test_instrument_lowers_interaction_strength(world):
    d = world.data
    for c in ("info", "care", "housing"):
        gap = d.groupby("family_political_class")[f"{c}_score"].mean()
        assert gap[1.0] < gap[0.0] - 0.1


def test_same_seed_same_world_and_different_seed_differs():
    a = synthetic.draw_world(n_villages=30, seed=3).data
    b = synthetic.draw_world(n_villages=30, seed=3).data
    c = synthetic.draw_world(n_villages=30, seed=4).data
    assert a.equals(b)
    assert not a["migrant"].equals(c["migrant"]) or len(a) != len(c)


def test_probit_recovers_truth_on_a_large_world():
    world = synthetic.draw_world(n_villages=2400, seed=12)
    fit = estimate.fit_probit(world.data, estimate.table3_regressors())
    z = (fit.params - world.truth[fit.params.index]) / fit.bse
    assert (z.abs() < 4.5).all(), z[z.abs() >= 4.5]
    assert abs(z.mean()) < 0.6  # no systematic drift across the 48 coefficients


def test_bad_arguments_raise_named_errors():
    with pytest.raises(ParameterError, match="'n_villages' = 5"):
        synthetic.draw_world(n_villages=5)
    with pytest.raises(ParameterError, match="'endogeneity' = 1.5"):
        synthetic.draw_world(n_villages=20, endogeneity=1.5)
    with pytest.raises(ParameterError, match="'seed' = -1"):
        synthetic.draw_world(n_villages=20, seed=-1)


def test_outcomes_use_the_model_curve_terms(world):
    # the migration probability of the drawn outcomes is the model's individual curve Phi(a_i + s_i M_i)
    from mig_lib.peer import model

    index, slope = model.individual_curve_terms(world.data, world.truth)
    p = norm.cdf(index + slope * world.data["peer"].to_numpy())
    migrant = world.data["migrant"].to_numpy()
    # the probit's score at the truth averages zero (its generalized residual is orthogonal to 1 and M)
    residual = migrant - p
    assert abs(residual.mean()) < 3 * residual.std() / np.sqrt(len(p))


def test_readings_of_the_status_quo(world):
    from mig_lib.peer import model

    # village by village at the status quo is the world's own equilibrium, people-weighted
    vbv = synthetic.scenario_equilibrium(world, "figure1", "village_by_village")
    assert vbv == pytest.approx(world.data["village_expected_ratio"].mean(), abs=1e-9)
    rep = synthetic.scenario_equilibrium(world, "figure4", "representative")
    assert rep == pytest.approx(model.reached_equilibrium(model.scenario_curve("figure4"),
                                                          model.low_equilibrium(model.scenario_curve("figure1"))))
    avg = synthetic.scenario_equilibrium(world, "figure1", "sample_average")
    index, slope = model.individual_curve_terms(world.data, world.truth)
    assert norm.cdf(index + slope * avg).mean() == pytest.approx(avg, abs=1e-9)  # a fixed point of the mean curve


def test_intercept_for_half_reaches_half(world):
    for reading in ("representative", "village_by_village"):
        a = synthetic.intercept_for_equilibrium(world, "figure5", reading)
        assert synthetic.scenario_equilibrium(world, "figure5", reading, a) == pytest.approx(0.5, abs=1e-3)
    with pytest.raises(ParameterError, match="'reading' = 'median'"):
        synthetic.scenario_equilibrium(world, "figure5", "median")


def test_table2_by_outcome_averages_back_to_the_full_sample(world):
    split = synthetic.table2_by_outcome(world)
    share = world.data["migrant"].mean()
    full = share * split["migrants"] + (1 - share) * split["non_migrants"]
    np.testing.assert_allclose(full, world.data[split.index].mean(), rtol=1e-12)


def test_village_heterogeneity_keeps_table2_marginals_and_spreads_the_ratio():
    tied = synthetic.draw_world(n_villages=960, seed=5, heterogeneity=synthetic.VillageHeterogeneity(0.7, 0.7, 0.5))
    loose = synthetic.draw_world(n_villages=960, seed=5, heterogeneity=synthetic.VillageHeterogeneity())
    check = synthetic.share_check(tied, n_sd=4.0).drop(index=["peer"])
    assert check["within"].all(), check[~check["within"]]
    assert tied.data["peer"].std() > 1.5 * loose.data["peer"].std()
    # the factor ties villages: the village share of the land variance rises
    share = {k: w.data.groupby("village")["family_per_capita_land"].mean().var() / w.data["family_per_capita_land"].var()
             for k, w in (("tied", tied), ("loose", loose))}
    assert share["tied"] > 2 * share["loose"]


def test_calibrated_world_matches_the_frozen_moments():
    import json

    doc = json.loads(synthetic.CALIBRATION_PATH.read_text())
    assert synthetic.calibrated_heterogeneity() == synthetic.VillageHeterogeneity(**doc["loadings"])
    worlds = [synthetic.draw_world(960, seed=s) for s in (101, 102)]
    moments = sum(synthetic.world_moments(w) for w in worlds) / len(worlds)
    for name, entry in doc["moments"].items():
        assert moments[name] == pytest.approx(entry["world"], abs=1e-12)


def test_heterogeneity_loadings_are_validated():
    with pytest.raises(ParameterError, match="'interaction' = 0.9"):
        synthetic.VillageHeterogeneity(interaction=0.9)
    with pytest.raises(ParameterError, match=r"'unsampled_mean' = -2.0 is not allowed: expected a number in \[-1.5, 1.5\]"):
        synthetic.VillageHeterogeneity(unsampled_mean=-2.0)
    # the optimiser's map reaches every parameter's open range and nothing outside it
    inside = synthetic._loadings(np.array([-30.0, 30.0, 0.0, 30.0, -30.0]))
    assert inside.lagged_ratio == pytest.approx(0.0) and inside.household == pytest.approx(0.95)
    assert inside.unsampled_sd == pytest.approx(3.0) and inside.unsampled_mean == pytest.approx(-1.5)


def test_sampled_people_weigh_in_the_village_ratio_as_their_share_of_it():
    """With the unsampled villagers drawn apart, the sampled people move the ratio by their own share only."""
    rng = np.random.default_rng(3)
    village = np.repeat([0, 1], 10)
    household = np.repeat(np.arange(10), 2)
    population = np.array([400, 500])
    index = rng.normal(-1.0, 0.5, size=20)
    flat = np.zeros(20)  # no peer effect: the ratio is a plain average, no feedback
    rest = synthetic.UnsampledVillagers(rng.normal(-1.0, 0.5, size=40), np.zeros(40), np.ones(40), np.repeat([0, 1], 20))
    raised = index + 3.0 * (village == 0)
    solve = lambda idx, unsampled: synthetic.solve_village_ratios(  # noqa: E731
        idx, flat, np.ones(20), village, household, population, np.array([0.1, 0.1]), unsampled=unsampled)[1]
    change_of_sampled_sum = norm.cdf(raised[:10]).sum() - norm.cdf(index[:10]).sum()
    np.testing.assert_allclose(solve(raised, rest) - solve(index, rest), [change_of_sampled_sum / 400, 0.0], atol=1e-12)
    # without its own draw the sample stands for the whole village: the ratio moves by the sample's mean change
    np.testing.assert_allclose(solve(raised, None) - solve(index, None), [change_of_sampled_sum / 10, 0.0], atol=1e-12)


def test_unsampled_villagers_are_drawn_for_every_village(world):
    counts = world.unsampled.groupby("village").size()
    assert len(counts) == world.data["village"].nunique()
    sampled = world.data.groupby("village").size()
    assert counts.mean() == pytest.approx(synthetic.UNSAMPLED_DRAWS * sampled.mean(), rel=0.05)
    # the same villages, not copies of the sampled people
    assert not np.isin(world.unsampled["age"].to_numpy()[:50], world.data["age"].to_numpy()[:50]).all()


def test_unobserved_village_effect_enters_the_equilibrium_and_every_reading():
    plain = synthetic.draw_world(n_villages=120, seed=9)
    shocked = synthetic.draw_world(n_villages=120, seed=9, village_effect_sd=0.5)
    assert (plain.data["unobserved_village_effect"] == 0).all()
    effect = shocked.data.groupby("village")["unobserved_village_effect"].first()
    assert 0.35 < effect.std() < 0.65
    # villages with a larger effect have a higher ratio than in the same world without it
    gain = (shocked.data.groupby("village")["village_expected_ratio"].first()
            - plain.data.groupby("village")["village_expected_ratio"].first())
    assert np.corrcoef(effect, gain)[0, 1] > 0.8
    vbv = synthetic.scenario_equilibrium(shocked, "figure1", "village_by_village")
    assert vbv == pytest.approx(shocked.data["village_expected_ratio"].mean(), abs=1e-9)
    with pytest.raises(ParameterError, match="'village_effect_sd' = -1"):
        synthetic.draw_world(n_villages=20, village_effect_sd=-1.0)
