"""The page URL is the one source of truth for the view.

There is a single ``dcc.Location`` (:data:`LOCATION`, in the app shell).  Every page
control writes the view to its ``search``, and everything that needs the view reads it
from there.  A page's callback does not write the Location itself: it outputs the search
(with the carried parameters kept, :func:`components.params.keep_carried`) to its own
:func:`search_store`, which a clientside callback copies to the Location.  A callback
with an output outside the page (the Location is in the shell) is run by Dash whenever
the page is put in by a link, ``prevent_initial_call`` or not: one more round trip and a
second drawing of everything just drawn, which also replaced what the user was about to
press (a box of the results chain, pressed at that moment, was lost).  Readers:

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


SEARCH_TYPE = "page-search"


def page_search(page: str) -> dict:
    """The id of ``page``'s search store: its URL callback outputs the view's search
    (``?a=1&b=2`` or ``""``) to ``Output(page_search(page), "data")``."""
    return {"type": SEARCH_TYPE, "page": page}


def search_store(page: str) -> dcc.Store:
    """Put in the page's layout (empty: the page's address is already the view)."""
    return dcc.Store(id=page_search(page))


# the page's search, to the Location (only when it says something new; nothing when the
# page has just been put in, its store still empty)
dash.clientside_callback(
    """
    function(searches, current) {
        const want = searches.filter(function(s) { return typeof s === 'string'; }).pop();
        if (want === undefined || want === (current || '')) {
            return window.dash_clientside.no_update;
        }
        return want;
    }
    """,
    Output(LOCATION, "search", allow_duplicate=True),
    Input({"type": SEARCH_TYPE, "page": ALL}, "data"),
    State(LOCATION, "search"),
    prevent_initial_call=True,
)


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
