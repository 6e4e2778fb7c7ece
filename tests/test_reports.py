"""Slide deck (PPTX) and printed brief (PDF): structure, provenance on every page, and every
number taken from the results table.  Figures are rendered by kaleido with the OS's
Chromium; one kaleido server serves the whole session, and reports are cached per view."""

from __future__ import annotations

import dataclasses
import io
import math
import re

import pandas as pd
import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts)

from analysis.artifacts import load_artifacts
from analysis.demo import DEMO_LABEL
from analysis.findings import display_numbers, finding_sentence
from analysis.paths import study_build_dir
from components import params as qp
from components.chain import chain_figure
from components.reports import (
    MAX_BRIEF_PAGES,
    ReportError,
    build_brief,
    build_content,
    effect_line,
    main,
    make_report,
    parse_view,
    typeset,
    untypeset,
)
from components.views import Spec, headline_findings, select

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")
# title, findings, chain, families, every outcome (two slides, for its labels' size), breakdown,
# profile, recommendations, methods
N_SLIDES = 10
ALT_VIEW = "?wave=1&method=ancova&inference=cluster&outcome=insurance_any&branches=Baray,Santuk&scale=std&node=repayment&present=1"


@pytest.fixture(scope="module")
def rarts(artifact_dir):
    arts = load_artifacts(study_build_dir())
    assert arts.ok, [p.message for p in arts.problems]
    return arts


@pytest.fixture(scope="module")
def deck(rarts):
    from pptx import Presentation

    name, data, notes = make_report(rarts, "pptx", "")
    assert name == "amk-slides-endline-did.pptx" and notes == []
    return Presentation(io.BytesIO(data))


@pytest.fixture(scope="module")
def brief(rarts):
    from pypdf import PdfReader

    name, data, _ = make_report(rarts, "pdf", "")
    assert name == "amk-brief-endline-did.pdf"
    return PdfReader(io.BytesIO(data))


def slide_text(slide, *, footer: bool = True) -> str:
    """All text on a slide (``footer=False``: without the provenance footer)."""

    from components.reports.deck import FOOTER

    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame and (footer or shape.name != FOOTER):
            parts.append("\n".join(p.text for p in shape.text_frame.paragraphs))
    return untypeset("\n".join(parts))


def flat(text: str) -> str:
    """Text without any white space (PDF extraction breaks lines anywhere)."""
    return re.sub(r"\s+", "", untypeset(text))


def default_rows(results: pd.DataFrame) -> pd.DataFrame:
    return select(results, Spec())


# ---------------------------------------------------------------- the view


def test_view_defaults_and_link_values(rarts):
    res = rarts.results
    view, notes = parse_view(res, "")
    # the Effects page's defaults (issue 13: one common unit, right of zero = better)
    assert (view.method, view.inference, view.wave, view.scale, view.mt, view.direction) == (
        "did",
        "wild",
        int(res["wave"].max()),
        "std",
        "q",
        "improvement",
    )
    assert notes == []
    view, notes = parse_view(res, ALT_VIEW)
    assert (view.method, view.inference, view.wave, view.outcome, view.scale) == (
        "ancova",
        "cluster",
        1,
        "insurance_any",
        "std",
    )
    assert view.branches == ("Baray", "Santuk")
    assert notes == []  # other pages' (node) and the app's (present) parameters are not errors


def test_invalid_view_values_fall_back_with_a_note(rarts):
    view, notes = parse_view(rarts.results, "?method=nonsense&wave=9&scale=%3Cscript%3E")
    assert (view.method, view.wave, view.scale) == (
        "did",
        int(rarts.results["wave"].max()),
        "std",  # the default scale (issue 13)
    )
    assert len(notes) == 3 and any("nonsense" in n for n in notes)
    view, notes = parse_view(rarts.results, "?method=tot&inference=wild")
    assert view.inference == "cluster" and any("not available" in n for n in notes)


def test_app_parameter_present_is_not_a_page_error():
    values, notes = qp.parse([qp.Param("wave", ["1", "2"], "2", "wave")], {"present": "1"})
    assert notes == [] and values == {"wave": "2"}
    assert qp.present_flag("?present=1") is True
    assert qp.present_flag("?wave=1&present=off") is False
    assert qp.present_flag("?present=banana") is None
    assert qp.present_flag("") is None


# ---------------------------------------------------------------- words and numbers


def test_typeset_uses_minus_signs_only_before_numbers():
    assert typeset("CI -14 to -6; Debt-service ratio; 2026-11-28; 1-5 scale") == (
        "CI −14 to −6; Debt-service ratio; 2026-11-28; 1-5 scale"
    )
    assert untypeset(typeset("-0.51")) == "-0.51"


def test_effect_lines_use_the_sentence_numbers(rarts):
    for row in default_rows(rarts.results).to_dict("records"):
        line = effect_line(row)
        if row["suppressed"]:
            assert "too few" in line
            continue
        nums = display_numbers(row)
        assert nums["estimate"] in line and nums["ci_low"] in line and nums["ci_high"] in line
        if float(nums["estimate"]) != 0:  # signed, unless it rounds to zero
            assert line[0] == ("-" if row["estimate"] < 0 else "+"), line


def test_content_follows_the_view(rarts):
    view, _ = parse_view(rarts.results, ALT_VIEW)
    content = build_content(rarts, view)
    rows = select(rarts.results, Spec(method="ancova", inference="cluster", wave=1))
    groups = headline_findings(rows)
    want = [finding_sentence(r) for v in ("improved", "worsened") for r in groups[v]]
    assert [f.sentence for f in content.findings] == want
    assert content.outcome_short == "Insurance take-up"
    assert [b.dim for b in content.breakdowns] == ["province", "branch"]
    assert list(content.breakdowns[1].rows["sample"]) == ["Baray", "Santuk"]
    assert set(content.breakdowns[0].rows["method"]) == {"ancova"}
    shown = content.forest_rows[content.forest_rows["shown"]]
    assert shown["x"].to_numpy() == pytest.approx(shown["effect_std"].to_numpy())


def test_missing_artifacts_give_a_report_error(tmp_path):
    arts = load_artifacts(tmp_path)
    with pytest.raises(ReportError, match="make data"):
        make_report(arts, "pdf", "")


# ---------------------------------------------------------------- the deck


def test_deck_has_its_slides_and_pictures(deck):
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    assert len(deck.slides) == N_SLIDES
    pictures = [
        [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE] for slide in deck.slides
    ]
    # results chain, family and every-outcome forest plots, province and branch breakdowns
    assert [len(p) for p in pictures] == [0, 0, 1, 1, 1, 1, 2, 0, 0, 0]
    for pics in pictures:
        for pic in pics:
            assert pic.image.content_type == "image/png"
            w, h = pic.image.size
            # rendered sharp enough for a projector: at least 200 pixels per inch of slide
            assert w / (pic.width / 914400) >= 200 and h / (pic.height / 914400) >= 200, (w, h)
            assert pic._element.nvPicPr.cNvPr.get("descr")  # alternative text


def test_every_slide_carries_the_provenance_label(deck, rarts):
    assert rarts.data_label == DEMO_LABEL
    sha = rarts.results_manifest["panel_sha256"][:12]
    for i, slide in enumerate(deck.slides, start=1):
        text = slide_text(slide)
        assert DEMO_LABEL in text, i
        assert sha in text and f"{i} / {N_SLIDES}" in text


def notes_of(slide) -> str:
    return untypeset(slide.notes_slide.notes_text_frame.text) if slide.has_notes_slide else ""


def test_findings_slide_says_what_the_table_says(deck, rarts):
    """The slide names the outcomes by verdict; the speaker notes carry every sentence."""
    rows = default_rows(rarts.results)
    groups = headline_findings(rows)
    text = slide_text(deck.slides[1], footer=False)
    notes = notes_of(deck.slides[1])
    n_out = int((~rows["is_index"]).sum())
    assert f"{len(groups['improved'])} of {n_out} client outcomes improved" in text
    allowed = set()
    for v in ("improved", "worsened"):
        for r in groups[v]:
            assert r["short"].lower() in text.lower()
            assert finding_sentence(r) in notes
            allowed |= set(display_numbers(r).values())
    for r in groups["no detectable effect"]:
        assert r["short"].lower() in text.lower()
    # numbers on the slide: only the counts
    assert set(NUMBER.findall(text)) <= {str(len(groups["improved"])), str(n_out)}, text


def test_recommendations_slide_shows_each_judgement(deck, rarts):
    from analysis.decide import judge_recommendation

    rows = default_rows(rarts.results)
    by = rows.set_index("outcome")
    text = slide_text(deck.slides[8])
    notes = notes_of(deck.slides[8])
    rows_text = [
        untypeset(sh.text_frame.text)
        for sh in _body_shapes(deck.slides[8])
        if sh.left < 914400  # the judgement column, left of the titles
    ]
    for i, rec in enumerate(rarts.recommendations, start=1):
        assert f"{i}. {rec['title']}" in text
        j = judge_recommendation(rec["outcomes"], rows)
        # the judgement's word beside the title (the row's first box), its reasons in the notes
        mark = "*" if j.mostly_null else ""
        assert f"{j.judgement.capitalize()} {mark}".strip() in rows_text[i - 1], rows_text
        assert j.label in notes and j.because() in notes
        assert rec["text"][:40] in notes
        for name in rec["outcomes"]:
            row = {**by.loc[name].to_dict(), "outcome": name}
            assert f"{row['short']}: " in notes and effect_line(row) in notes
    assert "rests mostly on no detectable effect" in text  # recommendations 2 and 5


def test_breakdown_profile_and_methods_slides(deck, rarts):
    res = rarts.results
    first = res["outcome"].iloc[0]
    ref = res[
        (res["outcome"] == first) & (res["method"] == "did") & (res["inference"] == "wild")
        & (res["wave"] == res["wave"].max()) & (res["sample_type"] == "all")
    ].iloc[0]  # fmt: skip
    text = slide_text(deck.slides[6])
    assert ref["short"] in text and finding_sentence(ref.to_dict()) in notes_of(deck.slides[6])
    assert "Branches: cannot be told apart" in text or "Branches: differ in" in text
    assert "Same effect in every branch? p = " in notes_of(deck.slides[6])
    profile = slide_text(deck.slides[7])
    assert rarts.profile["name"] in profile and "285,700" in profile  # the profile, from data/
    assert "Figures as of:" in profile
    methods = notes_of(deck.slides[9])
    assert f"{int(res['n_clusters'].max())} villages" in methods
    assert f"fewer than {rarts.results_manifest['settings']['min_cell']} clients" in methods
    assert rarts.results_manifest["code_fingerprint"] in methods


def _body_shapes(slide):
    """Text boxes of a slide's body: not the title and subtitle (above 1.45 in) nor the footer."""
    from pptx.util import Inches

    from components.reports.deck import FOOTER

    return [
        sh
        for sh in slide.shapes
        if sh.has_text_frame
        and sh.name != FOOTER
        and sh.top >= Inches(1.4)
        and sh.text_frame.text.strip()
    ]


def test_slides_project_18pt_body_and_at_most_6_lines(rarts):
    """Read back from the pptx: every run outside the footer is at least 18 pt, and a text
    slide (no picture) holds at most 6 lines, wrapping estimated at 0.55 em a character
    (Calibri averages about 0.5; LibreOffice's fallback fonts are wider)."""
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    from components.reports.deck import FOOTER

    for query in ("", ALT_VIEW):
        _, data, _ = make_report(rarts, "pptx", query)
        prs = Presentation(io.BytesIO(data))
        for i, slide in enumerate(prs.slides, start=1):
            for sh in slide.shapes:
                if not sh.has_text_frame or sh.name == FOOTER:
                    continue
                for p in sh.text_frame.paragraphs:
                    for r in p.runs:
                        if r.text.strip():
                            assert r.font.size.pt >= 18, (i, r.text, r.font.size.pt)
            if i == 1 or any(sh.shape_type == MSO_SHAPE_TYPE.PICTURE for sh in slide.shapes):
                continue
            rows: dict[int, int] = {}  # boxes side by side share a line: the most lines per top
            for sh in _body_shapes(slide):
                width_pt = (
                    sh.width - sh.text_frame.margin_left - sh.text_frame.margin_right
                ) / 12700
                n = 0
                for p in sh.text_frame.paragraphs:
                    size = max((r.font.size.pt for r in p.runs if r.text.strip()), default=18)
                    per_line = int(width_pt / (size * 0.55))
                    n += max(1, math.ceil(len(p.text) / per_line))
                rows[sh.top] = max(rows.get(sh.top, 0), n)
            assert sum(rows.values()) <= 6, (i, slide_text(slide, footer=False), rows)
        # the speaker notes carry the details on every slide but the title
        assert all(notes_of(s).strip() for s in prs.slides)


def _deck_with_figures(rarts, monkeypatch, query: str = ""):
    """The deck of a view, its slides' titles and pictures in order, and each picture's figure
    as rendered (recorded on its way to kaleido): (title, picture, figure, width_px)."""
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    import components.reports.render as render
    from components.reports.deck import build_deck

    drawn = []
    real = render.render_png

    def record(fig, width_px, height_px, **kw):
        drawn.append((fig, width_px))
        return real(fig, width_px, height_px, **kw)

    monkeypatch.setattr(render, "render_png", record)
    view, _ = parse_view(rarts.results, query)
    prs = Presentation(io.BytesIO(build_deck(build_content(rarts, view))))
    pictures = [
        (_title(slide), sh)
        for slide in prs.slides
        for sh in slide.shapes
        if sh.shape_type == MSO_SHAPE_TYPE.PICTURE
    ]
    assert len(pictures) == len(drawn)
    return view, prs, [(t, pic, fig, w) for (t, pic), (fig, w) in zip(pictures, drawn, strict=True)]


def _title(slide) -> str:
    return next(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)


def test_every_outcome_slides_label_at_14pt_or_more(rarts, monkeypatch):
    """The every-outcome forest is split over slides so that its words read when projected:
    read back from the pptx, each picture's width on the slide over the width its figure was
    drawn at gives points per pixel; the labels, the legend and the axis are at least 14 pt.
    Every outcome of the view stands on exactly one of the slides."""
    view, prs, figures = _deck_with_figures(rarts, monkeypatch)
    parts = [
        (pic, fig, w) for t, pic, fig, w in figures if t.startswith("Effects on every outcome")
    ]
    assert len(parts) >= 2
    ticks = []
    for pic, fig, width_px in parts:
        pt_per_px = pic.width / 12700 / width_px  # EMU per point: 12700
        lay = fig.layout
        sizes = {
            "labels": lay.yaxis.tickfont.size,
            "x ticks": lay.xaxis.tickfont.size,
            "axis title": lay.xaxis.title.font.size,
            "legend": lay.legend.font.size,
        }
        for what, px in sizes.items():
            assert px * pt_per_px >= 14, (what, px * pt_per_px)
        ticks += [re.sub(r"<[^>]+>", " ", t) for t in lay.yaxis.ticktext]
    rows = default_rows(rarts.results)
    shown = [" ".join(t.split()) for t in ticks]
    for short in rows.loc[~rows["is_index"].astype(bool), "short"]:
        assert shown.count(short) == 1, (short, shown)
    assert shown.count("Family index") == int(rows["is_index"].astype(bool).sum())
    for fam in dict.fromkeys(rows["family_label"]):
        assert shown.count(fam) == 1, fam
    # the parts share one x range, so that they compare
    assert len({tuple(fig.layout.xaxis.range) for _, fig, _ in parts}) == 1


@pytest.mark.parametrize("direction", ["improvement", "estimate"])
def test_breakdown_slide_follows_the_views_direction(rarts, monkeypatch, direction):
    """The breakdown charts plot what the Breakdowns page plots: a lower-is-better outcome
    flipped when the view plots improvement, as estimated otherwise (numbers against the
    results table), and the axis title says which."""
    view, prs, figures = _deck_with_figures(rarts, monkeypatch, f"?direction={direction}")
    res = rarts.results
    assert res.loc[res["outcome"] == view.outcome, "better"].iloc[0] == "lower"  # the default
    charts = [(t, fig) for t, _, fig, _ in figures if t.startswith("Where did it work?")]
    assert len(charts) == 2
    sign = -1.0 if direction == "improvement" else 1.0
    for _, fig in charts:
        title = fig.layout.xaxis.title.text.replace("<br>", " ")
        if direction == "improvement":
            assert title.startswith("Improvement (") and "right of zero = better" in title
        else:
            assert title.startswith("Effect (") and "programme minus comparison" in title
        (raw,) = [tr for tr in fig.data if (tr.meta or {}).get("role") == "raw"]
        for name, x in zip(raw.customdata, raw.x, strict=True):
            row = res[
                (res["outcome"] == view.outcome) & (res["method"] == view.method)
                & (res["wave"] == view.wave) & (res["inference"] == view.inference)
                & (res["sample"] == name) & (res["sample_type"] != "all")
            ]  # fmt: skip
            assert len(row) == 1 and x == pytest.approx(sign * row["estimate"].iloc[0], abs=1e-12)
    notes = [notes_of(s) for s in prs.slides if _title(s).startswith("Where did it work?")][0]
    assert ("sign flipped" in notes) == (direction == "improvement")


def test_deck_title_and_file_name_name_the_view(rarts):
    from pptx import Presentation

    name, data, _ = make_report(rarts, "pptx", ALT_VIEW)
    assert name == "amk-slides-midline-ancova-baray-santuk.pptx"
    prs = Presentation(io.BytesIO(data))
    title = prs.core_properties.title
    assert "Midline vs baseline" in title and "ANCOVA" in title and "Baray, Santuk" in title
    assert "Baray, Santuk" in slide_text(prs.slides[0]) and "Midline vs baseline" in slide_text(
        prs.slides[0]
    )
    # unfiltered: no branch in the name
    name, _, _ = make_report(rarts, "pptx", "?wave=1&method=ancova")
    assert name == "amk-slides-midline-ancova.pptx"


# ---------------------------------------------------------------- the brief


def test_brief_fits_four_pages_with_label_and_pictures(brief):
    assert len(brief.pages) <= MAX_BRIEF_PAGES
    assert len(brief.pages) == 4  # one page each: findings, effects, breakdowns, recommendations
    for i, page in enumerate(brief.pages, start=1):
        text = flat(page.extract_text())
        assert flat(DEMO_LABEL) in text, i
        assert f"Page{i}of4" in text
    assert [len(p.images) for p in brief.pages[:3]] == [1, 1, 2]


def test_brief_text_carries_the_tables_numbers(brief, rarts):
    text = flat(" ".join(p.extract_text() for p in brief.pages))
    rows = default_rows(rarts.results)
    groups = headline_findings(rows)
    for v in ("improved", "worsened", "no detectable effect"):
        for r in groups[v]:
            assert flat(finding_sentence(r)) in text, r["outcome"]
    by = rows.set_index("outcome")
    for rec in rarts.recommendations:
        for name in rec["outcomes"]:
            assert flat(effect_line({**by.loc[name].to_dict(), "outcome": name})) in text
    assert flat(rarts.results_manifest["panel_sha256"][:12]) in text


def test_real_data_is_labelled_as_such(rarts):
    from pypdf import PdfReader

    real = dataclasses.replace(
        rarts,
        results_manifest={
            **rarts.results_manifest,
            "data_kind": "real",
            "data_label": "AMK client survey data (2010-2012)",
        },
    )
    view, _ = parse_view(real.results, "")
    pdf = PdfReader(io.BytesIO(build_brief(build_content(real, view))))
    for page in pdf.pages:
        text = flat(page.extract_text())
        assert flat("AMK client survey data (2010-2012)") in text
        assert "Demonstration" not in text


# ---------------------------------------------------------------- the chain figure, the CLI


def test_chain_figure_shows_every_indicator_with_its_verdict(rarts):
    rows = default_rows(rarts.results)
    ind = {r.outcome: (r.short, r.verdict) for r in rows.itertuples()}
    for width, height, orientation in ((1190, 530, "horizontal"), (700, 420, "vertical")):
        fig = chain_figure(rarts.chain, ind, width=width, height=height)
        assert fig.layout.meta["orientation"] == orientation
        assert fig.layout.meta["font_size"] >= 9
        text = " ".join(a.text for a in fig.layout.annotations).replace("<br>   ", " ")
        for node in rarts.chain["nodes"]:
            for outcome in node.get("outcomes") or []:
                short, verdict = ind[outcome]
                first = short.split()[0]
                assert first in text, (outcome, orientation)
        assert text.count("▼") >= sum(v == "worsened" for _, v in ind.values())


def test_cli_writes_the_deck_and_the_brief(tmp_path, artifact_dir, capsys):
    out = tmp_path / "reports"
    assert main(["--out", str(out), "--build", str(study_build_dir())]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["amk-brief-endline-did.pdf", "amk-slides-endline-did.pptx"]
    assert (out / names[0]).read_bytes()[:5] == b"%PDF-"
    assert main(["--out", str(out), "--build", str(tmp_path / "nothing")]) == 2
    assert "make data" in capsys.readouterr().err
    assert main(["--out", str(out), "--build", str(artifact_dir), "--formats", "docx"]) == 2


def test_download_callback_sends_the_file(dash_app):
    from components.present import report_download

    payload, status = report_download("pdf", "")
    assert payload["filename"] == "amk-brief-endline-did.pdf" and payload["base64"]
    assert status.startswith("Brief ready")


def test_shell_has_the_presenting_toolbar(dash_app):
    from app_fixtures import find_by_id

    from components import present

    shell = dash_app.layout()
    for wanted in (present.PPTX_BUTTON, present.PDF_BUTTON, present.PRESENT_TOGGLE):
        assert find_by_id(shell, wanted) is not None, wanted
    deps = dash_app.server.test_client().get("/_dash-dependencies").get_json()
    outputs = " ".join(d["output"] for d in deps)
    assert present.PPTX_DOWNLOAD in outputs and present.PDF_DOWNLOAD in outputs
    assert present.PRESENT_STORE in outputs


# ---------------------------------------------------------------- another study: PROIRRI (public data)

PROIRRI_WORDS_NOT = re.compile(r"AMK|village|client|branch|financial.education|MF4DW", re.I)


@pytest.fixture(scope="module")
def proirri_arts(tmp_path_factory):
    """PROIRRI's artefacts: build/proirri when fresh, else built here (about 40 s)."""
    from app_fixtures import _fresh

    from analysis.codebook import load_codebook
    from analysis.panel import build_panel, write_panel
    from analysis.paths import PROJECT_ROOT
    from analysis.results import write_results

    study = PROJECT_ROOT / "data" / "studies" / "proirri"
    build = PROJECT_ROOT / "build" / "proirri"
    if not _fresh(build):
        build = tmp_path_factory.mktemp("proirri_build")
        cb = load_codebook(study / "codebook.yaml")
        panel, manifest = build_panel(study, cb)
        path = write_panel(panel, manifest, build / "panel.parquet")
        write_results(path, build / "results.parquet", codebook=cb, draws=199)
    arts = load_artifacts(build, study)
    assert arts.ok, [p.message for p in arts.problems]
    return arts


@pytest.fixture(scope="module")
def proirri_reports(proirri_arts):
    """The deck and brief of PROIRRI's fourth quarter (its published headline)."""
    view = "?wave=4&outcome=saved_cumul"
    deck_name, deck_bytes, notes = make_report(proirri_arts, "pptx", view)
    brief_name, brief_bytes, _ = make_report(proirri_arts, "pdf", view)
    assert notes == []
    return deck_name, deck_bytes, brief_name, brief_bytes


def test_proirri_report_names_start_with_its_id(proirri_reports):
    deck_name, _, brief_name, _ = proirri_reports
    assert deck_name == "proirri-slides-quarter-4-post.pptx"
    assert brief_name == "proirri-brief-quarter-4-post.pdf"


def test_proirri_deck_carries_its_title_and_licence_on_every_slide(proirri_reports, proirri_arts):
    from pptx import Presentation

    from analysis.study import load_study

    study = load_study("proirri")
    prs = Presentation(io.BytesIO(proirri_reports[1]))
    assert prs.core_properties.title.startswith(study.short_title + ": ")  # then the view
    assert study.short_title == "PROIRRI savings study"
    assert study.short_title in slide_text(prs.slides[0])
    # title, findings, (results chain, when the study has one), (family effects, when the
    # results have family indices), effects, breakdown, (profile), methods; no
    # recommendations file, so no recommendations slide
    titles = [slide_text(s, footer=False).split("\n")[0] for s in prs.slides]
    # a profile slide only where the study's profile has figures to show
    n = (
        5
        + (study.folder / "results_chain.yaml").is_file()
        + any(t.startswith("About ") for t in titles)
    )
    n += "Effects on each family of outcomes" in titles  # checked against the table below
    assert ("Effects on each family of outcomes" in titles) == bool(
        proirri_arts.results["is_index"].astype(bool).any()
    )
    assert len(prs.slides) == n
    for i, slide in enumerate(prs.slides, start=1):
        text = slide_text(slide)
        assert "Public replication data" in text, i
        assert "Licence: CC BY 4.0" in text and "Christian, Glover, Kondylis" in text, i
        assert f"{i} / {n}" in text
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""
        assert not PROIRRI_WORDS_NOT.search(text + notes), (
            i,
            PROIRRI_WORDS_NOT.findall(text + notes),
        )
        assert "Demonstration" not in text


def test_proirri_brief_carries_its_title_and_licence_on_every_page(proirri_reports):
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(proirri_reports[3]))
    assert len(pdf.pages) == MAX_BRIEF_PAGES
    assert pdf.metadata.title == "PROIRRI savings study"
    for i, page in enumerate(pdf.pages, start=1):
        raw = untypeset(page.extract_text())
        text = flat(raw)
        assert flat("PROIRRI savings study") in text, i
        assert flat("Public replication data") in text, i
        assert flat("Licence: CC BY 4.0") in text and flat("doi 10.1111/agec.12672") in text, i
        assert not PROIRRI_WORDS_NOT.search(raw), (i, PROIRRI_WORDS_NOT.findall(raw))


def test_proirri_findings_speak_of_households_and_associations(proirri_arts, proirri_reports):
    from pptx import Presentation

    res = proirri_arts.results
    q4 = res[
        (res["outcome"] == "saved_cumul") & (res["wave"] == 4) & (res["sample_type"] == "all")
        & (res["inference"] == "wild")
    ].iloc[0]  # fmt: skip
    # the published estimate (Table 2, province fixed effects, Q4): 0.205, so "20 points"
    assert round(q4["estimate"], 3) == 0.205
    prs = Presentation(io.BytesIO(proirri_reports[1]))
    breakdown = next(s for s in prs.slides if slide_text(s).startswith("Where did it work?"))
    assert (
        "No detectable effect on saved by this quarter: the estimate is +20 percentage points"
        in notes_of(breakdown)
    )
    methods = notes_of(prs.slides[-1])
    assert "42 associations" in methods and "3 provinces (Manica, Sofala, Zambezia)" in methods
    assert "Not shown: take-up by arm" in methods  # what does not apply says why
    assert "clustered by association (42 associations)" in methods
    assert "Estimator: Post-only comparison of the arms (ITT, province fixed effects)." in methods
    subtitle = slide_text(prs.slides[0], footer=False)
    assert "households by quarter 4: associations with consultant visits compared with" in subtitle


def test_proirri_endline_view_and_an_outcome_of_another_wave(proirri_arts):
    # the endline survey's outcomes differ from the quarters': an outcome of another wave
    # falls back to the wave's first, with a note
    view, notes = parse_view(proirri_arts.results, "?wave=5&outcome=saved_cumul")
    assert view.method == "post" and view.outcome == "uses_traction"
    assert notes and "not measured at the endline survey" in notes[0]
    content = build_content(proirri_arts, view)
    assert [b.one for b in content.breakdowns] == ["province"]
    assert content.title == "PROIRRI savings study" and content.recommendations == []
    assert content.lead.startswith("By the endline survey, no household outcome improved")
    # the chain names an outcome of the quarters by its label, not its column name
    assert content.indicators["saved_cumul"] == (
        "Saved by this quarter (other wave)",
        "not estimable",
    )


def test_brief_carries_each_recommendations_judgement(brief, rarts):
    from analysis.decide import judge_recommendation

    rows = default_rows(rarts.results)
    text = flat("".join(p.extract_text() for p in brief.pages))
    for rec in rarts.recommendations:
        j = judge_recommendation(rec["outcomes"], rows)
        assert flat(f"{j.label} ({j.n_improved} of {j.n_counted} cited outcomes improved") in text
