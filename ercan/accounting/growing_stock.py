"""Biomass carbon from growing stock (IPCC 2006 GL Vol. 4 Eq. 2.8 with BCEF_S, Tier 1):
AGB = V × BCEF_S, biomass = AGB × (1 + R), carbon = × CF.

Applied to every national growing stock (forest land, the total, not FRA's breakdowns) that has a
forest area of the same source and year, to check the biomass stocks the same source reports
(reconciliation, `method_vs_reported`). Factors by climatic domain, weighted by the country's
domain shares (`domains.py`, which says why):

- BCEF_S from the growing-stock class holding the country's growing stock per hectare (V / A);
- R from the class of above-ground biomass per hectare that gives (V / A × BCEF_S);
- both the mean of the domain's forest types; CF per domain.

Rows: `carbon_stock` (t C) for pools `agb` and `biomass`, `method = growing_stock_bcef`,
`flag = estimated` (a Tier 1 estimate beside the reported stocks; it does not feed
stock-difference fluxes, which use reported stocks only). Approach 1: U = √(U_V² + U_f²), where
U_f is the uncertainty of the weighted factor product (domains.py) and U_V the growing stock's
(the documented default where the source gives none). Countries without domain shares or with a
growing stock per hectare no class holds are not estimated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ercan.accounting import methods
from ercan.accounting.domains import EXPANSION_SOURCE, carbon_fractions, domain_weights, in_class
from ercan.accounting.stocks import JOIN, join_snapshots, with_default_uncertainty
from ercan.accounting.uncertainty import combined_basis, of_product
from ercan.schema import VARIABLE_UNITS

METHOD = "growing_stock_bcef"


def biomass_from_growing_stock(observations: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """carbon_stock rows (pools agb and biomass) estimated from national growing stocks."""
    if factors is None or factors.empty:
        return pd.DataFrame()
    national = with_default_uncertainty(observations[(observations["area_level"] == "national")
                                                     & (observations["land_category"] == "forest_land")
                                                     & observations["category"].isna()])
    volume = national[national["variable"] == "growing_stock"]
    area = national[national["variable"] == "area"][JOIN + ["value", "snapshot"]]
    stands = volume.merge(area, on=JOIN, suffixes=("", "_area"))
    stands = stands.assign(growing_stock_density=stands["value"] / stands["value_area"])
    stands = stands.merge(domain_weights(factors), on="area_code", suffixes=("", "_shares"))
    if stands.empty:
        return pd.DataFrame()
    expansion = factors[factors["source"] == EXPANSION_SOURCE]
    stands = in_class(stands, expansion, "bcef_stock", "growing_stock_density", ["climatic_domain"])
    stands = stands.assign(biomass_density=stands["growing_stock_density"] * stands["bcef_stock"])
    stands = in_class(stands, expansion, "root_to_shoot", "biomass_density", ["climatic_domain"])
    stands = stands.merge(carbon_fractions(factors), on="climatic_domain")
    agb = stands["bcef_stock"] * stands["carbon_fraction"]
    biomass = methods.biomass_carbon(1.0, stands["bcef_stock"], stands["root_to_shoot"], stands["carbon_fraction"])
    # U of (1 + R) from U of R; the factor product's U by IPCC Eq. 3.1
    u_one_plus_r = stands["root_to_shoot_u"] * stands["root_to_shoot"] / (1 + stands["root_to_shoot"])
    u_agb = of_product(np.column_stack([stands["bcef_stock_u"], stands["carbon_fraction_u"]]))
    u_biomass = of_product(np.column_stack([stands["bcef_stock_u"], u_one_plus_r, stands["carbon_fraction_u"]]))
    snapshots = stands[["snapshot", "snapshot_area", "snapshot_shares", "bcef_stock_snapshot", "root_to_shoot_snapshot",
                        "carbon_fraction_snapshot"]]
    stands = stands.assign(
        snapshot=[join_snapshots(row) for row in snapshots.itertuples(index=False)],
        basis=combined_basis(stands["uncertainty_basis"], stands["bcef_stock_basis"], stands["root_to_shoot_basis"],
                             stands["carbon_fraction_basis"]),
    )
    frames = [_weighted(stands, pool, factor, u) for pool, factor, u in (("agb", agb, u_agb), ("biomass", biomass, u_biomass))]
    return pd.concat(frames, ignore_index=True)


def _weighted(stands: pd.DataFrame, pool: str, factor: pd.Series, u_factor) -> pd.DataFrame:
    """Σ_domain weight × factor per country and year, times its growing stock; the domains' factor
    uncertainties averaged with the same weights (one set of tables: fully correlated)."""
    parts = stands.assign(wf=stands["weight"] * factor, wfu=stands["weight"] * factor * u_factor,
                          is_default=stands["basis"] == "default")
    rows = parts.groupby(JOIN, dropna=False).agg(
        volume=("value", "first"), u_volume=("uncertainty", "first"), weights=("weight", "sum"), factor=("wf", "sum"),
        spread=("wfu", "sum"), is_default=("is_default", "any"), snapshot=("snapshot", join_snapshots),
    ).reset_index()
    # every forest domain of the country must have found its factors, else the weights fall short
    rows = rows[np.isclose(rows.pop("weights"), 1.0)]
    u_factor = rows.pop("spread") / rows["factor"]
    return rows.assign(
        variable="carbon_stock", unit=VARIABLE_UNITS["carbon_stock"], pool=pool,
        value=rows.pop("volume") * rows.pop("factor"),
        uncertainty=of_product(np.column_stack([rows.pop("u_volume"), u_factor])),
        uncertainty_basis=np.where(rows.pop("is_default"), "default", "reported"),
        flag="estimated", method=METHOD,
    )
