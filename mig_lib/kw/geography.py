"""The geography of the China location-choice model: 31 provinces, their capitals, borders and data.

Everything is read from ``data/china/`` where every number carries its source:

* ``provinces.csv`` -- codes (ISO 3166-2:CN suffixes), names, 2020 census populations, 2020
  per-capita disposable income (mu_j), and an illustrative major-dialect-group label;
* ``capitals.csv`` -- longitude/latitude of each provincial seat, taken from the adcode table that
  the ``cpca`` package ships (``cpca/resources/adcodes.csv``);
* ``borders.csv`` -- an edge list of shared land borders; the adjacency matrix is built here and is
  symmetric by construction.

Great-circle distances are computed here (haversine on a sphere of mean Earth radius).

Amenities and housing (the draft's section 3.4) are not shipped: no yearbook table of amenity
indicators, rents or house prices can be checked against a source in the repository. A user
plugs a table in with :func:`load_amenities` (schema below); without one the amenity covariates
are absent and rent and house prices are zero everywhere, which the chapter says where it shows
the utility equation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mig_lib.core import ParameterError
from mig_lib.core import paths as core_paths

DATA_DIR = core_paths.DATA_DIR / "china"

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088

#: Canonical province order: administrative-division code order 11..65.
PROVINCE_CODES = (
    "BJ", "TJ", "HE", "SX", "NM", "LN", "JL", "HL", "SH", "JS", "ZJ", "AH", "FJ", "JX", "SD", "HA",
    "HB", "HN", "GD", "GX", "HI", "CQ", "SC", "GZ", "YN", "XZ", "SN", "GS", "QH", "NX", "XJ",
)

YUAN_PER_INCOME_UNIT = 10_000.0  # mu_j is measured in 10,000 yuan per year
PERSONS_PER_POPULATION_UNIT = 10_000_000.0  # the moving-cost population term uses tens of millions


@dataclass(frozen=True)
class Geography:
    """A set of provinces with everything the model needs about them (arrays in ``codes`` order)."""

    codes: tuple
    names_en: tuple
    names_zh: tuple
    capitals: tuple
    lon: np.ndarray
    lat: np.ndarray
    distance_km: np.ndarray
    adjacent: np.ndarray
    population: np.ndarray
    dialect_group: tuple
    mean_income: np.ndarray
    amenity: np.ndarray
    amenity_names: tuple = ()                 # names of the amenity covariates Y_k (columns of amenity_covariates)
    amenity_covariates: np.ndarray | None = None  # (L, K) amenity indicators Y_{k, j}; None: no covariates
    rent: np.ndarray | None = None            # (L,) rent index r_j; None: zero everywhere
    house_price: np.ndarray | None = None     # (L,) house-price index h_j; None: zero everywhere

    @property
    def n(self) -> int:
        """Number of provinces L."""
        return len(self.codes)

    def index(self, code: str) -> int:
        """Position of a province code in this geography."""
        if code not in self.codes:
            raise ParameterError(f"province code {code!r} is not in this geography: expected one of {list(self.codes)}")
        return self.codes.index(code)

    def same_dialect(self) -> np.ndarray:
        """(L, L) bool: provinces i and j share the major dialect-group label."""
        groups = np.array(self.dialect_group, dtype=object)
        return groups[:, None] == groups[None, :]

    def frame(self) -> pd.DataFrame:
        """The province table (one row per province) for display."""
        return pd.DataFrame({
            "code": self.codes, "province": self.names_en, "省份": self.names_zh, "capital": self.capitals,
            "longitude": self.lon, "latitude": self.lat, "population_2020": self.population,
            "mean_income_10k_yuan": self.mean_income, "dialect_group": self.dialect_group,
            "neighbours": self.adjacent.sum(axis=1),
        })


#: Columns of an amenity and housing table (one row per province): ``code`` (province code),
#: ``rent`` and ``house_price`` (indices in the user's units, e.g. yuan per m² per month and
#: 10,000 yuan per m²), ``source`` (where the row's numbers come from; required, non-empty) and any
#: number of amenity indicators named ``amenity_<name>`` (e.g. ``amenity_green_space``).
AMENITY_REQUIRED_COLUMNS = ("code", "rent", "house_price", "source")
AMENITY_PREFIX = "amenity_"


def load_amenities(geography: Geography, table: pd.DataFrame | str | Path) -> Geography:
    """The geography with amenity covariates, rents and house prices from a table (or CSV path).

    Checks the schema once and names the first problem: required columns, a row for every
    province of the geography (extra provinces are ignored), no duplicate codes, finite numbers,
    a non-empty source for every row, amenity columns that vary across the geography's provinces
    (a constant shifts every province equally and is not identified).
    """
    if isinstance(table, (str, Path)):
        path = Path(table)
        if not path.exists():
            raise ParameterError(f"amenity table {str(path)!r} does not exist")
        table = pd.read_csv(path)
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"argument 'table' is not allowed: expected a DataFrame or a CSV path, got {type(table).__name__}")
    missing = [c for c in AMENITY_REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ParameterError(f"amenity table: missing column(s) {missing}; required are {list(AMENITY_REQUIRED_COLUMNS)} "
                             f"plus any '{AMENITY_PREFIX}<name>' columns")
    duplicated = table["code"][table["code"].duplicated()].tolist()
    if duplicated:
        raise ParameterError(f"amenity table: province code(s) {duplicated} appear more than once")
    absent = [c for c in geography.codes if c not in set(table["code"])]
    if absent:
        raise ParameterError(f"amenity table: no row for province(s) {absent} of the geography")
    rows = table.set_index("code").loc[list(geography.codes)]
    sources = rows["source"]
    if sources.isna().any() or (sources.astype(str).str.strip() == "").any():
        raise ParameterError("amenity table: every row needs a non-empty 'source'")
    names = tuple(c[len(AMENITY_PREFIX):] for c in table.columns if c.startswith(AMENITY_PREFIX))
    numeric = {}
    for column in ["rent", "house_price"] + [AMENITY_PREFIX + n for n in names]:
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            bad = list(geography.codes)[int(np.flatnonzero(~np.isfinite(values))[0])]
            raise ParameterError(f"amenity table: column {column!r} has a missing or non-numeric value for {bad}")
        numeric[column] = values
    for n in names:
        if np.ptp(numeric[AMENITY_PREFIX + n]) == 0:
            raise ParameterError(f"amenity table: column '{AMENITY_PREFIX}{n}' is the same in every province")
    covariates = np.column_stack([numeric[AMENITY_PREFIX + n] for n in names]) if names else None
    return replace(geography, amenity_names=names, amenity_covariates=covariates,
                   rent=numeric["rent"], house_price=numeric["house_price"])


def great_circle_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Haversine great-circle distance in km between points given in degrees (broadcasts)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    half_chord = (np.sin((lat2 - lat1) / 2) ** 2
                  + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(half_chord, 0.0, 1.0)))


def read_province_table(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """Merge ``provinces.csv`` and ``capitals.csv`` into one table in canonical order."""
    provinces = pd.read_csv(data_dir / "provinces.csv", dtype={"adcode_prefix": str})
    capitals = pd.read_csv(data_dir / "capitals.csv", dtype={"adcode": str})
    table = provinces.merge(capitals[["code", "longitude", "latitude"]], on="code", how="left", validate="1:1")
    if tuple(table["code"]) != PROVINCE_CODES:
        raise ValueError("data/china/provinces.csv is not in canonical province order")
    return table


def read_border_pairs(data_dir: Path = DATA_DIR) -> list:
    """Shared-border pairs (code_a, code_b) from ``borders.csv``."""
    borders = pd.read_csv(data_dir / "borders.csv")
    return list(zip(borders["province_a"], borders["province_b"]))


def adjacency_matrix(codes, pairs) -> np.ndarray:
    """Symmetric (L, L) bool matrix with True where two provinces of ``codes`` share a border."""
    position = {c: i for i, c in enumerate(codes)}
    adjacent = np.zeros((len(codes), len(codes)), dtype=bool)
    for a, b in pairs:
        if a == b:
            raise ValueError(f"border pair ({a}, {b}) joins a province to itself")
        if a in position and b in position:
            adjacent[position[a], position[b]] = adjacent[position[b], position[a]] = True
    return adjacent


def load_china(provinces="all", data_dir: Path = DATA_DIR) -> Geography:
    """Load the 31-province geography, or the sub-geography of a list of province codes.

    ``provinces`` is ``"all"`` or a list of distinct ISO 3166-2:CN suffixes (e.g. ``["BJ", "SH"]``);
    the result keeps the canonical order whatever the order of the list.
    """
    if isinstance(provinces, str):
        if provinces != "all":
            raise ParameterError(f"argument 'provinces' = {provinces!r} is not allowed: expected 'all' or a list of province codes")
        chosen = PROVINCE_CODES
    else:
        chosen = list(provinces)
        unknown = [c for c in chosen if c not in PROVINCE_CODES]
        if unknown or len(set(chosen)) != len(chosen) or len(chosen) < 2:
            raise ParameterError(
                f"argument 'provinces' = {chosen!r} is not allowed: expected at least 2 distinct codes from {list(PROVINCE_CODES)}")
        chosen = tuple(c for c in PROVINCE_CODES if c in set(chosen))
    table = read_province_table(data_dir)
    table = table[table["code"].isin(chosen)].reset_index(drop=True)
    lon = table["longitude"].to_numpy(float)
    lat = table["latitude"].to_numpy(float)
    distance = great_circle_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    np.fill_diagonal(distance, 0.0)
    codes = tuple(table["code"])
    return Geography(
        codes=codes,
        names_en=tuple(table["name_en"]),
        names_zh=tuple(table["name_zh"]),
        capitals=tuple(table["capital_en"]),
        lon=lon,
        lat=lat,
        distance_km=distance,
        adjacent=adjacency_matrix(codes, read_border_pairs(data_dir)),
        population=table["population_2020"].to_numpy(float),
        dialect_group=tuple(table["dialect_group"]),
        mean_income=table["income_2020_yuan"].to_numpy(float) / YUAN_PER_INCOME_UNIT,
        # Amenities are not measured in this chapter: zero utility everywhere (illustrative baseline).
        amenity=np.zeros(len(codes)),
    )
