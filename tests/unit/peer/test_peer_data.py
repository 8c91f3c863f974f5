"""The CHIP 2002 loader on files the tests write."""

import numpy as np
import pandas as pd
import pytest

from mig_lib.peer import data, synthetic


@pytest.fixture(scope="module")
def world():
    return synthetic.draw_world(n_villages=40, seed=21)


@pytest.fixture(scope="module")
def extract(world):
    return data.extract_from_world(world)


def _write(frame, tmp_path, name="chip.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_round_trip_rebuilds_the_design(world, extract, tmp_path):
    loaded = data.load_chip2002(_write(extract, tmp_path))
    d = world.data
    for col in ("junior_high_school", "health_bad", "info_often", "care_very_frequently", "married", "age_squared",
                "info_score"):
        np.testing.assert_array_equal(loaded[col].to_numpy(), d[col].to_numpy(), err_msg=col)
    # eq 9 from rounded village counts and realized family migrants stays close to the expected ratio
    assert np.max(np.abs(loaded["peer"] - d["peer"])) < 0.02
    hand = (extract["village_migrants"] - extract["family_migrants"]) / (extract["village_population"] - extract["family_population"])
    np.testing.assert_allclose(loaded["peer"], hand)
    np.testing.assert_allclose(loaded["peer_x_info_often"], loaded["peer"] * loaded["info_often"])


def test_stata_files_are_read(extract, tmp_path):
    path = tmp_path / "chip.dta"
    extract.to_stata(path, write_index=False)
    assert len(data.load_chip2002(path)) == len(extract)


def test_every_problem_reported_once(extract, tmp_path):
    bad = extract.drop(columns=["age"]).astype({"village_income": object, "migrant": object})
    bad.loc[0, "migrant"] = 2
    bad.loc[1, "info"] = 7
    bad.loc[2, "village_income"] = "abc"
    with pytest.raises(data.Chip2002SchemaError) as err:
        data.load_chip2002(_write(bad, tmp_path))
    message = str(err.value)
    assert "4 problem(s)" in message
    assert "missing column 'age'" in message
    assert "column 'migrant' must be 0 or 1: 1 value(s) are not, e.g. 2" in message
    assert "column 'info' must lie in [1, 5]: 1 value(s) do not, e.g. 7" in message
    assert "column 'village_income' must be numeric: 1 value(s) are not, e.g. 'abc'" in message
    assert len(err.value.problems) == 4


def test_consistency_problems(extract, tmp_path):
    bad = extract.copy()
    bad.loc[0, "family_migrants"] = 9
    bad.loc[3, "village_population"] = bad.loc[3, "village_population"] + 1  # not constant in the village
    with pytest.raises(data.Chip2002SchemaError) as err:
        data.load_chip2002(_write(bad, tmp_path))
    text = str(err.value)
    assert "family_migrants exceeds family_population in 1 row(s), e.g. row 0" in text
    assert "column 'village_population' must be constant within a village" in text


def test_missing_values_and_fractions(extract, tmp_path):
    bad = extract.astype({"kids_under_6": float})
    bad.loc[0, "kids_under_6"] = 0.5
    bad.loc[1, "female"] = np.nan
    with pytest.raises(data.Chip2002SchemaError) as err:
        data.load_chip2002(_write(bad, tmp_path))
    text = str(err.value)
    assert "column 'kids_under_6' must hold whole numbers: 1 value(s) are not, e.g. 0.5" in text
    assert "column 'female' has 1 missing value(s)" in text


def test_wrong_file_type_and_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        data.load_chip2002(tmp_path / "absent.csv")
    path = tmp_path / "chip.xlsx"
    path.write_text("x")
    with pytest.raises(ValueError, match="unsupported file type '.xlsx'"):
        data.load_chip2002(path)


def _problems(path):
    with pytest.raises(data.Chip2002SchemaError) as err:
        data.load_chip2002(path)
    return str(err.value)


def test_duplicated_rows_are_reported(extract, tmp_path):
    doubled = pd.concat([extract, extract.iloc[[3]]], ignore_index=True)
    text = _problems(_write(doubled, tmp_path))
    assert f"1 duplicated row(s): rows 3, {len(extract)} (counting from 0) share their county, village, household, person" in text


def test_header_only_file_is_reported(extract, tmp_path):
    text = _problems(_write(extract.iloc[:0], tmp_path))
    assert "1 problem(s)" in text and "the file has a header but no data rows" in text


def test_constant_outcome_is_reported(extract, tmp_path):
    text = _problems(_write(extract.assign(migrant=0, family_migrants=0, village_migrants=0), tmp_path))
    assert "column 'migrant' is 0 in every row: the probit needs both migrants and non-migrants" in text


def test_semicolon_separated_file_says_the_delimiter_looks_wrong(extract, tmp_path):
    path = tmp_path / "chip.csv"
    extract.to_csv(path, index=False, sep=";")
    text = _problems(path)
    assert "1 problem(s)" in text and "the delimiter looks wrong" in text and "';'" in text


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, "migrant,age\n1,\xe9\n".encode("latin-1")])
def test_binary_or_non_utf8_file_gives_a_clear_error(content, tmp_path):
    path = tmp_path / "chip.csv"
    path.write_bytes(content)
    text = _problems(path)
    assert "binary" in text or "not UTF-8 text" in text
