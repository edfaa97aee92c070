"""Values that cannot exceed others (schema.RELATIONS: loss within extent, a pool within the total,
biomass parts within biomass, a subnational unit within its country) and members' sums within
schema.MEMBERS_FACTOR of the aggregate their source reports, generated into the schema suite as critical
expectations and evaluated by GX on the frames ercan/relations.py forms. The damaged values
are set by the tests on the real harmonized rows or on a copy of a shipped file (said where)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from conftest import edited_copy, harmonize_sample, replace_line

from ercan import pipeline, relations, schema, snapshots, state
from ercan.sources import get
from ercan.storage import Storage
from ercan.validation import SCHEMA_SUITE, load_suite, validate


def failed_relations(report) -> set[str]:
    suite = load_suite(SCHEMA_SUITE)
    return {suite["expectations"][o.position]["meta"].get("relation") for o in report.critical_failures} - {None}


def test_every_relation_is_a_critical_expectation_of_the_schema_suite_with_its_reason():
    found = {e["meta"]["relation"]: e for e in load_suite(SCHEMA_SUITE)["expectations"]
             if e["meta"].get("relation") in schema.RELATIONS}
    assert set(found) == set(schema.RELATIONS)
    for name, expectation in found.items():
        relation = schema.RELATIONS[name]
        assert expectation["type"] == "expect_column_pair_values_a_to_be_greater_than_b"
        assert expectation["kwargs"] == {"column_A": relation.greater_name, "column_B": relation.lesser_name,
                                         "or_equal": True}
        assert expectation["severity"] == "critical" and expectation["meta"]["why"] == relation.why
    # the accounting products' gap-filled pools are not the sources' rows: only the observations carry them
    products = load_suite(SCHEMA_SUITE.parent / "products" / "carbon_stocks.schema.json")
    assert not [e for e in products["expectations"] if "relation" in e["meta"]]


def test_the_pairs_of_the_real_gfw_rows():
    rows = harmonize_sample("gfw_usa")
    table = pa.Table.from_pandas(rows, preserve_index=False)
    loss = relations.pairs(table, schema.RELATIONS["loss_within_extent"])
    assert len(loss) == (rows.variable == "tree_cover_loss").sum()  # every loss row meets its area's extent
    assert sorted(set(rows.loc[loss.index, "variable"])) == ["tree_cover_loss"]
    for position, pair in loss.iloc[[0, -1]].iterrows():
        area = rows.loc[position, "area_code"]
        extent = rows[(rows.area_code == area) & (rows.variable == "tree_cover_extent")].value.max()
        assert (pair.tree_cover_loss, pair.largest_tree_cover_extent) == (rows.loc[position, "value"], extent)
    within = relations.pairs(table, schema.RELATIONS["subnational_within_country"])
    states = rows.loc[within.index]
    assert set(states.area_level) == {"subnational"} and set(states.parent_code) == {"USA"}
    # each state's row of every variable has the country's row of the same variable and year
    national = rows[rows.area_code == "USA"].set_index(["variable", "year"]).value
    assert list(within.country_value) == [national[(v, y)] for v, y in zip(states.variable, states.year)]
    assert len(within) == rows[rows.area_level == "subnational"].variable.isin(schema.NONNEGATIVE_ADDITIVE).sum()


def _set(source: str, value, **where):
    """The source's real rows with the value of the one row matching `where` replaced by `value(old)`."""
    rows = harmonize_sample(source)
    held = [rows[c].isna() if v is None else rows[c] == v for c, v in where.items()]
    match = rows.index[pd.concat(held, axis=1).all(axis=1)]
    assert len(match) == 1, where
    rows.loc[match[0], "value"] = value(rows.loc[match[0], "value"])  # set here: the damage under test
    return rows, match[0]


@pytest.mark.parametrize("source, value, where, broken", [
    # the country loses more tree cover in 2010 than it has (within the bound of any area rate), and
    # 260x more than its states together
    ("gfw_usa", lambda v: 5e8, {"area_code": "USA", "variable": "tree_cover_loss", "year": 2010},
     {"loss_within_extent", "members_to_aggregate"}),
    # Alaska's tree cover extent twice the country's: its loss stays within it
    ("gfw_usa", lambda v: 2 * 2.793766e8, {"area_code": "US-AK", "variable": "tree_cover_extent"},
     {"subnational_within_country"}),
    # the damaged input that once went in silently: beyond the bound, the state's extent and the country's loss
    ("gfw_usa", lambda v: 1e308, {"area_code": "US-AL", "variable": "tree_cover_loss", "year": 2010},
     {"loss_within_extent", "subnational_within_country", "members_to_aggregate"}),
    # Germany's 2020 forest typed 1000x (1.1e10 ha: within the Earth's land), 100x its FRA subregion's
    ("fra2020", lambda v: v * 1000, {"area_code": "DEU", "variable": "area", "year": 2020, "land_category": "forest_land",
                                     "category": None}, {"members_to_aggregate"}),
    # China's soil carbon typed 10x: more than the total of its pools
    ("programme_figures", lambda v: v * 10, {"area_code": "CHN", "variable": "carbon_stock", "pool": "soil"},
     {"pool_within_total"}),
    # a control: the row unchanged, nothing fails (FRA's pools have no total or biomass row to exceed)
    ("fra2020", lambda v: v, {"area_code": "FIN", "variable": "carbon_density", "pool": "agb", "year": 2020}, set()),
])
def test_a_value_beyond_its_relation_fails_the_schema_suite_naming_its_row(source, value, where, broken):
    suite = load_suite(SCHEMA_SUITE)
    rows, at = _set(source, value, **where)
    report = validate(rows, [suite], source)
    assert failed_relations(report) == broken
    for outcome in report.critical_failures:
        relation = suite["expectations"][outcome.position]["meta"].get("relation")
        if relation in schema.RELATIONS:  # the pair of the damaged row
            assert outcome.unexpected_rows == [at + 1] and outcome.unexpected_count == 1
            assert rows.loc[at, "value"] in outcome.unexpected_examples[0]
        elif relation:  # the aggregates over the damaged row (the row itself where it is the aggregate)
            aggregates = rows.loc[[r - 1 for r in outcome.unexpected_rows]]
            assert outcome.unexpected_count >= 1 and set(aggregates.variable) == {rows.loc[at, "variable"]}
            assert {rows.loc[at, "area_code"], rows.loc[at, "parent_code"]} & set(aggregates.area_code)


def test_a_state_losing_more_than_its_extent_quarantines_gfw_naming_file_line_area_and_year(tmp_path):
    """Alabama's 2001 loss edited to 1e8 ha (line 2 of a copy of the shipped file): within the bound of
    an area rate, above Alabama's tree cover (9.1e6 ha) and the country's 2001 loss."""
    storage = Storage(str(tmp_path / "store"))
    gfw = get("gfw_usa")
    pipeline.ingest_landing(storage, gfw)
    assert pipeline.gate(storage, gfw).status == "accepted"
    name = "loc-loss_treecover_loss_by_region__ha.csv"
    bad = edited_copy(tmp_path, "gfw_usa", "state_loss", replace_line(2, '"USA",1,2001,176807.15511181095,',
                                                                    '"USA",1,2001,100000000,'))
    snapshots.ingest(storage, gfw, "state_loss", str(bad), steward=True)
    outcome = pipeline.gate(storage, gfw)
    assert outcome.status == "quarantined"
    reason = state.load(storage, "gfw_usa")["reason"]
    for relation in ("loss_within_extent", "subnational_within_country"):
        assert schema.RELATIONS[relation].why in reason
    assert schema.MEMBERS_WHY in reason  # the states together are 80x the country's 2001 loss
    assert "US-AL 2001 tree_cover_loss" in reason and name in reason and "line 2" in reason
    assert "100000000.0" in reason
