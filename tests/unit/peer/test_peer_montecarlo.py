"""Monte Carlo: clustered covariance against statsmodels, serial and Dask runs agree, the frozen file."""

import json

import numpy as np
import pytest

from mig_lib.peer import estimate, montecarlo, synthetic


@pytest.fixture(scope="module")
def small_fit():
    world = synthetic.draw_world(n_villages=300, seed=21)
    return world, estimate.fit_probit(world.data, estimate.table3_regressors())


def test_clustered_covariance_matches_statsmodels(small_fit):
    world, fit = small_fit
    groups = world.data["village"].to_numpy()
    ours = montecarlo.clustered_covariance(fit, groups)
    theirs = fit.model.fit(start_params=fit.params.to_numpy(), method="newton", maxiter=50, disp=False,
                           cov_type="cluster", cov_kwds={"groups": groups}).cov_params().to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_dask_run_equals_serial_run_and_freezes(tmp_path):
    from distributed import Client, LocalCluster

    terms = ["peer", "peer_x_info_often"]
    serial = montecarlo.monte_carlo(2, n_villages=400, seed=40, terms=terms)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        parallel = montecarlo.monte_carlo(2, n_villages=400, seed=40, terms=terms, parallel=True, client=client,
                                          progress=False)
    np.testing.assert_array_equal(serial["estimate"].to_numpy(), parallel["estimate"].to_numpy())
    doc = montecarlo.freeze(parallel, tmp_path / "mc.json", "python -m mig_lib.peer.montecarlo", {"replications": 2})
    saved = json.loads((tmp_path / "mc.json").read_text())
    assert saved == doc and saved["replications"] == 2 and saved["seeds"] == [40, 41]
    assert set(saved["terms"]) == set(terms) and "coverage" in saved["terms"]["peer"]
    assert saved["draws"]["peer"]["estimate"] == pytest.approx(list(serial.loc[serial.term == "peer", "estimate"]),
                                                               abs=1e-6)


def test_summary_leaves_out_unconverged_replications():
    import pandas as pd

    draws = pd.DataFrame({"replication": [0, 1, 2], "term": "peer", "converged": [True, True, False],
                          "true": 1.0, "estimate": [0.9, 1.1, 50.0], "se": 0.1, "covered": [True, True, False]})
    out = montecarlo.summarize(draws).loc["peer"]
    assert out["replications"] == 2 and out["not_converged"] == 1
    assert out["bias"] == pytest.approx(0.0, abs=1e-12)
