"""SVG export for every figure made with :func:`components.layout.graph`.

The modebar's camera exports PNG (with the file name from the graph's
``toImageButtonOptions``); the "download SVG" button next to each figure calls
``Plotly.downloadImage`` in the browser with the same file name.  One clientside
callback, matched by pattern, serves all figures.
"""

from __future__ import annotations

from dash import MATCH, Input, Output, State, clientside_callback

clientside_callback(
    """
    function(n, id) {
        const noUpdate = window.dash_clientside.no_update;
        if (!n) { return noUpdate; }
        const holder = document.getElementById(id.index);
        const gd = holder && (holder.classList.contains('js-plotly-plot') ? holder : holder.querySelector('.js-plotly-plot'));
        if (gd && window.Plotly) {
            const opts = (gd._context && gd._context.toImageButtonOptions) || {};
            window.Plotly.downloadImage(gd, {format: 'svg', filename: opts.filename || 'figure'});
        }
        return noUpdate;
    }
    """,
    Output({"type": "svg-export", "index": MATCH}, "title"),
    Input({"type": "svg-export", "index": MATCH}, "n_clicks"),
    State({"type": "svg-export", "index": MATCH}, "id"),
    prevent_initial_call=True,
)
