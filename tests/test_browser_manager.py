"""A senior manager's five minutes on the Overview, in headless Chromium: did it work
(the headline count), where (the province and branch summary with intervals, and whether
the groups can be told apart), and how far the results support each recommendation
(opening a judgement with the keyboard).  Every number is checked against the results
table; the same page on a projector (1280×720, ?present=1) and a phone (390 px).
Screenshots go to tests/screenshots/overview-manager-*.png."""

from __future__ import annotations

import pytest
import test_browser as _tb
import yaml
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts)
from test_browser import PAGES, SHOTS

from analysis.paths import PROJECT_ROOT

pytestmark = pytest.mark.browser

browser, server, table = _tb.browser, _tb.server, _tb.table

# the Overview's default view: the primary specification at the last wave
VIEW = {"method": "did", "inference": "wild"}


def _signed(x: float) -> str:
    """Two decimals with a sign and a true minus, as the page prints an effect."""
    return f"{x:+.2f}".replace("-", "−")


def _default_rows(table):
    return table[
        (table["method"] == VIEW["method"])
        & (table["inference"] == VIEW["inference"])
        & (table["wave"] == table["wave"].max())
    ]


def test_manager_reads_did_it_work_where_and_a_judgement(browser, server, table):
    w = _tb.Watched(browser)
    page = w.page
    try:
        w.goto(server + "/", PAGES["/"])
        rows = _default_rows(table)
        allc = rows[(rows["sample_type"] == "all") & ~rows["is_index"]]
        # did it work: the headline count is the table's
        n_imp = int((allc["verdict"] == "improved").sum())
        findings = page.inner_text("#overview-findings")
        assert f"improved {n_imp} of {len(allc)} client outcomes" in findings

        # where: one row per branch, alphabetical (not ranked), each cell the pooled estimate
        where = page.locator("#overview-where")
        where.scroll_into_view_if_needed()
        text = where.inner_text()
        idx = rows[rows["is_index"]]
        br = idx[idx["sample_type"] == "branch"]
        names = sorted(br["sample"].unique())
        heads = [h.strip() for h in where.locator("tbody th[scope=row]").all_inner_texts()]
        assert [h for h in heads if h in names] == names
        fam = idx[idx["sample_type"] == "all"].iloc[0]  # the first family index
        col = list(idx.loc[idx["sample_type"] == "all", "outcome"]).index(fam["outcome"])
        for b in names:
            r = br[(br["sample"] == b) & (br["outcome"] == fam["outcome"])].iloc[0]
            row = where.locator("tbody tr", has=page.locator(f"th:text-is('{b}')"))
            cell = row.locator("td").nth(col).inner_text()
            assert _signed(r["eb_estimate"]) in cell, (b, cell)
            assert f"{_signed(r['eb_ci95_low'])} to {_signed(r['eb_ci95_high'])}" in cell
        # can the branches be told apart? the words follow the table's heterogeneity tests
        het = br.groupby("outcome")["heterogeneity_p"].first()
        if (het >= 0.05).all():
            assert "The branch offices cannot be told apart" in text
        else:
            assert "The branch offices differ by more than chance" in text
        assert f"p = {het[fam['outcome']]:.3f}" in text

        # a recommendation's judgement, opened from the keyboard
        recs = yaml.safe_load((PROJECT_ROOT / "data/studies/amk/recommendations.yaml").read_text())[
            "recommendations"
        ]
        verdict = dict(zip(allc["outcome"], allc["verdict"], strict=True))
        verdict |= dict(
            zip(
                idx.loc[idx["sample_type"] == "all", "outcome"],
                idx.loc[idx["sample_type"] == "all", "verdict"],
                strict=True,
            )
        )
        for i in (2, 5):  # the two resting mostly on "no detectable effect" in the issue
            cited = [verdict[o] for o in recs[i - 1]["outcomes"]]
            imp, nul = cited.count("improved"), cited.count("no detectable effect")
            box = page.locator(f"#overview-recommendations-judgement-{i}")
            summary = box.locator("summary")
            summary.focus()
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"() => document.querySelector('#overview-recommendations-judgement-{i}').open"
            )
            because = box.locator(".judgement-because")
            assert because.is_visible()
            said = because.inner_text()
            assert f"{imp} of {len(cited)} cited outcomes improved" in said
            assert ("rests mostly on no detectable effect" in said) == (2 * nul > len(cited))
            expected = (
                "Not supported by these results"
                if imp == 0
                else "Supported by these results"
                if 2 * imp > len(cited) and "worsened" not in cited
                else "Mixed evidence"
            )
            # symbol, then the words: "✔ Supported by these results"
            assert summary.inner_text().strip().lstrip("✔◐✘ ").startswith(expected), (
                summary.inner_text()
            )
        assert "judged from the verdicts of the outcomes it cites" in page.inner_text("body")
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "overview-manager-1366.png"), full_page=True)
        w.check()
    finally:
        w.close()


@pytest.mark.parametrize(
    ("size", "query", "name"),
    [((1280, 720), "?present=1", "present-1280x720"), ((390, 844), "", "390")],
)
def test_manager_overview_on_projector_and_phone(browser, server, size, query, name):
    w = _tb.Watched(browser, width=size[0], height=size[1])
    try:
        w.goto(server + "/" + query, PAGES["/"])
        page = w.page
        where = page.locator("#overview-where")
        where.scroll_into_view_if_needed()
        assert where.is_visible()
        # the page itself never scrolls sideways; the table scrolls in its own box
        assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
        assert page.locator("#overview-where .where-summary").bounding_box()["width"] <= size[0]
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"overview-manager-{name}.png"), full_page=True)
        w.check()
    finally:
        w.close()
