"""The processed demo panel: design facts, schema, determinism, provenance, real-data label."""

import json

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from analysis.demo import DEMO_LABEL, DEMO_MARKER, write_demo_exports
from analysis.diagnostics import icc_anova
from analysis.panel import build_panel, manifest_path, panel_content_hash, read_panel, write_panel


def test_baseline_has_1200_clients(demo_panel):
    base = demo_panel[demo_panel["wave"] == 0]
    assert base["client_id"].nunique() == 1200
    assert len(base) == 1200


def test_three_waves(demo_panel):
    assert sorted(demo_panel["wave"].unique()) == [0, 1, 2]


def test_two_provinces_four_branches_each(demo_panel):
    per_prov = demo_panel.groupby("province")["branch"].nunique()
    assert per_prov.to_dict() == {"Kompong Cham": 4, "Kompong Thom": 4}


def test_every_branch_has_both_arms(demo_panel):
    arms = demo_panel[demo_panel["wave"] == 0].groupby("branch")["arm"].nunique()
    assert len(arms) == 8
    assert (arms == 2).all()


def test_villages_nested_in_branches(demo_panel):
    assert (demo_panel.groupby("village")["branch"].nunique() == 1).all()


def test_arm_assigned_by_village(demo_panel):
    assert (demo_panel.groupby("village")["arm"].nunique() == 1).all()


def test_share_women_near_87_percent(demo_panel):
    share = demo_panel.loc[demo_panel["wave"] == 0, "female"].mean()
    assert 0.84 < share < 0.90


def test_attrition_rises_to_about_15_percent(demo_panel):
    n = demo_panel.groupby("wave")["client_id"].nunique()
    assert 0.04 < 1 - n[1] / n[0] < 0.12
    assert 0.11 < 1 - n[2] / n[0] < 0.19
    assert n[2] < n[1]


def test_imperfect_compliance(demo_panel):
    end = demo_panel[demo_panel["wave"] == 2]
    take = end.groupby("arm")["exposure"].mean()
    assert 0.75 < take[1] < 0.95  # most, not all, programme clients
    assert 0.0 < take[0] < 0.12  # a few comparison clients


def test_no_exposure_at_baseline(demo_panel):
    assert (demo_panel.loc[demo_panel["wave"] == 0, "exposure"] == 0).all()


def test_questionnaire_codes_become_missing(demo_panel):
    # 98/99 answers were planted at ~1.5%; they must be missing, never 98 or 99
    assert demo_panel["repay_difficulty"].isna().mean() > 0.005
    assert not demo_panel["late_instalments"].isin([98, 99]).any()


def test_one_row_per_client_and_wave(demo_panel):
    assert not demo_panel.duplicated(["client_id", "wave"]).any()


def test_required_columns(demo_panel, codebook):
    required = ["client_id", "wave", "province", "branch", "village", "arm", "exposure"]
    assert set(required + list(codebook.covariates) + list(codebook.outcomes)) <= set(demo_panel)


def test_covariates_repeat_baseline_value(demo_panel):
    assert (demo_panel.groupby("client_id")["age"].nunique(dropna=False) == 1).all()


def test_village_clustering_present(demo_panel):
    # a village component makes clustered inference matter: the ICC is clearly positive
    base = demo_panel[demo_panel["wave"] == 0]
    assert icc_anova(base["savings_security"], base["village"]) > 0.01
    assert icc_anova(base["late_instalments"], base["village"]) > 0.01


def test_same_seed_same_panel(tmp_path, demo_panel):
    write_demo_exports(tmp_path, seed=20100201)
    panel, _ = build_panel(tmp_path)
    assert panel_content_hash(panel) == panel_content_hash(demo_panel)


def test_other_seed_other_panel(tmp_path, demo_panel):
    write_demo_exports(tmp_path, seed=99)
    panel, _ = build_panel(tmp_path)
    assert panel_content_hash(panel) != panel_content_hash(demo_panel)


def test_manifest_contents(demo_built, codebook):
    panel, manifest = demo_built
    assert manifest["kind"] == "demo"
    assert manifest["label"] == DEMO_LABEL
    assert [i["wave"] for i in manifest["inputs"]] == [0, 1, 2]
    assert {i["format"] for i in manifest["inputs"]} == {"sav", "dta", "csv"}
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert manifest["codebook"]["sha256"] == codebook.sha256
    assert manifest["panel_sha256"] == panel_content_hash(panel)
    assert manifest["code_version"] and manifest["built_at"]


def test_write_and_read_roundtrip(tmp_path, demo_built):
    panel, manifest = demo_built
    out = write_panel(panel, manifest, tmp_path / "panel.parquet")
    back, m2 = read_panel(out)
    pd.testing.assert_frame_equal(back, panel)
    assert m2 == json.loads(manifest_path(out).read_text())
    assert "warning" not in m2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_real_exports_are_labelled_real(tmp_path):
    write_demo_exports(tmp_path, seed=3)
    (tmp_path / DEMO_MARKER).unlink()
    _, manifest = build_panel(tmp_path)
    assert manifest["kind"] == "real"
    assert "simulated" not in manifest["label"].lower()


@pytest.mark.parametrize("formats", [("xlsx", "csv", "sav"), ("dta", "xlsx", "xlsx")])
def test_any_mix_of_formats_gives_same_panel(tmp_path, formats, demo_panel):
    write_demo_exports(tmp_path, seed=20100201, formats=formats)
    panel, _ = build_panel(tmp_path)
    cols = [c for c in demo_panel.columns if c != "interview_date"]
    pd.testing.assert_frame_equal(panel[cols], demo_panel[cols])


def test_spss_export_has_value_labels_and_missing_codes(demo_raw):
    sav = next(demo_raw.glob("*baseline*.sav"))
    df, meta = pyreadstat.read_sav(str(sav))
    assert meta.variable_value_labels["q301_repdiff"][98.0] == "Don't know"
    assert meta.variable_value_labels["prov"][1.0] == "Kompong Cham"
    assert df["q301_repdiff"].isin([98, 99]).any()
    assert meta.column_names_to_labels["q301_repdiff"]


def test_stata_export_has_value_labels(demo_raw):
    dta = next(demo_raw.glob("*midline*.dta"))
    _, meta = pyreadstat.read_dta(str(dta))
    assert meta.variable_value_labels["m_repay_prob"][1.0] == "Yes"


def test_interview_dates_follow_the_waves(demo_panel):
    months = demo_panel.groupby("wave")["interview_date"].median().diff().dt.days / 30.4
    assert 13 < months[1] < 17
    assert 13 < months[2] < 17
    assert np.isfinite(months.iloc[1:]).all()
