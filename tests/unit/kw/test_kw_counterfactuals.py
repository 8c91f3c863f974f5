"""Counterfactual scenarios: definitions, common random numbers, directions of the effects."""

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.counterfactuals import (Scenario, destination_shares, migration_rate, run_scenarios,
                                        simulate_scenario, standard_scenarios)
from mig_lib.kw.geography import load_china
from mig_lib.kw.model import default_parameters

SMALL = ["BJ", "HE", "SH", "GD"]


@pytest.fixture(scope="module")
def results():
    geo = load_china(SMALL)
    params = default_parameters().with_values(gamma0_type1=3.5, gamma0_type2=4.5)
    scenarios = standard_scenarios(params, subsidy=2.0, income_province="HE", income_rise=2.0,
                                   talent_province="HE", talent_subsidy=2.0)
    return geo, params, run_scenarios(geo, params, scenarios, n_people=400, seed=5, n_years=10)


def test_migration_rate_and_destination_shares_by_hand():
    frame = pd.DataFrame({"age": [20, 21, 22, 20, 21, 22], "moved": [True, False, True, False, False, False],
                          "choice": [1, 1, 0, 2, 2, 2]})
    assert migration_rate(frame) == pytest.approx(2 / 6)
    assert migration_rate(frame, n_years=2) == pytest.approx(1 / 4)
    shares = destination_shares(frame, ["a", "b", "c"])
    assert list(shares) == [0.5, 0.5, 0.0]


def test_scenarios_are_built_from_the_parameters():
    params = default_parameters()
    by_name = {s.name: s for s in standard_scenarios(params, subsidy=1.5)}
    shift = params["alpha_income"] * 1.5
    assert by_name["moving_subsidy"].overrides["gamma0_type2"] == pytest.approx(params["gamma0_type2"] - shift)
    assert by_name["hukou_removed"].overrides == {"gamma_hukou": 0.0}
    assert "income_rise" not in by_name


def test_policies_move_migration_the_expected_way(results):
    _, _, table = results
    base = table.loc["baseline", "migration_rate"]
    assert 0 < base < 0.2
    assert table.loc["moving_subsidy", "migration_rate"] > base
    assert table.loc["hukou_removed", "migration_rate"] > table.loc["hukou_halved", "migration_rate"] > base
    # without a home premium people leave home more (and return less)
    assert table.loc["no_home_premium", "migration_rate"] > base
    # a richer Hebei attracts a larger share of the moves
    assert table.loc["income_rise", "share_to_HE"] > table.loc["baseline", "share_to_HE"]
    # a residence subsidy is income for choices exactly like a mean-income rise of the same size
    assert table.loc["residence_subsidy", "migration_rate"] == table.loc["income_rise", "migration_rate"]
    assert table.loc["residence_subsidy", "share_to_HE"] == table.loc["income_rise", "share_to_HE"]
    # the talent subsidy is paid to graduates only: the other group's choices are exactly the baseline's,
    # and graduates send a larger share of their moves to Hebei
    assert (table.loc["talent_subsidy", "migration_rate/below_college"]
            == table.loc["baseline", "migration_rate/below_college"])
    assert table.loc["talent_subsidy", "share_to_HE/below_college"] == table.loc["baseline", "share_to_HE/below_college"]
    assert table.loc["talent_subsidy", "share_to_HE/college"] > table.loc["baseline", "share_to_HE/college"]
    # graduates pay a lower moving-cost intercept (gamma0_college < 0): they move more at baseline
    assert table.loc["baseline", "migration_rate/college"] > table.loc["baseline", "migration_rate/below_college"]
    shares = table[[c for c in table.columns if c.startswith("share_to_") and "/" not in c]]
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_baseline_reuses_the_same_draws(results):
    geo, params, table = results
    homes = np.random.default_rng(5).choice(geo.n, size=400, p=geo.population / geo.population.sum())
    again = simulate_scenario(geo, params, Scenario("baseline", ""), 400, 5, homes=homes)
    assert migration_rate(again, 10) == table.loc["baseline", "migration_rate"]


def test_unknown_province_is_an_error():
    geo = load_china(SMALL)
    with pytest.raises(ParameterError, match="'ZZ'"):
        simulate_scenario(geo, default_parameters(), Scenario("x", "", income_change={"ZZ": 1.0}), 10, 0)


def test_talent_subsidy_is_welfare_not_wage():
    geo = load_china(SMALL)
    params = default_parameters()
    subsidised = simulate_scenario(geo, params, Scenario("t", "", welfare_change={"SH": 1.0}), 300, 2)
    baseline = simulate_scenario(geo, params, Scenario("b", ""), 300, 2)
    # same draws; where people live differs, but the wage equation has no rho: wages of person-years
    # in the same province, age and draws are identical
    merged = subsidised.merge(baseline, on=["person", "age"], suffixes=("", "_base"))
    same_place = merged["location"] == merged["location_base"]
    same_match = merged["nu"] == merged["nu_base"]
    assert (same_place & same_match).sum() > 100
    np.testing.assert_allclose(merged.loc[same_place & same_match, "wage"], merged.loc[same_place & same_match, "wage_base"])
    assert (subsidised["location"] == geo.index("SH")).mean() > (baseline["location"] == geo.index("SH")).mean()


def test_the_talent_subsidy_needs_an_education_group_of_the_table():
    with pytest.raises(ParameterError, match="'talent_education' = 'phd'"):
        standard_scenarios(default_parameters(), talent_province="HE", talent_education="phd")
    geo = load_china(SMALL)
    with pytest.raises(ParameterError, match="education group 'phd'"):
        simulate_scenario(geo, default_parameters(), Scenario("x", "", welfare_change={"HE": 1.0},
                                                              welfare_education="phd"), 10, 0)


def test_the_talent_subsidy_is_paid_to_graduates_as_welfare_not_wage():
    geo = load_china(SMALL)
    params = default_parameters()
    talent = Scenario("t", "", welfare_change={"SH": 1.0}, welfare_education="college")
    subsidised = simulate_scenario(geo, params, talent, 400, 2)
    baseline = simulate_scenario(geo, params, Scenario("b", ""), 400, 2)
    merged = subsidised.merge(baseline, on=["person", "age"], suffixes=("", "_base"))
    same = (merged["location"] == merged["location_base"]) & (merged["nu"] == merged["nu_base"])
    np.testing.assert_allclose(merged.loc[same, "wage"], merged.loc[same, "wage_base"])
    below = merged["education"] == "below_college"
    # the other group's lives are exactly the baseline's; graduates live in Shanghai more
    pd.testing.assert_series_equal(merged.loc[below, "location"], merged.loc[below, "location_base"], check_names=False)
    college = subsidised[subsidised["education"] == "college"]
    college_base = baseline[baseline["education"] == "college"]
    assert (college["location"] == geo.index("SH")).mean() > (college_base["location"] == geo.index("SH")).mean()
