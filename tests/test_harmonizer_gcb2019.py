"""The Global Carbon Budget 2019 harmonizer on the shipped budget table and on drifted copies of it.

The other CSVs of the same budget (sample_data/gcb2019/reference/, not ingested) are read here only
to show which series the harmonizer takes and that it takes each once.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import edited_copy, harmonize_sample, replace_line

from ercan import schema
from ercan.declaration import DeclaredSource
from ercan.errors import ConfigError, SourceError
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA, get

SOURCE_ID = "gcb2019"
INPUT = SAMPLE_DATA / get(SOURCE_ID).source.inputs["budget"]
FILE = INPUT.name
REFERENCE = SAMPLE_DATA / "gcb2019" / "reference"
DECLARED = PROJECT_ROOT / "harmonizers" / SOURCE_ID
GT = 1e9  # GtC -> t C


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


@pytest.fixture(scope="module")
def budget():
    return pd.read_csv(INPUT, index_col="Year")


def series(rows, variable) -> pd.Series:
    return rows[rows.variable == variable].set_index("year").value


def drifted(tmp_path: Path, edit) -> Path:
    """A copy of the shipped budget table with `edit(lines) -> lines` applied."""
    return edited_copy(tmp_path, SOURCE_ID, "budget", edit)


def harmonize_copy(path: Path):
    return harmonize_sample(SOURCE_ID, budget=path)


# --- values, exactly as the file gives them (GtC/yr x 1e9 = t C/yr) ------------------------------


def test_values_are_the_files_numbers(rows):
    e_luc, s_land = series(rows, "land_use_emissions"), series(rows, "land_sink")
    # line 2: 1959,2.417,1.810,2.045,0.757,0.564,0.862
    assert e_luc[1959] == 1810000000.0
    assert s_land[1959] == 564000000.0
    # line 61: 2018,9.982,1.509,5.140,2.628,3.469,0.253
    assert e_luc[2018] == 1509000000.0
    assert s_land[2018] == 3469000000.0
    # line 59: 2016,9.656,1.537,6.071,2.671,2.719,-0.267
    assert e_luc[2016] == pytest.approx(1.537 * GT, rel=1e-15)
    assert s_land[2016] == pytest.approx(2.719 * GT, rel=1e-15)


def test_every_year_of_both_columns(rows, budget):
    np.testing.assert_allclose(series(rows, "land_use_emissions"), budget["Land-Use-Change-Emissions"] * GT, rtol=1e-15)
    np.testing.assert_allclose(series(rows, "land_sink"), budget["Land-Sink"] * GT, rtol=1e-15)


def test_row_inventory_and_common_fields(rows):
    assert len(rows) == 120  # 60 years x 2 series
    assert rows.groupby("variable").year.apply(sorted).to_dict() == {
        "land_use_emissions": list(range(1959, 2019)),
        "land_sink": list(range(1959, 2019)),
    }
    assert set(rows.area_code) == {"WORLD"} and set(rows.area_level) == {"global"}
    assert rows.parent_code.isna().all()
    assert set(rows.land_category) == {"all"}
    assert rows.pool.isna().all() and rows.category.isna().all()
    assert set(rows.flag) == {"reported"} and set(rows.unit) == {"t C/yr"}
    assert rows.uncertainty.isna().all()  # the file gives none
    for variable, unit in rows[["variable", "unit"]].drop_duplicates().itertuples(index=False):
        assert schema.VARIABLE_UNITS[variable] == unit
    assert not rows.duplicated(list(schema.OBSERVATION_KEY)).any()
    assert set(rows.snapshot) == {hashlib.sha256(INPUT.read_bytes()).hexdigest()}


def test_land_sink_is_positive_uptake_as_in_the_file(rows, budget):
    # The budget closes only with S_LAND as a positive uptake:
    # fossil + E_LUC - atmospheric growth - ocean sink - S_LAND = imbalance (to the 3-decimal rounding).
    s_land = series(rows, "land_sink") / GT
    imbalance = (
        budget["Fossil-Fuel-And-Industry"] + series(rows, "land_use_emissions") / GT
        - budget["Atmospheric-Growth"] - budget["Ocean-Sink"] - s_land
    )
    assert (imbalance - budget["Budget-Imbalance"]).abs().max() <= 0.0025
    assert (s_land > 0).all()  # every year a sink, written positive (inventories would write it negative)


# --- the choice of series among the budget's CSVs (reference copies) ------------------------------


def test_e_luc_is_one_series_in_three_files(rows):
    e_luc = series(rows, "land_use_emissions") / GT
    luc = pd.read_csv(REFERENCE / "land-use-change.csv", index_col="Year")
    historical = pd.read_csv(REFERENCE / "historical-budget.csv", index_col="Year")
    np.testing.assert_allclose(e_luc, luc["Land-Use-Change"], rtol=1e-15)
    np.testing.assert_allclose(e_luc, historical.loc[1959:2018, "Land-Use-Change"], rtol=1e-15)
    # the GCB estimate is the mean of the two bookkeeping models (3-decimal rounding)
    assert ((luc["H&N"] + luc["BLUE"]) / 2 - luc["Land-Use-Change"]).abs().max() <= 0.0006
    # historical-budget.csv adds 1850-1958 but has no land sink
    assert historical["Land-Use-Change"].first_valid_index() == 1850
    assert "Land-Sink" not in historical.columns


def test_land_sink_is_the_dgvm_mean_not_the_terrestrial_sink_column(rows):
    s_land = series(rows, "land_sink") / GT
    sink = pd.read_csv(REFERENCE / "terrestrial-sink.csv", index_col="Year")
    np.testing.assert_allclose(s_land, sink["MMM (multi-model mean)"], rtol=1e-15)
    difference = (sink["Terrestrial-Sink"] - s_land).abs()
    assert difference.max() == pytest.approx(0.086, abs=1e-9) and difference.mean() == pytest.approx(0.0297, abs=1e-4)
    models = sink.drop(columns=["Terrestrial-Sink", "MMM (multi-model mean)"])
    assert models.shape[1] == 16
    assert (models.mean(axis=1) - sink["MMM (multi-model mean)"]).abs().max() <= 0.0006


# --- drift: each error names the file, row and column and says what is wrong ---------------------


def test_renamed_column(tmp_path):
    path = drifted(tmp_path, replace_line(1, "Land-Sink", "Land Sink"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 1: expected column 'Land-Sink' is missing "
                                                    "(did you mean 'Land Sink'?)")):
        harmonize_copy(path)


def test_missing_year_column(tmp_path):
    path = drifted(tmp_path, replace_line(1, "Year,", "year,"))
    with pytest.raises(SourceError, match=re.escape("row 1: expected column 'Year' is missing (did you mean 'year'?)")):
        harmonize_copy(path)


def test_non_numeric_cell(tmp_path):
    # line 61: 2018,9.982,1.509,5.140,2.628,3.469,0.253
    path = drifted(tmp_path, replace_line(61, ",3.469,", ",3.469 GtC,"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 61, column 'Land-Sink': '3.469 GtC' is "
                                                    "not a number")):
        harmonize_copy(path)


def test_decimal_comma(tmp_path):
    path = drifted(tmp_path, replace_line(2, ",1.810,", ',"1,810",'))
    message = "row 2, column 'Land-Use-Change-Emissions': '1,810' is not a number"
    with pytest.raises(SourceError, match=re.escape(message)):
        harmonize_copy(path)


def test_repeated_year(tmp_path):
    path = drifted(tmp_path, lambda lines: lines + [lines[1]])
    with pytest.raises(SourceError, match=re.escape("row 62, column 'Land-Use-Change-Emissions': the value for "
                                                    "{'area_code': 'WORLD', 'year': 1959, 'land_category': 'all', "
                                                    "'variable': 'land_use_emissions'} appears again (first at line 2)")):
        harmonize_copy(path)


def test_fractional_year(tmp_path):
    path = drifted(tmp_path, replace_line(3, "1960,", "1960.5,"))
    with pytest.raises(SourceError, match=r"row 3, column 'Year': '1960.5' is not a year"):
        harmonize_copy(path)


def test_short_line(tmp_path):
    path = drifted(tmp_path, replace_line(10, ",", ";"))
    with pytest.raises(SourceError, match=re.escape(f"file {FILE!r}, row 10: has 6 fields but the header has 7")):
        harmonize_copy(path)


def test_header_only(tmp_path):
    with pytest.raises(SourceError, match="has a header but no data rows"):
        harmonize_copy(drifted(tmp_path, lambda lines: lines[:1]))


# --- the declared series are checked when the declaration is loaded (copies written here) --------


def declared_copy(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the source's folder whose source.yaml has `old` replaced by `new`."""
    folder = tmp_path / SOURCE_ID
    shutil.copytree(DECLARED, folder)
    text = (folder / "source.yaml").read_text()
    assert old in text
    (folder / "source.yaml").write_text(text.replace(old, new, 1))
    return folder


def test_unknown_unit_text(tmp_path):
    with pytest.raises(ConfigError, match=r"inputs.budget: unknown unit 'GtCx/yr'"):
        DeclaredSource(declared_copy(tmp_path, "unit: GtC/yr", "unit: GtCx/yr"))


def test_unit_of_another_dimension(tmp_path):
    with pytest.raises(ConfigError, match=r"unit 'Gt CO2/yr' cannot be converted to 't C/yr'"):
        DeclaredSource(declared_copy(tmp_path, "unit: GtC/yr}\n      - columns: [Land-Sink]", "unit: Gt CO2/yr}\n      - columns: [Land-Sink]"))


def test_unknown_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown variable 'land_sinks' \(did you mean 'land_sink'\?\)"):
        DeclaredSource(declared_copy(tmp_path, "variable: land_sink,", "variable: land_sinks,"))


def test_misspelt_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"inputs.budget.values.0.sett: Extra inputs are not permitted"):
        DeclaredSource(declared_copy(tmp_path, "set: {variable: land_use", "sett: {variable: land_use"))
