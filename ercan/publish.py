"""Publishing: immutable, content-addressed product versions with a manifest each.

A version is `products/<product>/<version>/`: Parquet files under `data/`, `changes.json` (what
changed since the previous version) and `manifest.json`. The manifest is written last, after the
files are verified: a version without one is incomplete and invisible (not listed, not in the
catalog) and the next publish removes it. Content that equals the latest version's is not
published again. One process publishes at a time (the `publish` lock in the store).
"""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
import platform
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ercan import schema
from ercan.changes import diff
from ercan.sources import PROJECT_ROOT
from ercan.storage import Storage, crash_point


@dataclass(frozen=True)
class Product:
    name: str
    description: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # one row per key: what changelogs compare by
    value: str  # the column whose change a changelog reports


_OBS = schema.OBSERVATION_COLUMNS
_COVERAGE = ("members_total", "members_reporting", "coverage_share", "coverage")
PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in [
        Product(
            "observations",
            "Every harmonized row of every source, in the common schema",
            _OBS,
            schema.OBSERVATION_KEY,
            "value",
        ),
        Product(
            "carbon_stocks",
            "Forest area, carbon density and carbon stock by pool: countries as reported or derived "
            "(stock = density × area), regions (UN M49 and FRA) and the world bottom-up with coverage, "
            "each aggregate reported-only and gap-filled (flagged), with 95 % uncertainty",
            _OBS + ("method", "uncertainty_basis") + _COVERAGE,
            schema.OBSERVATION_KEY + ("method",),
            "value",
        ),
        Product(
            "carbon_fluxes",
            "Net emissions and removals (t CO2e/yr, removals negative) by area, land category, pool and "
            "period, by method (stock-difference, gain-loss, reported stock change) beside inventory-"
            "reported values, with Approach 1 and Monte Carlo 95 % intervals",
            _OBS + ("method", "uncertainty_basis", "interval_low", "interval_high"),
            schema.OBSERVATION_KEY + ("method",),
            "value",
        ),
        Product(
            "restoration_progress",
            "Restoration area, pledges and forest-gain proxies by area and year, with the Kunming-Montreal "
            "Target 2 (30 % of degraded ecosystems under restoration by 2030) and the share achieved "
            "where the degraded area is known",
            (
                "source", "snapshot", "area_code", "area_level", "parent_code", "year", "year_start", "year_end",
                "indicator", "basis", "value", "unit", "flag", "degraded_area", "target_share", "target_year",
                "share_achieved", "target_progress", "note",
            ),
            ("source", "area_code", "year", "year_start", "year_end", "indicator"),
            "value",
        ),
        Product(
            "reconciliation",
            "Every reported aggregate beside the bottom-up sum of its members, and every source or method "
            "beside the preferred one: difference, tolerance and coverage",
            (
                "kind", "source", "snapshot", "area_code", "area_level", "year", "year_start", "year_end",
                "land_category", "category", "variable", "pool", "unit", "reported_value", "bottom_up_value",
                "other_source", "other_year", "other_value", "preferred_source", "difference", "relative_difference",
                "tolerance", "within_tolerance", "members_total", "members_reporting", "coverage",
            ),
            ("kind", "source", "area_code", "year", "year_start", "year_end", "land_category", "category",
             "variable", "pool", "other_source", "other_year"),
            "difference",
        ),
        Product(
            "reference_factors",
            "IPCC default factors and national reference stocks (BCEF, root-to-shoot ratios, carbon "
            "fraction, Tier 1 biomass and growth) by climatic domain, zone, region and stratum",
            schema.REFERENCE_COLUMNS,
            schema.REFERENCE_KEY,
            "value",
        ),
        Product(
            "areas",
            "Every area code of the other products (each area_code and parent_code) with its name, level, parent, "
            "years of validity and code system, named from the libraries and crosswalks the harmonizers code them by "
            "(ercan/area_names.py)",
            ("area_code", "area_name", "area_level", "parent_code", "valid_from", "valid_to", "code_system",
             "name_source"),
            ("area_code",),
            "area_name",
        ),
        Product(
            "quality",
            "The validation result of every expectation on every source for this version",
            (
                "subject", "suite", "position", "expectation", "column_name", "severity", "success",
                "element_count", "unexpected_count", "unexpected_examples", "reason",
            ),
            ("subject", "suite", "position"),
            "unexpected_count",
        ),
    ]
}


def to_table(product: str, frame: pd.DataFrame | pa.Table) -> pa.Table:
    """The product's rows with the registry's types, in a stable order (so equal content hashes equal).

    A product handed over as Arrow (the observations: every accepted input row, in the order of the
    sources and of their accepted rows, which their keys fix) keeps its order and its dictionary-
    encoded text: sorting and decoding it whole would cost more than the rest of publishing. It is
    hashed as encoded and decoded batch by batch where it is written (`plain_batches`)."""
    spec = PRODUCTS[product]
    schema_ = pa.schema([pa.field(c, schema.ALL_FIELDS[c].type) for c in spec.columns])
    if isinstance(frame, pa.Table):
        kept = [f.with_type(pa.dictionary(pa.int32(), f.type)) if pa.types.is_dictionary(frame.schema.field(f.name).type)
                else f for f in schema_]
        return frame.select(list(spec.columns)).cast(pa.schema(kept))
    frame = frame.reindex(columns=list(spec.columns))
    order = [c for c in ("area_level",) if c in spec.columns] + list(spec.key)
    table = pa.Table.from_pandas(frame, schema=schema_, preserve_index=False)
    # Arrow's stable sort: the order pandas' mergesort gave (nulls first), without pandas' per-column takes.
    return table.sort_by([(c, "ascending", "at_start") for c in order])


# Rows per Parquet row group and per batch hashed: readers and writers hold one batch at a time.
BATCH_ROWS = 100_000


def plain_batches(table: pa.Table):
    """The table's rows in batches of BATCH_ROWS, dictionary-encoded text decoded one batch at a time."""
    plain = schema.plain(table.schema)
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield batch.cast(plain)


class _HashingSink:
    """A write-only file that hashes what is written to it: the table's IPC stream is hashed as it is
    written, never held in memory whole (it is as large as the table)."""

    closed = False

    def __init__(self):
        self.sha256 = hashlib.sha256()

    def write(self, data) -> int:
        self.sha256.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def content_sha256(table: pa.Table) -> str:
    """The SHA-256 of the table's IPC stream: equal tables hash equal. Dictionary-encoded text is
    hashed as encoded (its indices and dictionaries: the same staged files read the same way give the
    same ones), not decoded first: 4x faster on a plot-level source's millions of rows."""
    sink = _HashingSink()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            writer.write_batch(batch)
    return sink.sha256.hexdigest()


def code_version() -> dict:
    info = {"package": package_version("ercan"), "python": platform.python_version()}
    try:
        info["git_commit"] = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def versions(storage: Storage, product: str) -> list[dict]:
    """Manifests of the complete versions of a product, newest first."""
    found = []
    for version in storage.listdir("products", product):
        manifest = storage.read_json("products", product, version, "manifest.json")
        if manifest is not None:
            found.append(manifest)
    return sorted(found, key=lambda m: m["version"], reverse=True)


# From this many rows a product is written as two parts at once, one per core: Parquet's encoding and
# compression, Arrow's casts and filters release the GIL.
PARALLEL_ROWS = 1_000_000


def _write_files(storage: Storage, product: str, version: str, table: pa.Table) -> list[dict]:
    """The table as Parquet files under `<version>/data/`: one file per area_level where the product
    has one (readers filtering by level skip whole files) and per part of a large table (its first and
    second half, written at once), written batch by batch (each batch's rows to their level's file: no
    level is copied out of the table whole), each file verified by reading its footer back."""
    storage.fs.makedirs(storage.path("products", product, version, "data"), exist_ok=True)
    parts = 2 if table.num_rows >= PARALLEL_ROWS else 1
    size = -(-table.num_rows // parts)
    with ThreadPoolExecutor(parts) as pool:
        written = list(pool.map(lambda part: _write_part(storage, product, version, table.slice(part * size, size), part),
                                range(parts)))
    files = []
    for path, rows in sorted((path, rows) for part in written for path, rows in part.items()):
        data = storage.fs.cat_file(storage.path("products", product, version, path))
        if pq.read_metadata(io.BytesIO(data)).num_rows != rows:
            raise OSError(f"{product} {version}: {path} did not read back with {rows} rows")
        files.append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "rows": rows})
    return files


def _write_part(storage: Storage, product: str, version: str, table: pa.Table, part: int) -> dict[str, int]:
    """The rows as this part's file of each level; {file: rows}."""
    writers, rows = {}, {}
    with ExitStack() as open_files:
        for batch in plain_batches(table):
            for name, rows_of_level in _by_level(batch):
                path = f"data/{name}-{part}.parquet"
                if path not in writers:
                    f = open_files.enter_context(storage.fs.open(storage.path("products", product, version, path), "wb"))
                    writers[path] = open_files.enter_context(pq.ParquetWriter(f, batch.schema, compression="zstd"))
                writers[path].write_batch(rows_of_level, row_group_size=BATCH_ROWS)
                rows[path] = rows.get(path, 0) + rows_of_level.num_rows
    return rows


def _by_level(batch: pa.RecordBatch):
    """The batch's rows of each area_level (all of them, for a product without one)."""
    if "area_level" not in batch.schema.names:
        yield "all", batch
        return
    for level in sorted(pc.unique(batch["area_level"]).to_pylist()):
        yield level, batch.filter(pc.equal(batch["area_level"], level))


def read_version(storage: Storage, product: str, version: str, columns: list[str] | None = None) -> pa.Table:
    import pyarrow.dataset as ds

    manifest = storage.read_json("products", product, version, "manifest.json")
    paths = [storage.path("products", product, version, f["path"]) for f in manifest["files"]]
    return ds.dataset(paths, format="parquet", filesystem=storage.fs).to_table(columns=columns)


def remove_incomplete(storage: Storage, product: str) -> list[str]:
    """Version folders without a manifest are leftovers of a crashed publish: invisible, removed.
    Only call while holding the publish lock (nobody else can be writing one)."""
    removed = []
    for version in storage.listdir("products", product):
        if not storage.exists("products", product, version, "manifest.json"):
            storage.remove("products", product, version)
            removed.append(version)
    return removed


def publish(storage: Storage, product: str, table: pa.Table, *, provenance: dict, validation: dict,
            content: str | None = None) -> dict | None:
    """Write a new version if the content changed; return its manifest (None when unchanged). `content`:
    the table's content_sha256 if known (its product gate hashed it).

    Files first, then the changelog, then the manifest: the manifest's existence is the commit."""
    content = content or content_sha256(table)
    existing = versions(storage, product)
    if existing and existing[0]["content_sha256"] == content:
        return None
    now = datetime.now(UTC)
    version = f"v{now:%Y%m%dT%H%M%S%f}Z-{content[:8]}"
    files = _write_files(storage, product, version, table)
    crash_point("after_files")
    spec = PRODUCTS[product]
    changes = None
    if existing:
        compared = [*spec.key, spec.value]  # a changelog compares keys and values only: the rest is not read
        previous = read_version(storage, product, existing[0]["version"], columns=compared).to_pandas()
        current = table.select(compared)
        changes = {"from_version": existing[0]["version"], "to_version": version,
                   **diff(previous, current.cast(schema.plain(current.schema)).to_pandas(), spec.key, spec.value)}
        storage.write_json(changes, "products", product, version, "changes.json")
    crash_point("before_manifest")
    manifest = {
        "product": product,
        "version": version,
        "created_at": now.isoformat(),
        "description": spec.description,
        "row_count": table.num_rows,
        "schema": [{"name": f.name, "type": str(f.type)} for f in schema.plain(table.schema)],
        "files": files,
        "content_sha256": content,
        "code_version": code_version(),
        "validation": validation,
        "changes": {k: changes[k] for k in ("from_version", "added", "removed", "changed")} if changes else None,
        **provenance,
    }
    storage.write_json(manifest, "products", product, version, "manifest.json")
    return manifest
