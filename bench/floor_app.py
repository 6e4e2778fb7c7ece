"""The floor app of the browser benchmark: the least a Dash app can do to show the same figure.

One ``dcc.Graph`` holding the same figure JSON as the dashboard page it stands for, and
one ``dcc.RadioItems`` whose callback swaps in the same figure of another view (for the
interaction timing).  Nothing else: no pages, no Bootstrap, no tables.  It is served
like the dashboard (gunicorn, compressed, the same plotly.js bundle choice through
``components.delivery``), so the ratio dashboard / floor is what the dashboard's own
weight and round trips cost.

``AMK_FLOOR_FIGURES`` names a JSON file ``{"figures": [...], "config": {...}}`` written by
``bench.browser``; ``gunicorn bench.floor_app:server`` serves it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dash import Dash, Input, Output, dcc, html

from components.delivery import speed_up

_spec = json.loads(Path(os.environ["AMK_FLOOR_FIGURES"]).read_text())
FIGURES: list[dict] = _spec["figures"]

app = Dash(__name__, title="floor", update_title=None, compress=False)
app.layout = html.Div(
    [
        dcc.RadioItems(
            id="floor-view",
            options=[{"label": f"view {i}", "value": i} for i in range(len(FIGURES))],
            value=0,
            inline=True,
        ),
        dcc.Graph(id="floor-graph", figure=FIGURES[0], config=_spec.get("config", {})),
    ]
)


@app.callback(
    Output("floor-graph", "figure"), Input("floor-view", "value"), prevent_initial_call=True
)
def _swap(i):
    return FIGURES[int(i or 0) % len(FIGURES)]


server = speed_up(app)
