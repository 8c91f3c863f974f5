"""Benchmark of sweeps: the same 8-run sweep one run after another and on a LocalCluster, in one run.

The page swept is book/how_to_run.md without its own demo sweep: it computes almost nothing, so a
run's time is the per-run overhead of any sweep (a kernel start, the page's imports, papermill).
That overhead is split by also running an empty page (kernel start and papermill only). The
wall time of each sweep includes everything a user waits for: the grid's validation and, on the
cluster, starting and stopping the LocalCluster.

With ``--repeats R`` the two sweeps alternate R times and the medians are reported, so that a
change in the machine's load hits both alike.

Another page: ``--page chapters/03_becker_harris_todaro.md --grid floating_shares "[[...], ...]"``
(and ``--fixed "{name: value}"``), to see the ratio for runs that compute for longer.

Usage: python benchmarks/sweep.py [--runs 8] [--workers N] [--repeats R] [--page P --grid NAME VALUES] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mig_lib.core.distributed import core_count  # noqa: E402
from mig_lib.run import read_manifest, sweep  # noqa: E402
from mig_lib.run.chapter import MYST_NOTEBOOK_FRONT_MATTER  # noqa: E402
from mig_lib.run.values import load_yaml, parse_grid_values  # noqa: E402

PAGE = ROOT / "book" / "how_to_run.md"
EMPTY_PAGE = MYST_NOTEBOOK_FRONT_MATTER + """
```{code-cell} ipython3
:tags: [parameters]

x = 0
```
"""


def timed_sweep(page: Path, grid: dict, fixed: dict, workers: int, out_dir: Path) -> tuple[float, list[float]]:
    started = time.perf_counter()
    table = sweep(page, grid, fixed, workers=workers, out_dir=out_dir, progress=False)
    wall = time.perf_counter() - started
    if table.attrs["failures"]:
        raise SystemExit(f"benchmark sweep failed: {table.attrs['failures']}")
    return wall, read_manifest(out_dir)["seconds"].astype(float).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=core_count())
    parser.add_argument("--repeats", type=int, default=1, help="alternate the two sweeps this many times")
    parser.add_argument("--page", type=Path, default=PAGE, help="the page to sweep (default: the how-to-run page)")
    parser.add_argument("--grid", nargs=2, metavar=("NAME", "VALUES"), help="swept parameter and its YAML list")
    parser.add_argument("--fixed", default=None, help="YAML mapping of fixed parameters")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args()

    if args.grid:
        grid = {args.grid[0]: parse_grid_values(*args.grid)}
        args.runs = len(grid[args.grid[0]])
    else:
        grid = {"moving_cost": [round(0.5 * i, 2) for i in range(args.runs)]}
    page = args.page.resolve()
    fixed = load_yaml(args.fixed, "--fixed") if args.fixed else ({"sweep_workers": 0} if page == PAGE else {})
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as scratch:
        scratch = Path(scratch)
        empty = scratch / "empty.md"
        empty.write_text(EMPTY_PAGE)
        _, empty_runs = timed_sweep(empty, {"x": [1, 2, 3]}, {}, 0, scratch / "empty")
        serial_walls, cluster_walls, serial_runs, cluster_runs = [], [], [], []
        for repeat in range(args.repeats):
            wall, runs = timed_sweep(page, grid, fixed, 0, scratch / f"serial{repeat}")
            serial_walls.append(wall)
            serial_runs += runs
            wall, runs = timed_sweep(page, grid, fixed, args.workers, scratch / f"cluster{repeat}")
            cluster_walls.append(wall)
            cluster_runs += runs

    serial_wall, cluster_wall = statistics.median(serial_walls), statistics.median(cluster_walls)
    per_run = statistics.median(serial_runs)
    kernel = statistics.median(empty_runs)
    result = {
        "page": str(page.relative_to(ROOT)), "runs": args.runs, "workers": args.workers, "cores": core_count(), "repeats": args.repeats,
        "serial_seconds": round(serial_wall, 2), "cluster_seconds": round(cluster_wall, 2),
        "speedup": round(serial_wall / cluster_wall, 2),
        "speedup_each_repeat": [round(a / b, 2) for a, b in zip(serial_walls, cluster_walls)],
        "median_run_seconds_serial": round(per_run, 2),
        "median_run_seconds_on_cluster": round(statistics.median(cluster_runs), 2),
        "kernel_start_seconds": round(kernel, 2),
        "imports_and_page_seconds": round(per_run - kernel, 2),
        "sweep_overhead_seconds_serial": round(serial_wall - per_run * args.runs, 2),
        "sweep_overhead_seconds_cluster": round(
            cluster_wall - statistics.median(cluster_runs) * args.runs / args.workers, 2),
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{args.runs}-run sweep of {page.relative_to(ROOT)} on {core_count()} cores (medians of {args.repeats})")
    print(f"  one after another (workers=0):     {serial_wall:7.1f} s")
    print(f"  LocalCluster, {args.workers} worker processes:  {cluster_wall:7.1f} s")
    print(f"  speed-up:                          {result['speedup']:7.2f}x  (goal on 2 cores: >= 1.7x; "
          f"each repeat: {result['speedup_each_repeat']})")
    print(f"per run (median): {per_run:.2f} s serial, {result['median_run_seconds_on_cluster']:.2f} s on the cluster;")
    print(f"  of which kernel start + papermill (empty page): {kernel:.2f} s, the page's imports and cells: "
          f"{result['imports_and_page_seconds']:.2f} s")
    print(f"per sweep: validation and bookkeeping {result['sweep_overhead_seconds_serial']:.1f} s serial; "
          f"validation, cluster start/stop and scheduling {result['sweep_overhead_seconds_cluster']:.1f} s on the cluster")


if __name__ == "__main__":
    main()
