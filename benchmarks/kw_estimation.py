"""Cost of the Kennan–Walker maximum likelihood: the exact gradient against finite differences.

Measures, in one run, on simulated 1,000-person × 10-year panels:

* the book problem (the estimation page's six provinces, every identifiable parameter): one
  log-likelihood evaluation that re-solves the model, one exact gradient with its re-solve (reverse
  mode, ``mig_lib.kw.gradient.ExactScores.total``: what L-BFGS-B and the Hessian's differences
  call) and one set of per-person scores (forward mode, ``ExactScores.__call__``: what BHHH steps
  and the OPG and sandwich covariances need), interleaved, median of ``--repeats`` triples:
  ``gradient_over_evaluation`` and ``person_scores_over_evaluation``;
* the book-size MLE of every parameter the page estimates (``--book-parameters all``, the
  default; ``page`` is the page's former 15-parameter list) from the page's start (every parameter
  moved by 0.3 in its transformed coordinate), with the exact gradient and with central
  differences, same data and start: ``speedup_over_finite_differences``;
* with ``--full``: the full-China (31 provinces) MLE of every identifiable parameter with the
  exact gradient (``full_mle_s``, ``full_mle_converged``) and, unless ``--no-full-fd``, the same
  MLE with central differences (``full_speedup_over_finite_differences``; it takes a long while).

The problem is the estimation page's at its defaults: the preference match ξ on ``--n-xi 2``
points (``--n-xi 1`` turns it off, as the benchmark did before the page turned it on: an
evaluation is then about 5× cheaper and a re-solve-free finite difference of a wage parameter
costs less than an evaluation, so the ratios are not the book's).

The exact gradient keeps two probabilities per state beside its kept solutions while half the
memory budget holds them (``mig_lib.kw.resources.keeps_probabilities``; ``$MIG_LIB_MEMORY_LIMIT``
lowers the budget): the output says whether the full problem's did (``full_kept_probabilities``),
since without them every adjoint and tangent pass computes two more exponentials per state.

The machine the book is built on is shared (2 cores, other work running): timings are medians
where repeated, and ratios are measured side by side in the same run.

Usage: ``python benchmarks/kw_estimation.py [--json] [--n-xi N] [--book-parameters all|page]
[--full [--full-parameters page]] [--no-full-fd] [--no-book-mle] [--repeats N]``;
with ``--json`` the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import numba

from mig_lib.core.mle import shifted_start
from mig_lib.kw.data import panel_arrays
from mig_lib.kw.estimate import estimate_kw, simulate_estimation_panel
from mig_lib.kw.geography import load_china
from mig_lib.kw.gradient import ExactScores
from mig_lib.kw.likelihood import KWLikelihood, estimable_parameters
from mig_lib.kw.model import build_model, default_parameters, education_groups
from mig_lib.kw.resources import keeps_probabilities, machine_memory_bytes
from mig_lib.kw.solve import value_shape

BOOK_PROVINCES = ["BJ", "HE", "SH", "JS", "ZJ", "SD"]
#: the estimation page's former default ``estimated_params`` (choice core and wage parameters; n_xi = 1)
PAGE_NAMES = ["alpha_income", "home_premium", "gamma0_type1", "gamma_distance", "gamma_hukou", "nu_sd",
              "wage_age_slope", "wage_age_curvature", "eta_1", "eta_2", "eta_3",
              "sigma_eps_1", "sigma_eps_2", "sigma_eps_3", "sigma_eps_4"]
START_SHIFT = 0.3


def gradient_over_evaluation(geography, frame, truth, names, repeats: int, n_xi: int) -> dict:
    """Median times of one evaluation, one exact gradient (reverse mode: what the optimiser and the
    Hessian's differences call) and one set of per-person scores (forward mode: BHHH, OPG and
    sandwich), each re-solving the model, interleaved."""
    panel = panel_arrays(frame, geography.codes, (20, 59), education_groups=education_groups(truth))
    likelihood = KWLikelihood(geography, panel, truth, ages=range(20, 60), n_xi=n_xi)
    scores = ExactScores(likelihood)
    scores(truth, names)                     # compile / load the kernels' caches
    scores.total(truth, names)
    likelihood.loglik_per_person(truth)
    calls = {"evaluation": likelihood.loglik_per_person, "gradient": lambda t: scores.total(t, names),
             "scores": lambda t: scores(t, names)}
    times: dict[str, list[float]] = {key: [] for key in calls}
    step = 0
    for _ in range(repeats):
        for key, call in calls.items():
            # a new choice parameter value every time: no cached solution can be reused
            step += 1
            table = truth.with_values(gamma_hukou=truth["gamma_hukou"] + 0.001 * step)
            tick = time.perf_counter()
            call(table)
            times[key].append(time.perf_counter() - tick)
    evaluation, gradient, person = (statistics.median(times[key]) for key in calls)
    return {"evaluation_with_solve_s": evaluation, "exact_gradient_s": gradient,
            "gradient_over_evaluation": gradient / evaluation, "person_scores_s": person,
            "person_scores_over_evaluation": person / evaluation, "n_gradient_parameters": len(names)}


def timed_mle(geography, frame, truth, names, finite_differences: bool, n_xi: int) -> tuple[float, object]:
    start = shifted_start(truth, names, START_SHIFT)
    tick = time.perf_counter()
    result, _ = estimate_kw(geography, frame, truth, names, start=start, finite_differences=finite_differences,
                            n_xi=n_xi)
    return time.perf_counter() - tick, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the full-China MLE of every parameter")
    parser.add_argument("--no-full-fd", action="store_true", help="with --full: skip the (long) finite-difference run")
    parser.add_argument("--no-book-mle", action="store_true", help="skip the book-size MLE comparison")
    parser.add_argument("--full-parameters", choices=("all", "page"), default="all",
                        help="with --full: every identifiable parameter, or the page's default list")
    parser.add_argument("--n-xi", type=int, default=2, choices=(1, 2, 3),
                        help="points of the preference match ξ (the page's default 2; 1 turns it off)")
    parser.add_argument("--book-parameters", choices=("all", "page"), default="all",
                        help="the book-size MLE of every identifiable parameter, or the former 15-parameter list")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--repeats", type=int, default=5, help="evaluation/gradient pairs timed (median)")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()

    truth = default_parameters()
    book = load_china(BOOK_PROVINCES)
    n_xi = args.n_xi
    book_frame = simulate_estimation_panel(book, truth, args.people, args.years, seed=1, n_xi=n_xi)
    book_names = estimable_parameters(book, truth, n_xi=n_xi)[0]
    mle_names = book_names if args.book_parameters == "all" else PAGE_NAMES
    out = {"machine": "shared (2 cores, other work running): medians and side-by-side ratios",
           "threads": numba.get_num_threads(), "people": args.people, "years": args.years, "n_xi": n_xi,
           "memory_budget_bytes": machine_memory_bytes()}

    def measured(**values) -> None:
        # each stage's numbers go to stderr as soon as they exist: the finite-difference runs can take
        # hours, and a run stopped early still leaves what it measured
        out.update(values)
        print("measured: " + json.dumps(values), file=sys.stderr, flush=True)

    measured(**gradient_over_evaluation(book, book_frame, truth, book_names, args.repeats, n_xi))
    if not args.no_book_mle:
        exact_s, exact = timed_mle(book, book_frame, truth, mle_names, finite_differences=False, n_xi=n_xi)
        measured(book_mle_parameters=len(mle_names), book_mle_exact_s=exact_s,
                 book_mle_exact_converged=exact.converged, book_mle_exact_evaluations=exact.n_evaluations)
        finite_s, finite = timed_mle(book, book_frame, truth, mle_names, finite_differences=True, n_xi=n_xi)
        measured(book_mle_fd_s=finite_s,
                 book_mle_fd_converged=finite.converged, book_mle_fd_evaluations=finite.n_evaluations,
                 book_mle_loglik_difference=exact.loglik - finite.loglik,
                 speedup_over_finite_differences=finite_s / exact_s)
    if args.full:
        china = load_china("all")
        frame = simulate_estimation_panel(china, truth, args.people, args.years, seed=1, n_xi=n_xi)
        names = estimable_parameters(china, truth, n_xi=n_xi)[0] if args.full_parameters == "all" else PAGE_NAMES
        value_bytes = 8 * math.prod(value_shape(build_model(china, params=truth, n_xi=n_xi)))
        full_s, full = timed_mle(china, frame, truth, names, finite_differences=False, n_xi=n_xi)
        measured(full_provinces=china.n, full_parameters=len(names), full_mle_s=full_s,
                 full_kept_probabilities=keeps_probabilities(value_bytes),
                 full_mle_converged=full.converged, full_mle_iterations=full.iterations,
                 full_mle_evaluations=full.n_evaluations, full_mle_message=full.message,
                 full_mle_within_3_se=not full.recovery_failures(truth))
        if not args.no_full_fd:
            full_fd_s, full_fd = timed_mle(china, frame, truth, names, finite_differences=True, n_xi=n_xi)
            measured(full_mle_fd_s=full_fd_s, full_mle_fd_converged=full_fd.converged,
                     full_speedup_over_finite_differences=full_fd_s / full_s)
    if not args.json:
        for key, value in out.items():
            print(f"{key:>36}: {value:.3f}" if isinstance(value, float) else f"{key:>36}: {value}")
    print(json.dumps(out) if args.json else "")


if __name__ == "__main__":
    main()
