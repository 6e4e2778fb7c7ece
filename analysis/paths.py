"""Where the project's data files and built artefacts live.

``AMK_DATA_DIR`` points the whole app at another institution's folder
(codebook, MFI profile, results chain, recommendations); ``AMK_BUILD_DIR``
moves the built artefacts (panel, results).  Both default to the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Folder with the MFI-specific data files (``data/`` by default)."""
    return Path(os.environ.get("AMK_DATA_DIR", PROJECT_ROOT / "data"))


def build_dir() -> Path:
    """Folder for built artefacts: processed panel, results table, diagnostics."""
    return Path(os.environ.get("AMK_BUILD_DIR", PROJECT_ROOT / "build"))


def default_codebook() -> Path:
    return data_dir() / "codebook.yaml"


def default_panel() -> Path:
    return build_dir() / "panel.parquet"


def default_raw_dir() -> Path:
    return build_dir() / "raw_demo"
