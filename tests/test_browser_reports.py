"""In the OS's Chromium: the "Download slides" / "Download brief (PDF)" actions deliver the
deck and brief of the view in the address bar; presentation mode (?present=1 and the
toggle) survives navigation; the print stylesheet leaves the content and the
provenance label and nothing that cannot be used on paper."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import test_browser as _tb
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts)
from test_browser import PAGES, SHOTS, Watched
from test_reports import N_SLIDES

from analysis.demo import DEMO_LABEL
from analysis.findings import finding_sentence
from analysis.paths import study_build_dir
from components.reports import untypeset
from components.views import Spec, headline_findings, headline_lead, select, wave_labels

pytestmark = pytest.mark.browser

# the browser walk's fixtures: Chromium, the served app, a watched page
browser, server, watched = _tb.browser, _tb.server, _tb.watched

RECORD_BUTTON = """(id) => {
    const el = document.getElementById(id);
    window.__states = [];
    new MutationObserver(() => window.__states.push([el.disabled, el.innerText]))
        .observe(el, {attributes: true, childList: true, subtree: true, characterData: true});
}"""


def _deck_notes(data: bytes) -> list[str]:
    from pptx import Presentation

    prs = Presentation(io.BytesIO(data))
    return [
        untypeset(s.notes_slide.notes_text_frame.text) if s.has_notes_slide else ""
        for s in prs.slides
    ]


def _deck_text(data: bytes) -> tuple[int, list[str]]:
    from pptx import Presentation

    prs = Presentation(io.BytesIO(data))
    texts = []
    for slide in prs.slides:
        parts = [
            "\n".join(p.text for p in sh.text_frame.paragraphs)
            for sh in slide.shapes
            if sh.has_text_frame
        ]
        texts.append(untypeset("\n".join(parts)))
    return len(prs.slides), texts


def test_download_actions_deliver_the_current_view(watched, server, table):
    from pypdf import PdfReader

    page = watched.page
    watched.goto(server + "/effects?wave=1&method=ancova&scale=std", PAGES["/effects"])
    page.evaluate(RECORD_BUTTON, "report-pptx-button")
    with page.expect_download(timeout=90000) as info:
        page.click("#report-pptx-button")
    download = info.value
    assert download.suggested_filename == "amk-slides-midline-ancova.pptx"
    states = page.evaluate("window.__states")
    assert [True, "Preparing slides…"] in states  # a loading state while it renders
    page.wait_for_function(
        "() => !document.getElementById('report-pptx-button').disabled", timeout=20000
    )
    assert "Slides ready" in page.inner_text("#report-status")
    n, texts = _deck_text(Path(download.path()).read_bytes())
    assert n == N_SLIDES and all(DEMO_LABEL in t for t in texts)
    notes = _deck_notes(Path(download.path()).read_bytes())
    rows = select(table, Spec(method="ancova", wave=1))
    groups = headline_findings(rows)
    for r in groups["improved"] + groups["worsened"]:
        assert finding_sentence(r) in notes[1]  # the slide names them; the notes say it all

    with page.expect_download(timeout=90000) as info:
        page.click("#report-pdf-button")
    download = info.value
    assert download.suggested_filename == "amk-brief-midline-ancova.pdf"
    pdf = PdfReader(download.path())
    assert len(pdf.pages) <= 4
    flat = re.sub(r"\s+", "", untypeset(pdf.pages[0].extract_text()))
    assert re.sub(r"\s+", "", DEMO_LABEL) in flat
    lead = headline_lead(rows, wave_labels(table)[1])
    assert re.sub(r"\s+", "", untypeset(lead)) in flat
    watched.check()


def test_download_for_another_study_carries_its_title_and_licence(watched, server):
    """?study=proirri: the brief is that study's (its id in the file name, its title and the
    CC BY attribution on every page, none of the default study's words)."""
    from pypdf import PdfReader

    from analysis.paths import PROJECT_ROOT

    if not (PROJECT_ROOT / "build" / "proirri" / "results.parquet").is_file():
        pytest.skip("PROIRRI is not built (make data)")
    page = watched.page
    watched.goto(server + "/effects?study=proirri&wave=4", PAGES["/effects"])
    with page.expect_download(timeout=90000) as info:
        page.click("#report-pdf-button")
    download = info.value
    assert download.suggested_filename == "proirri-brief-quarter-4-post.pdf"
    pdf = PdfReader(download.path())
    for p in pdf.pages:
        text = untypeset(p.extract_text())
        flat = re.sub(r"\s+", "", text)
        assert "PROIRRIsavingsstudy" in flat and "Licence:CCBY4.0" in flat
        assert not re.search(r"AMK|village|client", text, re.I)
    watched.check()


def test_presentation_mode_from_the_link_survives_navigation(watched, server):
    page = watched.page
    watched.goto(server + "/breakdowns?present=1", PAGES["/breakdowns"])
    page.wait_for_function("() => document.documentElement.classList.contains('presenting')")
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "20px"
    # a presenter keeps the outcome and wave menus (issue 13); the rest of the controls go
    assert page.is_visible("#breakdowns-outcome") and page.is_visible("#breakdowns-wave")
    assert page.is_hidden("#breakdowns-method") and page.is_hidden("#breakdowns-inference")
    assert page.is_hidden("#report-pptx-button")
    assert page.is_hidden("#breakdowns-branches")
    assert page.is_visible("#provenance-label") and page.is_visible("#present-toggle")
    assert page.inner_text("#present-toggle") == "Exit presentation mode"
    assert page.is_hidden("#breakdowns-notes") or not page.inner_text("#breakdowns-notes").strip()
    page.get_by_role("link", name="Effects", exact=True).click()
    page.wait_for_selector(PAGES["/effects"])
    page.wait_for_function("() => location.pathname === '/effects'")
    page.wait_for_function("() => new URLSearchParams(location.search).get('present') === '1'")
    assert page.evaluate("document.documentElement.classList.contains('presenting')")
    assert page.is_hidden("#effects-method")
    # the toggle ends it, and the flag leaves the address bar
    page.click("#present-toggle")
    page.wait_for_function("() => !document.documentElement.classList.contains('presenting')")
    page.wait_for_function("() => !location.search.includes('present')")
    assert page.is_visible("#effects-method") and page.is_visible("#report-pptx-button")
    page.click("#present-toggle")
    page.wait_for_function("() => document.documentElement.classList.contains('presenting')")
    watched.check()


def test_unknown_presentation_value_is_ignored(watched, server):
    page = watched.page
    watched.goto(server + "/effects?present=banana&scale=std", PAGES["/effects"])
    page.wait_for_timeout(500)
    assert not page.evaluate("document.documentElement.classList.contains('presenting')")
    assert page.input_value("#effects-scale") == "std"
    assert page.is_hidden("#effects-notes") or not page.inner_text("#effects-notes").strip()
    watched.check()


@pytest.mark.parametrize("path", ["/", "/effects", "/breakdowns"])
def test_print_stylesheet(browser, server, path, tmp_path):
    from pypdf import PdfReader

    w = Watched(browser)
    try:
        w.goto(server + path, PAGES[path])
        w.page.wait_for_timeout(1700)  # figures measured for the paper after they draw
        w.page.pdf(path=str(tmp_path / "print.pdf"), format="A4", print_background=True)
        pdf = PdfReader(str(tmp_path / "print.pdf"))
        first = re.sub(r"\s+", "", pdf.pages[0].extract_text())
        assert re.sub(r"\s+", "", DEMO_LABEL) in first
        # the controls and the navbar are not printed (a caption may name the Methods & data
        # page in a sentence; the navbar is its links in a row)
        for gone in ("Downloadslides", "Presentationmode", "EffectsBreakdownsMethods&data"):
            assert gone not in first, gone
        # laid out at the paper's width: nothing wider than the page, controls and navbar gone
        w.page.set_viewport_size({"width": 703, "height": 1000})
        w.page.emulate_media(media="print")
        assert w.page.evaluate("document.documentElement.scrollWidth") <= 704
        assert w.page.is_hidden("header") and w.page.is_hidden(".report-actions")
        assert w.page.is_visible("#provenance-label")
        if path != "/":
            assert w.page.is_hidden(".controls")
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = path.strip("/") or "overview"
        w.page.screenshot(path=str(SHOTS / f"{name}-print.png"), full_page=True)
        w.check()
    finally:
        w.close()


@pytest.fixture(scope="module")
def table(artifact_dir):
    from analysis.artifacts import load_artifacts

    a = load_artifacts(study_build_dir())
    assert a.ok
    return a.results
