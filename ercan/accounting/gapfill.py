"""Gap-filling of carbon pools a country did not report (explicit, flagged, switchable).

First, whatever the method: a pool the country reported in other years of the same source gets
its own density from the nearest of those years (the earlier on a tie), `method =
own_density:<year>` (Australia reports its pools from 2000: its 1990 pools take its 2000
densities, not Oceania's). Then one of two methods (`Options.gap_fill`; docs/accounting.md
compares them):

- `regional_density` (the default): a missing pool's density is the area-weighted density of the
  country's nearest UN M49 region whose reporting members have it (sub-region, then region, then
  the world), from the same source and year. `method = regional_density:<region>`.
- `tier1_climatic_domain`: the living-biomass pools (agb, bgb) from IPCC Tier 1 defaults instead:
  Σ_domain share × the domain's default above-ground biomass of mature natural forest on the
  country's continent (× R for bgb) × CF (`tier1_densities`). `method = tier1_climatic_domain`.
  Pools without a Tier 1 default in the shipped tables (dead wood, litter, soil), and countries
  without domain shares, still get the regional density.

The stock is the density × the country's forest area. Every filled row carries
`flag = gap_filled`, so reported-only figures can always be told apart and recomputed without them.
"""

from __future__ import annotations

import pandas as pd

from pathlib import Path

import numpy as np

from ercan.accounting.domains import carbon_fractions, domain_weights, factor_uncertainty, in_class
from ercan.accounting.hierarchy import m49_ancestors, m49_code
from ercan.accounting.stocks import JOIN, TOTAL_POOLS, join_snapshots, pool_sum
from ercan.accounting.uncertainty import defaults, of_product
from ercan.schema import VARIABLE_UNITS

_SERIES = ["source", "year", "pool"]
METHODS = ("regional_density", "tier1_climatic_domain")
TIER1_METHOD = "tier1_climatic_domain"
TIER1_SOURCE = "ipcc_defaults"  # Earthshot's processed IPCC Tier 1 table: biomass and R by ecozone and continent
# Which continent of the Tier 1 table a country's UN M49 region belongs to (with the reason).
TIER1_CONTINENTS = pd.read_csv(Path(__file__).with_name("tier1_continents.csv"), dtype=str)


def fill_pools(area: pd.DataFrame, stocks: pd.DataFrame, regional_densities: pd.DataFrame,
               tier1: pd.DataFrame | None = None) -> pd.DataFrame:
    """Gap-filled carbon_density and carbon_stock rows for every (country, year) with a forest area
    and a pool of TOTAL_POOLS it lacks; plus the gap-filled `total` of such countries.

    `area`: national forest areas (with uncertainty); `stocks`: national stocks as derived from
    reports (national_stocks); `regional_densities`: reported-only aggregate carbon_density rows;
    `tier1`: Tier 1 densities per country and pool (`tier1_densities`), preferred where given."""
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
    candidates = candidates.assign(method="regional_density:" + candidates["region"],
                                   u_density=defaults()["carbon_density"], basis="default")
    candidates = pd.concat([_own_nearest_year(missing, stocks, area), candidates], ignore_index=True)
    if tier1 is not None and not tier1.empty:
        # before the nearest region (depth 0): a Tier 1 default, where there is one, wins
        from_tier1 = missing.merge(tier1.rename(columns={"snapshot": "region_snapshot"}), on=["area_code", "pool"])
        candidates = pd.concat([candidates, from_tier1.assign(depth=-1, method=TIER1_METHOD)], ignore_index=True)
    filled = candidates.sort_values("depth").drop_duplicates(JOIN + ["pool"], keep="first")
    if filled.empty:
        return filled
    common = {"flag": "gap_filled", "uncertainty_basis": filled["basis"], "method": filled["method"],
              "snapshot": [join_snapshots(p) for p in zip(filled["snapshot"], filled["region_snapshot"])]}
    densities = filled.assign(variable="carbon_density", unit=VARIABLE_UNITS["carbon_density"],
                              value=filled["density"], uncertainty=filled["u_density"], **common)
    stock_rows = filled.assign(
        variable="carbon_stock", unit=VARIABLE_UNITS["carbon_stock"], value=filled["density"] * filled["value"],
        uncertainty=of_product(np.column_stack([filled["uncertainty"], filled["u_density"]])),
        **common,
    )
    keep = JOIN + ["variable", "unit", "pool", "value", "uncertainty", "uncertainty_basis", "flag", "method", "snapshot"]
    densities, stock_rows = densities[keep], stock_rows[keep]
    completed = pd.concat([stocks[stocks["pool"].isin(TOTAL_POOLS)], stock_rows], ignore_index=True)
    totals = pool_sum(completed, "total", TOTAL_POOLS)
    return pd.concat([densities, stock_rows, totals[totals["flag"] == "gap_filled"]], ignore_index=True)


def _own_nearest_year(missing: pd.DataFrame, stocks: pd.DataFrame, area: pd.DataFrame) -> pd.DataFrame:
    """Candidates from the country itself: the pool's density (stock / area, same source) in the
    nearest year it reported the pool, the earlier year on a tie. Ranked before every other method
    (depth -2): a country's own forests say more about them than its region's or a Tier 1 default."""
    reported = stocks[stocks["pool"].isin(TOTAL_POOLS)].merge(area[JOIN + ["value"]], on=JOIN, suffixes=("", "_area"))
    own = pd.DataFrame({"source": reported["source"], "area_code": reported["area_code"],
                        "land_category": reported["land_category"], "pool": reported["pool"],
                        "from_year": reported["year"], "density": reported["value"] / reported["value_area"],
                        "region_snapshot": reported["snapshot"]})
    pairs = missing.merge(own, on=["source", "area_code", "land_category", "pool"])
    pairs = pairs.assign(gap=(pairs["from_year"] - pairs["year"]).abs()).sort_values(["gap", "from_year"])
    pairs = pairs.drop_duplicates(JOIN + ["pool"])
    return pairs.assign(depth=-2, method="own_density:" + pairs.pop("from_year").astype(str),
                        u_density=defaults()["carbon_density"], basis="default").drop(columns="gap")


def tier1_densities(factors: pd.DataFrame, countries) -> pd.DataFrame:
    """(area_code, pool, density, u_density, basis, snapshot): IPCC Tier 1 carbon densities (t C/ha)
    of the living-biomass pools for these countries, Σ_domain weight × the domain's default × CF
    (weights: domains.domain_weights).

    A domain's default on a continent is the mean over its ecological zones (the country's zone
    split is unknown) of the Tier 1 above-ground biomass of natural forest in stands over 20 years
    (Kmax), and of that biomass × R (R from the zone's own ratios, in the class of that biomass);
    where the table has no row for the domain on the country's continent, the mean over all
    continents. U: half the table's low-high range (its meaning varies by row, as ipcc_defaults
    says) for the biomass, the documented default for R and CF (domains.py)."""
    weights = domain_weights(factors)
    continent_of = dict(zip(TIER1_CONTINENTS["m49"].map(m49_code), TIER1_CONTINENTS["continent"]))
    continents = pd.DataFrame([(c, next((continent_of[r] for r in m49_ancestors(c) if r in continent_of), None))
                               for c in countries], columns=["area_code", "region"]).dropna()
    table = factors[(factors["source"] == TIER1_SOURCE) & (factors["stratum"] == "natural")]
    mature = table[(table["parameter"] == "biomass_density") & (table["pool"] == "agb")
                   & (table["condition_variable"] == "stand_age") & (table["condition_min"] == 20)]
    u, _ = factor_uncertainty(mature)
    zones = pd.DataFrame({"climatic_domain": mature["climatic_domain"], "ecological_zone": mature["ecological_zone"],
                          "region": mature["region"], "biomass_density": mature["value"], "u_agb": u,
                          "snapshot": mature["snapshot"]}).reset_index(drop=True)
    zones = in_class(zones, table, "root_to_shoot", "biomass_density", ["ecological_zone", "region"])
    zones = zones.assign(below=zones["biomass_density"] * zones["root_to_shoot"])
    means = {"agb": ("biomass_density", "mean"), "bgb": ("below", "mean"), "u_agb": ("u_agb", "mean"),
             "u_r": ("root_to_shoot_u", "mean"), "snapshot": ("snapshot", join_snapshots)}
    by_continent = zones.groupby(["climatic_domain", "region"]).agg(**means).reset_index()
    everywhere = zones.groupby("climatic_domain").agg(**means).reset_index()
    domains = continents.merge(weights.rename(columns={"snapshot": "snapshot_shares"}), on="area_code")
    own = domains.merge(by_continent, on=["climatic_domain", "region"], how="left")
    fallback = domains.merge(everywhere, on="climatic_domain", how="left").set_index(own.index)
    own = own.fillna({c: fallback[c] for c in ("agb", "bgb", "u_agb", "u_r", "snapshot")})
    own = own.merge(carbon_fractions(factors), on="climatic_domain").dropna(subset=["agb"])
    frames = []
    for pool, u_parts in (("agb", ["u_agb", "carbon_fraction_u"]), ("bgb", ["u_agb", "u_r", "carbon_fraction_u"])):
        part = own.assign(wd=own["weight"] * own[pool] * own["carbon_fraction"])
        part = part.assign(wdu=part["wd"] * of_product(part[u_parts].to_numpy()), snapshots=part["snapshot"] + ";"
                           + part["snapshot_shares"] + ";" + part["carbon_fraction_snapshot"])
        rows = part.groupby("area_code").agg(weights=("weight", "sum"), density=("wd", "sum"), spread=("wdu", "sum"),
                                             snapshot=("snapshots", join_snapshots)).reset_index()
        rows = rows[np.isclose(rows.pop("weights"), 1.0)]  # every forest domain of the country has its default
        frames.append(rows.assign(pool=pool, u_density=rows.pop("spread") / rows["density"], basis="default"))
    return pd.concat(frames, ignore_index=True)
