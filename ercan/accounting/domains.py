"""IPCC default factors by climatic domain, weighted by each country's climatic-domain shares.

Both Tier 1 estimates of ercan work this way: biomass from growing stock (`growing_stock.py`) and
the Tier 1 gap-fill (`gapfill.py`). A country's estimate is Σ_domain weight × the domain's factor,
where the weights are FRA's shares of the country's area by climatic domain
(`fra_climatic_domains`). Weighting rather than taking the dominant domain because many forest
countries straddle domains (USA: 26 % subtropical, 58 % temperate, 14 % boreal; CHN, RUS, BRA, ARG):
the dominant domain would give such a country one domain's factors for all of its forest, and a
country whose shares shift by a percent across 50 % would jump between factor sets. The shares are
of land area, not forest area (FRA publishes none by domain): that is the approximation made.

- IPCC gives no forest factors for the polar domain: a country's polar share is dropped and its
  other shares are scaled up to 1 (USA: 1 % polar). A country with only polar land gets no weight.
- Where a factor table has several forest types for a domain and class (BCEF_S for hardwoods,
  pines, conifers, ...), the domain's factor is their mean: FRA 2020 reports no split of growing
  stock or area by forest type. Their uncertainties are averaged too (one table: taken as fully
  correlated), and so are domains' (the same tables for every domain of a country).
- A factor's uncertainty is half its printed range over its value where the table gives a range,
  else the documented default `reference_factor` (uncertainty_defaults.csv), marked `default`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ercan.accounting.stocks import join_snapshots
from ercan.accounting.uncertainty import defaults

# Which reference source gives which factor: the FRA 2020 biomass calculator's IPCC 2006 tables
# (the only source with BCEF_S and R for all four forest domains, and what FRA's countries were
# given), the carbon fraction from IPCC Table 4.3 as ipcc_defaults carries it.
SHARES_SOURCE = "fra_climatic_domains"
EXPANSION_SOURCE = "fra_biomass_calculator"
CARBON_FRACTION_SOURCE = "ipcc_defaults"
FOREST_DOMAINS = ("tropical", "subtropical", "temperate", "boreal")


def domain_weights(factors: pd.DataFrame) -> pd.DataFrame:
    """(area_code, climatic_domain, weight, snapshot): each country's shares of the forest domains,
    scaled to add up to 1."""
    shares = factors[(factors["source"] == SHARES_SOURCE) & (factors["parameter"] == "climatic_domain_share")
                     & factors["climatic_domain"].isin(FOREST_DOMAINS) & (factors["value"] > 0)]
    weights = shares.assign(weight=shares["value"] / shares.groupby("region")["value"].transform("sum"))
    return weights.rename(columns={"region": "area_code"})[["area_code", "climatic_domain", "weight", "snapshot"]]


def factor_uncertainty(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(U, basis) of factor rows: half the printed range over the value, else the documented default."""
    spread = (rows["value_high"] - rows["value_low"]) / 2 / rows["value"]
    return spread.fillna(defaults()["reference_factor"]), pd.Series(np.where(spread.isna(), "default", "reported"), index=rows.index)


def in_class(estimates: pd.DataFrame, factors: pd.DataFrame, parameter: str, condition: str, on: list[str]) -> pd.DataFrame:
    """Per row of `estimates`, the mean over strata (forest types) of the `parameter` rows of
    `factors` (one source's) that match on the `on` columns and whose validity range
    [condition_min, condition_max) holds the estimate's `condition` value. Adds the columns
    <parameter>, <parameter>_u (its uncertainty), <parameter>_basis, <parameter>_snapshot; a row
    no factor holds for is dropped."""
    table = factors[factors["parameter"] == parameter]
    u, basis = factor_uncertainty(table)
    table = pd.DataFrame({**{c: table[c] for c in on}, "low": table["condition_min"], "high": table["condition_max"],
                          "factor": table["value"], "factor_u": u, "factor_default": basis == "default",
                          "factor_snapshot": table["snapshot"]})
    rows = estimates[on + [condition]].reset_index(names="row").merge(table, on=on)
    x = rows[condition]
    rows = rows[(x >= rows["low"]) & (rows["high"].isna() | (x < rows["high"]))]
    found = rows.groupby("row").agg(**{
        parameter: ("factor", "mean"), f"{parameter}_u": ("factor_u", "mean"),
        f"{parameter}_basis": ("factor_default", "any"), f"{parameter}_snapshot": ("factor_snapshot", join_snapshots),
    })
    found[f"{parameter}_basis"] = np.where(found[f"{parameter}_basis"], "default", "reported")
    return estimates.join(found, how="inner")


def carbon_fractions(factors: pd.DataFrame) -> pd.DataFrame:
    """(climatic_domain, carbon_fraction, carbon_fraction_u, carbon_fraction_basis, carbon_fraction_snapshot)
    per forest domain: the domain's own value (IPCC Table 4.3) where given, else the one for all
    forest biomass."""
    table = factors[(factors["source"] == CARBON_FRACTION_SOURCE) & (factors["parameter"] == "carbon_fraction")]
    general = table[table["climatic_domain"].isna() & (table["pool"] == "biomass")]
    own = table[table["climatic_domain"].isin(FOREST_DOMAINS) & table["pool"].isna() & table["stratum"].isna()]
    rows = []
    for domain in FOREST_DOMAINS:
        chosen = own[own["climatic_domain"] == domain]
        rows.append((chosen if not chosen.empty else general).iloc[:1].assign(climatic_domain=domain))
    table = pd.concat(rows, ignore_index=True)
    u, basis = factor_uncertainty(table)
    return pd.DataFrame({"climatic_domain": table["climatic_domain"], "carbon_fraction": table["value"],
                         "carbon_fraction_u": u, "carbon_fraction_basis": basis, "carbon_fraction_snapshot": table["snapshot"]})
