"""Build the processed panel from raw survey exports and the codebook.

``build_panel(raw_dir)`` finds one export per wave (by the codebook's file
patterns), reads it (CSV, XLSX, Stata or SPSS), maps questionnaire codes to
harmonised values, links clients across waves, validates the result against a
pandera schema and returns the long panel (one row per client x wave).
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
from analysis.version import code_fingerprint, code_version

MAX_ERRORS = 20
REAL_LABEL = "Survey data imported from the evaluation's exports"
DESIGN_COLUMNS = [
    "client_id",
    "wave",
    "interview_date",
    "province",
    "branch",
    "village",
    "arm",
    "exposure",
]


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
            errors.add(file, f"'{raw.iloc[i]}' is not a date", row=int(i) + 1, column=col)
        return out
    if var.kind == "id":
        col = src.names[0]
        raw = df[col]
        num, _ = _numeric(raw)
        as_int = num.notna() & (num == np.round(num))
        ids = raw.astype("string").str.strip()
        ids = ids.where(~as_int, num.round().astype("Int64").astype("string"))
        for i in np.flatnonzero(ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy())[:3]:
            errors.add(file, "client identifier is missing", row=int(i) + 1, column=col)
        return ids
    parts = []
    for col in src.names:
        values, not_number = _numeric(df[col])
        for i in np.flatnonzero(not_number.to_numpy())[:3]:
            errors.add(file, f"'{df[col].iloc[i]}' is not a number", row=int(i) + 1, column=col)
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
                    row=int(i) + 1,
                    column=col,
                )
        if var.range is not None:
            lo, hi = var.range
            bad = values.notna() & ((values < lo) | (values > hi))
            for i in np.flatnonzero(bad.to_numpy())[:3]:
                errors.add(
                    file,
                    f"value {values.iloc[i]:g} is outside the allowed range {lo:g} to {hi:g}",
                    row=int(i) + 1,
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
            if var.baseline_value is not None and wave == 0:
                out[name] = pd.Series(var.baseline_value, index=df.index, dtype=float)
            continue
        series = _harmonise_variable(df, var, wave, file, errors)
        if series is not None:
            out[name] = series
    frame = pd.DataFrame(out, index=df.index)
    frame["wave"] = wave
    frame["_file"] = file.name
    frame["_row"] = np.arange(1, len(df) + 1)
    if "client_id" in frame:
        dup = frame["client_id"].duplicated(keep=False) & frame["client_id"].notna()
        if dup.any():
            col = codebook.design["client_id"].raw[wave].names[0]
            for cid, rows in frame.loc[dup].groupby("client_id")["_row"]:
                rows_txt = ", ".join(str(r) for r in rows.tolist()[:5])
                errors.add(
                    file,
                    f"client {cid} appears more than once in this wave (rows {rows_txt})",
                    row=int(rows.iloc[0]),
                    column=col,
                )
    return frame


def _link_waves(
    frames: dict[int, pd.DataFrame], files: dict[int, Path], codebook: Codebook, errors: _Errors
) -> pd.DataFrame:
    base = frames[0].set_index("client_id")
    baseline_only = [n for n, v in codebook.variables.items() if v.baseline_only]
    fixed = ["province", "branch", "village", "arm"]
    for wave, frame in frames.items():
        if wave == 0:
            continue
        ids = frame["client_id"]
        unknown = ~ids.isin(base.index)
        id_col = codebook.design["client_id"].raw[wave].names[0]
        for _, r in frame.loc[unknown].head(3).iterrows():
            errors.add(
                files[wave],
                f"client {r['client_id']} was not interviewed at baseline",
                row=int(r["_row"]),
                column=id_col,
            )
        known = frame.loc[~unknown]
        for name in fixed:
            b = base.loc[known["client_id"], name].to_numpy()
            changed = known[name].to_numpy() != b
            changed &= pd.notna(known[name].to_numpy()) & pd.notna(b)
            col = codebook.design[name].raw[wave].names[0]
            for i in np.flatnonzero(changed)[:3]:
                r = known.iloc[i]
                what = "assignment arm" if name == "arm" else name
                errors.add(
                    files[wave],
                    f"client {r['client_id']}'s {what} is '{_fmt(r[name])}' here but '{_fmt(b[i])}' at baseline "
                    f"({files[0].name}); {what} must stay constant",
                    row=int(r["_row"]),
                    column=col,
                )
    panel = pd.concat(list(frames.values()), ignore_index=True)
    covs = base[baseline_only]
    panel = panel.drop(
        columns=[c for c in baseline_only if c in panel.columns and c in covs.columns]
    )
    panel = panel.join(covs, on="client_id")
    if "exposure" in panel:
        panel.loc[panel["wave"] == 0, "exposure"] = panel.loc[
            panel["wave"] == 0, "exposure"
        ].fillna(codebook.design["exposure"].baseline_value or 0)
    return panel


def panel_schema(codebook: Codebook):
    """The pandera schema every processed panel must satisfy."""
    import pandera.pandas as pa

    waves = sorted(codebook.waves)
    cols: dict[str, Any] = {
        "client_id": pa.Column(str, nullable=False),
        "wave": pa.Column(int, pa.Check.isin(waves)),
        "interview_date": pa.Column("datetime64[ns]", nullable=True, coerce=True),
        "province": pa.Column(
            str, pa.Check.isin(list(codebook.design["province"].values.values()))
        ),
        "branch": pa.Column(str, pa.Check.isin(list(codebook.design["branch"].values.values()))),
        "village": pa.Column(str, nullable=False),
        "arm": pa.Column(int, pa.Check.isin([0, 1])),
        "exposure": pa.Column(float, pa.Check.isin([0.0, 1.0]), nullable=True),
    }
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
        checks = {
            "binary": [pa.Check.isin([0.0, 1.0])],
            "likert": [pa.Check.isin([1.0, 2.0, 3.0, 4.0, 5.0])],
            "count": [pa.Check.ge(0)],
            "continuous": [pa.Check(lambda s: np.isfinite(s), element_wise=False, error="finite")],
        }[var.type]
        cols[name] = pa.Column(float, checks, nullable=True)
    return pa.DataFrameSchema(
        cols,
        unique=["client_id", "wave"],
        checks=[
            pa.Check(
                lambda d: d.groupby("client_id")["arm"].transform("nunique") == 1,
                error="arm must be constant within client",
            ),
            pa.Check(lambda d: (d["wave"] == 0).any(), error="panel has no baseline rows"),
        ],
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
    files = find_wave_files(raw_dir, cb)
    errors = _Errors([])
    frames = {}
    for wave, file in files.items():
        try:
            df = read_table(file)
        except RawFileError as exc:
            errors.items.append(exc)
            continue
        frames[wave] = harmonise_wave(df, wave, file, cb, errors)
    errors.raise_if_any()
    panel = _link_waves(frames, files, cb, errors)
    errors.raise_if_any()

    order = DESIGN_COLUMNS + list(cb.covariates) + list(cb.outcomes)
    panel = panel.sort_values(["client_id", "wave"], kind="stable").reset_index(drop=True)
    panel["wave"] = panel["wave"].astype("int64")
    panel["arm"] = panel["arm"].astype("Int64")
    for name in (
        "client_id",
        "province",
        "branch",
        "village",
        *[n for n, v in cb.covariates.items() if v.is_categorical],
    ):
        panel[name] = panel[name].astype(str)
    for name in (
        ["exposure"]
        + [n for n, v in cb.covariates.items() if not v.is_categorical]
        + list(cb.outcomes)
    ):
        panel[name] = panel[name].astype(float)
    panel["interview_date"] = pd.to_datetime(panel["interview_date"]).astype("datetime64[ns]")
    panel = _validate(panel, cb, files)
    panel["arm"] = panel["arm"].astype("int64")
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
        "codebook": {"file": cb.path.name, "sha256": cb.sha256},
        "code_version": code_version(),
        "code_fingerprint": code_fingerprint(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "panel_sha256": panel_content_hash(panel),
        "n_rows": int(len(panel)),
        "n_clients_baseline": int((panel["wave"] == 0).sum()),
        "waves": {int(w): cb.wave_label(w) for w in sorted(files)},
    }
    return panel, manifest


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
