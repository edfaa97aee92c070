"""CIKD (2024), 表 1 全球代表性国家森林资源主要指标: forest indicators of six countries and the world.

The example source of docs/adding_a_source.md: a small national table with Chinese headers and
Chinese country names, one row per country, one column per indicator.

- Country names → codes, and each row's reference year, are `crosswalks/cikd2024_areas.csv`: the
  table states no year, and its rows come from different editions (the four countries' areas are
  FAO FRA 2015's values for 2015, China's is its 9th national inventory, 2014-2018); the evidence is
  in the file's `note` column.
- 单位面积碳储量变化 (Mg C/ha/yr, change in carbon stock per hectare) is not read: the common
  vocabulary has no per-hectare stock change, and a rate without its period cannot be checked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from ercan.harmonize import finish, map_codes, parse_numbers, read_csv, require_columns, to_unit
from ercan.schema import VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="cikd2024",
    title="CIKD 2024, table 1: main forest indicators of representative countries",
    publisher="Center for International Knowledge on Development (CIKD)",
    license="cited figures from a published report (cite: CIKD 2024, 表 1)",
    citation="CIKD (2024) 生态系统碳汇发展的国际进展与中国展望 (International Progress in the Development of Ecosystem Carbon Sinks and Prospects in China), 表 1",
    inputs={"table": "cikd2024/forest_indicators_table1_cikd2024.csv"},
)


class Indicator(BaseModel):
    """One column of the table: what it measures and in which unit it is printed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    variable: str
    land_category: str
    unit: str


NAME_COLUMN = "国家/地区"
INDICATORS = (
    Indicator(column="森林面积 (千公顷)", variable="area", land_category="forest_land", unit="1000 ha"),
    Indicator(column="森林覆盖率 (%)", variable="forest_cover", land_category="all", unit="%"),
    Indicator(column="森林单位蓄积 (m³/ha)", variable="growing_stock_density", land_category="forest_land", unit="m3/ha"),
)
AREAS = pd.read_csv(Path(__file__).with_name("crosswalks") / "cikd2024_areas.csv", dtype={"year": int})


def harmonize(files) -> pa.Table:
    raw = files["table"]
    table = read_csv(raw)
    require_columns(table, [NAME_COLUMN, *(i.column for i in INDICATORS)], file=raw.name)
    names = table[NAME_COLUMN].str.strip()
    for field in ("area_code", "area_level", "year"):
        table[field] = map_codes(names, dict(zip(AREAS["name"], AREAS[field])), what="country or region name",
                                 file=raw.name, column=NAME_COLUMN)
    rows = []
    for indicator in INDICATORS:
        unit = VARIABLE_UNITS[indicator.variable]
        values = parse_numbers(table[indicator.column], file=raw.name, column=indicator.column)
        rows.append(table[["area_code", "area_level", "year"]].assign(
            variable=indicator.variable,
            land_category=indicator.land_category,
            value=to_unit(values, indicator.unit, unit, file=raw.name),
            unit=unit,
        ))
    rows = pd.concat(rows, ignore_index=True)
    return finish(rows.assign(flag="reported", snapshot=raw.sha256), SOURCE.id)
