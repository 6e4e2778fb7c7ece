"""Unexpected errors become a friendly message in the page, never a traceback.

``on_callback_error`` is the app's global ``on_error`` handler: it logs the full
traceback on the server (a line starting ``CALLBACK_FAILED``) and puts a short
message into the shell's alert (``APP_ERROR_ID``).  Dash then answers the request
with 200, so a client or test that must know whether a callback raised reads that
side update in the body or the error log (``bench.loadgen.callback_failure``).  ``safe_layout`` does the same for page layout functions.
"""

from __future__ import annotations

import functools
import logging
import uuid

import dash_bootstrap_components as dbc
from dash import html, set_props

log = logging.getLogger("amk_dashboard")

APP_ERROR_ID = "app-error"
# the first words of the error-log line of a callback that raised (the server tests count them)
CALLBACK_FAILED = "callback failed"
# ... and of a page layout that raised (the page then shows ``error_panel``)
LAYOUT_FAILED = "layout failed"
LAYOUT_FAILED_TITLE = "This page could not be shown"


def friendly_message(ref: str) -> str:
    return (
        "Something went wrong while updating this view, so it was left as it was. "
        "Try another choice or reload the page; if it happens again, tell the dashboard's "
        f"maintainers and quote reference {ref}."
    )


def on_callback_error(err: Exception) -> None:
    """Global callback error handler: log, show a message, leave the outputs unchanged."""
    ref = uuid.uuid4().hex[:8]
    log.error("%s (ref %s)", CALLBACK_FAILED, ref, exc_info=err)
    set_props(APP_ERROR_ID, {"is_open": True, "children": friendly_message(ref)})
    return None


def error_panel(ref: str) -> dbc.Alert:
    return dbc.Alert(
        [
            html.H2(LAYOUT_FAILED_TITLE, className="h5"),
            html.P(friendly_message(ref), className="mb-0"),
        ],
        color="danger",
        className="my-3",
    )


def safe_layout(func):
    """Wrap a page's layout function: an unexpected error gives a message, not a 500."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as err:  # any failure must reach the user as a sentence
            ref = uuid.uuid4().hex[:8]
            log.error("%s: %s (ref %s)", LAYOUT_FAILED, func.__module__, ref, exc_info=err)
            return error_panel(ref)

    return wrapper
