"""Global Forest Watch dashboard download for the United States: tree cover loss, the gross
emissions from it and tree cover extent in 2000, by state and for the country.

Files (five CSVs as the GFW country dashboard exports them, downloaded 2022-03-23):

- `state_loss`: long format, one row per state and loss year 2001-2020 — `iso`, `adm1` (GADM
  level-1 integer id), `umd_tree_cover_loss__year`, `umd_tree_cover_loss__ha`,
  `gfw_gross_emissions_co2e_all_gases__Mg`. A state-year with no detected loss has no row
  (District of Columbia 2013 is absent); it is left absent, not filled with zero.
- `state_names`: `name`, `adm1__id` — the adm1 id → state name table. Names are matched exactly
  to the ISO 3166-2 subdivisions of the US in pycountry (states and the District of Columbia;
  outlying areas are not GADM level-1 units of the USA and are not accepted).
- `state_extent`: `iso`, `adm1`, `umd_tree_cover_extent_2000__ha`, `area__ha`.
- `national_loss`, `national_extent`: the same columns without `adm1`, for the whole country.

Variables: `tree_cover_loss` (ha/yr; `year` is the loss year), `gross_emissions` (gross emissions
of all greenhouse gases from that loss, Mg CO2e → t CO2e/yr; `year` is the loss year),
`tree_cover_extent` (ha, `year` 2000) and `area` (ha, `year` 2000). The loss and extent are those
of tree cover with at least **30% canopy density** (the dashboard's threshold, stated in the
download's metadata.csv; it is declared in `CONFIG.canopy_threshold_percent`). `area__ha` is the
land area of the GADM polygon the dashboard reports beside the extent of 2000; it has no date of
its own, so it takes the extent's reference year 2000.

`land_category` is `all` for every row: "tree cover ≥30% canopy" is a remote-sensing class of
woody vegetation taller than 5 m (Hansen/UMD), not the IPCC land-use category `forest_land`. It
includes tree crops, plantations and urban trees (cropland, settlements) and misses forest land
that is temporarily unstocked, so its loss, extent and emissions are measured over all land.

Every value is `reported`; the national rows are kept as the country's reported totals (they
equal the sum of the states to floating-point rounding; see tests). What is declarative —
file roles, columns, units, id columns, the country and subdivision vocabularies, the canopy
threshold — is `CONFIG`; the code only reads, checks and reshapes.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pycountry
from pydantic import BaseModel, ConfigDict, model_validator

from ercan.errors import ConfigError, SourceError, did_you_mean
from ercan.harmonize import (
    finish,
    map_codes,
    parse_numbers,
    parse_years,
    read_csv,
    require_columns,
    require_unique,
    to_unit,
)
from ercan.schema import LAND_CATEGORIES, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="gfw_usa",
    title="Global Forest Watch: tree cover loss, gross emissions and tree cover extent 2000, United States by state",
    publisher="Global Forest Watch (World Resources Institute); data UMD/Hansen et al. and Harris et al.",
    license="CC BY 4.0 (GFW/UMD data, per the GFW data policy); the redistributing repository has no LICENSE file",
    citation=(
        "Global Forest Watch country dashboard, United States, downloaded 2022-03-23 (canopy threshold 30%); "
        "via areenaarora/us-tree-loss@4ab0e22402ca02b3225bd585cd6dcc75f0618b61"
    ),
    inputs={
        "state_loss": "gfw_usa/loc-loss_treecover_loss_by_region__ha.csv",
        "state_names": "gfw_usa/loc-loss_adm1_metadata.csv",
        "state_extent": "gfw_usa/loc-loss_treecover_extent_2000_by_region__ha.csv",
        "national_loss": "gfw_usa/treecover_loss__ha.csv",
        "national_extent": "gfw_usa/treecover_extent_2000__ha.csv",
    },
)


class ValueColumn(BaseModel):
    """One source column of values: what it measures and the unit the source gives it in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    variable: str
    unit: str  # the source's unit; converted to the variable's canonical unit
    year: int | None = None  # the reference year, when the table has no year column


class Table(BaseModel):
    """One data file: its role, the level of its rows and its columns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    area_level: Literal["subnational", "national"]
    year_column: str | None = None
    values: tuple[ValueColumn, ...]

    @model_validator(mode="after")
    def _years_known(self):
        for value in self.values:
            if (self.year_column is None) == (value.year is None):
                raise ValueError(f"{self.role}/{value.column}: give a year column or a fixed year, not both/neither")
        return self


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    country_column: str
    countries: dict[str, str]  # source iso value -> area_code; anything else is an error
    region_column: str  # the adm1 id in the state tables
    names_role: str
    names_id_column: str
    names_name_column: str
    subdivision_country: str  # pycountry alpha-2 of the country whose subdivisions the names are
    subdivision_types: tuple[str, ...]  # pycountry subdivision types a state name may match
    name_overrides: dict[str, str]  # state name -> ISO 3166-2, pinned regardless of pycountry's names
    canopy_threshold_percent: int  # tree cover = canopy density >= this, in every value
    extent_year: int  # the reference year of the extent tables (extent and land area)
    land_category: str
    flag: str
    tables: tuple[Table, ...]

    @model_validator(mode="after")
    def _vocabularies(self):
        for table in self.tables:
            for value in table.values:
                if value.variable not in VARIABLE_UNITS:
                    known = did_you_mean(value.variable, VARIABLE_UNITS)
                    raise ValueError(f"unknown variable {value.variable!r}{known}")
                if value.year is not None and value.year != self.extent_year:
                    raise ValueError(f"{table.role}/{value.column}: year {value.year} is not extent_year")
        if self.land_category not in LAND_CATEGORIES:
            raise ValueError(f"unknown land category {self.land_category!r}")
        return self


_EXTENT_YEAR = 2000
_LOSS = (
    ValueColumn(column="umd_tree_cover_loss__ha", variable="tree_cover_loss", unit="ha/yr"),
    ValueColumn(column="gfw_gross_emissions_co2e_all_gases__Mg", variable="gross_emissions", unit="Mg CO2e/yr"),
)
_EXTENT = (
    ValueColumn(column="umd_tree_cover_extent_2000__ha", variable="tree_cover_extent", unit="ha", year=_EXTENT_YEAR),
    ValueColumn(column="area__ha", variable="area", unit="ha", year=_EXTENT_YEAR),
)

CONFIG = Config(
    country_column="iso",
    countries={"USA": "USA"},
    region_column="adm1",
    names_role="state_names",
    names_id_column="adm1__id",
    names_name_column="name",
    subdivision_country="US",
    subdivision_types=("State", "District"),
    # pycountry knows DC too (type "District"); pinned so that an iso-codes rename cannot lose it
    name_overrides={"District of Columbia": "US-DC"},
    canopy_threshold_percent=30,
    extent_year=_EXTENT_YEAR,
    land_category="all",  # tree cover is a remote-sensing class, not IPCC forest_land (module docstring)
    flag="reported",
    tables=(
        Table(role="state_loss", area_level="subnational", year_column="umd_tree_cover_loss__year", values=_LOSS),
        Table(role="state_extent", area_level="subnational", values=_EXTENT),
        Table(role="national_loss", area_level="national", year_column="umd_tree_cover_loss__year", values=_LOSS),
        Table(role="national_extent", area_level="national", values=_EXTENT),
    ),
)

_ROLES = {CONFIG.names_role, *(t.role for t in CONFIG.tables)}
if _ROLES != set(SOURCE.inputs):
    raise ConfigError(
        f"harmonizers/gfw_usa.py: CONFIG roles {sorted(_ROLES)} differ from SOURCE.inputs {sorted(SOURCE.inputs)}"
    )


def harmonize(files) -> pa.Table:
    missing = sorted(_ROLES - set(files))
    if missing:
        raise SourceError(f"no file for role(s) {missing}", hint=f"Ingest the files for roles {sorted(_ROLES)}.")
    names = files[CONFIG.names_role]
    codes = _subdivision_codes(names)
    frames = [_read_table(files[table.role], table, codes, names.name) for table in CONFIG.tables]
    return finish(pd.concat(frames, ignore_index=True), SOURCE.id)


@cache
def _known_subdivisions() -> dict[str, str]:
    """Name -> ISO 3166-2 code of the subdivisions a state name may match."""
    known = {
        s.name: s.code
        for s in pycountry.subdivisions.get(country_code=CONFIG.subdivision_country)
        if s.type in CONFIG.subdivision_types
    }
    return {**known, **CONFIG.name_overrides}


def _subdivision_codes(raw) -> dict[str, str]:
    """{adm1 id: ISO 3166-2 code} from the names table; every row must name a known subdivision once."""
    df = read_csv(raw)
    id_column, name_column = CONFIG.names_id_column, CONFIG.names_name_column
    require_columns(df, [id_column, name_column], file=raw.name)
    ids = df[id_column].str.strip()
    names = df[name_column].str.strip()
    _no_empty(ids, file=raw.name, column=id_column)
    _no_empty(names, file=raw.name, column=name_column)
    require_unique(ids, what="adm1 id", file=raw.name, column=id_column)
    codes = map_codes(names, _known_subdivisions(), what="state name", file=raw.name, column=name_column)
    require_unique(codes, what="subdivision (ISO 3166-2)", file=raw.name, column=name_column)
    return dict(zip(ids, codes, strict=True))


def _read_table(raw, table: Table, codes: dict[str, str], names_file: str) -> pd.DataFrame:
    df = read_csv(raw)
    subnational = table.area_level == "subnational"
    required = [CONFIG.country_column]
    required += [CONFIG.region_column] if subnational else []
    required += [table.year_column] if table.year_column else []
    required += [v.column for v in table.values]
    require_columns(df, required, file=raw.name)
    if df.empty:
        raise SourceError("has a header but no data rows", file=raw.name, hint="Download the table again.")

    country = map_codes(
        df[CONFIG.country_column].str.strip(),
        CONFIG.countries,
        what="country code",
        file=raw.name,
        column=CONFIG.country_column,
    )
    if subnational:
        area_code = _map_ids(df[CONFIG.region_column].str.strip(), codes, file=raw.name, names_file=names_file)
        rows = pd.DataFrame({"area_code": area_code, "area_level": "subnational", "parent_code": country})
    else:
        rows = pd.DataFrame({"area_code": country, "area_level": "national", "parent_code": None})
    if table.year_column:
        rows["year"] = parse_years(df[table.year_column], file=raw.name, column=table.year_column)
    require_unique(
        rows["area_code"] + "|" + rows.get("year", pd.Series("", index=rows.index)).astype(str),
        what="area" + (" and year" if table.year_column else ""),
        file=raw.name,
        column=CONFIG.region_column if subnational else CONFIG.country_column,
    )

    frames = []
    for value in table.values:
        unit = VARIABLE_UNITS[value.variable]
        numbers = parse_numbers(df[value.column], file=raw.name, column=value.column)
        frames.append(
            rows.assign(
                year=rows["year"] if table.year_column else value.year,
                variable=value.variable,
                value=to_unit(numbers, value.unit, unit, file=raw.name),
                unit=unit,
            )
        )
    return pd.concat(frames, ignore_index=True).assign(
        land_category=CONFIG.land_category, pool=None, flag=CONFIG.flag, snapshot=raw.sha256
    )


def _map_ids(ids: pd.Series, codes: dict[str, str], *, file: str, names_file: str) -> pd.Series:
    mapped = ids.map(codes)
    if mapped.isna().any():
        position = int(np.flatnonzero(mapped.isna().to_numpy())[0])
        value = ids.iloc[position]
        known = sorted(codes, key=lambda i: (len(i), i))
        listed = f"{known[0]!r} … {known[-1]!r}" if known else "none"
        raise SourceError(
            f"adm1 id {value!r} has no name in {names_file!r}, which names {len(known)} ids ({listed})"
            f"{did_you_mean(value, known) if not value.isdigit() else ''}",
            file=file,
            row=2 + position,
            column=CONFIG.region_column,
            hint=f"Add the id and its state name to {names_file!r} (download it with the same dashboard export).",
        )
    return mapped


def _no_empty(cells: pd.Series, *, file: str, column: str) -> None:
    empty = (cells.fillna("") == "").to_numpy()
    if empty.any():
        raise SourceError(
            "empty cell", file=file, row=2 + int(np.flatnonzero(empty)[0]), column=column, hint="Fill it in."
        )


