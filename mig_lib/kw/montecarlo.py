"""The large Monte Carlo of the Kennan–Walker estimator, frozen for chapter 2's estimation page.

The page runs a small Monte Carlo when it runs; coverage needs hundreds of replications, which
is too long for the book build. This module runs them at the page's book size (six provinces,
1,000 people × 10 years, the preference match on, the page's true parameters and, by default,
every parameter the geography identifies, as the page estimates) as Dask tasks
(:func:`mig_lib.core.distributed.map_tasks`) and writes ``data/montecarlo/kw_estimation.json``
with the parameters, the seeds, every replication's estimates and standard errors, the package
versions, and per parameter bias, RMSE, mean s.e. against the spread of the estimates and the 95%
coverage (Hessian, OPG and sandwich standard errors)::

    python -m mig_lib.kw.montecarlo --replications 200 --workers 2     # or: make montecarlo

Every finished replication is appended at once to a checkpoint (``--checkpoint``, one JSON line
each, after a first line with the design). The same command run again skips the replications
already there (replication r always has the seed ``seed + 1 + r``, so the draws are the same
however often the run is interrupted) and writes the frozen file only when all are done;
``--status`` prints how far the checkpoint has got and its summary so far, writing nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from mig_lib.core import DATA_DIR, ParameterError
from mig_lib.core.distributed import (checkpoint_rows, checkpoint_wall_seconds, map_replications_with_checkpoint,
                                      read_checkpoint)
from mig_lib.kw.estimate import KW_OPTIONS, monte_carlo_summary, replication_task
from mig_lib.kw.geography import load_china
from mig_lib.kw.likelihood import estimable_parameters
from mig_lib.kw.model import default_parameters

FROZEN_PATH = DATA_DIR / "montecarlo" / "kw_estimation.json"
#: Where finished replications accumulate until all are done (not part of the frozen data).
CHECKPOINT_PATH = DATA_DIR / "montecarlo" / "kw_estimation.checkpoint.jsonl"
#: The estimation page's book-size design (its parameter defaults).
BOOK_PROVINCES = ["BJ", "HE", "SH", "JS", "ZJ", "SD"]
BOOK_PEOPLE, BOOK_YEARS, BOOK_SEED, BOOK_N_XI = 1000, 10, 20110211, 2
#: A shorter list (``--parameters core``): the income, home, moving-cost and wage parameters.
CORE_PARAMETERS = ["alpha_income", "home_premium", "gamma0_type1", "gamma_distance", "gamma_hukou", "nu_sd",
                   "wage_age_slope", "wage_age_curvature", "eta_1", "eta_2", "eta_3",
                   "sigma_eps_1", "sigma_eps_2", "sigma_eps_3", "sigma_eps_4"]
PACKAGES = ("numpy", "scipy", "numba", "pandas", "dask", "distributed")


def _number(value) -> float | None:
    """JSON-safe: a statistic that cannot be computed is null."""
    return float(value) if value is not None and np.isfinite(value) else None


def freeze(draws: pd.DataFrame, truth: dict, parameters: dict, command: str, seconds: float,
           path: Path | str = FROZEN_PATH) -> dict:
    """Write the Monte Carlo to JSON (summary, every draw, parameters, command, versions)."""
    summary = monte_carlo_summary(draws, truth)
    names = list(summary.index)
    doc = {
        "what": "Monte Carlo of the Kennan-Walker maximum-likelihood estimator at the estimation page's book size "
                "(mig_lib.kw.montecarlo)",
        "command": command,
        "parameters": parameters,
        "versions": {"python": platform.python_version(), **{p: version(p) for p in PACKAGES}},
        "replications": int(len(draws)),
        "converged_share": float(draws["converged"].mean()),
        "seconds": float(seconds),
        "seconds_per_replication_median": float(draws["seconds"].median()),
        "coverage": {n: _number(summary.loc[n, "coverage"]) for n in names},
        "summary": {n: {k: _number(v) for k, v in summary.loc[n].items()} for n in names},
        "draws": {column: [_number(x) for x in draws[column]] for column in draws.columns if "/" in column},
        "converged": [bool(c) for c in draws["converged"]],
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def load_frozen(path: Path | str = FROZEN_PATH) -> dict | None:
    """The frozen Monte Carlo, or None when it has not been made yet."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def frozen_table(doc: dict) -> pd.DataFrame:
    """The frozen summary as the page shows it (one row per parameter)."""
    return pd.DataFrame(doc["summary"]).T.rename_axis("parameter")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m mig_lib.kw.montecarlo --replications 200 --workers 2`` (writes data/montecarlo/kw_estimation.json)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--people", type=int, default=BOOK_PEOPLE)
    parser.add_argument("--years", type=int, default=BOOK_YEARS)
    parser.add_argument("--seed", type=int, default=BOOK_SEED)
    parser.add_argument("--parameters", choices=("all", "core"), default="all",
                        help="every parameter the geography identifies (the page's default), or the core list")
    parser.add_argument("--n-xi", type=int, default=BOOK_N_XI, help="points of the preference match (1: off)")
    parser.add_argument("--workers", type=int, default=None, help="Dask LocalCluster workers (default: one per core)")
    parser.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    parser.add_argument("--out", default=str(FROZEN_PATH))
    parser.add_argument("--checkpoint", default=str(CHECKPOINT_PATH),
                        help="finished replications accumulate here; a rerun resumes from it")
    parser.add_argument("--status", action="store_true",
                        help="print how many replications the checkpoint holds and their summary; write nothing")
    args = parser.parse_args(argv)
    if args.replications < 1:
        raise ParameterError(f"argument '--replications' = {args.replications} is not allowed: expected >= 1")
    geography = load_china(BOOK_PROVINCES)
    truth = default_parameters()
    names = CORE_PARAMETERS if args.parameters == "core" else estimable_parameters(geography, truth, n_xi=args.n_xi)[0]
    if args.workers is None and args.scheduler is None:
        args.workers = 2
    parameters = {"provinces": BOOK_PROVINCES, "n_people": args.people, "n_years": args.years, "n_xi": args.n_xi,
                  "first_seed": args.seed + 1, "estimated": names, "truth": {n: truth[n] for n in names},
                  "start": "the truth", "gradient": "exact (mig_lib.kw.gradient)", "optimizer_options": dict(KW_OPTIONS)}
    if args.status:
        _, lines = read_checkpoint(args.checkpoint, parameters)
        if not lines:
            print(f"{args.checkpoint}: no replications yet")
            return
        draws = checkpoint_rows(lines)
        print(f"{len(draws)} of {args.replications} replications in {checkpoint_wall_seconds(lines) / 60:.1f} min of wall clock "
              f"(median {draws['seconds'].median():.0f} s each), converged share {draws['converged'].mean():.3f}")
        print(monte_carlo_summary(draws, {n: truth[n] for n in names})
              [["true", "bias", "rmse", "sd of estimates", "mean se", "coverage"]].to_string())
        return
    task = replication_task(geography, truth, names, args.people, args.years, args.seed, n_xi=args.n_xi)
    draws, seconds = map_replications_with_checkpoint(task, args.replications, parameters, args.checkpoint,
                                                      workers=args.workers, scheduler=args.scheduler,
                                                      description="KW Monte Carlo")
    command = "python -m mig_lib.kw.montecarlo " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    doc = freeze(draws, {n: truth[n] for n in names}, parameters, command.strip(), seconds, args.out)
    print(f"{doc['replications']} replications in {seconds / 60:.1f} min, converged share {doc['converged_share']:.3f}")
    print(frozen_table(doc)[["true", "bias", "rmse", "sd of estimates", "mean se", "coverage"]].to_string())


if __name__ == "__main__":
    main()
