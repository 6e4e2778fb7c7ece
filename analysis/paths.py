"""Where the studies' data files and built artefacts live.

A study is a folder of data files, ``data/studies/<study_id>/`` (``study.yaml``,
``codebook.yaml``, ``profile.yaml``, ``results_chain.yaml``, optional
``recommendations.yaml``, and for a demo ``demo_config.yaml``).  ``AMK_STUDY``
names the default study (``amk``); ``AMK_DATA_DIR`` points the app at any other
folder of that shape; ``AMK_BUILD_DIR`` moves the built artefacts (panel,
results).  All default to the repository.

Built artefacts of one study (:func:`study_build_dir`): ``build/<study_id>/`` (``make data``
and the command line's defaults write there, the default demo into ``build/amk/``).  When the
default study has no folder of its own, ``build/`` itself is read (the flat layout of
builds made before studies had folders, and of ``AMK_BUILD_DIR`` folders holding one
study's artefacts).  Any other study without its folder has no build (the app says so and
how to make one).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STUDY = "amk"
STUDY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def studies_dir() -> Path:
    """Folder holding one sub-folder per study."""
    return PROJECT_ROOT / "data" / "studies"


def default_study() -> str:
    """The study the app opens on: ``AMK_STUDY`` or ``amk``."""
    return os.environ.get("AMK_STUDY", "").strip() or DEFAULT_STUDY


def study_ids() -> list[str]:
    """The shipped studies: every folder under data/studies/ with a study.yaml."""
    root = studies_dir()
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if STUDY_ID.match(p.name) and (p / "study.yaml").is_file()
    )


def study_dir(study: str | None = None) -> Path:
    """The data folder of one study (the default study when None)."""
    return studies_dir() / (study or default_study())


def data_dir() -> Path:
    """Folder with the current study's data files (``AMK_DATA_DIR`` overrides)."""
    override = os.environ.get("AMK_DATA_DIR")
    return Path(override) if override else study_dir()


def build_dir() -> Path:
    """Folder for built artefacts: processed panel, results table, diagnostics."""
    return Path(os.environ.get("AMK_BUILD_DIR", PROJECT_ROOT / "build"))


def study_build_dir(study: str | None = None) -> Path:
    """Folder of one study's built artefacts (see the module docstring for the rule)."""
    sid = study or default_study()
    nested = build_dir() / sid
    if nested.is_dir() or sid != default_study():
        return nested
    return build_dir()


def default_codebook() -> Path:
    return data_dir() / "codebook.yaml"


def default_panel() -> Path:
    """Where ``analysis build`` writes the default study's panel: ``build/<study_id>/``."""
    return build_dir() / default_study() / "panel.parquet"


def default_results() -> Path:
    """Where ``analysis results`` writes the default study's results table."""
    return build_dir() / default_study() / "results.parquet"


def default_raw_dir() -> Path:
    return build_dir() / default_study() / "raw_demo"
