"""The layout readers and the declaration keys that drive them (ercan/readers.py, ercan/declaration.py)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ercan.errors import ConfigError, SourceError


# --- area code systems (`Column.codes`) and the unit stated in a title (`Reading.unit_in`) --------
# Every frame, file and source folder of these tests is built here, in the test.


def _declared_source(tmp_path, declaration: str, data: str, **beside: str):
    """A source folder `tmp_path/toy` with `declaration` as its source.yaml and `beside` files (a
    crosswalk, country_names.csv), and its one input `data` as a RawFile of role `table`."""
    import hashlib

    from ercan.declaration import DeclaredSource
    from ercan.sources import RawFile

    folder = tmp_path / "toy"
    folder.mkdir(parents=True)
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
    source, files = _declared_source(tmp_path, _AREAS, "code,2000\nDEU,1\nZWEE,2\nUGX,3\nZWEE,4\n",
                                     codes__csv=_SPECIAL)
    with pytest.raises(SourceError) as error:
        source.harmonize(files)
    assert str(error.value) == (
        "file 'table.csv', row 3, column 'code': unknown ISO 3166-1 alpha-3 codes 'ZWEE' (did you mean 'ZWE'?) "
        "at line 3, 'UGX' (did you mean 'UGA'?) at line 4. After checking what they are: add each, with the reason, "
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
    long = source._rows("table", source.declaration.inputs["table"], files["table"], files)
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


def test_every_unit_that_does_not_convert_is_named_with_its_line(tmp_path):
    """Two bad unit texts (made up here) and a good one: both bad ones named, in the file's order, each
    with its first line; the error's place is the first."""
    text = "year,value,unit\n2000,2,ha\n2001,3,t C\n2002,4,acres of wood\n2003,5,t C\n"
    source, files = _declared_source(tmp_path, _UNIT_COLUMN, text)
    with pytest.raises(SourceError) as e:
        source.harmonize(files)
    assert str(e.value).startswith("file 'table.csv', row 3, column 'unit': unit 't C' cannot be converted to 'ha'")
    assert "(line 3); unknown unit 'acres of wood'" in str(e.value) and "(line 4)" in str(e.value)
    assert "inputs.table.columns.unit.map" in e.value.hint


def test_every_unknown_variable_is_named(tmp_path):
    declaration = _UNIT_COLUMN.replace("variable: area, ", "").replace("      unit: {to: unit}\n",
                                                                        "      unit: {to: unit}\n      what: {to: variable}\n")
    source, files = _declared_source(tmp_path, declaration, "year,value,unit,what\n2000,2,ha,areaa\n2001,3,ha,forest_areas\n")
    with pytest.raises(SourceError, match=r"unknown variables 'areaa' \(did you mean 'area'\?\); 'forest_areas'"):
        source.harmonize(files)



# --- rules on rows (ercan/row_rules.py): `keep`, `repeats`, `read.value_annotation`, `totals` -----
# Every file and source folder below is built here, in the test.

_RULES_TABLE = """inputs:
  table:
    file: table.csv
    columns:
      area: {{to: area_code}}
{columns}    values: [{{pattern: '\\d{{4}}', header: year}}]
    set: {{area_level: national, variable: area, unit: ha, land_category: all, flag: reported}}
{rules}"""
_SECTORS = "area,parent,sector,2000,2001\nAUT,5,5.A,1,2\nAUT,5,5.B,3,\nAUT,1,1.A,x,x\nAUT,all,5.A,1,2\nBEL,all,5.A,7,\n"


def _rules_source(folder, rules: str, data: str, *, sectors: bool = False, **beside: str):
    folder.mkdir(parents=True, exist_ok=True)
    columns = "      sector: {to: category}\n" if sectors else ""
    return _declared_source(folder, _RULES_TABLE.format(columns=columns, rules=rules), data, **beside)


def _rows_with(folder, rules: str, data: str, *, sectors: bool = False, **beside: str):
    source, files = _rules_source(folder, rules, data, sectors=sectors, **beside)
    rows = source.harmonize(files).to_pandas().sort_values(["area_code", "year", "value"])
    return rows[["area_code", "year", "value"]].values.tolist()


def test_keep_reads_the_rows_of_exact_values_a_list_or_a_pattern(tmp_path):
    rules = "    keep: {where: {sector: {pattern: '5\\..*'}, parent: ['5', x], area: AUT}, reason: LULUCF}\n"
    # the `x` cells of sector 1 are never parsed
    assert _rows_with(tmp_path, rules, _SECTORS, sectors=True) == [["AUT", 2000, 1.0], ["AUT", 2000, 3.0],
                                                                     ["AUT", 2001, 2.0]]
    with pytest.raises(SourceError, match=r"file 'table.csv': no row matches the keep rule \{'sector': \{'pattern': "
                                          r".*\} \(LULUCF\)\. If the file is the one meant, update inputs\.table\.keep"):
        _rows_with(tmp_path / "none", rules.replace("AUT}", "DEU}"), _SECTORS, sectors=True)


_REPEATS = ("    keep: {where: {sector: {pattern: '5\\..*'}}, reason: LULUCF}\n"
            "    repeats: [{where: {parent: all}, of: [area, sector], reason: in the national total}]\n")


def test_repeats_are_checked_and_dropped_and_a_row_copying_none_is_read(tmp_path):
    # AUT 5.A under `all` repeats line 2 and is dropped; BEL 5.A under `all` copies no row: it is read
    assert _rows_with(tmp_path, _REPEATS, _SECTORS, sectors=True) == [
        ["AUT", 2000, 1.0], ["AUT", 2000, 3.0], ["AUT", 2001, 2.0], ["BEL", 2000, 7.0]]


@pytest.mark.parametrize(("copy", "reads"), [("2.5", "'2.5'"), ("", "''")])
def test_a_repeat_that_differs_names_both_lines_and_the_cell(tmp_path, copy, reads):
    data = _SECTORS.replace("AUT,all,5.A,1,2", f"AUT,all,5.A,1,{copy}")
    with pytest.raises(SourceError, match=re.escape(
            "file 'table.csv', row 5, column '2001': repeats line 2 ({'area': 'AUT', 'sector': '5.A'}; in the "
            f"national total) but reads {reads} where line 2 reads '2'")):
        _rows_with(tmp_path, _REPEATS, data, sectors=True)


_ANNOTATED = "    read: {value_annotation: '(?P<value>[0-9.]+)\\s*\\((?P<header>\\d{4})\\)'}\n"


def test_value_annotation_reads_the_value_and_checks_its_header(tmp_path):
    assert _rows_with(tmp_path, _ANNOTATED, "area,2000,2001\nAUT,1.5(2000),2 (2001)\n") == [
        ["AUT", 2000, 1.5], ["AUT", 2001, 2.0]]
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 3, column '2001': '2(2000)' is annotated "
                                                    "with year 2000 but sits in the 2001 column")) as e:
        _rows_with(tmp_path / "wrong", _ANNOTATED, "area,2000,2001\nAUT,1,2\nBEL,1,2(2000)\n")
    assert "read.value_annotation under inputs.table" in e.value.hint


def test_value_annotation_needs_a_value_group():
    from pydantic import ValidationError

    from ercan.declaration import Reading

    with pytest.raises(ValidationError, match=r"named group `value`"):
        Reading(value_annotation=r"(?P<number>\d+)\(\d{4}\)")


_SHARES = """    totals:
      - columns: ['2000', '2001']
        total: {total}
        tolerance: 0.01
        shares: true
        exceptions: rounded.csv
"""
_ROUNDED = "area,note\nCHE,20 + 79: rounded apart\n"


def test_totals_add_up_within_the_tolerance_except_the_reviewed_rows(tmp_path):
    data = "area,2000,2001,all\nAUT,40,60.005,100\nBEL,40,59,99\nCHE,20,79,100\n"
    # `all` states each row's total; AUT is within the tolerance, CHE a reviewed exception
    assert len(_rows_with(tmp_path / "a", _SHARES.format(total="all"), data, rounded__csv=_ROUNDED)) == 6
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 3, column '2000-2001': 2000 + 2001 of "
                                                    "{'area': 'BEL'} add up to 99, not 100")) as e:
        _rows_with(tmp_path / "b", _SHARES.format(total=100), data, rounded__csv=_ROUNDED)
    assert "list it with why in rounded.csv" in e.value.hint


def test_totals_shares_lie_within_the_total_and_exceptions_give_why(tmp_path):
    from ercan.errors import ConfigError

    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 2, column '2000': share -5 is not between "
                                                    "0 and 100")):
        _rows_with(tmp_path / "a", _SHARES.format(total=100), "area,2000,2001\nAUT,-5,105\n", rounded__csv=_ROUNDED)
    with pytest.raises(ConfigError, match=r"rounded.csv: needs the columns telling the rows apart and a `note`"):
        _rows_with(tmp_path / "b", _SHARES.format(total=100), "area,2000,2001\nAUT,5,95\n", rounded__csv="area\nAUT\n")


# --- months and periods (`parse: month_number`, two columns of one field, `annual`, `named_for`,
# `Values.periods`, `drop_values`) and units stated by a companion file (`units_stated_by`) -------
# Every declaration, crosswalk and file of these tests is built here, in the test.

_MONTHLY = """inputs:
  table:
    file: table.csv
{named}    columns:
      Date: {{to: year, parse: year_month}}
      ID: {{to: year, parse: month_number, first_month: 200101}}
    values:
      - columns: [GPP]
        set: {{variable: gpp, unit: g C/m2/d}}
    set: {{area_code: DE-Hai, area_level: site, land_category: all, flag: derived}}
{annual}"""


def _sub(tmp_path, name: str):
    (tmp_path / name).mkdir()
    return tmp_path / name


def _monthly(folder, data: str, *, statistic: str | None = "mean", named: str = "", name: str = "table.csv"):
    folder.mkdir(parents=True, exist_ok=True)
    annual = f"    annual: {{statistic: {statistic}}}\n" if statistic else ""
    source, files = _declared_source(folder, _MONTHLY.format(annual=annual, named=named), data)
    if name != "table.csv":  # the landing file under another name
        (folder / "table.csv").rename(folder / name)
        raw = files["table"]
        files = {"table": type(raw)(raw.role, name, raw.sha256, lambda: open(folder / name, "rb"))}
    return source.harmonize(files).to_pandas()


def _year(year: int, value=lambda month: month) -> str:
    """The 12 monthly rows of `year` (ID counted from 2001-01), GPP = value(month)."""
    return "".join(f"{12 * (year - 2001) + m},{year}{m:02d},{value(m)}\n" for m in range(1, 13))


def test_month_numbers_agree_with_their_dates_and_years_are_day_weighted_means(tmp_path):
    import calendar

    data = "ID,Date,GPP\n" + _year(2008) + _year(2009)[:-len(_year(2009).splitlines()[-1]) - 1]  # 2009: 11 months
    rows = _monthly(tmp_path / "mean", data)
    days = [calendar.monthrange(2008, m)[1] for m in range(1, 13)]  # a leap year
    assert rows.year.tolist() == [2008]  # 2009 lacks December: left out
    assert rows.value.iloc[0] == pytest.approx(sum(m * d for m, d in zip(range(1, 13), days)) / 366, rel=1e-14)
    total = _monthly(tmp_path / "sum", "ID,Date,GPP\n" + _year(2008), statistic="sum")
    assert total.value.tolist() == [78.0]  # 1 + 2 + ... + 12


def test_without_annual_the_months_stay_rows(tmp_path):
    rows = _monthly(tmp_path, "ID,Date,GPP\n85,200801,1\n86,200802,2\n", statistic=None)
    assert rows.year.tolist() == [2008, 2008] and rows.value.tolist() == [1.0, 2.0]


def test_two_columns_of_one_field_must_agree(tmp_path):
    with pytest.raises(SourceError, match=re.escape(
            "file 'table.csv', row 3, column 'ID': '87' gives year 2008, month 3, but column 'Date' ('200802') gives "
            "year 2008, month 2")) as e:
        _monthly(tmp_path / "a", "ID,Date,GPP\n85,200801,1\n87,200802,2\n")
    assert e.value.hint.startswith("Both columns state year, month") and "`first_month`" in e.value.hint
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 2, column 'ID': '' gives no value, but "
                                                    "column 'Date' ('200801') gives year 2008, month 1")):
        _monthly(tmp_path / "b", "ID,Date,GPP\n,200801,1\n")
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 2, column 'Date': has no month")):
        _monthly(tmp_path / "c", "ID,Date,GPP\n,,1\n")
    with pytest.raises(SourceError, match=re.escape("row 2, column 'ID': 85.5 is not a month number")):
        _monthly(tmp_path / "d", "ID,Date,GPP\n85.5,200801,1\n")


def test_a_country_named_and_coded_must_be_one_country(tmp_path):
    declaration = _AREAS.replace(
        "      code: {to: [area_code, area_level, parent_code], codes: iso3, crosswalk: codes.csv, key: code}\n",
        "      code: {to: [area_code, area_level, parent_code], codes: iso3}\n"
        "      name: {to: [area_code, area_level, parent_code], codes: country_name}\n")
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 3, column 'name': 'France' gives area_code "
                                                    "FRA, area_level national, but column 'code' ('DEU') gives "
                                                    "area_code DEU, area_level national")):
        source, files = _declared_source(tmp_path, declaration, "code,name,2000\nDEU,Germany,1\nDEU,France,2\n")
        source.harmonize(files)


def test_a_file_named_for_another_id_is_refused(tmp_path):
    named = "    named_for: {pattern: '[A-Z]{2}-[A-Za-z0-9]{3}', value: DE-Hai, what: FLUXNET site}\n"
    data = "ID,Date,GPP\n85,200801,1\n"
    assert len(_monthly(tmp_path / "a", data, statistic=None, named=named, name="validation_DE-Hai.csv")) == 1
    assert len(_monthly(tmp_path / "b", data, statistic=None, named=named, name="monthly.csv")) == 1  # names no site
    with pytest.raises(SourceError, match=re.escape("file 'validation_DE-Tha.csv': is named for FLUXNET site 'DE-Tha', "
                                                    "but the declaration reads FLUXNET site 'DE-Hai'")) as e:
        _monthly(tmp_path / "c", data, statistic=None, named=named, name="validation_DE-Tha.csv")
    assert "inputs.table.named_for.value" in e.value.hint


def test_monthly_keys_are_checked_at_load(tmp_path):
    from ercan.errors import ConfigError

    with pytest.raises(ConfigError, match=r"`first_month` \(YYYYMM of month 1\) goes with `parse: month_number`"):
        _declared_source(_sub(tmp_path, "a"), _MONTHLY.format(annual="", named="").replace(", first_month: 200101", ""), "")
    with pytest.raises(ConfigError, match=r"`first_month` \(YYYYMM of month 1\)"):
        _declared_source(_sub(tmp_path, "m"), _MONTHLY.format(annual="", named="").replace("200101", "200113"), "")
    with pytest.raises(ConfigError, match=r"named_for.pattern: Input should be a valid regular expression"):
        _declared_source(_sub(tmp_path, "r"), _MONTHLY.format(
            annual="", named="    named_for: {pattern: '[A-Z', value: DE-Hai, what: site}\n"), "")
    no_month = _MONTHLY.format(annual="    annual: {statistic: mean}\n", named="").replace(", parse: year_month", "")
    no_month = no_month.replace("      ID: {to: year, parse: month_number, first_month: 200101}\n", "")
    with pytest.raises(ConfigError, match=r"`annual` makes years of months"):
        _declared_source(_sub(tmp_path, "b"), no_month, "")


_RATES = """inputs:
  table:
    file: table.csv
    columns:
      Entity: {to: area_code}
      Year: {to: year}
    values:
      - columns: [Area]
        set: {variable: area, unit: 1000 ha}
      - columns: [Loss]
        periods: periods.csv
        set: {variable: deforestation, unit: 1000 ha/yr}
    set: {area_level: national, land_category: forest_land, flag: reported}
"""
_PERIOD_TABLE = "year,year_start,year_end,note\n1990,1990,2000,filed under its first year\n2000,2000,2010,\n"


def test_rates_get_the_period_their_year_stands_for(tmp_path):
    source, files = _declared_source(tmp_path, _RATES, "Entity,Year,Area,Loss\nAUT,1990,1,2\nAUT,2000,3,\n",
                                     periods__csv=_PERIOD_TABLE)
    rows = source.harmonize(files).to_pandas().set_index("variable")
    assert rows.loc["deforestation", ["year", "year_start", "year_end"]].tolist() == [2000, 1990, 2000]
    assert rows.loc["area", "year"].tolist() == [1990, 2000]  # the area block declares no periods
    assert rows.loc["area", ["year_start", "year_end"]].isna().all().all()


def test_a_year_the_period_table_lacks_is_an_error_even_without_a_value(tmp_path):
    source, files = _declared_source(tmp_path, _RATES, "Entity,Year,Area,Loss\nAUT,1990,1,2\nAUT,2020,3,\n",
                                     periods__csv=_PERIOD_TABLE)
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 3, column 'Year': year 2020 is none of the "
                                                    "years of periods.csv (1990, 2000)")) as e:
        source.harmonize(files)
    assert "add its year, year_start and year_end" in e.value.hint


def test_drop_values_by_their_fields_with_the_reviewed_count(tmp_path):
    drop = ("    drop_values:\n      - where: {variable: area, year: '2000'}\n"
            "        reason: the area of another year\n        count: %d\n")
    data = "Entity,Year,Area,Loss\nAUT,1990,1,2\nAUT,2000,3,4\n"
    source, files = _declared_source(_sub(tmp_path, "a"), _RATES + drop % 1, data, periods__csv=_PERIOD_TABLE)
    rows = source.harmonize(files).to_pandas()
    assert sorted(zip(rows.variable, rows.year)) == [("area", 1990), ("deforestation", 2000), ("deforestation", 2010)]
    source, files = _declared_source(_sub(tmp_path, "b"), _RATES + drop % 2, data, periods__csv=_PERIOD_TABLE)
    with pytest.raises(SourceError, match=re.escape("1 values match the drop_values rule {'variable': 'area', 'year': "
                                                    "'2000'} (the area of another year), the declaration expects 2")):
        source.harmonize(files)


_STATED = """    units_stated_by:
      input: package
      stated: [display.unit, display.factor]
      units:
        1000 ha: [hectares, 1000]
        1000 ha/yr: [hectares per year, 1000]
  package:
    file: datapackage.json
    read: {format: companion}
"""


def _package(**units) -> str:
    import json

    fields = [{"name": name, "display": json.dumps({"unit": unit, "factor": 1000})} for name, unit in units.items()]
    return json.dumps({"resources": [{"path": "table.csv", "schema": {"fields": [{"name": "Entity"}, *fields]}}]})


def _with_package(tmp_path, package: str, declaration: str = _RATES + _STATED):
    import hashlib

    from ercan.sources import RawFile

    source, files = _declared_source(tmp_path, declaration, "Entity,Year,Area,Loss\nAUT,1990,1,2\n",
                                     periods__csv=_PERIOD_TABLE)
    path = tmp_path / "datapackage.json"
    path.write_text(package, encoding="utf-8")
    files["package"] = RawFile("package", path.name, hashlib.sha256(package.encode()).hexdigest(),
                               lambda: open(path, "rb"))
    return source.harmonize(files).to_pandas()


def test_units_stated_by_a_datapackage_are_checked_per_field(tmp_path):
    assert len(_with_package(_sub(tmp_path, "a"), _package(Area="hectares", Loss="hectares per year"))) == 2
    with pytest.raises(SourceError, match=re.escape(
            "file 'datapackage.json', column 'Loss': field 'Loss' states display.unit 'km2 per year', display.factor "
            "1000, but the declaration reads its values as '1000 ha/yr' (stated as 'hectares per year', 1000)")) as e:
        _with_package(_sub(tmp_path, "b"), _package(Area="hectares", Loss="km2 per year"))
    assert "inputs.table.units_stated_by.units" in e.value.hint
    with pytest.raises(SourceError, match=re.escape("column 'Loss': field 'Loss' is not described at "
                                                    "resources.schema.fields (did you mean 'Losses'?)")):
        _with_package(_sub(tmp_path, "c"), _package(Area="hectares", Losses="hectares per year"))
    with pytest.raises(SourceError, match=re.escape("column 'Area': field 'Area' is not described at "
                                                    "resources.schema.fields")):
        _with_package(_sub(tmp_path, "d"), '{"resources": {}}')
    with pytest.raises(SourceError, match=re.escape("file 'datapackage.json': is not JSON")):
        _with_package(_sub(tmp_path, "e"), "<html>Not Found</html>")


def test_units_stated_by_is_checked_at_load(tmp_path):
    from ercan.errors import ConfigError

    with pytest.raises(ConfigError, match=r"`units_stated_by.units` says nothing of '1000 ha/yr', the unit of 'Loss'"):
        _with_package(_sub(tmp_path, "a"), "", _RATES + _STATED.replace("        1000 ha/yr: [hectares per year, 1000]\n", ""))
    with pytest.raises(ConfigError, match=r"'package' is no input declared with `read: \{format: companion\}`"):
        _with_package(_sub(tmp_path, "b"), "", _RATES + _STATED.replace("{format: companion}", "{format: hook}"))


_LABELLED = """inputs:
  table:
    file: table.csv
    occurrence: {of: [land, sub]}
    columns:
      sub: {to: [category, land_category], crosswalk: rows.csv, key: [land, sub, occurrence]}
    drop: [{where: {sub: b, occurrence: '2'}, reason: an area-only repeat, count: 1, only_values_in: [area]}]
    values:
      - {columns: [area], set: {variable: area, unit: ha, flag: reported}}
      - columns: [mineral, organic]
        add: true
        set: {variable: carbon_stock_change, pool: soil, unit: t C/yr, flag: reported}
    set: {area_code: AUT, area_level: national, year: 2017}
"""
_ROWS = ("land,sub,occurrence,category,land_category,note\nforest,a,1,X:a,forest_land,n\nforest,b,1,X:b,forest_land,n\n"
         "forest,b,2,,,dropped\n")


def test_rows_labelled_alike_are_told_apart_by_occurrence_and_parts_add_up(tmp_path):
    source, files = _declared_source(tmp_path, _LABELLED, "land,sub,area,mineral,organic\nforest,a,1,-2,-0.5\n"
                                     "forest,b,3,-4,\nforest,b,5,,\n", rows__csv=_ROWS)
    rows = source.harmonize(files).to_pandas().sort_values(["category", "variable"])
    assert rows[["category", "variable", "value", "flag"]].values.tolist() == [
        ["X:a", "area", 1.0, "reported"], ["X:a", "carbon_stock_change", -2.5, "derived"],
        ["X:b", "area", 3.0, "reported"], ["X:b", "carbon_stock_change", -4.0, "reported"]]  # line 4 dropped


@pytest.mark.parametrize(("data", "message"), [
    ("forest,a,1,,\nforest,bb,3,,\nforest,b,5,,\n",
     "row 3, column 'sub': unknown sub 'bb' of {'land': 'forest'} (did you mean 'b'?), not in rows.csv"),
    ("forest,a,1,,\nforest,b,3,,\nforest,b,5,,\nforest,b,6,,\n",
     "row 5, column 'occurrence': unknown occurrence '3' of {'land': 'forest', 'sub': 'b'}"),
    ("forest,a,1,,\nforest,b,3,,\nforest,b,5,1,\n",
     "row 4, column 'mineral': the drop rule {'sub': 'b', 'occurrence': '2'} (an area-only repeat) leaves out this "
     "row, reviewed as holding values in ['area'] only, but it holds '1'"),
])
def test_a_row_the_crosswalk_lacks_or_a_dropped_row_with_a_value_is_named(tmp_path, data, message):
    source, files = _declared_source(tmp_path, _LABELLED, "land,sub,area,mineral,organic\n" + data, rows__csv=_ROWS)
    with pytest.raises(SourceError, match=re.escape(f"file 'table.csv', {message}")):
        source.harmonize(files)


def test_a_crosswalk_value_outside_its_fields_vocabulary_names_the_crosswalk_line(tmp_path):
    from ercan.errors import ConfigError

    source, files = _declared_source(tmp_path, _LABELLED, "land,sub,area,mineral,organic\nforest,a,1,,\n",
                                     rows__csv=_ROWS.replace("X:b,forest_land", "X:b,forest"))
    with pytest.raises(ConfigError, match=re.escape("rows.csv, line 3: unknown land_category 'forest' (did you mean "
                                                    "'forest_land'?)")):
        source.harmonize(files)


# --- a workbook table's own layout: `skip_columns`, `unnamed_columns`, `formula_flag`, a column's
# `join`, `pattern` and `legend`. Every workbook is built here, in the test, with openpyxl; the
# formula cells given a cached value are rewritten in its XML as a calculating program saves them.

_STOCKS = """id: toy
title: t
publisher: p
license: l
citation: c
product: reference_factors
inputs:
  book:
    file: book.xlsx
    read:
      format: xlsx
      sheet: Data
      skip_sheets: {{Legend: "the zones' legend, checked by the Zone column"}}
      skip_columns: {{{skipped}: a formula of the others}}
      unnamed_columns: letter
      formula_flag: derived
    columns:
      Biome: {{to: stratum}}
      Code: {{to: stratum, join: ": ", pattern: '[A-Za-z]+'}}
      Zone:
        to: climatic_domain
        crosswalk: zones.csv
        key: id
        legend: {{sheet: Legend, cells: 'A1:B2', columns: [id, name]}}
    values: [{{columns: [Stock], set: {{pool: agb}}}}]
    drop: [{{where: {{F: {{pattern: '.+'}}}}, reason: values by groups of states, count: 1}}]
    set: {{parameter: carbon_density, unit: t C/ha, reference: r, flag: reported}}
"""
_ZONES = "id,name,climatic_domain\n1,tropical wet,tropical\n2,boreal,boreal\n"


def _stocks(tmp_path, *, code: str = "Sd", legend: str = "boreal", skipped: str = "ID"):
    """A source reading a sheet whose ID column is a formula saved without calculating, whose Stock
    is once a calculated formula, and whose last row goes on in F:G without a header."""
    import hashlib
    import zipfile

    from ercan.declaration import DeclaredSource
    from ercan.sources import RawFile

    def fill(sheet, workbook):
        sheet.append(["Biome", "Code", "ID", "Zone", "Stock"])
        sheet.append(["Cerrado", "Sa", "=1+1", 1, 5])
        sheet.append(["Cerrado", code, "=1+2", 2, "=2*3"])
        sheet.append(["Pampa", "Ep", "=1+3", 1, 7, "PR/SP", 8])
        legend_sheet = workbook.create_sheet("Legend")
        legend_sheet.append([1, "tropical wet"])
        legend_sheet.append([2, legend])
    raw = _workbook(tmp_path, fill)
    path = tmp_path / raw.name
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b"<f>2*3</f><v />", b"<f>2*3</f><v>6</v>")
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "source.yaml").write_text(_STOCKS.format(skipped=skipped), encoding="utf-8")
    (folder / "zones.csv").write_text(_ZONES, encoding="utf-8")
    return DeclaredSource(folder), {"book": RawFile(raw.role, raw.name, hashlib.sha256(path.read_bytes()).hexdigest(),
                                                    lambda: open(path, "rb"))}


def test_a_tables_skipped_unnamed_and_formula_columns_joined_strata_and_legend(tmp_path):
    source, files = _stocks(tmp_path)
    rows = source.harmonize(files).to_pandas()
    # ID (formulas without a cached value) is never read; the row going on in F:G is dropped by its F
    assert rows[["stratum", "climatic_domain", "value", "flag"]].values.tolist() == [
        ["Cerrado: Sa", "tropical", 5.0, "reported"], ["Cerrado: Sd", "boreal", 6.0, "derived"]]


@pytest.mark.parametrize(("edit", "message"), [
    ({"code": "1a"}, "sheet 'Data', row 3, column 'B (Code)': '1a' does not match `pattern: [A-Za-z]+`"),
    ({"legend": "boreal forest"}, "sheet 'Legend', row 1, column 'A': the legend in A1:B2 reads [('2', 'boreal forest')] "
                                  "where zones.csv has [('2', 'boreal')]"),
    ({"skipped": "IDs"}, "sheet 'Data', row 1: has no column 'IDs' to skip (did you mean 'ID'?)"),
])
def test_a_tables_layout_keys_name_what_differs(tmp_path, edit, message):
    source, files = _stocks(tmp_path, **edit)
    with pytest.raises(SourceError, match=re.escape(f"file 'book.xlsx', {message}")):
        source.harmonize(files)


def test_join_needs_an_earlier_column_and_formula_flag_a_flag():
    from pydantic import ValidationError

    from ercan.declaration import Input, Reading

    with pytest.raises(ValidationError, match="column 'Code' joins onto 'stratum', which no column before it gives"):
        Input(file="f.csv", columns={"Code": {"to": "stratum", "join": ": "}}, values=[{"columns": ["v"]}])
    with pytest.raises(ValidationError, match=r"unknown flag 'derive' \(did you mean 'derived'\?\)"):
        Reading(format="xlsx", sheet="Data", formula_flag="derive")


# --- ids looked up in another input's table (`Column.lookup`), subdivision names (`codes:
# subdivision_name`) and survey rounds (`Input.rounds`); every file is built here, in the test

_LOOKUP = """inputs:
  table:
    file: table.csv
    columns:
      id: {{to: [area_code, area_level, parent_code], lookup: {{input: names, key: code, value: name{more}}}, codes: iso3}}
    values: [{{columns: ['2000'], header: year}}]
    set: {{variable: area, unit: ha, land_category: forest_land, flag: reported}}
  names:
    file: names.csv
"""


def _two_files(tmp_path, declaration: str, table: str, names: str, **beside: str):
    """The rows of a source whose input `table` (table.csv) looks its ids up in `names` (names.csv)."""
    import hashlib

    from ercan.sources import RawFile

    tmp_path.mkdir(parents=True, exist_ok=True)
    source, files = _declared_source(tmp_path, declaration, table, **beside)
    path = tmp_path / "names.csv"
    path.write_text(names, encoding="utf-8")
    files["names"] = RawFile("names", path.name, hashlib.sha256(path.read_bytes()).hexdigest(), lambda: open(path, "rb"))
    rows = source.harmonize(files).to_pandas().sort_values("area_code")
    return rows[["area_code", "area_level", "year", "value"]].values.tolist()


def test_lookup_reads_each_id_as_the_other_tables_value_through_the_code_system(tmp_path):
    # the looked-up table gives no rows of its own; its name column goes through `codes: iso3`
    assert _two_files(tmp_path, _LOOKUP.format(more=""), "id,2000\n2,6\n1,5\n", "code,name\n1,AUT\n2,BEL\n") == [
        ["AUT", "national", 2000, 5.0], ["BEL", "national", 2000, 6.0]]


def test_lookup_errors_name_both_files_and_the_tables_own_lines(tmp_path):
    declaration = _LOOKUP.format(more="")
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 3, column 'id': id '3' is not in column "
                                                    "'code' of 'names.csv', which lists 2 ids ('1' … '2')")) as e:
        _two_files(tmp_path / "a", declaration, "id,2000\n1,5\n3,6\n", "code,name\n1,AUT\n2,BEL\n")
    assert "Ingest the names table of the same export as 'table.csv'" in e.value.hint
    with pytest.raises(SourceError, match=re.escape("file 'names.csv', row 3, column 'code': id '1' appears again "
                                                    "(first at line 2)")):
        _two_files(tmp_path / "b", declaration, "id,2000\n1,5\n", "code,name\n1,AUT\n1,BEL\n")
    with pytest.raises(SourceError, match=re.escape("file 'names.csv', row 3, column 'name': empty cell")):
        _two_files(tmp_path / "c", declaration, "id,2000\n1,5\n", "code,name\n1,AUT\n2,\n")
    with pytest.raises(SourceError, match=re.escape("file 'names.csv', row 3, column 'code': empty cell")):
        _two_files(tmp_path / "e", declaration, "id,2000\n1,5\n", "code,name\n1,AUT\n,BEL\n")
    # an unused row of the table is read too: its value is checked where it is written
    with pytest.raises(SourceError, match=re.escape("file 'names.csv', row 3, column 'name': unknown ISO 3166-1 "
                                                    "alpha-3 code 'BEX'")):
        _two_files(tmp_path / "d", declaration, "id,2000\n1,5\n", "code,name\n1,AUT\n2,BEX\n")


def test_a_looked_up_table_has_no_layout_to_fit(tmp_path):
    # no file fits it (it would fit any file otherwise): its columns are checked when it is looked up
    import hashlib

    from ercan.sources import RawFile

    source, files = _declared_source(tmp_path, _LOOKUP.format(more=""), "id,2000\n1,5\n")
    names = tmp_path / "names.csv"
    names.write_text("code,name\n1,AUT\n", encoding="utf-8")
    raw = RawFile("names", names.name, hashlib.sha256(names.read_bytes()).hexdigest(), lambda: open(names, "rb"))
    assert not source.fits("names", raw) and source.misfit("names", files["table"]) is None


def test_lookup_one_to_one_refuses_two_ids_of_one_area(tmp_path):
    with pytest.raises(SourceError, match=re.escape("file 'names.csv', row 3, column 'name': 'AUT' gives "
                                                    "{'area_code': 'AUT', 'area_level': 'national'}, as 'AUT' at line 2 "
                                                    "does")):
        _two_files(tmp_path, _LOOKUP.format(more=", one_to_one: true"), "id,2000\n1,5\n", "code,name\n1,AUT\n2,AUT\n")


@pytest.mark.parametrize(("names", "message"), [
    ("    values: [{columns: ['2000']}]\n", "`lookup` names 'names', which is no input read as a plain table"),
    ("", "inputs.names: declare `values`, except for a file read by the hook"),
])
def test_lookup_names_an_input_read_as_a_plain_table(names, message):
    from ercan.declaration import Declaration

    declaration = ("id: toy\ntitle: t\npublisher: p\nlicense: l\ncitation: c\n"
                   + _LOOKUP.format(more="") + names)
    if not names:  # the table no column looks up
        declaration = declaration.replace("lookup: {input: names, key: code, value: name}, ", "")
    import yaml

    with pytest.raises(ValueError, match=re.escape(message)):
        Declaration.model_validate(yaml.safe_load(declaration))


_STATES = """inputs:
  table:
    file: table.csv
    columns:
      state: {to: [area_code, area_level, parent_code], codes: subdivision_name, subdivisions: {country: US, types: [State, District]%s}}
    values: [{columns: ['2000'], header: year}]
    set: {variable: area, unit: ha, land_category: forest_land, flag: reported}
"""


def test_subdivision_names_of_one_country_and_its_declared_types(tmp_path):
    rows = _rows_of(tmp_path / "a", _STATES % ", names: pinned.csv", "state,2000\nAlabama,1\nWashington DC,2\n",
                    pinned__csv="name,iso_3166_2,note\nWashington DC,US-DC,the file's spelling\n")
    assert rows[["area_code", "area_level", "parent_code"]].values.tolist() == [
        ["US-AL", "subnational", "USA"], ["US-DC", "subnational", "USA"]]
    # Puerto Rico is a US subdivision of type Outlying area, not a State or District
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 2, column 'state': unknown subdivision "
                                                    "name 'Puerto Rico'")) as e:
        _rows_of(tmp_path / "b", _STATES % "", "state,2000\nPuerto Rico,1\n")
    assert "a CSV declared as `subdivisions: {names: <file>}`" in e.value.hint


def test_subdivision_names_csv_is_checked_against_pycountry(tmp_path):
    from pydantic import ValidationError

    from ercan.declaration import Column
    from ercan.errors import ConfigError

    with pytest.raises(ValidationError, match=re.escape("`codes: subdivision_name` goes with `subdivisions`")):
        Column(to="area_code", codes="subdivision_name")

    with pytest.raises(ConfigError, match=re.escape("pinned.csv, line 3: 'Guam' -> 'US-GU' is no ISO 3166-2 "
                                                    "subdivision of US of the types ['State', 'District']")):
        _rows_of(tmp_path, _STATES % ", names: pinned.csv", "state,2000\nAlabama,1\n",
                 pinned__csv="name,iso_3166_2,note\nWashington DC,US-DC,x\nGuam,US-GU,x\n")
    with pytest.raises(ConfigError, match=re.escape("pinned.csv, line 3: 'Washington DC' is listed twice")):
        _rows_of(tmp_path / "twice", _STATES % ", names: pinned.csv", "state,2000\nAlabama,1\n",
                 pinned__csv="name,iso_3166_2,note\nWashington DC,US-DC,x\nWashington DC,US-DC,y\n")


def _rows_of(folder, declaration: str, data: str, **beside: str) -> pd.DataFrame:
    folder.mkdir(parents=True, exist_ok=True)
    source, files = _declared_source(folder, declaration, data, **beside)
    return source.harmonize(files).to_pandas().sort_values(["area_code", "year", "variable"]).reset_index(drop=True)


_ROUNDS = """inputs:
  table:
    file: table.csv
    columns:
      year: {to: year}
    values: [{columns: [area], set: {variable: area, unit: ha}}, {columns: [cover], set: {variable: forest_cover, unit: '%'}}]
    set: {area_code: AUT, area_level: national, land_category: forest_land, flag: reported}
    rounds: {table: rounds.csv{more}}
"""
_ROUND_TABLE = "round,first_year,last_year,note\nI,2001,2003,first\nII,2004,2005,second\n"


def test_rounds_keep_one_result_per_round_at_its_last_year(tmp_path):
    data = "year,area,cover\n2001,10,40\n2002,10,40\n2003,10,40\n2004,12,41\n2005,12,41\n2006,12,41\n"
    rows = _rows_of(tmp_path, _ROUNDS.replace("{more}", ", carried_forward: true"), data, rounds__csv=_ROUND_TABLE)
    assert rows[["year", "variable", "value"]].values.tolist() == [
        [2003, "area", 10.0], [2003, "forest_cover", 40.0], [2005, "area", 12.0], [2005, "forest_cover", 41.0]]


def test_rounds_errors_name_both_lines_or_the_year(tmp_path):
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 3, column 'cover': the value of 2002 "
                                                    "differs from that of 2001 (line 2), in round I (2001-2003) of "
                                                    "rounds.csv: a round's years repeat one result")):
        _rows_of(tmp_path / "a", _ROUNDS.replace("{more}", ""), "year,area,cover\n2001,10,40\n2002,10,39\n", rounds__csv=_ROUND_TABLE)
    # without `carried_forward`, a year after the last round is in none
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 3, column 'year': year 2006 is in no round "
                                                    "of rounds.csv (I: 2001-2003, II: 2004-2005)")) as e:
        _rows_of(tmp_path / "b", _ROUNDS.replace("{more}", ""), "year,area,cover\n2005,12,41\n2006,12,41\n", rounds__csv=_ROUND_TABLE)
    assert "in rounds.csv (inputs.table.rounds)" in e.value.hint
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 3, column 'area': the value of 2006 differs "
                                                    "from that of 2005 (line 2), carried forward from round II "
                                                    "(2004-2005) of rounds.csv")):
        _rows_of(tmp_path / "c", _ROUNDS.replace("{more}", ", carried_forward: true"), "year,area,cover\n2005,12,41\n2006,13,41\n",
                 rounds__csv=_ROUND_TABLE)


def test_rounds_table_lists_each_round_once_without_overlap(tmp_path):
    from ercan.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape("rounds.csv: rounds are listed once each, and their years")):
        _rows_of(tmp_path, _ROUNDS.replace("{more}", ""), "year,area,cover\n2001,10,40\n",
                 rounds__csv="round,first_year,last_year\nI,2001,2004\nII,2004,2005\n")


# --- JSON: ids named by another list of the document, typed cells (`ids`, `one_of`, `types`) ----


_TYPED_CELLS = {"columns": [{"id": 1, "name": "1990"}, {"id": 2, "name": "Last year (1991)"}],
                "data": [{"name": "Austria", "rows": [{"cells": [{"column": 1, "numberValue": 0.5},
                                                                 {"column": 2, "stringValue": "NO"}]}]}]}
_TYPED = {"records": "data", "flatten": ["rows", "cells"], "ids": {"rows.cells.column": {"list": "columns"}},
          "one_of": ["rows.cells.numberValue", "rows.cells.stringValue"],
          "types": {"rows.cells.numberValue": "number", "rows.cells.stringValue": "text"}}


def _typed_cells(change=None):
    import copy

    document = copy.deepcopy(_TYPED_CELLS)
    if change:
        change(document)
    return _json_cells(document, **_TYPED)


def test_json_ids_read_as_the_names_another_list_gives_them():
    cells = _typed_cells()
    assert cells["rows.cells.column"].tolist() == ["1990", "Last year (1991)"]
    assert cells["rows.cells.numberValue"].tolist() == ["0.5", None]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["data"][0]["rows"][0]["cells"][0].update(column=9),
     "file 't.json', column 'rows.cells.column': record 1: rows.cells.column 9 is no id of `columns`"),
    (lambda d: d["columns"][1].update(id=1), "file 't.json', column 'id': `columns` item 2 lists the id again"),
    (lambda d: d["columns"][1].pop("name"), "file 't.json', column 'id': `columns` item 2 has no 'id' and 'name'"),
    (lambda d: d["data"][0]["rows"][0]["cells"][0].update(stringValue="NO"),
     "column 'rows.cells.numberValue': record 1, rows[0], cells[0] has numberValue and stringValue: an item has "
     "exactly one of them"),
    (lambda d: d["data"][0]["rows"][0]["cells"][1].pop("stringValue"),
     "column 'rows.cells.numberValue': record 1, rows[0], cells[1] has none of numberValue, stringValue"),
    (lambda d: d["data"][0]["rows"][0]["cells"][0].update(numberValue="0.5"),
     "column 'rows.cells.numberValue': record 1, rows[0], cells[0]: numberValue is \"0.5\", not a number"),
    (lambda d: d["data"][0]["rows"][0]["cells"][1].update(stringValue=None),
     "column 'rows.cells.stringValue': record 1, rows[0], cells[1]: stringValue is null, not text"),
])
def test_json_an_unknown_id_or_a_cell_of_another_type_is_named(change, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        _typed_cells(change)


def test_json_typed_fields_are_those_of_the_innermost_items():
    from ercan.declaration import Reading

    with pytest.raises(ValueError, match=re.escape("`one_of` and `types` name fields of the innermost items "
                                                   "(rows.cells.<field>), not 'rows.unitId'")):
        Reading(format="json", flatten=["rows", "cells"], types={"rows.unitId": "number"})
    with pytest.raises(ValueError, match="`ids`, `one_of` and `types` are for `format: json`"):
        Reading(one_of=["a", "b"])


# --- classes of a condition: in headers (`values: [{classes: true}]`) or rows (`classes_of`); a shared
# crosswalk as a column's `crosswalk`; a misspelt repeat (`repeats: [{original}]`); empty cells in `where`


def _factors(tmp_path, inputs: str, data: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return _declared_source(tmp_path, "product: reference_factors\nshared_crosswalks: [climate_zones.csv]\n"
                            "inputs:\n  table:\n    file: table.csv\n" + inputs, data)


_HEADER_CLASSES = """    columns: {zone: {to: [climatic_domain, ecological_zone], crosswalk: climate_zones.csv}}
    values: [{pattern: 'gs (.+)', classes: true}]
    set: {parameter: bcef_stock, unit: t dm/m3, condition_variable: growing_stock_density, flag: reported}
"""


def test_header_classes_give_adjoining_condition_ranges_and_a_shared_crosswalk_the_zones(tmp_path):
    source, files = _factors(tmp_path, _HEADER_CLASSES, "zone,gs <20,gs 21-40,gs 41_100,gs >100\nboreal,4,3,2,1\n")
    rows = source.harmonize(files).to_pandas().sort_values("condition_min")
    assert rows[["condition_min", "condition_max"]].fillna(-1).values.tolist() == [[0, 20], [20, 40], [40, 100],
                                                                                  [100, -1]]
    assert set(rows.climatic_domain) == {"boreal"} and rows.ecological_zone.isna().all()


@pytest.mark.parametrize(("header", "message"), [
    ("zone,gs 0-20,gs 30-40", "file 'table.csv', row 1: class 30-40 does not follow class 0-20"),
    ("zone,gs 0-20,gs few", "file 'table.csv', row 1, column 'gs few': 'few' is not a class (0-20, 21_40, 100-INF, "
                            "<20, >200). Review the table's classes, then inputs.table.values"),
    ("zone,gs 0-20,gs 20-INF\nboreel,1,2", "file 'table.csv', row 2, column 'zone': unknown value 'boreel' (did you "
                                           "mean 'boreal'?), not in climate_zones.csv. After checking what it is, add "
                                           "it to climate_zones.csv in harmonizers/crosswalks/ (shared)."),
])
def test_header_classes_that_do_not_adjoin_or_are_no_class_are_named(tmp_path, header, message):
    source, files = _factors(tmp_path, _HEADER_CLASSES, header + "\n" + "boreal,1,2\n" * ("\n" not in header))
    with pytest.raises(SourceError, match=re.escape(message)):
        source.harmonize(files)


_ROW_CLASSES = """    read: {na: [INF]}
    columns: {type: {to: stratum}, lower: {to: condition_min}, upper: {to: condition_max}}
    classes_of: [stratum]
    values: [{columns: [ratio], set: {parameter: root_to_shoot, unit: "1"}}]
    set: {condition_variable: biomass_density, flag: reported}
"""


def test_classes_of_rows_alike_adjoin_in_file_order(tmp_path):
    data = "type,lower,upper,ratio\npine,0,20,0.5\noak,0,50,0.2\npine,21,40,0.4\npine,41,INF,0.3\n"
    source, files = _factors(tmp_path, _ROW_CLASSES, data)
    rows = source.harmonize(files).to_pandas().sort_values(["stratum", "condition_min"])
    assert rows[["stratum", "condition_min", "condition_max"]].fillna(-1).values.tolist() == [
        ["oak", 0, 50], ["pine", 0, 20], ["pine", 20, 40], ["pine", 40, -1]]
    source, files = _factors(tmp_path / "gap", _ROW_CLASSES, data.replace("pine,21,40", "pine,30,40"))
    with pytest.raises(SourceError, match=re.escape("file 'table.csv', row 2, column 'lower/upper': class 30-40 does "
                                                    "not follow class 0-20")):
        source.harmonize(files)


_SPECIES = """    columns: {genus: {to: stratum}, species: {to: stratum, join: " "}}
    drop: [{where: {genus: null}, reason: no genus, count: 1, only_values_in: []}]
    repeats: [{where: {species: silvestris}, of: [genus, species], original: {species: sylvestris}, reason: misspelt}]
    values: [{columns: [density], set: {parameter: wood_density, unit: t dm/m3}}]
    set: {flag: reported}
"""
_DENSITIES = "genus,species,density\npinus,sylvestris,0.42\npinus,silvestris,0.42\nabies,,0.4\n,,\n"


def test_a_misspelt_repeat_is_read_once_an_empty_cell_joins_nothing_and_is_matched_by_null(tmp_path):
    source, files = _factors(tmp_path, _SPECIES, _DENSITIES)
    rows = source.harmonize(files).to_pandas()
    assert dict(zip(rows.stratum, rows.value)) == {"pinus sylvestris": 0.42, "abies": 0.4}


@pytest.mark.parametrize(("data", "message"), [
    (_DENSITIES.replace("silvestris,0.42", "silvestris,0.52"),
     "file 'table.csv', row 3, column 'density': repeats line 2 ({'genus': 'pinus', 'species': 'sylvestris'}; "
     "misspelt) but reads '0.52' where line 2 reads '0.42'"),
    (_DENSITIES.replace("\n,,\n", "\n,,0.3\n"), "reviewed as holding values in [] only, but it holds '0.3'"),
])
def test_a_misspelt_repeat_that_differs_or_a_value_on_a_dropped_empty_row_is_named(tmp_path, data, message):
    source, files = _factors(tmp_path, _SPECIES, data)
    with pytest.raises(SourceError, match=re.escape(message)):
        source.harmonize(files)


# --- withdrawn ISO 3166-1 codes (ISO 3166-3) and areas as columns. The files are made up by these tests.

WITHDRAWN = """
inputs:
  table:
    file: table.csv
    columns:
      Code: {to: [area_code, area_level, parent_code], codes: iso3}
    values:
      - pattern: '\\d{4}'
        header: year
    set: {variable: area, unit: ha, land_category: forest_land, flag: reported}
"""


def test_a_withdrawn_country_code_is_read_up_to_its_withdrawal(tmp_path):
    """SUN (USSR, withdrawn 1992-08-30) and YUG (withdrawn 2003-07-23) per pycountry's ISO 3166-3 data."""
    source, files = _declared_source(tmp_path, WITHDRAWN, "Code,1990,2003\nSUN,10,\nYUG,5,6\nDEU,1,2\n")
    rows = source.harmonize(files).to_pandas()
    assert sorted(zip(rows.area_code, rows.year, rows.area_level)) == [
        ("DEU", 1990, "national"), ("DEU", 2003, "national"), ("SUN", 1990, "national"),
        ("YUG", 1990, "national"), ("YUG", 2003, "national")]


def test_a_withdrawn_country_code_with_a_later_value_is_named(tmp_path):
    source, files = _declared_source(tmp_path, WITHDRAWN, "Code,1990,1995\nDEU,1,2\nSUN,10,11\n")
    with pytest.raises(SourceError, match=re.escape(
            "file 'table.csv', row 3, column 'Code': 'SUN' (USSR, Union of Soviet Socialist Republics) was withdrawn "
            "on 1992-08-30: its value for 1995 (column '1995') is of no country it names")):
        source.harmonize(files)


AREAS_AS_COLUMNS = """
inputs:
  table:
    file: table.csv
    columns:
      Year: {to: year}
    values:
      - pattern: '(?!Year$|World$).+'
        header: area_code
        codes: country_name
    set: {variable: area, unit: 1000 ha, land_category: forest_land, flag: reported}
"""


def test_areas_as_columns_read_through_the_headers_code_system(tmp_path):
    source, files = _declared_source(tmp_path, AREAS_AS_COLUMNS, "Year,Germany,Viet Nam,World\n2010,11,14,4000\n")
    rows = source.harmonize(files).to_pandas()
    assert sorted(zip(rows.area_code, rows.area_level, rows.value)) == [("DEU", "national", 11_000.0),
                                                                         ("VNM", "national", 14_000.0)]


def test_a_header_that_is_no_area_is_named(tmp_path):
    source, files = _declared_source(tmp_path, AREAS_AS_COLUMNS, "Year,Germany,Atlantis\n2010,11,14\n")
    with pytest.raises(SourceError, match=re.escape("row 1, column '(header)': unknown country name 'Atlantis'")):
        source.harmonize(files)


def test_codes_on_headers_need_area_code_as_their_field():
    from ercan.declaration import Values

    with pytest.raises(ValueError, match="declare `header: area_code`"):
        Values(pattern=r"\d{4}", header="year", codes="iso3")


def test_a_withdrawn_subdivision_code_is_read_up_to_its_withdrawal_when_reviewed(tmp_path):
    """pycountry keeps no ISO 3166-2 history: a former code (FR-J, Ile-de-France's before France's 2016
    regions) is an area only where the source's withdrawn_subdivisions.csv lists it. The file, its
    values and the withdrawal date are made up by this test."""
    declaration = WITHDRAWN.replace("codes: iso3", "codes: iso3166_2")
    reviewed = {"withdrawn_subdivisions.csv": "code,name,withdrawn,note\nFR-J,Ile-de-France,2016-01-01,test\n"}
    source, files = _declared_source(tmp_path, declaration, "Code,2010,2020\nFR-J,1,\nFR-IDF,,2\n")
    with pytest.raises(SourceError, match="unknown ISO 3166-2 code 'FR-J'"):
        source.harmonize(files)
    source, files = _declared_source(tmp_path / "listed", declaration, "Code,2010,2020\nFR-J,1,\nFR-IDF,,2\n", **reviewed)
    rows = source.harmonize(files).to_pandas()
    assert sorted(zip(rows.area_code, rows.parent_code, rows.year)) == [("FR-IDF", "FRA", 2020), ("FR-J", "FRA", 2010)]
    source, files = _declared_source(tmp_path / "late", declaration, "Code,2010,2020\nFR-J,1,3\n", **reviewed)
    with pytest.raises(SourceError, match=re.escape("'FR-J' (Ile-de-France) was withdrawn on 2016-01-01: its value for 2020")):
        source.harmonize(files)


def test_a_reviewed_withdrawn_subdivision_must_not_be_current(tmp_path):
    declaration = WITHDRAWN.replace("codes: iso3", "codes: iso3166_2")
    source, files = _declared_source(tmp_path, declaration, "Code,2010\nFR-IDF,1\n", **{
        "withdrawn_subdivisions.csv": "code,name,withdrawn,note\nFR-IDF,Ile-de-France,2016,test\n"})
    with pytest.raises(ConfigError, match=r"withdrawn_subdivisions.csv, line 2: 'FR-IDF' .* no current ISO 3166-2 code"):
        source.harmonize(files)
