"""A filter change sends only the outputs that changed (components/shown.py), and the page it
leaves behind is exactly the page a fresh load of the new view shows."""

from __future__ import annotations

import json

import dash
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)
from app_fixtures import effects_update_body
from plotly.io.json import to_json_plotly

from components.shown import changed_only, digests, shown_digests


def _json(x):
    return json.loads(to_json_plotly(x))


def _apply(showing: list, answer: list) -> list:
    """What the browser shows after an answer: each output replaced unless no_update."""
    return [old if new is dash.no_update else new for old, new in zip(showing, answer, strict=True)]


def test_changed_only_replaces_equal_outputs_only():
    shown = digests([1, {"a": [1, 3]}, "y"])
    out, sums = changed_only([1, {"a": [1, 2]}, "x"], shown)
    assert out == [dash.no_update, {"a": [1, 2]}, "x"]
    assert sums == digests([1, {"a": [1, 2]}, "x"]) and sums[0] == shown[0]
    assert len(set(sums)) == 3
    # nothing known about the page: everything is sent
    assert changed_only([1, 2], None)[0] == [1, 2]
    assert changed_only([1, 2], digests([1]))[0] == [1, 2]
    # what does not serialise is never taken for what is shown
    odd = object()
    assert changed_only([odd], digests([odd]))[0] == [odd]


def _malformed():
    one, two = digests([1, 2])
    return [None, "did", {"a": 1}, [{"x": 1}], [one] * 40, [one, 2], [one, ""], [one, "x" * 65],
            [one, two, "x"], [one], {"0": one, "1": two}]  # fmt: skip


@pytest.mark.parametrize("data", _malformed())
def test_a_shown_store_that_does_not_parse_means_send_everything(data):
    # each payload holds the true digest of the first output: a parser that took it would
    # leave that output unsent
    assert shown_digests(data, 2) is None
    assert changed_only([1, 2], data)[0] == [1, 2]


def test_effects_a_change_of_outcome_resends_nothing_of_the_forest(dash_app):
    import pages.effects as eff

    args = ["did", "2", "wild", "std", "95", "q", "improvement"]
    wide = {"narrow": False}
    shown = digests(eff.on_screen(*args, False))
    out = eff.update_forest(*args, "insurance_any", shown=shown, current="", screen=wide)
    assert all(o is dash.no_update for o in out[:6])
    assert out[6] == shown and "outcome=insurance_any" in out[7]


def test_effects_answers_both_parts_in_one_callback(dash_app):
    import pages.effects as eff

    args = ["did", "2", "wild", "std", "95", "q", "improvement"]
    before = ["repay_difficulty", "did", "2", "wild"]
    forest_shown = digests(eff.on_screen(*args, False))
    detail_shown = digests(eff.detail_view(*before))
    out = eff.update(
        *args, "insurance_any", 0, forest_shown=forest_shown, detail_shown=detail_shown,
        current="", screen={"narrow": False},
    )  # fmt: skip
    assert len(out) == 13
    # a change of outcome: nothing of the forest is sent, the detail becomes the new one's
    assert all(o is dash.no_update for o in out[:6])
    showing = list(eff.detail_view.uncached(*before))
    fresh = eff.detail_view.uncached("insurance_any", "did", "2", "wild")
    assert [_json(x) for x in _apply(showing, list(out[6:10]))] == [_json(x) for x in fresh]
    assert out[10] == forest_shown
    assert out[11] == digests(fresh) and out[11] != detail_shown
    assert "outcome=insurance_any" in out[12]


@pytest.mark.parametrize(
    "before,after",
    [
        (["did", "2", "wild", "std", "95", "q", "improvement"],
         ["did", "2", "wild", "std", "95", "q", "estimate"]),
        (["did", "2", "wild", "std", "95", "q", "improvement"],
         ["ancova", "1", "cluster", "natural", "90", "p", "improvement"]),
        (["late", "2", "cluster", "std", "95", "q", "improvement"],
         ["did", "2", "wild", "std", "95", "q", "improvement"]),
    ],
)  # fmt: skip
def test_effects_page_after_a_change_equals_a_fresh_view(dash_app, before, after):
    import pages.effects as eff

    # the page as loaded (both tables), then changed on a wide screen (no phone list)
    showing = list(eff.forest_view.uncached(*before))
    answer = eff.update_forest(
        *after, "insurance_any", shown=digests(showing), current="", screen={"narrow": False}
    )
    # a fresh view on a wide screen: its phone list (the last output) empty
    fresh = [*eff.forest_view.uncached(*after)[:5], []]
    assert [_json(x) for x in _apply(showing, list(answer[:6]))] == [_json(x) for x in fresh]
    assert answer[6] == digests(fresh)


def test_breakdowns_ticking_a_branch_leaves_the_unchanged_panels_alone(dash_app):
    import pages.breakdowns as bd

    before = ["late_instalments", "did", "2", "wild", ["Baray"], "improvement"]
    after = ["late_instalments", "did", "2", "wild", ["Baray", "Santuk"], "improvement"]
    old = bd.breakdown_view.uncached(*before[:4], tuple(before[4]), before[5])
    showing = [old[k] for k in bd.ORDER]
    answer = bd.update(*after, shown=digests(showing), current="")
    fresh = bd.breakdown_view.uncached(*after[:4], tuple(after[4]), after[5])
    assert [_json(x) for x in _apply(showing, list(answer[: len(bd.ORDER)]))] == [
        _json(fresh[k]) for k in bd.ORDER
    ]
    sent = {k for k, a in zip(bd.ORDER, answer, strict=False) if a is not dash.no_update}
    # the point of it: the sex panel covers all branches and is not resent; the branch one is
    assert "sex_figure" not in sent and "branch_figure" in sent, sent
    assert answer[-2] == digests([fresh[k] for k in bd.ORDER])


def test_breakdowns_with_no_shown_store_sends_everything(dash_app):
    import pages.breakdowns as bd

    answer = bd.update("late_instalments", "did", "2", "wild", ["Baray"], shown="junk")
    assert not any(a is dash.no_update for a in answer)


def test_effects_builds_the_phone_list_only_where_it_is_seen(dash_app):
    import pages.effects as eff

    args = ["did", "2", "wild", "std", "95", "q", "improvement"]
    phone = {}
    for screen in ({"narrow": True}, {"narrow": False}, None, "junk"):
        out = eff.update_forest(*args, "insurance_any", shown=None, current="", screen=screen)
        phone[str(screen)] = out[5]
        assert out[2] == eff.forest_view.uncached(*args)[2]  # the grid's rows: always
    assert phone[str({"narrow": False})] == []
    n = len(eff.forest_view.uncached(*args)[2])
    for key in (str({"narrow": True}), "None", "junk"):
        # one item per outcome in the table
        assert len(_json(phone[key])[0]["props"]["children"]) == n, key
    # crossing to a phone: the list is sent although the view did not change
    wide = digests(eff.on_screen(*args, False))
    out = eff.update(
        *args, "insurance_any", 1, forest_shown=wide, current="", screen={"narrow": True}
    )
    assert out[5] is not dash.no_update and len(_json(out[5])[0]["props"]["children"]) == n


# the Effects view its layout shows when the address asks for nothing
EFFECTS_DEFAULT_VIEW = ["did", "2", "wild", "std", "95", "q", "improvement"]


def _effects_answer_as_loaded(crossed, screen):
    """(layout, answer, indices of the answer's first ten outputs sent) of Effects' callback
    called on its default layout as loaded, with its shown stores and the crossing store's
    value ``crossed`` and the stored ``screen``."""
    from app_fixtures import find_by_id

    import pages.effects as eff

    page = eff.layout()
    out = eff.update(
        *EFFECTS_DEFAULT_VIEW, find_by_id(page, eff.OUTCOME).value, crossed,
        forest_shown=find_by_id(page, eff.FOREST_SHOWN).data,
        detail_shown=find_by_id(page, eff.DETAIL_SHOWN).data, current="", screen=screen,
    )  # fmt: skip
    return page, out, [i for i, o in enumerate(out[:10]) if o is not dash.no_update]


def test_effects_first_layout_leaves_the_phone_list_to_a_narrow_screen(dash_app):
    """The first layout is a wide screen's: no phone list (135 hidden components that the
    browser would otherwise handle on every update).  On a narrow screen the page's
    crossing store is set at once (components.viewport), and that answer brings the list,
    alone: the plot, the grid and the detail are already the ones on screen."""
    from app_fixtures import find_by_id

    import pages.effects as eff
    from components.viewport import STARTED_NARROW

    page, out, sent = _effects_answer_as_loaded(STARTED_NARROW, {"narrow": True})
    assert find_by_id(page, eff.PHONE_LIST).children == []
    assert sent == [5], sent  # the phone list only
    n = len(eff.forest_view.uncached(*EFFECTS_DEFAULT_VIEW)[2])
    assert len(_json(out[5])[0]["props"]["children"]) == n


def test_a_change_builds_the_new_view_only(dash_app, monkeypatch):
    """The comparison needs no view but the new one: a gunicorn worker that never built the
    view on screen (each keeps its own cache) does not build it again."""
    import pages.breakdowns as bd
    import pages.effects as eff

    built = []
    real_bd, real_forest = bd.breakdown_view, eff.forest_view
    monkeypatch.setattr(bd, "breakdown_view", lambda *a: built.append(a) or real_bd(*a))
    monkeypatch.setattr(eff, "forest_view", lambda *a: built.append(a) or real_forest(*a))
    old = real_bd("late_instalments", "did", "2", "wild", ("Baray",), "improvement")
    bd.update(
        "late_instalments", "did", "2", "wild", ["Baray", "Santuk"], "improvement",
        shown=digests([old[k] for k in bd.ORDER]), current="",
    )  # fmt: skip
    assert len(built) == 1 and "Santuk" in built[0][4]
    built.clear()
    args = ["did", "2", "wild", "std", "95", "q", "improvement"]
    shown = digests(real_forest(*args))
    eff.update_forest("ancova", *args[1:], "insurance_any", shown=shown, current="", screen=None)
    assert built == [("ancova", *args[1:])]


def test_a_page_as_loaded_needs_nothing_resent_for_its_own_view(dash_app):
    """The layout's shown stores hold the digests the callbacks compute for the same view
    (Effects: on the wide screen its first layout is built for)."""
    from app_fixtures import find_by_id

    import pages.breakdowns as bd

    _, _, sent = _effects_answer_as_loaded(0, {"narrow": False})
    assert sent == [], sent
    page = bd.layout()
    outcome = find_by_id(page, bd.OUTCOME).value
    branches = bd.options(bd.get_artifacts().results)["branch"]
    out = bd.update(outcome, "did", "2", "wild", list(branches), "improvement",
                    shown=find_by_id(page, bd.SHOWN).data, current="")  # fmt: skip
    assert all(o is dash.no_update for o in out[: len(bd.ORDER)])


def test_effects_a_change_the_detail_ignores_does_not_build_it(dash_app, monkeypatch):
    """Through Dash's endpoint: a change of scale answers the forest part only."""
    import pages.effects as eff

    built = []
    real = eff.detail_view
    monkeypatch.setattr(eff, "detail_view", lambda *a: built.append(a) or real(*a))
    body = effects_update_body(
        dash_app, eff.SCALE, **{eff.SCALE: "natural", eff.OUTCOME: "insurance_any"}
    )
    client = dash_app.server.test_client()
    client.get("/effects")
    r = client.post("/_dash-update-component", json=body)
    doc = r.get_json()
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert eff.FOREST in doc["response"] and eff.MEANS not in doc["response"]
    assert built == []
    body["changedPropIds"] = [f"{eff.OUTCOME}.value"]
    doc = client.post("/_dash-update-component", json=body).get_json()
    assert eff.MEANS in doc["response"] and built
