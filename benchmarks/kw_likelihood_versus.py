"""The Kennan–Walker likelihood kernels of the working tree against those at a git revision, in one run.

Loads ``mig_lib/kw/likelihood.py`` and ``mig_lib/kw/gradient.py`` as they were at ``--base`` next
to the working tree's and times, in turn (base, ours, base, ours, ...) so that a drift of the
machine's speed hits both alike, on the estimation page's book problem (six provinces, n_xi = 2,
every identifiable parameter):

* ``annual_scores``: the exact per-person scores of an annual panel (the choice part cached, so
  the kernel over match combinations is what is timed);
* ``forward_loglik``: the plain likelihood of a panel observed every other year (the forward
  recursion over the unobserved years; its exact gradient at this size would exceed
  ``mig_lib.kw.gradient.MAX_FORWARD_ENTRIES`` and is not timed).

Prints per kernel the median seconds of each version, the median of the pairwise ratios
ours / base, and the largest difference between the two versions' results.

Usage: python benchmarks/kw_likelihood_versus.py [--base REV] [--repeats N] [--people N] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import numpy as np  # noqa: E402

from mig_lib.kw import gradient as ours_gradient  # noqa: E402
from mig_lib.kw import likelihood as ours_likelihood  # noqa: E402
from mig_lib.kw.data import panel_arrays  # noqa: E402
from mig_lib.kw.estimate import simulate_estimation_panel  # noqa: E402
from mig_lib.kw.geography import load_china  # noqa: E402
from mig_lib.kw.model import default_parameters, education_groups  # noqa: E402

PROVINCES = ["BJ", "HE", "SH", "JS", "ZJ", "SD"]
N_XI = 2


def load_at(revision: str, path: str, name: str, folder: Path):
    """The module at ``path`` as it was at ``revision``, imported as ``name`` from a copy in ``folder``."""
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    copy = folder / f"{name}.py"
    copy.write_text(source)
    spec = importlib.util.spec_from_file_location(name, copy)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def likelihood_of(geography, truth, observed_every: int, n_people: int):
    frame = simulate_estimation_panel(geography, truth, n_people, 10, seed=1, observed_every=observed_every, n_xi=N_XI)
    panel = panel_arrays(frame, geography.codes, (20, 59), observed_every=observed_every,
                         education_groups=education_groups(truth))
    return ours_likelihood.KWLikelihood(geography, panel, truth, ages=range(20, 60), n_xi=N_XI)


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    out = function()
    return time.perf_counter() - start, out


def compare(calls: dict, repeats: int) -> dict:
    """Median seconds of each version, median pairwise ratio, largest difference of the results."""
    results = {name: call() for name, call in calls.items()}        # compile, and the results to compare
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            times[name].append(timed(call)[0])
    flat = {name: np.concatenate([np.ravel(a) for a in (r if isinstance(r, tuple) else (r,))])
            for name, r in results.items()}
    return {"base_s": statistics.median(times["base"]), "ours_s": statistics.median(times["ours"]),
            "ours_over_base": statistics.median(o / b for o, b in zip(times["ours"], times["base"])),
            "max_abs_difference": float(np.max(np.abs(flat["ours"] - flat["base"])))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="the git revision to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--people", type=int, default=300, help="people in the panels (10 years each)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    truth = default_parameters()
    geography = load_china(PROVINCES)
    names = ours_likelihood.estimable_parameters(geography, truth, n_xi=N_XI)[0]
    out = {"base": args.base, "threads": numba.get_num_threads(), "people": args.people}
    with tempfile.TemporaryDirectory() as folder:
        base_likelihood = load_at(args.base, "mig_lib/kw/likelihood.py", "kw_likelihood_base", Path(folder))
        base_gradient = load_at(args.base, "mig_lib/kw/gradient.py", "kw_gradient_base", Path(folder))
        annual = likelihood_of(geography, truth, 1, args.people)
        scores = {"base": base_gradient.ExactScores(annual), "ours": ours_gradient.ExactScores(annual)}
        out["annual_scores"] = compare({v: (lambda v=v: scores[v](truth, names)) for v in scores}, args.repeats)
        biennial = likelihood_of(geography, truth, 2, args.people)
        p, cached = biennial.panel, biennial._choice_log_prob(truth)
        residual, nu, eta, sigma = biennial.wage_inputs(truth)
        weights = biennial.log_type_weights(truth)
        common = (p.person_start, p.home, biennial.row, biennial.age_index, p.location, p.gap, cached.choice_log_prob)
        out["forward_loglik"] = compare({
            "base": lambda: base_likelihood.person_log_likelihoods_forward(
                *common, biennial.wage_log_density(truth), weights, biennial.home_remembered),
            "ours": lambda: ours_likelihood.person_log_likelihoods_forward(
                *common, residual, np.repeat(nu, N_XI), eta, sigma, weights, biennial.home_remembered)}, args.repeats)
    if not args.json:
        for kernel in ("annual_scores", "forward_loglik"):
            print(f"{kernel:>15}: " + ", ".join(f"{k} {v:.4g}" for k, v in out[kernel].items()))
    print(json.dumps(out) if args.json else "")


if __name__ == "__main__":
    main()
