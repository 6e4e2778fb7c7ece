"""The app shell's study pieces: the study picker, the data status line, page titles.

Every page address carries the study as ``?study=<id>`` (see :mod:`components.store`
for how a request finds it).  The picker is a menu of links, one per shipped study,
that open the same page for the other study: a full page load, so that the shell,
the page and its menus are all built from that study's files.  Filters are reset
(another study has other estimators, waves and outcomes); presentation mode is kept.
"""

from __future__ import annotations

import dataclasses

import dash_bootstrap_components as dbc
from dash import html

from components.store import (
    current_arm,
    current_study,
    get_artifacts,
    get_study,
    study_arms,
    study_info,
)
from components.urlstate import ARM_ITEM, PICKER_ITEM

PICKER = "study-picker"
STUDY_NOTE = "study-note"
ARM_PICKER = "arm-picker"


def shipped() -> list[tuple[str, str]]:
    """(id, short title) of every study the app serves, in id order."""
    from analysis.paths import study_ids

    out = []
    for sid in study_ids():
        info = study_info(sid)
        out.append((sid, info.short_title if info else sid))
    return out


def study_name() -> str:
    """The current study's short title (its id when its study.yaml cannot be read)."""
    info = get_study()
    return info.short_title if info else current_study()[0]


def page_title(page: str):
    """A ``register_page(title=...)`` value: '<page> — <study short title>', per request."""

    def title(**_kwargs) -> str:
        return f"{page} — {study_name()}"

    return title


def _link_menu(
    header: str, links: list[tuple[str, str, str]], current: str, item_type: str, *,
    label: str, id: str, class_name: str,
) -> dbc.DropdownMenu:  # fmt: skip
    """A navbar menu of links ``(key, text, href)``, keyboard-usable, the current one active."""
    return dbc.DropdownMenu(
        [dbc.DropdownMenuItem(header, header=True)]
        + [
            dbc.DropdownMenuItem(
                text,
                href=href,
                external_link=True,
                active=key == current,
                id={"type": item_type, "index": key},
            )  # fmt: skip
            for key, text, href in links
        ],
        label=label,
        id=id,
        nav=True,
        in_navbar=True,
        align_end=True,
        toggle_class_name="text-light",
        className=class_name,
    )


def picker() -> html.Div | dbc.DropdownMenu:
    """The study picker: a keyboard-usable menu of links (nothing when one study is served)."""
    studies = shipped()
    current = current_study()[0]
    if len(studies) < 2:
        return html.Div(id=PICKER)
    return _link_menu(
        "Study", [(sid, title, f"/?study={sid}") for sid, title in studies], current, PICKER_ITEM,
        label=f"Study: {dict(studies).get(current, current)}", id=PICKER,
        class_name="study-picker ms-lg-auto",
    )  # fmt: skip


def comparison_name() -> str:
    """The comparison arm's name in a multi-arm study (from the results' ``contrast``)."""
    res = get_artifacts().results
    if res is None or "contrast" not in res.columns or res.empty:
        return "comparison"
    return str(res["contrast"].iloc[0]).split(" vs ", 1)[-1]


def arm_picker() -> html.Div | dbc.DropdownMenu:
    """The "Compared arm" menu of a study with three or more arms: links that open the page
    on screen for another programme arm (``?arm=<arm>``, the other filters kept); nothing
    for a two-arm study."""
    arm = current_arm()[0]
    if arm is None:
        return html.Div(id=ARM_PICKER)
    study = current_study()[0]
    return _link_menu(
        f"Compared with {comparison_name()}",
        [(a, a, f"?study={study}&arm={a}") for a in study_arms()], arm, ARM_ITEM,
        label=f"Compared arm: {arm}", id=ARM_PICKER, class_name="arm-picker",
    )  # fmt: skip


def status_line(*, id_prefix: str) -> list:
    """The data status of the current study: its label and, for data under a licence,
    the attribution line (citation and licence) — shown on every page."""
    info = get_study()
    arts = get_artifacts()
    if info is None:
        return [html.Strong(arts.data_label, id=f"{id_prefix}-label")]
    parts: list = [html.Strong(info.data.label, id=f"{id_prefix}-label")]
    if info.data.status != "demo":
        parts += [" · ", html.Span(info.data.credit, id=f"{id_prefix}-credit")]
    return parts


def status_kind() -> str:
    """demo | real | public: the current study's data status (the built data's when unknown)."""
    info = get_study()
    return info.data.status if info else get_artifacts().data_kind


def study_note() -> html.Div:
    """A visible note when the address named a study this app does not have."""
    _, note = current_study()
    note = " ".join(n for n in (note, current_arm()[1]) if n)
    if not note:
        return html.Div(id=STUDY_NOTE)
    return html.Div(
        dbc.Alert(note, color="info", className="py-2 small mt-2 mb-0"),
        id=STUDY_NOTE,
        role="status",
    )


def words() -> dict[str, str]:
    """The current study's nouns and names for page text (``{units}``, ``{clusters}``, ...)."""
    info = get_study()
    if info is None:
        return {
            "unit": "unit", "units": "units", "cluster": "cluster", "clusters": "clusters",
            "stratum": "stratum", "strata": "strata", "staff": "staff", "staff_many": "staff",
            "programme_arm": "programme clusters", "comparison_arm": "comparison clusters",
            "slug": current_study()[0], "title": current_study()[0], "institution": "",
            "innovation": "", "design": "",
        }  # fmt: skip
    n = info.nouns
    arm = current_arm()[0]
    if arm is not None:  # a study with three or more arms: the contrast on screen
        n = dataclasses.replace(
            n, programme_arm=f"the {arm} arm", comparison_arm=f"the {comparison_name()} arm"
        )
    return {
        "unit": n.unit.one,
        "units": n.unit.many,
        "cluster": n.cluster.one,
        "clusters": n.cluster.many,
        "stratum": n.stratum.one,
        "strata": n.stratum.many,
        "staff": n.staff.one,
        "staff_many": n.staff.many,
        "programme_arm": n.programme_arm,
        "comparison_arm": n.comparison_arm,
        "slug": info.slug,
        "title": info.short_title,
        "institution": info.institution,
        "innovation": info.innovation,
        "design": info.design,
    }


def post_only() -> bool:
    """True when the current study's results have no estimator that needs a baseline."""
    res = get_artifacts().results
    return res is not None and set(res["method"].unique()) <= {"post"}
