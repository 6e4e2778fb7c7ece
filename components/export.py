"""PNG and SVG export, under the view's file name, for every figure made with
:func:`components.layout.graph`.

The file name follows the view (``amk-fe-effects-did-wild-endline-std``), so it travels in
the figure, as ``layout.meta.filename`` (:func:`components.theme.named`), not in the graph's
config: plotly.js redraws a figure from scratch whenever its config changes, so a config
that followed the view doubled the time of every filter change (issue 12).

* The modebar's camera (PNG): plotly.js names the download after ``toImageButtonOptions``'
  file name, else the graph div's ``fn``.  The config gives none, and a click listener
  (capture phase, so before plotly's own) sets ``fn`` from the figure drawn at that moment.
  It is installed once, by a part of the app shell's set-up (:mod:`components.setup`).
* The "download SVG" button next to each figure calls ``Plotly.downloadImage`` with the
  same name (one clientside callback, matched by pattern, serves all figures).
"""

from __future__ import annotations

from dash import MATCH, Input, Output, State, clientside_callback

from components import setup

_NAME = "(gd.layout && gd.layout.meta && gd.layout.meta.filename) || 'figure'"

setup.part(
    "png-file-name",
    """
        if (!window.amkExportNames) {
            window.amkExportNames = true;
            document.addEventListener('click', function(ev) {
                const btn = ev.target && ev.target.closest && ev.target.closest('.modebar-btn');
                const gd = btn && btn.closest('.js-plotly-plot');
                if (gd) { gd.fn = __NAME__; }
            }, true);
        }
    """.replace("__NAME__", _NAME),
)

clientside_callback(
    """
    function(n, id) {
        const noUpdate = window.dash_clientside.no_update;
        if (!n) { return noUpdate; }
        const holder = document.getElementById(id.index);
        const gd = holder && (holder.classList.contains('js-plotly-plot') ? holder : holder.querySelector('.js-plotly-plot'));
        if (gd && window.Plotly) {
            window.Plotly.downloadImage(gd, {format: 'svg', filename: __NAME__});
        }
        return noUpdate;
    }
    """.replace("__NAME__", _NAME),
    Output({"type": "svg-export", "index": MATCH}, "title"),
    Input({"type": "svg-export", "index": MATCH}, "n_clicks"),
    State({"type": "svg-export", "index": MATCH}, "id"),
    prevent_initial_call=True,
)
