"""Sweeps: one chapter run per combination of a grid, as Dask tasks, saved as each one finishes.

The output folder of a sweep holds

* ``sweep.json``: the chapter and the fixed parameters (a later sweep into the same folder must
  use the same ones, so every saved run stays comparable);
* ``manifest.csv``: one row per finished run: ``run`` (its folder), the swept values, ``status``
  (``done`` or ``failed``), ``error`` (one line) and ``seconds``; rewritten after every run;
* one folder per run with ``notebook.ipynb`` and, for a run that finished, ``records.json``
  (a failed one has ``error.txt`` with the traceback instead).

Running the same sweep again executes only the runs that are not ``done``; with
``retry_failed=True`` only those that failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from mig_lib.core.validation import ParameterError
from mig_lib.run.chapter import check_names, read_chapter, run_chapter_task, validate_runs

MANIFEST = "manifest.csv"
SETTINGS = "sweep.json"
STATUS_COLUMNS = ["status", "error", "seconds"]
# Imported by each embedded worker as it starts, while the grid is being checked.
WORKER_IMPORTS = ("papermill", "mig_lib.run.chapter")


class SweepError(ParameterError):
    """A sweep that cannot start: a bad grid, a bad value in some run, a mismatched folder."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def run_name(chosen: Mapping[str, Any]) -> str:
    """The folder of one run: readable swept values plus a hash that keeps it unique."""
    readable = "__".join(f"{name}={_canonical(value)}" for name, value in chosen.items())
    readable = re.sub(r"[\[\]{}\"' ]", "", readable)  # brackets and quotes say nothing in a folder name
    readable = re.sub(r"[^A-Za-z0-9._=\-]+", "-", readable).strip("-")[:80]
    digest = hashlib.sha1(_canonical(dict(chosen)).encode()).hexdigest()[:8]
    return f"{readable}-{digest}"


def _cell(value: Any) -> Any:
    """A swept value as a manifest cell: scalars as they are, lists and dicts as JSON."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else _canonical(value)


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the last name varying fastest."""
    if not isinstance(grid, Mapping) or not grid:
        raise SweepError(f"grid = {grid!r} is not allowed: expected a dict {{name: [values, ...]}}")
    for name, values in grid.items():
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence) or len(values) == 0:
            raise SweepError(f"grid parameter {name!r} = {values!r} is not allowed: expected a non-empty list")
    names = list(grid)
    return [dict(zip(names, combination)) for combination in itertools.product(*(grid[n] for n in names))]


def read_manifest(out_dir: str | Path) -> pd.DataFrame:
    """The manifest of a sweep folder (empty when nothing has finished yet)."""
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return pd.DataFrame(columns=["run", *STATUS_COLUMNS])
    return pd.read_csv(path, keep_default_na=False, dtype={"run": str, "status": str, "error": str})


def _write_manifest(out_dir: Path, rows: dict[str, dict[str, Any]]) -> None:
    table = pd.DataFrame(list(rows.values()))
    columns = ["run"] + [c for c in table.columns if c not in ("run", *STATUS_COLUMNS)] + STATUS_COLUMNS
    partial = out_dir / f".{MANIFEST}.partial"
    table[columns].to_csv(partial, index=False)
    os.replace(partial, out_dir / MANIFEST)  # readers never see half a manifest


def _check_settings(out_dir: Path, chapter: str, parameters: Mapping[str, Any]) -> None:
    settings = {"chapter": Path(chapter).name, "parameters": dict(parameters)}
    path = out_dir / SETTINGS
    if path.exists():
        saved = json.loads(path.read_text())
        if _canonical(saved) != _canonical(settings):
            raise SweepError(f"--out-dir {str(out_dir)!r} holds a sweep of {saved['chapter']} with fixed parameters "
                             f"{saved['parameters']}, not of {settings['chapter']} with {settings['parameters']}: "
                             "use another folder")
    else:
        path.write_text(json.dumps(settings, indent=1, sort_keys=True))


def _save_run(out_dir: Path, outcome: Mapping[str, Any]) -> None:
    folder = out_dir / outcome["run"]
    folder.mkdir(exist_ok=True)
    if outcome["notebook"]:
        (folder / "notebook.ipynb").write_text(outcome["notebook"])
    for stale in ("records.json", "error.txt"):
        (folder / stale).unlink(missing_ok=True)
    if outcome["status"] == "done":
        (folder / "records.json").write_text(json.dumps(outcome["records"], indent=1, sort_keys=True))
    else:
        (folder / "error.txt").write_text(outcome["traceback"] or outcome["error"])


def _todo(runs: dict[str, dict], finished: dict[str, dict], out_dir: Path, retry_failed: bool) -> list[str]:
    todo = []
    for name in runs:
        status = finished.get(name, {}).get("status")
        done = status == "done" and (out_dir / name / "records.json").exists()
        if retry_failed:
            if status == "failed":
                todo.append(name)
        elif not done:
            todo.append(name)
    return todo


def sweep(chapter: str | Path, grid: Mapping[str, Sequence[Any]], parameters: Mapping[str, Any] | None = None,
          *, out_dir: str | Path | None = None, workers: int | None = None, scheduler: str | None = None,
          scheduler_file: str | Path | None = None, client=None, retry_failed: bool = False,
          cwd: str | Path | None = None, timeout: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Run ``chapter`` once per combination of the ``grid`` values, one Dask task per run.

    ``parameters`` are fixed for every run. Where the runs go: an embedded ``LocalCluster`` of
    ``workers`` processes (default one per core), an existing cluster (``scheduler`` address or
    ``scheduler_file``), a ``client`` you already have, or ``workers=0``: one after the other in
    this process, without Dask. Every combination is checked (parameter names, the chapter's own
    validation) before any run starts; a bad one raises :class:`SweepError` naming the run.

    Each run is saved in ``out_dir`` as it finishes (a temporary folder when ``None``); a run that
    fails is recorded and the others go on. Returns a DataFrame of the successful runs of this grid
    (a column per swept parameter, then one per record); ``table.attrs["failures"]`` lists the
    failed runs (swept values and error), ``table.attrs["out_dir"]`` the folder.
    """
    from tqdm import tqdm

    from mig_lib.core.distributed import dask_client, iterate_completed

    combinations = expand_grid(grid)
    parameters = dict(parameters or {})
    overlap = sorted(set(parameters) & set(grid))
    if overlap:
        raise SweepError(f"parameter {overlap[0]!r} is both swept (-g) and fixed (-p): give it once")
    if "results_path" in grid or parameters.get("results_path") is not None:
        raise SweepError("parameter 'results_path' is not allowed in a sweep: every run's records are written "
                         "to <out-dir>/<run>/records.json")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise SweepError(f"parameter 'workers' = {workers!r} is not allowed: expected an integer >= 0 "
                             "(0: one run after another in this process)")
        if scheduler is not None or scheduler_file is not None or client is not None:
            raise SweepError(f"parameter 'workers' = {workers!r} is not allowed with a scheduler or a client: "
                             "the cluster's own workers run the tasks")
    notebook = read_chapter(chapter)
    check_names(chapter, notebook, [*grid, *parameters])
    cwd = Path(cwd if cwd is not None else Path.cwd())
    runs = {run_name(chosen): chosen for chosen in combinations}
    finished = {}
    if out_dir is not None and Path(out_dir).is_dir():
        finished = {str(row["run"]): row for row in read_manifest(out_dir).to_dict("records")}
    todo = _todo(runs, finished, Path(out_dir) if out_dir is not None else Path(), retry_failed)

    with contextlib.ExitStack() as stack:
        # The grid is checked in a separate process while the cluster starts: a bad value still
        # stops the sweep before any run, and the check costs no extra wall time.
        checking = stack.enter_context(ThreadPoolExecutor(1)).submit(
            validate_runs, notebook, [{**parameters, **chosen} for chosen in combinations], cwd)
        dask = None
        if todo and workers != 0:
            dask = stack.enter_context(dask_client(client=client, workers=workers, scheduler=scheduler,
                                                   scheduler_file=scheduler_file, preload=WORKER_IMPORTS))
        for chosen, message in zip(combinations, checking.result()):
            if message is not None:
                raise SweepError(f"run {run_name(chosen)}: {message}")

        if out_dir is None:
            out_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="mig_lib_sweep_"))
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        _check_settings(out_dir, str(chapter), parameters)
        source = json.dumps(notebook)
        tasks = [{"run": name, "notebook": source, "parameters": {**parameters, **runs[name]},
                  "cwd": str(cwd), "timeout": timeout} for name in todo]

        def record_outcome(outcome: Mapping[str, Any]) -> None:
            _save_run(out_dir, outcome)
            finished[outcome["run"]] = {"run": outcome["run"], **{k: _cell(v) for k, v in runs[outcome["run"]].items()},
                                        "status": outcome["status"], "error": outcome["error"],
                                        "seconds": round(outcome["seconds"], 3)}
            _write_manifest(out_dir, finished)

        if tasks:
            with tqdm(total=len(tasks), desc=Path(chapter).stem, unit="run", disable=not progress) as bar:
                failed = 0

                def advance(outcome):
                    nonlocal failed
                    record_outcome(outcome)
                    failed += outcome["status"] == "failed"
                    bar.set_postfix(failed=failed, refresh=False)
                    bar.update(1)

                if dask is None:
                    for task in tasks:
                        advance(run_chapter_task(task))
                else:
                    for _, future in iterate_completed(run_chapter_task, tasks, dask, key_prefix="run"):
                        advance(future.result())

        table = results_table(out_dir, combinations)
        failures = [{**runs[name], "error": finished[name]["error"]} for name in runs
                    if finished.get(name, {}).get("status") == "failed"]
        table.attrs["failures"] = failures
        table.attrs["out_dir"] = str(out_dir)
        return table


def results_table(out_dir: str | Path, combinations: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per successful run of ``combinations``: the swept values, then every record."""
    rows = []
    for chosen in combinations:
        path = Path(out_dir) / run_name(chosen) / "records.json"
        if path.exists():
            rows.append({**chosen, **json.loads(path.read_text())})
    return pd.DataFrame(rows, columns=None if rows else list(combinations[0]) if combinations else None)
