"""Bottom-up aggregates with coverage: regions and the world are computed from their members.

Reported aggregates in the inputs (FRA's region and World rows) are never summed in: only rows of
the member level take part. Every aggregate says how many members reported and what share of the
aggregate's area they cover; a total over part of the members is labelled `partial`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ercan.accounting.hierarchy import Hierarchy
from ercan.accounting.sites import SiteSums
from ercan.accounting.stocks import join_snapshots
from ercan.schema import ADDITIVE_VARIABLES, VARIABLE_UNITS

_GROUP = ["aggregate", "source", "variable", "pool", "land_category", "category", "year", "unit"]


def bottom_up(members: pd.DataFrame, hierarchy: Hierarchy, area_basis: pd.DataFrame,
              sites: SiteSums | None = None) -> pd.DataFrame:
    """Sum additive variables of member rows into every aggregate of the hierarchy.

    `area_basis`: member forest areas (area_code, year, value) that weigh coverage and densities.
    Densities (t C/ha) of an aggregate are its summed stock over the area of the members that
    reported that stock: an area-weighted mean over the reporting members only. `sites`: the same
    rows' site values, already summed per enclosing area (they have no area basis).
    """
    membership = hierarchy.membership()
    additive = members[members["variable"].isin(ADDITIVE_VARIABLES)]
    rows = membership.merge(additive, left_on="member", right_on="area_code")
    basis = area_basis.rename(columns={"area_code": "member", "value": "basis"})[["member", "year", "basis"]]
    rows = rows.merge(basis, on=["member", "year"], how="left")
    # Approach 1 (IPCC Eq. 3.2) over members: √Σ(U·x)²; unknown when any member's U is unknown.
    rows["spread2"] = (rows["uncertainty"] * rows["value"]) ** 2
    rows["spread_unknown"] = rows["spread2"].isna()
    rows["is_default"] = rows["uncertainty_basis"] == "default" if "uncertainty_basis" in rows else False
    rows["basis_unknown"] = rows["basis"].isna()
    summed = (
        rows.groupby(_GROUP, dropna=False)
        .agg(
            value=("value", "sum"),
            spread2=("spread2", "sum"),
            spread_unknown=("spread_unknown", "any"),
            is_default=("is_default", "any"),
            members_reporting=("member", "nunique"),
            reporting_area=("basis", "sum"),
            basis_unknown=("basis_unknown", "any"),
            snapshot=("snapshot", join_snapshots),
        )
        .reset_index()
    )
    if sites is not None and not sites.sums.empty:
        summed = pd.concat([summed, _site_aggregates(sites, hierarchy)], ignore_index=True)
    summed["spread"] = np.sqrt(summed.pop("spread2")).where(~summed.pop("spread_unknown"))
    summed["uncertainty_basis"] = np.where(summed.pop("is_default"), "default", np.where(summed["spread"].notna(), "reported", None))
    summed["reporting_area"] = summed["reporting_area"].where(~summed.pop("basis_unknown"))
    summed["uncertainty"] = summed.pop("spread") / summed["value"].abs()
    totals = membership.merge(basis, left_on="member", right_on="member", how="left")
    totals["basis_unknown"] = totals["basis"].isna()
    totals = (
        totals.groupby(["aggregate", "year"])
        .agg(members_total=("member", "nunique"), total_area=("basis", "sum"), basis_unknown=("basis_unknown", "any"))
        .reset_index()
    )
    totals["total_area"] = totals["total_area"].where(~totals.pop("basis_unknown"))
    out = summed.merge(totals, on=["aggregate", "year"], how="left")
    out["members_total"] = out["members_total"].fillna(out["aggregate"].map(hierarchy.member_counts(membership)))
    out["coverage_share"] = (out["reporting_area"] / out["total_area"]).clip(upper=1.0)
    out["coverage"] = (out["members_reporting"] == out["members_total"]).map({True: "complete", False: "partial"})
    densities = _densities(out)
    out = pd.concat([out, densities], ignore_index=True).drop(columns=["reporting_area", "total_area"])
    out = out.rename(columns={"aggregate": "area_code"})
    out["area_level"] = out["area_code"].map(hierarchy.level)
    out["parent_code"] = out["area_code"].map(hierarchy.parent)
    out["flag"] = "derived"
    return out


def _site_aggregates(sites: SiteSums, hierarchy: Hierarchy) -> pd.DataFrame:
    """The site sums of each enclosing area rolled up into the aggregates they are members of, with the
    columns of the member rows' group sums."""
    rows = hierarchy.site_rollup().merge(sites.sums, left_on="parent", right_on="parent_code")
    summed = (
        rows.groupby(_GROUP, dropna=False)
        .agg(value=("value", "sum"), spread2=("spread2", "sum"), spread_unknown=("spread_unknown", "any"),
             members_reporting=("members_reporting", "sum"), snapshot=("snapshot", join_snapshots))
        .reset_index()
    )
    return summed.assign(is_default=False, reporting_area=0.0, basis_unknown=True)


def _densities(aggregated: pd.DataFrame) -> pd.DataFrame:
    stocks = aggregated[(aggregated["variable"] == "carbon_stock") & (aggregated["reporting_area"] > 0)]
    return stocks.assign(
        variable="carbon_density",
        unit=VARIABLE_UNITS["carbon_density"],
        value=stocks["value"] / stocks["reporting_area"],
    )
