"""FAO Global Forest Resources Assessment 2020 as Our World in Data publishes it: forest area,
afforestation, natural forest expansion and deforestation by country, FRA region and World.

Files (both byte-exact from owid/owid-datasets, see sample_data/owid_forest/SOURCE.txt):

- `forest`: the long CSV `Entity, Year, <16 value columns>` of commit 4927912 (2020-10-21), the
  last version of "Forest land and change (FAO, 2020)". Of the two versions in the shared data
  folder this is the current and complete one: it is the later commit, and it has every row of
  the first version (commit 18833e4, 944 rows, 236 countries) with the same values, plus the 28
  rows of the six FRA 2020 regions and World. Its headers carry no units.
- `datapackage`: the datapackage.json of the same commit. It is the only place the units are
  stated (each field's `owidDisplaySettings`: unit "hectares" / "hectares per year" with
  `conversionFactor` 1000, i.e. the values are 1000 ha and 1000 ha/yr; the first version's headers
  said "(1000ha)" and "(1000ha/yr)"). The harmonizer checks, for every column it reads, that the
  datapackage still says what `CONFIG` declares, so a re-release in other units is an error naming
  the datapackage and the field, not a silent factor of 1000.

Columns read (`CONFIG.values`), all `land_category` forest_land (they are FRA's components of
forest area change: afforestation and natural expansion turn other land into forest, deforestation
turns forest into other land), flag `reported`:

- `Forest area` → `area` (1000 ha → ha), `year` = the row's Year (the area at that date).
- `Afforestation`, `Natural forest expansion`, `Deforestation` → `afforestation`,
  `natural_expansion`, `deforestation` (1000 ha/yr → ha/yr). These are FAO's annual averages over a
  period, which OWID files under the period's first year (README and datapackage: 1990 = 1990-2000,
  2000 = 2000-2010, 2010 = 2010-2015, 2015 = 2015-2020; `CONFIG.periods`). They get
  `year_start`/`year_end` from that table and `year` = `year_end`.

Columns not read: `Forest expansion` and `Net forest conversion` (FAO's expansion total and
OWID's expansion − deforestation; no registry variable, see the report) and every "... as share of
forest area" and "Share of global/regional ..." column (percentages OWID computed from the others,
not reported values). Empty cells are missing values (most countries report no afforestation or
natural expansion); zeros are kept (eight territories report no forest at all).

Entities → areas, first match wins:

1. `crosswalks/owid_forest_aggregates.csv`: World → `WORLD` (`global`), and the six FRA 2020
   regions (Africa, Asia, Europe, North and Central America, Oceania, South America) → the codes
   harmonizers/fra2020.py gives them (`FRA:africa`, ...), `regional`, parent `WORLD`. They are
   FAO's reported aggregates (their forest area for 1990-2010 is FRA 2020's region row rounded to
   1 Mha), kept as reported values to reconcile against, never summed in. World deforestation is
   FAO's global estimate, larger than the sum of the reporting countries (15.8 vs 13.8 Mha/yr in
   1990-2000): a partial-coverage difference reconciliation shows, not an error.
2. `crosswalks/owid_forest_names.csv`: reviewed names country_converter misses (only "Timor").
3. `ercan.areas.iso3_for_names` (the shared reviewed overrides, then country_converter).

Countries are `national` with no `parent_code`: the file does not say which region a country is
in (fra2020 declares FRA's hierarchy for the same ISO3 codes). A name none of these knows is an
error naming the row and column `Entity` with the closest known name; two rows for the same area
and Year are an error.

One quirk is corrected by dropping (`CONFIG.aggregate_drops`): the forest area of every
aggregate (World and the six regions) at Year 2015 is FRA 2020's area of **2020**, not 2015
(World 4059 Mha = FRA 2020's 4,058.9 Mha in 2020, while its 2015 area is 4,083.9 Mha and the
file's own countries sum to 4,083.9 Mha in 2015; likewise for all six regions). OWID evidently
laid the four columns of FRA's key-findings table (1990, 2000, 2010, 2020) onto its four period
years. Those seven values are dropped rather than relabelled as 2020: the exact 2020 figures come
from fra2020. Country areas at Year 2015 are the 2015 values (they match FRA 2020's 2015 column).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ercan.areas import iso3_for_names
from ercan.errors import ConfigError, SourceError, did_you_mean
from ercan.harmonize import finish, map_codes, parse_numbers, read_csv, require_columns, require_unique, to_unit
from ercan.schema import FLAGS, LAND_CATEGORIES, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="owid_forest",
    title="FAO FRA 2020 forest area, afforestation, natural forest expansion and deforestation (Our World in Data)",
    publisher="Our World in Data (owid/owid-datasets); data FAO Global Forest Resources Assessment 2020",
    license=(
        "none stated in the repository (no LICENSE file; top README states no license). OWID's website generally "
        "publishes its data under CC BY 4.0, but that is NOT stated in this repo: treat as 'not stated'"
    ),
    citation=(
        "UN Food and Agriculture Organization (FAO). Forest Resources Assessment 2020 "
        "(https://fra-data.fao.org/WO/assessment/fra2020, retrieved 20 October 2020), as published by Our World in "
        "Data: owid/owid-datasets@4927912b4eb14f095ac9f8c5b1a420f9ef4dac70, "
        "datasets/Forest land and change (FAO, 2020)/"
    ),
    inputs={
        "forest": "owid_forest/forest_land_and_change_fao2020__4927912_last.csv",
        "datapackage": "owid_forest/datapackage__4927912.json",
    },
)

CROSSWALKS = Path(__file__).with_name("crosswalks")


class ValueColumn(BaseModel):
    """One column read: the variable it is, its unit, and what the datapackage must say about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    variable: str
    unit: str  # the values' unit (pint text), converted to the variable's canonical unit
    rate: bool  # an annual average over the period its Year stands for
    owid_unit: str  # owidDisplaySettings.unit in the datapackage ...
    owid_conversion_factor: float  # ... and its conversionFactor: display value = value x factor


class Drop(BaseModel):
    """Values of aggregate rows that are not what their Year says, dropped with the reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variable: str
    year: int
    reason: str


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_role: str
    datapackage_role: str
    entity_column: str
    year_column: str
    periods: dict[int, tuple[int, int]]  # OWID Year -> FAO period (year_start, year_end) of the rates
    land_category: str
    flag: str
    values: tuple[ValueColumn, ...]
    aggregate_drops: tuple[Drop, ...]

    @model_validator(mode="after")
    def _vocabularies(self):
        for value in self.values:
            if value.variable not in VARIABLE_UNITS:
                raise ValueError(f"unknown variable {value.variable!r}{did_you_mean(value.variable, VARIABLE_UNITS)}")
            if value.rate != VARIABLE_UNITS[value.variable].endswith("/yr"):
                unit = VARIABLE_UNITS[value.variable]
                raise ValueError(f"{value.column}: rate={value.rate} but {value.variable} is in {unit}")
        if self.land_category not in LAND_CATEGORIES or self.flag not in FLAGS:
            raise ValueError(f"unknown land category {self.land_category!r} or flag {self.flag!r}")
        for year, (start, end) in self.periods.items():
            if not year == start < end:
                raise ValueError(f"period of {year} must start in {year} and end later: {(start, end)}")
        return self


_RATE = dict(unit="1000 ha/yr", rate=True, owid_unit="hectares per year", owid_conversion_factor=1000)
CONFIG = Config(
    data_role="forest",
    datapackage_role="datapackage",
    entity_column="Entity",
    year_column="Year",
    periods={1990: (1990, 2000), 2000: (2000, 2010), 2010: (2010, 2015), 2015: (2015, 2020)},
    land_category="forest_land",
    flag="reported",
    values=(
        ValueColumn(
            column="Forest area",
            variable="area",
            unit="1000 ha",
            rate=False,
            owid_unit="hectares",
            owid_conversion_factor=1000,
        ),
        ValueColumn(column="Afforestation", variable="afforestation", **_RATE),
        ValueColumn(column="Natural forest expansion", variable="natural_expansion", **_RATE),
        ValueColumn(column="Deforestation", variable="deforestation", **_RATE),
    ),
    aggregate_drops=(
        Drop(
            variable="area",
            year=2015,
            reason="the aggregates' Year-2015 forest area is FRA 2020's area of 2020 (World 4059 Mha; the "
            "countries sum to 4084 Mha in 2015): mislabelled by OWID, and fra2020 has the exact 2020 value",
        ),
    ),
)

if {CONFIG.data_role, CONFIG.datapackage_role} != set(SOURCE.inputs):
    raise ConfigError(f"harmonizers/owid_forest.py: CONFIG roles differ from SOURCE.inputs {sorted(SOURCE.inputs)}")


class Aggregate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    area_code: str = Field(pattern=r"^(?:WORLD|FRA:[a-z_]+)$")
    area_level: Literal["regional", "global"]
    parent_code: str | None
    note: str = Field(min_length=20)


class CountryName(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    area_code: str = Field(pattern=r"^[A-Z]{3}$")
    note: str = Field(min_length=20)


def _crosswalk(name: str, model):
    rows = pd.read_csv(CROSSWALKS / name, dtype=str, keep_default_na=False).to_dict("records")
    return {row["name"]: model(**{k: (v or None) if k == "parent_code" else v for k, v in row.items()}) for row in rows}


AGGREGATES: dict[str, Aggregate] = _crosswalk("owid_forest_aggregates.csv", Aggregate)
NAMES: dict[str, CountryName] = _crosswalk("owid_forest_names.csv", CountryName)


def harmonize(files) -> pa.Table:
    missing = sorted(set(SOURCE.inputs) - set(files))
    if missing:
        raise SourceError(f"no file for role(s) {missing}", hint=f"Ingest the files for roles {sorted(SOURCE.inputs)}.")
    raw = files[CONFIG.data_role]
    _check_units(files[CONFIG.datapackage_role], data_file=raw.name)

    df = read_csv(raw)
    entity, year_column = CONFIG.entity_column, CONFIG.year_column
    require_columns(df, [entity, year_column, *(v.column for v in CONFIG.values)], file=raw.name)
    if df.empty:
        raise SourceError("has a header but no data rows", file=raw.name, hint="Download the file again.")
    names = df[entity].str.strip()
    areas = _areas(names, file=raw.name)
    years = _years(df[year_column], file=raw.name)
    keys = areas["area_code"] + "|" + years.astype(str)
    require_unique(keys, what="area and Year", verb="appear", file=raw.name, column=entity,
                   hint="Remove the repeated row, or map the two names to different areas if they differ.")

    frames = []
    for value in CONFIG.values:
        canonical = VARIABLE_UNITS[value.variable]
        numbers = parse_numbers(df[value.column], file=raw.name, column=value.column)
        rows = areas.assign(
            variable=value.variable,
            value=to_unit(numbers, value.unit, canonical, file=raw.name),
            unit=canonical,
        )
        if value.rate:
            rows["year_start"] = years.map(lambda y: CONFIG.periods[y][0])
            rows["year_end"] = rows["year"] = years.map(lambda y: CONFIG.periods[y][1])
        else:
            rows["year"] = years
        dropped = pd.Series(False, index=rows.index)
        for drop in (d for d in CONFIG.aggregate_drops if d.variable == value.variable):
            dropped |= (rows["area_level"] != "national") & (years == drop.year)
        frames.append(rows[~dropped])
    out = pd.concat(frames, ignore_index=True).assign(
        land_category=CONFIG.land_category, pool=None, flag=CONFIG.flag, snapshot=raw.sha256
    )
    return finish(out, SOURCE.id)


def _check_units(raw, *, data_file: str) -> None:
    """The datapackage must describe each column read with the unit and factor CONFIG declares."""
    try:
        with raw.open() as f:
            package = json.load(f)
        fields = {f["name"]: f for resource in package["resources"] for f in resource["schema"]["fields"]}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise SourceError(
            f"is not an OWID datapackage.json with resources[].schema.fields ({type(e).__name__}: {e})",
            file=raw.name,
            hint=f"Ingest the datapackage.json of the same commit as {data_file!r}.",
        ) from None
    for value in CONFIG.values:
        if value.column not in fields:
            raise SourceError(
                f"field {value.column!r} is not described{did_you_mean(value.column, fields)}",
                file=raw.name,
                column=value.column,
                hint=f"Ingest the datapackage.json of the same commit as {data_file!r}.",
            )
        try:
            settings = json.loads(fields[value.column].get("owidDisplaySettings") or "{}")
        except (json.JSONDecodeError, TypeError):
            settings = {}
        stated = (settings.get("unit"), settings.get("conversionFactor"))
        if stated != (value.owid_unit, value.owid_conversion_factor):
            raise SourceError(
                f"field {value.column!r} is displayed in {stated[0]!r} with conversionFactor {stated[1]!r}, but "
                f"harmonizers/owid_forest.py reads its values as {value.unit!r} (expects {value.owid_unit!r} with "
                f"conversionFactor {value.owid_conversion_factor:g})",
                file=raw.name,
                column=value.column,
                hint="OWID changed the column's unit: check it and update CONFIG.values in harmonizers/owid_forest.py.",
            )


def _areas(names: pd.Series, *, file: str) -> pd.DataFrame:
    """area_code, area_level, parent_code per row: aggregates, then reviewed names, then the converter."""
    reviewed = {**{n: a.area_code for n, a in AGGREGATES.items()}, **{n: c.area_code for n, c in NAMES.items()}}
    others = [n for n in names.unique() if n not in reviewed]
    mapping = {**iso3_for_names(others), **reviewed}
    codes = map_codes(names, mapping, what="country or region name", file=file, column=CONFIG.entity_column)
    by_code = {a.area_code: a for a in AGGREGATES.values()}
    return pd.DataFrame(
        {
            "area_code": codes,
            "area_level": codes.map(lambda c: by_code[c].area_level if c in by_code else "national"),
            "parent_code": codes.map(lambda c: by_code[c].parent_code if c in by_code else None),
        }
    )


def _years(cells: pd.Series, *, file: str) -> pd.Series:
    numbers = parse_numbers(cells, file=file, column=CONFIG.year_column)
    bad = ~numbers.isin(list(CONFIG.periods))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceError(
            f"Year {cells.iloc[position]!r} is none of the years OWID files FAO's periods under "
            f"({', '.join(map(str, CONFIG.periods))})",
            file=file,
            row=2 + position,
            column=CONFIG.year_column,
            hint="A new FRA period needs its (year_start, year_end) in CONFIG.periods, from OWID's README.",
        )
    return numbers.astype("int64")


