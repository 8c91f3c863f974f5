"""The geography of the China location-choice model: 31 provinces, their capitals, borders and data.

Everything is read from ``data/china/`` where every number carries its source and a status
(:data:`DATA_STATUS`): ``checked`` (equal to a table shipped in an installed package, compared by
:func:`compare_with_sources`), ``unchecked`` (transcribed from a publication the repository does
not ship: it cannot be verified here, and the chapter uses it as an illustrative input, not as data
it vouches for) or ``illustrative`` (the book's own simplification). :data:`DATA_FIELDS` lists
every quantity, its symbol, unit, file, source column and status column; :func:`data_provenance`
prints them and refuses a file whose statuses are not from the vocabulary.

* ``provinces.csv`` -- codes (ISO 3166-2:CN suffixes), adcode prefixes and Chinese names (checked
  against ``cpca``), 2020 census populations (unchecked), 2020 per-capita disposable income of all
  residents (unchecked; the model's mu_j, which is *not* a wage: it includes transfers and property
  income and averages over every resident, so it stands in for the mean wage of the draft's eq 7
  as a level), and a major-dialect-group label (illustrative);
* ``capitals.csv`` -- longitude/latitude of each provincial seat, taken from the adcode table that
  the ``cpca`` package ships (``cpca/resources/adcodes.csv``; checked);
* ``borders.csv`` -- an edge list of shared land borders compiled by hand (unchecked); the
  adjacency matrix is built here and is symmetric by construction.

Great-circle distances are computed here (haversine on a sphere of mean Earth radius).

Amenities and housing (the draft's section 3.4) are not shipped: no yearbook table of amenity
indicators, rents or house prices can be checked against a source in the repository. A user
plugs a table in with :func:`load_amenities` (schema in :data:`AMENITY_SCHEMA`); without one the
amenity covariates are absent and rent and house prices are zero everywhere, which the chapter
says where it shows the utility equation.
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
    mean_income: np.ndarray                   # (L,) mu_j: disposable income per resident, 10,000 yuan (not a wage)
    amenity: np.ndarray
    amenity_names: tuple = ()                 # names of the amenity covariates Y_k (columns of amenity_covariates)
    amenity_covariates: np.ndarray | None = None  # (L, K) amenity indicators Y_{k, j}; None: no covariates
    rent: np.ndarray | None = None            # (L,) rent index r_j; None: zero everywhere
    house_price: np.ndarray | None = None     # (L,) house-price index h_j; None: zero everywhere
    culture: np.ndarray | None = None         # (L, L) cultural proximity index C(h, j); None: zero (no term)
    local_welfare: np.ndarray | None = None   # (L,) rho_j, non-wage income from living in j (10,000 yuan); None: 0

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
        """The province table (one row per province) for display. ``disposable_income_10k_yuan`` is
        mu_j: per-capita disposable income of all residents, not a wage (see the module docstring)."""
        return pd.DataFrame({
            "code": self.codes, "province": self.names_en, "省份": self.names_zh, "capital": self.capitals,
            "longitude": self.lon, "latitude": self.lat, "population_2020": self.population,
            "disposable_income_10k_yuan": self.mean_income, "dialect_group": self.dialect_group,
            "neighbours": self.adjacent.sum(axis=1),
        })


#: What a data value's status says (a column ``*status`` beside every ``*source`` column).
DATA_STATUS = {
    "checked": "equal to a table shipped in an installed package; compare_with_sources() compares them",
    "unchecked": "transcribed from a publication the repository does not ship, so it cannot be verified "
                 "here: an illustrative input, not data the book vouches for",
    "illustrative": "the book's own simplification, not a measurement",
}


@dataclass(frozen=True)
class DataField:
    """One quantity shipped in ``data/china/``: where it lives, what it is, where it comes from."""

    quantity: str
    symbol: str
    unit: str
    file: str
    columns: tuple
    source_column: str
    status_column: str


#: Every quantity in ``data/china/`` (identifiers aside); a test checks that every other column of
#: the files is a source or a status column, so a new number cannot ship without both.
DATA_FIELDS = (
    DataField("administrative code and Chinese name", "", "", "provinces.csv",
              ("adcode_prefix", "name_zh"), "names_source", "names_status"),
    DataField("resident population, 2020 census", "n_j", "persons (the model uses 10 million)", "provinces.csv",
              ("population_2020",), "population_source", "population_status"),
    DataField("per-capita disposable income of all residents, 2020: not a wage (it includes transfers and "
              "property income and averages over every resident); stands in for the mean wage",
              "μ_j", "yuan a year (the model uses 10,000 yuan)", "provinces.csv",
              ("income_2020_yuan",), "income_source", "income_status"),
    DataField("major dialect group of the capital's variety", "dialect group", "label", "provinces.csv",
              ("dialect_group",), "dialect_source", "dialect_status"),
    DataField("coordinates of the provincial seat (distances D_{ℓj} are computed from them)", "", "degrees",
              "capitals.csv", ("longitude", "latitude"), "source", "status"),
    DataField("shared land border", "adjacent(ℓ, j)", "pair of provinces", "borders.csv",
              ("province_a", "province_b"), "source", "status"),
)
#: Columns that identify a row rather than hold a number.
IDENTIFIER_COLUMNS = {"provinces.csv": ("code", "name_en", "capital_en"),
                      "capitals.csv": ("code", "adcode", "name_zh", "capital_en"),
                      "borders.csv": ()}


def _read_data_file(data_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(data_dir) / name, dtype=str, keep_default_na=False)


def data_provenance(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """One row per quantity of :data:`DATA_FIELDS`: symbol, quantity, unit, file, status and source.

    Checks every file once: each source column non-empty, each status column one value of
    :data:`DATA_STATUS` for every row (a quantity is checked as a whole or not at all); the error
    names the file, the column, the value and what is allowed.
    """
    rows = []
    for field in DATA_FIELDS:
        path = Path(data_dir) / field.file
        table = _read_data_file(data_dir, field.file)
        for column in (*field.columns, field.source_column, field.status_column):
            if column not in table.columns:
                raise ValueError(f"{path}: column {column!r} is missing; allowed: the columns "
                                 f"{list(field.columns)} with {field.source_column!r} and {field.status_column!r}")
        empty = table[field.source_column].str.strip() == ""
        if empty.any():
            row = int(empty.idxmax())
            raise ValueError(f"{path}: column {field.source_column!r} has value "
                             f"{table[field.source_column].iloc[row]!r} in row {row + 2}; "
                             "allowed: a non-empty source for every row")
        statuses = table[field.status_column].unique().tolist()
        if len(statuses) != 1 or statuses[0] not in DATA_STATUS:
            bad = next((v for v in statuses if v not in DATA_STATUS), statuses[-1])
            raise ValueError(f"{path}: column {field.status_column!r} has value {bad!r}; allowed: one of "
                             f"{list(DATA_STATUS)}, the same in every row")
        rows.append({"symbol": field.symbol, "quantity": field.quantity, "unit": field.unit,
                     "file": f"data/china/{field.file}", "columns": ", ".join(field.columns),
                     "status": statuses[0], "source": table[field.source_column].iloc[0]})
    return pd.DataFrame(rows)


def compare_with_sources(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """Every ``checked`` value of ``data/china/`` beside the table it was copied from (the adcode
    table that ``cpca`` ships): one row per value with ``file``, ``code``, ``column``, ``shipped``,
    ``source`` and ``equal``. Values of another status are not compared."""
    import importlib.resources

    adcodes = pd.read_csv(importlib.resources.files("cpca") / "resources" / "adcodes.csv", dtype=str,
                          keep_default_na=False).set_index("adcode")
    provinces, capitals = _read_data_file(data_dir, "provinces.csv"), _read_data_file(data_dir, "capitals.csv")
    rows = []
    if (provinces["names_status"] == "checked").all():
        for _, row in provinces.iterrows():
            source = adcodes.loc[row["adcode_prefix"] + "0000000000"] if row["adcode_prefix"] + "0000000000" in \
                adcodes.index else None
            rows.append(("provinces.csv", row["code"], "name_zh", row["name_zh"],
                         None if source is None else source["name"]))
    if (capitals["status"] == "checked").all():
        for _, row in capitals.iterrows():
            source = adcodes.loc[row["adcode"]] if row["adcode"] in adcodes.index else None
            for column in ("longitude", "latitude"):
                rows.append(("capitals.csv", row["code"], column, float(row[column]),
                             None if source is None else float(source[column])))
    frame = pd.DataFrame(rows, columns=["file", "code", "column", "shipped", "source"])
    frame["equal"] = frame["shipped"] == frame["source"]
    return frame


#: The schema of an amenity and housing table (one row per province; extra provinces are ignored):
#: column -> what is allowed. ``rent`` and ``house_price`` are in the user's units (e.g. yuan per m²
#: per month and 10,000 yuan per m²); amenity indicators are any number of ``amenity_<name>``
#: columns (e.g. ``amenity_green_space``).
AMENITY_SCHEMA = {
    "code": "a province code of the geography (ISO 3166-2:CN suffix, e.g. 'BJ'), each province once",
    "rent": "a finite number >= 0: the rent index r_j",
    "house_price": "a finite number >= 0: the house-price index h_j",
    "source": "non-empty text: where the row's numbers come from",
    "amenity_<name>": "a finite number, varying across the geography's provinces: the amenity indicator Y_{k,j}",
}
AMENITY_REQUIRED_COLUMNS = ("code", "rent", "house_price", "source")
AMENITY_PREFIX = "amenity_"


def load_amenities(geography: Geography, table: pd.DataFrame | str | Path) -> Geography:
    """The geography with amenity covariates, rents and house prices from a table (or CSV path).

    The table has one row per province and the columns of :data:`AMENITY_SCHEMA`:

    ========================  ===================================================================
    ``code``                  province code of the geography, each once (extra provinces ignored)
    ``rent``                  rent index r_j, a finite number >= 0
    ``house_price``           house-price index h_j, a finite number >= 0
    ``source``                non-empty text: where the row's numbers come from
    ``amenity_<name>`` (any)  amenity indicator Y_{k,j}, finite, varying across the provinces
    ========================  ===================================================================

    No other column is allowed (a misspelt ``amenty_air`` would otherwise be dropped in silence).
    The schema is checked once; the first problem raises a ParameterError naming the file (or
    "DataFrame"), the column, the value and what is allowed. The model then needs a coefficient
    per indicator: ``default_parameters(amenity_names=geography.amenity_names)``.
    """
    where = "amenity table (DataFrame)"
    if isinstance(table, (str, Path)):
        path = Path(table)
        where = f"amenity table {str(path)!r}"
        if not path.exists():
            raise ParameterError(f"{where} does not exist")
        table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"argument 'table' is not allowed: expected a DataFrame or a CSV path, got {type(table).__name__}")
    allowed = f"the columns {list(AMENITY_SCHEMA)}"

    def fail(column, value, rule, province=None):
        at = f" for province {province}" if province is not None else ""
        value = value.item() if isinstance(value, np.generic) else value
        raise ParameterError(f"{where}: column {column!r} has value {value!r}{at}; allowed: {rule}")

    for column in AMENITY_REQUIRED_COLUMNS:
        if column not in table.columns:
            raise ParameterError(f"{where}: column {column!r} is missing; required: {allowed}")
    for column in table.columns:
        if column not in AMENITY_REQUIRED_COLUMNS and not (str(column).startswith(AMENITY_PREFIX)
                                                           and len(str(column)) > len(AMENITY_PREFIX)):
            raise ParameterError(f"{where}: column {column!r} is not allowed: expected {allowed}")
    codes = table["code"].astype(str).str.strip().tolist()
    for code in codes:
        if code not in PROVINCE_CODES:
            fail("code", code, AMENITY_SCHEMA["code"])
    for code in codes:
        if codes.count(code) > 1:
            fail("code", code, AMENITY_SCHEMA["code"] + f" (it appears {codes.count(code)} times)")
    absent = [c for c in geography.codes if c not in codes]
    if absent:
        raise ParameterError(f"{where}: column 'code' has no row for province(s) {absent}; allowed: "
                             f"a row for every province of the geography {list(geography.codes)}")
    rows = table.assign(code=codes).set_index("code").loc[list(geography.codes)]
    for code, source in rows["source"].items():
        if pd.isna(source) or str(source).strip() == "":
            fail("source", "" if pd.isna(source) else source, AMENITY_SCHEMA["source"], code)
    names = tuple(c[len(AMENITY_PREFIX):] for c in table.columns if c.startswith(AMENITY_PREFIX))
    numeric = {}
    for column in ["rent", "house_price"] + [AMENITY_PREFIX + n for n in names]:
        rule = AMENITY_SCHEMA.get(column, AMENITY_SCHEMA["amenity_<name>"])
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | ((values < 0) if column in ("rent", "house_price") else False)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            fail(column, rows[column].iloc[k], rule, geography.codes[k])
        numeric[column] = values
    for n in names:
        if np.ptp(numeric[AMENITY_PREFIX + n]) == 0:
            fail(AMENITY_PREFIX + n, float(numeric[AMENITY_PREFIX + n][0]),
                 rule=f"{AMENITY_SCHEMA['amenity_<name>']} (it is the same in every province, which shifts every "
                      "province equally and is not identified)")
    covariates = np.column_stack([numeric[AMENITY_PREFIX + n] for n in names]) if names else None
    return replace(geography, amenity_names=names, amenity_covariates=covariates,
                   rent=numeric["rent"], house_price=numeric["house_price"])


def dialect_path(label: str) -> tuple:
    """A dialect-group label as a path from the root of a three-level tree (family, group, subgroup).

    Mandarin subgroups ("Jilu Mandarin") sit under Sinitic > Mandarin; the other Chinese groups
    (Wu, Yue, Min, ...) are their own group and subgroup; Tibetan is a separate family.
    """
    if label == "Tibetan":
        return ("Tibetic", "Tibetan", "Tibetan")
    if label.endswith("Mandarin"):
        return ("Sinitic", "Mandarin", label)
    return ("Sinitic", label, label)


def tree_similarity(labels) -> np.ndarray:
    """(L, L) the draft's eq 13, Similarity = 1 / (1 + d), d = steps from a leaf up to the lowest
    common ancestor of the two labels in the dialect tree (0 for the same subgroup)."""
    paths = [dialect_path(label) for label in labels]
    n = len(paths)
    similarity = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            common = 0
            while common < 3 and paths[i][common] == paths[j][common]:
                common += 1
            similarity[i, j] = 1.0 / (1.0 + (3 - common))
    return similarity


def entropy_weights(indicators) -> np.ndarray:
    """The entropy-weight method the draft names: indicators (each an (L, L) matrix in [0, 1]) that
    vary more across province pairs get more weight, w_k ∝ 1 - e_k with e_k the normalised entropy
    of indicator k's off-diagonal values."""
    weights = []
    for matrix in indicators:
        values = np.asarray(matrix, dtype=float)[~np.eye(len(matrix), dtype=bool)]
        share = values / values.sum() if values.sum() > 0 else np.full(values.size, 1.0 / values.size)
        entropy = -np.sum(share[share > 0] * np.log(share[share > 0])) / np.log(values.size)
        weights.append(1.0 - entropy)
    weights = np.array(weights)
    if weights.sum() <= 0:
        return np.full(len(weights), 1.0 / len(weights))
    return weights / weights.sum()


def cultural_proximity(geography: Geography, decay_km: float = 1000.0, extra=None,
                       weights=None) -> tuple[np.ndarray, dict]:
    """The cultural proximity index C (L, L) in [0, 1] of the draft's section 3.5 and data section.

    Components: geographic closeness exp(-D / decay_km) (the draft's exp(-λ D), λ = 1/decay_km),
    dialect similarity from the dialect tree (eq 13), and any further (L, L) similarity matrices a
    user supplies in ``extra`` (a dict name -> matrix in [0, 1], e.g. cuisine). They are combined
    with the entropy weights the draft names, or with ``weights`` (dict name -> weight) if given.
    Returns (C, {component name: (weight, matrix)}).
    """
    if not (isinstance(decay_km, (int, float)) and decay_km > 0):
        raise ParameterError(f"argument 'decay_km' = {decay_km!r} is not allowed: expected a positive number of km")
    components = {"distance decay": np.exp(-geography.distance_km / decay_km),
                  "dialect similarity": tree_similarity(geography.dialect_group)}
    for name, matrix in (extra or {}).items():
        matrix = np.asarray(matrix, dtype=float)
        if matrix.shape != (geography.n, geography.n) or not np.all(np.isfinite(matrix)) \
                or matrix.min() < 0 or matrix.max() > 1 or not np.allclose(matrix, matrix.T):
            raise ParameterError(f"extra similarity {name!r} is not allowed: expected a symmetric "
                                 f"({geography.n}, {geography.n}) matrix with values in [0, 1]")
        components[name] = matrix
    names = list(components)
    if weights is None:
        w = entropy_weights([components[n] for n in names])
    else:
        unknown = [n for n in weights if n not in components]
        if unknown or any(not weights.get(n, 0) >= 0 for n in names) or sum(weights.get(n, 0) for n in names) <= 0:
            raise ParameterError(f"argument 'weights' = {weights!r} is not allowed: expected non-negative weights "
                                 f"for components among {names}, not all zero")
        w = np.array([float(weights.get(n, 0.0)) for n in names])
        w = w / w.sum()
    index = sum(wk * components[n] for wk, n in zip(w, names))
    return index, {n: (float(wk), components[n]) for wk, n in zip(w, names)}


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
        raise ValueError(f"{Path(data_dir) / 'provinces.csv'}: column 'code' has values {list(table['code'])}; "
                         f"allowed: the 31 codes in canonical order {list(PROVINCE_CODES)}")
    missing = table.loc[table["longitude"].isna(), "code"].tolist()
    if missing:
        raise ValueError(f"{Path(data_dir) / 'capitals.csv'}: column 'code' has no row for {missing}; allowed: "
                         "one row per province of provinces.csv")
    return table


def read_border_pairs(data_dir: Path = DATA_DIR) -> list:
    """Shared-border pairs (code_a, code_b) from ``borders.csv``."""
    path = Path(data_dir) / "borders.csv"
    borders = pd.read_csv(path, keep_default_na=False)
    for column in ("province_a", "province_b"):
        for row, code in enumerate(borders[column]):
            if code not in PROVINCE_CODES:
                raise ValueError(f"{path}: column {column!r} has value {code!r} in row {row + 2}; allowed: a province "
                                 f"code from {list(PROVINCE_CODES)}")
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


def load_china(provinces="all", data_dir: Path = DATA_DIR, culture: bool = True) -> Geography:
    """Load the 31-province geography, or the sub-geography of a list of province codes.

    ``provinces`` is ``"all"`` or a list of distinct ISO 3166-2:CN suffixes (e.g. ``["BJ", "SH"]``);
    the result keeps the canonical order whatever the order of the list. With ``culture`` the
    cultural proximity index (:func:`cultural_proximity`, entropy weights of the 31 provinces) is
    attached, restricted to the chosen provinces.
    """
    data_provenance(data_dir)  # every quantity has a source and a status from the vocabulary
    geography = _load_tables(provinces, data_dir)
    if not culture:
        return geography
    full = geography if geography.n == len(PROVINCE_CODES) else _load_tables("all", data_dir)
    index = cultural_proximity(full)[0]
    keep = [full.codes.index(c) for c in geography.codes]
    return replace(geography, culture=index[np.ix_(keep, keep)])


def _load_tables(provinces, data_dir: Path) -> Geography:
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
        # mu_j: per-capita disposable income of all residents, not a wage (see DATA_FIELDS)
        mean_income=table["income_2020_yuan"].to_numpy(float) / YUAN_PER_INCOME_UNIT,
        # no amenity table is shipped: zero fixed amenity values everywhere (see load_amenities)
        amenity=np.zeros(len(codes)),
    )
