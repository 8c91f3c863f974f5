"""Run independent tasks (sweep runs, Monte Carlo replications) on a dask.distributed client.

One entry point for the whole book, so a Monte Carlo loop and an instructor's sweep use the
cores of one machine, or a cluster, the same way::

    from mig_lib.core.distributed import map_tasks
    estimates = map_tasks(replicate, seeds)                       # every core of this machine
    estimates = map_tasks(replicate, seeds, scheduler="tcp://10.0.0.5:8786")   # a cluster

Without a client or a scheduler address, :func:`dask_client` starts an embedded
``LocalCluster`` of processes (one worker per core, one thread each) and closes it afterwards.
Each worker's numba, OpenMP and BLAS thread pools are sized so that the workers together use
the cores once: numba's parallel kernels would otherwise start a thread per core in every worker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mig_lib.core.validation import ParameterError

# Thread pools that numerical libraries size from the core count when left alone.
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def core_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_environment(workers: int, cores: int | None = None) -> dict[str, str]:
    """Thread-pool sizes for each of ``workers`` worker processes sharing ``cores`` cores."""
    cores = core_count() if cores is None else cores
    threads = str(max(1, cores // max(1, workers)))
    return {name: threads for name in THREAD_VARIABLES}


def _check_choice(workers, scheduler, scheduler_file, client) -> None:
    given = [name for name, value in (("client", client), ("scheduler", scheduler),
                                      ("scheduler_file", scheduler_file)) if value is not None]
    if len(given) > 1:
        raise ParameterError(f"give at most one of client, scheduler and scheduler_file, not {' and '.join(given)}")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ParameterError(f"parameter 'workers' = {workers!r} is not allowed: expected an integer >= 1")
        if given:
            raise ParameterError(f"parameter 'workers' = {workers!r} is not allowed with {given[0]}: "
                                 "the cluster's own workers run the tasks")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise ParameterError(f"parameter 'scheduler' = {scheduler!r} is not allowed: "
                             "expected an address such as 'tcp://127.0.0.1:8786'")
    if scheduler_file is not None and not Path(scheduler_file).is_file():
        raise ParameterError(f"parameter 'scheduler_file' = {str(scheduler_file)!r} is not allowed: "
                             "expected the JSON file written by `dask scheduler --scheduler-file FILE`")


@contextlib.contextmanager
def dask_client(*, client=None, workers: int | None = None, scheduler: str | None = None,
                scheduler_file: str | Path | None = None, preload: Sequence[str] = ()) -> Iterator[Any]:
    """Yield a ``distributed.Client``: the one given, one connected to ``scheduler`` (an address)
    or ``scheduler_file``, or one on an embedded ``LocalCluster`` of ``workers`` processes
    (default: one per core). Whatever this function started, it closes on exit.

    ``preload`` names modules each embedded worker imports as it starts, so that the first task
    does not pay for them.
    """
    _check_choice(workers, scheduler, scheduler_file, client)
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler is not None or scheduler_file is not None:
        with Client(address=scheduler, scheduler_file=None if scheduler_file is None else str(scheduler_file),
                    timeout="30s") as connected:
            yield connected
        return
    n_workers = workers or core_count()
    # A random port for the dashboard: several clusters (tests, helpers) may share the machine.
    # Only errors are logged: a worker slow to stop at shutdown is not the user's concern.
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, silence_logs=logging.ERROR,
                      dashboard_address=":0", env=worker_environment(n_workers),
                      preload=list(preload)) as cluster, \
            Client(cluster) as local:
        yield local


def iterate_completed(function: Callable, items: Sequence, client, *, key_prefix: str = "task",
                      ) -> Iterator[tuple[int, Any]]:
    """Submit ``function(item)`` for every item; yield ``(index, future)`` as each finishes.

    Leaving the loop early (an error, Ctrl-C) cancels the tasks that have not finished.
    """
    from dask.base import tokenize
    from distributed import as_completed

    token = tokenize(function, os.getpid(), id(items), len(items))
    futures = [client.submit(function, item, key=f"{key_prefix}-{index}-{token}", pure=False)
               for index, item in enumerate(items)]
    index_of = {future.key: index for index, future in enumerate(futures)}
    try:
        for future in as_completed(futures):
            yield index_of[future.key], future
    finally:
        pending = [future for future in futures if not future.done()]
        if pending:
            client.cancel(pending)


def map_tasks(function: Callable, items: Iterable, *, client=None, workers: int | None = None,
              scheduler: str | None = None, scheduler_file: str | Path | None = None,
              progress: bool = True, description: str = "tasks") -> list:
    """``[function(item) for item in items]``, one Dask task per item, results in item order.

    ``function`` must be importable or picklable (a module-level function, or a
    ``functools.partial`` of one). The first task that raises stops the map: the others are
    cancelled and its exception is raised here. A worker process that dies is replaced and its
    tasks rerun elsewhere (Dask reschedules them). ``progress`` shows a tqdm bar with an ETA.

    In a script, call it under ``if __name__ == "__main__":``: the embedded cluster's workers are
    new processes that import the script's main module.
    """
    from tqdm import tqdm

    items = list(items)
    if not callable(function):
        raise ParameterError(f"parameter 'function' = {function!r} is not allowed: expected a callable")
    if not items:
        return []
    results: list = [None] * len(items)
    with dask_client(client=client, workers=workers, scheduler=scheduler, scheduler_file=scheduler_file) as dask, \
            tqdm(total=len(items), desc=description, disable=not progress, unit="task") as bar:
        for index, future in iterate_completed(function, items, dask, key_prefix=description.replace(" ", "_")):
            results[index] = future.result()
            bar.update(1)
    return results


# ----------------------------------------------------------------------------------------------
# Long Monte Carlos: replications appended to a checkpoint as they finish, resumed when rerun
# ----------------------------------------------------------------------------------------------
def _json_value(value):
    """A task's number as JSON can hold it (numpy scalars are not JSON)."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def read_checkpoint(path: Path | str, design: dict | None = None) -> tuple[dict | None, list[dict]]:
    """(design, finished rows with their session start and finish times) of a checkpoint; (None, [])
    when it does not exist. With ``design``, a checkpoint made for another design is an error."""
    path = Path(path)
    if not path.exists():
        return None, []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not lines or "design" not in lines[0]:
        raise ParameterError(f"checkpoint {str(path)!r} does not start with a design line: remove it or use another "
                             "'--checkpoint'")
    found = lines[0]["design"]
    if design is not None and found != design:
        differ = sorted(k for k in set(found) | set(design) if found.get(k) != design.get(k))
        raise ParameterError(f"checkpoint {str(path)!r} holds replications of another design (differs in {differ}): "
                             "remove it, or give this run another '--checkpoint'")
    return found, [line for line in lines[1:] if "row" in line]


def map_replications_with_checkpoint(task: Callable, n_replications: int, design: dict, checkpoint: Path | str, *,
                                     client=None, workers: int | None = None, scheduler: str | None = None,
                                     progress: bool = True, description: str = "replications"):
    """Run the replications 0..n_replications-1 not yet in ``checkpoint`` as Dask tasks, appending
    each row as it finishes; a long Monte Carlo interrupted (Ctrl-C, a lost machine) resumes where
    it stopped when run again. ``task(r)`` returns a flat dict of numbers with a ``"replication"``
    entry; the checkpoint is one JSON line with ``design`` (a run of another design is refused),
    then one line per finished replication. Returns every replication's row as a frame (index:
    replication) and the wall-clock seconds the sessions took together (first task submitted to
    last row written, summed)."""
    from tqdm import tqdm

    checkpoint = Path(checkpoint)
    _, lines = read_checkpoint(checkpoint, design)
    done = {int(line["row"]["replication"]) for line in lines}
    todo = [r for r in range(n_replications) if r not in done]
    if not checkpoint.exists():
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_text(json.dumps({"design": design}) + "\n")
    session = time.time()
    if todo:
        with dask_client(client=client, workers=workers, scheduler=scheduler) as dask, \
                tqdm(total=n_replications, initial=n_replications - len(todo), desc=description, unit="rep",
                     disable=not progress) as bar, checkpoint.open("a") as out:
            for _, future in iterate_completed(task, todo, dask, key_prefix=description.replace(" ", "_")):
                row = {k: _json_value(v) for k, v in future.result().items()}
                out.write(json.dumps({"row": row, "session": session, "finished": time.time()}) + "\n")
                out.flush()
                bar.update(1)
    _, lines = read_checkpoint(checkpoint, design)
    return checkpoint_rows(lines, n_replications), checkpoint_wall_seconds(lines)


def checkpoint_rows(lines: list[dict], n_replications: int | None = None):
    """The finished rows of a checkpoint's lines as a frame indexed by replication (the first
    ``n_replications`` only, when given)."""
    import pandas as pd

    rows = {int(line["row"]["replication"]): line["row"] for line in lines}
    keep = sorted(r for r in rows if n_replications is None or r < n_replications)
    return pd.DataFrame([rows[r] for r in keep]).set_index("replication")


def checkpoint_wall_seconds(lines: list[dict]) -> float:
    """Wall-clock seconds of the sessions that wrote these lines, summed."""
    last: dict[float, float] = {}
    for line in lines:
        last[line["session"]] = max(last.get(line["session"], line["session"]), line["finished"])
    return float(sum(end - start for start, end in last.items()))
