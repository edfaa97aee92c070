"""UNFCCC Annex I LULUCF (harmonizers/unfccc_annex_i/: declaration and hook), on the shipped JSON
files and on edited copies of them.

Edited copies are the real files loaded, changed in one place and written back under the same
name in tmp_path (so that errors name the file as the original is named)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import harmonize_sample, sample_files

from ercan.accounting.hierarchy import Hierarchy
from ercan.areas import iso3_for_names
from ercan.declaration import DeclaredSource
from ercan.errors import SourceError
from ercan.schema import LAND_CATEGORIES, OBSERVATION_KEY
from ercan.sources import SAMPLE_DATA, get

SOURCE_ID = "unfccc_annex_i"
FOLDER = Path(__file__).parents[1] / "harmonizers" / SOURCE_ID
INPUTS = {role: SAMPLE_DATA / rel for role, rel in get(SOURCE_ID).source.inputs.items()}
DOCS = {role: json.loads(path.read_text(encoding="utf-8")) for role, path in INPUTS.items()}
LULUCF, FOREST = INPUTS["lulucf"].name, INPUTS["forest_land"].name
SECTOR_4 = "4.  Land Use, Land-Use Change and Forestry"  # as written in the file (double space)
EU28 = {"AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "IRL", "ITA",
        "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE", "GBR"}
EU27 = EU28 - {"GBR"}


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def cell(role: str, party: str, row: str, column: str):
    """The raw cell (numberValue or stringValue) of a shipped file, read independently of the harmonizer."""
    doc = DOCS[role]
    column_id = next(c["id"] for c in doc["columns"] if c["name"] == column)
    p = next(p for p in doc["data"] if p["name"] == party)
    r = next(r for r in p["rows"] if r["name"] == row)
    c = next(c for c in r["cells"] if c["column"] == column_id)
    return c.get("numberValue", c.get("stringValue"))


def value(rows, area_code, category, year):
    hit = rows[(rows.area_code == area_code) & (rows.category == f"CRF:{category}") & (rows.year == year)]
    assert len(hit) == 1, hit
    return hit.value.iloc[0]


def edited(tmp_path, role: str, change) -> object:
    """A copy of the role's shipped file, same name, with `change(doc)` applied."""
    doc = json.loads(INPUTS[role].read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / INPUTS[role].name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def party_of(doc, name):
    return next(p for p in doc["data"] if p["name"] == name)


def row_of(doc, party, text):
    return next(r for r in party_of(doc, party)["rows"] if r["name"] == text)


# --- the shipped files ---------------------------------------------------------------------


def test_shipped_files_are_the_originals_or_the_documented_extract():
    note = (INPUTS["lulucf"].parent / "SOURCE.txt").read_text(encoding="utf-8")
    assert sum(p.stat().st_size for p in INPUTS.values()) < 1_500_000
    for path in INPUTS.values():
        assert hashlib.sha256(path.read_bytes()).hexdigest() in note, path.name
    assert "fc42009a475ca11a671e9e4f8dbd68b45a33f319" in note
    assert set(DOCS["units"]) == {"units"}  # the extract holds the units table only
    assert {"id": 140, "name": "kt CO₂ equivalent"} in DOCS["units"]["units"]


def test_cells_used():
    assert cell("lulucf", "Australia", SECTOR_4, "1990") == 191805.76126938168
    assert cell("lulucf", "United States of America", SECTOR_4, "1990") == -900795.9260250821
    assert cell("forest_land", "Russian Federation", "4.A.1  Forest Land Remaining Forest Land", "2018") == (
        -621845.4189180891
    )
    assert cell("lulucf", "Finland", "4.G  Harvested Wood Products", "2005") == -1971.202
    assert cell("lulucf", "Germany", "4.A  Forest Land", "Last Inventory Year (2019)") == -57025.42859646676
    assert cell("lulucf", "Malta", "4.A  Forest Land", "2000") == "NO,NA"
    assert cell("lulucf", "Poland", SECTOR_4, "Base year") == -19138.03529055087  # not the 1990 value
    assert cell("lulucf", "Poland", SECTOR_4, "1990") == -30312.29255753673
    assert cell("lulucf", "European Union (Convention)", "4.G  Harvested Wood Products", "1990") == (
        -31260.146514211825
    )


def test_real_values_converted(rows):
    # every cell is kt CO₂ equivalent (unitId 140): x 1000 -> t CO2e/yr
    assert value(rows, "AUS", "4", 1990) == pytest.approx(191_805_761.26938168, rel=1e-12)
    # a removal keeps its sign: USA sector 4, 1990
    assert value(rows, "USA", "4", 1990) == pytest.approx(-900_795_926.0250821, rel=1e-12)
    # read from the forest_land file
    assert value(rows, "RUS", "4.A.1", 2018) == pytest.approx(-621_845_418.9180891, rel=1e-12)
    assert value(rows, "FIN", "4.G", 2005) == pytest.approx(-1_971_202.0, rel=1e-12)
    # 'Last Inventory Year (2019)' is 2019
    assert value(rows, "DEU", "4.A", 2019) == pytest.approx(-57_025_428.59646676, rel=1e-12)
    # 'Base year' is skipped: Poland's 1990 row is the 1990 column, and no year is outside 1990-2019
    assert value(rows, "POL", "4", 1990) == pytest.approx(-30_312_292.55753673, rel=1e-12)
    assert rows.year.between(1990, 2019).all()
    # a notation key is no value, not zero
    assert rows[(rows.area_code == "MLT") & (rows.category == "CRF:4.A")].empty


def test_rows_in_the_common_schema(rows):
    assert not rows.duplicated(list(OBSERVATION_KEY)).any()
    assert set(rows.unit) == {"t CO2e/yr"} and set(rows.variable) == {"net_emissions"}
    assert set(rows.flag) == {"reported"} and rows.pool.isna().all()
    assert rows.groupby("category").land_category.unique().map(list).to_dict() == {
        "CRF:4": ["all"],
        "CRF:4.A": ["forest_land"],
        "CRF:4.A.1": ["forest_land"],
        "CRF:4.A.2": ["forest_land"],
        "CRF:4.G": ["all"],
    }
    sha = {role: hashlib.sha256(INPUTS[role].read_bytes()).hexdigest() for role in ("lulucf", "forest_land")}
    from_forest = rows.category.isin(["CRF:4.A.1", "CRF:4.A.2"])
    assert set(rows.snapshot[from_forest]) == {sha["forest_land"]}
    assert set(rows.snapshot[~from_forest]) == {sha["lulucf"]}
    assert (rows.value < 0).any() and (rows.value > 0).any()
    assert len(rows) == 6259


def test_one_row_per_number_cell(rows):
    """Every numberValue of the kept (Party, category, year) cells is one row; no more, no fewer."""
    years = {c["id"] for c in DOCS["lulucf"]["columns"] if c["name"] != "Base year"}
    count = 0
    for role, codes in (("lulucf", ("4.", "4.A", "4.G")), ("forest_land", ("4.A.1", "4.A.2"))):
        for p in DOCS[role]["data"]:
            if p["name"] == "European Union (KP)":
                continue
            for r in p["rows"]:
                if r["name"].split()[0] in codes:
                    count += sum(1 for c in r["cells"] if c["column"] in years and "numberValue" in c)
    assert len(rows) == count


def test_parties_map_to_iso3(rows):
    national = rows[rows.area_level == "national"]
    assert national.area_code.str.fullmatch(r"[A-Z]{3}").all()
    assert national.area_code.nunique() == 43
    # parties.json's codes agree with country_converter on every national Party's name
    parties = next(g for g in DOCS["parties"] if g["name"] == "Annex I")["parties"]
    countries = {p["name"]: p["code"] for p in parties if not p["name"].startswith("European Union")}
    assert iso3_for_names(countries) == countries
    assert set(countries.values()) == set(national.area_code)


def test_eu_is_a_regional_aggregate_not_a_country(rows):
    eu = rows[rows.area_code == "EUU"]
    assert set(eu.area_level) == {"regional"} and set(eu.parent_code) == {"WORLD"}
    assert len(eu) == 5 * 30
    assert set(rows.loc[rows.area_level == "regional", "area_code"]) == {"EUU"}
    assert "EUU" not in set(rows.loc[rows.area_level == "national", "area_code"])
    # European Union (KP) is skipped by name: no second EU, no code EUA/EUC
    assert not rows.area_code.isin(["EUA", "EUC"]).any()
    assert value(rows, "EUU", "4.G", 1990) == pytest.approx(-31_260_146.514211825, rel=1e-12)


def test_no_eu_member_counted_twice(rows):
    national = rows[rows.area_level == "national"]
    assert set(national.loc[national.parent_code == "EUU", "area_code"]) == EU28
    assert national.loc[~national.area_code.isin(EU28), "parent_code"].isna().all()
    hierarchy = Hierarchy(rows)
    assert hierarchy.members("EUU") == EU28
    # every Party once (through the EU and through its UN M49 region); the EU itself is not a member
    assert hierarchy.members("WORLD") == set(national.area_code) and "EUU" not in hierarchy.members("WORLD")
    # one value per member, category and year
    assert not national.duplicated(["area_code", "category", "year"]).any()


def test_eu_value_is_the_sum_of_eu28_not_eu27(rows):
    """The figures behind crosswalks/unfccc_annex_i_eu_members.csv."""
    def summed(members, category, year):
        hit = rows[rows.area_code.isin(members) & (rows.category == f"CRF:{category}") & (rows.year == year)]
        return hit.value.sum()

    for year in range(1990, 2020):
        eu = value(rows, "EUU", "4.G", year)
        assert summed(EU28, "4.G", year) == pytest.approx(eu, rel=1e-12)
        assert abs(summed(EU27, "4.G", year) / eu - 1) > 0.03
        for category, tolerance in (("4", 0.0026), ("4.A", 0.0009)):
            eu = value(rows, "EUU", category, year)
            assert summed(EU28, category, year) == pytest.approx(eu, rel=tolerance)
            assert abs(summed(EU27, category, year) / eu - 1) > 0.015
    assert value(rows, "EUU", "4", 1990) == pytest.approx(-193_194_669, rel=1e-8)
    assert summed(EU28, "4", 1990) == pytest.approx(-192_801_745, rel=1e-8)
    assert summed(EU27, "4", 1990) == pytest.approx(-210_902_362, rel=1e-8)


def test_forest_land_parts_do_not_always_add_up(rows):
    """4.A.1 + 4.A.2 = 4.A for most areas; for 19 the parts miss emissions reported for 4.A as a whole
    (mostly CH₄/N₂O): 4.A is then larger than the parts, in every year. Kept as reported."""
    wide = rows.pivot_table(index=["area_code", "year"], columns="category", values="value")
    both = wide[["CRF:4.A", "CRF:4.A.1", "CRF:4.A.2"]].dropna()
    gap = both["CRF:4.A"] - both["CRF:4.A.1"] - both["CRF:4.A.2"]
    tolerance = 1e-9 * both["CRF:4.A"].abs() + 1e-3
    assert (gap > -tolerance).all()  # never the other way round
    gapped = set(gap[gap > tolerance].index.get_level_values("area_code"))
    assert gapped == {"CAN", "CHE", "DEU", "DNK", "EST", "EUU", "FIN", "GBR", "IRL", "ISL", "LTU", "LVA", "NLD",
                      "NOR", "ROU", "RUS", "SWE", "UKR", "USA"}
    assert gap[("FIN", 1990)] == pytest.approx(3_494_225, rel=1e-6)
    # the other 21 add up; BLR, KAZ, MCO, MLT have no year with all three
    assert len(set(both.index.get_level_values("area_code")) - gapped) == 21


def test_crosswalks_are_well_formed():
    categories = pd.read_csv(FOLDER / "unfccc_crf_categories.csv", dtype=str, keep_default_na=False)
    assert list(categories.columns) == ["name", "category", "land_category", "note"]
    assert set(categories.land_category) <= set(LAND_CATEGORIES) and (categories.note != "").all()
    assert categories.category.str.fullmatch(r"CRF:4(?:\.[A-H](?:\.\d+)?)?").all()
    members = pd.read_csv(FOLDER / "unfccc_annex_i_eu_members.csv", dtype=str, keep_default_na=False)
    assert set(members["member"]) == EU28 and set(members["aggregate"]) == {"EUU"}
    assert "EU27 alone misses" in members.loc[members["member"] == "GBR", "note"].iloc[0]
    aggregates = pd.read_csv(FOLDER / "unfccc_annex_i_aggregates.csv", dtype=str, keep_default_na=False)
    assert set(aggregates.party_code) == {"EUA"}  # EUC, European Union (KP), is a drop rule with its reason
    assert "European Union (KP)" in (FOLDER / "source.yaml").read_text(encoding="utf-8")


# --- drift: edited copies of the real files ------------------------------------------------


def declared_copy(tmp_path, *edits: tuple[str, str], years: str = "") -> Path:
    """A copy of the source's folder whose source.yaml has each `old` replaced by `new` (once), and
    `years` appended to year_columns.csv."""
    folder = tmp_path / "declared" / SOURCE_ID
    shutil.copytree(FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    text = (folder / "source.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    (folder / "source.yaml").write_text(text, encoding="utf-8")
    with (folder / "year_columns.csv").open("a", encoding="utf-8") as f:
        f.write(years)
    return folder


def harmonize_copy(folder, **replace):
    return DeclaredSource(folder).harmonize(sample_files(SOURCE_ID, **replace)).to_pandas()


def test_unknown_unit_id(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: row_of(d, "Australia", SECTOR_4).update(unitId=999))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.unitId': record 1: id '999' is "
                       r"not in column 'id' of 'conversion-units.json', which lists 16 ids"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_per_gas_unit_is_refused(tmp_path):
    """unitId 5 = 'kt' is the unit of the CO₂ files: a mass of one gas, not Aggregate GHGs."""
    path = edited(tmp_path, "forest_land", lambda d: row_of(d, "Austria", "4.A.2  Land Converted to Forest Land")
                  .update(unitId=5))
    with pytest.raises(SourceError, match=rf"file '{re.escape(FOREST)}', column 'rows.unitId': record 2: unit 'kt/yr' "
                       r"cannot be converted to 't CO2e/yr' \(different dimensions\)"):
        harmonize_sample(SOURCE_ID, forest_land=path)


def test_units_table_names_the_unit_otherwise(tmp_path):
    def change(d):
        next(u for u in d["units"] if u["id"] == 140)["name"] = "kt"

    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.unitId': record 1: unit 'kt/yr' "
                       r"cannot be converted to 't CO2e/yr'"):
        harmonize_sample(SOURCE_ID, units=edited(tmp_path, "units", change))
    with pytest.raises(SourceError, match=r"file 'conversion-units.json', column 'name': record 14: unknown value "
                       r"'kt CO2 eq' \(did you mean 'kt CO₂ equivalent'\?\), not in inputs.lulucf.columns.rows.unitId.map"):
        harmonize_sample(SOURCE_ID, units=edited(tmp_path, "units", lambda d: d["units"][13].update(name="kt CO2 eq")))


def test_units_table_without_units(tmp_path):
    path = edited(tmp_path, "units", lambda d: d.update(unit=d.pop("units")))
    with pytest.raises(SourceError, match=r"file 'conversion-units.json': has no 'units' at the top level "
                       r"\(did you mean 'unit'\?\)"):
        harmonize_sample(SOURCE_ID, units=path)


def _annex_i(doc):
    return next(g for g in doc if g["name"] == "Annex I")["parties"]


def test_party_code_that_is_not_iso3(tmp_path):
    path = edited(tmp_path, "parties", lambda d: _annex_i(d)[0].update(code="AU"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'name': record 1: Party 'Australia' "
                       r"\(id 3\) is AUS by its name, but 'parties.json' lists id 3 as 'Australia', code 'AU'"):
        harmonize_sample(SOURCE_ID, parties=path)


def test_eu_code_changed_is_not_taken_for_a_country(tmp_path):
    path = edited(tmp_path, "parties", lambda d: next(p for p in _annex_i(d) if p["code"] == "EUA").update(code="EUU"))
    with pytest.raises(SourceError, match=r"record 12: Party 'European Union \(Convention\)' \(id 19\) is EUU by its "
                       r"name, but 'parties.json' lists id 19 as 'European Union \(Convention\)', code 'EUU'"):
        harmonize_sample(SOURCE_ID, parties=path)


def test_parties_json_without_the_annex_i_group(tmp_path):
    path = edited(tmp_path, "parties", lambda d: next(g for g in d if g["name"] == "Annex I").update(name="Annex 1"))
    with pytest.raises(SourceError, match=r"file 'parties.json': has no group 'Annex I' \(did you mean 'Annex 1'\?\)"):
        harmonize_sample(SOURCE_ID, parties=path)


def test_unknown_party_name(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: party_of(d, "Monaco").update(id=9999, name="Monacco"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'name': record 29: unknown country "
                       r"name 'Monacco' \(did you mean 'Monaco'\?\)"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_party_not_in_parties_json_is_mapped_by_name(tmp_path):
    lulucf = edited(tmp_path, "lulucf", lambda d: party_of(d, "Monaco").update(id=9999))
    (tmp_path / "f").mkdir()
    forest = edited(tmp_path / "f", "forest_land", lambda d: party_of(d, "Monaco").update(id=9999))
    rows = harmonize_sample(SOURCE_ID, lulucf=lulucf, forest_land=forest)
    assert len(rows) == 6259 and "MCO" in set(rows.area_code)


def test_party_id_with_another_name(tmp_path):
    """Monaco's record named Liechtenstein: two records of one area, found at the second."""
    path = edited(tmp_path, "lulucf", lambda d: party_of(d, "Monaco").update(name="Liechtenstein"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.cells.numberValue': record 29: "
                       r"the value for \{'area_code': 'LIE', 'year': 1990, .*'category': 'CRF:4'.*\} appears again "
                       r"\(first at line 25\)"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_party_id_with_another_name_where_the_name_is_no_other_partys(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: party_of(d, "Monaco").update(name="Andorra"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'name': record 29: Party 'Andorra' "
                       r"\(id 42\) is AND by its name, but 'parties.json' lists id 42 as 'Monaco', code 'MCO'"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_two_parties_one_code(tmp_path):
    path = edited(tmp_path, "parties", lambda d: next(p for p in _annex_i(d) if p["code"] == "AUT").update(code="AUS"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'name': record 2: Party 'Austria' "
                       r"\(id 4\) is AUT by its name, but 'parties.json' lists id 4 as 'Austria', code 'AUS'"):
        harmonize_sample(SOURCE_ID, parties=path)


@pytest.mark.parametrize(("cell_json", "column", "problem"), [
    ({"numberValue": "-207.78"}, "rows.cells.numberValue", r": numberValue is \"-207.78\", not a number"),
    ({"numberValue": None}, "rows.cells.numberValue", r": numberValue is null, not a number"),
    ({"stringValue": "n/a"}, "rows.cells.stringValue", r"'n/a' is not a number"),
    ({"numberValue": 1.0, "stringValue": "NO"}, "rows.cells.numberValue",
     r" has numberValue and stringValue: an item has exactly one of them"),
    ({}, "rows.cells.numberValue", r" has none of numberValue, stringValue: an item has exactly one of them"),
])
def test_bad_cell(tmp_path, cell_json, column, problem):
    def change(d):
        cells = row_of(d, "Australia", "4.A  Forest Land")["cells"]
        cells[2] = {"column": 33, **cell_json}  # the 1991 cell

    path = edited(tmp_path, "lulucf", change)
    where = r"record 1: " if "stringValue" in cell_json and len(cell_json) == 1 else r"record 1, rows\[1\], cells\[2\]"
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column '{column}': {where}{problem}"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_notation_key_sets_are_no_value(tmp_path):
    def change(d):
        row_of(d, "Australia", "4.G  Harvested Wood Products")["cells"][2] = {"column": 33, "stringValue": "NE, IE"}

    rows = harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change))
    assert len(rows) == 6258
    assert rows[(rows.area_code == "AUS") & (rows.category == "CRF:4.G") & (rows.year == 1991)].empty


def test_notation_key_where_the_other_file_has_a_number(tmp_path):
    """4.A is in both files; a value in one and a notation key in the other is a disagreement."""
    def change(d):
        row_of(d, "Australia", "4.A  Forest Land")["cells"][2] = {"column": 33, "stringValue": "NO"}

    with pytest.raises(SourceError, match=rf"file '{re.escape(FOREST)}', column 'rows.cells.numberValue': record 1: "
                       rf"CRF:4.A of AUS, year 1991: -207780.47310562147 t CO2e/yr here but nan in '{re.escape(LULUCF)}'"):
        harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change))


def test_bad_cell_in_a_row_not_read_is_ignored(tmp_path):
    """Only the rows read are parsed: a text that is no notation key in 4.B does not stop the source.
    Every cell's JSON type is checked, though: a numberValue that is text is a damaged file wherever it is."""
    def change(value):
        return lambda d: row_of(d, "Australia", "4.B  Cropland")["cells"].__setitem__(2, {"column": 33, **value})

    assert len(harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change({"stringValue": "x"})))) == 6259
    with pytest.raises(SourceError, match=r"record 1, rows\[2\], cells\[2\]: numberValue is \"x\", not a number"):
        harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change({"numberValue": "x"})))


def test_unknown_column(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: d["columns"][1].update(name="Year 1990"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.cells.column': record 1: "
                       r"unknown value 'Year 1990' \(did you mean '1990'\?\), not in year_columns.csv"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_column_id_listed_twice(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: d["columns"][2].update(id=32))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'id': `columns` item 3 lists the id again"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_cell_in_an_unlisted_column(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: row_of(d, "Austria", SECTOR_4)["cells"][5].update(column=99))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.cells.column': record 2: "
                       r"rows.cells.column 99 is no id of `columns`"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_two_cells_in_one_column(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: row_of(d, "Austria", SECTOR_4)["cells"][5].update(column=32))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.cells.numberValue': record 2: "
                       r"the value for \{'area_code': 'AUT', 'year': 1990, .*'category': 'CRF:4'.*\} appears again"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_renamed_category(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: row_of(d, "Austria", "4.G  Harvested Wood Products")
                  .update(name="4.G  Harvested Wood Product"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.name': record 2: unknown value "
                       r"'4.G  Harvested Wood Product' \(did you mean '4.G  Harvested Wood Products'\?\), not in "
                       r"unfccc_crf_categories.csv"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_category_missing_from_the_file(tmp_path):
    def change(d):
        for p in d["data"]:
            p["rows"] = [r for r in p["rows"] if not r["name"].startswith("4.G")]

    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}': has no row '4.G  Harvested Wood Products' "
                       r"for any Party"):
        harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change))


def test_wrong_file_for_a_role(tmp_path):
    """The forest_land file given as lulucf: it has no sector-4 row."""
    path = tmp_path / LULUCF
    path.write_bytes(INPUTS["forest_land"].read_bytes())
    with pytest.raises(SourceError, match=r"has no row '4.  Land Use, Land-Use Change and Forestry' for any Party"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_a_drop_rule_whose_count_changed(tmp_path):
    """The UK's records gone: the reviewed count of Base year cells no longer holds."""
    uk = "United Kingdom of Great Britain and Northern Ireland"
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}': 387 rows match the drop rule "
                       r"\{'rows.cells.column': 'Base year'\} .* the declaration expects 396"):
        harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", lambda d: d["data"].remove(party_of(d, uk))))


def test_forest_land_copy_of_4a_disagrees(tmp_path):
    path = edited(tmp_path, "forest_land", lambda d: row_of(d, "Japan", "4.A  Forest Land")["cells"][3]
                  .update(numberValue=1.0))
    with pytest.raises(SourceError, match=rf"file '{re.escape(FOREST)}', column 'rows.cells.numberValue': record 22: "
                       rf"CRF:4.A of JPN, year 1992: 1000.0 t CO2e/yr here but -?[0-9.e+-]+ in '{re.escape(LULUCF)}'"):
        harmonize_sample(SOURCE_ID, forest_land=path)


def test_eu_membership_no_longer_adds_up(tmp_path):
    """The UK's row doubled: the EU value no longer equals the sum of the declared EU28."""
    uk = "United Kingdom of Great Britain and Northern Ireland"

    def change(d):
        for c in row_of(d, uk, "4.G  Harvested Wood Products")["cells"]:
            if "numberValue" in c:
                c["numberValue"] *= 2

    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.cells.numberValue': record 12: "
                       r"CRF:4.G, year 1990: the EU reports -3.12601e\+07 t CO2e/yr but its 28 declared "
                       r"members add up to -3.33552e\+07 \(-6.70%; tolerance 0.5%\)"):
        harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change))


def test_eu_member_missing(tmp_path):
    """The UK's records gone from both files (the drop rules' counts reviewed): the EU no longer adds up."""
    uk = "United Kingdom of Great Britain and Northern Ireland"
    lulucf = edited(tmp_path, "lulucf", lambda d: d["data"].remove(party_of(d, uk)))
    (tmp_path / "f").mkdir()
    forest = edited(tmp_path / "f", "forest_land", lambda d: d["data"].remove(party_of(d, uk)))
    folder = declared_copy(tmp_path, ("count: 396", "count: 387"), ("count: 7919", "count: 7739"),
                           ("count: 132}", "count: 129}"))
    with pytest.raises(SourceError, match=r"CRF:4, year 1990: the EU reports .* members absent: GBR"):
        harmonize_copy(folder, lulucf=lulucf, forest_land=forest)


def _add_2019(doc, *, change=None):
    doc["columns"].append({"id": 62, "name": "2019"})
    for p in doc["data"]:
        for r in p["rows"]:
            last = [dict(c, column=62) for c in r["cells"] if c["column"] == 61]
            r["cells"] += last
    if change:
        change(doc)


# a `2019` column beside `Last Inventory Year (2019)`: the declaration reviewed for it
WITH_2019 = (("count: 279", "count: 288"), ("count: 7919", "count: 8182"),
             ("        count: 7919\n", ("        count: 8182\n      - where: {rows.cells.column: Last Inventory Year (2019)}\n"
                                     "        reason: a copy of the 2019 column\n        count: 132\n")))


def test_last_inventory_year_beside_its_own_year_column(tmp_path):
    """Two columns of one year are one value twice, an error; declared as a copy, one is dropped."""
    path = edited(tmp_path, "lulucf", _add_2019)
    with pytest.raises(SourceError, match=r"288 rows match the drop rule \{'name': 'European Union \(KP\)'\}"):
        harmonize_sample(SOURCE_ID, lulucf=path)  # the file changed: its counts are reviewed
    with pytest.raises(SourceError, match=r"record 1: unknown value '2019' .*not in year_columns.csv"):
        harmonize_copy(declared_copy(tmp_path / "a", *WITH_2019[:2]), lulucf=path)
    rows = harmonize_copy(declared_copy(tmp_path / "b", WITH_2019[0], WITH_2019[2], years="2019,2019\n"), lulucf=path)
    assert len(rows) == 6259
    assert value(rows, "DEU", "4.A", 2019) == pytest.approx(-57_025_428.59646676, rel=1e-12)


def test_last_inventory_year_disagreeing_with_its_year_column(tmp_path):
    """Not declared as a copy, both columns are read: one value twice, an error at the first record
    (dropping the copy with a `drop` rule, as above, is the reviewed decision)."""
    def change(d):
        row_of(d, "Germany", "4.A  Forest Land")["cells"][-1]["numberValue"] = 1.0

    path = edited(tmp_path, "lulucf", lambda d: _add_2019(d, change=change))
    folder = declared_copy(tmp_path, *WITH_2019[:2], years="2019,2019\n")
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'rows.cells.numberValue': record 1: "
                       r"the value for \{'area_code': 'AUS', 'year': 2019, .*'category': 'CRF:4'.*\} appears again"):
        harmonize_copy(folder, lulucf=path)


def test_not_json(tmp_path):
    path = tmp_path / LULUCF
    path.write_bytes(INPUTS["lulucf"].read_bytes()[:5000])
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}': is not JSON: .* Ingest a complete, undamaged "
                       r"download"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_missing_role():
    files = sample_files(SOURCE_ID)
    del files["parties"]
    with pytest.raises(SourceError, match=r"no file for role 'parties'"):
        get(SOURCE_ID).harmonize(files)
