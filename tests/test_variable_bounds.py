"""Every variable is bounded by the field registry (schema.VARIABLE_BOUNDS), in the schema suite that
every source's gate runs: a value no land can have is a critical failure, whatever the source's own
suite says. The damaged values below are set by the tests on the real harmonized rows (said where)."""

from __future__ import annotations

import pytest
from conftest import harmonize_sample

from ercan import schema
from ercan.validation import SCHEMA_SUITE, load_suite, validate


def bounds_in_suite(suite: dict) -> dict[str, dict]:
    return {e["kwargs"]["row_condition"]["parameter"]: e for e in suite["expectations"]
            if e["type"] == "expect_column_values_to_be_between" and e["kwargs"]["column"] == "value"}


def test_every_variable_has_a_bound_with_its_reason_in_the_schema_suite():
    assert set(schema.VARIABLE_BOUNDS) == set(schema.VARIABLE_UNITS)
    found = bounds_in_suite(load_suite(SCHEMA_SUITE))
    assert set(found) == set(schema.VARIABLE_UNITS)
    for variable, (low, high, why) in schema.VARIABLE_BOUNDS.items():
        expectation = found[variable]
        assert (expectation["kwargs"]["min_value"], expectation["kwargs"]["max_value"]) == (low, high)
        assert low < high and expectation["severity"] == "critical"
        assert why in expectation["meta"]["why"] and schema.VARIABLE_UNITS[variable] in expectation["meta"]["why"]


def test_shares_are_0_to_100_and_areas_within_the_earths_land():
    assert schema.VARIABLE_BOUNDS["forest_cover"][:2] == (0.0, 100.0)
    for variable in ("area", "tree_cover_extent", "restoration_area", "degraded_area"):
        assert schema.VARIABLE_BOUNDS[variable][:2] == (0.0, schema.EARTH_LAND_HA)


@pytest.mark.parametrize("source, variable, area, change", [
    ("gfw_usa", "tree_cover_loss", "US-AL", lambda v: 1e308),  # the damaged input that once went in silently
    ("fra2015", "area", "RUS", lambda v: v * 1000),  # a value typed 1000x too large
])
def test_an_impossible_value_fails_the_schema_suite_critically(source, variable, area, change):
    rows = harmonize_sample(source)
    suite = load_suite(SCHEMA_SUITE)
    assert validate(rows, [suite], source).passed  # the real rows are within every bound
    at = rows.index[(rows.variable == variable) & (rows.area_code == area)][0]
    damaged = rows.copy()
    damaged.loc[at, "value"] = change(rows.loc[at, "value"])  # set here: the damage under test
    report = validate(damaged, [suite], source)
    # (a relation may fail too: 1e308 ha/yr is also more than Alabama's tree cover, tests/test_relations.py)
    (failed,) = [o for o in report.critical_failures if "relation" not in suite["expectations"][o.position]["meta"]]
    assert failed.unexpected_examples == [damaged.loc[at, "value"]] and failed.unexpected_count == 1
    assert suite["expectations"][failed.position]["kwargs"]["row_condition"]["parameter"] == variable
