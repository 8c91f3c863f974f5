"""Validation of the chapters' papermill parameters and the library's public arguments.

Not the models' structural parameters: those live in ``parameter_table``.

Each spec checks one value and describes what is allowed, so a bad papermill parameter fails
with one message naming the parameter, the value and the allowed set::

    check_parameters({"n_people": n_people, "seed": seed},
                     {"n_people": Int(10, 100_000), "seed": Int(0, 2**32 - 1)})
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


class ParameterError(ValueError):
    """A parameter value outside what is allowed."""


class Spec:
    description = "a value"

    def ok(self, value: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, name: str, value: Any) -> None:
        if not self.ok(value):
            raise ParameterError(f"parameter {name!r} = {value!r} is not allowed: expected {self.description}")


def _bracket(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    left = "(" if lo_open or lo is None else "["
    right = ")" if hi_open or hi is None else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


class Int(Spec):
    def __init__(self, lo: int | None = None, hi: int | None = None):
        self.lo, self.hi = lo, hi
        self.description = f"an integer in {_bracket(lo, hi, False, False)}"

    def ok(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return False
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)


class Float(Spec):
    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
                 hi_open: bool = False):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open
        self.description = f"a number in {_bracket(lo, hi, lo_open, hi_open)}"

    def ok(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        v = float(value)
        if not math.isfinite(v):
            return False
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            return False
        return True


class Bool(Spec):
    description = "True or False"

    def ok(self, value: Any) -> bool:
        return isinstance(value, bool)


class OneOf(Spec):
    def __init__(self, *options: Any):
        self.options = options
        self.description = "one of " + ", ".join(repr(o) for o in options)

    def ok(self, value: Any) -> bool:
        return any(value == o and type(value) is type(o) for o in self.options)


class OptionalPath(Spec):
    description = "None or a file path (str)"

    def ok(self, value: Any) -> bool:
        return value is None or (isinstance(value, (str, Path)) and str(value) != "")


class Shares(Spec):
    """``n`` numbers, each strictly between 0 and 1, summing to 1."""

    def __init__(self, n: int, atol: float = 1e-9):
        self.n, self.atol = n, atol
        self.description = f"{n} numbers, each in (0, 1), summing to 1"

    def ok(self, value: Any) -> bool:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            return False
        if len(value) != self.n or not all(Float(0, 1, True, True).ok(v) for v in value):
            return False
        return abs(sum(float(v) for v in value) - 1.0) <= self.atol


class ListOf(Spec):
    """A non-empty list whose items all satisfy ``item`` (optionally without repeats)."""

    def __init__(self, item: Spec, min_len: int = 1, max_len: int | None = None, unique: bool = True):
        self.item, self.min_len, self.max_len, self.unique = item, min_len, max_len, unique
        size = f"at least {min_len}" + ("" if max_len is None else f" and at most {max_len}")
        self.description = f"a list of {size} items, each {item.description}" + (
            ", without repeats" if unique else "")

    def ok(self, value: Any) -> bool:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            return False
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            return False
        if self.unique and len(set(map(repr, value))) != len(value):
            return False
        return all(self.item.ok(v) for v in value)


class Check(Spec):
    """Any predicate, with the words that describe what it allows."""

    def __init__(self, predicate: Callable[[Any], bool], description: str):
        self.predicate, self.description = predicate, description

    def ok(self, value: Any) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:
            return False


class AnyOf(Spec):
    def __init__(self, *specs: Spec):
        self.specs = specs
        self.description = " or ".join(s.description for s in specs)

    def ok(self, value: Any) -> bool:
        return any(s.ok(value) for s in self.specs)


def check_parameters(values: Mapping[str, Any], spec: Mapping[str, Spec]) -> None:
    """Raise :class:`ParameterError` for the first value that its spec does not allow."""
    missing = [name for name in spec if name not in values]
    if missing:
        raise ParameterError(f"parameter {missing[0]!r} is missing: expected {spec[missing[0]].description}")
    for name, check in spec.items():
        check(name, values[name])
