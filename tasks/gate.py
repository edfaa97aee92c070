"""Prefect task: harmonize and validate one source (quarantines it on failure, never raises for bad data)."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from ercan import pipeline, sources
from ercan.storage import Storage


@task(name="harmonize-and-validate", cache_policy=NO_CACHE)
def gate(storage_url: str, source_id: str, force: bool = False, ingest_error: str | None = None) -> pipeline.GateOutcome:
    return pipeline.gate(Storage(storage_url), sources.get(source_id), force=force, ingest_error=ingest_error)
