"""The OWID FAO forest (FRA 2020) harmonizer on the shipped files and on drifted copies of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pycountry
import pytest
from conftest import edited_copy, harmonize_sample, replace_line, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.sources import SAMPLE_DATA, get

SOURCE_ID = "owid_forest"
INPUTS = get(SOURCE_ID).source.inputs
DATA = Path(INPUTS["forest"]).name
PACKAGE = Path(INPUTS["datapackage"]).name
REGIONS = ["FRA:africa", "FRA:asia", "FRA:europe", "FRA:north_central_america", "FRA:oceania", "FRA:south_america"]


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


@pytest.fixture(scope="module")
def raw():
    """The shipped CSV as the file has it (numbers parsed by pandas), to compare against."""
    return pd.read_csv(SAMPLE_DATA / INPUTS["forest"])


def value(rows, area_code, year, variable):
    match = rows[(rows.area_code == area_code) & (rows.year == year) & (rows.variable == variable)]
    assert len(match) == 1, (area_code, year, variable, len(match))
    return match.iloc[0]


def with_package(tmp_path: Path, edit) -> Path:
    """A copy of the datapackage with `edit(fields_by_name)` applied to its parsed fields."""
    package = json.loads((SAMPLE_DATA / INPUTS["datapackage"]).read_text(encoding="utf-8"))
    edit({f["name"]: f for f in package["resources"][0]["schema"]["fields"]})
    path = tmp_path / PACKAGE
    path.write_text(json.dumps(package), encoding="utf-8")
    return path


# --- values, exactly as the file gives them (1000 ha x 1000 = ha) --------------------------------


def test_forest_area_is_the_files_number_at_its_year(rows):
    first = value(rows, "AFG", 1990, "area")  # line 2: Afghanistan,1990,... Forest area 1208.44
    assert (first.value, first.unit, first.land_category) == (1208440.0, "ha", "forest_land")
    assert (first.area_level, pd.isna(first.parent_code)) == ("national", True)
    assert pd.isna(first.year_start) and pd.isna(first.year_end)
    assert value(rows, "BRA", 2000, "area").value == 551088600.0  # line 123: 551088.6
    assert value(rows, "MCO", 2015, "area").value == 0.0  # line 553: a reported zero is kept


def test_rates_are_dated_by_their_fao_period(rows):
    # line 123: Brazil,2000 — Deforestation 5129.3 (1000 ha/yr), the 2000-2010 annual average
    brazil = value(rows, "BRA", 2010, "deforestation")
    assert (brazil.value, brazil.unit) == (5129300.0, "ha/yr")
    assert (brazil.year_start, brazil.year_end) == (2000, 2010)
    # line 181: China,2015 — Afforestation 1067.8, Natural forest expansion 1002.19 over 2015-2020
    china = value(rows, "CHN", 2020, "natural_expansion")
    assert (china.value, china.year_start, china.year_end) == (1002190.0, 2015, 2020)
    assert value(rows, "CHN", 2020, "afforestation").value == 1067800.0
    # line 3: Afghanistan,2000 — Afforestation 0.07 (2000-2010); its 1990 cell is empty: no row
    assert value(rows, "AFG", 2010, "afforestation").value == 70.0
    assert rows[(rows.area_code == "AFG") & (rows.variable == "afforestation") & (rows.year_start == 1990)].empty
    periods = rows[rows.variable != "area"][["year_start", "year_end"]].drop_duplicates()
    assert sorted(map(tuple, periods.astype(int).to_numpy())) == [
        (1990, 2000), (2000, 2010), (2010, 2015), (2015, 2020)
    ]
    assert (rows.year[rows.variable != "area"] == rows.year_end[rows.variable != "area"]).all()


def test_aggregates_are_reported_world_and_fra_regions(rows):
    world = value(rows, "WORLD", 2000, "deforestation")  # line 958: World,1990 — Deforestation 15818.0
    assert (world.value, world.area_level, world.year_start) == (15818000.0, "global", 1990)
    assert pd.isna(world.parent_code)
    assert value(rows, "WORLD", 2010, "area").value == 4106000000.0  # line 960: 4106000.0
    africa = value(rows, "FRA:africa", 2020, "deforestation")  # line 9: Africa,2015 — 4414.0
    assert (africa.value, africa.area_level, africa.parent_code) == (4414000.0, "regional", "WORLD")
    assert set(rows.area_code[rows.area_level == "regional"]) == set(REGIONS)


def test_aggregates_area_of_year_2015_is_dropped(rows, raw):
    """OWID's aggregate rows hold FRA's 2020 area under Year 2015 (see `notes` in harmonizers/owid_forest/source.yaml)."""
    aggregates = rows[rows.area_level != "national"]
    assert sorted(set(aggregates.year[aggregates.variable == "area"])) == [1990, 2000, 2010]
    assert set(rows.year[(rows.variable == "area") & (rows.area_level == "national")]) == {1990, 2000, 2010, 2015}
    # the evidence, in the file itself: World's area is the countries' sum rounded to 1 Mha (0.5 Mha =
    # 500 thousand ha) in 1990-2010, but falls 24.9 Mha short of it in 2015 (it is the 2020 figure)
    countries = raw[~raw.Entity.isin(["World", "Africa", "Asia", "Europe", "North and Central America", "Oceania",
                                      "South America"])]
    sums = countries.groupby("Year")["Forest area"].sum()
    world = raw[raw.Entity == "World"].set_index("Year")["Forest area"]
    assert ((world - sums).abs()[[1990, 2000, 2010]] <= 500).all()
    assert world[2015] - sums[2015] == pytest.approx(-24867.48, abs=0.01)


def test_dropped_aggregate_areas_are_fra2020s_2020_values():
    """Cross-check with the fra2020 source's shipped workbook: the file's Year-2015 aggregate areas
    equal FRA 2020's 2020 areas rounded to 1 Mha, and not its 2015 areas."""
    raw = pd.read_csv(SAMPLE_DATA / INPUTS["forest"])
    names = {"World": "WORLD", "Africa": "FRA:africa", "Asia": "FRA:asia", "Europe": "FRA:europe",
             "North and Central America": "FRA:north_central_america", "Oceania": "FRA:oceania",
             "South America": "FRA:south_america"}
    owid_2015 = raw[raw.Entity.isin(names) & (raw.Year == 2015)]
    owid_2015 = owid_2015.set_index(owid_2015.Entity.map(names))["Forest area"]
    fra = harmonize_sample("fra2020")
    fra = fra[(fra.variable == "area") & fra.category.isna() & fra.area_code.isin(names.values())].pivot(index="area_code", columns="year",
                                                                                    values="value")
    owid_2015 = owid_2015.sort_index() * 1000  # ha
    fra = fra.loc[owid_2015.index]
    assert len(owid_2015) == 7
    assert (owid_2015 == (fra[2020] / 1e6).round() * 1e6).all()
    assert (owid_2015 != (fra[2015] / 1e6).round() * 1e6).all()


def test_row_inventory_and_common_fields(rows):
    counts = rows.groupby(["area_level", "variable"]).size().to_dict()
    assert counts == {
        ("global", "area"): 3,
        ("global", "deforestation"): 4,
        ("national", "afforestation"): 393,
        ("national", "area"): 944,
        ("national", "deforestation"): 500,
        ("national", "natural_expansion"): 311,
        ("regional", "area"): 18,
        ("regional", "deforestation"): 24,
    }
    assert set(rows.land_category) == {"forest_land"} and set(rows.flag) == {"reported"}
    assert rows.pool.isna().all() and rows.category.isna().all() and rows.uncertainty.isna().all()
    assert set(rows.source) == {SOURCE_ID}
    assert set(rows.snapshot) == {sample_files(SOURCE_ID)["forest"].sha256}
    for variable, unit in rows[["variable", "unit"]].drop_duplicates().itertuples(index=False):
        assert schema.VARIABLE_UNITS[variable] == unit
    assert not rows.duplicated(list(schema.OBSERVATION_KEY)).any()


def test_country_codes_are_236_distinct_iso3(rows):
    national = rows[rows.area_level == "national"]
    codes = set(national.area_code)
    assert len(codes) == 236
    assert all(pycountry.countries.get(alpha_3=c) is not None for c in codes)
    assert national.parent_code.isna().all()
    # the reviewed crosswalk row, and names where a converter slip would be easy
    assert value(rows, "TLS", 1990, "area").value == 963100.0  # line 862: Timor,1990 — 963.1
    assert {"COG", "COD", "NER", "NGA", "FSM", "SXM", "MAF", "BES", "CUW", "PRK", "KOR"} <= codes


def test_every_country_is_one_fra2020_reports():
    """Cross-check with the fra2020 source: OWID's 236 countries are FRA 2020's 236."""
    fra = harmonize_sample("fra2020")
    rows = harmonize_sample(SOURCE_ID)
    assert set(rows.area_code[rows.area_level == "national"]) == set(fra.area_code[fra.area_level == "national"])


# --- drift: each error names the file, row and column and says what is wrong ---------------------


def test_renamed_column(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "forest", replace_line(1, ",Deforestation,", ",Deforestations,"))
    with pytest.raises(SourceError, match=re.escape(f"file {DATA!r}, row 1: expected column 'Deforestation' is "
                                                    "missing (did you mean 'Deforestations'?)")):
        harmonize_sample(SOURCE_ID, forest=path)


def test_unknown_country_name(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "forest", replace_line(862, "Timor,", "Channel Islands,"))
    with pytest.raises(SourceError, match=re.escape(f"file {DATA!r}, row 862, column 'Entity': unknown country name "
                                                    "'Channel Islands' (did you mean 'Cayman Islands'?). After checking "
                                                    "what it is: add each country's name, with its ISO3 and why, to "
                                                    "harmonizers/owid_forest/country_names.csv (name,iso3,note); any "
                                                    "other area to owid_forest_aggregates.csv.")):
        harmonize_sample(SOURCE_ID, forest=path)


def test_misspelt_region_suggests_the_closest_name(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "forest", replace_line(9, "Africa,", "Afrika,"))
    with pytest.raises(SourceError, match=re.escape("row 9, column 'Entity': unknown country name 'Afrika' "
                                                    "(did you mean 'Africa'?)")):
        harmonize_sample(SOURCE_ID, forest=path)


def test_two_names_for_one_country(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "forest",
                       lambda lines: lines + [lines[861].replace("Timor,", "East Timor,")])
    with pytest.raises(SourceError, match=re.escape(f"file {DATA!r}, row 974, column 'Forest area': the value for "
                                                    "{'area_code': 'TLS', 'year': 1990, 'land_category': 'forest_land', "
                                                    "'variable': 'area'} appears again (first at line 862)")):
        harmonize_sample(SOURCE_ID, forest=path)


def test_non_numeric_cell(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "forest", replace_line(123, ",5129.3,", ",n/a,"))
    with pytest.raises(SourceError, match=re.escape(f"file {DATA!r}, row 123, column 'Deforestation': 'n/a' is not "
                                                    "a number")):
        harmonize_sample(SOURCE_ID, forest=path)


def test_year_without_a_period(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "forest", replace_line(2, "Afghanistan,1990,", "Afghanistan,2020,"))
    message = (f"file {DATA!r}, row 2, column 'Year': year 2020 is none of the years of fao_periods.csv "
               "(1990, 2000, 2010, 2015)")
    with pytest.raises(SourceError, match=re.escape(message)):
        harmonize_sample(SOURCE_ID, forest=path)


def test_datapackage_with_another_conversion_factor(tmp_path):
    def edit(fields):
        settings = json.loads(fields["Forest area"]["owidDisplaySettings"])
        fields["Forest area"]["owidDisplaySettings"] = json.dumps({**settings, "conversionFactor": 1})

    with pytest.raises(SourceError, match=re.escape(f"file {PACKAGE!r}, column 'Forest area': field 'Forest area' "
                                                    "states owidDisplaySettings.unit 'hectares', "
                                                    "owidDisplaySettings.conversionFactor 1, but the declaration reads "
                                                    "its values as '1000 ha' (stated as 'hectares', 1000). If the "
                                                    "publisher changed the column's unit: check it, then declare the "
                                                    "new unit under inputs.forest.values")):
        harmonize_sample(SOURCE_ID, datapackage=with_package(tmp_path, edit))


def test_datapackage_with_another_unit_text(tmp_path):
    def edit(fields):
        settings = json.loads(fields["Deforestation"]["owidDisplaySettings"])
        fields["Deforestation"]["owidDisplaySettings"] = json.dumps({**settings, "unit": "km2 per year"})

    with pytest.raises(SourceError, match=re.escape(f"file {PACKAGE!r}, column 'Deforestation': field 'Deforestation' "
                                                    "states owidDisplaySettings.unit 'km2 per year'")):
        harmonize_sample(SOURCE_ID, datapackage=with_package(tmp_path, edit))


def test_datapackage_missing_a_field(tmp_path):
    def edit(fields):
        fields["Afforestation"]["name"] = "Afforestation (1000ha/yr)"  # the first version's header

    with pytest.raises(SourceError, match=re.escape(f"file {PACKAGE!r}, column 'Afforestation': field 'Afforestation' "
                                                    "is not described")):
        harmonize_sample(SOURCE_ID, datapackage=with_package(tmp_path, edit))


def test_datapackage_that_is_not_json(tmp_path):
    path = tmp_path / PACKAGE
    path.write_text("<html>Not Found</html>", encoding="utf-8")
    with pytest.raises(SourceError, match=re.escape(f"file {PACKAGE!r}: is not JSON")):
        harmonize_sample(SOURCE_ID, datapackage=path)


def test_missing_datapackage_role():
    files = sample_files(SOURCE_ID)
    del files["datapackage"]
    with pytest.raises(SourceError, match=re.escape("no file for role 'datapackage'")):
        get(SOURCE_ID).harmonize(files)
