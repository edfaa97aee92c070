"""The pipeline's stages as plain functions: what the Prefect tasks in `tasks/` call.

ingest → gate (harmonize + validate, per source) → account → publish. A source whose input
cannot be harmonized, or whose rows fail a critical expectation, is quarantined: its previously
accepted rows (if any) stay what the products are built from, so nothing published is lost.

Every stage's result is kept in the store under a key of what determines it (see docs/operations.md),
so a night without new data redoes almost nothing; `force` with a `from_stage` redoes the stages
from that one on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

import pandas as pd
import pyarrow as pa

import ercan.catalog
from ercan.catalog.build import build_catalog
from ercan import landing, schema, snapshots, state
from ercan.accounting.products import Options, build
from ercan.area_names import area_rows
from ercan.dictionaries import unified
from ercan.errors import ConfigError, SourceError
from ercan.failure_words import Row
from ercan.product_gates import distinct, gate_products
from ercan.publish import PRODUCTS, publish, remove_incomplete
from ercan.sources import EXPECTATIONS, Harmonizer, comparisons, registry
from ercan.storage import Storage, crash_point, is_transient
from ercan.validation import SCHEMA_SUITE, load_suite, placed, suite_sha256, validate, warm_up


# The rows each source's gate last validated and accepted in this process, as it read them (text dictionary-
# encoded, each column on one dictionary), by store and source, with their harmonize key: accounting takes
# them, once, instead of reading the file and unifying its dictionaries again (~3 s at ten million rows).
_JUST_ACCEPTED: dict[tuple[str, str], tuple[str, pa.Table]] = {}


@dataclass
class GateOutcome:
    source: str
    status: str  # accepted | quarantined | failed (its task errored after retries: nothing recorded)
    reason: str | None = None
    rows: int = 0
    cached: bool = False
    snapshots: dict = field(default_factory=dict)

    @property
    def quarantined(self) -> bool:
        return self.status == "quarantined"


def ingest_landing(storage: Storage, harmonizer: Harmonizer) -> list[dict]:
    """The nightly ingest: snapshot each input's file in the landing zone, downloaded from its origin
    URL or seeded from the sample data first as needed (`ercan.landing`)."""
    ingested = []
    current = state.load(storage, harmonizer.source.id).get("current", {})
    for role in harmonizer.source.inputs:
        try:
            landed = landing.land(storage, harmonizer.source, role)
        except landing.NothingLanded:
            if role in current:
                continue  # a steward's `ercan ingest` stays current until a file lands
            raise
        ingested.append(snapshots.ingest_landed(storage, harmonizer, role, landed))
    return ingested


# The stages in order; a rerun starts at one of them (`ercan rerun --from`).
Stage = Literal["ingest", "harmonize", "validate", "account", "publish"]
STAGES: tuple[str, ...] = get_args(Stage)


def refreshes(stage: str, from_stage: str, force: bool) -> bool:
    """Whether `stage` ignores its cache: `force` applies to the stage a rerun starts from and the later ones."""
    return force and STAGES.index(stage) >= STAGES.index(from_stage)


def _sha256_of(parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _harmonize_key(harmonizer: Harmonizer, files) -> str:
    """What determines a source's harmonized rows: its snapshots and its harmonizer's code."""
    return _sha256_of({
        "snapshots": {role: f.sha256 for role, f in sorted(files.items())},
        "harmonizer": harmonizer.code_sha256,
    })


def _gate_key(harmonizer: Harmonizer, harmonize_key: str) -> str:
    """What determines a gate's verdict: the harmonized rows and both suites."""
    return _sha256_of({
        "harmonized": harmonize_key,
        "suite": suite_sha256(harmonizer.suite_path),
        "schema_suite": suite_sha256(SCHEMA_SUITE),
    })


def gate(storage: Storage, harmonizer: Harmonizer, *, force: bool = False, from_stage: str = "harmonize",
         ingest_error: str | None = None) -> GateOutcome:
    """Harmonize and validate the source's current snapshots; quarantine it if that fails.

    Harmonized rows are kept under the harmonize key, the verdict under the gate key: a verdict
    already reached for the same key is served again, and a changed suite re-validates the kept
    rows without harmonizing again. `force` ignores these caches from `from_stage` on (from
    "harmonize": both; from "validate": the verdict only, the kept rows are validated again)."""
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
    harmonized = _harmonize_key(harmonizer, files)
    key = _gate_key(harmonizer, harmonized)
    shas = {role: f.sha256 for role, f in files.items()}
    previous = state.load(storage, source_id)
    if not refreshes("validate", from_stage, force) and previous.get("gate_key") == key:
        accepted = previous.get("accepted") or {}
        return GateOutcome(source_id, previous["status"], previous.get("reason"), accepted.get("rows", 0), True, shas)
    staged = ("staging", source_id, f"{harmonized}.parquet")
    try:
        if refreshes("harmonize", from_stage, force) or not storage.exists(*staged):
            warm_up()
            _stage(storage, harmonizer, files, staged)
        table = storage.read_parquet(*staged, strings_as_dictionary=True)
    except SourceError as e:
        reason = str(e.located(source=source_id))
        return _quarantine(storage, source_id, key, reason, shas, _unreadable(storage, source_id, key, reason))
    except Exception as e:  # a layout the harmonizer did not foresee must not stop the other sources
        if is_transient(e):
            raise  # the store failed, not the input: the task retries, and no verdict is kept
        names = ", ".join(repr(f.name) for f in files.values())
        reason = (
            f"source {source_id!r}, file(s) {names}: the harmonizer failed with {type(e).__name__}: {e}. "
            "The input probably changed shape: compare it with the sample in sample_data/, then update the source's "
            "declaration or harmonizer, or ingest the publisher's file again (`ercan ingest`)."
        )
        return _quarantine(storage, source_id, key, reason, shas, _unreadable(storage, source_id, key, reason))
    # One dictionary per text column: the gate's reductions compare codes, and accounting groups by them.
    table = unified(table, [f.name for f in table.schema if pa.types.is_dictionary(f.type)])
    # The generated schema suite is the common schema's; reference factors have their own table.
    schema_suites = [load_suite(SCHEMA_SUITE)] if harmonizer.source.product == "observations" else []
    try:
        own_suite = load_suite(harmonizer.suite_path)
    except ConfigError as e:  # a typo in one source's suite quarantines that source, not the run
        return _quarantine(storage, source_id, key, f"source {source_id!r}: {e}", shas, None)
    report = validate(table, [*schema_suites, own_suite], source_id)
    if report.failures:  # their rows named by area, year, variable and place in the raw files (read only then)
        report = report.located_by(_places(storage, staged, table))
    report.write(storage, source_id, "staging", source_id, key=key)
    if not report.passed:
        reason = f"source {source_id!r} failed its quality gate: {report.reason()}"
        return _quarantine(storage, source_id, key, reason, shas, key)
    if harmonizer.source.product == "observations":  # (accounting reads reference factors as plain text)
        _JUST_ACCEPTED[storage.root, source_id] = (harmonized, table)
    with state.update(storage, source_id) as current:
        current.update(
            status="accepted",
            reason=None,
            gate_key=key,
            quality=key,
            accepted={"key": harmonized, "rows": table.num_rows, "snapshots": shas, "at": _now(),
                      # which schema suite these rows passed (the observations' product gate relies on it)
                      "schema_suite": suite_sha256(SCHEMA_SUITE) if schema_suites else None},
        )
    return GateOutcome(source_id, "accepted", None, table.num_rows, False, shas)


def _stage(storage: Storage, harmonizer: Harmonizer, files, staged: tuple[str, ...]) -> None:
    """The source's harmonized rows written to `staged`: a harmonizer returns one table or an iterator
    of tables (large sources), written as they come, so only one is held at a time. A SourceError
    raised on the way leaves nothing under `staged`."""
    if harmonizer.harmonize_with_places is not None:  # where each row was read, for the gate's words
        rows, places = harmonizer.harmonize_with_places(files)  # (written first: the staged rows mark it complete)
        storage.write_parquet(places, *_places_file(staged))
    else:
        rows = harmonizer.harmonize(files)
    columns = schema.OBSERVATION_COLUMNS if harmonizer.source.product == "observations" else schema.REFERENCE_COLUMNS
    storage.write_parquet_batches([rows] if isinstance(rows, pa.Table) else rows, schema.arrow_schema(columns), *staged)


def _places_file(staged: tuple[str, ...]) -> tuple[str, ...]:
    return (*staged[:-1], staged[-1].replace(".parquet", ".places.parquet"))


def _places(storage: Storage, staged: tuple[str, ...], table: pa.Table) -> Callable[[list[int]], list[Row]]:
    """Names the staged rows (validation.placed), with their places in the raw files unless the harmonizer
    does not say (a module)."""
    if not storage.exists(*_places_file(staged)):
        return placed(table)
    return placed(table, storage.read_parquet(*_places_file(staged)).column("place"))


def _unreadable(storage: Storage, source_id: str, key: str, reason: str) -> str:
    """A harmonize failure as a row of `quality`, so the product tells why the source is out."""
    row = {
        "subject": source_id, "suite": "harmonize", "expectation": "input_is_readable", "column_name": None,
        "severity": "critical", "success": False, "element_count": 0, "unexpected_count": 1,
        "unexpected_examples": json.dumps([reason], ensure_ascii=False), "reason": reason,
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


def accepted_rows(storage: Storage, product: str = "observations", *, encoded: bool = False) -> pa.Table | None:
    """The last accepted rows of every source feeding `product` (a quarantined source keeps its
    previous ones), as one Arrow table, or None when there are none. `encoded`: text columns read
    dictionary-encoded, so a plot-level source's repeated codes, units and snapshots are held once,
    not once per row."""
    tables = []
    for source_id, harmonizer in registry().items():
        if harmonizer.source.product != product:
            continue
        accepted = state.load(storage, source_id).get("accepted")
        just = _JUST_ACCEPTED.pop((storage.root, source_id), None) if encoded else None
        if accepted and just and just[0] == accepted["key"]:
            tables.append(just[1])
        elif accepted:
            tables.append(storage.read_parquet("staging", source_id, f"{accepted['key']}.parquet",
                                               strings_as_dictionary=encoded))
    return pa.concat_tables(tables) if tables else None


def quality_rows(storage: Storage) -> pd.DataFrame:
    frames = []
    for source_id in registry():
        key = state.load(storage, source_id).get("quality")
        if key and storage.exists("staging", source_id, f"{key}.quality.parquet"):
            frames.append(storage.read_parquet("staging", source_id, f"{key}.quality.parquet").to_pandas())
    # no source has results yet (a fresh store whose only source was quarantined before its gate ran)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PRODUCTS["quality"].columns)


def account(storage: Storage) -> dict[str, pa.Table | pd.DataFrame]:
    """Every product's rows, from the accepted observations of all sources. The observations, as
    large as every input together, stay one Arrow table; the products built from them are pandas."""
    observations = accepted_rows(storage, encoded=True)
    if observations is None:
        return {}
    factors = accepted_rows(storage, "reference_factors")
    factors = factors.to_pandas() if factors is not None else pd.DataFrame()
    products = {
        "observations": observations,
        **build(observations, Options.from_env(), factors, comparisons()),
        "reference_factors": factors,
        "quality": quality_rows(storage),
    }
    return {**products, "areas": area_rows(products)}  # every area code of the others, named


def products_key(storage: Storage) -> str:
    """What determines the products: every source's accepted and quality rows (by their keys), the
    accounting options, the sources' declared comparisons, and the code and suites that turn them into
    products. Equal keys, equal products."""
    inputs = {}
    for source_id in registry():
        current = state.load(storage, source_id)
        inputs[source_id] = {"accepted": (current.get("accepted") or {}).get("key"), "quality": current.get("quality")}
    code = hashlib.sha256()  # the catalog package counts too: the publish stage writes the catalog
    for path in sorted({*Path(__file__).parent.rglob("*.py"), *Path(ercan.catalog.__file__).parent.glob("*.py"),
                        *EXPECTATIONS.rglob("*.json")}):
        code.update(path.read_bytes())
    declared = {source_id: [c.model_dump() for c in compared] for source_id, compared in comparisons().items()}
    return _sha256_of({"inputs": inputs, "options": repr(Options.from_env()), "comparisons": declared,
                       "code": code.hexdigest()})


def publish_products(storage: Storage, frames: dict[str, pd.DataFrame], *, inputs_key: str | None = None,
                     force: bool = False) -> list[dict]:
    """Gate every product, then publish each one that passed and whose content changed, then the
    catalog. Returns the new manifests.

    `inputs_key` (`products_key`) is recorded once all is published; frames from the same key are
    not compared again unless `force` (equal content is never published twice either way). When
    another run accepted new rows after these frames were accounted (two runs at once), the frames
    are accounted again under the lock: the last run to publish always publishes the latest state,
    never an older one over it."""
    if not frames or (inputs_key and products_current(storage, inputs_key, force=force)):
        return []
    validation, passed, gates, tables = _gated(storage, frames)
    published = []
    crash_point("before_lock")
    with storage.lock("publish"):
        latest_key = products_key(storage) if inputs_key else None
        if latest_key and latest_key != inputs_key:
            inputs_key, frames = latest_key, account(storage)
            validation, passed, gates, tables = _gated(storage, frames)
        storage.remove_temporaries("catalog.yaml")
        for product in PRODUCTS:
            remove_incomplete(storage, product)
            frame = passed.get(product)
            if frame is None or not len(frame):
                continue
            provenance = _provenance(frame if isinstance(frame, pa.Table) or "source" in frame else frames["observations"])
            manifest = publish(storage, product, tables[product], provenance=provenance, validation=validation,
                               content=gates[product].content_sha256 if product in gates else None)
            if manifest:
                published.append(manifest)
        crash_point("before_catalog")
        build_catalog(storage)
        if inputs_key and not any(g.withheld for g in gates.values()):  # a withheld product is gated again
            storage.write_json({"inputs_key": inputs_key, "at": _now()}, "state", "products.json")
    return published


def _gated(storage: Storage, frames: dict[str, pd.DataFrame]) -> tuple[dict, dict[str, pd.DataFrame], dict, dict]:
    """The sources' statuses (each manifest's validation summary), the frames that passed their
    product gates (a product failing a critical expectation is left out), every gate, and the
    passed frames as their products' tables."""
    statuses = {sid: state.load(storage, sid) for sid in registry()}
    validation = {sid: {"status": s.get("status"), "reason": s.get("reason")} for sid, s in statuses.items()}
    return validation, *gate_products(storage, frames)


def products_current(storage: Storage, inputs_key: str, *, force: bool = False) -> bool:
    """Whether the products were last published, complete, from these inputs (`products_key`): then
    accounting and publishing would rebuild the same products, so a run skips both."""
    return not force and storage.read_json("state", "products.json", default={}).get("inputs_key") == inputs_key


def _provenance(frame: pd.DataFrame | pa.Table) -> dict:
    """The sources, licences and raw snapshots a product's rows trace back to."""
    sources = registry()
    source_ids = sorted(distinct(frame, "source"))  # the distinct values, not a Python loop over every row
    return {
        "sources": [
            {"id": sid, "title": sources[sid].source.title, "license": sources[sid].source.license,
             "citation": sources[sid].source.citation}
            for sid in source_ids
        ],
        "licenses": sorted({sources[sid].source.license for sid in source_ids}),
        # split each distinct joined value once, not every row's
        "snapshots": sorted({h for joined in distinct(frame, "snapshot") for h in joined.split(";")}),
    }
