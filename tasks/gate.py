"""Prefect task: harmonize and validate one source (quarantines it on failure, never raises for bad data).
A source not accepted ends its task Failed with the reason, so the operator sees it in Prefect; the
outcome is the state's data, and a Failed verdict is never retried (only a transient store error is)."""

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from ercan import pipeline, sources
from ercan.storage import Storage
from ercan.tasks.retries import STORAGE_RETRIES


# The gate keeps its own cache in the store (pipeline.gate): its verdict is also the source's state.
@task(name="harmonize-and-validate", task_run_name="gate {source_id}", cache_policy=NO_CACHE, **STORAGE_RETRIES)
def gate(storage_url: str, source_id: str, force: bool = False, from_stage: str = "harmonize",
         ingest_error: str | None = None):
    outcome = pipeline.gate(Storage(storage_url), sources.get(source_id), force=force, from_stage=from_stage,
                            ingest_error=ingest_error)
    return outcome if outcome.status == "accepted" else Failed(message=f"{outcome.status}: {outcome.reason}", data=outcome)
