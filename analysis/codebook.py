"""The codebook: raw survey variables -> harmonised panel variables, plus outcome metadata.

The codebook is a YAML data file (``data/codebook.yaml``).  This module reads it
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

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better."""
        return -1 if self.better == "lower" else 1

    @property
    def is_categorical(self) -> bool:
        return self.values is not None and any(isinstance(v, str) for v in self.values.values())


@dataclass(frozen=True)
class Codebook:
    path: Path
    text: str
    missing_codes: tuple[float, ...]
    waves: dict[int, dict[str, Any]]
    families: dict[str, dict[str, Any]]
    variables: dict[str, Variable] = field(repr=False)

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
    waves = {int(k): dict(v) for k, v in doc["waves"].items()}
    if 0 not in waves:
        raise CodebookError(f"{path}: waves must include 0 (baseline)")
    families = dict(doc["families"])
    variables: dict[str, Variable] = {}
    for group in ("design", "covariates", "outcomes"):
        for name, var in (doc.get(group) or {}).items():
            where = f"{path}: {group}.{name}"
            if not isinstance(var, dict) or "raw" not in var:
                raise CodebookError(f"{where}: needs a 'raw' mapping")
            raw = {int(w): _source(int(w), s, var, default_missing) for w, s in var["raw"].items()}
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
                if set(raw) != set(waves):
                    raise CodebookError(f"{where}: outcome must be mapped in every wave")
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
            )
    for required in ("client_id", "province", "branch", "village", "arm", "exposure"):
        if required not in variables:
            raise CodebookError(f"{path}: design variable '{required}' is not defined")
    return Codebook(path, text, default_missing, waves, families, variables)
