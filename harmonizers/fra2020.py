"""FAO Global Forest Resources Assessment 2020, analysis tables (two workbooks).

Layout (every data sheet): a title row, a merged 4-row header, then 236 country rows (ISO3 in
column A) interleaved with subregion subtotal rows (column A empty) that close the countries
above them, then the region and World rows; Europe, Oceania and South America appear twice
(as subregion and as region). Values come from the TREND block ("Value / subtotal" over
1990, 2000, 2010, 2015, 2020).

Every sheet of both workbooks is listed in `crosswalks/fra2020_sheets.csv`: the sheets read, with
what they measure (variable, pool, land category, FRA category) and in which unit, and the sheets
not read, with the reason (a sheet in neither list is an error: the layout changed). Region names
→ codes is `crosswalks/fra2020_regions.csv`.

- Breakdowns of the forest area (1b naturally regenerating / planted / plantation / other planted /
  plantation of introduced species, 1c primary forest / bamboos / rubber wood) and of the growing
  stock (2a by the same characteristics) carry `category` = `FRA:<characteristic>`, so the row with
  an empty category stays the one total per country and year (what accounting joins densities to).
- Other wooded land (1a_OWL, 2a_GS_OWL) is not forest land: `grassland` (IPCC 2006 Vol. 4 ch. 3.2
  puts woody vegetation below the forest thresholds there) with `category` `FRA:other_wooded_land`.
  Mangroves (1c) cover forest *and* other wooded land (FRA's own note): land category `all`.
- Region and World rows are kept as *reported* aggregates (reconciled, never summed in) only where
  they are the region's value: 1a_Forest and 1a_OWL, where every reporting country has the whole
  1990-2020 series (checked). Elsewhere FRA's trend subtotals cover only the countries with a
  complete series (e.g. World planted forest 2020: 292.6 Mha over 216 countries, 293.9 over the
  219 reporting), and on the density sheets (2c, 2d) they are unweighted sums of country
  densities, not a quantity: dropped; aggregates are computed bottom-up instead.
- Not read from the data sheets: the STATE block (the latest year again, over another country
  selection), `Annual change` (net change between the trend years: no registry variable; the
  gross flows afforestation / natural expansion / deforestation are not in these workbooks — see
  the owid_forest source) and `Change rate (%)` (derived from the same values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
from openpyxl.utils import get_column_letter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ercan.errors import SourceError, did_you_mean
from ercan.harmonize import finish, open_workbook, to_unit
from ercan.schema import LAND_CATEGORIES, POOLS, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="fra2020",
    title="FAO Global Forest Resources Assessment 2020: forest and other wooded land area by characteristic, "
    "growing stock, biomass and carbon density",
    publisher="FAO",
    license="FAO terms of use (cite: FAO 2020, Global Forest Resources Assessment 2020)",
    citation="FAO (2020) Global Forest Resources Assessment 2020, analysis tables; openforis/fra-platform@83caa45",
    inputs={
        "extent": "fra2020/1_Forest_extent_characteristics_and_changes_en.xlsx",
        "carbon": "fra2020/2_Forest_growing_stock_biomass_and_carbon_en.xlsx",
    },
)

CROSSWALKS = Path(__file__).with_name("crosswalks")


class Layout(BaseModel):
    """Where things are in an FRA analysis sheet (1-based rows, as Excel shows them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    header_row: int = 2
    code_header: str = "ISO3"
    name_header: str = "Country/region"
    members_header: str = "Total # of countries"
    block_row: int = 4
    value_block: str = "value / subtotal"  # compared case-folded; the last such block is TREND
    year_row: int = 5
    first_data_row: int = 6


class SheetMapping(BaseModel):
    """One sheet of a workbook: what it measures, or (variable empty) why it is not read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workbook: str
    sheet: str
    variable: str | None
    pool: str | None
    land_category: str | None
    category: str | None = Field(pattern=r"^FRA:[a-z_]+$")
    unit: str | None
    region_rows: Literal["reported_aggregate", "dropped"] | None
    note: str = Field(min_length=1)

    @property
    def read(self) -> bool:
        return self.variable is not None

    @model_validator(mode="after")
    def _vocabulary(self):
        declared = (self.land_category, self.unit, self.region_rows)
        if not self.read:
            if any(v is not None for v in (self.pool, self.category, *declared)):
                raise ValueError(f"{self.sheet!r} is not read (no variable) but declares how to read it")
            return self
        if None in declared:
            raise ValueError(f"{self.sheet!r}: a sheet that is read needs land_category, unit and region_rows")
        if self.variable not in VARIABLE_UNITS:
            suggestion = did_you_mean(self.variable, VARIABLE_UNITS)
            raise ValueError(f"{self.sheet!r}: unknown variable {self.variable!r}{suggestion}")
        if self.pool is not None and self.pool not in POOLS:
            raise ValueError(f"{self.sheet!r}: unknown pool {self.pool!r}{did_you_mean(self.pool, POOLS)}")
        if self.land_category not in LAND_CATEGORIES:
            raise ValueError(f"{self.sheet!r}: unknown land category {self.land_category!r}")
        return self


LAYOUT = Layout()
SHEETS = [
    SheetMapping(**{k: (None if pd.isna(v) else v) for k, v in row.items()})
    for row in pd.read_csv(CROSSWALKS / "fra2020_sheets.csv", dtype=str).to_dict("records")
]
REGIONS = pd.read_csv(CROSSWALKS / "fra2020_regions.csv", dtype=str, keep_default_na=False).set_index("name")


def harmonize(files) -> pa.Table:
    frames = []
    for role, raw in files.items():
        workbook = open_workbook(raw, hint="Download the workbook again from the FRA platform and ingest it.")
        for mapping in (m for m in SHEETS if m.workbook == role and m.read):
            try:
                frames.append(_read_sheet(workbook, mapping).assign(snapshot=raw.sha256))
            except SourceError as e:
                raise e.located(file=raw.name, sheet=mapping.sheet) from None
        _no_unexpected_sheets(workbook, role, raw.name)
    return finish(pd.concat(frames, ignore_index=True), SOURCE.id)


def _no_unexpected_sheets(workbook, role: str, file: str) -> None:
    """A sheet the crosswalk does not list (read or not) may carry data nobody decided about."""
    known = [m.sheet for m in SHEETS if m.workbook == role]
    for name in workbook.sheetnames:
        if name not in known:
            raise SourceError(
                f"unexpected sheet {name!r}{did_you_mean(name, known)}",
                file=file,
                sheet=name,
                hint="Decide what the sheet measures (or why it is not read) in harmonizers/crosswalks/fra2020_sheets.csv.",
            )


def _read_sheet(workbook, mapping: SheetMapping) -> pd.DataFrame:
    if mapping.sheet not in workbook.sheetnames:
        raise SourceError(
            f"sheet {mapping.sheet!r} is missing{did_you_mean(mapping.sheet, workbook.sheetnames)}",
            hint="The workbook layout changed: fix it or update crosswalks/fra2020_sheets.csv.",
        )
    rows = list(workbook[mapping.sheet].iter_rows(values_only=True))
    year_columns = _year_columns(rows)
    records, pending_countries, seen_regions = [], [], {}
    for number, row in enumerate(rows[LAYOUT.first_data_row - 1 :], start=LAYOUT.first_data_row):
        code, name = (row + (None, None))[:2]
        if isinstance(code, str) and code.strip():
            values = _values(row, year_columns, number)
            if mapping.region_rows == "reported_aggregate":
                _check_complete_series(values, year_columns, code, number)
            records.append(dict(area_code=code.strip(), area_level="national", values=values))
            pending_countries.append(records[-1])
        elif isinstance(name, str) and name.strip():
            region = _region(name.strip(), number)
            members = pending_countries or None
            for country in pending_countries:
                country["parent_code"] = region["area_code"]
            _check_members(row, members, name, number)
            pending_countries = []
            values = _values(row, year_columns, number)
            if region["area_code"] in seen_regions:
                if seen_regions[region["area_code"]] != values:
                    raise SourceError(
                        f"region {name!r} appears twice with different values",
                        row=number,
                        hint="Check the workbook; a repeated region row must repeat the same figures.",
                    )
                continue
            seen_regions[region["area_code"]] = values
            if mapping.region_rows == "reported_aggregate":
                records.append(dict(region, values=values))
    if pending_countries:
        raise SourceError(
            f"{len(pending_countries)} country rows after the last subregion row (from "
            f"{pending_countries[0]['area_code']!r}) belong to no region",
            hint="A subtotal row is missing at the end of the sheet.",
        )
    long = pd.DataFrame(records).explode("values", ignore_index=True).dropna(subset=["values"])
    long[["year", "raw_value"]] = pd.DataFrame(long.pop("values").tolist(), index=long.index)
    unit = VARIABLE_UNITS[mapping.variable]
    return long.assign(
        value=to_unit(long.pop("raw_value").astype("float64"), mapping.unit, unit, file=None),
        unit=unit,
        variable=mapping.variable,
        pool=mapping.pool,
        land_category=mapping.land_category,
        category=mapping.category,
        flag="reported",
    )


def _year_columns(rows) -> dict[int, int]:
    """{column index: year} of the TREND value block, checking the header on the way."""
    header = rows[LAYOUT.header_row - 1] if len(rows) >= LAYOUT.header_row else ()
    if tuple(header[:3]) != (LAYOUT.code_header, LAYOUT.name_header, LAYOUT.members_header):
        raise SourceError(
            f"row {LAYOUT.header_row} should start with {LAYOUT.code_header!r} | {LAYOUT.name_header!r} | "
            f"{LAYOUT.members_header!r} but reads {tuple(header[:3])!r}",
            row=LAYOUT.header_row,
            hint="A header row was removed or moved; restore the FRA analysis-table layout (5 header rows).",
        )
    blocks = [i for i, cell in enumerate(rows[LAYOUT.block_row - 1]) if str(cell).casefold() == LAYOUT.value_block]
    years = {}
    if blocks:
        for i, cell in enumerate(rows[LAYOUT.year_row - 1][blocks[-1] :], start=blocks[-1]):
            if not isinstance(cell, int):
                break
            years[i] = cell
    if not years:
        raise SourceError(
            f"no '{LAYOUT.value_block}' block with years found",
            row=LAYOUT.block_row,
            hint="Restore the TREND block header (rows 4-5) of the FRA layout.",
        )
    return years


def _values(row, year_columns, number) -> list[tuple[int, float]]:
    values = []
    for column, year in year_columns.items():
        cell = row[column] if column < len(row) else None
        if cell is None or cell == "":
            continue
        if isinstance(cell, bool) or not isinstance(cell, (int, float)):
            raise SourceError(
                f"{cell!r} is not a number",
                row=number,
                column=f"{get_column_letter(column + 1)} ({year})",
                hint="Fix the cell or leave it empty if the value is unknown.",
            )
        values.append((year, float(cell)))
    return values


def _check_complete_series(values, year_columns, code, number) -> None:
    """FRA's region rows sum only the countries with every trend year: they are the region's value
    only if no country reports part of the series."""
    if values and len(values) < len(year_columns):
        missing = sorted(set(year_columns.values()) - {year for year, _ in values})
        raise SourceError(
            f"country {code.strip()!r} reports only part of the series (no value for {missing}), so the "
            "region rows of this sheet leave it out and are not the regions' values",
            row=number,
            hint="Set region_rows to 'dropped' for this sheet in harmonizers/crosswalks/fra2020_sheets.csv.",
        )


def _region(name: str, number: int) -> dict:
    if name not in REGIONS.index:
        raise SourceError(
            f"unknown region {name!r}{did_you_mean(name, REGIONS.index)}",
            row=number,
            column="B",
            hint="Add the region to harmonizers/crosswalks/fra2020_regions.csv if it is new.",
        )
    region = REGIONS.loc[name]
    return dict(area_code=region.area_code, area_level=region.area_level, parent_code=region.parent_code or None)


def _check_members(row, members, name, number) -> None:
    """A subregion's printed country count must match the rows above it: proof we read the layout right."""
    printed = row[2] if len(row) > 2 else None
    if members is not None and isinstance(printed, int) and printed != len(members):
        raise SourceError(
            f"subregion {name!r} says it has {printed} countries but {len(members)} country rows precede it",
            row=number,
            column="C",
            hint="Rows were moved or deleted; restore the sheet's order.",
        )
