"""The benchmark's SYNTHETIC source (benchmarks/harmonizers/bench_inventory.py) streams its CSVs in
blocks: the rows do not depend on the block size, and an error in a later block names the file's
true line. The inputs are the benchmark generator's own (benchmarks/generate.py, made up from the
shipped china_nfi9 figures), a few thousand rows written to tmp_path; tiny blocks make many of them."""

from __future__ import annotations

import hashlib
import importlib.util
import json

import pyarrow as pa
import pytest

from ercan.errors import SourceError
from ercan.sources import PROJECT_ROOT, RawFile

SMALL_BLOCK = 4096  # bytes: ~66 lines of plots.csv, ~51 of stands.csv


def _module(name: str, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_inventory = _module("bench_inventory_under_test", PROJECT_ROOT / "benchmarks" / "harmonizers" / "bench_inventory.py")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    generate = _module("bench_generate_under_test", PROJECT_ROOT / "benchmarks" / "generate.py")
    return generate.generate(3000, 0, tmp_path_factory.mktemp("bench-inputs"))


def raw_files(folder, **replace) -> dict[str, RawFile]:
    paths = {role: replace.get(role, folder / f"{role}.csv") for role in ("plots", "stands")}
    return {role: RawFile(role, path.name, hashlib.sha256(path.read_bytes()).hexdigest(), lambda p=path: open(p, "rb"))
            for role, path in paths.items()}


def test_the_rows_do_not_depend_on_the_block_size(inputs):
    whole = list(bench_inventory.harmonize(raw_files(inputs)))
    blocks = list(bench_inventory.harmonize(raw_files(inputs), block_size=SMALL_BLOCK))
    assert len(whole) == 2 and len(blocks) > 20  # one table per file, or per block of it
    keys = [("area_code", "ascending"), ("year", "ascending"), ("variable", "ascending")]
    assert pa.concat_tables(blocks).sort_by(keys).equals(pa.concat_tables(whole).sort_by(keys))
    expected = json.loads((inputs / "inputs.json").read_text(encoding="utf-8"))["expected_observations"]
    assert sum(t.num_rows for t in blocks) == expected


VARIABLE = {"plots": "area", "stands": "growing_stock"}


@pytest.mark.parametrize(("role", "line", "old", "new", "column", "what"), [
    ("plots", 1200, '"广东",', '"北平",', "省份", "unknown province name '北平'"),
    ("stands", 400, '"CN-GD",', '"CN-XX",', "ISO 3166-2", "unknown ISO 3166-2 code 'CN-XX'"),
    ("plots", 900, None, "", "指标", "unknown series ''"),  # a blank line is a row: the lines after it stay counted
])
def test_an_error_in_a_later_block_names_its_line_in_the_file(inputs, tmp_path, role, line, old, new, column, what):
    lines = (inputs / f"{role}.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    if old is None:
        lines[line - 1] = "\n"
    else:
        assert lines[line - 1].startswith(old), lines[line - 1]
        lines[line - 1] = new + lines[line - 1][len(old):]
    edited = tmp_path / f"{role}.csv"
    edited.write_text("".join(lines), encoding="utf-8")

    harmonized = bench_inventory.harmonize(raw_files(inputs, **{role: edited}), block_size=SMALL_BLOCK)
    tables = []
    with pytest.raises(SourceError) as raised:
        for table in harmonized:
            tables.append(table)
    assert [t for t in tables if t["variable"][0].as_py() == VARIABLE[role]]  # the file's first block went through
    assert raised.value.row == line and raised.value.column == column and raised.value.file == f"{role}.csv"
    assert what in str(raised.value)
