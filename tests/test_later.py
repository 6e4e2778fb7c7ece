"""Figures drawn after the page's first (components.later): the layout puts a blank of the
figure's height in the graph and the figure in a store beside it; a clientside callback
hands it over.  What the browser does with it is checked in tests/test_browser_delivery.py.
"""

from __future__ import annotations

import json

import pytest
from app_fixtures import *  # noqa: F403  (dash_app)
from app_fixtures import find_in_json

from components import later
from components.layout import graph


@pytest.fixture(scope="module")
def client(dash_app):
    return dash_app.server.test_client()


def _props(layout: dict, ident: str) -> dict:
    """The props of the component ``ident`` in a layout's JSON (KeyError when absent)."""
    found = find_in_json(layout, ident)
    if found is None:
        raise KeyError(ident)
    return found["props"]


def _layout(client, page: str) -> dict:
    r = client.get("/_dash-layout", headers={"Referer": f"http://localhost/{page}"})
    assert r.status_code == 200
    return r.get_json()


@pytest.mark.parametrize(
    "page, first, later_ids",
    [
        ("effects", "effects-forest", [("effects-means", True)]),
        (
            "breakdowns",
            "breakdowns-branch-figure",
            [("breakdowns-province-figure", True), ("breakdowns-sex-figure", True)],
        ),
        # a study without branches: the province chart is the page's main figure; it has no
        # breakdown by sex, so that chart is the figure that says so
        (
            "breakdowns?study=proirri",
            "breakdowns-province-figure",
            [("breakdowns-sex-figure", False)],
        ),
    ],
)
def test_a_later_figure_starts_blank_at_its_height_with_its_figure_beside_it(
    client, page, first, later_ids
):
    lay = _layout(client, page)
    # the page's first figure is drawn as it arrives
    assert _props(lay, first)["figure"]["data"], first
    assert "figure-later" not in _props(lay, first)["className"]
    assert find_in_json(lay, later.store_id(first)) is None
    for gid, drawn in later_ids:
        shown, held = _props(lay, gid)["figure"], _props(lay, later.store_id(gid))["data"]
        assert "figure-later" in _props(lay, gid)["className"]
        assert shown["data"] == [] and shown["layout"]["meta"] == {"later": True}
        # nothing moves when the figure arrives: the blank has the figure's height and margins
        assert shown["layout"]["height"] == held["layout"]["height"] > 0
        assert shown["layout"]["margin"] == held["layout"]["margin"]
        if drawn:  # the chart, named after the view
            assert held["data"] and held["layout"]["meta"]["filename"], gid
        else:  # the figure that says why there is none (a section the study lacks)
            assert not held["data"] and held["layout"]["annotations"][0]["text"], gid
        # the hand-over: from the store to the graph's figure, in the browser
        deps = client.get("/_dash-dependencies").get_json()
        cbs = [d for d in deps if d["output"].startswith(f"{gid}.figure@")]
        assert len(cbs) == 1, [d["output"] for d in deps]
        assert [i["id"] for i in cbs[0]["inputs"]] == [later.store_id(gid)]
        assert cbs[0]["clientside_function"]["namespace"] == "_dashprivate_clientside_funcs"


def test_the_effects_means_chart_handed_over_is_the_one_the_page_draws_on_a_change(client):
    """The stored figure is the view's means chart, as the page's callback answers it."""
    import pages.effects as eff

    held = _props(_layout(client, "effects"), later.store_id(eff.MEANS))["data"]
    values = eff.detail_values(None, None, None, None)
    drawn = eff.detail_view(*values)[0]
    as_json = json.loads(json.dumps(drawn, default=lambda o: o.to_plotly_json()))
    assert held == as_json


def test_a_later_figure_that_nothing_would_hand_over_is_refused():
    with pytest.raises(ValueError, match="not-registered-figure"):
        graph("not-registered-figure", {"data": [], "layout": {"height": 300}}, later=True)
    # registered: a blank and a store
    later.later_figures("registered-figure")
    block = graph(
        "registered-figure", {"data": [{"type": "bar"}], "layout": {"height": 300}}, later=True
    )
    found = json.loads(json.dumps(block.to_plotly_json(), default=lambda o: o.to_plotly_json()))
    assert _props(found, "registered-figure")["figure"]["layout"]["height"] == 300
    assert _props(found, "registered-figure-later")["data"]["data"] == [{"type": "bar"}]
