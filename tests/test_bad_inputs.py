"""The bad-input corpus: real shipped sample files, damaged the ways real downloads get damaged.

Every case must end in a clear SourceError naming the file (and row/column where there is one), or
in a flagged handling: a critical expectation failing at the gate (the source is quarantined, as
ercan/pipeline.py's gate does), or, for damage that does not change the data (a BOM, other line
endings), exactly the rows of the shipped file. No other exception may escape. The list with each
outcome is docs/bad_inputs.md.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import edited_copy, harmonize_sample, prefect_env, replace_line, sample_files

from ercan.errors import SourceError
from ercan.sources import SAMPLE_DATA, get
from ercan.validation import SCHEMA_SUITE, load_suite, placed, validate

ERCAN = str(Path(sys.executable).with_name("ercan"))
FRA2020_EXTENT = SAMPLE_DATA / "fra2020" / "1_Forest_extent_characteristics_and_changes_en.xlsx"


def outcome(source_id: str, role: str, path: Path):
    """What the gate would do: ("error", message, None) | ("quarantined", reason, report) |
    ("accepted", rows, report); a failed warning expectation is in the report."""
    try:
        rows = harmonize_sample(source_id, **{role: path})
    except SourceError as e:
        return "error", str(e), None
    suites = [load_suite(SCHEMA_SUITE), load_suite(get(source_id).suite_path)]
    report = validate(rows, suites, source_id)
    if report.passed:
        return "accepted", rows, report
    # the gate's words: each failing row named by its area, year and variable, and its place in the raw file
    table, places = get(source_id).declared.harmonize_with_places(sample_files(source_id, **{role: path}))
    return "quarantined", report.reason(placed(table, places.column("place"))), report


def warnings(report) -> str:
    return "; ".join(o.describe() for o in report.outcomes if not o.success and o.severity == "warning")


def edit(source_id: str, role: str, change: Callable[[list[str]], list[str]], **kwargs):
    """A case builder: the shipped file with `change` applied (see conftest.edited_copy)."""
    return lambda tmp_path: edited_copy(tmp_path, source_id, role, change, **kwargs)


def on_lines(change: Callable[[str], str]) -> Callable[[list[str]], list[str]]:
    return lambda lines: [change(line) for line in lines]


def add_lines(after: int, *new: str) -> Callable[[list[str]], list[str]]:
    """Insert `new` lines after line `after` (1-based)."""
    return lambda lines: [*lines[:after], *(f"{line}\n" for line in new), *lines[after:]]


def drop_field(position: int) -> Callable[[list[str]], list[str]]:
    """Remove the field at `position` from every line (files without quoted commas only)."""
    def change(line: str) -> str:
        fields = line.rstrip("\n").split(",")
        return ",".join(fields[:position] + fields[position + 1 :]) + "\n"

    return on_lines(change)


def keep_lines(count: int) -> Callable[[list[str]], list[str]]:
    return lambda lines: lines[:count]


def xlsx_bytes(change: Callable[[bytes], bytes]):
    """A case builder: the shipped FRA 2020 extent workbook with its bytes changed."""
    def build(tmp_path: Path) -> Path:
        path = tmp_path / FRA2020_EXTENT.name
        path.write_bytes(change(FRA2020_EXTENT.read_bytes()))
        return path

    return build


def flip_bytes_in_middle(data: bytes) -> bytes:
    """Overwrite 64 bytes inside the compressed data (zip sizes and names untouched)."""
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]


# Every CSV case: (source, role, build, outcome, text the message must contain).
CASES = [
    # -- encodings
    pytest.param("crf_austria", "table_4a", edit("crf_austria", "table_4a", list, encoding="latin-1"),
                 "error", "is not utf-8-sig text", id="latin1"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", list, encoding="utf-16"),
                 "error", "is not utf-8-sig text", id="utf16"),
    pytest.param("china_nfi9", "provinces", edit("china_nfi9", "provinces", list, encoding="gb18030"),
                 "error", "is not utf-8-sig text", id="gb18030"),
    pytest.param("owid_forest", "forest", edit("owid_forest", "forest", list, encoding="utf-8-sig"),
                 "same", None, id="utf8_bom"),
    # -- line endings
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", on_lines(lambda s: s.replace("\n", "\r"))),
                 "same", None, id="cr_only_line_endings"),
    pytest.param("gfw_usa", "state_names", edit("gfw_usa", "state_names", on_lines(lambda s: s.replace("\n", "\r\n"))),
                 "same", None, id="crlf_line_endings"),
    # -- empty and truncated files
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", keep_lines(0)),
                 "error", "has no header row", id="empty_file"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", keep_lines(2)),
                 "error", "row 3: has a header but no data rows", id="header_only_fra2015"),
    pytest.param("gfw_usa", "national_loss", edit("gfw_usa", "national_loss", keep_lines(1)),
                 "error", "row 2: has a header but no data rows", id="header_only_gfw_usa"),
    pytest.param("owid_forest", "datapackage", edit("owid_forest", "datapackage", keep_lines(20)),
                 "error", "is not JSON (Expecting property name", id="truncated_json"),
    # -- columns
    pytest.param("owid_forest", "forest", edit("owid_forest", "forest", replace_line(1, ",Forest area,", ",Forest Area,")),
                 "error", "did you mean 'Forest Area'", id="renamed_column"),
    pytest.param("gfw_usa", "state_loss", edit("gfw_usa", "state_loss", drop_field(4)),
                 "error", "gfw_gross_emissions_co2e_all_gases__Mg", id="missing_column"),
    pytest.param("crf_austria", "table_4a", edit("crf_austria", "table_4a", on_lines(lambda s: s.replace("\n", ",1\n"))),
                 "error", "column '1': the column (spreadsheet column N) is read by no key of the declaration", id="extra_column"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", lambda lines: [
        lines[0].replace("\n", ",\n"), lines[1].replace("\n", ",Grand Total\n"), *(s.replace("\n", ",1\n") for s in lines[2:])]),
                 "error", "column 'Grand Total': the column (spreadsheet column G) is read by no key", id="extra_total_column"),
    pytest.param("unfccc_non_annex_i", "inventory", edit("unfccc_non_annex_i", "inventory", replace_line(2, "Afghanistan,", "Afghanistan,,")),
                 "error", "has 35 fields but the header has 34", id="unquoted_comma_shifts_row"),
    # the reader skips a blank line and keeps the file lines of the others, so messages stay exact
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", add_lines(10, "")),
                 "same", None, id="blank_line_inside"),
    # -- numbers
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,4954,", 'MAR,"4,954",')),
                 "error", "row 3, column '1990': '4,954' is not a number", id="thousands_comma"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,4954,", 'MAR,"1,30,099",')),
                 "error", "'1,30,099' is not a number", id="thousands_indian_lakh"),
    pytest.param("gfw_usa", "national_loss", edit("gfw_usa", "national_loss", replace_line(2, "1943318.7440119705", '"1.943.318,74"')),
                 "error", "'1.943.318,74' is not a number", id="decimal_comma_european"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,4954,", "MAR,4 954,")),
                 "error", "'4 954' is not a number", id="thousands_space"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,4954,", "MAR,NaN,")),
                 "error", "'NaN' is not a number", id="nan_text"),
    pytest.param("owid_forest", "forest", edit("owid_forest", "forest", replace_line(2, ",1208.44,", ",inf,")),
                 "error", "'inf' is not a number", id="inf_text"),
    pytest.param("crf_austria", "table_4a", edit("crf_austria", "table_4a", replace_line(2, ",2405.41,", ",n/a,")),
                 "error", "'n/a' is not a number", id="text_in_number"),
    pytest.param("gfw_usa", "national_loss", edit("gfw_usa", "national_loss", replace_line(2, "1943318.7440119705", "1e400")),
                 "error", "row 2, column 'umd_tree_cover_loss__ha': '1e400' is too large for a number", id="overflow_to_inf"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,4954,", "MAR," + "9" * 400 + ",")),
                 "error", "(400 characters) is too large for a number", id="400_digit_number"),
    # -- values out of range
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,4954,", "MAR,-4954,")),
                 "quarantined", "failed for 1 of 1170 rows (e.g. -4954000.0; row 1: MAR 1990 area (read at "
                 "fra-2015-forest-areas.csv, line 3, column 1990))", id="negative_area"),
    pytest.param("cikd2024", "table", edit("cikd2024", "table", replace_line(3, ",22.96,", ",122.96,")),
                 "quarantined", "on column 'value' failed for 1 of", id="share_over_100_percent"),
    pytest.param("china_nfi9", "provinces", edit("china_nfi9", "provinces", replace_line(37, ",12.07,", ",120.7,")),
                 "quarantined", "failed for 1 of 36 rows (e.g. 120.7; row 36: CN-TJ 2018 forest_cover (read at "
                 "china_9th_nfi_provincial_long.csv, line 37, column value))", id="share_over_100_percent_china"),
    # Afghanistan's 2005 forest flux typed 10,000x (4.5 Gt CO2e) in each of its copies: possible for a
    # Party, implausible for this one; a warning, not a physical impossibility.
    pytest.param("unfccc_non_annex_i", "inventory", edit("unfccc_non_annex_i", "inventory",
                                                         on_lines(lambda s: s.replace(",452.25,", ",4522500,"))),
                 "warned", "4522500000.0", id="implausible_flux_warning"),
    pytest.param("gfw_usa", "national_loss", edit("gfw_usa", "national_loss", replace_line(2, '"USA",2001,', '"USA",2099,')),
                 "quarantined", "year", id="future_year"),
    pytest.param("crf_austria", "table_4a", edit("crf_austria", "table_4a", on_lines(lambda s: s.replace("AT,2017,", "AT,2041,"))),
                 "quarantined", "year", id="future_inventory_year"),
    pytest.param("gfw_usa", "national_loss", edit("gfw_usa", "national_loss", replace_line(2, '"USA",2001,', '"USA",2001.5,')),
                 "error", "not a year", id="fractional_year"),
    # -- keys and codes
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", lambda lines: [*lines, lines[2]]),
                 "error", "{'area_code': 'MAR', 'year': 1990, 'land_category': 'forest_land', 'variable': 'area'} appears again (first at line 3)", id="duplicate_key"),
    pytest.param("owid_forest", "forest", edit("owid_forest", "forest", lambda lines: [*lines, lines[1]]),
                 "error", "{'area_code': 'AFG', 'year': 1990, 'land_category': 'forest_land', 'variable': 'area'} appears again (first at line 2)", id="duplicate_key_long_format"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,", "XKX,")),
                 "error", "unknown ISO 3166-1 alpha-3 code 'XKX'", id="unknown_country_code"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,", "YUG,")),
                 "error", "'YUG' (Yugoslavia, (Socialist) Federal Republic of) was withdrawn on 2003-07-23: its value for 2005", id="retired_country_code"),
    pytest.param("unfccc_non_annex_i", "inventory", edit("unfccc_non_annex_i", "inventory", on_lines(lambda s: s.replace("Afghanistan,", "Atlantis,"))),
                 "error", "'Atlantis'", id="unknown_party_name"),
    # -- fictitious placeholder rows
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", add_lines(3, "(blank),0,0,0,0,0")),
                 "error", "unknown ISO 3166-1 alpha-3 code '(blank)'", id="placeholder_pivot_blank"),
    pytest.param("owid_forest", "forest", edit("owid_forest", "forest", add_lines(1, "Test Country,2020,,,,,,1," + "," * 7)),
                 "error", "unknown country name 'Test Country'", id="placeholder_test_country"),
    pytest.param("gfw_usa", "state_names", edit("gfw_usa", "state_names", add_lines(1, '"TOTAL","99"')),
                 "error", "unknown subdivision name 'TOTAL'", id="placeholder_total_state"),
    # -- very long lines
    pytest.param("owid_forest", "forest", edit("owid_forest", "forest", replace_line(2, "Afghanistan,", "Afghanistan" + "x" * 1_000_000 + ",")),
                 "error", "row 2: cannot be read as delimited text: field larger than field limit", id="one_megabyte_cell"),
    pytest.param("fra2015", "forest_area", edit("fra2015", "forest_area", replace_line(3, "MAR,4954,", "MAR,4954" + "," * 100_000)),
                 "error", "fields but the header has 6", id="line_with_100000_fields"),
    # -- formulas in text cells (CSV injection)
    pytest.param("owid_forest", "forest", edit("owid_forest", "forest", replace_line(2, "Afghanistan,", "\"=cmd|' /C calc'!A0\",")),
                 "error", "unknown country name \"=cmd|", id="formula_in_entity"),
    pytest.param("crf_austria", "table_4a", edit("crf_austria", "table_4a", replace_line(2, ",coniferous,", ",=HYPERLINK(\"http://x\"),")),
                 "error", "row 2, column 'subdivision': unknown subdivision '=HYPERLINK", id="formula_in_label"),
    pytest.param("china_nfi9", "provinces", edit("china_nfi9", "provinces", replace_line(2, "unit from tooltip", "=cmd|' /C calc'!A0 unit from tooltip")),
                 "same", None, id="formula_in_unread_note"),
]


@pytest.mark.parametrize(("source_id", "role", "build", "expected", "text"), CASES)
def test_bad_csv_input(source_id, role, build, expected, text, tmp_path):
    path = build(tmp_path)
    status, detail, report = outcome(source_id, role, path)
    if expected == "same":
        assert status == "accepted", detail
        shipped = harmonize_sample(source_id)
        pd.testing.assert_frame_equal(detail.drop(columns="snapshot"), shipped.drop(columns="snapshot"))
        return
    if expected == "warned":  # accepted as reported, flagged in the quality product
        assert status == "accepted", detail
        assert text in warnings(report)
        return
    assert status == expected, detail
    if expected == "error":
        assert f"file {path.name!r}" in detail
        assert len(detail) < 2000, "an error message must stay readable"
    assert text in detail


# -- the FRA 2020 workbook: damaged zips
XLSX_CASES = [
    pytest.param(xlsx_bytes(lambda data: data[: len(data) // 2]), "File is not a zip file", id="truncated_xlsx"),
    pytest.param(xlsx_bytes(flip_bytes_in_middle), "is not a readable .xlsx workbook", id="corrupt_xlsx"),
    pytest.param(xlsx_bytes(lambda _: (SAMPLE_DATA / get("fra2015").source.inputs["forest_area"]).read_bytes()),
                 "File is not a zip file", id="csv_named_xlsx"),
    pytest.param(xlsx_bytes(lambda _: b""), "File is not a zip file", id="empty_xlsx"),
]


@pytest.mark.parametrize(("build", "text"), XLSX_CASES)
def test_bad_workbook(build, text, tmp_path):
    path = build(tmp_path)
    with pytest.raises(SourceError) as error:
        harmonize_sample("fra2020", extent=path)
    assert f"file {path.name!r}" in str(error.value) and text in str(error.value)


def zip_bomb(tmp_path: Path) -> Path:
    """The shipped workbook with its largest sheet replaced by 300 MB of rows deflated to under 1 MB."""
    row = b'<row><c t="n"><v>1</v></c></row>' * 4096
    with zipfile.ZipFile(FRA2020_EXTENT) as shipped:
        members = sorted(shipped.infolist(), key=lambda m: m.file_size)
        largest = members[-1].filename
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
            for member in members:
                if member.filename != largest:
                    bomb.writestr(member, shipped.read(member))
            with bomb.open(largest, "w", force_zip64=True) as sheet:
                for _ in range(300 * 2**20 // len(row) + 1):
                    sheet.write(row)
    path = tmp_path / FRA2020_EXTENT.name
    path.write_bytes(buffer.getvalue())
    return path


def test_xlsx_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = zip_bomb(tmp_path)
    assert path.stat().st_size < 2 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as error:
            harmonize_sample("fra2020", extent=path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"file {path.name!r}" in str(error.value)
    assert "refused as a possible zip bomb" in str(error.value)
    assert peak < 64 * 2**20  # the sheet's 300 MB were never inflated


@pytest.mark.slow
def test_a_bad_file_ingested_by_a_steward_quarantines_only_its_source(tmp_path):
    """End to end: a store where fra2015 and crf_austria were accepted and published (built with the
    pipeline's plain functions), then `ercan ingest` of an FRA 2015 export with a European decimal
    comma, then one `ercan run`: exit 1, fra2015 quarantined with the file, row and column, crf_austria
    still accepted, no data product republished and the published versions readable in a fresh process."""
    from ercan import pipeline, state
    from ercan.storage import Storage

    store_path = tmp_path / "store"
    store = Storage(str(store_path))
    for source_id in ("fra2015", "crf_austria"):
        pipeline.ingest_landing(store, get(source_id))
        assert pipeline.gate(store, get(source_id)).status == "accepted"
    published = pipeline.publish_products(store, pipeline.account(store))
    assert published
    versions_before = sorted(str(p.relative_to(store_path)) for p in store_path.glob("products/*/*"))

    bad = edited_copy(tmp_path, "fra2015", "forest_area", replace_line(3, "MAR,4954,", 'MAR,"4954,5",'))
    env = prefect_env(tmp_path / "prefect")
    ingest = subprocess.run([ERCAN, "ingest", "fra2015", str(bad), "--storage", str(store_path)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert ingest.returncode == 0, ingest.stderr
    run = subprocess.run([ERCAN, "run", "--source", "fra2015", "--source", "crf_austria", "--storage", str(store_path)],
                         capture_output=True, text=True, env=env, timeout=600)

    assert run.returncode == 1, run.stdout + run.stderr
    assert state.load(store, "crf_austria")["status"] == "accepted"
    fra2015 = state.load(store, "fra2015")
    assert fra2015["status"] == "quarantined"
    assert f"file {bad.name!r}, row 3, column '1990': '4954,5' is not a number" in fra2015["reason"]
    # Only `quality` gets a new version (it now says why fra2015 is out); every data product keeps its versions.
    versions_after = sorted(str(p.relative_to(store_path)) for p in store_path.glob("products/*/*"))
    assert set(versions_before) < set(versions_after)
    assert {v.split("/")[1] for v in set(versions_after) - set(versions_before)} == {"quality"}
    script = (f"import intake\ncat = intake.from_yaml_file({str(store_path / 'catalog.yaml')!r})\n"
              "obs = cat['observations'].read()\nquality = cat['quality'].read()\n"
              "print(obs[(obs.source == 'fra2015') & (obs.area_code == 'MAR') & (obs.year == 1990)].value.tolist())\n"
              "print(quality[quality.subject == 'fra2015'].expectation.tolist())")
    served = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert served.returncode == 0, served.stderr
    values, expectations = served.stdout.splitlines()
    assert values == "[4954000.0]"  # the shipped value, as published before
    assert expectations == "['input_is_readable']"


def test_every_case_is_in_the_docs():
    table = (Path(__file__).parent.parent / "docs" / "bad_inputs.md").read_text(encoding="utf-8")
    for case in [*CASES, *XLSX_CASES]:
        assert f"`{case.id}`" in table or f"[{case.id}]`" in table, case.id
