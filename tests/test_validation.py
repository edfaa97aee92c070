"""The GX gates, evaluated for real on the shipped data and on corrupted copies of it."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import harmonize_sample
from ercan.errors import ConfigError
from ercan.sources import registry
from ercan.validation import SCHEMA_SUITE, load_suite, validate


def suites(source_id):
    """The suites the pipeline's gate applies: the generated schema suite is the observations' only."""
    harmonizer = registry()[source_id]
    schema = [load_suite(SCHEMA_SUITE)] if harmonizer.source.product == "observations" else []
    return [*schema, load_suite(harmonizer.suite_path)]


@pytest.mark.parametrize("source_id", sorted(registry()))
def test_every_source_has_a_suite_and_its_real_data_passes(source_id):
    report = validate(harmonize_sample(source_id), suites(source_id), source_id)
    assert report.passed, report.reason()
    assert len(report.outcomes) > 20


def test_corrupted_copy_fails_naming_expectation_column_and_examples():
    rows = harmonize_sample("fra2020")
    corrupted = pd.concat([rows, rows.iloc[[0]]], ignore_index=True)  # a duplicated key
    corrupted.loc[5, "value"] = -3.0  # a negative area
    report = validate(corrupted, suites("fra2020"), "fra2020")
    assert not report.passed
    failed = {(o.expectation, o.column) for o in report.critical_failures}
    assert ("expect_column_values_to_be_between", "value") in failed
    assert any(e == "expect_compound_columns_to_be_unique" for e, _ in failed)
    assert "-3.0" in report.reason() and "rows [6]" in report.reason()


def test_warning_is_reported_but_does_not_fail_the_gate():
    """Guinea-Bissau 1994 reports -1.12884e+07 Gg CO2e (-11.3 Gt): implausible, kept, flagged."""
    report = validate(harmonize_sample("unfccc_non_annex_i"), suites("unfccc_non_annex_i"), "unfccc_non_annex_i")
    warnings = [o for o in report.outcomes if not o.success and o.severity == "warning"]
    assert report.passed
    assert [o.column for o in warnings] == ["value"]
    assert -11_288_400_000.0 in warnings[0].unexpected_examples


def test_wrong_unit_for_a_variable_is_counted_per_row_with_its_rows():
    """GX sees each distinct (variable, unit) pair once; counts and row numbers are the rows'."""
    rows = harmonize_sample("fra2020")
    corrupted = rows.copy()
    area_rows = corrupted.index[corrupted["variable"] == "area"][[3, 7]]
    corrupted.loc[area_rows, "unit"] = "t C"  # a canonical unit, but not the one of `area`
    report = validate(corrupted, suites("fra2020"), "fra2020")
    [pair] = [o for o in report.critical_failures if o.expectation == "expect_column_pair_values_to_be_in_set"]
    assert pair.column == "variable,unit"
    assert (pair.element_count, pair.unexpected_count) == (len(rows), 2)
    assert pair.unexpected_rows == [area_rows[0] + 1]  # the first row of the one unexpected pair
    assert pair.unexpected_examples == [["area", "t C"]]


def test_each_expectation_is_one_row_of_quality_at_its_position():
    """China's suite has two `value` range checks whose arguments overlap: each keeps its own position."""
    report = validate(harmonize_sample("china_nfi9"), suites("china_nfi9"), "china_nfi9")
    for suite in suites("china_nfi9"):
        positions = sorted(o.position for o in report.outcomes if o.suite == suite["name"])
        assert positions == list(range(len(suite["expectations"])))
    assert report.passed and all(o.success for o in report.outcomes)  # 广西's 142965 % is dropped when read


def test_data_docs_show_values_from_the_data_as_text(tmp_path):
    """GX writes unexpected values into its pages unescaped; ercan escapes them (a small frame built here,
    a cell as a hostile file could carry it)."""
    from ercan.gate_reports import build_data_docs
    from ercan.storage import Storage

    rows = pd.DataFrame({"area_code": ["<script>alert(1)</script>", "CHN"]})
    suite = {"name": "codes", "expectations": [
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "area_code", "regex": "^[A-Z]{3}$"},
         "severity": "critical"},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "area_code", "value_set": ["CHN", "A<B"]},
         "severity": "warning"},
    ]}
    build_data_docs(Storage(str(tmp_path)), "run", {"codes": validate(rows, [suite], "codes").gx_results})
    [page] = (tmp_path / "reports" / "data_docs" / "run" / "validations").rglob("*.html")
    html = page.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A&lt;B" in html  # GX's own escaping of an expectation's arguments, not doubled


def test_a_misspelt_expectation_type_fails_at_load_with_the_closest_name(tmp_path):
    # GX alone logs an unknown type and drops the expectation: the gate would silently lose a check.
    suite = json.loads(SCHEMA_SUITE.read_text(encoding="utf-8"))
    suite["expectations"][2]["type"] = "expect_column_values_to_not_be_nul"
    typo = tmp_path / "schema.json"
    typo.write_text(json.dumps(suite), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"suite schema.json, expectation 2: GX has no expectation "
                                          r"'expect_column_values_to_not_be_nul'; did you mean "
                                          r"'expect_column_values_to_not_be_null'\?"):
        load_suite(typo)


def test_a_misspelt_source_suite_quarantines_only_that_source(tmp_path):
    import shutil
    from dataclasses import replace

    from ercan import pipeline
    from ercan.storage import Storage

    folder = tmp_path / "expectations"
    folder.mkdir()
    suite = json.loads(registry()["fra2015"].suite_path.read_text(encoding="utf-8"))
    suite["expectations"][0]["type"] += "s"
    (folder / "fra2015.json").write_text(json.dumps(suite), encoding="utf-8")
    shutil.copy(registry()["crf_austria"].suite_path, folder / "crf_austria.json")
    store = Storage(str(tmp_path / "store"))
    outcomes = {}
    for source_id in ("fra2015", "crf_austria"):
        harmonizer = replace(registry()[source_id], suite_folder=folder)
        pipeline.ingest_landing(store, harmonizer)
        outcomes[source_id] = pipeline.gate(store, harmonizer)
    assert outcomes["fra2015"].status == "quarantined"
    assert "suite fra2015.json, expectation 0: GX has no expectation" in outcomes["fra2015"].reason
    assert outcomes["crf_austria"].status == "accepted"


def test_suites_load_while_another_thread_imports_gx():
    """The flow gates sources in threads: one thread may be importing GX when another loads a suite.
    In a fresh process (GX not imported yet), one thread imports GX while four load the schema suite."""
    script = """
import threading
from ercan.validation import SCHEMA_SUITE, load_suite
failures = []
def load():
    try:
        load_suite(SCHEMA_SUITE)
    except Exception as e:
        failures.append(repr(e))
threads = [threading.Thread(target=lambda: __import__("great_expectations"))] + [threading.Thread(target=load) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(failures)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "[]", "")
