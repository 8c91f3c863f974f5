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
import logging
import os
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
