"""What the server sends: compressed, cacheable, the partial plotly.js bundle, small HTML.

Decompression and file contents are checked against the files on disk (brotli/gzip
decompress what the server sent; the bytes must be the package's own file).
"""

from __future__ import annotations

import gzip
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import brotli
import dash
import pytest
from app_fixtures import *  # noqa: F403  (dash_app, artifact_dir)
from app_fixtures import find_in_json

from analysis.paths import PROJECT_ROOT
from components import delivery

SITE = Path(dash.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client(dash_app):
    return dash_app.server.test_client()


@pytest.fixture(scope="module")
def scripts(client) -> list[str]:
    html = client.get("/").get_data(as_text=True)
    return re.findall(r'<script src="([^"]+)"', html)


def _file_of(url: str) -> Path:
    """The package file a fingerprinted component-suite URL stands for."""
    from dash.fingerprint import check_fingerprint

    _, _, rest = url.partition("/_dash-component-suites/")
    package, _, fingerprinted = rest.partition("/")
    path, _ = check_fingerprint(fingerprinted)
    return SITE / package / path if package != "dash" else SITE / "dash" / path


def test_versioned_bundles_are_compressed_and_cached_for_a_year(client, scripts):
    url = next(s for s in scripts if "dash_core_components.v" in s)
    raw = _file_of(url).read_bytes()
    br = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.status_code == 200
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data) == raw
    assert len(br.data) < len(raw) / 3
    cc = br.headers["Cache-Control"]
    assert "max-age=31536000" in cc and "immutable" in cc and "public" in cc
    assert "Accept-Encoding" in br.headers["Vary"]
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gz.data) == raw
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers and plain.data == raw


def test_unversioned_files_revalidate_with_an_etag(client):
    url = "/_dash-component-suites/dash/dcc/async-graph.js"
    first = client.get(url, headers={"Accept-Encoding": "br"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]
    again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    for path in ("/_dash-layout", "/_dash-dependencies"):
        r = client.get(path, headers={"Accept-Encoding": "br"})
        assert r.headers.get("ETag"), path
        assert (
            client.get(
                path, headers={"Accept-Encoding": "br", "If-None-Match": r.headers["ETag"]}
            ).status_code
            == 304
        )


def test_html_is_small_and_carries_no_other_page(client):
    r = client.get("/", headers={"Accept-Encoding": "br"})
    html = brotli.decompress(r.data).decode()
    # before: 322 KB, every page's layout written into the config for Dash's id checks
    assert len(html) < 40_000, len(html)
    assert "effects-forest" not in html and "breakdowns-branch-figure" not in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts and not [s for s in scripts if "dash_table" in s]  # no DataTable: no bundle


def test_no_datatable_is_used():
    """The dash_table bundle is dropped (components.delivery), which is only right while no
    page uses a DataTable."""
    for folder in ("pages", "components"):
        for f in (PROJECT_ROOT / folder).glob("*.py"):
            assert "DataTable" not in f.read_text() or f.name == "delivery.py", f


def test_every_callback_id_is_in_a_layout(dash_app, client):
    """Dash's browser-side id check is off (it needs every layout in every HTML response);
    the same check here: each id a callback names exists in the shell or a page's layout."""
    from dash.development.base_component import Component

    from components.static import Static, StaticSpan

    ids: set[str] = set()
    blocks: set[str] = set()  # static blocks' own ids

    def walk(node):
        if isinstance(node, list | tuple):
            for n in node:
                walk(n)
        elif isinstance(node, Component):
            if isinstance(getattr(node, "id", None), str):
                ids.add(node.id)
            if isinstance(node, Static | StaticSpan):
                # the browser knows a block as one element: what is inside is no component
                blocks.add(getattr(node, "id", None))
                return
            for prop in node._prop_names:
                v = getattr(node, prop, None)
                if isinstance(v, Component | list | tuple):
                    walk(v)

    with dash_app.server.test_request_context("/"):
        walk(dash_app.layout() if callable(dash_app.layout) else dash_app.layout)
        for page in dash.page_registry.values():
            walk(page["layout"]() if callable(page["layout"]) else page["layout"])
    named: set[str] = set()
    for key, cb in dash_app.callback_map.items():
        for dep in cb.get("inputs", []) + cb.get("state", []):
            if isinstance(dep["id"], str) and not dep["id"].startswith("{"):  # not pattern ids
                named.add(dep["id"])
        for spec in key.strip(".").split("..."):
            ident = spec.rpartition(".")[0]
            if not ident.startswith("{"):
                named.add(ident)
    dash_internal = {i for i in named if i.startswith("_pages")}
    missing = named - ids - dash_internal
    assert not missing, f"callbacks name ids that no layout has: {sorted(missing)}"
    # a callback replaces a static block (or its parent), never writes its children: the
    # browser's script would keep the old markup beside the new (components.static)
    written = {spec for key in dash_app.callback_map for spec in key.strip(".").split("...")}
    assert not {f"{b}.children" for b in blocks if b} & written


@pytest.fixture(scope="module")
def partial_bundle() -> Path:
    path = delivery.plotly_bundle()
    if path is None:  # fetched from the npm registry by the Makefile rule
        subprocess.run(["make", "plotly"], cwd=PROJECT_ROOT, check=True)
        path = delivery.plotly_bundle()
    assert path is not None
    return path


def test_graph_loads_the_partial_plotly_bundle(dash_app, partial_bundle):
    from plotly.offline import get_plotlyjs_version

    # a fresh app: the session's app may have started before the bundle was fetched
    client = dash_app.server.test_client()
    r = client.get("/" + delivery.PLOTLY_PATH, headers={"Accept-Encoding": "br"})
    if brotli.decompress(r.data) != partial_bundle.read_bytes():
        pytest.skip("the session's app started before `make plotly` fetched the bundle")
    body = brotli.decompress(r.data)
    assert body.startswith(
        b"/**\n* plotly.js (basic - minified) v" + get_plotlyjs_version().encode()
    )
    assert len(body) < 1_500_000  # the full bundle is 4.8 MB
    assert len(r.data) < 400_000  # over the wire


def test_figure_pages_announce_plotly_with_a_preload_link(client):
    link = client.get("/effects").headers.get("Link", "")
    assert delivery.PLOTLY_PATH in link and "rel=preload" in link and "as=script" in link
    # the overview draws no figure; every page has its layout and callbacks preloaded
    overview = client.get("/").headers.get("Link", "")
    assert delivery.PLOTLY_PATH not in overview
    for header in (link, overview):
        for path in ("/_dash-layout", "/_dash-dependencies"):
            assert f"<{path}>; rel=preload; as=fetch; crossorigin" in header


def test_figures_draw_only_trace_types_of_the_basic_bundle(dash_app):
    """The basic plotly.js dist draws scatter, bar and pie; every figure must stay within it."""
    import plotly.graph_objects as go

    allowed = {"scatter", "bar", "pie"}
    seen: set[str] = set()
    from dash.development.base_component import Component

    def walk(node):
        if isinstance(node, list | tuple):
            for n in node:
                walk(n)
        elif isinstance(node, Component):
            fig = getattr(node, "figure", None)
            if fig is not None:
                for tr in go.Figure(fig).data:
                    seen.add(tr.type)
            for prop in node._prop_names:
                v = getattr(node, prop, None)
                if isinstance(v, Component | list | tuple):
                    walk(v)

    with dash_app.server.test_request_context("/"):
        for page in dash.page_registry.values():
            walk(page["layout"]() if callable(page["layout"]) else page["layout"])
    assert seen, "no figure found"
    assert seen <= allowed, seen - allowed


def test_grid_bundle_loads_only_where_a_grid_is_drawn(client, scripts):
    """dash_ag_grid's 1.3 MB bundle is not in the page; a stand-in loads it on first use."""
    assert not [s for s in scripts if "dash_ag_grid.v" in s]
    shim_url = next(s for s in scripts if "/_lazy/dash_ag_grid." in s)
    shim = client.get(shim_url)
    assert shim.status_code == 200 and "immutable" in shim.headers["Cache-Control"]
    source = shim.get_data(as_text=True)
    assert '"AgGrid"' in source
    bundle_url = re.search(r'var url = "([^"]+)"', source).group(1)
    real = client.get(bundle_url)
    assert real.status_code == 200
    assert real.data == _file_of(bundle_url).read_bytes()
    assert client.get("/_lazy/nothing.0.js").status_code == 404


def test_the_layout_carries_the_page_that_asked_for_it(client):
    """/_dash-layout, asked for by /effects?method=ancova (its same-origin Referer), holds
    that page with the view of its address, and the location component holds that address
    (so that it reports no change on mount and Dash's router callback does not run)."""
    import json

    r = client.get(
        "/_dash-layout", headers={"Referer": "http://localhost/effects?method=ancova&wave=1"}
    )
    layout = json.loads(r.get_data(as_text=True))
    content = find_in_json(layout, "_pages_content")
    method = find_in_json(content, "effects-method")
    assert method is not None and method["props"]["value"] == "ancova"
    assert find_in_json(content, "effects-wave")["props"]["value"] == "1"
    assert find_in_json(content, "effects-forest") is not None
    location = find_in_json(layout, "_pages_location")["props"]
    assert location["pathname"] == "/effects" and location["search"] == "?method=ancova&wave=1"
    assert find_in_json(layout, "_pages_store")["props"]["data"]["title"]
    # another page, from the cache the second time: the same
    for _ in range(2):
        other = json.loads(
            client.get(
                "/_dash-layout", headers={"Referer": "http://localhost/breakdowns"}
            ).get_data(as_text=True)
        )
        assert find_in_json(find_in_json(other, "_pages_content"), "breakdowns-method") is not None
        assert find_in_json(other, "effects-method") is None
    # no Referer, or another site's, or an unknown page: the router does it, as before
    for headers in ({}, {"Referer": "http://elsewhere.example/effects"},
                    {"Referer": "http://localhost/nosuch"}):  # fmt: skip
        plain = json.loads(client.get("/_dash-layout", headers=headers).get_data(as_text=True))
        assert not find_in_json(plain, "_pages_content")["props"].get("children")
        assert "pathname" not in find_in_json(plain, "_pages_location")["props"]


def test_warm_up_makes_every_page_before_the_workers_fork(dash_app, monkeypatch):
    """app.warm_up (gunicorn.conf.py's when_ready): every page's default view, then, within
    the budget, every estimator and wave; what it made is served from the cache (the page's
    own layout function is not called again)."""
    import app as dash_module
    from components import cache

    monkeypatch.setitem(cache._state, "ready", True)  # off in the test session (app_fixtures)
    paths = sorted(p["relative_path"] for p in dash.page_registry.values())
    assert sorted(dash_module.warm_up(budget_s=0)) == paths
    for page in dash.page_registry.values():

        def broken(**kwargs):
            raise AssertionError("made again")

        monkeypatch.setitem(page, "layout", broken)
    for path in paths:
        with dash_module.server.test_request_context(path):
            container = dash_module.page_container()
        assert container.children[1].children  # the page, from the cache


def test_warm_up_makes_every_outcome_one_change_away(dash_app, monkeypatch):
    """With a budget, warm_up makes each page with an outcome menu for every outcome (at the
    default estimator and wave), so that a user's change of outcome is answered from the
    cache: the Effects callback for another outcome computes no view."""
    from app_fixtures import effects_update_body

    import app as dash_module
    import pages.breakdowns as bd
    import pages.effects as eff
    from components import cache
    from components.store import get_artifacts

    monkeypatch.setitem(cache._state, "ready", True)
    made = dash_module.warm_up(budget_s=600)
    for page, mod in (("/effects", eff), ("/breakdowns", bd)):
        spec = next(p for p in mod.param_specs() if p.name == "outcome")
        others = {o for o in spec.allowed if o != spec.default}
        assert len(others) >= 10
        asked = [parse_qs(urlparse(m).query) for m in made if m.startswith(page + "?outcome=")]
        assert {q["outcome"][0] for q in asked} == others
    computed = []
    spec = next(p for p in eff.param_specs() if p.name == "outcome")
    outcome = next(o for o in spec.allowed if o != spec.default)
    monkeypatch.setattr(eff, "make_means_plot", lambda *a, **k: computed.append(a) or None)
    body = effects_update_body(dash_app, eff.OUTCOME, **{eff.OUTCOME: outcome})
    resp = dash_module.server.test_client().post(
        "/_dash-update-component", json=body, headers={"Referer": "http://localhost/effects"}
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert computed == []  # the outcome's detail (its means chart) came from the cache
    # and the answer is that outcome's: its title in the detail heading
    title = str(eff.outcome_meta(get_artifacts().results, outcome)["short"])
    assert title in resp.get_data(as_text=True)


def test_warm_up_makes_one_change_away_first_and_survives_a_page_that_fails(dash_app, monkeypatch):
    """The views one change away come before those two changes away (the budget cuts the
    latter first); a page whose parameters cannot be read loses only its outcome views."""
    import app as dash_module
    import pages.breakdowns as bd
    from components import cache

    monkeypatch.setitem(cache._state, "ready", True)

    def broken():
        raise ValueError("no outcomes")

    monkeypatch.setattr(bd, "param_specs", broken)
    made = dash_module.warm_up(budget_s=600)
    defaults = sorted(p["relative_path"] for p in dash.page_registry.values())
    assert sorted(made[: len(defaults)]) == defaults
    assert not [m for m in made if m.startswith("/breakdowns?outcome=")]
    assert [m for m in made if m.startswith("/effects?outcome=")]

    def away(address):  # how many of estimator, wave and outcome differ from the default
        q = {k: v[0] for k, v in parse_qs(urlparse(address).query).items()}
        return (q.get("method", "did") != "did") + (q.get("wave", "2") != "2") + ("outcome" in q)

    steps = [away(m) for m in made]
    assert steps == sorted(steps) and set(steps) == {0, 1, 2}


def test_warm_up_makes_an_outcome_at_the_wave_its_page_moves_to(dash_app, monkeypatch):
    """Breakdowns moves the wave when the chosen outcome was not asked in the wave on screen
    (its ``wave_asked``, the callback's rule): the warm-up makes that view, not another."""
    import app as dash_module
    import pages.breakdowns as bd
    from components import cache

    monkeypatch.setitem(cache._state, "ready", True)
    spec = next(p for p in bd.param_specs() if p.name == "outcome")
    moved = next(o for o in spec.allowed if o != spec.default)
    monkeypatch.setattr(bd, "wave_asked", lambda o, w: "1" if o == moved else dash.no_update)
    made = dash_module.warm_up(budget_s=600)
    asked = {
        q["outcome"][0]: q["wave"][0]
        for q in (parse_qs(urlparse(m).query) for m in made if m.startswith("/breakdowns?outcome="))
    }
    assert asked.pop(moved) == "1"
    assert set(asked.values()) == {"2"}  # the others at the wave on screen


def test_what_the_workers_inherit_is_kept_out_of_the_garbage_collector(monkeypatch):
    """gunicorn.conf.py's when_ready freezes the master's objects once the pages are made:
    a worker's first full collection walked all of them otherwise (0.28 s measured, a stall
    in the middle of a request, and every page touched, so copied)."""
    import gc
    import runpy
    import sys
    import types

    made: list[str] = []
    fake_app = types.SimpleNamespace(warm_up=lambda: made.append("warm") or ["/"])
    monkeypatch.setitem(sys.modules, "app", fake_app)
    conf = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    logged: list[str] = []

    def log(msg, *args):
        logged.append(msg % args)

    server = types.SimpleNamespace(log=types.SimpleNamespace(info=log, warning=log))
    gc.unfreeze()
    try:
        conf["when_ready"](server)
        assert made == ["warm"] and logged == ["pages made before forking: 1"]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_no_babel_polyfill_but_the_regenerator_runtime_it_carried(client, scripts):
    """Dash's @babel/polyfill is not sent; regenerator-runtime (what Dash's lazy-component
    loader calls) comes after React and before every component bundle and the renderer,
    compressed and cached for a year."""
    runtime = delivery.regenerator_runtime()
    assert runtime is not None, "build/vendor lacks regenerator-runtime: run `make plotly`"
    assert not [s for s in scripts if "polyfill" in s], scripts
    at = [i for i, s in enumerate(scripts) if "/_lazy/regenerator-runtime." in s]
    assert len(at) == 1, scripts
    react = max(i for i, s in enumerate(scripts) if "/deps/react" in s)
    later = [i for i, s in enumerate(scripts) if "_components" in s or "dash_renderer" in s]
    assert react < at[0] < min(later), scripts
    r = client.get(scripts[at[0]], headers={"Accept-Encoding": "br"})
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "br"
    assert brotli.decompress(r.data) == runtime.read_bytes()
    assert b"regeneratorRuntime = runtime" in runtime.read_bytes()
    assert (
        "immutable" in r.headers["Cache-Control"]
        and "max-age=31536000" in r.headers["Cache-Control"]
    )
    # the URL names the content: another runtime, another URL
    assert client.get(scripts[at[0]].replace("runtime.", "runtime.0")).status_code == 404


def test_without_the_runtime_file_the_polyfill_stays(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(delivery, "PROJECT_ROOT", tmp_path)
    with caplog.at_level("WARNING", logger="amk.delivery"):
        assert delivery.regenerator_runtime() is None
    assert "serving Dash's @babel/polyfill" in caplog.text
    monkeypatch.setattr(delivery, "PROJECT_ROOT", PROJECT_ROOT)
    monkeypatch.setenv("AMK_POLYFILL", "babel")
    assert delivery.regenerator_runtime() is None
