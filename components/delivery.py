"""How the app's bytes reach the browser: compression, caching, a partial plotly.js bundle.

``speed_up(app)`` adds, once:

* compression: brotli or gzip, whichever the browser accepts (flask-compress, the library
  Dash's own ``compress=True`` uses).  Versioned files (Dash's fingerprinted bundles,
  ``/assets/...?m=``) and the few unversioned static files are compressed **once** per
  process at a high level and kept in memory; HTML and callback answers are compressed per
  response at flask-compress's fast default level;
* caching: versioned files ``public, max-age=1 year, immutable``; the rest that can be
  cached (the unversioned lazy chunks and plotly.js, ``/_dash-layout``,
  ``/_dash-dependencies``) carries an ``ETag`` and ``no-cache``, so a second visit costs a
  304 instead of the bytes.  The HTML is never the same twice (Dash signs a per-load id
  into it), so it is simply fetched again: a few KB;
* a partial plotly.js bundle: the figures draw only scatter and bar traces, so the
  "basic" dist of plotly.js (scatter, bar, pie; 1.2 MB instead of 4.8 MB, same version,
  same modebar, hover and PNG/SVG export), fetched by ``make plotly`` into
  ``build/vendor/``, is served at the URL from which ``dcc.Graph`` loads plotly.js; without
  the file the full bundle is served (and a warning logged);
* ``Link: rel=preload`` headers on the HTML of pages that draw figures, so that the
  browser fetches plotly.js and the graph chunk while it loads the other bundles instead
  of after the page's layout has arrived;
* bundles of component libraries nothing uses (``unused``) are not put in the page;
* no ``@babel/polyfill``: Dash puts this 2017 polyfill for old browsers (core-js 2 and
  regenerator-runtime) before every other script; in a browser of the last years it only
  re-installs what the browser has (and replaces a few natives with slower versions, such
  as ``String.prototype.trim``): 150-220 ms of the main thread on every visit, before
  anything else runs.  The only part the bundles need is ``regeneratorRuntime`` (Dash's
  lazy-component loader calls it), so regenerator-runtime alone (25 KB, 7 KB compressed,
  the version the polyfill carries), fetched by ``make plotly`` into ``build/vendor/``, is
  served in its place; without the file the polyfill stays (and a warning is logged).
  Browsers without ES2017 (Internet Explorer) are not supported.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import brotli
from flask import Flask, Response, request
from flask_compress import Compress

from analysis.paths import PROJECT_ROOT

log = logging.getLogger("amk.delivery")

YEAR = 31_536_000
SUITES = "_dash-component-suites/"
PLOTLY_PATH = SUITES + "plotly/package_data/plotly.min.js"
LAZY = "_lazy/"
# what the bundles need of @babel/polyfill 7.12.1 (which pins regenerator-runtime ^0.13.4)
REGENERATOR_VERSION = "0.13.11"
GRAPH_CHUNK = SUITES + "dash/dcc/async-graph.js"
# what a page needs when it draws a dcc.Graph, requested by the Graph itself only after the
# page's layout has arrived: worth announcing in the HTML
GRAPH_PRELOADS = (GRAPH_CHUNK, PLOTLY_PATH)
DATA_PRELOADS = ("_dash-layout", "_dash-dependencies")
# static files are compressed once, so at a high level: brotli 9 is within 5-10% of 11 at a
# tenth of the time (0.4 s for the largest bundle); gzip 9 for browsers without brotli
BR_QUALITY = 9
GZIP_LEVEL = 9
DYNAMIC_MIN_BYTES = 500
COMPRESSIBLE = {
    "application/javascript",
    "text/javascript",
    "text/css",
    "application/json",
    "image/svg+xml",
    "image/x-icon",
    "image/vnd.microsoft.icon",
}


def plotly_bundle() -> Path | None:
    """The partial plotly.js bundle for the installed plotly.py's plotly.js version, if fetched.

    ``AMK_PLOTLY_BUNDLE`` names another file; ``full`` keeps Dash's full bundle.
    """
    override = os.environ.get("AMK_PLOTLY_BUNDLE", "")
    if override == "full":
        return None
    if override:
        path = Path(override)
    else:
        from plotly.offline import get_plotlyjs_version

        path = PROJECT_ROOT / "build" / "vendor" / f"plotly-basic-{get_plotlyjs_version()}.min.js"
    if path.is_file():
        return path
    log.warning(
        "partial plotly.js bundle %s not found (run `make plotly`): serving the full 4.8 MB bundle",
        path,
    )
    return None


def regenerator_runtime() -> Path | None:
    """regenerator-runtime, served instead of Dash's @babel/polyfill, if fetched.

    ``AMK_POLYFILL=babel`` keeps Dash's polyfill (a browser without ES2017).
    """
    if os.environ.get("AMK_POLYFILL", "") == "babel":
        return None
    path = PROJECT_ROOT / "build" / "vendor" / f"regenerator-runtime-{REGENERATOR_VERSION}.js"
    if path.is_file():
        return path
    log.warning("%s not found (run `make plotly`): serving Dash's @babel/polyfill", path)
    return None


def _without_polyfill() -> None:
    """Take @babel/polyfill out of the scripts Dash puts before all others (process-wide,
    as ``unused``)."""
    from dash import _dash_renderer

    for dep in _dash_renderer._js_dist_dependencies:
        for key in ("relative_package_path", "external_url"):
            for mode, paths in dep.get(key, {}).items():
                dep[key][mode] = [p for p in paths if "/polyfill@" not in "/" + p]


class _Packed:
    """Compressed bodies of static files, computed once per content and encoding.

    Kept in memory and in ``build/compressed/`` (named by the content's hash), so that the
    gunicorn workers and later restarts reuse them instead of compressing again.
    """

    def __init__(self, folder: Path | None) -> None:
        self._data: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        self.folder = folder

    def get(self, raw: bytes, enc: str) -> bytes:
        key = (hashlib.sha1(raw).hexdigest(), enc)
        hit = self._data.get(key)
        if hit is not None:
            return hit
        file = (
            self.folder / f"{key[0]}-q{BR_QUALITY if enc == 'br' else GZIP_LEVEL}.{enc}"
            if self.folder
            else None
        )
        if file is not None and file.is_file():
            hit = file.read_bytes()
        else:
            hit = (
                brotli.compress(raw, quality=BR_QUALITY)
                if enc == "br"
                else gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)
            )
            if file is not None:
                try:
                    file.parent.mkdir(parents=True, exist_ok=True)
                    tmp = file.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_bytes(hit)
                    tmp.replace(file)
                except OSError:  # a read-only install: memory only
                    self.folder = None
        with self._lock:
            self._data[key] = hit
        return hit


def _encoding() -> str | None:
    accepted = request.accept_encodings
    for enc in ("br", "gzip"):
        if accepted[enc] > 0:
            return enc
    return None


def _components_in(layout: Any) -> set[str]:
    """Component type names anywhere in a layout."""
    from dash.development.base_component import Component

    found: set[str] = set()
    stack = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend(node)
        elif isinstance(node, Component):
            found.add(node._type)
            for prop in node._prop_names:
                value = getattr(node, prop, None)
                if isinstance(value, Component | list | tuple):
                    stack.append(value)
    return found


# A stand-in for a component library's main bundle: its components are React.lazy wrappers
# that load the real (versioned, year-cached) bundle the first time one of them is rendered,
# then render the real component with the same props.  Served as a same-origin script, so
# the CSP needs nothing new.
LAZY_SHIM = """(function () {
  var url = %(url)s, ns = %(ns)s, names = %(names)s, loading = null;
  // A page's figures come first: the library (a grid below the plot) waits until the first
  // figure has drawn, so that its megabyte of script is not parsed while plotly.js needs the
  // main thread.  A page without figures, or a figure that takes over 3 s, waits no longer.
  function figuresFirst() {
    return new Promise(function (resolve) {
      var drawn = function () {
        return !document.querySelector(".dash-graph") || document.querySelector(".js-plotly-plot .main-svg");
      };
      var obs = new MutationObserver(function () { if (drawn()) { finish(); } });
      var timer = setTimeout(function () { finish(); }, 3000);
      function finish() { obs.disconnect(); clearTimeout(timer); resolve(); }
      // asked for while React renders the page: look once the page is in the document
      setTimeout(function () {
        if (drawn()) { finish(); } else { obs.observe(document.body, {childList: true, subtree: true}); }
      }, 0);
    });
  }
  function load() {
    if (!loading) {
      loading = figuresFirst().then(function () { return new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = url;
        s.onload = function () { resolve(window[ns]); };
        s.onerror = function () { loading = null; reject(new Error(ns + " did not load")); };
        document.head.appendChild(s);
      }); });
    }
    return loading;
  }
  var shim = {};
  names.forEach(function (name) {
    var Real = React.lazy(function () {
      return load().then(function (lib) { return {default: lib[name]}; });
    });
    shim[name] = function (props) {
      return React.createElement(React.Suspense, {fallback: null}, React.createElement(Real, props));
    };
  });
  window[ns] = shim;
})();
"""


def _lazy_library(app, module_name: str) -> tuple[str, str] | None:
    """Take ``module_name``'s main bundle out of the page; return (shim URL, shim source)."""
    import importlib
    import json

    from dash.development.base_component import Component

    module = importlib.import_module(module_name)
    dist = module._js_dist
    main = [
        r for r in dist if not r.get("async") and not r.get("dynamic") and not r.get("dev_only")
    ]
    if len(main) != 1 or "relative_package_path" not in main[0]:
        return None
    # registers the bundle's path with Dash (so that it is served) and gives its versioned URL
    urls = app._collect_and_register_resources(app.scripts._resources._filter_resources(main))
    if len(urls) != 1 or not isinstance(urls[0], str):
        return None
    names = sorted(
        n
        for n in getattr(module, "__all__", [])
        if isinstance(getattr(module, n, None), type) and issubclass(getattr(module, n), Component)
    )
    dist[:] = [r for r in dist if r is not main[0]]
    source = LAZY_SHIM % {
        "url": json.dumps(urls[0]),
        "ns": json.dumps(main[0]["namespace"]),
        "names": json.dumps(names),
    }
    version = hashlib.sha1(source.encode()).hexdigest()[:12]
    return f"{app.config.requests_pathname_prefix}{LAZY}{module_name}.{version}.js", source


def speed_up(
    app, *, unused: Iterable[str] = ("dash_table",), lazy: Iterable[str] = ("dash_ag_grid",)
) -> Flask:
    """Compression, caching, the partial plotly.js bundle and preload hints (see the module).

    ``unused``: component libraries (attributes of ``dash``) whose bundles are not sent at
    all; ``lazy``: libraries whose main bundle is loaded only when a page renders one of
    their components (only for libraries used through components, not through JS helpers).
    """
    import dash

    server: Flask = app.server
    prefix = app.config.requests_pathname_prefix
    for lib in unused:
        # the module's _js_dist is what Dash writes into every page's script tags
        getattr(dash, lib)._js_dist[:] = []
    shims: dict[str, str] = {}
    for lib in lazy:
        made = _lazy_library(app, lib)
        if made:
            shims[made[0]] = made[1]
            # after React (which the shim uses), before the component bundles
            app.config.external_scripts.append(made[0])

    runtime = regenerator_runtime()
    if runtime is not None:
        source = runtime.read_text(encoding="utf-8")
        version = hashlib.sha1(source.encode()).hexdigest()[:12]
        url = f"{prefix}{LAZY}regenerator-runtime.{version}.js"
        shims[url] = source
        _without_polyfill()
        # the dependencies (React) come before the external scripts: first among these
        app.config.external_scripts.insert(0, url)

    @server.route(prefix + LAZY + "<name>.js")
    def _lazy_shim(name: str):
        source = shims.get(request.path)
        if source is None:
            return Response("not found", status=404, mimetype="text/plain")
        resp = Response(source, mimetype="application/javascript")
        resp.cache_control.max_age = YEAR
        resp.cache_control.public = True
        resp.cache_control.immutable = True
        return resp

    # dynamic responses (HTML, layout, callbacks): flask-compress at its default, fast levels;
    # AMK_COMPRESS=0 switches compression off (the benchmark's load comparison)
    compress = os.environ.get("AMK_COMPRESS", "1").lower() not in ("0", "false", "no")
    server.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    server.config.setdefault("COMPRESS_MIN_SIZE", DYNAMIC_MIN_BYTES)
    if compress:
        Compress(server)

    bundle = plotly_bundle()
    bundle_bytes = bundle.read_bytes() if bundle else b""
    bundle_etag = hashlib.sha1(bundle_bytes).hexdigest()[:20] if bundle else ""
    packed = _Packed(PROJECT_ROOT / "build" / "compressed")
    figure_pages: dict[str, bool] = {}
    page_lock = threading.Lock()

    def draws_figures(path: str) -> bool:
        """Whether the page at ``path`` draws figures (memoised).

        A page says so when it registers (``dash.register_page(..., draws_figures=True)``);
        otherwise its default layout is searched for a dcc.Graph, and only a "yes" is
        remembered: a layout that failed or showed a problem message instead of its figures
        (results stale, an error) must not lose the hint until the server restarts.
        """
        if path in figure_pages:
            return figure_pages[path]
        layout: Any = None
        if not dash.page_registry:  # a single-page app
            layout = app.layout
        for page in dash.page_registry.values():
            if page.get("relative_path") == path:
                if isinstance(page.get("draws_figures"), bool):
                    with page_lock:
                        figure_pages[path] = page["draws_figures"]
                    return page["draws_figures"]
                layout = page["layout"]
                break
        try:
            found = "Graph" in _components_in(layout() if callable(layout) else layout)
        except Exception:  # noqa: BLE001 - a hint only; the page itself reports its errors
            return False
        if found:
            with page_lock:
                figure_pages[path] = found
        return found

    @server.before_request
    def _partial_plotly():
        if bundle and request.path == prefix + PLOTLY_PATH and request.method == "GET":
            resp = Response(bundle_bytes, mimetype="application/javascript")
            resp.set_etag(bundle_etag)
            return resp.make_conditional(request)
        return None

    @server.after_request
    def _deliver(resp: Response) -> Response:
        if request.method != "GET" or resp.status_code != 200:
            return resp
        path = request.path
        rel = path[len(prefix) :] if path.startswith(prefix) else path
        is_asset, is_icon = rel.startswith("assets/"), rel.startswith("_favicon")
        static = rel.startswith((SUITES, LAZY)) or is_asset or is_icon
        versioned = (
            (rel.startswith((SUITES, LAZY)) and resp.cache_control.max_age == YEAR)
            or (is_asset and "m" in request.args)
            or (is_icon and "v" in request.args)
        )
        if versioned:
            resp.cache_control.no_cache = None
            resp.cache_control.max_age = YEAR
            resp.cache_control.public = True
            resp.cache_control.immutable = True
        elif resp.mimetype == "text/html":
            # never the same twice (Dash signs a per-page-load id into it): fetched each time,
            # a few KB compressed
            resp.cache_control.no_cache = True
        elif static or rel in ("_dash-layout", "_dash-dependencies"):
            resp.cache_control.no_cache = True
            if not resp.get_etag()[0]:
                resp.direct_passthrough = False
                resp.add_etag()
        if resp.mimetype == "text/html":
            # the layout (which carries the page, see app.page_container) and the callback
            # graph are fetched by Dash's renderer only once all its scripts have run: asked
            # for now, they arrive while the scripts load (same URL, mode and credentials as
            # the renderer's fetch, so it is served from the preload)
            links = [f"<{prefix}{p}>; rel=preload; as=fetch; crossorigin" for p in DATA_PRELOADS]
            if draws_figures(path):
                links += [f"<{prefix}{p}>; rel=preload; as=script" for p in GRAPH_PRELOADS]
            resp.headers["Link"] = ", ".join(links)
        if not compress or not static or "Content-Encoding" in resp.headers:
            return resp  # dynamic: flask-compress, which runs after this
        enc = _encoding()
        if enc is None or resp.mimetype not in COMPRESSIBLE:
            return resp
        resp.direct_passthrough = False
        raw = resp.get_data()
        if len(raw) < DYNAMIC_MIN_BYTES:
            return resp
        etag = resp.get_etag()[0] or hashlib.sha1(raw).hexdigest()[:20]
        resp.set_data(packed.get(raw, enc))
        resp.headers["Content-Encoding"] = enc
        resp.vary.add("Accept-Encoding")
        if not versioned:
            resp.set_etag(f"{etag}:{enc}")
            resp.make_conditional(request)
        return resp

    return server
