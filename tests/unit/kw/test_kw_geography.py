"""Geography of the China model: data provenance, borders, distances."""

import importlib.resources
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from mig_lib.core import ParameterError
from mig_lib.kw.geography import (DATA_FIELDS, IDENTIFIER_COLUMNS, PROVINCE_CODES, compare_with_sources,
                                  data_provenance, great_circle_km, load_china, read_province_table)


@pytest.fixture(scope="module")
def china():
    return load_china()


def test_thirty_one_provinces_in_canonical_order(china):
    assert china.codes == PROVINCE_CODES
    assert len(set(china.codes)) == 31


def test_census_populations_sum_to_the_published_total(china):
    # 2020 census: 1,411,778,724 nationally, of which 2,000,000 active servicemen not in any province
    assert china.population.sum() == 1_411_778_724 - 2_000_000


def test_every_number_in_the_data_files_carries_a_source():
    table = pd.read_csv("data/china/provinces.csv")
    for column in ("names_source", "population_source", "income_source", "dialect_source"):
        assert table[column].str.len().min() > 20
    assert table["dialect_source"].str.startswith("ILLUSTRATIVE").all()
    for name in ("capitals.csv", "borders.csv"):
        assert pd.read_csv(f"data/china/{name}")["source"].str.len().min() > 20


def test_every_column_is_an_identifier_a_described_quantity_a_source_or_a_status():
    for name, identifiers in IDENTIFIER_COLUMNS.items():
        described = {c for f in DATA_FIELDS if f.file == name for c in (*f.columns, f.source_column, f.status_column)}
        columns = set(pd.read_csv(f"data/china/{name}", nrows=1).columns)
        assert columns - described - set(identifiers) == set(), name


def test_statuses_say_what_can_be_checked_here():
    status = dict(zip(data_provenance()["columns"], data_provenance()["status"]))
    assert status == {"adcode_prefix, name_zh": "checked", "population_2020": "unchecked",
                      "income_2020_yuan": "unchecked", "dialect_group": "illustrative",
                      "longitude, latitude": "checked", "province_a, province_b": "unchecked"}
    income = data_provenance().set_index("symbol").loc["μ_j"]
    assert "not a wage" in income["quantity"] and "disposable income" in income["quantity"]


def test_every_checked_value_equals_its_source():
    comparison = compare_with_sources()
    assert len(comparison) == 31 * 3          # a Chinese name and two coordinates per province
    assert comparison["equal"].all(), comparison[~comparison["equal"]]


@pytest.fixture
def data_copy(tmp_path):
    for name in ("provinces.csv", "capitals.csv", "borders.csv"):
        shutil.copy(f"data/china/{name}", tmp_path / name)
    return tmp_path


def test_comparison_catches_a_changed_checked_value(data_copy):
    capitals = pd.read_csv(data_copy / "capitals.csv", dtype=str)
    capitals.loc[capitals["code"] == "SH", "latitude"] = "31.3"
    capitals.to_csv(data_copy / "capitals.csv", index=False)
    comparison = compare_with_sources(data_copy)
    assert comparison.loc[~comparison["equal"], ["code", "column"]].values.tolist() == [["SH", "latitude"]]


@pytest.mark.parametrize("column, value, message", [
    ("income_status", "verified", r"provinces.csv: column 'income_status' has value 'verified'; allowed: one of "
                                  r"\['checked', 'unchecked', 'illustrative'\]"),
    ("income_source", " ", r"provinces.csv: column 'income_source' has value ' ' in row 2; allowed: a non-empty"),
])
def test_a_bad_status_or_empty_source_is_refused(data_copy, column, value, message):
    provinces = pd.read_csv(data_copy / "provinces.csv", dtype=str)
    provinces.loc[0, column] = value
    provinces.to_csv(data_copy / "provinces.csv", index=False)
    with pytest.raises(ValueError, match=message):
        load_china(data_dir=data_copy)


def test_coordinates_are_those_of_the_cpca_adcode_table(china):
    adcodes = pd.read_csv(importlib.resources.files("cpca") / "resources" / "adcodes.csv", dtype={"adcode": str})
    table = read_province_table()
    for code, prefix, lon, lat in zip(table["code"], table["adcode_prefix"], table["longitude"], table["latitude"]):
        row = adcodes[adcodes["adcode"] == prefix + "0000000000"].iloc[0]
        assert (row["longitude"], row["latitude"]) == (lon, lat), code


def test_adjacency_is_symmetric_without_self_loops(china):
    assert (china.adjacent == china.adjacent.T).all()
    assert not china.adjacent.diagonal().any()


def test_known_borders(china):
    degree = dict(zip(china.codes, china.adjacent.sum(axis=1)))
    assert degree["HI"] == 0            # Hainan is an island
    assert degree["SN"] == 8 and degree["NM"] == 8  # Shaanxi and Inner Mongolia border 8 provinces each
    assert all(d >= 1 for c, d in degree.items() if c != "HI")
    i = china.index
    assert china.adjacent[i("BJ"), i("TJ")] and china.adjacent[i("GD"), i("GX")]
    assert not china.adjacent[i("BJ"), i("SH")] and not china.adjacent[i("GD"), i("HI")]


def test_distances_agree_with_the_spherical_law_of_cosines(china):
    lon, lat = np.radians(china.lon), np.radians(china.lat)
    cos_angle = (np.sin(lat[:, None]) * np.sin(lat[None, :])
                 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.cos(lon[:, None] - lon[None, :]))
    other = 6371.0088 * np.arccos(np.clip(cos_angle, -1, 1))
    np.fill_diagonal(other, 0.0)
    assert np.allclose(china.distance_km, other, atol=1e-3)
    assert np.allclose(china.distance_km, china.distance_km.T)
    # Beijing-Shanghai is about 1,070 km as the crow flies
    assert 1040 < china.distance_km[china.index("BJ"), china.index("SH")] < 1100


def test_neighbours_are_closer_than_the_typical_pair(china):
    assert np.median(china.distance_km[china.adjacent]) < np.median(china.distance_km[~np.eye(31, dtype=bool)])


@settings(max_examples=50, deadline=None)
@given(st.tuples(*[st.floats(-80, 80) for _ in range(3)]), st.tuples(*[st.floats(70, 140) for _ in range(3)]))
def test_great_circle_triangle_inequality(lats, lons):
    d = lambda a, b: great_circle_km(lons[a], lats[a], lons[b], lats[b])
    assert d(0, 2) <= d(0, 1) + d(1, 2) + 1e-6


def test_sub_geography_keeps_canonical_order_and_data(china):
    small = load_china(["SH", "BJ", "HE"])
    assert small.codes == ("BJ", "HE", "SH")
    assert small.adjacent[0, 1] and not small.adjacent[0, 2]
    assert small.population[2] == china.population[china.index("SH")]
    assert small.distance_km[0, 2] == pytest.approx(china.distance_km[china.index("BJ"), china.index("SH")])


def test_mean_incomes_are_in_ten_thousand_yuan(china):
    assert china.mean_income[china.index("SH")] == pytest.approx(7.2232)
    assert china.mean_income.argmax() == china.index("SH") and china.mean_income.argmin() == china.index("GS")


@pytest.mark.parametrize("bad, fragment", [("some", "expected 'all' or a list"), (["BJ", "XX"], "'provinces'"),
                                           (["BJ", "BJ"], "distinct"), (["BJ"], "at least 2")])
def test_bad_province_lists_are_refused(bad, fragment):
    with pytest.raises(ParameterError, match=fragment):
        load_china(bad)


def test_unknown_code_lookup_names_the_code(china):
    with pytest.raises(ParameterError, match="'TW'"):
        china.index("TW")


def test_a_misspelt_border_code_is_refused_not_dropped(data_copy):
    borders = pd.read_csv(data_copy / "borders.csv", dtype=str)
    borders.loc[3, "province_b"] = "SXX"
    borders.to_csv(data_copy / "borders.csv", index=False)
    with pytest.raises(ValueError, match=r"borders.csv: column 'province_b' has value 'SXX' in row 5; allowed: a province"):
        load_china(data_dir=data_copy)
