"""The example source of docs/adding_a_source.md, on its real shipped table."""

import pytest

from conftest import harmonize_sample
from ercan.errors import SourceError
from ercan.sources import SAMPLE_DATA

TABLE = SAMPLE_DATA / "cikd2024" / "forest_indicators_table1_cikd2024.csv"


def test_values_in_canonical_units_with_their_reference_year():
    rows = harmonize_sample("cikd2024").set_index(["area_code", "variable"])
    assert rows.loc[("CHN", "area"), "value"] == pytest.approx(220_446_000)  # 220446 千公顷
    assert rows.loc[("CHN", "area"), "year"] == 2018  # China's 9th inventory, not FRA
    assert rows.loc[("USA", "area"), "year"] == 2015
    assert rows.loc[("WORLD", "forest_cover"), "value"] == pytest.approx(30.7)
    assert rows.loc[("NZL", "growing_stock_density"), "value"] == pytest.approx(392)
    assert len(rows) == 18  # 6 areas × 3 indicators; the per-hectare stock change is not read


def test_an_unknown_country_name_is_named_with_its_row(tmp_path):
    changed = tmp_path / TABLE.name
    changed.write_text(TABLE.read_text(encoding="utf-8").replace("德国", "德意志", 1), encoding="utf-8")
    with pytest.raises(SourceError, match=r"row 6, column '国家/地区': unknown value '德意志', not in areas.csv"):
        harmonize_sample("cikd2024", table=changed)


def test_a_renamed_column_suggests_the_closest(tmp_path):
    changed = tmp_path / TABLE.name
    changed.write_text(TABLE.read_text(encoding="utf-8").replace("森林面积 (千公顷)", "森林面积(千公顷)", 1), encoding="utf-8")
    with pytest.raises(SourceError, match=r"expected column '森林面积 \(千公顷\)' is missing \(did you mean '森林面积\(千公顷\)'\?\)"):
        harmonize_sample("cikd2024", table=changed)
