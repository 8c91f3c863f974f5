"""The regression vault: today's model reproduces the stored numbers (rtol 1e-10), and a change to
``build_model`` is caught. Regenerate after a deliberate model change: ``make vault``."""

import json

import numpy as np
import pandas as pd
import pytest

from mig_lib.core import ParameterError
from mig_lib.kw import model as kw_model
from mig_lib.kw import regression_vault as vault_module
from mig_lib.kw.regression_vault import (COMMAND, RTOL, VAULT_PATH, differences, random_table, read_vault, recompute,
                                         vault_default_table, vault_geography, vault_panel)

REGENERATE = f"if the model changed on purpose, regenerate the vault: `{COMMAND}` (or `make vault`)"


@pytest.fixture(scope="module")
def vault():
    return read_vault()


def _recompute(vault):
    try:
        return recompute(vault)
    except ParameterError as error:   # a parameter renamed or removed since the vault was made
        pytest.fail(f"the vault's parameter tables no longer fit the model ({error}); {REGENERATE}")


def test_the_model_reproduces_every_stored_number(vault):
    stored = {name: entry for name, entry in vault["tables"].items()}
    problems = differences(stored, _recompute(vault), RTOL)
    assert not problems, f"{len(problems)} numbers moved, e.g.\n" + "\n".join(problems[:10]) + f"\n{REGENERATE}"


def test_the_vault_draws_every_parameter_of_the_default_table(vault):
    default = vault_default_table(vault_geography())
    assert sorted(vault["tables"]["default"]["parameters"]) == sorted(default.names), REGENERATE
    moved = [name for name in default.names
             if all(entry["parameters"][name] == default[name] for key, entry in vault["tables"].items()
                    if key != "default")]
    assert moved == [], f"parameters the random tables never move: {moved}"


def test_the_stored_panel_is_what_the_simulator_draws(vault):
    geography = vault_geography()
    fresh = vault_panel(geography, vault_default_table(geography))
    stored = pd.DataFrame(vault["panel"])
    pd.testing.assert_frame_equal(fresh.reset_index(drop=True), stored, check_dtype=False, rtol=RTOL,
                                  obj=f"vault panel ({REGENERATE})")


def test_the_vault_records_its_command_and_versions(vault):
    assert vault["command"] == COMMAND
    assert {"python", "numpy", "scipy", "numba", "pandas"} <= set(vault["versions"])
    assert json.loads(VAULT_PATH.read_text()) == vault


def test_a_changed_build_model_is_caught(vault, monkeypatch):
    """The deliberate mistake: distances measured in miles instead of km inside build_model."""
    monkeypatch.setattr(kw_model, "KM_PER_DISTANCE_UNIT", 1000.0 / kw_model.KM_PER_MILE)
    problems = differences(vault["tables"], recompute(vault), RTOL)
    assert any("/value_function/sum" in line for line in problems)
    assert any("/loglik:" in line for line in problems)


def test_a_one_in_a_billion_change_is_caught_and_rounding_is_not(vault):
    stored = vault["tables"]["default"]["loglik"]
    assert differences({"loglik": stored}, {"loglik": stored * (1 + 1e-9)}, RTOL)
    assert not differences({"loglik": stored}, {"loglik": stored * (1 + 1e-12)}, RTOL)
    assert differences({"x": [1.0, 2.0]}, {"x": [1.0]}, RTOL) == ["/x: length 2 vs 1"]


def test_random_tables_stay_in_bounds_and_differ_by_seed():
    default = vault_default_table(vault_geography())
    one, two = random_table(default, 1), random_table(default, 2)
    for name in default.names:
        row = default.row(name)
        assert row.lower <= one[name] <= row.upper
    assert not np.allclose(list(one.values.values()), list(two.values.values()))


def test_regenerating_writes_the_same_numbers(tmp_path, vault):
    """One command regenerates the vault; on unchanged code it writes what is stored."""
    path = tmp_path / "vault.json"
    vault_module.main(["--output", str(path)])
    fresh = json.loads(path.read_text())
    assert not differences(vault["tables"], fresh["tables"], RTOL)
