"""Dashboard building blocks as plain functions: query parameters, view selection,
figures against the results table, artefact loading and the data files."""

from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)

from analysis.artifacts import load_artifacts
from analysis.findings import finding_sentence
from analysis.paths import study_build_dir
from components import params as qp
from components.display import subgroup_display
from components.figures import make_forest_plot, make_subgroup_plot
from components.theme import fmt_num
from components.views import LEVELS, Spec, ordered, scaled_rows, select, view_verdict

# ---------------------------------------------------------------- query parameters

SPECS = [
    qp.Param("method", ["did", "ancova"], "did", "estimator"),
    qp.Param("wave", ["1", "2"], "2", "wave"),
    qp.Param("branches", ["A", "B", "C"], ("A", "B", "C"), "branch", multi=True),
]


def test_valid_query_values_pass_without_note():
    values, notes = qp.parse(SPECS, {"method": "ancova", "wave": "1", "branches": "A,C"})
    assert values == {"method": "ancova", "wave": "1", "branches": ("A", "C")}
    assert notes == []


def test_invalid_value_falls_back_to_default_with_note():
    values, notes = qp.parse(SPECS, {"method": "magic", "wave": "7"})
    assert values["method"] == "did" and values["wave"] == "2"
    assert len(notes) == 2
    assert "magic" in notes[0] and "estimator" in notes[0]


def test_unknown_parameter_is_reported_not_used():
    values, notes = qp.parse(SPECS, {"colour": "red"})
    assert values["method"] == "did"
    assert notes == ["The link parameter 'colour' is not used on this page and was ignored."]


def test_multi_value_keeps_known_items_and_notes_the_rest():
    values, notes = qp.parse(SPECS, {"branches": "A,Z"})
    assert values["branches"] == ("A",)
    assert "'Z'" in notes[0]
    values, notes = qp.parse(SPECS, {"branches": ""})
    assert values["branches"] == ("A", "B", "C") and notes


def test_non_string_query_value_falls_back():
    values, notes = qp.parse(SPECS, {"method": {"$gt": 1}})
    assert values["method"] == "did" and notes


def test_search_round_trip_leaves_defaults_out():
    values = {"method": "ancova", "wave": "2", "branches": ("B",)}
    search = qp.to_search(SPECS, values)
    assert search == "?method=ancova&branches=B"
    back, notes = qp.parse(SPECS, qp.query_from_search(search))
    assert back == values and notes == []
    assert qp.to_search(SPECS, {"method": "did", "wave": "2", "branches": ("A", "B", "C")}) == ""


# ---------------------------------------------------------------- views


def test_select_returns_one_row_per_outcome(results):
    rows = select(results, Spec())
    assert len(rows) == results["outcome"].nunique()
    assert set(rows["method"]) == {"did"} and set(rows["wave"]) == {2}


def test_default_view_verdict_equals_table_verdict(results):
    rows = scaled_rows(select(results, Spec()), "natural", "q")
    assert (rows["view_verdict"] == rows["verdict"]).all()


def test_multiple_testing_view_decides_significance(results):
    rows = select(results, Spec(method="ancova", inference="cluster", wave=1)).to_dict("records")
    for r in rows:
        adjusted = {"p": r["p_value"] <= 0.05, "q": r["q_value"] <= 0.05 and r["p_value"] <= 0.05}
        for view, sig in adjusted.items():
            expected = "improved" if r["improvement"] > 0 else "worsened"
            assert view_verdict(r, view) == (expected if sig else "no detectable effect")


@pytest.mark.parametrize(
    "scale,column", [("natural", "estimate"), ("std", "effect_std"), ("pct", "effect_pct")]
)
def test_scaled_point_equals_results_column(results, scale, column):
    rows = scaled_rows(select(results, Spec(method="ancova", inference="wild", wave=1)), scale)
    shown = rows[rows["shown"]]
    assert len(shown) >= 10
    # a family index is already in SDs of the comparison group at baseline: its standardised
    # effect is its estimate (one unit everywhere), never the estimate divided by the index's SD
    want = (
        shown["estimate"].where(shown["is_index"], shown[column])
        if scale == "std"
        else shown[column]
    )
    np.testing.assert_allclose(shown["x"], want, rtol=1e-12)
    if scale == "std":
        assert shown["is_index"].sum() >= 3
    if scale == "pct":  # indices and log outcomes are not shown as % of a mean
        assert not rows.loc[rows["is_index"], "shown"].any()


# ---------------------------------------------------------------- forest plot = results table


def _points(fig):
    out = {}
    for tr in fig.data:
        if (tr.meta or {}).get("role") == "point":
            for x, y, o in zip(tr.x, tr.y, tr.customdata, strict=True):
                out[o] = (x, y, tr.meta["verdict"])
    return out


def _segments(fig, level):
    """{(verdict, y): (lo, hi)} for the interval traces of one level."""
    out = {}
    for tr in fig.data:
        m = tr.meta or {}
        if m.get("role") == "interval" and m.get("level") == level:
            xs, ys = list(tr.x), list(tr.y)
            for i in range(0, len(xs), 3):
                out[(m["verdict"], ys[i])] = (xs[i], xs[i + 1])
    return out


@pytest.mark.parametrize(
    "spec,scale",
    [
        (Spec(method="did", inference="wild", wave=2), "natural"),
        (Spec(method="ancova", inference="cluster", wave=1), "std"),
        (Spec(method="late", inference="cluster", wave=2), "pct"),
    ],
)
def test_forest_points_and_intervals_equal_results_table(results, spec, scale):
    if spec.method not in set(results["method"]):  # results built before the tot -> late rename
        spec = Spec(method="tot", inference=spec.inference, wave=spec.wave)
    table = select(results, spec).set_index("outcome")
    rows = scaled_rows(ordered(select(results, spec)), scale, "q")
    fig = make_forest_plot(rows, scale=scale, view="q")
    points = _points(fig)
    rng = np.random.default_rng(4)
    shown = rows.loc[rows["shown"], "outcome"].tolist()
    sample = list(rng.choice(shown, size=min(6, len(shown)), replace=False))
    sample += [o for o in shown if o.startswith("index_")][:2]
    col = {"natural": "estimate", "std": "effect_std", "pct": "effect_pct"}[scale]
    for outcome in sample:
        t = table.loc[outcome]
        x, y, verdict = points[outcome]
        want = t["estimate"] if (scale == "std" and t["is_index"]) else t[col]
        assert x == pytest.approx(want, rel=1e-12), outcome
        assert verdict == t["verdict"]
        factor = want / t["estimate"]
        for lev in LEVELS:
            lo, hi = _segments(fig, lev)[(verdict, y)]
            ends = sorted([t[f"ci{lev}_low"] * factor, t[f"ci{lev}_high"] * factor])
            assert lo == pytest.approx(ends[0], rel=1e-12), (outcome, lev)
            assert hi == pytest.approx(ends[1], rel=1e-12), (outcome, lev)
            assert lo <= x <= hi


def test_forest_marks_minimum_detectable_effect_only_for_nulls(results):
    rows = scaled_rows(ordered(select(results, Spec())), "natural", "q")
    fig = make_forest_plot(rows, scale="natural", view="q")
    mde = [tr for tr in fig.data if (tr.meta or {}).get("role") == "mde"]
    nulls = rows[rows["shown"] & (rows["view_verdict"] == "no detectable effect")]
    if nulls.empty:
        assert not mde
        return
    xs = sorted(abs(v) for v in mde[0].x)
    np.testing.assert_allclose(sorted(np.repeat(nulls["mde"].to_numpy(), 2)), xs)


def test_forest_hover_text_is_plain_language(results):
    rows = scaled_rows(ordered(select(results, Spec())), "natural", "q")
    fig = make_forest_plot(rows, scale="natural", view="q")
    texts = [t for tr in fig.data if (tr.meta or {}).get("role") == "point" for t in tr.hovertext]
    assert texts and all("confidence interval" in t for t in texts)
    assert any("percentage points" in t for t in texts)


def test_suppressed_rows_show_words_not_numbers(results):
    rows = select(results, Spec()).copy()
    hit = rows.index[2]
    rows.loc[hit, "suppressed"] = True
    numeric = [
        c
        for c in rows.columns
        if c.startswith("ci")
        or c in ("estimate", "std_error", "p_value", "q_value", "mde", "effect_std", "effect_pct")
    ]
    rows.loc[hit, numeric] = np.nan
    rows.loc[hit, "verdict"] = "suppressed"
    fig = make_forest_plot(scaled_rows(ordered(rows), "natural", "q"), scale="natural", view="q")
    assert rows.loc[hit, "outcome"] not in _points(fig)
    assert any(a.text == "too few clients" for a in fig.layout.annotations)


def test_subgroup_plot_shows_raw_and_pooled(results):
    br = results[
        (results["sample_type"] == "branch")
        & (results["method"] == "did")
        & (results["inference"] == "wild")
        & (results["wave"] == 2)
        & (results["outcome"] == "repay_difficulty")
    ]
    fig = make_subgroup_plot(subgroup_display(br, unit="share", pooled=True))
    roles = {(tr.meta or {}).get("role"): tr for tr in fig.data}
    np.testing.assert_allclose(sorted(roles["raw"].x), sorted(br["estimate"]))
    np.testing.assert_allclose(sorted(roles["pooled"].x), sorted(br["eb_estimate"]))


# ---------------------------------------------------------------- artefacts


def test_missing_results_are_a_blocking_problem_with_rebuild_hint(tmp_path):
    a = load_artifacts(tmp_path)
    assert not a.ok and a.results is None
    assert any("make data" in p.message for p in a.problems)


def test_stale_results_are_blocked(artifact_dir, tmp_path):
    for name in (
        "panel.manifest.json",
        "results.manifest.json",
        "results.parquet",
        "diagnostics.json",
    ):
        shutil.copy(study_build_dir() / name, tmp_path / name)
    m = json.loads((tmp_path / "panel.manifest.json").read_text())
    m["panel_sha256"] = "0" * 64
    (tmp_path / "panel.manifest.json").write_text(json.dumps(m))
    a = load_artifacts(tmp_path)
    assert not a.ok and a.results is None
    assert any("stale" in p.message and "make data" in p.message for p in a.problems)


def test_fresh_artifacts_load(artifact_dir):
    a = load_artifacts(study_build_dir())
    assert a.ok, [p.message for p in a.problems]
    assert a.data_label.startswith("Demonstration data")


def test_results_chain_and_recommendations_name_known_outcomes(arts):
    outcomes = set(arts.results["outcome"])
    nodes = arts.chain["nodes"]
    stages = [s["id"] for s in arts.chain["stages"]]
    assert stages == ["inputs", "activities", "outputs", "outcomes", "impact"]
    named = {o for n in nodes for o in n.get("outcomes", [])}
    assert named == {o for o in outcomes if not o.startswith("index_")}
    assert len(arts.recommendations) == 5
    for rec in arts.recommendations:
        assert rec["outcomes"] and set(rec["outcomes"]) <= outcomes
    assert not [p for p in arts.problems if "Results chain" in p.message]


def test_no_numbers_are_nan_strings_in_views(results):
    rows = scaled_rows(select(results, Spec()), "std", "qf")
    assert not any(isinstance(v, str) and v.lower() == "nan" for v in rows.to_numpy().ravel())
    assert all(math.isfinite(v) for v in rows.loc[rows["shown"], "x"])


def test_forest_positions_group_families_with_index_first(results):
    rows = ordered(select(results, Spec()))
    fams = list(dict.fromkeys(rows["family"]))
    for f in fams:
        sub = rows[rows["family"] == f]
        assert sub["is_index"].iloc[0]
        assert not sub["is_index"].iloc[1:].any()


# ---------------------------------------------------------------- numbers never read 0 (issue 10)

SENTENCE_CI = re.compile(r"\(95% CI (−?-?[\d.,]+)%? to (−?-?[\d.,]+)%?\)")


def _number(text: str) -> float:
    return float(text.replace("−", "-").replace(",", "").replace("+", ""))


@pytest.mark.parametrize(
    "x", [-0.003, -0.0004, 0.000039, -0.00049, 0.0005, 0.049, -0.0123, 0.4, 2.345, -99.5, 1234.5]
)
@pytest.mark.parametrize("digits", [None, 0, 1, 3])
def test_a_nonzero_number_never_prints_as_zero(x, digits):
    """Printed numbers are within half a unit of their last digit and at most 5% off when the
    default decimals would have rounded them away (then two significant figures are kept)."""
    shown = fmt_num(x, digits)
    back = _number(shown)
    assert back != 0, shown
    assert np.sign(back) == np.sign(x)
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    assert abs(back - x) <= 0.5 * 10**-decimals + 1e-12
    assert abs(back - x) <= 0.05 * abs(x) or round(x, 3 if digits is None else digits) != 0


def test_zero_prints_as_zero_without_a_sign():
    assert fmt_num(0.0) == "0.000" and fmt_num(-0.0) == "0.000" and fmt_num(-0.0, 1) == "0.0"


def test_interval_bounds_in_sentences_never_read_zero(results):
    """Every 95% bound in a plain-language sentence (pages, slides, brief) that is not 0 prints as
    a non-zero number of the right sign: e.g. −0.00004 (share) is −0.0039 points, not "0"."""
    rows = results[~results["suppressed"] & results["ci95_low"].notna()]
    checked = 0
    for row in rows.to_dict("records"):
        m = SENTENCE_CI.search(finding_sentence(row))
        if m is None:
            continue
        sign = 1 if row["estimate"] >= 0 else -1
        want = sorted((sign * row["ci95_low"], sign * row["ci95_high"]))
        for text, value in zip(m.groups(), want, strict=True):
            if value != 0:
                assert _number(text) != 0, (row["outcome"], row["sample"], text, value)
                assert np.sign(_number(text)) == np.sign(value)
        checked += 1
    assert checked > 1000
    # the rows the issue is about: a bound within 0.005 of zero
    near = rows[(rows["ci95_low"].abs() < 0.005) | (rows["ci95_high"].abs() < 0.005)]
    assert len(near) > 10


def test_an_index_is_never_divided_again_by_its_own_sd(results):
    """An index is already in SDs of the comparison group at baseline: even where the index's SD
    in the comparison group is not 1 (a subgroup, another wave), its standardised effect is its
    estimate, as in the results table's ``effect_std``; an outcome is divided by its SD."""
    rows = select(results, Spec()).copy()
    rows["comparison_sd"] = 0.7
    scaled = scaled_rows(rows, "std")
    idx, out = scaled[scaled["is_index"]], scaled[~scaled["is_index"]]
    assert len(idx) >= 3
    np.testing.assert_allclose(idx["x"], idx["estimate"], rtol=1e-12)
    np.testing.assert_allclose(out["x"], out["estimate"] / 0.7, rtol=1e-12)
    table = select(results, Spec())
    table = table[table["is_index"]]
    np.testing.assert_allclose(table["effect_std"], table["estimate"], rtol=1e-12)
