"""Re-run a chapter with other parameters: one run, or a sweep over a grid on Dask.

Command line (what instructors use)::

    python -m mig_lib.run chapters/03_becker_harris_todaro.md out.ipynb \\
        -p floating_shares "[0.1, 0.2, 0.7]" --results results.json
    python -m mig_lib.run book/how_to_run.md -g moving_cost "[0.5, 1, 2]" -g income_gap "[0, 2]" \\
        --out-dir sweep --results sweep.csv

``-p NAME VALUE`` reads VALUE as papermill's ``-p`` does (see :mod:`mig_lib.run.values`), ``-y``
takes YAML text and ``-f`` a YAML file of parameters. ``-g NAME VALUES`` sweeps a parameter over a
YAML list; several ``-g`` give their product, one run per combination, each run a task on Dask:
an embedded LocalCluster (``--workers N``, default one per core), or an existing cluster
(``--scheduler ADDRESS`` or ``--scheduler-file FILE``). Runs are saved in ``--out-dir`` as they
finish (see :mod:`mig_lib.run.sweeps`); running the same command again executes only what is not
done. Errors print one line; ``--verbose`` shows the full traceback.
"""

from mig_lib.run.chapter import chapter_parameters, execute_chapter, read_chapter, run_chapter_task
from mig_lib.run.cli import main
from mig_lib.run.sweeps import SweepError, expand_grid, read_manifest, results_table, run_name, sweep
from mig_lib.run.values import load_yaml, parse_value

__all__ = ["SweepError", "chapter_parameters", "execute_chapter", "expand_grid", "load_yaml", "main",
           "parse_value", "read_chapter", "read_manifest", "results_table", "run_chapter_task", "run_name", "sweep"]
