"""Becker meets Harris-Todaro: migration and fertility with hukou, land and one-child policies.

Replication of Liao, Wang, Wang & Yip (NBER w27767). Modules, one per verb:

* :mod:`~mig_lib.bht.model` -- the parameter table and the population stocks;
* :mod:`~mig_lib.bht.household` -- closed-form fertility, bequests and value functions;
* :mod:`~mig_lib.bht.equilibrium` -- allocation at given migration fractions and the solver;
* :mod:`~mig_lib.bht.outcomes` -- what Tables 4-6 report at an allocation;
* :mod:`~mig_lib.bht.calibrate` -- Table 2 from the targets, Table 3;
* :mod:`~mig_lib.bht.experiments` -- the seven policy experiments;
* :mod:`~mig_lib.bht.dynamics` -- laws of motion, balanced growth and Proposition 4.
"""

from mig_lib.bht.calibrate import (Calibration, CalibrationTargets, calibrate, calibration_records, floating_share_region, model_implications,
                                   table2_values)
from mig_lib.bht.dynamics import (growth_factors, informal_wage_ratio_for_balanced_growth, next_generation,
                                  overall_fertility, simulate_path, skill_growth_bounds)
from mig_lib.bht.equilibrium import (TYPES, Allocation, EquilibriumError, allocate, equilibrium_residuals,
                                     largest_violation, migration_gains, net_gains, net_gains_at, regime,
                                     solve_equilibrium, solve_paper_pattern, theorem2_decomposition,
                                     type_conditions)
from mig_lib.bht.experiments import (EXPERIMENTS, PRINTED_PATTERNS, ExperimentResult, comparative_statics,
                                     experiment_records,
                                     percent_changes, run_all, run_equilibrium, run_experiment)
from mig_lib.bht.household import (PLACES, HouseholdChoice, fertility, fine_paid, household_choice, place_rules,
                                   utility)
from mig_lib.bht.model import PopulationStocks, paper_parameters, population_stocks
from mig_lib.bht.outcomes import (fertility_by_group, paper_conditions, private_ratio_bound, table4_columns,
                                  table5_columns, table6_columns)

__all__ = [
    "Allocation", "Calibration", "CalibrationTargets", "EXPERIMENTS", "EquilibriumError", "ExperimentResult",
    "HouseholdChoice", "PLACES", "PopulationStocks", "allocate", "calibrate", "equilibrium_residuals",
    "fertility", "fertility_by_group", "household_choice", "migration_gains",
    "model_implications", "net_gains", "paper_parameters", "percent_changes", "population_stocks", "run_all",
    "run_experiment", "solve_equilibrium", "table2_values", "table4_columns", "table5_columns",
    "table6_columns", "theorem2_decomposition", "utility", "regime", "comparative_statics",
    "TYPES", "PRINTED_PATTERNS", "largest_violation", "net_gains_at", "run_equilibrium",
    "solve_paper_pattern", "type_conditions", "floating_share_region", "fine_paid", "place_rules",
    "growth_factors", "informal_wage_ratio_for_balanced_growth", "next_generation", "overall_fertility",
    "simulate_path", "skill_growth_bounds", "calibration_records", "experiment_records",
    "paper_conditions", "private_ratio_bound",
]
