"""Each source's state in the store: current snapshots, gate status, quarantine reason, accepted rows."""

from __future__ import annotations

from contextlib import contextmanager

from ercan.storage import Storage


def load(storage: Storage, source_id: str) -> dict:
    return storage.read_json("state", "sources", f"{source_id}.json", default={"source": source_id, "status": "new"})


@contextmanager
def update(storage: Storage, source_id: str):
    """Read, let the caller change, write back (one writer per source: the flow runs each source once)."""
    current = load(storage, source_id)
    yield current
    storage.write_json(current, "state", "sources", f"{source_id}.json")
