"""The paper's printed tables as data (CHIPS 2002 peer-effects paper, Tables 2, 3 and 6).

These are the *published numbers*: the representative response curve, the marginal-effects
recomputation and the synthetic world's truth are all built from them. Values are copied
verbatim from the source text; names follow Table 3's rows in snake_case.
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

#: Table 3: coefficient, standard error, printed marginal effect (None where '----').
_TABLE3 = [
    ("peer", 0.9437, 0.2142, 0.1240),
    ("peer_x_info_very_frequently", 1.3444, 0.2768, 0.3605),
    ("peer_x_info_often", 1.0975, 0.1822, 0.2829),
    ("peer_x_info_just_so_so", 0.6296, 0.1663, 0.1500),
    ("peer_x_info_sometimes", 0.4208, 0.1731, 0.0967),
    ("peer_x_borrow_very_frequently", -0.3484, 0.3161, -0.0693),
    ("peer_x_borrow_often", -0.0794, 0.1999, -0.0166),
    ("peer_x_borrow_just_so_so", -0.0465, 0.1842, -0.0098),
    ("peer_x_borrow_sometimes", -0.0058, 0.1847, -0.0012),
    ("peer_x_help_very_frequently", -0.4086, 0.2399, -0.0804),
    ("peer_x_help_often", -0.0443, 0.1780, -0.0094),
    ("peer_x_help_just_so_so", -0.1156, 0.1663, -0.0241),
    ("peer_x_help_sometimes", 0.3640, 0.1744, 0.0828),
    ("peer_x_housing_very_frequently", -0.5927, 0.2209, -0.1124),
    ("peer_x_housing_often", -0.7206, 0.1843, -0.1331),
    ("peer_x_housing_just_so_so", -0.8320, 0.1808, -0.1503),
    ("peer_x_housing_sometimes", -0.3045, 0.1854, -0.0611),
    ("peer_x_care_very_frequently", -0.3638, 0.2927, -0.0722),
    ("peer_x_care_often", -0.1947, 0.2074, -0.0399),
    ("peer_x_care_just_so_so", -0.3052, 0.1551, -0.0612),
    ("peer_x_care_sometimes", -0.0611, 0.1481, -0.0129),
    ("married", -0.6018, 0.0492, -0.1196),
    ("age", 0.1999, 0.0113, 0.0037),
    ("age_squared", -0.0032, 0.0002, None),
    ("communist", -0.1642, 0.0674, -0.0254),
    ("health_very_good", 0.2367, 0.2136, 0.0436),
    ("health_good", 0.1650, 0.2126, 0.0273),
    ("health_so_so", -0.0398, 0.2188, -0.0066),
    ("health_bad", -0.0396, 0.2406, -0.0066),
    ("primary_school", 0.2868, 0.1191, 0.0533),
    ("junior_high_school", 0.4200, 0.1186, 0.0717),
    ("senior_high_school", 0.2517, 0.1236, 0.0482),
    ("tech_school_or_more", 0.2388, 0.1283, 0.0463),
    ("household_labor_force", 0.2339, 0.0114, 0.0398),
    ("family_per_capita_land", -0.0723, 0.0076, -0.0123),
    ("kids_under_6", -0.0483, 0.0336, -0.0082),
    ("kids_6_to_12", -0.0583, 0.0249, -0.0099),
    ("elders_over_65", 0.0376, 0.0283, 0.0064),
    ("friends_outside", 0.0694, 0.0303, 0.0117),
    ("friends_village_cadre", 0.0612, 0.0350, 0.0106),
    ("dist_transport_terminal", 0.0008, 0.0017, 0.00013),
    ("dist_county_seat", 0.0004, 0.0007, 0.00006),
    ("village_income", -0.0592, 0.0318, -0.0101),
    ("village_income_squared", 0.0011, 0.0041, 0.0002),
    ("mountain_area", 0.1751, 0.0392, 0.0317),
    ("hill_area", 0.1996, 0.0330, 0.0354),
    ("mig_1998", 1.8111, 0.2557, 0.3081),
    ("intercept", -4.6432, 0.2976, None),
]

#: Table 3 as a frame indexed by term: coef, se, me (printed marginal effect).
TABLE3 = pd.DataFrame(_TABLE3, columns=["term", "coef", "se", "me"]).set_index("term")

#: Text p. 19: "Women are less inclined to migrate, with a probability that is 4.36% lower";
#: Table 3 omits the female row, so its coefficient is backed out from this number.
FEMALE_MARGINAL_EFFECT = -0.0436
#: Table 3 footnote: the age marginal effect is 0.0340 - 0.00109 * age.
AGE_ME_INTERCEPT, AGE_ME_SLOPE = 0.0340, 0.00109
#: Table 3 summary rows.
TABLE3_LOGLIK, TABLE3_PSEUDO_R2, TABLE3_NOBS = -5635.632, 0.2274, 16401

#: Table 2, full sample: mean and s.d. (16,401 individuals).
_TABLE2 = [
    ("female", 0.4459, 0.4971), ("age", 34.6344, 12.4495), ("married", 0.6993, 0.4586),
    ("primary_school", 0.2649, 0.4413), ("junior_high_school", 0.5033, 0.5000),
    ("senior_high_school", 0.1321, 0.3386), ("tech_school_or_more", 0.0659, 0.2481),
    ("communist", 0.0710, 0.2568), ("health_very_good", 0.2408, 0.4276),
    ("health_good", 0.6281, 0.4833), ("health_so_so", 0.0983, 0.2978),
    ("health_bad", 0.0253, 0.1571), ("household_labor_force", 2.7678, 1.2718),
    ("family_per_capita_land", 2.0937, 2.3302), ("kids_under_6", 0.1818, 0.4285),
    ("kids_6_to_12", 0.3354, 0.6014), ("elders_over_65", 0.1806, 0.4535),
    ("friends_outside", 0.5726, 0.4947), ("friends_village_cadre", 0.2240, 0.4169),
    ("dist_county_seat", 25.2382, 21.6849), ("dist_transport_terminal", 5.4653, 8.3177),
    ("village_income", 2.3886, 1.3957), ("mig_1998", 0.0882, 0.0786),
    ("mountain_area", 0.2187, 0.4134), ("hill_area", 0.3436, 0.4749),
    ("peer", 0.1703, 0.1474),
    ("info_very_frequently", 0.0465, 0.2106), ("info_often", 0.1722, 0.3776),
    ("info_just_so_so", 0.2855, 0.4517), ("info_sometimes", 0.2077, 0.4057),
    ("borrow_very_frequently", 0.0546, 0.2271), ("borrow_often", 0.2043, 0.4032),
    ("borrow_just_so_so", 0.3539, 0.4782), ("borrow_sometimes", 0.2407, 0.4275),
    ("help_very_frequently", 0.1138, 0.3176), ("help_often", 0.2198, 0.4141),
    ("help_just_so_so", 0.3057, 0.4607), ("help_sometimes", 0.1890, 0.3915),
    ("housing_very_frequently", 0.1289, 0.3351), ("housing_often", 0.2647, 0.4412),
    ("housing_just_so_so", 0.2543, 0.4355), ("housing_sometimes", 0.1748, 0.3798),
    ("care_very_frequently", 0.0434, 0.2037), ("care_often", 0.1172, 0.3217),
    ("care_just_so_so", 0.2197, 0.4140), ("care_sometimes", 0.2199, 0.4142),
]
#: Table 2 (full sample) indexed by variable: mean, sd. ``peer`` is the village migration ratio.
TABLE2 = pd.DataFrame(_TABLE2, columns=["variable", "mean", "sd"]).set_index("variable")
#: Table 2 header: 16,401 individuals of whom 2,675 migrants.
TABLE2_N, TABLE2_MIGRANTS = 16401, 2675

#: Table 6 first-stage coefficient of the instrument and the Wald exogeneity p-value.
TABLE6 = pd.DataFrame(
    {
        "category": list(CATEGORIES),
        "first_stage_coef": [0.1411, 0.0098, 0.0425, 0.0843, 0.2471],
        "first_stage_se": [0.0232, 0.0209, 0.0242, 0.0243, 0.0229],
        "second_stage_coef": [-0.1243, -1.3099, -0.3044, -0.1936, -0.0636],
        "exogeneity_p": [0.7447, 0.9134, 0.9468, 0.9803, 0.9478],
    }
).set_index("category")

#: Figure 1 note: "the equilibrium migration ratio is 8.45%"; Figure 5: intercept raised
#: from -4.6432 to -4.4399 "and the equilibrium migration ratio reaches 50%".
FIGURE1_EQUILIBRIUM = 0.0845
FIGURE5_INTERCEPT = -4.4399


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
