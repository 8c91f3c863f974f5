"""The synthetic CHIPS-like world: Table 2 shares, equilibrium consistency, reproducibility."""

import numpy as np
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
    p = norm.cdf(d[non_peer].to_numpy() @ beta[non_peer].to_numpy() + slope.to_numpy() * d["peer"].to_numpy())
    village_mean = d.assign(p=p).groupby("village")["p"].transform("mean")
    fam_sum = d.assign(p=p).groupby("household")["p"].transform("sum")
    fam_n = d.groupby("household")["household"].transform("size")
    pop = d["village_population"]
    expected = (pop * village_mean - fam_sum) / (pop - fam_n)
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
