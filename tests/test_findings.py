"""Plain-language findings: the wording follows the evidence and every number is the table's."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis.findings import display_numbers, finding_sentence, p_text

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")
FIXED = {"95", "1", "5", "1-5"}  # "95% CI", "1-5 scale"


def _rows(results: pd.DataFrame) -> list[dict]:
    view = results[
        (results["sample_type"].isin(["all", "province", "branch"]))
        & (results["inference"] == "cluster")
    ]
    return [r for _, r in view.iterrows()]


def test_every_number_in_a_sentence_is_the_tables(demo_results):
    checked = 0
    for row in _rows(demo_results):
        row = row.to_dict()
        text = finding_sentence(row)
        nums = display_numbers(row)
        allowed = {v.lstrip("< ") for v in nums.values()} | FIXED | {str(row.get("min_cell"))}
        found = [n.lstrip("+") for n in NUMBER.findall(text.replace("1-5", ""))]
        for n in found:
            assert n in allowed or n.lstrip("-") in allowed, (n, text, nums)
        if not row["suppressed"] and pd.notna(row["estimate"]):
            assert nums["estimate"] in text
            checked += 1
    assert checked > 500


def test_binary_effect_in_percentage_points(demo_results):
    row = demo_results[
        (demo_results["method"] == "did") & (demo_results["inference"] == "cluster")
        & (demo_results["sample_type"] == "all") & (demo_results["wave"] == 2)
        & (demo_results["outcome"] == "repay_difficulty")
    ].iloc[0].to_dict()  # fmt: skip
    text = finding_sentence(row)
    pp = round(abs(row["estimate"]) * 100)
    assert text.startswith(f"Clients in programme villages were {pp} percentage points (95% CI ")
    assert "less likely to report difficulty repaying an instalment" in text
    assert "robust to multiple testing" in text
    lo, hi = sorted((round(-row["ci95_high"] * 100), round(-row["ci95_low"] * 100)))
    assert f"(95% CI {lo} to {hi})" in text


def _row(**kw) -> dict:
    base = {"outcome": "insurance_any", "type": "binary", "better": "higher", "short": "Insurance take-up",
            "phrase": "hold insurance", "unit": "share of clients", "method": "did", "is_index": False,
            "family_label": "Asset building", "suppressed": False, "min_cell": 10}  # fmt: skip
    return base | kw


def test_null_names_the_minimum_detectable_effect():
    text = finding_sentence(
        _row(estimate=0.02, ci95_low=-0.03, ci95_high=0.07, p_value=0.4, q_value=0.6, mde=0.08)
    )
    assert text.startswith("No detectable effect on insurance take-up")
    assert "about 8 percentage points or larger" in text
    assert "likely" not in text


def test_unexpected_sign_is_called_unexpected():
    text = finding_sentence(
        _row(estimate=-0.10, ci95_low=-0.15, ci95_high=-0.05, p_value=0.001, q_value=0.01, mde=0.05)
    )
    assert text.startswith("Unexpectedly")
    assert "unwanted direction" in text


def test_significant_alone_but_not_after_adjustment_is_hedged():
    text = finding_sentence(
        _row(estimate=0.06, ci95_low=0.01, ci95_high=0.11, p_value=0.03, q_value=0.09, mde=0.05)
    )
    assert "not after adjusting" in text
    assert "robust" not in text


def test_small_q_with_large_p_is_not_called_robust():
    # sharpened q-values can fall below p; an interval crossing zero is never "robust"
    text = finding_sentence(
        _row(estimate=0.05, ci95_low=-0.01, ci95_high=0.11, p_value=0.08, q_value=0.04, mde=0.06)
    )
    assert text.startswith("No detectable effect")


def test_suppressed_cell():
    text = finding_sentence(_row(suppressed=True, estimate=float("nan")))
    assert (
        text
        == "Too few clients in this group to estimate the effect on insurance take-up (fewer than 10 in an arm)."
    )


def test_late_subject_names_compliers():
    text = finding_sentence(
        _row(
            method="late",
            estimate=0.1,
            ci95_low=0.05,
            ci95_high=0.15,
            p_value=0.001,
            q_value=0.002,
            mde=0.05,
        )
    )
    assert text.startswith(
        "Compliers (clients who received the financial-education topics because their village "
        "was in the programme) were 10 percentage points"
    )


def test_verdicts_agree_with_sentences(demo_results):
    rows = _rows(demo_results)
    assert {r["sample_type"] for r in rows} >= {"all", "province", "branch"}
    for row in rows:
        text = finding_sentence(row.to_dict())
        if row["verdict"] in ("improved", "worsened") and row["sample_type"] != "all":
            # a subgroup's verdict follows its own p, and the sentence says so
            assert f"significant in this group on its own ({p_text(row['p_value'])})" in text
            assert "robust" not in text
            assert text.startswith("Unexpectedly") == (row["verdict"] == "worsened")
        elif row["verdict"] == "improved":
            assert "robust to multiple testing" in text and not text.startswith("Unexpectedly")
        elif row["verdict"] == "worsened":
            assert text.startswith("Unexpectedly")
        elif row["verdict"] == "suppressed":
            assert text.startswith("Too few clients")
        else:
            assert "robust" not in text
            assert "significant in this group" not in text


@pytest.mark.parametrize(
    "outcome,needle",
    [
        ("late_instalments", "fewer late instalments"),
        ("savings_security", "(1-5 scale)"),
        ("index_repayment", "repayment behaviour index"),
    ],
)
def test_units_by_type(demo_results, outcome, needle):
    row = demo_results[
        (demo_results["method"] == "did") & (demo_results["inference"] == "cluster")
        & (demo_results["sample_type"] == "all") & (demo_results["wave"] == 2) & (demo_results["outcome"] == outcome)
    ].iloc[0]  # fmt: skip
    assert needle in finding_sentence(row.to_dict())


def test_subgroup_with_interval_excluding_zero_is_not_a_null():
    # Kompong Thom-like row: p <= 0.05 within the subgroup, q across its outcomes > 0.05
    row = _row(sample_type="province", estimate=-0.126, ci95_low=-0.238, ci95_high=-0.019,
               p_value=0.022, q_value=0.098, mde=0.09, better="lower")  # fmt: skip
    text = finding_sentence(row)
    assert not text.startswith("No detectable effect")
    assert "significant in this group on its own (p = 0.022)" in text


def test_p_text():
    assert p_text(0.0004) == "p < 0.001"
    assert p_text(0.0123) == "p = 0.012"


# ---------------------------------------------------------------- a study's own nouns


def _study(study_id: str):
    from analysis.study import load_study

    return load_study(study_id)


STUDY_WORDS = re.compile(r"client|village|branch|financial.education|AMK", re.I)


@pytest.mark.parametrize(
    ("method", "estimate", "p", "q", "start"),
    [
        ("post", 0.2, 0.001, 0.004, "Households in associations with consultant visits were 20 percentage points"),
        ("post", 0.2, 0.01, 0.2, "Households in associations with consultant visits were 20 percentage points"),
        ("post", -0.2, 0.001, 0.004, "Unexpectedly, households in associations with consultant visits were"),
        ("late", 0.2, 0.001, 0.004, "Compliers (households who were visited by the financial consultants because their association was in the programme)"),
        ("post", 0.02, 0.6, 0.9, "No detectable effect on insurance take-up"),
    ],
)  # fmt: skip
def test_proirri_findings_speak_of_households_and_associations(method, estimate, p, q, start):
    row = _row(
        method=method, estimate=estimate, ci95_low=estimate - 0.05, ci95_high=estimate + 0.05,
        p_value=p, q_value=q, mde=0.1, unit="share of households",
    )  # fmt: skip
    text = finding_sentence(row, study=_study("proirri"))
    assert text.startswith(start), text
    assert not STUDY_WORDS.search(text), text
    # the default study (no study given) keeps its own words
    amk = finding_sentence(row)
    if not amk.startswith("No detectable"):
        assert "client" in amk.lower()


def test_proirri_suppressed_cell_names_households():
    text = finding_sentence(_row(suppressed=True, min_cell=10), study=_study("proirri"))
    assert (
        text
        == "Too few households in this group to estimate the effect on insurance take-up (fewer than 10 in an arm)."
    )


def test_proirri_table_sentences_use_its_nouns():
    from analysis.paths import PROJECT_ROOT

    path = PROJECT_ROOT / "build" / "proirri" / "results.parquet"
    if not path.is_file():
        pytest.skip("PROIRRI's results are not built (make data)")
    table = pd.read_parquet(path)
    study = _study("proirri")
    said = [finding_sentence(r, study=study) for r in table.to_dict("records")]
    assert len(said) == len(table) and not any(STUDY_WORDS.search(t) for t in said)
    assert any(
        t.startswith("Households in associations with consultant visits") for t in said
    ) or all(t.startswith(("No detectable", "Too few", "The effect")) for t in said)


def test_likert_range_comes_from_the_unit():
    row = _row(type="likert", unit="points on a 0-10 scale", short="Trust in the consultant",
               estimate=0.8, ci95_low=0.3, ci95_high=1.3, p_value=0.001, q_value=0.004, mde=0.4)  # fmt: skip
    assert "(0-10 scale)" in finding_sentence(row)
    row["unit"] = "points"
    assert "(1-5 scale)" in finding_sentence(row)


def test_log_outcome_in_words_is_exact_percentage_change():
    """A log effect b reads as the proportional change exp(b) - 1, worked out here by hand:
    b = -0.35 is 29.5% lower (the 100*b shortcut would say 35%)."""
    row = {
        "outcome": "log_income", "type": "continuous", "better": "higher",
        "short": "Household income", "unit": "log points (x100 = approx. %)", "method": "did",
        "estimate": -0.35, "ci95_low": -0.50, "ci95_high": -0.20, "p_value": 0.001,
        "q_value": 0.002, "mde": 0.10, "sample_type": "all", "is_index": False,
    }  # fmt: skip
    text = finding_sentence(row)
    assert "about 30% lower household income" in text, text  # 2.718**-0.35 = 0.7047
    assert "(95% CI 18 to 39%)" in text, text  # 1 - e**-0.2 = 0.181, 1 - e**-0.5 = 0.393
    row.update(p_value=0.4, q_value=0.4)
    assert "detect effects of about 11% or larger" in finding_sentence(row)  # e**0.1 - 1 = 0.105
    assert "(log)" not in text and "log" not in text.lower()
