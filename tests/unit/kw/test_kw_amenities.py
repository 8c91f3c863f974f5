"""The amenity and housing loader: schema checks name the problem; the parameter table follows the data."""

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.geography import load_amenities, load_china
from mig_lib.kw.likelihood import estimable_parameters
from mig_lib.kw.model import amenity_utility, build_model, default_parameters

CODES = ["BJ", "HE", "SH"]


def good_table():
    return pd.DataFrame({"code": CODES + ["GD"], "rent": [9.0, 2.0, 8.0, 5.0], "house_price": [6.0, 1.0, 5.5, 3.0],
                         "amenity_air_quality": [0.3, 0.2, 0.6, 0.8], "source": "test values, not data"})


def test_loaded_table_fills_the_geography_in_its_order():
    geo = load_amenities(load_china(CODES), good_table().iloc[::-1])
    np.testing.assert_array_equal(geo.rent, [9.0, 2.0, 8.0])
    np.testing.assert_array_equal(geo.amenity_covariates[:, 0], [0.3, 0.2, 0.6])
    params = default_parameters(amenity_names=geo.amenity_names).with_values(
        alpha_amenity_air_quality=2.0, alpha_rent=0.1, alpha_house_price=-0.2)
    np.testing.assert_allclose(amenity_utility(geo, params), 2.0 * np.array([0.3, 0.2, 0.6])
                               + 0.1 * np.array([9.0, 2.0, 8.0]) - 0.2 * np.array([6.0, 1.0, 5.5]))
    names, excluded = estimable_parameters(geo, params)
    assert {"alpha_rent", "alpha_house_price", "alpha_amenity_air_quality"} <= set(names)


def test_without_a_table_housing_terms_are_held_with_a_reason():
    names, excluded = estimable_parameters(load_china(CODES), default_parameters())
    assert "alpha_rent" not in names and "no housing table" in excluded["alpha_rent"]


def test_province_effects_are_normalised_on_the_first_code():
    table = default_parameters(province_effects=CODES)
    assert "amenity_BJ" not in table and {"amenity_HE", "amenity_SH"} <= set(table.names)
    geo = load_china(CODES)
    np.testing.assert_allclose(amenity_utility(geo, table.with_values(amenity_SH=0.7)), [0.0, 0.0, 0.7])


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.drop(columns="source"), "missing column"),
    (lambda t: t[t["code"] != "HE"], "no row for province"),
    (lambda t: pd.concat([t, t.iloc[[0]]]), "more than once"),
    (lambda t: t.assign(rent=["9", "x", "8", "5"]), "'rent' has a missing or non-numeric value for HE"),
    (lambda t: t.assign(source=["a", "", "c", "d"]), "non-empty 'source'"),
    (lambda t: t.assign(amenity_air_quality=1.0), "same in every province"),
])
def test_schema_errors_name_the_problem(mutate, message):
    with pytest.raises(ParameterError, match=message):
        load_amenities(load_china(CODES), mutate(good_table()))


def test_covariates_need_coefficients_in_the_table():
    geo = load_amenities(load_china(CODES), good_table())
    with pytest.raises(ParameterError, match="alpha_amenity_air_quality"):
        build_model(geo, default_parameters())


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_amenities(load_china(CODES), tmp_path / "none.csv")
