"""In the OS's Chromium: the page URL is the one source of truth for the view.

Every control is changed through the UI (select, click, keyboard -- never by typing
an address); then the deck and the brief downloaded from the toolbar must be of the
view on screen (file name, and numbers against the results table rows of that view,
selected here by plain pandas filtering), and the navigation links must keep the
shared filters (``method``, ``wave``, ``inference``, ``branches``) and presentation
mode while dropping the page-only ones (``scale``, ``level``, ``mt``, ``outcome``,
``direction``, ``node``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import test_browser as _tb
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts)
from test_browser import PAGES, SHOTS

from analysis.findings import finding_sentence
from components import params as qp
from components.reports import untypeset

pytestmark = pytest.mark.browser

browser, server, watched, table = _tb.browser, _tb.server, _tb.watched, _tb.table
_wait_query, _settle = _tb._wait_query, _tb._settle

MIDLINE = 1
BRANCHES_OFF = ("Baray", "Stoung")


def _query(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def _view_rows(table, method, inference, wave, sample_type="all"):
    """The results-table rows of one view, selected here (not by the app's code)."""
    t = table
    return t[
        (t["method"] == method)
        & (t["inference"] == inference)
        & (t["wave"] == wave)
        & (t["sample_type"] == sample_type)
    ]


def _deck(path: Path) -> tuple[list[str], list[str]]:
    """(text of each slide, speaker notes of each slide) of a PPTX file."""
    from pptx import Presentation

    prs = Presentation(str(path))
    texts, notes = [], []
    for slide in prs.slides:
        texts.append(
            untypeset("\n".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame))
        )
        notes.append(
            untypeset(slide.notes_slide.notes_text_frame.text) if slide.has_notes_slide else ""
        )
    return texts, notes


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", "", untypeset(" ".join(p.extract_text() for p in PdfReader(path).pages)))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", untypeset(text))


def _download(page, button: str) -> tuple[str, Path]:
    with page.expect_download(timeout=120000) as info:
        page.click(button)
    d = info.value
    page.wait_for_function(
        "(id) => !document.querySelector(id).disabled", arg=button, timeout=30000
    )
    return d.suggested_filename, Path(d.path())


def _check_headline(texts: list[str], notes: list[str], rows) -> None:
    """The 'Did it work?' slide names exactly this view's verdicts; its speaker notes carry
    each sentence with its numbers."""
    main = rows[~rows["is_index"]]
    moved = main[main["verdict"].isin(["improved", "worsened"])]
    assert len(moved), "the view chosen for this test should have a detected effect"
    for r in moved.to_dict("records"):
        assert finding_sentence(r) in notes[1], r["outcome"]
    nulls = texts[1].split("No detectable effect:")[1].split("\n")[0]
    named = {s.strip() for s in nulls.split(",")}
    assert named == {
        s.lower() for s in main.loc[main["verdict"] == "no detectable effect", "short"]
    }


def test_every_control_reaches_the_downloads_and_the_nav_keeps_the_view(watched, server, table):
    page = watched.page
    # natural units to start with: the scale control then moves to the (default) standardised
    watched.goto(server + "/effects?scale=natural", PAGES["/effects"])
    default_rows = _view_rows(table, "did", "wild", 2)

    # ---- every Effects control, through the UI
    page.select_option("#effects-method", "ancova")
    _wait_query(page, method="ancova")
    _settle(page)
    page.focus("#effects-wave")  # keyboard: one step up the list, endline -> midline
    page.keyboard.press("ArrowUp")
    _wait_query(page, method="ancova", wave=str(MIDLINE))
    page.select_option("#effects-inference", "cluster")
    page.select_option("#effects-scale", "std")
    page.select_option("#effects-direction", "estimate")
    page.select_option("#effects-level", "90")
    page.select_option("#effects-mt", "qf")
    page.select_option("#effects-outcome", "insurance_any")
    effects_view = dict(
        method="ancova",
        wave=str(MIDLINE),
        inference="cluster",
        scale=None,  # standardised: the default, so not in the address
        direction="estimate",
        level="90",
        mt="qf",
        outcome="insurance_any",
    )
    _wait_query(page, **effects_view)
    assert page.input_value("#effects-wave") == str(MIDLINE)

    # ---- the deck and the brief are of that view
    rows = _view_rows(table, "ancova", "cluster", MIDLINE)
    assert set(rows["verdict"]) and not rows.reset_index(drop=True).equals(
        default_rows.reset_index(drop=True)
    )
    name, path = _download(page, "#report-pptx-button")
    assert name == "amk-slides-midline-ancova.pptx"
    texts, notes = _deck(path)
    assert "ANCOVA" in texts[0] and "cluster-robust" in notes[0] and "wild" not in notes[0]
    _check_headline(texts, notes, rows)
    # the chosen outcome's breakdown slide: its heterogeneity p-values from the table
    branch = _view_rows(table, "ancova", "cluster", MIDLINE, "branch")
    p_branch = branch.loc[branch["outcome"] == "insurance_any", "heterogeneity_p"].iloc[0]
    assert f"Same effect in every branch? p = {p_branch:.3f}" in notes[6]
    assert "Insurance take-up" in texts[6]
    assert "standardised" in texts[4]  # the forest slide on the chosen scale and direction
    assert "as estimated" in texts[4]
    ins = rows.set_index("outcome").loc["insurance_any"]
    assert finding_sentence({**ins.to_dict(), "outcome": "insurance_any"}) in notes[6]

    name, path = _download(page, "#report-pdf-button")
    assert name == "amk-brief-midline-ancova.pdf"
    pdf = _pdf_text(path)
    for r in rows[~rows["is_index"]].to_dict("records"):
        if r["verdict"] in ("improved", "worsened"):
            assert _flat(finding_sentence(r)) in pdf, r["outcome"]
    assert _flat("significant under q within each family") in pdf  # the chosen mt
    assert _flat("cluster-robust") in pdf

    # ---- a nav link keeps the shared filters, not the page-only ones
    page.get_by_role("link", name="Breakdowns", exact=True).click()
    page.wait_for_selector(PAGES["/breakdowns"])
    page.wait_for_function("() => location.pathname === '/breakdowns'")
    q = _query(page)
    assert {k: q.get(k) for k in ("method", "wave", "inference")} == {
        "method": "ancova",
        "wave": str(MIDLINE),
        "inference": "cluster",
    }
    assert not {"scale", "level", "mt", "outcome", "direction"} & set(q), q
    assert page.input_value("#breakdowns-method") == "ancova"
    assert page.input_value("#breakdowns-wave") == str(MIDLINE)
    assert page.input_value("#breakdowns-inference") == "cluster"
    assert page.is_hidden("#breakdowns-notes") or not page.inner_text("#breakdowns-notes").strip()

    # ---- the Breakdowns controls: the branch filter by clicks, the outcome by select
    ticked = _tb._tick_branches(page, drop=BRANCHES_OFF)
    page.select_option("#breakdowns-outcome", "late_instalments")
    _wait_query(page, outcome="late_instalments")
    q = _query(page)
    kept = [b for b in sorted(set(branch["sample"])) if b not in BRANCHES_OFF]
    assert sorted(ticked) == kept and sorted(q["branches"].split(",")) == kept
    assert q["method"] == "ancova" and q["wave"] == str(MIDLINE) and q["inference"] == "cluster"
    name, path = _download(page, "#report-pptx-button")
    # the file name names the chosen branches (issue 13)
    kept_slug = "-".join(b.lower().replace(" ", "-") for b in kept)
    assert name == f"amk-slides-midline-ancova-{kept_slug}.pptx"
    texts, notes = _deck(path)
    _check_headline(texts, notes, rows)
    assert ", ".join(kept) in texts[0]  # and so does the title slide
    assert "Late instalments" in texts[6]
    shown = f"Branches shown: {', '.join(kept)} ({len(kept)} of {branch['sample'].nunique()})"
    assert shown in notes[6]
    assert all(b not in notes[6] for b in BRANCHES_OFF)
    name, path = _download(page, "#report-pdf-button")
    assert name == f"amk-brief-midline-ancova-{kept_slug}.pdf"
    assert _flat(shown) in _pdf_text(path)

    # ---- presentation mode by the toggle; it and the filters survive the nav links
    page.click("#present-toggle")
    _wait_query(page, present="1", method="ancova")
    page.get_by_role("link", name="Results chain", exact=True).click()
    page.wait_for_selector(PAGES["/results-chain"])
    page.wait_for_function("() => location.pathname === '/results-chain'")
    q = _query(page)
    assert q["present"] == "1" and q["method"] == "ancova" and q["inference"] == "cluster"
    assert sorted(q["branches"].split(",")) == kept and "outcome" not in q
    assert page.evaluate("document.documentElement.classList.contains('presenting')")
    # the results chain's own choice (a box, by keyboard) keeps everything else
    page.get_by_role("button", name=re.compile(r"^Clients reached")).focus()
    page.keyboard.press("Enter")
    _wait_query(page, node="clients-reached", present="1", method="ancova", wave=str(MIDLINE))
    assert sorted(_query(page)["branches"].split(",")) == kept
    # leaving presentation mode, then the Results chain's estimator menu
    page.click("#present-toggle")
    page.wait_for_function("() => !location.search.includes('present')")
    page.select_option("#chain-method", "did")
    page.wait_for_function("() => new URLSearchParams(location.search).get('method') === null")
    name, _ = _download(page, "#report-pptx-button")
    assert name == f"amk-slides-midline-did-{kept_slug}.pptx"

    # ---- the Overview follows the view too, and its own wave links keep the rest
    page.get_by_role("link", name="Overview", exact=True).click()
    page.wait_for_selector(PAGES["/"])
    page.wait_for_function("() => location.pathname === '/'")
    assert "By the midline survey" in page.inner_text("#overview-findings")
    page.get_by_role("link", name="Endline vs baseline").click()
    page.wait_for_function(
        "() => document.querySelector('#overview-findings').innerText.includes('By the endline survey')"
    )
    q = _query(page)
    assert "wave" not in q and q["inference"] == "cluster"
    assert sorted(q["branches"].split(",")) == kept
    assert page.is_hidden("#overview-notes") or not page.inner_text("#overview-notes").strip()
    watched.check()


def test_nav_links_follow_the_address_and_mark_the_page(watched, server):
    page = watched.page
    watched.goto(server + "/effects", PAGES["/effects"])
    page.select_option("#effects-method", "ipw_did")
    _wait_query(page, method="ipw_did")
    _settle(page)
    page.select_option("#effects-scale", "pct")
    _wait_query(page, method="ipw_did", scale="pct")
    want = qp.nav_search(page.evaluate("location.search"))
    assert want == "?method=ipw_did"
    page.wait_for_function(
        "(w) => [...document.querySelectorAll('.main-nav a')].every(a => a.getAttribute('href').endsWith(w))",
        arg=want,
        timeout=10000,
    )
    active = page.locator(".main-nav a.active")
    assert active.count() == 1 and active.inner_text() == "Effects"
    assert page.get_attribute("a.navbar-brand", "href") == "/" + want
    # the study picker's links (opened as a user does) open this page for their study and
    # keep presentation mode only: off here, then on
    page.click("#study-picker .dropdown-toggle")
    study_links = "[...document.querySelectorAll('#study-picker a.dropdown-item')].map(a => a.getAttribute('href'))"
    page.wait_for_function(f"() => {study_links}.length === 2")
    assert page.evaluate(study_links) == ["/effects?study=amk", "/effects?study=proirri"]
    page.keyboard.press("Escape")
    page.click("#present-toggle")
    _wait_query(page, method="ipw_did", scale="pct", present="1")
    page.wait_for_function(
        f"() => {study_links}[0] === '/effects?study=amk&present=1'", timeout=10000
    )
    assert page.evaluate(study_links) == [
        "/effects?study=amk&present=1",
        "/effects?study=proirri&present=1",
    ]
    page.click("#present-toggle")
    _wait_query(page, method="ipw_did", scale="pct", present=None)
    # Back goes to the previous view, and the page shows it (controls and figure)
    _settle(page)
    page.go_back()
    _wait_query(page, method="ipw_did", scale=None)
    page.wait_for_selector(PAGES["/effects"])
    page.wait_for_function(
        "() => document.querySelector('#effects-scale').value === 'std' && document.querySelector('#effects-method').value === 'ipw_did'"
    )  # the default scale (standardised, issue 13) once `scale` leaves the address
    _settle(page)
    _tb._wait_scale(page, "effects-forest", "std")
    page.wait_for_timeout(500)  # the figure drawn
    assert page.is_hidden("#effects-view-note") or not page.inner_text("#effects-view-note").strip()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "effects-view-state.png"), full_page=False)
    watched.check()


def test_the_links_callback_follows_the_rules_for_every_kind_of_link(watched, server):
    """The navigation bar's one links callback (components.urlstate), called in the browser
    with a three-arm study's "Compared arm" links (the demo studies have two arms): each
    link as written by hand here -- page links with the shared filters (params.nav_search),
    study links with ``present`` only, arm links with every parameter and their own arm --
    and a link already right is not sent again."""
    import hashlib

    from components.urlstate import _LINKS

    watched.goto(server + "/effects", PAGES["/effects"])
    search = "?method=ancova&arm=training&scale=pct&present=1"
    nav = [{"type": "nav-link", "index": p} for p in ("/", "/effects")]
    studies = [{"type": "study-link", "index": s} for s in ("amk", "proirri")]
    arms = [{"type": "arm-link", "index": a} for a in ("training", "visits")]
    call = """([name, args]) => {
        const out = window.dash_clientside._dashprivate_clientside_funcs[name](...args);
        return out.map(o => o === window.dash_clientside.no_update ? 'no_update' : o);
    }"""
    name = hashlib.sha256(_LINKS.encode()).hexdigest()
    args = ["/effects", search, nav, ["/", "/effects"], [False, True], "/", studies, [], arms, []]
    got = watched.page.evaluate(call, [name, args])
    tail = qp.nav_search(search)
    assert tail == "?arm=training&method=ancova&present=1"
    assert got == [
        ["/" + tail, "/effects" + tail],
        "no_update",  # the active page is already marked
        "/" + tail,
        ["/effects?study=amk&present=1", "/effects?study=proirri&present=1"],
        [
            "/effects?method=ancova&arm=training&scale=pct&present=1",
            "/effects?method=ancova&arm=visits&scale=pct&present=1",
        ],
    ]
    args = ["/effects", search, nav, got[0], [False, True], got[2], studies, got[3], arms, got[4]]
    assert watched.page.evaluate(call, [name, args]) == ["no_update"] * 5
    watched.check()


def test_a_link_puts_the_page_in_with_one_request_and_a_box_pressed_then_counts(watched, server):
    """Following a nav link costs the router's one request: the page arrives built for the
    address, and its own callbacks do not run again.  They did while they wrote the
    address themselves (an output outside the page makes Dash run a callback when its page
    is put in, ``prevent_initial_call`` or not): one more round trip, everything drawn
    twice, and a results-chain box pressed in between was lost with the box it was on."""
    page = watched.page
    watched.goto(server + "/?method=ancova&wave=1", PAGES["/"])
    sent: list[str] = []

    def record(req):
        if "_dash-update-component" in req.url:
            sent.append(json.loads(req.post_data or "{}").get("output", ""))

    page.on("request", record)
    for name, path in [
        ("Effects", "/effects"),
        ("Breakdowns", "/breakdowns"),
        ("Results chain", "/results-chain"),
        ("Overview", "/"),
    ]:
        sent.clear()
        page.get_by_role("link", name=name, exact=True).click()
        page.wait_for_function("(p) => location.pathname === p", arg=path)
        page.wait_for_selector(PAGES[path])
        _settle(page)
        page.wait_for_timeout(300)
        assert len(sent) == 1 and "_pages_content.children" in sent[0], (path, sent)
        assert _query(page) == {"method": "ancova", "wave": "1"}, (path, page.url)
        if path == "/results-chain":
            # the box pressed is the one chosen, and the focus moves to its detail; the
            # choice is made in the browser: one request, for the view (the box's own
            # callback used to ask the server first, and again after every rebuild)
            sent.clear()
            page.get_by_role("button", name=re.compile(r"^Clients reached")).focus()
            page.keyboard.press("Enter")
            _wait_query(page, node="clients-reached", method="ancova", wave="1")
            page.wait_for_function(
                "() => document.activeElement && document.activeElement.id === 'chain-detail-title'"
            )
            _settle(page)
            page.wait_for_timeout(300)
            assert len(sent) == 1 and "chain-diagram.children" in sent[0], sent
    watched.check()
