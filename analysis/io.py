"""Reading and writing survey exports and artefacts: four formats, atomic writes.

Reading turns every failure (empty file, truncated file, wrong encoding, wrong
extension) into a :class:`RawFileError` that names the file, so the command line
can print one clear line instead of a traceback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

SUPPORTED_EXTENSIONS = (".csv", ".xlsx", ".dta", ".sav")


class RawFileError(ValueError):
    """A raw survey export cannot be read or does not fit the codebook.

    Carries the file, the 1-based data row (header excluded) and the column when
    they are known, and formats them into one actionable message.
    """

    def __init__(self, file, message: str, *, row: int | None = None, column: str | None = None):
        self.file = str(file)
        self.row = row
        self.column = column
        self.detail = message
        where = [self.file]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


def atomic_write(path: str | Path, data: bytes | Callable[[Path], None]) -> Path:
    """Write ``path`` via a temporary file in the same folder and an atomic rename.

    ``data`` is either the bytes to write or a function that writes to the
    temporary path it is given.  If anything fails, the previous file is untouched
    and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp_path = Path(tmp)
    try:
        if callable(data):
            os.close(fd)
            data(tmp_path)
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.close(fd)
        except OSError:
            pass
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def write_table(
    df: pd.DataFrame,
    path: str | Path,
    *,
    value_labels: dict[str, dict[int, str]] | None = None,
    column_labels: dict[str, str] | None = None,
) -> Path:
    """Write a survey-style export (csv, xlsx, dta or sav) atomically, by extension."""
    import pyreadstat

    path = Path(path)
    ext = path.suffix.lower()
    cols = list(df.columns)
    labels_list = [(column_labels or {}).get(c, "")[:80] for c in cols]
    vlabels = {k: {float(c): t for c, t in v.items()} for k, v in (value_labels or {}).items()}

    def writer(tmp: Path) -> None:
        if ext == ".csv":
            df.to_csv(tmp, index=False, date_format="%Y-%m-%d")
        elif ext == ".xlsx":
            df.to_excel(tmp, index=False, engine="openpyxl")
        elif ext == ".sav":
            pyreadstat.write_sav(
                df, str(tmp), column_labels=labels_list, variable_value_labels=vlabels
            )
        elif ext == ".dta":
            pyreadstat.write_dta(
                df, str(tmp), column_labels=labels_list, variable_value_labels=vlabels, version=15
            )
        else:
            raise ValueError(f"unsupported export format '{ext}'")

    return atomic_write(path, writer)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one raw export as questionnaire codes (value labels are not applied).

    Raises
    ------
    RawFileError
        For a wrong extension, an empty, truncated or corrupt file, or text that
        is not UTF-8.
    """
    import pyreadstat

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise RawFileError(
            path,
            f"unsupported file type '{ext or '(none)'}'; export the wave as one of "
            + ", ".join(SUPPORTED_EXTENSIONS),
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RawFileError(path, f"cannot open file: {exc.strerror}") from exc
    if size == 0:
        raise RawFileError(path, "file is empty (0 bytes)")
    try:
        if ext == ".csv":
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise RawFileError(
                    path,
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
                    "re-export the file with UTF-8 encoding",
                ) from None
            import io

            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
        elif ext == ".xlsx":
            df = pd.read_excel(path, engine="openpyxl")
        elif ext == ".sav":
            df, _ = pyreadstat.read_sav(str(path), apply_value_formats=False)
        else:
            df, _ = pyreadstat.read_dta(str(path), apply_value_formats=False)
    except RawFileError:
        raise
    except pd.errors.EmptyDataError:
        raise RawFileError(path, "file has no header and no rows") from None
    except pd.errors.ParserError as exc:
        raise RawFileError(path, f"malformed or truncated CSV: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes one clear message
        raise RawFileError(
            path, f"cannot be read as {ext[1:].upper()} (truncated or corrupt?): {exc}"
        ) from None
    if len(df.columns) == 0:
        raise RawFileError(path, "file has no columns")
    if len(df) == 0:
        raise RawFileError(path, "file has a header but no data rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df
