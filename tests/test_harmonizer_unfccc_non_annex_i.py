"""UNFCCC non-Annex I LULUCF harmonizer, on the shipped extract and on edited copies of it."""

from __future__ import annotations

import csv
import hashlib
import re

import pandas as pd
import pytest

from ercan.errors import SourceError
from ercan.schema import LAND_CATEGORIES, OBSERVATION_KEY
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA, get

from conftest import harmonize_sample

SOURCE_ID = "unfccc_non_annex_i"
SAMPLE = SAMPLE_DATA / get(SOURCE_ID).source.inputs["inventory"]
NAME = SAMPLE.name
LINES = SAMPLE.read_bytes().decode("utf-8").split("\n")  # LINES[n - 1] is file row n
HEADER = LINES[0].split(",")
# Rows used below (file rows, header = 1), checked against their content in test_rows_used.
AFG_5A = 2  # Afghanistan, 5.A, Aggregate GHGs, 2005 = 452.25
AFG_5A_REPEAT = 12  # the same under 'Total GHG emissions including LULUCF/LUCF'
AFG_5A_CO2 = 3  # Afghanistan, 5.A, CO₂ (Gg): not read
ALB_5C = 26  # Albania, 5.C, Aggregate GHGs, 2000 = -242
BRA_5 = 388  # Brazil, sector 5 under Totals, 1995 = 1.85184e+06
CAF_5B = 530  # Central African Republic, 5.B, 2005 = -1.27835e+06
ZWE_5A = 2962  # Zimbabwe, 5.A


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def value(rows, area_code, category, year):
    hit = rows[(rows.area_code == area_code) & (rows.category == f"IPCC1996:{category}") & (rows.year == year)]
    assert len(hit) == 1, hit
    return hit.value.iloc[0]


def edited(tmp_path, row: int, column: str, new: str):
    """A copy of the sample with one cell (file row, column name) replaced, lines otherwise unchanged."""
    lines = list(LINES)
    fields = lines[row - 1].split(",")
    fields[HEADER.index(column)] = new
    lines[row - 1] = ",".join(fields)
    return written(tmp_path, lines)


def written(tmp_path, lines) -> object:
    path = tmp_path / NAME
    path.write_bytes("\n".join(lines).encode("utf-8"))
    return path


def cell(row: int, column: str) -> str:
    return LINES[row - 1].split(",")[HEADER.index(column)]


def test_rows_used():
    assert LINES[AFG_5A - 1].startswith("Afghanistan,5. Land-Use Change and Forestry,5.A Changes in Forest")
    assert ",Aggregate GHGs,Gg CO₂ equivalent," in LINES[AFG_5A - 1]
    assert LINES[AFG_5A_REPEAT - 1].startswith("Afghanistan,Total GHG emissions including LULUCF/LUCF,5.A ")
    assert LINES[AFG_5A_CO2 - 1].startswith("Afghanistan,5. Land-Use Change and Forestry,5.A ")
    assert ",CO₂,Gg," in LINES[AFG_5A_CO2 - 1]
    assert LINES[ALB_5C - 1].startswith("Albania,5. Land-Use Change and Forestry,5.C ")
    assert LINES[BRA_5 - 1].startswith("Brazil,Totals,5. Land-Use Change and Forestry,Aggregate GHGs,")
    assert LINES[CAF_5B - 1].startswith("Central African Republic,5. Land-Use Change and Forestry,5.B ")
    assert LINES[ZWE_5A - 1].startswith("Zimbabwe,5. Land-Use Change and Forestry,5.A ")
    assert (cell(AFG_5A, "2005"), cell(ALB_5C, "2000"), cell(BRA_5, "1995"), cell(CAF_5B, "2005")) == (
        "452.25",
        "-242",
        "1.85184e+06",
        "-1.27835e+06",
    )


# --- the shipped extract -------------------------------------------------------------------


def test_extract_is_the_lulucf_lines_of_the_source():
    assert SAMPLE.stat().st_size < 1_000_000
    assert LINES[0].startswith("Party,Parent Category,Category,Gas,Unit,1990,")
    assert LINES[-1] == ""  # ends with a newline, as the original
    assert all(line.split(",")[2].startswith("5") for line in LINES[1:-1])
    note = (SAMPLE.parent / "SOURCE.txt").read_text()
    assert "fc42009a475ca11a671e9e4f8dbd68b45a33f319" in note
    assert "data/detailed-data-by-country-non-annex-one.csv" in note
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() in note


def test_real_values(rows):
    # Afghanistan 5.A, Aggregate GHGs, 2005: 452.25 Gg CO₂ equivalent
    assert value(rows, "AFG", "5.A", 2005) == pytest.approx(452_250, rel=1e-12)
    # a removal keeps its sign: Albania 5.C Abandonment of Managed Lands, 2000: -242 Gg
    assert value(rows, "ALB", "5.C", 2000) == pytest.approx(-242_000, rel=1e-12)
    # scientific notation: Brazil sector 5 (under Totals), 1995: 1.85184e+06 Gg
    assert value(rows, "BRA", "5", 1995) == pytest.approx(1.85184e9, rel=1e-12)
    # negative and scientific: Central African Republic 5.B, 2005: -1.27835e+06 Gg
    assert value(rows, "CAF", "5.B", 2005) == pytest.approx(-1.27835e9, rel=1e-12)


def test_rows_in_the_common_schema(rows):
    assert not rows.duplicated(list(OBSERVATION_KEY)).any()
    assert set(rows.unit) == {"t CO2e/yr"}
    assert set(rows.variable) == {"net_emissions"}
    assert set(rows.area_level) == {"national"}
    assert rows.parent_code.isna().all()
    assert set(rows.flag) == {"reported"}
    assert set(rows.snapshot) == {hashlib.sha256(SAMPLE.read_bytes()).hexdigest()}
    assert set(rows.category) == {f"IPCC1996:{c}" for c in ("5", "5.A", "5.B", "5.C", "5.D", "5.E")}
    assert rows.groupby("category").land_category.unique().map(list).to_dict() == {
        "IPCC1996:5": ["all"],
        "IPCC1996:5.A": ["forest_land"],
        "IPCC1996:5.B": ["all"],
        "IPCC1996:5.C": ["all"],
        "IPCC1996:5.D": ["all"],
        "IPCC1996:5.E": ["all"],
    }
    assert rows.value.notna().all() and (rows.value < 0).any() and (rows.value > 0).any()


def test_every_party_mapped_once(rows):
    with open(SAMPLE, encoding="utf-8", newline="") as f:
        parties = {r["Party"] for r in csv.DictReader(f)}
    assert len(parties) == 139
    assert rows.area_code.str.fullmatch(r"[A-Z]{3}").all()
    assert rows.area_code.nunique() == len(parties)  # no two Parties share a code
    assert {"AFG", "COD", "COG", "PRK", "KOR", "PSE", "NIU", "COK", "SWZ"} <= set(rows.area_code)


def test_each_category_read_once(rows):
    """One row per non-empty Aggregate GHGs cell of the kept parents; the repeats add nothing."""
    with open(SAMPLE, encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    years = [c for c in HEADER if re.fullmatch(r"\d{4}", c)]

    def cells(parents):
        return sum(
            1
            for r in records
            if r["Gas"] == "Aggregate GHGs" and r["Parent Category"] in parents
            for y in years
            if r[y] != ""
        )

    kept = cells({"5. Land-Use Change and Forestry", "Totals"})
    assert len(rows) == kept == cells({"Total GHG emissions including LULUCF/LUCF"})


def test_crosswalks_are_well_formed():
    categories = pd.read_csv(PROJECT_ROOT / "harmonizers" / SOURCE_ID / "unfccc_ipcc1996_categories.csv", dtype=str,
                             keep_default_na=False)
    assert list(categories.columns) == ["name", "category", "land_category", "note"]
    assert categories.category.str.fullmatch(r"IPCC1996:5(\.[A-Z])?").all()
    assert set(categories.land_category) <= set(LAND_CATEGORIES)
    assert (categories.note != "").all()


# --- drift: edited copies of the real file -------------------------------------------------


@pytest.mark.parametrize(("column", "renamed"), [("Party", "Parties"), ("Unit", "Units"), ("Gas", "Gases")])
def test_renamed_column(tmp_path, column, renamed):
    lines = list(LINES)
    lines[0] = lines[0].replace(f",{column},", f",{renamed},") if column != "Party" else renamed + lines[0][5:]
    with pytest.raises(SourceError, match=rf"file '{NAME}', row 1: expected column '{column}' is missing "
                       rf"\(did you mean '{renamed}'\?\)"):
        harmonize_sample(SOURCE_ID, inventory=written(tmp_path, lines))


def test_missing_column(tmp_path):
    lines = [",".join(f for i, f in enumerate(line.split(",")) if i != 3) for line in LINES]  # drop Gas
    with pytest.raises(SourceError, match=rf"file '{NAME}', row 1: expected column 'Gas' is missing"):
        harmonize_sample(SOURCE_ID, inventory=written(tmp_path, lines))


def test_unknown_unit(tmp_path):
    path = edited(tmp_path, AFG_5A, "Unit", "Mg CO₂ equivalent")
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {AFG_5A}, column 'Unit': unknown value "
                       r"'Mg CO₂ equivalent' \(did you mean 'Gg CO₂ equivalent'\?\), not in "
                       r"inputs.inventory.columns.Unit.map"):
        harmonize_sample(SOURCE_ID, inventory=path)


def test_unknown_party(tmp_path):
    path = edited(tmp_path, ZWE_5A, "Party", "Zimbabwi")
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {ZWE_5A}, column 'Party': unknown country name "
                       r"'Zimbabwi' \(did you mean 'Zimbabwe'\?\)\. After checking what it is: add each country's "
                       r"name, with its ISO3 and why, to harmonizers/unfccc_non_annex_i/country_names.csv"):
        harmonize_sample(SOURCE_ID, inventory=path)


def test_unknown_category(tmp_path):
    path = edited(tmp_path, AFG_5A, "Category", "5.F Harvested Wood Products")
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {AFG_5A}, column 'Category': unknown value "
                       r"'5.F Harvested Wood Products', not in unfccc_ipcc1996_categories.csv"):
        harmonize_sample(SOURCE_ID, inventory=path)


@pytest.mark.parametrize(("written_as", "text"), [("n.a.", "n.a."), ('"452,25"', "452,25"), ("NE", "NE"),
                                                   ("452.25 Gg", "452.25 Gg"), ("abc(2005)", "abc(2005)")])
def test_non_numeric_cell(tmp_path, written_as, text):
    path = edited(tmp_path, AFG_5A, "2005", written_as)
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {AFG_5A}, column '2005': "
                       rf"{re.escape(repr(text))} is not a number"):
        harmonize_sample(SOURCE_ID, inventory=path)


@pytest.mark.parametrize("row", [AFG_5A, ALB_5C])  # in the first data row pandas would shift every column
@pytest.mark.parametrize("change", ["unquoted comma", "field dropped"])
def test_line_with_a_field_too_many_or_too_few(tmp_path, row, change):
    if change == "unquoted comma":
        path, fields = edited(tmp_path, row, "2005", "452,25"), 35
    else:
        lines = list(LINES)
        parts = lines[row - 1].split(",")
        del parts[HEADER.index("2005")]
        lines[row - 1] = ",".join(parts)
        path, fields = written(tmp_path, lines), 33
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {row}: has {fields} fields but the header has 34"):
        harmonize_sample(SOURCE_ID, inventory=path)


def test_blank_line_inside_is_skipped_and_the_lines_stay_exact(tmp_path):
    # the reader skips a blank line; every other row keeps its file line, so messages still name it
    lines = LINES[:ALB_5C] + [""] + LINES[ALB_5C:]
    assert len(harmonize_sample(SOURCE_ID, inventory=written(tmp_path, lines))) == len(harmonize_sample(SOURCE_ID))
    fields = lines[CAF_5B].split(",")  # CAF_5B is one line further down now
    fields[HEADER.index("2005")] = "n.a."
    lines[CAF_5B] = ",".join(fields)
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {CAF_5B + 1}, column '2005': 'n.a.' is not a number"):
        harmonize_sample(SOURCE_ID, inventory=written(tmp_path, lines))


def test_blank_lines_at_the_end_are_fine(tmp_path):
    assert len(harmonize_sample(SOURCE_ID, inventory=written(tmp_path, LINES + ["", ""]))) == len(
        harmonize_sample(SOURCE_ID)
    )


def test_no_lulucf_rows(tmp_path):
    lines = [line for line in LINES if "Aggregate GHGs" not in line]
    with pytest.raises(SourceError, match=rf"file '{NAME}': no row matches the keep rule .*'Gas': 'Aggregate GHGs'.*"
                       r"update inputs\.inventory\.keep\.where"):
        harmonize_sample(SOURCE_ID, inventory=written(tmp_path, lines))


def test_non_numeric_cell_in_a_row_not_read_is_ignored(tmp_path):
    path = edited(tmp_path, AFG_5A_CO2, "2005", "n.a.")
    assert len(harmonize_sample(SOURCE_ID, inventory=path)) == len(harmonize_sample(SOURCE_ID))


def test_value_annotated_with_its_own_year(tmp_path):
    rows = harmonize_sample(SOURCE_ID, inventory=edited(tmp_path, AFG_5A, "2005", "452.25(2005)"))
    assert value(rows, "AFG", "5.A", 2005) == pytest.approx(452_250, rel=1e-12)


def test_value_annotated_with_another_year(tmp_path):
    path = edited(tmp_path, AFG_5A, "2005", "452.25(2004)")
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {AFG_5A}, column '2005': '452.25\(2004\)' is "
                       r"annotated with year 2004 but sits in the 2005 column"):
        harmonize_sample(SOURCE_ID, inventory=path)


def test_repeated_row_that_disagrees(tmp_path):
    path = edited(tmp_path, AFG_5A_REPEAT, "2005", "452.26")
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {AFG_5A_REPEAT}, column '2005': repeats line {AFG_5A} "
                       r"\(\{'Party': 'Afghanistan', 'Category': '5.A Changes in Forest and Other Woody Biomass Stocks'\}; "
                       rf".*\) but reads '452.26' where line {AFG_5A} reads '452.25'"):
        harmonize_sample(SOURCE_ID, inventory=path)


def test_row_given_twice(tmp_path):
    lines = LINES[:-1] + [LINES[AFG_5A - 1], ""]
    with pytest.raises(SourceError, match=rf"file '{NAME}', row {len(LINES)}, column '2005': the value for "
                       r"\{'area_code': 'AFG', 'year': 2005, 'land_category': 'forest_land', 'category': "
                       rf"'IPCC1996:5.A', 'variable': 'net_emissions'\}} appears again \(first at line {AFG_5A}\)"):
        harmonize_sample(SOURCE_ID, inventory=written(tmp_path, lines))
