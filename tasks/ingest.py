"""Prefect task: snapshot a source's landing files."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from ercan import pipeline, sources
from ercan.errors import SourceError
from ercan.storage import Storage


@task(name="ingest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def ingest(storage_url: str, source_id: str) -> dict:
    """{"snapshots": [...]} or, when a raw file cannot be read, {"error": why} for the gate to quarantine."""
    try:
        return {"snapshots": pipeline.ingest_landing(Storage(storage_url), sources.get(source_id))}
    except SourceError as e:
        return {"error": str(e)}
