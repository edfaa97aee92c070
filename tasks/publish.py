"""Prefect task: publish changed products as new immutable versions, then the catalog."""

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from ercan import pipeline, product_gates
from ercan.storage import Storage
from ercan.tasks.retries import STORAGE_RETRIES


# Not cached by Prefect: a cached publish would report the old versions as new. pipeline.publish_products
# skips frames from the inputs it last published from, and never publishes equal content twice.
@task(name="publish", task_run_name="publish", cache_policy=NO_CACHE, **STORAGE_RETRIES)
def publish(storage_url: str, frames, inputs_key: str | None = None, force: bool = False):
    """`frames`: the account task's products, without the observations (read here from staging). The
    new manifests; the task ends Failed, naming them, where a product's gate withheld it (the others
    are published all the same)."""
    storage = Storage(storage_url)
    observations = pipeline.accepted_rows(storage, encoded=True) if frames else None
    if observations is not None:
        frames = {"observations": observations, **frames}
    manifests = pipeline.publish_products(storage, frames, inputs_key=inputs_key, force=force)
    withheld = product_gates.withheld(storage)
    return Failed(message=f"withheld: {', '.join(withheld)}", data=manifests) if withheld else manifests
