"""The PROIRRI study's published results, reproduced through ``python -m analysis estimate``.

Christian, Glover, Kondylis, Mueller, Ruzzante and Zwager (2022), "Do Private Consultants Promote
Savings and Investments in Rural Mozambique?", Agricultural Economics 53(1), Table 2 (OLS of the
outcome at each quarterly box pick-up on ``treatment``, errors clustered by association, without /
with province fixed effects; N = 3,081) and Table A13 (wild cluster bootstrap p-values, Stata
``boottest``, Rademacher weights).

The shipped file has one row per household with the quarters side by side
(``bp_v1_d_saved_cumul`` ... ``bp_v4_d_saved_cumul``).  The command line takes a long panel, so
the test reshapes it to one row per household and quarter (as ``data/studies/proirri/README.md``
shows a user) and runs the post-only estimator with ``--wave Q`` for each quarter.  The long
file is written as Stata ``.dta`` so the Stata reader is on the path too.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "studies" / "proirri" / "proirri_savings.dta"
N_HOUSEHOLDS = 3081
N_ASSOCIATIONS = 42

# Table 2: (estimate, standard error) without / with province fixed effects, as printed
SAVED = {  # cumulative probability to save by quarter
    1: ((0.080, 0.053), (0.033, 0.048)),
    2: ((0.155, 0.086), (0.053, 0.069)),
    3: ((0.188, 0.098), (0.073, 0.076)),
    4: ((0.293, 0.111), (0.205, 0.117)),
}
SAVINGS_MZN = {  # cumulative savings per household, MZN (printed to the unit)
    1: ((179, 174), (36, 145)),
    2: ((485, 587), (-229, 500)),
    3: ((1101, 912), (21, 749)),
    4: ((1686, 979), (654, 873)),
}
# Table A13: wild cluster bootstrap p-values for "saved by quarter", without / with province FE
WILD_P = {1: (0.144, 0.499), 2: (0.094, 0.443), 3: (0.073, 0.340), 4: (0.021, 0.099)}
PUBLISHED_DRAWS = 999  # boottest's default, the draws behind the printed p-values
OUR_DRAWS = 9999


@pytest.fixture(scope="module")
def long_panel(tmp_path_factory) -> Path:
    wide = pd.read_stata(DATA, convert_categoricals=False)
    assert len(wide) == N_HOUSEHOLDS
    long = pd.concat(
        wide[["hhid", "associd", "prov", "treatment"]].assign(
            quarter=q,
            d_saved_cumul=wide[f"bp_v{q}_d_saved_cumul"],
            boxvalue_cumul=wide[f"bp_v{q}_boxvalue_cumul"],
        )
        for q in range(1, 5)
    )
    path = tmp_path_factory.mktemp("proirri") / "proirri_long.dta"
    long.to_stata(path, write_index=False)
    return path


def _cli(panel: Path, quarter: int, province_fe: bool, *extra: str) -> pd.DataFrame:
    cmd = [
        sys.executable, "-m", "analysis", "estimate", str(panel), "--unit", "hhid",
        "--time", "quarter", "--treat", "treatment", "--outcome", "d_saved_cumul",
        "--outcome", "boxvalue_cumul", "--cluster", "associd", "--method", "post",
        "--wave", str(quarter), *(["--strata", "prov"] if province_fe else []), *extra,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(io.StringIO(done.stdout)).set_index("outcome")


@pytest.fixture(scope="module")
def table2(long_panel) -> dict[tuple[int, bool], pd.DataFrame]:
    """Every (quarter, province FE) cell, with the wild bootstrap p-values of Table A13."""
    return {
        (q, fe): _cli(long_panel, q, fe, "--inference", "wild", "--draws", str(OUR_DRAWS))
        for q in range(1, 5)
        for fe in (False, True)
    }


CELLS = [(q, fe) for q in range(1, 5) for fe in (False, True)]


@pytest.mark.parametrize("quarter,province_fe", CELLS)
def test_saved_by_quarter_to_the_printed_digits(table2, quarter, province_fe):
    row = table2[(quarter, province_fe)].loc["d_saved_cumul"]
    est, se = SAVED[quarter][province_fe]
    assert round(row["estimate"], 3) == pytest.approx(est, abs=1e-12)
    assert round(row["std_error"], 3) == pytest.approx(se, abs=1e-12)


@pytest.mark.parametrize("quarter,province_fe", CELLS)
def test_savings_mzn_to_the_printed_digits(table2, quarter, province_fe):
    row = table2[(quarter, province_fe)].loc["boxvalue_cumul"]
    est, se = SAVINGS_MZN[quarter][province_fe]
    assert round(row["estimate"]) == est
    assert round(row["std_error"]) == se


@pytest.mark.parametrize("quarter,province_fe", CELLS)
def test_sample_is_every_household_in_42_associations(table2, quarter, province_fe):
    res = table2[(quarter, province_fe)]
    assert (res["n_obs"] == N_HOUSEHOLDS).all()
    assert (res["n_units"] == N_HOUSEHOLDS).all()
    assert (res["n_clusters"] == N_ASSOCIATIONS).all()
    assert (res["term"] == "treatment").all()
    assert (res["boot_draws"] == OUR_DRAWS).all()


@pytest.mark.parametrize("quarter,province_fe", CELLS)
def test_wild_bootstrap_p_values_of_table_a13(table2, quarter, province_fe):
    """Within 3 Monte-Carlo standard errors of the published p-value (999 draws behind it)."""
    p_pub = WILD_P[quarter][province_fe]
    p_ours = table2[(quarter, province_fe)].loc["d_saved_cumul", "p_value"]
    mc_se = math.sqrt(p_pub * (1 - p_pub) / PUBLISHED_DRAWS)
    assert abs(p_ours - p_pub) <= 3 * mc_se, (p_ours, p_pub, mc_se)


def test_one_cell_matches_pyfixest_crv1(table2):
    """Q4 with province fixed effects against pyfixest's feols (Stata reghdfe conventions)."""
    pf = pytest.importorskip("pyfixest")
    wide = pd.read_stata(DATA, convert_categoricals=False)
    ref = pf.feols("bp_v4_d_saved_cumul ~ treatment | prov", data=wide, vcov={"CRV1": "associd"})
    row = table2[(4, True)].loc["d_saved_cumul"]
    assert row["estimate"] == pytest.approx(ref.coef()["treatment"], rel=1e-9)
    assert row["std_error"] == pytest.approx(ref.se()["treatment"], rel=1e-9)


def test_through_the_study_codebook_panel(tmp_path):
    """The same numbers from the panel the study's codebook builds (``analysis build``), where the
    savings outcomes have no baseline: ANCOVA refuses, the post-only comparison reproduces Table 2."""
    codebook = DATA.parent / "codebook.yaml"
    if not codebook.is_file():
        pytest.skip("the study has no codebook yet")
    panel = tmp_path / "proirri.parquet"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=300)  # fmt: skip

    built = run(
        "build", "--raw", str(DATA.parent), "--codebook", str(codebook), "--out", str(panel)
    )
    assert built.returncode == 0, built.stderr
    base = ["estimate", str(panel), "--unit", "hhid", "--time", "wave", "--treat", "treatment",
            "--outcome", "saved_cumul", "--cluster", "associd"]  # fmt: skip
    for fe, (est, se) in zip((False, True), SAVED[4], strict=True):
        done = run(*base, "--method", "post", "--wave", "4", *(["--strata", "prov"] if fe else []))
        assert done.returncode == 0, done.stderr
        row = pd.read_csv(io.StringIO(done.stdout)).iloc[0]
        assert (round(row["estimate"], 3), round(row["std_error"], 3)) == (est, se)
        assert row["n_obs"] == N_HOUSEHOLDS
    ancova = run(*base, "--method", "ancova", "--wave", "4")
    assert ancova.returncode == 2 and ancova.stdout == ""
    assert "not measured in the first period (wave = 0)" in ancova.stderr
    endline = run(*base, "--method", "post")  # the last period is the endline survey
    assert endline.returncode == 2
    assert "it is measured in wave = 1, 2, 3, 4; choose one with --wave" in endline.stderr


def test_wild_p_value_matches_pyfixest_bootstrap(table2):
    """Q4 with province fixed effects: our bootstrap and pyfixest's agree within their joint MC
    error (both ~0.104 with 99,999 draws; the printed 0.099 is within its own 999-draw error)."""
    pf = pytest.importorskip("pyfixest")
    import warnings

    wide = pd.read_stata(DATA, convert_categoricals=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pf.feols("bp_v4_d_saved_cumul ~ treatment | prov", data=wide,
                         vcov={"CRV1": "associd"})  # fmt: skip
        p_ref = float(model.wildboottest(param="treatment", reps=OUR_DRAWS, seed=3)["Pr(>|t|)"])
    p_ours = table2[(4, True)].loc["d_saved_cumul", "p_value"]
    assert abs(p_ours - p_ref) <= 3 * math.sqrt(2 * p_ref * (1 - p_ref) / OUR_DRAWS)
