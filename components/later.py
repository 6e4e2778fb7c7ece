"""Figures drawn after the page's first one (issue 12: the first figure, sooner).

A page that draws several figures on arrival draws them in one go: dcc.Graph plots each as
it mounts, all in the same task of the browser's main thread, so the figure a user came for
appears only once every figure of the page has been laid out (on /effects the means chart
below the table, on /breakdowns the province and sex charts beside the branch chart; 100-250
ms of a slow machine's main thread each).  A figure marked ``later`` is instead put in the
page as a blank of its own height (nothing moves when it arrives) and its figure travels in
a store beside it; a clientside callback hands the figure to the graph once another figure
of the page has drawn and the browser has had a frame to paint it (or after ``WAIT_MS``,
whatever happens first).  The figure is the page's own, built by the server with the rest of
the layout: no extra request.

A figure that a callback changes before its turn (a user quicker than the first figure) is
not overwritten: the blank carries ``layout.meta.later`` and the figure is handed over only
while the graph still shows that blank.

``later_figures(*ids)`` registers the callbacks of a page's later figures, at import (as every
Dash callback); :func:`components.layout.graph` refuses ``later=True`` for an id not
registered, so that a figure cannot be left blank.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc

WAIT_MS = 3000
REGISTERED: set[str] = set()

# the graph's id, the wait; resolves with the figure once another graph of the page shows
# its plot (".main-svg" inside a graph on screen that is not itself waiting; at once when
# there is none) and a frame has passed
_HAND_OVER = """
function(fig, id) {
    const noUpdate = window.dash_clientside.no_update;
    if (!fig) { return noUpdate; }
    const blank = function() {
        const holder = document.getElementById(id);
        const gd = holder && (holder.classList.contains('js-plotly-plot') ? holder : holder.querySelector('.js-plotly-plot'));
        // not drawn yet, or still the blank: the figure is due
        return !gd || !gd.layout || !!(gd.layout.meta && gd.layout.meta.later);
    };
    const firstDrawn = function() {
        // the page's other figures on screen (a hidden section's do not count)
        const others = Array.from(document.querySelectorAll('.dash-graph:not(.figure-later)'))
            .filter(function(g) { return g.getClientRects().length > 0; });
        return others.length === 0 || others.some(function(g) { return g.querySelector('.main-svg'); });
    };
    return new Promise(function(resolve) {
        let done = false, obs = null, timer = null;
        const finish = function() {
            if (done) { return; }
            done = true;
            if (obs) { obs.disconnect(); }
            clearTimeout(timer);
            // a frame to paint the first figure, then this one
            requestAnimationFrame(function() {
                setTimeout(function() { resolve(blank() ? fig : noUpdate); }, 0);
            });
        };
        timer = setTimeout(finish, __WAIT__);
        if (firstDrawn()) { finish(); return; }
        obs = new MutationObserver(function() { if (firstDrawn()) { finish(); } });
        obs.observe(document.body, {childList: true, subtree: true});
    });
}
""".replace("__WAIT__", str(WAIT_MS))


def store_id(graph_id: str) -> str:
    return f"{graph_id}-later"


def later_figures(*graph_ids: str) -> None:
    """Register the hand-over of each graph's figure (once per id; call at import)."""
    for gid in graph_ids:
        if gid in REGISTERED:
            continue
        dash.clientside_callback(
            _HAND_OVER,
            Output(gid, "figure", allow_duplicate=True),
            Input(store_id(gid), "data"),
            State(gid, "id"),
            prevent_initial_call="initial_duplicate",
        )
        REGISTERED.add(gid)


def blank(figure: Any) -> dict:
    """What the graph shows until its figure is handed over: nothing, at the figure's height
    (plotly JSON; ``layout.meta.later`` marks it as the blank)."""
    layout = (figure if isinstance(figure, dict) else figure.to_plotly_json()).get("layout", {})
    height, margin = layout.get("height"), layout.get("margin")
    out: dict[str, Any] = {
        "data": [],
        "layout": {
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "meta": {"later": True},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }
    if height:
        out["layout"]["height"] = height
    if margin:
        out["layout"]["margin"] = margin
    return out


def store(graph_id: str, figure: Any) -> dcc.Store:
    """The store that carries ``figure`` to the graph (see the module)."""
    if graph_id not in REGISTERED:
        raise ValueError(
            f"figure {graph_id!r} is drawn later, but later_figures({graph_id!r}) was not "
            "called at import: it would stay blank"
        )
    return dcc.Store(id=store_id(graph_id), data=figure)
