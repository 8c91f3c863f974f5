"""The results contract: one mechanism for the prose, the tests and instructors.

A chapter calls :func:`record` for every number that matters. The value is

* displayed under :data:`RECORD_MIME`, so a notebook executed by papermill carries it
  (:func:`read_records` collects it back);
* glued with myst-nb, so the prose can show it (``{glue:text}`key:.3f```);
* kept in this kernel's registry, so :func:`write_records` can save it as JSON.

:func:`compare` puts the records next to the paper's printed values
(``data/published/<chapter>.json``) with their tolerances.

Records are exact, not rounded: a run with the same parameters records the same values, bit for
bit. One source of drift is the machine, not the code: a multi-threaded BLAS splits a matrix
product's sums across threads, so the order of additions (and the last digits, ~1e-10 relative
in chapter 1's probits) depends on the thread count. A chapter whose records go through large
matrix products calls :func:`single_threaded_blas` in its setup cell, so that its records are
identical whatever ``OPENBLAS_NUM_THREADS`` (or the number of cores) is; tests/test_chapters.py
checks this for chapter 1.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RECORD_MIME = "application/vnd.mig-lib.record+json"

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
_REGISTRY: dict[str, Any] = {}


def _plain(value: Any) -> Any:
    """Convert numpy scalars/arrays to JSON-ready Python values; reject anything else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(
        f"record value must be a number, bool, string, list or dict, got {type(value).__name__}"
    )


def record(key: str, value: Any) -> None:
    """Record ``value`` under ``key`` (slash-separated, e.g. ``table4/benchmark/chi_H``).

    Shows nothing on the page: the MIME bundle carries only the record type, and the glue
    is registered without display. Returns ``None`` so a cell ending in ``record(...)``
    echoes nothing.
    """
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(
            f"record key {key!r} is not allowed: use slash-separated parts of letters, "
            "digits, '_', '.', '-' (e.g. 'table4/benchmark/chi_H')"
        )
    plain = _plain(value)
    _REGISTRY[key] = plain
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: the registry is enough
        return None
    if get_ipython() is None:
        return None
    display({RECORD_MIME: {"key": key, "value": plain}}, raw=True)
    try:
        from myst_nb import glue
    except ImportError:
        return None
    glue(key, value if not isinstance(value, np.generic) else value.item(), display=False)
    return None


def record_all(values: Mapping[str, Any], prefix: str = "") -> None:
    """Record every ``key: value`` of a mapping, each key behind ``prefix`` (e.g. ``"four_type/"``)."""
    for key, value in values.items():
        record(prefix + key, value)


def record_columns(table: pd.DataFrame, keys: Mapping[str, str]) -> None:
    """Record every cell of some columns of ``table``, one record per row and column.

    ``keys`` maps a column to the pattern of its keys, in which ``{}`` stands for the row's label
    (e.g. ``{"estimate": "synthetic/estimate/{}"}`` records ``synthetic/estimate/<row>`` for every
    row). The values keep their column's type (an integer column records integers).
    """
    missing = [column for column in keys if column not in table.columns]
    if missing:
        raise ValueError(f"argument 'keys' names columns {missing} that the table does not have: "
                         f"expected some of {list(table.columns)}")
    for column, pattern in keys.items():
        if not isinstance(pattern, str) or pattern.count("{}") != 1:
            raise ValueError(f"argument 'keys' has the pattern {pattern!r} for column {column!r}: expected a "
                             "string with one '{}' where the row label goes (e.g. 'synthetic/estimate/{}')")
    for column, pattern in keys.items():
        for label, value in table[column].items():
            record(pattern.format(label), value)


def single_threaded_blas() -> None:
    """Run this process's BLAS on one thread, so sums in matrix products add in a fixed order.

    Costs little on the book's problem sizes (matrices of a few thousand rows, two cores) and
    makes the records independent of the BLAS thread count (see the module docstring).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def recorded() -> dict[str, Any]:
    """A copy of every record made in this process."""
    return dict(_REGISTRY)


def clear_records() -> None:
    _REGISTRY.clear()


def write_records(path: str | Path | None) -> None:
    """Write this process's records as JSON to ``path`` (the chapters' ``results_path``)."""
    if path is None or path == "":
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_REGISTRY, indent=1, sort_keys=True))
    return None


def read_records(notebook: Any) -> dict[str, Any]:
    """Collect ``{key: value}`` from an executed notebook (a path or an nbformat node)."""
    if isinstance(notebook, (str, Path)):
        import nbformat

        notebook = nbformat.read(str(notebook), as_version=4)
    out: dict[str, Any] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RECORD_MIME in data:
                payload = data[RECORD_MIME]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                out[payload["key"]] = payload["value"]
    return out


def load_published(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read ``data/published/<chapter>.json`` and check its schema.

    Format::

        {"paper": "...citation...",
         "values": {"table4/benchmark/chi_H": {"value": 0.2381, "tolerance": {"abs": 2.5e-4},
                                               "source": "Table 4, row 1, column 1"}, ...}}
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    values = doc.get("values") if isinstance(doc, dict) else None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected an object with a 'values' object")
    for key, entry in values.items():
        where = f"{path}: entry {key!r}"
        if not isinstance(entry, dict) or "value" not in entry:
            raise ValueError(f"{where} needs a 'value'")
        if not isinstance(entry["value"], (int, float)) or isinstance(entry["value"], bool):
            raise ValueError(f"{where}: 'value' must be a number, got {entry['value']!r}")
        tol = entry.get("tolerance")
        if not isinstance(tol, dict) or set(tol) - {"abs", "rel"} or not tol:
            raise ValueError(f"{where}: 'tolerance' must be {{'abs': x}} and/or {{'rel': x}}")
        if any((not isinstance(t, (int, float))) or t < 0 for t in tol.values()):
            raise ValueError(f"{where}: tolerances must be non-negative numbers")
        if not isinstance(entry.get("source"), str) or not entry["source"]:
            raise ValueError(f"{where} needs a 'source' (where the paper prints it)")
    return values


def _within(paper: float, ours: float, tol: Mapping[str, float]) -> bool:
    diff = abs(ours - paper)
    # Either tolerance suffices when both are given (abs guards values near zero).
    ok_abs = diff <= tol["abs"] + 1e-15 if "abs" in tol else False
    ok_rel = diff <= tol["rel"] * abs(paper) + 1e-15 if "rel" in tol else False
    return ok_abs or ok_rel


def compare(records: Mapping[str, Any], published: str | Path | Mapping[str, Any]) -> pd.DataFrame:
    """Paper vs ours for every published key: key / paper / ours / difference / tolerance / ok.

    A key the chapter did not record (or recorded as a non-number) is not ok.
    """
    values = load_published(published) if isinstance(published, (str, Path)) else published
    rows = []
    for key, entry in values.items():
        paper = float(entry["value"])
        tol = entry["tolerance"]
        ours_raw = records.get(key)
        is_number = isinstance(ours_raw, (int, float)) and not isinstance(ours_raw, bool)
        ours = float(ours_raw) if is_number else math.nan
        ok = is_number and math.isfinite(ours) and _within(paper, ours, tol)
        tol_text = " or ".join(f"{kind} {val:g}" for kind, val in sorted(tol.items()))
        rows.append(
            {
                "key": key,
                "paper": paper,
                "ours": ours,
                "difference": ours - paper,
                "tolerance": tol_text,
                "ok": bool(ok),
                "source": entry.get("source", ""),
            }
        )
    return pd.DataFrame(rows, columns=["key", "paper", "ours", "difference", "tolerance", "ok", "source"])
