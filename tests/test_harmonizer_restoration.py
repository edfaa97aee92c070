"""Restoration facts harmonizer, on the shipped file (sample_data/restoration/) and drifted copies.

Line numbers are those of restoration_pledges_facts.csv (header = line 1).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pycountry
import pytest
from conftest import edited_copy, harmonize_sample, replace_line, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.readers import LINE
from ercan.sources import get, registry
from ercan.validation import SCHEMA_SUITE, load_suite, validate

SOURCE_ID = "restoration"
DECLARED = get(SOURCE_ID).declared
FILE = DECLARED.declaration.inputs["facts"].file
HOOK = DECLARED.hook
KEPT_LINES = {9, 10, 13, 14, 15, 16, 17, 18, 19, 20, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 38, 39, 40, 41, 42,
              45, 46, 47, 48, 49, 50, 55, 57, 58, 64, 66}
# The skipped facts as the declaration's notes list them, by reason.
SKIPPED_LINES = {
    "metric": {2, 3, 35, 63, 5, 6, 56, 68, 7, 8, 21, 26, 29, 36, 60, 67},
    "no number": {11, 51, 52, 53, 54},
    "no date": {4, 12, 37, 43, 44, 59, 61, 65, 69},
    "scope": {30},
    "superseded": {62},
}


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def value(rows, area_code, year, variable="restoration_commitment", year_end=None):
    match = rows[(rows.area_code == area_code) & (rows.year == year) & (rows.variable == variable)]
    match = match[match.year_end.isna()] if year_end is None else match[match.year_end == year_end]
    assert len(match) == 1, (area_code, year, variable, year_end, len(match))
    return match.iloc[0]


def drifted(tmp_path: Path, edit) -> Path:
    """A copy of the shipped facts file with `edit(lines) -> lines` applied."""
    return edited_copy(tmp_path, SOURCE_ID, "facts", edit)


# --- values, as printed, converted to ha --------------------------------------------------------


def test_world_totals_of_the_bonn_challenge(rows):
    # line 9: "150.03 million hectares", July 2017; line 10: 210 Mha, 2019; line 13: over 20 Mha, 2013
    assert value(rows, "WORLD", 2017).value == 150.03 * 1e6
    assert value(rows, "WORLD", 2019).value == 210e6
    assert value(rows, "WORLD", 2013).value == 20e6
    world = rows[rows.area_code == "WORLD"]
    assert set(world.area_level) == {"global"} and world.parent_code.isna().all()


def test_pledge_with_target_year_has_the_period(rows):
    # line 14: USA (USDA Forest Service) 15 Million hectares, target 2020, June 2012 (Rio+20)
    usa = value(rows, "USA", 2012, year_end=2020)
    assert (usa.value, usa.unit, usa.year_start, usa.year_end) == (15e6, "ha", 2012, 2020)
    assert usa.area_level == "national" and pd.isna(usa.parent_code)
    # line 16: Rwanda 2 Mha, June 2012, no target: no period
    rwanda = value(rows, "RWA", 2012)
    assert rwanda.value == 2e6 and pd.isna(rwanda.year_start) and pd.isna(rwanda.year_end)


def test_two_milestones_in_one_statement_are_two_rows(rows):
    # line 23: India, "13 / 21" million ha, target "2020 / 2030", Aug 2018
    assert value(rows, "IND", 2018, year_end=2020).value == 13e6
    assert value(rows, "IND", 2018, year_end=2030).value == 21e6
    # line 22: India 26 Mha by 2030, joined 2015
    assert value(rows, "IND", 2015, year_end=2030).value == 26e6
    assert value(rows, "IND", 2015, year_end=2030).year_start == 2015


def test_reported_restored_area(rows):
    # line 20: El Salvador "more than 120,000 hectares", unit ha, "since 2014 (reported 2019/2020)" → 2019
    assert value(rows, "SLV", 2019, "restoration_area").value == 120000.0
    # line 15: USA 17 million hectares by June 2019; line 24: India 9.8 Mha Aug 2018; line 58: Niger 5 Mha 2017
    assert value(rows, "USA", 2019, "restoration_area").value == 17e6
    assert value(rows, "IND", 2018, "restoration_area").value == 9.8e6
    assert value(rows, "NER", 2017, "restoration_area").value == 5e6
    assert rows[rows.variable == "restoration_area"].year_end.isna().all()


def test_regional_aggregates(rows):
    # line 38: AFR100 111 Mha, 1 Oct 2018; line 57: >80 Mha Sep/Oct 2017 (line 62's 75 Mha is superseded)
    assert value(rows, "M49:002", 2018).value == 111e6
    assert value(rows, "M49:002", 2017).value == 80e6
    assert value(rows, "M49:002", 2015).value == 31.7e6  # line 55
    # line 64: 20x20 50.1 Mha March 2019; line 66: 52.6 Mha by 2030, 20 May 2021; line 28: Bonn LatAm 35 Mha
    assert value(rows, "M49:419", 2019).value == 50.1e6
    assert value(rows, "M49:419", 2021, year_end=2030).value == 52.6e6
    assert value(rows, "M49:419", 2020).value == 35e6
    regional = rows[rows.area_level == "regional"]
    assert dict(zip(regional.area_code, regional.parent_code)) == {"M49:002": "WORLD", "M49:419": "M49:019"}


def test_row_inventory_and_common_fields(rows):
    assert len(rows) == 37  # 36 lines kept, line 23 gives two rows
    assert rows.variable.value_counts().to_dict() == {"restoration_commitment": 33, "restoration_area": 4}
    assert rows.area_level.value_counts().to_dict() == {"national": 28, "regional": 6, "global": 3}
    assert set(rows.unit) == {"ha"} and set(rows.flag) == {"reported"} and set(rows.land_category) == {"all"}
    assert rows.uncertainty.isna().all()  # no ± is printed in the file
    assert rows.pool.isna().all() and rows.category.isna().all()
    assert set(rows.snapshot) == {sample_files(SOURCE_ID)["facts"].sha256}
    assert not rows.duplicated(list(schema.OBSERVATION_KEY)).any()
    # year_start is set exactly where a target year is, and equals year
    with_target = rows.year_end.notna()
    assert (rows.year_start.notna() == with_target).all()
    assert (rows.year_start[with_target] == rows.year[with_target]).all()


def test_codes_are_valid_iso3_or_m49(rows):
    national = set(rows.area_code[rows.area_level == "national"])
    for code in national:
        assert pycountry.countries.get(alpha_3=code) is not None, code
    # pledger-qualified names are read as their country (docstring)
    assert {"USA", "BRA", "COD", "TZA", "SDN"} <= national
    assert set(rows.area_code[rows.area_level != "national"]) == {"WORLD", "M49:002", "M49:419"}


def test_every_fact_is_kept_or_skipped_with_a_reason_as_documented():
    raw = sample_files(SOURCE_ID)["facts"]
    facts = HOOK.classify(HOOK.read(raw), raw.name)
    assert len(facts) == 68
    assert set(facts[LINE][facts.reason.isna()]) == KEPT_LINES
    skipped = HOOK.skipped(sample_files(SOURCE_ID))
    by_reason = {
        "metric": "metric: ",
        "no number": "no number on the page",
        "no date": "no date printed",
        "scope": "scope: ",
        "superseded": "superseded",
    }
    for key, prefix in by_reason.items():
        assert set(skipped[LINE][skipped.reason.str.startswith(prefix)]) == SKIPPED_LINES[key], key
    assert set(skipped[LINE]) | KEPT_LINES == set(range(2, 70))
    for line in set(skipped[LINE]):
        assert re.search(rf"\b{line}\b", DECLARED.declaration.notes), line


def test_real_data_passes_the_suites(rows):
    suites = [load_suite(SCHEMA_SUITE), load_suite(registry()[SOURCE_ID].suite_path)]
    report = validate(rows, suites, SOURCE_ID)
    assert report.passed, report.reason()


# --- units and uncertainty ----------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "printed", "number", "expected"), [
    ("Mha", "2 million hectares", "2", 2e6),
    ("km2", "20000 km2", "20000", 2e6),
    ("万公顷", "200万公顷", "200", 2e6),
])
def test_other_area_units_convert(tmp_path, unit, printed, number, expected):
    edit = replace_line(16, "2 million hectares,2,million ha,", f"{printed},{number},{unit},")
    rows = harmonize_sample(SOURCE_ID, facts=drifted(tmp_path, edit))
    assert value(rows, "RWA", 2012).value == expected


@pytest.mark.parametrize(("printed", "fraction"), [("2 ± 0.5 million hectares", 0.25), ("2 million hectares ±10%", 0.1)])
def test_plus_minus_is_kept_as_uncertainty(tmp_path, printed, fraction):
    rows = harmonize_sample(SOURCE_ID, facts=drifted(tmp_path, replace_line(16, "2 million hectares,", f"{printed},")))
    assert value(rows, "RWA", 2012).uncertainty == pytest.approx(fraction)


# --- drift: errors name the file, row and column ------------------------------------------------


def test_renamed_column(tmp_path):
    path = drifted(tmp_path, replace_line(1, "value_numeric", "value_number"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 1: expected column 'value_numeric' is missing "
                                                    "(did you mean 'value_number'?)")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_unknown_metric(tmp_path):
    path = drifted(tmp_path, replace_line(16, ",pledge,", ",pledges made,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 16, column 'metric': unknown metric "
                                                    "'pledges made' (did you mean 'pledges'?)")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_unknown_country_name(tmp_path):
    # (country_converter matches by regex: "Rwandaa" would still be read as RWA; "Rwnda" is not)
    path = drifted(tmp_path, replace_line(16, ",Rwanda,", ",Rwnda,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 16, column 'country_or_scope': unknown "
                                                    "country or scope name 'Rwnda' (did you mean 'Rwanda'?)")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_unknown_unit_text(tmp_path):
    path = drifted(tmp_path, replace_line(16, ",million ha,", ",million acres,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 16, column 'unit': unknown unit "
                                                    "'million acres'")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_unit_that_is_not_an_area(tmp_path):
    path = drifted(tmp_path, replace_line(16, ",million ha,", ",t,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 16, column 'unit': unit 't' cannot be "
                                                    "converted to 'ha' (different dimensions)")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_non_numeric_value(tmp_path):
    path = drifted(tmp_path, replace_line(16, ",2,million ha,", ",2 million,million ha,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 16, column 'value_numeric': '2 million' is "
                                                    "not a number")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_value_not_printed_on_the_page(tmp_path):
    path = drifted(tmp_path, replace_line(16, ",2,million ha,", ",3,million ha,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 16, column 'value_numeric': '3' is not among "
                                                    "the numbers printed in 'value_as_printed' ('2 million hectares')")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_milestones_and_target_years_must_pair(tmp_path):
    path = drifted(tmp_path, replace_line(23, ",2020 / 2030,", ",2030,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 23, column 'target_year': 2 value(s) in "
                                                    "'value_numeric' but 1 target year(s) '2030'")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_target_year_not_a_year(tmp_path):
    path = drifted(tmp_path, replace_line(14, ",2020,June 2012", ",2020.5,June 2012"))
    with pytest.raises(SourceError, match=re.escape("row 14, column 'target_year': '2020.5' is not a year")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_unknown_date_text(tmp_path):
    path = drifted(tmp_path, replace_line(16, ",June 2012,", ",mid 2012,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 16, column 'as_of_or_stated': unknown date "
                                                    "text 'mid 2012'")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_same_observation_twice(tmp_path):
    path = drifted(tmp_path, lambda text: text + [text[15]])  # line 16 (Rwanda 2012) again, as line 70
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 70, column 'country_or_scope': states the "
                                                    "same observation (RWA, 2012, restoration_commitment) as row 16")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_superseded_entry_that_matches_no_row(tmp_path):
    path = drifted(tmp_path, replace_line(62, "more than 75 million hectares (22 countries)", "75 million hectares"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}: the superseded fact ('Africa', 'commitments at web "
                                                    "launch', 'more than 75 million hectares (22 countries)') matches 0 rows")):
        harmonize_sample(SOURCE_ID, facts=path)


def test_header_only(tmp_path):
    with pytest.raises(SourceError, match="has a header but no data rows"):
        harmonize_sample(SOURCE_ID, facts=drifted(tmp_path, lambda text: text[:1]))


def test_missing_role():
    with pytest.raises(SourceError, match="no file for role 'facts'"):
        get(SOURCE_ID).harmonize({})
