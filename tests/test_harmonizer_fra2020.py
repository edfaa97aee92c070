"""FRA 2020 analysis tables, read from the shipped workbooks; drift cases are edited copies of them.

Cells are named as Excel shows them: row 6 is Angola, 67 China, 78 Indonesia, 241 Brazil, 254 World;
columns M..Q are the trend years 1990, 2000, 2010, 2015, 2020.
"""

import shutil

import openpyxl
import pandas as pd
import pytest

from conftest import harmonize_sample, sample_files
from ercan.declaration import DeclaredSource
from ercan.errors import SourceError
from ercan.schema import OBSERVATION_KEY
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA

DECLARED = PROJECT_ROOT / "harmonizers" / "fra2020"

EXTENT = SAMPLE_DATA / "fra2020" / "1_Forest_extent_characteristics_and_changes_en.xlsx"
CARBON = SAMPLE_DATA / "fra2020" / "2_Forest_growing_stock_biomass_and_carbon_en.xlsx"
YEARS = (1990, 2000, 2010, 2015, 2020)


@pytest.fixture(scope="module")
def fra():
    return harmonize_sample("fra2020")


def value(df, area, variable, year, pool=None, category=None):
    rows = df[(df.area_code == area) & (df.variable == variable) & (df.year == year)]
    rows = rows[rows.pool.isna()] if pool is None else rows[rows.pool == pool]
    rows = rows[rows.category.isna()] if category is None else rows[rows.category == category]
    assert len(rows) == 1, rows
    return rows.value.iloc[0]


def test_country_values_in_canonical_units(fra):
    # Angola, sheet 1a_Forest, 2020: 66607.38 (1000 ha); sheet 2d_C_AGB: 14.4 t C/ha
    assert value(fra, "AGO", "area", 2020) == pytest.approx(66_607_380)
    assert value(fra, "AGO", "carbon_density", 2020, "agb") == pytest.approx(14.4)
    assert value(fra, "CHN", "carbon_density", 1990, "agb") == pytest.approx(25.31)
    assert set(fra[fra.variable == "area"].unit) == {"ha"}


def test_236_countries_and_the_reported_aggregates_kept_apart(fra):
    area = fra[fra.variable == "area"]
    assert area[area.area_level == "national"].area_code.nunique() == 236
    world = area[area.area_code == "WORLD"]
    assert list(world.area_level.unique()) == ["global"]
    assert value(fra, "WORLD", "area", 2020) == pytest.approx(4_058_930_810)


def test_region_rows_that_appear_twice_are_read_once(fra):
    europe = fra[(fra.area_code == "FRA:europe") & (fra.variable == "area") & fra.category.isna()]
    assert sorted(europe.year) == [1990, 2000, 2010, 2015, 2020]
    assert not fra.duplicated([c for c in OBSERVATION_KEY]).any()


def test_density_sheets_keep_no_region_rows(fra):
    """Their region rows are unweighted sums of country densities (World AGB 2020 = 11354.72 t C/ha)."""
    density = fra[fra.variable.isin(["carbon_density", "biomass_density"])]
    assert set(density.area_level) == {"national"}


def trend_rows(path, sheet):
    """(code, five trend cells) of every country row, and the World row's five cells, as in the sheet."""
    rows = list(openpyxl.load_workbook(path, read_only=True, data_only=True)[sheet].iter_rows(values_only=True))
    countries = [(r[0], r[12:17]) for r in rows[5:] if r[0]]
    world = next(r[12:17] for r in rows if r[1] == "World")
    return countries, world


def complete_series_sum(countries, position):
    return sum(cells[position] for _, cells in countries if all(isinstance(c, (int, float)) for c in cells))


def test_biomass_region_rows_are_unweighted_sums_of_densities():
    """Why 2c region rows are dropped: World 2c_AGB 2020 (Q254) = 23428.24 t/ha, the plain sum of the
    densities of the 189 countries with a complete series."""
    countries, world = trend_rows(CARBON, "2c_AGB")
    assert world[4] == pytest.approx(23_428.24)
    assert complete_series_sum(countries, 4) == pytest.approx(world[4])


def test_breakdown_region_rows_cover_only_complete_series():
    """Why 1b/1c/2a region rows are dropped: World planted forest 2020 (1b_Planted_for Q254) is the sum
    over the countries with all five trend years, not over the countries that report 2020."""
    countries, world = trend_rows(EXTENT, "1b_Planted_for")
    reporting_2020 = sum(cells[4] for _, cells in countries if isinstance(cells[4], (int, float)))
    assert world[4] == pytest.approx(complete_series_sum(countries, 4)) == pytest.approx(292_586.6)
    assert reporting_2020 == pytest.approx(293_895.42)


def test_other_wooded_land_is_grassland_with_its_fra_category(fra):
    owl = "FRA:other_wooded_land"
    assert value(fra, "AGO", "area", 2020, category=owl) == pytest.approx(24_891_240)  # 1a_OWL Q6: 24891.24
    assert value(fra, "CHN", "growing_stock", 2020, category=owl) == pytest.approx(931.12e6)  # 2a_GS_OWL Q67
    assert set(fra[fra.category == owl].land_category) == {"grassland"}
    # its region rows are kept: every reporting country has the whole series (Australia reports none)
    assert value(fra, "WORLD", "area", 2020, category=owl) == pytest.approx(976_618_800)  # Q254
    assert "AUS" not in set(fra[fra.category == owl].area_code)


def test_forest_characteristics_are_breakdowns_of_the_forest_area(fra):
    assert value(fra, "CHN", "area", 2020, category="FRA:planted_forest") == pytest.approx(84_696_300)  # 1b_Planted_for Q67
    assert value(fra, "CHN", "area", 2020, category="FRA:plantation_forest_introduced_species") == pytest.approx(14_178_160)
    assert value(fra, "BRA", "area", 1990, category="FRA:primary_forest") == pytest.approx(253_129_000)  # 1c_Primary_for M241
    # Angola reports primary forest for 2015 and 2020 only (M6:O6 empty): two rows, nothing filled in
    angola = fra[(fra.area_code == "AGO") & (fra.category == "FRA:primary_forest")]
    assert sorted(angola.year) == [2015, 2020] and set(angola.value) == {26_743_000}
    mangroves = fra[fra.category == "FRA:mangroves"]
    assert value(fra, "IDN", "area", 1990, category="FRA:mangroves") == pytest.approx(3_554_000)  # 1c_Mangroves M78
    assert set(mangroves.land_category) == {"all"}  # FRA's mangroves include other wooded land
    breakdowns = fra[(fra.variable == "area") & (fra.land_category == "forest_land") & fra.category.notna()]
    assert set(breakdowns.area_level) == {"national"}  # their region rows are complete-series subtotals


def test_growing_stock_and_biomass_in_canonical_units(fra):
    assert value(fra, "AGO", "growing_stock", 2020) == pytest.approx(2_544_401_916)  # 2a_GS_Forest Q6: 2544.401916 million m3
    assert value(fra, "BRA", "growing_stock", 2020, category="FRA:planted_forest") == pytest.approx(3_056.52e6)  # 2a_GS_Planted_forest Q241
    assert value(fra, "AGO", "biomass_density", 2020, pool="agb") == pytest.approx(30.3)  # 2c_AGB Q6
    assert value(fra, "CHN", "biomass_density", 2020, pool="dead_wood") == pytest.approx(12.07)  # 2c_DW Q67
    assert set(fra[fra.variable == "growing_stock"].unit) == {"m3"}
    assert set(fra[fra.variable == "biomass_density"].unit) == {"t dm/ha"}
    assert set(fra[fra.variable == "growing_stock"].area_level) == {"national"}


def test_one_total_forest_area_per_country_and_year(fra):
    """Accounting joins densities to the forest area without a category: it must be one row per key."""
    total = fra[(fra.variable == "area") & (fra.land_category == "forest_land") & fra.category.isna()]
    assert not total.duplicated(["area_code", "year"]).any()
    assert len(total[total.area_level == "national"]) == 236 * 5
    assert not fra.duplicated(list(OBSERVATION_KEY)).any()


def test_row_counts_by_sheet_kind(fra):
    counts = fra.fillna({"category": "total"}).groupby(["variable", "category"]).size()
    assert counts[("area", "total")] == 236 * 5 + 16 * 5  # countries, and 15 FRA regions + World
    assert counts[("area", "FRA:other_wooded_land")] == 235 * 5 + 16 * 5  # Australia reports no OWL
    assert counts[("area", "FRA:planted_forest")] == 1092
    assert counts[("growing_stock", "total")] == 989
    assert counts[("biomass_density", "total")] == 2411
    assert counts[("carbon_density", "total")] == 3234
    assert len(fra) == 21_267


def test_every_sheet_of_both_workbooks_is_decided():
    """The declaration lists each sheet once, read or with the reason it is not; sheets.csv says
    what each read sheet measures."""
    inputs = DeclaredSource(DECLARED).declaration.inputs
    measured = pd.read_csv(DECLARED / "sheets.csv").sheet
    for role, path in (("extent", EXTENT), ("carbon", CARBON)):
        read, skipped = inputs[role].read.sheets, inputs[role].read.skip_sheets
        assert sorted([*read, *skipped]) == sorted(openpyxl.load_workbook(path, read_only=True).sheetnames)
        assert set(skipped) == {"Introduction", "ToC"}
    assert sorted(measured) == sorted([*inputs["extent"].read.sheets, *inputs["carbon"].read.sheets])


def declared_copy(tmp_path, edit) -> DeclaredSource:
    """The source from a copy of its folder whose sheets.csv has `edit(text) -> text` applied."""
    folder = tmp_path / "fra2020"
    shutil.copytree(DECLARED, folder)
    crosswalk = folder / "sheets.csv"
    crosswalk.write_text(edit(crosswalk.read_text()))
    return DeclaredSource(folder)


def test_a_typo_in_the_sheet_crosswalk_is_an_error(tmp_path):
    def typo(old, new):
        return lambda text: text.replace(old, new, 1)
    source = declared_copy(tmp_path, typo("2a_GS_Forest,growing_stock,", "2a_GS_Forest,growing_stocks,"))
    with pytest.raises(SourceError, match=r"sheet '2a_GS_Forest'.*unknown variable 'growing_stocks' "
                                          r"\(did you mean 'growing_stock'\?\)"):
        source.harmonize(sample_files("fra2020"))
    source = declared_copy(tmp_path / "2", typo(",FRA:planted_forest,", ",planted_forest,"))  # no FRA: prefix
    with pytest.raises(SourceError, match=r"sheets.csv', row 5: unknown category 'planted_forest'"):
        source.harmonize(sample_files("fra2020"))


def test_countries_sit_in_fra_regions_from_the_sheet_layout(fra):
    parents = fra.drop_duplicates("area_code").set_index("area_code").parent_code
    assert parents["AGO"] == "FRA:eastern_southern_africa"
    assert parents["CHN"] == "FRA:east_asia"
    assert parents["FRA"] == "FRA:europe"
    assert parents["FRA:eastern_southern_africa"] == "FRA:africa"
    assert parents["FRA:africa"] == "WORLD"


def test_missing_pools_are_absent_not_zero(fra):
    china = fra[(fra.area_code == "CHN") & (fra.variable == "carbon_density")]
    assert set(china.pool) == {"agb", "bgb", "dead_wood"}  # China reports no litter or soil carbon


def edited_extent(tmp_path, edit, original=EXTENT):
    workbook = openpyxl.load_workbook(original)
    edit(workbook)
    path = tmp_path / original.name
    workbook.save(path)
    return path


def test_header_row_removed_names_file_sheet_and_row(tmp_path):
    path = edited_extent(tmp_path, lambda wb: wb["1a_Forest"].delete_rows(2))
    with pytest.raises(SourceError) as error:
        harmonize_sample("fra2020", extent=path)
    message = str(error.value)  # the merged ISO3 header A2:A5 now starts at a blank row
    assert message.startswith(f"file '{EXTENT.name}', sheet '1a_Forest', row 6, column 'A': has values but no "
                              "header in rows 2-5")
    assert "Declare `skip_rows` or `header_rows`" in message


def test_text_in_a_value_cell_names_the_cell(tmp_path):
    def edit(wb):
        wb["1a_Forest"]["Q6"] = "n/a"  # Angola, 2020
    with pytest.raises(SourceError, match=r"sheet '1a_Forest', row 6, column 'Q \(2020\)': 'n/a' is not a number"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))


def test_renamed_sheet_suggests_the_closest(tmp_path):
    def edit(wb):
        wb["1a_Forest"].title = "1a_Forests"
    with pytest.raises(SourceError, match=r"sheet '1a_Forest' is missing \(did you mean '1a_Forests'\?\)"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))


def test_unknown_region_is_reported_with_its_row(tmp_path):
    def edit(wb):
        wb["1a_Forest"]["B29"] = "Eastern & Southern Africa"
    with pytest.raises(SourceError, match=r"row 29, column 'B \(Country/region\)': unknown region 'Eastern & Southern Africa'"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))


def test_not_a_workbook(tmp_path):
    path = tmp_path / EXTENT.name
    path.write_bytes(EXTENT.read_bytes()[:5000])  # truncated download
    with pytest.raises(SourceError, match="is not a readable .xlsx workbook"):
        harmonize_sample("fra2020", extent=path)


def test_an_unexpected_sheet_is_named_with_the_closest_known(tmp_path):
    def edit(wb):
        wb.copy_worksheet(wb["1b_Planted_for"]).title = "1b_Planted_forest"
    with pytest.raises(SourceError, match=r"sheet '1b_Planted_forest': sheet '1b_Planted_forest' is not declared "
                                          r"\(did you mean '1b_Planted_for'\?\)\. Declare `sheets` or `skip_sheets`"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))


def test_a_renamed_sheet_that_is_not_read_is_unexpected_too(tmp_path):
    def edit(wb):
        wb["ToC"].title = "ToCs"
    with pytest.raises(SourceError, match=r"sheet 'ToCs' is not declared \(did you mean 'ToC'\?\)"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))


def test_a_renamed_sheet_of_the_carbon_workbook(tmp_path):
    def edit(wb):
        wb["2c_DW"].title = "2c_DWB"
    path = edited_extent(tmp_path, edit, original=CARBON)
    with pytest.raises(SourceError, match=rf"file '{CARBON.name}': sheet '2c_DW' is missing "
                                          r"\(did you mean '2c_DWB'\?\)"):
        harmonize_sample("fra2020", carbon=path)


def test_a_partial_series_on_a_sheet_whose_region_rows_are_kept_is_an_error(tmp_path):
    """Region rows then sum only the complete series and would no longer be the regions' values."""
    def edit(wb):
        wb["1a_OWL"]["M6"] = None  # Angola, 1990
    with pytest.raises(SourceError, match=r"sheet '1a_OWL', row 6: country 'AGO' reports only part of the series "
                                          r"\(no value for \[1990\]\).*Set region_rows to 'dropped'"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))


def test_a_region_listed_twice_with_other_figures_is_an_error(tmp_path):
    """Europe is a subregion (row 186) and a region (row 257): the repeat must carry the same figures."""
    def edit(wb):
        sheet = wb["1a_Forest"]
        row = next(r for r in range(250, 261) if sheet[f"B{r}"].value == "Europe")
        sheet[f"Q{row}"] = 1.0
    with pytest.raises(SourceError, match=r"sheet '1a_Forest', row 25\d: region 'Europe' appears twice with different values"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))


def test_a_subregion_count_that_does_not_match_its_rows_is_an_error(tmp_path):
    def edit(wb):
        wb["1a_Forest"]["C29"] = 24  # Eastern and Southern Africa closes 23 country rows
    with pytest.raises(SourceError, match=r"sheet '1a_Forest', row 29, column 'C \(Total # of countries\)': subregion "
                                          r"'Eastern and Southern Africa' says it has 24 countries but 23 country rows"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))
