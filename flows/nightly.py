"""The pipeline flow, for the nightly run and a steward's rerun alike (one flow, two deployments):
the chosen sources (default: all) through ingest and their gates, concurrently; then accounting
and publishing over all accepted observations. `from_stage` skips the stages before it (their
kept results are used) and `force` ignores the caches from that stage on (docs/operations.md)."""

from __future__ import annotations

import os

from prefect import flow, get_client, get_run_logger
from prefect.futures import as_completed
from prefect.runtime import deployment, flow_run
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from ercan import pipeline, product_gates
from ercan import sources as source_registry
from ercan.errors import ConfigError
from ercan.failure_words import first_failures
from ercan.storage import Storage, resolve_root
from ercan.tasks.account import account, cache_storage
from ercan.tasks.gate import gate
from ercan.tasks.ingest import ingest
from ercan.tasks.publish import publish
from ercan.tasks.reports import reports


def task_runner(dask: str | None = None):
    """Threads by default; prefect-dask's DaskTaskRunner when `dask` (default: $ERCAN_DASK) is
    "local" (a temporary Dask cluster on this machine) or a scheduler address (tcp://host:8786)."""
    dask = dask or os.environ.get("ERCAN_DASK")
    if not dask:
        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner

    if dask == "local":  # a free port for the dashboard (logged), so several runs can share a machine
        return DaskTaskRunner(cluster_kwargs={"dashboard_address": ":0"})
    return DaskTaskRunner(address=dask)


def run_tags(sources: list[str] | None, from_stage: str, force: bool) -> list[str]:
    """Tags a steward filters runs by in the Prefect UI: `source:fra2020`, `from:harmonize`, `force`."""
    return ["ercan", f"from:{from_stage}", *(f"source:{s}" for s in sources or ["all"]), *(["force"] if force else [])]


def run_name() -> str:
    """E.g. "fra2020 from harmonize, forced" or "all sources from ingest"."""
    parameters = flow_run.parameters
    what = ", ".join(parameters.get("sources") or ["all sources"])
    forced = ", forced" if parameters.get("force") else ""
    return f"{what} from {parameters.get('from_stage', 'ingest')}{forced}"


@flow(name="ercan", flow_run_name=run_name, log_prints=True, task_runner=task_runner())
def nightly(sources: list[str] | None = None, storage: str | None = None, force: bool = False,
            from_stage: pipeline.Stage = "ingest") -> dict:
    if storage is None and not os.environ.get("ERCAN_STORAGE") and deployment.id:
        raise ConfigError(
            "this deployment has no storage root: a worker runs flows in a temporary folder, so set "
            "ERCAN_STORAGE in the worker's environment or the deployment's `storage` parameter (`ercan deploy --storage`)"
        )
    storage_url = resolve_root(storage)
    selected = sources or list(source_registry.registry())
    for source_id in selected:
        source_registry.get(source_id)  # unknown ids fail before any work starts
    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, tags=sorted({*flow_run.tags, *run_tags(sources, from_stage, force)}))

    outcomes = {}
    if pipeline.STAGES.index(from_stage) <= pipeline.STAGES.index("validate"):
        outcomes = _gates(storage_url, selected, force, from_stage)
    for outcome in outcomes.values():
        if outcome.status != "accepted":
            logger.error("%s %s: %s", outcome.status, outcome.source, outcome.reason)

    inputs_key = pipeline.products_key(Storage(storage_url))
    # Products last published from these very inputs: accounting and publishing would only rebuild them.
    current = pipeline.products_current(Storage(storage_url), inputs_key,
                                        force=pipeline.refreshes("publish", from_stage, force))
    manifests = []
    if not current:
        accounted = account.with_options(
            result_storage=cache_storage(storage_url), refresh_cache=pipeline.refreshes("account", from_stage, force)
        )(storage_url, inputs_key, return_state=True)
        manifests = publish.submit(storage_url, accounted.result(), inputs_key,
                                   pipeline.refreshes("publish", from_stage, force)).result(raise_on_failure=False)
        if isinstance(manifests, BaseException):
            raise manifests
    withheld = product_gates.withheld(Storage(storage_url))
    for product, reason in withheld.items():
        logger.error("withheld %s: %s", product, reason)
    links = reports(storage_url, list(outcomes.values()), manifests)
    summary = {
        "storage": storage_url,
        "from_stage": from_stage,
        "sources": {sid: vars(o) for sid, o in outcomes.items()},
        "account_cached": current or accounted.name == "Cached",
        "published": [{"product": m["product"], "version": m["version"], "rows": m["row_count"]} for m in manifests],
        "withheld": withheld,
        "data_docs": links["data_docs"],
        "report": links["report"],
    }
    verdict = _verdict(outcomes, withheld)
    return Failed(message=verdict, data=summary) if verdict else summary


def _verdict(outcomes: dict[str, pipeline.GateOutcome], withheld: dict[str, str]) -> str | None:
    """The run's outcome for the operator's eye when it is not all good: which sources were not
    accepted and which products were withheld, each with the start of its reason (the rest is in
    the task's state, `ercan sources` and the report)."""
    not_accepted = [o for o in outcomes.values() if o.status != "accepted"]
    if not not_accepted and not withheld:
        return None
    counts = [f"{len(not_accepted)} of {len(outcomes)} sources not accepted"] if not_accepted else []
    counts += [f"{len(withheld)} product(s) withheld"] if withheld else []
    parts = [f"{o.source} {o.status}: {first_failures(o.reason or '')}" for o in not_accepted]
    parts += [f"{product} withheld: {first_failures(reason)}" for product, reason in withheld.items()]
    return "; ".join(counts) + " — " + " | ".join(parts)




def _gates(storage_url: str, selected: list[str], force: bool, from_stage: str) -> dict[str, pipeline.GateOutcome]:
    """Every source's ingest (when the run starts there) and gate, concurrently: each gate starts
    as soon as its source is ingested. A source whose task fails even after its retries is
    reported as failed; it never stops the others."""
    gates = {}
    if from_stage == "ingest":
        ingests = {source_id: ingest.submit(storage_url, source_id) for source_id in selected}
        source_of = {future.task_run_id: source_id for source_id, future in ingests.items()}
        for future in as_completed(list(ingests.values())):
            source_id = source_of[future.task_run_id]
            gates[source_id] = gate.submit(storage_url, source_id, force, from_stage, _ingest_error(source_id, future))
    else:
        gates = {source_id: gate.submit(storage_url, source_id, force, from_stage) for source_id in selected}
    outcomes = {}
    for source_id in selected:
        result = gates[source_id].result(raise_on_failure=False)
        if not isinstance(result, pipeline.GateOutcome):
            reason = (
                f"source {source_id!r}: its gate failed after retries with {type(result).__name__}: {result}. "
                f"The other sources went on; once the cause is fixed, run `ercan rerun {source_id}`."
            )
            result = pipeline.GateOutcome(source_id, "failed", reason)
        outcomes[source_id] = result
    return outcomes


def _ingest_error(source_id: str, future) -> str | None:
    """Why the source's ingest gave nothing to gate: an unreadable raw file, or its task failing
    after retries (the gate then quarantines the source rather than gate stale snapshots)."""
    result = future.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        return f"source {source_id!r}: ingest failed after retries with {type(result).__name__}: {result}"
    return result.get("error")
