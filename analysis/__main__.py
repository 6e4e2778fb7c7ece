"""Command line of the analysis package: ``python -m analysis <command>``.

Commands
--------
demo      write simulated raw survey exports (one file per wave)
build     build the processed panel from raw exports and the codebook
results   estimate everything into the cached results table (skipped when up to date)
estimate  run the post-only, ANCOVA or TWFE estimator on any panel file, given its column roles

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
    print("These are SIMULATED exports for demonstration, not real survey data.")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from analysis.panel import build_panel, manifest_path, write_panel

    panel, manifest = build_panel(args.raw, args.codebook)
    try:
        out = write_panel(panel, manifest, args.out)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    waves = panel.groupby("wave").size().to_dict()
    unit = manifest.get("roles", {}).get("unit", "unit")
    print(
        f"wrote {out} ({len(panel)} rows, one per {unit} and wave: {waves}; {manifest['kind']} data)"
    )
    print(f"wrote {manifest_path(out)}")
    return 0


def _cmd_results(args: argparse.Namespace) -> int:
    from analysis.panel import panel_codebook, read_panel
    from analysis.results import results_manifest_path, write_results

    if not Path(args.panel).is_file():
        raise CliError(f"{args.panel}: panel not found; build it with 'python -m analysis build'")
    _, manifest = read_panel(args.panel)
    codebook = panel_codebook(manifest, args.codebook)
    out, rebuilt = write_results(
        args.panel,
        args.out,
        codebook=codebook,
        min_cell=args.min_cell,
        draws=args.draws,
        seed=args.seed,
        force=args.force,
        progress=(lambda msg: print(f"  estimating {msg}", file=sys.stderr))
        if args.verbose
        else None,
    )
    if rebuilt:
        import json

        m = json.loads(results_manifest_path(out).read_text())
        print(f"wrote {out} ({m['n_rows']} rows in {m['build_seconds']} s; {m['data_kind']} data)")
    else:
        print(f"{out} is up to date (same panel, code and settings)")
    return 0


def _read_any_panel(path: Path):
    import pandas as pd

    ext = path.suffix.lower()
    if not path.is_file():
        raise CliError(f"{path}: file not found")
    try:
        if ext == ".parquet":
            return pd.read_parquet(path)
        if ext == ".csv":
            return pd.read_csv(path)
        if ext == ".dta":
            return pd.read_stata(path, convert_categoricals=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported in one line
        raise CliError(f"{path}: cannot be read as {ext[1:]}: {exc}") from None
    raise CliError(f"{path}: unsupported panel format '{ext}' (use .parquet, .csv or .dta)")


def _estimate_rows(df, args: argparse.Namespace, outcome: str) -> list:
    """The fitted effects of one outcome (one per arm for post and ancova)."""
    from analysis.estimators import fit_twfe
    from analysis.post import fit_ancova_arms, fit_post

    common = dict(
        y=outcome, treat=args.treat, cluster=args.cluster, controls=args.controls,
        inference=args.inference, draws=args.draws, seed=args.seed,
    )  # fmt: skip
    if args.method == "twfe":
        weights = None
        if args.weights:
            from analysis.post import numeric_column

            weights = numeric_column(df, args.weights, "weight").to_numpy()
            if (weights < 0).any():
                raise CliError(f"weight '{args.weights}' has negative values")
        return [fit_twfe(df, unit=args.unit, time=args.time, weights=weights, **common)]
    design = dict(
        unit=args.unit, time=args.time, wave=args.wave, strata=args.strata, weights=args.weights,
        control_arm=args.control_arm,
    )  # fmt: skip
    if args.method == "post":
        return fit_post(df, **design, **common)
    return fit_ancova_arms(df, **design, **common)


def _check_estimate_args(df, args: argparse.Namespace) -> None:
    from analysis.estimators import check_columns

    if args.draws < 1:
        raise CliError(f"--draws must be at least 1 (got {args.draws})")
    named = [args.unit, args.time, args.treat, *args.outcome, args.cluster, args.weights]
    check_columns(df, [c for c in [*named, *args.strata, *args.controls] if c])
    if args.method == "twfe":
        for flag, value in [
            ("--wave", args.wave),
            ("--strata", args.strata),
            ("--control-arm", args.control_arm),
        ]:
            if value:
                raise CliError(
                    f"{flag} is for --method post or ancova; twfe uses every period, absorbs "
                    "time-invariant strata in the unit fixed effects and takes a 0/1 --treat"
                )


def _cmd_estimate(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from analysis.core import EstimationError

    df = _read_any_panel(args.panel)
    if df.empty:
        raise CliError(f"{args.panel}: the file has no rows")
    try:
        _check_estimate_args(df, args)
    except EstimationError as exc:
        raise CliError(str(exc)) from None
    rows, problems = [], []
    for outcome in args.outcome:
        try:
            results = _estimate_rows(df, args, outcome)
        except EstimationError as exc:
            msg = str(exc)
            problems.append(msg if f"'{outcome}'" in msg else f"outcome '{outcome}': {msg}")
            continue
        for res in results:
            row = res.tidy().iloc[0]
            rows.append(
                {
                    "outcome": outcome, "method": args.method, "term": row["term"],
                    "estimate": row["estimate"], "std_error": row["std_error"],
                    "ci_low": row["ci95_low"], "ci_high": row["ci95_high"], "p_value": row["p_value"],
                    "n_obs": int(row["n_obs"]), "n_units": int(row["n_clients"]),
                    "n_clusters": int(row["n_clusters"]), "inference": args.inference,
                    "boot_draws": None if pd.isna(row["boot_draws"]) else int(row["boot_draws"]),
                }
            )  # fmt: skip
    if problems:
        # one error block naming every outcome that cannot be estimated; nothing half-printed
        raise CliError("\n  ".join(["cannot estimate:", *problems]))
    out = pd.DataFrame(rows)
    if args.format == "json":
        print(json.dumps(json.loads(out.to_json(orient="records", double_precision=15)), indent=2))
    else:
        print(out.to_csv(index=False), end="")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Impact evaluation of a study: demo data, panel build and estimates.",
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
        "--codebook",
        type=Path,
        default=None,
        help="codebook YAML (default: the default study's, data/studies/<study>/codebook.yaml)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=default_panel(),
        help="panel file, .parquet (default: %(default)s)",
    )
    p.set_defaults(func=_cmd_build)

    from analysis.paths import default_results

    p = sub.add_parser("results", help="estimate everything into the cached results table")
    p.add_argument(
        "--panel", type=Path, default=default_panel(), help="processed panel (default: %(default)s)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=default_results(),
        help="results table (default: %(default)s)",
    )
    p.add_argument(
        "--min-cell",
        type=int,
        default=None,
        help="suppress cells with fewer clients in an arm (default: AMK_MIN_CELL or 10)",
    )
    p.add_argument(
        "--draws", type=int, default=999, help="wild bootstrap draws (default: %(default)s)"
    )
    p.add_argument(
        "--seed", type=int, default=20100201, help="wild bootstrap seed (default: %(default)s)"
    )
    p.add_argument(
        "--codebook",
        type=Path,
        default=None,
        help="codebook YAML (default: the one the panel was built with, from its manifest; "
        "refused if it changed since)",
    )
    p.add_argument("--force", action="store_true", help="rebuild even when up to date")
    p.add_argument("--verbose", action="store_true", help="print progress")
    p.set_defaults(func=_cmd_results)

    p = sub.add_parser(
        "estimate",
        help="post-only, ANCOVA or TWFE estimate on any panel file",
        description=(
            "Estimate a treatment effect on any long panel (parquet, CSV or Stata). "
            "post: the outcome at one wave (--wave, default the last period) on the arm "
            "indicators, strata fixed effects and controls; --treat is the assignment. "
            "ancova: the same plus the outcome in the first period, which is the baseline and "
            "must precede --wave. twfe: unit and period fixed effects, --treat is the unit's 0/1 "
            "treatment status in that period and controls are time-varying. With more than two "
            "values in --treat, post and ancova print one row per arm against --control-arm. "
            "Errors are CR1 cluster-robust with t(G-1), or the wild cluster bootstrap."
        ),
    )
    p.add_argument("panel", type=Path, help="panel file: .parquet, .csv or .dta")
    p.add_argument("--unit", metavar="COL", required=True, help="unit identifier column")
    p.add_argument("--time", metavar="COL", required=True, help="period column")
    p.add_argument(
        "--treat",
        metavar="COL",
        required=True,
        help="assignment (post, ancova) or 0/1 status (twfe) column",
    )
    p.add_argument(
        "--outcome",
        metavar="COL",
        required=True,
        action="append",
        help="outcome column (repeatable)",
    )
    p.add_argument(
        "--cluster", metavar="COL", default=None, help="cluster column (default: the unit)"
    )
    p.add_argument(
        "--strata",
        metavar="COL",
        nargs="*",
        default=[],
        help="strata columns, as fixed effects (post, ancova)",
    )
    p.add_argument(
        "--controls", metavar="COL", nargs="*", default=[], help="numeric control columns"
    )
    p.add_argument("--weights", metavar="COL", default=None, help="sampling-weight column")
    p.add_argument("--method", choices=["twfe", "ancova", "post"], default="twfe")
    p.add_argument(
        "--wave",
        metavar="VALUE",
        default=None,
        help="follow-up period for post and ancova (default: the last)",
    )
    p.add_argument(
        "--control-arm",
        metavar="VALUE",
        default=None,
        help="value of --treat for the comparison arm (default: 0)",
    )
    p.add_argument("--inference", choices=["cluster", "wild"], default="cluster")
    p.add_argument(
        "--draws",
        metavar="B",
        type=int,
        default=999,
        help="wild bootstrap draws (default: %(default)s)",
    )
    p.add_argument("--seed", metavar="N", type=int, default=20100201, help="wild bootstrap seed")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.set_defaults(func=_cmd_estimate)
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
