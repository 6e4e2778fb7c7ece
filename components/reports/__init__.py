"""Outputs for presenting: a slide deck (PPTX) and a printable brief (PDF) of one view.

One module per part: :mod:`~components.reports.common` (the view, file name and study),
:mod:`~components.reports.content` (what both outputs say),
:mod:`~components.reports.render` (figures to PNG), :mod:`~components.reports.deck` and
:mod:`~components.reports.brief`; this module makes either for a view, with a cache.

Pure: no Dash server is needed.  The content comes from the results table (through
the same row selection, sentence generator and figure builders as the pages), the
diagnostics, the manifests and the ``data/`` files; nothing is typed in by hand.
Figures are rendered to PNG by kaleido, which drives the OS's Chromium.

Command line (``make report`` runs it for the default view)::

    python -m components.reports --out reports [--view "?wave=1&method=ancova"]
        [--study ID] [--build DIR] [--data DIR] [--formats pptx,pdf]

Example
-------
>>> import pandas as pd
>>> params = view_params(pd.DataFrame({
...     "method": ["did"], "inference": ["wild"], "wave": [2], "outcome": ["x"],
...     "sample_type": ["all"], "sample": ["All clients"], "wave_label": ["Endline"]}))
>>> [p.name for p in params]  # no breakdown with pooled groups, so no 'branches' filter
['method', 'wave', 'inference', 'scale', 'level', 'mt', 'outcome']
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.artifacts import Artifacts, load_artifacts
from analysis.paths import build_dir
from analysis.study import Study, StudyError, load_study
from components.reports.brief import build_brief
from components.reports.common import (
    MAX_BRIEF_PAGES,
    PDF_MIME,
    PPTX_MIME,
    ReportError,
    ReportView,
    breakdown_dims,
    filter_dim,
    parse_view,
    report_filename,
    study_of,
    typeset,
    untypeset,
    view_params,
)
from components.reports.content import (
    Breakdown,
    Content,
    build_content,
    effect_line,
    study_files,
)
from components.reports.deck import Deck, build_deck
from components.reports.render import alt_text, figure, figure_png, render_png

__all__ = [
    "MAX_BRIEF_PAGES",
    "PDF_MIME",
    "PPTX_MIME",
    "Breakdown",
    "Content",
    "Deck",
    "ReportError",
    "ReportView",
    "alt_text",
    "breakdown_dims",
    "build_brief",
    "build_content",
    "build_deck",
    "effect_line",
    "figure",
    "figure_png",
    "filter_dim",
    "main",
    "make_report",
    "parse_view",
    "render_png",
    "report_filename",
    "study_files",
    "study_of",
    "typeset",
    "untypeset",
    "view_params",
]

# ---------------------------------------------------------------- entry points

_CACHE: dict[tuple, bytes] = {}
_CACHE_LOCK = threading.Lock()


def make_report(
    arts: Artifacts,
    kind: str,
    query: str | Mapping[str, Any] | None = None,
    *,
    study: Study | None = None,
) -> tuple[str, bytes, list[str]]:
    """(file name, bytes, notes) of the ``kind`` (``pptx`` or ``pdf``) report for a view.

    The report speaks of ``study`` (default: :func:`study_of` the artefacts and link);
    its file name starts with the study's id.

    The last few reports are kept in memory, keyed by the results' fingerprint and
    the view, so a second click does not render again.
    """
    if kind not in ("pptx", "pdf"):
        raise ValueError(f"unknown report kind {kind!r}")
    if not arts.ok or arts.results is None:
        raise ReportError(
            "The results cannot be shown: "
            + " ".join(p.message for p in arts.problems if p.blocking)
        )
    view, notes = parse_view(arts.results, query)
    study = study_of(arts, query, study)
    key = (
        kind,
        study.id if study is not None else None,
        arts.results_manifest.get("panel_sha256"),
        arts.results_manifest.get("built_at"),
        str(arts.build_path),
        view,
    )
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        content = build_content(arts, view, study)
        hit = build_deck(content) if kind == "pptx" else build_brief(content)
        with _CACHE_LOCK:
            if len(_CACHE) >= 8:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = hit
    return report_filename(view, arts.results, kind, study), hit, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m components.reports",
        description="Write the slide deck (PPTX) and the printable brief (PDF) of one dashboard view.",
    )
    ap.add_argument("--out", default="reports", help="output folder (default: reports)")
    ap.add_argument(
        "--view",
        default="",
        help="the view as a dashboard query string, e.g. '?wave=1&method=ancova' (default view if empty)",
    )
    ap.add_argument("--build", default=None, help="folder with the built artefacts (AMK_BUILD_DIR)")
    ap.add_argument("--data", default=None, help="folder with the MFI's data files (AMK_DATA_DIR)")
    ap.add_argument("--formats", default="pptx,pdf", help="comma-separated: pptx, pdf")
    ap.add_argument(
        "--study",
        default=None,
        help="a shipped study's id (data/studies/<id>/; its artefacts in build/<id>/ unless --build)",
    )
    args = ap.parse_args(argv)
    study = None
    if args.study is not None:
        try:
            study = load_study(args.study)
        except StudyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.build is None and (build_dir() / study.id).is_dir():
            args.build = str(build_dir() / study.id)
        if args.data is None:
            args.data = str(study.folder)
    arts = load_artifacts(args.build, args.data)
    if not arts.ok:
        for p in arts.problems:
            print(f"error: {p.message}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kinds = [k.strip() for k in args.formats.split(",") if k.strip()]
    bad = [k for k in kinds if k not in ("pptx", "pdf")]
    if bad:
        print(f"error: unknown format(s) {', '.join(bad)} (use pptx, pdf)", file=sys.stderr)
        return 2
    try:
        for kind in kinds:
            name, data, notes = make_report(arts, kind, args.view, study=study)
            for n in notes:
                print(f"note: {n}", file=sys.stderr)
            path = out / name
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            print(f"wrote {path} ({len(data) / 1024:.0f} KiB)")
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
