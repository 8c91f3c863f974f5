"""The Kennan-Walker location-choice model for China's provinces: parameters and model primitives.

A person with home (hukou) province h and unobserved type tau lives, at each age, in a state
x = (l0, l1, m0, m1): current province l0, previous province l1 (l1 == l0 means "no other remembered
province"), and the location-match draws remembered at l0 and at l1.  Each year they choose the
province j to live in next year.  Timing follows Kennan and Walker (2011): the period payoff is
earned where the person lives now (l0); the move to j costs Delta_tau(x, j) now.

    u_h(x, j) = alpha0 * (mu_{l0} + nu_{m0}) + xi_{m0} + home premium * 1{l0 = h}
                + dialect premium * 1{l0 != h, same dialect group as h} + amenity_{l0}
                - Delta_tau(x, j)
    Delta_tau(x, j) = [gamma0_tau + gamma1 D(l0, j) - gamma2 adjacent(l0, j) - gamma3 1{j = l1}
                       + gamma4 (age - 20) - gamma5 population_j + hukou 1{j != h}] * 1{j != l0}

The match index m combines the wage match nu (n_nu points) and the optional preference match xi
(n_xi points): m = s_nu * n_xi + s_xi, n_match = n_nu * n_xi equally likely combinations.  The wage
components eta (person effect), G(age) and epsilon (transitory) are the same whatever j is chosen,
so they add the same constant to every choice-specific value and cancel from choice probabilities;
they live only in the wage equation (see ``wage_components``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.kw.geography import PERSONS_PER_POPULATION_UNIT, Geography

AGES_DEFAULT = tuple(range(20, 60))
N_TYPES = 2
N_ETA = 7
N_SIGMA_EPS = 4
KM_PER_DISTANCE_UNIT = 1000.0
KM_PER_MILE = 1.609344


def default_parameters() -> ParameterTable:
    """The model's parameter table (name, value, lower, upper, paper symbol, meaning).

    Values marked KW are Kennan and Walker (2011, Table II col. 1) estimates for U.S. interstate moves
    (distance converted from per 1,000 miles to per 1,000 km); all other values are ILLUSTRATIVE
    choices for the Chinese setting, to be replaced by the estimates of the chapter's second part.
    """
    return ParameterTable([
        ("beta", 0.95, 0.0, 0.999, r"\beta", "discount factor (KW: 0.95)"),
        ("alpha_income", 0.15, 0.0, 5.0, r"\alpha_0",
         "utility per 10,000 yuan of annual income (illustrative; KW: 0.312 per $10,000)"),
        ("home_premium", 0.60, -5.0, 10.0, r"\alpha^H", "utility of living in the home (hukou) province (illustrative)"),
        ("dialect_premium", 0.10, -5.0, 5.0, r"\alpha^D",
         "utility of living away from home inside the home dialect group (illustrative)"),
        ("gamma0_type1", 4.790, -10.0, 30.0, r"\gamma_{0,1}", "moving-cost intercept, type 1 (KW: 4.790)"),
        ("gamma0_type2", 6.50, -10.0, 30.0, r"\gamma_{0,2}", "moving-cost intercept, type 2 (illustrative)"),
        ("gamma_distance", 0.265 / KM_PER_MILE, -5.0, 10.0, r"\gamma_1",
         "moving cost per 1,000 km (KW: 0.265 per 1,000 miles)"),
        ("gamma_adjacent", 0.808, -5.0, 10.0, r"\gamma_2", "moving-cost reduction, adjacent province (KW: 0.808)"),
        ("gamma_previous", 2.00, -5.0, 10.0, r"\gamma_3",
         "moving-cost reduction, return to the previous province (illustrative)"),
        ("gamma_age", 0.05, -1.0, 1.0, r"\gamma_4", "moving cost per year of age above 20 (illustrative)"),
        ("gamma_population", 0.05, -2.0, 2.0, r"\gamma_5",
         "moving-cost reduction per 10 million residents of the destination (illustrative)"),
        ("gamma_hukou", 0.50, -5.0, 10.0, r"\gamma_{H}",
         "hukou friction: extra cost of moving to a province other than home (illustrative)"),
        ("nu_sd", 0.60, 0.0, 10.0, r"\sigma_\nu", "s.d. of the location match nu, 10,000 yuan (illustrative)"),
        ("xi_sd", 0.30, 0.0, 10.0, r"\sigma_\xi", "s.d. of the preference match xi, utils (illustrative; used if n_xi > 1)"),
        ("type1_share", 0.5, 0.0, 1.0, r"\pi_1", "population share of type 1 (illustrative)"),
        ("wage_age_slope", 0.08, -1.0, 1.0, r"G_1", "wage growth per year of age above 20, 10,000 yuan (illustrative)"),
        ("wage_age_curvature", -0.0015, -0.1, 0.1, r"G_2", "wage curvature per squared year, 10,000 yuan (illustrative)"),
        # wage-noise scales are bounded away from 0: sigma_eps = 0 makes the wage density degenerate
        # (the likelihood is not finite), and a zero eta spread is a boundary where the estimator's
        # transform and standard errors break down
        ("eta_sd", 0.50, 0.01, 10.0, r"\sigma_\eta", "spread of the 7-point person effect eta, 10,000 yuan (illustrative)"),
        ("sigma_eps_low", 0.20, 0.01, 10.0, r"\sigma_\varepsilon^{(1)}", "smallest of 4 transitory-wage s.d. values (illustrative)"),
        ("sigma_eps_high", 0.80, 0.01, 10.0, r"\sigma_\varepsilon^{(4)}", "largest of 4 transitory-wage s.d. values (illustrative)"),
    ])


def support_points(sd: float, n: int) -> np.ndarray:
    """n equally likely points approximating N(0, sd^2): sd * Phi^{-1}((k - 1/2)/n), k = 1..n."""
    if n < 1:
        raise ParameterError(f"argument 'n' = {n!r} is not allowed: expected a positive number of support points")
    return sd * norm.ppf((np.arange(n) + 0.5) / n)


@dataclass(frozen=True)
class KWModel:
    """Model primitives as arrays; each field's comment gives its axes (T types, H homes, L provinces, M matches)."""

    geography: Geography
    params: ParameterTable
    ages: np.ndarray             # (A,) int
    n_nu: int
    n_xi: int
    nu_points: np.ndarray        # (n_nu,) 10,000 yuan
    xi_points: np.ndarray        # (n_xi,) utils
    match_utility: np.ndarray    # (M,) alpha0 * nu[s_nu] + xi[s_xi], m = s_nu * n_xi + s_xi
    location_utility: np.ndarray  # (H, L) utility of home h living in l (income, home, dialect, amenity)
    moving_cost: np.ndarray      # (T, H, L, L) cost of l0 -> j without age term and return discount

    @property
    def n_locations(self) -> int:
        return self.geography.n

    @property
    def n_homes(self) -> int:
        return self.location_utility.shape[0]

    @property
    def n_types(self) -> int:
        return self.moving_cost.shape[0]

    @property
    def n_match(self) -> int:
        return self.n_nu * self.n_xi

    @property
    def n_ages(self) -> int:
        return len(self.ages)

    @property
    def beta(self) -> float:
        return float(self.params["beta"])

    @property
    def age_cost(self) -> np.ndarray:
        """(A,) gamma4 * (age - first age): the age part of the moving cost."""
        return self.params["gamma_age"] * (self.ages - self.ages[0]).astype(float)

    @property
    def return_discount(self) -> float:
        return float(self.params["gamma_previous"])

    @property
    def nu_of_match(self) -> np.ndarray:
        """(M,) the wage match nu of each combined match index."""
        return np.repeat(self.nu_points, self.n_xi)

    @property
    def n_states(self) -> int:
        """Number of (type, home, age, l0, l1, m0, m1) states."""
        L, M = self.n_locations, self.n_match
        return self.n_types * self.n_homes * self.n_ages * L * L * M * M

    def with_params(self, **values) -> "KWModel":
        """The same model with some parameters changed."""
        return build_model(self.geography, self.params.with_values(**values), ages=self.ages,
                           n_nu=self.n_nu, n_xi=self.n_xi)


def build_model(geography: Geography, params: ParameterTable | None = None, ages=AGES_DEFAULT,
                n_nu: int = 3, n_xi: int = 1) -> KWModel:
    """Precompute the arrays of the model for a geography and a parameter table."""
    params = default_parameters() if params is None else params
    ages = np.asarray(list(ages), dtype=np.int64)
    if ages.ndim != 1 or len(ages) < 1 or np.any(np.diff(ages) != 1):
        raise ParameterError(f"argument 'ages' = {list(ages)!r} is not allowed: expected consecutive integer ages")
    for name, n in (("n_nu", n_nu), ("n_xi", n_xi)):
        if not isinstance(n, (int, np.integer)) or not 1 <= n <= 15:
            raise ParameterError(f"argument '{name}' = {n!r} is not allowed: expected an integer in [1, 15]")
    p = params
    L = geography.n
    nu = support_points(p["nu_sd"], n_nu)
    xi = support_points(p["xi_sd"], n_xi) if n_xi > 1 else np.zeros(1)
    match_utility = (p["alpha_income"] * nu[:, None] + xi[None, :]).ravel()

    home = np.eye(L, dtype=bool)  # [h, l]: l is the home province h
    same_dialect_away = geography.same_dialect() & ~home
    location_utility = (p["alpha_income"] * geography.mean_income[None, :] + p["home_premium"] * home
                        + p["dialect_premium"] * same_dialect_away + geography.amenity[None, :])

    # cost[tau, h, l0, j]; types differ only in the intercept, homes only in the hukou friction
    common = (p["gamma_distance"] * geography.distance_km / KM_PER_DISTANCE_UNIT
              - p["gamma_adjacent"] * geography.adjacent
              - p["gamma_population"] * (geography.population / PERSONS_PER_POPULATION_UNIT)[None, :])
    intercepts = np.array([p["gamma0_type1"], p["gamma0_type2"]])
    hukou = p["gamma_hukou"] * ~home  # [h, j]
    cost = intercepts[:, None, None, None] + common[None, None, :, :] + hukou[None, :, None, :]
    cost = cost * ~home[None, None, :, :]  # no cost of staying (j == l0)
    return KWModel(geography=geography, params=params, ages=ages, n_nu=int(n_nu), n_xi=int(n_xi),
                   nu_points=nu, xi_points=xi, match_utility=match_utility,
                   location_utility=np.ascontiguousarray(location_utility, dtype=np.float64),
                   moving_cost=np.ascontiguousarray(cost, dtype=np.float64))


def eta_points(params: ParameterTable) -> np.ndarray:
    """The 7 equally likely, equally spaced, symmetric person-effect points eta with s.d. eta_sd."""
    grid = np.linspace(-1.0, 1.0, N_ETA)
    return params["eta_sd"] * grid / np.sqrt(np.mean(grid ** 2))


def sigma_eps_points(params: ParameterTable) -> np.ndarray:
    """The 4 equally likely transitory-wage standard deviations."""
    return np.linspace(params["sigma_eps_low"], params["sigma_eps_high"], N_SIGMA_EPS)


def wage_age_profile(params: ParameterTable, ages) -> np.ndarray:
    """G(age) = slope * (age - 20) + curvature * (age - 20)^2 (10,000 yuan)."""
    years = np.asarray(ages, dtype=float) - AGES_DEFAULT[0]
    return params["wage_age_slope"] * years + params["wage_age_curvature"] * years ** 2
