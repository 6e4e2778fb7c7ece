"""The app shell's set-up (components.setup): the parts of browser code that used to be
five clientside callbacks with a dummy store each run as one callback, fired by the
location and presentation mode (issue 12: every callback Dash runs at load costs every
component on the page)."""

from __future__ import annotations

import json

import pytest
from app_fixtures import *  # noqa: F403  (session fixtures: artefacts)
from app_fixtures import find_in_json

from components import setup

PARTS = ["print-fit", "present-fit", "modebar-tab-order", "png-file-name", "viewport"]


def test_a_part_name_is_checked_and_registered_once(monkeypatch):
    monkeypatch.setattr(setup, "_PARTS", {})
    monkeypatch.setattr(setup, "_MADE", [])
    with pytest.raises(ValueError, match="lower-case"):
        setup.part("Print Fit", "x();")
    setup.part("one", "  first();  ")
    with pytest.raises(ValueError, match="registered twice"):
        setup.part("one", "again();")
    setup.part("two", "second();")
    assert setup.parts() == ["one", "two"]
    src = setup.source()
    # each part in its own function, in order, each run inside its own try
    assert src.index("first();") < src.index("second();")
    assert src.count("function(path, presenting)") == 3
    assert "try { p[1](path, presenting); }" in src


def test_a_part_after_the_callback_is_refused(monkeypatch):
    monkeypatch.setattr(setup, "_PARTS", {})
    monkeypatch.setattr(setup, "_MADE", ["made"])
    with pytest.raises(RuntimeError, match="after the set-up callback"):
        setup.part("late", "x();")
    with pytest.raises(RuntimeError, match="made once"):
        monkeypatch.setattr(setup, "_PARTS", {"a": "x();"})
        setup.callback()


def test_the_app_makes_one_set_up_callback_with_every_part(dash_app):
    """One callback writes the set-up store, fired by the location's pathname and the
    presentation mode; it holds the five parts; the shell has its one store and none of
    the five dummy stores it replaced."""
    import sys

    from plotly.utils import PlotlyJSONEncoder

    app_module, app = sys.modules["app"], dash_app
    assert sorted(setup.parts()) == sorted(PARTS)
    writers = [k for k in app.callback_map if "app-setup.data" in k]
    assert len(writers) == 1
    cb = app.callback_map[writers[0]]
    assert [(i["id"], i["property"]) for i in cb["inputs"]] == [
        ("app-location", "pathname"),
        ("present-mode", "data"),
    ]
    with app_module.server.test_request_context("/effects"):
        shell = json.loads(json.dumps(app_module.shell(), cls=PlotlyJSONEncoder))
    assert find_in_json(shell, "app-setup") is not None
    for old in ("print-setup", "present-fit-setup", "modebar-setup"):
        assert find_in_json(shell, old) is None, old
    for old in ("app-viewport-listener", "app-export-listener"):
        assert find_in_json(shell, old) is None, old
