"""The app serves every shipped study: ``?study=<id>`` in every address, a study picker,
each study's own artefacts, titles and nouns, and a visible fallback for an unknown id.

The pages read the artefacts built in ``build/`` (``make data`` builds every study); the
tests skip, saying so, when a study has not been built.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from dash.development.base_component import Component

from analysis.paths import PROJECT_ROOT, study_ids
from analysis.study import load_study

BUILD = PROJECT_ROOT / "build"
PAGES = {
    "overview": ("/", "Overview"),
    "results_chain": ("/results-chain", "Results chain"),
    "effects": ("/effects", "Effects"),
    "breakdowns": ("/breakdowns", "Breakdowns"),
    "methods": ("/methods", "Methods & data"),
}
# words that belong to one study only: none may appear on another study's pages
OWN_WORDS = {
    "amk": ["AMK", "village", "client officer", "Cambodia"],
    "proirri": ["PROIRRI", "association", "households", "Mozambique"],
}


@pytest.fixture(scope="module")
def app_module():
    """The app reading the repository's build/ (every study), restored afterwards."""
    missing = [
        s for s in study_ids() if s != "amk" and not (BUILD / s / "results.parquet").is_file()
    ]
    if missing or not (BUILD / "amk" / "results.parquet").is_file():
        pytest.skip(f"studies not built ({', '.join(missing) or 'amk'}): run `make data`")
    old = os.environ.get("AMK_BUILD_DIR")
    os.environ["AMK_BUILD_DIR"] = str(BUILD)
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    from components import cache, store

    store.reload()
    import app

    cache._state["ready"] = False  # the views themselves, not their cached JSON form
    yield app
    if old is None:
        os.environ.pop("AMK_BUILD_DIR", None)
    else:
        os.environ["AMK_BUILD_DIR"] = old
    store.reload()


def visible_text(component) -> str:
    """The text a reader sees: children, option labels and table headers; hidden parts skipped."""
    out: list[str] = []

    def walk(c):
        if isinstance(c, list | tuple):
            for x in c:
                walk(x)
        elif isinstance(c, str):
            out.append(c)
        elif isinstance(c, Component):
            # the component's own props: a static block (components.static) is its tree here,
            # not the markup it is sent as
            props = Component.to_plotly_json(c).get("props", {})
            if props.get("hidden"):
                return
            walk(props.get("children"))
            for key in ("label", "caption_text"):
                if isinstance(props.get(key), str):
                    out.append(props[key])
            for opt in props.get("options") or []:
                if isinstance(opt, dict) and isinstance(opt.get("label"), str):
                    out.append(opt["label"])
            for col in props.get("columnDefs") or []:
                out.append(str(col.get("headerName", "")))

    walk(component)
    return " ".join(out)


def render(page: str, **query):
    import importlib

    return importlib.import_module(f"pages.{page}").layout(**query)


@pytest.mark.parametrize("study", ["amk", "proirri"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_speaks_of_its_own_study(app_module, study, page):
    info = load_study(study)
    text = visible_text(render(page, study=study))
    assert "could not be shown" not in text, text[:500]
    assert info.nouns.unit.many in text.lower() or info.nouns.cluster.many in text.lower(), (
        f"{page} of {study} never names its units or clusters"
    )
    others = [w for s, words in OWN_WORDS.items() if s != study for w in words]
    found = [w for w in others if w.lower() in text.lower()]
    assert not found, f"{page} of {study} says {found}: " + ", ".join(
        text[max(0, text.lower().find(w.lower()) - 60) : text.lower().find(w.lower()) + 40]
        for w in found
    )


@pytest.mark.parametrize("study", ["amk", "proirri"])
@pytest.mark.parametrize("page", list(PAGES))
def test_page_title_names_the_study(app_module, study, page):
    path, name = PAGES[page]
    html = app_module.server.test_client().get(f"{path}?study={study}").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert title == f"{name} — {load_study(study).short_title}"


def test_effects_h1_and_menus_come_from_the_study(app_module):
    info = load_study("proirri")
    lay = render("effects", study="proirri")
    text = visible_text(lay)
    assert f"Effects — {info.short_title}" in text
    found = {}

    def walk(c):
        if isinstance(c, list | tuple):
            for x in c:
                walk(x)
        elif isinstance(c, Component):
            # the component's own props: a static block (components.static) is its tree here,
            # not the markup it is sent as
            props = Component.to_plotly_json(c).get("props", {})
            if props.get("id") in ("effects-method", "effects-wave"):
                found[props["id"]] = props
            walk(props.get("children"))

    walk(lay)
    # PROIRRI's table has the post-only comparison only; its headline outcome's last round is Q4
    assert [o["value"] for o in found["effects-method"]["options"]] == ["post"]
    assert found["effects-wave"]["value"] == "4"
    assert [o["label"] for o in found["effects-wave"]["options"]][:4] == [
        "Quarter 1",
        "Quarter 2",
        "Quarter 3",
        "Quarter 4",
    ]
    # the AMK demo keeps its defaults: difference-in-differences at the endline
    amk = {}
    walk_amk = render("effects", study="amk")
    found.clear()
    walk(walk_amk)
    amk = found
    assert amk["effects-method"]["value"] == "did" and amk["effects-wave"]["value"] == "2"


def test_a_method_the_study_lacks_falls_back_with_a_note(app_module):
    text = visible_text(render("effects", study="proirri", method="did"))
    assert "Unknown estimator 'did'" in text and "Post-only" in text


def test_unknown_study_falls_back_with_a_visible_note(app_module):
    default = load_study("amk")
    server = app_module.server
    html = server.test_client().get("/effects?study=nosuch").get_data(as_text=True)
    assert f"<title>Effects — {default.short_title}</title>" in html
    # the shell (the note, the banner, the picker) is built for the page's address
    with server.test_request_context(
        "/_dash-layout", headers={"Referer": "http://127.0.0.1/effects?study=nosuch"}
    ):
        shell = visible_text(app_module.shell())
    assert "There is no study 'nosuch'" in shell and default.short_title in shell
    assert default.data.label in shell
    # and the page shows the default study's numbers
    text = visible_text(render("effects", study="nosuch"))
    assert f"Effects — {default.short_title}" in text


def test_shell_shows_the_public_data_credit(app_module):
    info = load_study("proirri")
    with app_module.server.test_request_context(
        "/_dash-layout", headers={"Referer": "http://127.0.0.1/methods?study=proirri"}
    ):
        shell = visible_text(app_module.shell())
    assert "Public replication data" in shell
    assert "CC BY 4.0" in shell and "Christian, Glover, Kondylis" in shell
    assert f"Study: {info.short_title}" in shell
    assert "There is no study" not in shell


def test_callbacks_answer_for_the_study_of_the_page(app_module):
    """A callback request carries no study of its own: it is the page's (its Referer)."""
    from components.store import get_artifacts
    from pages import effects

    with app_module.server.test_request_context(
        "/_dash-update-component",
        method="POST",
        headers={"Referer": "http://127.0.0.1/effects?study=proirri&wave=3"},
    ):
        assert get_artifacts().build_path == BUILD / "proirri"
        fig, caption, rows, *_ = effects.update_forest("post", "4", "cluster", "natural", "95", "q")
    outcomes = {r["outcome"] for r in rows}
    assert "Saved by this quarter" in outcomes, outcomes
    assert "association" in " ".join(map(str, caption))
    with app_module.server.test_request_context(
        "/_dash-update-component",
        method="POST",
        headers={"Referer": "http://127.0.0.1/effects"},
    ):
        assert get_artifacts().build_path == BUILD / "amk"


def test_csv_download_carries_the_licence_line(app_module):
    from components.store import using_study
    from pages import effects

    with using_study("proirri"):
        out = effects.csv_download("post", "4", "cluster", "natural", "95", "q")
    # one cell in row 1: the label, then the licence credit
    head = next(__import__("csv").reader(__import__("io").StringIO(out["content"])))
    assert len(head) == 1 and head[0].startswith("Public replication data")
    assert "CC BY 4.0" in head[0]
    assert out["filename"].startswith("proirri-effects")


def test_breakdowns_downloads_credit_the_licence(app_module):
    import base64
    import csv
    import io

    import openpyxl
    import pandas as pd

    from components.store import using_study
    from pages import breakdowns as bd_page

    with using_study("proirri"):
        xlsx = bd_page.download_xlsx(1, None, "post", "4", "cluster", None)
        payload = bd_page.download_csv(1, None, "post", "4", "cluster", None)
    wb = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx["content"])))
    about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True) if r[0]}
    assert "CC BY 4.0" in about["Licence and credit"] and "SIMULATED" not in about["Data"]
    cell = next(csv.reader(io.StringIO(payload["content"])))
    assert len(cell) == 1 and "CC BY 4.0" in cell[0]
    assert len(pd.read_csv(io.StringIO(payload["content"]), skiprows=1)) > 0


def test_study_build_dir_rule(tmp_path, monkeypatch):
    from analysis.paths import study_build_dir

    monkeypatch.setenv("AMK_BUILD_DIR", str(tmp_path))
    monkeypatch.delenv("AMK_STUDY", raising=False)
    # the default study without its own folder: the flat legacy layout
    assert study_build_dir("amk") == tmp_path
    # any other study: its own folder, built or not
    assert study_build_dir("proirri") == tmp_path / "proirri"
    (tmp_path / "amk").mkdir()
    assert study_build_dir("amk") == tmp_path / "amk"
    assert study_build_dir() == tmp_path / "amk"


def test_resolve_study():
    from components.store import resolve_study

    assert resolve_study(None) == ("amk", None)
    assert resolve_study("proirri") == ("proirri", None)
    sid, note = resolve_study("../etc")
    assert sid == "amk" and "no study '../etc'" in note


@pytest.mark.browser
def test_picker_changes_the_study_and_keeps_the_page(app_module, tmp_path):
    """Through the UI: the navbar's study menu opens the same page for the other study."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS, serve

    with serve(BUILD, tmp_path / "app.log") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(base + "/effects?scale=pct", wait_until="networkidle")
        page.wait_for_selector("#effects-forest .main-svg")
        assert "AMK" in page.inner_text("h1")
        # keyboard: focus the menu's toggle, open it, follow the other study's link
        page.focus("#study-picker .dropdown-toggle")
        page.keyboard.press("Enter")
        page.wait_for_selector(".study-picker .dropdown-menu.show")
        link = page.locator(".study-picker .dropdown-menu a", has_text="PROIRRI")
        assert link.get_attribute("href") == "/effects?study=proirri"
        link.focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/effects\?study=proirri$"))
        page.wait_for_selector("#effects-forest .main-svg")
        assert page.title() == "Effects — PROIRRI savings study"
        assert "PROIRRI" in page.inner_text("h1")
        assert "CC BY 4.0" in page.inner_text(".provenance")
        # the navigation links carry the study on to every page
        href = page.get_attribute(".main-nav a[href^='/methods']", "href")
        assert href == "/methods?study=proirri"
        page.click(".main-nav a[href^='/methods']")
        page.wait_for_url(re.compile(r"/methods\?study=proirri$"))
        page.wait_for_selector("h1")
        assert "association" in page.inner_text("main")
        # Back through the history to the other study: the shell follows (one study on screen)
        page.go_back()
        page.go_back()
        page.wait_for_url(re.compile(r"/effects\?scale=pct$"))
        page.locator("h1", has_text="AMK").wait_for()
        page.wait_for_selector("#effects-forest .main-svg")
        assert "Demonstration data" in page.inner_text(".provenance")
        assert "AMK" in page.inner_text(".study-picker")
        browser.close()


def test_no_literal_study_words_in_pages_or_layout():
    """Page titles and captions come from the study's files, not from code."""
    roots = [PROJECT_ROOT / "pages", PROJECT_ROOT / "components" / "layout.py"]
    files = [f for r in roots for f in (r.glob("*.py") if r.is_dir() else [r])]
    pattern = re.compile(r"AMK|Kompong|Cambodia|Mozambique|PROIRRI|client officer|villages?\b")
    hits = []
    for f in files:
        for i, line in enumerate(Path(f).read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                hits.append(f"{f.name}:{i}: {line.strip()[:100]}")
    assert not hits, "\n".join(hits)


def test_breakdowns_of_a_study_without_branches_write_no_branch_filter(app_module):
    """PROIRRI is broken down by province only: its address gets no empty branch filter."""
    from pages import breakdowns

    with app_module.server.test_request_context(
        "/_dash-update-component",
        method="POST",
        headers={"Referer": "http://127.0.0.1/breakdowns?study=proirri"},
    ):
        out = breakdowns.update("saved_cumul", "post", "4", "cluster", [], current="?study=proirri")
    search = out[-1]
    assert "branches" not in search and "study=proirri" in search
    text = visible_text(out[0]) + " " + str(out[2])
    assert "province" in text.lower()


def test_methods_page_says_why_a_diagnostic_does_not_apply(app_module):
    import json

    reasons = json.loads((BUILD / "proirri" / "diagnostics.json").read_text())["unavailable"]
    text = visible_text(render("methods", study="proirri"))
    for reason in reasons.values():
        assert f"Not available for this study: {reason}." in text
    assert "Not available for this study" not in visible_text(render("methods", study="amk"))


def test_breakdowns_open_and_move_to_a_wave_the_outcome_was_asked_in(app_module):
    """PROIRRI's endline outcomes were asked at the endline only; its savings in quarters 1-4."""
    import dash

    from components.store import using_study
    from pages import breakdowns

    def wave_value(lay):
        found = {}

        def walk(c):
            if isinstance(c, list | tuple):
                for x in c:
                    walk(x)
            elif hasattr(c, "to_plotly_json"):
                props = c.to_plotly_json().get("props", {})
                if props.get("id") == "breakdowns-wave":
                    found["v"] = props["value"]
                walk(props.get("children"))

        walk(lay)
        return found["v"]

    assert wave_value(render("breakdowns", study="proirri")) == "4"
    assert wave_value(render("breakdowns", study="proirri", outcome="uses_plough")) == "5"
    with using_study("proirri"):
        assert breakdowns.wave_asked("uses_plough", "4") == "5"
        assert breakdowns.wave_asked("saved_cumul", "5") == "4"
        assert breakdowns.wave_asked("saved_cumul", "2") is dash.no_update
