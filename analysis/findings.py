"""Plain-language findings: one sentence for any row of the results table.

The sentence states the effect in the outcome's natural units with its 95%
interval, and never claims more than the numbers support:

* all clients, improved / worsened at q <= 0.05 (and p <= 0.05): "robust to multiple testing";
* all clients, p <= 0.05 but q > 0.05: significant on its own, not after adjusting;
* a subgroup (province, branch, sex): its own p <= 0.05 decides, as in the table's
  verdict, and the sentence names that p (so it agrees with the 95% interval shown);
* otherwise a null, naming the minimum detectable effect;
* a significant effect in the unwanted direction is called unexpected;
* a suppressed cell says there were too few clients.

Every number in a sentence is produced by :func:`display_numbers` from the row, so
tests can check the sentence against the table.

Example
-------
>>> row = {"outcome": "repay_difficulty", "type": "binary", "better": "lower",
...        "phrase": "report difficulty repaying an instalment", "short": "Repayment difficulty",
...        "unit": "share of clients", "method": "did", "estimate": -0.09, "ci95_low": -0.14,
...        "ci95_high": -0.04, "p_value": 0.001, "q_value": 0.004, "mde": 0.05,
...        "suppressed": False, "is_index": False, "family_label": "Repayment behaviour"}
>>> finding_sentence(row)  # doctest: +NORMALIZE_WHITESPACE
'Clients in programme villages were 9 percentage points (95% CI 4 to 14) less likely to
report difficulty repaying an instalment; robust to multiple testing (q = 0.004).'
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

from analysis.study import (
    DEFAULT_NOUNS,
    Noun,
    Nouns,
    Study,
    StudyError,
    current_study_or_none,
    load_study,
)

ALPHA = 0.05


@functools.lru_cache(maxsize=8)
def _default_study() -> Study | None:
    try:
        return load_study()
    except StudyError:
        return None


def study_or_default(study: Study | None = None) -> Study | None:
    """The study whose words a sentence uses: ``study``, else the default study (``AMK_STUDY``)."""
    if study is not None:
        return study
    # the app's current study (analysis.study.set_current_study_resolver), else the default
    return current_study_or_none() or _default_study()


def nouns_of(study: Study | None = None) -> Nouns:
    """The study's nouns (units, clusters, strata, staff, arms); generic ones when there is none."""
    s = study_or_default(study)
    if s is not None:
        return s.nouns
    n = {k: Noun(*v) for k, v in DEFAULT_NOUNS.items()}
    return Nouns(
        **n,
        programme_arm=f"programme {n['cluster'].many}",
        comparison_arm=f"comparison {n['cluster'].many}",
    )


def take_up_phrase(study: Study | None = None) -> str:
    """What a unit who took the programme up did: study.yaml ``take_up`` ('received the ... topics')."""
    s = study_or_default(study)
    phrase = (s.extra.get("take_up") if s is not None else None) or "took part in the programme"
    return " ".join(str(phrase).split())


def sentence_subject(method: str | None, study: Study | None = None) -> str:
    """Who a sentence speaks of: 'Clients in programme villages', or the LATE's compliers.

    The IV estimand is a LATE: the effect on compliers, units who took the programme up
    because their cluster was assigned to it (Imbens & Angrist 1994).
    """
    n = nouns_of(study)
    if str(method) in ("late", "tot"):  # ``tot``: the method's old key, in older results tables
        return (
            f"Compliers ({n.unit.many} who {take_up_phrase(study)} because their "
            f"{n.cluster.one} was in the programme)"
        )
    return f"{n.unit.many[:1].upper()}{n.unit.many[1:]} in {n.programme_arm}"


def _f(row: Mapping[str, Any], key: str) -> float:
    val = row.get(key)
    try:
        val = float(val)
    except (TypeError, ValueError):
        return float("nan")
    return val


def shown_value(row: Mapping[str, Any], key: str) -> float:
    """The row's ``key`` (estimate, interval end, MDE) on the scale a sentence speaks in.

    A log outcome's effect b is a proportional change of exp(b) - 1 ("about 5% lower"):
    the exact transformation, not the 100*b approximation, which drifts for larger
    effects (Halvorsen & Palmquist 1980).  Every other kind keeps its natural value.
    """
    val = _f(row, key)
    if _unit_kind(row) == "log" and math.isfinite(val):
        return math.expm1(val)
    return val


def _unit_kind(row: Mapping[str, Any]) -> str:
    if row.get("is_index"):
        return "index"
    typ = row.get("type")
    if typ == "binary":
        return "pp"
    if typ == "continuous" and str(row.get("unit", "")).startswith("log"):
        return "log"
    if typ == "continuous" and "share" in str(row.get("unit", "")):
        return "pp"
    return "raw"


def scale_to_display(row: Mapping[str, Any], value: float) -> float:
    """Natural-unit value -> the number shown in words (percentage points, %, ...)."""
    kind = _unit_kind(row)
    if kind in ("pp", "log"):
        return 100 * value
    return value


def _decimals(row: Mapping[str, Any]) -> int:
    kind = _unit_kind(row)
    if kind in ("pp", "log"):
        return 0 if row.get("type") == "binary" or kind == "log" else 1
    return 2


def fmt(row: Mapping[str, Any], value: float) -> str:
    """Format a natural-unit value for a sentence (absolute value is the caller's choice)."""
    d = _decimals(row)
    raw = scale_to_display(row, value)
    if raw != 0 and math.isfinite(raw) and round(raw, d) == 0:
        # a non-zero number (e.g. a CI bound of -0.3 points) never reads "0": two significant figures
        d = 1 - math.floor(math.log10(abs(raw)))
    shown = round(raw, d)
    if shown == 0:
        shown = 0.0  # no "-0"
    return f"{shown:.{d}f}"


def fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def p_text(p: float) -> str:
    """'p = 0.012' or 'p < 0.001'."""
    shown = fmt_p(p)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def _unit_words(row: Mapping[str, Any]) -> str:
    kind = _unit_kind(row)
    if kind == "pp":
        return "percentage points"
    if kind == "log":
        return "%"
    if kind == "index":
        return "standard deviations"
    if row.get("type") == "likert":
        return f"points on the {_likert_range(row)} scale"
    return str(row.get("unit", ""))


_LIKERT_RANGE = re.compile(r"(-?\d+)\s*[-–]\s*(-?\d+) scale")


def _likert_range(row: Mapping[str, Any]) -> str:
    """'1-5' (the default), or the range the row's unit names ('points on a 0-10 scale')."""
    m = _LIKERT_RANGE.search(str(row.get("unit") or ""))
    return f"{m.group(1)}-{m.group(2)}" if m else "1-5"


def _magnitude(row: Mapping[str, Any], est: float, lo: float, hi: float) -> tuple[str, str]:
    """'9 percentage points', '(95% CI 4 to 14)' with the interval in the same absolute sense."""
    sign = 1 if est >= 0 else -1
    a, b = sorted((sign * lo, sign * hi))
    units = _unit_words(row)
    amount = fmt(row, abs(est))
    amount = f"{amount}%" if units == "%" else f"{amount} {units}"
    ci = f"(95% CI {fmt(row, a)} to {fmt(row, b)}{'%' if units == '%' else ''})"
    return amount, ci


def _effect_clause(row: Mapping[str, Any], est: float, lo: float, hi: float) -> str:
    amount, ci = _magnitude(row, est, lo, hi)
    up = est >= 0
    kind = _unit_kind(row)
    short = str(row.get("short") or row.get("outcome"))
    if row.get("type") == "binary":
        phrase = row.get("phrase") or f"report: {short.lower()}"
        return f"were {amount} {ci} {'more' if up else 'less'} likely to {phrase}"
    if kind == "index":
        family = str(row.get("family_label", "")).lower()
        return f"scored {amount} {'higher' if up else 'lower'} {ci} on the {family} index"
    if row.get("type") == "count":
        return f"reported {fmt(row, abs(est))} {'more' if up else 'fewer'} {str(row.get('short', '')).lower()} {ci}"
    if row.get("type") == "likert":
        return f"scored {fmt(row, abs(est))} points {'higher' if up else 'lower'} {ci} on '{short}' ({_likert_range(row)} scale)"
    if kind == "log":
        return f"had about {amount} {'higher' if up else 'lower'} {short.lower().replace(' (log)', '')} {ci}"
    return f"had a {short.lower()} {amount} {'higher' if up else 'lower'} {ci}"


def finding_sentence(
    row: Mapping[str, Any], *, min_cell: int | None = None, study: Study | None = None
) -> str:
    """One plain-language sentence for one results-table row, in ``study``'s nouns
    (the default study's when None)."""
    short = str(row.get("short") or row.get("outcome"))
    who = sentence_subject(row.get("method"), study)
    if bool(row.get("suppressed")):
        n = (
            f" (fewer than {min_cell or row.get('min_cell')} in an arm)"
            if (min_cell or row.get("min_cell"))
            else ""
        )
        return f"Too few {nouns_of(study).unit.many} in this group to estimate the effect on {short.lower()}{n}."
    est, lo, hi = (shown_value(row, k) for k in ("estimate", "ci95_low", "ci95_high"))
    p, q, mde = _f(row, "p_value"), _f(row, "q_value"), shown_value(row, "mde")
    if not math.isfinite(est):
        return f"The effect on {short.lower()} could not be estimated for this group."
    better = -1 if row.get("better") == "lower" else 1
    improves = better * est > 0
    clause = _effect_clause(row, est, lo, hi)
    if row.get("sample_type") not in (None, "all") and math.isfinite(p) and p <= ALPHA:
        # a subgroup's verdict follows its own p (results.py); say so, name the p
        if improves:
            return f"{who} {clause}; significant in this group on its own ({p_text(p)})."
        return (
            f"Unexpectedly, {who[0].lower()}{who[1:]} {clause}, a change in the unwanted "
            f"direction that is significant in this group on its own ({p_text(p)})."
        )
    # sharpened q-values can fall below p; an effect is called robust only when both are small
    if row.get("sample_type") in (None, "all") and math.isfinite(q) and q <= ALPHA and p <= ALPHA:
        if improves:
            return f"{who} {clause}; robust to multiple testing (q = {fmt_p(q)})."
        return f"Unexpectedly, {who[0].lower()}{who[1:]} {clause}, a change in the unwanted direction that is robust to multiple testing (q = {fmt_p(q)})."
    if math.isfinite(p) and p <= ALPHA:
        return (
            f"{who} {clause}; significant on its own ({p_text(p)}) but not after adjusting "
            f"for the number of outcomes tested (q = {fmt_p(q)}), so treat it with caution."
        )
    units = _unit_words(row)
    mde_txt = (
        f"{fmt(row, abs(mde))}{'%' if units == '%' else ' ' + units}"
        if math.isfinite(mde)
        else "n/a"
    )
    sign = "" if float(fmt(row, abs(est))) == 0 else "+" if est > 0 else "-"
    return (
        f"No detectable effect on {short.lower()}: the estimate is {sign}{fmt(row, abs(est))}"
        f"{'%' if units == '%' else ' ' + units} (95% CI {fmt(row, lo)} to {fmt(row, hi)}"
        f"{'%' if units == '%' else ''}); the study could detect effects of about {mde_txt} or larger."
    )


def display_numbers(row: Mapping[str, Any]) -> dict[str, str]:
    """The numbers a sentence for ``row`` may show, formatted exactly as in the sentence.

    Interval ends appear either signed (nulls) or as magnitudes in the effect's
    direction (effects), so both forms are listed.
    """
    est, lo, hi = (shown_value(row, k) for k in ("estimate", "ci95_low", "ci95_high"))
    sign = 1 if est >= 0 else -1
    a, b = sorted((sign * lo, sign * hi))
    return {
        "estimate": fmt(row, abs(est)),
        "ci_low": fmt(row, lo),
        "ci_high": fmt(row, hi),
        "ci_near": fmt(row, a),
        "ci_far": fmt(row, b),
        "mde": fmt(row, abs(shown_value(row, "mde"))),
        "p": fmt_p(_f(row, "p_value")),
        "q": fmt_p(_f(row, "q_value")),
    }
