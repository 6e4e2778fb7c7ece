"""The slide deck (PPTX, 16:9): one slide per part of the story, the data line on every slide."""

from __future__ import annotations

import io
import math

from analysis.findings import nouns_of
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
    method_labels,
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


class Deck:
    """A 16:9 deck with a title, a provenance footer and a slide number on every slide."""

    W, H = 13.333, 7.5
    MARGIN = 0.45
    FOOTER_H = 0.42

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
            sub = _fit_size([subtitle], w, 0.42, 15, 11)
            self.text(s, m, 1.02, w, 0.42, [subtitle], size=sub, colour="#495057")
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
            lines.append(([(self.c.credit, {"size": 8})], {"space_after": 0}))
        for i, s in enumerate(self.prs.slides, start=1):
            y = self.H - fh
            self.box(s, 0, y, self.W, fh, fill, line)
            self.text(
                s, self.MARGIN, y + 0.03, self.W - 2 * self.MARGIN - 0.8, fh - 0.06,
                lines, size=11, colour=ink, anchor="middle",
            )  # fmt: skip
            self.text(
                s, self.W - self.MARGIN - 0.75, y + 0.03, 0.75, fh - 0.06,
                [([(f"{i} / {total}", {})], {"space_after": 0})], size=11, colour=ink,
                anchor="middle",
            )  # fmt: skip

    # -- the slides
    def title_slide(self):
        c = self.c
        s = self.prs.slides.add_slide(self.blank)
        m = self.MARGIN
        self.box(s, 0, 0, self.W, 3.15, "#1b2a41")
        self.text(s, m + 0.2, 0.55, self.W - 2 * m - 0.4, 1.6, [c.title], size=34, colour="#ffffff")
        self.text(
            s, m + 0.2, 2.2, self.W - 2 * m - 0.4, 0.8, [c.subtitle], size=20, colour="#dbe4f0"
        )
        demo = c.kind not in ("real", "public")
        fill, line = ("#FFF3CD", "#E0A800") if demo else ("#E7F1FF", "#0B5ED7")
        self.box(s, m + 0.2, 3.55, self.W - 2 * m - 0.4, 1.55, fill, line)
        self.text(
            s, m + 0.4, 3.62, self.W - 2 * m - 0.8, 1.45,
            [
                ([("Data provenance", {"bold": True})], {"size": 14}),
                ([(c.label, {"bold": True})], {"size": 20}),
                ([(c.provenance[len(c.label) + 3 :], {})], {"size": 14 if not c.credit else 12}),
                *([([(c.credit, {})], {"size": 11})] if c.credit else []),
            ],
            colour="#3b2f00" if demo else "#0a2a5c",
        )  # fmt: skip
        self.text(
            s, m + 0.2, 5.3, self.W - 2 * m - 0.4, 1.2,
            [c.spec_text, c.programme] if c.programme else [c.spec_text],
            size=13, colour="#495057",
        )  # fmt: skip

    def findings_slide(self):
        c = self.c
        units = nouns_of(c.study).unit.many
        s = self.slide(f"What changed for the {units}", notes=c.spec_text)
        m = self.MARGIN
        paras: list = [([(c.lead, {"bold": True})], {})]
        for f in c.findings:
            paras.append(
                [
                    (VERDICT_SYMBOLS[f.verdict] + " ", {"colour": VERDICT_COLOURS[f.verdict]}),
                    (f"{f.short}: ", {"bold": True}),
                    (f.sentence, {}),
                ]
            )
        if c.nulls:
            paras.append(
                [
                    (VERDICT_SYMBOLS["no detectable effect"] + " ", {"colour": VERDICT_COLOURS["no detectable effect"]}),
                    ("No detectable effect: ", {"bold": True}),
                    (", ".join(f.short for f in c.nulls) + ". These are not shown to be zero: effects "
                     "smaller than the minimum detectable effect could have been missed.", {}),
                ]
            )  # fmt: skip
        for f in c.other:
            paras.append(f.sentence)
        top = 1.15
        h = self.body_bottom - top
        size = _fit_size(_plain(paras), self.W - 2 * m, h, 18, 10)
        self.text(s, m, top, self.W - 2 * m, h, paras, size=size)

    def chain_slide(self):
        c = self.c
        s = self.slide(
            "The results chain: where the programme made a difference",
            f"Indicators marked by what the evaluation found, {_lower_first(c.vs)}",
            notes=c.spec_text,
        )
        m = self.MARGIN
        w, h = self.W - 2 * m, self.body_bottom - self.body_top
        png = figure_png(c, "chain", w, h, 15)
        self.picture(s, png, m, self.body_top, w, h, alt_text(c, "chain"))

    def forest_slide(self):
        c = self.c
        s = self.slide("Effects on every outcome", notes=c.forest_caption)
        m = self.MARGIN
        top = 1.2
        w, h = 8.2, self.body_bottom - top
        png = figure_png(c, "forest", w, h, 12)
        self.picture(s, png, m, top, w, h, alt_text(c, "forest"))
        x = m + w + 0.3
        guide = [
            (
                [
                    (
                        f"{c.vs}; {_lower_first(SCALES[c.view.scale])}",
                        {"bold": True},
                    )
                ],
                {},
            ),
            ([("How to read the chart", {"bold": True})], {}),
            "Each dot is the estimated effect of the programme on one outcome; the bars are its "
            "90% (thick), 95% (medium) and 99% (thin) confidence intervals.",
            "Filled, coloured dots: effects that survive the adjustment for testing many outcomes "
            "at once. Open grey dots: not distinguishable from zero; the grey ticks mark the "
            "minimum detectable effect, below which effects could have been missed.",
            "Diamonds: family indices, one standardised summary per family of outcomes.",
        ]
        gw = self.W - x - m
        gh = 3.9
        size = _fit_size(_plain(guide), gw, gh, 15, 10)
        self.text(s, x, top, gw, gh, guide, size=size)
        rest = self.body_bottom - top - gh - 0.1
        small = _fit_size([c.spec_text], gw, rest, 11, 8)
        self.text(s, x, top + gh + 0.1, gw, rest, [c.spec_text], size=small, colour="#495057")

    def breakdown_slide(self):
        c = self.c
        s = self.slide(f"Where did it work? {c.outcome_short}", notes=c.breakdown_caption)
        m = self.MARGIN
        left_w = 8.4
        sent = _fit_size([c.outcome_sentence], left_w, 0.62, 15, 11)
        self.text(s, m, 1.04, left_w, 0.62, [c.outcome_sentence], size=sent, colour="#212529")
        y = 1.72
        avail = self.body_bottom - y
        bs = c.breakdowns
        if len(bs) == 1:
            heights = [avail]
        else:  # the first (a few groups) as high as it needs, the pooled one the rest
            first = min(avail * 0.45, 0.9 + 0.3 * len(bs[0].rows)) if bs else 0.0
            heights = [first, avail - first - 0.08][: len(bs)]
        for i, ph in enumerate(heights):
            png = figure_png(c, f"breakdown-{i}", left_w, ph, 13)
            self.picture(s, png, m, y, left_w, ph, alt_text(c, f"breakdown-{i}"))
            y += ph + 0.08
        if not bs:
            self.text(
                s,
                m,
                y,
                left_w,
                1,
                [
                    f"The results table has no breakdown of this study's {nouns_of(c.study).unit.many}."
                ],
                size=13,
            )
        x = m + left_w + 0.3
        w = self.W - x - m
        top = 1.1
        self.box(s, x, top, w, self.body_bottom - top, "#f4f6f8", "#ced4da")
        facts: list = [
            ([(c.profile_name, {"bold": True})], {"size": 18, "space_after": 0}),
            ([(c.profile_full_name, {})], {"size": 11, "colour": "#495057"}),
        ]
        facts += [
            ([(f"{k}: ", {"bold": True}), (v, {})], {"size": 12, "space_after": 3})
            for k, v in c.profile_facts
        ]
        facts += [([(c.profile_text, {})], {"size": 11, "space_after": 8})]
        facts += [
            ([(t, {"italic": True})], {"size": 11, "space_after": 4}) for t in c.heterogeneity
        ]
        self.text(s, x + 0.1, top + 0.08, w - 0.2, self.body_bottom - top - 0.16, facts, size=12)

    def recommendations_slide(self):
        c = self.c
        s = self.slide(
            "Recommendations and the evidence behind them",
            f"Evidence: {_lower_first(c.vs)}, {method_labels(c.study).get(c.view.method, c.view.method)}",
            notes="\n\n".join(
                f"{i}. {r.title}: {r.text}" for i, r in enumerate(c.recommendations, 1)
            ),
        )
        m = self.MARGIN
        recs = c.recommendations
        if not recs:
            self.text(s, m, self.body_top, 8, 1, ["No recommendations file was found."])
            return
        per_row = 3
        cells = len(recs) + 1  # and a key to the marks
        rows = math.ceil(cells / per_row)
        gap = 0.2
        top = self.body_top
        cw = (self.W - 2 * m - gap * (per_row - 1)) / per_row
        ch = (self.body_bottom - top - gap * (rows - 1)) / rows
        texts = []
        for i, r in enumerate(recs):
            paras: list = [([(f"{i + 1}. {r.title}", {"bold": True})], {"colour": "#1b2a41"})]
            for e in r.evidence:
                paras.append(
                    [
                        (VERDICT_SYMBOLS[e.verdict] + " ", {"colour": VERDICT_COLOURS[e.verdict]}),
                        (f"{e.short}: ", {"bold": True}),
                        (f"{VERDICT_LABELS[e.verdict].lower()}, ", {"colour": VERDICT_TEXT_COLOURS[e.verdict]}),
                        (e.effect, {}),
                    ]
                )  # fmt: skip
            texts.append(paras)
        key: list = [([("Reading the evidence", {"bold": True})], {"colour": "#1b2a41"})]
        for v in ("improved", "worsened", "no detectable effect"):
            key.append(
                [
                    (VERDICT_SYMBOLS[v] + " ", {"colour": VERDICT_COLOURS[v]}),
                    (VERDICT_LABELS[v], {"bold": True}),
                ]
            )
        key.append(
            "Improved or worsened: the q-value across all outcomes and the p-value are both at "
            "most 0.05. Effects in natural units with 95% confidence intervals. The full text of "
            "each recommendation is in the speaker notes."
        )
        size = min(_fit_size(_plain(p), cw - 0.3, ch - 0.2, 15, 9) for p in [*texts, key])
        for i, paras in enumerate([*texts, key]):
            x = m + (i % per_row) * (cw + gap)
            y = top + (i // per_row) * (ch + gap)
            is_key = i == len(texts)
            self.box(s, x, y, cw, ch, "#f4f6f8" if is_key else "#ffffff", "#adb5bd")
            self.text(s, x + 0.1, y + 0.08, cw - 0.2, ch - 0.16, paras, size=size)

    def methods_slide(self):
        c = self.c
        s = self.slide("Methods and data", notes="\n\n".join(c.methods))
        m = self.MARGIN
        half = (self.W - 2 * m - 0.4) / 2
        top = 1.15
        h = self.body_bottom - top
        # split where the two columns are closest in length
        lengths = [len(p) for p in c.methods]
        split = min(
            range(1, len(lengths)), key=lambda k: abs(sum(lengths[:k]) - sum(lengths[k:]))
        ) if len(lengths) > 1 else 1  # fmt: skip
        cols = [c.methods[:split], c.methods[split:]]
        size = min(_fit_size(col, half, h, 15, 9) for col in cols if col)
        for i, col in enumerate(cols):
            self.text(s, m + i * (half + 0.4), top, half, h, col, size=size)

    def build(self) -> bytes:
        self.title_slide()
        self.findings_slide()
        if self.c.chain.get("nodes"):  # a study without a results-chain file has no chain slide
            self.chain_slide()
        self.forest_slide()
        self.breakdown_slide()
        if self.c.recommendations:  # recommendations are optional (recommendations.yaml)
            self.recommendations_slide()
        self.methods_slide()
        self.footers()
        self.prs.core_properties.title = self.c.title
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
