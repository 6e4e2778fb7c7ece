"""A study's description: ``data/studies/<id>/study.yaml``.

Everything the pages, findings, slides and file names say about one evaluation —
its title, institution, country, innovation, design, where its data comes from
(simulated demo, real survey exports, public replication data with its licence
and citation) and the nouns to use for its units — lives in that file, so that no
study-specific word is written in code.

Example
-------
>>> s = load_study("proirri")
>>> s.data.status, s.nouns.unit.many
('public', 'households')
>>> s.data.credit.startswith("Data: ")
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.paths import STUDY_ID, study_dir, study_ids

DATA_STATUSES = ("demo", "real", "public")
NOUN_KEYS = ("unit", "cluster", "stratum", "staff")
DEFAULT_NOUNS = {
    "unit": ("client", "clients"),
    "cluster": ("cluster", "clusters"),
    "stratum": ("stratum", "strata"),
    "staff": ("staff member", "staff"),
}


# Who says which study "the current one" is when a caller passes none: the app registers
# its per-request answer here (components.store), so that sentences and captions built
# without an explicit study follow the study on screen; outside the app it is None and the
# default study is used.
_CURRENT_STUDY: list = [None]


def set_current_study_resolver(resolver) -> None:
    """Register a callable returning the current Study (or None) -- the app's per-request study."""
    _CURRENT_STUDY[0] = resolver


def current_study_or_none() -> Study | None:
    """The current study as the registered resolver says (None without one)."""
    resolver = _CURRENT_STUDY[0]
    return resolver() if resolver is not None else None


class StudyError(ValueError):
    """A study folder or its study.yaml is missing or malformed."""


@dataclass(frozen=True)
class Noun:
    one: str
    many: str

    def count(self, n: int) -> str:
        """'1 village', '42 villages'."""
        return f"{n:,} {self.one if n == 1 else self.many}"


@dataclass(frozen=True)
class Nouns:
    unit: Noun
    cluster: Noun
    stratum: Noun
    staff: Noun
    programme_arm: str  # e.g. "programme villages"
    comparison_arm: str  # e.g. "comparison villages"


@dataclass(frozen=True)
class DataSource:
    status: str  # demo | real | public
    label: str  # one line shown on every page and download
    source: str | None = None
    citation: str | None = None
    licence: str | None = None
    licence_url: str | None = None

    @property
    def credit(self) -> str:
        """The attribution line for pages and downloads ('' for data without a licence)."""
        if self.status == "demo":
            return self.label
        parts = [f"Data: {self.citation or self.source or self.label}"]
        if self.licence:
            parts.append(
                f"Licence: {self.licence}" + (f" ({self.licence_url})" if self.licence_url else "")
            )
        return ". ".join(parts) + "."


@dataclass(frozen=True)
class Study:
    id: str
    title: str
    short_title: str
    institution: str
    country: str
    innovation: str
    design: str
    data: DataSource
    nouns: Nouns
    programme: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    folder: Path = field(default=Path("."), repr=False)

    @property
    def slug(self) -> str:
        """A file-name-safe prefix for downloads of this study: study.yaml's ``file_prefix``
        (e.g. ``amk-fe``), else the study id."""
        prefix = str(self.extra.get("file_prefix") or "").strip().lower()
        return prefix if STUDY_ID.match(prefix) else self.id


def _noun(where: str, value: Any, default: tuple[str, str]) -> Noun:
    if value is None:
        return Noun(*default)
    if isinstance(value, str):
        return Noun(value, value + "s")
    if (
        isinstance(value, dict)
        and isinstance(value.get("one"), str)
        and isinstance(value.get("many"), str)
    ):
        return Noun(value["one"], value["many"])
    raise StudyError(f"{where}: a noun is a word or {{one: ..., many: ...}}")


def _text(doc: dict, key: str, where: str, required: bool = True) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise StudyError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, (str, int, float)):
        raise StudyError(f"{where}: '{key}' must be text")
    return " ".join(str(value).split())


def load_study(study: str | None = None, folder: str | Path | None = None) -> Study:
    """Read and check a study's ``study.yaml`` (by id, or from a folder)."""
    if folder is None:
        if study is not None and not STUDY_ID.match(study):
            raise StudyError(f"'{study}' is not a study id (lower-case letters, digits, - and _)")
        folder = study_dir(study)
    folder = Path(folder)
    path = folder / "study.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(study_ids()) or "none"
        raise StudyError(f"{path}: no such study (shipped studies: {known})") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StudyError(f"{path}: cannot read study file: {exc}") from None
    if not isinstance(doc, dict):
        raise StudyError(f"{path}: must be a YAML mapping")
    where = str(path)
    data = doc.get("data")
    if not isinstance(data, dict):
        raise StudyError(f"{where}: 'data' must say where the data comes from (status, label, ...)")
    status = data.get("status")
    if status not in DATA_STATUSES:
        raise StudyError(f"{where}: data.status must be one of {', '.join(DATA_STATUSES)}")
    source = DataSource(
        status=status,
        label=_text(data, "label", f"{where}: data"),  # type: ignore[arg-type]
        source=_text(data, "source", f"{where}: data", required=False),
        citation=_text(data, "citation", f"{where}: data", required=status == "public"),
        licence=_text(data, "licence", f"{where}: data", required=status == "public"),
        licence_url=_text(data, "licence_url", f"{where}: data", required=False),
    )
    nouns_doc = doc.get("nouns") or {}
    if not isinstance(nouns_doc, dict):
        raise StudyError(f"{where}: 'nouns' must be a mapping")
    unknown = set(nouns_doc) - set(NOUN_KEYS) - {"programme_arm", "comparison_arm"}
    if unknown:
        raise StudyError(
            f"{where}: nouns.{sorted(unknown)[0]} is not one of {', '.join(NOUN_KEYS)}"
        )
    nouns = {k: _noun(f"{where}: nouns.{k}", nouns_doc.get(k), DEFAULT_NOUNS[k]) for k in NOUN_KEYS}
    study_id = folder.name
    return Study(
        id=study_id,
        title=_text(doc, "title", where),  # type: ignore[arg-type]
        short_title=_text(doc, "short_title", where, required=False) or _text(doc, "title", where),  # type: ignore[arg-type]
        institution=_text(doc, "institution", where),  # type: ignore[arg-type]
        country=_text(doc, "country", where),  # type: ignore[arg-type]
        innovation=_text(doc, "innovation", where),  # type: ignore[arg-type]
        design=_text(doc, "design", where),  # type: ignore[arg-type]
        programme=_text(doc, "programme", where, required=False),
        data=source,
        nouns=Nouns(
            **nouns,
            programme_arm=_text(nouns_doc, "programme_arm", where, required=False)
            or f"programme {nouns['cluster'].many}",
            comparison_arm=_text(nouns_doc, "comparison_arm", where, required=False)
            or f"comparison {nouns['cluster'].many}",
        ),
        extra={k: v for k, v in doc.items() if k not in Study.__dataclass_fields__},
        folder=folder,
    )
