"""Loader for readers who hold the licensed CHIP 2002 rural extract.

``load_chip2002(path)`` reads a CSV (``.csv``) or Stata (``.dta``) file with one row per
working-age individual and the columns of :data:`SCHEMA`, checks names, types and ranges,
and returns the Table 3 design: dummies, squares, the village migration ratio excluding the
own family (eq 9), its 20 interactions, the continuous scores of Table 5 and an intercept.
Every problem found is reported, one line each, in a single :class:`Chip2002SchemaError`.

Codes follow the CHIP 2002 questionnaire:

* ``education``: 1 illiterate, 2 primary, 3 junior high, 4 senior high, 5 technical school or more
* ``health``: 1 very good, 2 good, 3 so-so, 4 bad, 5 very bad
* ``info``, ``borrow``, ``help``, ``housing``, ``care`` (interaction with other villagers):
  1 very frequently, 2 often, 3 just so-so, 4 sometimes, 5 none/few
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mig_lib.peer.model import EDUCATION_DUMMIES
from mig_lib.peer.tables import CATEGORIES, LEVEL_SCORES, LEVELS, interaction_dummy, interaction_term

#: column -> (kind, lower, upper, meaning). kinds: 'id', 'binary', 'int', 'float', 'code'.
SCHEMA: dict[str, tuple[str, float | None, float | None, str]] = {
    "county": ("id", None, None, "county identifier"),
    "village": ("id", None, None, "village identifier"),
    "household": ("id", None, None, "household identifier"),
    "person": ("id", None, None, "person identifier within the household (CHIP's person code)"),
    "migrant": ("binary", 0, 1, "1 if away from home more than 180 days in 2002"),
    "female": ("binary", 0, 1, "1 if female"),
    "age": ("int", 16, 60, "age in years (working age: men 16-60, women 16-55)"),
    "married": ("binary", 0, 1, "1 if married"),
    "education": ("code", 1, 5, "1 illiterate ... 5 technical school or more"),
    "communist": ("binary", 0, 1, "1 if a communist party member"),
    "health": ("code", 1, 5, "1 very good ... 5 very bad"),
    "household_labor_force": ("int", 0, 30, "number of labour-force members of the family"),
    "family_per_capita_land": ("float", 0, 1000, "family land per capita (mu)"),
    "kids_under_6": ("int", 0, 20, "children under six in the family"),
    "kids_6_to_12": ("int", 0, 20, "children aged six to twelve in the family"),
    "elders_over_65": ("int", 0, 20, "elders over 65 in the family"),
    "friends_outside": ("binary", 0, 1, "1 if the family has friends or relatives outside the village"),
    "friends_village_cadre": ("binary", 0, 1, "1 if the family has friends or relatives among village cadres"),
    "info": ("code", 1, 5, "exchange information on employment, 1 very frequently ... 5 none/few"),
    "borrow": ("code", 1, 5, "borrowing money, 1 very frequently ... 5 none/few"),
    "help": ("code", 1, 5, "mutual help in busy seasons, 1 very frequently ... 5 none/few"),
    "housing": ("code", 1, 5, "labour exchange in house building, 1 very frequently ... 5 none/few"),
    "care": ("code", 1, 5, "care of old, sick persons and babies, 1 very frequently ... 5 none/few"),
    "family_population": ("int", 1, None, "people in the family (denominator of eq 9)"),
    "family_migrants": ("int", 0, None, "migrants in the family"),
    "village_population": ("int", 2, None, "village population (eq 9)"),
    "village_migrants": ("int", 0, None, "village migrants (eq 9)"),
    "mig_1998": ("float", 0, 1, "village migration ratio in 1998"),
    "dist_county_seat": ("float", 0, 1000, "distance to the county seat (km)"),
    "dist_transport_terminal": ("float", 0, 1000, "distance to the nearest transport terminal (km)"),
    "village_income": ("float", 0, 1000, "village income per capita (thousand yuan)"),
    "mountain_area": ("binary", 0, 1, "1 if the village is in a mountain area"),
    "hill_area": ("binary", 0, 1, "1 if the village is in a hill area"),
}
#: The columns that identify a person: no two rows may share them.
PERSON_KEY = ("county", "village", "household", "person")
#: Optional: the instrument of Table 6.
OPTIONAL = {"family_political_class": ("binary", 0, 1, "1 if the head's father was middle-rich, rich or landlord")}

HEALTH_DUMMIES = ("health_very_good", "health_good", "health_so_so", "health_bad")
#: questionnaire code (1 very frequently ... 5 none/few) -> level name
CODE_TO_LEVEL = {1: "very_frequently", 2: "often", 3: "just_so_so", 4: "sometimes", 5: "none_few"}


class Chip2002SchemaError(ValueError):
    """The extract does not match :data:`SCHEMA`; ``problems`` lists every problem found."""

    def __init__(self, path, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s) with the CHIP 2002 extract:\n{lines}")


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (expected a CHIP 2002 extract as .csv or .dta)")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("rb") as handle:
            head = handle.read(4096)
        if b"\x00" in head:
            raise Chip2002SchemaError(path, ["the file is binary, not a comma-separated text file (is it a "
                                             "Stata, Excel or compressed file renamed to .csv?)"])
        try:
            frame = pd.read_csv(path)
        except UnicodeDecodeError as error:
            raise Chip2002SchemaError(path, [f"the file is not UTF-8 text (byte {error.start}): save the CSV "
                                             "as UTF-8, or read it as Stata .dta"]) from None
        except pd.errors.EmptyDataError:
            raise Chip2002SchemaError(path, ["the file is empty"]) from None
        if len(frame.columns) == 1:
            header = str(frame.columns[0])
            separator = next((sep for sep in (";", "\t", "|") if sep in header), None)
            if separator is not None:
                raise Chip2002SchemaError(path, [f"the delimiter looks wrong: the header is one column "
                                                 f"{header[:60]!r}..., split by {separator!r}; expected "
                                                 "comma-separated values"])
        return frame
    if suffix == ".dta":
        try:
            return pd.read_stata(path, convert_categoricals=False)
        except (ValueError, UnicodeDecodeError, EOFError) as error:
            raise Chip2002SchemaError(path, [f"not a readable Stata .dta file ({error})"]) from None
    raise ValueError(f"{path}: unsupported file type {suffix!r}: expected .csv or .dta")


def _show(value) -> str:
    """A value as the reader typed it (numpy scalars unwrapped, whole floats without '.0')."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


def _check_column(name: str, series: pd.Series, kind: str, lo, hi) -> list[str]:
    problems = []
    if kind == "id":
        if series.isna().any():
            problems.append(f"column {name!r} has {int(series.isna().sum())} missing value(s)")
        return problems
    values = pd.to_numeric(series, errors="coerce")
    bad_type = values.isna() & series.notna()
    if bad_type.any():
        first = series[bad_type].iloc[0]
        problems.append(f"column {name!r} must be numeric: {int(bad_type.sum())} value(s) are not, e.g. {_show(first)}")
    if series.isna().any():
        problems.append(f"column {name!r} has {int(series.isna().sum())} missing value(s)")
    ok = values.dropna()
    if kind in ("binary", "int", "code"):
        frac = ok[(ok % 1) != 0]
        if len(frac):
            problems.append(f"column {name!r} must hold whole numbers: {len(frac)} value(s) are not, e.g. {_show(frac.iloc[0])}")
    if kind == "binary":
        bad = ok[~ok.isin([0, 1])]
        if len(bad):
            problems.append(f"column {name!r} must be 0 or 1: {len(bad)} value(s) are not, e.g. {_show(bad.iloc[0])}")
        return problems
    out_low = ok[ok < lo] if lo is not None else ok.iloc[:0]
    out_high = ok[ok > hi] if hi is not None else ok.iloc[:0]
    if len(out_low) or len(out_high):
        example = (out_low if len(out_low) else out_high).iloc[0]
        span = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        problems.append(f"column {name!r} must lie in {span}: {len(out_low) + len(out_high)} value(s) do not, "
                        f"e.g. {_show(example)}")
    return problems


def validate_chip2002(frame: pd.DataFrame) -> list[str]:
    """Every problem with ``frame`` against :data:`SCHEMA` (empty list when it conforms)."""
    problems = [f"missing column {name!r} ({SCHEMA[name][3]})" for name in SCHEMA if name not in frame.columns]
    if len(frame) == 0:
        return problems + ["the file has a header but no data rows"]
    key = [c for c in PERSON_KEY if c in frame.columns]
    if key == list(PERSON_KEY):
        repeated = frame.duplicated(key, keep=False).to_numpy()
        if repeated.any():
            rows = np.flatnonzero(repeated)
            problems.append(f"{int(frame.duplicated(key).sum())} duplicated row(s): rows "
                            f"{', '.join(map(str, rows[:6]))}{' ...' if len(rows) > 6 else ''} (counting from 0) "
                            f"share their {', '.join(PERSON_KEY)} with another row")
    columns = {**SCHEMA, **{k: v for k, v in OPTIONAL.items() if k in frame.columns}}
    clean = set()
    for name, (kind, lo, hi, _) in columns.items():
        if name in frame.columns:
            column_problems = _check_column(name, frame[name], kind, lo, hi)
            problems += column_problems
            clean.update([] if column_problems else [name])
    if "migrant" in clean and frame["migrant"].nunique() == 1:
        problems.append(f"column 'migrant' is {_show(frame['migrant'].iloc[0])} in every row: the probit needs "
                        "both migrants and non-migrants")
    if problems:
        return problems
    # cross-column consistency (only once every column is present and clean)
    checks = [
        (frame["family_migrants"] > frame["family_population"], "family_migrants exceeds family_population"),
        (frame["village_migrants"] > frame["village_population"], "village_migrants exceeds village_population"),
        (frame["family_population"] >= frame["village_population"],
         "family_population is not smaller than village_population (eq 9 would divide by zero or less)"),
        ((frame["village_migrants"] - frame["family_migrants"]) < 0, "village_migrants is below family_migrants"),
    ]
    for mask, text in checks:
        if mask.any():
            problems.append(f"{text} in {int(mask.sum())} row(s), e.g. row {int(np.flatnonzero(mask.to_numpy())[0])}")
    for col in ("village_population", "village_migrants", "mig_1998", "village_income"):
        varying = frame.groupby("village")[col].nunique()
        if (varying > 1).any():
            problems.append(f"column {col!r} must be constant within a village: {int((varying > 1).sum())} "
                            f"village(s) have several values, e.g. village {varying[varying > 1].index[0]!r}")
    return problems


def design_from_chip2002(frame: pd.DataFrame) -> pd.DataFrame:
    """The Table 3 design from a validated extract (see :func:`load_chip2002`)."""
    out = frame.copy()
    for k, name in enumerate(EDUCATION_DUMMIES, start=2):
        out[name] = (frame["education"] == k).astype(float)
    for k, name in enumerate(HEALTH_DUMMIES, start=1):
        out[name] = (frame["health"] == k).astype(float)
    out["age_squared"] = frame["age"].astype(float) ** 2
    out["village_income_squared"] = frame["village_income"].astype(float) ** 2
    # eq (9): the village ratio without one's own family
    out["peer"] = ((frame["village_migrants"] - frame["family_migrants"])
                   / (frame["village_population"] - frame["family_population"])).astype(float)
    for c in CATEGORIES:
        levels = frame[c].astype(int).map(CODE_TO_LEVEL)
        out[f"{c}_score"] = levels.map(LEVEL_SCORES).astype(float)
        out[f"peer_x_{c}_score"] = out["peer"] * out[f"{c}_score"]
        for lv in LEVELS:
            out[interaction_dummy(c, lv)] = (levels == lv).astype(float)
            out[interaction_term(c, lv)] = out["peer"] * out[interaction_dummy(c, lv)]
    for col in ("migrant", "female", "married", "communist", "friends_outside", "friends_village_cadre",
                "mountain_area", "hill_area"):
        out[col] = out[col].astype(float)
    out["intercept"] = 1.0
    return out


def load_chip2002(path: str | Path) -> pd.DataFrame:
    """Read, validate and prepare a CHIP 2002 extract; raises :class:`Chip2002SchemaError`."""
    path = Path(path)
    frame = _read(path)
    problems = validate_chip2002(frame)
    if problems:
        raise Chip2002SchemaError(path, problems)
    return design_from_chip2002(frame)


def extract_from_world(world) -> pd.DataFrame:
    """A synthetic world written in :data:`SCHEMA` (questionnaire codes, village and family counts).

    Village migrant counts are the expected ratio times the population, rounded; family counts
    are the realized migrants among the family's working-age members. Useful to try the loader.
    """
    d = world.data
    edu = 1 + sum(k * d[name] for k, name in enumerate(EDUCATION_DUMMIES, start=1))
    health = 5 - sum((5 - k) * d[name] for k, name in enumerate(HEALTH_DUMMIES, start=1))
    level_to_code = {v: k for k, v in CODE_TO_LEVEL.items()}
    out = d[["county", "village", "household", "migrant", "female", "age", "married", "communist",
             "household_labor_force", "family_per_capita_land", "kids_under_6", "kids_6_to_12",
             "elders_over_65", "friends_outside", "friends_village_cadre", "mig_1998", "dist_county_seat",
             "dist_transport_terminal", "village_income", "mountain_area", "hill_area",
             "family_political_class", "village_population"]].copy()
    out["education"] = edu.astype(int)
    out["health"] = health.astype(int)
    for c in CATEGORIES:
        code = pd.Series(level_to_code["none_few"], index=d.index)
        for lv in LEVELS:
            code = code.where(d[interaction_dummy(c, lv)] == 0, level_to_code[lv])
        out[c] = code.astype(int)
    out.insert(3, "person", d.groupby("household").cumcount() + 1)
    out["family_population"] = d.groupby("household")["household"].transform("size").astype(int)
    out["family_migrants"] = d.groupby("household")["migrant"].transform("sum").astype(int)
    out["village_migrants"] = np.round(d["village_expected_ratio"] * d["village_population"]).astype(int)
    int_cols = ["migrant", "female", "age", "married", "communist", "household_labor_force", "kids_under_6",
                "kids_6_to_12", "elders_over_65", "friends_outside", "friends_village_cadre", "mountain_area",
                "hill_area", "family_political_class"]
    out[int_cols] = out[int_cols].astype(int)
    return out
