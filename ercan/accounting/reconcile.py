"""Reconciliation: every aggregate a source reports beside the sum of that source's own members.

FRA's region and World rows against its countries, GFW's US total against its states: the
reported figure, the bottom-up sum, their difference and the members' coverage. A relative
difference above TOLERANCE is a finding for the data steward, not an error; where only some
members reported, the comparison is shown but not judged (`within_tolerance` is empty).
"""

from __future__ import annotations

import pandas as pd

from ercan.accounting.aggregate import bottom_up
from ercan.accounting.hierarchy import Hierarchy
from ercan.schema import is_additive

# Relative tolerance: reported aggregates are sums of the same members, so anything beyond
# rounding (0.1 %) means members are missing, duplicated, or the aggregate is defined differently.
TOLERANCE = 0.001
_KEY = ["area_code", "source", "variable", "pool", "land_category", "category", "year", "unit"]


def reconcile(observations: pd.DataFrame, hierarchy: Hierarchy, tolerance: float = TOLERANCE) -> pd.DataFrame:
    aggregates = set(hierarchy.aggregates())
    reported = observations[
        observations["area_code"].isin(aggregates) & observations["variable"].map(is_additive)
    ]
    if reported.empty:
        return pd.DataFrame()
    computed = []
    for source, rows in observations.groupby("source"):
        if source not in set(reported["source"]):
            continue
        no_basis = pd.DataFrame(columns=["area_code", "year", "value"])
        computed.append(bottom_up(rows, hierarchy, no_basis))
    computed = pd.concat(computed, ignore_index=True)
    merged = reported.merge(
        computed[_KEY + ["value", "members_total", "members_reporting", "coverage"]],
        on=_KEY,
        how="inner",  # an aggregate with no members in the same source has nothing to reconcile
        suffixes=("_reported", "_bottom_up"),
    )
    merged = merged.rename(columns={"value_reported": "reported_value", "value_bottom_up": "bottom_up_value"})
    merged["difference"] = merged["bottom_up_value"] - merged["reported_value"]
    merged["relative_difference"] = merged["difference"] / merged["reported_value"].where(merged["reported_value"] != 0)
    merged["tolerance"] = tolerance
    # Only an aggregate all of whose members reported can be judged: a partial sum is expected to fall short.
    judged = merged["coverage"] == "complete"
    merged["within_tolerance"] = (merged["relative_difference"].abs() <= tolerance).astype(object).where(judged, None)
    return merged
