"""How the tasks retry: a store that failed transiently (a dropped connection, a timeout, an S3
endpoint restarting; `ercan.storage.is_transient`) is tried again with exponential backoff. Bad
data never is: it quarantines its source, and retrying would only repeat the same verdict."""

from prefect.tasks import exponential_backoff

from ercan.storage import is_transient


def _transient(task, task_run, state) -> bool:
    return is_transient(state.result(raise_on_failure=False))


# 3 retries after ~2, 4 and 8 s (±50 % jitter, so parallel sources do not hammer the store together).
STORAGE_RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": _transient,
}
