"""FRA 2020 analysis tables, read from the shipped workbooks; drift cases are edited copies of them."""

import openpyxl
import pytest

from conftest import harmonize_sample
from ercan.errors import SourceError
from ercan.schema import OBSERVATION_KEY
from ercan.sources import SAMPLE_DATA

EXTENT = SAMPLE_DATA / "fra2020" / "1_Forest_extent_characteristics_and_changes_en.xlsx"


@pytest.fixture(scope="module")
def fra():
    return harmonize_sample("fra2020")


def value(df, area, variable, year, pool=None):
    rows = df[(df.area_code == area) & (df.variable == variable) & (df.year == year)]
    rows = rows[rows.pool.isna()] if pool is None else rows[rows.pool == pool]
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
    europe = fra[(fra.area_code == "FRA:europe") & (fra.variable == "area")]
    assert sorted(europe.year) == [1990, 2000, 2010, 2015, 2020]
    assert not fra.duplicated([c for c in OBSERVATION_KEY]).any()


def test_density_sheets_keep_no_region_rows(fra):
    """Their region rows are unweighted sums of country densities (World AGB 2020 = 11354.72 t C/ha)."""
    density = fra[fra.variable == "carbon_density"]
    assert set(density.area_level) == {"national"}


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


def edited_extent(tmp_path, edit):
    workbook = openpyxl.load_workbook(EXTENT)
    edit(workbook)
    path = tmp_path / EXTENT.name
    workbook.save(path)
    return path


def test_header_row_removed_names_file_sheet_and_row(tmp_path):
    path = edited_extent(tmp_path, lambda wb: wb["1a_Forest"].delete_rows(2))
    with pytest.raises(SourceError) as error:
        harmonize_sample("fra2020", extent=path)
    message = str(error.value)
    assert f"file '{EXTENT.name}'" in message and "sheet '1a_Forest'" in message and "row 2" in message
    assert "header row was removed" in message


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
    with pytest.raises(SourceError, match=r"row 29, column 'B': unknown region 'Eastern & Southern Africa'"):
        harmonize_sample("fra2020", extent=edited_extent(tmp_path, edit))


def test_not_a_workbook(tmp_path):
    path = tmp_path / EXTENT.name
    path.write_bytes(EXTENT.read_bytes()[:5000])  # truncated download
    with pytest.raises(SourceError, match="is not a readable .xlsx workbook"):
        harmonize_sample("fra2020", extent=path)
