"""One chapter run: read the MyST page, check the parameters, execute it with papermill.

papermill cannot read MyST markdown, so the chapter is read with jupytext into a notebook node
first; the records are read back from the executed notebook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mig_lib.core.validation import ParameterError
from mig_lib.core.results import read_records


# Seconds to wait for a cell's last outputs after the kernel says it finished. nbclient's default
# of 4 s fails runs on a busy machine ("Timeout waiting for IOPub output"), seen in a sweep of
# chapter 3 with two runs in parallel on a shared machine.
IOPUB_TIMEOUT = 120

#: The front matter of a MyST-markdown notebook with a Python 3 kernel, the chapters' format: a
#: page written by a test or a benchmark starts with it.
MYST_NOTEBOOK_FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def read_chapter(path: str | Path):
    """The chapter as a notebook node (jupytext), with the kernel papermill should start."""
    import jupytext

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chapter {str(path)!r} does not exist")
    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cell in notebook.cells:  # papermill's inspection expects every cell to have tags
        cell.metadata.setdefault("tags", [])
    return notebook


def chapter_parameters(notebook) -> list[str]:
    """Names of the parameters in the chapter's ``parameters`` cell, as papermill sees them."""
    from papermill.inspection import _infer_parameters

    return [parameter.name for parameter in _infer_parameters(notebook, name="python3", language="python")]


def check_names(chapter: str | Path, notebook, names: Sequence[str]) -> None:
    """Reject names that are not parameters of the chapter (papermill would only warn)."""
    known = chapter_parameters(notebook)
    unknown = [name for name in names if name not in known]
    if unknown:
        listing = ", ".join(known) if known else "none: it has no cell tagged 'parameters'"
        raise ParameterError(f"parameter {unknown[0]!r} is not a parameter of {chapter}; "
                             f"its parameters are: {listing}")


def check_results_path(value: Any, cwd: str | Path) -> None:
    """A ``results_path`` given as text must name a file in an existing folder.

    Other types are left to the chapter's own validation, which names what is allowed.
    """
    if not isinstance(value, (str, Path)) or str(value) == "":
        return
    path = Path(cwd) / value
    if path.is_dir():
        raise ParameterError(f"parameter 'results_path' = {str(value)!r} is not allowed: it is a folder; "
                             "expected a file path such as 'results.json'")
    if not path.parent.is_dir():
        raise ParameterError(f"parameter 'results_path' = {str(value)!r} is not allowed: its folder "
                             f"{str(path.parent)!r} does not exist (create it first)")


def check_run(chapter: str | Path, notebook, parameters: Mapping[str, Any], cwd: str | Path) -> None:
    """The checks every run gets before a kernel starts: known names, a usable results_path."""
    check_names(chapter, notebook, list(parameters))
    if "results_path" in parameters:
        check_results_path(parameters["results_path"], cwd)


def execute_chapter(path: str | Path, output_path: str | Path | None = None,
                    parameters: Mapping[str, Any] | None = None, cwd: str | Path | None = None,
                    timeout: int | None = None):
    """Execute a MyST-markdown chapter with papermill; return ``(notebook, records)``.

    Unknown parameter names and an unusable ``results_path`` raise :class:`ParameterError`
    before the kernel starts. Raises ``papermill.PapermillExecutionError`` when a cell fails (a
    bad value fails in the chapter's validation cell with a message naming it).
    """
    import papermill

    notebook = read_chapter(path)
    cwd = Path(cwd if cwd is not None else Path.cwd())
    parameters = dict(parameters or {})
    check_run(path, notebook, parameters, cwd)
    executed = papermill.execute_notebook(
        notebook,
        None if output_path is None else str(output_path),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(cwd),
        progress_bar=False,
        execution_timeout=timeout,
        iopub_timeout=IOPUB_TIMEOUT,
    )
    return executed, read_records(executed)


def error_line(error: BaseException) -> str:
    """One line for an error: the chapter's own message when a cell failed."""
    ename, evalue = getattr(error, "ename", None), getattr(error, "evalue", None)
    if ename is not None:
        return evalue if ename == "ParameterError" else f"{ename}: {evalue}"
    return str(error) if isinstance(error, (ParameterError, FileNotFoundError)) else f"{type(error).__name__}: {error}"


# The kernels of a sweep log only errors: their start-up warnings would otherwise reach the
# terminal (or, for a sweep run inside a notebook, that notebook's output) once per run.
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]


def run_chapter_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one run of a sweep (on a Dask worker or here) and return everything it produced.

    ``task`` holds the chapter as notebook JSON (so a worker on another machine needs no copy of
    the book's files), the run's parameters, the working folder and a timeout. A failing run is
    not an exception: it comes back with ``status = "failed"``, the error's one-line message, the
    traceback and the notebook up to the failing cell, so one bad run never stops a sweep.
    """
    import nbformat
    import papermill

    started = time.perf_counter()
    notebook = nbformat.reads(task["notebook"], as_version=4)
    cwd = task.get("cwd")
    with tempfile.TemporaryDirectory(prefix="mig_lib_run_") as scratch:
        if cwd is None or not Path(cwd).is_dir():
            cwd = scratch
        output = Path(scratch) / "notebook.ipynb"
        outcome: dict[str, Any] = {"run": task.get("run"), "host": os.uname().nodename, "pid": os.getpid()}
        try:
            executed = papermill.execute_notebook(notebook, str(output), parameters=dict(task["parameters"]),
                                                  kernel_name="python3", cwd=str(cwd), progress_bar=False,
                                                  execution_timeout=task.get("timeout"),
                                                  iopub_timeout=IOPUB_TIMEOUT, extra_arguments=QUIET_KERNEL)
            outcome.update(status="done", records=read_records(executed), error="", traceback="",
                           notebook=nbformat.writes(executed))
        except Exception as error:  # a failed run is a result, recorded in the manifest
            outcome.update(status="failed", records={}, error=error_line(error),
                           traceback="".join(traceback.format_exception(error)),
                           notebook=output.read_text() if output.exists() else "")
    outcome["seconds"] = time.perf_counter() - started
    return outcome


# ---------------------------------------------------------------------------------------------
# Validation of a whole grid before anything runs: the chapter's own validation cell, executed in
# a separate Python process (never in the caller's kernel, whose records it could touch) once
# for every combination. Its imports run once.

def validation_cells(notebook) -> tuple[list[str], int, int] | None:
    """Code cells up to the chapter's validation cell: ``(sources, parameters_index, last_index)``.

    The validation cell is the first code cell after the ``parameters`` cell that calls
    ``check_parameters(``; ``None`` when the chapter has no such pair.
    """
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    tags = [cell.metadata.get("tags", []) for cell in notebook.cells if cell.cell_type == "code"]
    marked = [i for i, cell_tags in enumerate(tags) if "parameters" in cell_tags]
    if not marked:
        return None
    first = marked[0]
    for last in range(first + 1, len(sources)):
        if "check_parameters(" in sources[last]:
            return sources[: last + 1], first, last
    return None


def validate_runs(notebook, runs: Sequence[Mapping[str, Any]], cwd: str | Path) -> list[str | None]:
    """For each run's parameters, ``None`` or the message the chapter's validation would give."""
    cells = validation_cells(notebook)
    if cells is None or not runs:
        return [None] * len(runs)
    sources, first, last = cells
    payload = json.dumps({"sources": sources, "first": first, "runs": [dict(r) for r in runs]})
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", "from mig_lib.run.chapter import _validate_stdin; _validate_stdin()"],
                          input=payload, capture_output=True, text=True, cwd=str(cwd), env=env)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit code {done.returncode}"
        raise RuntimeError(f"could not check the parameters: the cells before the chapter's validation failed ({detail})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _validate_stdin() -> None:
    import contextlib
    import io

    request = json.loads(sys.stdin.read())
    sources, first = request["sources"], request["first"]
    namespace: dict[str, Any] = {"__name__": "__chapter_validation__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for source in sources[:first]:
            exec(compile(source, "<chapter>", "exec"), namespace)  # noqa: S102 - the chapter's own cells
    messages = []
    for parameters in request["runs"]:
        scope = dict(namespace)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(sources[first], "<parameters>", "exec"), scope)  # noqa: S102
                scope.update(parameters)
                for source in sources[first + 1:]:
                    exec(compile(source, "<validation>", "exec"), scope)  # noqa: S102
            messages.append(None)
        except Exception as error:  # every failure of the validation cell is a parameter problem
            messages.append(error_line(error))
    print(json.dumps(messages))
