"""Simulation: frequencies converge to model probabilities, eq (8) transitions, statistics."""

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.geography import load_china
from mig_lib.kw.model import build_model, wage_age_profile
from mig_lib.kw.simulate import migration_statistics, simulate_panel
from mig_lib.kw.solve import solve

SMALL = ["BJ", "HE", "HA", "SH", "GD"]


@pytest.fixture(scope="module")
def solution():
    # cheap moves so that the panel has many moves and returns to test
    model = build_model(load_china(SMALL), ages=range(20, 30), n_nu=3).with_params(
        gamma0_type1=1.0, gamma0_type2=2.0, alpha_income=0.5)
    return solve(model)


@pytest.fixture(scope="module")
def panel(solution):
    return simulate_panel(solution, 3000, seed=7)


def test_moves_are_never_to_the_current_location(panel):
    assert (panel["moved"] == (panel["choice"] != panel["location"])).all()
    nxt = panel.groupby("person").shift(-1).dropna(subset=["location"])
    assert (nxt["location"].astype(int) == panel.loc[nxt.index, "choice"]).all()


def test_transitions_follow_eq8(panel):
    following = panel.groupby("person").shift(-1)
    ok = following["location"].notna()
    cur, nxt = panel[ok], following[ok]
    stay = ~cur["moved"]
    assert (nxt.loc[stay, "previous"] == cur.loc[stay, "previous"]).all()
    assert (nxt.loc[stay, "match_here"] == cur.loc[stay, "match_here"]).all()
    moved = cur["moved"]
    assert (nxt.loc[moved, "previous"] == cur.loc[moved, "location"]).all()
    assert (nxt.loc[moved, "match_previous"] == cur.loc[moved, "match_here"]).all()
    back = moved & (cur["choice"] == cur["previous"])
    assert back.sum() > 50
    assert (nxt.loc[back, "match_here"] == cur.loc[back, "match_previous"]).all()  # remembered nu comes back


def test_first_choices_converge_to_model_probabilities(solution):
    n = 20000
    home = np.full(n, 2)
    panel = simulate_panel(solution, n, seed=11, homes=home)
    first = panel[panel["age_index"] == 0]
    groups = list(solution.model.education)
    for (tau, m0, education), group in first.groupby(["type", "match_here", "education"]):
        row = solution.model.row_index(groups.index(education), 2)
        p = solution.choice_probabilities([tau - 1], [row], [0], [2], [2], [m0], [m0])[0]
        freq = np.bincount(group["choice"], minlength=5) / len(group)
        se = np.sqrt(p * (1 - p) / len(group))
        assert np.all(np.abs(freq - p) < 4.5 * se + 1e-12)


def test_wages_follow_the_wage_equation(solution, panel):
    model = solution.model
    level = panel["education"].map({"below_college": 0.0, "college": model.params["wage_level_college"]})
    resid = (panel["wage"] - model.geography.mean_income[panel["location"]] - panel["nu"]
             - wage_age_profile(model.params, panel["age"]) - level - panel["eta"])
    z = resid / panel["sigma_eps"]
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02


def test_seeded_and_reproducible(solution, panel):
    pd.testing.assert_frame_equal(simulate_panel(solution, 3000, seed=7), panel)
    assert not simulate_panel(solution, 3000, seed=8)["choice"].equals(panel["choice"])


def test_population_weighted_homes(solution, panel):
    share = panel.drop_duplicates("person")["home"].value_counts(normalize=True).sort_index()
    pop = solution.model.geography.population
    assert np.allclose(share.to_numpy(), pop / pop.sum(), atol=0.03)


def test_statistics_of_a_hand_made_panel():
    distance = np.array([[0.0, 100.0], [100.0, 0.0]])
    panel = pd.DataFrame({"person": [0, 0, 0, 1, 1, 1], "home": [0] * 3 + [1] * 3,
                          "location": [0, 1, 0, 1, 1, 1], "choice": [1, 0, 0, 1, 1, 0],
                          "moved": [True, True, False, False, False, True]})
    panel["return_home"] = panel["moved"] & (panel["choice"] == panel["home"])
    stats = migration_statistics(panel, distance)
    assert stats == {"annual_migration_rate": 0.5, "return_home_share": 1 / 3, "repeat_move_share": 0.5,
                     "mean_move_distance_km": 100.0, "ever_moved_share": 1.0}


def test_bad_arguments(solution):
    with pytest.raises(ParameterError, match="'n_people'"):
        simulate_panel(solution, 0, seed=1)
    with pytest.raises(ParameterError, match="'homes'"):
        simulate_panel(solution, 2, seed=1, homes=[0, 7])
