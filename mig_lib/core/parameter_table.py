"""One labelled table of structural parameters per model (respy style).

Each row: name, value, lower and upper bound, the paper's symbol (LaTeX), and its meaning.
The chapter prints its notation table from it; estimators read the bounds from it; overrides
are checked against it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from mig_lib.core.validation import ParameterError


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    lower: float
    upper: float
    symbol: str
    description: str


class ParameterTable:
    """An ordered, immutable table of named parameters with bounds."""

    def __init__(self, rows: Iterable[Row | tuple]):
        self._rows: dict[str, Row] = {}
        for raw in rows:
            row = raw if isinstance(raw, Row) else Row(*raw)
            if row.name in self._rows:
                raise ValueError(f"parameter {row.name!r} appears twice in the table")
            if not row.lower <= row.upper:
                raise ValueError(f"parameter {row.name!r}: lower bound {row.lower} > upper bound {row.upper}")
            self._check(row, row.value)
            self._rows[row.name] = row

    @staticmethod
    def _check(row: Row, value: Any) -> None:
        bad_type = isinstance(value, bool) or not isinstance(value, (int, float))
        if bad_type or not math.isfinite(float(value)) or not row.lower <= float(value) <= row.upper:
            raise ParameterError(
                f"parameter {row.name!r} = {value!r} is not allowed: expected a number in "
                f"[{row.lower}, {row.upper}] ({row.description})"
            )

    def __getitem__(self, name: str) -> float:
        return self.row(name).value

    def __contains__(self, name: str) -> bool:
        return name in self._rows

    def __iter__(self):
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, name: str) -> Row:
        try:
            return self._rows[name]
        except KeyError:
            raise ParameterError(
                f"unknown parameter {name!r}: allowed names are {', '.join(self._rows)}"
            ) from None

    def checked_names(self, names: Iterable[str]) -> list[str]:
        """``names`` as a list, at least one, each a row of the table (else a ParameterError
        naming the first unknown one and the allowed names)."""
        names = list(names)
        if not names:
            raise ParameterError("names = [] is not allowed: expected at least one parameter of the table")
        for name in names:
            self.row(name)
        return names

    @property
    def names(self) -> list[str]:
        return list(self._rows)

    @property
    def values(self) -> dict[str, float]:
        return {name: row.value for name, row in self._rows.items()}

    def bounds(self, name: str) -> tuple[float, float]:
        row = self.row(name)
        return row.lower, row.upper

    def with_values(self, overrides: Mapping[str, float] | None = None, **kwargs: float) -> "ParameterTable":
        """A new table with some values replaced; unknown names and out-of-bound values raise."""
        changes = {**(overrides or {}), **kwargs}
        new_rows = dict(self._rows)
        for name, value in changes.items():
            row = self.row(name)
            self._check(row, value)
            new_rows[name] = replace(row, value=float(value))
        return ParameterTable(new_rows.values())

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [vars(row) for row in self._rows.values()],
            columns=["name", "value", "lower", "upper", "symbol", "description"],
        ).set_index("name")

    def notation(self) -> pd.DataFrame:
        """The chapter's notation table: paper symbol, code name, meaning, value."""
        return pd.DataFrame(
            {
                "paper symbol": [f"${r.symbol}$" if r.symbol else "" for r in self._rows.values()],
                "code name": [f"`{r.name}`" for r in self._rows.values()],
                "meaning": [r.description for r in self._rows.values()],
                "value": [r.value for r in self._rows.values()],
            }
        )
