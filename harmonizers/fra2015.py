"""FAO Global Forest Resources Assessment 2015: forest area by country, 1990-2015.

File (one CSV, `forest_area`): an Excel pivot table exported as CSV, an example data file of the
FRA platform repository (not an official FAO release; see sample_data/fra2015/SOURCE.txt).

- Line 1 is a title row, `,FRA 2015 forest area (1000 ha),,,,`: the title sits in the second cell
  and is the only place the unit is stated. The unit is read from it (`LAYOUT.title`, a regex with
  a `unit` group) and converted with pint, so a re-export in another unit converts correctly and an
  unknown unit text is an error naming the file, row 1 and the title cell.
- Line 2 is the pivot header `Row Labels,1990,2000,2005,2010,2015`: the label column and the five
  FRA 2015 reference years (`LAYOUT.years`). A missing year is an error with the closest header; a
  column that is neither (e.g. a pivot "Grand Total" column, which would sum a stock over years)
  is an error too, not silently skipped.
- Then one row per code (234; MAR comes first, the rest are alphabetical — the pivot's order, of no
  meaning). Cells are plain numbers (decimals with '.'); an empty cell would be a missing value,
  anything else is an error naming the row (as in the file: first data row = 3) and year column.

Every value is forest area (`area`, `forest_land`) in 1000 ha → ha, `year` = the column's year,
flag `reported`, no pool or category.

Codes (`Row Labels`):

- A current ISO 3166-1 alpha-3 code (per pycountry) is a country: `national`, no `parent_code`.
  The file places countries in no region, and a parent here would enter them into the
  cross-source hierarchy on its own account (fra2020 already places the same ISO3 codes in FRA's
  regions).
- Codes that are not current ISO3 are listed in `crosswalks/fra2015_codes.csv` with the reason:
  - `ANT`, the Netherlands Antilles. Its ISO 3166-1 code was deleted on 2010-12-15 when it was
    dissolved into CUW, SXM and BES, but FRA 2015 still reports it as one unit for every year up to
    2015 (1.18 thousand ha) and lists none of its successors. **Decision: kept as a historical
    national unit with its own former code `ANT` and no parent.** Dropping it would make the
    countries' sum fall short of FRA 2015's world forest area; mapping it to one successor would
    be wrong, and splitting it would be an estimate the source does not make. A consumer comparing
    FRA 2015 with FRA 2020 by country must compare ANT with CUW + SXM + BES. Because ANT has no
    parent, it does not enter the hierarchy's WORLD membership (it would otherwise count as a
    member that every other source "fails to report").
  - `Grand Total`, the total row an Excel pivot can add: if present it is the sum over every row,
    i.e. the world total, kept as the reported `WORLD` aggregate (area_level `global`). The shipped
    export has no such row (checked: its last line is ZWE), so no WORLD row comes out of it.
- Anything else (a misspelt code, "(blank)", an empty label) is an error naming the row and the
  column `Row Labels`, with the closest known code. A code repeated is an error.

Not read: `climaticDomain.csv` from the same folder (the % of each country's area in the FRA
climatic domains Tropical / Subtropical / Temperate / Boreal / Polar). It is a static attribute of
a country, not an observation of any variable of the registry (`forest_cover` is the forest share
of land, a different quantity), so it is not shipped. For IPCC Tier 1 gap-filling it belongs in a
reference table of domain shares per country (area_code, climatic_domain, share), with which Tier 1
default densities per domain are weighted; as observations it would need a variable such as
`area_share` (%) and the domain in `category` (`FRA:climatic_domain/tropical`). Note that its shares
are of each country's total area, not of its forest, and that it lists CUW, SXM and BES but not ANT.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pycountry
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ercan.errors import SourceError, did_you_mean
from ercan.harmonize import finish, input_file, parse_numbers, read_csv, require_unique, to_unit
from ercan.schema import FLAGS, LAND_CATEGORIES, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="fra2015",
    title="FAO Global Forest Resources Assessment 2015: forest area by country, 1990-2015",
    publisher="FAO (file from the FRA platform repository, openforis/fra-platform)",
    license=(
        'No LICENSE file in repo; package.json declares "UNLICENSED". Content is FAO Global Forest Resources '
        "Assessment data published by FAO (FAO terms of use / cite: FAO 2020, Global Forest Resources Assessment 2020)"
    ),
    citation=(
        "FAO (2015) Global Forest Resources Assessment 2015, forest area; example data file "
        "doc/exampleData/fra-2015-forest-areas.csv in openforis/fra-platform@83caa456daad6bbf84746295cb89fd3c5e5a30e2"
    ),
    inputs={"forest_area": "fra2015/fra-2015-forest-areas.csv"},
)

CROSSWALKS = Path(__file__).with_name("crosswalks")


class Layout(BaseModel):
    """What the pivot export looks like (1-based rows, as a spreadsheet shows them) and what its values are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = "forest_area"
    title_row: int = 1
    title: str = r"^FRA 2015 forest area \((?P<unit>[^()]+)\)$"  # the unit is stated only here
    header_row: int = 2
    label_column: str = "Row Labels"
    years: tuple[int, ...] = (1990, 2000, 2005, 2010, 2015)
    variable: str = "area"
    land_category: str = "forest_land"
    flag: str = "reported"

    @model_validator(mode="after")
    def _vocabularies(self):
        if self.variable not in VARIABLE_UNITS:
            raise ValueError(f"unknown variable {self.variable!r}{did_you_mean(self.variable, VARIABLE_UNITS)}")
        if self.land_category not in LAND_CATEGORIES or self.flag not in FLAGS:
            raise ValueError(f"unknown land category {self.land_category!r} or flag {self.flag!r}")
        if "unit" not in re.compile(self.title).groupindex:
            raise ValueError("the title pattern needs a named group 'unit'")
        return self

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1


class SpecialCode(BaseModel):
    """A row label that is not a current ISO 3166-1 alpha-3 code, and what it stands for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    area_code: str = Field(pattern=r"^(?:[A-Z]{3}|WORLD)$")
    area_level: Literal["national", "global"]
    parent_code: str | None
    note: str = Field(min_length=20)  # the reviewed reason


LAYOUT = Layout()
SPECIAL_CODES = {
    row["code"]: SpecialCode(**{k: (v or None) if k == "parent_code" else v for k, v in row.items()})
    for row in pd.read_csv(CROSSWALKS / "fra2015_codes.csv", dtype=str, keep_default_na=False).to_dict("records")
}


def harmonize(files) -> pa.Table:
    raw = input_file(files, LAYOUT.role, what="the FRA 2015 pivot export")
    cells = read_csv(raw, header=None)
    if len(cells) <= LAYOUT.header_row:
        raise SourceError("has no data rows below the title and header", file=raw.name, hint="Export the pivot again.")
    unit = _unit(cells.iloc[LAYOUT.title_row - 1], file=raw.name)
    header = [str(c).strip() for c in cells.iloc[LAYOUT.header_row - 1]]
    year_columns = _year_columns(header, file=raw.name)
    data = cells.iloc[LAYOUT.header_row :].reset_index(drop=True)

    labels = data[header.index(LAYOUT.label_column)].str.strip()
    areas = _areas(labels, file=raw.name)
    canonical = VARIABLE_UNITS[LAYOUT.variable]
    frames = []
    for year, position in year_columns.items():
        numbers = parse_numbers(data[position], file=raw.name, column=str(year), first_row=LAYOUT.first_data_row)
        frames.append(areas.assign(year=year, value=to_unit(numbers, unit, canonical, file=raw.name)))
    rows = pd.concat(frames, ignore_index=True).assign(
        variable=LAYOUT.variable,
        unit=canonical,
        land_category=LAYOUT.land_category,
        pool=None,
        flag=LAYOUT.flag,
        snapshot=raw.sha256,
    )
    return finish(rows, SOURCE.id)


def _unit(title_row: pd.Series, *, file: str) -> str:
    """The unit stated in the title row (its one non-empty cell), checked to be one pint knows."""
    filled = [(i, str(c).strip()) for i, c in enumerate(title_row) if str(c).strip()]
    column = _letter(filled[0][0]) if filled else "A"
    match = re.match(LAYOUT.title, filled[0][1]) if len(filled) == 1 else None
    if match is None:
        raise SourceError(
            f"the title row should read like 'FRA 2015 forest area (1000 ha)' but reads "
            f"{' | '.join(text for _, text in filled)!r}",
            file=file,
            row=LAYOUT.title_row,
            column=column,
            hint="The unit is stated only in the title; restore it, or update LAYOUT.title in harmonizers/fra2015.py.",
        )
    unit = match["unit"].strip()
    try:
        to_unit(pd.Series([1.0]), unit, VARIABLE_UNITS[LAYOUT.variable], file=file)
    except SourceError as e:
        raise e.located(row=LAYOUT.title_row, column=column) from None
    return unit


def _year_columns(header: list[str], *, file: str) -> dict[int, int]:
    """{year: column position}, checking the header holds the label column and exactly the years."""
    expected = [LAYOUT.label_column, *(str(y) for y in LAYOUT.years)]
    for name in expected:
        if name not in header:
            raise SourceError(
                f"expected column {name!r} is missing{did_you_mean(name, header)}",
                file=file,
                row=LAYOUT.header_row,
                hint="The pivot layout changed: fix the export or update LAYOUT in harmonizers/fra2015.py.",
            )
    for position, name in enumerate(header):
        if name not in expected or header.index(name) != position:
            what = "appears twice" if name in expected else "is not a year of FRA 2015 nor the label column"
            raise SourceError(
                f"column {name!r} {what}",
                file=file,
                row=LAYOUT.header_row,
                column=_letter(position),
                hint=f"Export the pivot with only {LAYOUT.label_column!r} and the years {list(LAYOUT.years)} "
                "(no Grand Total column: it sums a stock over years).",
            )
    return {year: header.index(str(year)) for year in LAYOUT.years}


@cache
def _iso3() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.countries)


def _areas(labels: pd.Series, *, file: str) -> pd.DataFrame:
    records = []
    for position, label in enumerate(labels):
        row = LAYOUT.first_data_row + position
        if label in SPECIAL_CODES:
            special = SPECIAL_CODES[label]
            records.append((special.area_code, special.area_level, special.parent_code))
        elif label in _iso3():
            records.append((label, "national", None))
        else:
            known = sorted(_iso3() | set(SPECIAL_CODES))
            raise SourceError(
                f"unknown area code {label!r}{did_you_mean(label, known)}",
                file=file,
                row=row,
                column=LAYOUT.label_column,
                hint="A current ISO 3166-1 alpha-3 code is expected; add any other code, with the reason, "
                "to harmonizers/crosswalks/fra2015_codes.csv after checking what it is.",
            )
    areas = pd.DataFrame(records, columns=["area_code", "area_level", "parent_code"])
    require_unique(areas["area_code"], what="area", file=file, column=LAYOUT.label_column,
                   first_row=LAYOUT.first_data_row, hint="Remove the repeated row; the pivot has one row per code.")
    return areas


def _letter(position: int) -> str:
    """Spreadsheet column letter of a 0-based position (A, B, ... Z, AA, ...)."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
