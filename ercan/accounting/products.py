"""From validated observations to the published products (plain pandas; no Prefect here)."""

from __future__ import annotations

import pandas as pd

from ercan.accounting.aggregate import bottom_up
from ercan.accounting.hierarchy import Hierarchy
from ercan.accounting.reconcile import reconcile
from ercan.accounting.stocks import national_stocks
from ercan.schema import conform

STOCK_VARIABLES = ("area", "carbon_density", "carbon_stock")


def carbon_stocks(observations: pd.DataFrame, hierarchy: Hierarchy) -> pd.DataFrame:
    """Forest area, carbon density and carbon stock per pool: countries as reported/derived,
    regions and the world bottom-up from countries, each aggregate with its coverage."""
    stocks = national_stocks(observations)
    if stocks.empty:  # no source reports carbon densities
        return pd.DataFrame()
    stock_sources = set(stocks["source"])
    national = observations[
        (observations["area_level"] == "national")
        & observations["source"].isin(stock_sources)
        & observations["variable"].isin(STOCK_VARIABLES)
    ]
    members = pd.concat([national, stocks], ignore_index=True)
    basis = national[(national["variable"] == "area") & (national["land_category"] == "forest_land")]
    aggregates = bottom_up(members, hierarchy, basis[["area_code", "year", "value"]])
    return pd.concat([members, aggregates], ignore_index=True)


def build(observations: pd.DataFrame, factors: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    observations = conform(observations)
    hierarchy = Hierarchy(observations)
    return {
        "carbon_stocks": carbon_stocks(observations, hierarchy),
        "reconciliation": reconcile(observations, hierarchy),
    }
