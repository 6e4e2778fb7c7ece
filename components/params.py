"""Query-string parameters: every value is checked against the allowed values.

The page URL is the one source of truth for what is on screen: the controls write
their values to its query string, and the downloads, the navigation links and
presentation mode read it from there (see :mod:`components.urlstate`).

A page layout receives the query string as keyword arguments (strings).  ``parse``
converts and checks each one; an unknown or invalid value falls back to the
default and produces a note the page shows.  ``to_search`` writes the current
view back as a query string (defaults left out, so links stay short);
``keep_carried`` adds the parameters every page passes on unchanged.

Which parameters travel between pages
-------------------------------------
*Shared* filters mean the same on every page and are kept when moving between pages
(a page that does not use one leaves it in its address untouched):

* ``study`` -- which study's results (when the app serves more than one);
* ``arm`` -- the programme arm compared with the comparison arm (studies with 3+ arms);
* ``method``, ``wave``, ``inference`` -- the estimator, survey wave and inference;
* ``branches`` -- the branches kept in the branch breakdown;
* ``present`` -- presentation mode (a setting of the app shell, not of a page).

*Page-only* parameters stay on their page, because elsewhere they would mean
something else or nothing: ``scale``, ``level`` and ``mt`` (how the Effects page
draws its forest plot and table), ``direction`` (``improvement``, the default: effects
plotted with lower-is-better outcomes flipped so that right of zero is better, or
``estimate``: as estimated; on Effects and the Results chain, each its own choice),
``outcome`` (the outcome in detail on Effects, the
outcome broken down on Breakdowns -- two separate choices) and ``node`` (the selected
box of the results chain).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

# parameters of the app shell, valid on every page (read by the shell, not by the pages)
APP_PARAMS = frozenset({"present"})
# the view's filters that every page passes on (see the module docstring), in link order
SHARED_PARAMS = ("study", "arm", "method", "wave", "inference", "branches")
CARRIED_PARAMS = (*SHARED_PARAMS, "present")
PRESENT_ON = ("1", "true", "yes", "on")
PRESENT_OFF = ("0", "false", "no", "off")


def present_flag(search: str | None) -> bool | None:
    """``?present=1`` -> True, ``?present=0`` -> False; absent or not understood -> None."""
    raw = query_from_search(search).get("present")
    if raw is None:
        return None
    value = str(raw).strip().lower()
    if value in PRESENT_ON:
        return True
    if value in PRESENT_OFF:
        return False
    return None


@dataclass(frozen=True)
class Param:
    """One query parameter: its allowed values (as strings), default and a readable name."""

    name: str
    allowed: Sequence[str]
    default: str | tuple[str, ...]
    label: str
    multi: bool = False  # comma-separated list of allowed values
    describe: Callable[[str], str] | None = field(default=None, compare=False)
    # old names still accepted in links, read as the current name (e.g. ``tot`` -> ``late``)
    aliases: Mapping[str, str] = field(default_factory=dict, compare=False)

    def check(self, raw: Any) -> tuple[Any, str | None]:
        """Return (value, note); note is None when the value was valid."""
        if raw is None:
            return self.default, None
        text = raw[0] if isinstance(raw, list | tuple) and len(raw) == 1 else raw
        if not isinstance(text, str):
            return (
                self.default,
                f"The {self.label} in the link was not understood; showing the default.",
            )
        if self.multi:
            items = [t.strip() for t in text.split(",") if t.strip()]
            good = tuple(dict.fromkeys(t for t in items if t in self.allowed))
            bad = [t for t in items if t not in self.allowed]
            if bad or not good:
                shown = ", ".join(f"'{b}'" for b in bad) or "an empty selection"
                value = good or tuple(self.default)
                return value, f"Unknown {self.label} {shown} in the link: ignored."
            return good, None
        text = self.aliases.get(text, text)
        if text in self.allowed:
            return text, None
        default = self.describe(self.default) if self.describe else self.default
        return (
            self.default,
            f"Unknown {self.label} '{text[:60]}' in the link; showing {default} instead.",
        )


def parse(specs: Sequence[Param], query: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Check every query value against ``specs``; unknown keys are reported, not used."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    names = {p.name for p in specs}
    for p in specs:
        value, note = p.check(query.get(p.name))
        values[p.name] = value
        if note:
            notes.append(note)
    for key in query:
        if key not in names and key not in APP_PARAMS and key not in SHARED_PARAMS:
            notes.append(
                f"The link parameter '{str(key)[:40]}' is not used on this page and was ignored."
            )
    return values, notes


def query_from_search(search: str | None) -> dict[str, str]:
    """``?a=1&b=2`` -> ``{"a": "1", "b": "2"}`` (last value wins)."""
    if not search:
        return {}
    parsed = parse_qs(search.lstrip("?"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def to_search(specs: Sequence[Param], values: dict[str, Any]) -> str:
    """The query string of a view; parameters at their default are left out."""
    pairs = []
    for p in specs:
        v = values.get(p.name, p.default)
        if p.multi:
            v = tuple(v or ())
            if set(v) == set(p.default):
                continue
            pairs.append((p.name, ",".join(v)))
        elif v != p.default and v is not None:
            pairs.append((p.name, str(v)))
    return "?" + urlencode(pairs) if pairs else ""


def carried_pairs(search: str | None, exclude: Sequence[str] = ()) -> list[tuple[str, str]]:
    """The shared filters and app parameters of a query string, in ``CARRIED_PARAMS`` order.

    >>> carried_pairs("?scale=std&present=1&method=ancova&node=x")
    [('method', 'ancova'), ('present', '1')]
    """
    query = query_from_search(search)
    return [(k, query[k]) for k in CARRIED_PARAMS if k in query and k not in exclude]


def keep_carried(own: str, current: str | None, own_names: Sequence[str] = ()) -> str:
    """A page's own query string ``own`` plus the carried parameters of ``current`` that
    the page does not set itself (``own_names``): what the page writes to the address bar.

    >>> keep_carried("?method=ancova", "?method=did&branches=Baray&present=1", ["method"])
    '?method=ancova&branches=Baray&present=1'
    >>> keep_carried("", "?scale=std")
    ''
    """
    extra = urlencode(carried_pairs(current, exclude=own_names))
    if not extra:
        return own
    return f"{own}&{extra}" if own else f"?{extra}"


def nav_search(search: str | None) -> str:
    """The query string a navigation link carries to another page: the shared filters only.

    >>> nav_search("?method=ancova&scale=std&outcome=x&wave=1&present=1")
    '?method=ancova&wave=1&present=1'
    """
    pairs = carried_pairs(search)
    return "?" + urlencode(pairs) if pairs else ""


# ---------------------------------------------------------------- control values in callbacks
# (the JSON type of every callback input is checked by components.server before a callback
# runs; these turn a value of the right type into the allowed choices)


def chosen(raw: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    """A multi-choice control's value -> the allowed items in it, in the order of ``allowed``.

    A list is the usual value; a single string counts as a one-item list; anything else
    (None, a number, an object) chooses nothing.

    >>> chosen(["b", "x", "a"], ["a", "b", "c"])
    ('a', 'b')
    >>> chosen("c", ["a", "b", "c"]), chosen(5, ["a"]), chosen(None, ["a"])
    (('c',), (), ())
    """
    if isinstance(raw, str):
        items = {raw}
    elif isinstance(raw, list | tuple):
        items = {i for i in raw if isinstance(i, str)}
    else:
        items = set()
    return tuple(a for a in allowed if a in items)
