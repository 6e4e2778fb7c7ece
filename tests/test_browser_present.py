"""In the OS's Chromium, the users of issue 13 on the Effects and Results-chain pages:

* the donor presenter at a 1280x720 projector: in presentation mode, changes the wave and
  the outcome, and the whole forest plot (its axis included) is on the screen with the
  controls; the mode stays in the address on the next page, whose diagram fits too;
* a keyboard user: chooses a results-chain step with Enter and lands in its detail;
  the figure toolbars cost one Tab stop each;
* a phone at 390 px: every outcome's effect, interval and verdict without sideways scrolling.

What is checked is what the user gets (positions on the screen, the numbers in the figure
and the list) against the results table, selected here with plain pandas.
Screenshots go to tests/screenshots/.
"""

from __future__ import annotations

import re

import pytest
import test_browser as _tb
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts)
from test_browser import PAGES, SHOTS, Watched

from components.views import Spec, select

pytestmark = pytest.mark.browser

browser, server, table = _tb.browser, _tb.server, _tb.table


@pytest.fixture
def projector(browser):
    w = Watched(browser, width=1280, height=720)
    yield w
    w.close()


@pytest.fixture
def phone(browser):
    w = Watched(browser, width=390, height=844)
    yield w
    w.close()


def _box(page, selector):
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                              height: r.height, width: r.width}; }""",
        selector,
    )


_points = _tb._figure_points  # {outcome: x} of the live forest plot


def _improvement_std(rows):
    """The plotted number under the defaults: improvement (sign flipped where lower is
    better), standardised (an index is already in SDs)."""
    sd = rows["comparison_sd"].where(~rows["is_index"], 1.0)
    return (rows["improvement"] / sd).to_dict()


def _on_screen(page, selector, height=720):
    b = _box(page, selector)
    return b["top"] >= 0 and b["bottom"] <= height and b["height"] > 0


def test_presenter_changes_wave_and_outcome_and_the_figure_fits_1280x720(projector, server, table):
    page = projector.page
    projector.goto(server + "/effects?present=1", PAGES["/effects"])
    page.wait_for_function("() => document.documentElement.classList.contains('presenting')")
    # the controls a presenter needs are there; the rest are not
    assert page.is_visible("#effects-wave") and page.is_visible("#effects-outcome")
    assert page.is_hidden("#effects-method") and page.is_hidden("#effects-scale")
    # the figure is fitted to the screen and scrolled to, below the control bar
    page.wait_for_function(
        "() => { const gd = document.querySelector('#effects-forest .js-plotly-plot');"
        " return gd && gd.dataset.viewFit && gd.dataset.viewFit.startsWith('present'); }"
    )
    page.wait_for_timeout(600)
    assert _on_screen(page, "#effects-wave")
    assert _on_screen(page, "#effects-forest .xtitle"), _box(page, "#effects-forest .xtitle")
    assert _on_screen(page, "#effects-forest .main-svg")

    # a new wave: the figure is redrawn with that wave's numbers and still fits
    page.select_option("#effects-wave", "1")
    page.wait_for_function("() => location.search.includes('wave=1')")
    want = _improvement_std(select(table, Spec(wave=1)).set_index("outcome"))
    page.wait_for_function(
        "([o, x]) => { const gd = document.querySelector('#effects-forest .js-plotly-plot');"
        " const tr = gd.data.find(t => t.meta && t.meta.role === 'point' && t.customdata.includes(o));"
        " return tr && Math.abs(tr.x[tr.customdata.indexOf(o)] - x) < 1e-9; }",
        arg=["late_instalments", want["late_instalments"]],
        timeout=20000,
    )
    page.wait_for_timeout(800)
    assert _points(page, "effects-forest") == pytest.approx(want)
    assert _on_screen(page, "#effects-wave") and _on_screen(page, "#effects-forest .xtitle")
    assert _box(page, "#effects-forest .main-svg")["height"] <= 720
    assert "better" in page.text_content("#effects-forest .xtitle")
    page.screenshot(path=str(SHOTS / "present-effects-1280x720.png"))

    # a new outcome: its detail follows, and the address keeps the mode and the wave
    page.locator("#effects-outcome").scroll_into_view_if_needed()
    page.select_option("#effects-outcome", "insurance_any")
    page.wait_for_function(
        "() => document.getElementById('effects-detail-title').innerText.includes('Insurance')"
    )
    page.wait_for_function("() => location.search.includes('outcome=insurance_any')")
    q = page.evaluate("location.search")
    assert "present=1" in q and "wave=1" in q
    assert _box(page, "#effects-means .main-svg")["height"] <= 720

    # the next page keeps the mode; its diagram fits below the bar
    page.get_by_role("link", name="Results chain", exact=True).click()
    page.wait_for_selector(PAGES["/results-chain"])
    page.wait_for_function("() => new URLSearchParams(location.search).get('present') === '1'")
    assert page.evaluate("document.documentElement.classList.contains('presenting')")
    page.wait_for_timeout(800)
    assert page.is_visible("#chain-wave")
    assert _on_screen(page, ".chain-diagram"), _box(page, ".chain-diagram")
    page.screenshot(path=str(SHOTS / "present-results-chain-1280x720.png"))
    # leaving the mode gives the figure its own layout back
    projector.goto(server + "/effects?present=1", PAGES["/effects"])
    page.wait_for_function(
        "() => (document.querySelector('#effects-forest .js-plotly-plot').dataset.viewFit || '')"
        ".startsWith('present')"
    )
    page.click("#present-toggle")
    page.wait_for_function(
        "() => !document.querySelector('#effects-forest .js-plotly-plot').dataset.viewFit"
    )
    page.wait_for_timeout(600)
    assert _box(page, "#effects-forest .main-svg")["height"] > 720  # its own height again
    projector.check()


def test_keyboard_enter_on_a_chain_step_moves_focus_to_its_detail(browser, server):
    w = Watched(browser)
    page = w.page
    try:
        w.goto(server + "/results-chain", PAGES["/results-chain"])
        page.get_by_role("button", name=re.compile(r"^Risk management")).focus()
        page.keyboard.press("Enter")
        page.wait_for_function("() => location.search.includes('node=risk-management')")
        page.wait_for_function(
            "() => document.activeElement && document.activeElement.id === 'chain-detail-title'"
            " && document.activeElement.innerText.includes('Risk management')",
            timeout=20000,
        )
        assert _on_screen(page, "#chain-detail-title", height=768)
        # a screen reader hears the step's name; the next Tab goes on inside the detail
        page.keyboard.press("Tab")
        inside = page.evaluate(
            "() => document.getElementById('chain-detail').contains(document.activeElement)"
        )
        assert inside
        # the toolbars: one Tab stop per figure (the PNG download), not six
        page.wait_for_selector("#chain-detail .modebar-btn")
        page.wait_for_timeout(500)
        stops = page.evaluate(
            "() => [...document.querySelectorAll('.modebar-btn')]"
            ".filter(b => b.tabIndex >= 0).map(b => b.getAttribute('data-title'))"
        )
        figures = page.evaluate("() => document.querySelectorAll('.modebar').length")
        assert len(stops) == figures and all(s.startswith("Download") for s in stops), stops
        # and the mouse path still works the same way
        page.get_by_role("button", name=re.compile(r"^Clients reached")).click()
        page.wait_for_function(
            "() => document.activeElement && document.activeElement.id === 'chain-detail-title'"
            " && document.activeElement.innerText.includes('Clients reached')",
            timeout=20000,
        )
        page.wait_for_function(
            "() => Math.abs(document.getElementById('chain-detail').getBoundingClientRect().top) < 2"
        )
        page.screenshot(path=str(SHOTS / "keyboard-chain-detail-1366.png"))
        w.check()
    finally:
        w.close()


def test_phone_effects_shows_effect_interval_and_verdict_without_sideways_scroll(
    phone, server, table
):
    page = phone.page
    phone.goto(server + "/effects", PAGES["/effects"])
    page.wait_for_selector("#effects-phone-list li")
    page.wait_for_timeout(800)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.is_hidden("#effects-grid")
    items = page.evaluate(
        """() => [...document.querySelectorAll('#effects-phone-list li')].map(li => {
            const r = li.getBoundingClientRect();
            return {outcome: li.dataset.outcome, text: li.innerText, left: r.left, right: r.right};
        })"""
    )
    rows = select(table, Spec()).set_index("outcome")
    assert sorted(i["outcome"] for i in items) == sorted(rows.index)
    for item in items:
        r = rows.loc[item["outcome"]]
        assert 0 <= item["left"] and item["right"] <= 390, item
        text = item["text"].replace("−", "-")
        assert f"{r['estimate']:+.3f}" in text, (item, r["estimate"])  # the effect, own unit
        assert str(r["unit"]) in item["text"]
        assert f"95% interval: {r['ci95_low']:.3f}" in text  # the interval
        label = {"improved": "Improved", "worsened": "Worsened"}.get(
            r["verdict"], "No detectable effect"
        )
        assert label in item["text"], item  # the verdict
    # the forest plot keeps most of the width for the plot itself
    plot_w = page.evaluate(
        "() => document.querySelector('#effects-forest .js-plotly-plot')._fullLayout._size.w"
    )
    assert plot_w >= 200, plot_w
    page.screenshot(path=str(SHOTS / "phone-effects-390.png"), full_page=False)
    page.locator("#effects-phone-list").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "phone-effects-list-390.png"))
    phone.check()


def _phone_items(page) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#effects-phone-list li')]
            .map(li => [li.dataset.outcome, li.innerText]))"""
    )


def _wait_phone_wave(page, table, wave: int) -> None:
    """Until the phone list shows the default estimator's effects at ``wave``."""
    rows = select(table, Spec(wave=wave)).set_index("outcome")
    want = {o: f"{r['estimate']:+.3f}" for o, r in rows.iterrows()}
    page.wait_for_function(
        """(want) => {
            const items = [...document.querySelectorAll('#effects-phone-list li')];
            return items.length === Object.keys(want).length && items.every(li =>
                li.innerText.replace(/\u2212/g, '-').includes(want[li.dataset.outcome]));
        }""",
        arg=want,
        timeout=20000,
    )


def test_phone_list_follows_filters_and_a_resize_across_the_breakpoint(phone, server, table):
    """On a wide screen the hidden phone list is not built (components.viewport); it is
    built as soon as the screen becomes narrow, for the view then chosen."""
    page = phone.page
    phone.goto(server + "/effects", PAGES["/effects"])
    page.wait_for_selector("#effects-phone-list li")
    _wait_phone_wave(page, table, 2)
    page.select_option("#effects-wave", "1")  # a filter change on the phone
    _wait_phone_wave(page, table, 1)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.wait_for_selector("#effects-grid .ag-row", state="visible")
    page.select_option("#effects-wave", "2")  # on the wide screen: the list is left empty
    page.wait_for_function("() => !document.querySelector('#effects-phone-list li')", timeout=20000)
    page.set_viewport_size({"width": 390, "height": 844})  # back to a phone: built again
    _wait_phone_wave(page, table, 2)
    assert page.is_hidden("#effects-grid")
    phone.check()


def test_the_shell_set_up_runs_every_part_and_a_failing_part_stops_no_other(browser, server):
    """The shell's one set-up callback (components.setup) installed each part's listener on
    load; called again with every flag cleared and the window's listeners failing (the print
    and presentation parts add theirs to the window), each other part -- before them (PNG
    file names, registered first) and after them (toolbar Tab order, viewport) -- runs
    again, and the failures are written to the console, each naming its part."""
    w = Watched(browser)
    try:
        w.goto(server + "/effects", PAGES["/effects"])
        flags = """() => [window.amkPrintFit, window.viewFitResize, window.viewModebarObserver,
                          window.amkExportNames, window.amkViewport].map(Boolean)"""
        w.page.wait_for_function(f"() => ({flags})().every(Boolean)", timeout=10000)
        failed = w.page.evaluate(
            """() => {
                const setUp = Object.values(window.dash_clientside._dashprivate_clientside_funcs)
                    .filter(f => f.toString().includes('app set-up'));
                if (setUp.length !== 1) { return ['set-up callbacks: ' + setUp.length]; }
                const errors = [], add = window.addEventListener, log = console.error;
                window.addEventListener = function() { throw new Error('no listeners'); };
                console.error = function(msg) { errors.push(String(msg)); };
                delete window.amkPrintFit; delete window.viewFitResize;
                delete window.viewModebarObserver; delete window.amkExportNames;
                delete window.amkViewport;
                try {
                    setUp[0]('/effects', false);
                } finally { window.addEventListener = add; console.error = log; }
                return errors;
            }"""
        )
        ran = w.page.evaluate(flags)
        assert failed == [
            "app set-up: part print-fit failed",
            "app set-up: part present-fit failed",
        ], failed
        # print-fit sets its flag before adding its listener; present-fit's flag too
        assert ran == [True, True, True, True, True], ran
        w.check()
    finally:
        w.close()
