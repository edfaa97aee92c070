"""Prefect task: snapshot a source's landing files."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from ercan import pipeline, sources
from ercan.errors import SourceError
from ercan.storage import Storage
from ercan.tasks.retries import STORAGE_RETRIES


@task(name="ingest", task_run_name="ingest {source_id}", cache_policy=NO_CACHE, **STORAGE_RETRIES)
def ingest(storage_url: str, source_id: str) -> dict:
    """{"snapshots": [...]} or, when a raw file cannot be read, {"error": why} for the gate to quarantine.

    Ingest needs no cache of its own: snapshots are content-addressed, the same bytes are stored once."""
    try:
        return {"snapshots": pipeline.ingest_landing(Storage(storage_url), sources.get(source_id))}
    except SourceError as e:
        return {"error": str(e)}
