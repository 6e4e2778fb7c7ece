"""Build the processed panel from raw survey exports and the codebook.

``build_panel(raw_dir)`` finds the exports (by the codebook's file patterns: one
file per wave, one long file with a wave column, or one wide file with
wave-specific column names — ``input.layout`` in the codebook), reads them (CSV,
XLSX, Stata or SPSS), maps questionnaire codes to harmonised values, links units
across waves, validates the result against a pandera schema and returns the long
panel (one row per unit x wave).  Which variable is the unit, the arm, the
cluster... comes from the codebook's ``roles``, never from names in this code.
``write_panel`` writes it atomically with a provenance manifest beside it.

Every problem is a :class:`~analysis.io.RawFileError` naming the file, the data
row (1-based, header excluded) and the column.  Up to ``MAX_ERRORS`` problems
per build are reported together, so a user can fix several at once.

Example
-------
>>> import tempfile; from pathlib import Path
>>> from analysis.demo import write_demo_exports
>>> raw = Path(tempfile.mkdtemp())
>>> _ = write_demo_exports(raw, seed=1)
>>> panel, manifest = build_panel(raw)
>>> int((panel["wave"] == 0).sum()), manifest["kind"]
(1200, 'demo')
>>> write_panel(panel, manifest, raw / "panel.parquet").name
'panel.parquet'
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.codebook import Codebook, Variable, load_codebook
from analysis.demo import DEMO_LABEL, DEMO_MARKER
from analysis.io import SUPPORTED_EXTENSIONS, RawFileError, atomic_write, read_table
from analysis.paths import PROJECT_ROOT
from analysis.version import code_fingerprint, code_version

MAX_ERRORS = 20
REAL_LABEL = "Survey data imported from the evaluation's exports"


def design_columns(codebook: Codebook) -> list[str]:
    """The panel's leading columns: unit, wave, then the design variables in codebook order."""
    unit = codebook.roles.unit
    return [unit, "wave", *[n for n in codebook.design if n != unit]]


class PanelBuildError(ValueError):
    """One or more problems in the raw exports; ``errors`` holds each as a RawFileError."""

    def __init__(self, errors: list[RawFileError]):
        self.errors = errors
        more = "" if len(errors) < MAX_ERRORS else f"\n(stopped after {MAX_ERRORS} problems)"
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"{len(errors)} problem(s) in the survey exports:\n{lines}{more}")


@dataclass
class _Errors:
    items: list[RawFileError]

    def add(self, file, message, row=None, column=None) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(RawFileError(file, message, row=row, column=column))

    def raise_if_any(self) -> None:
        if self.items:
            raise PanelBuildError(self.items)


def _fmt(value: Any) -> str:
    """A value as a user typed it: 1.0 -> '1'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def panel_content_hash(panel: pd.DataFrame) -> str:
    """A hash of the panel's content (values, column names, dtypes), not of file bytes."""
    h = hashlib.sha256()
    h.update("|".join(f"{c}:{panel[c].dtype}" for c in panel.columns).encode())
    h.update(pd.util.hash_pandas_object(panel, index=False).to_numpy().tobytes())
    return h.hexdigest()


def find_wave_files(raw_dir: str | Path, codebook: Codebook) -> dict[int, Path]:
    """Match one export per wave using the codebook's ``file_pattern``."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise PanelBuildError([RawFileError(raw_dir, "raw-data folder not found")])
    candidates = [
        p for p in sorted(raw_dir.iterdir()) if p.is_file() and not p.name.startswith(".")
    ]
    errors = _Errors([])
    found: dict[int, Path] = {}
    if codebook.layout in ("long", "wide"):
        pattern = str(codebook.input["file_pattern"]).lower()
        matches = [p for p in candidates if fnmatch.fnmatch(p.name.lower(), pattern)]
        if len(matches) != 1:
            what = (
                f"several files match '{pattern}': {', '.join(p.name for p in matches)}; keep one"
                if matches
                else f"no export matches '{pattern}' (the codebook's input.file_pattern)"
            )
            raise PanelBuildError([RawFileError(raw_dir, what)])
        return {wave: matches[0] for wave in sorted(codebook.waves)}
    for wave, meta in sorted(codebook.waves.items()):
        pattern = str(meta.get("file_pattern", f"*wave{wave}*")).lower()
        matches = [p for p in candidates if fnmatch.fnmatch(p.name.lower(), pattern)]
        label = codebook.wave_label(wave)
        if not matches:
            errors.add(
                raw_dir,
                f"no {label.lower()} (wave {wave}) export: expected a file whose name matches "
                f"'{pattern}' with extension {', '.join(SUPPORTED_EXTENSIONS)}",
            )
            continue
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches)
            errors.add(
                raw_dir,
                f"several files match the {label.lower()} pattern '{pattern}': {names}; keep one",
            )
            continue
        found[wave] = matches[0]
    errors.raise_if_any()
    return found


def _numeric(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Convert to float; return the values and a mask of entries that were not numbers."""
    if series.dtype.kind in "iufb":
        return series.astype(float), pd.Series(False, index=series.index)
    text = series.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna() & text.notna() & (text != "")
    return num.astype(float), bad


def _row(df: pd.DataFrame, i: int) -> int:
    """The 1-based data row in the file of the frame's i-th row (its index is the file's)."""
    return int(df.index[i]) + 1


def _harmonise_variable(
    df: pd.DataFrame, var: Variable, wave: int, file: Path, errors: _Errors
) -> pd.Series | None:
    src = var.raw[wave]
    for col in src.names:
        if col not in df.columns:
            close = difflib.get_close_matches(col, df.columns, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            errors.add(
                file, f"column not found (codebook maps it to '{var.name}'){hint}", column=col
            )
            return None
    if var.kind == "date":
        col = src.names[0]
        raw = df[col]
        out = (
            pd.to_datetime(raw, errors="coerce", format="mixed")
            if raw.dtype == object or str(raw.dtype).startswith("str")
            else pd.to_datetime(raw, errors="coerce")
        )
        for i in np.flatnonzero(out.isna().to_numpy() & raw.notna().to_numpy())[:3]:
            errors.add(file, f"'{raw.iloc[i]}' is not a date", row=_row(df, i), column=col)
        return out
    if var.kind == "id":
        col = src.names[0]
        raw = df[col]
        num, _ = _numeric(raw)
        as_int = num.notna() & (num == np.round(num))
        ids = raw.astype("string").str.strip()
        ids = ids.where(~as_int, num.round().astype("Int64").astype("string"))
        for i in np.flatnonzero(ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy())[:3]:
            errors.add(file, f"{var.label.lower()} is missing", row=_row(df, i), column=col)
        return ids
    parts = []
    for col in src.names:
        values, not_number = _numeric(df[col])
        for i in np.flatnonzero(not_number.to_numpy())[:3]:
            errors.add(file, f"'{df[col].iloc[i]}' is not a number", row=_row(df, i), column=col)
        values = values.mask(values.isin(src.missing_codes))
        if src.values is not None:
            allowed = {float(k) for k in src.values}
            bad = values.notna() & ~values.isin(allowed)
            for i in np.flatnonzero(bad.to_numpy())[:3]:
                codes = ", ".join(str(k) for k in src.values)
                miss = (
                    f" (or {', '.join(str(int(c)) for c in src.missing_codes)} for no answer)"
                    if src.missing_codes
                    else ""
                )
                errors.add(
                    file,
                    f"code {values.iloc[i]:g} is out of range: allowed codes are {codes}{miss}",
                    row=_row(df, i),
                    column=col,
                )
        if var.range is not None:
            lo, hi = var.range
            bad = values.notna() & ((values < lo) | (values > hi))
            for i in np.flatnonzero(bad.to_numpy())[:3]:
                errors.add(
                    file,
                    f"value {values.iloc[i]:g} is outside the allowed range {lo:g} to {hi:g}",
                    row=_row(df, i),
                    column=col,
                )
        parts.append(values)
    values = parts[0]
    if var.transform == "ratio":
        den = parts[1].where(parts[1] > 0)
        return values / den
    if var.transform == "log":
        return np.log(values.where(values > 0))
    if var.kind == "code":
        return values.round().astype("Int64").astype("string")
    if src.values is not None:
        mapping = {float(k): v for k, v in src.values.items()}
        mapped = values.map(mapping)
        if var.is_categorical:
            return mapped.astype("string")
        return mapped.astype(float)
    return values


def harmonise_wave(
    df: pd.DataFrame, wave: int, file: Path, codebook: Codebook, errors: _Errors
) -> pd.DataFrame:
    """Map one wave's raw export to harmonised variables (problems go to ``errors``)."""
    out = {}
    for name, var in codebook.variables.items():
        if wave not in var.raw:
            if var.baseline_value is not None and wave == codebook.baseline_wave:
                out[name] = pd.Series(var.baseline_value, index=df.index, dtype=float)
            continue
        series = _harmonise_variable(df, var, wave, file, errors)
        if series is not None:
            out[name] = series
    frame = pd.DataFrame(out, index=df.index)
    frame["wave"] = wave
    frame["_file"] = file.name
    frame["_row"] = np.asarray(df.index, dtype="int64") + 1
    unit = codebook.roles.unit
    if unit in frame:
        dup = frame[unit].duplicated(keep=False) & frame[unit].notna()
        if dup.any():
            col = codebook.design[unit].raw[wave].names[0]
            for cid, rows in frame.loc[dup].groupby(unit)["_row"]:
                rows_txt = ", ".join(str(r) for r in rows.tolist()[:5])
                errors.add(
                    file,
                    f"{unit} {cid} appears more than once in this wave (rows {rows_txt})",
                    row=int(rows.iloc[0]),
                    column=col,
                )
    return frame


def _link_waves(
    frames: dict[int, pd.DataFrame], files: dict[int, Path], codebook: Codebook, errors: _Errors
) -> pd.DataFrame:
    """Stack the waves; check every unit was in the baseline (when there is one) and that its
    assignment, cluster and strata stay the same; repeat baseline-only covariates."""
    roles = codebook.roles
    unit = roles.unit
    first = min(frames)
    base_wave = codebook.baseline_wave if codebook.baseline_wave in frames else None
    ref_wave = base_wave if base_wave is not None else first
    # the reference row of each unit: its baseline row, or (post-only) its first appearance
    stacked = pd.concat([frames[w] for w in sorted(frames)], ignore_index=True)
    base = (
        frames[base_wave].set_index(unit)
        if base_wave is not None
        else stacked.drop_duplicates(unit, keep="first").set_index(unit)
    )
    baseline_only = [n for n, v in codebook.variables.items() if v.baseline_only]
    fixed = [n for n in roles.fixed if n in codebook.design and n in base.columns]
    for wave, frame in frames.items():
        if wave == ref_wave:
            continue
        ids = frame[unit]
        unknown = ~ids.isin(base.index)
        id_col = codebook.design[unit].raw[wave].names[0]
        if base_wave is not None:
            for _, r in frame.loc[unknown].head(3).iterrows():
                errors.add(
                    files[wave],
                    f"{unit} {r[unit]} was not interviewed at baseline",
                    row=int(r["_row"]),
                    column=id_col,
                )
        known = frame.loc[~unknown]
        for name in fixed:
            if name not in known.columns or wave not in codebook.variables[name].raw:
                continue
            b = base.loc[known[unit], name].to_numpy()
            changed = known[name].to_numpy() != b
            changed &= pd.notna(known[name].to_numpy()) & pd.notna(b)
            col = codebook.design[name].raw[wave].names[0]
            where = (
                f"at baseline ({files[base_wave].name})"
                if base_wave is not None
                else f"in its first wave ({files[first].name})"
            )
            for i in np.flatnonzero(changed)[:3]:
                r = known.iloc[i]
                what = "assignment arm" if name == roles.arm else name
                errors.add(
                    files[wave],
                    f"{unit} {r[unit]}'s {what} is '{_fmt(r[name])}' here but '{_fmt(b[i])}' "
                    f"{where}; {what} must stay constant",
                    row=int(r["_row"]),
                    column=col,
                )
    panel = stacked
    # design variables asked in some waves only (e.g. the arm in the baseline file only)
    for name in fixed:
        if any(w not in codebook.variables[name].raw for w in frames):
            panel[name] = panel[name].where(panel[name].notna(), panel[unit].map(base[name]))
    covs = base[[c for c in baseline_only if c in base.columns]]
    panel = panel.drop(
        columns=[c for c in baseline_only if c in panel.columns and c in covs.columns]
    )
    panel = panel.join(covs, on=unit)
    if roles.exposure is not None and roles.exposure in panel and base_wave is not None:
        at_base = panel["wave"] == base_wave
        panel.loc[at_base, roles.exposure] = panel.loc[at_base, roles.exposure].fillna(
            codebook.design[roles.exposure].baseline_value or 0
        )
    return panel


def _arm_is_text(codebook: Codebook) -> bool:
    return codebook.design[codebook.roles.arm].is_categorical


def panel_schema(codebook: Codebook):
    """The pandera schema every processed panel must satisfy."""
    import pandera.pandas as pa

    roles = codebook.roles
    waves = sorted(codebook.waves)
    cols: dict[str, Any] = {
        roles.unit: pa.Column(str, nullable=False),
        "wave": pa.Column(int, pa.Check.isin(waves)),
    }
    for name, var in codebook.design.items():
        if name == roles.unit:
            continue
        if var.kind == "date":
            cols[name] = pa.Column("datetime64[ns]", nullable=True, coerce=True)
        elif name == roles.arm:
            arms = sorted(set(var.values.values()), key=str) if var.values is not None else None
            checks = [pa.Check.isin(arms)] if arms is not None else []
            cols[name] = pa.Column(str if _arm_is_text(codebook) else int, checks)
        elif name == roles.exposure:
            cols[name] = pa.Column(float, pa.Check.isin([0.0, 1.0]), nullable=True)
        elif var.kind == "code" or var.is_categorical:
            checks = (
                [pa.Check.isin([str(v) for v in var.values.values()])]
                if var.values is not None and var.kind != "code"
                else []
            )
            cols[name] = pa.Column(str, checks, nullable=False)
        else:
            cols[name] = pa.Column(float, nullable=True)
    for name, var in codebook.covariates.items():
        if var.is_categorical:
            cols[name] = pa.Column(str, pa.Check.isin(list(var.values.values())), nullable=True)
        else:
            checks = []
            if var.range is not None:
                checks.append(pa.Check.in_range(*var.range))
            if var.values is not None:
                checks.append(pa.Check.isin([float(v) for v in var.values.values()]))
            cols[name] = pa.Column(float, checks, nullable=True)
    for name, var in codebook.outcomes.items():
        if var.type == "likert":
            lo, hi = var.scale or (1.0, 5.0)
            checks = [pa.Check.isin([float(x) for x in np.arange(lo, hi + 1)])]
        else:
            checks = {
                "binary": [pa.Check.isin([0.0, 1.0])],
                "count": [pa.Check.ge(0)],
                "continuous": [
                    pa.Check(lambda s: np.isfinite(s), element_wise=False, error="finite")
                ],
            }[var.type]
        cols[name] = pa.Column(float, checks, nullable=True)
    frame_checks = [
        pa.Check(
            lambda d: d.groupby(roles.unit)[roles.arm].transform("nunique") == 1,
            error="arm must be constant within unit",
        )
    ]
    if codebook.baseline_wave is not None:
        base = codebook.baseline_wave
        frame_checks.append(
            pa.Check(lambda d: (d["wave"] == base).any(), error="panel has no baseline rows")
        )
    return pa.DataFrameSchema(
        cols,
        unique=[roles.unit, "wave"],
        checks=frame_checks,
        strict=False,
        ordered=False,
    )


def _validate(panel: pd.DataFrame, codebook: Codebook, files: dict[int, Path]) -> pd.DataFrame:
    import pandera.errors as pae

    try:
        return panel_schema(codebook).validate(panel, lazy=True)
    except pae.SchemaErrors as exc:
        errors = _Errors([])
        fc = exc.failure_cases
        for _, case in fc.head(MAX_ERRORS).iterrows():
            idx = case.get("index")
            col = case.get("column")
            if idx is not None and pd.notna(idx) and int(idx) in panel.index:
                r = panel.loc[int(idx)]
                wave = int(r["wave"])
                raw_col = (
                    codebook.variables[col]
                    .raw.get(wave, codebook.variables[col].raw.get(0))
                    .names[0]
                    if col in codebook.variables
                    else col
                )
                errors.add(
                    files[wave],
                    f"{case['check']} failed for value {case['failure_case']!r} (panel variable '{col}')",
                    row=int(r["_row"]),
                    column=raw_col,
                )
            else:
                errors.add(
                    files.get(0, "panel"), f"{case['check']} failed (panel variable '{col}')"
                )
        raise PanelBuildError(errors.items) from None


def build_panel(
    raw_dir: str | Path, codebook: Codebook | str | Path | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Build the long panel from one export per wave; return it and its manifest.

    Raises
    ------
    PanelBuildError
        Listing each problem with file, row and column.
    """
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    roles = cb.roles
    files = find_wave_files(raw_dir, cb)
    errors = _Errors([])
    frames = {}
    tables: dict[Path, pd.DataFrame] = {}
    for wave, file in files.items():
        if file not in tables:
            try:
                tables[file] = read_table(file)
            except RawFileError as exc:
                errors.items.append(exc)
                continue
        df = _wave_rows(tables[file], wave, file, cb, errors)
        if df is not None:
            frames[wave] = harmonise_wave(df, wave, file, cb, errors)
    errors.raise_if_any()
    if not frames:
        raise PanelBuildError([RawFileError(Path(raw_dir), "no wave has any rows")])
    panel = _link_waves(frames, files, cb, errors)
    errors.raise_if_any()

    order = design_columns(cb) + list(cb.covariates) + list(cb.outcomes)
    panel = panel.sort_values([roles.unit, "wave"], kind="stable").reset_index(drop=True)
    panel["wave"] = panel["wave"].astype("int64")
    arm_text = _arm_is_text(cb)
    if not arm_text:
        panel[roles.arm] = _whole_numbers(panel[roles.arm], roles.arm, files, errors)
        errors.raise_if_any()
    text_cols = [
        n
        for n, v in cb.design.items()
        if n == roles.unit
        or (n == roles.arm and arm_text)
        or v.kind == "code"
        or (v.is_categorical and n != roles.arm)
    ] + [n for n, v in cb.covariates.items() if v.is_categorical]
    for name in text_cols:
        panel[name] = panel[name].astype(str)
    dates = [n for n, v in cb.design.items() if v.kind == "date"]
    for name in dates:
        panel[name] = pd.to_datetime(panel[name]).astype("datetime64[ns]")
    numeric = (
        [n for n in cb.design if n not in text_cols and n not in dates and n != roles.arm]
        + [n for n, v in cb.covariates.items() if not v.is_categorical]
        + list(cb.outcomes)
    )
    for name in numeric:
        panel[name] = panel[name].astype(float)
    panel = _validate(panel, cb, files)
    if not arm_text:
        panel[roles.arm] = panel[roles.arm].astype("int64")
    panel = panel[order].reset_index(drop=True)

    raw_dir = Path(raw_dir)
    marker = raw_dir / DEMO_MARKER
    demo = json.loads(marker.read_text()) if marker.is_file() else None
    manifest = {
        "kind": "demo" if demo else "real",
        "label": DEMO_LABEL if demo else REAL_LABEL,
        "demo_seed": demo.get("seed") if demo else None,
        "inputs": [
            {
                "wave": w,
                "file": f.name,
                "format": f.suffix[1:].lower(),
                "rows": int((panel["wave"] == w).sum()),
                "sha256": sha256_file(f),
            }
            for w, f in sorted(files.items())
        ],
        "codebook": {"file": cb.path.name, "path": _portable(cb.path), "sha256": cb.sha256},
        "code_version": code_version(),
        "code_fingerprint": code_fingerprint(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "panel_sha256": panel_content_hash(panel),
        "n_rows": int(len(panel)),
        "n_clients_baseline": int((panel["wave"] == _first_wave(cb, panel)).sum()),
        "baseline_wave": cb.baseline_wave,
        "roles": {k: v for k, v in vars(roles).items() if v not in (None, ())},
        "waves": {int(w): cb.wave_label(w) for w in sorted(files)},
    }
    return panel, manifest


def _portable(path: Path) -> str:
    """A path relative to the project when it lies inside it (manifests travel with the repo)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _first_wave(cb: Codebook, panel: pd.DataFrame) -> int:
    """The baseline wave, or the first wave for a study without one."""
    return cb.baseline_wave if cb.baseline_wave is not None else int(panel["wave"].min())


def _whole_numbers(series: pd.Series, name: str, files: dict[int, Path], errors: _Errors):
    """The arm as whole numbers; a missing or fractional arm is reported, not cast."""
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        first = next(iter(files.values()))
        errors.add(first, f"{int(bad.sum())} row(s) have no valid {name} (assignment arm)")
        return series
    return values.astype("Int64")


def _wave_rows(
    df: pd.DataFrame, wave: int, file: Path, cb: Codebook, errors: _Errors
) -> pd.DataFrame | None:
    """The rows of one wave: the whole file, its rows for this wave (long layout), or the
    rows the codebook says were interviewed in this wave (``waves.<w>.present_if``)."""
    meta = cb.waves[wave]
    if cb.layout == "long":
        col = str(cb.input["wave_column"])
        if col not in df.columns:
            errors.add(file, "wave column not found (codebook input.wave_column)", column=col)
            return None
        value = meta.get("value", wave)
        text = df[col].astype("string").str.strip()
        num = pd.to_numeric(text, errors="coerce")
        try:
            rows = num == float(value)
        except (TypeError, ValueError):
            rows = text == str(value)
        df = df.loc[rows.fillna(False).to_numpy()]
        if df.empty:
            errors.add(file, f"no rows have {col} = {value} ({cb.wave_label(wave)})", column=col)
            return None
    present = meta.get("present_if")
    if present is not None:
        if present not in df.columns:
            errors.add(file, f"column not found (waves.{wave}.present_if)", column=str(present))
            return None
        flag = pd.to_numeric(df[present], errors="coerce")
        df = df.loc[(flag.notna() & (flag != 0)).to_numpy()]
    return df


def manifest_path(panel_path: str | Path) -> Path:
    p = Path(panel_path)
    return p.with_name(p.stem + ".manifest.json")


def write_panel(panel: pd.DataFrame, manifest: dict[str, Any], out: str | Path) -> Path:
    """Write the panel (parquet) and its manifest, each atomically."""
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise ValueError(f"{out}: the panel is written as parquet; use a .parquet file name")
    atomic_write(out, lambda tmp: panel.to_parquet(tmp, index=False))
    atomic_write(manifest_path(out), json.dumps(manifest, indent=2).encode("utf-8"))
    return out


def panel_codebook(manifest: dict[str, Any], override: str | Path | None = None) -> Codebook:
    """The codebook a panel was built with, checked against the hash in its manifest.

    ``override`` names the file to use instead of the recorded one (a moved folder); it
    must still be the same codebook.  A codebook changed since the build is refused: the
    panel would be read with other labels, families or roles than it was built with.
    """
    from analysis.codebook import CodebookError

    recorded = manifest.get("codebook") or {}
    if override is not None:
        path = Path(override)
    elif recorded.get("path"):
        path = Path(recorded["path"])
        path = path if path.is_absolute() else PROJECT_ROOT / path
    else:
        path = None  # a panel from before paths were recorded: the default codebook
    cb = load_codebook(path)
    want = recorded.get("sha256")
    if want and want != cb.sha256:
        raise CodebookError(
            f"{cb.path}: the codebook has changed since the panel was built "
            f"(built with {want[:12]}, now {cb.sha256[:12]}); rebuild the panel with "
            "'python -m analysis build' so labels, families and design roles match the data"
        )
    return cb


def read_panel(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a processed panel and its manifest; check the manifest matches the content."""
    path = Path(path)
    panel = pd.read_parquet(path)
    mpath = manifest_path(path)
    manifest = (
        json.loads(mpath.read_text())
        if mpath.is_file()
        else {"kind": "unknown", "label": "Panel without a provenance manifest"}
    )
    if manifest.get("panel_sha256") not in (None, panel_content_hash(panel)):
        manifest = dict(manifest, warning="manifest does not match the panel's content")
    return panel, manifest
