"""What a manager decides from: where the programme worked, and how far the results
support each recommendation.  Pure computation on the results table (no Dash).

Where it worked
---------------
:func:`where_it_worked` reads, for one specification (estimator, inference, wave), the
family indices (one common unit: standard deviations, higher = better) for all units
and for every group of each breakdown dimension (province, branch; not sex).  A
dimension with at least four groups carries partially pooled (empirical Bayes)
estimates in the results table (Morris 1983): each group's estimate is shrunk towards
the mean in proportion to its noise, so a small branch's lucky draw does not top a
list.  Those are used where present; a dimension with fewer groups shows each group's
own estimate.  Groups keep a fixed order (the table's, alphabetical), never ranked,
and each dimension says whether its groups can be told apart at all: the results
table's test that the effect is equal across the dimension (``heterogeneity_p``, a
cluster-robust Wald test); p >= 0.05 means they cannot.

Judging a recommendation
------------------------
:func:`judge_recommendation` applies :data:`JUDGEMENT_RULE` to the verdicts (results
table column ``verdict``) of the outcomes a recommendation cites:

* **supported by these results**: more than half of the cited outcomes improved and
  none worsened;
* **not supported by these results**: none improved;
* **mixed**: anything in between (some improved, but half or fewer, or some worsened).

Outcomes that are suppressed or not estimable do not count.  When more than half of
the counted outcomes show no detectable effect the judgement "rests mostly on no
detectable effect": the study could not show a change there, which is not evidence
that there was none (Altman & Bland 1995, "Absence of evidence is not evidence of
absence").

Example
-------
>>> import pandas as pd
>>> rows = pd.DataFrame({"outcome": ["a", "b", "c"], "short": ["A", "B", "C"],
...                      "verdict": ["improved", "no detectable effect", "no detectable effect"]})
>>> j = judge_recommendation(["a", "b", "c"], rows)
>>> j.judgement, j.mostly_null, j.n_improved, j.n_counted
('mixed', True, 1, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

ALPHA = 0.05

SUPPORTED = "supported"
MIXED = "mixed"
NOT_SUPPORTED = "not supported"

JUDGEMENT_LABELS = {
    SUPPORTED: "Supported by these results",
    MIXED: "Mixed evidence",
    NOT_SUPPORTED: "Not supported by these results",
}

JUDGEMENT_RULE = (
    "Each recommendation is judged from the verdicts of the outcomes it cites, in the "
    "estimates shown: supported when more than half of them improved and none worsened; "
    "not supported when none improved; mixed otherwise. Suppressed or non-estimable outcomes "
    "do not count. When more than half show no detectable effect, the judgement rests mostly "
    "on no detectable effect: the study could not show a change there, which is not the same "
    "as showing there was none."
)

COUNTED = ("improved", "worsened", "no detectable effect")


@dataclass(frozen=True)
class Judgement:
    """The judgement of one recommendation and the counts it rests on."""

    judgement: str  # SUPPORTED / MIXED / NOT_SUPPORTED, or "" when no cited outcome was estimated
    n_counted: int
    n_improved: int
    n_worsened: int
    n_null: int
    mostly_null: bool
    outcomes: dict[str, list[str]] = field(default_factory=dict)  # verdict -> short names

    @property
    def label(self) -> str:
        return JUDGEMENT_LABELS.get(self.judgement, "No evidence in these results")

    def because(self) -> str:
        """One sentence: the counts behind the judgement, in plain words."""
        if not self.n_counted:
            return "None of the outcomes it cites was estimated in this view."
        parts = [f"{self.n_improved} of {self.n_counted} cited outcomes improved"]
        if self.n_worsened:
            parts.append(f"{self.n_worsened} moved in the unwanted direction")
        if self.n_null:
            parts.append(f"{self.n_null} showed no detectable effect")
        text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + "."
        if self.mostly_null:
            text += (
                " It rests mostly on no detectable effect: the study could not show a change "
                "in those outcomes, which does not show that there was none."
            )
        return text


def judge_recommendation(outcomes: list[str], rows: pd.DataFrame) -> Judgement:
    """Judge one recommendation from the verdicts of ``outcomes`` in ``rows`` (the
    all-units rows of one specification, one row per outcome), by :data:`JUDGEMENT_RULE`."""
    by = rows.drop_duplicates("outcome").set_index("outcome")
    found: dict[str, list[str]] = {v: [] for v in COUNTED}
    for name in outcomes or []:
        if name not in by.index:
            continue
        verdict = str(by.at[name, "verdict"])
        if verdict in found:
            short = by.at[name, "short"] if "short" in by.columns else name
            found[verdict].append(str(short))
    imp, wor, null = (len(found[v]) for v in COUNTED)
    n = imp + wor + null
    if n == 0:
        judgement = ""
    elif imp == 0:
        judgement = NOT_SUPPORTED
    elif wor == 0 and imp > n / 2:
        judgement = SUPPORTED
    else:
        judgement = MIXED
    return Judgement(judgement, n, imp, wor, null, n > 0 and null > n / 2, found)


# ------------------------------------------------------------------ where it worked


@dataclass(frozen=True)
class Dimension:
    """One breakdown dimension (province, branch) of :func:`where_it_worked`."""

    name: str  # the results table's sample_type
    groups: list[str]
    pooled: bool  # partially pooled (empirical Bayes) estimates, else each group's own
    cells: pd.DataFrame  # group, outcome, estimate, low, high, sign, suppressed
    heterogeneity_p: dict[str, float]  # outcome -> p of the test of equal effects

    def apart(self, outcome: str) -> bool | None:
        """Can the groups be told apart for ``outcome``? None when the test is not available."""
        p = self.heterogeneity_p.get(outcome, float("nan"))
        return None if not math.isfinite(p) else p < ALPHA


@dataclass(frozen=True)
class WhereItWorked:
    outcomes: list[str]  # the family indices, in the table's order
    labels: dict[str, str]  # outcome -> family label
    overall: pd.DataFrame  # outcome, estimate, low, high, sign, verdict (all units)
    dimensions: list[Dimension]

    def summary(self, nouns: dict[str, str] | None = None) -> list[str]:
        """Plain sentences: per dimension, for which families the groups can be told apart.

        ``nouns`` maps a dimension to its plural ('branch' -> 'branches') and ``"all"`` to
        the whole sample's name ('all clients')."""
        nouns = nouns or {}
        everyone = nouns.get("all", "the whole sample")
        out = []
        for dim in self.dimensions:
            many = nouns.get(dim.name, dim.name + "s")
            tested = [o for o in self.outcomes if dim.apart(o) is not None]
            differ = [o for o in tested if dim.apart(o)]
            if not tested:
                out.append(
                    f"The test that the effect is the same in every {dim.name} is not available "
                    "for this estimator."
                )
            elif not differ:
                out.append(
                    f"The {many} cannot be told apart: in none of {_families(len(tested))} "
                    f"does the effect differ between {many} by more than chance would explain "
                    f"(every test p ≥ {ALPHA:.2f}). The effect for {everyone} is the best guide "
                    f"for each {dim.name}."
                )
            else:
                names = ", ".join(
                    f"{self.labels[o].lower()} (p = {_p(dim.heterogeneity_p[o])})" for o in differ
                )
                out.append(
                    f"The {many} differ by more than chance would explain in {len(differ)} of "
                    f"{_families(len(tested))}: {names}. In the others they cannot be told apart."
                )
        return out

    def brief(self, nouns: dict[str, str] | None = None) -> list[str]:
        """One short line per dimension (for a slide): the gist of :meth:`summary`."""
        nouns = nouns or {}
        out = []
        for dim in self.dimensions:
            many = nouns.get(dim.name, dim.name + "s")
            many = many[:1].upper() + many[1:]
            tested = [o for o in self.outcomes if dim.apart(o) is not None]
            differ = [o for o in tested if dim.apart(o)]
            if not tested:
                out.append(f"{many}: no test of equal effects for this estimator")
            elif not differ:
                out.append(
                    f"{many}: cannot be told apart in "
                    + (
                        "the one family"
                        if len(tested) == 1
                        else f"any of the {len(tested)} families"
                    )
                    + f" (all p ≥ {ALPHA:.2f})"
                )
            else:
                names = ", ".join(self.labels[o].lower() for o in differ)
                out.append(
                    f"{many}: differ in {names}; alike in the other {len(tested) - len(differ)}"
                )
        return out


def _families(n: int) -> str:
    return "the one family" if n == 1 else f"the {n} families"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _sign(low: float, high: float) -> str:
    """'above' (the 95% interval lies above zero: better), 'below' (worse) or 'spans' zero."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    if low > 0:
        return "above"
    if high < 0:
        return "below"
    return "spans"


def where_it_worked(
    results: pd.DataFrame,
    *,
    method: str,
    inference: str,
    wave: int,
    dimensions: tuple[str, ...] | None = None,
) -> WhereItWorked:
    """The family indices by group of each breakdown dimension (see the module docstring).

    ``dimensions`` defaults to every breakdown in the table except sex (a characteristic of
    the client, not a place the institution can invest in).
    """
    spec = results[
        (results["method"] == method)
        & (results["inference"] == inference)
        & (results["wave"] == wave)
        & results["is_index"].astype(bool)
    ]
    overall_rows = spec[spec["sample_type"] == "all"]
    outcomes = list(dict.fromkeys(overall_rows["outcome"]))
    labels = {
        r.outcome: str(r.family_label)
        for r in spec.drop_duplicates("outcome").itertuples()
        if r.outcome in outcomes
    }
    overall = pd.DataFrame(
        {
            "outcome": overall_rows["outcome"].to_numpy(),
            "estimate": overall_rows["estimate"].to_numpy(float),
            "low": overall_rows["ci95_low"].to_numpy(float),
            "high": overall_rows["ci95_high"].to_numpy(float),
            "verdict": overall_rows["verdict"].to_numpy(),
        }
    )
    overall["sign"] = [
        _sign(lo, hi) for lo, hi in zip(overall["low"], overall["high"], strict=True)
    ]
    if dimensions is None:
        dimensions = tuple(
            d for d in dict.fromkeys(results["sample_type"]) if d not in ("all", "sex")
        )
    dims = []
    for d in dimensions:
        sub = spec[(spec["sample_type"] == d) & spec["outcome"].isin(outcomes)]
        if sub.empty:
            continue
        pooled = bool(sub["eb_estimate"].notna().any()) if "eb_estimate" in sub else False
        est, lo, hi = (
            ("eb_estimate", "eb_ci95_low", "eb_ci95_high")
            if pooled
            else ("estimate", "ci95_low", "ci95_high")
        )
        cells = pd.DataFrame(
            {
                "group": sub["sample"].astype(str).to_numpy(),
                "outcome": sub["outcome"].to_numpy(),
                "estimate": sub[est].to_numpy(float),
                "low": sub[lo].to_numpy(float),
                "high": sub[hi].to_numpy(float),
                "suppressed": sub["suppressed"].astype(bool).to_numpy(),
            }
        )
        cells["sign"] = [_sign(a, b) for a, b in zip(cells["low"], cells["high"], strict=True)]
        het = {
            o: float(g["heterogeneity_p"].dropna().iloc[0])
            if g["heterogeneity_p"].notna().any()
            else float("nan")
            for o, g in sub.groupby("outcome", sort=False)
        }
        groups = sorted(cells["group"].unique())  # fixed alphabetical order, never ranked
        dims.append(Dimension(d, groups, pooled, cells, het))
    dims.sort(key=lambda d: len(d.groups))  # coarse to fine: provinces before branches
    return WhereItWorked(outcomes, labels, overall, dims)
