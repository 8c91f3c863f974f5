"""The panel schema and its validating loader (files are written by the tests)."""

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw.data import panel_arrays, panel_from_simulation, read_panel, validate_panel

PROVINCES = (11, 31, 44, 51)
AGES = (20, 59)


def good_panel():
    return pd.DataFrame({
        "person": [2, 2, 2, 1, 1],
        "year": [2012, 2010, 2011, 2014, 2015],
        "age": [27, 25, 26, 40, 41],
        "province": [31, 11, 31, 44, 44],
        "wage": [3.2, 1.1, np.nan, 2.0, 2.5],
    })


def test_sorted_and_choices_are_next_province():
    arrays = panel_arrays(good_panel(), PROVINCES, AGES)
    assert list(arrays.person_ids) == [1, 2]
    assert list(arrays.person_start) == [0, 2, 5]
    # person 1: 44 -> 44 ; person 2: 11 -> 31 -> 31
    assert list(arrays.location) == [2, 2, 0, 1, 1]
    assert list(arrays.choice) == [2, -1, 1, 1, -1]
    assert list(arrays.home) == [2, 0]  # first observed province when no home column
    assert arrays.n_moves == 1
    assert np.isnan(arrays.wage[3]) and arrays.wage[2] == 1.1


def test_home_column_is_used():
    frame = good_panel().assign(home=[51, 51, 51, 44, 44])
    arrays = panel_arrays(frame, PROVINCES, AGES)
    assert list(arrays.home) == [2, 3]


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.drop(columns="age"), "missing column"),
    (lambda f: f.assign(province=[31, 11, 31, 44, 99]), "not among the model's provinces"),
    (lambda f: f.assign(year=[2012, 2010, 2010, 2014, 2015]), "two rows for year"),
    (lambda f: f.assign(year=[2013, 2010, 2011, 2014, 2015], age=[28, 25, 26, 40, 41]), "gap after year 2011"),
    (lambda f: f.assign(age=[27, 25, 27, 40, 41]), "age must rise by one"),
    (lambda f: f.assign(age=[27, 25, 26, 60, 61]), "outside the model's ages"),
    (lambda f: f.assign(home=[11, 11, 31, 44, 44]), "more than one home"),
    (lambda f: f.assign(wage=[1.0, np.inf, 1.0, 1.0, 1.0]), "infinite value, inf, at row 1 "),
    (lambda f: f.assign(wage=[1.0, "n/a", 1.0, 1.0, 1.0]), "non-numeric value at row 1 "),
    (lambda f: f.assign(province=[31, None, 31, 44, 44]), "missing value"),
    (lambda f: f.assign(age=[27.5, 25, 26, 40, 41]), "whole numbers"),
])
def test_schema_errors_name_the_problem(mutate, message):
    with pytest.raises(ParameterError, match=message):
        validate_panel(mutate(good_panel()), PROVINCES, AGES)


def test_read_csv_and_stata_files(tmp_path):
    frame = good_panel()
    frame.to_csv(tmp_path / "panel.csv", index=False)
    frame.to_stata(tmp_path / "panel.dta", write_index=False)
    from_csv = read_panel(tmp_path / "panel.csv", PROVINCES, AGES)
    from_dta = read_panel(tmp_path / "panel.dta", PROVINCES, AGES)
    pd.testing.assert_frame_equal(from_csv, validate_panel(frame, PROVINCES, AGES))
    np.testing.assert_allclose(from_dta["wage"].to_numpy(), from_csv["wage"].to_numpy())
    assert list(from_dta["province"]) == list(from_csv["province"])


def test_read_errors(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        read_panel(tmp_path / "nope.csv", PROVINCES, AGES)
    (tmp_path / "panel.xlsx").write_text("x")
    with pytest.raises(ParameterError, match="expected a .csv or .dta"):
        read_panel(tmp_path / "panel.xlsx", PROVINCES, AGES)
    pd.DataFrame({"person": [1], "year": [2010], "age": [20], "province": [11]}).to_csv(
        tmp_path / "bad.csv", index=False)
    with pytest.raises(ParameterError, match=r"missing column\(s\) \['wage'\]"):
        read_panel(tmp_path / "bad.csv", PROVINCES, AGES)


@pytest.mark.parametrize("wage, message", [
    ([1.0, -9.0, 1.0, -8.0, 1.0], r"negative value, -9.0, at rows 1, 3 .*missing_codes="),
    ([1.0, 1.0, -np.inf, 1.0, 1.0], r"infinite value, -inf, at row 2 "),
    ([1.0, 1.0, 1.0, 1e300, 1.0], r"above 100000 .* at row 3 "),
])
def test_negative_non_finite_and_absurd_wages_are_rejected_with_their_rows(wage, message):
    with pytest.raises(ParameterError, match=message):
        validate_panel(good_panel().assign(wage=wage), PROVINCES, AGES)


def test_missing_codes_become_missing_wages(tmp_path):
    coded = good_panel().assign(wage=[3.2, 1.1, -9, -8, 2.5])
    coded.to_csv(tmp_path / "panel.csv", index=False)
    panel = read_panel(tmp_path / "panel.csv", PROVINCES, AGES, missing_codes=(-8, -9))
    expected = validate_panel(good_panel().assign(wage=[3.2, 1.1, np.nan, np.nan, 2.5]), PROVINCES, AGES)
    pd.testing.assert_frame_equal(panel, expected)
    # a code not declared is still an error, and the codes must be numbers
    with pytest.raises(ParameterError, match="negative value, -8.0, at row 3 "):
        validate_panel(coded, PROVINCES, AGES, missing_codes=[-9])
    with pytest.raises(ParameterError, match="argument 'missing_codes' = 'NA'"):
        validate_panel(coded, PROVINCES, AGES, missing_codes="NA")


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.assign(province=[31, 11, 31, 44, 99]), r"province code\(s\) \[99\] not among"),
    (lambda f: f.assign(home=[11, 11, 31, 44, 44]), r"person 2 has more than one home"),
    (lambda f: f.assign(year=[2012, 2010, 2011, 1e20, 2015]), r"'year' has value 1e\+20 at row 3 .*\[1900, 2100\]"),
    (lambda f: f.assign(age=[27, 25, 26, 1e20, 41]), r"person 1 has age 1e\+20 in 2014, outside the model's ages"),
])
def test_messages_show_values_as_typed(mutate, message):
    with pytest.raises(ParameterError, match=message) as error:
        validate_panel(mutate(good_panel()), PROVINCES, AGES)
    assert "np." not in str(error.value) and "-9223372036854775808" not in str(error.value)


def test_simulated_panels_may_hold_negative_wages():
    """The model's wage equation is normal in levels; only survey panels reject negative wages."""
    simulated = pd.DataFrame({"person": [0, 0, 1], "age": [20, 21, 20], "location": [0, 1, 2],
                              "wage": [-0.3, 1.0, 2.0], "home": [0, 0, 2]})
    frame = panel_from_simulation(simulated, PROVINCES, n_years=2)
    assert validate_panel(frame.head(3), PROVINCES, AGES)["wage"].min() == -0.3
    with pytest.raises(ParameterError, match="negative value"):
        validate_panel(frame, PROVINCES, AGES, allow_negative_wages=False)
    with pytest.raises(ParameterError, match="negative value"):
        validate_panel(pd.DataFrame(frame), PROVINCES, AGES, allow_negative_wages=False)


def test_education_column_is_checked_once_with_a_clear_error():
    from mig_lib.kw.model import EDUCATION_GROUPS

    rows = [{"person": p, "year": 2010 + t, "age": 30 + t, "province": "BJ", "wage": 3.0,
             "education": ("below_college", "college")[p]} for p in range(2) for t in range(3)]
    frame = pd.DataFrame(rows)
    arrays = panel_arrays(frame, ["BJ", "SH"], (20, 59), education_groups=EDUCATION_GROUPS)
    assert list(arrays.education) == [0, 1] and arrays.education_groups == EDUCATION_GROUPS
    with pytest.raises(ParameterError, match=r"column 'education' has value 'phd' at row 5 .*groups \['below_college', "
                                             r"'college'\]"):
        validate_panel(frame.assign(education=["below_college"] * 3 + ["college"] * 2 + ["phd"]), ["BJ", "SH"],
                       (20, 59), education_groups=EDUCATION_GROUPS)
    with pytest.raises(ParameterError, match="person 0 has more than one education group"):
        validate_panel(frame.assign(education=["below_college", "college", "college"] * 2), ["BJ", "SH"], (20, 59))
    with pytest.raises(ParameterError, match="missing column 'education'"):
        validate_panel(frame.drop(columns="education"), ["BJ", "SH"], (20, 59), education_groups=EDUCATION_GROUPS)
    with pytest.raises(ParameterError, match="missing value"):
        validate_panel(frame.assign(education=[None] + ["college"] * 5), ["BJ", "SH"], (20, 59))


def test_a_model_with_education_groups_refuses_a_panel_without_them():
    from mig_lib.kw.geography import load_china
    from mig_lib.kw.likelihood import KWLikelihood
    from mig_lib.kw.model import default_parameters

    geo = load_china(["BJ", "SH", "GD"])
    frame = pd.DataFrame([{"person": 0, "year": 2010 + t, "age": 30 + t, "province": "BJ", "wage": 3.0}
                          for t in range(3)])
    with pytest.raises(ParameterError, match="education groups .* has no 'education' column"):
        KWLikelihood(geo, panel_arrays(frame, geo.codes, (20, 59)), default_parameters(), ages=range(20, 60))
    # the same panel is fine for the model without education groups
    one_group = default_parameters(education=("all",))
    KWLikelihood(geo, panel_arrays(frame, geo.codes, (20, 59)), one_group, ages=range(20, 60)).loglik_per_person({})
