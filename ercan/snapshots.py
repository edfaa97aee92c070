"""Ingest: raw files copied into the store, content-addressed by SHA-256, never edited.

The same bytes twice are one snapshot. Each source has, per input role, a *current* snapshot:
the nightly run ingests the source's landing file and makes it current only when its bytes are
new, so a steward's `ercan ingest` of a corrected file stays current until the landing file
itself changes.
"""

from __future__ import annotations

import getpass
import hashlib
from datetime import UTC, datetime
from pathlib import PurePath

import fsspec

from ercan import state
from ercan.errors import ConfigError, SourceError
from ercan.sources import Harmonizer, RawFile
from ercan.storage import Storage


def ingest(storage: Storage, harmonizer: Harmonizer, role: str, location: str, *, steward: bool = False) -> dict:
    """Snapshot one raw file for `role`; returns its metadata (with `new` telling if the bytes were new)."""
    source = harmonizer.source
    if role not in source.inputs:
        raise ConfigError(f"source {source.id!r} has no input {role!r}; its inputs are {sorted(source.inputs)}")
    try:
        with fsspec.open(location, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SourceError(f"cannot read the raw file: {e}", source=source.id, file=str(location)) from None
    sha = hashlib.sha256(data).hexdigest()
    name = PurePath(str(location)).name
    meta = storage.read_json("snapshots", source.id, sha, "meta.json")
    new = meta is None
    if new:
        storage.write_bytes(data, "snapshots", source.id, sha, name)
        meta = {
            "sha256": sha,
            "name": name,
            "role": role,
            "source": source.id,
            "bytes": len(data),
            "origin": str(location),
            "ingested_at": datetime.now(UTC).isoformat(),
            "ingested_by": getpass.getuser(),
            "license": source.license,
            "citation": source.citation,
        }
        storage.write_json(meta, "snapshots", source.id, sha, "meta.json")
    if new or steward:
        with state.update(storage, source.id) as current:
            current.setdefault("current", {})[role] = {"sha256": sha, "name": meta["name"]}
    return {**meta, "new": new}


def current_files(storage: Storage, harmonizer: Harmonizer) -> dict[str, RawFile]:
    """The source's current snapshot per role, as the harmonizer reads them."""
    current = state.load(storage, harmonizer.source.id).get("current", {})
    missing = sorted(set(harmonizer.source.inputs) - set(current))
    if missing:
        raise SourceError(
            f"no snapshot ingested for input(s) {missing}",
            source=harmonizer.source.id,
            hint=f"Run `ercan ingest {harmonizer.source.id} PATH` for each missing input.",
        )
    return {
        role: RawFile(
            role,
            snap["name"],
            snap["sha256"],
            lambda snap=snap: storage.fs.open(
                storage.path("snapshots", harmonizer.source.id, snap["sha256"], snap["name"]), "rb"
            ),
        )
        for role, snap in current.items()
        if role in harmonizer.source.inputs
    }
