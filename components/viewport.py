"""Which layout the screen shows: a narrow one (a phone, below Bootstrap's ``md``) or not.

Some content exists twice, one for each width (the Effects table: a grid on a wide screen,
a list of short items on a phone), and only one is visible.  Drawing the hidden one on
every filter change costs the browser as much as drawing the visible one (Dash renders
every component, visible or not), so a page's callback can read :data:`VIEWPORT` and
build only the visible copy.

* :data:`VIEWPORT` (``{"narrow": bool}``) is kept current in the browser (a media-query
  listener, installed once by a part of the shell's set-up, :mod:`components.setup`); read
  it as a ``State``.  Until the listener has run it is ``None``: build both copies.
* ``crossed(page)``: a page's store counting the times the screen crossed the breakpoint
  (a window resized, a tablet turned); a callback that builds only one copy takes it as an
  ``Input``, so that the copy that has just become visible is built then.  The count is
  kept in the app shell (:data:`CROSSED`) and copied to every page's store by a
  pattern-matching callback: a page callback must not take a shell component as an
  ``Input`` (Dash then fires it on other pages, where its other inputs do not exist).
* A page's first layout is built for a wide screen (the server does not know the width):
  the narrow copy is left empty.  When the page appears on a narrow screen, its
  ``crossed(page)`` store is set to :data:`STARTED_NARROW` at once (a clientside check,
  no round trip on a wide screen), which runs the page's callback as a crossing does, and
  the narrow copy is built then.  Every component in the layout costs the browser on every
  store update (Dash's renderer looks each one up again), so a hidden copy of 135
  components slowed the wide page's first drawing and its first filter change (issue 12).

:data:`VIEWPORT` and :data:`CROSSED` live in the app shell (``stores()``).
"""

from __future__ import annotations

import json

import dash
from dash import ALL, MATCH, Input, Output, dcc

from components import setup

VIEWPORT = "app-viewport"
CROSSED = "app-viewport-crossed"
# Bootstrap's md breakpoint: the grid is `d-none d-md-block`, the phone list `d-md-none`
NARROW_QUERY = "(max-width: 767.98px)"


def stores() -> list[dcc.Store]:
    return [dcc.Store(id=VIEWPORT), dcc.Store(id=CROSSED, data=0)]


def crossed(page: str) -> dict:
    """The id of ``page``'s copy of the crossing count (put ``crossed_store(page)`` in its
    layout, take ``Input(crossed(page), "data")``)."""
    return {"type": "viewport-crossed", "page": page}


def crossed_store(page: str) -> dcc.Store:
    return dcc.Store(id=crossed(page), data=0)


# the value a page's crossing store takes when the page appears on a narrow screen (the
# crossings counted by the shell are >= 1)
STARTED_NARROW = -1


def is_narrow(data) -> bool | None:
    """The stored viewport -> True (narrow), False (wide) or None (not known yet)."""
    if isinstance(data, dict) and isinstance(data.get("narrow"), bool):
        return data["narrow"]
    return None


setup.part(
    "viewport",
    """
        if (!window.amkViewport) {
            const mq = window.matchMedia(__QUERY__);
            const set = window.dash_clientside.set_props;
            let crossed = 0;
            window.amkViewport = mq;
            set(__VIEWPORT__, {data: {narrow: mq.matches}});
            mq.addEventListener('change', function(ev) {
                set(__VIEWPORT__, {data: {narrow: ev.matches}});
                crossed += 1;
                set(__CROSSED__, {data: crossed});
            });
        }
    """.replace("__QUERY__", json.dumps(NARROW_QUERY))
    .replace("__VIEWPORT__", json.dumps(VIEWPORT))
    .replace("__CROSSED__", json.dumps(CROSSED)),
)

# the shell's count, copied to the stores of the page on screen (none: nothing to do)
dash.clientside_callback(
    """
    function(n, ids) { return ids.map(function() { return n; }); }
    """,
    Output({"type": "viewport-crossed", "page": ALL}, "data"),
    Input(CROSSED, "data"),
    dash.State({"type": "viewport-crossed", "page": ALL}, "id"),
    prevent_initial_call=True,
)

# a page that appears on a narrow screen: its narrow copy is built at once (see the module)
dash.clientside_callback(
    """
    function(id) {
        return window.matchMedia(__QUERY__).matches ? __STARTED__
            : window.dash_clientside.no_update;
    }
    """.replace("__QUERY__", json.dumps(NARROW_QUERY)).replace("__STARTED__", str(STARTED_NARROW)),
    Output({"type": "viewport-crossed", "page": MATCH}, "data", allow_duplicate=True),
    Input({"type": "viewport-crossed", "page": MATCH}, "id"),
    prevent_initial_call="initial_duplicate",
)
