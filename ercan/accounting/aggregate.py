"""Bottom-up aggregates with coverage: regions and the world are computed from their members.

Reported aggregates in the inputs (FRA's region and World rows) are never summed in: only rows of
the member level take part. Every aggregate says how many members reported and what share of the
aggregate's area they cover; a total over part of the members is labelled `partial`.
"""

from __future__ import annotations

import pandas as pd

from ercan.accounting.hierarchy import Hierarchy
from ercan.accounting.stocks import join_snapshots
from ercan.schema import VARIABLE_UNITS, is_additive

_GROUP = ["aggregate", "source", "variable", "pool", "land_category", "category", "year", "unit"]


def bottom_up(members: pd.DataFrame, hierarchy: Hierarchy, area_basis: pd.DataFrame) -> pd.DataFrame:
    """Sum additive variables of member rows into every aggregate of the hierarchy.

    `area_basis`: member forest areas (area_code, year, value) that weigh coverage and densities.
    Densities (t C/ha) of an aggregate are its summed stock over the area of the members that
    reported that stock: an area-weighted mean over the reporting members only.
    """
    membership = hierarchy.membership()
    additive = members[members["variable"].map(is_additive)]
    rows = membership.merge(additive, left_on="member", right_on="area_code")
    basis = area_basis.rename(columns={"area_code": "member", "value": "basis"})[["member", "year", "basis"]]
    rows = rows.merge(basis, on=["member", "year"], how="left")
    summed = (
        rows.groupby(_GROUP, dropna=False)
        .agg(
            value=("value", "sum"),
            members_reporting=("member", "nunique"),
            reporting_area=("basis", lambda b: b.sum(min_count=len(b))),
            snapshot=("snapshot", join_snapshots),
        )
        .reset_index()
    )
    totals = membership.merge(basis, left_on="member", right_on="member", how="left")
    totals = (
        totals.groupby(["aggregate", "year"])
        .agg(members_total=("member", "nunique"), total_area=("basis", lambda b: b.sum(min_count=len(b))))
        .reset_index()
    )
    out = summed.merge(totals, on=["aggregate", "year"], how="left")
    out["members_total"] = out["members_total"].fillna(out["aggregate"].map(membership.groupby("aggregate").size()))
    out["coverage_share"] = (out["reporting_area"] / out["total_area"]).clip(upper=1.0)
    out["coverage"] = (out["members_reporting"] == out["members_total"]).map({True: "complete", False: "partial"})
    densities = _densities(out)
    out = pd.concat([out, densities], ignore_index=True).drop(columns=["reporting_area", "total_area"])
    out = out.rename(columns={"aggregate": "area_code"})
    out["area_level"] = out["area_code"].map(hierarchy.level)
    out["parent_code"] = out["area_code"].map(hierarchy.parent)
    out["flag"] = "derived"
    return out


def _densities(aggregated: pd.DataFrame) -> pd.DataFrame:
    stocks = aggregated[(aggregated["variable"] == "carbon_stock") & (aggregated["reporting_area"] > 0)]
    return stocks.assign(
        variable="carbon_density",
        unit=VARIABLE_UNITS["carbon_density"],
        value=stocks["value"] / stocks["reporting_area"],
    )
