"""The Kennan-Walker solver of the working tree against the one at a git revision, in one run.

Loads ``mig_lib/kw/solve.py`` as it was at ``--base`` (default HEAD) next to the working tree's
and times both kernels ("shared" and "fused") of both versions on the full China problem, in turn
(base, ours, base, ours, ...), so that a drift of the machine's speed hits both alike. Prints, for
every kernel, the median of the warm runs of each version and the median of the pairwise ratios
ours / base; the first call of each (numba compilation from an empty cache plus one solve); and
the largest difference between the two versions' value arrays. Then the same for the likelihood's
kernel, the log choice probabilities at random states of the solved model.

Usage: python benchmarks/kw_solver_versus.py [--base REV] [--repeats N] [--threads K] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# both versions compile from an empty cache, so that their first calls are comparable
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="kw_solver_versus_")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from mig_lib.kw.geography import load_china  # noqa: E402
from mig_lib.kw.model import build_model  # noqa: E402

SOLVER_PATH = "mig_lib/kw/solve.py"
LIKELIHOOD_STATES = 5_000_000  # states at which the likelihood kernel is timed
ours = importlib.import_module("mig_lib.kw.solve")  # the module (mig_lib.kw.solve is also the solver function)


def load_base(revision: str, folder: Path):
    """The solver module as it was at ``revision`` (imported from a copy of the file in ``folder``)."""
    source = subprocess.run(["git", "show", f"{revision}:{SOLVER_PATH}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    path = folder / "kw_solve_base.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("kw_solve_base", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run(base_revision: str, repeats: int) -> dict:
    model = build_model(load_china())
    with tempfile.TemporaryDirectory() as folder:
        base = load_base(base_revision, Path(folder))
        versions = {"base": base, "ours": ours}
        values = {name: module.allocate_values(model) for name, module in versions.items()}
        result = {"base": base_revision, "states": model.n_states, "threads": numba.get_num_threads()}
        for method in ("shared", "fused"):
            def solve_with(name, method=method):
                return lambda: versions[name].solve(model, method=method, out=values[name])
            for name in versions:
                result[f"{method}/{name}/first_call_s"] = seconds(solve_with(name))
            result[f"{method}/max_abs_difference"] = float(np.max(np.abs(values["ours"] - values["base"])))
            times = {name: [] for name in versions}
            for _ in range(repeats):
                for name in versions:
                    times[name].append(seconds(solve_with(name)))
            for name in versions:
                result[f"{method}/{name}/median_s"] = statistics.median(times[name])
            result[f"{method}/ours_over_base_median"] = statistics.median(
                [o / b for o, b in zip(times["ours"], times["base"])])
        # the likelihood's kernel: log choice probabilities at random states of the solved model
        states = [rng_column.reshape(-1) for rng_column in np.split(
            np.random.default_rng(0).integers(0, np.array(values["ours"].shape), size=(LIKELIHOOD_STATES, 7)), 7, axis=1)]
        choices = np.random.default_rng(1).integers(0, model.n_locations, size=LIKELIHOOD_STATES)
        solutions = {name: module.KWSolution(model=model, V=values[name], method="shared")
                     for name, module in versions.items()}
        logprob = {name: solutions[name].log_choice_probability(*states, choices) for name in versions}
        result["likelihood/max_abs_difference"] = float(np.max(np.abs(logprob["ours"] - logprob["base"])))
        times = {name: [] for name in versions}
        for _ in range(repeats):
            for name in versions:
                times[name].append(seconds(lambda name=name: solutions[name].log_choice_probability(*states, choices)))
        for name in versions:
            result[f"likelihood/{name}/median_s"] = statistics.median(times[name])
        result["likelihood/ours_over_base_median"] = statistics.median(
            [o / b for o, b in zip(times["ours"], times["base"])])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision of the solver to compare against")
    parser.add_argument("--repeats", type=int, default=5, help="warm runs of each version and kernel")
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"argument --repeats = {args.repeats} is not allowed: expected a whole number >= 1")
    if args.threads is not None:
        numba.set_num_threads(args.threads)
    result = run(args.base, args.repeats)
    if args.json:
        print(json.dumps(result))
        return
    print(f"Kennan-Walker solver, full China problem ({result['states']:,} states), {result['threads']} thread(s): "
          f"working tree against {result['base']}")
    for method in ("shared", "fused"):
        print(f"  {method:6s}  median warm: base {result[f'{method}/base/median_s']:.3f} s, "
              f"ours {result[f'{method}/ours/median_s']:.3f} s, ours/base (median of pairs) "
              f"{result[f'{method}/ours_over_base_median']:.3f}; first call (compile + solve): base "
              f"{result[f'{method}/base/first_call_s']:.2f} s, ours {result[f'{method}/ours/first_call_s']:.2f} s; "
              f"largest |difference| {result[f'{method}/max_abs_difference']:.1e}")
    print(f"  log choice probability at {LIKELIHOOD_STATES:,} states: median base "
          f"{result['likelihood/base/median_s']:.3f} s, ours {result['likelihood/ours/median_s']:.3f} s, ours/base "
          f"(median of pairs) {result['likelihood/ours_over_base_median']:.3f}; largest |difference| "
          f"{result['likelihood/max_abs_difference']:.1e}")


if __name__ == "__main__":
    main()
