"""Panels observed every other year (CFPS): the loader, and the forward recursion that sums over the
province and match of every unobserved year, against brute-force enumeration of the missing years."""

import itertools

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.data import panel_arrays, panel_from_simulation, validate_panel
from mig_lib.kw.geography import load_china
from mig_lib.kw.likelihood import KWLikelihood
from mig_lib.kw.model import EDUCATION_GROUPS, default_parameters

TINY = ["BJ", "SH", "GD"]
COLUMNS = ["person", "year", "age", "province", "wage", "home"]


@pytest.fixture(scope="module")
def geo():
    return load_china(TINY)


def frame_of(rows):
    """Rows as a panel frame; people from GD are in the college group (both groups in every panel)."""
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["education"] = np.where(frame["home"] == "GD", "college", "below_college")
    return frame


def annual_panel(rows):
    return panel_arrays(frame_of(rows), TINY, (20, 59), education_groups=EDUCATION_GROUPS)


def test_forward_recursion_equals_the_annual_kernel_on_annual_panels(geo):
    rows = [(p, 2010 + t, 23 + t, loc, 4.0 + p + 0.3 * t if t != 2 else np.nan, home)
            for p, (path, home) in enumerate([(["BJ", "SH", "SH", "BJ", "GD"], "BJ"), (["SH", "GD", "BJ", "GD"], "BJ"),
                                              (["GD", "GD", "GD"], "GD"), (["SH", "BJ", "SH"], "GD")])
            for t, loc in enumerate(path)]
    panel = annual_panel(rows)
    values = default_parameters().with_values(type1_share=0.3, gamma0_type1=2.0, gamma_previous=1.2).values
    for n_nu, n_xi in ((3, 1), (2, 2)):   # and with the preference match on
        draws = KWLikelihood(geo, panel, default_parameters(), ages=range(20, 60), n_nu=n_nu,
                             n_xi=n_xi).loglik_per_person(values)
        forward = KWLikelihood(geo, panel, default_parameters(), ages=range(20, 60), forward=True, n_nu=n_nu,
                               n_xi=n_xi).loglik_per_person(values)
        np.testing.assert_allclose(forward, draws, rtol=1e-11)


def test_a_long_annual_panel_switches_to_the_forward_recursion(geo, monkeypatch):
    """Enumeration is exponential in a person's location draws: beyond MAX_ENUMERATED_COMBINATIONS
    the likelihood uses the forward recursion by itself, with the value the enumeration gives.
    (The threshold is lowered here so that the enumeration to compare with stays small: 3^7 = 2,187.)"""
    from mig_lib.kw import likelihood as likelihood_module

    monkeypatch.setattr(likelihood_module, "MAX_ENUMERATED_COMBINATIONS", 1_000)
    wanderer = ["BJ", "SH", "GD", "BJ", "SH", "GD", "BJ"]        # every move a fresh draw: 7 draws
    rows = [(0, 2010 + t, 25 + t, loc, 4.0 + 0.2 * t, "BJ") for t, loc in enumerate(wanderer)]
    rows += [(1, 2010 + t, 30 + t, "SH", 7.5, "SH") for t in range(4)]
    panel = annual_panel(rows)
    values = default_parameters().with_values(gamma0_type1=1.0, gamma_previous=0.0).values
    automatic = KWLikelihood(geo, panel, default_parameters(), ages=range(20, 60), n_nu=3)
    assert automatic.forward
    enumerated = KWLikelihood(geo, panel, default_parameters(), ages=range(20, 60), n_nu=3, forward=False)
    np.testing.assert_allclose(automatic.loglik_per_person(values), enumerated.loglik_per_person(values), rtol=1e-10)
    # a short panel keeps the enumeration
    assert not KWLikelihood(geo, annual_panel(rows[7:]), default_parameters(), ages=range(20, 60)).forward


def test_biennial_likelihood_equals_enumeration_of_the_missing_years(geo):
    """A person seen at 24, 26, 28: the likelihood is the sum, over every province of 25 and 27, of
    the likelihood of the completed annual history with no wage in the unseen years."""
    people = {0: ("BJ", [("BJ", 3.4), ("SH", 8.0), ("SH", 8.4)]),
              1: ("BJ", [("SH", 7.9), ("GD", 5.5), ("BJ", 3.8)]),    # starts away from home
              2: ("GD", [("GD", 5.1), ("GD", np.nan)])}
    rows = [(p, 2010 + 2 * t, 24 + 2 * t, loc, w, home) for p, (home, seen) in people.items()
            for t, (loc, w) in enumerate(seen)]
    biennial = panel_arrays(frame_of(rows), TINY, (20, 59), observed_every=2, education_groups=EDUCATION_GROUPS)
    values = default_parameters().with_values(type1_share=0.4, gamma0_type1=1.5, gamma0_type2=2.5,
                                              alpha_income=0.3).values
    ours = KWLikelihood(geo, biennial, default_parameters(), ages=range(20, 60)).loglik_per_person(values)
    assert np.all(np.isfinite(ours))
    for p, (home, seen) in people.items():
        total = 0.0
        for between in itertools.product(TINY, repeat=len(seen) - 1):
            completed = []
            for t, (loc, w) in enumerate(seen):
                completed.append((0, 2010 + 2 * t, 24 + 2 * t, loc, w, home))
                if t < len(between):
                    completed.append((0, 2011 + 2 * t, 25 + 2 * t, between[t], np.nan, home))
            likelihood = KWLikelihood(geo, annual_panel(completed), default_parameters(), ages=range(20, 60))
            total += np.exp(likelihood.loglik_per_person(values)[0])
        assert ours[p] == pytest.approx(np.log(total), rel=1e-10, abs=1e-10)


def test_loader_accepts_regular_gaps_only():
    rows = [(0, 2010, 30, "BJ", 1.0, "BJ"), (0, 2012, 32, "SH", 2.0, "BJ"), (1, 2010, 40, "GD", 1.0, "GD")]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    assert len(validate_panel(frame, TINY, (20, 59), observed_every=2)) == 3
    with pytest.raises(ParameterError, match="gap after year 2010"):
        validate_panel(frame, TINY, (20, 59))
    three = frame.assign(year=[2010, 2013, 2010], age=[30, 33, 40])
    with pytest.raises(ParameterError, match="2 apart"):
        validate_panel(three, TINY, (20, 59), observed_every=2)
    wrong_age = frame.assign(age=[30, 31, 40])
    with pytest.raises(ParameterError, match="age must rise by one per year"):
        validate_panel(wrong_age, TINY, (20, 59), observed_every=2)
    with pytest.raises(ParameterError, match="'observed_every' = 0"):
        validate_panel(frame, TINY, (20, 59), observed_every=0)
    arrays = panel_arrays(frame, TINY, (20, 59), observed_every=2)
    assert list(arrays.gap) == [2, 0, 0] and not arrays.observed_every_year


def test_simulated_panel_observed_every_other_year():
    simulated = pd.DataFrame({"person": np.repeat([0, 1], 6), "age": np.tile(np.arange(20, 26), 2),
                              "location": 0, "wage": 1.0, "home": 0})
    frame = panel_from_simulation(simulated, TINY, n_years=5, observed_every=2)
    assert list(frame["age"]) == [20, 22, 24] * 2 and list(frame["year"]) == [2010, 2012, 2014] * 2


def test_simulated_biennial_panel_recovers_the_truth():
    """A panel seen every other year (half the wages, no choice observed directly) still identifies
    the choice and wage parameters: every estimate within 3 s.e. of a non-default truth."""
    from mig_lib.kw.estimate import estimate_kw, simulate_estimation_panel

    geo3 = load_china(["BJ", "HE", "SH"])
    truth = default_parameters().with_values(alpha_income=0.3, gamma0_type1=3.5, type1_share=0.8, eta_3=1.1,
                                             sigma_eps_1=0.3)
    names = ["alpha_income", "gamma0_type1", "nu_sd", "eta_3", "sigma_eps_1"]
    frame = simulate_estimation_panel(geo3, truth, n_people=400, n_years=10, seed=12, observed_every=2)
    assert set(frame.groupby("person")["year"].diff().dropna()) == {2}
    result, likelihood = estimate_kw(geo3, frame, truth, names, observed_every=2)
    assert likelihood.forward and result.exact_gradient
    assert result.recovery_failures(truth) == []
