"""The report's plots, as PNG bytes: what people would rather look at than read.

Each function takes a published product's rows (pandas) and returns a PNG, or None when the
product holds nothing to plot. matplotlib's Agg backend renders to memory (no display needed);
figures are closed after rendering, so a long-lived worker does not accumulate them.
"""

from __future__ import annotations

import io
from functools import cache

import pandas as pd

from ercan.accounting.hierarchy import M49_REGIONS

REMOVAL, EMISSION, NEUTRAL = "#2b8a3e", "#c92a2a", "#1c7ed6"
TOP = 15  # bars in a ranking: more are unreadable at report width


@cache
def _pyplot():
    """matplotlib's pyplot on the Agg backend (no display on a worker: render to memory), imported when a
    plot is drawn: ~0.5 s that every `ercan` process would pay otherwise, a night without change too."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def continents() -> dict[str, str]:
    """{"M49:002": "Africa", ...}: the UN M49 regions directly under the world."""
    regions = pd.read_csv(M49_REGIONS, dtype=str)
    top = regions[regions["parent_m49"] == "001"]
    return {f"M49:{code}": name for code, name in zip(top["m49"], top["un_region"])}


def _png(figure) -> bytes:
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _by_continent(stocks: pd.DataFrame, variable: str, pool: str | None, method: str) -> pd.DataFrame:
    names = continents()
    rows = stocks[stocks["area_code"].isin(names) & (stocks["variable"] == variable) & (stocks["method"] == method)]
    rows = rows[rows["pool"].isna()] if pool is None else rows[rows["pool"] == pool]
    return rows.pivot_table(index="year", columns="area_code", values="value", aggfunc="first").rename(columns=names)


def area_and_stock(stocks: pd.DataFrame) -> bytes | None:
    """Forest area and total forest carbon stock by continent over the reporting years."""
    plt = _pyplot()
    area = _by_continent(stocks, "area", None, "bottom_up") / 1e6
    carbon = _by_continent(stocks, "carbon_stock", "total", "bottom_up_gap_filled") / 1e9
    if area.empty and carbon.empty:
        return None
    # One colour per region in both panels, the legend in the order of the lines (largest area first).
    order = list((area if not area.empty else carbon).iloc[-1].sort_values(ascending=False).index)
    colours = dict(zip(order, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for axis, frame, title, unit in (
        (left, area, "Forest area", "Mha"),
        (right, carbon, "Forest carbon stock, all five pools (gap-filled)", "Gt C"),
    ):
        if not frame.empty:
            frame = frame[[c for c in order if c in frame]]
            frame.plot(ax=axis, marker="o", legend=False, color=[colours[c] for c in frame])
        axis.set_title(title)
        axis.set_xlabel("year")
        axis.set_ylabel(unit)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    handles, labels = (left if not area.empty else right).get_legend_handles_labels()
    figure.legend(handles, labels, title="UN M49 region", loc="outside right center")  # never over a line
    return _png(figure)


def latest_period(fluxes: pd.DataFrame) -> tuple[int, int] | None:
    """The latest five-year or longer period of the national stock-difference fluxes of living biomass."""
    rows = _national_biomass(fluxes)
    periods = rows[["year_start", "year_end"]].drop_duplicates().sort_values(["year_end", "year_start"])
    return None if periods.empty else tuple(int(v) for v in periods.iloc[-1])


def _national_biomass(fluxes: pd.DataFrame) -> pd.DataFrame:
    return fluxes[(fluxes["method"] == "stock_difference") & (fluxes["area_level"] == "national")
                  & (fluxes["pool"] == "biomass")]


def net_flux_by_country(fluxes: pd.DataFrame) -> bytes | None:
    """The largest national net fluxes of living biomass in the latest period, with their 95 % intervals."""
    plt = _pyplot()
    period = latest_period(fluxes)
    if period is None:
        return None
    rows = _national_biomass(fluxes)
    rows = rows[(rows["year_start"] == period[0]) & (rows["year_end"] == period[1])]
    top = rows.reindex(rows["value"].abs().sort_values(ascending=False).index).head(TOP).iloc[::-1]
    figure, axis = plt.subplots(figsize=(9, 6))
    values = top["value"] / 1e6
    errors = [(top["value"] - top["interval_low"]) / 1e6, (top["interval_high"] - top["value"]) / 1e6]
    axis.barh(top["area_code"], values, xerr=errors, capsize=3, ecolor="#495057",
              color=[REMOVAL if v < 0 else EMISSION for v in values])
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_title(f"Net emissions from living biomass, {period[0]}-{period[1]}, stock-difference method\n"
                   f"the {len(top)} largest by size; whiskers: 95 % interval; removals negative (green)")
    axis.set_xlabel("Mt CO2e per year")
    axis.grid(alpha=0.3, axis="x")
    return _png(figure)


def reconciliation_gaps(reconciliation: pd.DataFrame) -> bytes | None:
    """Reported aggregates that differ most from the sum of their members, beyond tolerance."""
    plt = _pyplot()
    rows = reconciliation[(reconciliation["kind"] == "aggregate_vs_members")
                          & (reconciliation["within_tolerance"] == False)]  # noqa: E712 - nulls (not judged) are out
    if rows.empty:
        return None
    top = rows.reindex(rows["relative_difference"].abs().sort_values(ascending=False).index).head(TOP).iloc[::-1]
    labels = [f"{r.area_code} {r.year} {r.variable}{'' if pd.isna(r.pool) else ' ' + r.pool}" for r in top.itertuples()]
    figure, axis = plt.subplots(figsize=(9, 6))
    percent = top["relative_difference"] * 100
    bars = axis.barh(labels, percent, color=NEUTRAL)
    axis.bar_label(bars, labels=[f"{v:+.2f} %" for v in percent], padding=3, fontsize="small")  # small gaps stay legible
    axis.margins(x=0.12)
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_title(f"Reported aggregates vs the sum of their members: the {len(top)} largest gaps beyond tolerance\n"
                   "(members' sum − reported) / reported: positive when the members add up to more than the reported total")
    axis.set_xlabel("difference, % of the reported value")
    axis.grid(alpha=0.3, axis="x")
    return _png(figure)


def restoration(progress: pd.DataFrame) -> bytes | None:
    """Per country: the largest restoration pledge beside the largest reported restoration area."""
    plt = _pyplot()
    national = progress[progress["area_level"] == "national"]
    pledged = national[national["indicator"] == "restoration_commitment"].groupby("area_code")["value"].max()
    restored = national[national["indicator"] == "restoration_area"].groupby("area_code")["value"].max()
    if pledged.empty and restored.empty:
        return None
    both = pd.DataFrame({"pledged": pledged, "reported restored": restored}) / 1e6
    both = both.sort_values("pledged", na_position="first")
    figure, axis = plt.subplots(figsize=(9, 0.3 * len(both) + 1.5))
    both.plot.barh(ax=axis, color=["#adb5bd", REMOVAL], width=0.8)
    axis.set_title("Restoration pledged and reported by country (largest of each)")
    axis.set_xlabel("Mha")
    axis.set_ylabel("")
    axis.grid(alpha=0.3, axis="x")
    return _png(figure)
