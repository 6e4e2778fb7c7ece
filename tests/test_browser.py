"""A real-browser walk: the app served in a subprocess, driven by Playwright with the
OS's Chromium.  Every request that leaves the machine is blocked and fails the test.

Screenshots of every page at 1366x768 and 390 px wide go to tests/screenshots/.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)

from analysis.artifacts import load_artifacts
from analysis.paths import PROJECT_ROOT, study_build_dir
from bench.chromium import CHROMIUM, CHROMIUM_ARGS, launch  # noqa: F401  (re-exported)
from components.views import Spec, select

pytestmark = pytest.mark.browser

AXE = PROJECT_ROOT / "build" / "vendor" / "axe.min.js"
SHOTS = PROJECT_ROOT / "tests" / "screenshots"
PAGES = {
    "/": "#overview-findings",
    "/results-chain": ".chain-diagram",
    "/effects": "#effects-forest .main-svg",
    "/breakdowns": "#breakdowns-branch-figure .main-svg",
    "/methods": "#methods-flow-figure .main-svg",
}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(build_dir: Path, log: Path):
    """``python app.py`` on a free loopback port reading ``build_dir``; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "AMK_BUILD_DIR": str(build_dir), "HOST": "127.0.0.1", "PORT": str(port)}
    env.pop("DASH_DEBUG", None)
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    text = log.read_text()
    assert "Traceback" not in text, f"the server logged an error:\n{text[-3000:]}"


@pytest.fixture(scope="module")
def server(artifact_dir, tmp_path_factory):
    """The app serving the session's artefacts."""
    with serve(artifact_dir, tmp_path_factory.mktemp("server") / "app.log") as base:
        yield base


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():  # fetched from the npm registry by the Makefile rule
        subprocess.run(["make", "build/vendor/axe.min.js"], cwd=PROJECT_ROOT, check=True)
    return AXE.read_text()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


class Watched:
    """A page whose console errors and non-local requests are recorded."""

    def __init__(self, browser, width=1366, height=768, bypass_csp=False):
        # bypass_csp only for injecting axe-core: the app's CSP rightly blocks injected scripts
        self.context = browser.new_context(
            viewport={"width": width, "height": height},
            accept_downloads=True,
            bypass_csp=bypass_csp,
        )
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob") or parsed.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def goto(self, url, ready):
        self.page.goto(url, wait_until="networkidle")
        self.page.wait_for_selector(ready, timeout=20000)

    def check(self):
        assert not self.blocked, f"requests left the machine: {self.blocked}"
        assert not self.errors, f"console errors: {self.errors}"

    def close(self):
        self.context.close()


@pytest.fixture
def watched(browser):
    w = Watched(browser)
    yield w
    w.close()


@pytest.fixture(scope="module")
def table(artifact_dir):
    a = load_artifacts(study_build_dir())
    assert a.ok
    return a.results


def _figure_points(page, graph_id):
    """{outcome: x} of the forest plot's points, read from the live plotly figure."""
    return page.evaluate(
        """(id) => {
            const gd = document.getElementById(id).querySelector('.js-plotly-plot');
            const out = {};
            for (const tr of gd.data) {
                if (tr.meta && tr.meta.role === 'point') {
                    tr.customdata.forEach((o, i) => { out[o] = tr.x[i]; });
                }
            }
            return out;
        }""",
        graph_id,
    )


def _figure_meta(page, graph_id):
    return page.evaluate(
        "(id) => (document.getElementById(id).querySelector('.js-plotly-plot').layout.meta || {})",
        graph_id,
    )


def _wait_scale(page, graph_id, scale):
    page.wait_for_function(
        "([id, s]) => { const gd = document.getElementById(id).querySelector('.js-plotly-plot'); return gd && gd.layout && gd.layout.meta && gd.layout.meta.scale === s; }",
        arg=[graph_id, scale],
        timeout=20000,
    )


def _wait_point(page, graph_id, outcome, value):
    page.wait_for_function(
        """([id, o, v]) => {
            const gd = document.getElementById(id).querySelector('.js-plotly-plot');
            for (const tr of (gd && gd.data) || []) {
                if (tr.meta && tr.meta.role === 'point') {
                    const i = tr.customdata.indexOf(o);
                    if (i >= 0 && Math.abs(tr.x[i] - v) < 1e-9) return true;
                }
            }
            return false;
        }""",
        arg=[graph_id, outcome, value],
        timeout=20000,
    )


def _settle(page):
    """Wait until no callback output is pending (as a user would before the next control)."""
    page.wait_for_timeout(150)
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading]')", timeout=20000)


def _tick_branches(page, *, keep=None, drop=()) -> list[str]:
    """On Breakdowns, leave ticked in the branch checklist exactly the branches in ``keep``
    (or all but those in ``drop``), clicking each box as a user would; wait until the
    address names them and the page has settled.  Returns the branches kept, in the
    checklist's order."""
    names = [n.strip() for n in page.locator("#breakdowns-branches label").all_inner_texts()]
    kept = [n for n in names if (n in keep if keep is not None else n not in drop)]
    assert kept and len(kept) < len(names), f"choose some of the branches {names}, not {kept}"
    for n in names:
        page.get_by_label(n, exact=True).set_checked(n in kept)
    page.wait_for_function(
        """(kept) => {
            const q = (new URLSearchParams(location.search).get('branches') || '').split(',');
            return q.length === kept.length && kept.every(b => q.includes(b));
        }""",
        arg=kept,
        timeout=20000,
    )
    _settle(page)
    return kept


# ---------------------------------------------------------------- the walk


def test_every_page_loads_offline_without_console_errors(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height, tag in ((1366, 768, "1366x768"), (390, 844, "390w")):
        w = Watched(browser, width, height)
        try:
            for path, ready in PAGES.items():
                w.goto(server + path, ready)
                w.page.wait_for_timeout(300)
                assert "Demonstration data" in w.page.inner_text("#provenance-label")
                overflow = w.page.evaluate(
                    "document.documentElement.scrollWidth - window.innerWidth"
                )
                assert overflow <= 1, f"{path} scrolls sideways at {tag} ({overflow}px)"
                name = path.strip("/") or "overview"
                w.page.screenshot(path=str(SHOTS / f"{name}-{tag}.png"), full_page=True)
            w.check()
        finally:
            w.close()


def test_filter_change_updates_figure_and_url(watched, server, table):
    page = watched.page
    # natural units, as estimated (the defaults are standardised, improvement: test_display.py)
    watched.goto(server + "/effects?scale=natural&direction=estimate", PAGES["/effects"])
    before = _figure_points(page, "effects-forest")
    main = select(table, Spec()).set_index("outcome")
    assert before == pytest.approx(main["estimate"].to_dict())
    page.select_option("#effects-scale", "std")
    _wait_scale(page, "effects-forest", "std")
    # standardised is the default: the address drops the scale
    page.wait_for_function("() => !location.search.includes('scale=')")
    after = _figure_points(page, "effects-forest")
    assert after == pytest.approx(_std_points(main))
    page.select_option("#effects-method", "ancova")
    page.wait_for_function("() => location.search.includes('method=ancova')")
    anc = select(table, Spec(method="ancova")).set_index("outcome")
    _wait_point(
        page, "effects-forest", "late_instalments", float(anc.loc["late_instalments", "effect_std"])
    )
    assert _figure_points(page, "effects-forest") == pytest.approx(_std_points(anc))
    # the grid follows the estimator (its rows arrive a frame after the plot is redrawn)
    want = select(table, Spec(method="ancova")).set_index("short")["estimate"]
    _wait_grid_effects(page, want.to_dict())
    watched.check()


def _wait_grid_effects(page, want: dict, timeout_s: float = 15) -> None:
    """Wait until every row of the effects grid shows the effect ``want`` gives its outcome
    (short label -> estimate), as displayed (three decimals)."""
    deadline, shown = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        shown = {r.get("outcome"): r.get("effect") for r in _grid_rows(page)}
        try:
            got = {k: float(v.replace("−", "-").replace(",", "")) for k, v in shown.items()}
        except (AttributeError, ValueError):
            got = {}
        if set(got) == set(want) and all(abs(got[k] - want[k]) <= 0.0006 for k in want):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the grid shows {shown}, not {want}")


def _std_points(rows: pd.DataFrame) -> dict:
    """Standardised points: an index is already in comparison-baseline SDs, so it is its estimate."""
    return rows["estimate"].where(rows["is_index"], rows["effect_std"]).to_dict()


def test_choosing_the_late_leaves_only_the_inference_it_uses(watched, server, table):
    """Estimator menu -> LATE: the Inference menu offers cluster-robust errors only, selected,
    and the caption says the same; back to DiD, both are offered again."""
    page = watched.page
    watched.goto(server + "/effects?scale=natural&direction=estimate", PAGES["/effects"])
    assert page.input_value("#effects-inference") == "wild"
    late = "late" if "late" in set(table["method"]) else "tot"
    page.select_option("#effects-method", late)
    page.wait_for_function(
        "() => document.querySelectorAll('#effects-inference option:not(:disabled)').length === 1"
    )
    assert page.input_value("#effects-inference") == "cluster"
    page.wait_for_function(
        "() => document.getElementById('effects-forest-caption').innerText.includes('cluster-robust')"
    )
    assert "bootstrap" not in page.inner_text("#effects-inference")
    assert "effect on compliers" in page.inner_text("#effects-method").lower()
    rows = select(table, Spec(method=late, inference="cluster")).set_index("outcome")
    _wait_point(
        page, "effects-forest", "late_instalments", float(rows.loc["late_instalments", "estimate"])
    )
    page.select_option("#effects-method", "did")
    page.wait_for_function(
        "() => document.querySelectorAll('#effects-inference option:not(:disabled)').length === 2"
    )
    # back on DiD: its default (the wild bootstrap) again, not the errors the LATE forced;
    # the address, the caption and the plotted intervals follow
    assert page.input_value("#effects-inference") == "wild"
    _wait_query(page, method=None, inference=None)
    page.wait_for_function(
        "() => document.getElementById('effects-forest-caption').innerText.includes('bootstrap')"
    )
    _wait_intervals(page, "effects-forest", select(table, Spec(method="did", inference="wild")))
    # a choice the user made is kept through the LATE by an estimator that offers it
    page.select_option("#effects-inference", "cluster")
    _wait_query(page, method=None, inference="cluster")
    page.select_option("#effects-method", late)
    _wait_query(page, method=late, inference="cluster")
    page.select_option("#effects-method", "ancova")
    _wait_query(page, method="ancova", inference="cluster")
    assert page.input_value("#effects-inference") == "cluster"
    _wait_intervals(
        page, "effects-forest", select(table, Spec(method="ancova", inference="cluster"))
    )
    watched.check()


def _wait_query(page, **want):
    """Wait until the address has exactly these values (None: the key is absent)."""
    page.wait_for_function(
        """(want) => {
            const q = new URLSearchParams(location.search);
            return Object.entries(want).every(([k, v]) => q.get(k) === v);
        }""",
        arg=want,
        timeout=20000,
    )


def _wait_intervals(page, graph_id, rows: pd.DataFrame, level: str = "95"):
    """Wait until the forest plot's ``level``% intervals (natural units, as estimated) are
    those of ``rows``, the results-table rows of one view; the last ones drawn if not."""
    want = [
        v
        for p in sorted(zip(rows[f"ci{level}_low"], rows[f"ci{level}_high"], strict=True))
        for v in p
    ]
    read = """([id, lev]) => {
        const gd = document.getElementById(id).querySelector('.js-plotly-plot');
        const out = [];
        for (const tr of (gd && gd.data) || []) {
            if (tr.meta && tr.meta.role === 'interval' && tr.meta.level === lev) {
                for (let i = 0; i + 1 < tr.x.length; i += 3) out.push([tr.x[i], tr.x[i + 1]]);
            }
        }
        return out;
    }"""
    got = []
    for _ in range(100):
        got = [v for p in sorted(map(tuple, page.evaluate(read, [graph_id, level]))) for v in p]
        if len(got) == len(want) and got == pytest.approx(want):
            return
        page.wait_for_timeout(200)
    assert got == pytest.approx(want)


def test_deep_link_restores_the_view(watched, server, table):
    page = watched.page
    watched.goto(
        server
        + "/effects?method=ipw_did&wave=1&inference=cluster&scale=pct&level=99&mt=qf&outcome=insurance_any"
        + "&direction=estimate",
        PAGES["/effects"],
    )
    values = {
        k: page.input_value(f"#effects-{k}")
        for k in ("method", "wave", "inference", "scale", "level", "mt", "outcome")
    }
    assert values == {
        "method": "ipw_did",
        "wave": "1",
        "inference": "cluster",
        "scale": "pct",
        "level": "99",
        "mt": "qf",
        "outcome": "insurance_any",
    }
    assert _figure_meta(page, "effects-forest") == {
        "scale": "pct",
        "view": "qf",
        "direction": "estimate",
        # the PNG/SVG export's file name names the view too (components/export.py)
        "filename": "amk-fe-effects-ipw-did-cluster-midline-pct-estimate",
    }
    rows = select(table, Spec(method="ipw_did", inference="cluster", wave=1)).set_index("outcome")
    want = {
        o: v
        for o, v in rows["effect_pct"].items()
        if not o.startswith("index_") and o != "log_income"
    }
    assert _figure_points(page, "effects-forest") == pytest.approx(want)
    assert "Insurance take-up" in page.inner_text("#effects-detail-title")
    assert page.is_hidden("#effects-notes") or not page.inner_text("#effects-notes").strip()
    watched.check()


def test_invalid_link_value_shows_note_and_default(watched, server):
    page = watched.page
    watched.goto(server + "/effects?method=nonsense&scale=natural", PAGES["/effects"])
    assert "Unknown estimator 'nonsense'" in page.inner_text("#effects-notes")
    assert page.input_value("#effects-method") == "did"
    watched.check()


def _grid_rows(page):
    """(outcome, displayed effect text) of every row of the effects table, in display order."""
    return page.evaluate(
        """() => {
            const rows = {};
            document.querySelectorAll('#effects-grid [role=row][row-index]').forEach(r => {
                const i = r.getAttribute('row-index');
                rows[i] = rows[i] || {};
                const o = r.querySelector('[col-id=outcome]');
                const e = r.querySelector('[col-id=effect]');
                if (o) rows[i].outcome = o.innerText.trim();
                if (e) rows[i].effect = e.innerText.trim();
            });
            return Object.keys(rows).sort((a, b) => a - b).map(k => rows[k]);
        }"""
    )


def test_csv_download_arrives_and_matches_the_table(watched, server, table):
    page = watched.page
    watched.goto(server + "/effects?wave=1&scale=std", PAGES["/effects"])
    page.wait_for_selector("#effects-grid [col-id=effect]")
    shown = _grid_rows(page)
    assert len(shown) == table["outcome"].nunique()
    with page.expect_download() as info:
        page.click("#effects-csv-button")
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith('"Demonstration data')
    csv = pd.read_csv(io.StringIO(text), skiprows=1)
    assert "client_id" not in csv.columns
    assert list(csv["outcome"]) == [r["outcome"] for r in shown]
    for row, (_, c) in zip(shown, csv.iterrows(), strict=True):
        displayed = float(row["effect"].replace("−", "-").replace(",", ""))
        assert displayed == pytest.approx(c["effect"], abs=0.0006)
    # the effect in the outcome's own unit, and the plot's standardised number beside it
    want = select(table, Spec(wave=1)).set_index("short")
    for _, c in csv.iterrows():
        t = want.loc[c["outcome"]]
        assert c["effect"] == pytest.approx(t["estimate"])
        assert c["unit"] == t["unit"]
        std = t["estimate"] if t["is_index"] else t["effect_std"]
        assert c["effect_std"] == pytest.approx(std)
    watched.check()


def test_breakdowns_branch_filter_updates_figure_and_url(watched, server):
    page = watched.page
    watched.goto(server + "/breakdowns?outcome=insurance_any", PAGES["/breakdowns"])
    _tick_branches(page, drop=["Baray"])
    page.wait_for_function(
        "() => { const gd = document.querySelector('#breakdowns-branch-figure .js-plotly-plot'); const raw = gd.data.find(t => t.meta && t.meta.role === 'raw'); return raw && !raw.customdata.includes('Baray'); }",
        timeout=20000,
    )
    assert "Baray" not in page.inner_text("#breakdowns-branch-table")
    search = page.evaluate("location.search")
    page.goto(server + "/breakdowns" + search, wait_until="networkidle")
    page.wait_for_selector(PAGES["/breakdowns"])
    assert not page.get_by_label("Baray", exact=True).is_checked()
    assert page.get_by_label("Santuk", exact=True).is_checked()
    assert page.input_value("#breakdowns-outcome") == "insurance_any"
    watched.check()


def test_results_chain_node_by_mouse_and_keyboard(watched, server):
    page = watched.page
    watched.goto(server + "/results-chain", PAGES["/results-chain"])
    page.get_by_role("button", name=re.compile(r"^Risk management")).click()
    page.wait_for_function("() => location.search.includes('node=risk-management')")
    page.wait_for_function(
        "() => document.querySelector('#chain-detail-title').innerText.includes('Risk management')"
    )
    page.get_by_role("button", name=re.compile(r"^Clients reached")).focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('node=clients-reached')")
    assert "received" in page.inner_text("#chain-detail")
    watched.check()


@pytest.fixture
def axe_watched(browser):
    w = Watched(browser, bypass_csp=True)
    yield w
    w.close()


@pytest.mark.parametrize("path", list(PAGES))
def test_axe_finds_no_serious_or_critical_violations(axe_watched, server, axe_source, path):
    watched = axe_watched
    page = watched.page
    watched.goto(server + path, PAGES[path])
    page.add_script_tag(content=axe_source)
    violations = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))}));
        }"""
    )
    assert violations == [], violations
    watched.check()


def test_pages_run_under_the_content_security_policy(watched, server):
    """Every page is served with a CSP; pages load under it with no violation (console errors)."""
    import urllib.request

    with urllib.request.urlopen(server + "/") as resp:
        csp = resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self' 'sha256-" in csp and "unsafe-eval" not in csp
    for path, ready in PAGES.items():
        watched.goto(server + path, ready)
    watched.check()


def test_overview_wave_link_changes_headline_and_url(watched, server):
    page = watched.page
    watched.goto(server + "/", PAGES["/"])
    assert "By the endline survey" in page.inner_text("#overview-findings")
    page.get_by_role("link", name="Midline vs baseline").click()
    page.wait_for_function("() => location.search === '?wave=1'")
    page.wait_for_function(
        "() => document.querySelector('#overview-findings').innerText.includes('By the midline survey')"
    )
    watched.check()


def test_missing_artifacts_give_a_rebuild_message_not_numbers(browser, tmp_path):
    empty = tmp_path / "empty_build"
    empty.mkdir()
    with serve(empty, tmp_path / "app.log") as base:
        w = Watched(browser)
        try:
            for path in PAGES:
                w.goto(base + path, "#main h1")
                text = w.page.inner_text("#main")
                assert "The results cannot be shown" in text and "make data" in text
                assert w.page.locator(".js-plotly-plot").count() == 0
            w.check()
        finally:
            w.close()


def test_effects_table_never_prints_a_nonzero_bound_as_zero(watched, server, table):
    """The grid formats numbers in the browser (d3): a 95% bound such as −0.00004 must not read
    "−0.000" or "0.000" there either."""
    rows = table[(table["sample_type"] == "all") & ~table["suppressed"]]
    tiny = rows[(rows["ci95_high"].abs() < 0.0005) & (rows["ci95_high"] != 0)]
    if tiny.empty:
        pytest.skip("no 95% bound within 0.0005 of zero in these results")
    r = tiny.iloc[0]
    page = watched.page
    watched.goto(
        server + f"/effects?method={r['method']}&inference={r['inference']}&wave={int(r['wave'])}",
        "#effects-grid .ag-row",
    )
    page.wait_for_timeout(500)
    names = page.evaluate(
        "() => Array.from(document.querySelectorAll('#effects-grid .ag-pinned-left-cols-container .ag-row')).map(x => x.innerText.trim())"
    )
    highs = page.evaluate(
        "() => Array.from(document.querySelectorAll('#effects-grid .ag-center-cols-container .ag-cell[col-id=\"ci95_high\"]')).map(x => x.innerText.trim())"
    )
    shown = dict(zip(names, highs, strict=True))[r["short"]]
    value = float(shown.replace("−", "-").replace(",", ""))
    assert value != 0 and abs(value - r["ci95_high"]) <= 0.05 * abs(r["ci95_high"]), shown
    watched.check()


@pytest.mark.parametrize("width", [1366, 390])
def test_term_explanations_show_on_pointer_focus_and_tap_inside_the_window(browser, server, width):
    """Each (?) after a term explains it in a tooltip (assets/tooltips.js): on pointing, on
    keyboard focus and on a tap; the tooltip holds the glossary's sentence for that term,
    lies inside the window, and goes on leaving it, on Escape and on a tap elsewhere."""
    from components.layout import glossary

    watched = Watched(browser, width=width, height=800)
    try:
        page = watched.page
        watched.goto(server + "/effects", PAGES["/effects"])
        helps = page.locator(".term-help")
        tip = page.locator("#amk-tip")
        shown = 0
        for i in range(helps.count()):
            h = helps.nth(i)
            if not h.is_visible():
                continue
            key = h.get_attribute("id").rsplit("-tip-", 1)[1]
            h.hover()
            tip.wait_for(state="visible", timeout=2000)
            assert tip.inner_text() == glossary(key)
            box, term_box = tip.bounding_box(), h.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (key, box)
            # beside its term: above it or below it, and across it
            assert (
                box["y"] + box["height"] <= term_box["y"]
                or box["y"] >= term_box["y"] + term_box["height"]
            )
            assert (
                box["x"] <= term_box["x"] + term_box["width"]
                and term_box["x"] <= box["x"] + box["width"]
            )
            shown += 1
        assert shown >= 6, f"only {shown} (?) shown on /effects at {width} px"
        page.mouse.move(1, 1)
        tip.wait_for(state="hidden", timeout=2000)
        # keyboard: Tab reaches a (?), its tooltip shows; Escape hides it
        first = helps.first
        first.focus()
        tip.wait_for(state="visible", timeout=2000)
        page.keyboard.press("Escape")
        tip.wait_for(state="hidden", timeout=2000)
        # a tap shows it, a tap elsewhere hides it
        first.click()
        tip.wait_for(state="visible", timeout=2000)
        page.locator("h1").click()
        tip.wait_for(state="hidden", timeout=2000)
        watched.check()
    finally:
        watched.close()


# every header and value of the Effects grid shown whole: the text's own width against its
# cell's (the columns are fitted on the server, components.layout.fitted_columns)
_CUT_IN_GRID = """() => {
    const cut = [];
    document.querySelectorAll('#effects-grid .ag-header-cell-text').forEach(e => {
        if (e.scrollWidth > e.clientWidth + 1) { cut.push('header ' + e.innerText); }
    });
    document.querySelectorAll('#effects-grid .ag-cell').forEach(cell => {
        const r = document.createRange();
        r.selectNodeContents(cell.querySelector('.ag-cell-value') || cell);
        const pad = parseFloat(getComputedStyle(cell).paddingLeft) + parseFloat(getComputedStyle(cell).paddingRight);
        if (r.getBoundingClientRect().width > cell.clientWidth - pad + 1) { cut.push(cell.innerText); }
    });
    return [document.querySelectorAll('#effects-grid .ag-cell').length, cut];
}"""


@pytest.mark.parametrize("query", ["", "?scale=pct&level=99", "?scale=natural&method=late"])
def test_effects_grid_shows_every_header_and_value_whole(watched, server, query):
    page = watched.page
    watched.goto(server + "/effects" + query, PAGES["/effects"])
    page.wait_for_selector("#effects-grid .ag-row .ag-cell", timeout=20000)
    cells, cut = page.evaluate(_CUT_IN_GRID)
    assert cells > 50
    assert cut == [], f"text cut in the grid: {cut[:6]}"
    watched.check()
