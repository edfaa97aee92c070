"""The pipeline's stages as plain functions: what the Prefect tasks in `tasks/` call.

ingest → gate (harmonize + validate, per source) → account → publish. A source whose input
cannot be harmonized, or whose rows fail a critical expectation, is quarantined: its previously
accepted rows (if any) stay what the products are built from, so nothing published is lost.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa

from ercan.catalog.build import build_catalog
from ercan import snapshots, state
from ercan.accounting.products import Options, build
from ercan.errors import SourceError
from ercan.publish import PRODUCTS, crash_point, publish, remove_incomplete, to_table
from ercan.sources import SAMPLE_DATA, Harmonizer, registry
from ercan.storage import Storage
from ercan.validation import SCHEMA_SUITE, load_suite, validate


@dataclass
class GateOutcome:
    source: str
    status: str  # accepted | quarantined
    reason: str | None = None
    rows: int = 0
    cached: bool = False
    snapshots: dict = field(default_factory=dict)

    @property
    def quarantined(self) -> bool:
        return self.status == "quarantined"


def ingest_landing(storage: Storage, harmonizer: Harmonizer) -> list[dict]:
    """The nightly ingest: snapshot each input's landing file (the shipped sample data)."""
    return [
        snapshots.ingest(storage, harmonizer, role, str(SAMPLE_DATA / relative))
        for role, relative in harmonizer.source.inputs.items()
    ]


def _gate_key(harmonizer: Harmonizer, files) -> str:
    """What determines a gate's result: the snapshots, the harmonizer's code and both suites."""
    parts = {
        "snapshots": {role: f.sha256 for role, f in sorted(files.items())},
        "harmonizer": harmonizer.code_sha256,
        "suite": hashlib.sha256(harmonizer.suite_path.read_bytes()).hexdigest(),
        "schema_suite": hashlib.sha256(SCHEMA_SUITE.read_bytes()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def gate(storage: Storage, harmonizer: Harmonizer, *, force: bool = False, ingest_error: str | None = None) -> GateOutcome:
    """Harmonize and validate the source's current snapshots; quarantine it if that fails.

    A gate already passed or failed for the same key is not run again unless `force`."""
    source_id = harmonizer.source.id
    if ingest_error:
        return _quarantine(storage, source_id, None, ingest_error, {}, None)
    if not harmonizer.suite_path.exists():
        reason = f"source {source_id!r} has no expectation suite: add expectations/{source_id}.json"
        return _quarantine(storage, source_id, None, reason, {}, None)
    try:
        files = snapshots.current_files(storage, harmonizer)
    except SourceError as e:
        return _quarantine(storage, source_id, None, str(e), {}, None)
    key = _gate_key(harmonizer, files)
    shas = {role: f.sha256 for role, f in files.items()}
    previous = state.load(storage, source_id)
    if not force and previous.get("gate_key") == key:
        accepted = previous.get("accepted") or {}
        return GateOutcome(source_id, previous["status"], previous.get("reason"), accepted.get("rows", 0), True, shas)
    try:
        table = harmonizer.harmonize(files)
    except SourceError as e:
        reason = str(e.located(source=source_id))
        return _quarantine(storage, source_id, key, reason, shas, _unreadable(storage, source_id, key, reason))
    except Exception as e:  # a layout the harmonizer did not foresee must not stop the other sources
        names = ", ".join(repr(f.name) for f in files.values())
        reason = (
            f"source {source_id!r}, file(s) {names}: the harmonizer failed with {type(e).__name__}: {e}. "
            "The input probably changed shape; compare it with the sample in sample_data/ and fix the file or the harmonizer."
        )
        return _quarantine(storage, source_id, key, reason, shas, _unreadable(storage, source_id, key, reason))
    # The generated schema suite is the common schema's; reference factors have their own table.
    schema_suites = [load_suite(SCHEMA_SUITE)] if harmonizer.source.product == "observations" else []
    report = validate(table.to_pandas(), [*schema_suites, load_suite(harmonizer.suite_path)], source_id)
    quality = pa.Table.from_pandas(report.to_frame().assign(subject=source_id), preserve_index=False)
    storage.write_parquet(quality, "staging", source_id, f"{key}.quality.parquet")
    if not report.passed:
        reason = f"source {source_id!r} failed its quality gate: {report.reason()}"
        return _quarantine(storage, source_id, key, reason, shas, key)
    storage.write_parquet(table, "staging", source_id, f"{key}.parquet")
    with state.update(storage, source_id) as current:
        current.update(
            status="accepted",
            reason=None,
            gate_key=key,
            quality=key,
            accepted={"key": key, "rows": table.num_rows, "snapshots": shas, "at": _now()},
        )
    return GateOutcome(source_id, "accepted", None, table.num_rows, False, shas)


def _unreadable(storage: Storage, source_id: str, key: str, reason: str) -> str:
    """A harmonize failure as a row of `quality`, so the product tells why the source is out."""
    row = {
        "subject": source_id, "suite": "harmonize", "expectation": "input_is_readable", "column_name": None,
        "severity": "critical", "success": False, "element_count": 0, "unexpected_count": 1,
        "unexpected_examples": json.dumps([reason], ensure_ascii=False),
    }
    storage.write_parquet(pa.Table.from_pylist([row]), "staging", source_id, f"{key}.quality.parquet")
    return key


def _quarantine(storage, source_id, key, reason, shas, quality_key) -> GateOutcome:
    with state.update(storage, source_id) as current:
        current.update(status="quarantined", reason=reason, gate_key=key, quarantined_at=_now())
        if quality_key:
            current["quality"] = quality_key
    return GateOutcome(source_id, "quarantined", reason, 0, False, shas)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def accepted_rows(storage: Storage, product: str = "observations") -> pd.DataFrame:
    """The last accepted rows of every source feeding `product` (a quarantined source keeps its
    previous ones)."""
    frames = []
    for source_id, harmonizer in registry().items():
        if harmonizer.source.product != product:
            continue
        accepted = state.load(storage, source_id).get("accepted")
        if accepted:
            frames.append(storage.read_parquet("staging", source_id, f"{accepted['key']}.parquet").to_pandas())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def quality_rows(storage: Storage) -> pd.DataFrame:
    frames = []
    for source_id in registry():
        key = state.load(storage, source_id).get("quality")
        if key and storage.exists("staging", source_id, f"{key}.quality.parquet"):
            frames.append(storage.read_parquet("staging", source_id, f"{key}.quality.parquet").to_pandas())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def account(storage: Storage) -> dict[str, pd.DataFrame]:
    """Every product's rows, from the accepted observations of all sources."""
    observations = accepted_rows(storage)
    if observations.empty:
        return {}
    factors = accepted_rows(storage, "reference_factors")
    return {
        "observations": observations,
        **build(observations, Options.from_env()),
        "reference_factors": factors,
        "quality": quality_rows(storage),
    }


def publish_products(storage: Storage, frames: dict[str, pd.DataFrame]) -> list[dict]:
    """Publish every product whose content changed, then the catalog. Returns the new manifests."""
    if not frames:
        return []
    statuses = {sid: state.load(storage, sid) for sid in registry()}
    validation = {
        sid: {"status": s.get("status"), "reason": s.get("reason")} for sid, s in statuses.items()
    }
    published = []
    with storage.lock("publish"):
        for product in PRODUCTS:
            remove_incomplete(storage, product)
            frame = frames.get(product)
            if frame is None or frame.empty:
                continue
            provenance = _provenance(frame if "source" in frame else frames["observations"])
            manifest = publish(storage, product, to_table(product, frame), provenance=provenance, validation=validation)
            if manifest:
                published.append(manifest)
        crash_point("before_catalog")
        build_catalog(storage)
    return published


def _provenance(frame: pd.DataFrame) -> dict:
    """The sources, licences and raw snapshots a product's rows trace back to."""
    sources = registry()
    source_ids = sorted(set(frame["source"]))
    return {
        "sources": [
            {"id": sid, "title": sources[sid].source.title, "license": sources[sid].source.license,
             "citation": sources[sid].source.citation}
            for sid in source_ids
        ],
        "licenses": sorted({sources[sid].source.license for sid in source_ids}),
        # split each distinct joined value once, not every row's
        "snapshots": sorted({h for joined in frame["snapshot"].dropna().unique() for h in joined.split(";")}),
    }
