"""Prefect task: the run's reports. GX Data Docs and the report of a published version in the
store, a Markdown artifact of every gate and a table artifact per published product in Prefect
(content built by ercan/gate_reports.py and ercan/report.py, which are tested without Prefect).

The products are published before this runs: a report that cannot be built is logged, never
fails the run nor takes anything back."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ercan import gate_reports, report
from ercan.pipeline import GateOutcome
from ercan.product_gates import last_gates
from ercan.publish import read_version
from ercan.storage import Storage

ARTIFACT_KEY = "ercan-quality-gates"


def table_key(product: str) -> str:
    """The key of a product's table artifact (keys allow lowercase letters, digits and dashes)."""
    return f"ercan-product-{product.replace('_', '-')}"


@task(name="reports", cache_policy=NO_CACHE)
def reports(storage_url: str, sources: list[GateOutcome], manifests: list[dict]) -> dict:
    """{"data_docs": link, "report": link}: where an operator opens them (`Storage.link_of`: under
    $ERCAN_PUBLIC_URL when set, else their place in the store); None when there is nothing to link to."""
    storage, run_id, logger = Storage(storage_url), gate_reports.new_run_id(), get_run_logger()
    try:
        docs = gate_reports.data_docs(storage, run_id)
    except Exception as e:  # noqa: BLE001 - the products are published: a failed report must not fail the run
        logger.error("Data Docs for run %s were not built: %s: %s", run_id, type(e).__name__, e)
        docs = None
    page = report.publish_report_or_warn(storage, manifests, docs, logger)
    links = {"data_docs": docs and storage.link_of(docs), "report": page and storage.link_of(page)}
    markdown = gate_reports.summary_markdown(run_id, sources, last_gates(storage), manifests,
                                             gate_reports.current_quality(storage), links["data_docs"], links["report"])
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=markdown,
        description=f"ercan run {run_id}: every source and product, failed expectations, links to the report "
                    "and the Data Docs",
    )
    for manifest in manifests:
        try:
            summary = report.product_summary(read_version(storage, manifest["product"], manifest["version"]))
        except Exception as e:  # noqa: BLE001 - the product is published: only its summary is missing
            logger.warning("no table artifact for %s: %s: %s", manifest["product"], type(e).__name__, e)
            continue
        create_table_artifact(
            key=table_key(manifest["product"]),
            table=summary,
            description=f"{manifest['product']} {manifest['version']}: {manifest['row_count']} rows, by what they "
                        "measure, unit and level",
        )
    return links
