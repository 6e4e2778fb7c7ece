"""Codebooks of other shapes: design roles, optional baseline, long and wide exports.

Each study here is made up in the test, with a shape the demo does not have, and the
expected panel is written out by hand.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from analysis.codebook import CodebookError, load_codebook
from analysis.panel import PanelBuildError, build_panel

FAMILIES = "families:\n  saving: {label: Saving}\n"

# A post-only cluster trial in one wide file: a census before the programme (covariates only),
# two quarterly rounds and an endline asked of a sub-sample; no interview date, no take-up,
# associations and provinces with no code list.
WIDE_CODEBOOK = (
    """
input: {layout: wide, file_pattern: "*.csv"}
waves:
  0: {label: Census, baseline: true}
  1: {label: Quarter 1}
  2: {label: Quarter 2}
  3: {label: Endline, present_if: in_endline}
roles:
  unit: hhid
  cluster: assoc
  strata: [prov]
  breakdowns: [prov]
  arm: treatment
  comparison: 0
  weights: pweight
design:
  hhid: {label: Household, raw: hhid, kind: id}
  assoc: {label: Association, raw: associd, kind: code, missing_codes: []}
  prov: {label: Province, raw: prov, kind: code, missing_codes: []}
  treatment: {label: Follow-up visits, raw: treatment, values: {0: 0, 1: 1}, missing_codes: []}
covariates:
  hhsize: {label: Household size, raw: {0: bl_hhsize}, baseline_only: true}
  pweight: {label: Sampling weight, raw: {0: pweight}, baseline_only: true}
outcomes:
  saved:
    label: Saved by this quarter
    family: saving
    type: binary
    unit: share of households
    better: higher
    raw: {1: q1_saved, 2: q2_saved}
  satisfied:
    label: Satisfaction with savings (0-10)
    family: saving
    type: likert
    scale: [0, 10]
    unit: points on a 0-10 scale
    better: higher
    raw: {3: el_satisfied}
"""
    + FAMILIES
)


def _wide_file(folder):
    df = pd.DataFrame(
        {
            "hhid": [101, 102, 103, 104, 105, 106],
            "associd": [7, 7, 8, 8, 9, 9],
            "prov": [1, 1, 1, 1, 2, 2],
            "treatment": [1, 1, 0, 0, 1, 1],
            "bl_hhsize": [4, 5, 6, 3, 7, 2],
            "pweight": [1.0, 1.5, 2.0, 1.0, 0.5, 1.0],
            "q1_saved": [1, 0, 0, 0, 1, 1],
            "q2_saved": [1, 1, 0, 1, 1, 0],
            "in_endline": [1, 0, 1, 1, 0, 1],
            "el_satisfied": [10, None, 0, 7, None, 3],
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "households.csv", index=False)
    return df


def edited(text: str, *changes: tuple[str, str]) -> str:
    """``text`` with each ``(old, new)`` applied, where ``old`` must stand exactly once: a codebook
    derived from another fails here, not silently, when the one it derives from changes."""
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} stands {text.count(old)} times in the codebook"
        text = text.replace(old, new)
    return text


def _codebook(tmp_path, text, name="codebook.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_codebook(path)


def test_wide_post_only_study_builds(tmp_path):
    cb = _codebook(tmp_path, WIDE_CODEBOOK)
    assert cb.baseline_wave == 0
    assert not cb.has_baseline("saved") and cb.outcome_waves("saved") == [1, 2]
    raw = _wide_file(tmp_path / "raw")
    panel, manifest = build_panel(tmp_path / "raw", cb)
    # 6 households in the census and both quarters, 4 at endline
    assert panel.groupby("wave").size().to_dict() == {0: 6, 1: 6, 2: 6, 3: 4}
    assert list(panel.columns[:6]) == ["hhid", "wave", "assoc", "prov", "treatment", "hhsize"]
    assert "interview_date" not in panel and "exposure" not in panel
    q1 = panel[panel["wave"] == 1].set_index("hhid")["saved"]
    assert q1.to_dict() == {
        str(h): float(v) for h, v in zip(raw["hhid"], raw["q1_saved"], strict=True)
    }
    assert panel.loc[panel["wave"] == 0, "saved"].isna().all()  # not asked in the census
    end = panel[panel["wave"] == 3].set_index("hhid")
    assert sorted(end.index) == ["101", "103", "104", "106"]
    assert end["satisfied"].to_dict() == {"101": 10.0, "103": 0.0, "104": 7.0, "106": 3.0}
    # baseline-only covariates repeat on every row of the household
    assert (panel[panel["hhid"] == "105"]["hhsize"] == 7).all()
    assert panel["assoc"].nunique() == 3 and panel["treatment"].dtype == "int64"
    assert manifest["roles"]["unit"] == "hhid" and manifest["baseline_wave"] == 0
    assert manifest["n_clients_baseline"] == 6


def test_wide_study_reports_changed_assignment_by_row(tmp_path):
    cb = _codebook(
        tmp_path,
        WIDE_CODEBOOK.replace(
            "treatment: {label: Follow-up visits, raw: treatment,",
            "treatment: {label: Follow-up visits, raw: {0: treatment, 1: treatment, 2: t2, 3: treatment},",
        ),
    )
    raw = _wide_file(tmp_path / "raw")
    raw["t2"] = raw["treatment"]
    raw.loc[2, "t2"] = 1  # household 103 moves arm in quarter 2
    raw.to_csv(tmp_path / "raw" / "households.csv", index=False)
    with pytest.raises(PanelBuildError) as err:
        build_panel(tmp_path / "raw", cb)
    text = str(err.value)
    assert "row 3" in text and "'t2'" in text and "must stay constant" in text


# One long file, three named arms, an outcome asked at endline only, a 0-10 scale.
LONG_CODEBOOK = (
    """
input: {layout: long, file_pattern: "survey*", wave_column: round}
waves:
  0: {label: Baseline, value: BL, baseline: true}
  1: {label: Endline, value: EL}
roles:
  unit: pid
  cluster: village
  arm: group
  comparison: control
  breakdowns: [female]
design:
  pid: {label: Person, raw: pid, kind: id}
  village: {label: Village, raw: vill, kind: code, missing_codes: []}
  group:
    label: Arm
    raw: grp
    values: {0: control, 1: training, 2: training and visits}
    missing_codes: []
covariates:
  female: {label: Woman, raw: {0: sex}, values: {1: 0, 2: 1}, baseline_only: true}
outcomes:
  saves:
    label: Saves regularly
    family: saving
    type: binary
    unit: share
    better: higher
    raw: saves
  confidence:
    label: Confidence (0-10)
    family: saving
    type: likert
    scale: [0, 10]
    unit: points on a 0-10 scale
    better: higher
    raw: {1: conf}
"""
    + FAMILIES
)


def _long_file(folder):
    rows = []
    for pid, vill, grp, sex in [
        (1, 1, 0, 2),
        (2, 1, 0, 1),
        (3, 2, 1, 2),
        (4, 3, 2, 2),
        (5, 3, 2, 1),
    ]:
        rows.append(
            {
                "round": "BL",
                "pid": pid,
                "vill": vill,
                "grp": grp,
                "sex": sex,
                "saves": pid % 2,
                "conf": None,
            }
        )
        if pid != 2:  # person 2 left the study
            rows.append(
                {
                    "round": "EL",
                    "pid": pid,
                    "vill": vill,
                    "grp": grp,
                    "sex": None,
                    "saves": 1,
                    "conf": pid * 2,
                }
            )
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "survey_all_rounds.csv", index=False)
    return rows


def test_long_three_arm_study_builds(tmp_path):
    cb = _codebook(tmp_path, LONG_CODEBOOK)
    _long_file(tmp_path / "raw")
    panel, _ = build_panel(tmp_path / "raw", cb)
    assert panel.groupby("wave").size().to_dict() == {0: 5, 1: 4}
    assert set(panel["group"]) == {"control", "training", "training and visits"}
    assert cb.roles.comparison == "control"
    end = panel[panel["wave"] == 1].set_index("pid")
    assert end["confidence"].to_dict() == {"1": 2.0, "3": 6.0, "4": 8.0, "5": 10.0}
    assert panel.loc[panel["wave"] == 0, "confidence"].isna().all()
    assert end["female"].to_dict() == {"1": 1.0, "3": 1.0, "4": 1.0, "5": 0.0}


def test_long_layout_rows_are_the_files_rows(tmp_path):
    cb = _codebook(tmp_path, LONG_CODEBOOK)
    rows = _long_file(tmp_path / "raw")
    df = pd.DataFrame(rows)
    df["saves"] = df["saves"].astype(object)
    df.loc[4, "saves"] = "x"  # row 5 of the file, the 3rd endline row: not a number
    df.to_csv(tmp_path / "raw" / "survey_all_rounds.csv", index=False)
    with pytest.raises(PanelBuildError) as err:
        build_panel(tmp_path / "raw", cb)
    assert "row 5, column 'saves': 'x' is not a number" in str(err.value)
    df.loc[4, "saves"] = 1
    df.loc[6, "conf"] = 11  # row 7: an endline answer off the 0-10 scale
    df.to_csv(tmp_path / "raw" / "survey_all_rounds.csv", index=False)
    with pytest.raises(PanelBuildError) as err:
        build_panel(tmp_path / "raw", cb)
    assert "row 7" in str(err.value) and "confidence" in str(err.value)


def test_codebook_without_interview_date_or_code_list_builds(tmp_path, codebook, demo_raw):
    """Two of the tracebacks a real study met: no interview date, an un-enumerated code list."""
    text = codebook.text
    start = text.index("  interview_date:\n")
    end = text.index("  province:\n")
    text = text[:start] + text[end:]
    text = text.replace("  interview_date: interview_date   # optional\n", "")
    text = text.replace("    values: {1: Kompong Cham, 2: Kompong Thom}\n", "    kind: code\n")
    cb = _codebook(tmp_path, text)
    assert cb.roles.interview_date is None
    panel, _ = build_panel(demo_raw, cb)
    assert "interview_date" not in panel
    assert set(panel["province"]) == {"1", "2"}


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ("  arm: treatment\n", "  arm: treatmnt\n"),
            "roles.arm: 'treatmnt' is not a codebook variable",
        ),
        (
            ("  comparison: 0\n", "  comparison: 2\n"),
            "roles.comparison: 2 is not one of the arm's values",
        ),
        (("  weights: pweight\n", "  weight: pweight\n"), "roles.weight is not a role"),
        (("  unit: hhid\n", ""), "roles.unit is required"),
        (
            (
                "hhid: {label: Household, raw: hhid, kind: id}",
                "hhid: {label: Household, raw: hhid}",
            ),
            "needs kind: id",
        ),
        (
            ("0: {label: Census, baseline: true}", "0: {label: Census, baseline: false}"),
            "baseline_only needs a raw source at the baseline wave",
        ),
        (
            ("1: {label: Quarter 1}", "1: {label: Quarter 1, baseline: true}"),
            "only one wave can be the baseline",
        ),
        (("layout: wide,", "layout: tall,"), "input.layout must be one of"),
        (("scale: [0, 10]", "scale: [10, 0]"), "scale must be [lowest, highest]"),
    ],
)
def test_bad_roles_and_waves_are_named(tmp_path, change, message):
    with pytest.raises(CodebookError) as err:
        _codebook(tmp_path, edited(WIDE_CODEBOOK, change))
    assert message in str(err.value)


def test_long_layout_needs_its_wave_column(tmp_path):
    with pytest.raises(CodebookError, match="input.wave_column is needed"):
        _codebook(tmp_path, edited(LONG_CODEBOOK, (", wave_column: round", "")))
    cb = _codebook(tmp_path, edited(LONG_CODEBOOK, ("wave_column: round", "wave_column: rnd")))
    _long_file(tmp_path / "raw")
    with pytest.raises(PanelBuildError, match="'rnd': wave column not found"):
        build_panel(tmp_path / "raw", cb)


def test_wide_layout_needs_exactly_one_file(tmp_path):
    cb = _codebook(tmp_path, WIDE_CODEBOOK)
    _wide_file(tmp_path / "raw")
    (tmp_path / "raw" / "households_old.csv").write_text("hhid\n1\n")
    with pytest.raises(PanelBuildError, match="several files match"):
        build_panel(tmp_path / "raw", cb)


def test_demo_codebook_declares_its_roles(codebook):
    roles = codebook.roles
    assert (roles.unit, roles.cluster, roles.arm, roles.comparison) == (
        "client_id",
        "village",
        "arm",
        0,
    )
    assert roles.strata == ("branch",) and "female" in roles.breakdowns
    assert codebook.baseline_wave == 0
    assert all(codebook.has_baseline(o) for o in codebook.outcomes)
    assert np.isclose(codebook.outcomes["savings_security"].scale[1], 5)
