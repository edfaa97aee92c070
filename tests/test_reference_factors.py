"""The reference-factor sources look up alike: one domain vocabulary, one encoding of validity ranges,
and where two sources transcribe the same IPCC table they give the same factor under the same key."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import harmonize_sample

from ercan import schema
from ercan.errors import SourceError
from ercan.reference import class_bounds
from ercan.sources import registry

REFERENCE_SOURCES = sorted(s for s, h in registry().items() if h.source.product == "reference_factors")
LOOKUP = ["climatic_domain", "stratum", "condition_min", "condition_max"]


@pytest.fixture(scope="module")
def factors():
    return {source: harmonize_sample(source) for source in REFERENCE_SOURCES}


def test_the_reference_sources_are_registered_for_the_reference_product():
    assert REFERENCE_SOURCES == ["brazil_reference_stocks", "fra_biomass_calculator", "fra_climatic_domains", "ipcc_defaults",
                                 "ipcc_factors_jrc"]


def test_every_source_uses_one_domain_vocabulary_and_adjoining_classes(factors):
    for source, rows in factors.items():
        assert set(rows.climatic_domain.dropna()) <= set(schema.CLIMATIC_DOMAINS), source
        assert set(rows.condition_variable.dropna()) <= set(schema.CONDITION_VARIABLES), source
        classed = rows[rows.condition_variable.notna()]
        strata = ["parameter", "pool", "climatic_domain", "ecological_zone", "region", "stratum", "condition_variable"]
        for key, group in classed.groupby(strata, dropna=False):
            group = group.sort_values("condition_min")
            bounds = list(zip(group.condition_min, group.condition_max.where(group.condition_max.notna(), None), strict=True))
            # [min, max) classes: each starts where the previous ended; only the last may be open
            assert all(high == following for (_, high), (following, _) in zip(bounds, bounds[1:])), (source, key, bounds)


def test_jrc_and_the_fra_calculator_give_the_same_bcef_under_the_same_keys(factors):
    jrc = factors["ipcc_factors_jrc"].query("parameter == 'bcef_stock'")
    fra = factors["fra_biomass_calculator"].query("parameter == 'bcef_stock'")
    both = jrc.merge(fra, on=LOOKUP, suffixes=("_jrc", "_fra"))
    # every JRC BCEF_S (boreal, temperate, mediterranean = the calculator's subtropical) has its twin
    assert len(both) == len(jrc) == 39
    assert (both.value_jrc == both.value_fra).all()
    assert set(both.ecological_zone_jrc.dropna()) == {"mediterranean"} and both.ecological_zone_fra.isna().all()


def test_jrc_and_the_fra_calculator_give_the_same_temperate_ratios(factors):
    jrc = factors["ipcc_factors_jrc"].query("parameter == 'root_to_shoot' and climatic_domain == 'temperate'")
    fra = factors["fra_biomass_calculator"].query("parameter == 'root_to_shoot' and climatic_domain == 'temperate'")
    both = jrc.merge(fra, on=LOOKUP, suffixes=("_jrc", "_fra"))
    assert sorted(set(both.stratum)) == ["broadleaved", "coniferous"] and len(both) == 6
    assert (both.value_jrc == both.value_fra).all()


def test_the_cited_tropical_ratios_match_the_calculator(factors):
    cited = factors["ipcc_defaults"].query("parameter == 'root_to_shoot' and ecological_zone == 'tropical moist forest' and flag == 'reported'")
    calculator = factors["fra_biomass_calculator"].query("parameter == 'root_to_shoot' and stratum == 'broadleaved humid' and climatic_domain == 'tropical'")
    assert cited.set_index("condition_min").value.to_dict() == calculator.set_index("condition_min").value.to_dict() == {0: 0.2, 125: 0.24}


@pytest.mark.parametrize(("classes", "expected"), [
    ([(0, 20), (21, 50), (51, None)], [(0, 20), (20, 50), (50, None)]),  # whole-number classes
    ([(0, 20), (20, 40), (40, None)], [(0, 20), (20, 40), (40, None)]),  # shared bounds
    ([(70, None)], [(70, None)]),
])
def test_class_bounds(classes, expected):
    assert class_bounds(classes) == expected


@pytest.mark.parametrize(("classes", "problem"), [
    ([(0, 20), (30, 50)], "class 30-50 does not follow class 0-20"),
    ([(0, 20), (15, 50)], "class 15-50 does not follow class 0-20"),
    ([(0, None), (20, 50)], "class 20-50 does not follow class 0-open"),
    ([(20, 20)], "class 20-20 is empty"),
])
def test_class_bounds_refuses_gaps_overlaps_and_empty_classes(classes, problem):
    with pytest.raises(SourceError, match=problem):
        class_bounds(classes)


def test_every_source_gives_the_reference_table(factors):
    for source, rows in factors.items():
        assert tuple(rows.columns) == schema.REFERENCE_COLUMNS, source


def test_a_reference_suite_catches_what_the_schema_suite_would(factors):
    """A corrupted copy of real rows (built here): a repeated key, a BCEF in kg/m3, a ratio in the wrong unit."""
    from ercan.validation import load_suite, validate

    rows = factors["ipcc_factors_jrc"]
    corrupted = pd.concat([rows, rows.iloc[[0]]], ignore_index=True)
    corrupted.loc[1, "value"] = 470.0  # bcef_increment 0.47 t/m3 written in kg/m3
    corrupted.loc[117, "unit"] = "t dm/m3"  # a root-to-shoot ratio (row 118) with a BCEF's unit
    report = validate(corrupted, [load_suite(registry()["ipcc_factors_jrc"].suite_path)], "ipcc_factors_jrc")
    failed = {(o.expectation, o.column) for o in report.critical_failures}
    assert ("expect_compound_columns_to_be_unique", ",".join(schema.REFERENCE_KEY)) in failed
    assert ("expect_column_values_to_be_between", "value") in failed
    assert ("expect_column_pair_values_to_be_in_set", "parameter,unit") in failed
