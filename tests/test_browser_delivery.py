"""With the partial plotly.js bundle and compressed responses, the figures keep every feature:
hover labels, the modebar, PNG export from the modebar and the SVG download -- under the CSP,
with no console error and nothing fetched from off the machine.  Plus a 390 px screenshot of
/effects (tests/screenshots/effects-390-delivery.png) to look at.
"""

from __future__ import annotations

import pytest
import test_browser as tb
from app_fixtures import *  # noqa: F403  (artifact_dir)

from components import delivery

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(artifact_dir, tmp_path_factory):
    if delivery.plotly_bundle() is None:
        import subprocess

        subprocess.run(["make", "plotly"], cwd=tb.PROJECT_ROOT, check=True)
    with tb.serve(artifact_dir, tmp_path_factory.mktemp("delivery") / "app.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = tb.launch(p)
        yield b
        b.close()


def test_partial_bundle_keeps_hover_modebar_png_and_svg(browser, server):
    from plotly.offline import get_plotlyjs_version

    w = tb.Watched(browser)
    try:
        encodings = {}
        w.page.on(
            "response",
            lambda r: encodings.__setitem__(r.url, r.headers.get("content-encoding", "")),
        )
        w.goto(server + "/effects", "#effects-forest .main-svg .trace")
        page = w.page
        version, traces = page.evaluate(
            "() => [Plotly.version, Object.keys(Plotly.PlotSchema.get().traces).sort()]"
        )
        assert version == get_plotlyjs_version()
        assert traces == ["bar", "pie", "scatter"]  # the basic dist, not the full one
        plotly_url = next(u for u in encodings if u.endswith(delivery.PLOTLY_PATH))
        assert encodings[plotly_url] == "br"

        # hover: a label appears over a point of the forest plot
        point = page.locator("#effects-forest .scatterlayer .trace .points path").first
        box = point.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector("#effects-forest .hoverlayer .hovertext", timeout=10000)

        # the modebar, and PNG export from its camera button
        graph = page.locator("#effects-forest .js-plotly-plot")
        graph.hover()
        camera = page.locator("#effects-forest .modebar-btn[data-title*='PNG' i]")
        assert camera.count() == 1
        with page.expect_download(timeout=30000) as dl:
            camera.click()
        png = dl.value
        # named after the view on screen (the default: DiD, wild bootstrap)
        assert png.suggested_filename.startswith("amk-fe-effects-did-wild-"), png.suggested_filename
        assert png.suggested_filename.endswith(".png")
        assert open(png.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"

        # the SVG download button next to the figure: the same name
        svg_button = (
            page.locator("#effects-forest")
            .locator("xpath=ancestor::div[contains(@class,'figure-block')]")
            .get_by_role("button", name="download SVG")
        )
        with page.expect_download(timeout=30000) as dl:
            svg_button.click()
        svg = dl.value
        assert svg.suggested_filename == png.suggested_filename[: -len("png")] + "svg"
        assert b"<svg" in open(svg.path(), "rb").read(400)

        # another view: both exports follow it (the name travels in the figure, and the
        # graph's config, which would make plotly.js redraw from scratch, stays the same)
        page.select_option("#effects-method", "ancova")
        page.wait_for_function("() => location.search.includes('method=ancova')")
        page.wait_for_function(
            "() => (document.querySelector('#effects-forest .js-plotly-plot').layout.meta || {})"
            ".filename.includes('-ancova-')",
            timeout=20000,
        )
        graph.hover()
        with page.expect_download(timeout=30000) as dl:
            camera.click()
        assert dl.value.suggested_filename.startswith("amk-fe-effects-ancova-"), (
            dl.value.suggested_filename
        )
        with page.expect_download(timeout=30000) as dl:
            svg_button.click()
        assert dl.value.suggested_filename.startswith("amk-fe-effects-ancova-")
        assert dl.value.suggested_filename.endswith(".svg")
        w.check()
    finally:
        w.close()


def test_effects_at_390px_stays_usable(browser, server):
    w = tb.Watched(browser, width=390, height=844)
    try:
        w.goto(server + "/effects", "#effects-forest .main-svg .trace")
        page = w.page
        # nothing wider than the screen except inside scrollable tables
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= 392, overflow
        fig = page.locator("#effects-forest .main-svg").first.bounding_box()
        assert fig["width"] <= 390 and fig["height"] > 150
        tb.SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(tb.SHOTS / "effects-390-delivery.png"), full_page=True)
        w.check()
    finally:
        w.close()


def test_first_load_has_no_router_round_trip_and_navigation_still_routes(browser, server):
    """The layout response carries the page (app.page_container): on first load Dash's pages
    router callback does not run, nor the page's URL writer (only a change of a control
    runs it); links within the app still go through the router; and a layout made for
    another address than the browser's (a Referer rewritten on the way) is corrected."""
    import json

    w = tb.Watched(browser)
    try:
        outputs: list[str] = []

        def record(req):
            if "_dash-update-component" in req.url:
                outputs.append(json.loads(req.post_data or "{}").get("output", ""))

        w.page.on("request", record)
        w.goto(server + "/effects?method=ancova", "#effects-forest .main-svg .trace")
        w.page.wait_for_timeout(800)
        assert w.page.input_value("#effects-method") == "ancova"
        assert not [o for o in outputs if "_pages_content" in o or "effects-forest" in o], outputs
        # a link within the app: the router makes the page
        w.page.click("a.nav-link[href^='/breakdowns']")
        w.page.wait_for_selector("#breakdowns-branch-figure .main-svg .trace", timeout=30000)
        assert [o for o in outputs if "_pages_content" in o]
        assert "/breakdowns" in w.page.url and w.page.locator("#effects-forest").count() == 0
        w.page.go_back()
        w.page.wait_for_selector("#effects-forest .main-svg .trace", timeout=30000)
        assert w.page.input_value("#effects-method") == "ancova"
        w.check()
    finally:
        w.close()

    w = tb.Watched(browser)
    try:
        # the layout asked for by /effects, made as if /breakdowns had asked
        def other_page(route):
            made = route.fetch(headers={**route.request.headers, "referer": server + "/breakdowns"})
            served.append("breakdowns-method" in made.text())
            route.fulfill(response=made)

        served: list[bool] = []
        w.context.route("**/_dash-layout", other_page)
        w.goto(server + "/effects", "#effects-forest .main-svg .trace")
        assert served == [True]
        assert w.page.locator("#breakdowns-method").count() == 0
        assert w.page.url.endswith("/effects")
        w.check()
    finally:
        w.close()


# when each graph's first trace appears (performance.now()), from before the page's scripts
DRAWN = """(() => {
  window.__drawn = {};
  new MutationObserver(() => {
    document.querySelectorAll('.dash-graph').forEach(g => {
      if (!window.__drawn[g.id] && g.querySelector('.main-svg .trace')) {
        window.__drawn[g.id] = performance.now();
      }
    });
  }).observe(document, {childList: true, subtree: true});
})()"""


def _held(server: str, page: str, gid: str) -> dict:
    """The figure the layout's store holds for a later graph (components.later)."""
    import json
    import urllib.request

    from app_fixtures import find_in_json

    from components.later import store_id

    req = urllib.request.Request(server + "/_dash-layout", headers={"Referer": server + page})
    with urllib.request.urlopen(req) as r:
        found = find_in_json(json.loads(r.read()), store_id(gid))
    assert found is not None
    return found["props"]["data"]


@pytest.mark.parametrize(
    "page, first, later_ids",
    [
        ("/effects", "effects-forest", ["effects-means"]),
        (
            "/breakdowns",
            "breakdowns-branch-figure",
            ["breakdowns-province-figure", "breakdowns-sex-figure"],
        ),
        # a study without branches: the province chart is the page's first figure
        ("/breakdowns?study=proirri", "breakdowns-province-figure", []),
    ],
)
def test_the_first_figure_is_drawn_before_the_later_ones_which_then_arrive(
    browser, server, page, first, later_ids
):
    """The page's main figure draws first; each later figure then gets the layout's figure
    (components.later); no @babel/polyfill ran (core-js leaves its shared store on window),
    the regenerator runtime did; tick labels are never hidden (the template's
    ticklabeloverflow)."""
    w = tb.Watched(browser)
    try:
        w.page.add_init_script(DRAWN)
        w.goto(server + page, f"#{first} .main-svg .trace")
        for gid in later_ids:
            w.page.wait_for_selector(f"#{gid} .main-svg .trace", timeout=15000)
        assert "figure-later" not in w.page.get_attribute(f"#{first}", "class")
        drawn = w.page.evaluate("() => window.__drawn")
        assert all(drawn[first] < drawn[gid] for gid in later_ids), drawn
        for gid in later_ids:
            held = _held(server, page, gid)
            shown = w.page.evaluate(
                """id => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');
                           return [gd.data.length, gd.layout.meta, gd._fullLayout.height]; }""",
                gid,
            )
            assert shown == [len(held["data"]), held["layout"]["meta"], held["layout"]["height"]]
        state = w.page.evaluate(
            """id => [typeof window.regeneratorRuntime, '__core-js_shared__' in window,
                      document.querySelector('#' + id + ' .js-plotly-plot')._fullLayout.yaxis.ticklabeloverflow]""",
            first,
        )
        assert state == ["object", False, "allow"], state
        w.check()
    finally:
        w.close()


def test_a_later_figure_is_not_handed_over_once_the_graph_shows_another(browser, server):
    """The hand-over resolves with the stored figure only while the graph shows its blank:
    a figure a callback put there first (a user quicker than the first figure) stays."""
    import hashlib

    from components.later import _HAND_OVER

    name = hashlib.sha256(_HAND_OVER.encode()).hexdigest()
    w = tb.Watched(browser)
    try:
        w.goto(server + "/effects", "#effects-means .main-svg .trace")
        call = """async ([name, blank]) => {
            const gd = document.querySelector('#effects-means .js-plotly-plot');
            if (blank) { await Plotly.react(gd, [], {meta: {later: true}, height: 300}); }
            const f = window.dash_clientside._dashprivate_clientside_funcs[name];
            const out = await f({data: [], layout: {meta: {filename: 'handed'}}}, 'effects-means');
            return out === window.dash_clientside.no_update ? 'no_update' : out.layout.meta.filename;
        }"""
        assert w.page.evaluate(call, [name, False]) == "no_update"
        assert w.page.evaluate(call, [name, True]) == "handed"
        w.check()
    finally:
        w.close()
