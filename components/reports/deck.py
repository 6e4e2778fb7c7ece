"""The slide deck (PPTX, 16:9): one slide per part of the story, the data line on every slide."""

from __future__ import annotations

import io
import math

from analysis.decide import JUDGEMENT_RULE
from analysis.findings import nouns_of
from components.decide import JUDGEMENT_STYLE
from components.reports.common import _lower_first, typeset
from components.reports.content import Content
from components.reports.render import alt_text, figure_png
from components.theme import (
    VERDICT_COLOURS,
    VERDICT_LABELS,
    VERDICT_SYMBOLS,
    VERDICT_TEXT_COLOURS,
)
from components.views import (
    SCALES,
)

# ---------------------------------------------------------------- the slide deck


def _rgb(hex_colour: str):
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def _fit_size(paragraphs: list[str], width_in: float, height_in: float, top: int, low: int) -> int:
    """The largest font (pt) between ``low`` and ``top`` at which the text fits the box.

    An estimate (average glyph 0.56 em, line 1.22 em, paragraph gap 0.5 em), made
    generous so that the text fits in PowerPoint (Calibri) and LibreOffice (whose
    fallback fonts are wider) alike.
    """
    for size in range(top, low - 1, -1):
        per_line = max(10, int(width_in * 72 / (size * 0.56)))
        lines = sum(max(1, math.ceil(len(p) / per_line)) for p in paragraphs)
        need = (lines * 1.22 + len(paragraphs) * 0.5) * size / 72
        if need <= height_in:
            return size
    return low


BODY_MIN_PT = 18  # nothing in a slide's body is smaller: it must read when projected
FOOTER = "Provenance footer"  # shape name of the footer (a label at 14 pt, not body text)
MAX_LINES = 6  # lines of text on a text slide; the rest goes to the speaker notes
GLYPH_EM = 0.55  # average glyph width (em) used to estimate wrapping, generous for LibreOffice


def lines_needed(paragraphs: list[str], width_in: float, size: float) -> int:
    """How many lines ``paragraphs`` wrap to in a box ``width_in`` wide at ``size`` pt."""
    per_line = max(10, int(width_in * 72 / (size * GLYPH_EM)))
    return sum(max(1, math.ceil(len(p) / per_line)) for p in paragraphs)


def fit_lines(
    paragraphs: list, width_in: float, *, top: int = 24, budget: int = MAX_LINES
) -> tuple[list, int]:
    """The paragraphs that fit ``budget`` lines at the largest size from ``top`` down to
    :data:`BODY_MIN_PT`, and that size; paragraphs that do not fit at 18 pt are dropped
    from the end (the caller puts everything in the speaker notes)."""
    keep = list(paragraphs)
    while keep:
        for size in range(top, BODY_MIN_PT - 1, -1):
            if lines_needed(_plain(keep), width_in, size) <= budget:
                return keep, size
        keep = keep[:-1]
    return [], BODY_MIN_PT


FOREST_FONT_PX = 20  # the every-outcome forest's labels: 20 CSS px = 15 pt on the slide
FOREST_LINE = 1.3  # a label line's height (em) the forest must leave each row


def forest_parts(rows, height_px: float, font_px: float = FOREST_FONT_PX) -> list[list]:
    """The families of ``rows`` (the forest's, in plot order) split over as few slides as let
    every label stand at ``font_px``: a family takes its header, its rows (a wrapped label
    its lines) and a gap; about 5 em of the height go to the x axis and the plot's padding
    (the legend stands at the side)."""
    from components.display import wrap_label

    units: dict = {}
    for fam, sub in rows.groupby("family", sort=False):
        lines = sum(wrap_label(s, 34).count("<br>") + 1 for s in sub["short"].astype(str))
        units[fam] = 1 + lines + 0.4
    cap = max(1.0, (height_px - 5 * font_px) / (FOREST_LINE * font_px))
    total = sum(units.values())
    for k in range(max(1, math.ceil(total / cap)), len(units) + 1):
        parts: list[list] = [[]]
        used = done = 0.0  # units in the open part; in the closed ones
        for fam, u in units.items():
            # a new part when this family overfills the open one or its middle passes the
            # open part's even share of the whole
            if parts[-1] and (used + u > cap or done + used + u / 2 > total * len(parts) / k):
                parts.append([])
                done, used = done + used, 0.0
            parts[-1].append(fam)
            used += u
        if len(parts) <= k:
            return parts
    return [[f] for f in units]


class Deck:
    """A 16:9 deck with a title, a provenance footer and a slide number on every slide."""

    W, H = 13.333, 7.5
    MARGIN = 0.45
    FOOTER_H = 0.62

    def __init__(self, content: Content):
        from pptx import Presentation
        from pptx.util import Inches

        self.c = content
        self.prs = Presentation()
        self.prs.slide_width = Inches(self.W)
        self.prs.slide_height = Inches(self.H)
        self.blank = self.prs.slide_layouts[6]
        self.body_top = 1.45
        # public or real data: a second footer line carries the citation and licence
        self.footer_h = self.FOOTER_H + (0.36 if content.credit else 0.0)
        self.body_bottom = self.H - self.footer_h - 0.12

    # -- pieces
    def text(self, slide, x, y, w, h, paragraphs, *, size=16, colour="#212529", anchor="top"):
        """A text box.  Each paragraph is a str, a list of runs [(text, options)], or
        (runs, paragraph options); options: bold, italic, colour, size, space_after."""
        from pptx.enum.text import MSO_ANCHOR
        from pptx.util import Inches, Pt

        box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        tf = box.text_frame
        tf.word_wrap = True
        tf.margin_left = tf.margin_right = Inches(0.05)
        tf.margin_top = tf.margin_bottom = Inches(0.03)
        tf.vertical_anchor = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE}[anchor]
        for i, para in enumerate(paragraphs):
            if isinstance(para, str):
                runs, opts = [(para, {})], {}
            elif isinstance(para, tuple):
                runs, opts = para
            else:
                runs, opts = para, {}
            p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            p.space_after = Pt(opts.get("space_after", size * 0.45))
            for text, ro in runs:
                r = p.add_run()
                r.text = typeset(text)
                r.font.size = Pt(ro.get("size", opts.get("size", size)))
                r.font.bold = ro.get("bold", opts.get("bold", False))
                r.font.italic = ro.get("italic", False)
                r.font.color.rgb = _rgb(ro.get("colour", opts.get("colour", colour)))
        return box

    def picture(self, slide, png: bytes, x, y, w, h, alt: str):
        from pptx.util import Inches

        pic = slide.shapes.add_picture(io.BytesIO(png), Inches(x), Inches(y), Inches(w), Inches(h))
        pic._element.nvPicPr.cNvPr.set("descr", alt)  # alternative text for screen readers
        return pic

    def box(self, slide, x, y, w, h, fill: str, line: str | None = None):
        from pptx.enum.shapes import MSO_SHAPE
        from pptx.util import Inches, Pt

        shp = slide.shapes.add_shape(
            MSO_SHAPE.RECTANGLE, Inches(x), Inches(y), Inches(w), Inches(h)
        )
        shp.fill.solid()
        shp.fill.fore_color.rgb = _rgb(fill)
        if line:
            shp.line.color.rgb = _rgb(line)
            shp.line.width = Pt(1.25)
        else:
            shp.line.fill.background()
        shp.shadow.inherit = False
        return shp

    def slide(self, title: str, subtitle: str | None = None, notes: str | None = None):
        s = self.prs.slides.add_slide(self.blank)
        m = self.MARGIN
        w = self.W - 2 * m
        size = next((z for z in range(28, 17, -1) if len(title) * z * 0.5 <= w * 72), 18)
        self.text(s, m, 0.25, w, 0.66, [title], size=size, colour="#1b2a41", anchor="middle")
        self.box(s, m, 0.95, 1.2, 0.05, "#0072B2")
        if subtitle:
            self.text(s, m, 1.0, w, 0.45, [subtitle], size=BODY_MIN_PT, colour="#495057")
        if notes:
            s.notes_slide.notes_text_frame.text = typeset(notes)
        return s

    def footers(self):
        """The provenance label and the slide number on every slide (after all are added)."""
        demo = self.c.kind not in ("real", "public")
        fill, line, ink = (
            ("#FFF3CD", "#E0A800", "#3b2f00") if demo else ("#E7F1FF", "#0B5ED7", "#0a2a5c")
        )
        total = len(self.prs.slides)
        rest = self.c.provenance[len(self.c.label) :]
        fh = self.footer_h
        lines = [([(self.c.label, {"bold": True}), (rest, {})], {"space_after": 0})]
        if self.c.credit:
            lines.append(([(self.c.credit, {"size": 12})], {"space_after": 0}))
        for i, s in enumerate(self.prs.slides, start=1):
            y = self.H - fh
            self.box(s, 0, y, self.W, fh, fill, line).name = FOOTER
            self.text(
                s, self.MARGIN, y + 0.03, self.W - 2 * self.MARGIN - 0.8, fh - 0.06,
                lines, size=14, colour=ink, anchor="middle",
            ).name = FOOTER  # fmt: skip
            self.text(
                s, self.W - self.MARGIN - 0.75, y + 0.03, 0.75, fh - 0.06,
                [([(f"{i} / {total}", {})], {"space_after": 0})], size=14, colour=ink,
                anchor="middle",
            ).name = FOOTER  # fmt: skip

    # -- the slides
    def body(self, s, paras: list, *, x=None, y=None, w=None, h=None, top=24, notes_extra=""):
        """Body text at >= 18 pt within :data:`MAX_LINES` lines; what does not fit is left to
        the speaker notes (``notes_extra`` says so there)."""
        m = self.MARGIN
        x = m if x is None else x
        y = self.body_top if y is None else y
        w = self.W - 2 * m if w is None else w
        h = self.body_bottom - y if h is None else h
        keep, size = fit_lines(paras, w - 0.1, top=top)
        self.text(s, x, y, w, h, keep, size=size)
        return keep

    def title_slide(self):
        c = self.c
        s = self.prs.slides.add_slide(self.blank)
        m = self.MARGIN
        self.box(s, 0, 0, self.W, 3.3, "#1b2a41")
        self.text(s, m + 0.2, 0.45, self.W - 2 * m - 0.4, 1.3, [c.title], size=36, colour="#ffffff")
        self.text(
            s, m + 0.2, 1.75, self.W - 2 * m - 0.4, 1.4, [c.view_name or c.subtitle], size=24,
            colour="#dbe4f0",
        )  # fmt: skip
        demo = c.kind not in ("real", "public")
        fill, line = ("#FFF3CD", "#E0A800") if demo else ("#E7F1FF", "#0B5ED7")
        self.box(s, m + 0.2, 3.65, self.W - 2 * m - 0.4, 1.5, fill, line)
        self.text(
            s, m + 0.4, 3.72, self.W - 2 * m - 0.8, 1.4,
            [([(c.label, {"bold": True})], {"size": 22}), ([(c.subtitle, {})], {"size": 18})],
            colour="#3b2f00" if demo else "#0a2a5c",
        )  # fmt: skip
        if c.programme:
            self.text(
                s, m + 0.2, 5.35, self.W - 2 * m - 0.4, 0.9, [c.programme], size=18,
                colour="#495057",
            )  # fmt: skip
        s.notes_slide.notes_text_frame.text = typeset(
            "\n\n".join(x for x in (c.spec_text, c.provenance, c.credit) if x)
        )

    def findings_slide(self):
        c = self.c
        units = nouns_of(c.study).unit
        improved = [f for f in c.findings if f.verdict == "improved"]
        worsened = [f for f in c.findings if f.verdict == "worsened"]
        n_out = len(c.findings) + len(c.nulls) + len(c.other)
        notes = [c.lead, *(f"{f.short}: {f.sentence}" for f in c.findings)]
        if c.nulls:
            notes.append(
                "No detectable effect: " + " ".join(f"{f.short}: {f.sentence}" for f in c.nulls)
            )
        notes += [f.sentence for f in c.other]
        s = self.slide(
            f"Did it work? {len(improved)} of {n_out} {units.one} outcomes improved",
            c.vs,
            notes="\n\n".join(notes),
        )

        def mark(v: str, head: str, names: list[str]):
            return [
                (VERDICT_SYMBOLS[v] + " ", {"colour": VERDICT_COLOURS[v]}),
                (head, {"bold": True, "colour": VERDICT_TEXT_COLOURS[v]}),
                (", ".join(n.lower() for n in names) if names else "none", {}),
            ]

        paras: list = [mark("improved", "Improved: ", [f.short for f in improved])]
        paras.append(mark("worsened", "Worsened: ", [f.short for f in worsened]))
        if c.nulls:
            paras.append(
                mark("no detectable effect", "No detectable effect: ", [f.short for f in c.nulls])
            )
            paras.append(
                "No detectable effect is not proof of no effect: smaller effects could be missed."
            )
        paras.append(
            (
                [
                    (
                        "Every effect, in words and numbers, is in the speaker notes.",
                        {"italic": True},
                    )
                ],
                {},
            )
        )
        self.body(s, paras)

    def chain_slide(self):
        c = self.c
        s = self.slide(
            "The results chain: where the programme made a difference",
            f"Indicators marked by what the evaluation found, {_lower_first(c.vs)}",
            notes="\n\n".join([c.spec_text, *c.chain_notes.values()]),
        )
        m = self.MARGIN
        top = self.body_top + 0.05
        w, h = self.W - 2 * m, self.body_bottom - top
        png = figure_png(c, "chain", w, h, 18)
        self.picture(s, png, m, top, w, h, alt_text(c, "chain"))

    def forest_slide(self, which: str = "forest"):
        """The family indices on one slide (``forest-families``, projected large), or every
        outcome (``forest``), split by family over as many slides as keep its labels at
        :data:`FOREST_FONT_PX` (15 pt), all on one x range."""
        c = self.c
        m = self.MARGIN
        top = self.body_top + 0.05
        w, h = self.W - 2 * m, self.body_bottom - top
        if which == "forest-families":
            parts, font = [None], 22
        else:
            parts, font = forest_parts(c.forest_rows, h * 96), FOREST_FONT_PX
        scale = _lower_first(SCALES[c.view.scale]).split(" (")[0]
        for i, families in enumerate(parts, start=1):
            title = {
                "forest": "Effects on every outcome",
                "forest-families": "Effects on each family of outcomes",
            }[which]
            if len(parts) > 1:
                title += f" ({i} of {len(parts)})"
            s = self.slide(
                title,
                f"{c.vs}; {scale}, "
                + (
                    "improvement to the right"
                    if c.view.direction == "improvement"
                    else "as estimated (programme minus comparison)"
                ),
                notes="\n\n".join(
                    [
                        c.forest_caption,
                        "How to read the chart: each marker is the estimated effect of the programme on "
                        "one outcome; the bars are its 90% (thick), 95% (medium) and 99% (thin) "
                        "confidence intervals. Filled, coloured markers: effects that survive the "
                        "adjustment for testing many outcomes at once. Open grey markers: not "
                        "distinguishable from zero; the grey ticks mark the minimum detectable effect. "
                        "Larger markers: family indices, one standardised summary per family of outcomes.",
                        c.spec_text,
                    ]
                ),
            )
            png = figure_png(c, which, w, h, font, families)
            self.picture(s, png, m, top, w, h, alt_text(c, which, families))

    def breakdown_slide(self):
        c = self.c
        s = self.slide(
            f"Where did it work? {c.outcome_short}",
            c.where[-1] if c.where else None,
            notes="\n\n".join(
                [c.outcome_sentence, *c.where_full, *c.heterogeneity, c.breakdown_caption]
            ),
        )
        m = self.MARGIN
        top = self.body_top + 0.05
        bs = c.breakdowns
        avail = self.body_bottom - top
        w = self.W - 2 * m
        if not bs:
            self.body(
                s,
                [
                    f"The results table has no breakdown of this study's {nouns_of(c.study).unit.many}."
                ],
            )
            return
        if len(bs) == 1:
            boxes = [(m, w)]
        else:  # side by side: the few groups narrow, the pooled one wide
            first = w * 0.36
            boxes = [(m, first), (m + first + 0.15, w - first - 0.15)]
        for i, (x, bw) in enumerate(boxes[: len(bs)]):
            png = figure_png(c, f"breakdown-{i}", bw, avail, 20)
            self.picture(s, png, x, top, bw, avail, alt_text(c, f"breakdown-{i}"))

    def profile_slide(self):
        c = self.c
        s = self.slide(
            f"About {c.profile_name}",
            f"Figures as of: {c.profile_as_of}" if c.profile_as_of else c.profile_full_name,
            notes="\n\n".join(x for x in (c.profile_full_name, c.profile_text) if x),
        )
        m = self.MARGIN
        half = (self.W - 2 * m - 0.4) / 2
        facts = [[(f"{k}: ", {"bold": True}), (v, {})] for k, v in c.profile_facts]
        cols = [facts[: math.ceil(len(facts) / 2)], facts[math.ceil(len(facts) / 2) :]]
        for i, col in enumerate(cols):
            if col:
                self.body(s, col, x=m + i * (half + 0.4), w=half, top=24)

    def recommendations_slide(self):
        c = self.c
        notes = []
        for i, r in enumerate(c.recommendations, 1):
            ev = "; ".join(
                f"{e.short}: {VERDICT_LABELS[e.verdict].lower()}, {e.effect}" for e in r.evidence
            )
            j = r.judgement
            why = f"{j.label}. {j.because()}" if j is not None else ""
            notes.append(f"{i}. {r.title}: {r.text}\n{why}\nEvidence: {ev}")
        notes.append(JUDGEMENT_RULE)
        s = self.slide(
            "Recommendations: what these results say",
            "Supported, mixed or not supported by these results: judged from the outcomes each cites",
            notes="\n\n".join(notes),
        )
        m = self.MARGIN
        recs = c.recommendations
        if not recs:
            self.body(s, ["No recommendations file was found."])
            return
        label_w = 2.9
        top = self.body_top + 0.1
        row_h = min(0.85, (self.body_bottom - top) / max(1, len(recs[:MAX_LINES])))
        for i, r in enumerate(recs[:MAX_LINES]):
            j = r.judgement
            sym, verdict = JUDGEMENT_STYLE.get(j.judgement if j else "", ("–", "not estimable"))
            y = top + i * row_h
            word = j.judgement.capitalize() if j and j.judgement else "No evidence"
            label = word + (" *" if j and j.mostly_null else "")
            self.text(
                s, m, y, label_w, row_h,
                [[(sym + " ", {"colour": VERDICT_COLOURS[verdict]}),
                  (label, {"bold": True, "colour": VERDICT_TEXT_COLOURS[verdict]})]],
                size=BODY_MIN_PT,
            )  # fmt: skip
            self.text(
                s, m + label_w, y, self.W - 2 * m - label_w, row_h,
                [f"{i + 1}. {r.title}"], size=BODY_MIN_PT,
            )  # fmt: skip
        if any(r.judgement and r.judgement.mostly_null for r in recs):
            self.text(
                s, m, top + len(recs[:MAX_LINES]) * row_h, self.W - 2 * m, 0.5,
                [([("* rests mostly on no detectable effect (not proof of no effect)",
                    {"italic": True})], {})],
                size=BODY_MIN_PT, colour="#495057",
            )  # fmt: skip

    def methods_slide(self):
        c = self.c
        s = self.slide("Methods and data", c.view_name, notes="\n\n".join(c.methods))
        paras = [p.split(". ")[0].rstrip(".") + "." for p in c.methods]
        self.body(s, paras, top=20)

    def build(self) -> bytes:
        self.title_slide()
        self.findings_slide()
        if self.c.chain.get("nodes"):  # a study without a results-chain file has no chain slide
            self.chain_slide()
        if self.c.forest_rows["is_index"].astype(bool).any():
            self.forest_slide("forest-families")
        self.forest_slide()
        self.breakdown_slide()
        if self.c.profile_facts:
            self.profile_slide()
        if self.c.recommendations:  # recommendations are optional (recommendations.yaml)
            self.recommendations_slide()
        self.methods_slide()
        self.footers()
        self.prs.core_properties.title = (
            f"{self.c.title}: {self.c.view_name}" if self.c.view_name else self.c.title
        )
        self.prs.core_properties.subject = self.c.label
        buf = io.BytesIO()
        self.prs.save(buf)
        return buf.getvalue()


def _plain(paras: list) -> list[str]:
    """The text of text-box paragraphs (for sizing)."""
    out = []
    for p in paras:
        if isinstance(p, str):
            out.append(p)
        else:
            runs = p[0] if isinstance(p, tuple) else p
            out.append("".join(t for t, _ in runs))
    return out


def build_deck(content: Content) -> bytes:
    """The PPTX deck for ``content``, as bytes."""
    return Deck(content).build()
