"""Publishing: immutable, content-addressed product versions with a manifest each.

A version is `products/<product>/<version>/`: Parquet files under `data/` and `manifest.json`. The
manifest is written last, after the files are verified: a version without one is incomplete
and invisible (not listed, not in the catalog). Content that equals the latest version's is
not published again.
"""

from __future__ import annotations

import hashlib
import io
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ercan import schema
from ercan.sources import PROJECT_ROOT
from ercan.storage import Storage


@dataclass(frozen=True)
class Product:
    name: str
    description: str
    columns: tuple[str, ...]
    sort_by: tuple[str, ...]


_OBS = schema.OBSERVATION_COLUMNS
_COVERAGE = ("members_total", "members_reporting", "coverage_share", "coverage")
PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in [
        Product(
            "observations",
            "Every harmonized row of every source, in the common schema",
            _OBS,
            ("source", "area_code", "variable", "pool", "year", "category"),
        ),
        Product(
            "carbon_stocks",
            "Forest area, carbon density and carbon stock by pool: countries as reported or derived "
            "(stock = density × area), regions and the world bottom-up with coverage",
            _OBS + _COVERAGE,
            ("area_level", "area_code", "variable", "pool", "year"),
        ),
        Product(
            "reconciliation",
            "Every reported aggregate beside the bottom-up sum of its members: difference and coverage",
            (
                "source", "snapshot", "area_code", "area_level", "year", "land_category", "category",
                "variable", "pool", "unit", "reported_value", "bottom_up_value", "difference",
                "relative_difference", "tolerance", "within_tolerance", "members_total",
                "members_reporting", "coverage",
            ),
            ("source", "area_code", "variable", "pool", "year"),
        ),
        Product(
            "quality",
            "The validation result of every expectation on every source for this version",
            (
                "subject", "suite", "expectation", "column_name", "severity", "success",
                "element_count", "unexpected_count", "unexpected_examples",
            ),
            ("subject", "suite", "expectation", "column_name"),
        ),
    ]
}


def to_table(product: str, frame: pd.DataFrame) -> pa.Table:
    """The product's rows with the registry's types, in a stable order (so equal content hashes equal)."""
    spec = PRODUCTS[product]
    frame = frame.reindex(columns=list(spec.columns))
    frame = frame.sort_values(list(spec.sort_by), na_position="first", kind="mergesort").reset_index(drop=True)
    schema_ = pa.schema([pa.field(c, schema.ALL_FIELDS[c].type) for c in spec.columns])
    return pa.Table.from_pandas(frame, schema=schema_, preserve_index=False)


def content_sha256(table: pa.Table) -> str:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()


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


def publish(storage: Storage, product: str, table: pa.Table, *, provenance: dict, validation: dict) -> dict | None:
    """Write a new version if the content changed; return its manifest (None when unchanged)."""
    content = content_sha256(table)
    existing = versions(storage, product)
    if existing and existing[0]["content_sha256"] == content:
        return None
    now = datetime.now(UTC)
    version = f"v{now:%Y%m%dT%H%M%S%f}Z-{content[:8]}"
    data = storage.write_parquet(table, "products", product, version, "data", "part-0.parquet")
    written = pq.read_metadata(io.BytesIO(storage.read_bytes("products", product, version, "data", "part-0.parquet")))
    if written.num_rows != table.num_rows:
        raise OSError(f"{product} {version}: wrote {table.num_rows} rows but read back {written.num_rows}")
    manifest = {
        "product": product,
        "version": version,
        "created_at": now.isoformat(),
        "description": PRODUCTS[product].description,
        "row_count": table.num_rows,
        "schema": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "files": [{"path": "data/part-0.parquet", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}],
        "content_sha256": content,
        "code_version": code_version(),
        "validation": validation,
        **provenance,
    }
    storage.write_json(manifest, "products", product, version, "manifest.json")
    return manifest
