"""From validated observations to the published products (plain pandas; no Prefect here)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from ercan.accounting.aggregate import bottom_up
from ercan.accounting.fluxes import OBSERVED as FLUXES_OBSERVED
from ercan.accounting.fluxes import carbon_fluxes
from ercan.accounting.gapfill import METHODS as GAP_FILL_METHODS
from ercan.accounting.gapfill import TIER1_METHOD, fill_pools, tier1_densities
from ercan.accounting.growing_stock import biomass_from_growing_stock
from ercan.accounting.hierarchy import Hierarchy
from ercan.accounting.reconcile import Comparison, reconcile
from ercan.accounting.restoration import OBSERVED as RESTORATION_OBSERVED
from ercan.accounting.restoration import restoration_progress
from ercan.accounting.sites import site_rows, split_sites
from ercan.accounting.stocks import national_stocks, with_default_uncertainty
from ercan.accounting.timeseries import interpolate
from ercan.errors import ConfigError
from ercan.schema import conform_table

STOCK_VARIABLES = ("area", "carbon_density", "carbon_stock")


@dataclass(frozen=True)
class Options:
    """Accounting switches a steward may turn (ERCAN_GAP_FILL, ERCAN_INTERPOLATE_YEARS; docs/accounting.md)."""

    # How missing pools are filled: `regional_density`, `tier1_climatic_domain`, or `off` (gapfill.py)
    gap_fill: str = "regional_density"
    # Years to interpolate national stock series at (between reporting years only; none by default)
    interpolate_years: tuple[int, ...] = ()

    @classmethod
    def from_env(cls) -> Options:
        """ERCAN_GAP_FILL=off turns gap-filling off, =tier1_climatic_domain fills living biomass from
        IPCC Tier 1 defaults (=on: the default method); ERCAN_INTERPOLATE_YEARS="2016-2019,2021"
        asks for interpolated national series at those years."""
        years, text = [], os.environ.get("ERCAN_INTERPOLATE_YEARS", "")
        for part in filter(None, text.replace(" ", "").split(",")):
            first, _, last = part.partition("-")
            if not (first.isdigit() and (last.isdigit() or not last)):
                raise ConfigError(f"ERCAN_INTERPOLATE_YEARS={text!r}: write years or ranges, e.g. '2016-2019,2021'")
            years += range(int(first), int(last or first) + 1)
        gap_fill = os.environ.get("ERCAN_GAP_FILL", "on").strip().lower()
        gap_fill = {"on": cls.gap_fill, "0": "off", "false": "off", "no": "off"}.get(gap_fill, gap_fill)
        if gap_fill not in (*GAP_FILL_METHODS, "off"):
            raise ConfigError(f"ERCAN_GAP_FILL={gap_fill!r}: write one of {', '.join((*GAP_FILL_METHODS, 'off'))}")
        return cls(gap_fill=gap_fill, interpolate_years=tuple(years))


def carbon_stocks(observations: pd.DataFrame, hierarchy: Hierarchy, options: Options,
                  factors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Forest area, carbon density and carbon stock per pool: countries as reported/derived,
    regions and the world bottom-up from countries, each aggregate with its coverage. With
    gap-filling, missing pools are filled (flagged) and every aggregate's stock is published a
    second time, gap-filled, beside the reported-only one. With reference `factors`, national
    biomass stocks are also estimated from growing stock (flag `estimated`, growing_stock.py)."""
    stocks = national_stocks(observations)
    if stocks.empty:  # no source reports carbon densities
        return pd.DataFrame()
    national = observations[
        (observations["area_level"] == "national")
        & observations["source"].isin(set(stocks["source"]))
        & observations["variable"].isin(STOCK_VARIABLES)
        & observations["category"].isna()
    ]
    national = with_default_uncertainty(national).assign(method="reported")
    members = pd.concat([national, stocks], ignore_index=True)
    area = national[(national["variable"] == "area") & (national["land_category"] == "forest_land")]
    basis = area[["area_code", "year", "value"]]
    reported_only = bottom_up(members, hierarchy, basis).assign(method="bottom_up")
    frames = [members, reported_only]
    if factors is not None and not factors.empty:
        frames.append(biomass_from_growing_stock(observations, factors))
    if options.interpolate_years:
        frames.append(interpolate(members, options.interpolate_years))
    if options.gap_fill != "off":
        regional_densities = reported_only[reported_only["variable"] == "carbon_density"]
        tier1 = None
        if options.gap_fill == TIER1_METHOD and factors is not None and not factors.empty:
            tier1 = tier1_densities(factors, area["area_code"].unique())
        filled = fill_pools(area, stocks, regional_densities, tier1)
        if not filled.empty:
            frames += [filled, _gap_filled_aggregates(stocks, filled, reported_only, hierarchy, basis)]
    return pd.concat(frames, ignore_index=True)


def _gap_filled_aggregates(stocks, filled, reported_only, hierarchy, basis) -> pd.DataFrame:
    """Every aggregate again, over every member's stock: reported where it was, gap-filled where
    not. Its coverage columns still describe the members that reported (the rest is filled)."""
    filled_stocks = filled[filled["variable"] == "carbon_stock"]
    complete = pd.concat([stocks, filled_stocks], ignore_index=True)
    aggregates = bottom_up(complete, hierarchy, basis)
    coverage = ["members_reporting", "coverage_share", "coverage"]
    key = ["area_code", "source", "variable", "pool", "land_category", "year"]
    aggregates = aggregates.drop(columns=coverage).merge(reported_only[key + coverage], on=key, how="left")
    aggregates["members_reporting"] = aggregates["members_reporting"].fillna(0)
    aggregates["coverage"] = aggregates["coverage"].fillna("partial")
    return aggregates.assign(flag="gap_filled", method="bottom_up_gap_filled")


def build(observations: pd.DataFrame | pa.Table, options: Options = Options(),
          factors: pd.DataFrame | None = None,
          comparisons: Mapping[str, tuple[Comparison, ...]] | None = None) -> dict[str, pd.DataFrame]:
    """The accounting products from the observations, (optional) the reference factors, and the
    comparisons each source declares ({source id: its `reconcile:`}, ercan.sources.comparisons()).

    Site rows are summed per enclosing area in Arrow first (sites.py): the rest works in pandas on
    the rows above site level, however many plots a source reports; the products that list site
    rows one by one (fluxes, restoration) also get those of the variables they read."""
    table = observations if isinstance(observations, pa.Table) else conform_table(observations)
    observations, sites = split_sites(table)
    hierarchy = Hierarchy(observations, sites.members)
    stocks = carbon_stocks(observations, hierarchy, options, factors)
    fluxes = carbon_fluxes(pd.concat([observations, site_rows(table, FLUXES_OBSERVED)], ignore_index=True), stocks)
    restoration = restoration_progress(pd.concat([observations, site_rows(table, RESTORATION_OBSERVED)], ignore_index=True))
    return {
        "carbon_stocks": stocks,
        "carbon_fluxes": fluxes,
        "restoration_progress": restoration,
        "reconciliation": reconcile(observations, hierarchy, fluxes, stocks, sites, comparisons),
    }
