"""A social-performance officer's task on Breakdowns, in headless Chromium: choose two
branches, see every panel follow them (or say why not) and the two compared, download the
page as CSV and XLSX and check each number against the results table; then the same page
on a projector (1280×720, ?present=1) and on a phone (390 px).  Screenshots go to
tests/screenshots/breakdowns-officer-*.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import test_browser as _tb
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts)
from test_breakdowns_officer import _check_against_results
from test_browser import PAGES, SHOTS

from analysis.paths import study_build_dir

pytestmark = pytest.mark.browser

browser, server, table = _tb.browser, _tb.server, _tb.table

TWO = ["Baray", "Santuk"]
VIEW = "/breakdowns?outcome=repay_difficulty&method=did&wave=2&inference=wild"


_settle = _tb._settle


def _choose_two(page):
    assert _tb._tick_branches(page, keep=TWO) == TWO
    assert page.evaluate("new URLSearchParams(location.search).get('branches')") == "Baray,Santuk"
    page.wait_for_function(
        "() => document.querySelector('#breakdowns-compare').innerText.includes('Baray minus Santuk')",
        timeout=20000,
    )
    _settle(page)


def test_officer_chooses_two_branches_and_downloads_them(browser, server, table, artifact_dir):
    w = _tb.Watched(browser)
    page = w.page
    try:
        w.goto(server + VIEW, PAGES["/breakdowns"])
        branches = sorted(table.loc[table["sample_type"] == "branch", "sample"].unique())
        _choose_two(page)
        # which province each branch lies in, from the panel (not the app's code)
        panel = pd.read_parquet(study_build_dir() / "panel.parquet", columns=["province", "branch"])
        nest = dict(zip(panel["branch"], panel["province"], strict=True))
        mine = {nest[b] for b in TWO}
        others = set(nest.values()) - mine
        province_table = page.inner_text("#breakdowns-province-table")
        assert all(p in province_table for p in mine)
        assert not any(p in province_table for p in others)
        assert "uses all its branches" in page.inner_text("#breakdowns-province-scope")
        assert "does not follow the branch choice" in page.inner_text("#breakdowns-sex-scope")
        assert "not recomputed" in page.inner_text("#breakdowns-heterogeneity-scope")
        branch_table = page.inner_text("#breakdowns-branch-table")
        assert all(b in branch_table for b in TWO)
        assert not any(b in branch_table for b in set(branches) - set(TWO))
        # the comparison's numbers are the results table's
        sel = table[
            (table["outcome"] == "repay_difficulty")
            & (table["method"] == "did")
            & (table["wave"] == 2)
            & (table["inference"] == "wild")
            & (table["sample_type"] == "branch")
        ].set_index("sample")
        diff = sel.loc["Baray", "estimate"] - sel.loc["Santuk", "estimate"]
        compare = page.inner_text("#breakdowns-compare").replace("−", "-")
        assert f"{diff:.3f}" in compare
        # the deck reads the address bar: it carries the branches
        assert "branches=Baray%2CSantuk" in page.evaluate("location.search")
        # the PNG export names the chosen branches
        png = page.evaluate(
            "() => document.querySelector('#breakdowns-branch-figure .js-plotly-plot')"
            ".layout.meta.filename"
        )
        assert png.endswith("-by-branch-baray-santuk"), png
        # lower is better for repayment difficulty: improvement (the default) mirrors the
        # branch points; "As estimated" from the menu plots the results table's estimates
        js = (
            "() => document.querySelector('#breakdowns-branch-figure .js-plotly-plot').data"
            ".filter(t => t.meta && t.meta.role === 'raw').map(t => [t.customdata, t.x])[0]"
        )
        names, xs = page.evaluate(js)
        for name, x in zip(names, xs, strict=True):
            assert x == pytest.approx(-sel.loc[name, "estimate"], abs=1e-9)
        page.select_option("#breakdowns-direction", "estimate")
        page.wait_for_function("() => location.search.includes('direction=estimate')")
        page.wait_for_function(
            "() => document.querySelector('#breakdowns-branch-figure .xtitle')"
            ".textContent.startsWith('Effect')",
            timeout=20000,
        )
        names, xs = page.evaluate(js)
        for name, x in zip(names, xs, strict=True):
            assert x == pytest.approx(sel.loc[name, "estimate"], abs=1e-9)
        assert "branches=Baray%2CSantuk" in page.evaluate("location.search")

        with page.expect_download() as info:
            page.click("#breakdowns-csv-button")
        dl = info.value
        assert dl.suggested_filename.endswith("baray-santuk.csv")
        text = Path(dl.path()).read_text(encoding="utf-8")
        first = next(csv.reader(io.StringIO(text)))
        assert len(first) == 1 and first[0].startswith("Demonstration data")
        df = pd.read_csv(io.StringIO(text), skiprows=1)
        _check_against_results(df, table, TWO)

        with page.expect_download() as info:
            page.click("#breakdowns-xlsx-button")
        dl = info.value
        assert dl.suggested_filename.endswith(".xlsx")
        wb = openpyxl.load_workbook(io.BytesIO(Path(dl.path()).read_bytes()))
        rows = list(wb["Breakdowns"].iter_rows(min_row=2, values_only=True))
        xl = pd.DataFrame(rows[1:], columns=rows[0]).astype({"effect": float, "ci95_low": float})
        _check_against_results(xl, table, TWO)
        about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True) if r[0]}
        assert "SIMULATED" in about["Data"]
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "breakdowns-officer-1366.png"), full_page=True)
        w.check()
    finally:
        w.close()


def test_officer_page_on_a_phone(browser, server):
    w = _tb.Watched(browser, width=390, height=844)
    try:
        w.goto(server + VIEW + "&branches=Baray%2CSantuk", PAGES["/breakdowns"])
        page = w.page
        _settle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # each branch's effect, interval and verdict within the screen's width
        for label in ("Branch alone", "95% interval (alone)", "Verdict (alone)"):
            cells = page.locator(f"#breakdowns-branch-table td[data-label='{label}']")
            assert cells.count() == 2
            for i in range(2):
                b = cells.nth(i).bounding_box()
                assert b["x"] >= 0 and b["x"] + b["width"] <= 390, (label, b)
                assert cells.nth(i).inner_text().strip()
        # the branch chart's legend is whole on the phone and clear of the axis title
        boxes = page.evaluate(
            """() => {
                const gd = document.querySelector('#breakdowns-branch-figure .js-plotly-plot');
                const r = (el) => { const b = el.getBoundingClientRect();
                    return {l: b.left, r: b.right, t: b.top, b: b.bottom}; };
                return {fig: r(gd), title: r(gd.querySelector('.xtitle')),
                        legend: [...gd.querySelectorAll('.legendtext')].map(r)};
            }"""
        )
        assert len(boxes["legend"]) == 3, boxes
        for lb in boxes["legend"]:
            assert lb["r"] <= min(390, boxes["fig"]["r"]) + 1, lb
            t = boxes["title"]
            assert lb["b"] <= t["t"] or lb["t"] >= t["b"], (lb, t)
        page.screenshot(path=str(SHOTS / "breakdowns-officer-390.png"), full_page=True)
        w.check()
    finally:
        w.close()


def test_officer_page_on_a_projector(browser, server):
    w = _tb.Watched(browser, width=1280, height=720)
    try:
        w.goto(server + VIEW + "&branches=Baray%2CSantuk&present=1", PAGES["/breakdowns"])
        page = w.page
        _settle(page)
        page.wait_for_timeout(800)  # the main figure is re-laid out to the screen
        assert page.is_visible("#breakdowns-outcome"), "the presenter can change the outcome"
        assert page.is_visible("#breakdowns-wave")
        assert not page.is_visible("#breakdowns-method")
        page.locator("#breakdowns-branch-figure").scroll_into_view_if_needed()
        box = page.locator("#breakdowns-branch-figure .main-svg").first.bounding_box()
        assert box["height"] <= 720 and box["width"] <= 1280
        # the presenter changes the outcome from the kept control
        page.select_option("#breakdowns-outcome", "insurance_any")
        page.wait_for_function(
            "() => new URLSearchParams(location.search).get('outcome') === 'insurance_any'"
        )
        assert "present=1" in page.evaluate("location.search")
        _settle(page)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / "breakdowns-officer-present.png"))
        w.check()
    finally:
        w.close()
