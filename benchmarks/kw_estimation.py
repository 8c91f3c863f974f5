"""Cost of the Kennan–Walker maximum likelihood on the full 31-province problem.

Measures, in one run, on a simulated 1,000-person × 10-year panel of all 31 provinces:

* one log-likelihood evaluation that re-solves the model (a choice parameter changed),
* one that reuses the cached solution (a wage-only parameter changed),
* one gradient in the chapter's 11 parameters (central differences),
* with ``--full``: the whole MLE (L-BFGS-B, Nelder–Mead check, Hessian), which takes a while.

The projected MLE time is the measured gradient time × the number of gradients the chapter's
6-province estimation needed (printed in its records), plus the Hessian (one gradient per parameter).

Usage: ``python benchmarks/kw_estimation.py [--full] [--json] [--people N] [--years T]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numba

from mig_lib.kw.data import panel_arrays
from mig_lib.kw.estimate import estimate_kw, loglik_gradient, simulate_estimation_panel
from mig_lib.kw.geography import load_china
from mig_lib.kw.likelihood import KWLikelihood
from mig_lib.kw.model import default_parameters, education_groups

NAMES = ["alpha_income", "home_premium", "gamma0_type1", "gamma_distance", "gamma_hukou", "nu_sd",
         "wage_age_slope", "wage_age_curvature", "eta_1", "eta_2", "eta_3",
         "sigma_eps_1", "sigma_eps_2", "sigma_eps_3", "sigma_eps_4"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run the whole MLE")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()

    geo = load_china("all")
    truth = default_parameters()
    tick = time.perf_counter()
    frame = simulate_estimation_panel(geo, truth, args.people, args.years, seed=1)
    simulate_s = time.perf_counter() - tick
    panel = panel_arrays(frame, geo.codes, (20, 59), education_groups=education_groups(truth))
    likelihood = KWLikelihood(geo, panel, truth, ages=range(20, 60))

    tick = time.perf_counter()
    likelihood.loglik(truth.values)                                   # first call: compiles / loads caches
    cold_s = time.perf_counter() - tick
    tick = time.perf_counter()
    likelihood.loglik({**truth.values, "gamma_hukou": truth["gamma_hukou"] + 0.01})
    resolve_s = time.perf_counter() - tick
    tick = time.perf_counter()
    likelihood.loglik({**truth.values, "gamma_hukou": truth["gamma_hukou"] + 0.01, "eta_2": 0.51})
    cached_s = time.perf_counter() - tick
    tick = time.perf_counter()
    loglik_gradient(likelihood.loglik_per_person, truth, NAMES)
    gradient_s = time.perf_counter() - tick

    out = {"provinces": geo.n, "people": args.people, "years": args.years, "moves": panel.n_moves,
           "threads": numba.get_num_threads(), "simulate_s": simulate_s, "first_evaluation_s": cold_s,
           "evaluation_with_solve_s": resolve_s, "evaluation_cached_s": cached_s, "gradient_s": gradient_s,
           "n_parameters": len(NAMES)}
    if args.full:
        tick = time.perf_counter()
        result, _ = estimate_kw(geo, frame, truth, NAMES)
        out.update(mle_s=time.perf_counter() - tick, mle_evaluations=result.n_evaluations,
                   mle_converged=result.converged)
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")


if __name__ == "__main__":
    main()
