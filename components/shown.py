"""Send only what changed: each output that equals what the page already shows is not sent.

A filter change used to resend every output of a page's callback (figures, tables, captions,
the phone list), and the browser rebuilt all of them although, say, ticking a branch leaves
the sex panel exactly as it was.  Dash's renderer does work per changed output and per
component (every store update runs every component's selector), so an output sent for
nothing costs the user time on every change (issue 12: interaction latency).

How it works, per callback:

* the page's layout puts a ``dcc.Store`` (``shown_store``) next to the outputs, holding a
  digest of each output as the page shows it (a short hash of its JSON);
* the callback reads it as a ``State``, builds the new outputs, and ``changed_only``
  replaces each output whose digest equals the shown one by ``dash.no_update``;
* the callback writes the new digests to the store in the same answer, so the store and
  the outputs change together (an answer Dash discards because a newer one was asked for
  changes neither).

Digests, not the arguments of the view shown: comparing with the old view needed that view
again, and a gunicorn worker that had not built it (each keeps its own cache unless
``AMK_CACHE_URL`` names a shared one) built it again, doubling the server's time for a new
view.  A store that is missing or does not parse (an old page, a crafted payload) means
"send everything": the worst case is every output resent, never a stale panel; a crafted
digest can only make the sender's own page stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import dash
from dash import dcc
from plotly.io.json import to_json_plotly

_NO_DIGEST = "-"  # an output that does not serialise: never assumed to be the same


def digest(value: Any) -> str:
    """A short hash of ``value``'s JSON (the form Dash sends)."""
    try:
        text = to_json_plotly(value)
    except (TypeError, ValueError):
        return _NO_DIGEST
    return hashlib.blake2b(text.encode(), digest_size=9).hexdigest()


def digests(outputs: Sequence[Any]) -> list[str]:
    return [digest(o) for o in outputs]


def shown_store(id: str, outputs: Sequence[Any]) -> dcc.Store:
    """The store that says what the page shows of each output (their digests)."""
    return dcc.Store(id=id, data=digests(outputs))


def shown_digests(data: Any, n: int) -> list[str] | None:
    """The ``n`` digests in a shown store; None when it does not parse."""
    if not isinstance(data, list) or len(data) != n:
        return None
    if not all(isinstance(d, str) and 0 < len(d) <= 64 for d in data):
        return None
    return data


def changed_only(new: Sequence[Any], shown: Any) -> tuple[list[Any], list[str]]:
    """``new`` with each output whose digest is the shown one (``shown``: a shown store's
    data) replaced by ``dash.no_update`` (all of ``new`` when the store does not parse),
    and the digests of ``new`` for the store."""
    sums = digests(new)
    old = shown_digests(shown, len(new))
    if old is None:
        return list(new), sums
    out = [
        dash.no_update if s == o and s != _NO_DIGEST else n
        for n, s, o in zip(new, sums, old, strict=True)
    ]
    return out, sums
