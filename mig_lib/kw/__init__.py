"""Kennan-Walker (2011) dynamic location choice, applied to China's 31 provinces (chapter 2).

Modules, one per verb:

* :mod:`~mig_lib.kw.geography` -- provinces, distances, borders, cultural proximity;
* :mod:`~mig_lib.kw.model` -- the parameter table and the model arrays;
* :mod:`~mig_lib.kw.solve` -- backward induction (numba), with numpy and Python references;
* :mod:`~mig_lib.kw.simulate` -- simulated panels and their migration statistics;
* :mod:`~mig_lib.kw.data` -- the validated panel and its arrays;
* :mod:`~mig_lib.kw.likelihood` -- the mixture likelihood;
* :mod:`~mig_lib.kw.gradient` -- the likelihood's exact scores;
* :mod:`~mig_lib.kw.estimate` -- estimation and Monte Carlo;
* :mod:`~mig_lib.kw.montecarlo` -- the frozen large Monte Carlo (command and reader);
* :mod:`~mig_lib.kw.identification` -- which parameters the data identify;
* :mod:`~mig_lib.kw.counterfactuals` -- policy scenarios;
* :mod:`~mig_lib.kw.resources` -- memory and time of an estimation request, checked first;
* :mod:`~mig_lib.kw.regression_vault` -- model numbers pinned at fixed parameter tables.

``kw.solve`` is the solver function (the module stays importable as ``mig_lib.kw.solve``).
"""

from mig_lib.kw.counterfactuals import (Scenario, destination_shares, migration_rate, run_scenarios, simulate_scenario,
                                        standard_scenarios)
from mig_lib.kw.data import (REQUIRED_COLUMNS, PanelArrays, panel_arrays, panel_from_simulation, read_panel,
                             validate_panel)
from mig_lib.kw.estimate import estimate_kw, monte_carlo, monte_carlo_summary, simulate_estimation_panel
from mig_lib.kw.geography import (AMENITY_SCHEMA, PROVINCE_CODES, Geography, compare_with_sources, cultural_proximity,
                                  data_provenance, load_amenities, load_china)
from mig_lib.kw.gradient import ExactScores, loglik_gradient
from mig_lib.kw.identification import identification_report
from mig_lib.kw.likelihood import KWLikelihood, estimable_parameters
from mig_lib.kw.model import (KWModel, build_model, default_parameters, education_groups, eta_points, sigma_eps_points,
                              wage_age_profile)
from mig_lib.kw.montecarlo import frozen_table, load_frozen
from mig_lib.kw.resources import LongRunWarning, ResourceError, check_kw_estimation_request, check_kw_solution_memory
from mig_lib.kw.simulate import migration_statistics, simulate_panel
from mig_lib.kw.solve import KWSolution, solve, solve_numpy, solve_python

__all__ = [
    "Scenario", "destination_shares", "migration_rate", "run_scenarios", "simulate_scenario", "standard_scenarios",
    "REQUIRED_COLUMNS", "PanelArrays", "panel_arrays", "panel_from_simulation", "read_panel", "validate_panel",
    "estimate_kw", "monte_carlo", "monte_carlo_summary", "simulate_estimation_panel",
    "AMENITY_SCHEMA", "PROVINCE_CODES", "Geography", "compare_with_sources", "cultural_proximity", "data_provenance",
    "load_amenities", "load_china",
    "ExactScores", "loglik_gradient", "identification_report", "KWLikelihood", "estimable_parameters",
    "KWModel", "build_model", "default_parameters", "education_groups", "eta_points", "sigma_eps_points",
    "wage_age_profile", "frozen_table", "load_frozen",
    "LongRunWarning", "ResourceError", "check_kw_estimation_request", "check_kw_solution_memory",
    "migration_statistics", "simulate_panel", "KWSolution", "solve", "solve_numpy", "solve_python",
]
