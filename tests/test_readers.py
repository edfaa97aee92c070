"""The layout readers and the declaration keys that drive them (ercan/readers.py, ercan/declaration.py)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ercan.errors import SourceError


# --- area code systems (`Column.codes`) and the unit stated in a title (`Reading.unit_in`) --------
# Every frame, file and source folder of these tests is built here, in the test.


def _declared_source(tmp_path, declaration: str, data: str, **beside: str):
    """A source folder `tmp_path/toy` with `declaration` as its source.yaml and `beside` files (a
    crosswalk, country_names.csv), and its one input `data` as a RawFile of role `table`."""
    import hashlib

    from ercan.declaration import DeclaredSource
    from ercan.sources import RawFile

    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "source.yaml").write_text(
        "id: toy\ntitle: t\npublisher: p\nlicense: l\ncitation: c\n" + declaration, encoding="utf-8")
    for name, text in beside.items():
        (folder / name.replace("__", ".")).write_text(text, encoding="utf-8")
    path = tmp_path / "table.csv"
    path.write_text(data, encoding="utf-8")
    raw = RawFile("table", path.name, hashlib.sha256(path.read_bytes()).hexdigest(), lambda: open(path, "rb"))
    return DeclaredSource(folder), {"table": raw}


_AREAS = """inputs:
  table:
    file: table.csv
    columns:
      code: {to: [area_code, area_level, parent_code], codes: iso3, crosswalk: codes.csv, key: code}
    values: [{columns: ['2000'], header: year}]
    set: {variable: area, unit: ha, land_category: forest_land, flag: reported}
"""
_SPECIAL = "code,area_code,area_level,parent_code\nANT,ANT,national,\nGrand Total,WORLD,global,\n"


def test_iso3_codes_with_crosswalk_exceptions(tmp_path):
    source, files = _declared_source(tmp_path, _AREAS, "code,2000\nDEU,1\nANT,2\nGrand Total,3\n", codes__csv=_SPECIAL)
    rows = source.harmonize(files).to_pandas().set_index("area_code")
    assert rows.area_level.to_dict() == {"DEU": "national", "ANT": "national", "WORLD": "global"}
    assert rows.parent_code.isna().all()


def test_unknown_iso3_codes_are_all_listed_with_the_closest_and_their_lines(tmp_path):
    source, files = _declared_source(tmp_path, _AREAS, "code,2000\nDEU,1\nZWEE,2\nYUG,3\nZWEE,4\n",
                                     codes__csv=_SPECIAL)
    with pytest.raises(SourceError) as error:
        source.harmonize(files)
    assert str(error.value) == (
        "file 'table.csv', row 3, column 'code': unknown ISO 3166-1 alpha-3 codes 'ZWEE' (did you mean 'ZWE'?) "
        "at line 3, 'YUG' (did you mean 'UGA'?) at line 4. After checking what they are: add each, with the reason, "
        "to codes.csv in the source's folder.")


def test_more_than_ten_unknown_codes_are_counted(tmp_path):
    from ercan.readers import area_codes

    cells = pd.Series([f"X{n:02d}" for n in range(12)])
    with pytest.raises(SourceError, match=r"'X09'[^,]* at line 11 and 2 more\. .*columns\.code\.map"):
        area_codes(cells, cells.index.to_series() + 2, "iso3", names_file=tmp_path / "country_names.csv",
                   exceptions="inputs.table.columns.code.map", file="f.csv", column="code")


def test_iso3166_2_codes_are_subnational_in_their_country():
    from ercan.readers import area_codes

    cells = pd.Series(["DE-BY", None, "CN-BJ"])
    areas = area_codes(cells, pd.Series([2, 3, 4]), "iso3166_2", names_file=None, exceptions="m", file="f.csv",
                       column="state")
    assert areas.loc[[0, 2]].to_dict("list") == {"area_code": ["DE-BY", "CN-BJ"],
                                                 "area_level": ["subnational", "subnational"],
                                                 "parent_code": ["DEU", "CHN"]}
    assert areas.loc[1].isna().all()
    with pytest.raises(SourceError, match=r"row 2, column 'state': unknown ISO 3166-2 code 'DE-BX' \(did you mean"):
        area_codes(pd.Series(["DE-BX"]), pd.Series([2]), "iso3166_2", names_file=None, exceptions="m", file="f.csv",
                   column="state")


def test_country_names_take_the_sources_own_reviewed_names_first(tmp_path):
    declaration = _AREAS.replace("codes: iso3, crosswalk: codes.csv, key: code", "codes: country_name, map: {World: WORLD}")
    declaration = declaration.replace("[area_code, area_level, parent_code]", "area_code")
    declaration = declaration.replace("set: {", "set: {area_level: national, ")
    names = "name,iso3,note\nTimor,TLS,OWID's short name for Timor-Leste\n"
    source, files = _declared_source(tmp_path, declaration, "code,2000\nGermany,1\nTimor,2\nWorld,3\n",
                                     country_names__csv=names)
    rows = source.harmonize(files).to_pandas()
    assert sorted(rows.area_code) == ["DEU", "TLS", "WORLD"]
    (tmp_path / "toy" / "country_names.csv").unlink()
    with pytest.raises(SourceError, match=re.escape(
            "row 3, column 'code': unknown country name 'Timor' (did you mean 'Timor-Leste'?). After checking what it is: add each country's name, "
            "with its ISO3 and why, to harmonizers/toy/country_names.csv (name,iso3,note); any other area to "
            "inputs.table.columns.code.map")):
        source.harmonize(files)


def test_codes_give_area_fields_only(tmp_path):
    from ercan.errors import ConfigError

    with pytest.raises(ConfigError, match=r"columns.code: Value error, `codes` gives the fields"):
        _declared_source(tmp_path, _AREAS.replace("[area_code, area_level, parent_code]", "[area_code, pool]"), "")


_TITLED = """inputs:
  table:
    file: table.csv
    read: {skip_rows: 1, unit_in: {line: 1, pattern: 'Forest area \\((?P<unit>[^()]+)\\)'}}
    columns:
      code: {to: area_code}
    values: [{columns: ['2000'], header: year}]
    set: {variable: area, area_level: national, land_category: forest_land, flag: reported}
"""


def test_unit_read_from_the_title_cell(tmp_path):
    source, files = _declared_source(tmp_path, _TITLED, ",Forest area (km2),\ncode,2000\nDEU,1.5\n")
    assert source.harmonize(files).to_pandas().value.tolist() == [150.0]  # 1.5 km2 = 150 ha


def test_unit_title_errors_name_the_title_cell(tmp_path):
    source, files = _declared_source(tmp_path, _TITLED, ",Forest area (1000 hectars),\ncode,2000\nDEU,1\n")
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 1, column 'B': unknown unit '1000 hectars'")):
        source.harmonize(files)
    (tmp_path / "table.csv").write_text(",,Forest area,\ncode,2000\nDEU,1\n", encoding="utf-8")
    with pytest.raises(SourceError, match=re.escape(
            "file 'table.csv', row 1, column 'C': no cell matches the unit pattern Forest area \\((?P<unit>[^()]+)\\): "
            "the line reads 'Forest area'")):
        source.harmonize(files)


def test_unit_pattern_needs_a_unit_group(tmp_path):
    from ercan.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unit_in.pattern: Value error, the pattern needs a named group `unit`"):
        _declared_source(tmp_path, _TITLED.replace("(?P<unit>[^()]+)", "([^()]+)"), "")


def test_other_columns_error_names_the_unread_column(tmp_path):
    declaration = _TITLED.replace("    columns:", "    other_columns: error\n    columns:")
    source, files = _declared_source(tmp_path, declaration, ",Forest area (ha),,\ncode,2000,Grand Total\nDEU,1,1\n")
    with pytest.raises(SourceError, match=re.escape(
            "file 'table.csv', row 2, column 'Grand Total': the column (spreadsheet column C) is read by no key")):
        source.harmonize(files)


# --- workbooks (`format: xlsx`) ------------------------------------------------------------------
# Every workbook of these tests is written here, in the test, with openpyxl (which writes formulas
# without cached values, as a program that does not calculate does).


def _workbook(tmp_path, fill, *, name: str = "book.xlsx"):
    """A RawFile of role `book`: a workbook whose first sheet, 'Data', `fill(sheet, workbook)` writes."""
    import hashlib

    import openpyxl

    from ercan.sources import RawFile

    workbook = openpyxl.Workbook()
    workbook.active.title = "Data"
    fill(workbook.active, workbook)
    path = tmp_path / name
    workbook.save(path)
    return RawFile("book", path.name, hashlib.sha256(path.read_bytes()).hexdigest(), lambda: open(path, "rb"))


def _titled_table(sheet, workbook):
    """A title row, a two-row header whose 'Country' and 'Forest area' are merged cells, two
    countries and a source note as footer."""
    sheet.append(["Forest area by country"])
    sheet.merge_cells("A1:C1")
    sheet.append(["Country", "Forest area", None])
    sheet.append([None, 1990, 2000])
    sheet.merge_cells("A2:A3")  # down: one header part, not 'Country Country'
    sheet.merge_cells("B2:C2")  # across: over both years
    sheet.append(["Angola", 844185.8099999999, 12])  # FRA's South America 2020: shown as 844185.81
    sheet.append(["Chad", 1e-07, 6543.21])
    sheet.append(["Source: FAO"])


def _reading(**keys):
    from ercan.declaration import Reading

    return Reading(format="xlsx", sheet="Data", **keys)


def test_xlsx_merged_two_row_header_title_and_footer(tmp_path):
    from ercan.readers import read_xlsx_cells

    raw = _workbook(tmp_path, _titled_table)
    cells = read_xlsx_cells(raw, _reading(skip_rows=1, header_rows=2, footer_rows=1), role="book")
    assert list(cells.columns) == ["Country", "Forest area 1990", "Forest area 2000", "_line", "_sheet"]
    assert cells["_line"].tolist() == [4, 5]  # the sheet's row numbers
    assert set(cells["_sheet"]) == {"Data"}
    # numbers read back exactly as stored (the float's repr), never as a rounded display
    assert cells["Forest area 1990"].tolist() == ["844185.8099999999", "1e-07"]
    assert cells["Forest area 2000"].tolist() == ["12", "6543.21"]
    assert cells.attrs["columns"] == {"Country": "A", "Forest area 1990": "B", "Forest area 2000": "C"}


def test_xlsx_without_the_footer_declared_the_note_is_a_row(tmp_path):
    from ercan.readers import read_xlsx_cells

    raw = _workbook(tmp_path, _titled_table)
    cells = read_xlsx_cells(raw, _reading(skip_rows=1, header_rows=2), role="book")
    assert cells["Country"].tolist() == ["Angola", "Chad", "Source: FAO"]


def test_xlsx_title_not_skipped_is_a_header_with_values_below_it(tmp_path):
    from ercan.readers import read_xlsx_cells

    def untitled_merge(sheet, workbook):
        sheet.append(["Forest area by country"])
        sheet.append(["Country", "1990", "2000"])
        sheet.append(["Angola", 1, 2])
    raw = _workbook(tmp_path, untitled_merge)
    with pytest.raises(SourceError, match=r"sheet 'Data', row 2, column 'B': has values but no header in row 1\. "
                                          r"Declare `skip_rows` or `header_rows`"):
        read_xlsx_cells(raw, _reading(), role="book")


def test_xlsx_formula_without_cached_value_names_its_cell(tmp_path):
    from ercan.readers import read_xlsx_cells

    def with_formula(sheet, workbook):
        sheet.append(["Country", "1990", "2000"])
        sheet.append(["Angola", 1.5, "=B2*2"])  # openpyxl stores no cached value
    raw = _workbook(tmp_path, with_formula)
    with pytest.raises(SourceError, match=r"file 'book.xlsx', sheet 'Data', row 2, column 'C': "
                                          r"formula '=B2\*2' has no cached value"):
        read_xlsx_cells(raw, _reading(), role="book")


def test_xlsx_every_sheet_is_read_or_skipped_with_why(tmp_path):
    from ercan.readers import read_xlsx_cells

    def with_notes(sheet, workbook):
        sheet.append(["Country", "2000"])
        sheet.append(["Angola", 2])
        workbook.create_sheet("Notes").append(["text only"])
    raw = _workbook(tmp_path, with_notes)
    with pytest.raises(SourceError, match=r"sheet 'Notes': sheet 'Notes' is not declared.*`skip_sheets`"):
        read_xlsx_cells(raw, _reading(), role="book")
    cells = read_xlsx_cells(raw, _reading(skip_sheets={"Notes": "text only"}), role="book")
    assert cells["2000"].tolist() == ["2"]
    with pytest.raises(SourceError, match=r"sheet 'Dta' is missing \(did you mean 'Data'\?\)"):
        read_xlsx_cells(raw, _reading(skip_sheets={"Notes": "text only"}).model_copy(update={"sheet": "Dta"}),
                        role="book")


def test_xlsx_sheets_of_one_layout_and_one_that_differs(tmp_path):
    from ercan.declaration import Reading
    from ercan.readers import read_xlsx_cells

    def three_sheets(sheet, workbook):
        for name, header in (("Data", "Country"), ("More", "Country"), ("Odd", "Land")):
            target = sheet if name == "Data" else workbook.create_sheet(name)
            target.append([header, "2000"])
            target.append([f"{name} row", 1])
    raw = _workbook(tmp_path, three_sheets)
    cells = read_xlsx_cells(raw, Reading(format="xlsx", sheets=["Data", "More"], skip_sheets={"Odd": "another layout"}),
                            role="book")
    assert cells[["Country", "_sheet", "_line"]].values.tolist() == [["Data row", "Data", 2], ["More row", "More", 2]]
    with pytest.raises(SourceError, match=r"sheet 'Odd', row 1, column 'A': header 'Land' differs from the other "
                                          r"sheets' 'Country'"):
        read_xlsx_cells(raw, Reading(format="xlsx", sheets=["Data", "More", "Odd"]), role="book")


def test_xlsx_reading_keys_are_checked_at_load():
    from pydantic import ValidationError

    from ercan.declaration import Reading

    with pytest.raises(ValidationError, match="needs `sheet` \\(one\\) or `sheets`"):
        Reading(format="xlsx")
    with pytest.raises(ValidationError, match="are for `format: xlsx`"):
        Reading(sheet="Data")
    with pytest.raises(ValidationError, match="'Data' is both read and in `skip_sheets`"):
        Reading(format="xlsx", sheet="Data", skip_sheets={"Data": "why"})


def test_xlsx_declared_source_names_the_cell_of_a_bad_value(tmp_path):
    """End to end: a `pattern` group gives the year, and an error names sheet, row and column letter."""
    from ercan.declaration import DeclaredSource

    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "source.yaml").write_text("""id: toy
title: t
publisher: p
license: l
citation: c
inputs:
  book:
    file: book.xlsx
    read: {format: xlsx, sheet: Data, skip_rows: 1, header_rows: 2, footer_rows: 1}
    columns:
      Country: {to: area_code}
    values: [{pattern: 'Forest area (\\d{4})', header: year}]
    set: {variable: area, unit: 1000 ha, area_level: national, land_category: forest_land, flag: reported}
""", encoding="utf-8")
    rows = DeclaredSource(folder).harmonize({"book": _workbook(tmp_path, _titled_table)}).to_pandas()
    assert rows.set_index(["area_code", "year"]).value.to_dict() == {
        ("Angola", 1990): 844185.8099999999 * 1000, ("Angola", 2000): 12_000.0,
        ("Chad", 1990): 1e-07 * 1000, ("Chad", 2000): 6543.21 * 1000}

    def bad_value(sheet, workbook):
        _titled_table(sheet, workbook)
        sheet["C5"] = "n/a"
    with pytest.raises(SourceError, match=r"sheet 'Data', row 5, column 'C \(2000\)': 'n/a' is not a number"):
        DeclaredSource(folder).harmonize({"book": _workbook(tmp_path, bad_value, name="bad.xlsx")})


# --- periods (`Column.parse: year_month / year_range`) and no-value patterns (`Reading.na_pattern`) --
# Every declaration and file of these tests is built here, in the test.

_PERIODS = """inputs:
  table:
    file: table.csv
    read: {{na_pattern: '(?:NA|NO|NE|IE|C)(?:\\s*,\\s*(?:NA|NO|NE|IE|C))*'}}
    columns:
      When: {{to: year, parse: {parse}}}
    values:
      - columns: [Area]
        set: {{variable: area, unit: ha}}
    set: {{area_code: AUT, area_level: national, land_category: forest_land, flag: reported}}
"""


def _periods(tmp_path, parse: str, data: str):
    tmp_path.mkdir(exist_ok=True)  # a test may declare a second source in a folder of its own
    source, files = _declared_source(tmp_path, _PERIODS.format(parse=parse), data)
    return source.harmonize(files).to_pandas()


def test_year_month_gives_the_year(tmp_path):
    rows = _periods(tmp_path, "year_month", "When,Area\n200801,1\n200912,2\n")
    assert rows[["year", "value"]].values.tolist() == [[2008, 1.0], [2009, 2.0]]
    assert rows[["year_start", "year_end"]].isna().all().all()


@pytest.mark.parametrize("cell", ["2008-01", "200813", "200800", "08-01"])
def test_year_month_that_is_no_month_names_line_and_column(tmp_path, cell):
    with pytest.raises(SourceError, match=re.escape(f"file 'table.csv', row 3, column 'When': '{cell}' is not a month "
                                                    "written YYYYMM")):
        _periods(tmp_path, "year_month", f"When,Area\n200801,1\n{cell},2\n")


def test_year_month_keeps_the_month_for_a_hook(tmp_path):
    # two months of one year are two values (a hook aggregating months sees `_month`), not a repeated key
    from ercan.declaration import MONTH

    source, files = _declared_source(tmp_path, _PERIODS.format(parse="year_month"), "When,Area\n200801,1\n200802,2\n")
    long = source._rows("table", source.declaration.inputs["table"], files["table"])
    assert long[["year", MONTH]].values.tolist() == [[2008, 1], [2008, 2]]


@pytest.mark.parametrize("cell", ["2009-2018", "2009\u20132018", "2009 - 2018", "2009/2018"])
def test_year_range_gives_start_end_and_the_last_year(tmp_path, cell):
    rows = _periods(tmp_path, "year_range", f"When,Area\n{cell},1\n")
    assert rows[["year", "year_start", "year_end"]].values.tolist() == [[2018, 2009, 2018]]


def test_a_lone_year_in_a_range_column_is_its_year_only(tmp_path):
    rows = _periods(tmp_path, "year_range", "When,Area\n2015,1\n")
    assert rows.year.tolist() == [2015] and rows[["year_start", "year_end"]].isna().all().all()


def test_year_range_errors_name_line_and_column(tmp_path):
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 2, column 'When': '2009-18' is not a year "
                                                    "or a period of years")):
        _periods(tmp_path, "year_range", "When,Area\n2009-18,1\n")
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 2, column 'When': '2018-2009' is a period "
                                                    "that ends before it starts")):
        _periods(tmp_path / "reversed", "year_range", "When,Area\n2018-2009,1\n")


def test_period_kinds_read_to_year_only(tmp_path):
    from ercan.errors import ConfigError

    with pytest.raises(ConfigError, match=r"`parse: year_range` reads a column to `to: year`"):
        _declared_source(tmp_path, _PERIODS.format(parse="year_range").replace("to: year,", "to: year_end,"), "")


def test_notation_keys_are_no_value_other_text_an_error(tmp_path):
    rows = _periods(tmp_path, "year_range", 'When,Area\n2015,NO\n2016,"NE,IE"\n2017,NA\n2018,C\n2019,5\n')
    assert rows[["year", "value"]].values.tolist() == [[2019, 5.0]]
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 2, column 'Area': 'N/A' is not a number")):
        _periods(tmp_path / "other", "year_range", "When,Area\n2015,N/A\n")


def test_na_pattern_must_be_a_regular_expression():
    from ercan.declaration import Reading

    with pytest.raises(ValueError, match="not a regular expression"):
        Reading(na_pattern="(NA")


def test_headers_equal_once_stripped_name_the_file_line_and_columns():
    from ercan.declaration import Reading
    from ercan.readers import read_csv_cells

    with pytest.raises(SourceError, match=re.escape("file 't.csv', row 2: header 'a' appears more than once "
                                                    "(columns 1 and 2, each header stripped of surrounding spaces)")):
        read_csv_cells("# a note\na,a\u00a0\n1,2\n".encode(), Reading(comment="#"), file="t.csv", role="table")


def test_empty_period_cells_stay_missing():
    from ercan.readers import parse_year_months, parse_year_ranges

    cells, lines = pd.Series(["", None, "200805"], dtype=object), pd.Series([2, 3, 4])
    year, month = parse_year_months(cells, lines, file="t.csv", column="When", role="table")
    assert year.tolist() == [pd.NA, pd.NA, 2008] and month.tolist() == [pd.NA, pd.NA, 5]
    start, end = parse_year_ranges(pd.Series(["", "2009-2018"]), lines[:2], file="t.csv", column="When", role="table")
    assert start.tolist() == [pd.NA, 2009] and end.tolist() == [pd.NA, 2018]


# --- the JSON layout reader (`read: {format: json, records: ..., flatten: [...]}`) ----------------

_INVENTORY = {  # an API dump's layout: Parties, each with rows, each row with cells
    "columns": [{"id": 1, "name": "1990"}],
    "data": [
        {"id": 5, "name": "Austria", "meta": {"group": "Annex I"},
         "rows": [{"name": "4.A", "unitId": 140, "tags": ["a", "b"],
                   "cells": [{"column": 1, "numberValue": 0.1}, {"column": 2, "stringValue": "NO,NE"}]}]},
        {"id": 6, "name": "Belgium", "excluded": True,
         "rows": [{"name": "4.A", "cells": [{"column": 1, "numberValue": 12345678901234567890}]},
                  {"name": "4.G", "unitId": 140, "cells": []}]},
    ],
}


def _json_cells(document, **keys):
    import json

    from ercan.declaration import Reading
    from ercan.readers import read_json_cells

    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return read_json_cells(data, Reading(format="json", **keys), file="t.json", role="table")


def test_json_nested_lists_flatten_to_a_row_per_innermost_item_with_the_fields_above():
    cells = _json_cells(_INVENTORY, records="data", flatten=["rows", "cells"], na_pattern="(?:NO|NE)(?:,(?:NO|NE))*")
    assert set(cells.columns) == {"id", "name", "meta.group", "excluded", "rows.name", "rows.unitId", "rows.tags",
                                  "rows.cells.column", "rows.cells.numberValue", "rows.cells.stringValue", "_line"}
    by_party = cells.where(cells.notna(), None).to_dict("records")
    assert [row["_line"] for row in by_party] == [1, 1, 2]  # the Party's position; 4.G has no cells: no row
    assert [row["rows.cells.numberValue"] for row in by_party] == ["0.1", None, "12345678901234567890"]  # exact
    assert by_party[1]["rows.cells.stringValue"] is None  # a notation key is no value
    assert by_party[0]["meta.group"] == "Annex I" and by_party[0]["rows.tags"] == '["a", "b"]'
    assert by_party[2]["rows.unitId"] is None and by_party[2]["excluded"] == "true"  # absent is missing


def test_json_records_without_flatten_are_one_row_each():
    cells = _json_cells(_INVENTORY, records="columns")
    assert cells.to_dict("records") == [{"id": "1", "name": "1990", "_line": 1}]
    assert _json_cells([{"a": " x "}]).to_dict("records") == [{"a": "x", "_line": 1}]  # the document is the list


def test_json_layout_errors_name_the_record_and_the_declaration_key():
    with pytest.raises(SourceError, match=re.escape("file 't.json': has no 'dta' at the top level (did you mean "
                                                    "'data'?). Declare `records: <dotted path")):
        _json_cells(_INVENTORY, records="dta")
    with pytest.raises(SourceError, match=re.escape("record 1, rows[0] has no list 'cels' (did you mean 'cells'?). "
                                                    "Declare `flatten`")):
        _json_cells(_INVENTORY, records="data", flatten=["rows", "cels"])
    with pytest.raises(SourceError, match=re.escape("record 1, rows[0], tags[0] is text rather than an object. "
                                                    "Declare `records` or `flatten`")):
        _json_cells(_INVENTORY, records="data", flatten=["rows", "tags"])
    with pytest.raises(SourceError, match=re.escape("record 1: 'name' is text rather than a list. Declare `flatten`")):
        _json_cells(_INVENTORY, records="data", flatten=["name"])
    with pytest.raises(SourceError, match=re.escape("file 't.json': is not JSON: Expecting ',' delimiter (line 2")):
        _json_cells(b'{"data": [\n{"a": 1} {"a": 2}]}', records="data")
    with pytest.raises(SourceError, match="is not JSON: NaN is not a JSON value"):
        _json_cells(b'[{"a": NaN}]')
    with pytest.raises(SourceError, match="has no records"):
        _json_cells({"data": []}, records="data")


def test_json_keys_are_for_the_json_format_only():
    from ercan.declaration import Reading

    with pytest.raises(ValueError, match="`records` and `flatten` are for `format: json`"):
        Reading(records="data")


_JSON_SOURCE = """inputs:
  table:
    file: table.csv
    read: {format: json, records: data, flatten: [rows], na_pattern: 'NO'}
    columns:
      code: {to: [area_code, area_level, parent_code], codes: iso3}
      rows.year: {to: year}
    values:
      - columns: [rows.value]
        set: {variable: area, unit: ha}
    set: {land_category: forest_land, flag: reported}
"""


def test_json_declared_source_reads_values_and_names_the_record_of_a_bad_one(tmp_path):
    import json

    data = {"data": [{"code": "AUT", "rows": [{"year": 2000, "value": 1.5}, {"year": 2001, "value": "NO"}]},
                     {"code": "BEL", "rows": [{"year": 2000, "value": 2}]}]}
    source, files = _declared_source(tmp_path, _JSON_SOURCE, json.dumps(data))
    rows = source.harmonize(files).to_pandas()
    assert rows[["area_code", "year", "value"]].values.tolist() == [["AUT", 2000, 1.5], ["BEL", 2000, 2.0]]
    data["data"][1]["rows"][0]["value"] = "1,5"
    (tmp_path / "bad").mkdir()
    source, files = _declared_source(tmp_path / "bad", _JSON_SOURCE, json.dumps(data))
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', column 'rows.value': record 2: '1,5' is not a "
                                                    "number")):
        source.harmonize(files)


# --- a unit read from a column (`to: unit`) ----------------------------------------------------


_UNIT_COLUMN = """inputs:
  table:
    file: table.csv
    columns:
      year: {to: year}
      unit: {to: unit}
    values:
      - columns: [value]
    set: {area_code: WORLD, area_level: global, variable: area, land_category: all, flag: reported}
"""


def test_a_unit_column_converts_each_row_by_its_own_text(tmp_path):
    source, files = _declared_source(tmp_path, _UNIT_COLUMN, "year,value,unit\n2000,2,kha\n2001,3,ha\n")
    rows = source.harmonize(files).to_pandas().sort_values("year")
    assert list(rows.value) == [2000.0, 3.0] and set(rows.unit) == {"ha"}


@pytest.mark.parametrize("unit, problem", [("acres of wood", "unknown unit 'acres of wood'"),
                                           ("t C", "unit 't C' cannot be converted to 'ha'")])
def test_a_unit_column_error_names_the_cell_of_the_unit_and_its_mapping(tmp_path, unit, problem):
    source, files = _declared_source(tmp_path, _UNIT_COLUMN, f"year,value,unit\n2000,2,ha\n2001,3,{unit}\n")
    with pytest.raises(SourceError, match=re.escape(f"file 'table.csv', row 3, column 'unit': {problem}")) as e:
        source.harmonize(files)
    assert "inputs.table.columns.unit.map" in e.value.hint

