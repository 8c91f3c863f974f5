"""The resource guard: its memory model against the arrays actually allocated, refusals and warnings."""

import warnings

import numpy as np
import pandas as pd
import pytest

from mig_lib.kw import gradient as kw_gradient
from mig_lib.kw import likelihood as kw_likelihood
from mig_lib.kw import model as kw_model
from mig_lib.kw import resources
from mig_lib.kw.data import panel_arrays
from mig_lib.kw.geography import load_china
from mig_lib.kw.resources import (LongRunWarning, ResourceError, check_kw_estimation_request,
                                  kw_estimation_resources)
from mig_lib.kw.solve import allocate_values


@pytest.fixture(scope="module")
def geography():
    return load_china(["BJ", "HE", "SH"])


def test_memory_model_matches_the_allocated_arrays(geography):
    n_people, n_years, n_nu = 7, 4, 2
    frame = pd.DataFrame([{"person": p, "year": 2010 + t, "age": 30 + t, "province": geography.codes[(p + t // 3) % 3],
                           "wage": 3.0, "education": ("below_college", "college")[p % 2]}
                          for p in range(n_people) for t in range(n_years)])
    estimate = kw_estimation_resources(n_people, n_years, geography.n, n_params=3, n_nu=n_nu)
    model = kw_model.build_model(geography, n_nu=n_nu)
    # the exact gradient keeps its last two solutions, each with two probabilities per state, while
    # an evaluation solves a third
    one = allocate_values(model).nbytes
    assert estimate.bytes_values == (resources.SOLUTIONS_KEPT + 1) * one + resources.SOLUTIONS_KEPT * 2 * one
    assert kw_estimation_resources(n_people, n_years, geography.n, n_params=3, n_nu=n_nu,
                                   exact_gradient=False).bytes_values == allocate_values(model).nbytes
    likelihood = kw_likelihood.KWLikelihood(geography, panel_arrays(frame, geography.codes, (20, 59),
                                                                         education_groups=kw_model.EDUCATION_GROUPS),
                                           kw_model.default_parameters(), ages=range(20, 60), n_nu=n_nu)
    values = kw_model.default_parameters().values
    cached = likelihood._choice_log_prob(values)
    assert estimate.bytes_choice_cache == kw_likelihood.CACHE_SIZE * cached.choice_log_prob.nbytes
    assert estimate.bytes_wage_density == likelihood.wage_log_density(values).nbytes
    # the extraction batch is an upper bound: every (row, m0, m1) triple for both types, L values each, twice
    assert estimate.bytes_choice_batch >= 2 * 2 * len(likelihood._reachable) * geography.n * 8
    assert resources.CACHE_SIZE == kw_likelihood.CACHE_SIZE
    assert resources.SOLUTIONS_KEPT == kw_gradient.SOLUTIONS_KEPT
    assert resources.N_WAGE_COMBINATIONS == kw_model.N_ETA * kw_model.N_SIGMA_EPS


def test_probabilities_are_kept_while_half_the_budget_holds_the_kept_solutions(monkeypatch):
    """Two kept solutions, each v̄ and two probabilities per state: full China's value function is
    0.34 GB with the preference match off and 1.37 GB with it on (n_ξ = 2)."""
    gib = 1024 ** 3
    off, on = (resources.check_kw_solution_memory(31, n_xi=n_xi, memory_bytes=10 ** 15) for n_xi in (1, 2))
    assert resources.keeps_probabilities(off, 8 * gib) and resources.keeps_probabilities(off, 24 * gib)
    assert resources.keeps_probabilities(on, 24 * gib) and not resources.keeps_probabilities(on, 8 * gib)
    # the boundary: 2 solutions × 3 arrays of v̄'s size within half the budget
    assert resources.keeps_probabilities(1000, 12_000) and not resources.keeps_probabilities(1001, 12_000)
    # without an explicit budget, the machine's or $MIG_LIB_MEMORY_LIMIT
    monkeypatch.setenv(resources.MEMORY_LIMIT_VARIABLE, "12000")
    assert resources.keeps_probabilities(1000) and not resources.keeps_probabilities(1001)
    # the resource estimate counts the probabilities exactly when they are kept
    with_them = kw_estimation_resources(1000, 10, 31, 26, n_xi=2, memory_bytes=24 * gib).bytes_values
    without = kw_estimation_resources(1000, 10, 31, 26, n_xi=2, memory_bytes=8 * gib).bytes_values
    assert with_them - without == resources.SOLUTIONS_KEPT * 2 * on


def test_requests_beyond_the_machine_are_refused_with_the_estimate():
    with pytest.raises(ResourceError, match=r"needs about 5\.8 TiB of memory \(value functions 5\.3 TiB.*this "
                                            r"machine has 8\.0 GiB"):
        check_kw_estimation_request(1000, 10, 31, 11, n_nu=15, n_xi=15, memory_bytes=8 * 1024 ** 3)
    # full China with ξ off: three value functions (0.32 GiB each) and two kept solutions' probabilities (0.64 GiB each)
    with pytest.raises(ResourceError, match=r"20,000 people × 40 years × 31 provinces.* needs about 10\.\d GiB "
                                            r"of memory \(value functions 2\.2 GiB"):
        check_kw_estimation_request(20_000, 40, 31, 11, memory_bytes=8 * 1024 ** 3)


def test_long_requests_warn_with_an_eta():
    with pytest.warns(LongRunWarning, match=r"20,000 people .* expect it to take about \d+\.\d h"):
        # full China, 20,000 people × 40 years, every parameter with the preference match: hours
        check_kw_estimation_request(20_000, 40, 31, 26, 15, n_xi=2, memory_bytes=64 * 1024 ** 3)
    small = check_kw_estimation_request(200, 5, 3, 4, memory_bytes=64 * 1024 ** 3)  # no warning
    assert small.seconds < resources.WARN_SECONDS


def test_the_api_entry_point_checks_before_allocating(monkeypatch):
    from mig_lib.kw.estimate import estimate_kw

    china = load_china()
    frame = pd.DataFrame([{"person": p, "year": 2010 + t, "age": 30 + t, "province": china.codes[(p + t) % 3],
                           "wage": 3.0} for p in range(30) for t in range(5)])
    monkeypatch.setenv(resources.MEMORY_LIMIT_VARIABLE, "5e8")
    with pytest.raises(ResourceError, match=r"30 people × 5 years × 31 provinces, n_nu = 15.*this machine has 476\.8 MiB"):
        estimate_kw(china, frame, kw_model.default_parameters(), ["alpha_income"], n_nu=15)
    monkeypatch.setenv(resources.MEMORY_LIMIT_VARIABLE, "lots")
    with pytest.raises(Exception, match="MIG_LIB_MEMORY_LIMIT = 'lots' is not allowed"):
        resources.machine_memory_bytes()


def test_the_exact_gradient_is_priced_as_measured():
    """The book problem (6 provinces, 1,000 × 10, n_xi = 2, 26 parameters of which 15 move the model)
    took 24 s and 87 likelihood evaluations (72 reverse-mode gradients, 7 per-person score calls) for
    one Monte Carlo replication (one thread, idle machine, L-BFGS-B then BHHH): the exact-gradient ETA
    is within a factor of two of that, and the finite-difference path it replaced is priced at least
    ten times higher."""
    exact = kw_estimation_resources(1000, 10, 6, 26, 15, n_nu=3, n_xi=2, nelder_mead_check=False)
    finite = kw_estimation_resources(1000, 10, 6, 26, 15, n_nu=3, n_xi=2, nelder_mead_check=False,
                                     exact_gradient=False)
    assert 24 / 2 < exact.seconds < 24 * 2
    assert abs(exact.n_evaluations - 87) < 20
    assert finite.seconds > 10 * exact.seconds and finite.n_evaluations > 20 * exact.n_evaluations
    # the page's book-size request no longer warns of a run of hours
    with warnings.catch_warnings():
        warnings.simplefilter("error", LongRunWarning)
        check_kw_estimation_request(1000, 10, 6, 26, 15, n_nu=3, n_xi=2, nelder_mead_check=False,
                                    memory_bytes=64 * 1024 ** 3)


def test_a_model_too_large_to_hold_is_refused_naming_it():
    """Full China with n_xi = 3: a value function of 1.4 GiB, held three times by the model page."""
    needed = resources.check_kw_solution_memory(31, n_xi=3, copies=3, memory_bytes=64 * 1024 ** 3)
    assert needed == 3 * 2 * 2 * 31 * 40 * 31 ** 2 * 9 ** 2 * 8
    with pytest.raises(ResourceError, match=r"31 provinces, n_nu = 3, n_xi = 3.*held 3 times.*this machine has 4\.0 GiB"):
        resources.check_kw_solution_memory(31, n_xi=3, copies=3, memory_bytes=4 * 1024 ** 3)
