"""Command line of the analysis package: ``python -m analysis <command>``.

Commands
--------
demo      write simulated raw survey exports (one file per wave)
build     build the processed panel from raw exports and the codebook

Every expected failure (bad input, missing file) prints one ``error:`` block to
stderr and exits with status 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.codebook import CodebookError
from analysis.io import RawFileError
from analysis.paths import default_panel


class CliError(Exception):
    """An expected, user-facing failure of a command."""


def _cmd_demo(args: argparse.Namespace) -> int:
    from analysis.demo import write_demo_exports

    formats = tuple(f.strip().lower() for f in args.formats.split(","))
    try:
        files = write_demo_exports(args.out, seed=args.seed, formats=formats)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for f in files:
        print(f"wrote {f}")
    print("These are SIMULATED exports for demonstration, not AMK survey data.")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from analysis.panel import build_panel, manifest_path, write_panel

    panel, manifest = build_panel(args.raw, args.codebook)
    try:
        out = write_panel(panel, manifest, args.out)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    waves = panel.groupby("wave").size().to_dict()
    print(
        f"wrote {out} ({len(panel)} client-waves; clients per wave: {waves}; {manifest['kind']} data)"
    )
    print(f"wrote {manifest_path(out)}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="AMK financial-education evaluation: demo data, panel build and estimates.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="write simulated raw survey exports (one file per wave)")
    p.add_argument("--out", required=True, type=Path, help="folder for the exports")
    p.add_argument("--seed", type=int, default=20100201, help="random seed (default: %(default)s)")
    p.add_argument(
        "--formats",
        default="sav,dta,csv",
        help="one format per wave among csv, xlsx, dta, sav (default: %(default)s)",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("build", help="build the processed panel from raw exports")
    p.add_argument("--raw", required=True, type=Path, help="folder with one export per wave")
    p.add_argument(
        "--codebook", type=Path, default=None, help="codebook YAML (default: data/codebook.yaml)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=default_panel(),
        help="panel file, .parquet (default: %(default)s)",
    )
    p.set_defaults(func=_cmd_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, CodebookError, RawFileError, ValueError) as exc:
        # PanelBuildError is a ValueError; its message lists every problem
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
