"""The mixture likelihood: location draws, the numba kernel vs enumeration, and the full model."""

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
    fast, by_type = person_log_likelihoods(*args)
    slow = person_log_likelihoods_reference(*args)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    np.testing.assert_allclose(np.log(np.exp(by_type + args[-2]).sum(1)), fast, rtol=1e-12)


def test_kernel_does_not_underflow_on_long_histories():
    _, args = random_inputs(4, [[0, 1] * 5 + [1] * 25])
    args = list(args)
    args[5] = args[5] - 30.0   # densities ~ e^-30 per year: the level product underflows
    fast, _ = person_log_likelihoods(*args)
    assert np.isfinite(fast).all() and fast[0] < -900
