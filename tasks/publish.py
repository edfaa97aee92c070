"""Prefect task: publish changed products as new immutable versions, then the catalog."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from ercan import pipeline
from ercan.storage import Storage


@task(name="publish", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def publish(storage_url: str, frames) -> list[dict]:
    return pipeline.publish_products(Storage(storage_url), frames)
