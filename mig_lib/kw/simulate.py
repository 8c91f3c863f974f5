"""Simulated life histories from a solved Kennan-Walker model, and the statistics of their moves.

Each person draws a home province (population-weighted unless given), an unobserved type, a person
effect eta (7 points), a transitory-wage s.d. sigma_eps (4 values), a match draw at home and an
education group (observed; equal shares unless given); then, age by age, chooses next year's
province from the model's logit probabilities, earns w = mu_{l0} + nu + G(age) + delta_e + eta + eps
where they live, and updates the state by eq (8).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mig_lib.core import ParameterError
from mig_lib.kw.model import education_wage_levels, eta_points, sigma_eps_points, wage_age_profile
from mig_lib.kw.solve import KWSolution


def draw_homes(population: np.ndarray, n_people: int, rng: np.random.Generator) -> np.ndarray:
    """Home province indices drawn in proportion to population."""
    return rng.choice(len(population), size=n_people, p=population / population.sum())


def simulate_panel(solution: KWSolution, n_people: int, seed: int, homes=None, education=None) -> pd.DataFrame:
    """Simulate ``n_people`` life histories over the model's ages; one row per person and age.

    ``homes``: None (population-weighted draws) or an int array of home indices (length n_people).
    ``education``: None (each of the model's education groups with equal probability: a design of
    the simulated sample, not a fact about China) or an int array of group indices.
    Columns: person, home, education (group name), type, age, age_index, location (l0), previous
    (l1), match_here (m0), match_previous (m1), nu, eta, sigma_eps, wage, choice, moved, return_home.
    """
    if not isinstance(n_people, (int, np.integer)) or n_people < 1:
        raise ParameterError(f"argument 'n_people' = {n_people!r} is not allowed: expected a positive integer")
    model = solution.model
    params = model.params
    L, M, A = model.n_locations, model.n_match, model.n_ages
    rng = np.random.default_rng(seed)
    if homes is None:
        home = draw_homes(model.geography.population, n_people, rng)
    else:
        home = np.asarray(homes, dtype=np.int64).reshape(-1)
        if home.shape[0] != n_people or home.min() < 0 or home.max() >= L:
            raise ParameterError(f"argument 'homes' is not allowed: expected {n_people} province indices in [0, {L - 1}]")
    person_type = (rng.random(n_people) >= params["type1_share"]).astype(np.int64)  # 0 = type 1
    eta = eta_points(params)[rng.integers(0, len(eta_points(params)), n_people)]
    sigma_eps = sigma_eps_points(params)[rng.integers(0, len(sigma_eps_points(params)), n_people)]
    choice_uniform = rng.random((A, n_people))
    match_draws = rng.integers(0, M, size=(A + 1, n_people))
    eps = rng.standard_normal((A, n_people)) * sigma_eps
    G = model.n_education
    # drawn last, so that the other draws do not depend on the number of groups
    drawn = rng.integers(0, G, n_people)
    if education is None:
        group = drawn
    else:
        group = np.asarray(education, dtype=np.int64).reshape(-1)
        if group.shape[0] != n_people or group.min() < 0 or group.max() >= G:
            raise ParameterError(f"argument 'education' is not allowed: expected {n_people} education group indices "
                                 f"in [0, {G - 1}] (groups {model.education})")
    row = model.row_index(group, home)
    group_names = np.asarray(model.education, dtype=object)[group]
    wage_level = education_wage_levels(params)[group]
    age_profile = wage_age_profile(params, model.ages)
    nu_of_match = model.nu_of_match

    l0 = home.copy()
    l1 = home.copy()
    m0 = match_draws[0].copy()
    m1 = m0.copy()
    frames = []
    for a in range(A):
        probs = solution.choice_probabilities(person_type, row, np.full(n_people, a), l0, l1, m0, m1)
        cdf = np.cumsum(probs, axis=1)
        choice = np.minimum((cdf < choice_uniform[a][:, None] * cdf[:, -1:]).sum(axis=1), L - 1)
        wage = model.geography.mean_income[l0] + nu_of_match[m0] + age_profile[a] + wage_level + eta + eps[a]
        moved = choice != l0
        frames.append(pd.DataFrame({
            "person": np.arange(n_people), "home": home, "education": group_names, "type": person_type + 1, "age": model.ages[a],
            "age_index": a, "location": l0, "previous": l1, "match_here": m0, "match_previous": m1,
            "nu": nu_of_match[m0], "eta": eta, "sigma_eps": sigma_eps, "wage": wage, "choice": choice,
            "moved": moved, "return_home": moved & (choice == home),
        }))
        # eq (8): stay keeps the state; returning to l1 swaps; a new province draws its match
        returning = moved & (choice == l1)
        new = moved & ~returning
        new_l0 = np.where(moved, choice, l0)
        new_l1 = np.where(moved, l0, l1)
        new_m0 = np.where(returning, m1, np.where(new, match_draws[a + 1], m0))
        new_m1 = np.where(moved, m0, m1)
        l0, l1, m0, m1 = new_l0, new_l1, new_m0, new_m1
    return pd.concat(frames, ignore_index=True).sort_values(["person", "age"], ignore_index=True)


def migration_statistics(panel: pd.DataFrame, distance_km: np.ndarray) -> dict:
    """Summary statistics of simulated moves.

    * ``annual_migration_rate``: moves per person-year;
    * ``return_home_share``: share of moves whose destination is the mover's home province;
    * ``repeat_move_share``: share of people who ever move that move more than once;
    * ``mean_move_distance_km``: mean great-circle distance of a move;
    * ``ever_moved_share``: share of people who move at least once.
    """
    moves = panel[panel["moved"]]
    per_person = panel.groupby("person")["moved"].sum()
    movers = per_person[per_person > 0]
    return {
        "annual_migration_rate": float(panel["moved"].mean()),
        "return_home_share": float(moves["return_home"].mean()) if len(moves) else float("nan"),
        "repeat_move_share": float((movers > 1).mean()) if len(movers) else float("nan"),
        "mean_move_distance_km": float(distance_km[moves["location"], moves["choice"]].mean()) if len(moves) else float("nan"),
        "ever_moved_share": float((per_person > 0).mean()),
    }
