"""The codebook file: outcome names, families, metadata and its own error checking."""

import pytest

from analysis.codebook import CodebookError, load_codebook

EXPECTED = {
    "repay_difficulty": ("repayment", "binary", "lower"),
    "late_instalments": ("repayment", "count", "lower"),
    "insurance_any": ("asset_building", "binary", "higher"),
    "savings_any": ("asset_building", "binary", "higher"),
    "savings_security": ("financial_attitude", "likert", "higher"),
    "borrowing_attitude": ("financial_attitude", "likert", "higher"),
    "debt_handling": ("debt_handling", "binary", "higher"),
    "multiple_lenders": ("debt_handling", "binary", "lower"),
    "debt_service_ratio": ("debt_handling", "continuous", "lower"),
    "emergency_savings": ("risk_management", "binary", "higher"),
    "shock_borrowed": ("risk_management", "binary", "lower"),
    "log_income": ("income_expenditure", "continuous", "higher"),
    "keeps_budget": ("income_expenditure", "binary", "higher"),
}


def test_outcomes_are_exactly_the_issue_list(codebook):
    assert set(codebook.outcomes) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outcome_metadata(codebook, name):
    var = codebook.outcomes[name]
    assert (var.family, var.type, var.better) == EXPECTED[name]
    assert var.label and var.unit
    assert set(var.raw) == {0, 1, 2}


def test_raw_names_differ_between_waves(codebook):
    names = {w: codebook.outcomes["repay_difficulty"].raw[w].names for w in (0, 1, 2)}
    assert len(set(names.values())) == 3


def test_outcome_frame_has_family_labels(codebook):
    frame = codebook.outcome_frame()
    assert frame["family_label"].notna().all()
    assert list(frame["outcome"]) == list(codebook.outcomes)


def _write(tmp_path, text):
    p = tmp_path / "cb.yaml"
    p.write_text(text)
    return p


def test_missing_codebook_is_clear(tmp_path):
    with pytest.raises(CodebookError, match="codebook not found"):
        load_codebook(tmp_path / "nope.yaml")


def test_unknown_family_is_clear(tmp_path, codebook):
    text = codebook.text.replace(
        "family: repayment\n    type: count", "family: repaymnt\n    type: count"
    )
    with pytest.raises(CodebookError, match="unknown family 'repaymnt'"):
        load_codebook(_write(tmp_path, text))


def test_bad_yaml_is_clear(tmp_path):
    with pytest.raises(CodebookError, match="cannot read codebook"):
        load_codebook(_write(tmp_path, "waves: [unclosed"))
