"""Prefect task: cross-scale accounting over every source's accepted observations.

Its result is cached by Prefect under the key of what determines it (pipeline.products_key: the
accepted and quality rows of every source, and the code and suites), persisted in the store's
`cache/` folder, so it survives workers and serves `--from publish`."""

import hashlib
from pathlib import Path

from prefect import task
from prefect.filesystems import RemoteFileSystem

from ercan import pipeline
from ercan.storage import Storage
from ercan.tasks.retries import STORAGE_RETRIES


def _by_inputs(context, parameters) -> str:
    return f"account-{parameters['inputs_key']}"


@task(name="account", task_run_name="account", cache_key_fn=_by_inputs, persist_result=True, **STORAGE_RETRIES)
def account(storage_url: str, inputs_key: str):
    # Without the observations: they are every accepted input row (GBs for a plot-level source), which
    # Prefect would pickle into the cache on every run; the publish task reads them from staging again.
    frames = pipeline.account(Storage(storage_url))
    frames.pop("observations", None)
    return frames


def cache_storage(storage_url: str) -> Path | RemoteFileSystem:
    """Where cached task results live: `<storage>/cache/`, local or on S3 like the rest of the store.
    Prefect wants remote result storage saved as a block: it holds only the URL, credentials stay
    in the environment."""
    storage = Storage(storage_url)
    if storage.is_local:
        return Path(storage.path("cache"))
    block = RemoteFileSystem(basepath=storage.url_of("cache"))
    block.save(f"ercan-cache-{hashlib.sha256(storage_url.encode()).hexdigest()[:12]}", overwrite=True)
    return block
