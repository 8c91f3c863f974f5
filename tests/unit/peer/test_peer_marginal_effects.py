"""Marginal effects against finite differences and the printed Table 3 column."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from mig_lib.peer import marginal_effects as me
from mig_lib.peer import model
from mig_lib.peer.tables import CATEGORIES, LEVELS, TABLE3, interaction_dummy, interaction_term


def _probability(ratio, category=None, level=None):
    point = {f"{c}_{lv}": 0.0 for c in ("info", "borrow", "help", "housing", "care")
             for lv in ("very_frequently", "often", "just_so_so", "sometimes")}
    if category is not None:
        point[interaction_dummy(category, level)] = 1.0
    return float(model.representative_curve(point).probability(ratio))


@pytest.mark.parametrize("category,level", [("info", "very_frequently"), ("housing", "just_so_so"),
                                            ("borrow", "sometimes"), ("care", "often")])
def test_appendix1_effects_match_finite_differences(category, level):
    effects = me.appendix1_marginal_effects()
    m, h = float(model.sample_means()["peer"]), 1e-5
    d1 = (_probability(m + h, category, level) - _probability(m - h, category, level)) / (2 * h)
    d0 = (_probability(m + h) - _probability(m - h)) / (2 * h)
    assert effects["peer_baseline"] == pytest.approx(d0, rel=1e-7)
    assert effects[interaction_dummy(category, level)] == pytest.approx(d1 - d0, rel=1e-6, abs=1e-9)


def test_appendix1_effects_close_to_printed_column():
    effects = me.appendix1_marginal_effects()
    for c in ("info", "borrow", "help", "housing", "care"):
        for lv in ("very_frequently", "often", "just_so_so", "sometimes"):
            printed = TABLE3.loc[interaction_term(c, lv), "me"]
            assert effects[interaction_dummy(c, lv)] == pytest.approx(printed, abs=1e-3, rel=0.01)


def test_continuous_effects_match_finite_differences():
    effects = me.table3_marginal_effects()
    beta = model.true_coefficients()
    means = model.sample_means()
    h = 1e-6
    for term in ("household_labor_force", "mig_1998", "family_per_capita_land"):
        up = model.representative_curve({term: means[term] + h}, beta)
        dn = model.representative_curve({term: means[term] - h}, beta)
        fd = (float(up(means["peer"])) - float(dn(means["peer"]))) / (2 * h)
        assert effects[term] == pytest.approx(fd, rel=1e-6)
    # age moves age-squared too: d/d age of Phi(.. b1 age + b2 age^2 ..) at the mean age
    age = means["age"]
    def p_at(a):
        return float(model.representative_curve({"age": a, "age_squared": means["age_squared"] + a**2 - age**2},
                                                 beta)(means["peer"]))
    assert effects["age"] == pytest.approx((p_at(age + h) - p_at(age - h)) / (2 * h), rel=1e-5)


def test_age_effect_line_matches_footnote():
    intercept, slope = me.age_marginal_effect_line()
    assert intercept == pytest.approx(0.0340, abs=5e-4)
    assert slope == pytest.approx(0.00109, abs=2e-5)


def test_peer_effect_at_means_matches_printed_peer_row():
    assert me.peer_marginal_effect_at_means() == pytest.approx(0.1240, abs=1e-3)


def test_ai_norton_matches_finite_difference_cross_partial():
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"peer": rng.uniform(0, 0.5, n), "dummy": rng.binomial(1, 0.4, n).astype(float),
                          "x": rng.normal(size=n), "intercept": 1.0})
    frame["peer_x_dummy"] = frame["peer"] * frame["dummy"]
    params = pd.Series({"peer": 0.9, "peer_x_dummy": 1.3, "x": 0.4, "intercept": -1.2})
    cov = pd.DataFrame(np.eye(4) * 0.01, index=params.index, columns=params.index)
    out = me.interaction_effect(params, cov, frame, "peer", "dummy", "peer_x_dummy")
    h = 1e-6
    def prob(ratio, d):
        u = params["peer"] * ratio + params["peer_x_dummy"] * ratio * d + params["x"] * frame["x"] - 1.2
        return norm.cdf(u)
    cross = ((prob(frame.peer + h, 1) - prob(frame.peer - h, 1)) - (prob(frame.peer + h, 0) - prob(frame.peer - h, 0))) / (2 * h)
    assert out["ai_norton"] == pytest.approx(float(cross.mean()), rel=1e-6)
    u = frame[params.index].to_numpy() @ params.to_numpy()
    assert out["naive"] == pytest.approx(float(np.mean(norm.pdf(u) * 1.3)))
    assert out["ai_norton_se"] > 0


# --- Ai-Norton with all 20 interactions in the model -------------------------------------------------------

@pytest.fixture(scope="module")
def table3_fit():
    from mig_lib.peer import estimate, synthetic

    world = synthetic.draw_world(n_villages=300, seed=11)
    return world.data, estimate.fit_probit(world.data, estimate.table3_regressors())


def _category_dummies_set(frame, category, level):
    """The frame with ``category`` at ``level`` (None: its none/few baseline) for everyone."""
    out = frame.copy()
    for lv in LEVELS:
        out[interaction_dummy(category, lv)] = float(lv == level)
    return out


def _analytic_cross_difference(params, frame, category, level):
    """phi(x'b) (J + sum over all 20 lambda D) at the level minus at the category's baseline, averaged."""
    b = params
    controls = [t for t in b.index if t != "peer" and not t.startswith("peer_x_")]
    ratio = frame["peer"].to_numpy()
    out = []
    for lv in (level, None):
        f = _category_dummies_set(frame, category, lv)
        slope = b["peer"] + sum(b[interaction_term(c, l)] * f[interaction_dummy(c, l)].to_numpy()
                                for c in CATEGORIES for l in LEVELS)
        index = f[controls].to_numpy() @ b[controls].to_numpy() + slope * ratio
        out.append(norm.pdf(index) * slope)
    return float(np.mean(out[0] - out[1]))


def _finite_difference_cross_difference(fit, frame, category, level, h=1e-5):
    """Central difference in the ratio of the fitted probit's own predictions, level minus baseline."""
    def predicted(f, ratio):
        g = f.assign(peer=ratio)
        for c in CATEGORIES:
            for l in LEVELS:
                g[interaction_term(c, l)] = ratio * g[interaction_dummy(c, l)]
        return fit.model.predict(fit.params.to_numpy(), g[list(fit.params.index)].to_numpy(dtype=float))
    diffs = []
    for lv in (level, None):
        f = _category_dummies_set(frame, category, lv)
        diffs.append((predicted(f, f["peer"] + h) - predicted(f, f["peer"] - h)) / (2 * h))
    return float(np.mean(diffs[0] - diffs[1]))


@pytest.mark.parametrize("category,level", [("info", "very_frequently"), ("info", "sometimes"),
                                            ("housing", "just_so_so"), ("care", "often"), ("help", "sometimes")])
def test_ai_norton_with_all_twenty_interactions(table3_fit, category, level):
    frame, fit = table3_fit
    out = me.interaction_effect(fit.params, fit.cov_params(), frame, "peer", interaction_dummy(category, level),
                                interaction_term(category, level),
                                [interaction_term(category, o) for o in LEVELS if o != level],
                                interactions=me.table3_interactions())
    analytic = _analytic_cross_difference(fit.params, frame, category, level)
    assert out["ai_norton"] == pytest.approx(analytic, rel=1e-9, abs=1e-12)
    assert out["ai_norton"] == pytest.approx(_finite_difference_cross_difference(fit, frame, category, level),
                                             rel=1e-5, abs=1e-8)


def test_ai_norton_standard_error_matches_numerical_delta_method(table3_fit):
    frame, fit = table3_fit
    category, level = "info", "often"
    out = me.interaction_effect(fit.params, fit.cov_params(), frame, "peer", interaction_dummy(category, level),
                                interaction_term(category, level),
                                [interaction_term(category, o) for o in LEVELS if o != level],
                                interactions=me.table3_interactions())
    b = fit.params
    steps = 1e-6 * np.maximum(1.0, b.abs())
    grad = np.array([(_analytic_cross_difference(b + pd.Series(steps[k], index=[k]).reindex(b.index, fill_value=0),
                                                 frame, category, level)
                      - _analytic_cross_difference(b - pd.Series(steps[k], index=[k]).reindex(b.index, fill_value=0),
                                                   frame, category, level)) / (2 * steps[k]) for k in b.index])
    se = float(np.sqrt(grad @ fit.cov_params().to_numpy() @ grad))
    assert out["ai_norton_se"] == pytest.approx(se, rel=1e-4)
