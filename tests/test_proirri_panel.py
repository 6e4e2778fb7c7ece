"""The PROIRRI study's own codebook reads its real, wide data file into the panel.

The acceptance test is the paper: Table 2 of Christian et al. (2022), regressions of the
cumulative savings outcomes on the arm, clustered by association, without and with province
fixed effects, fitted here with statsmodels on the panel this codebook builds (so a wrong
mapping of a wave, a column or a code would change a printed digit).
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf

from analysis.codebook import load_codebook
from analysis.panel import build_panel
from analysis.paths import PROJECT_ROOT

STUDY = PROJECT_ROOT / "data" / "studies" / "proirri"

# Table 2: (estimate, SE) without / with province fixed effects
TABLE2 = {
    ("saved_cumul", 1): ((0.080, 0.053), (0.033, 0.048)),
    ("saved_cumul", 2): ((0.155, 0.086), (0.053, 0.069)),
    ("saved_cumul", 3): ((0.188, 0.098), (0.073, 0.076)),
    ("saved_cumul", 4): ((0.293, 0.111), (0.205, 0.117)),
    ("savings_cumul", 4): ((1686, 979), (654, 873)),
}


@pytest.fixture(scope="module")
def proirri_panel():
    cb = load_codebook(STUDY / "codebook.yaml")
    panel, manifest = build_panel(STUDY, cb)
    return cb, panel, manifest


def test_shape_of_the_study(proirri_panel):
    cb, panel, manifest = proirri_panel
    assert cb.roles.unit == "hhid" and cb.roles.cluster == "associd"
    assert not any(cb.has_baseline(o) for o in cb.outcomes)  # post-only savings measures
    sizes = panel.groupby("wave").size().to_dict()
    assert sizes == {0: 3081, 1: 3081, 2: 3081, 3: 3081, 4: 3081, 5: 1784}
    assert panel["associd"].nunique() == 42
    assert set(panel["prov"]) == {"Manica", "Sofala", "Zambezia"}
    assert panel.groupby("associd")["treatment"].nunique().max() == 1
    assert manifest["inputs"][0]["file"] == "proirri_savings.dta"


@pytest.mark.parametrize("key", sorted(TABLE2))
def test_table2_is_reproduced_from_the_panel(proirri_panel, key):
    _, panel, _ = proirri_panel
    outcome, wave = key
    rows = panel[panel["wave"] == wave]
    assert len(rows) == 3081
    for spec, (est, se) in zip(("", " + C(prov)"), TABLE2[key], strict=True):
        fit = smf.ols(f"{outcome} ~ treatment{spec}", data=rows).fit(
            cov_type="cluster", cov_kwds={"groups": rows["associd"]}
        )
        digits = 3 if outcome == "saved_cumul" else 0
        assert round(fit.params["treatment"], digits) == pytest.approx(est, abs=1e-9)
        assert round(fit.bse["treatment"], digits) == pytest.approx(se, abs=1e-9)
        assert np.isfinite(fit.pvalues["treatment"])
