"""Prefect task: the run's gate report: GX Data Docs in the store and a Markdown artifact in Prefect
(content built by ercan/gate_reports.py, which is tested without Prefect)."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from ercan import gate_reports
from ercan.pipeline import GateOutcome
from ercan.product_gates import last_gates
from ercan.storage import Storage

ARTIFACT_KEY = "ercan-quality-gates"


@task(name="gate-report", cache_policy=NO_CACHE)
def gate_report(storage_url: str, sources: list[GateOutcome], manifests: list[dict]) -> str | None:
    """The link to the Data Docs (None if none could be built)."""
    storage, run_id = Storage(storage_url), gate_reports.new_run_id()
    try:
        docs = gate_reports.data_docs(storage, run_id)
    except Exception as e:  # noqa: BLE001 - the products are published: a failed report must not fail the run
        get_run_logger().error("Data Docs for run %s were not built: %s: %s", run_id, type(e).__name__, e)
        docs = None
    markdown = gate_reports.summary_markdown(run_id, sources, last_gates(storage), manifests,
                                             gate_reports.current_quality(storage), docs)
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=markdown,
        description=f"ercan quality gates of run {run_id}: every source and product, failed expectations, Data Docs",
    )
    return docs
