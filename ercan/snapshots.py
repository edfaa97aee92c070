"""Ingest: raw files copied into the store, content-addressed by SHA-256, never edited.

The same bytes twice are one snapshot. Each source has, per input role, a *current* snapshot: a
steward's `ercan ingest` makes its file current; the nightly ingests the role's landing file
(`ercan.landing`) and makes it current only when a newer file has landed, i.e. its bytes differ
from those of the landing file it saw last. So a steward's file stays current until another file
lands, and an older landing file never comes back over it.
"""

from __future__ import annotations

import getpass
import uuid
from datetime import UTC, datetime
from pathlib import PurePath
from typing import BinaryIO

import fsspec

from ercan import state
from ercan.errors import ConfigError, SourceError
from ercan.landing import Landed
from ercan.sources import Harmonizer, RawFile, registry
from ercan.storage import Storage

# Where a file being ingested is copied while it is hashed (a killed ingest leaves its folder: `ercan gc`).
INCOMING = ".incoming-"


def ingest(storage: Storage, harmonizer: Harmonizer, role: str, location: str, *, steward: bool = False) -> dict:
    """Snapshot one raw file (a local path or URL) for `role`; returns its metadata (with `new` telling
    if the bytes were new). A steward's file (`steward`) becomes the role's current snapshot."""
    source = harmonizer.source
    if role not in source.inputs:
        raise ConfigError(f"source {source.id!r} has no input {role!r}; its inputs are {sorted(source.inputs)}")
    name = PurePath(str(location)).name
    try:
        with fsspec.open(location, "rb") as f:
            meta = _snapshot(storage, harmonizer, role, f, name, str(location), check_layout=steward)
    except OSError as e:
        raise SourceError(f"cannot read the raw file: {e}", source=source.id, file=str(location)) from None
    if steward:
        with state.update(storage, source.id) as current:
            _make_current(current, role, meta)
    return meta


def refuse_misfit(harmonizer: Harmonizer, role: str, raw: RawFile) -> None:
    """A file a steward files under a declared source's input must have that input's declared layout
    (its reading and columns); one that does not is refused before anything is stored, naming the
    declared sources' inputs whose layout it does have."""
    if harmonizer.declared is None:
        return  # a source still coded in Python declares no layout to compare with
    problem = harmonizer.declared.misfit(role, raw)
    if problem is None:
        return
    fits = [f"`ercan ingest {other.source.id} {raw.name} --role {other_role}`"
            for other in registry().values() if other.declared is not None
            for other_role in other.source.inputs
            if (other.source.id, other_role) != (harmonizer.source.id, role)
            and other.declared.fits(other_role, raw)]
    where = f"it has the layout of another input: ingest it with {' or '.join(fits)}" if fits else \
        "it has the layout of no declared source's input"
    raise SourceError(
        f"does not have the layout declared for input {role!r} ({problem.what}); {where}",
        source=harmonizer.source.id, file=raw.name,
        hint="Nothing was ingested. If the publisher changed the layout, update the source's declaration first.",
    )


def ingest_landed(storage: Storage, harmonizer: Harmonizer, role: str, landed: Landed) -> dict:
    """Snapshot the role's landing file (the nightly); returns its metadata, with `new` (the bytes were
    new) and `current` (it became the current snapshot).

    It becomes current only when its bytes differ from the last landing file seen for the role (kept
    as `landing` in the source's state), even if they were snapshotted before: a file that lands
    again after another is newer. A seed replaces no current snapshot: the sample data is never
    newer than a file a steward ingested before the store's first nightly."""
    source = harmonizer.source
    with storage.fs.open(storage.path(*landed.parts), "rb") as f:
        meta = _snapshot(storage, harmonizer, role, f, landed.parts[-1], landed.origin)
    if state.load(storage, source.id).get("landing", {}).get(role) == meta["sha256"]:
        return {**meta, "current": False}  # nothing new landed (the state is not written again)
    with state.update(storage, source.id) as current:
        current.setdefault("landing", {})[role] = meta["sha256"]
        made_current = not (landed.seeded and role in current.get("current", {}))
        if made_current:
            _make_current(current, role, meta)
    return {**meta, "current": made_current}


def _snapshot(storage: Storage, harmonizer: Harmonizer, role: str, raw: BinaryIO, name: str, origin: str, *,
              check_layout: bool = False) -> dict:
    """Store the bytes of `raw` under their SHA-256 with who/when/license/origin, unless those bytes are
    stored already. They are copied a chunk at a time into `snapshots/<source>/.incoming-<id>/` while hashed,
    then moved under their hash, so memory stays flat with the file's size. An empty file, or one
    whose layout is not the input's (`check_layout`), is refused and nothing is stored."""
    source = harmonizer.source
    incoming = ("snapshots", source.id, f"{INCOMING}{uuid.uuid4().hex}", name)
    try:
        sha, size = storage.write_stream(raw, *incoming)
        if size == 0:
            raise SourceError("is empty (0 bytes)", source=source.id, file=name,
                              hint="Nothing was ingested. The transfer probably failed: ingest the complete file "
                                   "again (or let the next one land); the current snapshot stays.")
        if check_layout:
            refuse_misfit(harmonizer, role, RawFile(role, name, sha, lambda: storage.fs.open(storage.path(*incoming), "rb")))
        meta = storage.read_json("snapshots", source.id, sha, "meta.json")
        new = meta is None
        if new:
            storage.move(incoming, "snapshots", source.id, sha, name)
            meta = {
                "sha256": sha,
                "name": name,
                "role": role,
                "source": source.id,
                "bytes": size,
                "origin": origin,
                "ingested_at": datetime.now(UTC).isoformat(),
                "ingested_by": getpass.getuser(),
                "license": source.license,
                "citation": source.citation,
            }
            storage.write_json(meta, "snapshots", source.id, sha, "meta.json")
    finally:
        if storage.exists(*incoming[:-1]):
            storage.fs.rm(storage.path(*incoming[:-1]), recursive=True)
    return {**meta, "new": new}


def _make_current(current: dict, role: str, meta: dict) -> None:
    """In a source's state (inside `state.update`): the snapshot `meta` is the role's current one."""
    current.setdefault("current", {})[role] = {"sha256": meta["sha256"], "name": meta["name"]}


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
