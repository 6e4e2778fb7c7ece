"""The page URL is the one source of truth for the view.

There is a single ``dcc.Location`` (:data:`LOCATION`, in the app shell).  Every page
control writes the view to its ``search`` (the pages' URL callbacks output
``Output(LOCATION, "search", allow_duplicate=True)`` and keep the carried parameters
with :func:`components.params.keep_carried`), and everything that needs the view
reads it from there:

* the slide and brief downloads (:mod:`components.present`) take ``State(LOCATION,
  "search")`` when the button is pressed;
* the navigation links (:func:`nav_link`) are re-pointed on every change so that they
  carry the shared filters and presentation mode (:func:`components.params.nav_search`;
  which parameters travel is documented in :mod:`components.params`);
* presentation mode reads ``present`` from it and writes it back.

A second Location would not see these writes (a Location with ``refresh=False``
only learns of address changes made by links and the Back button), which is why the
pages must not have their own.
"""

from __future__ import annotations

import json

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, dcc

from components.params import CARRIED_PARAMS

LOCATION = "app-location"
NAV_LINK_TYPE = "nav-link"
BRAND = "nav-brand"


def location() -> dcc.Location:
    """The app's one Location: the view lives in its ``search``."""
    return dcc.Location(id=LOCATION, refresh=False)


def nav_link(name: str, path: str) -> dbc.NavItem:
    """A navigation link whose address (and active state) follows the view."""
    return dbc.NavItem(dbc.NavLink(name, href=path, id={"type": NAV_LINK_TYPE, "index": path}))


# the links carry the shared filters (the same rule as params.nav_search, kept in step
# by tests/test_browser_views.py) and mark the page on screen as active; clientside,
# so that a link is up to date as soon as the address changes
dash.clientside_callback(
    """
    function(pathname, search, ids, hrefs, actives, brand) {
        const KEEP = __KEEP__;
        const q = new URLSearchParams(search || '');
        const out = new URLSearchParams();
        KEEP.forEach(function(k) {
            const all = q.getAll(k);
            if (all.length) { out.set(k, all[all.length - 1]); }
        });
        const tail = out.toString() ? '?' + out.toString() : '';
        // unchanged links are not sent again (most address changes are a page's own filter,
        // which the links do not carry): each update costs the browser a redraw
        const nu = window.dash_clientside.no_update;
        const same = function(a, b) { return JSON.stringify(a) === JSON.stringify(b); };
        const h = ids.map(function(id) { return id.index + tail; });
        const a = ids.map(function(id) { return id.index === pathname; });
        return [same(h, hrefs) ? nu : h, same(a, actives) ? nu : a, brand === '/' + tail ? nu : '/' + tail];
    }
    """.replace("__KEEP__", json.dumps(list(CARRIED_PARAMS))),
    Output({"type": NAV_LINK_TYPE, "index": ALL}, "href"),
    Output({"type": NAV_LINK_TYPE, "index": ALL}, "active"),
    Output(BRAND, "href"),
    Input(LOCATION, "pathname"),
    Input(LOCATION, "search"),
    State({"type": NAV_LINK_TYPE, "index": ALL}, "id"),
    State({"type": NAV_LINK_TYPE, "index": ALL}, "href"),
    State({"type": NAV_LINK_TYPE, "index": ALL}, "active"),
    State(BRAND, "href"),
)
