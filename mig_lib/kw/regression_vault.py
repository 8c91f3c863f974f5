"""A regression vault for the Kennan–Walker model (as respy keeps one): numbers that cannot drift.

Neither chapter 2 page has published values to compare with, so a consistent error in
``build_model`` would pass every self-consistency check. The vault pins the model's numbers: on a
small world (:data:`VAULT_PROVINCES`, ages :data:`VAULT_AGES`, with a placeholder amenity and
housing table and local welfare so that every term of flow utility is non-zero) it stores, at the
default parameter table and at :data:`N_RANDOM_TABLES` random tables drawn around it,

* summaries of the solved value function v̄ (shape, sum, sum of squares, extremes, a weighted sum
  with fixed weights that a permutation of states changes, and a few single entries) and the choice
  probabilities at one state per type;
* the log-likelihood of a small stored panel (total and per person).

The tables are drawn from :func:`mig_lib.kw.model.default_parameters`, so a parameter added to the
model is drawn too. ``tests/unit/kw/test_kw_regression_vault.py`` recomputes everything and fails
if any number moves by more than ``rtol`` = 1e-10. When the model changes on purpose, regenerate
the vault with one command (it also records the package versions that made it)::

    python -m mig_lib.kw.regression_vault        # or: make vault
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from mig_lib.core import ParameterTable
from mig_lib.core import paths as core_paths
from mig_lib.kw import model as kw_model
from mig_lib.kw.data import panel_arrays
from mig_lib.kw.estimate import simulate_estimation_panel
from mig_lib.kw.geography import Geography, load_amenities, load_china
from mig_lib.kw.likelihood import KWLikelihood
from mig_lib.kw.solve import solve

VAULT_PATH = core_paths.DATA_DIR / "regression" / "kw_vault.json"
COMMAND = "python -m mig_lib.kw.regression_vault"
#: Five provinces with a shared border (BJ-TJ-HE), a shared dialect group away from home (TJ and HE,
#: Jilu Mandarin) and far pairs, so every moving-cost and premium term is exercised.
VAULT_PROVINCES = ("BJ", "TJ", "HE", "SH", "GD")
VAULT_AGES = tuple(range(20, 30))
N_RANDOM_TABLES = 4
#: Each random table moves every parameter by up to this share of its default value (or of
#: MIN_SPREAD when the default is 0), clipped to the parameter's bounds.
RELATIVE_SPREAD = 0.2
MIN_SPREAD = 0.05
SEED = 20110313
PANEL_PEOPLE = 40
PANEL_YEARS = 6
RTOL = 1e-10
PACKAGES = ("numpy", "scipy", "numba", "pandas")


#: The preference match is on in the book's default, so in the vault too.
VAULT_N_XI = 2


def vault_geography() -> Geography:
    """The vault's small world: five provinces with a placeholder amenity table and local welfare
    (numbers that exercise every term of flow utility, not data)."""
    geography = load_china(list(VAULT_PROVINCES))
    table = pd.DataFrame({"code": geography.codes, "rent": [9.0, 4.0, 2.0, 8.0, 5.0],
                          "house_price": [6.0, 3.0, 1.0, 5.5, 3.0], "amenity_green_space": [0.3, 0.1, 0.2, 0.6, 0.8], "source": "regression-vault placeholder"})
    geography = load_amenities(geography, table)
    return replace(geography, local_welfare=np.array([0.2, 0.1, 0.0, 0.1, 0.05]))


def vault_default_table(geography: Geography) -> ParameterTable:
    return kw_model.default_parameters(amenity_names=geography.amenity_names)


def random_table(default: ParameterTable, seed: int) -> ParameterTable:
    """Every parameter of ``default`` moved uniformly within ±RELATIVE_SPREAD of its value, in bounds."""
    rng = np.random.default_rng(seed)
    values = {}
    for name in default.names:
        row = default.row(name)
        spread = RELATIVE_SPREAD * max(abs(row.value), MIN_SPREAD)
        values[name] = float(np.clip(row.value + rng.uniform(-spread, spread), row.lower, row.upper))
    return default.with_values(values)


def vault_panel(geography: Geography, table: ParameterTable) -> pd.DataFrame:
    """The small panel whose likelihood the vault stores (simulated once, then stored as data)."""
    return simulate_estimation_panel(geography, table, PANEL_PEOPLE, PANEL_YEARS, seed=SEED, ages=VAULT_AGES,
                                     n_xi=VAULT_N_XI)


def _finite(values) -> list:
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]


def summarise(geography: Geography, table: ParameterTable, panel: pd.DataFrame) -> dict:
    """The vault's numbers at one parameter table (see the module docstring)."""
    model = kw_model.build_model(geography, table, ages=VAULT_AGES, n_xi=VAULT_N_XI)
    solution = solve(model)
    V = np.asarray(solution.V, dtype=float)
    flat = V.ravel()
    weights = np.cos(np.arange(flat.size))   # fixed weights: a permuted or shifted state changes the sum
    picks = np.unique(np.linspace(0, flat.size - 1, 7).astype(int))
    probabilities = [solution.choice_probabilities(tau, 0, 0, 0, 0, 0, 0)[0] for tau in range(model.n_types)]
    groups = kw_model.education_groups(table)
    arrays = panel_arrays(panel, geography.codes, (VAULT_AGES[0], VAULT_AGES[-1]),
                          education_groups=groups if len(groups) > 1 else None)
    likelihood = KWLikelihood(geography, arrays, table, ages=VAULT_AGES, n_xi=VAULT_N_XI)
    per_person = likelihood.loglik_per_person(table.values)
    return {
        "value_function": {"shape": list(V.shape), "sum": float(flat.sum()), "sum_of_squares": float(flat @ flat),
                           "min": float(flat.min()), "max": float(flat.max()),
                           "weighted_sum": float(weights @ flat),
                           "entries": {str(int(k)): float(flat[k]) for k in picks}},
        "choice_probabilities_first_state": [_finite(p) for p in probabilities],
        "loglik": float(np.sum(per_person)),
        "loglik_per_person": _finite(per_person),
    }


def build_vault() -> dict:
    """Every number of the vault, with the settings and package versions that made it."""
    geography = vault_geography()
    default = vault_default_table(geography)
    panel = vault_panel(geography, default)
    tables = {"default": default}
    tables.update({f"random_{k}": random_table(default, SEED + k) for k in range(1, N_RANDOM_TABLES + 1)})
    return {
        "what": "Kennan-Walker regression vault: value-function summaries and log-likelihoods at fixed parameter "
                "tables on a small world; tests/unit/kw/test_kw_regression_vault.py compares at rtol "
                f"{RTOL:g}",
        "command": COMMAND,
        "settings": {"provinces": list(VAULT_PROVINCES), "ages": [VAULT_AGES[0], VAULT_AGES[-1]],
                     "relative_spread": RELATIVE_SPREAD, "min_spread": MIN_SPREAD, "seed": SEED,
                     "panel_people": PANEL_PEOPLE, "panel_years": PANEL_YEARS, "n_xi": VAULT_N_XI},
        "versions": {"python": platform.python_version(), **{p: version(p) for p in PACKAGES}},
        "panel": panel.to_dict(orient="list"),
        "tables": {name: {"parameters": table.values, **summarise(geography, table, panel)}
                   for name, table in tables.items()},
    }


def read_vault(path: Path = VAULT_PATH) -> dict:
    return json.loads(Path(path).read_text())


def differences(stored, recomputed, rtol: float = RTOL, where: str = "") -> list[str]:
    """Every number that differs between two vaults by more than ``rtol`` (relative), one line each,
    named by its path; a changed shape or a missing key is a difference too."""
    if isinstance(stored, Mapping):
        if not isinstance(recomputed, Mapping) or set(stored) != set(recomputed):
            return [f"{where or 'vault'}: keys {sorted(stored)} vs {sorted(recomputed) if isinstance(recomputed, Mapping) else recomputed!r}"]
        return [line for key in stored for line in differences(stored[key], recomputed[key], rtol, f"{where}/{key}")]
    if isinstance(stored, Sequence) and not isinstance(stored, str):
        if not isinstance(recomputed, Sequence) or len(stored) != len(recomputed):
            return [f"{where}: length {len(stored)} vs {len(recomputed) if isinstance(recomputed, Sequence) else recomputed!r}"]
        return [line for k, (a, b) in enumerate(zip(stored, recomputed)) for line in differences(a, b, rtol, f"{where}[{k}]")]
    if isinstance(stored, (int, float)) and not isinstance(stored, bool) and isinstance(recomputed, (int, float)):
        if stored == recomputed or abs(stored - recomputed) <= rtol * max(abs(stored), abs(recomputed)):
            return []
        return [f"{where}: stored {stored!r}, now {recomputed!r}"]
    return [] if stored == recomputed else [f"{where}: stored {stored!r}, now {recomputed!r}"]


def recompute(vault: dict) -> dict:
    """The vault's tables recomputed with today's code, on the stored panel and parameter values."""
    geography = vault_geography()
    default = vault_default_table(geography)
    panel = pd.DataFrame(vault["panel"])
    return {name: {"parameters": entry["parameters"],
                   **summarise(geography, default.with_values(entry["parameters"]), panel)}
            for name, entry in vault["tables"].items()}


def to_json(vault: dict) -> str:
    """The vault as JSON, one line per list of numbers (readable diffs when it is regenerated)."""
    text = json.dumps(vault, indent=1, ensure_ascii=False)
    return re.sub(r"\[[^\[\]{}]*\]", lambda m: " ".join(m.group(0).split()), text) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Regenerate data/regression/kw_vault.json (run after changing the model on purpose)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--output", type=Path, default=VAULT_PATH, help="where to write the vault")
    arguments = parser.parse_args(argv)
    vault = build_vault()
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(to_json(vault))
    print(f"wrote {arguments.output}: {len(vault['tables'])} parameter tables, "
          f"log-likelihoods {[round(t['loglik'], 6) for t in vault['tables'].values()]}")


if __name__ == "__main__":
    main()
