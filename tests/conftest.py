"""Shared fixtures: demo exports and panels built once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analysis.codebook import load_codebook
from analysis.demo import load_demo_config, write_demo_exports
from analysis.panel import build_panel

DEMO_SEED = 20100201

# raising_app.py is an app for gunicorn (test_server serves it): importing it in the test
# process -- as --doctest-modules would -- patches the real Effects page to raise
collect_ignore = ["raising_app.py"]

# the servers the tests start make only each page's default view before forking (app.warm_up),
# not the estimator-and-wave views a production start makes while its budget lasts
os.environ.setdefault("AMK_WARM_S", "0")


@pytest.fixture(scope="session")
def codebook():
    return load_codebook()


@pytest.fixture(scope="session")
def demo_config():
    return load_demo_config()


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> Path:
    """The default demo exports (SPSS baseline, Stata midline, CSV endline)."""
    out = tmp_path_factory.mktemp("raw_default")
    write_demo_exports(out, seed=DEMO_SEED)
    return out


@pytest.fixture(scope="session")
def demo_built(demo_raw):
    return build_panel(demo_raw)


@pytest.fixture(scope="session")
def demo_panel(demo_built):
    return demo_built[0]


@pytest.fixture(scope="session")
def csv_raw_template(tmp_path_factory) -> Path:
    """All three waves as CSV: easy to corrupt line by line in bad-input tests."""
    out = tmp_path_factory.mktemp("raw_csv")
    write_demo_exports(out, seed=7, formats=("csv", "csv", "csv"))
    return out


@pytest.fixture
def csv_raw(csv_raw_template, tmp_path) -> Path:
    dst = tmp_path / "raw"
    shutil.copytree(csv_raw_template, dst)
    return dst


@pytest.fixture(scope="session")
def demo_results(demo_panel):
    """The full results table on the demo panel (fewer bootstrap draws, to keep tests quick)."""
    from analysis.results import build_results

    return build_results(demo_panel, draws=199)
