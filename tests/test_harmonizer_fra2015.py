"""The FRA 2015 forest-area harmonizer on the shipped pivot export and on drifted copies of it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pycountry
import pytest
from conftest import edited_copy, harmonize_sample, replace_line, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.sources import get

SOURCE_ID = "fra2015"
INPUTS = get(SOURCE_ID).source.inputs
FILE = Path(INPUTS["forest_area"]).name


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def value(rows, area_code, year):
    match = rows[(rows.area_code == area_code) & (rows.year == year)]
    assert len(match) == 1, (area_code, year, len(match))
    return match.iloc[0]


def drifted(tmp_path: Path, edit) -> Path:
    """A copy of the shipped export with `edit(lines) -> lines` applied (the title is line 1, the header line 2)."""
    return edited_copy(tmp_path, SOURCE_ID, "forest_area", edit)


def harmonize_copy(path: Path):
    return harmonize_sample(SOURCE_ID, forest_area=path)


# --- values, exactly as the file gives them (1000 ha x 1000 = ha) --------------------------------


def test_values_are_the_files_numbers_in_ha(rows):
    first = value(rows, "MAR", 1990)  # line 3, the first data row: MAR,4954,...
    assert (first.value, first.unit, first.variable, first.land_category) == (4954000.0, "ha", "area", "forest_land")
    assert value(rows, "ABW", 1990).value == 420.0  # line 4: 0.42
    assert value(rows, "ASM", 1990).value == 18388.0  # line 14: 18.388
    assert value(rows, "CHN", 2005).value == 193043900.0  # line 42: 193043.9
    assert value(rows, "RUS", 2015).value == 814930500.0  # line 181: 814930.5
    assert value(rows, "ZWE", 2015).value == 14062000.0  # line 236, the last: 14062


def test_world_sum_is_fra_2015s_world_forest_area(rows):
    # FRA 2015 reports 3,999 Mha of forest in 2015; ANT (1180 ha) is part of that sum
    totals = rows.groupby("year").value.sum()
    assert totals[2015] == pytest.approx(3_999_133_622.0, rel=1e-12)
    assert totals[1990] == pytest.approx(4_128_269_484.0, rel=1e-12)


def test_row_inventory_and_common_fields(rows):
    assert len(rows) == 234 * 5
    assert rows.groupby("year").size().to_dict() == {1990: 234, 2000: 234, 2005: 234, 2010: 234, 2015: 234}
    assert set(rows.area_level) == {"national"}  # no Grand Total row in the shipped export
    assert "WORLD" not in set(rows.area_code)
    assert rows.parent_code.isna().all()
    assert set(rows.variable) == {"area"} and set(rows.unit) == {"ha"}
    assert set(rows.land_category) == {"forest_land"} and set(rows.flag) == {"reported"}
    assert rows.pool.isna().all() and rows.category.isna().all()
    assert rows.year_start.isna().all() and rows.year_end.isna().all() and rows.uncertainty.isna().all()
    assert set(rows.source) == {SOURCE_ID}
    assert set(rows.snapshot) == {sample_files(SOURCE_ID)["forest_area"].sha256}
    assert not rows.duplicated(list(schema.OBSERVATION_KEY)).any()


def test_codes_are_current_iso3_except_the_netherlands_antilles(rows):
    codes = set(rows.area_code)
    assert len(codes) == 234
    not_current = {c for c in codes if pycountry.countries.get(alpha_3=c) is None}
    assert not_current == {"ANT"}


def test_netherlands_antilles_kept_as_a_historical_national_unit(rows):
    antilles = rows[rows.area_code == "ANT"]
    # line 10: ANT,1.18,1.18,1.18,1.18,1.18 — reported for every year, also after its 2010 dissolution
    assert antilles.set_index("year").value.to_dict() == {y: 1180.0 for y in (1990, 2000, 2005, 2010, 2015)}
    assert set(antilles.area_level) == {"national"} and antilles.parent_code.isna().all()
    historic = pycountry.historic_countries.get(alpha_3="ANT")
    assert historic.name == "Netherlands Antilles" and historic.withdrawal_date == "2010-12-15"
    # its successors are absent, so keeping ANT double counts nothing; Aruba (out since 1986) is separate
    assert not {"CUW", "SXM", "BES"} & set(rows.area_code)
    assert "ABW" in set(rows.area_code)


# --- a pivot Grand Total row is the reported world total ---------------------------------------


def test_grand_total_row_is_kept_as_world(tmp_path):
    total = "Grand Total,4128269.484,4055602.224,4032742.686,4015672.963,3999133.622\n"  # the column sums
    path = drifted(tmp_path, lambda lines: lines + [total])
    rows = harmonize_copy(path)
    world = value(rows, "WORLD", 2015)
    assert (world.value, world.area_level) == (3999133622.0, "global") and pd.isna(world.parent_code)
    assert len(rows) == 235 * 5


def test_unit_is_read_from_the_title(tmp_path):
    # a re-export in another unit is converted, not taken for 1000 ha
    rows = harmonize_copy(drifted(tmp_path, replace_line(1, "(1000 ha)", "(km2)")))
    assert value(rows, "MAR", 1990).value == pytest.approx(4954 * 100, rel=1e-12)  # 1 km2 = 100 ha


# --- drift: each error names the file, row and column and says what is wrong ---------------------


def test_unknown_unit_in_title(tmp_path):
    path = drifted(tmp_path, replace_line(1, "(1000 ha)", "(1000 hectars)"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 1, column 'B': unknown unit '1000 hectars' "
                                                    "(did you mean '1000 ha'?)")):
        harmonize_copy(path)


def test_title_without_unit(tmp_path):
    path = drifted(tmp_path, replace_line(1, "FRA 2015 forest area (1000 ha)", "FRA 2015 forest area"))
    message = (f"file {FILE!r}, row 1, column 'B': no cell matches the unit pattern "
               r"^FRA 2015 forest area \((?P<unit>[^()]+)\)$: the line reads 'FRA 2015 forest area'. "
               "If the file states its unit elsewhere or otherwise: Declare `read.unit_in")
    with pytest.raises(SourceError, match=re.escape(message)):
        harmonize_copy(path)


def test_renamed_label_column(tmp_path):
    path = drifted(tmp_path, replace_line(2, "Row Labels", "Row Label"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 2: expected column 'Row Labels' is missing "
                                                    "(did you mean 'Row Label'?)")):
        harmonize_copy(path)


def test_missing_year_column(tmp_path):
    def drop_2005(lines):  # the 4th field of every line
        return [",".join(f for i, f in enumerate(line.rstrip("\n").split(",")) if i != 3) + "\n" for line in lines]

    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 2: expected column '2005' is missing")):
        harmonize_copy(drifted(tmp_path, drop_2005))


def test_grand_total_column_is_not_silently_summed(tmp_path):
    def add_column(lines):
        ends = [",\n", ",Grand Total\n"] + [",1\n"] * (len(lines) - 2)  # title, header, data rows
        return [line.rstrip("\n") + end for line, end in zip(lines, ends)]

    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 2, column 'Grand Total': the column "
                                                    "(spreadsheet column G) is read by no key of the declaration")):
        harmonize_copy(drifted(tmp_path, add_column))


def test_unknown_code_names_row_column_and_closest_code(tmp_path):
    path = drifted(tmp_path, replace_line(236, "ZWE,", "ZWEE,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 236, column 'Row Labels': unknown ISO 3166-1 "
                                                    "alpha-3 code 'ZWEE' (did you mean 'ZWE'?). After checking what it "
                                                    "is: add it, with the reason, to fra2015_codes.csv")):
        harmonize_copy(path)


def test_pivot_blank_label_is_unknown(tmp_path):
    path = drifted(tmp_path, replace_line(4, "ABW,", "(blank),"))
    with pytest.raises(SourceError, match=re.escape("row 4, column 'Row Labels': unknown ISO 3166-1 alpha-3 code "
                                                    "'(blank)'")):
        harmonize_copy(path)


def test_non_numeric_cell(tmp_path):
    path = drifted(tmp_path, replace_line(3, "MAR,4954,", 'MAR,"4,954",'))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 3, column '1990': '4,954' is not a number")):
        harmonize_copy(path)


def test_repeated_code(tmp_path):
    path = drifted(tmp_path, lambda lines: lines + [lines[2]])
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 237, column '1990': the value for "
                                                    "{'area_code': 'MAR', 'year': 1990, 'land_category': 'forest_land', "
                                                    "'variable': 'area'} appears again (first at line 3)")):
        harmonize_copy(path)


def test_header_only(tmp_path):
    path = drifted(tmp_path, lambda lines: lines[:2])
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 3: has a header but no data rows")):
        harmonize_copy(path)
