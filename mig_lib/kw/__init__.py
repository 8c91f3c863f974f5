"""Kennan-Walker (2011) dynamic location choice, applied to China's 31 provinces.

Part 1 (this package's geography, model, solve, simulate modules): the model, its solver and
simulation.  Part 2 (likelihood, estimate, data, counterfactuals) estimates it.
"""
