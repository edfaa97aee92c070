"""National carbon stocks from reported densities and areas (IPCC 2006 GL Vol. 4: C = A × D)."""

from __future__ import annotations

import pandas as pd

from ercan.schema import VARIABLE_UNITS

# The pools whose sum is the total forest carbon stock (FRA 2020 table 2d).
TOTAL_POOLS = ("agb", "bgb", "dead_wood", "litter", "soil")
_JOIN = ["source", "area_code", "area_level", "parent_code", "land_category", "year"]


def join_snapshots(values) -> str:
    """Every input snapshot a derived value traces back to, as one sorted ';'-joined string."""
    return ";".join(sorted({h for value in values if isinstance(value, str) for h in value.split(";")}))


def national_stocks(observations: pd.DataFrame) -> pd.DataFrame:
    """carbon_stock (t C) per country, year and pool = carbon_density (t C/ha) × area (ha) of the
    same land category, both from the same source; plus the `total` pool where every pool of
    TOTAL_POOLS was reported (a total over fewer pools would silently understate the stock)."""
    national = observations[observations["area_level"] == "national"]
    density = national[national["variable"] == "carbon_density"]
    area = national[national["variable"] == "area"][_JOIN + ["value", "snapshot"]]
    stock = density.merge(area, on=_JOIN, suffixes=("_density", "_area"))
    stock = stock.assign(
        variable="carbon_stock",
        unit=VARIABLE_UNITS["carbon_stock"],
        value=stock["value_density"] * stock["value_area"],
        snapshot=[join_snapshots(pair) for pair in zip(stock["snapshot_density"], stock["snapshot_area"])],
        flag="derived",
    ).drop(columns=["value_density", "value_area", "snapshot_density", "snapshot_area"])
    pools = stock[stock["pool"].isin(TOTAL_POOLS)]
    group = pools.groupby(_JOIN + ["variable", "unit", "flag"], dropna=False)
    totals = group.agg(value=("value", "sum"), pools=("pool", "nunique"), snapshot=("snapshot", join_snapshots)).reset_index()
    totals = totals[totals["pools"] == len(TOTAL_POOLS)].drop(columns="pools").assign(pool="total")
    return pd.concat([stock, totals], ignore_index=True)
