"""Presenting from the app: slide-deck and brief downloads of the current view, and
presentation mode.

* "Download slides" / "Download brief (PDF)" build the deck or brief of the view in
  the address bar with :mod:`components.reports`: they read the query string of the
  app's one Location (:mod:`components.urlstate`), which every page control writes,
  so the file is the view on screen.  The button is disabled and says so while it
  renders.
* Presentation mode (``?present=1`` in any link, or the toggle) enlarges type, hides
  the controls and raises contrast for a projector.  A page marks the one or two
  controls a presenter needs with :data:`KEEP` (they stay, in a bar that stays on
  screen), text the audience does not need with :data:`HIDE`, and its main plotly
  figure with :data:`FIT`: that figure is then re-laid out to the screen's height (less
  the bar), so the whole figure, axis included, fits a 1280×720 projector.  The address bar says whether it
  is on: the toggle writes ``present=1`` to the Location (replacing the history entry,
  so Back does not switch it), the navigation links and the pages' controls keep it.
  It is also remembered for the browser tab (session storage), so an address typed
  without it keeps the mode; ``?present=0`` or the toggle ends it; any other value is
  ignored.

All browser-side code is in Dash clientside callbacks (allowed by the app's
Content-Security-Policy through Dash's script hashes); nothing is injected inline.
"""

from __future__ import annotations

import logging

import dash
from dash import Input, Output, State, dcc, html

from components import setup
from components.reports import ReportError, make_report
from components.store import get_artifacts
from components.urlstate import LOCATION, location

log = logging.getLogger("amk.present")

PRESENT_STORE = "present-mode"
PRESENT_TOGGLE = "present-toggle"
PPTX_BUTTON = "report-pptx-button"
PDF_BUTTON = "report-pdf-button"
PPTX_DOWNLOAD = "report-pptx-download"
PDF_DOWNLOAD = "report-pdf-download"
STATUS = "report-status"
BUSY = "report-busy"
PRESENT_CLASS = "presenting"
# class names a page puts on its parts (assets/present.css gives them their meaning)
FIT = "present-fit"  # the page's main figure: sized to fit the screen while presenting
KEEP = "present-keep"  # a control a presenter needs (outcome, wave): stays while presenting
HIDE = "present-hide"  # text the audience does not need: hidden while presenting

LABELS = {
    "pptx": ("Download slides", "Preparing slides…"),
    "pdf": ("Download brief (PDF)", "Preparing brief…"),
}


def toolbar() -> html.Div:
    """The shell's actions for presenters (hidden when printing)."""
    return html.Div(
        [
            location(),
            dcc.Store(id=PRESENT_STORE, storage_type="session"),
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


def present_keep(cols: list, *ids: str) -> list:
    """Mark the control columns (``components.layout.control``) holding ``ids`` as kept in
    presentation mode; returns ``cols``."""
    for col in cols:
        kids = col.children if isinstance(col.children, list) else [col.children]
        if any(getattr(k, "id", None) in ids for k in kids):
            col.className = f"{col.className or ''} {KEEP}".strip()
    return cols


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


# the mode: from the address (?present=1 / 0) or the toggle; anything else leaves it as it
# was.  Then the address is made to say it (replaceState, and the same search given to
# the Location, so that its value is the address and no history entry is added), and a
# class on <html> applies it (the stylesheets do the rest).
dash.clientside_callback(
    """
    function(search, clicks, current) {
        const ctx = window.dash_clientside.callback_context;
        const trig = (ctx.triggered[0] || {}).prop_id || '';
        const params = new URLSearchParams(search || '');
        const raw = params.get('present');
        let on;
        if (trig.startsWith('present-toggle')) {
            on = !current;
        } else {
            const v = raw === null ? '' : raw.trim().toLowerCase();
            if (['1', 'true', 'yes', 'on'].includes(v)) { on = true; }
            else if (['0', 'false', 'no', 'off'].includes(v)) { on = false; }
            else { on = !!current; }
        }
        if (on && raw !== '1') { params.set('present', '1'); }
        if (!on && raw !== null) { params.delete('present'); }
        let out = window.dash_clientside.no_update;
        if ((on && raw !== '1') || (!on && raw !== null)) {
            const next = params.toString() ? '?' + params.toString() : '';
            const url = new URL(window.location.href);
            url.search = next;
            window.history.replaceState(window.history.state, '', url.href);
            out = next;
        }
        document.documentElement.classList.toggle('presenting', on);
        if (on === current) {
            // the mode did not change (most address changes are a filter): nothing to redraw
            const nu = window.dash_clientside.no_update;
            return [nu, out, nu, nu];
        }
        return [on, out, on ? 'Exit presentation mode' : 'Presentation mode', on ? 'true' : 'false'];
    }
    """,
    Output(PRESENT_STORE, "data"),
    Output(LOCATION, "search", allow_duplicate=True),
    Output(PRESENT_TOGGLE, "children"),
    Output(PRESENT_TOGGLE, "aria-pressed"),
    Input(LOCATION, "search"),
    Input(PRESENT_TOGGLE, "n_clicks"),
    State(PRESENT_STORE, "data"),
    prevent_initial_call="initial_duplicate",
)

# printing: figures and grids keep their on-screen pixel width, which is wider than the
# paper.  Before the browser prints, each gets a zoom (a CSS variable that print.css
# applies) that fits it to an A4 page; set on every navigation, when presentation mode
# changes, and on "beforeprint".
setup.part(
    "print-fit",
    """
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
    """,
)


# presenting: each FIT figure is laid out to fit the screen below the sticky control bar
# (larger type, the height of the window); on leaving the mode it gets its own height back.
# A figure redrawn by a page's callback (a new wave) is fitted again after it is drawn.
setup.part(
    "present-fit",
    r"""
        const on = presenting;
        // a label of the y axis re-wrapped at ``width`` characters (each line keeps its <b>/<i>)
        const rewrap = function(text, width) {
            const tag = text.startsWith('<b>') ? 'b' : (text.startsWith('<i>') ? 'i' : null);
            const plain = text.split('<br>').join(' ').replace(/<\/?[bi]>/g, '');
            const lines = [];
            let cur = '';
            plain.split(' ').forEach(function(w) {
                if (cur && (cur + ' ' + w).length > width) { lines.push(cur); cur = w; }
                else { cur = cur ? cur + ' ' + w : w; }
            });
            if (cur) { lines.push(cur); }
            return lines.map(function(l) { return tag ? '<' + tag + '>' + l + '</' + tag + '>' : l; }).join('<br>');
        };
        const fitOne = function(gd) {
            if (!gd || !gd._fullLayout || !window.Plotly) { return false; }
            const presenting = document.documentElement.classList.contains('presenting');
            const phone = !presenting && window.innerWidth < 576;
            const L = gd.layout;
            const title = ((L.xaxis || {}).title || {}).text || '';
            const ticks = (L.yaxis || {}).ticktext;
            let mode = 'own', change = null;
            if (presenting) {
                const bar = document.querySelector('main .present-bar');
                const barH = bar ? bar.getBoundingClientRect().height : 0;
                const target = Math.max(360, Math.floor(window.innerHeight - barH - 16));
                mode = 'present:' + target;
                // the width a projector has: the legend to the right, the axis title on one line
                change = {
                    height: target, 'font.size': 14, 'margin.b': 44,
                    legend: {orientation: 'v', x: 1.01, xanchor: 'left', y: 1, yanchor: 'top',
                             font: {size: 13}},
                    'xaxis.title.text': title.split('<br>').join(' '),
                };
            } else if (phone) {
                // a phone: short label lines and smaller type, so the plot keeps most of the width
                mode = 'phone';
                const lines = (ticks || []).filter(function(t) { return rewrap(t, 18).includes('<br>'); }).length;
                change = {'font.size': 11, legend: Object.assign({}, L.legend || {}, {font: {size: 11}}),
                          'xaxis.title.text': rewrap(title, 30),
                          height: Math.round(gd._fullLayout.height + 18 * lines)};
                if (ticks) { change['yaxis.ticktext'] = ticks.map(function(t) { return rewrap(t, 18); }); }
            }
            const fresh = gd.viewFitLayout !== L;  // a new figure from the page since the last fit
            if (fresh && gd.dataset.viewFit) { delete gd.dataset.viewFit; }
            if (mode === (gd.dataset.viewFit || 'own')) { return true; }
            if (!gd.dataset.viewFit) {
                // the figure's own layout, for going back to it
                gd.viewOwn = {
                    height: L.height || null, 'font.size': (L.font || {}).size || null,  // null: the page's own size
                    legend: JSON.parse(JSON.stringify(L.legend || {})), 'margin.b': (L.margin || {}).b,
                    'xaxis.title.text': title, 'yaxis.ticktext': ticks ? ticks.slice() : null,
                };
            }
            const apply = change || gd.viewOwn || {};
            if (mode === 'own') { delete gd.dataset.viewFit; } else { gd.dataset.viewFit = mode; }
            gd.viewFitLayout = gd.layout;  // relayout changes this object in place
            window.Plotly.relayout(gd, apply).then(function() { gd.viewFitLayout = gd.layout; });
            return true;
        };
        const fitAll = function(tries) {
            let pending = false;
            document.querySelectorAll('.present-fit .js-plotly-plot').forEach(function(gd) {
                if (!gd.viewFitHooked && gd.on) {
                    gd.viewFitHooked = true;
                    gd.on('plotly_afterplot', function() { fitOne(gd); });
                }
                if (!fitOne(gd)) { pending = true; }
            });
            const none = !document.querySelector('.present-fit .js-plotly-plot');
            if ((pending || none) && tries > 0) {
                setTimeout(function() { fitAll(tries - 1); }, 200);
            }
        };
        if (!window.viewFitResize) {
            window.viewFitResize = true;
            // after the size has settled (a screenshot tool resizes for an instant)
            let timer = null;
            const later = function() {
                clearTimeout(timer);
                timer = setTimeout(function() { fitAll(0); }, 300);
            };
            window.addEventListener('resize', later);
            window.addEventListener('orientationchange', later);
        }
        fitAll(25);
        // entering the mode, or a page opened in it: the control bar and the figure below it
        // fill the screen (the page's title and notes are above, a scroll away)
        if (on) {
            const toFigure = function(tries) {
                const bar = document.querySelector('main .present-bar');
                const fit = document.querySelector('main .present-fit');
                const fig = fit && fit.querySelector('.js-plotly-plot');
                // a plotly figure once it is drawn; an HTML figure (the results chain) at once
                if (bar && fit && (!fig || fig._fullLayout) && (fig || fit.children.length)) {
                    const top = bar.getBoundingClientRect().top + window.scrollY;
                    window.scrollTo({top: top, behavior: 'instant'});
                } else if (tries > 0) {
                    setTimeout(function() { toFigure(tries - 1); }, 200);
                }
            };
            setTimeout(function() { toFigure(25); }, 300);
        }
    """,
)


# keyboard: each figure's toolbar keeps one Tab stop (the PNG download); its zoom and pan
# tools, which only a pointer can use, are taken out of the Tab order, so a keyboard user
# does not Tab through six buttons per figure (issue 13).  Toolbars drawn later (a new
# page, a redrawn figure) are handled as they appear.
setup.part(
    "modebar-tab-order",
    """
        const tame = function() {
            document.querySelectorAll('.modebar-btn').forEach(function(b) {
                const title = b.getAttribute('data-title') || '';
                if (!title.startsWith('Download') && b.getAttribute('tabindex') !== '-1') {
                    b.setAttribute('tabindex', '-1');
                }
            });
        };
        if (!window.viewModebarObserver) {
            let queued = false;
            window.viewModebarObserver = new MutationObserver(function(records) {
                if (queued) { return; }
                const added = records.some(function(r) { return r.addedNodes.length > 0; });
                if (!added) { return; }
                queued = true;
                setTimeout(function() { queued = false; tame(); }, 150);
            });
            window.viewModebarObserver.observe(document.body, {childList: true, subtree: true});
        }
        tame();
    """,
)
