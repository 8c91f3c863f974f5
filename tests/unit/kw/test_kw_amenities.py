"""The amenity and housing loader: schema checks name the problem; the parameter table follows the data."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.geography import load_amenities, load_china
from mig_lib.kw.likelihood import estimable_parameters
from mig_lib.kw.model import amenity_utility, build_model, default_parameters
from mig_lib.kw.solve import solve

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
    (lambda t: t.drop(columns="source"), r"column 'source' is missing; required: the columns \['code'"),
    (lambda t: t.rename(columns={"amenity_air_quality": "amenty_air"}), r"column 'amenty_air' is not allowed"),
    (lambda t: t[t["code"] != "HE"], r"column 'code' has no row for province\(s\) \['HE'\]"),
    (lambda t: t.assign(code=["BJ", "HE", "XX", "GD"]), r"column 'code' has value 'XX'; allowed: a province code"),
    (lambda t: pd.concat([t, t.iloc[[0]]]), r"column 'code' has value 'BJ'; .*appears 2 times"),
    (lambda t: t.assign(rent=["9", "x", "8", "5"]), r"column 'rent' has value 'x' for province HE; allowed: a finite number >= 0"),
    (lambda t: t.assign(house_price=[6.0, -1.0, 5.5, 3.0]), r"column 'house_price' has value -1.0 for province HE"),
    (lambda t: t.assign(source=["a", "", "c", "d"]), r"column 'source' has value '' for province HE; allowed: non-empty"),
    (lambda t: t.assign(amenity_air_quality=1.0), r"column 'amenity_air_quality' has value 1.0; .*same in every province"),
])
def test_schema_errors_name_the_column_the_value_and_what_is_allowed(mutate, message):
    with pytest.raises(ParameterError, match=r"amenity table \(DataFrame\): " + message):
        load_amenities(load_china(CODES), mutate(good_table()))


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "amenities.csv"
    good_table().assign(rent=["9", "", "8", "5"]).to_csv(path, index=False)
    with pytest.raises(ParameterError, match=f"amenity table '{path}': column 'rent' has value nan for province HE"):
        load_amenities(load_china(CODES), path)


def test_a_written_table_runs_the_model(tmp_path):
    """A yearbook-style CSV written to disk, loaded and solved: the amenity terms move choices exactly as
    the same utilities put into the geography's fixed amenity values would."""
    path = tmp_path / "yearbook_amenities.csv"
    good_table().to_csv(path, index=False)
    plain = load_china(CODES)
    geo = load_amenities(plain, path)
    assert geo.amenity_names == ("air_quality",)
    values = dict(alpha_amenity_air_quality=1.5, alpha_rent=0.05, alpha_house_price=-0.1)
    params = default_parameters(amenity_names=geo.amenity_names).with_values(**values)
    ages = range(50, 56)
    with_table = solve(build_model(geo, params, ages=ages))
    flow = 1.5 * np.array([0.3, 0.2, 0.6]) + 0.05 * np.array([9.0, 2.0, 8.0]) - 0.1 * np.array([6.0, 1.0, 5.5])
    by_hand = solve(build_model(dataclasses.replace(plain, amenity=flow), default_parameters(), ages=ages))
    np.testing.assert_allclose(with_table.V, by_hand.V, rtol=1e-12, atol=1e-12)
    without = solve(build_model(plain, default_parameters(), ages=ages))
    state = (0, 0, 0, 0, 0, 1, 1)   # type 1, home BJ, first age, living at home, middle match
    # SH (index 2) gains most from the table (best air, dear rent and houses): more people go there
    assert with_table.choice_probabilities(*state)[0, 2] > without.choice_probabilities(*state)[0, 2]


def test_covariates_need_coefficients_in_the_table():
    geo = load_amenities(load_china(CODES), good_table())
    with pytest.raises(ParameterError, match="alpha_amenity_air_quality"):
        build_model(geo, default_parameters())


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_amenities(load_china(CODES), tmp_path / "none.csv")
