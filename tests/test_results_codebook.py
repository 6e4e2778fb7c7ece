"""`analysis results` reads the panel with the codebook it was built with, or refuses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analysis.codebook import CodebookError, load_codebook
from analysis.panel import build_panel, panel_codebook, write_panel
from analysis.paths import PROJECT_ROOT
from tests.test_study_shapes import WIDE_CODEBOOK, _wide_file


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "analysis", *map(str, args)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def built(tmp_path):
    cbpath = tmp_path / "study" / "codebook.yaml"
    cbpath.parent.mkdir()
    cbpath.write_text(WIDE_CODEBOOK)
    _wide_file(tmp_path / "raw")
    out = tmp_path / "build" / "panel.parquet"
    res = _cli("build", "--raw", tmp_path / "raw", "--codebook", cbpath, "--out", out)
    assert res.returncode == 0, res.stderr
    assert "one per hhid and wave" in res.stdout
    return cbpath, out


def test_results_refuses_a_codebook_changed_since_the_build(built):
    cbpath, panel = built
    cbpath.write_text(WIDE_CODEBOOK.replace("Saved by this quarter", "Saved (edited)"))
    out = panel.with_name("results.parquet")
    res = _cli("results", "--panel", panel, "--out", out)
    assert res.returncode == 2
    assert "has changed since the panel was built" in res.stderr and "Traceback" not in res.stderr
    assert str(cbpath) in res.stderr
    assert not out.exists()


def test_the_recorded_codebook_is_used_not_the_default_study(built):
    import json

    cbpath, panel = built
    manifest = json.loads(panel.with_name("panel.manifest.json").read_text())
    cb = panel_codebook(manifest)
    assert cb.path == cbpath and cb.roles.unit == "hhid"
    assert "repay_difficulty" not in cb.outcomes  # not the default study's codebook


def test_an_override_must_be_the_same_codebook(built, tmp_path):
    import json

    _, panel = built
    manifest = json.loads(panel.with_name("panel.manifest.json").read_text())
    other = tmp_path / "other.yaml"
    other.write_text(WIDE_CODEBOOK + "\n# a comment changes the file\n")
    with pytest.raises(CodebookError, match="has changed since the panel was built"):
        panel_codebook(manifest, other)


def test_manifest_records_a_portable_path(tmp_path):
    from analysis.panel import _portable

    # a codebook inside the repository is recorded relative to it, so a clone elsewhere finds it
    assert _portable(load_codebook().path) == "data/studies/amk/codebook.yaml"
    cbpath = tmp_path / "codebook.yaml"
    cbpath.write_text(WIDE_CODEBOOK)
    _wide_file(tmp_path / "raw")
    panel, manifest = build_panel(tmp_path / "raw", load_codebook(cbpath))
    write_panel(panel, manifest, tmp_path / "p.parquet")
    assert manifest["codebook"]["path"] == str(cbpath.resolve())
