"""Readable gate reports: GX Data Docs per run in the store, and a Markdown summary of every gate.

Every gate stores its GX results beside its `quality` rows (`<key>.gx.json`, ercan/validation.py).
The Data Docs of a run render the current result of every source and product (also those whose gate
was cached) in a temporary GX file context; the site is then copied through Storage to
`<storage>/reports/data_docs/<run id>/index.html`, so it works the same on S3. Building costs the GX
import (~3 s, when no gate has imported it) plus rendering, so a run in which no gate ran builds
none and links the latest docs instead. The Markdown summary is what the nightly flow publishes
as a Prefect artifact; it is built here, without Prefect.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ercan import state
from ercan.sources import registry
from ercan.storage import Storage

DATA_DOCS = ("reports", "data_docs")
_CELL = 160  # characters of one failed expectation's line in the summary


def new_run_id() -> str:
    """A run's id: its UTC start, so that run folders sort in time."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"


def data_docs(storage: Storage, run_id: str, sources, product_gates: dict) -> str | None:
    """The link to this run's Data Docs: built when some gate ran (not only cached results), else
    the latest ones built (None if there are none)."""
    ran = any(not o.cached for o in sources) or any(not g.cached for g in product_gates.values())
    if ran:
        results = current_results(storage, product_gates)
        if results:
            build_data_docs(storage, run_id, results)
            return docs_link(storage, run_id)
    built = [r for r in storage.listdir(*DATA_DOCS) if storage.exists(*DATA_DOCS, r, "index.html")]
    return docs_link(storage, max(built)) if built else None


def docs_link(storage: Storage, run_id: str) -> str:
    url = storage.url_of(*DATA_DOCS, run_id, "index.html")
    return Path(url).as_uri() if storage.is_local else url


def current_results(storage: Storage, product_gates: dict) -> dict[str, list[dict]]:
    """{subject: its stored GX results} for every source's current gate and every product's gate."""
    locations = {sid: ("staging", sid, state.load(storage, sid).get("quality")) for sid in registry()}
    locations |= {p: ("staging", "products", p, g.key) for p, g in product_gates.items()}
    results = {}
    for subject, (*folder, key) in locations.items():
        if key and storage.exists(*folder, f"{key}.gx.json"):  # a harmonize failure has no GX result
            results[subject] = storage.read_json(*folder, f"{key}.gx.json")
    return results


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
                result = expectationSuiteValidationResultSchema.load(entry["result"])
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


def summary_markdown(run_id: str, sources, publication, docs: str | None) -> str:
    """The run's gates as Markdown: one row per source and product with its status and failed
    expectations (severity, suite and position, column, how many rows, examples), and the Data Docs link."""
    quality = publication.quality if publication.quality is not None else pd.DataFrame(columns=["subject"])
    published = {m["product"]: m["version"] for m in publication.manifests}
    rows = []
    for o in sources:
        status = "**quarantined**" if o.quarantined else "accepted"
        rows.append((o.source, "source", status + (" (unchanged)" if o.cached else "")))
    for product, gate in publication.products.items():
        status = "**withheld**" if gate.withheld else f"published {published[product]}" if product in published else "unchanged"
        rows.append((product, "product", status))
    lines = [
        f"# ercan quality gates, run {run_id}",
        "",
        _docs_line(run_id, docs),
        "",
        "| subject | kind | status | critical failed | warnings failed | failed expectations (examples) |",
        "|---|---|---|---|---|---|",
    ]
    for subject, kind, status in rows:
        failed = quality[(quality["subject"] == subject) & ~quality["success"].astype(bool)]
        critical = failed[failed["severity"] == "critical"]
        detail = "<br>".join(_failure(f) for f in failed.itertuples())
        lines.append(f"| {subject} | {kind} | {status} | {len(critical)} | {len(failed) - len(critical)} | {detail} |")
    withheld = [g for g in publication.products.values() if g.withheld]
    quarantined = [o for o in sources if o.quarantined]
    lines += ["", f"{len(quarantined)} source(s) quarantined, {len(withheld)} product(s) withheld. "
              "How to read this and lift a quarantine: docs/quality.md."]
    return "\n".join(lines) + "\n"


def _docs_line(run_id: str, docs: str | None) -> str:
    if docs is None:
        return "Data Docs: none built yet."
    built_now = docs.endswith(f"/{run_id}/index.html")
    return f"Data Docs{'' if built_now else ' (latest; no gate ran this run)'}: [{docs}]({docs})"


def _failure(row) -> str:
    examples = ", ".join(json.dumps(x, ensure_ascii=False, default=str) for x in json.loads(row.unexpected_examples))
    where = f"{row.suite}#{'' if pd.isna(row.position) else int(row.position)}"
    text = (f"{row.severity}: {where} {row.expectation}"
            f"{f' on {row.column_name}' if isinstance(row.column_name, str) else ''}: {row.unexpected_count} of "
            f"{row.element_count} rows (e.g. {examples})")
    text = text if len(text) <= _CELL else text[: _CELL - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")
