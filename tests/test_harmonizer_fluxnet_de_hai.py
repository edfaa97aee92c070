"""FLUXNET2015 DE-Hai harmonizer, on the shipped file (sample_data/fluxnet_de_hai/) and drifted copies.

Line numbers are those of validation_DE-Hai.csv (header = line 1): 2008 is lines 13-24
(ID 85-96), the only year with all 12 months.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import edited_copy, harmonize_sample, replace_line, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.sources import SAMPLE_DATA, get, registry
from ercan.validation import SCHEMA_SUITE, load_suite, validate

SOURCE_ID = "fluxnet_de_hai"
INPUT = get(SOURCE_ID).source.inputs["monthly"]
FILE = Path(INPUT).name
DAYS_2008 = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]  # a leap year
# The GPP and NEE cells of lines 13-24 (January-December 2008), as printed in the file.
GPP_2008 = [0.0503089, 0.0392654, 0.161965, 1.5723, 9.02688, 13.6668, 11.4468, 8.93661, 6.82503, 1.41416,
            0.133786, 0.0495455]
NEE_2008 = [1.34423, 1.57819, 1.18281, 1.21715, -2.77857, -8.43727, -7.62061, -5.67679, -3.66436, 1.38609,
            2.21498, 1.87406]


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def lines() -> list[str]:
    return (SAMPLE_DATA / INPUT).read_text(encoding="utf-8").splitlines(keepends=True)


def drifted(tmp_path: Path, edit, name: str = FILE) -> Path:
    """A copy of the shipped file with `edit(lines) -> lines` applied, named `name`."""
    return edited_copy(tmp_path, SOURCE_ID, "monthly", edit, name=name)


def drop_line(number: int, starts: str):
    def edit(text):
        assert text[number - 1].startswith(starts), text[number - 1]
        return text[: number - 1] + text[number:]

    return edit


def day_weighted(values: list[float], days: list[int]) -> float:
    return math.fsum(v * d for v, d in zip(values, days)) / sum(days)


# --- values ---------------------------------------------------------------------------------------


def test_the_2008_cells_are_those_of_lines_13_to_24():
    text = lines()
    assert text[12].startswith("85,200801,0.0503089,1.34423,") and text[23].startswith("96,200812,0.0495455,1.87406,")
    for i, line in enumerate(text[12:24]):
        _, date, gpp, nee, _ = line.rstrip("\n").split(",")
        assert (date, float(gpp), float(nee)) == (f"2008{i + 1:02d}", GPP_2008[i], NEE_2008[i])


def test_annual_values_are_the_day_weighted_means_of_the_12_monthly_means(rows):
    assert len(rows) == 2
    gpp = rows[rows.variable == "gpp"].iloc[0]
    nee = rows[rows.variable == "nee"].iloc[0]
    assert gpp.value == pytest.approx(day_weighted(GPP_2008, DAYS_2008), rel=1e-14)
    assert nee.value == pytest.approx(day_weighted(NEE_2008, DAYS_2008), rel=1e-14)
    # the figures checked by hand: 1630.75 g C/m2 of GPP and -533.27 of NEE over the 366 days of 2008
    assert gpp.value * 366 == pytest.approx(1630.750528, abs=1e-6)
    assert nee.value * 366 == pytest.approx(-533.26967, abs=1e-6)
    # day-weighting matters a little: the plain mean of the 12 monthly means is 4.4436
    assert gpp.value != pytest.approx(sum(GPP_2008) / 12, rel=1e-3)


def test_common_fields(rows):
    assert set(rows.year) == {2008}
    assert (rows.area_code == "DE-Hai").all() and (rows.area_level == "site").all() and (rows.parent_code == "DEU").all()
    assert set(rows.unit) == {"g C/m2/d"} and set(rows.flag) == {"derived"} and set(rows.land_category) == {"all"}
    assert rows[["year_start", "year_end", "category", "pool", "uncertainty"]].isna().all().all()
    assert set(rows.snapshot) == {sample_files(SOURCE_ID)["monthly"].sha256}
    assert set(rows.source) == {SOURCE_ID}
    for variable, unit in zip(rows.variable, rows.unit):
        assert schema.VARIABLE_UNITS[variable] == unit
    assert not rows.duplicated(list(schema.OBSERVATION_KEY)).any()


def test_only_complete_years_are_kept():
    df = pd.read_csv(SAMPLE_DATA / INPUT)
    months = df.groupby(df.Date // 100).size()
    assert months.to_dict() == {2007: 11, 2008: 12, 2009: 10, 2010: 10, 2011: 9, 2012: 10}
    # ID is the month index 12 x (year - 2001) + month in every row
    assert (df.ID == 12 * (df.Date // 100 - 2001) + df.Date % 100).all()


def test_real_data_passes_the_suites_and_a_unit_error_fails(rows):
    suites = [load_suite(SCHEMA_SUITE), load_suite(registry()[SOURCE_ID].suite_path)]
    assert validate(rows, suites, SOURCE_ID).passed
    # a built frame: the same rows with GPP in g C/m2/month (x30), a unit error
    wrong = rows.copy()
    wrong.loc[wrong.variable == "gpp", "value"] *= 30
    report = validate(wrong, suites, SOURCE_ID)
    assert not report.passed
    assert ("expect_column_values_to_be_between", "value") in {(o.expectation, o.column) for o in report.critical_failures}


# --- missing values and gaps ----------------------------------------------------------------------


def test_nan_in_a_2008_month_drops_that_variable_for_2008(tmp_path):
    # line 18 = June 2008: GPP becomes NaN; NEE of 2008 stays complete
    path = drifted(tmp_path, replace_line(18, ",13.6668,", ",NaN,"))
    rows = harmonize_sample(SOURCE_ID, monthly=path)
    assert list(rows.variable) == ["nee"]


def test_fluxnet_missing_code_is_missing_not_a_value(tmp_path):
    path = drifted(tmp_path, replace_line(18, ",-8.43727,", ",-9999,"))
    rows = harmonize_sample(SOURCE_ID, monthly=path)
    assert list(rows.variable) == ["gpp"]


def test_a_missing_month_row_drops_the_year(tmp_path):
    path = drifted(tmp_path, drop_line(20, "92,200808,"))
    assert harmonize_sample(SOURCE_ID, monthly=path).empty


# --- drift: errors name file, row and column ------------------------------------------------------


def test_renamed_column(tmp_path):
    path = drifted(tmp_path, replace_line(1, "GPP", "GPP_NT"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 1: expected column 'GPP' is missing "
                                                    "(did you mean 'GPP_NT'?)")):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_text_other_than_nan_is_an_error(tmp_path):
    path = drifted(tmp_path, replace_line(14, ",1.57819,", ",n/a,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 14, column 'NEE': 'n/a' is not a number")):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_lower_case_nan_is_not_the_missing_marker(tmp_path):
    path = drifted(tmp_path, replace_line(2, ",0.089395,", ",nan,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 2, column 'GPP': 'nan' is not a number")):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_date_not_yyyymm(tmp_path):
    path = drifted(tmp_path, replace_line(13, ",200801,", ",2008-01,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 13, column 'Date': '2008-01' is not a month")):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_month_13(tmp_path):
    path = drifted(tmp_path, replace_line(13, ",200801,", ",200813,"))
    with pytest.raises(SourceError, match=r"row 13, column 'Date': '200813' is not a month"):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_id_disagreeing_with_date(tmp_path):
    # ID and Date are both read to the month (`parse: month_number` / `year_month`): they must agree
    path = drifted(tmp_path, replace_line(13, "85,200801,", "86,200801,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 13, column 'ID': '86' gives year 2008, "
                                                    "month 2, but column 'Date' ('200801') gives year 2008, month 1")):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_id_that_is_no_month_number(tmp_path):
    path = drifted(tmp_path, replace_line(13, "85,200801,", "85.5,200801,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 13, column 'ID': 85.5 is not a month number")):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_repeated_month(tmp_path):
    path = drifted(tmp_path, lambda text: text + [text[12]])
    # the repeated-key check of every declared source, with the month in the key
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 64, column 'GPP': the value for ")
                       + r".*'year': 2008, .*'_month': 1\} appears again \(first at line 13\)"):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_short_line(tmp_path):
    path = drifted(tmp_path, replace_line(15, ",1.18281,", ","))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 15: has 4 fields but the header has 5")):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_file_of_another_site_is_refused(tmp_path):
    path = drifted(tmp_path, lambda text: text, name="validation_DE-Tha.csv")
    with pytest.raises(SourceError, match=re.escape("file 'validation_DE-Tha.csv': is named for FLUXNET site 'DE-Tha', "
                                                    "but the declaration reads FLUXNET site 'DE-Hai'")):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_header_only(tmp_path):
    path = drifted(tmp_path, lambda text: text[:1])
    with pytest.raises(SourceError, match="has a header but no data rows"):
        harmonize_sample(SOURCE_ID, monthly=path)


def test_row_without_a_month(tmp_path):
    path = drifted(tmp_path, replace_line(13, ",200801,", ",,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 13, column 'ID': '85' gives year 2008, "
                                                    "month 1, but column 'Date' ('') gives no value")):
        harmonize_sample(SOURCE_ID, monthly=path)
    path = drifted(tmp_path, replace_line(13, "85,200801,", ",,"))  # neither column states the month
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 13, column 'Date': has no month")):
        harmonize_sample(SOURCE_ID, monthly=path)
