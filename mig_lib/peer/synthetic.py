"""A synthetic CHIPS-like world with known truth.

The CHIP 2002 microdata are licensed, so the chapter estimates on a world drawn here:
~960 villages in ~120 counties, ~9,600 households, ~16,400 working-age individuals, covariates
with Table 2's means and s.d., plausible dependence (a Gaussian copula ties age, marriage,
education, health and party membership; counties tie the villages' 1998 migration ratio and
income), household social-interaction levels with Table 2's shares, a land-reform class
instrument that lowers interaction strength, village migration ratios that solve each
village's own social equilibrium with the family excluded (eq 9), and outcomes from the
Table 3 probit with the backed-out female coefficient.

Villages differ through a migration-propensity factor that ties the Gaussian copulas of the
1998 ratio, the household economics and schooling, and the interaction levels within a
village, and through the index shift of the villagers the survey does not sample (they move the
village ratio, and the sampled people only through it). Its loadings are calibrated by simulated
method of moments to the village-ratio moments of Table 2 and the text
(:func:`calibrate_village_heterogeneity`, frozen by ``python -m mig_lib.peer.synthetic``).

Assumptions that the paper does not pin down (documented in the chapter): the share of
households of 'rich' land-reform class (``CLASS_SHARE``), the instrument's effect on each
interaction category (``CLASS_EFFECT``), the copula correlations, and the village populations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import brentq
from scipy.special import ndtr

from mig_lib.core import DATA_DIR, ParameterError
from mig_lib.peer.model import (
    EDUCATION_DUMMIES,
    SampleAverageCurve,
    apply_scenario,
    individual_curve_terms,
    reached_equilibrium,
    representative_curve,
    scenario_point,
    true_coefficients,
)
from mig_lib.peer.tables import (
    BASELINE_LEVEL,
    CATEGORIES,
    LEVEL_SCORES,
    LEVELS,
    TABLE2,
    interaction_dummy,
    interaction_shares,
    interaction_term,
    published_source,
    published_value,
)

#: Share of households whose head's father was labelled middle-rich/rich peasant or landlord.
CLASS_SHARE = 0.12
#: Shift of each category's latent interaction strength (s.d. units) for the 'rich' class;
#: ordered like Table 6's first-stage magnitudes (borrowing barely moves).
CLASS_EFFECT = {"info": 0.45, "borrow": 0.03, "help": 0.15, "housing": 0.28, "care": 0.75}
#: Loading of the household sociability factor shared by the five categories.
SOCIABILITY_LOADING = 0.6
#: Loading of the household unobservable that may also drive migration (the endogeneity channel).
UNOBSERVABLE_LOADING = 0.4
HEALTH_LEVELS = ("very_bad", "health_bad", "health_so_so", "health_good", "health_very_good")
#: Gaussian-copula correlations among age, married, education, health and party membership.
COPULA_NAMES = ("age", "married", "education", "health", "communist")
COPULA_CORRELATION = np.array([
    [1.00, 0.75, -0.35, -0.40, 0.20],
    [0.75, 1.00, -0.15, -0.25, 0.15],
    [-0.35, -0.15, 1.00, 0.10, 0.20],
    [-0.40, -0.25, 0.10, 1.00, 0.00],
    [0.20, 0.15, 0.20, 0.00, 1.00],
])


#: Sign of each interaction category's loading on the village migration-propensity factor: villages
#: that send more migrants share job information more and exchange less labour.
INTERACTION_PROPENSITY_SIGN = {"info": 1.0, "borrow": 0.0, "help": -1.0, "housing": -1.0, "care": -1.0}


#: Allowed range of each :class:`VillageHeterogeneity` parameter (a loading stays a correlation that
#: leaves the interaction latents a positive idiosyncratic variance).
HETEROGENEITY_LIMITS = {"lagged_ratio": (0.0, 0.95), "household": (0.0, 0.95), "interaction": (0.0, 0.65),
                        "unsampled_sd": (0.0, 3.0), "unsampled_mean": (-1.5, 1.5)}


@dataclass(frozen=True)
class VillageHeterogeneity:
    """How strongly a village migration-propensity factor v_k ~ N(0, 1) ties a village's people together.

    Each loading is the correlation of a latent Gaussian with v_k, the marginal distributions
    (Table 2) stay as they are: ``lagged_ratio`` for the 1998 ratio's latent, ``household`` for the
    household economics (labour beyond the working-age members, land and children, with the signs
    that raise migration) and schooling, ``interaction`` for the five interaction latents (signs
    :data:`INTERACTION_PROPENSITY_SIGN`). The village's unsampled people (:func:`solve_village_ratios`)
    have their index shifted by a village draw with mean ``unsampled_mean`` and s.d. ``unsampled_sd``:
    it moves the village ratio, and the sampled people's migration only through it. All zero:
    villages differ only through their observed covariates drawn independently.
    :func:`calibrate_village_heterogeneity` chooses them.
    """

    lagged_ratio: float = 0.0
    household: float = 0.0
    interaction: float = 0.0
    unsampled_sd: float = 0.0
    unsampled_mean: float = 0.0

    def __post_init__(self):
        for name, (low, high) in HETEROGENEITY_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ParameterError(f"argument {name!r} = {value!r} is not allowed: expected a number in [{low}, {high}]")


def _beta_from_moments(mean: float, sd: float) -> tuple[float, float]:
    total = mean * (1 - mean) / sd**2 - 1
    return mean * total, (1 - mean) * total


def _gamma_from_moments(mean: float, sd: float) -> tuple[float, float]:
    shape = (mean / sd) ** 2
    return shape, mean / shape


def _category_thresholds(shares: np.ndarray, class_shift: float) -> np.ndarray:
    """Cut points of a latent N(0,1) mixed over the class instrument so the levels hit ``shares``.

    ``shares`` run from the lowest level (none/few) up. The latent is
    N(0, 1) for the ordinary class and N(-class_shift, 1) for the rich class, so its cdf is the
    mixture; each cut point solves mixture_cdf(c) = cumulative share.
    """
    def cdf(c):
        return (1 - CLASS_SHARE) * stats.norm.cdf(c) + CLASS_SHARE * stats.norm.cdf(c + class_shift)

    cumulative = np.cumsum(shares)[:-1]
    return np.array([brentq(lambda c, q=q: cdf(c) - q, -10, 10) for q in cumulative])


@dataclass(frozen=True)
class SyntheticWorld:
    """The drawn world: one row per individual, and the truth it was drawn from."""

    data: pd.DataFrame
    truth: pd.Series
    endogeneity: float
    seed: int
    #: the villagers the survey does not sample: their own draw of each village (same columns as
    #: ``data`` up to the outcome), :data:`UNSAMPLED_DRAWS` survey-sized draws per village
    unsampled: pd.DataFrame | None = None

    @property
    def n_individuals(self) -> int:
        return len(self.data)


#: How many survey-sized draws of each village's households stand for its unsampled villagers.
UNSAMPLED_DRAWS = 2


def _people(rng, rng_tie, villages, propensity, heterogeneity) -> pd.DataFrame:
    """One survey-sized draw of households and their working-age people in every village."""
    households = _households(rng, villages, rng_tie, propensity, heterogeneity)
    people = _individuals(rng, households, propensity, heterogeneity)
    data = people.merge(households, on="household", how="left").merge(villages, on="village", how="left")
    data["intercept"] = 1.0
    return data


def _curve_inputs(frame: pd.DataFrame, beta: pd.Series, rho: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index, slope and shock s.d. of each person's curve given the household unobservable."""
    index, slope = individual_curve_terms(frame, beta)
    # eps = rho u + sqrt(1 - rho^2) e keeps Var(eps) = 1; given u the shock has s.d. sqrt(1 - rho^2).
    scale = np.full(len(frame), np.sqrt(1 - rho**2))
    return index + rho * frame["household_unobservable"].to_numpy(), slope, scale


def _unsampled_villagers(world_unsampled: pd.DataFrame, beta: pd.Series, rho: float) -> UnsampledVillagers:
    return UnsampledVillagers(*_curve_inputs(world_unsampled, beta, rho), world_unsampled["village"].to_numpy())


def _validate(n_villages, villages_per_county, endogeneity, seed, village_effect_sd):
    if isinstance(n_villages, bool) or not isinstance(n_villages, (int, np.integer)) or not 10 <= n_villages <= 20000:
        raise ParameterError(f"argument 'n_villages' = {n_villages!r} is not allowed: expected an integer in [10, 20000]")
    if isinstance(villages_per_county, bool) or not isinstance(villages_per_county, (int, np.integer)) \
            or not 1 <= villages_per_county <= 100:
        raise ParameterError(f"argument 'villages_per_county' = {villages_per_county!r} is not allowed: "
                             "expected an integer in [1, 100]")
    if isinstance(endogeneity, bool) or not isinstance(endogeneity, (int, float)) or not -0.95 <= endogeneity <= 0.95:
        raise ParameterError(f"argument 'endogeneity' = {endogeneity!r} is not allowed: expected a number in [-0.95, 0.95]")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= 2**32 - 1:
        raise ParameterError(f"argument 'seed' = {seed!r} is not allowed: expected an integer in [0, 4294967295]")
    if isinstance(village_effect_sd, bool) or not isinstance(village_effect_sd, (int, float)) \
            or not 0.0 <= village_effect_sd <= 3.0:
        raise ParameterError(f"argument 'village_effect_sd' = {village_effect_sd!r} is not allowed: "
                             "expected a number in [0, 3]")


def _villages(rng, n_villages, villages_per_county, propensity, heterogeneity):
    """Village covariates; a county factor correlates the 1998 ratio and income within counties."""
    n_counties = int(np.ceil(n_villages / villages_per_county))
    county = np.repeat(np.arange(n_counties), villages_per_county)[:n_villages]
    county_factor = rng.standard_normal(n_counties)[county]
    # Poorer counties sent more migrants in 1998: opposite loadings of the county factor.
    z_mig = 0.6 * county_factor + 0.8 * rng.standard_normal(n_villages)
    lag = heterogeneity.lagged_ratio
    z_mig = lag * propensity + np.sqrt(1 - lag**2) * z_mig
    z_inc = -0.5 * county_factor + np.sqrt(1 - 0.25) * rng.standard_normal(n_villages)
    mean, sd = TABLE2["mean"], TABLE2["sd"]
    a, b = _beta_from_moments(mean["mig_1998"], sd["mig_1998"])
    shape, scale = _gamma_from_moments(mean["village_income"], sd["village_income"])
    terrain = rng.choice(3, size=n_villages, p=[mean["mountain_area"], mean["hill_area"],
                                                1 - mean["mountain_area"] - mean["hill_area"]])
    out = pd.DataFrame({
        "county": county,
        "village": np.arange(n_villages),
        "mig_1998": stats.beta.ppf(stats.norm.cdf(z_mig), a, b),
        "village_income": stats.gamma.ppf(stats.norm.cdf(z_inc), shape, scale=scale),
        "dist_county_seat": rng.gamma(*_gamma_from_moments(mean["dist_county_seat"], sd["dist_county_seat"]),
                                      size=n_villages),
        "dist_transport_terminal": rng.gamma(*_gamma_from_moments(mean["dist_transport_terminal"],
                                                                  sd["dist_transport_terminal"]), size=n_villages),
        "mountain_area": (terrain == 0).astype(float),
        "hill_area": (terrain == 1).astype(float),
        # working-age population of the whole village (the survey samples ~10 households of it)
        "village_population": np.round(np.exp(rng.normal(np.log(800), 0.5, size=n_villages))).astype(int) + 30,
    })
    out["village_income_squared"] = out["village_income"] ** 2
    return out


def _tied(rng_tie, factor, loading, sign=1.0):
    """Uniforms whose normal scores load ``sign * loading`` on ``factor`` (a Gaussian copula)."""
    return stats.norm.cdf(sign * loading * factor + np.sqrt(1 - loading**2) * rng_tie.standard_normal(len(factor)))


def _households(rng, villages, rng_tie, propensity, heterogeneity):
    n_villages = len(villages)
    per_village = 8 + rng.binomial(4, 0.4, size=n_villages)
    village = np.repeat(np.arange(n_villages), per_village)
    n = len(village)
    members = 1 + rng.binomial(3, 0.26, size=n)
    mean, sd = TABLE2["mean"], TABLE2["sd"]
    v, h = propensity[village], heterogeneity.household
    land_shape, land_scale = _gamma_from_moments(mean["family_per_capita_land"], sd["family_per_capita_land"])
    hh = pd.DataFrame({
        "village": village,
        "household": np.arange(n),
        "working_age_members": members,
        # labour force counts working-age members plus older/younger workers in the family
        "household_labor_force": members + stats.poisson.ppf(_tied(rng_tie, v, h), 0.68),
        "family_per_capita_land": stats.gamma.ppf(_tied(rng_tie, v, h, -1.0), land_shape, scale=land_scale),
        "kids_under_6": np.minimum(stats.poisson.ppf(_tied(rng_tie, v, h, -1.0), mean["kids_under_6"]), 4),
        "kids_6_to_12": np.minimum(stats.poisson.ppf(_tied(rng_tie, v, h, -1.0), mean["kids_6_to_12"]), 4),
        "elders_over_65": np.minimum(rng.poisson(mean["elders_over_65"], size=n), 3),
        "friends_outside": rng.binomial(1, mean["friends_outside"], size=n).astype(float),
        "friends_village_cadre": rng.binomial(1, mean["friends_village_cadre"], size=n).astype(float),
        "family_political_class": rng.binomial(1, CLASS_SHARE, size=n).astype(float),
        "household_unobservable": rng.standard_normal(n),
    })
    sociability = rng.standard_normal(n)
    shares = interaction_shares()
    noise_sd = np.sqrt(1 - SOCIABILITY_LOADING**2 - UNOBSERVABLE_LOADING**2)
    tie = heterogeneity.interaction
    for c in CATEGORIES:
        # the village factor takes over part of the idiosyncratic noise, so the latent stays N(0, 1)
        village_part = INTERACTION_PROPENSITY_SIGN[c] * tie * v
        own_sd = np.sqrt(noise_sd**2 - (INTERACTION_PROPENSITY_SIGN[c] * tie) ** 2)
        latent = (SOCIABILITY_LOADING * sociability + UNOBSERVABLE_LOADING * hh["household_unobservable"].to_numpy()
                  + village_part + own_sd * rng.standard_normal(n)
                  - CLASS_EFFECT[c] * hh["family_political_class"].to_numpy())
        ordered = [BASELINE_LEVEL] + list(LEVELS[::-1])  # lowest to highest interaction
        cuts = _category_thresholds(shares.loc[c, ordered].to_numpy(dtype=float), CLASS_EFFECT[c])
        level_index = np.searchsorted(cuts, latent)  # 0 = none/few ... 4 = very frequently
        hh[f"{c}_score"] = level_index.astype(float)  # Table 5's continuous score (0..4)
        for lv in LEVELS:
            hh[interaction_dummy(c, lv)] = (level_index == ordered.index(lv)).astype(float)
    assert all(LEVEL_SCORES[lv] == ([BASELINE_LEVEL] + list(LEVELS[::-1])).index(lv) for lv in LEVEL_SCORES)
    return hh


def _individuals(rng, households, propensity, heterogeneity):
    idx = np.repeat(households.index.to_numpy(), households["working_age_members"].to_numpy())
    n = len(idx)
    mean = TABLE2["mean"]
    z = rng.multivariate_normal(np.zeros(5), COPULA_CORRELATION, size=n)
    h = heterogeneity.household
    z[:, 2] = h * propensity[households["village"].to_numpy()[idx]] + np.sqrt(1 - h**2) * z[:, 2]  # schooling
    u = stats.norm.cdf(z)
    female = rng.binomial(1, mean["female"], size=n).astype(float)
    upper = np.where(female == 1, 55, 60)  # official working ages: men 16-60, women 16-55
    a, b = 0.86, 1.05  # Beta shape giving Table 2's mean and s.d. of age on these ranges
    age = np.floor(16 + (upper - 15) * stats.beta.ppf(u[:, 0], a, b)).clip(16, upper)
    married = (u[:, 1] > 1 - mean["married"]).astype(float)
    edu_shares = [1 - sum(mean[d] for d in EDUCATION_DUMMIES)] + [mean[d] for d in EDUCATION_DUMMIES]
    edu = np.searchsorted(np.cumsum(edu_shares)[:-1], u[:, 2])  # 0 illiterate ... 4 tech school or more
    health_shares = [1 - sum(mean[h] for h in HEALTH_LEVELS[1:])] + [mean[h] for h in HEALTH_LEVELS[1:]]
    health = np.searchsorted(np.cumsum(health_shares)[:-1], u[:, 3])  # 0 very bad ... 4 very good
    ind = pd.DataFrame({"household": households["household"].to_numpy()[idx], "female": female, "age": age,
                        "married": married, "communist": (u[:, 4] > 1 - mean["communist"]).astype(float)})
    ind["age_squared"] = ind["age"] ** 2
    for k, d in enumerate(EDUCATION_DUMMIES, start=1):
        ind[d] = (edu == k).astype(float)
    for k, h in enumerate(HEALTH_LEVELS[1:], start=1):
        ind[h] = (health == k).astype(float)
    return ind


@dataclass(frozen=True)
class UnsampledVillagers:
    """The villagers the survey does not sample, represented by their own draw of each village.

    ``index``, ``slope`` and ``shock_scale`` are the curve terms P = Phi((index + slope m) / shock_scale)
    of people drawn like the sampled ones (same village, same village factor, their own households
    and covariates), ``village`` their village. Each village's unsampled people migrate at the mean
    of their probabilities, so a sampled person's own covariates move the village ratio only as one
    of its N_v people, not as a stand-in for all of them.
    """

    index: np.ndarray
    slope: np.ndarray
    shock_scale: np.ndarray
    village: np.ndarray


def solve_village_ratios(index_wo_peer: np.ndarray, slope: np.ndarray, shock_scale: np.ndarray,
                         village: np.ndarray, household: np.ndarray, village_population: np.ndarray,
                         start: np.ndarray, unsampled_shift: np.ndarray | None = None,
                         unsampled: UnsampledVillagers | None = None, tol: float = 1e-12,
                         max_iter: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Each village's social equilibrium with the family excluded (eq 9), by fixed-point iteration.

    Person i migrates with probability p_i = Phi((index_i + slope_i M_j) / shock_scale_i), where
    M_j is the expected migration ratio of the village *without i's family j*::

        M_j = (N_v m_v - n_j pbar_j) / (N_v - n_j),

    m_v the village's expected ratio and n_j, pbar_j the family's size and mean probability. The
    survey samples n_v of the village's N_v working-age people; the other N_v - n_v migrate at the
    mean probability of ``unsampled`` (:class:`UnsampledVillagers`; default: the sampled people
    stand for them) with their index shifted by ``unsampled_shift`` (per village; default 0), and
    respond to the village ratio m_v. Iterating from
    ``start`` (a per-village ratio; the 1998 ratio) converges monotonically to the equilibrium
    history selects. Returns (M per person, m per village).
    """
    n_v = np.bincount(village)
    n_j = np.bincount(household)
    pop = village_population.astype(float)
    shift = np.zeros(len(n_v)) if unsampled_shift is None else np.asarray(unsampled_shift, dtype=float)
    rest = UnsampledVillagers(index_wo_peer, slope, shock_scale, village) if unsampled is None else unsampled
    n_rest = np.bincount(rest.village, minlength=len(n_v))
    if np.any(n_rest == 0):
        raise ParameterError("argument 'unsampled' has no person for some village: every village needs at least one")
    m_person = start[village].astype(float)
    m_village = start.astype(float)
    for _ in range(max_iter):
        p = ndtr((index_wo_peer + slope * m_person) / shock_scale)
        q = ndtr((rest.index + shift[rest.village] + rest.slope * m_village[rest.village]) / rest.shock_scale)
        sampled = np.bincount(village, weights=p)
        unsampled_total = np.bincount(rest.village, weights=q, minlength=len(n_v)) / n_rest * (pop - n_v)
        new_village = (sampled + unsampled_total) / pop
        fam_sum = np.bincount(household, weights=p)
        fam_n = n_j[household]
        new = (pop[village] * new_village[village] - fam_sum[household]) / (pop[village] - fam_n)
        if np.max(np.abs(new - m_person)) < tol and np.max(np.abs(new_village - m_village)) < tol:
            return new, new_village
        m_person, m_village = new, new_village
    raise RuntimeError("village equilibria did not converge: is a curve steeper than the 45-degree line?")


def draw_world(n_villages: int = 960, seed: int = 0, endogeneity: float = 0.0,
               villages_per_county: int = 8, truth: pd.Series | None = None,
               heterogeneity: VillageHeterogeneity | None = None, village_effect_sd: float = 0.0) -> SyntheticWorld:
    """Draw a synthetic CHIPS-like world.

    ``heterogeneity`` ties each village's people together through a migration-propensity factor
    (:class:`VillageHeterogeneity`); the default is the calibrated one
    (:func:`calibrated_heterogeneity`, from ``data/calibration/peer_village_heterogeneity.json``).

    ``endogeneity`` is the correlation between the migration shock and the household
    unobservable that also raises every interaction strength: 0 is the paper's maintained
    (and, by Table 6, not rejected) exogeneity; other values make the interactions endogenous.

    ``village_effect_sd`` adds an *unobserved* village effect eta_k ~ N(0, sd^2) to the index of every
    villager, sampled or not (so to the village equilibrium and to the outcomes); the Table 3 probit
    leaves it out. The default 0 keeps the probit correctly specified.
    """
    _validate(n_villages, villages_per_county, endogeneity, seed, village_effect_sd)
    rng = np.random.default_rng(seed)
    rng_tie = np.random.default_rng([seed, 1])  # the village factor and the copula scores it enters
    heterogeneity = calibrated_heterogeneity() if heterogeneity is None else heterogeneity
    beta = true_coefficients() if truth is None else truth.astype(float)
    propensity = rng_tie.standard_normal(n_villages)
    unsampled_draw = rng_tie.standard_normal(n_villages)
    villages = _villages(rng, n_villages, villages_per_county, propensity, heterogeneity)
    data = _people(rng, rng_tie, villages, propensity, heterogeneity)
    # the rest of each village: its own households from their own streams, so the sampled draw is unchanged
    unsampled = pd.concat([_people(np.random.default_rng([seed, 2, k]), np.random.default_rng([seed, 3, k]),
                                   villages, propensity, heterogeneity) for k in range(UNSAMPLED_DRAWS)],
                          ignore_index=True)
    rho = float(endogeneity)
    shifted, slope, scale = _curve_inputs(data, beta, rho)
    unsampled_shift = heterogeneity.unsampled_mean + heterogeneity.unsampled_sd * unsampled_draw
    rest = _unsampled_villagers(unsampled, beta, rho)
    village_effect = np.zeros(n_villages)
    if village_effect_sd:
        village_effect = village_effect_sd * np.random.default_rng([seed, 4]).standard_normal(n_villages)
        shifted = shifted + village_effect[data["village"].to_numpy()]
        unsampled_shift = unsampled_shift + village_effect
    ratio, village_ratio = solve_village_ratios(shifted, slope, scale, data["village"].to_numpy(),
                                                data["household"].to_numpy(),
                                                villages["village_population"].to_numpy(),
                                                villages["mig_1998"].to_numpy(), unsampled_shift, rest)
    data["peer"] = ratio
    data["village_expected_ratio"] = village_ratio[data["village"].to_numpy()]
    latent = shifted + slope * ratio + scale * rng.standard_normal(len(data))
    data["migrant"] = (latent > 0).astype(float)
    for c in CATEGORIES:
        for lv in LEVELS:
            data[interaction_term(c, lv)] = data["peer"] * data[interaction_dummy(c, lv)]
        data[f"peer_x_{c}_score"] = data["peer"] * data[f"{c}_score"]
    data["village_propensity"] = propensity[data["village"].to_numpy()]
    # the unsampled people's shift includes the unobserved village effect; the sampled people's is kept apart
    data["unsampled_index_shift"] = unsampled_shift[data["village"].to_numpy()]
    data["unobserved_village_effect"] = village_effect[data["village"].to_numpy()]
    return SyntheticWorld(data=data, truth=beta, endogeneity=rho, seed=int(seed), unsampled=unsampled)


def share_check(world: SyntheticWorld, n_sd: float = 4.0) -> pd.DataFrame:
    """Table 2 means vs the world's means, with a clustered standard error of the world's mean.

    The standard error is the s.d. of county means over sqrt(number of counties): variables
    vary at individual, household, village or county level (the 1998 ratio and income share a
    county factor), and the top cluster level bounds them all.
    """
    data = world.data
    rows = []
    for var in TABLE2.index:
        if var not in data.columns:
            continue
        cluster_means = data.groupby("county")[var].mean()
        se = float(cluster_means.std(ddof=1) / np.sqrt(len(cluster_means)))
        ours = float(data[var].mean())
        paper = float(TABLE2.loc[var, "mean"])
        rows.append({"variable": var, "paper": paper, "synthetic": ours, "se": se,
                     "z": (ours - paper) / se if se > 0 else np.nan,
                     "within": abs(ours - paper) <= n_sd * se})
    return pd.DataFrame(rows).set_index("variable")


def table2_by_outcome(world: SyntheticWorld) -> pd.DataFrame:
    """The world's Table 2 means for migrants and non-migrants, with the unmarried shares."""
    data = world.data
    columns = [v for v in TABLE2.index if v in data.columns]
    groups = data.groupby("migrant")[columns].mean().T
    return groups.rename(columns={1.0: "migrants", 0.0: "non_migrants"})[["migrants", "non_migrants"]]


#: The ways of reading the paper's Figure 5 equilibrium (see :func:`scenario_equilibrium`).
READINGS = ("representative", "sample_average", "village_by_village")


def scenario_equilibrium(world: SyntheticWorld, scenario: str, reading: str,
                         intercept: float | None = None) -> float:
    """The equilibrium village migration ratio of a policy scenario under one reading of the figures.

    * ``representative``: the curve Phi(xbar'b + s-bar M) of the person at the Table 2 means;
    * ``sample_average``: the mean over the world's people of Phi(a_i + s_i M) (one curve for the
      whole sample, as if it were one village), reached from the status-quo equilibrium of the
      same curve;
    * ``village_by_village``: each village's own equilibrium with the family excluded (eq 9),
      reached from its status-quo ratio, averaged over people.

    ``intercept`` replaces the probit intercept (default: the truth's).
    """
    if reading not in READINGS:
        raise ParameterError(f"argument 'reading' = {reading!r} is not allowed: expected one of {', '.join(READINGS)}")
    coefs = world.truth.copy()
    if intercept is not None:
        coefs["intercept"] = float(intercept)
    if reading == "representative":
        status_quo = reached_equilibrium(representative_curve(None, world.truth), 0.0)
        return reached_equilibrium(representative_curve(scenario_point(scenario), coefs), status_quo)
    if reading == "sample_average":
        status_quo = reached_equilibrium(SampleAverageCurve(*individual_curve_terms(world.data, world.truth)), 0.0,
                                         n_grid=401)
        curve = SampleAverageCurve(*individual_curve_terms(apply_scenario(world.data, scenario), coefs))
        return reached_equilibrium(curve, status_quo, n_grid=401)
    data = world.data
    index, slope, scale = _curve_inputs(apply_scenario(data, scenario), coefs, world.endogeneity)
    index = index + data["unobserved_village_effect"].to_numpy()
    population = data.groupby("village")["village_population"].first().to_numpy()
    start = data.groupby("village")["village_expected_ratio"].first().to_numpy()
    shift = data.groupby("village")["unsampled_index_shift"].first().to_numpy()
    rest = (None if world.unsampled is None
            else _unsampled_villagers(apply_scenario(world.unsampled, scenario), coefs, world.endogeneity))
    _, village_ratio = solve_village_ratios(index, slope, scale, data["village"].to_numpy(),
                                            data["household"].to_numpy(), population, start, shift, rest)
    return float(village_ratio[data["village"].to_numpy()].mean())


def intercept_for_equilibrium(world: SyntheticWorld, scenario: str, reading: str, target: float = 0.5,
                              bracket: tuple[float, float] = (-6.0, -2.0)) -> float:
    """The probit intercept at which :func:`scenario_equilibrium` reaches ``target``.

    The equilibrium rises with the intercept (it may jump where a curve folds); Brent's method on
    the bracket finds the crossing, or the jump that passes ``target``.
    """
    if not 0.0 < target < 1.0:
        raise ParameterError(f"argument 'target' = {target!r} is not allowed: expected a ratio in (0, 1)")
    def gap(a):
        return scenario_equilibrium(world, scenario, reading, a) - target
    lo, hi = bracket
    if not gap(lo) < 0 < gap(hi):
        raise ParameterError(f"argument 'bracket' = {bracket!r} is not allowed: the equilibrium must cross "
                             f"{target} between its ends")
    return float(brentq(gap, lo, hi, xtol=1e-6))


#: Where :func:`calibrate_village_heterogeneity`'s result is frozen (with its command and versions).
CALIBRATION_PATH = DATA_DIR / "calibration" / "peer_village_heterogeneity.json"
#: The moments the calibration matches: published key, tolerance.
CALIBRATION_MOMENTS = {
    "mean_ratio": ("table2/mean/peer", 0.006),
    "sd_ratio": ("table2/sd/peer", 0.012),
    "migration_share": ("text/migration_share", 0.006),
    "mean_ratio_migrants": ("table2/migrants/mean/peer", 0.012),
}
#: Moments shown beside them but not targeted: with the mean ratio, the migration share and the
#: migrants' mean ratio matched, the non-migrants' mean ratio is pinned down up to the moments'
#: tolerances, so it checks the arithmetic of the split rather than adding information.
CHECKED_MOMENTS = {
    "mean_ratio_non_migrants": ("table2/non_migrants/mean/peer", 0.006),
}


def world_moments(world: SyntheticWorld) -> pd.Series:
    """The village-level moments of :data:`CALIBRATION_MOMENTS` in a drawn world (people-weighted)."""
    d = world.data
    return pd.Series({
        "mean_ratio": float(d["peer"].mean()),
        "sd_ratio": float(d["peer"].std()),
        "mean_ratio_migrants": float(d.loc[d["migrant"] == 1, "peer"].mean()),
        "mean_ratio_non_migrants": float(d.loc[d["migrant"] == 0, "peer"].mean()),
        "migration_share": float(d["migrant"].mean()),
    })


def calibration_targets(include_checks: bool = False) -> pd.DataFrame:
    """Paper value, tolerance, whether targeted, and source of every calibrated (and checked) moment."""
    moments = {**CALIBRATION_MOMENTS, **(CHECKED_MOMENTS if include_checks else {})}
    return pd.DataFrame([{"moment": m, "paper": published_value(key), "tolerance": tol,
                          "targeted": m in CALIBRATION_MOMENTS, "source": published_source(key)}
                         for m, (key, tol) in moments.items()]).set_index("moment")


def _loadings(x: np.ndarray) -> VillageHeterogeneity:
    # Nelder-Mead works unconstrained: each parameter is a logistic map of x onto its open range
    low, high = np.array(list(HETEROGENEITY_LIMITS.values())).T
    values = low + (high - low) / (1 + np.exp(-np.asarray(x, dtype=float)))
    return VillageHeterogeneity(**dict(zip(HETEROGENEITY_LIMITS, map(float, values))))


def calibrate_village_heterogeneity(n_villages: int = 960, seeds: tuple[int, ...] = (101, 102),
                                    max_evaluations: int = 250) -> tuple[VillageHeterogeneity, pd.DataFrame, dict]:
    """Choose the :class:`VillageHeterogeneity` loadings by simulated method of moments.

    Minimises, over the targeted moments :data:`CALIBRATION_MOMENTS`, sum_m ((world moment_m - paper moment_m) / tolerance_m)^2, the world moments averaged
    over worlds drawn with ``seeds`` (common random numbers: the same seeds at every trial, so the
    objective is smooth in the loadings up to the discreteness of the draws), with Nelder-Mead.
    Returns the loadings, the moments table (paper, world, tolerance, within) and the optimiser's
    summary.
    """
    from scipy.optimize import minimize

    targets = calibration_targets()

    def moments_at(het):
        return pd.concat([world_moments(draw_world(n_villages, seed=s, heterogeneity=het)) for s in seeds],
                         axis=1).mean(axis=1)

    def loss(x):
        gap = (moments_at(_loadings(x))[targets.index] - targets["paper"]) / targets["tolerance"]
        return float((gap**2).sum())

    # loadings about 0.48, 0.52, 0.36, an unsampled s.d. of 0.36 and no unsampled mean shift
    start = np.array([0.0, 0.2, 0.2, -2.0, 0.0])
    result = minimize(loss, x0=start, method="Nelder-Mead",
                      options={"maxfev": max_evaluations, "xatol": 1e-3, "fatol": 1e-3,
                               "initial_simplex": np.vstack([start, start + np.eye(len(start))])})
    best = _loadings(result.x)
    table = calibration_targets(include_checks=True)
    table["world"] = moments_at(best)
    table["within"] = (table["world"] - table["paper"]).abs() <= table["tolerance"]
    summary = {"loss": float(result.fun), "evaluations": int(result.nfev), "message": str(result.message)}
    return best, table, summary


@lru_cache(maxsize=1)
def calibrated_heterogeneity() -> VillageHeterogeneity:
    """The loadings frozen in :data:`CALIBRATION_PATH` by ``python -m mig_lib.peer.synthetic``."""
    if not CALIBRATION_PATH.is_file():
        return VillageHeterogeneity()
    doc = json.loads(CALIBRATION_PATH.read_text())
    return VillageHeterogeneity(**doc["loadings"])


def main(argv=None) -> None:
    """``python -m mig_lib.peer.synthetic``: calibrate the village heterogeneity and freeze it."""
    import argparse
    import platform
    import shlex
    import sys
    from dataclasses import asdict
    from importlib.metadata import version

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--max-evaluations", type=int, default=250)
    parser.add_argument("--out", default=str(CALIBRATION_PATH))
    args = parser.parse_args(argv)
    best, table, summary = calibrate_village_heterogeneity(max_evaluations=args.max_evaluations)
    doc = {"what": "village heterogeneity of the synthetic CHIPS-like world, by simulated method of moments "
                   "(mig_lib.peer.synthetic.calibrate_village_heterogeneity)",
           "command": "python -m mig_lib.peer.synthetic " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
           "versions": {"python": platform.python_version(),
                        **{p: version(p) for p in ("numpy", "scipy", "pandas")}},
           "loadings": asdict(best), "optimizer": summary,
           "moments": {m: {"paper": float(r["paper"]), "world": float(r["world"]), "tolerance": float(r["tolerance"]),
                           "targeted": bool(r["targeted"])} for m, r in table.iterrows()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(table.drop(columns="source").to_string())
    print(asdict(best), summary)


if __name__ == "__main__":
    main()
