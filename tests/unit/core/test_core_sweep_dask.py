"""Sweeps on real dask.distributed clusters: same records as serial, failures, resume, a killed
worker, a scheduler started by the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from conftest import ROOT
from mig_lib.core.distributed import dask_client
from mig_lib.run import main, read_manifest, run_name, sweep
import mig_lib.run.sweeps as sweep_module
from mig_lib.run.chapter import MYST_NOTEBOOK_FRONT_MATTER

HOW_TO = ROOT / "book" / "how_to_run.md"

# A page far cheaper than any chapter: a kernel, one import, one record. x = 13 fails after the
# validation (a run that fails while computing); `pause` keeps a run busy for the fault test.
TINY = MYST_NOTEBOOK_FRONT_MATTER + '''
```{code-cell} ipython3
import os
import time
from mig_lib.core import Float, Int, check_parameters, record
```

```{code-cell} ipython3
:tags: [parameters]

x = 1          # integer in [0, 100]
pause = 0.0    # seconds to wait before computing; in [0, 60]
```

```{code-cell} ipython3
check_parameters({"x": x, "pause": pause}, {"x": Int(0, 100), "pause": Float(0, 60)})
```

```{code-cell} ipython3
time.sleep(pause)
if x == 13:
    raise RuntimeError("thirteen is unlucky")
record("square", x * x)
record("half", x / 2)
```
'''


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "tiny.md"
    path.write_text(TINY)
    return path


def test_localcluster_sweep_equals_serial_record_for_record(tmp_path, client):
    grid = {"moving_cost": [0.5, 2.5], "income_gap": [1.0]}
    fixed = {"sweep_workers": 0}
    serial = sweep(HOW_TO, grid, fixed, workers=0, out_dir=tmp_path / "serial", progress=False)
    parallel = sweep(HOW_TO, grid, fixed, client=client, out_dir=tmp_path / "dask", progress=False)
    assert len(serial) == 2 and serial.columns.tolist() == parallel.columns.tolist()
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    for chosen in ({"moving_cost": 0.5, "income_gap": 1.0}, {"moving_cost": 2.5, "income_gap": 1.0}):
        name = run_name(chosen)
        assert (json.loads((tmp_path / "serial" / name / "records.json").read_text())
                == json.loads((tmp_path / "dask" / name / "records.json").read_text()))
        assert (tmp_path / "dask" / name / "notebook.ipynb").exists()


def test_one_failing_run_is_recorded_and_the_others_finish(tmp_path, tiny, client, capsys):
    table = sweep(tiny, {"x": [2, 13, 3]}, client=client, out_dir=tmp_path, progress=False)
    assert table["x"].tolist() == [2, 3] and table["square"].tolist() == [4, 9]
    assert table.attrs["failures"] == [{"x": 13, "error": "RuntimeError: thirteen is unlucky"}]
    manifest = read_manifest(tmp_path).set_index("x")
    assert manifest.loc[13, "status"] == "failed"
    assert manifest.loc[13, "error"] == "RuntimeError: thirteen is unlucky"
    assert (manifest.loc[[2, 3], "status"] == "done").all()
    failed = tmp_path / run_name({"x": 13})
    assert "thirteen is unlucky" in (failed / "error.txt").read_text() and not (failed / "records.json").exists()

    # The command line prints the failures table and exits 1; --retry-failed runs only the failure.
    assert main([str(tiny), "-g", "x", "[2, 13, 3]", "--out-dir", str(tmp_path), "--retry-failed",
                 "--scheduler", client.scheduler.address, "--no-progress"]) == 1
    out, err = capsys.readouterr()
    assert "1 run(s) failed" in err and "thirteen is unlucky" in err
    assert read_manifest(tmp_path).shape[0] == 3


def test_resume_after_an_interruption_executes_only_the_missing_runs(tmp_path, tiny, client, monkeypatch):
    saved = []
    real_save, real_manifest = sweep_module._save_run, sweep_module._write_manifest

    def save(out_dir, outcome):
        real_save(out_dir, outcome)
        saved.append(outcome["run"])

    def manifest_then_interrupt(out_dir, rows):
        real_manifest(out_dir, rows)
        if len(saved) == 2:
            raise KeyboardInterrupt  # as if Ctrl-C came right after the second run was saved

    grid = {"x": [1, 2, 3, 4]}
    monkeypatch.setattr(sweep_module, "_save_run", save)
    monkeypatch.setattr(sweep_module, "_write_manifest", manifest_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        sweep(tiny, grid, client=client, out_dir=tmp_path, progress=False)
    first = list(saved)
    assert len(first) == 2 and sorted(read_manifest(tmp_path)["run"]) == sorted(first)

    monkeypatch.setattr(sweep_module, "_write_manifest", real_manifest)
    saved.clear()
    table = sweep(tiny, grid, client=client, out_dir=tmp_path, progress=False)
    every = {run_name({"x": x}) for x in grid["x"]}
    assert sorted(saved) == sorted(every - set(first))
    assert table["square"].tolist() == [1, 4, 9, 16]
    saved.clear()
    sweep(tiny, grid, client=client, out_dir=tmp_path, progress=False)
    assert saved == []


def test_a_killed_worker_does_not_lose_the_sweep(tmp_path, tiny):
    with dask_client(workers=2) as own:
        killed = []

        def kill_a_busy_worker():
            deadline = time.time() + 120
            while time.time() < deadline and not killed:
                busy = [address for address, keys in own.processing().items() if keys]
                if busy:
                    time.sleep(1.0)  # the run's kernel is up and sleeping
                    pid = own.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.1)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        table = sweep(tiny, {"x": [1, 2, 3]}, {"pause": 3.0}, client=own, out_dir=tmp_path, progress=False)
        killer.join()
    assert killed, "no worker was busy to kill"
    assert table["square"].tolist() == [1, 4, 9]
    assert (read_manifest(tmp_path)["status"] == "done").all()


def test_a_scheduler_started_on_localhost_through_the_command_line(tmp_path, tiny):
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    worker = None
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1",
                                   "--nthreads", "1", "--no-dashboard"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        results = tmp_path / "table.csv"
        assert main([str(tiny), "-g", "x", "[4, 5]", "--scheduler", address, "--out-dir", str(tmp_path / "runs"),
                     "--results", str(results), "--no-progress"]) == 0
        assert pd.read_csv(results)["square"].tolist() == [16, 25]
        # The same cluster through its scheduler file; the two finished runs are not run again.
        before = read_manifest(tmp_path / "runs").set_index("run")["seconds"]
        assert main([str(tiny), "-g", "x", "[4, 5, 6]", "--scheduler-file", str(scheduler_file),
                     "--out-dir", str(tmp_path / "runs"), "--results", str(results), "--no-progress"]) == 0
        assert pd.read_csv(results)["square"].tolist() == [16, 25, 36]
        after = read_manifest(tmp_path / "runs").set_index("run")["seconds"]
        assert after[before.index].tolist() == before.tolist() and len(after) == 3
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def test_ctrl_c_stops_the_command_and_keeps_the_finished_runs(tmp_path, tiny):
    runs = tmp_path / "runs"
    # the first run returns at once and writes the manifest; the others wait most of a minute, so
    # the interrupt always finds them running, however slow the machine is
    command = subprocess.Popen([sys.executable, "-m", "mig_lib.run", str(tiny), "-g", "pause", "[0, 58, 59, 60]",
                                "--workers", "2", "--out-dir", str(runs), "--no-progress"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               # a test run started in the background inherits SIGINT ignored, and
                               # Python then installs no KeyboardInterrupt handler: restore it
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while not (runs / "manifest.csv").exists() and time.time() < deadline:
            time.sleep(0.2)
        # as a user would, press Ctrl-C again if the first one has not stopped it after a while: on
        # a machine at load 12 a single SIGINT was once not acted on (the sweep ran to the end)
        for _ in range(4):
            command.send_signal(signal.SIGINT)
            try:
                _, err = command.communicate(timeout=15)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            _, err = command.communicate(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 130
    assert "interrupted: every finished run is saved" in err
    finished = read_manifest(runs)
    assert 1 <= len(finished) < 4 and (finished["status"] == "done").all()
    for name in finished["run"]:
        assert (runs / name / "records.json").exists()
