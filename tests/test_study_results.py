"""The results table for studies of other shapes: roles, post-only outcomes, weights.

The acceptance test is the PROIRRI paper: the results table of the shipped study (its
design has province strata, so the with-province-fixed-effects column of Table 2 and of
Table A13) must reproduce the published numbers to the printed digits.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.codebook import load_codebook
from analysis.panel import build_panel
from analysis.paths import PROJECT_ROOT
from analysis.results import build_diagnostics, build_results
from tests.test_study_shapes import LONG_CODEBOOK, edited

STUDY = PROJECT_ROOT / "data" / "studies" / "proirri"
# Table 2 with province fixed effects: (estimate, SE); Table A13 wild bootstrap p (Q4)
TABLE2_FE = {
    ("saved_cumul", 1): (0.033, 0.048),
    ("saved_cumul", 2): (0.053, 0.069),
    ("saved_cumul", 3): (0.073, 0.076),
    ("saved_cumul", 4): (0.205, 0.117),
    ("savings_cumul", 4): (654, 873),
}
A13_FE_Q4 = 0.099


@pytest.fixture(scope="module")
def proirri():
    cb = load_codebook(STUDY / "codebook.yaml")
    panel, _ = build_panel(STUDY, cb)
    table = build_results(panel, cb, draws=999, seed=20100201)
    return cb, panel, table


@pytest.mark.parametrize("key", sorted(TABLE2_FE))
def test_results_table_reproduces_table2_with_province_fe(proirri, key):
    _, _, table = proirri
    outcome, wave = key
    row = table[
        (table["outcome"] == outcome) & (table["wave"] == wave) & (table["sample_type"] == "all")
        & (table["inference"] == "cluster")
    ]  # fmt: skip
    assert len(row) == 1
    row = row.iloc[0]
    digits = 3 if outcome == "saved_cumul" else 0
    est, se = TABLE2_FE[key]
    assert round(row["estimate"], digits) == pytest.approx(est, abs=1e-9)
    assert round(row["std_error"], digits) == pytest.approx(se, abs=1e-9)
    assert row["method"] == "post" and row["n_obs"] == 3081 and row["n_clusters"] == 42
    assert row["sample"] == "All households"


def test_wild_bootstrap_p_within_monte_carlo_error_of_table_a13(proirri):
    _, _, table = proirri
    row = table[
        (table["outcome"] == "saved_cumul") & (table["wave"] == 4)
        & (table["sample_type"] == "all") & (table["inference"] == "wild")
    ].iloc[0]  # fmt: skip
    draws = int(row["boot_draws"])
    assert draws >= 999
    assert abs(row["p_value"] - A13_FE_Q4) <= 3 * np.sqrt(A13_FE_Q4 * (1 - A13_FE_Q4) / draws)


def test_no_post_programme_round_is_used_as_a_baseline(proirri):
    cb, _, table = proirri
    assert set(table["method"]) == {"post"}
    # every outcome only at the waves it was asked, never at the census
    for outcome, waves in table.groupby("outcome")["wave"]:
        if outcome in cb.outcomes:
            assert set(waves) == set(cb.outcome_waves(outcome)) - {0}


def test_breakdowns_and_indices_follow_the_codebook(proirri):
    _, panel, table = proirri
    assert set(table["sample_type"]) == {"all", "prov"}
    assert set(table.loc[table["sample_type"] == "prov", "sample"]) == {
        "Manica",
        "Sofala",
        "Zambezia",
    }
    idx = table[table["is_index"] & table["estimate"].notna()]
    assert len(idx) and np.allclose(idx["effect_std"], idx["estimate"])
    # without a baseline the comparison SD is the follow-up wave's (independent computation)
    row = table[(table["outcome"] == "saved_cumul") & (table["wave"] == 4)
                & (table["sample_type"] == "all")].iloc[0]  # fmt: skip
    comp = panel[(panel["wave"] == 4) & (panel["treatment"] == 0)]["saved_cumul"]
    assert row["comparison_sd"] == pytest.approx(comp.std())


def test_a_province_row_matches_its_own_regression(proirri):
    """Within one province the stratum drops out: plain OLS clustered by association."""
    _, panel, table = proirri
    rows = panel[(panel["wave"] == 3) & (panel["prov"] == "Sofala")]
    fit = smf.ols("saved_cumul ~ treatment", data=rows).fit(
        cov_type="cluster", cov_kwds={"groups": rows["associd"]}
    )
    row = table[(table["outcome"] == "saved_cumul") & (table["wave"] == 3)
                & (table["sample"] == "Sofala") & (table["inference"] == "cluster")].iloc[0]  # fmt: skip
    assert row["estimate"] == pytest.approx(fit.params["treatment"], rel=1e-9)
    assert row["std_error"] == pytest.approx(fit.bse["treatment"], rel=1e-9)


def test_diagnostics_say_what_does_not_apply(proirri):
    cb, panel, _ = proirri
    diag = build_diagnostics(panel, cb, min_cell=10)
    assert "no take-up" in diag["unavailable"]["sample_flow"]
    assert "baseline" in diag["unavailable"]["design_mde"]
    assert diag["balance"] and diag["means_by_arm"]
    assert "means_by_arm" not in diag["unavailable"]


# A made-up study: the long-file three-arm study of test_study_shapes (named arms, an outcome
# asked at endline only on a 0-10 scale) with sampling weights, an age control and a breakdown
# with labelled levels.  Derived from that codebook so that a change there reaches this one.
CODEBOOK = edited(
    LONG_CODEBOOK,
    ("  breakdowns: [female]\n", "  breakdowns: [woman]\n  weights: w\n  covariates: [age]\n"),
    ("2: training and visits}", "2: visits}"),
    (
        "  female: {label: Woman, raw: {0: sex}, values: {1: 0, 2: 1}, baseline_only: true}\n",
        "  woman: {label: Woman, raw: {0: sex}, values: {1: 0, 2: 1}, baseline_only: true,"
        " dimension: sex, levels: {1: Women, 0: Men}}\n"
        "  age: {label: Age, raw: {0: age}, baseline_only: true}\n"
        "  w: {label: Sampling weight, raw: {0: w}, baseline_only: true}\n",
    ),
)


def _made_up(tmp_path, arms=2):
    rng = np.random.default_rng(7)
    rows = []
    for v in range(30):
        grp = v % arms
        for i in range(12):
            pid = v * 100 + i
            sex, age, w = rng.integers(1, 3), rng.integers(20, 60), rng.uniform(0.5, 2)
            base = rng.random() < 0.4
            rows.append({"round": "BL", "pid": pid, "vill": v, "grp": grp, "sex": sex, "age": age,
                         "w": w, "saves": int(base), "conf": None})  # fmt: skip
            if rng.random() < 0.9:
                conf = int(np.clip(np.round(5 + 1.5 * (grp > 0) + rng.normal(0, 2)), 0, 10))
                rows.append({"round": "EL", "pid": pid, "vill": v, "grp": grp, "sex": None,
                             "age": None, "w": None, "saves": int(rng.random() < 0.4 + 0.2 * (grp > 0)),
                             "conf": conf})  # fmt: skip
    raw = tmp_path / "raw"
    raw.mkdir()
    pd.DataFrame(rows).to_csv(raw / "survey.csv", index=False)
    cbpath = tmp_path / "codebook.yaml"
    cbpath.write_text(textwrap.dedent(CODEBOOK))
    cb = load_codebook(cbpath)
    panel, _ = build_panel(raw, cb)
    return cb, panel


def test_made_up_study_gets_the_estimators_its_outcomes_allow(tmp_path):
    cb, panel = _made_up(tmp_path)
    table = build_results(panel, cb, draws=99, seed=1)
    by_outcome = table.groupby("outcome")["method"].agg(set).to_dict()
    assert by_outcome["confidence"] == {"post"}  # asked at endline only
    assert by_outcome["saves"] == {"did", "ancova", "ipw_did"}  # no take-up recorded: no LATE
    assert table["estimate"].notna().all() and (table["note"] == "").all()
    assert set(table.loc[table["sample_type"] == "sex", "sample"]) == {"Women", "Men"}
    assert (table["sample"] == "All clients").any()  # no study.yaml beside it: the default noun
    # the weighted post-only row against statsmodels WLS written out here
    end = panel[(panel["wave"] == 1)].dropna(subset=["confidence"])
    end = end.assign(treat=(end["group"] == "training").astype(float))
    fit = smf.wls("confidence ~ treat", data=end, weights=end["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": end["village"]}
    )
    row = table[(table["outcome"] == "confidence") & (table["sample_type"] == "all")
                & (table["inference"] == "cluster")].iloc[0]  # fmt: skip
    assert row["estimate"] == pytest.approx(fit.params["treat"], rel=1e-9)
    assert row["std_error"] == pytest.approx(fit.bse["treat"], rel=1e-9)


@pytest.fixture(scope="module")
def three_arms(tmp_path_factory):
    cb, panel = _made_up(tmp_path_factory.mktemp("three"), arms=3)
    return cb, panel, build_results(panel, cb, draws=99, seed=1)


@pytest.mark.parametrize("arm", ["training", "visits"])
def test_a_three_arm_study_compares_each_arm_with_the_comparison(three_arms, arm):
    """Each programme arm against the comparison arm, on those two arms' units, checked against
    weighted regressions written out here (statsmodels WLS, cluster-robust CR1 by village)."""
    cb, panel, table = three_arms
    assert list(dict.fromkeys(table["arm"])) == ["training", "visits"]  # the codebook's order
    rows = table[(table["arm"] == arm) & (table["sample_type"] == "all")
                 & (table["inference"] == "cluster")].set_index(["outcome", "method"])  # fmt: skip
    assert set(rows["contrast"]) == {f"{arm} vs control"}
    two = panel[panel["group"].isin([arm, "control"])]
    # post-only (confidence is asked at endline only): WLS of the outcome on the arm dummy
    end = two[two["wave"] == 1].dropna(subset=["confidence"])
    end = end.assign(treat=(end["group"] == arm).astype(float))
    post = smf.wls("confidence ~ treat", data=end, weights=end["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": end["village"]}
    )
    row = rows.loc[("confidence", "post")]
    assert row["estimate"] == pytest.approx(post.params["treat"], rel=1e-9)
    assert row["std_error"] == pytest.approx(post.bse["treat"], rel=1e-9)
    assert row["n_clusters"] == 20 and row["n_programme"] == end["treat"].sum()
    # ANCOVA of saves (asked at both waves): WLS of the endline on the arm and the baseline
    wide = two.pivot(index="pid", columns="wave", values="saves").dropna()
    units = two.drop_duplicates("pid").set_index("pid").loc[wide.index]
    d = pd.DataFrame({"y0": wide[0], "y1": wide[1], "dy": wide[1] - wide[0], "w": units["w"],
                      "treat": (units["group"] == arm).astype(float),
                      "village": units["village"]})  # fmt: skip
    anc = smf.wls("y1 ~ treat + y0", data=d, weights=d["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": d["village"]}
    )
    assert rows.loc[("saves", "ancova"), "estimate"] == pytest.approx(anc.params["treat"], rel=1e-9)
    assert rows.loc[("saves", "ancova"), "std_error"] == pytest.approx(anc.bse["treat"], rel=1e-9)
    fd = smf.wls("dy ~ treat", data=d, weights=d["w"]).fit()
    assert rows.loc[("saves", "did"), "estimate"] == pytest.approx(fd.params["treat"], rel=1e-9)


def test_three_arm_contrasts_are_their_own_testing_families(three_arms):
    from analysis.multiple import sharpened_qvalues

    _, _, table = three_arms
    assert table.groupby("arm").size().nunique() == 1  # the same cells for both contrasts
    for _, cell in table[~table["is_index"]].groupby(["arm", "method", "inference", "sample"]):
        expected = sharpened_qvalues(cell["p_value"].to_numpy())
        assert cell["q_value"].to_numpy() == pytest.approx(expected, nan_ok=True)
    # the two contrasts' estimates differ (training and visits are different arms)
    post = table[(table["method"] == "post") & (table["sample_type"] == "all")
                 & (table["inference"] == "cluster")].set_index("arm")["estimate"]  # fmt: skip
    assert post["training"] != post["visits"]


def test_three_arm_diagnostics_per_arm(three_arms):
    cb, panel, _ = three_arms
    diag = build_diagnostics(panel, cb)
    assert list(diag["by_arm"]) == ["training", "visits"] and diag["arm"] == "training"
    assert diag["by_arm"]["training"]["balance"] == diag["balance"]
    assert diag["by_arm"]["visits"]["balance"] != diag["balance"]


def test_a_cell_without_variance_gets_a_reason_not_a_crash(tmp_path):
    """No variance among men at endline (one breakdown level): those rows say why, the rest of
    the build goes on (a ZeroDivisionError here once killed the whole build)."""
    cb, panel = _made_up(tmp_path)
    panel = panel.copy()
    panel.loc[(panel["woman"] == 0) & (panel["wave"] == 1), "confidence"] = 5.0
    table = build_results(panel, cb, draws=99, seed=1)
    conf = table[table["outcome"] == "confidence"]
    men = conf[conf["sample"] == "Men"]
    assert len(men) and men["estimate"].isna().all()
    assert men["note"].str.startswith("not estimable:").all()
    assert conf.loc[conf["sample"].isin(["Women", "All clients"]), "estimate"].notna().all()


def test_a_family_index_that_cannot_be_formed_gets_a_reason(tmp_path):
    cb, panel = _made_up(tmp_path)
    text = (tmp_path / "codebook.yaml").read_text()
    text = text.replace(
        "families:\n  saving: {label: Saving}\n",
        "families:\n  saving: {label: Saving}\n  other: {label: Other}\n",
    ).replace(
        "  confidence:\n    label: Confidence (0-10)\n    family: saving",
        "  confidence:\n    label: Confidence (0-10)\n    family: other",
    )
    (tmp_path / "codebook.yaml").write_text(text)
    cb = load_codebook(tmp_path / "codebook.yaml")
    panel = panel.copy()
    panel.loc[panel["wave"] == 1, "confidence"] = 5.0  # constant for everyone: no index
    table = build_results(panel, cb, draws=99, seed=1)
    idx = table[table["outcome"] == "index_other"]
    assert len(idx) and idx["estimate"].isna().all()
    assert idx["note"].str.contains("family index has no variance").all()
    assert table.loc[table["outcome"] == "saves", "estimate"].notna().any()


def test_sampling_weights_weight_did_and_ancova(tmp_path):
    """DiD and ANCOVA of an outcome with a baseline, weighted by the declared sampling weights,
    against regressions written out here (statsmodels WLS)."""
    cb, panel = _made_up(tmp_path)
    table = build_results(panel, cb, draws=99, seed=1)

    def row(method):
        return table[(table["outcome"] == "saves") & (table["method"] == method)
                     & (table["sample_type"] == "all") & (table["inference"] == "cluster")].iloc[0]  # fmt: skip

    wide = panel.pivot(index="pid", columns="wave", values="saves").dropna()
    units = panel.drop_duplicates("pid").set_index("pid").loc[wide.index]
    d = pd.DataFrame({"y0": wide[0], "y1": wide[1], "dy": wide[1] - wide[0], "w": units["w"],
                      "treat": (units["group"] == "training").astype(float),
                      "village": units["village"]})  # fmt: skip
    # two periods, unit fixed effects, weights constant within unit: WLS of the first difference
    fd = smf.wls("dy ~ treat", data=d, weights=d["w"]).fit()
    assert row("did")["estimate"] == pytest.approx(fd.params["treat"], rel=1e-9)
    unweighted = smf.ols("dy ~ treat", data=d).fit()
    assert abs(row("did")["estimate"] - unweighted.params["treat"]) > 1e-4  # weights matter here
    anc = smf.wls("y1 ~ treat + y0", data=d, weights=d["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": d["village"]}
    )
    assert row("ancova")["estimate"] == pytest.approx(anc.params["treat"], rel=1e-9)
    assert row("ancova")["std_error"] == pytest.approx(anc.bse["treat"], rel=1e-9)


def test_weighted_late_against_linearmodels():
    """The LATE with sampling weights is weighted 2SLS: two periods with unit and wave fixed
    effects are the first difference, so it equals linearmodels' IV2SLS of the change in the
    outcome on the change in take-up, instrumented by assignment, with the same weights."""
    from linearmodels.iv import IV2SLS

    from analysis.estimators import fit_late

    rng = np.random.default_rng(3)
    units = pd.DataFrame({"client_id": range(600)})
    units["village"] = units["client_id"] // 20
    units["arm"] = (units["village"] % 2).astype(int)
    units["w"] = rng.uniform(0.3, 3, len(units))
    took = (rng.random(len(units)) < 0.15 + 0.6 * units["arm"]).astype(float)
    gain = 0.5 + units["w"]  # the effect grows with the weight: weighting changes the estimate
    panel = pd.concat(
        [
            units.assign(wave=0, exposure=0.0, y=rng.normal(size=len(units))),
            units.assign(wave=2, exposure=took, y=rng.normal(size=len(units)) + gain * took),
        ],
        ignore_index=True,
    )
    res = fit_late(panel, "y", wave=2, weights="w")
    wide = panel.pivot(index="client_id", columns="wave", values=["y", "exposure"])
    d = units.set_index("client_id").assign(
        dy=wide[("y", 2)] - wide[("y", 0)], dx=wide[("exposure", 2)] - wide[("exposure", 0)],
        const=1.0,
    )  # fmt: skip
    iv = IV2SLS(d["dy"], d[["const"]], d["dx"], d["arm"], weights=d["w"]).fit(
        cov_type="clustered", clusters=d["village"], debiased=True
    )
    assert res.estimate == pytest.approx(iv.params["dx"], rel=1e-9)
    # the same CR1 errors up to the (N-1)/(N-K) factor of two rows per unit vs one (7e-7 here)
    assert res.std_error == pytest.approx(iv.std_errors["dx"], rel=1e-5)
    unweighted = fit_late(panel, "y", wave=2)
    assert abs(unweighted.estimate - res.estimate) > 0.05


def test_weights_reach_means_indices_and_balance(tmp_path):
    """Declared sampling weights weight the comparison means and SDs, the family index's
    standardisation and the balance table; each checked by a weighted mean written out here."""
    cb, panel = _made_up(tmp_path)
    table = build_results(panel, cb, draws=99, seed=1)
    diag = build_diagnostics(panel, cb)
    end_c = panel[(panel["wave"] == 1) & (panel["group"] == "control")].dropna(
        subset=["confidence"]
    )
    row = table[(table["outcome"] == "confidence") & (table["sample_type"] == "all")].iloc[0]
    assert row["comparison_mean"] == pytest.approx(
        np.average(end_c["confidence"], weights=end_c["w"])
    )
    assert abs(row["comparison_mean"] - end_c["confidence"].mean()) > 1e-3
    # the comparison SD: weights scaled to the count, ddof 1 (equal weights: the plain SD)
    w = end_c["w"] * len(end_c) / end_c["w"].sum()
    m = np.average(end_c["confidence"], weights=w)
    sd = np.sqrt((w * (end_c["confidence"] - m) ** 2).sum() / (len(end_c) - 1))
    assert row["comparison_sd"] == pytest.approx(sd, rel=1e-9)
    # the family index: the comparison group's weighted baseline mean of the index is 0
    from analysis.multiple import add_family_indices
    from analysis.results import analysis_frame

    frame = add_family_indices(analysis_frame(panel, cb), cb, weights="w")
    base_c = frame[(frame["wave"] == 0) & (frame["arm"] == 0)].dropna(subset=["index_saving"])
    assert np.average(base_c["index_saving"], weights=base_c["w"]) == pytest.approx(0, abs=1e-12)
    assert abs(base_c["index_saving"].mean()) > 1e-4  # (unweighted it is not)
    # balance: weighted means by arm at baseline
    bal = pd.DataFrame(diag["balance"]).set_index("variable")
    base = panel[panel["wave"] == 0]
    prog = base[base["group"] == "training"]
    assert bal.loc["Age", "mean_programme"] == pytest.approx(
        np.average(prog["age"], weights=prog["w"])
    )
    assert diag["balance_joint"]["weights"] == "w"
    assert diag["weights"] == {"column": "w", "label": "Sampling weight"}


def test_post_only_heterogeneity_against_a_statsmodels_wald_test(tmp_path):
    """Post-only rows get the heterogeneity test: the follow-up outcome on arm x level for each
    level with level fixed effects, weighted, clustered; Wald test that the level effects are
    equal, F with G-1 denominator df (statsmodels written out here)."""
    cb, panel = _made_up(tmp_path)
    table = build_results(panel, cb, draws=99, seed=1)
    rows = table[(table["outcome"] == "confidence") & (table["sample_type"] == "sex")]
    assert len(rows) and rows["heterogeneity_p"].notna().all()
    end = panel[panel["wave"] == 1].dropna(subset=["confidence", "woman"]).copy()
    treat = (end["group"] == "training").astype(float)
    end["t_men"], end["t_women"] = treat * (end["woman"] == 0), treat * (end["woman"] == 1)
    fit = smf.wls("confidence ~ t_men + t_women + C(woman)", data=end, weights=end["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": end["village"]}, use_t=True
    )
    g = end["village"].nunique()
    wald = fit.wald_test("t_men = t_women", use_f=True, scalar=True)
    assert wald.df_denom == g - 1
    assert rows["heterogeneity_p"].iloc[0] == pytest.approx(float(wald.pvalue), rel=1e-6)


def test_a_designed_subsample_is_not_attrition(proirri):
    """PROIRRI's endline asked a sample of the households: the 1,297 not interviewed there are
    not 'lost' (42% once); the quarters, asked of everyone, keep their attrition rows."""
    cb, panel, _ = proirri
    assert cb.subsample(5) and cb.subsample(4) is None
    diag = build_diagnostics(panel, cb)
    att = pd.DataFrame(diag["attrition"])
    end = att[att["wave"] == 5]
    assert end["attrition_rate"].isna().all() and end["differential_p"].isna().all()
    assert (end["subsample"] == cb.subsample(5)).all()
    assert end["n_interviewed"].sum() == (panel["wave"] == 5).sum() == 1784
    assert (att.loc[att["wave"] == 4, "attrition_rate"] == 0).all()


def test_subsample_must_say_who_was_sampled(tmp_path):
    from analysis.codebook import CodebookError

    text = textwrap.dedent(CODEBOOK).replace(
        "1: {label: Endline, value: EL}", "1: {label: Endline, value: EL, subsample: [1, 2]}"
    )
    (tmp_path / "codebook.yaml").write_text(text)
    with pytest.raises(CodebookError, match=r"waves.1.subsample: say who was sampled"):
        load_codebook(tmp_path / "codebook.yaml")


def test_balance_leaves_out_outcomes_not_asked_at_baseline(proirri):
    cb, panel, _ = proirri
    bal = pd.DataFrame(build_diagnostics(panel, cb)["balance"])
    assert set(bal["kind"]) == {"characteristic"}  # PROIRRI measured no outcome before
    assert bal["mean_programme"].notna().all()


def test_an_index_without_baseline_says_which_sds(proirri):
    _, _, table = proirri
    units = set(table.loc[table["is_index"], "unit"])
    assert units == {"comparison-group SDs at that wave"}
