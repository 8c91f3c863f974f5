"""The exact gradient of the Kennan–Walker likelihood against central differences of the likelihood."""

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.data import panel_arrays
from mig_lib.kw.geography import load_china
from mig_lib.kw.gradient import (ExactScores, array_tangents, choice_log_prob_tangents, loglik_and_scores,
                                 loglik_gradient)
from mig_lib.kw.likelihood import KWLikelihood
from mig_lib.kw.model import build_model, default_parameters, education_groups
from mig_lib.kw.solve import solve

TINY = ["BJ", "SH", "GD"]
AGES = range(20, 36)
COLUMNS = ["person", "year", "age", "province", "wage", "home", "education"]
#: a truth away from the defaults, both types moving, the return discount and the culture terms active
TABLE = default_parameters().with_values(type1_share=0.35, gamma0_type1=2.0, gamma0_type2=3.0, gamma_previous=1.1,
                                         alpha_income=0.3, gamma_culture_type2=0.4)
#: every parameter of the table the panel likelihood can move, β included
NAMES = [n for n in TABLE.names if n != "xi_sd"]
GROUPS = education_groups(TABLE)


@pytest.fixture(scope="module")
def geo():
    return load_china(TINY)


def annual_panel(geo):
    """Moves, returns, a missing wage, a person first seen away from home, a stayer."""
    paths = [(["BJ", "SH", "SH", "BJ", "GD"], "BJ"), (["SH", "GD", "BJ", "GD"], "BJ"), (["GD"] * 4, "GD"),
             (["SH", "BJ", "SH"], "GD"), (["BJ", "BJ", "GD", "GD"], "BJ")]
    rows = [(p, 2010 + t, 23 + t, loc, 4.0 + p + 0.3 * t if (p, t) != (0, 2) else np.nan, home, GROUPS[p % 2])
            for p, (path, home) in enumerate(paths) for t, loc in enumerate(path)]
    return panel_arrays(pd.DataFrame(rows, columns=COLUMNS), geo.codes, (20, 35), allow_negative_wages=True,
                        education_groups=GROUPS)


def biennial_panel(geo):
    people = [("BJ", [("BJ", 3.4), ("SH", 8.0), ("SH", 8.4)]), ("BJ", [("SH", 7.9), ("GD", 5.5), ("BJ", 3.8)]),
              ("GD", [("GD", 5.1), ("GD", np.nan)])]
    rows = [(p, 2010 + 2 * t, 24 + 2 * t, loc, w, home, GROUPS[(p + 1) % 2]) for p, (home, seen) in enumerate(people)
            for t, (loc, w) in enumerate(seen)]
    return panel_arrays(pd.DataFrame(rows, columns=COLUMNS), geo.codes, (20, 35), observed_every=2,
                        education_groups=GROUPS)


def central_difference(likelihood, table, names, step=1e-5):
    """(N, K) per-person central differences, in the natural parameters."""
    columns = []
    for name in names:
        lower, upper = table.bounds(name)
        h = step * max(1.0, abs(table[name]))
        up, down = min(table[name] + h, upper), max(table[name] - h, lower)
        columns.append((likelihood.loglik_per_person(table.with_values({name: up}))
                        - likelihood.loglik_per_person(table.with_values({name: down}))) / (up - down))
    return np.column_stack(columns)


def assert_close(exact, reference, names):
    """rtol 1e-6 of the larger of the entry and the column's scale: central differences with a 1e-5
    step are accurate to about 1e-8 here, so a wrong derivative cannot hide under the tolerance."""
    scale = np.maximum(np.abs(reference).max(axis=0), 1e-3)
    bad = np.abs(exact - reference) > 1e-6 * np.maximum(np.abs(reference), scale)
    wrong = sorted({names[k] for k in np.nonzero(bad)[-1]})
    assert not wrong, f"exact and central-difference derivatives differ for {wrong}"


@pytest.mark.parametrize("n_xi", [1, 2], ids=["xi_off", "xi_on"])
@pytest.mark.parametrize("forward", [False, True], ids=["annual", "forward"])
def test_scores_equal_central_differences_for_every_parameter(geo, forward, n_xi):
    """Two education groups in the panel; with ξ on, its spread is a parameter too."""
    likelihood = KWLikelihood(geo, annual_panel(geo), TABLE, ages=AGES, forward=forward, n_xi=n_xi)
    names = NAMES + (["xi_sd"] if n_xi > 1 else [])
    total, scores = loglik_and_scores(likelihood, TABLE, names)
    np.testing.assert_allclose(total, likelihood.loglik_per_person(TABLE), rtol=1e-12)
    assert_close(scores, central_difference(likelihood, TABLE, names), names)
    np.testing.assert_allclose(loglik_gradient(likelihood, TABLE, names), scores.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("n_xi", [1, 2], ids=["xi_off", "xi_on"])
def test_reverse_mode_gradient_equals_central_differences_for_every_parameter(geo, n_xi):
    """The optimiser's gradient (one adjoint pass back through the recursion) against central
    differences of the likelihood, and against the sum of the forward-mode scores."""
    likelihood = KWLikelihood(geo, annual_panel(geo), TABLE, ages=AGES, forward=False, n_xi=n_xi)
    names = NAMES + (["xi_sd"] if n_xi > 1 else [])
    exact = ExactScores(likelihood)
    total, gradient = exact.total(TABLE, names)
    np.testing.assert_allclose(total, likelihood.loglik_per_person(TABLE), rtol=1e-12)
    assert_close(gradient[None, :], central_difference(likelihood, TABLE, names).sum(axis=0)[None, :], names)
    scores_sum = exact(TABLE, names)[1].sum(axis=0)
    np.testing.assert_allclose(gradient, scores_sum, rtol=1e-9, atol=1e-9 * np.abs(scores_sum).max())


def test_reverse_mode_at_a_second_point_reuses_nothing_stale(geo):
    """Two calls at different choice parameters: the second is not the first's cached solution."""
    likelihood = KWLikelihood(geo, annual_panel(geo), TABLE, ages=AGES)
    exact = ExactScores(likelihood)
    exact.total(TABLE, NAMES)
    moved = TABLE.with_values(gamma_distance=TABLE["gamma_distance"] + 0.2, nu_sd=TABLE["nu_sd"] * 1.1)
    gradient = exact.total(moved, NAMES)[1]
    assert_close(gradient[None, :], central_difference(likelihood, moved, NAMES).sum(axis=0)[None, :], NAMES)


def test_kept_and_recomputed_probabilities_give_the_same_derivatives(geo, monkeypatch):
    """The adjoint and tangent passes read the solve's kept probabilities when the memory budget
    allows (resources.keeps_probabilities), and recompute them otherwise (full China with the
    preference match on, with 8 GiB): both paths, ξ on, every parameter."""
    from mig_lib.kw.resources import MEMORY_LIMIT_VARIABLE

    likelihood = KWLikelihood(geo, annual_panel(geo), TABLE, ages=AGES, forward=False, n_xi=2)
    names = NAMES + ["xi_sd"]
    kept = ExactScores(likelihood)
    total_kept, scores_kept = kept.total(TABLE, names)[1], kept(TABLE, names)[1]
    assert all(solution.probabilities is not None for solution, _ in kept._solutions.values())
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "1e3")
    recomputed = ExactScores(likelihood)
    total_recomputed, scores_recomputed = recomputed.total(TABLE, names)[1], recomputed(TABLE, names)[1]
    assert all(solution.probabilities is None for solution, _ in recomputed._solutions.values())
    np.testing.assert_allclose(total_kept, total_recomputed, rtol=1e-10, atol=1e-10 * np.abs(total_kept).max())
    np.testing.assert_allclose(scores_kept, scores_recomputed, rtol=1e-10, atol=1e-10 * np.abs(scores_kept).max())


def test_only_the_model_free_entries_skip_the_adjoint_pass(geo, monkeypatch):
    """``total(..., only=model_free)`` (the Hessian's wage and type-share columns) gives those entries
    exactly as the full gradient does, NaN for the others, without the adjoint pass; and the
    evaluations through the scores share their solves with the gradient."""
    import mig_lib.kw.gradient as gradient

    likelihood = KWLikelihood(geo, annual_panel(geo), TABLE, ages=AGES)
    exact = ExactScores(likelihood)
    free = exact.model_free(TABLE, NAMES)
    assert {n for n, f in zip(NAMES, free) if f} >= {"type1_share", "eta_1", "sigma_eps_1"}
    assert not free[NAMES.index("gamma_distance")] and not free[NAMES.index("alpha_income")]
    full = exact.total(TABLE, NAMES)[1]
    passes = []
    real = gradient._value_adjoint_kernel
    monkeypatch.setattr(gradient, "_value_adjoint_kernel", lambda *args: passes.append(1) or real(*args))
    moved = TABLE.with_values(eta_1=TABLE["eta_1"] * 1.01)
    partial = exact.total(moved, NAMES, only=free)[1]
    assert not passes and np.all(np.isnan(partial[~free]))
    assert_close(partial[None, free], exact.total(moved, NAMES)[1][None, free], [n for n, f in zip(NAMES, free) if f])
    assert passes and not np.allclose(partial[free], full[free])
    with pytest.raises(ParameterError, match="'only'"):
        exact.total(TABLE, NAMES, only=[True])
    solves = likelihood.n_solves
    point = TABLE.with_values(gamma_distance=TABLE["gamma_distance"] + 0.1)
    np.testing.assert_allclose(exact.loglik_per_person(point), likelihood.loglik_per_person(point), rtol=1e-13)
    exact.total(point, NAMES)
    assert likelihood.n_solves == solves + 1


def test_biennial_total_is_the_sum_of_the_scores(geo):
    likelihood = KWLikelihood(geo, biennial_panel(geo), TABLE, ages=AGES)
    total, gradient = ExactScores(likelihood).total(TABLE, NAMES)
    reference_total, scores = loglik_and_scores(likelihood, TABLE, NAMES)
    np.testing.assert_allclose(total, reference_total, rtol=1e-12)
    np.testing.assert_allclose(gradient, scores.sum(axis=0), rtol=1e-12)


def test_biennial_scores_equal_central_differences(geo):
    likelihood = KWLikelihood(geo, biennial_panel(geo), TABLE, ages=AGES)
    assert likelihood.forward
    total, scores = loglik_and_scores(likelihood, TABLE, NAMES)
    np.testing.assert_allclose(total, likelihood.loglik_per_person(TABLE), rtol=1e-12)
    assert_close(scores, central_difference(likelihood, TABLE, NAMES), NAMES)


def test_a_parameter_that_does_not_enter_has_a_zero_score(geo):
    """No two of BJ, SH, GD share a dialect group and no rent index is loaded: exactly zero."""
    likelihood = KWLikelihood(geo, annual_panel(geo), TABLE, ages=AGES)
    names = ["dialect_premium", "alpha_rent", "alpha_house_price", "alpha_income"]
    scores = loglik_and_scores(likelihood, TABLE, names)[1]
    assert np.all(scores[:, :3] == 0.0)
    assert np.all(scores[:, 3] != 0.0)
    gradient = ExactScores(likelihood).total(TABLE, names)[1]
    assert np.all(gradient[:3] == 0.0) and gradient[3] != 0.0


def test_choice_tangents_with_the_preference_match(geo):
    """ξ on (two preference points, six matches per location): d log ρ at every state of two ages
    equals the central difference of the solved model's log choice probabilities."""
    names = ["alpha_income", "xi_sd", "nu_sd", "gamma0_type2", "gamma_previous", "gamma_age", "home_premium", "beta"]
    ages = range(20, 26)
    model = build_model(geo, TABLE, ages=ages, n_nu=3, n_xi=2)

    class XiBuilder:
        """What array_tangents reads from a likelihood, for a model with the preference match on."""
        n_people = 0

        def build_model(self, table):
            return build_model(geo, table, ages=ages, n_nu=3, n_xi=2)

        def wage_inputs(self, table):
            return np.zeros(0), np.zeros(3), np.zeros(7), np.ones(4)

        def log_type_weights(self, table):
            return np.log([table["type1_share"], 1 - table["type1_share"]])

    tangents = array_tangents(XiBuilder(), TABLE, names)
    grids = [g.reshape(-1) for g in np.indices((2, 3, 2, 3, 3, 6, 6, 3))]
    grids[2] = grids[2] * 5    # ages 20 and 25: an interior age and the last (terminal value)
    keep = grids[2] < len(ages)
    grids = [g[keep] for g in grids]
    exact = choice_log_prob_tangents(model, solve(model).V, tangents, *grids)
    columns = []
    for name in names:
        h = 1e-5 * max(1.0, abs(TABLE[name]))
        up = solve(model.with_params(**{name: TABLE[name] + h})).log_choice_probability(*grids)
        down = solve(model.with_params(**{name: TABLE[name] - h})).log_choice_probability(*grids)
        columns.append((up - down) / (2 * h))
    assert_close(exact, np.column_stack(columns), names)


def test_the_return_discount_derivative_is_needed(geo, monkeypatch):
    """A deliberate mistake: without the return discount's own derivative the score of γ3 is wrong."""
    likelihood = KWLikelihood(geo, annual_panel(geo), TABLE, ages=AGES)
    import mig_lib.kw.gradient as gradient

    real = gradient.array_tangents

    def without_return_discount(*args, **kwargs):
        tangents = real(*args, **kwargs)
        return gradient.ArrayTangents(**{**tangents.__dict__,
                                         "return_discount": np.zeros_like(tangents.return_discount)})

    monkeypatch.setattr(gradient, "array_tangents", without_return_discount)
    wrong = gradient.loglik_and_scores(likelihood, TABLE, ["gamma_previous"])[1]
    reference = central_difference(likelihood, TABLE, ["gamma_previous"])
    assert np.max(np.abs(wrong - reference)) > 1e-3
    wrong_total = gradient.ExactScores(likelihood).total(TABLE, ["gamma_previous"])[1]
    assert abs(wrong_total[0] - reference.sum()) > 1e-3


def test_empty_names_are_refused(geo):
    likelihood = KWLikelihood(geo, annual_panel(geo), TABLE, ages=AGES)
    with pytest.raises(ParameterError, match="names = \\[\\]"):
        loglik_and_scores(likelihood, TABLE, [])
