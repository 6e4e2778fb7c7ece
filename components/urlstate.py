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
# the study picker's and the "Compared arm" menu's links (components.studies), which
# follow the address by the links' callback below
PICKER_ITEM = "study-link"
ARM_ITEM = "arm-link"
# what the picker's links keep of the current address
PICKER_KEEP = ("present",)


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


# every link in the navigation bar follows the address, in one clientside callback (each
# callback Dash runs at load costs every component on the page, README "Why components
# cost"), so that a link is up to date as soon as the address changes:
# * the page links carry the shared filters (the same rule as params.nav_search, kept in
#   step by tests/test_browser_views.py) and mark the page on screen as active;
# * the study picker's links open the page on screen for their study, keeping
#   :data:`PICKER_KEEP` of the address (the last value of a repeated parameter, as the page
#   links and params.parse take it);
# * the "Compared arm" links (a study with three or more arms) keep the page and every
#   other parameter of the address, with ``arm`` set to theirs.
# Unchanged links are not sent again (most address changes are a page's own filter, which
# the page links do not carry): each update costs the browser a redraw.
_LINKS = """
    function(pathname, search, ids, hrefs, actives, brand, studyIds, studyHrefs, armIds, armHrefs) {
        const KEEP = __KEEP__, PICKER_KEEP = __PICKER_KEEP__;
        const nu = window.dash_clientside.no_update;
        const same = function(a, b) { return JSON.stringify(a) === JSON.stringify(b); };
        const page = pathname || '/';
        const q = new URLSearchParams(search || '');
        const out = new URLSearchParams();
        KEEP.forEach(function(k) {
            const all = q.getAll(k);
            if (all.length) { out.set(k, all[all.length - 1]); }
        });
        const tail = out.toString() ? '?' + out.toString() : '';
        const h = ids.map(function(id) { return id.index + tail; });
        const a = ids.map(function(id) { return id.index === pathname; });
        const study = studyIds.map(function(id) {
            const s = new URLSearchParams();
            s.set('study', id.index);
            PICKER_KEEP.forEach(function(k) { if (q.has(k)) { s.set(k, q.getAll(k).pop()); } });
            return page + '?' + s.toString();
        });
        const arm = armIds.map(function(id) {
            const s = new URLSearchParams(search || '');
            s.set('arm', id.index);
            return page + '?' + s.toString();
        });
        return [same(h, hrefs) ? nu : h, same(a, actives) ? nu : a, brand === '/' + tail ? nu : '/' + tail,
                same(study, studyHrefs) ? nu : study, same(arm, armHrefs) ? nu : arm];
    }
    """.replace("__KEEP__", json.dumps(list(CARRIED_PARAMS))).replace(
    "__PICKER_KEEP__", json.dumps(list(PICKER_KEEP))
)
dash.clientside_callback(
    _LINKS,
    Output({"type": NAV_LINK_TYPE, "index": ALL}, "href"),
    Output({"type": NAV_LINK_TYPE, "index": ALL}, "active"),
    Output(BRAND, "href"),
    Output({"type": PICKER_ITEM, "index": ALL}, "href"),
    Output({"type": ARM_ITEM, "index": ALL}, "href"),
    Input(LOCATION, "pathname"),
    Input(LOCATION, "search"),
    State({"type": NAV_LINK_TYPE, "index": ALL}, "id"),
    State({"type": NAV_LINK_TYPE, "index": ALL}, "href"),
    State({"type": NAV_LINK_TYPE, "index": ALL}, "active"),
    State(BRAND, "href"),
    State({"type": PICKER_ITEM, "index": ALL}, "id"),
    State({"type": PICKER_ITEM, "index": ALL}, "href"),
    State({"type": ARM_ITEM, "index": ALL}, "id"),
    State({"type": ARM_ITEM, "index": ALL}, "href"),
)
