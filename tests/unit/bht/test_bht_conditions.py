"""The paper's Conditions 1-3 at an allocation (bht.paper_conditions)."""

import pytest

from mig_lib.bht import calibrate, paper_conditions, paper_parameters, private_ratio_bound, table6_columns
from mig_lib.bht.equilibrium import ces_output_and_wages


@pytest.fixture(scope="module")
def calibration():
    return calibrate((0.05, 0.20, 0.75))


@pytest.mark.parametrize("shift, premium_side", [(1.0, 0), (0.99, 1), (1.01, -1)])
def test_condition1_bound_is_where_the_skill_premium_is_one(shift, premium_side):
    """Independently of the closed form: the CES wages at the bound have a premium of exactly one,
    below it more, above it less."""
    params = paper_parameters()
    low_skilled = 2.0
    _, w_high, w_low = ces_output_and_wages(params["A_P"], params["psi"], params["alpha"], params["rho"],
                                            shift * private_ratio_bound(params) * low_skilled, low_skilled)
    if premium_side == 0:
        assert w_high / w_low == pytest.approx(1.0, rel=1e-12)
    else:
        assert (w_high / w_low - 1.0) * premium_side > 0


def test_conditions_at_the_calibration(calibration):
    rows = {row["condition"].split(":")[0]: row for row in paper_conditions(calibration.params, calibration.benchmark)}
    premium = table6_columns(calibration.stocks, calibration.benchmark)["skill_premium"]
    assert rows["1"]["holds"] == (premium >= 1.0)
    assert rows["2"]["holds"] and rows["2"]["value"] == calibration.params["beta"]
    places = calibration.benchmark.place_incomes()
    assert sorted(key for key in rows if key.startswith("3 at")) == sorted(f"3 at {place}" for place in places)
    # the two groups of high-preference adults below the rural quota (chapter 3, "The fine below the quota")
    failing = sorted(key for key, row in rows.items() if not row["holds"])
    assert failing == ["3 at private_H_informal", "3 at rural_H"]
    for key in failing:
        assert rows[key]["value"] < rows[key]["bound"]
