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
