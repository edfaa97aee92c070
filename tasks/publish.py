"""Prefect task: publish changed products as new immutable versions, then the catalog."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from ercan import pipeline
from ercan.storage import Storage
from ercan.tasks.retries import STORAGE_RETRIES


# Not cached by Prefect: a cached publish would report the old versions as new. pipeline.publish_products
# skips frames from the inputs it last published from, and never publishes equal content twice.
@task(name="publish", task_run_name="publish", cache_policy=NO_CACHE, **STORAGE_RETRIES)
def publish(storage_url: str, frames, inputs_key: str | None = None, force: bool = False) -> list[dict]:
    """`frames`: the account task's products, without the observations (read here from staging)."""
    storage = Storage(storage_url)
    observations = pipeline.accepted_rows(storage, encoded=True) if frames else None
    if observations is not None:
        frames = {"observations": observations, **frames}
    return pipeline.publish_products(storage, frames, inputs_key=inputs_key, force=force)
