"""Gap-filling of carbon pools a country did not report (explicit, flagged, switchable).

A missing pool's density is the area-weighted density of the country's nearest UN M49 region
whose reporting members have it (sub-region, then region, then the world), from the same source
and year; the stock is that density × the country's forest area. Every filled row carries
`flag = gap_filled` and `method = regional_density:<region>`, so reported-only figures can always
be told apart and recomputed without them.
"""

from __future__ import annotations

import pandas as pd

from ercan.accounting.hierarchy import m49_ancestors
from ercan.accounting.stocks import JOIN, TOTAL_POOLS, join_snapshots, pool_sum
from ercan.accounting.uncertainty import defaults, of_product
from ercan.schema import VARIABLE_UNITS

_SERIES = ["source", "year", "pool"]


def fill_pools(area: pd.DataFrame, stocks: pd.DataFrame, regional_densities: pd.DataFrame) -> pd.DataFrame:
    """Gap-filled carbon_density and carbon_stock rows for every (country, year) with a forest area
    and a pool of TOTAL_POOLS it lacks; plus the gap-filled `total` of such countries.

    `area`: national forest areas (with uncertainty); `stocks`: national stocks as derived from
    reports (national_stocks); `regional_densities`: reported-only aggregate carbon_density rows."""
    pools = pd.DataFrame({"pool": TOTAL_POOLS})
    wanted = area[JOIN + ["value", "uncertainty", "snapshot"]].merge(pools, how="cross")
    have = stocks[stocks["pool"].isin(TOTAL_POOLS)][JOIN + ["pool"]].assign(reported=True)
    missing = wanted.merge(have, on=JOIN + ["pool"], how="left")
    missing = missing[missing["reported"].isna()].drop(columns="reported")
    if missing.empty:
        return pd.DataFrame()
    ancestors = pd.DataFrame(
        [(country, region, depth) for country in missing["area_code"].unique()
         for depth, region in enumerate(m49_ancestors(country))],
        columns=["area_code", "region", "depth"],
    )
    regional = regional_densities[["area_code", *_SERIES, "value", "snapshot"]].rename(
        columns={"area_code": "region", "value": "density", "snapshot": "region_snapshot"}
    )
    candidates = missing.merge(ancestors, on="area_code").merge(regional, on=["region", *_SERIES])
    filled = candidates.sort_values("depth").drop_duplicates(JOIN + ["pool"], keep="first")
    if filled.empty:
        return filled
    u_density = defaults()["carbon_density"]
    common = {"flag": "gap_filled", "uncertainty_basis": "default",
              "method": "regional_density:" + filled["region"],
              "snapshot": [join_snapshots(p) for p in zip(filled["snapshot"], filled["region_snapshot"])]}
    densities = filled.assign(variable="carbon_density", unit=VARIABLE_UNITS["carbon_density"],
                              value=filled["density"], uncertainty=u_density, **common)
    stock_rows = filled.assign(
        variable="carbon_stock", unit=VARIABLE_UNITS["carbon_stock"], value=filled["density"] * filled["value"],
        uncertainty=of_product(pd.concat([filled["uncertainty"], pd.Series(u_density, index=filled.index)], axis=1)),
        **common,
    )
    keep = JOIN + ["variable", "unit", "pool", "value", "uncertainty", "uncertainty_basis", "flag", "method", "snapshot"]
    densities, stock_rows = densities[keep], stock_rows[keep]
    completed = pd.concat([stocks[stocks["pool"].isin(TOTAL_POOLS)], stock_rows], ignore_index=True)
    totals = pool_sum(completed, "total", TOTAL_POOLS)
    return pd.concat([densities, stock_rows, totals[totals["flag"] == "gap_filled"]], ignore_index=True)
