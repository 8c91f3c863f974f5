"""The printed tables, read from the chapter's published file, against numbers read off the paper."""

import math

import pytest

from mig_lib.peer import tables


def test_table3_has_every_printed_row_in_order_with_its_three_columns():
    assert tables.TABLE3.shape == (48, 3) and list(tables.TABLE3.columns) == ["coef", "se", "me"]
    assert tables.TABLE3.index[0] == "peer" and tables.TABLE3.index[-1] == "intercept"
    assert list(tables.TABLE3.index[1:21]) == list(tables.INTERACTION_TERMS)
    # Table 3 rows as printed: mig ratio, 'mig ratio x borrow often', married, mig_1998
    assert tuple(tables.TABLE3.loc["peer"]) == (0.9437, 0.2142, 0.1240)
    assert tuple(tables.TABLE3.loc["peer_x_borrow_often"]) == (-0.0794, 0.1999, -0.0166)
    assert tuple(tables.TABLE3.loc["married"]) == (-0.6018, 0.0492, -0.1196)
    assert tuple(tables.TABLE3.loc["mig_1998"]) == (1.8111, 0.2557, 0.3081)
    # '----' in the marginal-effects column: only the squared age and the intercept
    assert sorted(tables.TABLE3.index[tables.TABLE3["me"].isna()]) == ["age_squared", "intercept"]
    assert tables.TABLE3.loc["intercept", "coef"] == -4.6432


def test_table2_and_table6_rows_as_printed():
    assert tables.TABLE2.shape == (46, 2) and tables.TABLE2.index[0] == "female"
    assert tuple(tables.TABLE2.loc["age"]) == (34.6344, 12.4495)
    assert tuple(tables.TABLE2.loc["peer"]) == (0.1703, 0.1474)
    assert tuple(tables.TABLE2.loc["care_sometimes"]) == (0.2199, 0.4142)
    assert list(tables.TABLE6.index) == list(tables.CATEGORIES)
    assert tuple(tables.TABLE6.loc["info"]) == (0.1411, 0.0232, -0.1243, 0.7447)
    assert tuple(tables.TABLE6.loc["care"]) == (0.2471, 0.0229, -0.0636, 0.9478)


def test_constants_from_the_text_and_the_summary_rows():
    assert (tables.FEMALE_MARGINAL_EFFECT, tables.FIGURE1_EQUILIBRIUM, tables.FIGURE5_INTERCEPT) == (-0.0436, 0.0845,
                                                                                                     -4.4399)
    assert (tables.TABLE3_LOGLIK, tables.TABLE3_PSEUDO_R2, tables.TABLE3_NOBS) == (-5635.632, 0.2274, 16401)
    assert (tables.TABLE2_N, tables.TABLE2_MIGRANTS) == (16401, 2675)
    assert type(tables.TABLE3_NOBS) is int and type(tables.TABLE2_N) is int


def test_every_table3_coefficient_of_the_published_file_is_a_row():
    coefficient_keys = [k for k in tables.published_entries() if k.startswith("table3/coef/")]
    assert sorted(k.removeprefix("table3/coef/") for k in coefficient_keys) == sorted(tables.TABLE3_TERMS)
    assert all(math.isfinite(v) for v in tables.TABLE3["se"])


def test_an_unknown_published_key_names_the_key_and_its_neighbours():
    with pytest.raises(Exception, match=r"'table3/coef/nonsense'.*same prefix: table3/coef/"):
        tables.published_value("table3/coef/nonsense")
