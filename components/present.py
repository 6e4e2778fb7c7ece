"""Presenting from the app: slide-deck and brief downloads of the current view, and
presentation mode.

* "Download slides" / "Download brief (PDF)" build the deck or brief of the view in
  the address bar (the page's filters are in its query string) with
  :mod:`components.reports`; the button is disabled and says so while it renders.
* Presentation mode (``?present=1`` in any link, or the toggle) enlarges type, hides
  the controls and raises contrast for a projector.  It is remembered for the
  browser tab (session storage) and kept in the address bar across page navigation;
  ``?present=0`` or the toggle ends it; any other value is ignored.

All browser-side code is in Dash clientside callbacks (allowed by the app's
Content-Security-Policy through Dash's script hashes); nothing is injected inline.
"""

from __future__ import annotations

import logging

import dash
from dash import Input, Output, State, dcc, html

from components.reports import ReportError, make_report
from components.store import get_artifacts

log = logging.getLogger("amk.present")

LOCATION = "app-location"
PRESENT_STORE = "present-mode"
PRESENT_TOGGLE = "present-toggle"
PPTX_BUTTON = "report-pptx-button"
PDF_BUTTON = "report-pdf-button"
PPTX_DOWNLOAD = "report-pptx-download"
PDF_DOWNLOAD = "report-pdf-download"
STATUS = "report-status"
BUSY = "report-busy"
PRESENT_CLASS = "presenting"
PRINT_SETUP = "print-setup"

LABELS = {
    "pptx": ("Download slides", "Preparing slides…"),
    "pdf": ("Download brief (PDF)", "Preparing brief…"),
}


def toolbar() -> html.Div:
    """The shell's actions for presenters (hidden when printing)."""
    return html.Div(
        [
            dcc.Location(id=LOCATION, refresh=False),
            dcc.Store(id=PRESENT_STORE, storage_type="session"),
            dcc.Store(id=PRINT_SETUP),
            dcc.Download(id=PPTX_DOWNLOAD),
            dcc.Download(id=PDF_DOWNLOAD),
            html.Span(id=BUSY, className="report-busy small text-body-secondary", role="status"),
            html.Span(id=STATUS, className="report-status small", **{"aria-live": "polite"}),
            html.Button(
                LABELS["pptx"][0],
                id=PPTX_BUTTON,
                className="btn btn-outline-primary btn-sm report-action",
                title="A PowerPoint deck of this view: results chain, effects, breakdowns, "
                "recommendations and methods",
            ),
            html.Button(
                LABELS["pdf"][0],
                id=PDF_BUTTON,
                className="btn btn-outline-primary btn-sm report-action",
                title="A printable brief of this view, at most four A4 pages",
            ),
            html.Button(
                "Presentation mode",
                id=PRESENT_TOGGLE,
                className="btn btn-outline-dark btn-sm present-toggle",
                title="Large type, no controls, high contrast: for a projector",
                **{"aria-pressed": "false"},
            ),
        ],
        className="report-actions d-flex flex-wrap align-items-center justify-content-end gap-2 mt-2",
        role="toolbar",
        **{"aria-label": "Presenting"},
    )


def report_download(kind: str, search: str | None):
    """(download payload or no_update, status sentence) for the Download buttons."""
    what = "slides" if kind == "pptx" else "brief"
    try:
        name, data, notes = make_report(get_artifacts(), kind, search or "")
    except ReportError as exc:
        return dash.no_update, f"The {what} could not be made: {exc}"
    note = (" " + " ".join(notes)) if notes else ""
    done = "Slides ready" if kind == "pptx" else "Brief ready"
    return dcc.send_bytes(data, name), f"{done}: {name}.{note}"


@dash.callback(
    Output(PPTX_DOWNLOAD, "data"),
    Output(STATUS, "children", allow_duplicate=True),
    Input(PPTX_BUTTON, "n_clicks"),
    State(LOCATION, "search"),
    prevent_initial_call=True,
    running=[
        (Output(PPTX_BUTTON, "disabled"), True, False),
        (Output(PPTX_BUTTON, "children"), LABELS["pptx"][1], LABELS["pptx"][0]),
        (Output(BUSY, "children"), "Rendering the slides takes a few seconds…", ""),
    ],
)
def download_slides(n_clicks, search):
    if not n_clicks:
        return dash.no_update, dash.no_update
    return report_download("pptx", search)


@dash.callback(
    Output(PDF_DOWNLOAD, "data"),
    Output(STATUS, "children", allow_duplicate=True),
    Input(PDF_BUTTON, "n_clicks"),
    State(LOCATION, "search"),
    prevent_initial_call=True,
    running=[
        (Output(PDF_BUTTON, "disabled"), True, False),
        (Output(PDF_BUTTON, "children"), LABELS["pdf"][1], LABELS["pdf"][0]),
        (Output(BUSY, "children"), "Rendering the brief takes a few seconds…", ""),
    ],
)
def download_brief(n_clicks, search):
    if not n_clicks:
        return dash.no_update, dash.no_update
    return report_download("pdf", search)


# the mode: from the link (?present=1 / 0) or the toggle; anything else leaves it as it was
dash.clientside_callback(
    """
    function(search, clicks, current) {
        const ctx = window.dash_clientside.callback_context;
        const trig = (ctx.triggered[0] || {}).prop_id || '';
        if (trig.startsWith('present-toggle')) { return !current; }
        const raw = new URLSearchParams(search || '').get('present');
        if (raw === null) { return current ? true : false; }
        const v = raw.trim().toLowerCase();
        if (['1', 'true', 'yes', 'on'].includes(v)) { return true; }
        if (['0', 'false', 'no', 'off'].includes(v)) { return false; }
        return current ? true : false;
    }
    """,
    Output(PRESENT_STORE, "data"),
    Input(LOCATION, "search"),
    Input(PRESENT_TOGGLE, "n_clicks"),
    State(PRESENT_STORE, "data"),
)

# apply it: a class on <html> (the stylesheets do the rest) and the flag in the address bar
dash.clientside_callback(
    """
    function(on, search) {
        on = !!on;
        document.documentElement.classList.toggle('presenting', on);
        const url = new URL(window.location.href);
        const flag = url.searchParams.get('present');
        if (on && flag !== '1') { url.searchParams.set('present', '1'); }
        if (!on && flag !== null) { url.searchParams.delete('present'); }
        if (url.href !== window.location.href) {
            window.history.replaceState(window.history.state, '', url.href);
        }
        return [on ? 'Exit presentation mode' : 'Presentation mode', on ? 'true' : 'false'];
    }
    """,
    Output(PRESENT_TOGGLE, "children"),
    Output(PRESENT_TOGGLE, "aria-pressed"),
    Input(PRESENT_STORE, "data"),
    Input(LOCATION, "search"),
)

# printing: figures and grids keep their on-screen pixel width, which is wider than the
# paper.  Before the browser prints, each gets a zoom (a CSS variable that print.css
# applies) that fits it to an A4 page; set on every navigation and on "beforeprint".
dash.clientside_callback(
    """
    function(path) {
        const PAPER_PX = 670;  // A4 portrait less 12 mm margins and the page padding, in CSS px
        const fit = function() {
            // measured on the screen layout only (in print layout the zoom is already applied)
            if (window.matchMedia('print').matches) { return; }
            document.querySelectorAll('.figure-block, .amk-grid').forEach(function(el) {
                const gd = el.querySelector('.js-plotly-plot');
                const box = el.getBoundingClientRect();
                let w = (gd && gd._fullLayout && gd._fullLayout.width) || box.width;
                // a grid's columns may be wider than its box (it scrolls sideways on screen)
                el.querySelectorAll('.ag-header-container, .ag-center-cols-container').forEach(function(c) {
                    w = Math.max(w, c.getBoundingClientRect().right - box.left);
                });
                el.style.setProperty('--print-zoom', w > PAPER_PX ? (PAPER_PX / w).toFixed(3) : '1');
            });
        };
        if (!window.amkPrintFit) {
            window.amkPrintFit = fit;
            window.addEventListener('beforeprint', fit);
        }
        setTimeout(fit, 1500);
        return window.dash_clientside.no_update;
    }
    """,
    Output(PRINT_SETUP, "data"),
    Input(LOCATION, "pathname"),
)
