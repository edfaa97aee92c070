"""Brazil's reference carbon stocks (MCTI_ref.xlsx, IPCC_ref.xlsx) on the real workbooks and edited copies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import harmonize_sample, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.sources import SAMPLE_DATA, get

SOURCE_ID = "brazil_reference_stocks"
INPUTS = get(SOURCE_ID).source.inputs
# The 8 Cerrado types whose 'All' row goes on (J:Y) with values for groups of states
BY_STATE_GROUPS = {"Sd", "Fa", "Cm", "Cs", "Fm", "Fs", "Fb", "Sp"}


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def edited_workbook(tmp_path: Path, role: str, edit: Callable[[openpyxl.Workbook], None]) -> Path:
    """A copy of the role's workbook with `edit` applied, saved by openpyxl (which, like any program
    that does not calculate, writes formulas without cached values)."""
    workbook = openpyxl.load_workbook(SAMPLE_DATA / INPUTS[role])
    edit(workbook)
    path = tmp_path / Path(INPUTS[role]).name
    workbook.save(path)
    return path


def stock(rows, stratum, pool, zone=None):
    match = rows[(rows.stratum == stratum) & (rows.pool == pool)]
    if zone:
        match = match[match.ecological_zone == zone]
    assert len(match) == 1, (stratum, pool, zone, len(match))
    return match.iloc[0]


def test_mcti_stocks_by_biome_and_vegetation_type(rows):
    # MCTI_ref.xlsx, sheet All, row 2: Amazona | As | … | AGB 106.5 | BGB 10.7 | DOM 8.6 | LIT 6.2
    assert {pool: stock(rows, "Amazônia: As", pool).value for pool in ("agb", "bgb", "dead_wood", "litter")} == {
        "agb": 106.5, "bgb": 10.7, "dead_wood": 8.6, "litter": 6.2}
    agb = stock(rows, "Amazônia: As", "agb")
    assert (agb.unit, agb.region, agb.flag, agb.parameter) == ("t C/ha", "BRA", "reported", "carbon_density")
    assert pd.isna(agb.climatic_domain)  # a biome is no climatic domain
    assert stock(rows, "Cerrado: Sa", "bgb").value == 24.54  # row 124
    assert stock(rows, "Mata Atlântica: Ds", "agb").value == 141.1  # row 273
    # rows 540 and 541: the codes 'Ep' and 'EP' are different types
    assert stock(rows, "Pampa: Ep", "agb").value == stock(rows, "Pampa: EP", "agb").value == 37.74


def test_empty_and_state_group_rows_give_no_stock(rows):
    strata = set(rows.stratum)
    assert "Amazônia: Ar" not in strata  # row 13 is empty: the type does not occur in the biome
    assert not {f"Cerrado: {code}" for code in BY_STATE_GROUPS} & strata  # e.g. row 102, Sd: 'PR/SP' 35.06 …
    assert "Caatinga: Sd" in strata  # only the Cerrado rows carry state groups


def test_ipcc_tier1_stocks_by_land_use_and_climate_zone(rows):
    # IPCC_ref.xlsx, sheet Pasture, B2 = 2.7*0.47 (Clim_ID 1, warm temperate moist: no single domain)
    pasture = stock(rows, "pasture", "agb", "warm temperate moist")
    assert (pasture.value, pasture.flag) == (pytest.approx(1.269), "derived")
    assert pd.isna(pasture.climatic_domain)
    # sheet Temporary, B2: a typed 4.7
    assert stock(rows, "temporary cropland", "agb", "warm temperate moist").flag == "reported"
    # sheet Forestry, B5 = Sheet1!H21 (Clim_ID 4, tropical wet)
    wet = stock(rows, "forest plantation", "agb", "tropical wet")
    assert (wet.value, wet.climatic_domain, wet.flag) == (pytest.approx(102.3), "tropical", "derived")
    assert stock(rows, "perennial cropland", "agb", "tropical montane").value == pytest.approx(4.125)  # AVERAGE(B2:B5)


def test_row_inventory_and_unique_keys(rows):
    by_file = rows.reference.str.extract(r"(MCTI_ref|IPCC_ref|SOCref_Subordem|Fc)\.xlsx", expand=False).value_counts()
    assert by_file["MCTI_ref"] == 335 * 4  # 540 rows less 197 empty and 8 by state groups, 4 pools
    assert by_file["IPCC_ref"] == 6 * 5 * 4  # land uses x climate zones x pools
    assert by_file["SOCref_Subordem"] == 212 + 206 + 212 + 142 + 118 + 195 + 169  # filled Average cells of the 7 sheets read
    assert by_file["Fc"] == 162 * 5 + 140 + 50  # Forest, Grassland, Perennial, Semiperennial, Forestry full; Pasture, Temporary
    assert not rows.duplicated(list(schema.REFERENCE_KEY)).any()
    assert set(rows.region) == {"BRA"} and rows.condition_variable.isna().all()
    files = sample_files(SOURCE_ID)
    assert set(rows.snapshot) == {files[role].sha256 for role in ("mcti", "ipcc", "soc", "fc")}


def test_soil_organic_carbon_references_by_land_use_and_climate_soil_class(rows):
    # SOCref_Subordem.xlsx, sheet Forest, row 2: ClimSoil 101 | Average 59.51390587549033 | Median 55 | SD 30.18…
    forest = stock(rows, "forest; ClimSoil 101", "soil")
    assert forest.value == pytest.approx(59.51390587549033)
    assert (forest.parameter, forest.unit, forest.flag, forest.region) == ("carbon_density", "t C/ha", "derived", "BRA")
    assert pd.isna(forest.climatic_domain) and pd.isna(forest.value_low)  # class legend not shipped; SD not carried
    assert stock(rows, "pasture; ClimSoil 102", "soil").value == pytest.approx(143.5310813061496)  # sheet Pasture, B3
    assert stock(rows, "forest plantation; ClimSoil 128", "soil").value == 297.3  # sheet Forestry, B29: the largest
    assert "perennial cropland; ClimSoil 102" not in set(rows.stratum)  # sheet Perennial, row 3: no value


def test_stock_change_factors_by_land_use_and_biome_state_class(rows):
    # Fc.xlsx, sheet Perennial, row 56: Biome_state 301 | Fc 0.71 (the other biomes: 0.98)
    perennial = stock(rows, "perennial cropland; Biome_state 301", "soil")
    assert (perennial.value, perennial.parameter, perennial.unit, perennial.flag) == (0.71, "stock_change_factor", "1", "reported")
    assert stock(rows, "perennial cropland; Biome_state 101", "soil").value == 0.98
    assert stock(rows, "pasture; Biome_state 101", "soil").value == 0.98  # sheet Pasture, B2
    assert stock(rows, "pasture; Biome_state 310", "soil").value == 1.07  # sheet Pasture, B65: above 1
    assert stock(rows, "forest; Biome_state 627", "soil").value == 1  # native vegetation is the reference
    assert "pasture; Biome_state 106" not in set(rows.stratum)  # sheet Pasture, row 7: empty


def test_the_other_sheets_are_zero_placeholders_and_not_read(rows):
    for role in ("soc", "fc"):
        workbook = openpyxl.load_workbook(SAMPLE_DATA / INPUTS[role], read_only=True)
        values = {cell for row in workbook["Other"].iter_rows(min_row=2, min_col=2, values_only=True) for cell in row}
        assert values == {0}, role
    assert not rows.stratum.str.startswith("other land;").any()



# --- drift ---------------------------------------------------------------------------------------


def test_a_renamed_column_suggests_the_closest(tmp_path):
    def rename(workbook):
        workbook["All"]["F1"] = "AG B"
    changed = edited_workbook(tmp_path, "mcti", rename)
    with pytest.raises(SourceError, match=r"file 'MCTI_ref.xlsx', sheet 'All', row 1: expected column 'AGB' is missing "
                                          r"\(did you mean 'AG B'\?\)"):
        harmonize_sample(SOURCE_ID, mcti=changed)


def test_an_unknown_biome_names_its_row_and_the_closest(tmp_path):
    def rename(workbook):
        workbook["All"]["A273"] = "Mata Atlântica"
    changed = edited_workbook(tmp_path, "mcti", rename)
    with pytest.raises(SourceError, match=r"file 'MCTI_ref.xlsx', sheet 'All', row 273, column 'A \(Biome\)': unknown value "
                                          r"'Mata Atlântica' \(did you mean 'Mata Atlantica'\?\), not in inputs.mcti.columns.Biome.map"):
        harmonize_sample(SOURCE_ID, mcti=changed)


def test_a_non_numeric_cell_names_its_row_and_column(tmp_path):
    def write(workbook):
        workbook["All"]["G124"] = "24,54"
    changed = edited_workbook(tmp_path, "mcti", write)
    with pytest.raises(SourceError, match=r"file 'MCTI_ref.xlsx', sheet 'All', row 124, column 'G \(BGB\)': '24,54' is not a number"):
        harmonize_sample(SOURCE_ID, mcti=changed)


def test_a_workbook_saved_without_calculating_is_refused_at_the_first_formula(tmp_path):
    changed = edited_workbook(tmp_path, "ipcc", lambda workbook: None)
    with pytest.raises(SourceError, match=r"file 'IPCC_ref.xlsx', sheet 'Pasture', row 2, column 'B': formula '=2.7\*0.47' "
                                          r"has no cached value"):
        harmonize_sample(SOURCE_ID, ipcc=changed)


def test_a_renumbered_climate_zone_is_refused(tmp_path):
    def renumber(workbook):
        workbook["Sheet1"]["D19"] = "tropical moist"  # id 2 was tropical dry
    changed = edited_workbook(tmp_path, "ipcc", renumber)
    with pytest.raises(SourceError, match=r"file 'IPCC_ref.xlsx', sheet 'Sheet1', row 18, column 'C': the legend in C18:D22 "
                                          r"reads \[\('2', 'tropical moist'\)\] where climate_zone_ids.csv has "
                                          r"\[\('2', 'tropical dry'\)\]"):
        harmonize_sample(SOURCE_ID, ipcc=changed)


def test_an_undeclared_sheet_is_named(tmp_path):
    changed = edited_workbook(tmp_path, "fc", lambda workbook: workbook.create_sheet("Mosaic"))
    with pytest.raises(SourceError, match=r"file 'Fc.xlsx', sheet 'Mosaic': sheet 'Mosaic' is not declared"):
        harmonize_sample(SOURCE_ID, fc=changed)


def test_a_renamed_sheet_suggests_the_closest(tmp_path):
    def rename(workbook):
        workbook["Perennial"].title = "Perenial"  # as the repository's SOCref.py spells it
    changed = edited_workbook(tmp_path, "soc", rename)
    with pytest.raises(SourceError, match=r"file 'SOCref_Subordem.xlsx': sheet 'Perennial' is missing \(did you mean 'Perenial'\?\)"):
        harmonize_sample(SOURCE_ID, soc=changed)


def test_a_renamed_value_column_in_a_soil_workbook_suggests_the_closest(tmp_path):
    def rename(workbook):
        workbook["Pasture"]["B1"] = "Mean"
    changed = edited_workbook(tmp_path, "soc", rename)
    with pytest.raises(SourceError, match=r"file 'SOCref_Subordem.xlsx', sheet 'Pasture', row 1, column 'B': header 'Mean' "
                                          r"differs from the other sheets' 'Average'"):
        harmonize_sample(SOURCE_ID, soc=changed)


def test_a_class_id_that_is_not_one_names_its_row(tmp_path):
    def write(workbook):
        workbook["Temporary"]["A10"] = "109a"
    changed = edited_workbook(tmp_path, "fc", write)
    with pytest.raises(SourceError, match=r"file 'Fc.xlsx', sheet 'Temporary', row 10, column 'A \(Biome_state\)': '109a' "
                                          r"does not match `pattern: \\d\{3\}`"):
        harmonize_sample(SOURCE_ID, fc=changed)


def test_a_factor_written_as_text_names_its_cell(tmp_path):
    def write(workbook):
        workbook["Perennial"]["B56"] = "0,71"
    changed = edited_workbook(tmp_path, "fc", write)
    with pytest.raises(SourceError, match=r"file 'Fc.xlsx', sheet 'Perennial', row 56, column 'B \(Fc\)': '0,71' is not a number"):
        harmonize_sample(SOURCE_ID, fc=changed)
