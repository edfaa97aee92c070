"""The pipeline flow registered with a Prefect server: `nightly` on a cron schedule (UTC) and
`rerun` for stewards, both the same flow (`ercan/nightly`, `ercan/rerun`) on a process work pool.

The deployments point at the installed module (ercan.flows.nightly), so a worker needs only
`pip install ercan` and no copy of the checkout. `prefect.yaml` declares the same two deployments
for `prefect deploy --all`."""

from __future__ import annotations

from prefect import deploy, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import EntrypointType
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron
from prefect.workers.process import ProcessWorker

from ercan.errors import ConfigError
from ercan.flows.nightly import nightly

NIGHTLY_CRON = "0 2 * * *"
WORK_POOL = "ercan"


def register(storage_url: str, *, cron: str = NIGHTLY_CRON, pool: str = WORK_POOL, dask: str | None = None) -> list[str]:
    """Create the work pool if needed and register both deployments; returns their ids.

    `storage_url` becomes the runs' default `storage` parameter: a worker runs each flow in a
    temporary folder, so the store must be named where the deployment is made. `dask` (a
    scheduler address or "local") is set as ERCAN_DASK in the runs' environment."""
    try:
        schedule = Cron(cron, timezone="UTC")
    except ValueError as e:
        raise ConfigError(f"--cron {cron!r} is not a cron expression (e.g. '0 2 * * *' for 02:00 UTC): {e}") from None
    _ensure_process_pool(pool)
    common = {
        "parameters": {"storage": storage_url},
        "job_variables": {"env": {"ERCAN_DASK": dask}} if dask else {},
        "entrypoint_type": EntrypointType.MODULE_PATH,
    }
    deployments = [
        nightly.to_deployment(
            name="nightly", schedules=[schedule], tags=["ercan", "nightly"],
            description=f"Every source from ingest, on cron {cron!r} (UTC).", **common,
        ),
        nightly.to_deployment(
            name="rerun", tags=["ercan", "rerun"],
            description="A steward's rerun: --param sources='[\"ID\"]' (default all) from_stage=STAGE force=true.",
            **common,
        ),
    ]
    ids = deploy(*deployments, work_pool_name=pool, print_next_steps_message=False, ignore_warnings=True)
    return [str(i) for i in ids]


def _ensure_process_pool(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template(),
            ))
