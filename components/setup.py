"""The app shell's set-up in the browser: one clientside callback runs every part.

The parts are small pieces of browser code that install a listener once per tab or redo
a little work on each page: printing fits figures to the paper, presentation mode fits
the page's main figure to the screen, figure toolbars leave the Tab order, PNG downloads
take the view's file name, the viewport width is watched.  Each used to be its own
clientside callback writing to its own dummy store.  Every callback Dash runs while a page
loads costs its renderer a few store updates, and each update is paid in every component
on the page (issue 12, README "Why components cost"), so they run as one:

* :func:`part` registers a part: the body of a JavaScript function of ``(path,
  presenting)`` -- the page's pathname and the presentation-mode store's value;
* :func:`callback` (called once by the app shell, after the modules have registered
  their parts) makes the one clientside callback, run on every navigation and whenever
  presentation mode changes; the parts run in the order registered, and an error in one
  is written to the browser's console without stopping the others;
* :func:`store` is the callback's one output (nothing is ever written to it).

A part that installs a listener guards itself with a flag on ``window``, since it runs
again on every navigation.
"""

from __future__ import annotations

import json
import re

import dash
from dash import Output, dcc

SETUP = "app-setup"

_PARTS: dict[str, str] = {}
_MADE: list[str] = []  # the source of the callback, once made
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def part(name: str, body: str) -> None:
    """Register the part ``name`` (lower-case words and hyphens) with its JavaScript
    ``body``; a name registered twice raises (two modules would overwrite each other)."""
    if not _NAME.match(name):
        raise ValueError(f"set-up part name {name!r}: lower-case letters, digits and hyphens")
    if name in _PARTS:
        raise ValueError(f"set-up part {name!r} is registered twice")
    if _MADE:
        raise RuntimeError(f"set-up part {name!r} registered after the set-up callback was made")
    _PARTS[name] = body.strip()


def parts() -> list[str]:
    """The names of the registered parts, in the order they run."""
    return list(_PARTS)


def source() -> str:
    """The clientside function that runs every registered part."""
    fns = ",\n".join(
        f"[{json.dumps(name)}, function(path, presenting) {{\n{body}\n}}]"
        for name, body in _PARTS.items()
    )
    return (
        "function(path, presenting) {\n"
        f"const parts = [\n{fns}\n];\n"
        "parts.forEach(function(p) {\n"
        "    try { p[1](path, presenting); }\n"
        "    catch (err) { console.error('app set-up: part ' + p[0] + ' failed', err); }\n"
        "});\n"
        "return window.dash_clientside.no_update;\n"
        "}"
    )


def store() -> dcc.Store:
    """The set-up callback's output (put once in the app shell)."""
    return dcc.Store(id=SETUP)


def callback(*inputs) -> None:
    """Make the one set-up callback, fired by ``inputs`` (the shell's location pathname
    and presentation-mode store, in that order: the parts' ``path`` and ``presenting``)."""
    if not _PARTS:
        raise ValueError("no set-up part is registered")
    if _MADE:
        raise RuntimeError("the set-up callback is made once")
    _MADE.append(source())
    dash.clientside_callback(_MADE[0], Output(SETUP, "data"), *inputs)
