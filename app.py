"""The impact dashboard (Plotly Dash, multi-page): every shipped study, ``?study=<id>``.

``python app.py`` serves it on http://127.0.0.1:8050 (``HOST``/``PORT`` override;
``DASH_DEBUG=1`` for development); gunicorn serves ``app:server``.  The pages live
in ``pages/``; each study's artefacts are read once (``components.store``); the study
on screen is the ``study`` parameter of the address (``AMK_STUDY``'s study without one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from urllib.parse import urlparse

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

try:  # the pages router's own routing (private to dash; without it the router does it all)
    from dash._pages import _parse_query_string, _path_to_page
except ImportError:  # pragma: no cover - a dash that moved them
    _path_to_page = None

import components.export  # noqa: F401  (PNG and SVG file names)
import components.present  # noqa: F401  (report downloads and presentation mode)
from analysis.paths import default_study, study_ids
from components import setup, viewport
from components.cache import init_cache, memoize
from components.delivery import speed_up
from components.errors import APP_ERROR_ID, LAYOUT_FAILED_TITLE, on_callback_error
from components.layout import problems_alert, provenance_banner
from components.present import PRESENT_STORE, toolbar
from components.server import harden
from components.static import Static
from components.store import get_artifacts, health
from components.studies import arm_picker, picker, study_name, study_note
from components.urlstate import BRAND, LOCATION, nav_link

# the shell's one set-up callback (components.setup), now that the modules above have
# registered their parts
setup.callback(Input(LOCATION, "pathname"), Input(PRESENT_STORE, "data"))

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

ARTIFACTS = get_artifacts()

app = Dash(
    __name__,
    use_pages=True,
    title="Impact dashboard",
    update_title=None,
    on_error=on_callback_error,
    # Dash can check callback ids in the browser against every page's layout, but only by
    # writing all the pages' layouts into every HTML response (0.3 MB); the ids are checked
    # in the tests instead (and the pages show only a message when the artefacts are missing)
    suppress_callback_exceptions=True,
    meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
)
server = harden(app, health)
speed_up(app)  # compression, caching, the partial plotly.js bundle (components.delivery)
# the cached views' key: every served study's results fingerprint (a rebuilt study never
# serves old figures), hashed to a short prefix
init_cache(
    server,
    hashlib.sha256(
        "".join(
            str(a.results_manifest.get("panel_sha256", ""))
            + str(a.results_manifest.get("code_fingerprint", ""))
            for a in [ARTIFACTS, *(get_artifacts(s) for s in study_ids() if s != default_study())]
        ).encode()
    ).hexdigest()[:16],
)
# a <html lang> for screen readers; everything else is Dash's default page
app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)

_interpolate_index = app.interpolate_index


def _index_with_page_title(**kwargs):
    """The page's own <title> (page and study, see components.studies.page_title) in the
    first HTML response, not only once the page's scripts have run."""
    import flask

    path = "/" + flask.request.path.strip("/")
    for page in dash.page_registry.values():
        if page.get("path") == path and callable(page.get("title")):
            kwargs["title"] = page["title"]()
    return _interpolate_index(**kwargs)


app.interpolate_index = _index_with_page_title


def navbar() -> html.Header:
    pages = sorted(dash.page_registry.values(), key=lambda p: p.get("order", 99))
    # the links carry the view's shared filters (components.urlstate)
    links = [nav_link(p["name"], p["relative_path"]) for p in pages]
    return html.Header(
        dbc.Navbar(
            dbc.Container(
                [
                    dbc.NavbarBrand(
                        html.Span(study_name(), className="fw-bold"),
                        href="/",
                        id=BRAND,
                        className="me-3",
                    ),
                    dbc.Nav(links, pills=True, className="main-nav flex-row flex-wrap gap-1"),
                    dbc.Nav(
                        [arm_picker(), picker()],
                        className="flex-row flex-wrap column-gap-2 ms-lg-auto",
                    ),
                ],
                fluid="xxl",
                className="flex-wrap",
            ),
            color="dark",
            dark=True,
            className="py-1",
        )
    )


def _requested_page() -> tuple[str, str, str] | None:
    """(pathname, search, href) of the page this request builds the layout for: the page
    itself, or -- for ``/_dash-layout``, which the page's scripts request -- the page that
    asked (its same-origin Referer).  None when that is not known."""
    import flask

    if not flask.has_request_context():
        return None
    req = flask.request
    if req.path.endswith("/_dash-layout"):
        ref = urlparse(req.referrer or "")
        if not ref.path or ref.netloc != req.host:
            return None
        return ref.path, f"?{ref.query}" if ref.query else "", ref._replace(fragment="").geturl()
    query = req.query_string.decode("latin-1")
    return req.path, f"?{query}" if query else "", req.url


PAGE_SERVED = "page-served"  # the address the page in the layout was made for


@memoize(keep=lambda plain: LAYOUT_FAILED_TITLE not in json.dumps(plain))
def page_layout(pathname: str, search: str) -> tuple[object, str] | None:
    """(layout, title) of the page at ``pathname`` for the query ``search``, as Dash's
    pages router makes it (``dash._pages``' routing; its 404 page is left to the router:
    None).  Cached by address and study like the views (components.cache): a page's layout
    is a pure function of them and the results; a layout that failed is not kept."""
    page, path_variables = _path_to_page(app.strip_relative_path(pathname))
    if not page:
        return None
    layout, title = page.get("layout", ""), page["title"]
    if callable(layout):
        layout = layout(**{**(path_variables or {}), **_parse_query_string(search)})
    if callable(title):
        title = title(**(path_variables or {}))
    return layout, title


def page_container() -> html.Div:
    """``dash.page_container`` with the requested page already in it.

    Dash's pages router fills the page in by a callback once the page's location is known
    in the browser: one more round trip (and a second render, and the page's callbacks
    firing as if its controls had changed) before the first figure.  Here the layout
    response carries the page, and the location component is given the address it will
    find, so that it reports no change on mount; the router callback then runs only on
    navigation within the app.  Should the address in the browser not be the one the page
    was made for (a Referer rewritten on the way), a clientside check below hands it to
    the router.  Ids: those of ``dash.page_container``."""
    asked = _requested_page() if _path_to_page is not None else None
    made = page_layout(asked[0], asked[1]) if asked else None
    if made is None:
        return dash.page_container
    (pathname, search, href), (layout, title) = asked, made
    location, content, store, dummy = dash.page_container.children
    return html.Div(
        [
            dcc.Location(
                id=location.id,
                refresh=location.refresh,
                pathname=pathname,
                search=search,
                hash="",
                href=href,
            ),
            html.Div(layout, id=content.id, disable_n_clicks=True),
            dcc.Store(id=store.id, data={"title": title}),  # the router's title callback
            html.Div(id=dummy.id, disable_n_clicks=True),
            dcc.Store(id=PAGE_SERVED, data={"pathname": pathname, "search": search}),
        ]
    )


# the page in the layout was made for the address the server saw; if the browser is at
# another (the Referer was changed on the way), the location is told the real one, which
# runs the router callback as a navigation would
app.clientside_callback(
    """
    function(data) {
        const nu = window.dash_clientside.no_update;
        if (!data || data.pathname === undefined) { return [nu, nu]; }
        const here = window.location;
        if (here.pathname === data.pathname && here.search === data.search) { return [nu, nu]; }
        return [here.pathname, here.search];
    }
    """,
    Output(dash.page_container.children[0].id, "pathname"),
    Output(dash.page_container.children[0].id, "search"),
    Input(PAGE_SERVED, "data"),
)


def shell() -> html.Div:
    """The page frame, built per request for the study in the page's address."""
    arts = get_artifacts()
    warnings = [p for p in arts.problems if not p.blocking]
    return html.Div(
        [
            html.A("Skip to main content", href="#main", className="visually-hidden-focusable"),
            navbar(),
            provenance_banner(arts),
            dbc.Container(
                [
                    study_note(),
                    toolbar(),
                    *viewport.stores(),
                    setup.store(),
                    problems_alert(warnings, id="app-warnings")
                    if warnings
                    else html.Div(id="app-warnings"),
                    dbc.Alert(
                        id=APP_ERROR_ID,
                        color="danger",
                        is_open=False,
                        dismissable=True,
                        className="mt-3",
                    ),
                    html.Main(page_container(), id="main", tabIndex=-1),
                ],
                fluid="xxl",
                className="pb-4",
            ),
            html.Footer(
                Static(
                    html.P(
                        [
                            arts.data_label,
                            f". {arts.data_credit}" if arts.data_credit else ".",
                            " Built from the results table; nothing is re-estimated in the browser.",
                        ],
                        id="footer-data",
                        className="small text-body-secondary mb-0",
                    ),
                    className="container-xxl",  # Bootstrap's container, as static markup
                ),
                className="border-top py-2",
            ),
        ]
    )


app.layout = shell
# Dash finishes its set-up (page routing, the layout it checks callbacks against, its own
# clientside callbacks) on the first request.  Done here, before serving: a request that
# arrives while the first is still setting up would otherwise get a CSP without the hash
# of Dash's page-title script and a callback check without the pages (console errors).
with server.test_request_context("/"):
    server.preprocess_request()


def _default_first(param) -> list[str]:
    return [param.default, *(v for v in param.allowed if v != param.default)]


def warm_up(budget_s: float | None = None) -> list[str]:
    """Make the pages once before gunicorn forks the workers (gunicorn.conf.py calls this in
    the master), so that the workers start with them in their memory cache and with the
    look-ups behind them warm: first each page's default view, then -- while the budget
    (``AMK_WARM_S`` seconds, default 20; 0 for the defaults only) lasts -- the views one
    change away (each page for every other estimator, and every other wave; each page that
    has an outcome menu for every other outcome: a new outcome cost a worker 23-27 ms
    in-process, 30-44 ms through gunicorn, while the user waited; issue 12), then every other
    estimator and wave together.  The page layouts and the callbacks share the memoised views.
    Returns the addresses made."""
    import time

    budget = float(os.environ.get("AMK_WARM_S", "20")) if budget_s is None else budget_s
    start = time.monotonic()
    # the pages that draw figures first, and the estimator and wave on screen first
    pages = sorted(dash.page_registry.values(), key=lambda p: not p.get("draws_figures"))
    made = []
    for address in [p["relative_path"] for p in pages] + _views_away(pages):
        if made and len(made) >= len(pages) and time.monotonic() - start > budget:
            break
        with server.test_request_context(address):
            page_container()
        made.append(address)
    return made


def _views_away(pages: list[dict]) -> list[str]:
    """The addresses :func:`warm_up` makes after the default views: one change away, then
    two.  A page whose parameters cannot be read is left out (logged), not the warm-up."""
    import sys
    from urllib.parse import urlencode

    from components.spec import spec_params

    res = ARTIFACTS.results
    if res is None:  # without results every page shows what is missing
        return []
    spec = {p.name: p for p in spec_params(res)}
    method, wave = spec["method"].default, spec["wave"].default
    one = [
        f"{p['relative_path']}?method={m}&wave={w}"
        for m, w in [(m, wave) for m in _default_first(spec["method"])[1:]]
        + [(method, w) for w in _default_first(spec["wave"])[1:]]
        for p in pages
    ]
    for page in pages:
        module = sys.modules.get(page.get("module", ""))
        specs = getattr(module, "param_specs", None)
        # a page that moves the wave when the outcome changes says where to (its own rule,
        # the callback's: Breakdowns' ``wave_asked``); the others keep the wave on screen
        moved = getattr(module, "wave_asked", None)
        try:
            outcome = next((p for p in specs() if p.name == "outcome"), None) if specs else None
            views = [
                (o, moved(o, wave) if moved else dash.no_update)
                for o in (outcome.allowed if outcome is not None else ())
                if o != outcome.default
            ]
        except Exception as exc:  # noqa: BLE001 - a head start only
            logging.getLogger("amk.warm").warning("%s: no outcome views (%s)", page["path"], exc)
            continue
        one += [
            f"{page['relative_path']}?"
            + urlencode({"outcome": o, "wave": wave if w is dash.no_update else w})
            for o, w in views
        ]
    two = [
        f"{p['relative_path']}?method={m}&wave={w}"
        for w in _default_first(spec["wave"])[1:]
        for m in _default_first(spec["method"])[1:]
        for p in pages
    ]
    return one + two


if __name__ == "__main__":
    app.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8050")),
        debug=os.environ.get("DASH_DEBUG", "").lower() in ("1", "true", "yes"),
    )
