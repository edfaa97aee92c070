"""The intake 2 catalog `<storage>/catalog.yaml`, generated from the manifests and the field registry.

`list(cat)` names each product (an alias for its latest version); `cat.entries` holds one entry
per published version, so every version stays loadable:

    cat = intake.from_yaml_file("ercan-data/catalog.yaml")
    cat["carbon_stocks"].read()                       # latest
    cat["carbon_stocks__v20261121T...Z-1a2b3c4d"].read()  # one version
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import intake
from intake.readers.datatypes import Parquet
from intake.readers.readers import PandasParquet

from ercan import schema
from ercan.publish import PRODUCTS, versions
from ercan.storage import Storage


# {product: {version: path of its report}}, written by ercan/report.py when it reports a publish.
REPORT_INDEX = ("state", "reports.json")


def report_links(storage: Storage) -> dict[str, dict[str, str]]:
    return storage.read_json(*REPORT_INDEX, default={})


def entry_name(product: str, version: str) -> str:
    return f"{product}__{version}"


def _units(columns) -> dict:
    units = {c: schema.ALL_FIELDS[c].unit for c in columns if schema.ALL_FIELDS[c].unit}
    if "unit" in columns:
        vocabulary = schema.REFERENCE_PARAMETERS if "parameter" in columns else schema.VARIABLE_UNITS
        units["value"] = "see the `unit` column: " + ", ".join(
            f"{name} in {unit}" for name, unit in vocabulary.items()
        )
    return units


def build_catalog(storage: Storage) -> str:
    """Write catalog.yaml from every complete version; returns its YAML text."""
    catalog = intake.entry.Catalog(
        metadata={
            "title": "ercan: ecosystem restoration and carbon-sink monitoring products",
            "data_dictionary": "docs/data_dictionary.md in the ercan repository",
        }
    )
    reports = report_links(storage)
    for product, spec in PRODUCTS.items():
        manifests = versions(storage, product)
        for manifest in manifests:
            data = Parquet(
                url="{CATALOG_DIR}/" + f"products/{product}/{manifest['version']}/data",
                metadata={"version": manifest["version"]},
            )
            reader = PandasParquet(
                data,
                metadata={
                    "description": spec.description,
                    "version": manifest["version"],
                    "created_at": manifest["created_at"],
                    "row_count": manifest["row_count"],
                    "units": _units(spec.columns),
                    "license": manifest.get("licenses", []),
                    "sources": manifest.get("sources", []),
                    "manifest": f"products/{product}/{manifest['version']}/manifest.json",
                    # the report of the publish that wrote this version (paths relative to the catalog)
                    **({"report": path} if (path := reports.get(product, {}).get(manifest["version"])) else {}),
                },
            )
            catalog[entry_name(product, manifest["version"])] = reader
        if manifests:
            catalog.aliases[product] = entry_name(product, manifests[0]["version"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.yaml"
        catalog.to_yaml_file(str(path))
        text = path.read_text()
    storage.write_bytes(text.encode(), "catalog.yaml")
    return text
