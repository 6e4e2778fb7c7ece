"""The codebook: raw survey variables -> harmonised panel variables, plus outcome metadata.

The codebook is a YAML data file (``data/studies/<study>/codebook.yaml``).  This module reads it
into small frozen dataclasses and checks it is internally consistent, so that a
typo in the codebook is reported as such rather than as a confusing error later.

Example
-------
>>> cb = load_codebook()
>>> cb.outcomes["repay_difficulty"].better
'lower'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml

from analysis.paths import default_codebook

OUTCOME_TYPES = ("binary", "count", "continuous", "likert")
LAYOUTS = ("per_wave", "long", "wide")
ROLE_KEYS = (
    "unit",
    "cluster",
    "strata",
    "breakdowns",
    "arm",
    "comparison",
    "exposure",
    "interview_date",
    "weights",
    "covariates",
)
# Names the first codebooks used before design roles were declared; a codebook without a
# ``roles`` section gets these roles when it defines these variables.
LEGACY_ROLES = {
    "unit": "client_id",
    "cluster": "village",
    "arm": "arm",
    "exposure": "exposure",
    "interview_date": "interview_date",
}


class CodebookError(ValueError):
    """The codebook file is missing, unreadable or internally inconsistent."""


@dataclass(frozen=True)
class RawSource:
    """How one wave stores one harmonised variable."""

    names: tuple[str, ...]  # one name, or two for a ratio
    values: dict[Any, Any] | None
    missing_codes: tuple[float, ...]


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    group: Literal["design", "covariates", "outcomes"]
    raw: dict[int, RawSource]
    values: dict[Any, Any] | None = None
    range: tuple[float, float] | None = None
    transform: str | None = None
    kind: str | None = None
    baseline_only: bool = False
    baseline_value: Any = None
    # outcome metadata
    short: str | None = None
    phrase: str | None = None
    family: str | None = None
    type: str | None = None
    unit: str | None = None
    better: str | None = None
    scale: tuple[float, float] | None = None  # likert outcomes: lowest and highest answer
    # as a breakdown: the dimension's name in the results (default: the variable's name) and
    # display labels of its levels, in order (default: the values themselves, sorted)
    dimension: str | None = None
    levels: dict[Any, str] | None = None

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better."""
        return -1 if self.better == "lower" else 1

    @property
    def is_categorical(self) -> bool:
        return self.values is not None and any(isinstance(v, str) for v in self.values.values())


@dataclass(frozen=True)
class Roles:
    """Which harmonised variable plays which part in the evaluation's design.

    ``unit`` is the interviewed unit (client, household); ``cluster`` the unit of
    assignment (the unit itself in an individually randomised trial); ``strata`` the
    randomisation strata; ``breakdowns`` the dimensions results may be broken down by;
    ``arm`` the assignment variable, with ``comparison`` the value of the comparison arm
    (every other value is a programme arm compared with it); ``exposure`` (take-up),
    ``interview_date`` and ``weights`` (sampling weights) are optional.
    """

    unit: str
    arm: str
    comparison: Any
    cluster: str
    strata: tuple[str, ...] = ()
    breakdowns: tuple[str, ...] = ()
    exposure: str | None = None
    interview_date: str | None = None
    weights: str | None = None
    covariates: tuple[str, ...] = ()

    @property
    def fixed(self) -> tuple[str, ...]:
        """Variables that must stay constant for a unit across waves (the design ones are
        checked when the panel is built; covariate breakdowns are baseline-only anyway)."""
        names = [self.arm, self.cluster, *self.strata, *self.breakdowns]
        return tuple(dict.fromkeys(n for n in names if n != self.unit))


@dataclass(frozen=True)
class Codebook:
    path: Path
    text: str
    missing_codes: tuple[float, ...]
    waves: dict[int, dict[str, Any]]
    families: dict[str, dict[str, Any]]
    variables: dict[str, Variable] = field(repr=False)
    roles: Roles | None = None
    layout: str = "per_wave"
    input: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def baseline_wave(self) -> int | None:
        """The wave measured before the programme started, or None for a post-only study."""
        for wave, meta in sorted(self.waves.items()):
            if meta.get("baseline"):
                return wave
        return None

    def subsample(self, wave: int) -> str | None:
        """The description of a wave that asked a designed sub-sample of the units
        (``waves.<w>.subsample``), else None: units outside it are not lost to attrition."""
        sub = self.waves.get(wave, {}).get("subsample")
        if not sub:
            return None
        return sub if isinstance(sub, str) else "a designed sub-sample"

    def outcome_waves(self, name: str) -> list[int]:
        """The waves in which an outcome was asked."""
        return sorted(self.outcomes[name].raw)

    def has_baseline(self, name: str) -> bool:
        """True when the outcome was measured at the baseline wave."""
        return self.baseline_wave is not None and self.baseline_wave in self.outcomes[name].raw

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def _group(self, group: str) -> dict[str, Variable]:
        return {k: v for k, v in self.variables.items() if v.group == group}

    @cached_property
    def design(self) -> dict[str, Variable]:
        return self._group("design")

    @cached_property
    def covariates(self) -> dict[str, Variable]:
        return self._group("covariates")

    @cached_property
    def outcomes(self) -> dict[str, Variable]:
        return self._group("outcomes")

    def wave_label(self, wave: int) -> str:
        return str(self.waves[wave]["label"])

    def family_label(self, family: str) -> str:
        return str(self.families[family]["label"])

    def outcome_frame(self):
        """Outcome metadata as a DataFrame (one row per outcome, codebook order)."""
        import pandas as pd

        rows = [
            {
                "outcome": v.name,
                "label": v.label,
                "short": v.short or v.label,
                "phrase": v.phrase,
                "family": v.family,
                "family_label": self.family_label(v.family),
                "type": v.type,
                "unit": v.unit,
                "better": v.better,
            }
            for v in self.outcomes.values()
        ]
        return pd.DataFrame(rows)


def _source(wave: int, spec: Any, var: dict, default_missing: tuple) -> RawSource:
    base_values = var.get("values")
    base_missing = tuple(var.get("missing_codes", default_missing))
    if isinstance(spec, str):
        return RawSource((spec,), base_values, base_missing)
    if isinstance(spec, list):
        return RawSource(tuple(spec), base_values, base_missing)
    if isinstance(spec, dict) and "name" in spec:
        names = spec["name"]
        names = (names,) if isinstance(names, str) else tuple(names)
        return RawSource(
            names,
            spec.get("values", base_values),
            tuple(spec.get("missing_codes", base_missing)),
        )
    raise CodebookError(f"raw source for wave {wave} must be a name, a list or {{name: ...}}")


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Read and check a codebook YAML file (the project's own by default)."""
    path = Path(path) if path is not None else default_codebook()
    try:
        text = path.read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
    except FileNotFoundError as exc:
        raise CodebookError(f"{path}: codebook not found") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CodebookError(f"{path}: cannot read codebook: {exc}") from exc
    if not isinstance(doc, dict):
        raise CodebookError(f"{path}: codebook must be a YAML mapping")
    for key in ("waves", "design", "outcomes", "families"):
        if key not in doc:
            raise CodebookError(f"{path}: codebook has no '{key}' section")
    default_missing = tuple(doc.get("missing_codes", []))
    waves = _waves(path, doc["waves"])
    layout, input_spec = _input(path, doc.get("input"))
    families = dict(doc["families"] or {})
    variables: dict[str, Variable] = {}
    for group in ("design", "covariates", "outcomes"):
        for name, var in (doc.get(group) or {}).items():
            where = f"{path}: {group}.{name}"
            if not isinstance(var, dict) or "raw" not in var:
                raise CodebookError(f"{where}: needs a 'raw' mapping")
            raw_spec = var["raw"]
            if isinstance(raw_spec, (str, list)) or (
                isinstance(raw_spec, dict) and "name" in raw_spec
            ):
                # one spec for every wave: the long layout, or the same column name each round
                raw_spec = {w: raw_spec for w in waves}
            if not isinstance(raw_spec, dict) or not raw_spec:
                raise CodebookError(f"{where}: 'raw' must map waves to column names")
            try:
                raw = {
                    int(w): _source(int(w), s, var, default_missing) for w, s in raw_spec.items()
                }
            except (TypeError, ValueError) as exc:
                raise CodebookError(f"{where}: raw waves must be wave numbers ({exc})") from None
            for w in raw:
                if w not in waves:
                    raise CodebookError(f"{where}: raw source for unknown wave {w}")
            if group == "outcomes":
                for key in ("label", "family", "type", "unit", "better"):
                    if key not in var:
                        raise CodebookError(f"{where}: outcome needs '{key}'")
                if var["type"] not in OUTCOME_TYPES:
                    raise CodebookError(f"{where}: type must be one of {OUTCOME_TYPES}")
                if var["family"] not in families:
                    raise CodebookError(f"{where}: unknown family '{var['family']}'")
                if var["better"] not in ("higher", "lower"):
                    raise CodebookError(f"{where}: better must be 'higher' or 'lower'")
                if var["type"] == "likert":
                    scale = var.get("scale", [1, 5])
                    if (
                        not isinstance(scale, list)
                        or len(scale) != 2
                        or not all(isinstance(x, (int, float)) for x in scale)
                        or scale[0] >= scale[1]
                    ):
                        raise CodebookError(
                            f"{where}: scale must be [lowest, highest], e.g. [1, 5]"
                        )
            transform = var.get("transform")
            if transform not in (None, "log", "ratio"):
                raise CodebookError(f"{where}: unknown transform '{transform}'")
            for w, src in raw.items():
                want = 2 if transform == "ratio" else 1
                if len(src.names) != want:
                    raise CodebookError(f"{where}: wave {w} needs {want} raw name(s)")
            rng = var.get("range")
            variables[name] = Variable(
                name=name,
                label=str(var.get("label", name)),
                group=group,  # type: ignore[arg-type]
                raw=raw,
                values=var.get("values"),
                range=(float(rng[0]), float(rng[1])) if rng else None,
                transform=transform,
                kind=var.get("kind"),
                baseline_only=bool(var.get("baseline_only", False)),
                baseline_value=var.get("baseline_value"),
                short=var.get("short"),
                phrase=var.get("phrase"),
                family=var.get("family"),
                type=var.get("type"),
                unit=var.get("unit"),
                better=var.get("better"),
                dimension=var.get("dimension"),
                levels=_levels(where, var.get("levels")),
                scale=(
                    (float(var.get("scale", [1, 5])[0]), float(var.get("scale", [1, 5])[1]))
                    if var.get("type") == "likert"
                    else None
                ),
            )
            if variables[name].baseline_only and _baseline(waves) not in raw:
                raise CodebookError(
                    f"{where}: baseline_only needs a raw source at the baseline wave"
                )
    roles = _roles(path, doc.get("roles"), variables)
    return Codebook(
        path, text, default_missing, waves, families, variables, roles, layout, input_spec
    )


def _levels(where: str, spec: Any) -> dict[Any, str] | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or not spec:
        raise CodebookError(f"{where}: levels must map each value to its label")
    return {k: str(v) for k, v in spec.items()}


def _baseline(waves: dict[int, dict[str, Any]]) -> int | None:
    return next((w for w, m in sorted(waves.items()) if m.get("baseline")), None)


def _waves(path: Path, spec: Any) -> dict[int, dict[str, Any]]:
    """Waves: any number; at most one marked ``baseline: true``.

    Codebooks written before baselines were optional mark none: their wave 0 is the baseline.
    """
    if not isinstance(spec, dict) or not spec:
        raise CodebookError(f"{path}: waves must map wave numbers to {{label: ...}}")
    waves: dict[int, dict[str, Any]] = {}
    for key, meta in spec.items():
        try:
            wave = int(key)
        except (TypeError, ValueError):
            raise CodebookError(f"{path}: waves.{key}: wave keys must be whole numbers") from None
        if not isinstance(meta, dict) or "label" not in meta:
            raise CodebookError(f"{path}: waves.{key}: needs a label")
        sub = meta.get("subsample")
        if sub is not None and not isinstance(sub, bool | str):
            raise CodebookError(
                f"{path}: waves.{key}.subsample: say who was sampled (text), or true"
            )
        waves[wave] = dict(meta)
    marked = [w for w, m in waves.items() if m.get("baseline")]
    if len(marked) > 1:
        raise CodebookError(f"{path}: only one wave can be the baseline (marked: {marked})")
    if not marked and 0 in waves and not any("baseline" in m for m in waves.values()):
        waves[0]["baseline"] = True
    return waves


def _input(path: Path, spec: Any) -> tuple[str, dict[str, Any]]:
    """How the exports are laid out: one file per wave, one long file, or one wide file."""
    if spec is None:
        return "per_wave", {}
    if not isinstance(spec, dict):
        raise CodebookError(f"{path}: input must be a mapping with a 'layout'")
    layout = spec.get("layout", "per_wave")
    if layout not in LAYOUTS:
        raise CodebookError(f"{path}: input.layout must be one of {LAYOUTS}, not '{layout}'")
    if layout in ("long", "wide") and not spec.get("file_pattern"):
        raise CodebookError(f"{path}: input.file_pattern is needed for the {layout} layout")
    if layout == "long" and not spec.get("wave_column"):
        raise CodebookError(f"{path}: input.wave_column is needed for the long layout")
    return layout, dict(spec)


def _roles(path: Path, spec: Any, variables: dict[str, Variable]) -> Roles:
    """Read the ``roles`` section (or infer it for a codebook written before roles existed)."""
    design = {n for n, v in variables.items() if v.group == "design"}
    if spec is None:
        spec = {k: v for k, v in LEGACY_ROLES.items() if v in design}
        spec.setdefault("breakdowns", [n for n in ("province", "branch") if n in design])
        spec["covariates"] = [n for n, v in variables.items() if v.group == "covariates"]
    if not isinstance(spec, dict):
        raise CodebookError(f"{path}: roles must be a mapping (unit, arm, cluster, ...)")
    unknown = set(spec) - set(ROLE_KEYS)
    if unknown:
        raise CodebookError(
            f"{path}: roles.{sorted(unknown)[0]} is not a role; roles are {', '.join(ROLE_KEYS)}"
        )
    for key in ("unit", "arm"):
        if not spec.get(key):
            raise CodebookError(f"{path}: roles.{key} is required (the {key} variable's name)")

    def one(key: str, required_group: set[str] | None = None) -> str | None:
        name = spec.get(key)
        if name is None:
            return None
        if not isinstance(name, str) or name not in variables:
            raise CodebookError(f"{path}: roles.{key}: '{name}' is not a codebook variable")
        if required_group is not None and name not in required_group:
            raise CodebookError(f"{path}: roles.{key}: '{name}' must be a design variable")
        return name

    def many(key: str) -> tuple[str, ...]:
        names = spec.get(key) or []
        names = [names] if isinstance(names, str) else names
        for name in names:
            if name not in variables:
                raise CodebookError(f"{path}: roles.{key}: '{name}' is not a codebook variable")
        return tuple(names)

    unit = one("unit", design)
    arm = one("arm", design)
    if variables[unit].kind != "id":  # type: ignore[index]
        raise CodebookError(f"{path}: roles.unit: '{unit}' needs kind: id")
    arm_values = variables[arm].values  # type: ignore[index]
    comparison = spec.get("comparison", 0)
    if arm_values is not None and comparison not in set(arm_values.values()):
        raise CodebookError(
            f"{path}: roles.comparison: {comparison!r} is not one of the arm's values "
            f"{sorted(set(arm_values.values()), key=str)}"
        )
    date = one("interview_date", design)
    if date is not None and variables[date].kind != "date":
        raise CodebookError(f"{path}: roles.interview_date: '{date}' needs kind: date")
    return Roles(
        unit=unit,  # type: ignore[arg-type]
        arm=arm,  # type: ignore[arg-type]
        comparison=comparison,
        cluster=one("cluster", design) or unit,  # type: ignore[arg-type]
        strata=many("strata"),
        breakdowns=many("breakdowns"),
        exposure=one("exposure", design),
        interview_date=date,
        weights=one("weights"),
        covariates=many("covariates"),
    )
