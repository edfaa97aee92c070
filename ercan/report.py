"""The run report: one static HTML page per publishing run, in the storage root.

For stewards and analysts who would rather look than read: which sources went in and which are
quarantined (and why), every failed expectation with its examples, coverage and reconciliation
gaps, and plots of forest area and carbon stock by region, net fluxes by country with intervals
and restoration against Target 2. Plots are PNGs embedded in the page (base64), so the file stands
alone; every text cell is HTML-escaped. Built from the product frames with plain pandas and
matplotlib; no Prefect here.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")  # no display: render to memory
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

CONTINENTS = {"M49:002": "Africa", "M49:019": "Americas", "M49:142": "Asia", "M49:150": "Europe", "M49:009": "Oceania"}
SECTIONS = ("Sources", "Quality gates", "Forest area and carbon stock", "Net fluxes", "Coverage and reconciliation",
            "Target 2")


def render(frames: dict[str, pd.DataFrame], statuses: dict[str, dict], versions: dict[str, str]) -> str:
    """The report's HTML. `statuses`: source → its state (status, reason, accepted rows);
    `versions`: product → the version this run published or still serves."""
    parts = [
        _section("Sources", _sources(statuses)),
        _section("Quality gates", _quality(frames.get("quality"))),
        _section("Forest area and carbon stock", _stock_plots(frames.get("carbon_stocks"))),
        _section("Net fluxes", _flux_plot(frames.get("carbon_fluxes"))),
        _section("Coverage and reconciliation", _coverage(frames.get("carbon_stocks")) + _reconciliation(frames.get("reconciliation"))),
        _section("Target 2", _target2(frames.get("restoration_progress"))),
    ]
    rows = "".join(f"<li><code>{_e(p)}</code> {_e(v)}</li>" for p, v in sorted(versions.items()))
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>ercan run report</title>"
        f"<style>{_CSS}</style></head><body><h1>ercan run report</h1><p>Built {created}. Product versions:</p>"
        f"<ul>{rows}</ul>{''.join(parts)}</body></html>"
    )


def _e(value) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f"<section id='{anchor}'><h2>{_e(title)}</h2>{body}</section>"


def _table(frame: pd.DataFrame, empty: str) -> str:
    if frame is None or frame.empty:
        return f"<p>{_e(empty)}</p>"
    return frame.to_html(index=False, escape=True, na_rep="", float_format=lambda v: f"{v:,.4g}", border=0)


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'>"


def _sources(statuses: dict[str, dict]) -> str:
    rows = [
        {"source": sid, "status": s.get("status"), "rows": (s.get("accepted") or {}).get("rows"), "reason": s.get("reason")}
        for sid, s in sorted(statuses.items())
    ]
    return _table(pd.DataFrame(rows), "No source has run yet.")


def _quality(quality: pd.DataFrame | None) -> str:
    if quality is None or quality.empty:
        return "<p>No validation results.</p>"
    failed = quality[~quality["success"].astype(bool)]
    summary = quality.groupby(["subject", "severity"])["success"].agg(checked="size", failed=lambda s: int((~s.astype(bool)).sum()))
    examples = failed.assign(unexpected_examples=failed["unexpected_examples"].map(_examples))
    columns = ["subject", "severity", "expectation", "column_name", "unexpected_count", "unexpected_examples"]
    return (_table(summary.reset_index(), "") + "<h3>Failed expectations</h3>"
            + _table(examples[columns], "Every expectation held."))


def _examples(text) -> str:
    try:
        return "; ".join(str(v) for v in json.loads(text))
    except (TypeError, ValueError):
        return "" if text is None else str(text)


def _by_continent(stocks: pd.DataFrame, variable: str, pool, method: str) -> pd.DataFrame:
    rows = stocks[stocks["area_code"].isin(CONTINENTS) & (stocks["variable"] == variable) & (stocks["method"] == method)]
    rows = rows[rows["pool"].isna()] if pool is None else rows[rows["pool"] == pool]
    return rows.pivot_table(index="year", columns="area_code", values="value", aggfunc="first").rename(columns=CONTINENTS)


def _stock_plots(stocks: pd.DataFrame | None) -> str:
    if stocks is None or stocks.empty:
        return "<p>No carbon stocks.</p>"
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    area = _by_continent(stocks, "area", None, "bottom_up") / 1e6
    area.plot(ax=left, marker="o", title="Forest area by continent (UN M49), Mha")
    carbon = _by_continent(stocks, "carbon_stock", "total", "bottom_up_gap_filled") / 1e9
    carbon.plot(ax=right, marker="o", title="Forest carbon stock, five pools, gap-filled, Gt C")
    for axis in (left, right):
        axis.legend(title=None)
        axis.set_xlabel("year")
        axis.grid(alpha=0.3)
    return _png(figure) + "<p>Regions are summed from their countries; gap-filled stocks fill a missing pool from the region's area-weighted density (docs/accounting.md).</p>"


def _flux_plot(fluxes: pd.DataFrame | None) -> str:
    if fluxes is None or fluxes.empty:
        return "<p>No fluxes.</p>"
    rows = fluxes[(fluxes["method"] == "stock_difference") & (fluxes["area_level"] == "national")
                  & (fluxes["pool"] == "biomass") & (fluxes["year_start"] == 2015) & (fluxes["year_end"] == 2020)]
    if rows.empty:
        return "<p>No stock-difference fluxes for 2015-2020.</p>"
    top = rows.reindex(rows["value"].abs().sort_values(ascending=False).index).head(15).iloc[::-1]
    figure, axis = plt.subplots(figsize=(8, 5))
    errors = [(top["value"] - top["interval_low"]) / 1e6, (top["interval_high"] - top["value"]) / 1e6]
    axis.barh(top["area_code"], top["value"] / 1e6, xerr=errors, color=["#2b8a3e" if v < 0 else "#c92a2a" for v in top["value"]])
    axis.set_title("Net emissions from living biomass, 2015-2020 (stock-difference), Mt CO2/yr\n95 % Monte Carlo intervals; removals negative")
    axis.axvline(0, color="black", linewidth=0.8)
    axis.grid(alpha=0.3, axis="x")
    return _png(figure)


def _coverage(stocks: pd.DataFrame | None) -> str:
    if stocks is None or stocks.empty:
        return ""
    latest = stocks["year"].max()
    rows = stocks[(stocks["method"] == "bottom_up") & (stocks["variable"] == "carbon_stock") & (stocks["year"] == latest)
                  & stocks["area_code"].isin(list(CONTINENTS) + ["WORLD"])]
    table = rows.pivot_table(index="area_code", columns="pool", values="coverage_share", aggfunc="first")
    table.index = table.index.map(lambda c: CONTINENTS.get(c, c))
    return f"<h3>Share of forest area whose countries reported each pool, {latest}</h3>" + _table(table.reset_index(), "")


def _reconciliation(rec: pd.DataFrame | None) -> str:
    if rec is None or rec.empty:
        return "<p>Nothing to reconcile.</p>"
    judged = rec[rec["within_tolerance"].notna()]
    counts = judged.groupby("kind")["within_tolerance"].agg(compared="size", beyond_tolerance=lambda s: int((~s.astype(bool)).sum()))
    gaps = judged[~judged["within_tolerance"].astype(bool)]
    gaps = gaps.reindex(gaps["relative_difference"].abs().sort_values(ascending=False).index).head(20)
    columns = ["kind", "area_code", "year", "variable", "source", "other_source", "reported_value", "bottom_up_value",
               "other_value", "relative_difference"]
    plot = ""
    aggregates = judged[judged["kind"] == "aggregate_vs_members"]
    if not aggregates.empty:
        figure, axis = plt.subplots(figsize=(8, 3))
        axis.hist(aggregates["relative_difference"].clip(-0.2, 0.2) * 100, bins=40, color="#1c7ed6")
        axis.set_title("Reported aggregates vs the sum of their members: relative difference, % (clipped at ±20 %)")
        plot = _png(figure)
    return (_table(counts.reset_index(), "") + plot + "<h3>Largest differences beyond tolerance</h3>"
            + _table(gaps[columns], "Every judged comparison is within tolerance."))


def _target2(progress: pd.DataFrame | None) -> str:
    if progress is None or progress.empty:
        return "<p>No restoration data.</p>"
    restored = progress[progress["indicator"] == "restoration_area"]
    pledged = progress[(progress["indicator"] == "restoration_commitment") & (progress["area_level"] == "national")]
    both = pledged.groupby("area_code")["value"].max().to_frame("pledged").join(
        restored.groupby("area_code")["value"].max().rename("restored"), how="outer") / 1e6
    figure, axis = plt.subplots(figsize=(8, 4))
    both.sort_values("pledged", na_position="first").plot.barh(ax=axis, color=["#adb5bd", "#2b8a3e"])
    axis.set_title("Restoration pledged and reported, Mha (largest pledge per country)")
    note = ("<p>Target 2 asks for 30 % of <em>degraded</em> ecosystems under effective restoration by 2030. "
            "The share achieved needs the degraded area, which no shipped source reports, so it is left empty "
            "rather than estimated.</p>")
    columns = ["area_code", "year", "value", "degraded_area", "share_achieved", "note"]
    return _png(figure) + note + _table(restored[columns], "No reported restoration.")


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#212529}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}
th,td{border-bottom:1px solid #dee2e6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5} img{max-width:100%} code{background:#f1f3f5;padding:0 3px}
"""
