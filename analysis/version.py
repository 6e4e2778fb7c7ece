"""Code version and fingerprint, used in manifests and as part of the results cache key."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

_ANALYSIS_DIR = Path(__file__).resolve().parent


def code_version() -> str:
    try:
        return metadata.version("amk-fe-dashboard")
    except metadata.PackageNotFoundError:
        return "0+unknown"


# modules that only read or word the results: changing them does not change any estimate
_NOT_ESTIMATION = {"artifacts.py", "findings.py", "__main__.py"}


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the analysis package's estimation source: any change to it changes the
    fingerprint, so the results table is rebuilt."""
    h = hashlib.sha256()
    for path in sorted(_ANALYSIS_DIR.glob("*.py")):
        if path.name in _NOT_ESTIMATION:
            continue
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]
