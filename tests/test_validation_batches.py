"""Validation in batches (ercan/validation.py): GX sees at most VALIDATION_BATCH_ROWS rows at once, and the
verdicts, counts, examples, row numbers and the GX results kept for the Data Docs are those of one frame.

The batch size is made small here (monkeypatched) so that the shipped sample rows span several batches."""

import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import harmonize_sample
from ercan import validation
from ercan.sources import registry
from ercan.validation import SCHEMA_SUITE, load_suite, validate


def source_suites(source_id):
    return [load_suite(SCHEMA_SUITE), load_suite(registry()[source_id].suite_path)]


def whole_and_batched(monkeypatch, rows: pd.DataFrame, suites, batch_rows: int):
    """The reports of the rows validated as one batch and in batches of `batch_rows`; the batches with their
    text dictionary-encoded, as the gates read staged rows (Storage.read_parquet(strings_as_dictionary=True))."""
    table = pa.Table.from_pandas(rows, preserve_index=False)
    assert table.num_rows <= validation.VALIDATION_BATCH_ROWS
    whole = validate(table, suites, "whole")
    monkeypatch.setattr(validation, "VALIDATION_BATCH_ROWS", batch_rows)
    encoded = pa.schema([f.with_type(pa.dictionary(pa.int32(), f.type)) if _text(f.type) else f
                         for f in table.schema])
    return whole, validate(table.cast(encoded), suites, "batched")


def _text(kind) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def gx_results(report):
    """Each expectation's GX result as stored for the Data Docs (success, counts, percents, examples),
    and each GX run's statistics."""
    results = sorted(((r["expectation_config"]["meta"]["suite"], r["expectation_config"]["meta"]["position"]),
                      r["success"], r["result"]) for entry in report.gx_results for r in entry["result"]["results"])
    statistics = [(entry["result"]["success"], entry["result"]["statistics"]) for entry in report.gx_results]
    return results, statistics


def assert_same(whole, batched):
    # As JSON: an example may hold NaN (a key with an empty column), which equals nothing.
    def text(x):
        return json.dumps(x, sort_keys=True, default=str)

    assert text([o.__dict__ for o in batched.outcomes]) == text([o.__dict__ for o in whole.outcomes])
    assert text(gx_results(batched)) == text(gx_results(whole))


def test_programme_figures_in_three_batches_give_the_same_report_as_one_frame(monkeypatch):
    """13 rows in batches of 5, with the real failure of the source: CIKD 2024's 60.5 亿公顷 (6.05e9 ha)
    of forest land, grassland and wetland in China, more than China's land area (a warning whose row
    condition, China's areas, selects rows of the first two batches)."""
    rows = harmonize_sample("programme_figures")
    whole, batched = whole_and_batched(monkeypatch, rows, source_suites("programme_figures"), 5)
    assert_same(whole, batched)
    [warning] = [o for o in batched.outcomes if not o.success]
    assert (warning.severity, warning.column, warning.unexpected_examples) == ("warning", "value", [6.05e9])
    assert warning.unexpected_rows == [rows.index[rows.value == 6.05e9][0] + 1]
    assert batched.passed


def test_failures_in_two_batches_are_summed_and_numbered_in_the_whole_table(monkeypatch):
    """A corrupted copy of fra2020's rows (built here): negative values in the first and second of three
    batches, and row 1's key repeated at the end, in the third."""
    rows = harmonize_sample("fra2020")
    rows = pd.concat([rows, rows.iloc[[0]]], ignore_index=True)
    rows.loc[[5, 15000], "value"] = [-3.0, -4.0]
    whole, batched = whole_and_batched(monkeypatch, rows, source_suites("fra2020"), 8000)
    assert_same(whole, batched)
    between = [o for o in batched.critical_failures if o.expectation == "expect_column_values_to_be_between"]
    # The source's range fails, and so do the schema's bounds of the two variables (row 6 is an area, row
    # 15001 a growing stock: neither is ever negative), each in its own batch.
    [negative] = [o for o in between if o.suite == source_suites("fra2020")[1]["name"]]
    bounds = sorted((o.kwargs["row_condition"]["parameter"], o.unexpected_examples, o.unexpected_rows)
                    for o in between if o.suite == "schema")
    assert bounds == [("area", [-3.0], [6]), ("growing_stock", [-4.0], [15001])]
    assert (negative.success, negative.element_count, negative.unexpected_count) == (False, len(rows), 2)
    assert (negative.unexpected_examples, negative.unexpected_rows) == ([-3.0, -4.0], [6, 15001])
    [result] = [r["result"] for entry in batched.gx_results for r in entry["result"]["results"]
                if r["expectation_config"]["meta"]["position"] == negative.position
                and r["expectation_config"]["meta"]["suite"] == negative.suite]
    assert (result["element_count"], result["unexpected_count"]) == (len(rows), 2)
    assert result["unexpected_percent"] == pytest.approx(2 / len(rows) * 100)
    assert result["partial_unexpected_index_list"] == [5, 15000]
    # The duplicate key: its two rows are 8000s of rows apart, in the first and the last batch.
    [duplicate] = [o for o in batched.critical_failures if o.expectation == "expect_compound_columns_to_be_unique"]
    assert (duplicate.unexpected_count, duplicate.unexpected_rows) == (2, [1, len(rows)])
    assert not batched.passed


def test_checks_judged_on_distinct_values_count_and_number_the_rows_as_gx_on_all_rows(monkeypatch):
    """A large table's value checks are judged on each column's distinct values (ercan/reductions.py); a
    corrupted copy of fra2020's rows (built here) fails them in several batches: an unknown unit in three
    rows, a missing flag, a year out of range and a missing one (an integer column with a null, which
    pandas holds as floats). Counts, examples, row numbers and the GX results are those of GX on all rows."""
    rows = harmonize_sample("fra2020")
    rows["year"] = rows["year"].astype("Int64")
    rows.loc[[3, 9000, 20000], "unit"] = "acres"
    rows.loc[[12000], "flag"] = None
    rows.loc[[7], "year"] = 1700
    rows.loc[[16500], "year"] = None
    whole, batched = whole_and_batched(monkeypatch, rows, source_suites("fra2020"), 8000)
    assert_same(whole, batched)
    failed = {(o.expectation, o.column): o for o in batched.critical_failures}
    unit = failed["expect_column_values_to_be_in_set", "unit"]
    assert (unit.unexpected_count, unit.unexpected_examples, unit.unexpected_rows) == (3, ["acres"] * 3, [4, 9001, 20001])
    flag = failed["expect_column_values_to_not_be_null", "flag"]
    assert (flag.unexpected_count, flag.unexpected_rows) == (1, [12001])
    year = failed["expect_column_values_to_be_between", "year"]
    assert (year.unexpected_count, year.unexpected_examples, year.element_count) == (1, [1700.0], len(rows))
    assert failed["expect_column_values_to_not_be_null", "year"].unexpected_rows == [16501]


def test_duplicate_keys_far_apart_are_found_and_listed_by_row(monkeypatch):
    """Key uniqueness on a large table is judged on the rows whose key repeats: a copy of fra2020's rows
    (built here) repeats, at its end, the key of an early row of a late year and of a later row of an early
    year, batches apart; GX's counts, examples and row numbers are those on all rows at once."""
    rows = harmonize_sample("fra2020")
    years = sorted(rows["year"].unique())
    late = rows.index[rows["year"] == years[-1]][0]
    early = rows.index[(rows["year"] == years[0]) & (rows.index > late)][0]
    rows = pd.concat([rows, rows.loc[[late, early]]], ignore_index=True)
    whole, batched = whole_and_batched(monkeypatch, rows, source_suites("fra2020"), 8000)
    assert_same(whole, batched)
    [duplicate] = [o for o in batched.critical_failures if o.expectation == "expect_compound_columns_to_be_unique"]
    assert duplicate.unexpected_rows == [late + 1, early + 1, len(rows) - 1, len(rows)]


@pytest.mark.parametrize("ignore_row_if", ["never", "all_values_are_missing", "any_value_is_missing", None])
def test_uniqueness_with_missing_values_counts_as_gx_on_all_rows(monkeypatch, ignore_row_if):
    """A suite built here over fra2020's real rows, each with an empty `pool` or `category`, plus copies of
    two rows batches apart and two rows of no key at all: compound uniqueness with each way of ignoring
    rows with missing values (None: GX's default), and a column's uniqueness failing on values that repeat
    batches apart (checked per batch, it would pass). Counts, missing counts, examples and `mostly` as GX
    has them on all rows."""
    rows = harmonize_sample("fra2020")
    key = ["area_code", "year", "land_category", "category", "variable", "pool"]
    assert not rows.duplicated(subset=key).any() and rows[key].isna().any(axis=1).all()
    copies = rows.loc[[rows.index[rows["pool"].notna()][0], rows.index[rows["pool"].isna()][-1]]]
    rows = pd.concat([rows, copies, rows.loc[[0, 1]].assign(**{c: None for c in key})], ignore_index=True)
    rows["serial"] = range(len(rows))
    rows.loc[[3, len(rows) - 2], "serial"] = -1  # one value in the first batch and the last
    compound = {"column_list": key, **({"ignore_row_if": ignore_row_if} if ignore_row_if else {})}
    suite = {"name": "keys", "expectations": [
        {"type": "expect_compound_columns_to_be_unique", "kwargs": compound, "severity": "critical"},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {**compound, "mostly": 0.99}, "severity": "warning"},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "serial"}, "severity": "critical"},
    ]}
    whole, batched = whole_and_batched(monkeypatch, rows, [suite], 8000)
    assert_same(whole, batched)
    unique, mostly, serial = batched.outcomes
    assert serial.unexpected_rows == [4, len(rows) - 1]
    unexpected, missing = {"never": (6, 0), "any_value_is_missing": (0, len(rows))}.get(ignore_row_if, (4, 2))
    assert (unique.success, unique.unexpected_count, mostly.success) == (not unexpected, unexpected, True)
    assert [r["result"]["missing_count"] for e in batched.gx_results for r in e["result"]["results"]
            if r["expectation_config"]["type"] == "expect_compound_columns_to_be_unique"] == [missing, missing]


def test_repeated_rows_are_those_pandas_finds_duplicated():
    """`reductions.repeated` against pandas' duplicated(keep=False) on columns built here of every kind it
    numbers: text in chunks of their own dictionaries, plain text, narrow and wide integers (renumbered
    before they overflow), floats with NaN, null and -0.0, booleans."""
    from ercan.reductions import repeated

    n = 4000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "code": rng.choice(["a", "b", "c", None], n),
        "text": rng.choice(["x", "y"], n),
        "narrow": pd.Series(rng.integers(0, 3, n), dtype="Int64").where(rng.random(n) > 0.1),
        "wide": rng.choice([-(2**62), 0, 2**62], n),  # by hash
        **{f"spread{i}": rng.choice([0, 2**31], n) for i in range(3)},  # by offset, 2**31 + 2 numbers each
        "real": rng.choice([0.0, -0.0, np.nan, 1.5], n),
        "flag": rng.choice([True, False], n),
    })
    table = pa.Table.from_pandas(frame, preserve_index=False)
    halves = [table.slice(0, n // 2), table.slice(n // 2)]
    code = pa.chunked_array([pa.array(h["code"].to_pylist()).dictionary_encode() for h in halves])
    table = table.set_column(0, "code", code)
    assert not code.chunk(0).dictionary.equals(code.chunk(1).dictionary)
    real = pa.array([None if i % 7 == 0 else v for i, v in enumerate(frame["real"])], pa.float64())  # NaN and null
    table = table.set_column(table.schema.get_field_index("real"), "real", pa.chunked_array([real]))
    expected_frame = table.to_pandas()
    for columns in (["code"], ["code", "text", "narrow"], ["wide", "narrow", "code"], ["real", "flag"],
                    ["spread0", "spread1", "spread2", "code"], list(frame.columns)):
        expected = np.flatnonzero(expected_frame.duplicated(subset=columns, keep=False).to_numpy())
        assert repeated(table, columns).to_numpy().tolist() == expected.tolist(), columns
    assert len(repeated(table, list(frame.columns))) < n  # some rows are unique: the check can fail


def test_mostly_is_judged_on_the_totals_of_the_non_missing_values(monkeypatch):
    """Suites built here over fra2020's real rows: `pool` is empty on most rows and GX counts `mostly`
    over the values present; the rows of the most common pool are spread unevenly over the batches, so
    that a verdict per batch would differ from the verdict on the totals."""
    rows = harmonize_sample("fra2020")
    pool = rows["pool"]
    common = pool.value_counts().index[0]
    share = float((pool == common).sum() / pool.notna().sum())  # of the rows with a pool
    assert pool.isna().any() and share < 1

    def suite(mostly):
        return [{"name": "pools", "expectations": [
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "pool", "value_set": [common],
                                                                      "mostly": mostly}, "severity": "critical"}]}]

    # Judged per batch of 8000 it would fail: the first batch has no pool at all (vacuously true), the
    # second only the common one, the third less of it than the share.
    per_batch = [batch.notna().sum() == 0 or (batch == common).sum() / batch.notna().sum() >= share
                 for batch in (pool[:8000], pool[8000:16000], pool[16000:])]
    assert per_batch == [True, True, False]
    for mostly, success in ((share, True), (math.nextafter(share, 1), False)):
        whole, batched = whole_and_batched(monkeypatch, rows, suite(mostly), 8000)
        assert_same(whole, batched)
        [result] = batched.outcomes
        assert (result.success, result.element_count) == (success, len(rows))
        monkeypatch.undo()


def test_batched_results_render_as_data_docs_with_the_totals(monkeypatch, tmp_path):
    """The Data Docs of a failure in two batches count its rows over the whole table (a suite built here)."""
    from ercan.gate_reports import build_data_docs
    from ercan.storage import Storage

    rows = harmonize_sample("fra2020")
    rows.loc[[5, 15000], "value"] = [-3.0, -4.0]
    suite = {"name": "values", "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "min_value": 0},
         "severity": "critical"}]}
    _, batched = whole_and_batched(monkeypatch, rows, [suite], 8000)
    build_data_docs(Storage(str(tmp_path)), "run", {"fra2020": batched.gx_results})
    [page] = (tmp_path / "reports" / "data_docs" / "run" / "validations").rglob("*.html")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))
    assert f"2 unexpected values found. ≈0.009404% of {len(rows)} total rows." in text
    assert "pandas_data_fingerprint" not in text  # a batch's fingerprint is not the rows'


def test_no_rows_are_validated_once(monkeypatch):
    """An empty table (china's columns, no rows): every expectation has its outcome; the per-row ones are
    vacuously true, as GX has them on an empty frame."""
    table = pa.Table.from_pandas(harmonize_sample("china_nfi9"), preserve_index=False).slice(0, 0)
    monkeypatch.setattr(validation, "VALIDATION_BATCH_ROWS", 30)
    report = validate(table, source_suites("china_nfi9"), "empty")
    assert len(report.outcomes) == sum(len(s["expectations"]) for s in source_suites("china_nfi9"))
    assert all(o.success for o in report.outcomes if o.expectation.startswith("expect_column_values_"))
