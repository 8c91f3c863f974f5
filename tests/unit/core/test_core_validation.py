"""Parameter validation: one clear message naming the parameter, the value and what is allowed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mig_lib.core import (AnyOf, Bool, Check, Float, Int, ListOf, OneOf, OptionalPath, ParameterError,
                          ParameterTable, Shares, check_parameters)


def _message(spec, value, name="p"):
    with pytest.raises(ParameterError) as err:
        check_parameters({name: value}, {name: spec})
    return str(err.value)


def test_int_message_is_exact():
    assert _message(Int(10, 100), 5, "n_people") == (
        "parameter 'n_people' = 5 is not allowed: expected an integer in [10, 100]")


@pytest.mark.parametrize("value", [5.0, True, "7", None])
def test_int_rejects_non_integers(value):
    assert "expected an integer" in _message(Int(0, 10), value)


def test_float_bounds_open_and_closed():
    check_parameters({"x": 0.0}, {"x": Float(0, 1)})
    assert _message(Float(0, 1, lo_open=True), 0.0).endswith("expected a number in (0, 1]")
    assert "nan" in _message(Float(), float("nan"))
    check_parameters({"x": 3}, {"x": Float(0, 5)})      # integers are numbers


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_float_accepts_exactly_the_interval(x):
    spec = Float(-1.0, 2.0, hi_open=True)
    assert spec.ok(x) == (-1.0 <= x < 2.0)


def test_bool_oneof_path():
    check_parameters({"b": False, "c": "all", "p": None}, {"b": Bool(), "c": OneOf("all", "east"), "p": OptionalPath()})
    assert "True or False" in _message(Bool(), 1)
    assert "one of 'all', 'east'" in _message(OneOf("all", "east"), "west")
    assert "None or a file path" in _message(OptionalPath(), 12345)


def test_shares():
    check_parameters({"s": (0.05, 0.2, 0.75)}, {"s": Shares(3)})
    for bad in [(0.5, 0.5), (0.0, 0.25, 0.75), (0.3, 0.3, 0.3), "abc", {"a": 1}]:
        assert "3 numbers, each in (0, 1), summing to 1" in _message(Shares(3), bad)


def test_list_of_checks_items_and_repeats():
    spec = ListOf(OneOf("BJ", "SH", "GD"))
    check_parameters({"p": ["BJ", "SH"]}, {"p": spec})
    assert "without repeats" in _message(spec, ["BJ", "BJ"])
    assert "a list of at least 1" in _message(spec, [])
    assert _message(spec, ["XX"]).startswith("parameter 'p' = ['XX'] is not allowed")


def test_check_and_anyof():
    even = Check(lambda v: v % 2 == 0, "an even integer")
    assert "an even integer" in _message(even, 3)
    assert "an even integer" in _message(even, "x")          # a raising predicate is a no
    either = AnyOf(OneOf("all"), ListOf(Int(0, 30)))
    check_parameters({"p": "all"}, {"p": either})
    check_parameters({"p": [1, 2]}, {"p": either})
    assert "'all' or a list" in _message(either, "some")


def test_missing_parameter_is_named():
    with pytest.raises(ParameterError, match="parameter 'seed' is missing"):
        check_parameters({}, {"seed": Int(0)})


def test_parameter_table():
    table = ParameterTable([
        ("moving_cost", 4.79, 0.0, 20.0, r"\gamma_0", "moving-cost intercept"),
        ("income_coefficient", 0.312, 0.0, 5.0, r"\alpha_0", "utility per unit of income"),
    ])
    assert table["moving_cost"] == 4.79 and table.bounds("income_coefficient") == (0.0, 5.0)
    changed = table.with_values(moving_cost=3.0)
    assert changed["moving_cost"] == 3.0 and table["moving_cost"] == 4.79   # immutable
    with pytest.raises(ParameterError, match="unknown parameter 'distance'"):
        table.with_values(distance=1.0)
    with pytest.raises(ParameterError, match=r"'moving_cost' = 30.0 is not allowed: expected a number in \[0.0, 20.0\]"):
        table.with_values(moving_cost=30.0)
    notation = table.notation()
    assert list(notation["paper symbol"]) == [r"$\gamma_0$", r"$\alpha_0$"]
    assert list(table.to_frame().index) == ["moving_cost", "income_coefficient"]
    with pytest.raises(ValueError, match="appears twice"):
        ParameterTable([("a", 1, 0, 2, "a", ""), ("a", 1, 0, 2, "a", "")])


def test_checked_names_needs_known_names_and_at_least_one():
    table = ParameterTable([("a", 1.0, 0.0, 2.0, "a", "first"), ("b", 1.0, 0.0, 2.0, "b", "second")])
    assert table.checked_names(name for name in ("b", "a")) == ["b", "a"]
    with pytest.raises(ParameterError, match=r"names = \[\] is not allowed"):
        table.checked_names([])
    with pytest.raises(ParameterError, match="unknown parameter 'c': allowed names are a, b"):
        table.checked_names(["a", "c"])
