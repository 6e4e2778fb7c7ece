"""The dashboard as a user's browser sees it: page weight, load times, interaction latency.

Headless Chromium (the OS's, through Playwright) against the app served by gunicorn on
loopback, and -- in the same run -- against the floor app (``bench/floor_app.py``: one
``dcc.Graph`` with the same figure JSON, compressed, the same plotly.js bundle).

For each page (``/``, ``/effects``, ``/breakdowns``, ``/results-chain``):

* cold cache (a fresh browser context): bytes over the wire (the encoded, i.e. compressed,
  sizes Chromium reports) and requests, until the network is quiet after the first figure;
* time from navigation start until the first figure has drawn its traces (on ``/`` the
  headline findings), with no throttling and with the "slow 4G" profile Lighthouse uses
  for mobile (1.6 Mbps down, 750 kbps up, 150 ms round trip), applied with the Chrome
  DevTools Protocol's ``Network.emulateNetworkConditions``;
* warm cache (the second visit in the same context), slow 4G: the same time;
* the slow-4G cold and warm times are each the median of ``VISITS`` such pairs of visits (a
  fresh context each), the single visits kept beside it (``slow4g_cold_runs``,
  ``slow4g_warm_runs``): one visit of a page swings by 0.3-0.5 s on a shared two-core
  machine, more than the differences the targets are about (the floor app alike);

and interaction: a filter change (estimator, wave, outcome, branch) until plotly has
redrawn the figure (``plotly_afterplot``), p50/p95 over >= 30 changes, no throttling; the
floor app's figure is swapped by a radio button's callback.  Both apps are measured the
same way and in turn (a dashboard visit, a floor visit, ...): four page loads each, each
followed by a quarter of the changes, each change made once the graph has been still for
``QUIET_MS`` (a user reads a chart before changing it).

Every request that does not go to 127.0.0.1 is aborted (and counted as a failure).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from bench.chromium import launch
from bench.loadgen import PROJECT_ROOT, Gunicorn

# Lighthouse's mobile "slow 4G" (Lighthouse docs, throttling.md): 1.6 Mbps down, 750 kbps up,
# 150 ms round trip; CDP takes bytes per second and milliseconds
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6e6 / 8,
    "uploadThroughput": 750e3 / 8,
}
NO_THROTTLE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
# pairs of slow-4G visits (cold, then warm) per page; their medians are reported
VISITS = 3

# page -> CSS selector that is present once the first figure has drawn its traces
# (on / the headline findings); and the graph the floor app stands in for
PAGES: dict[str, tuple[str, str | None]] = {
    "/": ("#overview-findings", None),
    "/effects": ("#effects-forest .main-svg .trace", "effects-forest"),
    "/breakdowns": ("#breakdowns-branch-figure .main-svg .trace", "breakdowns-branch-figure"),
    "/results-chain": ("#chain-detail-figure .main-svg .trace", "chain-detail-figure"),
}
# which floor a page is compared with (/ draws no figure: the effects floor, the page it leads to)
FLOOR_OF = {"/": "/effects"}

# interactions: (page, control id, values cycled through, graph that must redraw)
INTERACTIONS = [
    ("/effects", "effects-method", ["ancova", "did"], "effects-forest"),
    ("/effects", "effects-wave", ["1", "2"], "effects-forest"),
    ("/effects", "effects-outcome", None, "effects-means"),
    ("/breakdowns", "breakdowns-branches", None, "breakdowns-branch-figure"),
]

# Injected before any page script: records when the ready selector first matches
# (performance.now() is measured from navigation start) and when each 'change' event fires.
INIT_SCRIPT = """
(() => {
  window.__bench = {first: null, change: null};
  const sel = %s;
  const check = () => {
    if (window.__bench.first === null && sel && document.querySelector(sel)) {
      window.__bench.first = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {childList: true, subtree: true, attributes: false});
  document.addEventListener('change', () => { window.__bench.change = performance.now(); }, true);
})();
"""


class Browser:
    def __init__(self, playwright):
        self.browser = launch(playwright)
        self.blocked: list[str] = []

    def context(self):
        # no ctx.route() here: Playwright switches the HTTP cache off when requests are
        # intercepted, and the warm-cache figures need it (requests off the machine are
        # recorded by Visit instead)
        return self.browser.new_context(viewport={"width": 1366, "height": 900})

    def close(self):
        self.browser.close()


class Visit:
    """One page load in ``ctx`` with network accounting through CDP."""

    def __init__(self, ctx, ready: str, network: dict, offsite: list[str] | None = None):
        self.offsite = offsite if offsite is not None else []
        self.page = ctx.new_page()
        self.page.add_init_script(INIT_SCRIPT % json.dumps(ready))
        self.cdp = ctx.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.emulateNetworkConditions", network)
        self.requests: dict[str, dict] = {}
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.ready = ready

    def _sent(self, ev):
        parsed = urlparse(ev["request"]["url"])
        if parsed.scheme not in ("data", "blob") and parsed.hostname != "127.0.0.1":
            self.offsite.append(ev["request"]["url"])
        self.requests.setdefault(ev["requestId"], {"url": ev["request"]["url"], "bytes": 0})

    def _response(self, ev):
        r = self.requests.setdefault(ev["requestId"], {"url": ev["response"]["url"], "bytes": 0})
        r["status"] = ev["response"]["status"]
        r["cached"] = bool(
            ev["response"].get("fromDiskCache") or ev["response"].get("fromMemoryCache")
        )
        headers = {k.lower(): v for k, v in ev["response"].get("headers", {}).items()}
        r["encoding"] = headers.get("content-encoding", "")

    def _finished(self, ev):
        if ev["requestId"] in self.requests:
            self.requests[ev["requestId"]]["bytes"] = ev["encodedDataLength"]

    def load(self, url: str, timeout_s: float) -> float:
        """Navigate; seconds from navigation start until the ready selector matched."""
        self.page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        self.page.wait_for_function(
            "() => window.__bench && window.__bench.first !== null", timeout=timeout_s * 1000
        )
        return self.page.evaluate("() => window.__bench.first") / 1000

    def settle(self, quiet_s: float = 1.0, limit_s: float = 60) -> None:
        """Wait until no request has started or finished for ``quiet_s``."""
        end = time.monotonic() + limit_s
        last, seen = time.monotonic(), -1
        while time.monotonic() < end:
            state = (len(self.requests), sum(r["bytes"] for r in self.requests.values()))
            if state != seen:
                seen, last = state, time.monotonic()
            elif time.monotonic() - last >= quiet_s:
                return
            self.page.wait_for_timeout(200)

    def weight(self) -> dict:
        reqs = list(self.requests.values())
        return {
            "requests": len(reqs),
            "kb": round(sum(r["bytes"] for r in reqs) / 1024, 1),
            "largest": sorted(
                ({"url": _short(r["url"]), "kb": round(r["bytes"] / 1024, 1),
                  "encoding": r.get("encoding", "")} for r in reqs),
                key=lambda r: -r["kb"],
            )[:8],
        }  # fmt: skip


def _short(url: str) -> str:
    p = urlparse(url)
    return p.path[-70:] + (("?" + p.query[:20]) if p.query else "")


def measure_pages(
    b: Browser,
    base: str,
    pages: list[str],
    *,
    floor: bool,
    throttle: dict = SLOW_4G,
    visits: int = 1,
) -> dict:
    out = {}
    for path in pages:
        ready = PAGES[path][0] if not floor else "#floor-graph .main-svg .trace"
        url = base + (path if not floor else "/")
        res: dict[str, Any] = {}
        # cold, unthrottled: weight and time
        ctx = b.context()
        try:
            v = Visit(ctx, ready, NO_THROTTLE, b.blocked)
            res["cold_s"] = round(v.load(url, 60), 3)
            v.settle()
            res.update(v.weight())
        finally:
            ctx.close()
        # cold then warm (second visit in the same context, so the same HTTP cache),
        # throttled; ``visits`` such pairs, each in a fresh context: the medians
        colds, warms = [], []
        for _ in range(visits):
            ctx = b.context()
            try:
                v = Visit(ctx, ready, throttle, b.blocked)
                colds.append(round(v.load(url, 180), 3))
                v.settle(limit_s=120)
                v.page.close()
                w = Visit(ctx, ready, throttle, b.blocked)
                warms.append(round(w.load(url, 120), 3))
                w.settle(limit_s=60)
                res["warm_kb"] = w.weight()["kb"]
                res["warm_requests"] = w.weight()["requests"]
            finally:
                ctx.close()
        res["slow4g_cold_s"] = round(float(np.median(colds)), 3)
        res["slow4g_warm_s"] = round(float(np.median(warms)), 3)
        res["slow4g_cold_runs"], res["slow4g_warm_runs"] = colds, warms
        out[path] = res
        print(f"  {'floor ' if floor else ''}{path}: {res}", flush=True)
    return out


# Before a change: wait until the graph has not been redrawn for QUIET_MS, so that a redraw
# left over from the last change (dcc.Graph's resize observer redraws a chart whose height
# changed ~100 ms later) is not taken for this change's (it read as -50 ms once).
QUIET_MS = 250

ARM = """async ([g, quiet]) => {
    const gd = document.getElementById(g).querySelector('.js-plotly-plot');
    let last = performance.now();
    const mark = () => { last = performance.now(); };
    gd.on('plotly_afterplot', mark);
    const start = performance.now();
    while (performance.now() - last < quiet) {
        if (performance.now() - start > 10000) {
            gd.removeListener('plotly_afterplot', mark);
            throw new Error(g + ' kept redrawing for 10 s');
        }
        await new Promise(r => setTimeout(r, 50));
    }
    gd.removeListener('plotly_afterplot', mark);
    window.__bench.change = null; window.__bench.drawn = null;
    gd.once('plotly_afterplot', () => { window.__bench.drawn = performance.now(); });
}"""


def _redraw_ms(page, control: str, value: str | None, graph: str, kind: str) -> float:
    """Change one control; ms from its 'change' event until plotly redrew ``graph``."""
    page.evaluate(ARM, [graph, QUIET_MS])
    if kind == "select":
        page.select_option(f"#{control}", value)
    else:  # a checkbox or radio: click the value's input
        page.locator(f"#{control} input").nth(int(value)).click()
    try:
        page.wait_for_function(
            "() => window.__bench.drawn !== null && window.__bench.change !== null", timeout=30000
        )
    except Exception as exc:  # noqa: BLE001 - say which change did not redraw
        raise RuntimeError(f"{control}={value}: {graph} was not redrawn within 30 s") from exc
    return page.evaluate("() => window.__bench.drawn - window.__bench.change")


def _visit_changes(b: Browser, ctx, base: str, interaction: tuple, per: int, floor: bool) -> list:
    """One fresh page load, then ``per`` changes of the interaction's control (on the floor
    app: of its one control); the ms of each."""
    path, control, values, graph = interaction
    if floor:
        v = Visit(ctx, "#floor-graph .main-svg .trace", NO_THROTTLE, b.blocked)
        try:
            v.load(base + "/", 60)
            v.settle(0.5)
            return [
                _redraw_ms(v.page, "floor-view", str((i + 1) % 2), "floor-graph", "radio")
                for i in range(per)
            ]
        finally:
            v.page.close()
    v = Visit(ctx, PAGES[path][0], NO_THROTTLE, b.blocked)
    try:
        v.load(base + path, 60)
        v.settle(0.5)
        return _changes(v, control, values, graph, per)
    finally:
        v.page.close()


def _changes(v: Visit, control: str, values: list | None, graph: str, per: int) -> list:
    """``per`` changes of a dashboard control: the values given, or (None) three other
    outcomes and back, or the first four branch boxes ticked in turn."""
    kind = "select"
    if values is None:
        kind = "select" if control.endswith("outcome") else "checkbox"
        if kind == "select":
            opts = v.page.eval_on_selector_all(f"#{control} option", "els => els.map(e => e.value)")
            current = v.page.input_value(f"#{control}")
            values = [o for o in opts if o and o != current][:3] + [current]
        else:
            count = v.page.locator(f"#{control} input").count()
            values = [str(i) for i in range(min(count, 4))]
    return [_redraw_ms(v.page, control, values[i % len(values)], graph, kind) for i in range(per)]


def _percentiles(times: list[float]) -> dict:
    p50, p95 = np.percentile(times, [50, 95])
    return {"changes": len(times), "p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1)}


def measure_interactions(
    b: Browser, base: str, n: int, *, floor_base: str | None = None
) -> tuple[dict, dict | None]:
    """p50/p95 of ``n`` filter changes: one fresh page load per control of INTERACTIONS,
    then n / 4 changes of it.  With ``floor_base``, the floor app is measured the same way,
    its visits interleaved with the dashboard's (dashboard visit, floor visit, ...): both
    have the same number of first changes after a load (which cost more than the rest on
    either), and a shared machine's load, which drifts over minutes, weighs on both alike.
    Returns (dashboard, floor or None)."""
    ours: list[float] = []
    theirs: list[float] = []
    per = max(1, n // len(INTERACTIONS))
    ctx = b.context()
    floor_ctx = None
    try:
        floor_ctx = b.context()
        for interaction in INTERACTIONS:
            ours += _visit_changes(b, ctx, base, interaction, per, floor=False)
            if floor_base is not None:
                theirs += _visit_changes(b, floor_ctx, floor_base, interaction, per, floor=True)
    finally:
        ctx.close()
        if floor_ctx is not None:
            floor_ctx.close()
    return _percentiles(ours), (_percentiles(theirs) if theirs else None)


def floor_figures(build_dir: Path, out_dir: Path) -> dict[str, Path]:
    """For each page's graph, the same figure JSON as the dashboard draws (two views each)."""
    import plotly.io as pio
    from dash.development.base_component import Component

    import app as dash_module  # registers the pages (they need the app first)
    import pages.breakdowns as breakdowns
    import pages.effects as effects
    import pages.results_chain as chain

    def find(component, ident):
        if isinstance(component, Component):
            if getattr(component, "id", None) == ident:
                return component
            kids = getattr(component, "children", None)
            for kid in kids if isinstance(kids, list | tuple) else [kids]:
                hit = find(kid, ident)
                if hit is not None:
                    return hit
        return None

    views = {
        "/effects": (effects.layout, [{}, {"method": "ancova"}], "effects-forest"),
        "/breakdowns": (breakdowns.layout, [{}, {"method": "ancova"}], "breakdowns-branch-figure"),
        "/results-chain": (chain.layout, [{}, {"method": "ancova"}], "chain-detail-figure"),
    }
    files = {}
    ctx = dash_module.server.test_request_context("/")
    ctx.push()  # the views' cache lives in the Flask app
    for path, (layout, kwargs, ident) in views.items():
        figs, config = [], {}
        for kw in kwargs:
            g = find(layout(**kw), ident)
            if g is None:
                raise RuntimeError(f"{path}: no graph {ident} in the layout")
            fig = g.figure
            figs.append(
                json.loads(pio.to_json(fig) if not isinstance(fig, dict) else json.dumps(fig))
            )
            config = g.config or {}
        f = out_dir / f"floor{path.replace('/', '-')}.json"
        f.write_text(json.dumps({"figures": figs, "config": config}))
        files[path] = f
    ctx.pop()
    return files


def run(
    build_dir: Path,
    *,
    smoke: bool = False,
    interactions: int = 32,
    with_floor: bool = True,
    pages: list[str] | None = None,
) -> dict:
    """Everything above, for the dashboard and its floor app; ``smoke``: /effects only, no
    throttling (the slow-4G keys then hold unthrottled times), one change per control;
    ``pages``: the pages whose loads are measured (all of PAGES by default; the interactions
    are the same whatever the choice)."""
    from playwright.sync_api import sync_playwright

    from components.delivery import plotly_bundle

    pages = ["/effects"] if smoke else list(pages or PAGES)
    throttle = NO_THROTTLE if smoke else SLOW_4G
    n = 2 if smoke else interactions
    visits = 1 if smoke else VISITS
    bundle = plotly_bundle()
    log = PROJECT_ROOT / "build" / "bench-browser-gunicorn.log"
    out: dict[str, Any] = {
        "throttle": throttle,
        "plotly_bundle": bundle.name if bundle else "plotly.min.js (full)",
        "slow4g_visits": visits,
        "pages": {},
        "floor": {},
    }
    if smoke:
        out["browser_note"] = "smoke run: /effects only, no throttling in the slow4g keys"
    # the machine's 1-minute load average at the start and the end (quote it with the figures)
    out["load_avg_1m"] = [round(os.getloadavg()[0], 2)]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        b = Browser(p)
        try:
            g = Gunicorn(build_dir, log)
            try:
                print("browser: dashboard pages ...", flush=True)
                out["pages"] = measure_pages(
                    b, g.base, pages, floor=False, throttle=throttle, visits=visits
                )
                if not with_floor:
                    print("browser: dashboard interactions ...", flush=True)
                    out["interaction"] = measure_interactions(b, g.base, n)[0]
                    print(f"  interactions: {out['interaction']}", flush=True)
                else:
                    figs = floor_figures(build_dir, Path(tmp))
                    for path in sorted({FLOOR_OF.get(pg, pg) for pg in pages}):
                        fg = Gunicorn(build_dir, log, app="bench.floor_app:server",
                                      AMK_FLOOR_FIGURES=str(figs[path]))  # fmt: skip
                        try:
                            print(f"browser: floor app for {path} ...", flush=True)
                            out["floor"].update(
                                measure_pages(
                                    b, fg.base, [path], floor=True, throttle=throttle, visits=visits
                                )
                            )
                            if path == "/effects":
                                print("browser: interactions, dashboard and floor ...", flush=True)
                                out["interaction"], out["floor_interaction"] = measure_interactions(
                                    b, g.base, n, floor_base=fg.base
                                )
                                print(f"  interactions: {out['interaction']}", flush=True)
                                print(f"  floor: {out['floor_interaction']}", flush=True)
                        finally:
                            fg.stop()
                    if "interaction" not in out:  # no /effects floor among the pages asked
                        out["interaction"] = measure_interactions(b, g.base, n)[0]
            finally:
                g.stop()
        finally:
            b.close()
    out["offsite_requests"] = b.blocked
    out["load_avg_1m"].append(round(os.getloadavg()[0], 2))
    return out | summary(out)


def summary(out: dict) -> dict:
    """The headline keys of bench/last-run.json (worst page; ratios page by page to its floor)."""
    pages, floor = out["pages"], out.get("floor", {})
    s: dict[str, Any] = {
        "page_bytes_cold_kb": max(v["kb"] for v in pages.values()),
        "page_requests_cold": max(v["requests"] for v in pages.values()),
        "slow4g_first_figure_s": max(v["slow4g_cold_s"] for v in pages.values()),
        "warm_first_figure_s": max(v["slow4g_warm_s"] for v in pages.values()),
        "interaction_p50_ms": out["interaction"]["p50_ms"],
        "interaction_p95_ms": out["interaction"]["p95_ms"],
        "browser_load_avg_1m": out.get("load_avg_1m"),
    }
    if floor:
        s["slow4g_first_figure_vs_floor"] = round(
            max(
                v["slow4g_cold_s"] / floor[FLOOR_OF.get(pg, pg)]["slow4g_cold_s"]
                for pg, v in pages.items()
            ),
            2,
        )
        s["warm_first_figure_vs_floor"] = round(
            max(
                v["slow4g_warm_s"] / floor[FLOOR_OF.get(pg, pg)]["slow4g_warm_s"]
                for pg, v in pages.items()
            ),
            2,
        )
    if "floor_interaction" in out:
        s["interaction_p95_vs_floor"] = round(
            out["interaction"]["p95_ms"] / out["floor_interaction"]["p95_ms"], 2
        )
    return s


if __name__ == "__main__":
    import argparse
    import datetime as dt

    from analysis.paths import build_dir

    ap = argparse.ArgumentParser(
        prog="python -m bench.browser", description="the browser part of `make bench` alone"
    )
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--pages", nargs="*")
    ap.add_argument(
        "--into", type=Path, help="write the browser keys into this JSON (e.g. bench/last-run.json)"
    )
    a = ap.parse_args()
    unknown = sorted(set(a.pages or ()) - set(PAGES))
    if unknown:
        ap.error(f"--pages: not pages of the bench: {unknown} (choose from {sorted(PAGES)})")
    res = run(build_dir(), smoke=a.smoke, with_floor=not a.no_floor, pages=a.pages or None)
    print(json.dumps({k: v for k, v in res.items() if k not in ("pages", "floor")}, indent=1))
    if a.into:
        doc = json.loads(a.into.read_text()) if a.into.is_file() else {}
        doc["browser"] = res
        doc["browser_run_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        doc |= summary(res)
        a.into.write_text(json.dumps(doc, indent=2, default=float))
