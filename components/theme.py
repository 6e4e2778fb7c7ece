"""Colours, number formatting and the graph configuration every figure shares.

The palette is Okabe-Ito (safe for the common colour-vision deficiencies); verdicts
are never told by colour alone (marker fill, symbol and text say it too).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from typing import Any

# Okabe & Ito (2008)
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
GREY = "#595959"  # 7:1 contrast on white, for text and "no detectable effect"
LIGHT_GREY = "#BDBDBD"

VERDICT_COLOURS = {
    "improved": OKABE_ITO["bluish_green"],
    "worsened": OKABE_ITO["vermillion"],
    "no detectable effect": GREY,
    "suppressed": LIGHT_GREY,
    "not estimable": LIGHT_GREY,
}
# darker text variants for badges on white (WCAG AA for small text)
VERDICT_TEXT_COLOURS = {
    "improved": "#00704F",
    "worsened": "#A63F00",
    "no detectable effect": "#404040",
    "suppressed": "#404040",
    "not estimable": "#404040",
}
VERDICT_SYMBOLS = {
    "improved": "▲",
    "worsened": "▼",
    "no detectable effect": "●",
    "suppressed": "–",
    "not estimable": "–",
}
VERDICT_LABELS = {
    "improved": "Improved",
    "worsened": "Worsened",
    "no detectable effect": "No detectable effect",
    "suppressed": "Too few to show",
    "not estimable": "Not estimable",
}
ARM_COLOURS = {"Programme": OKABE_ITO["blue"], "Comparison": OKABE_ITO["orange"]}
RAW_COLOUR = OKABE_ITO["blue"]
POOLED_COLOUR = OKABE_ITO["reddish_purple"]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def too_few() -> str:
    """What a cell too small to show says, in the current study's noun ('too few clients',
    'too few households')."""
    from analysis.findings import nouns_of

    return f"too few {nouns_of().unit.many}"


# Modebar buttons that send the figure's data to an external service (Plotly Chart Studio /
# cloud): the data must never leave the machine, so they are removed and switched off.
CLOUD_BUTTONS = ("sendDataToCloud", "editInChartStudio")


def graph_config() -> dict[str, Any]:
    """Plotly config: PNG export from the modebar, no logo, and nothing that uploads the data
    (no "Share chart" / "Edit in Chart Studio", no link).

    The same for every figure and every view, on purpose: plotly.js redraws a figure from
    scratch when its config changes (``Plotly.react`` compares it), which doubled the time a
    filter change took to redraw (issue 12).  The export's file name, which follows the
    view, travels in the figure instead (:func:`named`)."""
    return {
        "displaylogo": False,
        "responsive": True,
        "showSendToCloud": False,
        "showEditInChartStudio": False,
        "showLink": False,
        "sendData": False,
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d", *CLOUD_BUTTONS],
        "toImageButtonOptions": {"format": "png", "scale": 2},
    }


def named(fig: Any, filename: str) -> Any:
    """``fig`` with ``layout.meta.filename`` set to the file name its PNG and SVG exports
    get (components/export.py hands it to plotly.js).  A plotly Figure is changed in place
    and returned (it must be the caller's own, not one kept in a cache); a dict is copied."""
    if hasattr(fig, "update_layout"):
        meta = fig.layout.meta
        fig.update_layout(meta={**(meta if isinstance(meta, dict) else {}), "filename": filename})
        return fig
    layout = dict(fig.get("layout") or {})
    meta = layout.get("meta")
    layout["meta"] = {**(meta if isinstance(meta, dict) else {}), "filename": filename}
    return {**fig, "layout": layout}


def figure_filename(fig: Any) -> str | None:
    """The export file name :func:`named` gave ``fig`` (None if it has none)."""
    layout = fig.get("layout") if isinstance(fig, dict) else fig.layout.to_plotly_json()
    meta = (layout or {}).get("meta")
    return meta.get("filename") if isinstance(meta, dict) else None


# longest slug, in UTF-8 bytes: export names carry the chosen groups (a study with 40
# branches, most of them ticked, made names past the 255 bytes file systems take); the rest
# is replaced by a digest
SLUG_MAX = 120


def slug(*parts: Any) -> str:
    """File-name-safe slug of the parts, e.g. ``slug("effects", "did", "Endline")``.

    At most :data:`SLUG_MAX` bytes (UTF-8; names in other scripts take 2-3 bytes a letter): a
    longer one keeps its start and ends with 8 hex digits of the whole one's SHA-1, so that
    two long choices still get different names."""
    text = "-".join(str(p) for p in parts if p not in (None, ""))
    # letters, digits and the marks that belong to them (Khmer vowel signs are marks)
    out = "".join(
        c.lower() if c.isalnum() or unicodedata.category(c).startswith("M") else "-" for c in text
    )
    while "--" in out:
        out = out.replace("--", "-")
    out = out.strip("-")
    raw = out.encode()
    if len(raw) <= SLUG_MAX:
        return out
    digest = hashlib.sha1(raw).hexdigest()[:8]
    head = raw[: SLUG_MAX - len(digest) - 1].decode(errors="ignore")  # not inside a letter
    return head.rstrip("-") + "-" + digest


def is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def enough_decimals(x: float, decimals: int, significant: int = 2) -> int:
    """``decimals``, or more when needed so that a non-zero ``x`` does not round to zero:
    then it keeps ``significant`` significant figures (−0.0004 -> 4 decimals: "−0.00040")."""
    x = float(x)
    if x == 0 or not math.isfinite(x) or round(x, decimals) != 0:
        return decimals
    return max(decimals, significant - 1 - math.floor(math.log10(abs(x))))


def fmt_num(x: Any, digits: int | None = None) -> str:
    """A number for people: 3 decimals below 1, 2 below 100, thousands separators above.

    A non-zero number never prints as 0 or −0 (a confidence bound of −0.0004 next to a
    significant verdict must not read "0"): it gets enough decimals for two significant figures.
    """
    if is_missing(x):
        return "–"
    x = float(x) + 0.0  # -0.0 -> 0.0: no "−0"
    if digits is None:
        a = abs(x)
        digits = 0 if a >= 100 else (2 if a >= 1 else 3)
    return f"{x:,.{enough_decimals(x, digits)}f}".replace("-", "−")


def fmt_signed(x: Any, digits: int | None = None) -> str:
    if is_missing(x):
        return "–"
    s = fmt_num(x, digits)
    return s if s.startswith("−") or float(x) == 0 else "+" + s


def fmt_p(p: Any) -> str:
    """p- or q-value: '< 0.001' for tiny values."""
    if is_missing(p):
        return "–"
    p = float(p)
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def fmt_pct(x: Any, digits: int = 0) -> str:
    if is_missing(x):
        return "–"
    return f"{100 * float(x):.{digits}f}%"


def is_share(unit: str | None) -> bool:
    """Units that are shares (0-1): shown as percentage points in words."""
    return bool(unit) and str(unit).startswith("share of")
