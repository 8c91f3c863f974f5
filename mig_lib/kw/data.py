"""Panel data for the Kennan–Walker likelihood: a documented schema and a validating loader.

The book estimates the model on simulated panels, but the same code runs on a real survey panel
(for example CFPS 2010–2022, which researchers obtain under licence). A panel is a long table with
one row per person and year:

============  =========  ==============================================================
column        type       meaning
============  =========  ==============================================================
``person``    int / str  person identifier (any hashable label)
``year``      int        survey year; a person's years are ``observed_every`` apart (1: annual,
                         no gaps; 2: every other year, as CFPS)
``age``       int        age in that year; must rise by exactly one per year
``province``  int / str  province of residence in that year (a code from ``provinces``)
``wage``      float      annual income in the model's units (10,000 yuan), >= 0; NaN = not observed
``home``      int / str  optional: home (hukou) province, constant per person; when the column
                         is absent the first observed province is used
``education`` str        education group, constant per person, one of the model's groups
                         (:func:`mig_lib.kw.model.education_groups`, e.g. ``below_college``,
                         ``college``); required when the model has more than one group
============  =========  ==============================================================

The choice made in year t is the province of year t+1, so a person observed every year for T
years contributes T wage observations and T-1 location choices. In a panel observed every other
year the location and wage of the years between waves are not observed: the likelihood sums over
them.

Missing wages. A wage that is NaN (or one of the survey's missing-value codes passed as
``missing_codes=``, e.g. ``(-8, -9)``) is not observed: the likelihood drops that year's wage
density ψ_it from the product of eq 11 while the year's location choice still counts. This
integrates the unobserved wage out, which is right when whether a wage is reported does not
depend on the wage itself given the person's state and unobservables. Negative, infinite and
absurdly large wages (above :data:`MAX_WAGE`) are errors, reported with their row numbers, so a
missing-value code can never pass into estimation as an income. The one exception: panels
simulated from the model (:func:`panel_from_simulation`, marked in ``frame.attrs``) may hold a
few negative wages, since the model's wage equation is normal in levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mig_lib.core import ParameterError

REQUIRED_COLUMNS = ("person", "year", "age", "province", "wage")
OPTIONAL_COLUMNS = ("home", "education")
#: Largest annual income accepted, in 10,000 yuan (one billion yuan a year): anything above it is
#: a unit or coding error, not an income.
MAX_WAGE = 1e5
#: Survey years accepted.
YEAR_RANGE = (1900, 2100)


@dataclass(frozen=True)
class PanelArrays:
    """A validated panel as flat arrays (rows sorted by person, then year).

    Provinces are stored as indices into ``provinces``. ``choice[t]`` is the province index of
    the next row of the same person, or -1 on a person's last row. ``person_start[i]`` and
    ``person_start[i + 1]`` delimit person i's rows.
    """

    provinces: tuple
    person_ids: np.ndarray
    person_start: np.ndarray
    home: np.ndarray
    age: np.ndarray
    location: np.ndarray
    choice: np.ndarray
    wage: np.ndarray
    gap: np.ndarray | None = None   # years from each row to the person's next row (0 on the last row)
    education: np.ndarray | None = None   # per person: index into ``education_groups``; None: no column
    education_groups: tuple = ()

    @property
    def observed_every_year(self) -> bool:
        return self.gap is None or bool(np.all(self.gap <= 1))

    @property
    def n_people(self) -> int:
        return len(self.person_ids)

    @property
    def n_rows(self) -> int:
        return len(self.age)

    @property
    def n_moves(self) -> int:
        has = self.choice >= 0
        return int(np.sum(self.choice[has] != self.location[has]))


def _fail(message: str) -> None:
    raise ParameterError(f"invalid panel: {message}")


def _plain(value):
    """A value as the reader typed it (messages show 7, not np.int64(7))."""
    return value.item() if isinstance(value, np.generic) else value


def _row(panel: pd.DataFrame, position: int) -> dict:
    """One row as plain Python values."""
    return {column: _plain(panel[column].iloc[position]) for column in panel.columns}


def _rows(mask: np.ndarray) -> str:
    """The positions where ``mask`` holds, as a message fragment (the first five and a count)."""
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(int(r)) for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"{'row' if len(rows) == 1 else 'rows'} {shown}{more} (counting from 0 in the order given)"


def _missing_codes(missing_codes) -> tuple[float, ...]:
    codes = (missing_codes,) if isinstance(missing_codes, (int, float, np.number)) else missing_codes
    try:
        codes = tuple(codes)
    except TypeError:
        codes = None
    if codes is None or any(isinstance(c, bool) or not isinstance(c, (int, float, np.number))
                            or not np.isfinite(c) for c in codes):
        raise ParameterError(f"argument 'missing_codes' = {missing_codes!r} is not allowed: expected a "
                             "sequence of finite numbers, e.g. (-8, -9)")
    return tuple(float(c) for c in codes)


def validate_panel(frame: pd.DataFrame, provinces: Sequence, age_range: tuple[int, int],
                   missing_codes: Sequence[float] = (), allow_negative_wages: bool | None = None,
                   observed_every: int = 1, education_groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Check a panel against the schema and return a clean copy sorted by person and year.

    Raises ParameterError naming the first problem found (missing column, missing value,
    unknown province, year outside :data:`YEAR_RANGE`, duplicate or non-consecutive years, age
    inconsistent with year, age outside ``age_range``, home that changes within a person, wage
    that is non-numeric, infinite, negative or above :data:`MAX_WAGE`, with its row numbers).
    Wages equal to one of ``missing_codes`` become NaN, i.e. not observed (see the module
    docstring for how the likelihood treats them). ``allow_negative_wages`` defaults to whether
    the frame was simulated from the model (``frame.attrs["simulated"]``). Consecutive rows of
    a person must be ``observed_every`` years apart (2 for a survey every other year, as CFPS).
    ``education_groups`` (the model's groups): the ``education`` column must hold one of them,
    the same for every row of a person; with more than one group the column is required.
    """
    codes = _missing_codes(missing_codes)
    if not isinstance(observed_every, (int, np.integer)) or not 1 <= observed_every <= 5:
        raise ParameterError(f"argument 'observed_every' = {observed_every!r} is not allowed: expected an integer "
                             "in [1, 5] (years between two observations of a person)")
    if not isinstance(frame, pd.DataFrame):
        _fail(f"expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        _fail(f"missing column(s) {missing}; required columns are {list(REQUIRED_COLUMNS)}")
    if allow_negative_wages is None:
        allow_negative_wages = bool(frame.attrs.get("simulated", False))
    columns = list(REQUIRED_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in frame.columns]
    panel = frame[columns].copy()
    if len(panel) == 0:
        _fail("the panel has no rows")
    for column in [c for c in columns if c != "wage"]:
        if panel[column].isna().any():
            row = int(np.flatnonzero(panel[column].isna().to_numpy())[0])
            _fail(f"column {column!r} has a missing value (row {row}); only 'wage' may be missing")
    lo, hi = age_range
    for column, (low, high) in (("year", YEAR_RANGE), ("age", (lo, hi))):
        as_float = pd.to_numeric(panel[column], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(as_float)) or not np.all(as_float == np.round(as_float)):
            _fail(f"column {column!r} must hold whole numbers")
        # checked before the conversion to integers, which would wrap a value such as 1e20
        if column == "year" and ((as_float < low) | (as_float > high)).any():
            outside = (as_float < low) | (as_float > high)
            value = _plain(panel[column].iloc[int(np.flatnonzero(outside)[0])])
            _fail(f"column 'year' has value {value!r} at {_rows(outside)}: expected survey years in "
                  f"[{low}, {high}]")
        if column == "age" and ((as_float < low) | (as_float > high)).any():
            row = _row(panel, int(np.flatnonzero((as_float < low) | (as_float > high))[0]))
            _fail(f"person {row['person']!r} has age {row['age']} in {row['year']}, outside the "
                  f"model's ages [{lo}, {hi}]")
        panel[column] = as_float.astype(np.int64)
    allowed = list(provinces)
    allowed_set = set(allowed)
    for column in [c for c in ("province", "home") if c in panel.columns]:
        unknown = sorted({_plain(v) for v in panel[column].unique() if v not in allowed_set}, key=str)
        if unknown:
            _fail(f"column {column!r} has province code(s) {unknown[:5]} not among the model's "
                  f"provinces {allowed}")
    wage = np.array(pd.to_numeric(panel["wage"], errors="coerce"), dtype=float)
    non_numeric = np.isnan(wage) & panel["wage"].notna().to_numpy()
    if non_numeric.any():
        _fail(f"column 'wage' has a non-numeric value at {_rows(non_numeric)}")
    if codes:
        wage[np.isin(wage, codes)] = np.nan
    for bad, what in ((np.isinf(wage), "an infinite value"),
                      (wage < 0 if not allow_negative_wages else np.zeros_like(wage, dtype=bool), "a negative value"),
                      (wage > MAX_WAGE, f"a value above {MAX_WAGE:g} (10,000 yuan a year)")):
        if bad.any():
            hint = (" (if these are survey missing-value codes, pass them as missing_codes=, e.g. "
                    "missing_codes=(-8, -9), to treat them as not observed)") if what == "a negative value" else ""
            _fail(f"column 'wage' has {what}, {_plain(wage[np.flatnonzero(bad)[0]])!r}, at {_rows(bad)}{hint}")
    panel["wage"] = wage
    panel = panel.sort_values(["person", "year"], kind="stable").reset_index(drop=True)
    same_person = panel["person"].to_numpy()[1:] == panel["person"].to_numpy()[:-1]
    year_step = np.diff(panel["year"].to_numpy())
    age_step = np.diff(panel["age"].to_numpy())
    duplicate = same_person & (year_step == 0)
    if duplicate.any():
        row = _row(panel, int(np.flatnonzero(duplicate)[0]))
        _fail(f"person {row['person']!r} has two rows for year {row['year']}")
    gap = same_person & (year_step != observed_every)
    if gap.any():
        row = _row(panel, int(np.flatnonzero(gap)[0]))
        _fail(f"person {row['person']!r} has a gap after year {row['year']}: years must be "
              f"{observed_every} apart (observed_every = {observed_every}; split the person into separate "
              "spells or drop the later years)")
    bad_age = same_person & (age_step != year_step)
    if bad_age.any():
        row = _row(panel, int(np.flatnonzero(bad_age)[0]))
        _fail(f"person {row['person']!r}: age must rise by one per year (after year {row['year']})")
    if "home" in panel.columns:
        homes_per_person = panel.groupby("person", sort=False)["home"].nunique()
        changing = homes_per_person[homes_per_person > 1]
        if len(changing):
            _fail(f"person {_plain(changing.index[0])!r} has more than one home province")
    if education_groups is not None:
        groups = list(education_groups)
        if "education" not in panel.columns and len(groups) > 1:
            _fail(f"missing column 'education': the model has education groups {groups}; give each person's group")
        if "education" in panel.columns:
            unknown = ~panel["education"].isin(groups).to_numpy()
            if unknown.any():
                _fail(f"column 'education' has value {_plain(panel['education'].iloc[int(np.flatnonzero(unknown)[0])])!r} "
                      f"at {_rows(unknown)}: expected one of the model's education groups {groups}")
    if "education" in panel.columns:
        per_person = panel.groupby("person", sort=False)["education"].nunique()
        changing = per_person[per_person > 1]
        if len(changing):
            _fail(f"person {_plain(changing.index[0])!r} has more than one education group (column 'education' "
                  "must be constant per person: the model's groups are fixed over the panel's ages)")
    return panel


def read_panel(path: str | Path, provinces: Sequence, age_range: tuple[int, int],
               missing_codes: Sequence[float] = (), observed_every: int = 1,
               education_groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a panel from a CSV or Stata (.dta, the format CFPS ships) file and validate it.

    Wages that are NaN, or equal to one of ``missing_codes`` (CFPS uses -8 "not applicable",
    -9 "missing", ...; pass the codes your release uses), are treated as not observed: the
    likelihood leaves out that year's wage density but keeps the year's location choice (see
    the module docstring). Negative, infinite or absurd wages are rejected with their row numbers.
    ``observed_every = 2`` for a survey every other year, such as CFPS.
    """
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"panel file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path)
    elif suffix == ".dta":
        frame = pd.read_stata(path)
    else:
        raise ParameterError(f"panel file {str(path)!r}: expected a .csv or .dta file, got {suffix!r}")
    return validate_panel(frame, provinces, age_range, missing_codes=missing_codes, observed_every=observed_every,
                          education_groups=education_groups)


def panel_arrays(frame: pd.DataFrame, provinces: Sequence, age_range: tuple[int, int],
                 allow_negative_wages: bool | None = None, observed_every: int = 1,
                 education_groups: Sequence[str] | None = None) -> PanelArrays:
    """Validate a panel and turn it into the flat arrays the likelihood uses.

    ``education_groups``: the model's education groups (see :func:`validate_panel`); None accepts
    any labels in the ``education`` column and numbers them in sorted order.
    """
    panel = validate_panel(frame, provinces, age_range, allow_negative_wages=allow_negative_wages,
                           observed_every=observed_every, education_groups=education_groups)
    index_of = {code: k for k, code in enumerate(provinces)}
    location = panel["province"].map(index_of).to_numpy(dtype=np.int64)
    person = panel["person"].to_numpy()
    new_person = np.r_[True, person[1:] != person[:-1]]
    starts = np.flatnonzero(new_person)
    person_start = np.r_[starts, len(panel)].astype(np.int64)
    last_row = np.r_[new_person[1:], True]
    choice = np.where(last_row, -1, np.r_[location[1:], -1]).astype(np.int64)
    if "home" in panel.columns:
        home = panel["home"].to_numpy()[starts]
        home = np.array([index_of[h] for h in home], dtype=np.int64)
    else:
        home = location[starts].copy()
    education, groups = None, tuple(education_groups or ())
    if "education" in panel.columns:
        groups = groups or tuple(sorted(panel["education"].unique(), key=str))
        group_of = {g: k for k, g in enumerate(groups)}
        education = np.array([group_of[g] for g in panel["education"].to_numpy()[starts]], dtype=np.int64)
    return PanelArrays(
        provinces=tuple(provinces),
        education=education,
        education_groups=groups,
        person_ids=person[starts],
        person_start=person_start,
        home=home,
        age=panel["age"].to_numpy(dtype=np.int64),
        location=location,
        choice=choice,
        wage=panel["wage"].to_numpy(dtype=float),
        gap=np.where(last_row, 0, np.r_[np.diff(panel["year"].to_numpy()), 0]).astype(np.int64),
    )


def panel_from_simulation(simulated: pd.DataFrame, codes: Sequence, n_years: int,
                          first_year: int = 2010, observed_every: int = 1) -> pd.DataFrame:
    """The first ``n_years`` of each simulated life as a panel in the schema above, observed
    every ``observed_every`` years (the first year always).

    ``simulated`` is the frame of :func:`mig_lib.kw.simulate.simulate_panel` (one row per person
    and age, provinces as indices into ``codes``). Years are synthetic: ``first_year`` is the
    first model age. The unobserved columns (type, matches, eta, ...) are dropped: the estimator
    sees only what a survey would record.
    """
    if not isinstance(n_years, (int, np.integer)) or n_years < 1:
        raise ParameterError(f"argument 'n_years' = {n_years!r} is not allowed: expected an integer >= 1")
    first_age = int(simulated["age"].min())
    if not isinstance(observed_every, (int, np.integer)) or not 1 <= observed_every <= 5:
        raise ParameterError(f"argument 'observed_every' = {observed_every!r} is not allowed: expected an integer in [1, 5]")
    kept = simulated[(simulated["age"] < first_age + n_years) & ((simulated["age"] - first_age) % observed_every == 0)]
    codes = np.asarray(codes, dtype=object)
    frame = pd.DataFrame({
        "person": kept["person"].to_numpy(),
        "year": first_year + kept["age"].to_numpy() - first_age,
        "age": kept["age"].to_numpy(),
        "province": codes[kept["location"].to_numpy()],
        "wage": kept["wage"].to_numpy(dtype=float),
        "home": codes[kept["home"].to_numpy()],
    }).reset_index(drop=True)
    if "education" in kept.columns:
        frame["education"] = kept["education"].to_numpy()
    # the model's wage equation is normal in levels: a simulated wage may be negative
    frame.attrs["simulated"] = True
    return frame
