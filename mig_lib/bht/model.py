"""The Becker-meets-Harris-Todaro model of Liao, Wang, Wang & Yip (NBER w27767): its parameters
and the beginning-of-period population stocks.

Everything here is data: one labelled :class:`~mig_lib.core.ParameterTable` with every structural
parameter (name, value, bounds, the paper's symbol, meaning) and the population stocks that the
paper takes from Chinese data and holds fixed in every experiment.

Unit conventions the paper leaves implicit (see the chapter's replication notes):

* a model period is 36 years of working life; children are raised for 18 of them, so the
  child-rearing cost per child is ``CHILD_REARING_SHARE * k0 * wage`` with ``k0`` the printed
  "proportion of child-rearing cost to the wage";
* above-quota fines are quoted in years of income, so the fine per child above the quota is
  ``k * wage / YEARS_PER_PERIOD``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mig_lib.core import ParameterError, ParameterTable

#: Years of working life in one model period (ages 18-54).
YEARS_PER_PERIOD = 36.0
#: Share of the period spent raising a child (18 of 36 years).
CHILD_REARING_SHARE = 0.5

# Rows: name, value, lower, upper, paper symbol, meaning.  Values of calibrated rows are the
# numbers printed in Table 2; :func:`mig_lib.bht.calibrate.calibrate` replaces them with the
# full-precision values implied by the targets.
_ROWS = [
    # production
    ("z", 0.4067, 1e-6, 100.0, r"z", "farming technology (calibrated: rural income x = 1)"),
    ("q", 2.3315, 1e-6, 100.0, r"q", "beginning-of-period land per rural worker (mou)"),
    ("delta", 0.2083, 0.0, 1.0, r"\delta", "fraction of the period a migrant keeps (and idles) the land entitlement"),
    ("A_S", 2.0214, 1e-6, 100.0, r"A_S", "public-sector productivity = public wage (calibrated)"),
    ("A_P", 3.3287, 1e-6, 100.0, r"A_P", "private-sector productivity (calibrated)"),
    ("rho", 0.8333, -10.0, 0.999, r"\rho", "CES curvature; elasticity of substitution 1/(1-rho)"),
    ("alpha", 0.5, 1e-6, 1 - 1e-6, r"\alpha", "CES weight of high-skilled labour"),
    ("psi", 1.3608, 1e-6, 100.0, r"\psi", "quality index of high-skilled labour (calibrated: skill premium)"),
    # preferences
    ("lam", 0.15, 0.0, 1.0, r"\lambda", "probability of the low fertility preference"),
    ("phi_low", 0.1, 1e-9, 100.0, r"\underline{\phi}", "low preference for children"),
    ("phi_high", 0.5346, 1e-9, 100.0, r"\bar{\phi}", "high preference for children (calibrated)"),
    ("epsilon", 0.1, 1e-6, 1 - 1e-6, r"\varepsilon", "curvature of utility in the number of children"),
    ("beta", 0.21, 1e-6, 0.5, r"\beta", "altruism: share of net income bequeathed"),
    ("B0", 2.4863, 0.0, 100.0, r"B_0", "efficiency of providing urban benefits (calibrated)"),
    ("Gamma_H", 0.4230, -100.0, 100.0, r"\Gamma_H", "utility cost of migrating, high-skilled (calibrated)"),
    ("Gamma_L", 0.1539, -100.0, 100.0, r"\Gamma_L", "utility cost of migrating, low-skilled (calibrated)"),
    # institutions
    ("pi_S", 0.2, 0.0, 1.0, r"\pi", "probability that a high-skilled migrant gets a public-sector job (calibrated)"),
    ("mu", 0.4514, 0.0, 1.0, r"\mu", "fraction of the period a late hukou holder enjoys benefits and pays the tax"),
    ("mu_tax", 0.4514, 0.0, 1.0, r"\mu_\tau", "fraction of the period a late hukou holder pays the tax (the "
     "paper's benefit experiments keep it at the benchmark mu)"),
    ("theta", 0.11, 0.0, 1.0, r"\theta", "probability that a private-sector migrant obtains urban hukou"),
    ("tau", 0.2, 0.0, 1.0, r"\tau", "urban earmarked tax rate on the wage"),
    # fertility policy
    ("n_bar_R", 0.8, 0.0, 10.0, r"\bar{n}_R", "rural fertility quota per adult"),
    ("n_bar_U", 0.5, 0.0, 10.0, r"\bar{n}_U", "urban fertility quota per adult"),
    ("n_max", 2.75, 0.0, 10.0, r"n_{\max}", "biological limit per adult (5.5 per couple)"),
    ("k0_U", 0.25, 1e-9, 10.0, r"\tilde{\kappa}^0_U", "urban child-rearing cost, share of the wage"),
    ("k0_R", 0.4386, 1e-9, 10.0, r"\tilde{\kappa}^0_R", "rural child-rearing cost, share of income (calibrated)"),
    ("k_R", 1.5928, 0.0, 1000.0, r"\tilde{\sigma}_R", "basic rural above-quota fine, years of income"),
    ("k_U", 1.6654, 0.0, 1000.0, r"\tilde{\sigma}_U", "basic urban above-quota fine, years of income"),
    ("k_H", 5.3123, 0.0, 1000.0, r"\tilde{\sigma}_H", "extra fine, rural high-skilled (calibrated)"),
    ("k_S", 2.1439, 0.0, 1000.0, r"\tilde{\sigma}_S", "extra fine, public sector (calibrated)"),
    ("k_PH", 0.2382, 0.0, 1000.0, r"\tilde{\sigma}^H_P", "extra fine, private high-skilled (calibrated)"),
    # the fine rule: 0 = linear sigma (n - quota) for high-preference adults only (reproduces the
    # printed tables; a subsidy below the quota), 1 = the paper's sigma max(n - quota, 0) for all
    ("kinked_fine", 0.0, 0.0, 1.0, "", "fine rule: 0 linear for high-preference adults (replication), "
     "1 the paper's kinked fine sigma max(n - quota, 0) for everyone (eqs. 10, 12-14)"),
]

#: The names whose values the calibration determines.
CALIBRATED = ("z", "A_S", "A_P", "psi", "phi_high", "k0_R", "k_H", "k_S", "k_PH", "B0",
              "Gamma_H", "Gamma_L", "pi_S")
#: The above-quota fine rates (all zero under "no population control").
FINE_RATES = ("k_R", "k_U", "k_H", "k_S", "k_PH")


def paper_parameters() -> ParameterTable:
    """The parameter table with the values printed in Table 2 (rounded to four digits)."""
    return ParameterTable(_ROWS)


@dataclass(frozen=True)
class PopulationStocks:
    """Beginning-of-period stocks (urban residents normalised to ``U = 1``).

    ``S``, ``PH``, ``PL``: public, private high- and private low-skilled urban residents;
    ``H``, ``L``: rural high- and low-skilled. The paper holds them fixed in every experiment.
    """

    S: float
    PH: float
    PL: float
    H: float
    L: float

    @property
    def U(self) -> float:
        return self.S + self.PH + self.PL

    @property
    def R(self) -> float:
        return self.H + self.L


def population_stocks(U_over_R: float = 0.4579, H_over_L: float = 0.1076,
                      S_over_U: float = 0.6094, PH_over_PL: float = 0.8159) -> PopulationStocks:
    """Stocks from the four data ratios of Section 4.2 (averages 1980-2007), with ``U = 1``.

    The paper also quotes S/P = 1.5235, which contradicts S/U = 0.6094 (it would need
    S/U = 0.6037); the tables are reproduced with S/U.
    """
    for name, value in {"U_over_R": U_over_R, "H_over_L": H_over_L, "S_over_U": S_over_U,
                        "PH_over_PL": PH_over_PL}.items():
        if not (value > 0 and (name != "S_over_U" or value < 1)):
            raise ParameterError(f"argument {name!r} = {value!r} is not allowed: expected a positive "
                                 "ratio (S_over_U below 1)")
    private = 1.0 - S_over_U
    R = 1.0 / U_over_R
    return PopulationStocks(
        S=S_over_U,
        PH=private * PH_over_PL / (1.0 + PH_over_PL),
        PL=private / (1.0 + PH_over_PL),
        H=R * H_over_L / (1.0 + H_over_L),
        L=R / (1.0 + H_over_L),
    )
