"""How much of a run validation costs at scale: the GX gates against publishing the same rows.

    .venv/bin/python benchmarks/validation.py [--rows 1000000]

The rows are the shipped sample data's real observations (every source through its harmonizer),
repeated until there are --rows of them; each copy's `source` gets a suffix (`fra2020#3`) so that
observation keys stay unique and every check passes, as on a good night. Timed, each once, after
GX is imported and warm, in CPU seconds (wall seconds printed too):
  - source gate: the generated schema suite, which every source's rows go through;
  - product gate: the `observations` product's generated and own suites (ercan/product_gates.py);
  - publish: to_table + the Parquet files, read back and verified, and the manifest (ercan/publish.py),
    the work every changed product costs anyway, as the yardstick.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from contextlib import contextmanager

import pandas as pd
import pyarrow as pa

from ercan import schema
from ercan.product_gates import gate_products
from ercan.publish import publish, to_table
from ercan.sources import SAMPLE_DATA, RawFile, registry
from ercan.storage import Storage
from ercan.validation import SCHEMA_SUITE, load_suite, validate


def sample_observations() -> pd.DataFrame:
    frames = []
    for harmonizer in (h for h in registry().values() if h.source.product == "observations"):
        files = {}
        for role, relative in harmonizer.source.inputs.items():
            path = SAMPLE_DATA / relative
            files[role] = RawFile(role, path.name, "benchmark", lambda path=path: open(path, "rb"))
        frames.append(harmonizer.harmonize(files).to_pandas())
    return schema.conform(pd.concat(frames, ignore_index=True))


def scaled(rows: int) -> pd.DataFrame:
    sample = sample_observations()
    copies = math.ceil(rows / len(sample))
    frame = pd.concat([sample.assign(source=sample["source"] + f"#{i}") for i in range(copies)], ignore_index=True)
    return schema.conform(frame.iloc[:rows])


def encoded(frame: pd.DataFrame) -> pa.Table:
    """The rows as the gates get them: Arrow, text dictionary-encoded (as staged rows are read back)."""
    table = schema.conform_table(frame)
    return table.cast(pa.schema([f.with_type(pa.dictionary(pa.int32(), f.type)) if pa.types.is_string(f.type) else f
                                 for f in table.schema]))


@contextmanager
def timed(label: str, results: dict):
    """Records CPU seconds (this process, all threads: steady on a shared machine) and prints wall seconds too."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    results[label] = time.process_time() - cpu
    print(f"{label:<52} {results[label]:7.2f} s CPU {time.perf_counter() - wall:7.2f} s wall", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    results: dict[str, float] = {}
    with timed("import GX (once per process, only when a gate runs)", results):
        import great_expectations  # noqa: F401
    observations = encoded(scaled(rows))
    print(f"{observations.num_rows:,} rows, {observations.nbytes / 2**20:,.0f} MiB in Arrow")
    validate(observations.slice(0, 100), [load_suite(SCHEMA_SUITE)], "warm-up")
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(tmp)
        with timed("source gate: schema suite", results):
            report = validate(observations, [load_suite(SCHEMA_SUITE)], "benchmark")
        assert report.passed, report.reason()
        with timed("product gate: observations (both suites)", results):
            _, gates, _ = gate_products(storage, {"observations": observations})
        assert not gates["observations"].withheld, gates["observations"].reason
        with timed("publish observations (to_table, Parquet, verify)", results):
            publish(storage, "observations", to_table("observations", observations), provenance={}, validation={})
    gates_total = results["source gate: schema suite"] + results["product gate: observations (both suites)"]
    share = gates_total / (gates_total + results["publish observations (to_table, Parquet, verify)"])
    print(f"validation: {gates_total:.2f} s CPU, {share:.0%} of validation + publishing these rows")


if __name__ == "__main__":
    main()
