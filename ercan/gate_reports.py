"""Readable gate reports: GX Data Docs per run in the store, and a Markdown summary of every gate.

Every gate stores its GX results beside its `quality` rows (`<key>.gx.json`, ercan/validation.py).
The Data Docs render the current result of every source and product in a temporary GX file
context; the site is then copied through Storage to `<storage>/reports/data_docs/<run id>/index.html`,
so it works the same on S3. Building costs the GX import (~2.5 s CPU, when no gate has imported it)
plus rendering (~2.3 s CPU on the shipped data), so docs are built only when some result changed
since the last docs (`state/data_docs.json`); otherwise the latest are linked. The Markdown summary
is what the flow publishes as a Prefect artifact; it is built here, without Prefect.
"""

from __future__ import annotations

import html
import json
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ercan import state
from ercan.pipeline import quality_rows
from ercan.product_gates import ProductGate, last_gates
from ercan.sources import registry
from ercan.storage import Storage

DATA_DOCS = ("reports", "data_docs")
_CELL = 160  # characters of one failed expectation's line in the summary


def new_run_id() -> str:
    """A run's id: its UTC start, so that run folders sort in time, and a random part, so that two
    runs starting in the same second write two folders, not one."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def data_docs(storage: Storage, run_id: str) -> str | None:
    """The link to the Data Docs of the current results: built under this run's id when a result
    changed since the last docs, else the last docs (None when there are no results)."""
    locations = result_locations(storage)
    last = storage.read_json("state", "data_docs.json", default={})
    if locations and locations != last.get("results"):
        build_data_docs(storage, run_id, {subject: storage.read_json(*parts) for subject, parts in locations.items()})
        storage.write_json({"run_id": run_id, "results": locations}, "state", "data_docs.json")
        return docs_link(storage, run_id)
    return docs_link(storage, last["run_id"]) if last else None


def docs_link(storage: Storage, run_id: str) -> str:
    return storage.link_of(*DATA_DOCS, run_id, "index.html")


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
        site = Path(tmp, "gx", "uncommitted", "data_docs", "local_site")
        context.build_data_docs()
        for path in sorted(p for p in site.rglob("*") if p.is_file()):
            storage.write_bytes(path.read_bytes(), *DATA_DOCS, run_id, *path.relative_to(site).parts)


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
    many rows, examples), and the links to the Data Docs and the report (ercan/report.py)."""
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
    return f"Data Docs{'' if built_now else ' (no result changed this run)'}: [{docs}]({docs})"


def _report_line(report: str | None, published: bool) -> str:
    if report is None:
        return "Report: none built yet." if not published else "Report: not built this run (see the run's log)."
    return f"Report{'' if published else ' (nothing published this run: the latest)'}: [{report}]({report})"


def _failure(row) -> str:
    examples = ", ".join(json.dumps(x, ensure_ascii=False, default=str) for x in json.loads(row.unexpected_examples))
    where = f"{row.suite}#{'' if pd.isna(row.position) else int(row.position)}"
    text = (f"{row.severity}: {where} {row.expectation}"
            f"{f' on {row.column_name}' if isinstance(row.column_name, str) else ''}: {row.unexpected_count} of "
            f"{row.element_count} rows (e.g. {examples})")
    text = text if len(text) <= _CELL else text[: _CELL - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")
