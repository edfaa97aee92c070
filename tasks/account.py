"""Prefect task: cross-scale accounting over every source's accepted observations."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from ercan import pipeline
from ercan.storage import Storage


@task(name="account", cache_policy=NO_CACHE)
def account(storage_url: str):
    return pipeline.account(Storage(storage_url))
