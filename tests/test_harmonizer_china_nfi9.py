"""The China NFI harmonizer on the shipped sample files and on drifted copies of them.

Line numbers are those of the shipped files (header = line 1): in the provincial table lines 2-35
are 森林面积, 36-69 森林覆盖率, 70-103 碳储量; in the national dump line 2 is 2004 … line 18 is 2020.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pycountry
import pytest
from conftest import edited_copy, harmonize_sample, replace_line, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.sources import SAMPLE_DATA, get, registry
from ercan.validation import SCHEMA_SUITE, load_suite, validate

SOURCE_ID = "china_nfi9"
INPUTS = get(SOURCE_ID).source.inputs
PROVINCES = Path(INPUTS["provinces"]).name
NATIONAL = Path(INPUTS["national"]).name
CROSSWALK = Path(__file__).resolve().parent.parent / "harmonizers" / "crosswalks" / "china_provinces.csv"
MAINLAND = 31  # provinces, autonomous regions and municipalities; + 台湾, 香港, 澳门 = 34 in the file


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def value(rows, area_code, year, variable, land_category=None):
    match = rows[(rows.area_code == area_code) & (rows.year == year) & (rows.variable == variable)]
    if land_category:
        match = match[match.land_category == land_category]
    assert len(match) == 1, (area_code, year, variable, land_category, len(match))
    return match.iloc[0]


def raw_table(role: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / INPUTS[role], dtype=str, keep_default_na=False)


# --- values, exactly as the files give them -----------------------------------------------------


def test_acceptance_beijing_forest_area_7182_hundred_hectares_is_718200_ha(rows):
    beijing = value(rows, "CN-BJ", 2018, "area")  # line 2: 北京,森林面积,7182,百公顷
    assert beijing.value == 718_200.0
    assert (beijing.unit, beijing.land_category) == ("ha", "forest_land")
    assert (beijing.area_level, beijing.parent_code, beijing.flag) == ("subnational", "CHN", "reported")


def test_provincial_values_are_the_files_numbers(rows):
    assert value(rows, "CN-NM", 2018, "area").value == 26_148_500.0  # line 22: 内蒙古 261485 百公顷
    assert value(rows, "CN-MO", 2018, "area").value == 900.0  # line 35: 澳门 9 百公顷
    assert value(rows, "CN-GX", 2018, "area").value == 14_296_500.0  # line 19: 广西 142965 百公顷
    cover = value(rows, "CN-BJ", 2018, "forest_cover")  # line 36: 北京 43.77 %
    assert (cover.value, cover.unit, cover.land_category) == (43.77, "%", "all")
    assert value(rows, "CN-JS", 2018, "forest_cover").value == 15.2  # line 49: "15.20"
    assert value(rows, "CN-GZ", 2018, "forest_cover").value == 43.77  # line 60: same as 北京, as printed


def test_guangxi_cover_is_dropped_with_its_reason(rows):
    # line 53: 广西,森林覆盖率,142965,% — a copy of its area, above the schema's 0-100 % bound: declared under `drop`
    assert rows[(rows.area_code == "CN-GX") & (rows.variable == "forest_cover")].empty
    assert value(rows, "CN-GX", 2018, "area").value == 14_296_500.0
    assert len(rows[(rows.variable == "forest_cover") & (rows.area_level == "subnational")]) == 33


def test_national_values_one_per_nfi_round_at_its_last_year(rows):
    # line 16 (2018): 全国,2018,32368.55,22044.62,8003.1,23,190.07,175.6
    area = value(rows, "CHN", 2018, "area")
    assert (area.value, area.unit, area.land_category) == (220_446_200.0, "ha", "forest_land")
    assert area.area_level == "national" and pd.isna(area.parent_code)
    assert value(rows, "CHN", 2018, "forest_cover").value == 23.0
    assert value(rows, "CHN", 2018, "growing_stock", "forest_land").value == 17_560_000_000.0  # 175.6 亿立方米
    assert value(rows, "CHN", 2018, "growing_stock", "all").value == 19_007_000_000.0  # 190.07 亿立方米 活立木
    # lines 11 (2013) and 6 (2008)
    assert value(rows, "CHN", 2013, "area").value == 207_687_300.0
    assert value(rows, "CHN", 2013, "forest_cover").value == 21.6
    assert value(rows, "CHN", 2013, "growing_stock", "forest_land").value == 15_137_000_000.0
    assert value(rows, "CHN", 2008, "area").value == 195_452_200.0
    assert value(rows, "CHN", 2008, "growing_stock", "all").value == 14_913_000_000.0
    # 2019 and 2020 repeat the 9th round (carried forward): not read as years of their own
    assert set(rows.year[rows.area_code == "CHN"]) == {2008, 2013, 2018}


def test_row_inventory_and_common_fields(rows):
    counts = rows.groupby(["area_level", "variable", "land_category"]).size().to_dict()
    assert counts == {
        ("national", "area", "forest_land"): 3,
        ("national", "forest_cover", "all"): 3,
        ("national", "growing_stock", "all"): 3,
        ("national", "growing_stock", "forest_land"): 3,
        ("subnational", "area", "forest_land"): 34,
        ("subnational", "forest_cover", "all"): 33,  # 广西 dropped: test_guangxi_cover_is_dropped_with_its_reason
    }
    assert set(rows.year[rows.area_level == "subnational"]) == {2018}
    assert set(rows.flag) == {"reported"} and set(rows.source) == {SOURCE_ID}
    assert rows.pool.isna().all() and rows.category.isna().all() and rows.uncertainty.isna().all()
    for variable, unit in rows[["variable", "unit"]].drop_duplicates().itertuples(index=False):
        assert schema.VARIABLE_UNITS[variable] == unit
    assert not rows.duplicated(list(schema.OBSERVATION_KEY)).any()


def test_carbon_storage_series_is_not_read(rows):
    # 碳储量 (lines 70-103, 万立方米) gives no row: no provincial growing stock, no 北京 1917.87 万 anywhere
    assert rows[(rows.area_level == "subnational") & (rows.variable == "growing_stock")].empty
    assert not rows.value.isin([19_178_700.0, 1917.87]).any()


def test_codes_are_iso_3166_2_cn_letter_codes_with_parent_chn(rows):
    provinces = rows[rows.area_level == "subnational"]
    codes = set(provinces.area_code)
    assert len(codes) == 34
    assert codes == {s.code for s in pycountry.subdivisions.get(country_code="CN")}
    assert all(re.fullmatch(r"CN-[A-Z]{2}", c) for c in codes)  # the 2017 letter codes, not CN-11
    assert set(provinces.parent_code) == {"CHN"}
    assert set(rows.area_code[rows.area_level == "national"]) == {"CHN"}


def test_snapshot_is_the_hash_of_the_file_each_row_came_from(rows):
    files = sample_files(SOURCE_ID)
    assert set(rows.snapshot[rows.area_level == "subnational"]) == {files["provinces"].sha256}
    assert set(rows.snapshot[rows.area_level == "national"]) == {files["national"].sha256}


def test_crosswalk_covers_every_name_in_the_files_with_pycountry_codes():
    crosswalk = pd.read_csv(CROSSWALK, dtype=str, keep_default_na=False)
    assert list(crosswalk.columns) == ["name_zh", "iso_3166_2", "name_en", "note"]
    assert crosswalk.name_zh.is_unique
    cn = {s.code for s in pycountry.subdivisions.get(country_code="CN")}
    assert set(crosswalk.iso_3166_2) == cn
    assert set(raw_table("provinces")["省份"]) <= set(crosswalk.name_zh)
    assert set(raw_table("national")["地区"]) == {"全国"}  # the national name, in the national input's map, not a province
    # short and full name of each area, e.g. 内蒙古 and 内蒙古自治区; 山西 and 陕西 not swapped
    pairs = crosswalk.groupby("iso_3166_2").name_zh.apply(sorted).to_dict()
    assert pairs["CN-NM"] == ["内蒙古", "内蒙古自治区"] and pairs["CN-BJ"] == ["北京", "北京市"]
    assert pairs["CN-SX"] == ["山西", "山西省"] and pairs["CN-SN"] == ["陕西", "陕西省"]


# --- provinces vs nation, and why 碳储量 is not growing stock -----------------------------------------


def test_provinces_do_not_sum_to_the_national_forest_area(rows):
    """Figures for the reconciliation: 31 mainland provinces 239,921,300 ha vs national 220,446,200 ha (+8.83 %)."""
    areas = rows[(rows.variable == "area") & (rows.year == 2018)].set_index("area_code").value
    national = areas.pop("CHN")
    mainland = areas.drop(["CN-TW", "CN-HK", "CN-MO"])
    assert len(mainland) == MAINLAND
    assert mainland.sum() == 239_921_300.0
    assert areas.sum() == 242_147_000.0
    assert round(mainland.sum() / national - 1, 4) == 0.0883
    assert round(areas.sum() / national - 1, 4) == 0.0984


def test_carbon_storage_series_is_no_stock_volume_of_the_file():
    """The docstring's reason for skipping 碳储量: it is about half of either national volume series."""
    provinces = raw_table("provinces")
    carbon = provinces[provinces.series_name == "碳储量"]
    assert set(carbon.unit_as_printed) == {"万立方米"}
    assert list(carbon["省份"][carbon.value == "NaN"]) == ["台湾", "香港", "澳门"]
    total = pd.to_numeric(carbon.value[carbon.value != "NaN"]).sum()  # 万立方米, 31 provinces
    assert round(total, 2) == 914_200.35
    national = raw_table("national").set_index("年份").loc["2018"]
    forest_stock = float(national["森林蓄积量(亿立方米)"]) * 10_000  # 亿 → 万
    all_trees = float(national["活立木总蓄积量(亿立方米)"]) * 10_000
    assert round(total / forest_stock, 3) == 0.521
    assert round(total / all_trees, 3) == 0.481


# --- the quality gate ---------------------------------------------------------------------------


def test_gate_passes_with_no_failed_expectation(rows):
    suites = [load_suite(SCHEMA_SUITE), load_suite(registry()[SOURCE_ID].suite_path)]
    report = validate(rows, suites, SOURCE_ID)
    assert report.passed, report.reason()
    assert [o for o in report.outcomes if not o.success] == []


def test_guangxi_cover_as_printed_would_quarantine_the_source(rows):
    """The row as the file prints it (this test puts 142965 back on 广西's cover row: a frame built here)."""
    printed = value(rows, "CN-BJ", 2018, "forest_cover").to_frame().T.assign(area_code="CN-GX", value=142_965.0)
    report = validate(pd.concat([rows, printed], ignore_index=True).astype(rows.dtypes.to_dict()),
                      [load_suite(SCHEMA_SUITE)], SOURCE_ID)
    assert not report.passed
    (failed,) = [o for o in report.outcomes if not o.success]
    assert failed.severity == "critical" and failed.unexpected_examples == [142_965.0]
    bound = load_suite(SCHEMA_SUITE)["expectations"][failed.position]
    assert bound["kwargs"]["row_condition"]["parameter"] == "forest_cover" and "0-100 %" in bound["meta"]["why"]


# --- drift: each error names the file, row and column and says what is wrong ---------------------


def test_renamed_province_column(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(1, "省份,", "省份名,"))
    with pytest.raises(SourceError, match=re.escape(f"file {PROVINCES!r}, row 1: expected column '省份' is missing "
                                                    "(did you mean '省份名'?)")):
        harmonize_sample(SOURCE_ID, provinces=path)


def drop_column(header: str):
    def edit(lines):
        records = list(csv.reader(io.StringIO("".join(lines))))
        at = records[0].index(header)
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([r[:at] + r[at + 1:] for r in records])
        return [out.getvalue()]

    return edit


def test_missing_national_column(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national", drop_column("森林蓄积量(亿立方米)"))
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 1: expected column '森林蓄积量(亿立方米)' "
                                                    "is missing")):
        harmonize_sample(SOURCE_ID, national=path)


def test_renamed_national_column(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national", replace_line(1, "森林蓄积量(亿立方米)", "森林蓄积(亿立方米)"))
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 1: expected column '森林蓄积量(亿立方米)' "
                                                    "is missing (did you mean '森林蓄积(亿立方米)'?)")):
        harmonize_sample(SOURCE_ID, national=path)


def test_unknown_unit_in_province_row(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(3, ",1364,百公顷,", ",1364,百亩,"))
    with pytest.raises(SourceError, match=re.escape(f"file {PROVINCES!r}, row 3, column 'unit_as_printed': "
                                                    "unknown unit '百亩'")):
        harmonize_sample(SOURCE_ID, provinces=path)


def test_unit_of_wrong_dimension_in_province_row(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(36, ",43.77,%,", ",43.77,百公顷,"))
    with pytest.raises(SourceError, match=re.escape(f"file {PROVINCES!r}, row 36, column 'unit_as_printed': unit "
                                                    "'百公顷' cannot be converted to '%'")):
        harmonize_sample(SOURCE_ID, provinces=path)


def test_other_unit_text_is_converted_by_its_own_factor(tmp_path):
    # a re-transcription in 万公顷 (as the official NFI tables print it): 71.82 万公顷 is the same 718,200 ha
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(2, ",7182,百公顷,", ",71.82,万公顷,"))
    assert value(harmonize_sample(SOURCE_ID, provinces=path), "CN-BJ", 2018, "area").value == pytest.approx(
        718_200.0, rel=1e-15
    )


def test_other_unit_in_national_header_is_a_column_not_declared(tmp_path):
    # each national column is declared with its unit: a header in another unit must be declared anew
    path = edited_copy(tmp_path, SOURCE_ID, "national", replace_line(1, "森林面积(万公顷)", "森林面积(万亩)"))
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 1: expected column '森林面积(万公顷)' "
                                                    "is missing")):
        harmonize_sample(SOURCE_ID, national=path)


def test_unknown_province_name_names_the_closest(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(19, "广西,", "广西省,"))
    with pytest.raises(SourceError, match=re.escape(f"file {PROVINCES!r}, row 19, column '省份': unknown subdivision "
                                                    "name '广西省' (did you mean '广西'?)")) as e:
        harmonize_sample(SOURCE_ID, provinces=path)
    assert "to china_provinces.csv" in e.value.hint


def test_unknown_area_in_national_dump(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national", replace_line(5, "全国,", "全国合计,"))
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 5, column '地区': unknown value "
                                                    "'全国合计' (did you mean '全国'?), not in "
                                                    "inputs.national.columns.地区.map")):
        harmonize_sample(SOURCE_ID, national=path)


def test_full_province_name_is_accepted(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(22, "内蒙古,", "内蒙古自治区,"))
    assert value(harmonize_sample(SOURCE_ID, provinces=path), "CN-NM", 2018, "area").value == 26_148_500.0


def test_two_names_of_one_province(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(3, "天津,", "北京市,"))
    # two names of one province are one area: the repeat is found once the names are coded
    with pytest.raises(SourceError, match=re.escape(f"file {PROVINCES!r}, row 3, column 'value': the value for "
                                                    "{'area_code': 'CN-BJ', 'year': 2018, 'land_category': "
                                                    "'forest_land', 'variable': 'area'} appears again (first at line 2)")):
        harmonize_sample(SOURCE_ID, provinces=path)


def test_non_numeric_province_value(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(36, ",43.77,", ",43.77%,"))
    with pytest.raises(SourceError, match=re.escape(f"file {PROVINCES!r}, row 36, column 'value': '43.77%' is not "
                                                    "a number")):
        harmonize_sample(SOURCE_ID, provinces=path)


def test_non_numeric_national_value(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national", replace_line(16, ",175.6,", ",一百七十五,"))
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 16, column '森林蓄积量(亿立方米)': "
                                                    "'一百七十五' is not a number")):
        harmonize_sample(SOURCE_ID, national=path)


def test_nan_cell_of_a_read_series_gives_no_row(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(36, ",43.77,", ",NaN,"))
    drifted_rows = harmonize_sample(SOURCE_ID, provinces=path)
    assert drifted_rows[(drifted_rows.area_code == "CN-BJ") & (drifted_rows.variable == "forest_cover")].empty
    assert len(drifted_rows) == 78  # 79 read, less 广西's cover (dropped)


def test_unknown_series(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(36, ",%,森林覆盖率,", ",%,森林覆盖度,"))
    with pytest.raises(SourceError, match=re.escape(f"file {PROVINCES!r}, row 36, column 'series_name': unknown value "
                                                    "'森林覆盖度' (did you mean '森林覆盖率'?), not in series.csv")):
        harmonize_sample(SOURCE_ID, provinces=path)


def test_other_inventory_round_in_province_table(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "provinces", replace_line(2, "数据来源:第九次", "数据来源:第八次"))
    with pytest.raises(SourceError, match=re.escape(f"file {PROVINCES!r}, row 2, column 'stated_data_source': unknown "
                                                    "value '数据来源:第八次全国森林资源清查'")
                       + r".*not in inputs\.provinces\.columns\.stated_data_source\.map"):
        harmonize_sample(SOURCE_ID, provinces=path)


def test_value_that_changes_within_a_round(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national", replace_line(4, ",19545.22,", ",19600,"))  # 2006, NFI round 7
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 4, column '森林面积(万公顷)': the value of "
                                                    "2006 differs from that of 2004 (line 2), in round 7 (2004-2008) of "
                                                    "nfi_rounds.csv")):
        harmonize_sample(SOURCE_ID, national=path)


def test_new_value_after_the_last_round(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national", replace_line(18, ",22044.62,", ",23000,"))  # 2020
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 18, column '森林面积(万公顷)': the value of "
                                                    "2020 differs from that of 2014 (line 12), carried forward from "
                                                    "round 9 (2014-2018) of nfi_rounds.csv")) as e:
        harmonize_sample(SOURCE_ID, national=path)
    assert "If the year is of a new round" in e.value.hint
    assert "in nfi_rounds.csv (inputs.national.rounds)" in e.value.hint


def test_year_before_the_first_round(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national",
                       lambda lines: lines + [lines[1].replace("全国,2004,", "全国,2003,", 1)])
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 19, column '年份': year 2003 is in no "
                                                    "round of nfi_rounds.csv (7: 2004-2008, 8: 2009-2013, 9: 2014-2018)")):
        harmonize_sample(SOURCE_ID, national=path)


def test_repeated_year_in_national_dump(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national", lambda lines: lines + [lines[15]])
    # found as read, before `rounds` reads the years as rounds
    with pytest.raises(SourceError, match=re.escape(f"file {NATIONAL!r}, row 19, column '森林面积(万公顷)': the value for "
                                                    "{'area_code': 'CHN', 'year': 2018, ")
                       + r".* appears again \(first at line 16\)"):
        harmonize_sample(SOURCE_ID, national=path)


def test_fractional_year(tmp_path):
    path = edited_copy(tmp_path, SOURCE_ID, "national", replace_line(3, "全国,2005,", "全国,2005.5,"))
    with pytest.raises(SourceError, match=re.escape("row 3, column '年份': '2005.5' is not a year")):
        harmonize_sample(SOURCE_ID, national=path)


def test_missing_role():
    files = sample_files(SOURCE_ID)
    del files["national"]
    with pytest.raises(SourceError, match=re.escape("no file for role 'national'")):
        get(SOURCE_ID).harmonize(files)
