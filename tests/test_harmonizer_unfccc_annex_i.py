"""UNFCCC Annex I LULUCF harmonizer, on the shipped JSON files and on edited copies of them.

Edited copies are the real files loaded, changed in one place and written back under the same
name in tmp_path (so that errors name the file as the original is named)."""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pytest

from ercan.accounting.hierarchy import Hierarchy
from ercan.areas import iso3_for_names
from ercan.errors import SourceError
from ercan.harmonizers import unfccc_annex_i as h
from ercan.schema import LAND_CATEGORIES, OBSERVATION_KEY
from ercan.sources import SAMPLE_DATA, get

from conftest import harmonize_sample

SOURCE_ID = "unfccc_annex_i"
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
    categories = pd.read_csv(h.CROSSWALKS / "unfccc_crf_categories.csv", dtype=str, keep_default_na=False)
    assert list(categories.columns) == ["category", "code", "land_category", "note"]
    assert set(categories.land_category) <= set(LAND_CATEGORIES) and (categories.note != "").all()
    members = pd.read_csv(h.CROSSWALKS / "unfccc_annex_i_eu_members.csv", dtype=str, keep_default_na=False)
    assert set(members["member"]) == EU28 and set(members["aggregate"]) == {"EUU"}
    assert "EU27 alone misses" in members.loc[members["member"] == "GBR", "note"].iloc[0]
    assert set(h.AGGREGATES) == {"EUA", "EUC"}


# --- drift: edited copies of the real files ------------------------------------------------


def test_unknown_unit_id(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: row_of(d, "Australia", SECTOR_4).update(unitId=999))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'unitId': party 'Australia' "
                       rf"\(data\[0\]\), row '{SECTOR_4}' \(data\[0\]\.rows\[0\]\): unitId 999 is not in the units "
                       r"table \(the accepted ones: 140 'kt CO₂ equivalent'\)"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_per_gas_unit_is_refused(tmp_path):
    """unitId 5 = 'kt' is the unit of the CO₂ files: a mass of one gas, not Aggregate GHGs."""
    path = edited(tmp_path, "forest_land", lambda d: row_of(d, "Austria", "4.A.2  Land Converted to Forest Land")
                  .update(unitId=5))
    with pytest.raises(SourceError, match=rf"file '{re.escape(FOREST)}', column 'unitId': party 'Austria' "
                       r"\(data\[1\]\), row '4.A.2  Land Converted to Forest Land' \(data\[1\]\.rows\[2\]\): "
                       r"unit 'kt' \(unitId 5\) is not an accepted unit; the file must hold Aggregate GHGs in "
                       r"CO₂ equivalent"):
        harmonize_sample(SOURCE_ID, forest_land=path)


def test_units_table_without_units(tmp_path):
    path = edited(tmp_path, "units", lambda d: d.update(unit=d.pop("units")))
    with pytest.raises(SourceError, match=r"file 'conversion-units.json': top level: has no 'units'"):
        harmonize_sample(SOURCE_ID, units=path)


def _annex_i(doc):
    return next(g for g in doc if g["name"] == "Annex I")["parties"]


def test_party_code_that_is_not_iso3(tmp_path):
    path = edited(tmp_path, "parties", lambda d: _annex_i(d)[0].update(code="AU"))
    with pytest.raises(SourceError, match=r"file 'parties.json', column 'code': Party 'Australia' \(id 3\) has code "
                       r"'AU', which is neither an ISO 3166-1 alpha-3 country code nor a declared aggregate "
                       r"\(the name reads as 'AUS'\)"):
        harmonize_sample(SOURCE_ID, parties=path)


def test_eu_code_changed_is_not_taken_for_a_country(tmp_path):
    path = edited(tmp_path, "parties", lambda d: next(p for p in _annex_i(d) if p["code"] == "EUA").update(code="EUU"))
    with pytest.raises(SourceError, match=r"Party 'European Union \(Convention\)' \(id 19\) has code 'EUU', which is "
                       r"neither an ISO 3166-1 alpha-3 country code nor a declared aggregate"):
        harmonize_sample(SOURCE_ID, parties=path)


def test_unknown_party_name(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: party_of(d, "Monaco").update(id=9999, name="Monacco"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'name': party 'Monacco' "
                       r"\(data\[28\]\): unknown Party 'Monacco' \(id 9999, not in 'parties.json' and not a "
                       r"country name\) \(did you mean 'Monaco'\?\)"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_party_not_in_parties_json_is_mapped_by_name(tmp_path):
    lulucf = edited(tmp_path, "lulucf", lambda d: party_of(d, "Monaco").update(id=9999))
    (tmp_path / "f").mkdir()
    forest = edited(tmp_path / "f", "forest_land", lambda d: party_of(d, "Monaco").update(id=9999))
    rows = harmonize_sample(SOURCE_ID, lulucf=lulucf, forest_land=forest)
    assert len(rows) == 6259 and "MCO" in set(rows.area_code)


def test_party_id_with_another_name(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: party_of(d, "Monaco").update(name="Liechtenstein"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'name': party 'Liechtenstein' "
                       r"\(data\[28\]\): Party id 42 is 'Liechtenstein' here but 'Monaco' in 'parties.json'"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_two_parties_one_code(tmp_path):
    path = edited(tmp_path, "parties", lambda d: next(p for p in _annex_i(d) if p["code"] == "AUT").update(code="AUS"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'name': party 'Austria' \(data\[1\]\) "
                       r"and party 'Australia' are both AUS"):
        harmonize_sample(SOURCE_ID, parties=path)


@pytest.mark.parametrize(("cell_json", "problem"), [
    ({"numberValue": "-207.78"}, r"numberValue '-207.78' is not a number"),
    ({"numberValue": None}, r"numberValue None is not a number"),
    ({"stringValue": "n/a"}, r"stringValue 'n/a' is not a notation key \(NO, NA, NE, IE, C or a comma-joined set\)"),
    ({"numberValue": 1.0, "stringValue": "NO"}, r"has both numberValue and stringValue"),
    ({}, r"has neither numberValue and stringValue"),
])
def test_bad_cell(tmp_path, cell_json, problem):
    def change(d):
        cells = row_of(d, "Australia", "4.A  Forest Land")["cells"]
        cells[2] = {"column": 33, **cell_json}  # the 1991 cell

    path = edited(tmp_path, "lulucf", change)
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column '1991': party 'Australia' "
                       rf"\(data\[0\]\), row '4.A  Forest Land' \(data\[0\]\.rows\[1\]\), cell 2: {problem}"):
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

    with pytest.raises(SourceError, match=rf"file '{re.escape(FOREST)}', column '1991': party 'Australia', CRF 4.A, "
                       rf"year 1991: reads -207.78047310562147 here but nan in '{re.escape(LULUCF)}'"):
        harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change))


def test_bad_cell_in_a_row_not_read_is_ignored(tmp_path):
    def change(d):
        row_of(d, "Australia", "4.B  Cropland")["cells"][2] = {"column": 33, "numberValue": "x"}

    assert len(harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change))) == 6259


def test_unknown_column(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: d["columns"][1].update(name="Year 1990"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'Year 1990': columns\[1\]: unknown "
                       r"column 'Year 1990'"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_cell_in_an_unlisted_column(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: row_of(d, "Austria", SECTOR_4)["cells"][5].update(column=99))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'column': party 'Austria' "
                       rf"\(data\[1\]\), row '{SECTOR_4}' \(data\[1\]\.rows\[0\]\): cell 5 is in column id 99"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_two_cells_in_one_column(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: row_of(d, "Austria", SECTOR_4)["cells"][5].update(column=32))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'column': party 'Austria' "
                       rf"\(data\[1\]\), row '{SECTOR_4}' \(data\[1\]\.rows\[0\]\): cell 5 is in column id 32, "
                       r"a second time"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_renamed_category(tmp_path):
    path = edited(tmp_path, "lulucf", lambda d: row_of(d, "Austria", "4.G  Harvested Wood Products")
                  .update(name="4.G  Harvested Wood Product"))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'name': party 'Austria' \(data\[1\]\), "
                       r"row '4.G  Harvested Wood Product' \(data\[1\]\.rows\[7\]\): unknown CRF category "
                       r"\(did you mean '4.G Harvested Wood Products'\?\)"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_category_missing_from_the_file(tmp_path):
    def change(d):
        for p in d["data"]:
            p["rows"] = [r for r in p["rows"] if not r["name"].startswith("4.G")]

    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}': has no row '4.G Harvested Wood Products' "
                       r"\(CRF 4.G\) for any Party"):
        harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change))


def test_wrong_file_for_a_role(tmp_path):
    """The forest_land file given as lulucf: it has no sector-4 row."""
    path = tmp_path / LULUCF
    path.write_bytes(INPUTS["forest_land"].read_bytes())
    with pytest.raises(SourceError, match=r"has no row '4. Land Use, Land-Use Change and Forestry' \(CRF 4\)"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_forest_land_copy_of_4a_disagrees(tmp_path):
    path = edited(tmp_path, "forest_land", lambda d: row_of(d, "Japan", "4.A  Forest Land")["cells"][3]
                  .update(numberValue=1.0))
    with pytest.raises(SourceError, match=rf"file '{re.escape(FOREST)}', column '1992': party 'Japan', CRF 4.A, "
                       rf"year 1992: reads 1.0 here but -?[0-9.e+-]+ in '{re.escape(LULUCF)}'"):
        harmonize_sample(SOURCE_ID, forest_land=path)


def test_eu_membership_no_longer_adds_up(tmp_path):
    """The UK's row doubled: the EU value no longer equals the sum of the declared EU28."""
    uk = "United Kingdom of Great Britain and Northern Ireland"

    def change(d):
        for c in row_of(d, uk, "4.G  Harvested Wood Products")["cells"]:
            if "numberValue" in c:
                c["numberValue"] *= 2

    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column '1990': party 'European Union "
                       r"\(Convention\)', CRF 4.G, year 1990: the EU reports -3.12601e\+07 t CO2e but its 28 declared "
                       r"members add up to -3.33552e\+07 \(-6.70%; tolerance 0.5%\)"):
        harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", change))


def test_eu_member_missing(tmp_path):
    uk = "United Kingdom of Great Britain and Northern Ireland"
    lulucf = edited(tmp_path, "lulucf", lambda d: d["data"].remove(party_of(d, uk)))
    (tmp_path / "f").mkdir()
    forest = edited(tmp_path / "f", "forest_land", lambda d: d["data"].remove(party_of(d, uk)))
    with pytest.raises(SourceError, match=r"CRF 4, year 1990: the EU reports .* members absent: GBR"):
        harmonize_sample(SOURCE_ID, lulucf=lulucf, forest_land=forest)


def _add_2019(doc, *, change=None):
    doc["columns"].append({"id": 62, "name": "2019"})
    for p in doc["data"]:
        for r in p["rows"]:
            last = [dict(c, column=62) for c in r["cells"] if c["column"] == 61]
            r["cells"] += last
    if change:
        change(doc)


def test_last_inventory_year_beside_its_own_year_column(tmp_path):
    rows = harmonize_sample(SOURCE_ID, lulucf=edited(tmp_path, "lulucf", _add_2019))
    assert len(rows) == 6259
    assert value(rows, "DEU", "4.A", 2019) == pytest.approx(-57_025_428.59646676, rel=1e-12)


def test_last_inventory_year_disagreeing_with_its_year_column(tmp_path):
    def change(d):
        row_of(d, "Germany", "4.A  Forest Land")["cells"][-1]["numberValue"] = 1.0

    path = edited(tmp_path, "lulucf", lambda d: _add_2019(d, change=change))
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}', column 'Last Inventory Year \(2019\)': party "
                       r"'Germany', CRF 4.A: columns \['Last Inventory Year \(2019\)', '2019'\] are the same year 2019 "
                       r"but disagree"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_not_json(tmp_path):
    path = tmp_path / LULUCF
    path.write_bytes(INPUTS["lulucf"].read_bytes()[:5000])
    with pytest.raises(SourceError, match=rf"file '{re.escape(LULUCF)}': is not valid JSON: .* it may be cut short"):
        harmonize_sample(SOURCE_ID, lulucf=path)


def test_missing_role():
    from conftest import sample_files

    files = sample_files(SOURCE_ID)
    del files["parties"]
    with pytest.raises(SourceError, match=r"no file for role\(s\) \['parties'\]"):
        h.harmonize(files)
