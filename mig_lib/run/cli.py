"""``python -m mig_lib.run``: argument parsing, one-line errors, the tables a sweep prints."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from mig_lib.core.validation import ParameterError
from mig_lib.run.chapter import error_line, execute_chapter
from mig_lib.run.sweeps import sweep
from mig_lib.run.values import load_yaml, parse_grid_values, parse_value

EPILOG = """\
values: -p NAME VALUE follows papermill's -p: True, False and None are those values; text that
int() reads is an integer (010 is 10), text that float() reads is a number (1e6); anything else
is a string (yes stays 'yes'). A VALUE starting with [ or { is a YAML list or mapping. YAML (-y,
-f, -g lists) uses the YAML 1.2 core rules: only true/false are booleans, 010 is 10, 1e6 a number.

sweeps: every -g combination is checked against the chapter's parameters before any run starts.
Each run is saved in --out-dir (notebook.ipynb, records.json; manifest.csv lists every finished
run) as soon as it finishes; run the same command again to execute only the runs not done
(--retry-failed: only the failed ones). Ctrl-C keeps every finished run. Exit status: 0 all runs
done, 1 some run failed, 2 bad arguments or parameters, 130 interrupted.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mig_lib.run", description="Re-run a chapter of the book "
                                     "with other parameters, once or over a grid.", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapter", help="a chapter, e.g. chapters/01_peer_effects.md")
    parser.add_argument("output", nargs="?", help="single run: where to save the executed notebook (.ipynb)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter (papermill's -p rules, see below)")
    parser.add_argument("-y", "--parameters-yaml", help="YAML text of parameters, e.g. \"{moving_cost: 1.5}\"")
    parser.add_argument("-f", "--parameters-file", help="a YAML file of parameters")
    parser.add_argument("-g", "--grid", nargs=2, action="append", default=[], metavar=("NAME", "VALUES"),
                        help="sweep a parameter over a YAML list (repeat for a product grid)")
    parser.add_argument("--out-dir", help="sweep: folder for the runs and manifest.csv (default: a temporary one)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="sweep: LocalCluster worker processes (default: one per core; "
                       "0: one run after another in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="sweep: a running Dask scheduler, e.g. tcp://host:8786")
    where.add_argument("--scheduler-file", metavar="FILE", help="sweep: the file `dask scheduler --scheduler-file` wrote")
    parser.add_argument("--retry-failed", action="store_true", help="sweep: re-run only the runs that failed")
    parser.add_argument("--results", help="write the records here (JSON for one run; for a sweep a CSV table, JSON for a .json name)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", action="store_true", help="full tracebacks instead of one-line errors")
    return parser


def _parameters(args) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    sources = []
    if args.parameters_file:
        path = Path(args.parameters_file)
        if not path.is_file():
            raise ParameterError(f"-f {str(path)!r}: the file does not exist")
        sources.append((load_yaml(path.read_text(), f"-f {str(path)!r}"), f"-f {str(path)!r}"))
    if args.parameters_yaml:
        sources.append((load_yaml(args.parameters_yaml, "-y"), "-y"))
    for loaded, what in sources:
        if loaded is None:
            continue
        if not isinstance(loaded, dict):
            raise ParameterError(f"{what} is not allowed: expected a YAML mapping of parameter names to values")
        parameters.update(loaded)
    for name, value in args.parameter:
        parameters[name] = parse_value(name, value)
    return parameters


def _save_table(table: pd.DataFrame, path: str) -> None:
    if path.endswith(".json"):
        table.to_json(path, orient="records", indent=1)
    else:
        table.to_csv(path, index=False)


def _run(args) -> int:
    parameters = _parameters(args)
    if args.results and not Path(args.results).resolve().parent.is_dir():
        raise ParameterError(f"--results {args.results!r} is not allowed: its folder does not exist")
    if args.grid:
        if args.output:
            raise ParameterError(f"output {args.output!r} is not allowed with -g: each run's notebook is saved "
                                 "in --out-dir")
        grid = {name: parse_grid_values(name, values) for name, values in args.grid}
        table = sweep(args.chapter, grid, parameters, out_dir=args.out_dir, workers=args.workers,
                      scheduler=args.scheduler, scheduler_file=args.scheduler_file,
                      retry_failed=args.retry_failed, progress=not args.no_progress)
        if args.results:
            _save_table(table, args.results)
        else:
            with pd.option_context("display.width", 200, "display.max_columns", 12):
                print(table.to_string(index=False))
        failures = table.attrs["failures"]
        if failures:
            print(f"\n{len(failures)} run(s) failed (details: {table.attrs['out_dir']}/<run>/error.txt):",
                  file=sys.stderr)
            print(pd.DataFrame(failures).to_string(index=False), file=sys.stderr)
            return 1
        return 0
    if args.workers is not None or args.scheduler or args.scheduler_file or args.out_dir or args.retry_failed:
        raise ParameterError("--workers, --scheduler, --scheduler-file, --out-dir and --retry-failed are for "
                             "sweeps (-g)")
    _, records = execute_chapter(args.chapter, args.output, parameters)
    text = json.dumps(records, indent=1, sort_keys=True)
    if args.results:
        Path(args.results).write_text(text)
    else:
        print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        if args.verbose:
            raise
        print("interrupted: every finished run is saved; run the same command again to go on", file=sys.stderr)
        return 130
    except Exception as error:
        if args.verbose:
            raise
        print(f"error: {error_line(error)}", file=sys.stderr)
        return 2
