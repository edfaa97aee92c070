"""The report of a published version: one static HTML page per publish, in the storage root.

For stewards and analysts who would rather look than read: which sources went in and which are
quarantined (and why), every failed expectation with its examples, coverage and reconciliation
gaps by area, and plots (ercan/report_plots.py) of forest area and carbon stock by region, net
fluxes by country with their intervals, reconciliation gaps and restoration against Target 2.

Every publish that wrote a new version writes `<storage>/reports/<report id>/index.html`, built
from the products the catalog then serves and the sources' state; a run that publishes nothing
writes none. Each product version published with it gets the page's path as `report` in its
catalog metadata (`state/reports.json`, read by the catalog build). Plots are PNGs embedded as
base64, so the file stands alone (mail it, open it from S3); its links (the Data Docs, each
version's manifest and files, the catalog) are relative to the page, so they hold in a copied,
served or S3-hosted store; every text from the data is HTML-escaped. Plain Python, no Prefect: the flow's task only calls `publish_report`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ercan import report_plots, state
from ercan.catalog.build import REPORT_INDEX, build_catalog, report_links
from ercan.failure_words import severity_rank
from ercan.gate_reports import current_quality
from ercan.publish import PRODUCTS, read_version, versions
from ercan.sources import registry
from ercan.storage import Storage, relative_href

REPORTS = "reports"
# The products the page is drawn from (observations are summarised by the others and the sources table).
DRAWN_FROM = ("carbon_stocks", "carbon_fluxes", "reconciliation", "restoration_progress", "areas")
EXAMPLES = 400  # characters of one failed expectation's examples: enough to see what was wrong


def publish_report(storage: Storage, manifests: list[dict], data_docs: str | None = None) -> str | None:
    """Write the report of the versions just published (`manifests`) and link it from their catalog
    entries; returns its store path (None when nothing was published: the previous report still stands)."""
    if not manifests:
        return None
    served = {product: found[0] for product in PRODUCTS if (found := versions(storage, product))}
    frames = {p: read_version(storage, p, served[p]["version"]).to_pandas() for p in DRAWN_FROM if p in served}
    published = {m["product"] for m in manifests}
    created = datetime.now(UTC)
    digest = hashlib.sha256(json.dumps({p: m["version"] for p, m in served.items()}, sort_keys=True).encode())
    report_id = f"v{created:%Y%m%dT%H%M%S%f}Z-{digest.hexdigest()[:8]}"
    page = render(report_id, created, served, published, _sources(storage), current_quality(storage), frames,
                  data_docs)
    storage.write_bytes(page.encode(), REPORTS, report_id, "index.html")
    with storage.lock("publish"):  # the index and the catalog are shared with the publisher
        links = report_links(storage)
        for manifest in manifests:
            links.setdefault(manifest["product"], {})[manifest["version"]] = page_path(report_id)
        storage.write_json(links, *REPORT_INDEX)
        build_catalog(storage)
    return page_path(report_id)


def publish_report_or_warn(storage: Storage, manifests: list[dict], data_docs: str | None, logger) -> str | None:
    """`publish_report`, else the latest report's store path; a report that cannot be built is a warning on
    `logger` and None: the versions are published and stay so, only their page is missing."""
    try:
        return publish_report(storage, manifests, data_docs) or latest_report(storage)
    except Exception as e:  # noqa: BLE001 - whatever broke the page must not take back a publish
        logger.warning("the report of %d new version(s) was not built: %s: %s", len(manifests), type(e).__name__, e)
        return None


def page_path(report_id: str) -> str:
    """The store path of a report (what the catalog's `report` says; links in the page are relative to it)."""
    return f"{REPORTS}/{report_id}/index.html"


def latest_report(storage: Storage) -> str | None:
    """The store path of the newest report (for a run that published nothing), None if there is none."""
    paths = {path for product in report_links(storage).values() for path in product.values()}
    return page_path(Path(max(paths)).parent.name) if paths else None


def product_summary(table: pa.Table) -> list[dict]:
    """A product's rows counted by what they measure (variable, indicator, parameter or subject),
    unit and level, with the areas and years they cover: what a Prefect table artifact shows."""
    names = table.column_names
    keys = [c for c in ("kind", "variable", "indicator", "parameter", "subject", "severity", "unit", "area_level")
            if c in names]
    aggregations = [(keys[0], "count")]
    aggregations += [("area_code", "count_distinct")] if "area_code" in names else []
    aggregations += [("year", "min"), ("year", "max")] if "year" in names else []
    grouped = table.group_by(keys, use_threads=False).aggregate(aggregations).to_pylist()
    rename = {f"{keys[0]}_count": "rows", "area_code_count_distinct": "areas", "year_min": "first_year",
              "year_max": "last_year"}
    rows = [{rename.get(k, k): v for k, v in row.items()} for row in grouped]
    return sorted(rows, key=lambda r: tuple("" if r[k] is None else str(r[k]) for k in keys))


def _sources(storage: Storage) -> pd.DataFrame:
    rows = []
    for source_id, harmonizer in registry().items():
        current = state.load(storage, source_id)
        accepted = current.get("accepted") or {}
        rows.append({"source": source_id, "title": harmonizer.source.title, "status": current.get("status", "never run"),
                     "accepted rows": accepted.get("rows"), "accepted at": accepted.get("at"),
                     "reason": current.get("reason") or ""})
    return pd.DataFrame(rows)


def render(report_id: str, created: datetime, served: dict[str, dict], published: set[str], sources: pd.DataFrame,
           quality: pd.DataFrame, frames: dict[str, pd.DataFrame], data_docs: str | None) -> str:
    """The report's HTML: `served` is every product's current manifest, `published` the products
    whose version is new with this report; `data_docs` is the store path of the Data Docs."""
    sections = [
        ("Products", _products(served, published, data_docs, page_path(report_id))),
        ("Sources", _sources_section(sources)),
        ("Quality gates", _quality(quality)),
        ("Forest area and carbon stock", _stocks(frames.get("carbon_stocks"))),
        ("Net fluxes", _fluxes(frames.get("carbon_fluxes"))),
        ("Coverage", _coverage(frames.get("carbon_stocks"))),
        ("Reconciliation", _reconciliation(_named(frames.get("reconciliation"), frames.get("areas")))),
        ("Target 2", _target2(_named(frames.get("restoration_progress"), frames.get("areas")))),
    ]
    contents = "".join(f"<li><a href='#{_anchor(title)}'>{_e(title)}</a></li>" for title, _ in sections)
    body = "".join(f"<section id='{_anchor(title)}'><h2>{_e(title)}</h2>{part}</section>" for title, part in sections)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        # an empty icon: else the browser asks the host for /favicon.ico, which a served store has not
        f"<title>ercan report {_e(report_id)}</title><link rel='icon' href='data:,'><style>{_CSS}</style></head><body>"
        f"<h1>ercan report {_e(report_id)}</h1><p>Built {created:%Y-%m-%d %H:%M} UTC.</p>"
        f"<nav><ol>{contents}</ol></nav>{body}</body></html>"
    )


def _e(value) -> str:
    """A value as escaped HTML text (empty for a missing one)."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else html.escape(str(value))


def _anchor(title: str) -> str:
    return title.lower().replace(" ", "-")


def _table(frame: pd.DataFrame | None, empty: str) -> str:
    if frame is None or frame.empty:
        return f"<p>{_e(empty)}</p>"
    # escape=True: every cell and header is HTML-escaped by pandas (docs/security.md)
    return frame.to_html(index=False, escape=True, na_rep="", border=0, float_format=_number)


def _number(value: float) -> str:
    """Large values in full with thousands separators (hectares, tonnes), small ones to 4 digits."""
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def _image(png: bytes | None, alt: str, empty: str) -> str:
    if png is None:
        return f"<p>{_e(empty)}</p>"
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def _products(served: dict[str, dict], published: set[str], data_docs: str | None, page: str) -> str:
    rows = pd.DataFrame([
        {"product": p, "version": m["version"], "rows": m["row_count"], "created at": m["created_at"],
         "with this report": "new" if p in published else "unchanged"}
        for p, m in served.items()
    ])
    # links relative to this page: they hold wherever the store is copied, served or hosted
    def a(target: str, text: str) -> str:
        return f"<a href='{_e(relative_href(page, target))}'>{_e(text)}</a>"

    files = "".join(f"<li>{_e(p)} {_e(m['version'])}: " + ", ".join(
        a(f"products/{p}/{m['version']}/{path}", path) for path in ["manifest.json", *(f["path"] for f in m.get("files", []))]
    ) + "</li>" for p, m in served.items())
    links = f"<p>GX Data Docs of the gates: {a(data_docs, data_docs)}</p>" if data_docs else ""
    links += f"<p>The {a('catalog.yaml', 'catalog')}; each version's manifest and Parquet files:</p><ul>{files}</ul>"
    return ("<p>The versions the catalog serves with this report.</p>"
            + _table(rows, "Nothing is published.") + links)


def _sources_section(sources: pd.DataFrame) -> str:
    out = sources[sources["status"] != "accepted"]
    lead = (f"<p>{len(sources) - len(out)} of {len(sources)} sources accepted. A quarantined source keeps its "
            "previously accepted rows in the products; lifting a quarantine: docs/quality.md.</p>")
    return lead + _table(sources, "No source is registered.")


def _quality(quality: pd.DataFrame) -> str:
    if quality.empty:
        return "<p>No validation results yet.</p>"
    failed = ~quality["success"].astype(bool)
    summary = (quality.assign(failed=failed).groupby(["subject", "severity"])["failed"]
               .agg(checked="size", failed="sum").reset_index())
    rows = quality[failed]
    # in words (ercan/failure_words.py), as in the sources' reasons; a result stored before the words, by its examples
    words = rows["reason"] if "reason" in rows else pd.Series(None, index=rows.index, dtype=object)
    rows = rows.assign(failure=words.fillna(rows["unexpected_examples"].map(_examples)),
                       rank=rows["severity"].map(severity_rank)).sort_values(["rank", "subject"], kind="stable")
    return (_table(summary, "") + "<h3>Failed expectations, critical first</h3>"
            + _table(rows[["severity", "subject", "failure"]], "Every expectation held."))


def _named(frame: pd.DataFrame | None, areas: pd.DataFrame | None) -> pd.DataFrame | None:
    """The rows with their area's name from the `areas` product as `area` (empty in a store published before it)."""
    names = areas.set_index("area_code")["area_name"] if areas is not None else pd.Series(dtype=object)
    return None if frame is None else frame.assign(area=frame["area_code"].map(names))


def _examples(text) -> str:
    try:
        joined = "; ".join(json.dumps(v, ensure_ascii=False, default=str) for v in json.loads(text))
    except (TypeError, ValueError):
        joined = "" if text is None else str(text)
    return joined if len(joined) <= EXAMPLES else joined[: EXAMPLES - 1] + "…"


def _stocks(stocks: pd.DataFrame | None) -> str:
    if stocks is None:
        return "<p>No carbon stocks published.</p>"
    png = report_plots.area_and_stock(stocks)
    return (_image(png, "forest area and carbon stock by UN M49 region", "No regional totals.")
            + "<p>Regions are summed bottom-up from their countries. The carbon stock is gap-filled: a pool a "
              "country did not report is filled from its region's area-weighted density (docs/accounting.md); "
              "see Coverage for how much was reported.</p>")


def _fluxes(fluxes: pd.DataFrame | None) -> str:
    if fluxes is None:
        return "<p>No carbon fluxes published.</p>"
    png = report_plots.net_flux_by_country(fluxes)
    return (_image(png, "net emissions from living biomass by country, with 95 % intervals",
                   "No national stock-difference fluxes.")
            + "<p>Intervals are the product's <code>interval_low</code>/<code>interval_high</code> "
              "(Monte Carlo, 95 %).</p>")


def _coverage(stocks: pd.DataFrame | None) -> str:
    if stocks is None:
        return "<p>No carbon stocks published.</p>"
    names = {**report_plots.continents(), "WORLD": "World"}
    rows = stocks[(stocks["method"] == "bottom_up") & (stocks["variable"] == "carbon_stock")
                  & stocks["area_code"].isin(names)]
    if rows.empty:
        return "<p>No bottom-up carbon stocks.</p>"
    latest = int(rows["year"].max())
    rows = rows[rows["year"] == latest]
    share = rows.pivot_table(index="area_code", columns="pool", values="coverage_share", aggfunc="first") * 100
    total = rows[rows["pool"] == "total"].set_index("area_code")
    share.insert(0, "countries reporting every pool",
                 total["members_reporting"].astype("Int64").astype(str) + " of " + total["members_total"].astype("Int64").astype(str))
    share.index = share.index.map(names)
    return (f"<p>Share of the forest area (%) whose countries reported each pool, {latest}. The rest is "
            "gap-filled in the totals above.</p>" + _table(share.rename_axis("region").reset_index(), ""))


def _reconciliation(reconciliation: pd.DataFrame | None) -> str:
    if reconciliation is None:
        return "<p>No reconciliation published.</p>"
    judged = reconciliation[reconciliation["within_tolerance"].notna()]
    beyond = judged[~judged["within_tolerance"].astype(bool)]
    counts = judged.groupby(["kind", "area_level"])["within_tolerance"].agg(
        compared="size", beyond_tolerance=lambda s: int((~s.astype(bool)).sum())).reset_index()
    largest = beyond.reindex(beyond["relative_difference"].abs().sort_values(ascending=False).index)
    largest = largest[largest["kind"] != "method_vs_reported"].head(20)
    columns = ["kind", "area_code", "area", "year", "variable", "pool", "source", "other_source", "reported_value",
               "bottom_up_value", "other_value", "relative_difference", "coverage"]
    png = report_plots.reconciliation_gaps(reconciliation)
    return (_table(counts, "Nothing was compared.")
            + _image(png, "largest gaps between reported aggregates and their members", "")
            + "<h3>Largest gaps beyond tolerance between aggregates and members, and between sources</h3>"
            + _table(largest[columns], "Every judged comparison is within tolerance."))


def _target2(progress: pd.DataFrame | None) -> str:
    if progress is None:
        return "<p>No restoration progress published.</p>"
    png = report_plots.restoration(progress)
    restored = progress[progress["indicator"] == "restoration_area"]
    known = restored["share_achieved"].notna().sum()
    note = (f"<p>Target 2 asks for 30 % of <em>degraded</em> ecosystems under effective restoration by 2030. "
            f"The share achieved needs the degraded area: it is known for {known} of {len(restored)} reported "
            "restoration areas; the others are left empty rather than estimated.</p>")
    columns = ["area_code", "area", "year", "value", "unit", "degraded_area", "share_achieved", "target_progress", "note"]
    return (_image(png, "restoration pledged and reported by country", "No national pledges or restoration.")
            + note + _table(restored[columns], "No reported restoration."))


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1150px;color:#212529;padding:0 1em}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}
th,td{border-bottom:1px solid #dee2e6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5} img{max-width:100%} code{background:#f1f3f5;padding:0 3px}
"""
