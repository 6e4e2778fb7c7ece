"""Results-table rebuild: our build vs pyfixest running the same regressions, same run.

pyfixest runs, for every (estimator, sample, wave, outcome) cell that we estimate, the same
regression with CRV1 village-clustered errors (DiD, ANCOVA, IPW-weighted DiD, IV), plus its
wild cluster bootstrap p-value where we report wild inference.  (pyfixest gives no bootstrap
intervals and no bootstrap for weighted (IPW) fits; ours does both, so the comparison favours it.)
Both are timed on the same subset of samples; our full-table time is reported separately.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from analysis.codebook import load_codebook
from analysis.estimators import ancova_sample, did_sample, ipw_weights
from analysis.multiple import add_family_indices
from analysis.results import build_results, outcome_catalogue, samples


def pyfixest_same_regressions(panel: pd.DataFrame, sample_types: tuple[str, ...], draws: int = 999) -> int:
    import pyfixest as pf

    cb = load_codebook()
    data = add_family_indices(panel, cb)
    outcomes = list(outcome_catalogue(cb)["outcome"])
    weights, _ = ipw_weights(data)
    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stype, _, mask in samples(data):
            if stype not in sample_types:
                continue
            sub = data[mask]
            for wave in (1, 2):
                for y in outcomes:
                    d = did_sample(sub, y, wave)
                    d = d.assign(cid=pd.factorize(d["client_id"])[0], vill=pd.factorize(d["village"])[0])
                    m = pf.feols(f"{y} ~ itt | cid + wave", data=d, vcov={"CRV1": "vill"})
                    m.tidy()
                    m.wildboottest(param="itt", reps=draws, seed=1)
                    dw = d.assign(w=d["client_id"].map(weights)).dropna(subset=["w"])
                    m = pf.feols(f"{y} ~ itt | cid + wave", data=dw, vcov={"CRV1": "vill"}, weights="w")
                    m.tidy()  # pyfixest has no wild bootstrap for weighted fits: not timed
                    de = d.dropna(subset=["exposure"])
                    de = de[de.groupby("cid")["wave"].transform("size") == 2]
                    pf.feols(f"{y} ~ 1 | cid + wave | exposure ~ itt", data=de, vcov={"CRV1": "vill"}).tidy()
                    post = ancova_sample(sub, y, wave)
                    post = post.assign(
                        y0m=post["_y0"].isna().astype(float), y0=post["_y0"].fillna(0),
                        vill=pd.factorize(post["village"])[0], br=pd.factorize(post["branch"])[0],
                    )  # fmt: skip
                    rhs = "arm + y0 + y0m" if post["y0m"].any() else "arm + y0"
                    m = pf.feols(f"{y} ~ {rhs} | br", data=post, vcov={"CRV1": "vill"})
                    m.tidy()
                    m.wildboottest(param="arm", reps=draws, seed=1)
                    n += 7
    return n


def run(panel: pd.DataFrame, *, subset=("all", "province"), repeats: int = 1) -> dict:
    cb = load_codebook()
    ours_sub, ref_sub = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        build_results(panel, cb, sample_types=subset)
        ours_sub.append(time.perf_counter() - t)
        t = time.perf_counter()
        pyfixest_same_regressions(panel, subset)
        ref_sub.append(time.perf_counter() - t)
    t = time.perf_counter()
    table = build_results(panel, cb)
    full = time.perf_counter() - t
    return {
        "results_rebuild_s": round(full, 2),
        "results_rows": int(len(table)),
        "results_subset": list(subset),
        "results_subset_ours_s": round(float(np.median(ours_sub)), 2),
        "results_subset_pyfixest_s": round(float(np.median(ref_sub)), 2),
        "results_rebuild_vs_pyfixest": round(float(np.median(ours_sub) / np.median(ref_sub)), 3),
    }
