"""Estimates agree with reference implementations to numerical precision.

Convention: CR1 cluster-robust errors with fixed effects nested in clusters not
counted in K (pyfixest / reghdfe).  pyfixest is therefore the reference for the
fixed-effects estimators; linearmodels IV2SLS for the instrumental-variable step
(on the demeaned data, where its K is ours); wildboottest for the bootstrap.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.core import cluster_ci, encode, wild_bootstrap
from analysis.estimators import (
    did_sample,
    fit_ancova,
    fit_did,
    fit_ipw_did,
    fit_tot,
    fit_twfe,
    ipw_weights,
)

pf = pytest.importorskip("pyfixest")
RTOL = 1e-8
OUTCOMES = [
    "repay_difficulty",
    "late_instalments",
    "savings_security",
    "log_income",
    "debt_service_ratio",
]


def _codes(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Integer codes for id columns (wildboottest/numba dislike pandas-3 strings)."""
    out = df.copy()
    for c in cols:
        out[f"{c}_code"] = pd.factorize(out[c])[0]
    return out


def _pf(formula: str, data: pd.DataFrame, cluster: str, weights: str | None = None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov={"CRV1": cluster}, weights=weights)


@pytest.mark.parametrize("wave", [1, 2])
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_did_matches_pyfixest(demo_panel, outcome, wave):
    ours = fit_did(demo_panel, outcome, wave=wave)
    d = _codes(did_sample(demo_panel, outcome, wave), "client_id", "village")
    ref = _pf(f"{outcome} ~ itt | client_id_code + wave", d, "village_code")
    assert ours.estimate == pytest.approx(ref.coef()["itt"], rel=RTOL)
    assert ours.std_error == pytest.approx(ref.se()["itt"], rel=RTOL)
    assert ours.p_value == pytest.approx(ref.pvalue()["itt"], rel=1e-6)
    lo, hi = ours.cis[0.95]
    ci = ref.confint()
    assert lo == pytest.approx(ci.loc["itt"].iloc[0], rel=1e-7)
    assert hi == pytest.approx(ci.loc["itt"].iloc[1], rel=1e-7)
    assert ours.n_obs == ref._N


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_ancova_matches_pyfixest(demo_panel, outcome):
    ours = fit_ancova(demo_panel, outcome, wave=2)
    base = demo_panel[demo_panel["wave"] == 0].set_index("client_id")[outcome]
    post = demo_panel[(demo_panel["wave"] == 2) & demo_panel[outcome].notna()].copy()
    post["y0"] = post["client_id"].map(base)
    post["y0_missing"] = post["y0"].isna().astype(float)
    post["y0"] = post["y0"].fillna(0)
    post = _codes(post, "village", "branch")
    rhs = "arm + y0 + y0_missing" if post["y0_missing"].any() else "arm + y0"
    ref = _pf(f"{outcome} ~ {rhs} | branch_code", post, "village_code")
    assert ours.estimate == pytest.approx(ref.coef()["arm"], rel=RTOL)
    assert ours.std_error == pytest.approx(ref.se()["arm"], rel=RTOL)


@pytest.mark.parametrize("outcome", ["repay_difficulty", "savings_security"])
def test_ipw_did_matches_weighted_pyfixest(demo_panel, outcome):
    ours = fit_ipw_did(demo_panel, outcome, wave=2)
    w, _ = ipw_weights(demo_panel)
    d = did_sample(demo_panel, outcome, 2)
    d = _codes(d.assign(w=d["client_id"].map(w)).dropna(subset=["w"]), "client_id", "village")
    ref = _pf(f"{outcome} ~ itt | client_id_code + wave", d, "village_code", weights="w")
    assert ours.estimate == pytest.approx(ref.coef()["itt"], rel=RTOL)
    assert ours.std_error == pytest.approx(ref.se()["itt"], rel=RTOL)
    assert ours.details["n_trimmed"] >= 0
    assert 0 < ours.details["pscore_range_programme"][0] < 1


def _statsmodels_propensity(panel: pd.DataFrame) -> pd.Series:
    """The propensity model written out independently: statsmodels' formula logit of
    assignment on the baseline covariates (mean-filled with missing indicators, log loan
    amount, activity as a categorical with its own level for a missing value)."""
    import statsmodels.formula.api as smf

    b = panel[panel["wave"] == 0].drop_duplicates("client_id").set_index("client_id")
    df = pd.DataFrame(index=b.index)
    df["arm"] = b["arm"].astype(float)
    terms = []
    for c in ["female", "age", "hh_size", "literate", "loan_cycle"]:
        df[c] = b[c].fillna(b[c].mean())
        terms.append(c)
        if b[c].isna().any():
            df[f"{c}_na"] = b[c].isna().astype(float)
            terms.append(f"{c}_na")
    df["log_loan"] = np.log(b["loan_amount"])
    df["activity"] = b["main_activity"].astype(object).fillna("(not given)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = smf.logit(f"arm ~ {' + '.join(terms)} + log_loan + C(activity)", data=df).fit(
            disp=False, maxiter=200
        )
    return pd.Series(m.predict(df), index=df.index)


def test_propensity_model_matches_statsmodels_logit(demo_panel):
    from analysis.estimators import propensity_scores

    ours, info = propensity_scores(demo_panel)
    ref = _statsmodels_propensity(demo_panel)
    assert ours.index.equals(ref.index)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-6)
    assert info["propensity_pseudo_r2"] < 0.05  # randomised design: the covariates predict little


def _att_weights(p: pd.Series, panel: pd.DataFrame, trim=(0.05, 0.95)) -> pd.Series:
    """1 for programme clients, p/(1-p) for comparison clients, NaN outside ``trim``."""
    base = panel[panel["wave"] == 0].drop_duplicates("client_id").set_index("client_id")
    arm = base["arm"].reindex(p.index)
    w = pd.Series(np.where(arm == 1, 1.0, p / (1 - p)), index=p.index)
    return w.where((p >= trim[0]) & (p <= trim[1]))


def test_ipw_weights_are_att_odds_of_an_independent_logit(demo_panel):
    """ATT weights (Hirano, Imbens & Ridder 2003; Abadie 2005): 1 for programme clients,
    p/(1-p) for comparison clients, NaN outside the trimming range."""
    ours, info = ipw_weights(demo_panel, trim=(0.05, 0.95))
    expected = _att_weights(_statsmodels_propensity(demo_panel), demo_panel)
    assert ours.index.equals(expected.index)
    assert ours.isna().equals(expected.isna())
    np.testing.assert_allclose(ours.dropna().to_numpy(), expected.dropna().to_numpy(), rtol=1e-6)
    assert info["n_trimmed"] == int(expected.isna().sum())


def _first_differences(panel: pd.DataFrame, outcome: str, weights: pd.Series) -> pd.DataFrame:
    d = did_sample(panel, outcome, 2)
    wide = d.pivot(index="client_id", columns="wave", values=outcome)
    first = d.drop_duplicates("client_id").set_index("client_id")
    out = pd.DataFrame({"dy": wide[2] - wide[0], "arm": first["arm"], "village": first["village"]})
    return out.assign(w=weights.reindex(out.index)).dropna(subset=["w"])


@pytest.mark.parametrize("outcome", ["repay_difficulty", "late_instalments", "log_income"])
def test_ipw_did_equals_weighted_first_difference_regression(demo_panel, outcome):
    """Two periods: the weighted DiD with client and wave effects is WLS of the first
    difference on assignment (statsmodels), and equals the IPW-DiD of Abadie (2005) /
    Sant'Anna & Zhao (2020): mean change of programme clients minus the p/(1-p)-weighted
    mean change of comparison clients."""
    import statsmodels.api as sm

    ours = fit_ipw_did(demo_panel, outcome, wave=2)
    w = _att_weights(_statsmodels_propensity(demo_panel), demo_panel)
    fd = _first_differences(demo_panel, outcome, w)
    x = sm.add_constant(fd["arm"].astype(float))
    groups = pd.factorize(fd["village"])[0]
    wls = sm.WLS(fd["dy"], x, weights=fd["w"]).fit(cov_type="cluster", cov_kwds={"groups": groups})
    # weights from the test's own logit: agreement to the optimiser's precision
    assert ours.estimate == pytest.approx(wls.params["arm"], rel=1e-6)
    prog, comp = fd[fd["arm"] == 1], fd[fd["arm"] == 0]
    by_hand = prog["dy"].mean() - (comp["w"] * comp["dy"]).sum() / comp["w"].sum()
    assert ours.estimate == pytest.approx(by_hand, rel=1e-6)
    # same cluster sums; only the small-sample factors differ: ours counts 2n rows and
    # K = 1 + 1 (client) + 1 (wave), the first-difference regression n rows and K = 2
    n, g = len(fd), fd["village"].nunique()
    ours_ssc = g / (g - 1) * (2 * n - 1) / (2 * n - 3)
    fd_ssc = g / (g - 1) * (n - 1) / (n - 2)
    assert ours.std_error == pytest.approx(wls.bse["arm"] * np.sqrt(ours_ssc / fd_ssc), rel=1e-6)


@pytest.mark.parametrize("outcome", ["repay_difficulty", "emergency_savings", "log_income"])
def test_tot_matches_linearmodels_iv2sls(demo_panel, outcome):
    from linearmodels.iv import IV2SLS

    from analysis.core import demean

    ours = fit_tot(demo_panel, outcome, wave=2)
    d = did_sample(demo_panel, outcome, 2).dropna(subset=["exposure"])
    d = d[d.groupby("client_id")["wave"].transform("size") == 2]
    m = demean(
        d[[outcome, "exposure", "itt"]].to_numpy(float), [encode(d["client_id"]), encode(d["wave"])]
    )
    frame = pd.DataFrame(m, columns=["y", "x", "z"], index=d.index)
    ref = IV2SLS(frame["y"], None, frame[["x"]], frame[["z"]]).fit(
        cov_type="clustered",
        clusters=pd.Series(encode(d["village"])[0], index=d.index),
        debiased=False,
    )
    assert ours.estimate == pytest.approx(ref.params["x"], rel=RTOL)
    # linearmodels (debiased=False) applies no small-sample factor on the demeaned data; ours is
    # CR1: G/(G-1) * (N-1)/(N-K), K = 1 regressor + 1 (client FE nested in villages) + 2 waves - 1
    n, g, k = ours.n_obs, ours.n_clusters, 3
    factor = np.sqrt(g / (g - 1) * (n - 1) / (n - k))
    assert ours.std_error == pytest.approx(ref.std_errors["x"] * factor, rel=RTOL)
    assert ours.details["first_stage_F"] > 100


def test_tot_matches_pyfixest_iv(demo_panel):
    outcome = "repay_difficulty"
    ours = fit_tot(demo_panel, outcome, wave=2)
    d = did_sample(demo_panel, outcome, 2).dropna(subset=["exposure"])
    d = _codes(d[d.groupby("client_id")["wave"].transform("size") == 2], "client_id", "village")
    ref = _pf(f"{outcome} ~ 1 | client_id_code + wave | exposure ~ itt", d, "village_code")
    assert ours.estimate == pytest.approx(ref.coef()["exposure"], rel=RTOL)
    assert ours.std_error == pytest.approx(ref.se()["exposure"], rel=RTOL)


def test_wild_bootstrap_matches_wildboottest_full_enumeration(demo_panel):
    wbt = pytest.importorskip("wildboottest.wildboottest")
    import statsmodels.api as sm

    branch = demo_panel[demo_panel["branch"] == "Santuk"]
    res = fit_did(branch, "savings_security", wave=2)
    assert res.n_clusters == 10
    ours = wild_bootstrap(res.fit, 0, draws=9999, weights="rademacher")
    assert ours.draws == 2**10  # full enumeration, as wildboottest does
    # the pair of draws v = +/-1 reproduces the sample: |t*| = |t| exactly, a tie that
    # wildboottest leaves to rounding; we never count it.  Everything else must agree.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = wbt.wildboottest(
            sm.OLS(res.fit.boot_y, res.fit.boot_x), B=9999, cluster=res.fit.clusters, param="x1",
            weights_type="rademacher", seed=1, show=False,
        )  # fmt: skip
    assert ours.p_value == pytest.approx(float(ref["p-value"].iloc[0]), abs=2 / 2**10 + 1e-12)


def test_wild_bootstrap_matches_pyfixest_with_fixed_effects(demo_panel):
    """pyfixest re-estimates the wave fixed effect in each replicate, as we do."""
    branch = demo_panel[demo_panel["branch"] == "Santuk"]
    res = fit_did(branch, "savings_security", wave=2)
    ours = wild_bootstrap(res.fit, 0, draws=9999, weights="rademacher")
    d = _codes(did_sample(branch, "savings_security", 2), "client_id", "village")
    model = _pf("savings_security ~ itt | client_id_code + wave", d, "village_code")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = model.wildboottest(param="itt", reps=9999, seed=3)
    assert ours.p_value == pytest.approx(float(ref["Pr(>|t|)"]), abs=2 / 2**10 + 1e-12)


def test_wild_bootstrap_with_controls_matches_wildboottest(demo_panel):
    wbt = pytest.importorskip("wildboottest.wildboottest")
    import statsmodels.api as sm

    res = fit_ancova(demo_panel[demo_panel["branch"] == "Baray"], "late_instalments", wave=2)
    assert (
        res.fit.boot_x.shape[1] >= 3
    )  # treatment, baseline outcome, strata: partialling is exercised
    ours = wild_bootstrap(res.fit, 0, draws=9999, weights="rademacher")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = wbt.wildboottest(
            sm.OLS(res.fit.boot_y, res.fit.boot_x), B=9999, cluster=res.fit.clusters, param="x1",
            weights_type="rademacher", seed=1, show=False,
        )  # fmt: skip
    assert ours.draws == 2**10
    assert ours.p_value == pytest.approx(float(ref["p-value"].iloc[0]), abs=2 / 2**10 + 1e-12)


def test_wild_interval_is_the_set_of_unrejected_nulls(demo_panel):
    branch = demo_panel[demo_panel["branch"] == "Baray"]
    res = fit_did(branch, "repay_difficulty", wave=2)
    wr = wild_bootstrap(res.fit, 0, draws=999, seed=3)
    lo, hi = wr.cis[0.95]
    assert lo < res.estimate < hi
    # testing H0: effect = r is testing effect = 0 on y - r * itt; inside the interval
    # the null is not rejected at 5%, outside it is
    d = did_sample(branch, "repay_difficulty", 2)
    for r, rejected in [
        (lo + 1e-4, False),
        (hi - 1e-4, False),
        (lo - 0.02, True),
        (hi + 0.02, True),
    ]:
        shifted = d.assign(y_r=d["repay_difficulty"] - r * d["itt"])
        fit_r = fit_twfe(
            shifted, y="y_r", treat="itt", unit="client_id", time="wave", cluster="village"
        )
        p = wild_bootstrap(fit_r.fit, 0, draws=999, seed=3).p_value
        assert (p <= 0.05) == rejected


def test_webb_weights_used_with_few_clusters(demo_panel):
    res = fit_did(demo_panel[demo_panel["branch"] == "Baray"], "repay_difficulty", wave=2)
    assert wild_bootstrap(res.fit, 0).weights == "webb"
    full = fit_did(demo_panel, "repay_difficulty", wave=2)
    assert wild_bootstrap(full.fit, 0).weights == "rademacher"


def test_webb_weights_are_the_six_point_distribution():
    """Webb (2014): +-sqrt(3/2), +-1, +-sqrt(1/2), each with probability 1/6."""
    from analysis.core import _draw_weights

    six = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    # one cluster, six draws asked: full enumeration gives each point exactly once, so the
    # moments of the distribution are the plain means of these six values
    support = _draw_weights("webb", 1, 6, np.random.default_rng(0))[:, 0]
    np.testing.assert_allclose(np.sort(support), six, rtol=0, atol=1e-15)
    assert support.mean() == pytest.approx(0.0, abs=1e-15)
    assert (support**2).mean() == pytest.approx(1.0, rel=1e-14)
    assert (support**3).mean() == pytest.approx(0.0, abs=1e-15)
    assert (support**4).mean() == pytest.approx(7 / 6, rel=1e-14)
    # random draws: only those six values, each about 1/6 of the time, same moments
    draws = _draw_weights("webb", 12, 50_000, np.random.default_rng(1)).ravel()
    values, counts = np.unique(np.round(draws, 12), return_counts=True)
    np.testing.assert_allclose(values, six, rtol=0, atol=1e-12)
    share = counts / draws.size
    se = np.sqrt(1 / 6 * 5 / 6 / draws.size)
    assert np.abs(share - 1 / 6).max() < 5 * se
    assert draws.mean() == pytest.approx(0, abs=5 * draws.std() / np.sqrt(draws.size))
    assert (draws**2).mean() == pytest.approx(1, abs=0.01)
    assert (draws**4).mean() == pytest.approx(7 / 6, abs=0.01)


def test_rademacher_weights_and_full_enumeration():
    from analysis.core import _draw_weights

    draws = _draw_weights("rademacher", 10, 100_000, np.random.default_rng(2))
    assert draws.shape == (2**10, 10)  # every sign pattern once
    assert len({tuple(r) for r in draws}) == 2**10
    assert set(np.unique(draws)) == {-1.0, 1.0}
    random = _draw_weights("rademacher", 14, 999, np.random.default_rng(2))
    assert random.shape == (999, 14)
    assert random.mean() == pytest.approx(0, abs=0.03)


@pytest.mark.parametrize(
    ("g", "draws", "kind", "n_draws"),
    [
        (8, 999, "rademacher", 2**8),  # 2^G <= draws: all sign patterns, exact
        (9, 999, "rademacher", 2**9),
        (10, 999, "webb", 999),  # 1024 > 999: Webb with few clusters
        (10, 1024, "rademacher", 2**10),
        (6, 999, "webb", 999),  # 64 patterns: too coarse a p-value, Webb instead
        (13, 999, "rademacher", 999),
    ],
)
def test_default_weights_enumerate_when_the_draws_cover_every_sign_pattern(g, draws, kind, n_draws):
    """README: full enumeration of the Rademacher draws when 2^G <= draws (and G >= 8);
    checked on a real fit with G clusters, through wild_bootstrap's default weights."""
    rng = np.random.default_rng(g)
    clusters = np.repeat(np.arange(g), 15)
    treat = (clusters % 2 == 0).astype(float)
    y = 0.2 * treat + rng.normal(size=clusters.size) + rng.normal(size=g)[clusters]
    from analysis.core import fit_linear

    fit = fit_linear(y, np.column_stack([treat, np.ones_like(y)]), ["d", "c"], clusters)
    wr = wild_bootstrap(fit, 0, draws=draws)
    assert (wr.weights, wr.draws) == (kind, n_draws)


def test_wild_bootstrap_is_seeded(demo_panel):
    res = fit_did(demo_panel, "insurance_any", wave=2)
    a = wild_bootstrap(res.fit, 0, seed=11)
    b = wild_bootstrap(res.fit, 0, seed=11)
    assert a.p_value == b.p_value
    assert a.cis == b.cis


def test_cluster_ci_levels_nest(demo_panel):
    res = fit_did(demo_panel, "debt_handling", wave=2)
    assert res.cis[0.99][0] < res.cis[0.95][0] < res.cis[0.90][0] < res.estimate
    assert res.cis[0.90][1] < res.cis[0.95][1] < res.cis[0.99][1]
    t, p, _ = cluster_ci(res.fit)
    assert p == pytest.approx(res.p_value)


# ------------------------------------------------------------- a second, differently shaped panel


@pytest.fixture(scope="module")
def other_panel() -> pd.DataFrame:
    """Unbalanced 5-period panel, staggered adoption, string unit ids, other column names."""
    rng = np.random.default_rng(42)
    rows = []
    for i in range(400):
        firm = f"firm-{i:04d}"
        region = f"R{i % 23}"
        start = rng.choice([2, 3, 4, 99])  # 99 = never treated
        alpha = rng.normal()
        for year in range(2015, 2020):
            if rng.random() < 0.12:
                continue  # unbalanced
            treated = int(year - 2015 >= start)
            x = rng.normal()
            rows.append(
                {
                    "firm": firm,
                    "yr": year,
                    "region": region,
                    "got_loan": treated,
                    "sales": 2
                    + alpha
                    + 0.1 * (year - 2015)
                    + 0.5 * treated
                    + 0.3 * x
                    + rng.normal(),
                    "profit": alpha + 0.2 * treated + rng.normal(scale=2),
                    "rainfall": x,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("outcome", ["sales", "profit"])
def test_twfe_on_other_panel_matches_pyfixest(other_panel, outcome):
    ours = fit_twfe(
        other_panel,
        y=outcome,
        treat="got_loan",
        unit="firm",
        time="yr",
        cluster="region",
        controls=["rainfall"],
    )
    d = other_panel.copy()
    d = d[d.groupby("firm")["yr"].transform("size") > 1]
    d = _codes(d, "firm", "region")
    ref = _pf(f"{outcome} ~ got_loan + rainfall | firm_code + yr", d, "region_code")
    assert ours.estimate == pytest.approx(ref.coef()["got_loan"], rel=RTOL)
    assert ours.std_error == pytest.approx(ref.se()["got_loan"], rel=RTOL)
    assert ours.n_clusters == 23


def test_twfe_matches_linearmodels_panelols_coefficients(other_panel):
    from linearmodels.panel import PanelOLS

    ours = fit_twfe(
        other_panel, y="sales", treat="got_loan", unit="firm", time="yr", cluster="region"
    )
    d = other_panel[other_panel.groupby("firm")["yr"].transform("size") > 1].set_index(
        ["firm", "yr"]
    )
    ref = PanelOLS(d["sales"], d[["got_loan"]], entity_effects=True, time_effects=True).fit()
    assert ours.estimate == pytest.approx(ref.params["got_loan"], rel=RTOL)


def test_demeaning_converges_on_unbalanced_panel(other_panel):
    from analysis.core import demean

    fes = [encode(other_panel["firm"]), encode(other_panel["yr"])]
    m = demean(other_panel[["sales"]].to_numpy(), fes)
    # after sweeping, group means within both fixed effects are zero
    for codes, n in fes:
        means = np.bincount(codes, weights=m[:, 0], minlength=n) / np.bincount(codes, minlength=n)
        assert np.abs(means).max() < 1e-9
