"""The heterogeneity (interaction) test is a full interaction, checked against references.

DiD / IPW-DiD: outcome on ``itt x level`` with client fixed effects and level x wave fixed
effects (each subgroup against its own comparison trend).  References: the same model fitted
by pyfixest (CRV1) and the Wald statistic written out here; the subgroup effects against the
DiD fitted on each subgroup alone.  ANCOVA: statsmodels OLS with explicit dummies, whose
small-sample factor counts the columns of a full-rank design (nested strata counted once).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.core import fit_linear
from analysis.estimators import (
    ancova_sample,
    did_sample,
    fit_did,
    fit_ipw_did,
    interaction_fit,
    interaction_test,
    ipw_weights,
)

pf = pytest.importorskip("pyfixest")
OUTCOME = "late_instalments"


@pytest.fixture(scope="module")
def weights(demo_panel):
    return ipw_weights(demo_panel)[0]


def _shocked(panel: pd.DataFrame, by: str, level, outcome: str = OUTCOME, shock: float = 0.3):
    """+shock to BOTH arms of one subgroup at endline: a subgroup-specific time effect."""
    out = panel.copy()
    rows = (out[by] == level) & (out["wave"] == 2) & out[outcome].notna()
    assert out.loc[rows, "arm"].nunique() == 2  # both arms are hit
    out.loc[rows, outcome] += shock
    return out


def _wald(coef: np.ndarray, vcov: np.ndarray) -> float:
    """W = (R b)' (R V R')^-1 (R b) for 'all coefficients equal' (successive differences)."""
    k = coef.size
    r = np.zeros((k - 1, k))
    for i in range(k - 1):
        r[i, i], r[i, i + 1] = 1.0, -1.0
    rb = r @ coef
    return float(rb @ np.linalg.solve(r @ vcov @ r.T, rb))


@pytest.mark.parametrize("method", ["did", "ipw_did", "ancova"])
@pytest.mark.parametrize(("by", "level"), [("province", "Kompong Thom"), ("branch", "Santuk")])
def test_subgroup_time_shock_common_to_both_arms_changes_nothing(
    demo_panel, weights, method, by, level
):
    before = interaction_fit(demo_panel, OUTCOME, method, by, weights=weights)
    after = interaction_fit(_shocked(demo_panel, by, level), OUTCOME, method, by, weights=weights)
    assert after.levels == before.levels
    np.testing.assert_allclose(after.estimates, before.estimates, rtol=0, atol=1e-8)
    assert after.p_value == pytest.approx(before.p_value, abs=1e-8)
    assert after.f_stat == pytest.approx(before.f_stat, rel=1e-8)


@pytest.mark.parametrize("method", ["did", "ipw_did"])
@pytest.mark.parametrize("by", ["province", "branch", "female"])
def test_subgroup_effects_equal_the_did_fitted_on_each_subgroup(demo_panel, weights, method, by):
    inter = interaction_fit(demo_panel, OUTCOME, method, by, weights=weights)
    for level, est in zip(inter.levels, inter.estimates, strict=True):
        sub = demo_panel[demo_panel[by] == level]
        if method == "did":
            alone = fit_did(sub, OUTCOME, wave=2)
        else:
            alone = fit_ipw_did(sub, OUTCOME, wave=2, weights=weights)
        assert est == pytest.approx(alone.estimate, rel=1e-8)


def _pyfixest_full_interaction(panel, by, weights=None):
    d = did_sample(panel, OUTCOME, 2)
    if weights is not None:
        d = d.assign(w=d["client_id"].map(weights)).dropna(subset=["w"])
        d = d[d.groupby("client_id")["wave"].transform("size") == 2]
    levels = sorted(d[by].unique())
    terms = []
    for i, lv in enumerate(levels):
        d[f"itt_{i}"] = d["itt"] * (d[by] == lv)
        terms.append(f"itt_{i}")
    d["client_code"] = pd.factorize(d["client_id"])[0]
    d["village_code"] = pd.factorize(d["village"])[0]
    d["level_code"] = pd.factorize(d[by])[0]
    formula = f"{OUTCOME} ~ {' + '.join(terms)} | client_code + level_code^wave"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols(
            formula,
            data=d,
            vcov={"CRV1": "village_code"},
            weights="w" if weights is not None else None,
        )
    coef = ref.coef()[terms].to_numpy()
    vcov = ref._vcov
    g = d["village"].nunique()
    return levels, coef, vcov, g


@pytest.mark.parametrize("method", ["did", "ipw_did"])
@pytest.mark.parametrize("by", ["province", "branch", "female"])
def test_interaction_test_matches_pyfixest_fully_interacted_regression(
    demo_panel, weights, method, by
):
    ours = interaction_fit(demo_panel, OUTCOME, method, by, weights=weights)
    levels, coef, vcov, g = _pyfixest_full_interaction(
        demo_panel, by, weights if method == "ipw_did" else None
    )
    assert list(ours.levels) == levels
    np.testing.assert_allclose(ours.estimates, coef, rtol=1e-8)
    np.testing.assert_allclose(ours.vcov, vcov, rtol=1e-7)
    q = len(levels) - 1
    f_ref = _wald(coef, vcov) / q
    assert ours.f_stat == pytest.approx(f_ref, rel=1e-7)
    assert ours.df_denom == g - 1
    assert ours.p_value == pytest.approx(stats.f.sf(f_ref, q, g - 1), rel=1e-6)
    assert interaction_test(demo_panel, OUTCOME, method, by, weights=weights) == ours.p_value


def _statsmodels_ancova_interaction(panel, by):
    """ANCOVA interaction written out with dummies: arm x level, baseline outcome, strata
    (branch) dummies and, where not nested in the strata, level dummies."""
    import statsmodels.api as sm

    post = ancova_sample(panel, OUTCOME, 2)
    levels = sorted(post[by].unique())
    cols = {f"arm_{i}": post["arm"] * (post[by] == lv) for i, lv in enumerate(levels)}
    cols["y0"] = post["_y0"].fillna(0)
    if post["_y0"].isna().any():
        cols["y0_missing"] = post["_y0"].isna().astype(float)
    x = pd.DataFrame(cols, index=post.index).astype(float)
    x = x.join(pd.get_dummies(post["branch"], prefix="b", dtype=float))  # no constant
    nested = post.groupby("branch")[by].nunique().max() == 1
    if not nested:  # e.g. sex: its own effect, one level less (the branches hold the constant)
        x = x.join(pd.get_dummies(post[by], prefix="lv", drop_first=True, dtype=float))
    assert np.linalg.matrix_rank(x.to_numpy()) == x.shape[1]  # full rank: K is the column count
    groups = pd.factorize(post["village"])[0]
    res = sm.OLS(post[OUTCOME].astype(float), x).fit(
        cov_type="cluster",
        cov_kwds={"groups": groups, "use_correction": True, "df_correction": True},
    )
    names = [f"arm_{i}" for i in range(len(levels))]
    return levels, res.params[names].to_numpy(), res.cov_params().loc[names, names].to_numpy()


@pytest.mark.parametrize("by", ["province", "branch", "female"])
def test_ancova_interaction_counts_nested_strata_once(demo_panel, by):
    ours = interaction_fit(demo_panel, OUTCOME, "ancova", by)
    levels, coef, vcov = _statsmodels_ancova_interaction(demo_panel, by)
    assert list(ours.levels) == levels
    np.testing.assert_allclose(ours.estimates, coef, rtol=1e-8)
    # statsmodels' CR1 factor G/(G-1) (N-1)/(N-K) with K the columns of the full-rank design
    np.testing.assert_allclose(ours.vcov, vcov, rtol=1e-8)
    q, g = len(levels) - 1, demo_panel["village"].nunique()
    f_ref = _wald(coef, vcov) / q
    assert ours.f_stat == pytest.approx(f_ref, rel=1e-7)
    assert ours.p_value == pytest.approx(stats.f.sf(f_ref, q, g - 1), rel=1e-6)


def test_nested_fixed_effects_add_no_parameters():
    """Branches nested in provinces: province dummies add nothing to the branch dummies."""
    rng = np.random.default_rng(0)
    village = np.repeat(np.arange(40), 10)
    branch = village // 5  # 8 branches
    province = branch // 4  # 2 provinces
    from analysis.core import encode

    y, x = rng.normal(size=400), rng.normal(size=(400, 1))
    both = fit_linear(y, x, ["x"], village, fes=[encode(branch), encode(province)])
    alone = fit_linear(y, x, ["x"], village, fes=[encode(branch)])
    assert both.df_k == alone.df_k == 1 + 8
    assert both.se(0) == pytest.approx(alone.se(0), rel=1e-10)


def test_demo_branch_heterogeneity_agrees_with_cochran_q(demo_panel):
    """The demo's late instalments by branch: the full-interaction test and Cochran's Q on the
    branch DiD estimates tell the same story (the pooled-trend test said p < 0.001)."""
    inter = interaction_fit(demo_panel, OUTCOME, "did", "branch")
    b, v = inter.estimates, np.diag(inter.vcov)
    w = 1 / v
    q = float((w * (b - (w * b).sum() / w.sum()) ** 2).sum())
    p_q = stats.chi2.sf(q, b.size - 1)
    assert inter.p_value > 0.05
    assert inter.p_value == pytest.approx(p_q, abs=0.1)


def test_interaction_not_defined_for_iv_and_single_level(demo_panel):
    assert np.isnan(interaction_test(demo_panel, OUTCOME, "late", "branch"))
    assert np.isnan(interaction_test(demo_panel, OUTCOME, "tot", "branch"))
    one = demo_panel[demo_panel["branch"] == "Santuk"]
    assert np.isnan(interaction_test(one, OUTCOME, "did", "branch"))


def test_fixed_effect_rank_matches_the_rank_of_dense_dummies():
    """core._fe_rank (connected components for two fixed effects, cross-product rank for
    more) against numpy's rank of [1, dummies] built out in full."""
    from analysis.core import _fe_rank

    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(5, 80))
        fes = []
        for _ in range(int(rng.integers(1, 4))):
            c = np.unique(rng.integers(0, int(rng.integers(1, 10)), size=n), return_inverse=True)[1]
            fes.append((c, int(c.max()) + 1))
        if len(fes) >= 2 and rng.random() < 0.3:  # the second nested in the first
            c = np.unique(fes[0][0] // 2, return_inverse=True)[1]
            fes[1] = (c, int(c.max()) + 1)
        dense = [np.ones((n, 1))] + [np.eye(k)[c] for c, k in fes]
        assert _fe_rank(fes) == np.linalg.matrix_rank(np.hstack(dense))


def test_fixed_effect_rank_counts_disconnected_groups_at_scale():
    """600 firms x 5 years in two groups that never share a year: 605 levels, 2 redundant."""
    from analysis.core import _fe_rank

    firm = np.repeat(np.arange(600), 5)
    year = np.tile(np.arange(5), 600)
    keep = np.where(firm < 300, year < 2, year >= 2)
    fes = [(firm[keep], 600), (year[keep], 5)]
    assert _fe_rank(fes) == 600 + 5 - 2
