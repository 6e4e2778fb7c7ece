"""The dashboard with one callback made to raise: proof that the server tests see it.

``test_server.test_a_raising_callback_is_seen`` serves ``raising_app:server`` with gunicorn:
the Effects page's forest-plot callback raises, everything else (its page layout too)
is the real app.
"""

import sys

from flask import request

from app import app, server  # noqa: F401  (gunicorn serves ``server``)

RAISING_OUTPUT = "..effects-forest.figure"

_effects = sys.modules["pages.effects"]
_forest_view = _effects.forest_view


def _raise_in_the_callback(*args, **kwargs):
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict) and str(body.get("output", "")).startswith(RAISING_OUTPUT):
        raise RuntimeError("deliberate failure for the server tests")
    return _forest_view(*args, **kwargs)


# the callback and the layout look the view builder up in their module at call time
_effects.forest_view = _raise_in_the_callback
