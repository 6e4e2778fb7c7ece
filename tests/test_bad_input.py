"""Malformed survey exports: each gets a clear message naming file, row and column,
a non-zero exit, and the previously built panel stays byte-identical."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from analysis.__main__ import main
from analysis.panel import manifest_path

ROOT = Path(__file__).resolve().parent.parent


def _wave_file(raw: Path, wave: str) -> Path:
    return next(raw.glob(f"amk_{wave}_*"))


def _edit_csv(raw: Path, wave: str, fn: Callable[[list[list[str]]], None]) -> None:
    path = _wave_file(raw, wave)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    fn(rows)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _set(wave: str, column: str, data_row: int, value: str):
    """Set one cell: data_row is 1-based, header excluded (as in the error messages)."""

    def fn(raw: Path) -> None:
        def edit(rows):
            rows[data_row][rows[0].index(column)] = value

        _edit_csv(raw, wave, edit)

    return fn


def _rename(wave: str, old: str, new: str):
    def fn(raw: Path) -> None:
        def edit(rows):
            rows[0][rows[0].index(old)] = new

        _edit_csv(raw, wave, edit)

    return fn


def _duplicate_row(raw: Path) -> None:
    def edit(rows):
        rows.insert(6, list(rows[3]))  # data row 3 again, as data row 6

    _edit_csv(raw, "midline", edit)


def _arm_changes(raw: Path) -> None:
    def edit(rows):
        col = rows[0].index("GROUP")
        rows[4][col] = "1" if rows[4][col] == "2" else "2"

    _edit_csv(raw, "endline", edit)


def _empty(raw: Path) -> None:
    _wave_file(raw, "midline").write_bytes(b"")


def _header_only(raw: Path) -> None:
    p = _wave_file(raw, "midline")
    p.write_text(p.read_text().splitlines()[0] + "\n")


def _truncated_csv(raw: Path) -> None:
    p = _wave_file(raw, "endline")
    p.write_text(p.read_text() + '10999,"2012-09-01,1,11\n')  # unterminated quote


def _ragged_csv(raw: Path) -> None:
    p = _wave_file(raw, "endline")
    p.write_text(p.read_text() + "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23\n")


def _to_format(raw: Path, wave: str, ext: str) -> Path:
    src = _wave_file(raw, wave)
    df = pd.read_csv(src)
    dst = src.with_suffix(ext)
    if ext == ".sav":
        pyreadstat.write_sav(df.drop(columns=[c for c in df if "DATE" in c.upper()]), str(dst))
    elif ext == ".dta":
        pyreadstat.write_dta(df.drop(columns=[c for c in df if "DATE" in c.upper()]), str(dst))
    src.unlink()
    return dst


def _truncated_sav(raw: Path) -> None:
    p = _to_format(raw, "midline", ".sav")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])


def _truncated_dta(raw: Path) -> None:
    p = _to_format(raw, "midline", ".dta")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _corrupt_xlsx(raw: Path) -> None:
    src = _wave_file(raw, "endline")
    src.with_suffix(".xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    src.unlink()


def _wrong_extension(raw: Path) -> None:
    src = _wave_file(raw, "endline")
    src.rename(src.with_suffix(".txt"))


def _latin1(raw: Path) -> None:
    p = _wave_file(raw, "endline")
    lines = p.read_text().splitlines()
    lines[10] = lines[10].replace(lines[10].split(",")[1], "12/09/2012 caf\xe9", 1)
    p.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


def _no_baseline(raw: Path) -> None:
    _wave_file(raw, "baseline").unlink()


def _two_midlines(raw: Path) -> None:
    src = _wave_file(raw, "midline")
    (raw / "amk_midline_copy.csv").write_bytes(src.read_bytes())


def _stranger(raw: Path) -> None:
    _set("endline", "CLIENT_NO", 2, "99999")(raw)


def _renamed_in_sav(raw: Path) -> None:
    src = _wave_file(raw, "baseline")
    df = pd.read_csv(src).rename(columns={"q302_late": "q302_lateinst"})
    df["int_date"] = pd.to_datetime(df["int_date"])
    pyreadstat.write_sav(df, str(src.with_suffix(".sav")))
    src.unlink()


def _bad_codebook(raw: Path) -> None:
    pass  # the codebook itself is broken: see CASES


CASES = [
    # id, mutate, file fragment, row, column, message fragment
    (
        "missing-column",
        _rename("endline", "CLIENT_NO", "CLIENTNO"),
        "endline",
        None,
        "CLIENT_NO",
        "column not found",
    ),
    (
        "renamed-column-spss",
        _renamed_in_sav,
        "baseline",
        None,
        "q302_late",
        "did you mean 'q302_lateinst'",
    ),
    (
        "text-in-number",
        _set("endline", "E3_2", 5, "three"),
        "endline",
        5,
        "E3_2",
        "'three' is not a number",
    ),
    (
        "yesno-code-out-of-range",
        _set("endline", "E3_1", 7, "7"),
        "endline",
        7,
        "E3_1",
        "code 7 is out of range",
    ),
    (
        "likert-out-of-range",
        _set("midline", "m_att_savsec", 12, "6"),
        "midline",
        12,
        "m_att_savsec",
        "code 6 is out of range",
    ),
    (
        "negative-count",
        _set("baseline", "q302_late", 3, "-2"),
        "baseline",
        3,
        "q302_late",
        "outside the allowed range",
    ),
    (
        "age-out-of-range",
        _set("baseline", "q102_age", 9, "7"),
        "baseline",
        9,
        "q102_age",
        "outside the allowed range",
    ),
    (
        "unknown-province",
        _set("baseline", "prov", 2, "3"),
        "baseline",
        2,
        "prov",
        "code 3 is out of range",
    ),
    (
        "unknown-branch",
        _set("midline", "m_branch", 4, "31"),
        "midline",
        4,
        "m_branch",
        "code 31 is out of range",
    ),
    (
        "midline-yesno-coded-1-2",
        _set("midline", "m_ins", 8, "2"),
        "midline",
        8,
        "m_ins",
        "code 2 is out of range",
    ),
    ("duplicate-client", _duplicate_row, "midline", 3, "m_id", "appears more than once"),
    ("arm-changes", _arm_changes, "endline", 4, "GROUP", "assignment arm"),
    ("client-not-at-baseline", _stranger, "endline", 2, "CLIENT_NO", "not interviewed at baseline"),
    (
        "missing-client-id",
        _set("baseline", "resp_id", 11, ""),
        "baseline",
        11,
        "resp_id",
        "client identifier is missing",
    ),
    (
        "bad-date",
        _set("endline", "INT_DATE", 6, "31/31/2012"),
        "endline",
        6,
        "INT_DATE",
        "is not a date",
    ),
    ("empty-file", _empty, "midline", None, None, "file is empty"),
    ("header-only", _header_only, "midline", None, None, "no data rows"),
    ("truncated-csv", _truncated_csv, "endline", None, None, "malformed or truncated CSV"),
    ("ragged-csv", _ragged_csv, "endline", None, None, "malformed or truncated CSV"),
    ("truncated-sav", _truncated_sav, "midline", None, None, "truncated or corrupt"),
    ("truncated-dta", _truncated_dta, "midline", None, None, "truncated or corrupt"),
    ("corrupt-xlsx", _corrupt_xlsx, "endline", None, None, "truncated or corrupt"),
    ("wrong-extension", _wrong_extension, "endline", None, None, "unsupported file type '.txt'"),
    ("not-utf8", _latin1, "endline", None, None, "not UTF-8 text"),
    ("no-baseline", _no_baseline, "raw", None, None, "no baseline (wave 0) export"),
    (
        "two-files-one-wave",
        _two_midlines,
        "raw",
        None,
        None,
        "several files match the midline pattern",
    ),
]


@pytest.fixture
def built_before(csv_raw, tmp_path):
    """A good panel built first: a failing rebuild must leave it byte-identical."""
    out = tmp_path / "out" / "panel.parquet"
    assert main(["build", "--raw", str(csv_raw), "--out", str(out)]) == 0
    return out, out.read_bytes(), manifest_path(out).read_bytes()


@pytest.mark.parametrize(
    "mutate,file_part,row,column,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input(csv_raw, built_before, capsys, mutate, file_part, row, column, message):
    out, panel_bytes, manifest_bytes = built_before
    capsys.readouterr()
    mutate(csv_raw)
    rc = main(["build", "--raw", str(csv_raw), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ")
    assert "Traceback" not in err
    problem = next(line for line in err.splitlines() if message in line)
    assert file_part in problem
    if row is not None:
        assert f"row {row}," in problem
    if column is not None:
        assert f"column '{column}'" in problem
    assert out.read_bytes() == panel_bytes
    assert manifest_path(out).read_bytes() == manifest_bytes
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_broken_codebook_is_reported(csv_raw, built_before, tmp_path, capsys):
    out, panel_bytes, _ = built_before
    cb = tmp_path / "cb.yaml"
    cb.write_text(
        (ROOT / "data" / "studies" / "amk" / "codebook.yaml")
        .read_text()
        .replace("type: likert", "type: likrt", 1)
    )
    rc = main(["build", "--raw", str(csv_raw), "--codebook", str(cb), "--out", str(out)])
    assert rc == 2
    assert "type must be one of" in capsys.readouterr().err
    assert out.read_bytes() == panel_bytes


def test_missing_raw_folder(tmp_path, capsys):
    rc = main(["build", "--raw", str(tmp_path / "nowhere"), "--out", str(tmp_path / "p.parquet")])
    assert rc == 2
    assert "raw-data folder not found" in capsys.readouterr().err


def test_out_must_be_parquet(csv_raw, tmp_path, capsys):
    rc = main(["build", "--raw", str(csv_raw), "--out", str(tmp_path / "panel.csv")])
    assert rc == 2
    assert "use a .parquet file name" in capsys.readouterr().err
    assert not (tmp_path / "panel.csv").exists()


def test_several_problems_reported_together(csv_raw, tmp_path, capsys):
    _set("endline", "E3_1", 7, "7")(csv_raw)
    _set("endline", "E3_2", 5, "three")(csv_raw)
    rc = main(["build", "--raw", str(csv_raw), "--out", str(tmp_path / "p.parquet")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "2 problem(s)" in err
    assert not (tmp_path / "p.parquet").exists()


def test_cli_process_exit_code_and_message(csv_raw, tmp_path):
    _empty(csv_raw)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "build",
            "--raw",
            str(csv_raw),
            "--out",
            str(tmp_path / "p.parquet"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "file is empty" in proc.stderr
    assert "Traceback" not in proc.stderr
