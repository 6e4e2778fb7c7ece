"""The printable brief (PDF, A4, at most four pages), the data line on every page."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from analysis.decide import JUDGEMENT_RULE
from components.reports.common import MAX_BRIEF_PAGES, typeset
from components.reports.content import Content
from components.reports.render import figure_png
from components.theme import (
    VERDICT_COLOURS,
    VERDICT_LABELS,
    VERDICT_SYMBOLS,
    VERDICT_TEXT_COLOURS,
)
from components.views import (
    SCALES,
)

# ---------------------------------------------------------------- the printed brief

_FONT_CANDIDATES = (
    ("DejaVuSans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    ("DejaVuSans-Bold", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("DejaVuSans-Oblique", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf"),
)
# glyphs the standard PDF fonts lack, for the fallback when DejaVu is not installed
_ASCII = {"−": "-", "≤": "<=", "≥": ">=", "→": "->", "▲": "+", "▼": "-", "●": "o", "±": "+/-"}


def _fonts() -> tuple[str, str, str]:
    """(regular, bold, italic) font names; DejaVu Sans (covers ▲ ▼ ● − ≤) when installed."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if all(Path(p).is_file() for _, p in _FONT_CANDIDATES):
        if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
            for name, path in _FONT_CANDIDATES:
                pdfmetrics.registerFont(TTFont(name, path))
            addMapping("DejaVuSans", 0, 0, "DejaVuSans")
            addMapping("DejaVuSans", 1, 0, "DejaVuSans-Bold")
            addMapping("DejaVuSans", 0, 1, "DejaVuSans-Oblique")
            addMapping("DejaVuSans", 1, 1, "DejaVuSans-Bold")
        return "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"
    return "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"


def build_brief(content: Content) -> bytes:
    """The printable brief (A4, at most four pages) for ``content``, as PDF bytes."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepInFrame,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    c = content
    regular, bold, italic = _fonts()
    plain = regular == "Helvetica"

    def t(text: str) -> str:
        text = escape(typeset(text))
        if plain:
            for k, v in _ASCII.items():
                text = text.replace(k, v)
        return text

    base = ParagraphStyle("base", fontName=regular, fontSize=9, leading=11.5, alignment=TA_LEFT)
    small = ParagraphStyle(
        "small", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#495057")
    )
    h1 = ParagraphStyle(
        "h1",
        parent=base,
        fontName=bold,
        fontSize=17,
        leading=21,
        textColor=colors.HexColor("#1b2a41"),
    )
    h2 = ParagraphStyle(
        "h2",
        parent=base,
        fontName=bold,
        fontSize=12,
        leading=15,
        spaceBefore=4,
        spaceAfter=3,
        textColor=colors.HexColor("#1b2a41"),
    )
    bullet = ParagraphStyle(
        "bullet", parent=base, fontSize=8.5, leading=10.8, leftIndent=10, spaceAfter=2
    )
    lead = ParagraphStyle("lead", parent=base, fontSize=9.5, leading=12.5, spaceAfter=4)  # fmt: skip

    page_w, page_h = A4
    margin = 15 * mm
    from reportlab.lib.utils import simpleSplit

    top_gap = 12 * mm
    # public or real data: the band also carries the citation and licence, wrapped
    credit_lines = simpleSplit(t(c.credit).replace("&amp;", "&"), regular, 6.5, page_w - 2 * 15 * mm) if c.credit else []  # fmt: skip
    band_h = 11 * mm + len(credit_lines) * 2.8 * mm
    foot_gap = band_h + 3 * mm
    frame_w = page_w - 2 * margin - 12  # the frame's own padding, 6 pt a side
    frame_h = page_h - top_gap - foot_gap - 12  # the frame's own padding
    demo = c.kind not in ("real", "public")
    band_fill = colors.HexColor("#FFF3CD" if demo else "#E7F1FF")
    band_line = colors.HexColor("#E0A800" if demo else "#0B5ED7")

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFillColor(band_fill)
        canvas.setStrokeColor(band_line)
        canvas.rect(-1, -1, page_w + 2, band_h + 1, stroke=1, fill=1)
        canvas.setFillColor(colors.HexColor("#3b2f00" if demo else "#0a2a5c"))
        label = typeset(c.label) if not plain else t(c.label).replace("&amp;", "&")
        rest = c.provenance[len(c.label) :].strip(" ·")
        up = len(credit_lines) * 2.8 * mm
        canvas.setFont(bold, 8)
        canvas.drawString(margin, up + 6.2 * mm, label)
        canvas.setFont(regular, 7)
        canvas.drawString(margin, up + 2.6 * mm, t(rest).replace("&amp;", "&"))
        canvas.setFont(regular, 6.5)
        for k, text in enumerate(credit_lines):
            canvas.drawString(margin, up - (k + 1) * 2.8 * mm + 0.8 * mm, text)
        canvas.setFillColor(colors.HexColor("#6c757d"))
        canvas.setFont(regular, 7)
        canvas.drawString(margin, page_h - 8 * mm, t(c.title).replace("&amp;", "&")[:120])
        canvas.drawRightString(
            page_w - margin, page_h - 8 * mm, f"Page {doc.page} of {MAX_BRIEF_PAGES}"
        )
        canvas.restoreState()

    def img(which: str, w_pt: float, h_pt: float, font: int) -> Image:
        png = figure_png(c, which, w_pt / 72, h_pt / 72, font)
        im = Image(io.BytesIO(png), width=w_pt, height=h_pt)
        im.hAlign = "LEFT"
        return im

    def verdict_mark(v: str) -> str:
        sym = _ASCII.get(VERDICT_SYMBOLS[v], VERDICT_SYMBOLS[v]) if plain else VERDICT_SYMBOLS[v]
        return f'<font color="{VERDICT_COLOURS[v]}">{sym}</font>'

    def page(flowables: list) -> KeepInFrame:
        return KeepInFrame(frame_w, frame_h, flowables, mode="shrink")

    # page 1: title, provenance, headline findings, results chain
    prov = Table(
        [
            [
                Paragraph(
                    f"<b>{t(c.label)}</b><br/>{t(c.provenance[len(c.label) + 3 :])}"
                    + (f"<br/>{t(c.credit)}" if c.credit else ""),
                    base,
                )
            ]
        ],
        colWidths=[frame_w],
    )
    prov.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), band_fill),
                ("BOX", (0, 0), (-1, -1), 1, band_line),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    p1: list = [
        Paragraph(t(c.title), h1),
        Paragraph(t(c.subtitle), ParagraphStyle("sub", parent=base, fontSize=11, leading=14, textColor=colors.HexColor("#495057"))),
        Spacer(1, 5),
        prov,
        Spacer(1, 6),
        Paragraph("Headline findings", h2),
        Paragraph(f"<b>{t(c.lead)}</b>", lead),
    ]  # fmt: skip
    for f in c.findings:
        p1.append(
            Paragraph(f"{verdict_mark(f.verdict)} <b>{t(f.short)}:</b> {t(f.sentence)}", bullet)
        )
    if c.nulls:
        p1.append(
            Paragraph(
                f"{verdict_mark('no detectable effect')} <b>No detectable effect:</b> "
                f"{t(', '.join(f.short for f in c.nulls))}. These are not shown to be zero: effects "
                "smaller than the minimum detectable effect could have been missed.",
                bullet,
            )
        )
    for f in c.other:
        p1.append(Paragraph(t(f.sentence), bullet))
    # the chain takes the rest of the first page (a study without a chain file has none)
    if c.chain.get("nodes"):
        used = sum(f.wrap(frame_w, frame_h)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in p1)  # noqa: E501
        heading = Paragraph("The results chain", h2)
        used += (
            heading.wrap(frame_w, frame_h)[1] + heading.getSpaceBefore() + heading.getSpaceAfter()
        )
        chain_h = max(200.0, frame_h - used - 12)
        p1 += [Spacer(1, 4), heading, img("chain", frame_w, chain_h, 10)]

    # page 2: every outcome; the forest plot takes what the words leave
    def height(flowables: list) -> float:
        return sum(
            f.wrap(frame_w, frame_h)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in flowables
        )

    head2 = [
        Paragraph("Effects on every outcome", h2),
        Paragraph(t(f"{c.vs} · {SCALES[c.view.scale]}"), small),
        Spacer(1, 4),
    ]
    tail2: list = [Spacer(1, 4), Paragraph(t(c.forest_caption), small)]
    if c.nulls:
        tail2 += [Spacer(1, 6), Paragraph("The other outcomes, in words", h2)]
        tail2 += [
            Paragraph(f"{verdict_mark(f.verdict)} <b>{t(f.short)}:</b> {t(f.sentence)}", ParagraphStyle("b2", parent=bullet, fontSize=8, leading=10))
            for f in c.nulls
        ]  # fmt: skip
    forest_h = min(560.0, max(380.0, frame_h - height(head2) - height(tail2) - 8))
    p2: list = [*head2, img("forest", frame_w, forest_h, 11), *tail2]

    # page 3: where it worked, next to the MFI profile
    left_w = frame_w * 0.64
    right_w = frame_w - left_w - 8
    left: list = [
        Paragraph(t(c.outcome_sentence), base),
        Spacer(1, 4),
    ]
    for i, b in enumerate(c.breakdowns):
        h = min(420.0, 130.0 + 40.0 * len(b.rows)) if b.pooled else 100.0 + 20.0 * len(b.rows)
        left += [
            Paragraph(f"By {t(b.one)}", ParagraphStyle(f"h3{i}", parent=base, fontName=bold)),
            img(f"breakdown-{i}", left_w, h, 10),
            Spacer(1, 4),
        ]
    left += [
        Paragraph(t(c.breakdown_caption), small),
    ]
    left += [Paragraph(t(s), ParagraphStyle("het", parent=base, fontName=italic, fontSize=8.5, leading=11)) for s in c.heterogeneity]  # fmt: skip
    right: list = [
        Paragraph(f"<b>{t(c.profile_name)}</b>", ParagraphStyle("pn", parent=base, fontSize=13, leading=16)),
        Paragraph(t(c.profile_full_name), small),
        Spacer(1, 4),
    ]  # fmt: skip
    right += [Paragraph(f"<b>{t(k)}:</b> {t(v)}", ParagraphStyle("pf", parent=base, fontSize=8.5, leading=11, spaceAfter=2)) for k, v in c.profile_facts]  # fmt: skip
    right += [Spacer(1, 4), Paragraph(t(c.profile_text), ParagraphStyle("pt", parent=base, fontSize=8, leading=10.5))]  # fmt: skip
    grid = Table([[left, right]], colWidths=[left_w + 8, right_w])
    grid.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (1, 0), (1, 0), colors.HexColor("#f4f6f8")),
                ("BOX", (1, 0), (1, 0), 0.75, colors.HexColor("#ced4da")),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 8),
                ("LEFTPADDING", (1, 0), (1, 0), 6),
                ("RIGHTPADDING", (1, 0), (1, 0), 6),
                ("TOPPADDING", (1, 0), (1, 0), 6),
            ]
        )
    )
    p3: list = [
        Paragraph(
            t(
                f"Where did it work? {c.outcome_short} by {' and '.join(b.one for b in c.breakdowns)}"
            )
            if c.breakdowns
            else t(f"Where did it work? {c.outcome_short}"),
            h2,
        ),
        grid,
    ]

    # page 4: recommendations with their evidence; methods
    p4: list = (
        [Paragraph("Recommendations and the evidence behind them", h2)] if c.recommendations else []
    )
    ev_style = ParagraphStyle("ev", parent=base, fontSize=8.5, leading=11, leftIndent=10)
    if c.recommendations:
        p4.append(Paragraph(t(JUDGEMENT_RULE), ParagraphStyle("rule", parent=base, fontSize=8, leading=10.5, textColor="#495057", spaceAfter=2)))  # fmt: skip
    for i, r in enumerate(c.recommendations, start=1):
        j = (
            r.judgement
        )  # analysis.decide.JUDGEMENT_RULE, stated on the Overview and in the deck's notes
        judged = (
            f" <i>{t(j.label)} ({j.n_improved} of {j.n_counted} cited outcomes improved"
            f"{'; rests mostly on no detectable effect' if j.mostly_null else ''}).</i>"
            if j is not None and j.judgement
            else ""
        )
        p4.append(Paragraph(f"<b>{i}. {t(r.title)}.</b>{judged} {t(r.text)}", ParagraphStyle("rec", parent=base, spaceBefore=3, spaceAfter=1)))  # fmt: skip
        for e in r.evidence:
            p4.append(
                Paragraph(
                    f"{verdict_mark(e.verdict)} <b>{t(e.short)}:</b> "
                    f'<font color="{VERDICT_TEXT_COLOURS[e.verdict]}">{t(VERDICT_LABELS[e.verdict].lower())}</font>, '
                    f"{t(e.effect)}",
                    ev_style,
                )
            )
    p4 += [Spacer(1, 6), Paragraph("Methods and data", h2)]
    p4 += [Paragraph(t(m), ParagraphStyle("m", parent=base, fontSize=8, leading=10.5, spaceAfter=3)) for m in c.methods]  # fmt: skip

    story = []
    for i, pg in enumerate((p1, p2, p3, p4)):
        if i:
            story.append(PageBreak())
        story.append(page(pg))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=top_gap,
        bottomMargin=foot_gap,
        title=c.title,
        subject=c.label,
        author=(c.study.institution if c.study is not None else "Impact dashboard"),
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()
