"""Calibration (Section 4.2, Table 2) from the stated targets, at full precision.

The steps follow the paper's logic, each an exact inversion:

1. floating-population shares + population ratios -> pi_S, chi_H, chi_L (the movers);
2. rural income x = 1 -> z (eq. 2);
3. skill premium -> psi; public/private wage ratio and urban premium -> A_S, A_P;
4. five fertility targets (half the total fertility rates of Table C.1) -> phi_high, k0_R,
   k_H, k_S, k_PH, one monotone equation each, in the order that makes them triangular;
5. the urban benefit B (pension replacement x urban income x years in retirement) -> B0;
6. the indifference conditions (20)-(21) -> Gamma_H, Gamma_L.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scipy.optimize import brentq

from mig_lib.core import ParameterError, ParameterTable, Shares, check_parameters
from mig_lib.bht.equilibrium import Allocation, allocate, migration_gains
from mig_lib.bht.outcomes import fertility_by_group
from mig_lib.bht.model import PopulationStocks, YEARS_PER_PERIOD, paper_parameters, population_stocks


@dataclass(frozen=True)
class CalibrationTargets:
    """Data targets of Section 4.2 and Appendix C (averages over 1980-2007)."""

    U_over_R: float = 0.4579
    H_over_L: float = 0.1076
    S_over_U: float = 0.6094
    PH_over_PL: float = 0.8159
    U_over_U_plus: float = 0.8764
    rural_income: float = 1.0
    skill_premium: float = 1.3944          # w_PH / w_PL
    public_private_wage: float = 0.8814    # w_S / w_PH
    urban_premium: float = 1.9641          # y_U / y_R
    # half of the Table C.1 averages (the model is unisex)
    fertility: dict = field(default_factory=lambda: {
        "rural_L": 2.2091 / 2, "rural_H": 1.3858 / 2, "public": 1.1799 / 2,
        "private_H": 1.3456 / 2, "private_L": 1.9718 / 2})
    pension_replacement: float = 0.8167
    years_retired: float = 75.0 - 53.0


@dataclass(frozen=True)
class Calibration:
    """Calibrated parameters, the fixed stocks and the benchmark allocation."""

    params: ParameterTable
    stocks: PopulationStocks
    benchmark: Allocation
    targets: CalibrationTargets
    floating_shares: tuple[float, float, float]


def calibrate(floating_shares=(0.05, 0.20, 0.75), targets: CalibrationTargets | None = None,
              presets: ParameterTable | None = None) -> Calibration:
    """Calibrate the model; ``floating_shares`` = shares of the floating population working in
    the public sector, as private high-skilled and as private low-skilled (they sum to one)."""
    check_parameters({"floating_shares": list(floating_shares)}, {"floating_shares": Shares(3)})
    if min(floating_shares) <= 0.0:
        raise ParameterError(f"argument 'floating_shares' = {floating_shares!r} is not allowed: "
                             "every share must be in (0, 1)")
    share_S, share_PH, share_PL = (float(s) for s in floating_shares)
    targets = targets or CalibrationTargets()
    params = presets or paper_parameters()
    _check_presets(params)
    lam = params["lam"]
    stocks = population_stocks(targets.U_over_R, targets.H_over_L, targets.S_over_U, targets.PH_over_PL)

    # 1. movers: the floating population U+ - U splits by sector
    floating = stocks.U / targets.U_over_U_plus - stocks.U
    pi_S = share_S / (share_S + share_PH)
    movers_H = (share_S + share_PH) * floating
    chi_H = (movers_H / stocks.H - lam) / (1.0 - lam)
    chi_L = share_PL * floating / (lam * stocks.L)
    if not (0.0 < chi_H < 1.0 and 0.0 < chi_L < 1.0):
        raise ParameterError(f"argument 'floating_shares' = {floating_shares!r} is not allowed: it implies "
                             f"chi_H = {chi_H:.4f}, chi_L = {chi_L:.4f}, not a mixed equilibrium")
    params = params.with_values(pi_S=pi_S)

    # 2. z from rural income
    R_plus = stocks.R - movers_H - share_PL * floating
    z = targets.rural_income / (params["q"] * (1.0 + (stocks.R - R_plus) * (1.0 - params["delta"]) / R_plus))

    # 3. urban technology: psi from the skill premium, then A_P, A_S (wages scale with A_P)
    PH_plus = stocks.PH + share_PH * floating
    PL_plus = stocks.PL + share_PL * floating
    S_plus = stocks.S + share_S * floating
    alpha, rho = params["alpha"], params["rho"]
    psi = (targets.skill_premium * (1 - alpha) / alpha * (PH_plus / PL_plus) ** (1 - rho)) ** (1 / rho)
    params = params.with_values(z=z, psi=psi, A_P=1.0, A_S=1.0)
    unit = allocate(params, stocks, chi_H, chi_L)  # A_P = 1: wages and output per unit of A_P
    A_P = targets.urban_premium * targets.rural_income * unit.U_plus / (
        targets.public_private_wage * unit.w_PH * S_plus + unit.Y_P)
    A_S = targets.public_private_wage * unit.w_PH * A_P
    params = params.with_values(A_P=A_P, A_S=A_S)

    # 4. fertility: each target pins one parameter given the ones before it
    def solve_for(name, group, lo, hi):
        nonlocal params

        def gap(value):
            trial = params.with_values({name: value})
            return fertility_by_group(trial, stocks, allocate(trial, stocks, chi_H, chi_L))[group] \
                - targets.fertility[group]

        gap_lo, gap_hi = gap(lo), gap(hi)
        if not gap_lo * gap_hi < 0:
            cap = (f"; the biological limit n_max = {params['n_max']:g} binds below it"
                   if params["n_max"] < targets.fertility[group] * 1.5 else "")
            rule = ("; under the kinked fine high-preference adults never go below the quota"
                    if params["kinked_fine"] == 1.0 else "")
            raise ParameterError(
                f"calibration cannot match the {group} fertility target {targets.fertility[group]:.4f} "
                f"(children per adult) by {name!r} in [{lo:g}, {hi:g}]: the model gives "
                f"{gap_lo + targets.fertility[group]:.4f} to {gap_hi + targets.fertility[group]:.4f}{cap}{rule}")
        params = params.with_values({name: brentq(gap, lo, hi, xtol=1e-15, rtol=1e-15)})

    solve_for("phi_high", "private_L", 1e-3, 50.0)   # private low-skilled: phi_high only
    solve_for("k0_R", "rural_L", 1e-3, 10.0)         # rural low-skilled: + rural child cost
    solve_for("k_H", "rural_H", 0.0, 100.0)          # rural (and informal) high-skilled
    solve_for("k_S", "public", 0.0, 100.0)
    solve_for("k_PH", "private_H", 0.0, 100.0)

    # 5. urban benefit: pension replacement x urban income x years retired, per model period
    bench = allocate(params, stocks, chi_H, chi_L)
    urban_income = (bench.Y_S + bench.Y_P) / bench.U_plus
    B_target = targets.pension_replacement * urban_income * targets.years_retired / YEARS_PER_PERIOD
    params = params.with_values(B0=B_target / bench.G)
    bench = allocate(params, stocks, chi_H, chi_L)

    # 6. migration costs from the indifference conditions
    gains = migration_gains(params, bench)
    params = params.with_values(Gamma_H=gains["H_high"], Gamma_L=gains["L_low"])
    return Calibration(params=params, stocks=stocks, benchmark=bench, targets=targets,
                       floating_shares=(share_S, share_PH, share_PL))


def floating_share_region(targets: CalibrationTargets | None = None, lam: float = 0.15) -> dict[str, float]:
    """The private low-skilled shares of the floating population that imply a mixed equilibrium.

    Step 1 of the calibration gives ``chi_H = ((1 - s_PL) F / H - lam) / (1 - lam)`` and
    ``chi_L = s_PL F / (lam L)`` with ``F`` the floating population; both must lie in (0, 1), so
    ``s_PL`` must lie strictly between the two bounds returned (the split of ``1 - s_PL`` between
    the public and private high-skilled sectors is free). Later steps can still fail, each with
    its own error.
    """
    targets = targets or CalibrationTargets()
    stocks = population_stocks(targets.U_over_R, targets.H_over_L, targets.S_over_U, targets.PH_over_PL)
    floating = stocks.U / targets.U_over_U_plus - stocks.U
    return {"private_L_above": max(0.0, 1.0 - stocks.H / floating),
            "private_L_below": min(1.0, 1.0 - lam * stocks.H / floating, lam * stocks.L / floating)}


def _check_presets(params: ParameterTable) -> None:
    """Legal parameter values at which the calibration's inversions have no answer."""
    if params["rho"] == 0.0:
        raise ParameterError("parameter 'rho' = 0.0 is not allowed in calibrate: with Cobb-Douglas "
                             "private technology the skill premium does not depend on psi, so the "
                             "skill-premium target cannot pin psi; use rho != 0 (the solver accepts rho = 0)")
    if not 0.0 < params["lam"] < 1.0:
        raise ParameterError(f"parameter 'lam' = {params['lam']!r} is not allowed in calibrate: the mixed "
                             "equilibrium it inverts needs both preference types, so lam must be in (0, 1)")
    if params["mu_tax"] != params["mu"]:
        raise ParameterError(f"parameters 'mu' = {params['mu']!r} and 'mu_tax' = {params['mu_tax']!r} differ in "
                             "the presets: the calibration holds them equal (set both); experiments may "
                             "change one alone")


def model_implications(calibration: Calibration) -> dict[str, float]:
    """Table 3: relative productivities, movers, relative child costs and fines."""
    p, a = calibration.params.values, calibration.benchmark
    y_R = a.x
    fine_rural_H = (p["k_R"] + p["k_H"]) * y_R
    return {
        "A_P_over_A_S": p["A_P"] / p["A_S"],
        "A_P_over_z": p["A_P"] / p["z"],
        "frac_H_movers": a.movers_H / calibration.stocks.H,
        "frac_L_movers": a.movers_L / calibration.stocks.L,
        "childcost_public_over_rural": p["k0_U"] * a.w_S / (p["k0_R"] * y_R),
        "childcost_private_H_over_rural": p["k0_U"] * a.w_PH / (p["k0_R"] * y_R),
        "childcost_private_L_over_rural": p["k0_U"] * a.w_PL / (p["k0_R"] * y_R),
        "penalty_public_over_rural_H": (p["k_U"] + p["k_S"]) * a.w_S / fine_rural_H,
        "penalty_private_H_over_rural_H": (p["k_U"] + p["k_PH"]) * a.w_PH / fine_rural_H,
        "penalty_private_L_over_rural_L": p["k_U"] * a.w_PL / (p["k_R"] * y_R),
        "penalty_public_over_rural_L": (p["k_U"] + p["k_S"]) * a.w_S / (p["k_R"] * y_R),
    }


def table2_values(calibration: Calibration) -> dict[str, float]:
    """The Table 2 entries (names as in the results contract)."""
    p = calibration.params.values
    names = ["z", "q", "delta", "A_S", "A_P", "psi", "phi_high", "k0_R", "k_H", "k_S", "k_PH",
             "B0", "Gamma_H", "Gamma_L", "pi_S"]
    out = {name: p[name] for name in names}
    out["B"] = calibration.benchmark.B
    out["chi_H"] = calibration.benchmark.chi_H
    out["chi_L"] = calibration.benchmark.chi_L
    return out


def calibration_records(calibration: Calibration) -> dict[str, float]:
    """Tables 2 and 3 under the keys the chapter records them by: ``table2/<name>``, ``table3/<name>``."""
    return {**{f"table2/{name}": value for name, value in table2_values(calibration).items()},
            **{f"table3/{name}": value for name, value in model_implications(calibration).items()}}
