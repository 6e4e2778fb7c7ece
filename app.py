"""The impact dashboard (Plotly Dash, multi-page): every shipped study, ``?study=<id>``.

``python app.py`` serves it on http://127.0.0.1:8050 (``HOST``/``PORT`` override;
``DASH_DEBUG=1`` for development); gunicorn serves ``app:server``.  The pages live
in ``pages/``; each study's artefacts are read once (``components.store``); the study
on screen is the ``study`` parameter of the address (``AMK_STUDY``'s study without one).
"""

from __future__ import annotations

import hashlib
import logging
import os

import dash
import dash_bootstrap_components as dbc
from dash import Dash, html

import components.export  # noqa: F401  (registers the SVG-export callback)
import components.present  # noqa: F401  (report downloads and presentation mode)
from analysis.paths import default_study, study_ids
from components.cache import init_cache
from components.delivery import speed_up
from components.errors import APP_ERROR_ID, on_callback_error
from components.layout import problems_alert, provenance_banner
from components.present import toolbar
from components.server import harden
from components.store import get_artifacts, health
from components.studies import arm_picker, picker, study_name, study_note
from components.urlstate import BRAND, nav_link

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
                    html.Main(dash.page_container, id="main", tabIndex=-1),
                ],
                fluid="xxl",
                className="pb-4",
            ),
            html.Footer(
                dbc.Container(
                    html.P(
                        [
                            arts.data_label,
                            f". {arts.data_credit}" if arts.data_credit else ".",
                            " Built from the results table; nothing is re-estimated in the browser.",
                        ],
                        id="footer-data",
                        className="small text-body-secondary mb-0",
                    ),
                    fluid="xxl",
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

if __name__ == "__main__":
    app.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8050")),
        debug=os.environ.get("DASH_DEBUG", "").lower() in ("1", "true", "yes"),
    )
