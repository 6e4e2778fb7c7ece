"""Send only what changed: each output that equals what the page already shows is not sent.

A filter change used to resend every output of a page's callback (figures, tables, captions,
the phone list), and the browser rebuilt all of them although, say, ticking a branch leaves
the sex panel exactly as it was.  Dash's renderer does work per changed output and per
component (every store update runs every component's selector), so an output sent for
nothing costs the user time on every change (issue 12: interaction latency).

How it works, per callback:

* the page's layout puts a ``dcc.Store`` (``shown_store``) holding the view's arguments
  (the validated control values the outputs were built from) next to the outputs;
* the callback reads it as a ``State``, rebuilds what the page shows from those arguments
  (the view builders are memoised, so this is a cache hit), and ``changed_only`` replaces
  each output equal to the shown one by ``dash.no_update``;
* the callback writes the new arguments to the store in the same answer, so the store and
  the outputs change together (an answer Dash discards because a newer one was asked for
  changes neither).

A store that is missing or does not parse (an old page, a crafted payload) means "send
everything": the worst case is the old behaviour, never a stale panel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import dash
from dash import dcc
from plotly.io.json import to_json_plotly


def shown_store(id: str, args: Sequence[Any]) -> dcc.Store:
    """The store that says which view's outputs the page shows (its arguments, JSON)."""
    return dcc.Store(id=id, data=list(args))


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return to_json_plotly(a) == to_json_plotly(b)
    except (TypeError, ValueError):  # not serialisable: never assume it is the same
        return False


def shown_args(data: Any, check: Callable[..., tuple] | None = None) -> tuple | None:
    """The arguments in a shown store, re-validated by ``check`` (which returns the clean
    argument tuple, as the callback does for its inputs); None when unusable."""
    if not isinstance(data, list) or len(data) > 32:
        return None
    if not all(v is None or isinstance(v, str | int | float | bool | list) for v in data):
        return None
    try:
        json.dumps(data)
        return tuple(check(*data)) if check else tuple(data)
    except (TypeError, ValueError):
        return None


def changed_only(new: Sequence[Any], old: Sequence[Any] | None) -> list[Any]:
    """``new`` with each output equal to the corresponding ``old`` one replaced by
    ``dash.no_update`` (all of ``new`` when ``old`` is None or of another length)."""
    if old is None or len(old) != len(new):
        return list(new)
    return [dash.no_update if _same(n, o) else n for n, o in zip(new, old, strict=True)]
