"""Results-table rebuild: our build vs pyfixest running the same regressions, same run.

pyfixest runs, for every (estimator, sample, wave, outcome) cell that we estimate, the same
regression with CRV1 village-clustered errors (DiD, ANCOVA, IPW-weighted DiD, IV), plus its
wild cluster bootstrap p-value where we report wild inference.  pyfixest gives no bootstrap
intervals and no bootstrap for weighted (IPW) fits; ours does both, so the comparison favours it.

pyfixest's bootstrap takes 10-20 s a call here (it expands the fixed effects), so running all
of them would take hours: its regressions are all run and timed on the full-sample subset,
its bootstrap is timed on a few calls and multiplied by the number of bootstrap calls in that
subset (``pyfixest_wild_extrapolated``).  Our full-table time is reported separately.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from analysis.codebook import load_codebook
from analysis.estimators import ancova_sample, did_sample, ipw_weights
from analysis.multiple import add_family_indices
from analysis.results import METHODS, build_results, outcome_catalogue, samples


def pyfixest_same_regressions(
    panel: pd.DataFrame, sample_types: tuple[str, ...]
) -> tuple[int, list]:
    """Run every regression of the subset with pyfixest (CRV1); return the count and the
    models on which we report wild inference (DiD and ANCOVA)."""
    import pyfixest as pf

    cb = load_codebook()
    data = add_family_indices(panel, cb)
    outcomes = list(outcome_catalogue(cb)["outcome"])
    weights, _ = ipw_weights(data)
    n, wild_models = 0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stype, _, mask in samples(data):
            if stype not in sample_types:
                continue
            sub = data[mask]
            for wave in (1, 2):
                for y in outcomes:
                    d = did_sample(sub, y, wave)
                    d = d.assign(
                        cid=pd.factorize(d["client_id"])[0], vill=pd.factorize(d["village"])[0]
                    )
                    m = pf.feols(f"{y} ~ itt | cid + wave", data=d, vcov={"CRV1": "vill"})
                    m.tidy()
                    wild_models.append((m, "itt"))
                    dw = d.assign(w=d["client_id"].map(weights)).dropna(subset=["w"])
                    pf.feols(
                        f"{y} ~ itt | cid + wave", data=dw, vcov={"CRV1": "vill"}, weights="w"
                    ).tidy()
                    de = d.dropna(subset=["exposure"])
                    de = de[de.groupby("cid")["wave"].transform("size") == 2]
                    pf.feols(
                        f"{y} ~ 1 | cid + wave | exposure ~ itt", data=de, vcov={"CRV1": "vill"}
                    ).tidy()
                    post = ancova_sample(sub, y, wave)
                    post = post.assign(
                        y0m=post["_y0"].isna().astype(float), y0=post["_y0"].fillna(0),
                        vill=pd.factorize(post["village"])[0], br=pd.factorize(post["branch"])[0],
                    )  # fmt: skip
                    rhs = "arm + y0 + y0m" if post["y0m"].any() else "arm + y0"
                    m = pf.feols(f"{y} ~ {rhs} | br", data=post, vcov={"CRV1": "vill"})
                    m.tidy()
                    wild_models.append((m, "arm"))
                    n += 4
    return n, wild_models


def run(panel: pd.DataFrame, *, smoke: bool = False, draws: int = 999) -> dict:
    """Time both on the full-sample subset; ``smoke`` shrinks everything to check it runs."""
    subset = ("all",)
    cb = load_codebook()
    methods = ("did",) if smoke else METHODS  # every estimator the results table holds
    draws = 99 if smoke else draws
    t = time.perf_counter()
    build_results(panel, cb, sample_types=subset, draws=draws, methods=methods)
    ours_sub = time.perf_counter() - t
    t = time.perf_counter()
    n_reg, wild_models = pyfixest_same_regressions(panel, subset)
    pf_reg = time.perf_counter() - t
    timed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m, param in wild_models[: 1 if smoke else 3]:
            t = time.perf_counter()
            m.wildboottest(param=param, reps=draws, seed=1)
            timed.append(time.perf_counter() - t)
    per_call = float(np.median(timed))
    pf_wild = per_call * len(wild_models)
    t = time.perf_counter()
    table = build_results(
        panel,
        cb,
        draws=draws,
        methods=methods,
        sample_types=subset if smoke else ("all", "province", "branch", "sex"),
    )
    full = time.perf_counter() - t
    return {
        "results_rebuild_s": round(full, 2),
        "results_rows": int(len(table)),
        "results_subset": list(subset),
        "results_subset_ours_s": round(ours_sub, 2),
        "pyfixest_regressions": n_reg,
        "pyfixest_regressions_s": round(pf_reg, 2),
        "pyfixest_wild_calls": len(wild_models),
        "pyfixest_wild_per_call_s": round(per_call, 2),
        "pyfixest_wild_extrapolated_s": round(pf_wild, 1),
        "results_rebuild_vs_pyfixest": round(ours_sub / (pf_reg + pf_wild), 4),
    }
