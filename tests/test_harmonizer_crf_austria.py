"""The CRF Table 4.A (Austria) harmonizer on the shipped file and on drifted copies of it.

The shipped file (sample_data/crf_austria/ipcc_crf_austria_2017.csv) has a header and three rows:
  row 2: AT,2017,forest_land_remaining,coniferous,2405.41,6633.13,-6338.06,295.08,170.68,NA,-712.38,NA,904.28
  row 3: AT,2017,forest_land_remaining,deciduous,926.18,2539.74,-1647.14,892.60,57.07,NA,NA,NA,-3482.14
  row 4: AT,2017,forest_land_remaining,deciduous,557.36,NA,NA,NA,NA,NA,NA,NA,NA
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pandas as pd
import pycountry
import pytest
from conftest import edited_copy, harmonize_sample, replace_line, sample_files

from ercan import schema
from ercan.declaration import DeclaredSource
from ercan.errors import ConfigError, SourceError
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA, get

SOURCE_ID = "crf_austria"
INPUT = SAMPLE_DATA / get(SOURCE_ID).source.inputs["table_4a"]
FILE = INPUT.name
CONIFEROUS, DECIDUOUS = "CRF:4.A.1/coniferous", "CRF:4.A.1/deciduous"
DECLARED = PROJECT_ROOT / "harmonizers" / SOURCE_ID


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def value(rows, category, variable, pool=None):
    match = rows[(rows.category == category) & (rows.variable == variable)]
    match = match[match.pool.isna()] if pool is None else match[match.pool == pool]
    assert len(match) == 1, (category, variable, pool, len(match))
    return match.iloc[0]


def drifted(tmp_path: Path, edit) -> Path:
    """A copy of the shipped table with `edit(lines) -> lines` applied."""
    return edited_copy(tmp_path, SOURCE_ID, "table_4a", edit)


def harmonize_copy(path: Path):
    return harmonize_sample(SOURCE_ID, table_4a=path)


# --- values, exactly as the file gives them (kha, kt C, kt CO2 -> x 1000) -------------------------


def test_coniferous_row_values(rows):
    # row 2: area 2405.41 kha, biomass_net 295.08, dead_wood 170.68, mineral_soils -712.38 (kt C),
    # net_co2 904.28 kt CO2; litter and organic_soils are NA
    area = value(rows, CONIFEROUS, "area")
    assert (area.value, area.unit) == (2405410.0, "ha")
    biomass = value(rows, CONIFEROUS, "carbon_stock_change", "biomass")
    assert (biomass.value, biomass.unit) == (295080.0, "t C/yr")
    assert value(rows, CONIFEROUS, "carbon_stock_change", "dead_wood").value == 170680.0
    soil = value(rows, CONIFEROUS, "carbon_stock_change", "soil")
    assert (soil.value, soil.flag) == (-712380.0, "reported")  # mineral only: organic is NA
    net = value(rows, CONIFEROUS, "net_emissions")
    assert (net.value, net.unit) == (904280.0, "t CO2e/yr")  # an emission: positive, as reported


def test_deciduous_row_values(rows):
    # row 3: area 926.18 kha, biomass_net 892.60, dead_wood 57.07 kt C, net_co2 -3482.14 kt CO2
    assert value(rows, DECIDUOUS, "area").value == 926180.0
    assert value(rows, DECIDUOUS, "carbon_stock_change", "biomass").value == 892600.0
    assert value(rows, DECIDUOUS, "carbon_stock_change", "dead_wood").value == 57070.0
    assert value(rows, DECIDUOUS, "net_emissions").value == -3482140.0  # a removal: negative, as reported


def test_notation_keys_give_no_row(rows):
    # litter is NA in both rows, soils NA in the deciduous row: absent, not zero
    assert rows[(rows.pool == "litter")].empty
    assert rows[(rows.category == DECIDUOUS) & (rows.pool == "soil")].empty
    assert not (rows.value == 0).any()


def test_second_deciduous_row_is_skipped(rows):
    # row 4 (557.36 kha, area only) is left out: the deciduous area is row 3's alone
    assert 557360.0 not in set(rows.value)
    assert rows[rows.variable == "area"].value.sum() == 2405410.0 + 926180.0


def test_row_inventory_and_common_fields(rows):
    assert len(rows) == 9
    counts = rows.groupby(["category", "variable"]).size().to_dict()
    assert counts == {
        (CONIFEROUS, "area"): 1,
        (CONIFEROUS, "carbon_stock_change"): 3,
        (CONIFEROUS, "net_emissions"): 1,
        (DECIDUOUS, "area"): 1,
        (DECIDUOUS, "carbon_stock_change"): 2,
        (DECIDUOUS, "net_emissions"): 1,
    }
    assert set(rows.area_code) == {"AUT"} and pycountry.countries.get(alpha_3="AUT").alpha_2 == "AT"
    assert set(rows.area_level) == {"national"} and rows.parent_code.isna().all()
    assert set(rows.year) == {2017}
    assert set(rows.land_category) == {"forest_land"}
    assert set(rows.flag) == {"reported"}
    assert rows.uncertainty.isna().all()
    assert set(rows.source) == {SOURCE_ID}
    for variable, unit in rows[["variable", "unit"]].drop_duplicates().itertuples(index=False):
        assert schema.VARIABLE_UNITS[variable] == unit
    assert set(rows.pool.dropna()) <= set(schema.POOLS)
    assert not rows.duplicated(list(schema.OBSERVATION_KEY)).any()


def test_snapshot_is_the_hash_of_the_file(rows):
    assert set(rows.snapshot) == {hashlib.sha256(INPUT.read_bytes()).hexdigest()}


# --- consistency of the file's own figures (why dropping gains/losses loses nothing; signs) ----------


def _raw():
    df = pd.read_csv(INPUT, na_values=["NA"], keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    return df


def test_net_biomass_is_gains_plus_losses():
    # gains and losses are not kept; their sum is biomass_net, to the file's 2-decimal rounding
    df = _raw().iloc[:2]
    assert ((df.biomass_gain + df.biomass_loss - df.biomass_net).abs() <= 0.0101).all()


def test_net_co2_is_minus_44_over_12_of_the_stock_changes(rows):
    # emissions positive / removals negative vs gains positive: net_co2 = -44/12 x sum of stock changes.
    # Inputs have 2 decimals (±0.005 kt each): 60 t CO2 covers the rounding (observed 6.7 and 17 t).
    for category in (CONIFEROUS, DECIDUOUS):
        changes = rows[(rows.category == category) & (rows.variable == "carbon_stock_change")].value.sum()
        net = value(rows, category, "net_emissions").value
        assert abs(net - (-44 / 12) * changes) <= 60, category


# --- the header whitespace -----------------------------------------------------------------------


def test_subdivision_header_ends_in_a_no_break_space():
    header = INPUT.read_bytes().split(b"\n")[0]
    assert b",subdivision\xc2\xa0," in header  # U+00A0, not an ASCII space


@pytest.mark.parametrize("spelling", ["subdivision", "subdivision ", " subdivision\t"])
def test_any_header_whitespace_reads_the_same(tmp_path, rows, spelling):
    path = drifted(tmp_path, replace_line(1, "subdivision\u00a0", spelling))
    pd.testing.assert_frame_equal(
        harmonize_copy(path).drop(columns="snapshot"), rows.drop(columns="snapshot")
    )


def test_headers_equal_once_stripped(tmp_path):
    path = drifted(tmp_path, replace_line(1, "litter,", "litter ,"))
    path.write_text(path.read_text(encoding="utf-8").replace("dead_wood,", "litter,", 1), encoding="utf-8")
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 1: header 'litter' appears more than once "
                                                    "(columns 9 and 10, each header stripped of surrounding spaces)")):
        harmonize_copy(path)


# --- rules on modified copies ---------------------------------------------------------------------


def test_mineral_and_organic_soils_are_added_and_flagged_derived(tmp_path):
    # row 2 with organic_soils -10.00 instead of NA: soil = -712.38 - 10.00 kt C
    path = drifted(tmp_path, replace_line(2, "-712.38,NA,", "-712.38,-10.00,"))
    soil = value(harmonize_copy(path), CONIFEROUS, "carbon_stock_change", "soil")
    assert (soil.value, soil.flag) == (pytest.approx(-722380.0, rel=1e-12), "derived")


def test_combined_notation_keys_are_no_value(tmp_path):
    path = drifted(tmp_path, replace_line(2, "170.68,NA,", "170.68,NO,NA,"))
    path.write_text(path.read_text(encoding="utf-8").replace("NO,NA,", '"NO,NA",', 1), encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace("170.68", "IE", 1), encoding="utf-8")
    rows = harmonize_copy(path)
    assert rows[(rows.category == CONIFEROUS) & rows.pool.isin(["dead_wood", "litter"])].empty


# --- drift: each error names the file, row and column and says what is wrong ---------------------


def test_renamed_column(tmp_path):
    path = drifted(tmp_path, replace_line(1, "biomass_net", "biomass_nett"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 1: expected column 'biomass_net' is "
                                                    "missing (did you mean 'biomass_nett'?)")):
        harmonize_copy(path)


def test_missing_label_column(tmp_path):
    path = drifted(tmp_path, replace_line(1, "land_use,", "landuse,"))
    with pytest.raises(SourceError, match=re.escape("row 1: expected column 'land_use' is missing (did you mean "
                                                    "'landuse'?)")):
        harmonize_copy(path)


def test_new_column_is_not_silently_dropped(tmp_path):
    def add_column(lines):
        return [line.rstrip("\n") + (",area_mineral\n" if i == 0 else ",1.0\n") for i, line in enumerate(lines)]

    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 1, column 'area_mineral': the column "
                                                    "(spreadsheet column N) is read by no key of the declaration")):
        harmonize_copy(drifted(tmp_path, add_column))


def test_non_numeric_cell(tmp_path):
    path = drifted(tmp_path, replace_line(3, "-3482.14", "-3482.14 kt"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 3, column 'net_co2': '-3482.14 kt' is "
                                                    "not a number")):
        harmonize_copy(path)


def test_unknown_notation_key_is_not_a_number(tmp_path):
    path = drifted(tmp_path, replace_line(2, "170.68,NA,", "170.68,N/A,"))
    with pytest.raises(SourceError, match=re.escape("row 2, column 'litter': 'N/A' is not a number")):
        harmonize_copy(path)


def test_bad_cell_in_a_column_not_kept_is_still_reported(tmp_path):
    path = drifted(tmp_path, replace_line(2, "6633.13", "6,633.13"))
    path.write_text(path.read_text(encoding="utf-8").replace("6,633.13", '"6,633.13"'), encoding="utf-8")
    with pytest.raises(SourceError, match=re.escape("row 2, column 'biomass_gain': '6,633.13' is not a number")):
        harmonize_copy(path)


def test_unknown_country(tmp_path):
    path = drifted(tmp_path, replace_line(3, "AT,", "AUT,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 3, column 'country': unknown value "
                                                    "'AUT' (did you mean 'AT'?)")):
        harmonize_copy(path)


def test_unknown_subdivision(tmp_path):
    path = drifted(tmp_path, replace_line(2, "coniferous", "conifers"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 2, column 'subdivision': unknown "
                                                    "subdivision 'conifers' of {'land_use': 'forest_land_remaining'} "
                                                    "(did you mean 'coniferous'?), not in crf_austria_rows.csv")):
        harmonize_copy(path)


def test_unknown_land_use_row(tmp_path):
    path = drifted(tmp_path, replace_line(4, "forest_land_remaining", "forest_land_remainig"))
    with pytest.raises(SourceError, match=re.escape("row 4, column 'land_use': unknown land_use "
                                                    "'forest_land_remainig' (did you mean 'forest_land_remaining'?)")):
        harmonize_copy(path)


def test_repeated_row_the_crosswalk_does_not_list(tmp_path):
    path = drifted(tmp_path, lambda lines: lines + [lines[1]])
    with pytest.raises(SourceError, match=re.escape("row 5, column 'occurrence': unknown occurrence '2' of "
                                                    "{'land_use': 'forest_land_remaining', 'subdivision': "
                                                    "'coniferous'}, not in crf_austria_rows.csv")):
        harmonize_copy(path)


def test_skipped_row_that_gains_a_value_needs_review(tmp_path):
    path = drifted(tmp_path, replace_line(4, "NA,NA\n", "NA,-12.5\n"))
    with pytest.raises(SourceError, match=re.escape(
            "row 4, column 'net_co2': the drop rule {'land_use': 'forest_land_remaining', 'subdivision': 'deciduous', "
            "'occurrence': '2'} (a second 'deciduous' row") + r".* reviewed as holding values in \['area'\] only, but "
                       r"it holds '-12.5'"):
        harmonize_copy(path)


def test_fractional_year(tmp_path):
    path = drifted(tmp_path, replace_line(3, ",2017,", ",2017.5,"))
    with pytest.raises(SourceError, match=r"row 3, column 'year': '2017.5' is not a year"):
        harmonize_copy(path)


def test_header_only(tmp_path):
    with pytest.raises(SourceError, match="has a header but no data rows"):
        harmonize_copy(drifted(tmp_path, lambda lines: lines[:1]))


# --- the declaration and the row crosswalk are checked when they are loaded ---------------------


def declared_copy(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the source's folder whose source.yaml has `old` replaced by `new`."""
    folder = tmp_path / SOURCE_ID
    shutil.copytree(DECLARED, folder, ignore=shutil.ignore_patterns("__pycache__"))
    text = (folder / "source.yaml").read_text()
    assert old in text
    (folder / "source.yaml").write_text(text.replace(old, new, 1))
    return folder


def test_declared_unit_that_cannot_be_converted(tmp_path):
    dead_wood = "pool: dead_wood, unit: kt C/yr"
    with pytest.raises(ConfigError, match=r"unit 'kt C' cannot be converted to 't C/yr'"):
        DeclaredSource(declared_copy(tmp_path, dead_wood, "pool: dead_wood, unit: kt C"))
    with pytest.raises(ConfigError, match=r"unknown unit 'kt Cc/yr'"):
        DeclaredSource(declared_copy(tmp_path / "again", dead_wood, "pool: dead_wood, unit: kt Cc/yr"))


def test_declared_and_crosswalk_vocabularies(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown pool 'deadwood' \(did you mean 'dead_wood'\?\)"):
        DeclaredSource(declared_copy(tmp_path, "pool: dead_wood,", "pool: deadwood,"))
    folder = declared_copy(tmp_path / "crosswalk", "title:", "title:")
    rows = folder / "crf_austria_rows.csv"
    rows.write_text(rows.read_text(encoding="utf-8").replace(",forest_land,", ",forest,", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"crf_austria_rows.csv, line 2: unknown land_category 'forest' \(did you "
                                          r"mean 'forest_land'\?\)"):
        DeclaredSource(folder).harmonize(sample_files(SOURCE_ID))


def test_every_column_and_crosswalk_entry_is_used_by_the_shipped_file():
    declared = DeclaredSource(DECLARED).declaration.inputs["table_4a"]
    read = {*declared.columns, *(c for block in declared.values for c in block.columns)}
    read |= {c for rule in declared.totals for c in (*rule.columns, rule.total)} | {"land_use"}
    assert read == set(_raw().columns)  # and `other_columns: error` refuses any other
    crosswalk = pd.read_csv(DECLARED / "crf_austria_rows.csv", dtype=str, keep_default_na=False)
    assert len(crosswalk) == len(_raw())
    kept = crosswalk[crosswalk.category != ""]
    assert kept.category.str.fullmatch(r"CRF:4(?:\.[A-F](?:\.\d+)*)?(?:/[a-z_]+)?").all()
    assert set(kept.land_category) <= set(schema.LAND_CATEGORIES) and (crosswalk.note != "").all()
