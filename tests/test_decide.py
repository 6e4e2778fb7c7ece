"""analysis.decide: recommendation judgements and "where it worked", checked against
hand-counted verdicts and the results table's own columns (not the code under test)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)

from analysis.decide import (
    MIXED,
    NOT_SUPPORTED,
    SUPPORTED,
    judge_recommendation,
    where_it_worked,
)


def _rows(verdicts: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": list(verdicts),
            "short": [k.upper() for k in verdicts],
            "verdict": list(verdicts.values()),
        }
    )


IMP, WOR, NUL = "improved", "worsened", "no detectable effect"


@pytest.mark.parametrize(
    ("verdicts", "expected", "mostly_null"),
    [
        ({"a": IMP, "b": IMP, "c": IMP}, SUPPORTED, False),
        ({"a": IMP, "b": IMP, "c": NUL}, SUPPORTED, False),  # 2 of 3 > half, none worse
        ({"a": IMP, "b": NUL}, MIXED, False),  # exactly half is not more than half
        ({"a": IMP, "b": NUL, "c": NUL}, MIXED, True),
        (
            {"a": IMP, "b": IMP, "c": IMP, "d": WOR},
            MIXED,
            False,
        ),  # any worsened: not supported outright
        ({"a": NUL, "b": NUL}, NOT_SUPPORTED, True),
        ({"a": WOR, "b": NUL}, NOT_SUPPORTED, False),
        ({"a": "suppressed", "b": IMP}, SUPPORTED, False),  # suppressed does not count
    ],
)
def test_judgement_rule(verdicts, expected, mostly_null):
    j = judge_recommendation(list(verdicts), _rows(verdicts))
    assert j.judgement == expected
    assert j.mostly_null is mostly_null
    counted = [v for v in verdicts.values() if v in (IMP, WOR, NUL)]
    assert j.n_counted == len(counted)
    assert j.n_improved == counted.count(IMP)
    assert f"{counted.count(IMP)} of {len(counted)} cited outcomes improved" in j.because()
    assert ("rests mostly on no detectable effect" in j.because()) is mostly_null


def test_judgement_without_estimated_outcomes_says_so():
    j = judge_recommendation(["missing"], _rows({"a": IMP}))
    assert j.judgement == "" and "None of the outcomes" in j.because()


def test_amk_recommendations_judged_from_the_results_table(arts, results):
    """Counted by hand from the table's verdict column; recommendations 2 and 5 rest
    mostly on no detectable effect in the demo results (as in the issue)."""
    rows = results[  # analytic cluster-robust inference: the same verdicts whatever the bootstrap draws
        (results["method"] == "did")
        & (results["inference"] == "cluster")
        & (results["wave"] == results["wave"].max())
        & (results["sample_type"] == "all")
    ]
    verdict = dict(zip(rows["outcome"], rows["verdict"], strict=True))
    for i, rec in enumerate(arts.recommendations, start=1):
        cited = [verdict[o] for o in rec["outcomes"] if o in verdict]
        imp, wor, nul = cited.count(IMP), cited.count(WOR), cited.count(NUL)
        n = imp + wor + nul
        expected = NOT_SUPPORTED if imp == 0 else SUPPORTED if (wor == 0 and 2 * imp > n) else MIXED
        j = judge_recommendation(rec["outcomes"], rows)
        assert j.judgement == expected, (i, cited)
        assert j.mostly_null == (2 * nul > n), (i, cited)
    judged = [judge_recommendation(r["outcomes"], rows) for r in arts.recommendations]
    assert judged[0].judgement == SUPPORTED
    assert judged[1].mostly_null and judged[4].mostly_null
    assert judged[1].judgement != SUPPORTED and judged[4].judgement != SUPPORTED


def test_where_it_worked_reads_pooled_branch_and_own_province_estimates(results):
    wave = int(results["wave"].max())
    w = where_it_worked(results, method="did", inference="wild", wave=wave)
    idx = results[
        (results["method"] == "did")
        & (results["inference"] == "wild")
        & (results["wave"] == wave)
        & results["is_index"]
    ]
    assert w.outcomes == list(dict.fromkeys(idx.loc[idx["sample_type"] == "all", "outcome"]))
    dims = {d.name: d for d in w.dimensions}
    assert set(dims) == {"province", "branch"}  # sex is a client trait, not a place
    assert [d.name for d in w.dimensions] == ["province", "branch"]  # coarse to fine
    assert dims["branch"].pooled and not dims["province"].pooled
    assert dims["branch"].groups == sorted(dims["branch"].groups)  # not ranked
    for dim, cols in (
        ("branch", ("eb_estimate", "eb_ci95_low", "eb_ci95_high")),
        ("province", ("estimate", "ci95_low", "ci95_high")),
    ):
        src = idx[idx["sample_type"] == dim].set_index(["sample", "outcome"])
        cells = dims[dim].cells.set_index(["group", "outcome"])
        assert len(cells) == len(src)
        for key, c in cells.iterrows():
            e, lo, hi = (float(src.at[key, k]) for k in cols)
            assert c["estimate"] == pytest.approx(e)
            assert (c["low"], c["high"]) == pytest.approx((lo, hi))
            # the symbol: an interval wholly above zero is 'above', wholly below 'below'
            assert c["sign"] == ("above" if lo > 0 else "below" if hi < 0 else "spans")
        for o in w.outcomes:
            p = src.xs(o, level="outcome")["heterogeneity_p"].dropna().iloc[0]
            assert dims[dim].heterogeneity_p[o] == pytest.approx(p)


def test_where_summary_says_when_groups_cannot_be_told_apart(results):
    wave = int(results["wave"].max())
    base = results.copy()
    sel = base["sample_type"].isin(["branch", "province"]) & base["is_index"]
    base.loc[sel, "heterogeneity_p"] = 0.5
    w = where_it_worked(base, method="did", inference="wild", wave=wave)
    text = " ".join(w.summary({"branch": "branches", "province": "provinces"}))
    assert (
        "The branches cannot be told apart" in text and "The provinces cannot be told apart" in text
    )
    # one family that differs between branches is named with its p
    first = w.outcomes[0]
    base.loc[
        sel & (base["sample_type"] == "branch") & (base["outcome"] == first), "heterogeneity_p"
    ] = 0.012
    w = where_it_worked(base, method="did", inference="wild", wave=wave)
    text = " ".join(w.summary({"branch": "branches", "province": "provinces"}))
    assert f"{w.labels[first].lower()} (p = 0.012)" in text
    assert "The branches cannot be told apart" not in text
    assert "The provinces cannot be told apart" in text
    # an estimator without the test (LATE) says so rather than claiming no difference
    w = where_it_worked(results, method="late", inference="wild", wave=wave)
    if w.dimensions:
        assert all(math.isnan(p) for d in w.dimensions for p in d.heterogeneity_p.values())
        assert "not available" in " ".join(w.summary())


def test_overview_shows_where_and_each_judgement(dash_app, arts):
    from app_fixtures import find_by_id, text_of

    import pages.overview as ov
    from components.views import Spec

    lay = ov.layout()
    where = text_of(find_by_id(lay, ov.WHERE))
    assert "cannot be told apart" in where or "differ by more than chance" in where
    assert "not ranked" in where and "partially pooled" in where.lower()
    recs = text_of(find_by_id(lay, ov.RECS))
    assert "judged from the verdicts" in text_of(lay)  # the rule is stated on the page
    spec = Spec(method="did", inference="cluster", wave=int(arts.results["wave"].max()))
    sel = arts.results[
        (arts.results["method"] == spec.method)
        & (arts.results["inference"] == spec.inference)
        & (arts.results["wave"] == spec.wave)
        & (arts.results["sample_type"] == "all")
    ]
    txt = text_of(ov.recommendations_section(spec))
    for rec in arts.recommendations:
        j = judge_recommendation(rec["outcomes"], sel)
        assert j.label in txt and j.because() in txt
    assert recs


def test_chain_exposure_box_and_profile_show_take_up_and_as_of(dash_app, arts):
    """The web diagram shows the take-up figure the brief shows (share who received the
    topics, read here from the diagnostics' sample flow), and the profile card its date."""
    from app_fixtures import text_of

    import pages.overview as ov
    import pages.results_chain as rc

    flow = pd.DataFrame(arts.diagnostics["sample_flow"])
    last = flow[flow["wave"] == flow["wave"].max()].set_index("arm")["share_received_fe"]
    txt = text_of(rc.layout())
    assert f"{100 * last['Programme']:.0f}% of clients in programme villages" in txt
    assert f"({100 * last['Comparison']:.0f}% in comparison villages)" in txt
    assert "Figures as of:" in text_of(ov.layout())


def test_mostly_null_is_said_without_opening_the_judgement(dash_app):
    from app_fixtures import text_of

    from analysis.decide import Judgement
    from components.decide import judgement_block

    j = Judgement(MIXED, 3, 1, 0, 2, True)
    summary = judgement_block(j, "x").children[0]
    assert "rests mostly on no detectable effect" in text_of(summary)
    j = Judgement(SUPPORTED, 3, 3, 0, 0, False)
    assert "rests mostly" not in text_of(judgement_block(j, "x").children[0])
