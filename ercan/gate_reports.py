"""Readable gate reports: GX Data Docs per run in the store, and a Markdown summary of every gate.

Every gate stores its GX results beside its `quality` rows (`<key>.gx.json`, ercan/validation.py).
The Data Docs render the current result of every source and product in a temporary GX file
context; the site is then copied through Storage to `<storage>/reports/data_docs/<run id>/index.html`,
so it works the same on S3. Building costs the GX import (~2.5 s CPU, when no gate has imported it)
plus rendering (~2.3 s CPU on the shipped data), so docs are built only when some result changed
since the last docs (`state/data_docs.json`); otherwise the latest are linked. The Markdown summary
is what the flow publishes as a Prefect artifact; it is built here, without Prefect.

GX's pages load their styles and scripts from CDNs, which the great_expectations package does not
ship: the pages are copied without them (`offline_page`), with ercan's own stylesheet, and the
site's index is ercan's (GX's is a table its CDN scripts fill), so the docs read the same offline,
from `ercan serve` or from S3; every link in them is relative.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ercan import state
from ercan.pipeline import quality_rows
from ercan.product_gates import ProductGate, last_gates
from ercan.sources import registry
from ercan.storage import Storage, is_web_link, relative_href

DATA_DOCS = ("reports", "data_docs")
_LAST_DOCS = ("state", "data_docs.json")  # the run id of the last docs and the results they show
_CELL = 480  # characters of one failed expectation in the summary: its words, up to three examples


def new_run_id() -> str:
    """A run's id: its UTC start, so that run folders sort in time, and a random part, so that two
    runs starting in the same second write two folders, not one."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def data_docs(storage: Storage, run_id: str) -> str | None:
    """The store path of the Data Docs of the current results (`reports/data_docs/<run>/index.html`):
    built under this run's id when a result changed since the last docs, else the last docs (None
    when there are no results)."""
    locations = result_locations(storage)
    last = storage.read_json(*_LAST_DOCS, default={})
    if locations and locations != last.get("results"):
        build_data_docs(storage, run_id, {subject: storage.read_json(*parts) for subject, parts in locations.items()})
        storage.write_json({"run_id": run_id, "results": locations}, *_LAST_DOCS)
        return docs_path(run_id)
    return latest_docs(storage)


def latest_docs(storage: Storage) -> str | None:
    """The store path of the last Data Docs built, None if none were."""
    last = storage.read_json(*_LAST_DOCS, default={})
    return docs_path(last["run_id"]) if last else None


def docs_path(run_id: str) -> str:
    return "/".join([*DATA_DOCS, run_id, "index.html"])


def result_locations(storage: Storage) -> dict[str, list[str]]:
    """{subject: where its GX results are} for every source's current gate and every product's last one."""
    locations = {sid: ["staging", sid, state.load(storage, sid).get("quality")] for sid in registry()}
    locations |= {p: ["staging", "products", p, g.key] for p, g in last_gates(storage).items()}
    return {subject: [*folder, f"{key}.gx.json"] for subject, (*folder, key) in locations.items()
            # a source never gated, or whose input could not be harmonized, has no GX result
            if key and storage.exists(*folder, f"{key}.gx.json")}


def current_quality(storage: Storage) -> pd.DataFrame:
    """The `quality` rows of every source's current gate and every product's last gate."""
    products = [storage.read_parquet("staging", "products", p, f"{g.key}.quality.parquet").to_pandas()
                for p, g in last_gates(storage).items() if g.key]
    return pd.concat([quality_rows(storage), *products], ignore_index=True)


def build_data_docs(storage: Storage, run_id: str, results: dict[str, list[dict]]) -> None:
    """Render the GX results as Data Docs and copy the site to <storage>/reports/data_docs/<run_id>/."""
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import expectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suites = []  # (subject, its stored entry, the site paths of its result's page and its suite's page)
    with tempfile.TemporaryDirectory() as tmp:
        context = gx.get_context(mode="file", project_root_dir=tmp)
        for subject, entries in results.items():
            for entry in entries:
                suite = context.suites.add(gx.ExpectationSuite(**{k: v for k, v in entry["suite"].items() if k != "id"}))
                # GX escapes an expectation's arguments but writes what it found in the data (unexpected
                # values, observed values, errors) into the pages as it is: escape those.
                validated = {**entry["result"], "results": [
                    {**r, "result": _html_text(r["result"]), "exception_info": _html_text(r["exception_info"])}
                    for r in entry["result"]["results"]
                ]}
                result = expectationSuiteValidationResultSchema.load(validated)
                # Shown as this run's, at the time the result was validated (earlier for a cached gate).
                result.meta["run_id"] = RunIdentifier(run_name=run_id, run_time=result.meta.get("validation_time"))
                key = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                    run_id=result.meta["run_id"],
                    batch_identifier=subject,
                )
                context.validation_results_store.set(key, result)
                # where GX's site builder writes the two pages: the identifiers' tuples as folders
                suites.append((subject, entry, "/".join(["validations", *key.to_tuple()]) + ".html",
                               "/".join(["expectations", *key.expectation_suite_identifier.to_tuple()]) + ".html"))
        site = Path(tmp, "gx", "uncommitted", "data_docs", "local_site")
        context.build_data_docs()
        for path in sorted(p for p in site.rglob("*") if p.is_file()):
            page = path.relative_to(site).as_posix()
            if page == "index.html":  # GX's index is a table filled by its CDN scripts: ercan's replaces it
                continue
            data = offline_page(path.read_text(encoding="utf-8"), page).encode() if path.suffix == ".html" \
                else path.read_bytes()
            storage.write_bytes(data, *DATA_DOCS, run_id, page)
    storage.write_bytes(_OFFLINE_CSS.encode(), *DATA_DOCS, run_id, STYLESHEET)
    storage.write_bytes(index_page(run_id, suites).encode(), *DATA_DOCS, run_id, "index.html")


STYLESHEET = "static/styles/ercan.css"  # in the site: ercan's stylesheet for GX's pages and the index
# What GX's pages would fetch from elsewhere: Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega
# from CDNs, and a logo whose address carries the context's id to GX's servers. Every inline script
# needs jQuery, so the scripts go too (they only animate: collapsing, filtering, a walkthrough); GX's
# favicon link goes with them (on validation pages it points one folder too high) and comes back right.
_FETCHED = re.compile(r"<script\b[^>]*>.*?</script>|<link\b[^>]*\bhref=\"https?://[^>]*>"
                      r"|<img\b[^>]*\bsrc=\"https?://[^>]*>|<link rel=\"shortcut icon\"[^>]*>", re.S)
_FETCHED_IN_CSS = re.compile(r"url\(\s*['\"]?https?://[^)]*\)")
# A link out of the store (GX's site, its docs) stays as its words: the docs are read where they are.
_OUTBOUND = re.compile(r"<a\b[^>]*\bhref=\"https?://[^>]*>(.*?)</a>", re.S)
_ONCLICK = re.compile(r"\sonclick=\"[^\"]*\"")  # buttons calling the scripts that are gone


def offline_page(text: str, page: str) -> str:
    """GX's page at site path `page` with nothing fetched from outside the site and nothing calling a
    script, linking ercan's stylesheet and the favicon the site ships (relative links)."""
    text = _ONCLICK.sub("", _OUTBOUND.sub(r"\1", _FETCHED_IN_CSS.sub("none", _FETCHED.sub("", text))))
    own = (f'<link rel="stylesheet" href="{relative_href(page, STYLESHEET)}">'
           f'<link rel="icon" href="{relative_href(page, "static/images/favicon.ico")}">')
    return text.replace("</head>", own + "</head>", 1)


def index_page(run_id: str, suites: list[tuple[str, dict, str, str]]) -> str:
    """The site's index: one row per subject and suite, failed first, with its counts of failed
    expectations by severity and links to its result's and its suite's pages."""
    rows = []
    for subject, entry, result_page, suite_page in suites:
        result = entry["result"]
        failed = [r["expectation_config"].get("severity") for r in result["results"] if not r["success"]]
        rows.append((bool(result["success"]), subject, entry["suite"]["name"],
                     result["statistics"]["evaluated_expectations"], failed.count("critical"),
                     len(failed) - failed.count("critical"), result["meta"].get("validation_time") or "",
                     result_page, suite_page))
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    e = html.escape
    body = "".join(
        f"<tr class='{'passed' if ok else 'failed'}'><td>{'passed' if ok else 'failed'}</td><td>{e(subject)}</td>"
        f"<td>{e(suite)}</td><td>{evaluated}</td><td>{critical}</td><td>{warnings}</td><td>{e(str(at)[:19])}</td>"
        f"<td><a href='{e(relative_href('index.html', result_page))}'>result</a> · "
        f"<a href='{e(relative_href('index.html', suite_page))}'>suite</a></td></tr>"
        for ok, subject, suite, evaluated, critical, warnings, at, result_page, suite_page in rows)
    passed = sum(row[0] for row in rows)
    catalog = relative_href(docs_path(run_id), "catalog.yaml")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>ercan Data Docs, run {e(run_id)}</title><link rel='stylesheet' href='{STYLESHEET}'>"
        "<link rel='icon' href='static/images/favicon.ico'></head><body class='ercan-index'>"
        f"<h1>ercan Data Docs, run {e(run_id)}</h1>"
        f"<p>{passed} of {len(rows)} suite results passed. Each row is a suite of the current gate of a source or "
        "a product; its result page shows every expectation with what was found, its suite page what is "
        "expected. Severities and lifting a quarantine: docs/quality.md in the ercan repository. The products: "
        f"<a href='{e(catalog)}'>catalog.yaml</a>.</p>"
        "<table><thead><tr><th>status</th><th>subject</th><th>suite</th><th>expectations</th>"
        "<th>critical failed</th><th>warnings failed</th><th>validated at (UTC)</th><th>pages</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )


# Enough of Bootstrap's layout for GX's pages (sidebar beside the results, cards, tables, badges),
# Font Awesome's three status icons as characters, and GX's newsletter footer hidden.
_OFFLINE_CSS = """
body{font-family:system-ui,sans-serif;color:#212529;margin:0;line-height:1.4}
.ercan-index{margin:2em auto;max-width:1150px;padding:0 1em}
a{color:#0062cc} table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border-bottom:1px solid #dee2e6;padding:3px 8px;text-align:left;vertical-align:top} th{background:#f1f3f5}
tr.failed td:first-child{color:#c00;font-weight:bold} tr.passed td:first-child{color:#198754}
.container-fluid{padding:1em 2em} .row{display:flex;flex-wrap:wrap} .col-12{flex:0 0 100%}
.col-md-2,.col-lg-2{flex:0 0 16%;max-width:16%} .col-md-10,.col-lg-10{flex:0 0 82%;max-width:82%;padding-left:1.5%}
.navbar{display:flex;align-items:center;border-bottom:1px solid #dee2e6;padding:0 2em}
.breadcrumb{display:flex;list-style:none;gap:0.5em;padding:0}
.card{border:1px solid #dee2e6;border-radius:4px;margin-bottom:1em} .card-header{background:#f1f3f5;padding:0.5em}
.card-body{padding:0.5em} .alert{padding:0.5em 1em;background:#f1f3f5;border-radius:4px}
.card:has(.btn-group-toggle){display:none}
.badge{background:#e9ecef;border-radius:3px;padding:0 4px} .text-success{color:#198754} .text-danger{color:#c00}
.fa-check-circle::before{content:"\\2714"} .fa-times::before{content:"\\2718"} .fa-question-circle::before{content:"?"}
.cooltip .top{display:none} footer{display:none}
"""


def _html_text(value):
    """Every string in `value` HTML-escaped (a cell reading `<script>` is shown, never run)."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {k: _html_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_html_text(v) for v in value]
    return value


def summary_markdown(run_id: str, sources, products: dict[str, ProductGate], manifests: list[dict],
                     quality: pd.DataFrame, docs: str | None, report: str | None = None) -> str:
    """The run's gates as Markdown: one row per source and product with its rows (accepted, or
    published this run), status and failed expectations (severity, suite and position, column, how
    many rows, examples), and where the Data Docs and the report are (`docs`, `report`: from
    `Storage.link_of`; ercan/report.py)."""
    published = {m["product"]: m for m in manifests}
    rows = [(o.source, "source", o.rows, (o.status if o.status == "accepted" else f"**{o.status}**")
             + (" (unchanged)" if o.cached else "")) for o in sources]
    for product, gate in products.items():
        manifest = published.get(product)
        status = "**withheld**" if gate.withheld else f"published {manifest['version']}" if manifest else "unchanged"
        rows.append((product, "product", manifest["row_count"] if manifest else "", status))
    lines = [
        f"# ercan quality gates, run {run_id}",
        "",
        _docs_line(run_id, docs),
        "",
        _report_line(report, bool(manifests)),
        "",
        "| subject | kind | rows | status | critical failed | warnings failed | failed expectations (examples) |",
        "|---|---|---|---|---|---|---|",
    ]
    for subject, kind, count, status in rows:
        failed = quality[(quality["subject"] == subject) & ~quality["success"].astype(bool)]
        critical = failed[failed["severity"] == "critical"]
        detail = "<br>".join(_failure(f) for f in failed.itertuples())
        lines.append(f"| {subject} | {kind} | {count} | {status} | {len(critical)} | {len(failed) - len(critical)} "
                     f"| {detail} |")
    not_accepted = sum(o.status != "accepted" for o in sources)
    withheld = sum(g.withheld for g in products.values())
    lines += ["", f"{not_accepted} source(s) not accepted, {withheld} product(s) withheld. "
              "How to read this and lift a quarantine: docs/quality.md."]
    return "\n".join(lines) + "\n"


def _docs_line(run_id: str, docs: str | None) -> str:
    if docs is None:
        return "Data Docs: none built yet."
    built_now = docs.endswith(f"/{run_id}/index.html")
    return f"Data Docs{'' if built_now else ' (no result changed this run)'}: {_where(docs)}"


def _report_line(report: str | None, published: bool) -> str:
    if report is None:
        return "Report: none built yet." if not published else "Report: not built this run (see the run's log)."
    return f"Report{'' if published else ' (nothing published this run: the latest)'}: {_where(report)}"


def _where(link: str) -> str:
    """A link (`Storage.link_of`) as Markdown: an address as a link; a path in the store in words (a
    path is no link from the Prefect UI's page)."""
    if is_web_link(link):
        return f"[{link}]({link})"
    return (f"`{link}` in the store (`ercan serve` serves a local store's reports; with ERCAN_PUBLIC_URL set "
            "to where the store is served, this is a link)")


def _failure(row) -> str:
    """A failed expectation: its place in the Data Docs (suite#position), then the words of `quality`'s
    `reason` (ercan/failure_words.py), as in the source's reason; a result kept from before the words
    is told by its examples."""
    where = f"{row.suite}#{'' if pd.isna(row.position) else int(row.position)}"
    if isinstance(getattr(row, "reason", None), str):
        text = f"{where} {row.reason}"
    else:
        examples = ", ".join(json.dumps(x, ensure_ascii=False, default=str) for x in json.loads(row.unexpected_examples))
        text = (f"{row.severity}: {where} {row.expectation}"
                f"{f' on {row.column_name}' if isinstance(row.column_name, str) else ''}: {row.unexpected_count} of "
                f"{row.element_count} rows (e.g. {examples})")
    text = text if len(text) <= _CELL else text[: _CELL - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")
