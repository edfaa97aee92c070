"""The GX gates, evaluated for real on the shipped data and on corrupted copies of it."""

import pandas as pd
import pytest

from conftest import harmonize_sample
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
    assert [o.position for o in report.outcomes if not o.success] == [7]  # 广西's 142965 %, a warning


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
