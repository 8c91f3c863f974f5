"""Peer effects in rural-urban migration (CHIPS 2002): probit with social interactions.

Modules, one per verb: :mod:`~mig_lib.peer.tables` (the paper's printed numbers),
:mod:`~mig_lib.peer.model` (response curve, equilibria, bifurcation),
:mod:`~mig_lib.peer.marginal_effects` (Appendix 1, Stata-style, Ai-Norton),
:mod:`~mig_lib.peer.synthetic` (a CHIPS-like world with known truth),
:mod:`~mig_lib.peer.estimate` (probits, IV probit), :mod:`~mig_lib.peer.montecarlo`,
:mod:`~mig_lib.peer.data` (loader for the licensed extract).
"""

from mig_lib.peer.data import Chip2002SchemaError, extract_from_world, load_chip2002, validate_chip2002
from mig_lib.peer.estimate import fit_probit, iv_probit, probit_loglike, probit_score, table3_regressors
from mig_lib.peer.marginal_effects import appendix1_marginal_effects, interaction_effect, table3_marginal_effects
from mig_lib.peer.model import (
    ResponseCurve,
    find_equilibria,
    female_coefficient,
    representative_curve,
    scenario_curve,
    true_coefficients,
)
from mig_lib.peer.montecarlo import monte_carlo, reflection_contrast, summarize
from mig_lib.peer.synthetic import draw_world, share_check
from mig_lib.peer.tables import published_value

__all__ = [
    "Chip2002SchemaError", "extract_from_world", "load_chip2002", "validate_chip2002", "fit_probit", "iv_probit",
    "probit_loglike", "probit_score", "table3_regressors", "appendix1_marginal_effects", "interaction_effect",
    "table3_marginal_effects", "ResponseCurve", "find_equilibria", "female_coefficient", "representative_curve",
    "scenario_curve", "true_coefficients", "monte_carlo", "reflection_contrast", "summarize", "draw_world",
    "share_check", "published_value",
]
