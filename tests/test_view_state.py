"""The page URL is the one source of truth for the view (no browser; see
``test_browser_views.py`` for the same in Chromium): which parameters travel between
pages, what each page writes to the address bar, and that no page keeps a Location
of its own."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts, app)
from app_fixtures import find_by_id, text_of

from components import params as qp


def _q(search: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(search.lstrip("?"), keep_blank_values=True).items()}


def test_shared_and_page_only_parameters():
    assert qp.CARRIED_PARAMS == (
        "study", "arm", "method", "wave", "inference", "branches", "present"
    )  # fmt: skip
    full = "?scale=std&level=90&mt=qf&outcome=x&node=y&present=1&branches=Baray%2CSantuk&wave=1&method=ancova&inference=cluster&study=s2"
    assert _q(qp.nav_search(full)) == {
        "study": "s2",
        "method": "ancova",
        "wave": "1",
        "inference": "cluster",
        "branches": "Baray,Santuk",
        "present": "1",
    }
    assert qp.nav_search("?scale=std&node=y") == ""
    # the page's own value wins over the carried one; the rest is appended
    assert qp.keep_carried("?method=did", "?method=ancova&present=1", ["method"]) == (
        "?method=did&present=1"
    )
    assert qp.keep_carried("", "?method=ancova", ["method"]) == ""
    # shared filters a page does not use raise no "not used on this page" note
    _, notes = qp.parse([], {"method": "ancova", "branches": "Baray", "present": "1"})
    assert notes == []
    _, notes = qp.parse([], {"colour": "red"})
    assert len(notes) == 1 and "colour" in notes[0]


def test_effects_writes_its_view_and_keeps_the_shared_rest(dash_app):
    import pages.effects as eff

    current = "?branches=Baray%2CSantuk&present=1&study=s2&node=y&method=did"
    out = _q(
        eff.write_url(
            "ancova", "1", "cluster", "natural", "95", "q", "insurance_any", "improvement", current
        )
    )
    assert out == {
        "method": "ancova",
        "wave": "1",
        "inference": "cluster",
        "scale": "natural",
        "outcome": "insurance_any",
        "branches": "Baray,Santuk",
        "present": "1",
        "study": "s2",
    }
    # its own values at their defaults: nothing of its own, the carried ones stay
    assert eff.write_url(
        "did", "2", "wild", "std", "95", "q", "repay_difficulty", "improvement", "?present=1"
    ) == ("?present=1")


def test_breakdowns_and_chain_keep_presentation_mode(dash_app):
    import pages.breakdowns as bd
    import pages.results_chain as rc

    out = bd.update(
        "insurance_any", "ancova", "1", "cluster", ["Baray"], current="?present=1&scale=std"
    )
    assert _q(out[-1]) == {
        "outcome": "insurance_any",
        "method": "ancova",
        "wave": "1",
        "inference": "cluster",
        "branches": "Baray",
        "present": "1",
    }
    *_, search = rc.update(
        "risk-management", "did", "1", "wild", "improvement", "?present=1&branches=Baray"
    )
    assert _q(search) == {
        "node": "risk-management",
        "wave": "1",
        "branches": "Baray",
        "present": "1",
    }


def test_no_page_has_a_location_of_its_own(dash_app):
    import dash
    from dash import dcc

    def locations(c):
        found = [c.id] if isinstance(c, dcc.Location) else []
        kids = getattr(c, "children", None)
        for k in kids if isinstance(kids, list | tuple) else [kids] if kids is not None else []:
            found += locations(k)
        return found

    for page in dash.page_registry.values():
        assert locations(page["layout"]()) == [], page["path"]


def test_overview_follows_the_view_and_its_links_keep_it(dash_app, results):
    import pages.overview as ov

    layout = ov.layout(
        method="ancova", wave="1", inference="cluster", branches="Baray", present="1"
    )
    txt = text_of(layout)
    assert "By the midline survey" in txt and "ANCOVA" in txt
    switch = find_by_id(layout, ov.WAVE_SWITCH)
    hrefs = [c.href for c in switch.children if getattr(c, "href", None)]
    assert len(hrefs) == 1
    assert _q(hrefs[0].split("?", 1)[1]) == {
        "method": "ancova",
        "inference": "cluster",
        "branches": "Baray",
        "present": "1",
    }
    notes = find_by_id(layout, ov.NOTES)
    assert not notes.is_open


@pytest.mark.parametrize("bad", ["nonsense", ""])
def test_overview_unknown_estimator_falls_back_with_a_note(dash_app, bad):
    import pages.overview as ov

    layout = ov.layout(method=bad)
    notes = find_by_id(layout, ov.NOTES)
    assert notes.is_open and "estimator" in text_of(notes)
