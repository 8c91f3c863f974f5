"""The paper's printed tables as data (CHIPS 2002 peer-effects paper, Tables 2, 3 and 6).

These are the *published numbers*: the representative response curve, the marginal-effects
recomputation and the synthetic world's truth are all built from them. The values are read from
the chapter's published file (``data/published/01_peer_effects.json``), the one place where they
are copied verbatim from the source text; this module gives them their order and shape. Names
follow Table 3's rows in snake_case.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pandas as pd

from mig_lib.core import ParameterError, published_path

#: Social-interaction categories (Table 1) and their strength levels; "none_few" is the
#: omitted baseline of every group of four dummies.
CATEGORIES = ("info", "borrow", "help", "housing", "care")
LEVELS = ("very_frequently", "often", "just_so_so", "sometimes")
BASELINE_LEVEL = "none_few"
CATEGORY_LABELS = {
    "info": "exchange information on employment",
    "borrow": "borrowing money",
    "help": "mutual help during busy seasons",
    "housing": "labour exchange in house building",
    "care": "taking care of old, sick persons and babies",
}
#: Table 5/6 continuous scores: very frequently = 4 ... none/few = 0.
LEVEL_SCORES = {"very_frequently": 4, "often": 3, "just_so_so": 2, "sometimes": 1, "none_few": 0}


def interaction_dummy(category: str, level: str) -> str:
    """Column name of the dummy 'category at level' (e.g. ``info_very_frequently``)."""
    return f"{category}_{level}"


def interaction_term(category: str, level: str) -> str:
    """Coefficient name of ``village migration ratio x dummy`` (e.g. ``peer_x_info_often``)."""
    return f"peer_x_{category}_{level}"


INTERACTION_DUMMIES = tuple(interaction_dummy(c, lv) for c in CATEGORIES for lv in LEVELS)
INTERACTION_TERMS = tuple(interaction_term(c, lv) for c in CATEGORIES for lv in LEVELS)

#: Table 3's rows in the printed order: the village migration ratio, its 20 interactions, the
#: controls, the intercept (the female row is not printed; see FEMALE_MARGINAL_EFFECT).
TABLE3_TERMS = ("peer", *INTERACTION_TERMS, "married", "age", "age_squared", "communist", "health_very_good",
                "health_good", "health_so_so", "health_bad", "primary_school", "junior_high_school",
                "senior_high_school", "tech_school_or_more", "household_labor_force", "family_per_capita_land",
                "kids_under_6", "kids_6_to_12", "elders_over_65", "friends_outside", "friends_village_cadre",
                "dist_transport_terminal", "dist_county_seat", "village_income", "village_income_squared",
                "mountain_area", "hill_area", "mig_1998", "intercept")
#: Table 2's variables (full sample) in the printed order; ``peer`` is the village migration ratio.
TABLE2_VARIABLES = ("female", "age", "married", "primary_school", "junior_high_school", "senior_high_school",
                    "tech_school_or_more", "communist", "health_very_good", "health_good", "health_so_so",
                    "health_bad", "household_labor_force", "family_per_capita_land", "kids_under_6", "kids_6_to_12",
                    "elders_over_65", "friends_outside", "friends_village_cadre", "dist_county_seat",
                    "dist_transport_terminal", "village_income", "mig_1998", "mountain_area", "hill_area", "peer",
                    *INTERACTION_DUMMIES)
#: Table 6's columns read from the published file, per category.
TABLE6_COLUMNS = ("first_stage_coef", "first_stage_se", "second_stage_coef", "exogeneity_p")


def interaction_shares() -> pd.DataFrame:
    """Table 2 shares of each category x level, with the implied none/few baseline share."""
    rows = {}
    for c in CATEGORIES:
        shares = {lv: float(TABLE2.loc[interaction_dummy(c, lv), "mean"]) for lv in LEVELS}
        shares[BASELINE_LEVEL] = 1.0 - sum(shares.values())
        rows[c] = shares
    return pd.DataFrame(rows).T[list(LEVELS) + [BASELINE_LEVEL]]


#: The chapter's file of published values (``data/published/01_peer_effects.json``): ``values`` are
#: asserted against the chapter's records, ``unreproduced`` are shown with a reason, ``printed`` are
#: the paper's other printed numbers, shown beside the synthetic world's.
PUBLISHED_SECTIONS = ("values", "unreproduced", "printed")


@lru_cache(maxsize=1)
def _published_entries() -> dict[str, dict]:
    doc = json.loads(published_path("01_peer_effects").read_text())
    entries: dict[str, dict] = {}
    for section in PUBLISHED_SECTIONS:
        for key, entry in doc.get(section, {}).items():
            entries[key] = {**entry, "section": section}
    return entries


def published_entries() -> dict[str, dict]:
    """Every entry of the chapter's published file, from all its sections, keyed by record name."""
    return {k: dict(v) for k, v in _published_entries().items()}


def published_value(key: str) -> float:
    """The paper's printed value stored under ``key`` in the chapter's published file."""
    entries = _published_entries()
    if key not in entries:
        close = sorted(k for k in entries if k.split("/")[0] == key.split("/")[0])[:5]
        raise ParameterError(f"argument 'key' = {key!r} is not allowed: no such published value "
                             f"(same prefix: {', '.join(close) or 'none'})")
    return float(entries[key]["value"])


def published_source(key: str) -> str:
    """Where the paper prints the value stored under ``key``."""
    published_value(key)  # validates the key
    return str(_published_entries()[key]["source"])


def _table3_marginal_effect_key(term: str) -> str:
    # the interactions' marginal effects are stored under their dummy's name (table3_me/info_often)
    return "table3_me/" + term.removeprefix("peer_x_")


def _table3() -> pd.DataFrame:
    entries = _published_entries()
    rows = [(term, published_value(f"table3/coef/{term}"), published_value(f"table3/se/{term}"),
             published_value(_table3_marginal_effect_key(term)) if _table3_marginal_effect_key(term) in entries
             else None)
            for term in TABLE3_TERMS]
    return pd.DataFrame(rows, columns=["term", "coef", "se", "me"]).set_index("term")


#: Table 3 as a frame indexed by term: coef, se, me (printed marginal effect; NaN where '----').
#: Read from the published file, where every printed number of the paper is written once.
TABLE3 = _table3()
#: Table 2 (full sample) indexed by variable: mean, sd.
TABLE2 = pd.DataFrame({column: [published_value(f"table2/{column}/{variable}") for variable in TABLE2_VARIABLES]
                       for column in ("mean", "sd")}, index=pd.Index(TABLE2_VARIABLES, name="variable"))
#: Table 6 first-stage coefficient of the instrument, the second stage and the Wald exogeneity p-value.
TABLE6 = pd.DataFrame({column: [published_value(f"table6/{category}/{column}") for category in CATEGORIES]
                       for column in TABLE6_COLUMNS}, index=pd.Index(CATEGORIES, name="category"))
#: Text p. 19: "Women are less inclined to migrate, with a probability that is 4.36% lower";
#: Table 3 omits the female row, so its coefficient is backed out from this number.
FEMALE_MARGINAL_EFFECT = published_value("text/female_marginal_effect")
#: Table 3 footnote: the age marginal effect is 0.0340 - 0.00109 * age.
AGE_ME_INTERCEPT, AGE_ME_SLOPE = 0.0340, 0.00109
#: Table 3 summary rows.
TABLE3_LOGLIK, TABLE3_PSEUDO_R2 = published_value("table3/loglik"), published_value("table3/pseudo_r2")
TABLE3_NOBS = int(published_value("table3/nobs"))
#: Table 2 header: 16,401 individuals of whom 2,675 migrants.
TABLE2_N, TABLE2_MIGRANTS = int(published_value("table2/n")), int(published_value("table2/n_migrants"))
#: Figure 1 note: "the equilibrium migration ratio is 8.45%"; Figure 5: intercept raised
#: from -4.6432 to -4.4399 "and the equilibrium migration ratio reaches 50%".
FIGURE1_EQUILIBRIUM = published_value("figure1/equilibrium")
FIGURE5_INTERCEPT = published_value("figure5/intercept")
