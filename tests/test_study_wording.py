"""The shipped public study's pages in its own words: 'too few households', a sample note
for post-only estimates, its data line from study.yaml, the post-only estimator's label and
outcome labels (never column names) in the results chain."""

from __future__ import annotations

from analysis.codebook import load_codebook
from analysis.paths import PROJECT_ROOT
from tests.test_studies_app import app_module, render, visible_text  # noqa: F401 - fixture


def test_too_few_uses_the_study_noun(app_module):  # noqa: F811
    from components.store import using_study
    from components.theme import too_few

    with using_study("proirri"):
        assert too_few() == "too few households"
    with using_study("amk"):
        assert too_few() == "too few clients"


def test_post_only_effects_page_words(app_module):  # noqa: F811
    from components.store import METHOD_LABELS

    assert METHOD_LABELS["post"].startswith("Post-only comparison (ITT")
    text = visible_text(render("effects", study="proirri"))
    assert "households with an answer for that outcome at that wave" in text
    assert "baseline and follow-up answers" not in text
    assert "Data: Public replication data" in text and "real data" not in text
    assert "Estimator: Post-only comparison (ITT" in text
    amk = visible_text(render("effects", study="amk"))
    assert "clients with baseline and follow-up answers for that outcome" in amk
    assert "Data: Demonstration data" in amk


def test_chain_names_outcomes_of_another_wave_by_label(app_module):  # noqa: F811
    cb = load_codebook(PROJECT_ROOT / "data" / "studies" / "proirri" / "codebook.yaml")
    text = visible_text(render("results_chain", study="proirri"))
    endline_only = [n for n, v in cb.outcomes.items() if 4 not in cb.outcome_waves(n)]
    assert endline_only
    shown = [
        n
        for n in endline_only
        if cb.outcomes[n].label in text or (cb.outcomes[n].short or "") in text
    ]
    for name in endline_only:
        assert f" {name} " not in f" {text} ", f"the chain shows the column name {name}"
    assert shown and "(other wave)" in text


def test_methods_says_the_endline_was_a_subsample(app_module):  # noqa: F811
    text = visible_text(render("methods", study="proirri"))
    assert "Endline survey: a household survey of a sample of the households" in text
    assert "not counted as lost" in text
    assert "42" not in text.split("Attrition", 1)[1].split("Balance", 1)[0]


def test_profile_counts_come_from_the_data(app_module):  # noqa: F811
    """PROIRRI's profile card counts (associations, visited ones, provinces, households) are
    computed from its panel when the results are built, not typed in profile.yaml."""
    from analysis.panel import read_panel
    from components.store import get_artifacts

    arts = get_artifacts("proirri")
    panel, _ = read_panel(PROJECT_ROOT / "build" / "proirri" / "panel.parquet")
    first = panel.drop_duplicates("hhid")
    expected = {
        "Water-user associations": first["associd"].nunique(),
        "With consultant visits": first.loc[first["treatment"] == 1, "associd"].nunique(),
        "Provinces": first["prov"].nunique(),
        "Households": len(first),
    }
    assert expected == {
        "Water-user associations": 42, "With consultant visits": 21, "Provinces": 3,
        "Households": 3081,
    }  # fmt: skip
    figures = {f["label"]: f["value"] for f in arts.profile["figures"]}
    assert figures == expected
    text = visible_text(render("overview", study="proirri"))
    assert "3,081" in text and "42" in text
