"""mig_lib — the tested library behind *Why People Move*.

Subpackages: ``core`` (results contract, parameter validation, charts),
``peer`` (peer effects in rural–urban migration), ``kw`` (Kennan–Walker location
choice for China), ``bht`` (Becker meets Harris–Todaro).
"""

__version__ = "0.1.0"
