"""Benchmark of the Kennan-Walker solver on the full China problem, all ratios measured in one run.

Full problem: 31 provinces, match nu with 3 points remembered at the current and previous province,
ages 20-59, every home province, 2 types: 21,449,520 states x 31 choices.

Measured: numba cold (fresh cache directory: import + compile + solve, in a subprocess) and warm,
on 1 thread and on all threads, for both kernels ("shared": the default, which reuses the
new-province exponentials across (l1, m1); "fused": one exponential per (state, choice) entry); the
vectorised numpy reference; and the arithmetic floor: a fused log-sum-exp (one exp per entry, one
log per row) over as many entries as there are (state, choice) combinations, on cache-sized chunks.

Usage: python benchmarks/kw_solver.py [--json] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mig_lib.kw.geography import load_china  # noqa: E402
from mig_lib.kw.model import build_model  # noqa: E402
from mig_lib.kw.solve import allocate_values, solve, solve_numpy  # noqa: E402

FLOOR_ROWS_PER_CHUNK = 256  # 256 rows x 31 entries x 8 bytes = 62 KB: stays in L2 cache

COLD_SCRIPT = """
import time
t0 = time.perf_counter()
from mig_lib.kw.geography import load_china
from mig_lib.kw.model import build_model
from mig_lib.kw.solve import solve
model = build_model(load_china())
solve(model, method="{method}")
import resource
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


@njit(cache=True, parallel=True)
def fused_logsumexp_floor(chunk, n_rows):
    """Log-sum-exp over n_rows rows of width chunk.shape[1], cycling through a cache-sized chunk.

    Per row: one max pass, one exp per entry, one log -- the same arithmetic the fused solver does.
    Returns the sum of the row results so that nothing is optimised away.
    """
    rows_in_chunk, width = chunk.shape
    n_blocks = (n_rows + rows_in_chunk - 1) // rows_in_chunk
    partial = np.zeros(n_blocks)
    for block in prange(n_blocks):
        first = block * rows_in_chunk
        last = min(first + rows_in_chunk, n_rows)
        acc = 0.0
        for r in range(first, last):
            row = r - first
            top = chunk[row, 0]
            for j in range(1, width):
                if chunk[row, j] > top:
                    top = chunk[row, j]
            total = 0.0
            for j in range(width):
                total += math.exp(chunk[row, j] - top)
            acc += top + math.log(total)
        partial[block] = acc
    return partial.sum()


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def cold_time(method: str) -> tuple:
    """Import + compile + solve in a fresh process with an empty numba cache: (seconds, peak RSS MB)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", COLD_SCRIPT.format(method=method)], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
    seconds, peak_mb = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(peak_mb)


def run(repeats: int) -> dict:
    model = build_model(load_china())
    n_states = model.n_states
    n_entries = n_states * model.n_locations
    threads = numba.config.NUMBA_NUM_THREADS
    V = allocate_values(model)
    chunk = np.random.default_rng(0).normal(scale=3.0, size=(FLOOR_ROWS_PER_CHUNK, model.n_locations))

    result = {"states": n_states, "choices": model.n_locations, "entries": n_entries, "threads": threads,
              "value_array_mb": V.nbytes / 2**20}
    # peak memory of a process that only builds the model and solves it (the numba path)
    result["numba_cold_s"], result["numba_only_process_peak_rss_mb"] = cold_time("shared")
    result["numba_fused_cold_s"], _ = cold_time("fused")
    solve(model, out=V)  # compile / load from cache in this process
    solve(model, method="fused", out=V)
    fused_logsumexp_floor(chunk, 1000)
    for k in sorted({1, threads}):
        numba.set_num_threads(k)
        suffix = "" if k == threads else f"_{k}thread"
        result[f"numba_warm_s{suffix}"] = best_time(lambda: solve(model, out=V), repeats)
        result[f"numba_fused_warm_s{suffix}"] = best_time(lambda: solve(model, method="fused", out=V), max(1, repeats - 1))
        result[f"floor_s{suffix}"] = best_time(lambda: fused_logsumexp_floor(chunk, n_states), max(1, repeats - 1))
    numba.set_num_threads(threads)
    reference = solve(model, out=V).V.copy()
    start = time.perf_counter()
    numpy_solution = solve_numpy(model)
    result["numpy_s"] = time.perf_counter() - start
    result["numpy_vs_numba_max_abs_diff"] = float(np.max(np.abs(numpy_solution.V - reference)))
    del numpy_solution

    result["numpy_over_numba"] = result["numpy_s"] / result["numba_warm_s"]
    result["numba_over_floor"] = result["numba_warm_s"] / result["floor_s"]
    result["numba_fused_over_floor"] = result["numba_fused_warm_s"] / result["floor_s"]
    result["numpy_over_numba_fused"] = result["numpy_s"] / result["numba_fused_warm_s"]
    if threads > 1:
        result["numba_speedup_threads"] = result["numba_warm_s_1thread"] / result["numba_warm_s"]
        result["numba_over_floor_1thread"] = result["numba_warm_s_1thread"] / result["floor_s_1thread"]
        result["numba_fused_over_floor_1thread"] = result["numba_fused_warm_s_1thread"] / result["floor_s_1thread"]
    result["ns_per_entry_floor"] = 1e9 * result["floor_s"] / n_entries
    result["benchmark_process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["goal_numpy_over_numba_ge_20"] = bool(result["numpy_over_numba"] >= 20)
    result["goal_numba_within_3x_of_floor"] = bool(result["numba_over_floor"] <= 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=3, help="warm timings: best of this many runs")
    args = parser.parse_args()
    result = run(args.repeats)
    if args.json:
        print(json.dumps(result))
        return
    print(f"Kennan-Walker solver, full China problem: {result['states']:,} states x {result['choices']} choices "
          f"= {result['entries']:,} entries; V array {result['value_array_mb']:.1f} MB; peak RSS: numba-only process "
          f"{result['numba_only_process_peak_rss_mb']:.0f} MB, this process (with numpy reference) "
          f"{result['benchmark_process_peak_rss_mb']:.0f} MB")
    for key, value in result.items():
        if key.endswith("_s") or "_s_" in key:
            print(f"  {key:32s} {value:9.3f} s")
    for key in ("numpy_over_numba", "numba_over_floor", "numba_fused_over_floor", "numpy_over_numba_fused",
                "numba_speedup_threads", "numba_over_floor_1thread", "numba_fused_over_floor_1thread"):
        if key in result:
            print(f"  {key:32s} {result[key]:9.2f}")
    print(f"  goals: numpy/numba >= 20: {result['goal_numpy_over_numba_ge_20']}; "
          f"numba within 3x of floor: {result['goal_numba_within_3x_of_floor']} (threads = {result['threads']})")


if __name__ == "__main__":
    main()
