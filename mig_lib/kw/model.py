"""The Kennan-Walker location-choice model for China's provinces: parameters and model primitives.

A person with home (hukou) province h, education group e and unobserved type tau lives, at each age, in a state
x = (l0, l1, m0, m1): current province l0, previous province l1 (l1 == l0 means "no other remembered
province"), and the location-match draws remembered at l0 and at l1.  Each year they choose the
province j to live in next year.  Timing follows Kennan and Walker (2011): the period payoff is
earned where the person lives now (l0); the move to j costs Delta_tau(x, j) now.

    u_{e,h}(x, j) = alpha0 * (mu_{l0} + b_{l0} + b^E_{e,l0} + delta_e + nu_{m0}) + xi_{m0}
                + home premium * 1{l0 = h}
                + dialect premium * 1{l0 != h, same dialect group as h}
                + kappa_{l0} + sum_k alpha_k Y_{k,l0} + alpha_r r_{l0} + alpha_q q_{l0}   (amenity_utility)
                - Delta_tau(x, j)
    Delta_{tau,e}(x, j) = [gamma0_tau + gamma0_e + gamma1 D(l0, j) - gamma2 adjacent(l0, j) - gamma3 1{j = l1}
                       + gamma4 (age - 20) - gamma5 population_j + hukou 1{j != h}
                       - gamma_{C,tau} C(h, j)] * 1{j != l0}

After the last model age the person stays where they are forever (``terminal="stay"``): the value
of ending at (l, m) is u(l, m) / (1 - beta), so a move at the last age is worth what it is worth
forever after, not one year's flow (which would make the last age a moving spike).

Education groups (the draft's section 5.2). Education is observed per person, like the home
province, so it lives on the same axis of the model's arrays as home: row r = e * L + h of
``location_utility`` (R, L), ``moving_cost`` (T, R, L, L) and ``terminal_value`` (R, L, M) is the
pair (education e, home h); rows 0..L-1 are the first (base) group, so a one-group model has the
old shapes. The unobserved types stay on their own axis, the one the likelihood mixes over.
Each group after the base has two parameters (see ``education_groups``):

* ``wage_level_<e>`` (delta_e): the group's wage level, an education term of G(X_i, a, t) in the
  wage (draft eq 7): it enters the wage and its density (likelihood eq 10), and income in
  utility (``location_utility``, hence ``terminal_value``); being the same in every province it
  adds the same constant to every choice value, so it never moves a choice;
* ``gamma0_<e>`` (gamma0_e): the group's shift of the moving-cost intercept; it enters
  ``moving_cost`` (and nothing else).

``group_welfare`` (G, L) is local welfare paid to one education group only (the draft's talent
subsidy, section 4.1.5): income in utility of that group's rows, never in wages.

Where each parameter enters (for derivatives: every effect flows through these arrays and the
wage log density of :mod:`mig_lib.kw.likelihood`):

* ``location_utility`` (and through it ``terminal_value``): alpha_income (times mu + rho +
  rho^E + delta_e), home_premium, dialect_premium, alpha_rent, alpha_house_price,
  alpha_amenity_<name>, amenity_<code>, wage_level_<e> (times alpha_income);
* ``match_utility`` (and ``terminal_value``): alpha_income (times nu), nu_sd, xi_sd (n_xi > 1);
* ``moving_cost``: gamma0_type1, gamma0_type2, gamma0_<e>, gamma_distance, gamma_adjacent,
  gamma_population, gamma_hukou, gamma_culture, gamma_culture_type2;
* ``age_cost``: gamma_age; the return discount (a scalar of the kernels): gamma_previous;
  ``terminal_value`` and every continuation: beta;
* the wage log density only: wage_age_slope, wage_age_curvature, eta_1..3, sigma_eps_1..4,
  nu_sd (through nu), wage_level_<e>; the type mixture only: type1_share.

The match index m combines the wage match nu (n_nu points) and the optional preference match xi
(n_xi points): m = s_nu * n_xi + s_xi, n_match = n_nu * n_xi equally likely combinations.  The wage
components eta (person effect), G(age) and epsilon (transitory) are the same whatever j is chosen,
so they add the same constant to every choice-specific value and cancel from choice probabilities;
they live only in the wage equation (see ``wage_components``).
"""

from __future__ import annotations

import functools

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from mig_lib.core import ParameterError, ParameterTable
from mig_lib.kw.geography import PERSONS_PER_POPULATION_UNIT, Geography

AGES_DEFAULT = tuple(range(20, 60))
#: The age at which the age terms of the moving cost and of the wage profile are zero: gamma4 and
#: G are functions of age, never of a position in the model's age grid.
AGE_ORIGIN = 20
#: What follows the last model age: "stay" (the person stays where they are forever and earns the
#: last age's flow utility every year, discounted: no end-of-life moving spike) or "none" (v = 0).
TERMINAL_VALUES = ("stay", "none")
N_TYPES = 2
#: The book's education groups: the first is the base group (no parameters of its own).
EDUCATION_GROUPS = ("below_college", "college")
N_ETA = 7
N_SIGMA_EPS = 4
KM_PER_DISTANCE_UNIT = 1000.0
KM_PER_MILE = 1.609344


def default_parameters(amenity_names=(), province_effects=(), education=EDUCATION_GROUPS) -> ParameterTable:
    """The model's parameter table (name, value, lower, upper, paper symbol, meaning).

    Values marked KW are Kennan and Walker (2011, Table II col. 1) estimates for U.S. interstate moves
    (distance converted from per 1,000 miles to per 1,000 km); all other values are ILLUSTRATIVE
    choices for the Chinese setting, to be replaced by the estimates of the chapter's second part.

    ``amenity_names`` adds a coefficient ``alpha_amenity_<name>`` per amenity covariate of a loaded
    amenity table; ``province_effects`` (province codes) adds an amenity fixed effect
    ``amenity_<code>`` for each, the first code being the normalisation (kappa_j = 0, not in the table).
    ``education`` names the education groups (draft section 5.2), the first being the base: each
    other group gets a wage level ``wage_level_<group>`` and a moving-cost intercept shift
    ``gamma0_<group>``; ``education=("all",)`` is the model without education groups.
    """
    education = _checked_groups(education)
    extra = [(f"alpha_amenity_{name}", 0.0, -10.0, 10.0, rf"\alpha_{{Y,\mathrm{{{name}}}}}",
              f"utility per unit of the amenity indicator {name} (illustrative: 0)") for name in amenity_names]
    extra += [(f"amenity_{code}", 0.0, -10.0, 10.0, rf"\kappa_{{\mathrm{{{code}}}}}",
               f"amenity fixed effect of {code}, relative to {province_effects[0]} (illustrative: 0)")
              for code in list(province_effects)[1:]]
    for group in education[1:]:
        label = group.replace("_", " ")
        extra += [(f"wage_level_{group}", 1.5 if group == "college" else 0.0, -10.0, 10.0,
                   rf"\delta_{{\mathrm{{{_short(group)}}}}}",
                   f"wage level of the {label} group relative to {education[0].replace('_', ' ')}, 10,000 yuan a year "
                   "(education term of G(X_i, a, t); illustrative)"),
                  (f"gamma0_{group}", -0.8 if group == "college" else 0.0, -10.0, 10.0,
                   rf"\gamma_{{0,\mathrm{{{_short(group)}}}}}",
                   f"shift of the moving-cost intercept for the {label} group (illustrative)")]
    return ParameterTable([
        ("beta", 0.95, 0.0, 0.999, r"\beta", "discount factor (KW: 0.95)"),
        ("alpha_income", 0.15, 0.0, 5.0, r"\alpha_0",
         "utility per 10,000 yuan of annual income (illustrative; KW: 0.312 per $10,000)"),
        ("home_premium", 0.60, -5.0, 10.0, r"\alpha^H", "utility of living in the home (hukou) province (illustrative)"),
        ("dialect_premium", 0.10, -5.0, 5.0, r"\alpha^D",
         "utility of living away from home inside the home dialect group (illustrative)"),
        ("alpha_rent", 0.0, -10.0, 10.0, r"\alpha_r",
         "utility per unit of the rent index r_j, Delta_r(r) = alpha_r r (illustrative: 0; no rent data shipped)"),
        ("alpha_house_price", 0.0, -10.0, 10.0, r"\alpha_q",
         "utility per unit of the house-price index q_j, Delta_h(q) = alpha_q q (illustrative: 0; no data shipped)"),
        ("gamma0_type1", 4.790, -10.0, 30.0, r"\gamma_{0,1}", "moving-cost intercept, type 1 (KW: 4.790)"),
        # 6.0, not higher: at 6.5 type 2 moved 2.1% a year at 20-29 on the estimation page's book panel (6 provinces,
        # 1,000 people x 10 years) and its intercept was barely told apart from "never moves" (estimate 2.4 s.e.
        # below the truth); at 6.0 type 2 moves about as often as Kennan and Walker's sample (2.9% a year) and
        # type 1 (KW's 4.790) five times as often, so the two-type mixture is still identified at book size
        ("gamma0_type2", 6.00, -10.0, 30.0, r"\gamma_{0,2}",
         "moving-cost intercept, type 2 (illustrative: type 2 moves about as often as Kennan and Walker's sample)"),
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
        ("gamma_culture", 0.50, -5.0, 10.0, r"\gamma_{C,1}",
         "type 1 (attached to places near home): adaptation-cost reduction per unit of cultural proximity "
         "C(h, j) of home and destination (illustrative)"),
        ("gamma_culture_type2", 0.0, -5.0, 10.0, r"\gamma_{C,2}",
         "type 2 (no attachment): adaptation-cost reduction per unit of C(h, j) (illustrative: 0)"),
        ("nu_sd", 0.60, 0.0, 10.0, r"\sigma_\nu", "s.d. of the location match nu, 10,000 yuan (illustrative)"),
        ("xi_sd", 0.25, 0.0, 10.0, r"\sigma_\xi", "s.d. of the preference match xi, utils (illustrative; used if n_xi > 1)"),
        ("type1_share", 0.5, 0.0, 1.0, r"\pi_1", "population share of type 1 (illustrative)"),
        ("wage_age_slope", 0.08, -1.0, 1.0, r"G_1", "wage growth per year of age above 20, 10,000 yuan (illustrative)"),
        ("wage_age_curvature", -0.0015, -0.1, 0.1, r"G_2", "wage curvature per squared year, 10,000 yuan (illustrative)"),
        # wage-noise scales are bounded away from 0: sigma_eps = 0 makes the wage density degenerate
        # (the likelihood is not finite), and a zero eta point is a boundary where the estimator's
        # transform and standard errors break down
        ("eta_1", 0.25, 0.01, 10.0, r"\eta(5)", "person effect eta: support points 0, ±eta_1, ±eta_2, ±eta_3 (10,000 yuan; illustrative)"),
        ("eta_2", 0.50, 0.01, 10.0, r"\eta(6)", "second positive support point of eta (illustrative)"),
        ("eta_3", 0.75, 0.01, 10.0, r"\eta(7)", "third positive support point of eta (illustrative)"),
        ("sigma_eps_1", 0.20, 0.01, 10.0, r"\sigma_\varepsilon(1)", "transitory-wage s.d., support point 1 of 4 (illustrative)"),
        ("sigma_eps_2", 0.40, 0.01, 10.0, r"\sigma_\varepsilon(2)", "transitory-wage s.d., support point 2 of 4 (illustrative)"),
        ("sigma_eps_3", 0.60, 0.01, 10.0, r"\sigma_\varepsilon(3)", "transitory-wage s.d., support point 3 of 4 (illustrative)"),
        ("sigma_eps_4", 0.80, 0.01, 10.0, r"\sigma_\varepsilon(4)", "transitory-wage s.d., support point 4 of 4 (illustrative)"),
    ] + extra)


def _short(group: str) -> str:
    return {"college": "col", "below_college": "bc"}.get(group, group.replace("_", r"\_"))


def _checked_groups(education) -> tuple[str, ...]:
    groups = (education,) if isinstance(education, str) else tuple(education)
    if (not groups or any(not isinstance(g, str) or not g.isidentifier() for g in groups)
            or len(set(groups)) != len(groups)):
        raise ParameterError(f"argument 'education' = {education!r} is not allowed: expected distinct group names "
                             "(identifiers), the first being the base group, e.g. ('below_college', 'college')")
    return groups


def education_groups(params: ParameterTable) -> tuple[str, ...]:
    """The education groups of a parameter table: the base group, then every group with a
    ``wage_level_<group>`` parameter (a table without them has one group, "all")."""
    others = tuple(n[len("wage_level_"):] for n in params.names if n.startswith("wage_level_"))
    if not others:
        return ("all",)
    base = EDUCATION_GROUPS[0] if EDUCATION_GROUPS[0] not in others else "base"
    return (base,) + others


def education_wage_levels(params: ParameterTable) -> np.ndarray:
    """(G,) delta_e, the wage level of each education group (0 for the base group)."""
    return np.array([0.0] + [params[f"wage_level_{g}"] for g in education_groups(params)[1:]])


def education_cost_shifts(params: ParameterTable) -> np.ndarray:
    """(G,) gamma0_e, the moving-cost intercept shift of each education group (0 for the base group)."""
    return np.array([0.0] + [params[f"gamma0_{g}"] for g in education_groups(params)[1:]])


def amenity_utility(geography: Geography, params: ParameterTable) -> np.ndarray:
    """(L,) the draft's section 3.4 terms of flow utility in each province:

    κ_j + Σ_k α_k Y_{k,j} + α_r r_j + α_q q_j, with κ_j the geography's fixed amenity values plus
    the table's province effects ``amenity_<code>`` (absent codes: 0).
    """
    missing = [f"alpha_amenity_{n}" for n in geography.amenity_names if f"alpha_amenity_{n}" not in params]
    if missing:
        raise ParameterError(f"the geography has amenity covariates without coefficients {missing} in the parameter "
                             "table: build it with default_parameters(amenity_names=geography.amenity_names)")
    total = np.asarray(geography.amenity, dtype=float).copy()
    total += np.array([params[f"amenity_{c}"] if f"amenity_{c}" in params else 0.0 for c in geography.codes])
    if geography.amenity_covariates is not None:
        coefficients = np.array([params[f"alpha_amenity_{n}"] for n in geography.amenity_names])
        total += geography.amenity_covariates @ coefficients
    if geography.rent is not None:
        total += params["alpha_rent"] * geography.rent
    if geography.house_price is not None:
        total += params["alpha_house_price"] * geography.house_price
    return total


def support_points(sd: float, n: int) -> np.ndarray:
    """n equally likely points approximating N(0, sd^2): sd * Phi^{-1}((k - 1/2)/n), k = 1..n."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"argument 'n' = {n!r} is not allowed: expected a positive number of support points")
    return sd * _standard_normal_points(int(n))


@functools.lru_cache(maxsize=32)
def _standard_normal_points(n: int) -> np.ndarray:
    # scipy's ppf costs half a millisecond a call, and the exact gradient builds the model ~50 times
    points = norm.ppf((np.arange(n) + 0.5) / n)
    points.flags.writeable = False
    return points


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
    location_utility: np.ndarray  # (H, L) utility of row r = (education e, home h) living in l (income, home,
                                  # dialect, amenity); H = G * L rows, r = e * L + h
    moving_cost: np.ndarray      # (T, H, L, L) cost of l0 -> j without age term and return discount
    terminal: str = "stay"       # see TERMINAL_VALUES
    education: tuple = ("all",)  # education group names, the first the base (see ``education_groups``)
    group_welfare: np.ndarray | None = None  # (G, L) welfare paid to one education group only; None: 0

    @property
    def n_locations(self) -> int:
        return self.geography.n

    @property
    def n_homes(self) -> int:
        return self.location_utility.shape[0]

    @property
    def n_education(self) -> int:
        return len(self.education)

    @property
    def home_of_row(self) -> np.ndarray:
        """(H,) the home province of each row of the (education, home) axis."""
        return np.arange(self.n_homes) % self.n_locations

    @property
    def education_of_row(self) -> np.ndarray:
        """(H,) the education group index of each row of the (education, home) axis."""
        return np.arange(self.n_homes) // self.n_locations

    def row_index(self, education, home) -> np.ndarray:
        """Row of the (education, home) axis for education group indices and home provinces."""
        return np.asarray(education, dtype=np.int64) * self.n_locations + np.asarray(home, dtype=np.int64)

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
        """(A,) gamma4 * (age - 20): the age part of the moving cost, whatever the first model age."""
        return self.params["gamma_age"] * (self.ages - AGE_ORIGIN).astype(float)

    @property
    def terminal_value(self) -> np.ndarray:
        """(H, L, M) value after the last age of living in l with match m (row h = (education, home)).

        "stay": u/(1 - beta), the flow utility of the last age received every year forever (no
        move is possible after the last age, so no moving cost); "none": 0.
        """
        flow = self.location_utility[:, :, None] + self.match_utility[None, None, :]
        if self.terminal == "none":
            return np.zeros_like(flow)
        return np.ascontiguousarray(flow / (1.0 - self.beta))

    @property
    def return_discount(self) -> float:
        return float(self.params["gamma_previous"])

    @property
    def nu_of_match(self) -> np.ndarray:
        """(M,) the wage match nu of each combined match index."""
        return np.repeat(self.nu_points, self.n_xi)

    @property
    def n_states(self) -> int:
        """Number of (type, education and home, age, l0, l1, m0, m1) states."""
        L, M = self.n_locations, self.n_match
        return self.n_types * self.n_homes * self.n_ages * L * L * M * M

    def with_params(self, **values) -> "KWModel":
        """The same model with some parameters changed."""
        return build_model(self.geography, self.params.with_values(**values), ages=self.ages,
                           n_nu=self.n_nu, n_xi=self.n_xi, terminal=self.terminal, group_welfare=self.group_welfare)


def build_model(geography: Geography, params: ParameterTable | None = None, ages=AGES_DEFAULT,
                n_nu: int = 3, n_xi: int = 1, terminal: str = "stay", group_welfare=None) -> KWModel:
    """Precompute the arrays of the model for a geography and a parameter table.

    ``terminal`` says what follows the last age (see ``TERMINAL_VALUES``). The education groups
    are the table's (:func:`education_groups`); ``group_welfare`` (G, L) adds local welfare paid
    only to one education group (the talent subsidy), in 10,000 yuan a year.
    """
    params = default_parameters() if params is None else params
    if terminal not in TERMINAL_VALUES:
        raise ParameterError(f"argument 'terminal' = {terminal!r} is not allowed: expected one of {TERMINAL_VALUES}")
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
    # b_j (local welfare: subsidies, tax relief, talent programmes) is income the person receives
    # for living in j but that is not in the observed wage: it moves choices, not wages
    welfare = np.zeros(L) if geography.local_welfare is None else np.asarray(geography.local_welfare, dtype=float)
    location_utility = (p["alpha_income"] * (geography.mean_income + welfare)[None, :] + p["home_premium"] * home
                        + p["dialect_premium"] * same_dialect_away + amenity_utility(geography, p)[None, :])
    # education groups: rows e * L + h; the group's wage level is income in every province and its
    # targeted welfare income where it is paid
    groups = education_groups(p)
    G = len(groups)
    if group_welfare is None:
        targeted = np.zeros((G, L))
    else:
        targeted = np.asarray(group_welfare, dtype=float)
        if targeted.shape != (G, L) or not np.all(np.isfinite(targeted)):
            raise ParameterError(f"argument 'group_welfare' is not allowed: expected finite numbers of shape ({G}, {L}) "
                                 f"(education groups {groups} x provinces), got shape {targeted.shape}")
    group_income = education_wage_levels(p)[:, None] + targeted                       # [e, l]
    location_utility = (location_utility[None, :, :] + p["alpha_income"] * group_income[:, None, :]).reshape(G * L, L)

    # cost[tau, h, l0, j]; types differ only in the intercept, homes only in the hukou friction
    common = (p["gamma_distance"] * geography.distance_km / KM_PER_DISTANCE_UNIT
              - p["gamma_adjacent"] * geography.adjacent
              - p["gamma_population"] * (geography.population / PERSONS_PER_POPULATION_UNIT)[None, :])
    intercepts = np.array([p["gamma0_type1"], p["gamma0_type2"]])
    hukou = p["gamma_hukou"] * ~home  # [h, j]
    # adaptation: a destination culturally close to one's home is cheaper to settle in, by type:
    # the draft's two types, attached to places near home or not
    culture_by_type = np.array([p["gamma_culture"], p["gamma_culture_type2"]])
    culture = (np.zeros((1, L, L)) if geography.culture is None
               else culture_by_type[:, None, None] * geography.culture[None, :, :])  # [tau, h, j]
    cost = (intercepts[:, None, None, None] + common[None, None, :, :] + hukou[None, :, None, :]
            - culture[:, :, None, :])
    cost = cost * ~home[None, None, :, :]  # no cost of staying (j == l0)
    # [tau, e * L + h, l0, j]: the group's intercept shift, paid on every move
    shifts = education_cost_shifts(p)
    cost = (cost[:, None] + shifts[None, :, None, None, None] * ~home[None, None, None, :, :]).reshape(
        cost.shape[0], G * L, L, L)
    return KWModel(geography=geography, params=params, ages=ages, n_nu=int(n_nu), n_xi=int(n_xi),
                   nu_points=nu, xi_points=xi, match_utility=match_utility,
                   location_utility=np.ascontiguousarray(location_utility, dtype=np.float64),
                   moving_cost=np.ascontiguousarray(cost, dtype=np.float64), terminal=terminal,
                   education=groups, group_welfare=None if group_welfare is None else targeted)


def eta_points(params: ParameterTable) -> np.ndarray:
    """The 7 equally likely points of the person effect, symmetric about 0 (draft 4.1.3, KW 2011):
    -eta_3, -eta_2, -eta_1, 0, eta_1, eta_2, eta_3. The centre is 0 because mu_j and G(a) carry
    the mean wage; three parameters describe the spread."""
    positive = np.array([params["eta_1"], params["eta_2"], params["eta_3"]])
    return np.concatenate([-positive[::-1], [0.0], positive])


def sigma_eps_points(params: ParameterTable) -> np.ndarray:
    """The 4 equally likely transitory-wage standard deviations."""
    return np.array([params[f"sigma_eps_{k}"] for k in range(1, N_SIGMA_EPS + 1)])


def wage_age_profile(params: ParameterTable, ages) -> np.ndarray:
    """G(age) = slope * (age - 20) + curvature * (age - 20)^2 (10,000 yuan)."""
    years = np.asarray(ages, dtype=float) - AGE_ORIGIN
    return params["wage_age_slope"] * years + params["wage_age_curvature"] * years ** 2
