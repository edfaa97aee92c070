"""Net emissions and removals (t CO2e/yr; removals negative) by area, land category, pool and
period, by method, beside what inventories report (IPCC 2006 GL Vol. 4, Ch. 2):

- `stock_difference`: from carbon stocks at two reporting dates (Eq. 2.5), for every consecutive
  pair of a series' reporting years and every ten-year span between them; countries and every
  aggregate whose coverage is complete at both dates. 95 % intervals by Approach 1 (correlated
  dates) and by Approach 2 (Monte Carlo, seeded).
- `gain_loss`: from reported annual gains and losses (Eq. 2.4): the Global Carbon Budget's land
  sink (gain) and land-use-change emissions (loss).
- `reported_stock_change`: inventories' reported annual carbon stock changes per pool, summed and
  converted (× 44/12) — checkable against the same inventory's reported net emissions.
- `reported`: net emissions as inventories report them (UNFCCC, CRF), untouched, for comparison.
- `literature`: net emissions as documents cite them (sources of origin `literature`), untouched:
  not an inventory's report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ercan.accounting import methods, uncertainty
from ercan.accounting.stocks import join_snapshots, sum_with_uncertainty, with_default_uncertainty
from ercan.schema import VARIABLE_UNITS
from ercan.sources import of_origin

_SERIES = ["source", "area_code", "area_level", "parent_code", "land_category", "category", "pool", "method"]
_UNIT = VARIABLE_UNITS["net_emissions"]


# The variables carbon_fluxes reads from the observations, at any level of area.
OBSERVED = ("land_sink", "land_use_emissions", "carbon_stock_change", "net_emissions")


def carbon_fluxes(observations: pd.DataFrame, stocks: pd.DataFrame) -> pd.DataFrame:
    frames = [stock_difference(stocks), gain_loss(observations), reported_stock_change(observations), reported(observations)]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def periods(years) -> list[tuple[int, int]]:
    """Consecutive reporting years, plus every ten-year span whose both ends were reported."""
    years = sorted(set(years))
    pairs = set(zip(years, years[1:]))
    pairs |= {(a, a + 10) for a in years if a + 10 in years}
    return sorted(pairs)


def stock_difference(stocks: pd.DataFrame) -> pd.DataFrame:
    """ΔC between reporting dates of carbon stocks: only stocks from reports (a gap-filled stock
    moves with its region's density, not with the country's forest; an interpolated one is not a
    reporting date)."""
    if stocks.empty:
        return pd.DataFrame()
    usable = stocks[
        (stocks["variable"] == "carbon_stock")
        & stocks["flag"].isin(["reported", "derived"])  # neither gap-filled nor interpolated
        & (stocks["coverage"].isna() | (stocks["coverage"] == "complete"))
    ]
    if usable.empty:
        return pd.DataFrame()
    usable = usable.drop(columns=["year_start", "year_end"])
    spans = pd.DataFrame(
        [(y1, y2) for y1, y2 in periods(usable["year"])], columns=["year_start", "year_end"]
    )
    first = usable.merge(spans, left_on="year", right_on="year_start")
    pairs = first.merge(usable, left_on=_SERIES + ["year_end"], right_on=_SERIES + ["year"], suffixes=("_1", "_2"))
    if pairs.empty:
        return pd.DataFrame()
    c1, c2, u1, u2 = (pairs[c].to_numpy(float) for c in ("value_1", "value_2", "uncertainty_1", "uncertainty_2"))
    t1, t2 = pairs["year_start"].to_numpy(float), pairs["year_end"].to_numpy(float)
    rho = uncertainty.defaults()["stock_difference_correlation"]
    value = methods.net_emissions(methods.stock_difference(c1, c2, t1, t2))

    def flux(c_1, c_2):
        return methods.net_emissions(methods.stock_difference(c_1, c_2, t1[:, None], t2[:, None]))

    low, high = uncertainty.monte_carlo(flux, {"c_1": (c1, u1), "c_2": (c2, u2)}, correlation={("c_1", "c_2"): rho})
    return pairs[_SERIES[:-1]].assign(
        year=pairs["year_end"].astype(int),
        year_start=pairs["year_start"].astype(int),
        year_end=pairs["year_end"].astype(int),
        variable="net_emissions",
        unit=_UNIT,
        value=value,
        uncertainty=uncertainty.of_difference(c1, u1, c2, u2, rho),
        uncertainty_basis=uncertainty.combined_basis(pairs["uncertainty_basis_1"], pairs["uncertainty_basis_2"]),
        interval_low=low,
        interval_high=high,
        snapshot=[join_snapshots(p) for p in zip(pairs["snapshot_1"], pairs["snapshot_2"])],
        flag="derived",
        method="stock_difference",
    )


def gain_loss(observations: pd.DataFrame) -> pd.DataFrame:
    """Net emissions from a source's annual gains (`land_sink`) and losses (`land_use_emissions`)
    of the same area and year."""
    rows = with_default_uncertainty(observations[observations["variable"].isin(["land_sink", "land_use_emissions"])])
    if rows.empty:
        return pd.DataFrame()
    key = ["source", "area_code", "area_level", "parent_code", "land_category", "year"]
    gains = rows[rows["variable"] == "land_sink"]
    losses = rows[rows["variable"] == "land_use_emissions"]
    pairs = gains.merge(losses, on=key, suffixes=("_gain", "_loss"))
    g, l = pairs["value_gain"].to_numpy(float), pairs["value_loss"].to_numpy(float)
    ug, ul = pairs["uncertainty_gain"].to_numpy(float), pairs["uncertainty_loss"].to_numpy(float)

    def flux(gain, loss):
        return methods.net_emissions(methods.gain_loss(gain, loss))

    low, high = uncertainty.monte_carlo(flux, {"gain": (g, ug), "loss": (l, ul)})
    value = methods.net_emissions(methods.gain_loss(g, l))
    return pairs[key].assign(
        year_start=pairs["year"], year_end=pairs["year"], variable="net_emissions", unit=_UNIT, value=value,
        uncertainty=uncertainty.of_sum(np.stack([g, -l], axis=-1), np.stack([ug, ul], axis=-1)),
        uncertainty_basis=uncertainty.combined_basis(pairs["uncertainty_basis_gain"], pairs["uncertainty_basis_loss"]),
        interval_low=low, interval_high=high,
        snapshot=[join_snapshots(p) for p in zip(pairs["snapshot_gain"], pairs["snapshot_loss"])],
        flag="derived", method="gain_loss",
        pool=None, category=None,  # a budget's terms are of no pool or category; every method's rows carry both
    )


def reported_stock_change(observations: pd.DataFrame) -> pd.DataFrame:
    """Σ over pools of a reported annual carbon stock change, as net emissions (−ΔC × 44/12)."""
    rows = with_default_uncertainty(observations[observations["variable"] == "carbon_stock_change"])
    if rows.empty:
        return pd.DataFrame()
    key = ["source", "area_code", "area_level", "parent_code", "land_category", "category", "year", "year_start", "year_end"]
    sums = sum_with_uncertainty(rows, key)
    return sums.assign(
        variable="net_emissions", unit=_UNIT, value=methods.net_emissions(sums["value"]),
        flag="derived", method="reported_stock_change",
    )


def reported(observations: pd.DataFrame) -> pd.DataFrame:
    rows = observations[observations["variable"] == "net_emissions"]
    method = np.where(rows["source"].isin(of_origin("literature")), "literature", "reported")
    return rows.assign(method=method, uncertainty_basis=np.where(rows["uncertainty"].notna(), "reported", None))
