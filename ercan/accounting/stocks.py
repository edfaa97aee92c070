"""National carbon stocks from reported densities and areas (IPCC 2006 GL Vol. 4: C = A × D)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ercan.accounting import uncertainty
from ercan.schema import VARIABLE_UNITS

# The pools whose sum is the total forest carbon stock (FRA 2020 table 2d), and the living
# biomass pools (IPCC's "biomass": above- plus below-ground).
TOTAL_POOLS = ("agb", "bgb", "dead_wood", "litter", "soil")
BIOMASS_POOLS = ("agb", "bgb")
JOIN = ["source", "area_code", "area_level", "parent_code", "land_category", "year"]


def join_snapshots(values) -> str:
    """Every input snapshot a derived value traces back to, as one sorted ';'-joined string."""
    if isinstance(values, pd.Series):  # a group of rows: split each distinct value once, not every row's
        values = values.unique()
    return ";".join(sorted({h for value in values if isinstance(value, str) for h in value.split(";")}))


def with_default_uncertainty(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows whose source gave no uncertainty get the documented default for their variable,
    marked `uncertainty_basis = default`; reported ones keep theirs (`reported`)."""
    default = rows["variable"].map(uncertainty.defaults())
    missing = rows["uncertainty"].isna()
    basis = np.where(missing & default.notna(), "default", np.where(missing, None, "reported"))
    return rows.assign(uncertainty=rows["uncertainty"].fillna(default), uncertainty_basis=basis)


def national_stocks(observations: pd.DataFrame) -> pd.DataFrame:
    """carbon_stock (t C) per country, year and pool = carbon_density (t C/ha) × area (ha) of the
    same land category, both from the same source, with Approach 1 uncertainty of the product;
    plus pool sums: `total` where every pool of TOTAL_POOLS was reported (a total over fewer pools
    would silently understate the stock) and `biomass` where both living-biomass pools were."""
    national = with_default_uncertainty(observations[observations["area_level"] == "national"])
    density = national[(national["variable"] == "carbon_density") & national["category"].isna()]
    area = national[(national["variable"] == "area") & national["category"].isna()]
    area = area[JOIN + ["value", "snapshot", "uncertainty", "uncertainty_basis"]]
    stock = density.merge(area, on=JOIN, suffixes=("_density", "_area"))
    stock = stock.assign(
        variable="carbon_stock",
        unit=VARIABLE_UNITS["carbon_stock"],
        value=stock["value_density"] * stock["value_area"],
        uncertainty=uncertainty.of_product(stock[["uncertainty_density", "uncertainty_area"]].to_numpy()),
        uncertainty_basis=uncertainty.combined_basis(stock["uncertainty_basis_density"], stock["uncertainty_basis_area"]),
        snapshot=[join_snapshots(pair) for pair in zip(stock["snapshot_density"], stock["snapshot_area"])],
        flag="derived",
        method="density_x_area",
    )
    stock = stock.drop(columns=[c for c in stock if c.endswith(("_density", "_area"))])
    return pd.concat([stock, *(pool_sum(stock, name, pools) for name, pools in
                               (("total", TOTAL_POOLS), ("biomass", BIOMASS_POOLS)))], ignore_index=True)


def sum_with_uncertainty(rows: pd.DataFrame, keys: list[str], **extra) -> pd.DataFrame:
    """Σ value per group of `keys`, with the Approach 1 uncertainty of the sum (IPCC Eq. 3.2:
    √Σ(U·x)² / |Σx|), `default` basis when any term's uncertainty was a default, and every
    term's snapshot. `extra`: more named aggregations."""
    rows = rows.assign(
        spread2=(rows["uncertainty"] * rows["value"]) ** 2,
        is_default=rows["uncertainty_basis"] == "default",
        is_gap_filled=rows["flag"] == "gap_filled",
    )
    sums = rows.groupby(keys, dropna=False).agg(
        value=("value", "sum"), spread2=("spread2", "sum"), is_default=("is_default", "any"),
        is_gap_filled=("is_gap_filled", "any"), snapshot=("snapshot", join_snapshots), **extra,
    ).reset_index()
    spread = np.sqrt(sums.pop("spread2"))
    return sums.assign(
        uncertainty=(spread / sums["value"].abs()).where(spread > 0, 0.0),  # a sum of zeros is exact
        uncertainty_basis=np.where(sums.pop("is_default"), "default", "reported"),
        flag=np.where(sums.pop("is_gap_filled"), "gap_filled", "derived"),
    )


def pool_sum(stock: pd.DataFrame, name: str, pools: tuple[str, ...]) -> pd.DataFrame:
    """The stock summed over `pools`, only where every one of them is present."""
    rows = stock[stock["pool"].isin(pools)]
    sums = sum_with_uncertainty(rows, JOIN + ["variable", "unit"], pools=("pool", "nunique"))
    sums = sums[sums["pools"] == len(pools)].drop(columns="pools")
    return sums.assign(pool=name, method=np.where(sums["flag"] == "gap_filled", "pool_sum_gap_filled", "pool_sum"))
