"""Product gates: every product is validated with Great Expectations before it is published.

Suites, in `expectations/products/`: `<product>.schema.json`, generated from the field registry and
the product's columns and key in ercan/publish.py (`ercan generate`), and `<product>.json` where
there is one: what is particular to the product (signs, plausible ranges, parent codes, coverage).
A product without its own file still gets the generated checks; adding checks is adding the file.

A failed `critical` expectation withholds the product: it is not published this run, so its
previous version stays what the catalog serves; the other products publish, and the run exits 1.
Every product's results become rows of `quality` (subject = the product). A result is stored under
`staging/products/<product>/` by a key of the product's content, its suites and their parameters
and reused while they are unchanged, so a night without new data does not even import GX. Each
product's last gate is kept in `state/product_gates/<product>.json` (what the run's summary reports).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ercan.accounting.hierarchy import Hierarchy
from ercan.area_names import product_area_codes
from ercan.publish import PRODUCTS, content_sha256, to_table
from ercan.schema import plain
from ercan.storage import Storage
from ercan import state
from ercan.sources import registry
from ercan.validation import (PRODUCT_SUITES, SCHEMA_SUITE, Report, load_suite, placed, product_schema_path,
                              suite_sha256, validate)


@dataclass
class ProductGate:
    product: str
    status: str  # passed | withheld
    reason: str | None = None
    key: str | None = None  # where its results are stored (staging/products/<product>/<key>.*)
    cached: bool = False
    content_sha256: str | None = None  # of the table it let through (publish.content_sha256: hashed once)

    @property
    def withheld(self) -> bool:
        return self.status == "withheld"


def suite_parameters(frames: dict[str, pd.DataFrame | pa.Table]) -> dict:
    """Values of the `{"$PARAMETER": ...}` arguments in the product suites, from this run's data."""
    # The suites check every `parent_code` against the known codes, so only the known codes that are
    # some product's parent code can matter: GX copies a value set for each expectation it resolves,
    # and every site of a plot-level source is known (minutes per million sites), few are parents.
    # The hierarchy is built from the rows that can make a parent known: its own rows, and the
    # countries (the UN M49 regions above them); the same known parents as from every row.
    parents = set().union(*(distinct(f, "parent_code") for f in frames.values()))
    observations = frames["observations"]  # an Arrow table (pipeline.account): filtered before pandas
    relevant = observations.filter(pc.or_(pc.is_in(observations["area_code"], pa.array(sorted(parents), pa.string())),
                                          pc.equal(observations["area_level"], "national")))
    relevant = relevant.cast(plain(relevant.schema)).to_pandas()
    return {
        # Every area the accounting's hierarchy knows: the observations' areas, the UN M49 regions
        # above their countries, and WORLD, its root (those that are parent codes).
        "known_area_codes": sorted(parents & Hierarchy(relevant).level.keys()),
        "area_codes": product_area_codes(frames),  # what the `areas` product must hold
        "current_year": datetime.now(UTC).year,
    }


def distinct(frame: pd.DataFrame | pa.Table, column: str) -> set:
    """The column's distinct values (no nulls) in a DataFrame or an Arrow table; none if it has no such column."""
    if isinstance(frame, pa.Table):
        return set(pc.unique(frame[column]).drop_null().to_pylist()) if column in frame.column_names else set()
    return set(frame[column].dropna().unique()) if column in frame else set()


def gate_products(storage: Storage, frames: dict[str, pd.DataFrame | pa.Table]
                  ) -> tuple[dict[str, pd.DataFrame | pa.Table], dict[str, ProductGate], dict[str, pa.Table]]:
    """Validate every product. Returns the frames to publish (withheld products left out, `quality`
    with every product's results), each product's gate, and the frames to publish as their
    products' tables (`to_table`: sorting a large product is done once, not again to publish it).

    `quality` is checked last, once the other products' results are in it; its own results are added
    after its check."""
    parameters = suite_parameters(frames)
    gates, results, tables = {}, [], {}
    for product in PRODUCTS:
        frame = frames.get(product)
        if product == "quality" or frame is None or not len(frame):
            continue
        tables[product] = to_table(product, frame)
        gates[product], rows = _gate(storage, product, tables[product], parameters)
        results.append(rows)
    if "quality" in frames:
        checked = pd.concat([frames["quality"], *results], ignore_index=True)
        gates["quality"], rows = _gate(storage, "quality", to_table("quality", checked), parameters)
        frames = {**frames, "quality": pd.concat([checked, rows], ignore_index=True)}
        tables["quality"] = to_table("quality", frames["quality"])  # with its own results: hashed again
        gates["quality"].content_sha256 = content_sha256(tables["quality"])
    for product, gate in gates.items():
        storage.write_json(vars(gate), "state", "product_gates", f"{product}.json")
    passed = {p: f for p, f in frames.items() if p not in gates or not gates[p].withheld}
    return passed, gates, {p: t for p, t in tables.items() if p in passed}


def _proven(storage: Storage, product: str, schema_suite: dict) -> list[str]:
    """The sources whose accepted rows passed this product schema suite's very expectations in their own
    gate, so the product gate need not check those rows again. Only the observations: they are the
    sources' accepted rows as they were gated, and their product schema suite and the sources' schema.json
    are generated from the same registry columns and key (compared here, expectation by expectation).
    Rows accepted under another schema.json (a source quarantined since it changed) are checked again."""
    if product != "observations" or _checks(load_suite(SCHEMA_SUITE)) != _checks(schema_suite):
        return []
    current = suite_sha256(SCHEMA_SUITE)
    accepted = {sid: state.load(storage, sid).get("accepted") or {} for sid in registry()}
    return sorted(sid for sid, rows in accepted.items() if rows.get("schema_suite") == current)


def _checks(suite: dict) -> list:
    return [(e["type"], e["kwargs"], e.get("severity")) for e in suite["expectations"]]


def last_gates(storage: Storage) -> dict[str, ProductGate]:
    """Each product's last gate (a run that publishes nothing new keeps the previous ones)."""
    states = (storage.read_json("state", "product_gates", f"{product}.json") for product in PRODUCTS)
    return {state["product"]: ProductGate(**state) for state in states if state}


def withheld(storage: Storage) -> dict[str, str]:
    """The products whose last gate withheld them, with the reason."""
    return {product: gate.reason for product, gate in last_gates(storage).items() if gate.withheld}


def _gate(storage: Storage, product: str, table: pa.Table, parameters: dict) -> tuple[ProductGate, pd.DataFrame]:
    paths = [product_schema_path(product), PRODUCT_SUITES / f"{product}.json"]
    if not paths[0].exists():
        reason = (f"product {product!r} has no schema suite: {paths[0].relative_to(PRODUCT_SUITES.parent.parent)} "
                  "is missing; run `ercan generate`")
        row = {"subject": product, "suite": f"{product}.schema", "expectation": "suite_file_exists",
               "column_name": None, "severity": "critical", "success": False, "element_count": 0,
               "unexpected_count": 1, "unexpected_examples": json.dumps([reason], ensure_ascii=False),
               "reason": f"critical: {reason}"}
        return ProductGate(product, "withheld", reason), pd.DataFrame([row])
    suites = [load_suite(p) for p in paths if p.exists()]
    proven = _proven(storage, product, suites[0])
    content = content_sha256(table)
    key = hashlib.sha256(json.dumps({
        "content": content,
        "suites": [suite_sha256(p) for p in paths if p.exists()],
        "parameters": parameters,
        "proven": proven,
    }, sort_keys=True).encode()).hexdigest()
    folder = ("staging", "products", product)
    verdict = storage.read_json(*folder, f"{key}.gate.json")
    cached = verdict is not None
    if not cached:
        unproven = table
        if proven:  # (no filter of every row when every source is proven)
            unproven = (table.filter(pc.invert(pc.is_in(table["source"], pa.array(proven, pa.string()))))
                        if distinct(table, "source") - set(proven) else table.slice(0, 0))
        # each validation's failed rows named by what they are (area, year, variable) in the rows it checked
        report = (validate(unproven, suites[:1], f"{product}.schema", parameters).located_by(placed(unproven))
                  if unproven.num_rows else Report([]))
        report = report + validate(table, suites[1:], product, parameters).located_by(placed(table))
        report.write(storage, product, *folder, key=key)
        verdict = {"status": "passed", "reason": None}
        if not report.passed:
            verdict = {"status": "withheld", "reason": (
                f"product {product!r} failed its quality gate and was not published (its previous version "
                f"stays served): {report.reason()}")}
        storage.write_json(verdict, *folder, f"{key}.gate.json")  # last: the result is complete
    rows = storage.read_parquet(*folder, f"{key}.quality.parquet").to_pandas()
    return ProductGate(product, verdict["status"], verdict["reason"], key, cached, content), rows
