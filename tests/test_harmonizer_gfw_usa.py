"""The Global Forest Watch US harmonizer on the shipped sample files and on drifted copies of them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry
import pytest
from conftest import edited_copy, harmonize_sample, replace_line, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.sources import get

SOURCE_ID = "gfw_usa"
INPUTS = get(SOURCE_ID).source.inputs
STATE_LOSS = Path(INPUTS["state_loss"]).name
STATE_NAMES = Path(INPUTS["state_names"]).name
STATE_EXTENT = Path(INPUTS["state_extent"]).name
NATIONAL_LOSS = Path(INPUTS["national_loss"]).name


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def value(rows, area_code, year, variable):
    match = rows[(rows.area_code == area_code) & (rows.year == year) & (rows.variable == variable)]
    assert len(match) == 1, (area_code, year, variable, len(match))
    return match.iloc[0]


# --- values, exactly as the files give them -----------------------------------------------------


def test_state_values_are_the_files_numbers(rows):
    loss = value(rows, "US-AL", 2001, "tree_cover_loss")
    assert loss.value == 176807.15511181095
    assert (loss.unit, loss.area_level, loss.parent_code) == ("ha/yr", "subnational", "USA")
    emissions = value(rows, "US-AL", 2001, "gross_emissions")
    assert emissions.value == 54443220.84923567  # Mg CO2e = t CO2e: factor exactly 1
    assert emissions.unit == "t CO2e/yr"
    extent = value(rows, "US-AL", 2000, "tree_cover_extent")
    assert (extent.value, extent.unit) == (9097762.680806668, "ha")
    assert value(rows, "US-AL", 2000, "area").value == 13363463.843185915
    # the last row of the loss file, and DC (whose name pycountry lists as a "District")
    assert value(rows, "US-WY", 2020, "tree_cover_loss").value == 5793.024558425443
    assert value(rows, "US-WY", 2020, "gross_emissions").value == 1108157.256586273
    assert value(rows, "US-DC", 2000, "tree_cover_extent").value == 3776.0272696529846


def test_national_values_are_the_files_numbers(rows):
    loss = value(rows, "USA", 2001, "tree_cover_loss")
    assert loss.value == 1943318.7440119705
    assert loss.area_level == "national" and pd.isna(loss.parent_code)
    assert value(rows, "USA", 2001, "gross_emissions").value == 656477998.8485924
    assert value(rows, "USA", 2020, "tree_cover_loss").value == 1966716.3749183684
    assert value(rows, "USA", 2000, "tree_cover_extent").value == 279376627.97980386
    assert value(rows, "USA", 2000, "area").value == 947083424.5263464


def test_row_inventory_and_common_fields(rows):
    counts = rows.groupby(["area_level", "variable"]).size().to_dict()
    # 51 units x 20 years = 1020 state-years, less DC 2013 which the file does not list
    assert counts == {
        ("national", "area"): 1,
        ("national", "gross_emissions"): 20,
        ("national", "tree_cover_extent"): 1,
        ("national", "tree_cover_loss"): 20,
        ("subnational", "area"): 51,
        ("subnational", "gross_emissions"): 1019,
        ("subnational", "tree_cover_extent"): 51,
        ("subnational", "tree_cover_loss"): 1019,
    }
    assert rows[(rows.area_code == "US-DC") & (rows.year == 2013)].empty
    assert set(rows.year[rows.variable.isin(["tree_cover_loss", "gross_emissions"])]) == set(range(2001, 2021))
    assert set(rows.year[rows.variable.isin(["tree_cover_extent", "area"])]) == {2000}
    assert set(rows.land_category) == {"all"}
    assert set(rows.flag) == {"reported"}
    assert rows.pool.isna().all() and rows.category.isna().all()
    assert set(rows.source) == {SOURCE_ID}
    for variable, unit in rows[["variable", "unit"]].drop_duplicates().itertuples(index=False):
        assert schema.VARIABLE_UNITS[variable] == unit


def test_51_states_with_valid_iso_3166_2_codes_and_unique_keys(rows):
    states = rows[rows.area_level == "subnational"]
    codes = set(states.area_code)
    assert len(codes) == 51
    for code in codes:
        subdivision = pycountry.subdivisions.get(code=code)
        assert subdivision is not None and subdivision.country_code == "US", code
    assert {pycountry.subdivisions.get(code=c).type for c in codes} == {"State", "District"}
    assert "US-DC" in codes
    assert not rows.duplicated(list(schema.OBSERVATION_KEY)).any()


def test_snapshot_is_the_hash_of_the_file_each_row_came_from(rows):
    files = sample_files(SOURCE_ID)
    loss_years = rows.variable.isin(["tree_cover_loss", "gross_emissions"])
    state = rows.area_level == "subnational"
    assert set(rows.snapshot[state & loss_years]) == {files["state_loss"].sha256}
    assert set(rows.snapshot[state & ~loss_years]) == {files["state_extent"].sha256}
    assert set(rows.snapshot[~state & loss_years]) == {files["national_loss"].sha256}
    assert set(rows.snapshot[~state & ~loss_years]) == {files["national_extent"].sha256}


# --- states vs nation ---------------------------------------------------------------------------

# The national tables are GFW's own totals over the same 51 GADM units, so they should equal the
# sums of the states up to floating-point rounding: a sum of 51 doubles carries a relative error of
# at most ~51 x 2.2e-16 ≈ 1e-14 (observed: ≤ 1.4e-15 for loss, ≤ 2.6e-15 for emissions, ≤ 5e-15
# for extent and area). 1e-12 leaves room for summation order, yet is far below the share of the
# smallest single state row (DC 2020, 0.24 ha of a national 1.6-2.7 Mha, ~1e-7), so a dropped or altered row
# would fail.
STATE_SUM_TOLERANCE = 1e-12


@pytest.mark.parametrize("variable", ["tree_cover_loss", "gross_emissions", "tree_cover_extent", "area"])
def test_states_sum_to_the_national_total(rows, variable):
    of_variable = rows[rows.variable == variable]
    states = of_variable[of_variable.area_level == "subnational"].groupby("year").value.sum()
    nation = of_variable[of_variable.area_code == "USA"].set_index("year").value
    assert list(states.index) == list(nation.index)
    relative = (states - nation) / nation
    assert np.abs(relative).max() <= STATE_SUM_TOLERANCE, relative.to_dict()
    smallest_share = (of_variable[of_variable.area_level == "subnational"].value.min()) / nation.max()
    assert STATE_SUM_TOLERANCE < smallest_share


# --- drift: each error names the file, row and column and says what is wrong ---------------------


def test_renamed_column_is_named_with_closest_match(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "state_loss",
                       replace_line(1, '"umd_tree_cover_loss__ha"', '"umd_tree_cover_loss_ha"'))
    with pytest.raises(SourceError, match=re.escape(f"file {STATE_LOSS!r}, row 1: expected column "
                                                    "'umd_tree_cover_loss__ha' is missing (did you mean "
                                                    "'umd_tree_cover_loss_ha'?)")):
        harmonize_sample(SOURCE_ID, state_loss=path)


def test_renamed_names_column(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "state_names", replace_line(1, "adm1__id", "adm1_id"))
    with pytest.raises(SourceError, match=re.escape("expected column 'adm1__id' is missing (did you mean 'adm1_id'?)")):
        harmonize_sample(SOURCE_ID, state_names=path)


def test_adm1_id_without_a_name(tmp_path):
    # DC (id 9) drops out of the names table: its first row in the loss file is line 10
    path = edited_copy(tmp_path, SOURCE_ID, "state_names",
                       lambda lines: [l for l in lines if "District of Columbia" not in l])
    with pytest.raises(
        SourceError,
        match=re.escape(f"file {STATE_LOSS!r}, row 10, column 'adm1': id '9' is not in column 'adm1__id' of "
                        f"{STATE_NAMES!r}, which lists 50 ids"),
    ):
        harmonize_sample(SOURCE_ID, state_names=path)


def test_new_adm1_id_in_extent_file(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "state_extent", replace_line(52, '"USA",51,', '"USA",52,'))
    with pytest.raises(
        SourceError,
        match=re.escape(f"file {STATE_EXTENT!r}, row 52, column 'adm1': id '52' is not in column 'adm1__id' of "
                        f"{STATE_NAMES!r}, which lists 51 ids ('1' … '51')"),
    ):
        harmonize_sample(SOURCE_ID, state_extent=path)


def test_non_numeric_cell_names_row_as_in_the_file_and_column(tmp_path):
    # line 10 of the loss file is DC 2001: "USA",9,2001,1.0833366010156404,173.59464002791628
    path = edited_copy(tmp_path, SOURCE_ID, "state_loss", replace_line(10, "173.59464002791628", "n/a"))
    with pytest.raises(
        SourceError,
        match=re.escape(f"file {STATE_LOSS!r}, row 10, column 'gfw_gross_emissions_co2e_all_gases__Mg': "
                        "'n/a' is not a number"),
    ):
        harmonize_sample(SOURCE_ID, state_loss=path)


def test_thousands_separator_in_national_extent_is_not_a_number(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national_extent",
                       replace_line(2, "279376627.97980386", '"279,376,627.98"'))
    with pytest.raises(
        SourceError, match=re.escape("row 2, column 'umd_tree_cover_extent_2000__ha': '279,376,627.98' is not a number")
    ):
        harmonize_sample(SOURCE_ID, national_extent=path)


def test_state_name_unknown_to_pycountry(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "state_names", replace_line(2, '"Alabama"', '"Alabamma"'))
    with pytest.raises(
        SourceError,
        match=re.escape(f"file {STATE_NAMES!r}, row 2, column 'name': unknown subdivision name 'Alabamma' "
                        "(did you mean 'Alabama'?)"),
    ):
        harmonize_sample(SOURCE_ID, state_names=path)


def test_outlying_area_is_not_a_state(tmp_path):
    # Puerto Rico is a US subdivision in ISO 3166-2 but a country of its own in GADM/GFW
    path = edited_copy(tmp_path, SOURCE_ID, "state_names", replace_line(52, '"Wyoming"', '"Puerto Rico"'))
    with pytest.raises(SourceError, match=r"row 52, column 'name': unknown subdivision name 'Puerto Rico'"):
        harmonize_sample(SOURCE_ID, state_names=path)


def test_two_ids_with_the_same_state_name(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "state_names", replace_line(3, '"Alaska"', '"Alabama"'))
    with pytest.raises(SourceError, match=re.escape("row 3, column 'name': 'Alabama' gives {'area_code': 'US-AL', "
                                                    "'area_level': 'subnational', 'parent_code': 'USA'}, as 'Alabama' "
                                                    "at line 2 does")):
        harmonize_sample(SOURCE_ID, state_names=path)


def test_other_country_in_iso_column(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national_loss", replace_line(3, '"USA"', '"CAN"'))
    with pytest.raises(
        SourceError, match=re.escape(f"file {NATIONAL_LOSS!r}, row 3, column 'iso': unknown value 'CAN', "
                                     "not in inputs.national_loss.columns.iso.map")
    ):
        harmonize_sample(SOURCE_ID, national_loss=path)


def test_repeated_state_year(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "state_loss", lambda lines: lines + [lines[1]])
    with pytest.raises(SourceError, match=re.escape(f"file {STATE_LOSS!r}, row 1021, column 'umd_tree_cover_loss__ha': "
                                                    "the value for {'area_code': 'US-AL', 'year': 2001, ")
                       + r".* appears again \(first at line 2\)"):
        harmonize_sample(SOURCE_ID, state_loss=path)


def test_fractional_year(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national_loss", replace_line(2, ",2001,", ",2001.5,"))
    with pytest.raises(SourceError, match=r"row 2, column 'umd_tree_cover_loss__year': '2001.5' is not a year"):
        harmonize_sample(SOURCE_ID, national_loss=path)
