"""The nightly flow: every source (or the chosen ones) through ingest and its gate, concurrently;
then accounting and publishing over all accepted observations."""

from __future__ import annotations

from prefect import flow, get_run_logger

from ercan import sources as source_registry
from ercan.storage import resolve_root
from ercan.tasks.account import account
from ercan.tasks.gate import gate
from ercan.tasks.ingest import ingest
from ercan.tasks.publish import publish


@flow(name="ercan-nightly", log_prints=True)
def nightly(sources: list[str] | None = None, storage: str | None = None, force: bool = False) -> dict:
    storage_url = resolve_root(storage)
    selected = sources or list(source_registry.registry())
    for source_id in selected:
        source_registry.get(source_id)  # unknown ids fail before any work starts
    logger = get_run_logger()
    ingested = {sid: ingest.submit(storage_url, sid) for sid in selected}
    gates = {sid: gate.submit(storage_url, sid, force, ingested[sid].result().get("error")) for sid in selected}
    outcomes = {sid: future.result() for sid, future in gates.items()}
    for outcome in outcomes.values():
        if outcome.quarantined:
            logger.error("quarantined %s: %s", outcome.source, outcome.reason)
    frames = account(storage_url)
    manifests = publish(storage_url, frames)
    return {
        "storage": storage_url,
        "sources": {sid: vars(o) for sid, o in outcomes.items()},
        "published": [{"product": m["product"], "version": m["version"], "rows": m["row_count"]} for m in manifests],
    }
