"""The results table: contract, consistency with its own inputs, caching, suppression."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.estimators import fit_did
from analysis.multiple import sharpened_qvalues
from analysis.panel import write_panel
from analysis.results import (
    build_results,
    diagnostics_path,
    empirical_bayes,
    results_manifest_path,
    write_results,
)

REQUIRED = [
    "estimate", "std_error", "ci90_low", "ci90_high", "ci95_low", "ci95_high", "ci99_low", "ci99_high",
    "p_value", "q_value", "n_obs", "n_clients", "n_clusters", "comparison_mean", "comparison_sd",
    "effect_std", "effect_pct", "mde", "suppressed", "outcome", "method", "inference", "sample_type",
    "sample", "wave",
]  # fmt: skip
KEY = ["outcome", "method", "inference", "sample_type", "sample", "wave"]


def _main(table, method="did", inference="cluster", wave=2, indices=False):
    sel = (
        (table["method"] == method)
        & (table["inference"] == inference)
        & (table["sample_type"] == "all")
        & (table["wave"] == wave)
        & (table["is_index"] == indices)
    )
    return table[sel].set_index("outcome")


def test_required_columns(demo_results):
    assert set(REQUIRED) <= set(demo_results.columns)


def test_one_row_per_key(demo_results):
    assert not demo_results.duplicated(KEY).any()


def test_row_count(demo_results, codebook):
    n_out = len(codebook.outcomes) + len(codebook.families)
    n_samples = 1 + 2 + 8 + 2
    per = 3 * 2 + 1  # did/ancova/ipw x cluster/wild, late x cluster
    assert len(demo_results) == n_out * n_samples * 2 * per


def test_estimate_equals_direct_fit(demo_results, demo_panel):
    row = _main(demo_results).loc["insurance_any"]
    direct = fit_did(demo_panel, "insurance_any", wave=2)
    assert row["estimate"] == pytest.approx(direct.estimate, rel=1e-12)
    assert row["std_error"] == pytest.approx(direct.std_error, rel=1e-12)
    assert row["ci95_low"] == pytest.approx(direct.cis[0.95][0], rel=1e-12)


def test_comparison_mean_and_sd(demo_results, demo_panel):
    row = _main(demo_results).loc["emergency_savings"]
    post_c = demo_panel[(demo_panel["wave"] == 2) & (demo_panel["arm"] == 0)]
    base_c = demo_panel[(demo_panel["wave"] == 0) & (demo_panel["arm"] == 0)]
    assert row["comparison_mean"] == pytest.approx(post_c["emergency_savings"].mean())
    assert row["comparison_sd"] == pytest.approx(base_c["emergency_savings"].std())
    assert row["effect_std"] == pytest.approx(row["estimate"] / row["comparison_sd"])
    assert row["effect_pct"] == pytest.approx(100 * row["estimate"] / row["comparison_mean"])


def test_mde_is_power_multiple_of_se(demo_results):
    from scipy import stats

    row = _main(demo_results).loc["savings_any"]
    mult = stats.t.ppf(0.975, row["df"]) + stats.t.ppf(0.8, row["df"])
    assert row["mde"] == pytest.approx(mult * row["std_error"])


def test_q_values_are_sharpened_within_the_group(demo_results):
    view = _main(demo_results, "ancova", "wild", 1)
    assert np.allclose(view["q_value"], sharpened_qvalues(view["p_value"].to_numpy()))
    fam = view[view["family"] == "debt_handling"]
    assert np.allclose(fam["q_value_family"], sharpened_qvalues(fam["p_value"].to_numpy()))


def test_wild_rows_record_the_bootstrap(demo_results):
    wild = demo_results[(demo_results["inference"] == "wild") & ~demo_results["suppressed"]]
    assert (wild["boot_draws"] == 199).all()
    assert set(wild["boot_weights"]) == {"rademacher", "webb"}
    branch = wild[wild["sample_type"] == "branch"]
    assert (branch["boot_weights"] == "webb").all()  # 10 villages per branch: few clusters


def test_iv_row_is_a_late_with_cluster_inference_only(demo_results):
    # two-sided non-compliance: the IV estimand is the effect on compliers (Imbens & Angrist 1994)
    assert set(demo_results["method"]) == {"did", "ancova", "ipw_did", "late"}
    assert set(demo_results.loc[demo_results["method"] == "late", "inference"]) == {"cluster"}


def test_planted_pattern_is_recovered(demo_results, demo_config):
    for method in ("did", "ancova", "ipw_did", "late"):
        view = _main(demo_results, method, "cluster", 2)
        for name in demo_config["expected_pattern"]["improved"]:
            assert view.loc[name, "verdict"] == "improved", (method, name)
        for name in demo_config["expected_pattern"]["null_or_unexpected"]:
            assert view.loc[name, "verdict"] != "improved", (method, name)


def test_repayment_index_is_the_largest_standardised_improvement(demo_results):
    idx = _main(demo_results, indices=True)
    assert idx["improvement"].idxmax() == "index_repayment"


def test_midline_effects_smaller_than_endline(demo_results, demo_config):
    improved = demo_config["expected_pattern"]["improved"]
    mid = _main(demo_results, wave=1).loc[improved, "improvement"]
    end = _main(demo_results, wave=2).loc[improved, "improvement"]
    assert (mid < end).mean() >= 0.7


def test_late_larger_than_itt_by_take_up(demo_results):
    itt = _main(demo_results, "did").loc["repay_difficulty", "estimate"]
    late = _main(demo_results, "late").loc["repay_difficulty", "estimate"]
    assert abs(late) > abs(itt)
    assert itt / late == pytest.approx(0.8, abs=0.1)  # first stage: ~85% vs ~6% take-up


def test_heterogeneity_p_shared_within_dimension(demo_results):
    rows = demo_results[
        (demo_results["method"] == "did") & (demo_results["sample_type"] == "branch")
        & (demo_results["outcome"] == "repay_difficulty") & (demo_results["wave"] == 2)
    ]  # fmt: skip
    assert rows["heterogeneity_p"].nunique() == 1
    assert 0 <= rows["heterogeneity_p"].iloc[0] <= 1


def test_branch_rows_are_partially_pooled(demo_results):
    rows = demo_results[
        (demo_results["method"] == "did") & (demo_results["inference"] == "cluster")
        & (demo_results["sample_type"] == "branch") & (demo_results["outcome"] == "late_instalments")
        & (demo_results["wave"] == 2)
    ]  # fmt: skip
    _, _, _, mu = empirical_bayes(rows["estimate"].to_numpy(), rows["std_error"].to_numpy())
    # every pooled estimate lies between its raw estimate and the common mean
    lo = np.minimum(rows["estimate"], mu) - 1e-12
    hi = np.maximum(rows["estimate"], mu) + 1e-12
    assert ((rows["eb_estimate"] >= lo) & (rows["eb_estimate"] <= hi)).all()
    assert rows["eb_estimate"].std() <= rows["estimate"].std()


def test_empirical_bayes_no_heterogeneity_pools_fully():
    est, se = np.array([0.1, 0.1, 0.1, 0.1]), np.array([0.05, 0.1, 0.2, 0.3])
    e, s, tau2, mu = empirical_bayes(est, se)
    assert tau2 == 0
    assert np.allclose(e, 0.1)


def test_empirical_bayes_large_heterogeneity_keeps_raw():
    est, se = np.array([-5.0, 0.0, 5.0, 10.0]), np.full(4, 0.01)
    e, _, _, _ = empirical_bayes(est, se)
    assert np.allclose(e, est, atol=1e-3)


def test_small_cells_are_suppressed_with_no_numbers(demo_panel):
    table = build_results(
        demo_panel, methods=("did",), sample_types=("branch",), min_cell=90, draws=99
    )
    assert table["suppressed"].all()
    assert table["estimate"].isna().all()
    assert table["n_programme"].isna().all()
    assert table["comparison_mean"].isna().all()
    assert (table["verdict"] == "suppressed").all()
    assert table["note"].str.contains("too few clients").all()


def test_results_cached_by_fingerprint(tmp_path, demo_built):
    panel, manifest = demo_built
    ppath = write_panel(panel, manifest, tmp_path / "panel.parquet")
    out = tmp_path / "results.parquet"
    small = dict(draws=49)
    _, rebuilt = write_results(ppath, out, **small)
    assert rebuilt
    m = json.loads(results_manifest_path(out).read_text())
    assert m["panel_sha256"] == manifest["panel_sha256"]
    assert m["data_kind"] == "demo"
    assert diagnostics_path(out).is_file()
    stamp = out.stat().st_mtime_ns
    _, rebuilt = write_results(ppath, out, **small)
    assert not rebuilt
    assert out.stat().st_mtime_ns == stamp
    # other settings -> rebuilt
    _, rebuilt = write_results(ppath, out, draws=49, min_cell=12)
    assert rebuilt
    # a corrupt manifest -> rebuilt, never trusted
    results_manifest_path(out).write_text("{not json")
    _, rebuilt = write_results(ppath, out, draws=49, min_cell=12)
    assert rebuilt
    assert pd.read_parquet(out)["min_cell"].eq(12).all()


def test_diagnostics_contents(demo_panel, codebook):
    from analysis.results import build_diagnostics

    d = build_diagnostics(demo_panel, codebook)
    assert d["balance_joint"]["joint_p"] > 0.01  # randomised: balanced
    assert {r["arm"] for r in d["attrition"]} == {"Programme", "Comparison"}
    assert len(d["design_mde"]) == 2 * len(codebook.outcomes)
    flows = pd.DataFrame(d["sample_flow"])
    assert flows.loc[flows["wave"] == 0, "n_clients"].sum() == 1200
    means = pd.DataFrame(d["means_by_arm"])
    assert not means.loc[means["suppressed"], "mean"].notna().any()
    row = means[
        (means["outcome"] == "insurance_any")
        & (means["sample_type"] == "all")
        & (means["wave"] == 2)
        & (means["arm"] == "Programme")
    ]
    direct = demo_panel[(demo_panel["wave"] == 2) & (demo_panel["arm"] == 1)][
        "insurance_any"
    ].mean()
    assert row["mean"].iloc[0] == pytest.approx(direct)


def _estimated(table):
    return table[~table["suppressed"] & table["estimate"].notna()]


def test_subgroup_interval_excluding_zero_is_never_no_effect(demo_results):
    sub = _estimated(demo_results)
    sub = sub[sub["sample_type"] != "all"]
    excl = (sub["ci95_low"] > 0) | (sub["ci95_high"] < 0)
    assert excl.sum() > 20
    bad = sub[excl & (sub["verdict"] == "no detectable effect")]
    assert bad.empty, bad[
        ["outcome", "method", "inference", "sample", "ci95_low", "ci95_high", "p_value"]
    ]


def test_subgroup_verdict_follows_its_own_p_and_sign(demo_results):
    sub = _estimated(demo_results)
    sub = sub[sub["sample_type"] != "all"]
    sig = sub["p_value"] <= 0.05
    expected = np.where(
        sig & (sub["improvement"] > 0),
        "improved",
        np.where(sig & (sub["improvement"] < 0), "worsened", "no detectable effect"),
    )
    assert (sub["verdict"].to_numpy() == expected).all()
    assert (sub["verdict_basis"] == "p").all()
    # the within-subgroup q does not decide: some subgroup rows have p <= 0.05 < q
    assert ((sub["p_value"] <= 0.05) & (sub["q_value"] > 0.05)).any()


def test_all_clients_verdict_needs_p_and_q(demo_results):
    main = _estimated(demo_results)
    main = main[main["sample_type"] == "all"]
    sig = (main["p_value"] <= 0.05) & (main["q_value"] <= 0.05)
    expected = np.where(
        sig & (main["improvement"] > 0),
        "improved",
        np.where(sig & (main["improvement"] < 0), "worsened", "no detectable effect"),
    )
    assert (main["verdict"].to_numpy() == expected).all()
    assert (main["verdict_basis"] == "p and q").all()


def test_index_effect_std_equals_estimate_in_every_row(demo_results):
    idx = _estimated(demo_results)
    idx = idx[idx["is_index"]]
    assert len(idx) > 100
    assert np.allclose(idx["effect_std"], idx["estimate"], rtol=0, atol=1e-12)
    assert (idx["comparison_sd"] == 1.0).all()


def test_index_comparison_baseline_sd_is_one_in_the_full_sample(demo_results, demo_panel, codebook):
    from analysis.multiple import add_family_indices

    data = add_family_indices(demo_panel, codebook)
    base_c = data[(data["wave"] == 0) & (data["arm"] == 0)]
    for family in codebook.families:
        col = f"index_{family}"
        assert base_c[col].std() == pytest.approx(1.0, rel=1e-12)
    # so the full-sample DiD estimate on an index is already in comparison baseline SDs
    row = _main(demo_results, indices=True).loc["index_repayment"]
    direct = fit_did(data, "index_repayment", wave=2)
    assert row["estimate"] == pytest.approx(direct.estimate, rel=1e-12)
    assert row["effect_std"] == pytest.approx(direct.estimate / base_c["index_repayment"].std())
