"""Re-run a chapter with other parameters, in-process, and collect its records.

Command line (what instructors use)::

    python -m mig_lib.run chapters/03_becker_harris_todaro.md out.ipynb \\
        -p floating_shares "[0.1, 0.2, 0.7]" --results results.json

``-p NAME VALUE`` takes a YAML value (numbers, lists, dicts, true/false, null); ``-f FILE`` reads
a YAML file of parameters. ``-g NAME VALUES`` sweeps a parameter over a YAML list; several ``-g``
give their product, one run per combination, and ``--results`` then holds one row per run (CSV)::

    python -m mig_lib.run book/how_to_run.md -g moving_cost "[0.5, 1, 2]" --results sweep.csv
 papermill cannot read MyST markdown, so the chapter is read with
jupytext into a notebook node first; the records are read back from the executed notebook.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from mig_lib.core.results import read_records


def execute_chapter(path: str | Path, output_path: str | Path | None = None,
                    parameters: Mapping[str, Any] | None = None, cwd: str | Path | None = None,
                    timeout: int | None = None):
    """Execute a MyST-markdown chapter with papermill; return ``(notebook, records)``.

    Raises ``papermill.PapermillExecutionError`` when a cell fails (a bad parameter fails in the
    chapter's validation cell with a message naming it).
    """
    import jupytext
    import papermill

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chapter {str(path)!r} does not exist")
    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executed = papermill.execute_notebook(
        notebook,
        None if output_path is None else str(output_path),
        parameters=dict(parameters or {}),
        kernel_name="python3",
        cwd=str(cwd if cwd is not None else Path.cwd()),
        progress_bar=False,
        execution_timeout=timeout,
    )
    return executed, read_records(executed)


def sweep(path: str | Path, grid: Mapping[str, Sequence[Any]],
          parameters: Mapping[str, Any] | None = None, cwd: str | Path | None = None):
    """Run a chapter once per combination of the ``grid`` values; one row of records per run.

    Returns a DataFrame with a column per swept parameter followed by a column per record.
    """
    import pandas as pd

    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid parameter {name!r} = {values!r} is not allowed: expected a non-empty list")
    rows = []
    names = list(grid)
    for combination in itertools.product(*(grid[n] for n in names)):
        chosen = dict(zip(names, combination))
        _, records = execute_chapter(path, None, {**(parameters or {}), **chosen}, cwd=cwd)
        rows.append({**chosen, **records})
    return pd.DataFrame(rows)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mig_lib.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapter", help="a chapter, e.g. chapters/01_peer_effects.md")
    parser.add_argument("output", nargs="?", help="where to save the executed notebook (.ipynb)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="a parameter; VALUE is read as YAML")
    parser.add_argument("-f", "--parameters-file", help="a YAML file of parameters")
    parser.add_argument("-g", "--grid", nargs=2, action="append", default=[], metavar=("NAME", "VALUES"),
                        help="sweep a parameter over a YAML list (repeat for a product grid)")
    parser.add_argument("--results", help="write the records here (JSON; CSV for a sweep)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    parameters: dict[str, Any] = {}
    if args.parameters_file:
        loaded = yaml.safe_load(Path(args.parameters_file).read_text()) or {}
        if not isinstance(loaded, dict):
            raise SystemExit(f"{args.parameters_file}: expected a YAML mapping of parameter names to values")
        parameters.update(loaded)
    for name, value in args.parameter:
        parameters[name] = yaml.safe_load(value)
    if args.grid:
        table = sweep(args.chapter, {n: yaml.safe_load(v) for n, v in args.grid}, parameters)
        if args.results:
            table.to_csv(args.results, index=False)
        else:
            print(table.to_string(index=False))
        return 0
    _, records = execute_chapter(args.chapter, args.output, parameters)
    text = json.dumps(records, indent=1, sort_keys=True)
    if args.results:
        Path(args.results).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
