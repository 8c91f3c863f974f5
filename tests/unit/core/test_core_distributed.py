"""map_tasks on a real dask.distributed LocalCluster: order, errors, worker threads, clusters."""

from __future__ import annotations

import functools
import math
import operator
import os

import pytest

from mig_lib.core import ParameterError
from mig_lib.core.distributed import THREAD_VARIABLES, map_tasks, worker_environment


def test_results_come_back_in_item_order(client):
    items = list(range(40))
    assert map_tasks(functools.partial(operator.mul, 3), items, client=client, progress=False) == [
        3 * i for i in items]


def test_the_first_error_is_raised(client):
    with pytest.raises(ValueError, match="math domain error"):
        map_tasks(math.sqrt, [4.0, -1.0, 9.0], client=client, progress=False)


def test_embedded_cluster_sizes_each_workers_thread_pools():
    # Two workers on this process's cores: each gets cores // 2 threads (at least one). os.getenv
    # is pickled by reference, so it reads the worker's environment, not this process's.
    values = map_tasks(os.getenv, list(THREAD_VARIABLES), workers=2, progress=False)
    expected = worker_environment(2)
    assert values == [expected[name] for name in THREAD_VARIABLES]
    assert worker_environment(2, cores=2) == {name: "1" for name in THREAD_VARIABLES}
    assert worker_environment(3, cores=8)["NUMBA_NUM_THREADS"] == "2"


def test_a_scheduler_reached_by_address(client):
    address = client.scheduler.address
    assert map_tasks(abs, [-1, -2], scheduler=address, progress=False) == [1, 2]


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "parameter 'workers' = 0 is not allowed"),
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "not allowed with scheduler"),
    ({"scheduler": "tcp://127.0.0.1:1", "scheduler_file": "x.json"}, "at most one of"),
    ({"scheduler_file": "no-such-file.json"}, "parameter 'scheduler_file' = 'no-such-file.json'"),
])
def test_bad_cluster_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        map_tasks(abs, [1], progress=False, **kwargs)


def test_no_items_start_no_cluster():
    assert map_tasks(abs, [], workers=1) == []


def _fake_replication(replication: int, log) -> dict:
    with open(log, "a") as out:          # the task runs in a worker: it reports its calls in a file
        out.write(f"{replication}\n")
    return {"replication": replication, "converged": replication != 1, "seconds": 0.5,
            "estimate/a": 1.0 + 0.01 * replication, "se/a": 0.1}


def test_the_monte_carlo_checkpoint_resumes_where_it_stopped(tmp_path):
    """A rerun runs only the replications the checkpoint lacks, returns all of them in order, and a
    checkpoint of another design is refused with the parameters that differ."""
    from functools import partial

    from distributed import Client

    from mig_lib.core.distributed import map_replications_with_checkpoint, read_checkpoint

    checkpoint, design, log = tmp_path / "mc.checkpoint.jsonl", {"n_people": 10, "estimated": ["a"]}, tmp_path / "calls"
    task = partial(_fake_replication, log=log)

    def calls():
        return sorted(int(line) for line in log.read_text().split())

    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        first, _ = map_replications_with_checkpoint(task, 2, design, checkpoint, client=client, progress=False)
        assert calls() == [0, 1] and list(first.index) == [0, 1]
        draws, seconds = map_replications_with_checkpoint(task, 4, design, checkpoint, client=client, progress=False)
        assert calls() == [0, 1, 2, 3]          # 0 and 1 were not run again
        assert list(draws.index) == [0, 1, 2, 3] and list(draws["converged"]) == [True, False, True, True]
        assert draws.loc[3, "estimate/a"] == pytest.approx(1.03) and seconds >= 0
        again, _ = map_replications_with_checkpoint(task, 3, design, checkpoint, client=client, progress=False)
        assert calls() == [0, 1, 2, 3] and list(again.index) == [0, 1, 2]
        with pytest.raises(ParameterError, match=r"another design .*'n_people'"):
            map_replications_with_checkpoint(task, 4, {**design, "n_people": 20}, checkpoint, client=client, progress=False)
    assert read_checkpoint(checkpoint)[0] == design and len(read_checkpoint(checkpoint)[1]) == 4
