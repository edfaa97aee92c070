"""Reconciliation: every aggregate a source reports beside the sum of that source's own members.

FRA's region and World rows against its countries, GFW's US total against its states: the
reported figure, the bottom-up sum, their difference and the members' coverage. A relative
difference above TOLERANCE is a finding for the data steward, not an error; where only some
members reported, the comparison is shown but not judged (`within_tolerance` is empty).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from ercan.accounting.aggregate import bottom_up
from ercan.accounting.growing_stock import METHOD as GROWING_STOCK_METHOD
from ercan.accounting.hierarchy import Hierarchy
from ercan.accounting.sites import SiteSums
from ercan.schema import ADDITIVE_VARIABLES

# Relative tolerance: reported aggregates are sums of the same members, so anything beyond
# rounding (0.1 %) means members are missing, duplicated, or the aggregate is defined differently.
TOLERANCE = 0.001
_KEY = ["area_code", "source", "variable", "pool", "land_category", "category", "year", "unit"]


def reconcile_aggregates(observations: pd.DataFrame, hierarchy: Hierarchy, sites: SiteSums | None = None,
                         tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Every aggregate a source reports (`observations`, above site level) beside the sum of that
    source's members (its site members summed in `sites`)."""
    aggregates = set(hierarchy.aggregates())
    reported = observations[
        observations["area_code"].isin(aggregates) & observations["variable"].isin(ADDITIVE_VARIABLES)
    ]
    if reported.empty:
        return pd.DataFrame()
    computed = []
    for source, rows in observations.groupby("source"):
        if source not in set(reported["source"]):
            continue
        no_basis = pd.DataFrame(columns=["area_code", "year", "value"])
        computed.append(bottom_up(rows, hierarchy, no_basis, sites.of(source) if sites else None))
    computed = pd.concat(computed, ignore_index=True)
    merged = reported.merge(
        computed[_KEY + ["value", "members_total", "members_reporting", "coverage"]],
        on=_KEY,
        how="inner",  # an aggregate with no members in the same source has nothing to reconcile
        suffixes=("_reported", "_bottom_up"),
    )
    merged = merged.rename(columns={"value_reported": "reported_value", "value_bottom_up": "bottom_up_value"})
    merged["difference"] = merged["bottom_up_value"] - merged["reported_value"]
    merged["relative_difference"] = merged["difference"] / merged["reported_value"].where(merged["reported_value"] != 0)
    merged["tolerance"] = tolerance
    # Only an aggregate all of whose members reported can be judged: a partial sum is expected to fall short.
    judged = merged["coverage"] == "complete"
    merged["within_tolerance"] = (merged["relative_difference"].abs() <= tolerance).astype(object).where(judged, None)
    return merged.assign(kind="aggregate_vs_members")


def reconcile(observations: pd.DataFrame, hierarchy: Hierarchy, fluxes: pd.DataFrame,
              stocks: pd.DataFrame | None = None, sites: SiteSums | None = None) -> pd.DataFrame:
    """Every check of one figure against another: aggregates against their members, and sources
    (or methods) against the one the declared priority publishes."""
    frames = [reconcile_aggregates(observations, hierarchy, sites), compare_sources(observations, fluxes, stocks)]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


PRIORITIES = Path(__file__).with_name("priorities.csv")


@cache
def priorities() -> pd.DataFrame:
    table = pd.read_csv(PRIORITIES)
    return table.assign(priority=table["priority"].str.split())


def compare_sources(observations: pd.DataFrame, fluxes: pd.DataFrame, stocks: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same quantity from different sources, each beside the one the declared priority
    (priorities.csv) publishes: forest area by FRA 2020 vs FRA 2015 vs OWID vs national
    inventories; inventory-reported forest net emissions vs FRA stock-difference estimates;
    reported biomass stocks vs the biomass estimated from growing stock."""
    frames = []
    for rule in priorities().itertuples(index=False):
        rank = {source: i for i, source in enumerate(rule.priority)}
        if rule.variable == "net_emissions":
            frames.append(_method_vs_reported(fluxes, rule, rank))
        elif rule.variable == "carbon_stock":
            frames.append(_growing_stock_vs_reported(stocks, rule, rank))
        else:
            rows = observations[
                (observations["variable"] == rule.variable)
                & (observations["land_category"] == rule.land_category)
                & (observations["area_level"] == "national")
                & observations["category"].isna()
                & observations["source"].isin(rank)
            ]
            frames.append(_against_preferred(rows, ["area_code", "year"], rank, rule.tolerance, "source_vs_source"))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _against_preferred(rows: pd.DataFrame, key: list[str], rank: dict, tolerance: float, kind: str) -> pd.DataFrame:
    rows = rows.assign(rank=rows["source"].map(rank)).sort_values("rank")
    preferred = rows.drop_duplicates(key, keep="first")
    others = rows.merge(preferred[key + ["source"]].rename(columns={"source": "preferred"}), on=key)
    others = others[others["source"] != others["preferred"]]
    merged = preferred.merge(
        others[key + ["source", "value", "method"] if "method" in others else key + ["source", "value"]]
        .rename(columns={"source": "other_source", "value": "other_value", "method": "other_method"}),
        on=key,
    )
    if merged.empty:
        return merged
    return _against(merged.rename(columns={"value": "reported_value"}), tolerance, kind)


def _against(pairs: pd.DataFrame, tolerance: float, kind: str) -> pd.DataFrame:
    """The other value against the preferred (`source`, `reported_value`): difference, relative
    difference and whether it is within the tolerance."""
    pairs["preferred_source"] = pairs["source"]
    pairs["kind"] = kind
    pairs["difference"] = pairs["other_value"] - pairs["reported_value"]
    pairs["relative_difference"] = pairs["difference"] / pairs["reported_value"].where(pairs["reported_value"] != 0)
    pairs["tolerance"] = tolerance
    pairs["within_tolerance"] = (pairs["relative_difference"].abs() <= tolerance).astype(object)
    return pairs


def _method_vs_reported(fluxes: pd.DataFrame, rule, rank: dict) -> pd.DataFrame:
    """An inventory's reported forest-land net emissions in a year beside every stock-difference
    estimate (total pool, else living biomass) whose period contains that year."""
    if fluxes.empty:
        return pd.DataFrame()
    national = fluxes[(fluxes["area_level"] == "national") & (fluxes["land_category"] == rule.land_category)]
    reported = national[(national["method"] == "reported") & national["source"].isin(rank)]
    estimated = national[(national["method"] == "stock_difference") & national["pool"].isin(["total", "biomass"])]
    estimated = estimated.sort_values("pool", key=lambda p: p.map({"total": 0, "biomass": 1}))
    estimated = estimated.drop_duplicates(["source", "area_code", "year_start", "year_end"])
    pairs = reported.merge(
        estimated[["area_code", "source", "pool", "year_start", "year_end", "value"]].rename(
            columns={"source": "other_source", "pool": "other_pool", "value": "other_value"}
        ),
        on="area_code", suffixes=("", "_estimate"),
    )
    inside = (pairs["year"] >= pairs["year_start_estimate"]) & (pairs["year"] <= pairs["year_end_estimate"])
    pairs = pairs[inside].drop(columns=["year_start", "year_end"]).rename(
        columns={"year_start_estimate": "year_start", "year_end_estimate": "year_end", "value": "reported_value"}
    )
    if pairs.empty:
        return pairs
    pairs["other_source"] = pairs["other_source"] + ":stock_difference:" + pairs.pop("other_pool")
    return _against(pairs, rule.tolerance, "method_vs_reported")


def _growing_stock_vs_reported(stocks: pd.DataFrame | None, rule, rank: dict) -> pd.DataFrame:
    """A country's reported living-biomass stock (agb + bgb, density × area) beside the same
    source's estimate from its growing stock (growing_stock.py) for the same year."""
    if stocks is None or stocks.empty or "method" not in stocks:
        return pd.DataFrame()
    national = stocks[(stocks["area_level"] == "national") & (stocks["variable"] == "carbon_stock")
                      & (stocks["land_category"] == rule.land_category) & (stocks["pool"] == "biomass")
                      & stocks["source"].isin(rank)]
    reported = national[national["method"] == "pool_sum"]
    estimated = national[national["method"] == GROWING_STOCK_METHOD]
    pairs = reported.merge(estimated[["source", "area_code", "year", "value"]].rename(columns={"value": "other_value"}),
                           on=["source", "area_code", "year"])
    if pairs.empty:
        return pairs
    pairs = pairs.rename(columns={"value": "reported_value"})
    pairs["other_source"] = pairs["source"] + ":" + GROWING_STOCK_METHOD + ":biomass"
    return _against(pairs, rule.tolerance, "method_vs_reported")
