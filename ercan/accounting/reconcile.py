"""Reconciliation: every aggregate a source reports beside the sum of that source's own members,
and every figure beside the figures its source declares it should be checked against.

FRA's region and World rows against its countries, GFW's US total against its states: the
reported figure, the bottom-up sum, their difference and the members' coverage. A relative
difference above TOLERANCE is a finding for the data steward, not an error; where only some
members reported, the comparison is shown but not judged (`within_tolerance` is empty).
A source's `reconcile:` comparisons (`Comparison`) put its national figures beside another
source's or another method's, in the same unit and sign convention, within their tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ercan.accounting.aggregate import bottom_up
from ercan.accounting.growing_stock import METHOD as GROWING_STOCK_METHOD
from ercan.accounting.hierarchy import Hierarchy
from ercan.accounting.sites import SiteSums
from ercan.errors import SourceError, did_you_mean
from ercan.schema import ADDITIVE_VARIABLES, VARIABLE_UNITS
from ercan.units import carbon_as_co2_factor, factor

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
              stocks: pd.DataFrame | None = None, sites: SiteSums | None = None,
              comparisons: Mapping[str, tuple[Comparison, ...]] | None = None) -> pd.DataFrame:
    """Every check of one figure against another: aggregates against their members, and each
    source's figures against the sources (or methods) it declares ({source id: its comparisons})."""
    frames = [reconcile_aggregates(observations, hierarchy, sites),
              compare_sources(observations, fluxes, stocks, comparisons or {})]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


class Comparison(BaseModel):
    """A check a source declares for its own figures (`reconcile:` in its declaration): its national
    rows of `variable` and `land_category` (no category) against the same area's figure from the
    first source of `against` that has one, or against an ercan estimate by another method. The
    other figure is published; this one is the `other_source` of the reconciliation row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variable: str
    land_category: str
    against: tuple[str, ...] = ()  # source ids, preferred first
    # or an estimate of the same quantity by another method: the inventory's net emissions against
    # the stock-difference estimates whose period holds the year (any source's), the reported
    # living-biomass stock against the source's own estimate from its growing stock
    against_estimate: Literal["stock_difference", "growing_stock_bcef"] | None = None
    against_variable: str | None = None  # the other sources' variable, where it is another one
    # the other figure counts carbon where this one counts CO2, or the other way (x 44/12 or 12/44)
    carbon_as_co2: bool = False
    sign: Literal[1, -1] = 1  # -1: the other's sign convention is the opposite (uptake positive)
    # how many years apart the other figure may be (the nearest is taken, the earlier on a tie)
    years_apart: int = Field(0, ge=0)
    tolerance: float = Field(gt=0)  # relative
    why: str
    _factor: float = PrivateAttr()

    @model_validator(mode="after")
    def _one_kind_of_comparison(self):
        if bool(self.against) == bool(self.against_estimate):
            raise ValueError("declare `against` (sources) or `against_estimate` (a method), one of them")
        expected = {"stock_difference": "net_emissions", "growing_stock_bcef": "carbon_stock"}.get(self.against_estimate)
        if expected and self.variable != expected:
            raise ValueError(f"`against_estimate: {self.against_estimate}` checks the variable {expected!r}")
        for name in (self.variable, self.against_variable):
            if name is not None and name not in VARIABLE_UNITS:
                raise ValueError(f"unknown variable {name!r}{did_you_mean(name, VARIABLE_UNITS)}")
        ours, theirs = VARIABLE_UNITS[self.variable], VARIABLE_UNITS[self.against_variable or self.variable]
        try:
            self._factor = self.sign * (carbon_as_co2_factor(theirs, ours) if self.carbon_as_co2 else factor(theirs, ours))
        except SourceError as e:
            raise ValueError(f"{e.what} ({e.hint})") from None
        return self

    @property
    def factor(self) -> float:
        """What the other figure is multiplied by to be in this variable's unit and sign convention."""
        return self._factor


def compare_sources(observations: pd.DataFrame, fluxes: pd.DataFrame, stocks: pd.DataFrame | None,
                    comparisons: Mapping[str, tuple[Comparison, ...]]) -> pd.DataFrame:
    """Every comparison each source declares ({source id: its comparisons}): forest area of a
    national inventory against FRA, an inventory's net emissions against the stock-difference
    estimate, a reported biomass stock against the one estimated from growing stock."""
    frames = []
    for source, declared in comparisons.items():
        for comparison in declared:
            if comparison.against_estimate == "stock_difference":
                frames.append(_method_vs_reported(fluxes, source, comparison))
            elif comparison.against_estimate == "growing_stock_bcef":
                frames.append(_growing_stock_vs_reported(stocks, source, comparison))
            else:
                frames.append(_against_sources(observations, source, comparison))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _national(observations: pd.DataFrame, sources, variable: str, land_category: str) -> pd.DataFrame:
    return observations[(observations["variable"] == variable) & (observations["land_category"] == land_category)
                        & (observations["area_level"] == "national") & observations["category"].isna()
                        & observations["source"].isin(sources)]


def _against_sources(observations: pd.DataFrame, source: str, comparison: Comparison) -> pd.DataFrame:
    """The source's rows, each beside the figure of the first `against` source for its area within
    `years_apart` years (the row keeps the preferred figure's fields and year, `other_year` the source's)."""
    ours = _national(observations, [source], comparison.variable, comparison.land_category)
    theirs = _national(observations, comparison.against, comparison.against_variable or comparison.variable,
                       comparison.land_category)
    theirs = theirs.assign(value=theirs["value"] * comparison.factor, unit=VARIABLE_UNITS[comparison.variable],
                           variable=comparison.variable, rank=theirs["source"].map(comparison.against.index))
    pairs = ours[["area_code", "year", "value", "source"]].rename(
        columns={"year": "other_year", "value": "other_value", "source": "other_source"}).merge(theirs, on="area_code")
    pairs = pairs.assign(_apart=(pairs["year"] - pairs["other_year"]).abs())
    pairs = pairs[pairs["_apart"] <= comparison.years_apart]
    pairs = pairs.sort_values(["rank", "_apart", "year"], kind="stable").drop_duplicates(["area_code", "other_year"])
    if pairs.empty:
        return pairs
    pairs = pairs.drop(columns=["rank", "_apart"]).rename(columns={"value": "reported_value"})
    return _against(pairs, comparison.tolerance, "source_vs_source")


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


def _method_vs_reported(fluxes: pd.DataFrame, source: str, comparison: Comparison) -> pd.DataFrame:
    """An inventory's reported net emissions in a year beside every stock-difference estimate
    (total pool, else living biomass) whose period contains that year."""
    if fluxes.empty:
        return pd.DataFrame()
    national = fluxes[(fluxes["area_level"] == "national") & (fluxes["land_category"] == comparison.land_category)]
    reported = national[(national["method"] == "reported") & (national["source"] == source)]
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
    return _against(pairs, comparison.tolerance, "method_vs_reported")


def _growing_stock_vs_reported(stocks: pd.DataFrame | None, source: str, comparison: Comparison) -> pd.DataFrame:
    """A country's reported living-biomass stock (agb + bgb, density × area) beside the same
    source's estimate from its growing stock (growing_stock.py) for the same year."""
    if stocks is None or stocks.empty or "method" not in stocks:
        return pd.DataFrame()
    national = stocks[(stocks["area_level"] == "national") & (stocks["variable"] == "carbon_stock")
                      & (stocks["land_category"] == comparison.land_category) & (stocks["pool"] == "biomass")
                      & (stocks["source"] == source)]
    reported = national[national["method"] == "pool_sum"]
    estimated = national[national["method"] == GROWING_STOCK_METHOD]
    pairs = reported.merge(estimated[["source", "area_code", "year", "value"]].rename(columns={"value": "other_value"}),
                           on=["source", "area_code", "year"])
    if pairs.empty:
        return pairs
    pairs = pairs.rename(columns={"value": "reported_value"})
    pairs["other_source"] = pairs["source"] + ":" + GROWING_STOCK_METHOD + ":biomass"
    pairs["other_year"] = pairs["year"]
    return _against(pairs, comparison.tolerance, "method_vs_reported")
