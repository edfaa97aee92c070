"""China's National Forest Inventory (NFI): forest area and forest cover by province from the 9th
NFI (第九次全国森林资源清查, 2014-2018), and national forest resources of NFI rounds 7-9.

Two files, both tables transcribed by the project from public code (their SOURCE.txt says how):

`provinces` — `china_9th_nfi_provincial_long.csv`, long format, one row per province and series,
transcribed from three ECharts map charts of wxzher/wxzher.github.io (js/chart9*.js), each subtitled
"数据来源:第九次全国森林资源清查". Columns: `省份` (short province name: 北京, 内蒙古, 广西 …),
`指标` (the transcriber's label), `value`, `unit_as_printed` (the unit of the chart's tooltip),
`series_name` (the chart's series: 森林面积 / 森林覆盖率 / 碳储量), `chart_title`,
`stated_data_source`, `source` (chart file@commit), `note`. 34 names × 3 series = 102 rows; no year
column and no national (全国) row.

`national` — `china_national_forest_sqldump.csv`, wide format, one row per year 2004-2020, all for
地区 = 全国, from an unattributed HeidiSQL dump (database `trees`, table `forest`; low provenance).
Headers are the SQL column comments with the unit in brackets: 林业用地面积(万公顷),
森林面积(万公顷), 人工林面积(万公顷), 森林覆盖率(%), 活立木总蓄积量(亿立方米), 森林蓄积量(亿立方米),
then the transcriber's `source`, `note`. Values are identical within 2004-2008, 2009-2013 and
2014-2020.

Both roles are read: the provinces are the members and the 全国 rows the reported national total
the reconciliation product compares them with (same source, same year 2018).

Areas. Names go through the reviewed crosswalk `crosswalks/china_provinces.csv` (name_zh →
ISO 3166-2:CN; the 34 short names of the charts plus the full official names 北京市, 内蒙古自治区 …,
which do not occur in the current files). Codes are the letter codes ISO adopted for CN in 2017
(CN-BJ, not CN-11), as pycountry 26.2.16 lists them; the crosswalk is checked against pycountry
when this module loads. Province rows: area_level `subnational`, parent `CHN`. 全国 → `CHN`,
`national`, no parent (`CONFIG.national_names`). An unknown name is a SourceError naming file,
row, column and the closest known name. 台湾, 香港, 澳门 are subdivisions of CN in ISO 3166-2
(CN-TW, CN-HK, CN-MO) and are kept as such, as the charts report them; note that Chinese national
statistics normally exclude them (their 碳储量 is NaN here), so the national NFI totals should be
compared with the 31 mainland provinces (figures below).

Years. The provincial charts give no year: the row's `stated_data_source` names the NFI round
(`CONFIG.provinces.stated_sources`) and a round's results take its last year, 2018 for the 9th
(`CONFIG.rounds`: 7th 2004-2008, 8th 2009-2013, 9th 2014-2018, the official inventory periods).
The NFI is a rolling survey (each province is measured in one year of the five), so the year is
the round's, not a measurement date. In the dump, each year-row repeats the result of the round
the year falls in (the 2004-2008 and 2009-2013 blocks coincide with rounds 7 and 8; 22044.62 万公顷
and 175.6 亿立方米 of the 2014-2020 block are the 9th round's); 2019 and 2020 carry the 9th round's
result beyond its period. Reading every year as a measurement would invent flat series with
five-year jumps (a stock-difference flux of zero, then five years' change in one), so the dump is
read as one result per round at the round's last year (2008, 2013, 2018), and it is checked that
this is what it is: values that differ within a round, or years after the last declared round
whose values differ from it, are a SourceError (a new round: add it to `CONFIG.rounds`).

Variables (each series is declared in `CONFIG`, with the reason where one is not read):
- 森林面积 (forest area; provinces 百公顷, dump 万公顷) → `area`, `forest_land`, ha: the area of forest
  by China's national definition (乔木林, 竹林 and the shrub forest the state designates), read as
  the IPCC category forest_land. Acceptance: 北京 7182 百公顷 = 718,200 ha.
- 森林覆盖率 (%) → `forest_cover`, %, land_category `all`: the share of the total land area that is
  forest, a quantity measured over all land (as gfw_usa's tree cover extent is).
- 森林蓄积量 (亿立方米, dump) → `growing_stock`, `forest_land`, m3: stem volume of the forest.
- 活立木总蓄积量 (亿立方米, dump) → `growing_stock`, `all`, m3: the volume of all standing trees,
  the forest's plus that of sparse forest, scattered and "four-side" trees outside forest land,
  i.e. over all land (190.07 vs 175.6 亿立方米 for the 9th round).
- 林业用地面积 (dump) — not read: "forestry land" is land designated for forestry (forest plus sparse
  forest, other shrubland, unstocked plantation, nurseries, cut-over and afforestable land),
  32368.55 vs 22044.62 万公顷 of forest in the 9th round; it is neither `area` of `forest_land`
  (that is 森林面积, same key) nor of `all`, and the vocabulary has no variable for it.
- 人工林面积 (dump) — not read: planted forest is a part of 森林面积 (8003.1 of 22044.62 万公顷);
  `area`/`forest_land` is the whole forest and no variable or land category holds the planted part.
- 碳储量 (provinces, unit 万立方米) — not read. A volume unit on a "carbon storage" chart; the
  transcriber suspects forest stock volume (森林蓄积量). The numbers say it is not: the 31 provinces
  sum to 914,200.35 万, 52.1 % of the dump's national 森林蓄积量 for the same round (175.6 亿 =
  1,756,000 万立方米) and 48.1 % of 活立木总蓄积量 (1,900,700 万); per hectare of the provinces' own
  forest area it is 38.1 (914,200.35 万 / 23,992.13 万公顷) against the national 79.7 m3/ha
  (175.6 亿 / 22044.62 万), and it ranges from 12.4 (宁夏) to 61.0 (吉林) per ha. It equals no stock
  volume series, so it is not `growing_stock`. The magnitudes fit a carbon stock in 万吨 C (38 t C/ha;
  ~91.4 亿 t in all), but the chart prints a volume unit and no pool: reading 万立方米 as 万吨 C
  would be a guess, so it is not `carbon_stock` either.

Units are converted from the file's own unit text (`unit_as_printed`; the bracket of each dump
header) with ercan.units (百公顷, 万公顷, 亿立方米 are registered); unknown unit text is a SourceError
naming file, row and column. Cells "NaN" (ECharts' no-data, `CONFIG.provinces.missing`) are missing
values and give no row; only the skipped 碳储量 series has them now.

Kept as reported, not corrected: 广西's 森林覆盖率 is 142965 (%), a copy of its forest area
(142965 百公顷), not a share. It is harmonized as given (flag `reported`); the suite
expectations/china_nfi9.json flags it with a `warning` (forest_cover between 0 and 100), so the
quality product shows it without quarantining the source. 贵州's 43.77 % equals 北京's, as printed.
The dump's 森林覆盖率 is rounded (23 for the 9th round).

Provinces vs nation (9th round, 2018; the reconciliation product compares them): forest area of the
31 mainland provinces 2,399,213 百公顷 = 239,921,300 ha, +8.83 % over the national 22044.62 万公顷
= 220,446,200 ha (+9.84 % with 台湾, 香港, 澳门: 242,147,000 ha). The provinces report no growing
stock, so there is nothing to compare the national 175.6 亿立方米 with (see 碳储量).

Every value is `reported`. What is declarative — roles, columns, series → variable/land category or
skip reason, NFI rounds, names → codes — is `CONFIG` and the crosswalk; the code reads, checks and
reshapes.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pycountry
from pydantic import BaseModel, ConfigDict, model_validator

from ercan.errors import ConfigError, SourceError, closest, did_you_mean
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
from ercan.schema import FLAGS, LAND_CATEGORIES, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="china_nfi9",
    title=(
        "China National Forest Inventory: forest area and forest cover by province (9th NFI, 2014-2018) "
        "and national forest area, cover and growing stock (NFI rounds 7-9)"
    ),
    publisher=(
        "National Forest Inventory of China (第九次全国森林资源清查), as charted on wxzher/wxzher.github.io; "
        "national totals from an unattributed MySQL dump (database `trees`)"
    ),
    license=(
        "none stated (wxzher/wxzher.github.io has no LICENSE file) for the provincial charts; "
        "unknown for the national SQL dump (repository not identified)"
    ),
    citation=(
        "第九次全国森林资源清查 (9th National Forest Inventory, 2014-2018), via wxzher/wxzher.github.io "
        "js/chart9.js@98a3e3e31f37fd4e87dc7714cf302e7cf9bb1504 and js/chart9-2.js, js/chart9-3.js"
        "@f8ce9967a63ffdd13ee13dcd616729ab704c81dd; national rows: HeidiSQL dump of database `trees`, table "
        "`forest` (search-index file id 9244075400, repository and path unknown)"
    ),
    inputs={
        "provinces": "china_nfi9/china_9th_nfi_provincial_long.csv",
        "national": "china_nfi9/china_national_forest_sqldump.csv",
    },
)

CROSSWALK = Path(__file__).with_name("crosswalks") / "china_provinces.csv"


class Round(BaseModel):
    """One NFI round: its results describe the state at `last_year`, the reference year used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    name: str
    first_year: int
    last_year: int


class Series(BaseModel):
    """What a source series is in the common schema, or why it is not read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variable: str | None = None
    land_category: str | None = None
    skip: str | None = None  # the reason the series is not read

    @model_validator(mode="after")
    def _mapped_or_skipped(self):
        if (self.skip is None) == (self.variable is None) or (self.variable is None) != (self.land_category is None):
            raise ValueError("give a variable and a land category, or a skip reason")
        if self.variable is not None and self.variable not in VARIABLE_UNITS:
            raise ValueError(f"unknown variable {self.variable!r}{did_you_mean(self.variable, VARIABLE_UNITS)}")
        if self.land_category is not None and self.land_category not in LAND_CATEGORIES:
            raise ValueError(f"unknown land category {self.land_category!r}")
        return self


class LongTable(BaseModel):
    """The provincial table: one row per area and series, the unit in a column of its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    area_column: str
    series_column: str
    value_column: str
    unit_column: str
    stated_source_column: str
    stated_sources: dict[str, int]  # stated data source text -> NFI round number
    series: dict[str, Series]
    missing: tuple[str, ...]  # cells that mean "no value"


class WideTable(BaseModel):
    """The national dump: one row per area and year, one column per series, units in the headers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    area_column: str
    year_column: str
    header: str  # regex splitting a value header into the series name and its unit
    columns: dict[str, Series]  # series name (the header without its unit) -> series


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str  # ISO3 of the country; parent of every province
    national_names: dict[str, str]  # area names that are the whole country -> ISO3
    rounds: tuple[Round, ...]
    flag: str
    provinces: LongTable
    national: WideTable

    @model_validator(mode="after")
    def _consistent(self):
        numbers = {r.number for r in self.rounds}
        for text, number in self.provinces.stated_sources.items():
            if number not in numbers:
                raise ValueError(f"stated source {text!r}: NFI round {number} is not in rounds")
        ordered = sorted(self.rounds, key=lambda r: r.first_year)
        for a, b in zip(ordered, ordered[1:]):
            if b.first_year != a.last_year + 1:
                raise ValueError(f"NFI rounds {a.number} and {b.number} are not consecutive")
        if self.flag not in FLAGS:
            raise ValueError(f"unknown flag {self.flag!r}")
        return self


_FOREST_AREA = Series(variable="area", land_category="forest_land")
_FOREST_COVER = Series(variable="forest_cover", land_category="all")

CONFIG = Config(
    country="CHN",
    national_names={"全国": "CHN"},
    rounds=(
        Round(number=7, name="第七次全国森林资源清查", first_year=2004, last_year=2008),
        Round(number=8, name="第八次全国森林资源清查", first_year=2009, last_year=2013),
        Round(number=9, name="第九次全国森林资源清查", first_year=2014, last_year=2018),
    ),
    flag="reported",
    provinces=LongTable(
        role="provinces",
        area_column="省份",
        series_column="series_name",
        value_column="value",
        unit_column="unit_as_printed",
        stated_source_column="stated_data_source",
        stated_sources={"数据来源:第九次全国森林资源清查": 9},
        series={
            "森林面积": _FOREST_AREA,
            "森林覆盖率": _FOREST_COVER,
            "碳储量": Series(
                skip="labelled carbon storage but in 万立方米 (a volume); its sum is 52 % of the national "
                "森林蓄积量, so not growing stock, and a volume unit is not carbon (module docstring)"
            ),
        },
        missing=("NaN",),
    ),
    national=WideTable(
        role="national",
        area_column="地区",
        year_column="年份",
        header=r"^(?P<name>[^()]+)\((?P<unit>[^()]+)\)$",
        columns={
            "森林面积": _FOREST_AREA,
            "森林覆盖率": _FOREST_COVER,
            "森林蓄积量": Series(variable="growing_stock", land_category="forest_land"),
            "活立木总蓄积量": Series(variable="growing_stock", land_category="all"),
            "林业用地面积": Series(
                skip="forestry land (forest plus sparse/shrub land, unstocked, nursery, cut-over and "
                "afforestable land): not forest_land area, and no variable for it"
            ),
            "人工林面积": Series(skip="planted forest, a part of 森林面积: no variable or land category for it"),
        },
    ),
)

if {CONFIG.provinces.role, CONFIG.national.role} != set(SOURCE.inputs):
    raise ConfigError(f"harmonizers/china_nfi9.py: CONFIG roles differ from SOURCE.inputs {sorted(SOURCE.inputs)}")


@cache
def provinces() -> dict[str, str]:
    """Province name (Chinese) -> ISO 3166-2:CN code, from the reviewed crosswalk, checked against pycountry."""
    table = pd.read_csv(CROSSWALK, dtype=str, keep_default_na=False)
    known = {s.code for s in pycountry.subdivisions.get(country_code="CN")}
    problems = [f"{n!r} -> {c!r} is not an ISO 3166-2:CN code" for n, c in zip(table.name_zh, table.iso_3166_2)
                if c not in known]
    problems += [f"{n!r} is listed twice" for n in table.name_zh[table.name_zh.duplicated()]]
    problems += [f"{n!r} is a national name" for n in table.name_zh if n in CONFIG.national_names]
    if problems:
        raise ConfigError(f"{CROSSWALK.name}: " + "; ".join(problems))
    return dict(zip(table.name_zh, table.iso_3166_2))


def harmonize(files) -> pa.Table:
    missing = sorted({CONFIG.provinces.role, CONFIG.national.role} - set(files))
    if missing:
        raise SourceError(f"no file for role(s) {missing}", hint=f"Ingest the files for roles {sorted(SOURCE.inputs)}.")
    frames = [_read_provinces(files[CONFIG.provinces.role]), _read_national(files[CONFIG.national.role])]
    rows = pd.concat(frames, ignore_index=True)
    _no_key_in_both(rows, [files[CONFIG.provinces.role].name, files[CONFIG.national.role].name])
    return finish(rows.drop(columns="file"), SOURCE.id)


# --- the provincial long table --------------------------------------------------------------------


def _read_provinces(raw) -> pd.DataFrame:
    table = CONFIG.provinces
    df = read_csv(raw)
    require_columns(
        df,
        [table.area_column, table.series_column, table.value_column, table.unit_column, table.stated_source_column],
        file=raw.name,
    )
    _not_empty(df, raw.name)
    areas = _areas(df[table.area_column], file=raw.name, column=table.area_column)
    series_names = df[table.series_column].str.strip()
    map_codes(series_names, {s: s for s in table.series}, what="series", file=raw.name, column=table.series_column)
    rounds = _rounds_by_number()
    stated = df[table.stated_source_column].str.strip()
    round_numbers = map_codes(
        stated, {t: str(n) for t, n in table.stated_sources.items()}, what="stated data source (NFI round)",
        file=raw.name, column=table.stated_source_column,
    )
    series = series_names.map(table.series)
    read = series.map(lambda s: s.skip is None).to_numpy()

    cells = df[table.value_column].str.strip()
    cells = cells.where(read & ~cells.isin(table.missing), "")  # skipped series and no-data cells: no value
    numbers_read = parse_numbers(cells, file=raw.name, column=table.value_column)
    rows = areas.assign(
        year=round_numbers.map(lambda n: rounds[int(n)].last_year).astype("int64"),
        variable=series.map(lambda s: s.variable),
        land_category=series.map(lambda s: s.land_category),
        value=np.nan,
        unit=None,
    )
    units = df[table.unit_column].str.strip()
    for (unit, variable), group in rows[read].groupby([units[read], rows.variable[read]], sort=False):
        canonical = VARIABLE_UNITS[variable]
        try:
            rows.loc[group.index, "value"] = to_unit(numbers_read[group.index], unit, canonical, file=raw.name)
        except SourceError as e:
            raise e.located(row=2 + int(group.index[0]), column=table.unit_column) from None
        rows.loc[group.index, "unit"] = canonical
    rows = rows[read]
    _no_duplicates(rows, what="area, series and year", file=raw.name, column=table.area_column)
    return rows.assign(pool=None, flag=CONFIG.flag, snapshot=raw.sha256, file=raw.name)


# --- the national dump ---------------------------------------------------------------------------


def _read_national(raw) -> pd.DataFrame:
    table = CONFIG.national
    df = read_csv(raw)
    require_columns(df, [table.area_column, table.year_column], file=raw.name)
    headers = {}
    for header in df.columns:
        match = re.match(table.header, str(header).strip())
        if match:
            headers[match["name"].strip()] = (str(header), match["unit"].strip())
    read = {name: s for name, s in table.columns.items() if s.skip is None}
    for name in read:
        if name not in headers:
            near = closest(name, headers)
            raise SourceError(
                f"expected column '{name}(<unit>)' is missing"
                + (f" (did you mean {headers[near][0]!r}?)" if near else f"; value columns: {sorted(headers)}"),
                file=raw.name,
                row=1,
                hint="The source layout changed: fix the file or update CONFIG.national in the harmonizer.",
            )
    _not_empty(df, raw.name)
    areas = _areas(df[table.area_column], file=raw.name, column=table.area_column)
    years = parse_years(df[table.year_column], file=raw.name, column=table.year_column)
    _no_duplicates(areas.assign(year=years), what="area and year", file=raw.name, column=table.year_column)

    values = {}
    for name, series in read.items():
        header, unit = headers[name]
        numbers = parse_numbers(df[header], file=raw.name, column=header)
        try:
            values[name] = to_unit(numbers, unit, VARIABLE_UNITS[series.variable], file=raw.name)
        except SourceError as e:
            raise e.located(row=1, column=header) from None
    values = pd.DataFrame(values)

    round_of = _rounds_of(years, file=raw.name, column=table.year_column)
    kept = []
    for (_area, number), group in values.groupby([areas.area_code, round_of], sort=False, dropna=False):
        if pd.isna(number):
            _carried_forward(group, areas.area_code, round_of, values, headers, raw.name)
            continue
        _one_result(group, years, _rounds_by_number()[int(number)], headers, raw.name)
        kept.append(group.index[0])
    first = pd.Index(kept)
    frames = []
    for name, series in read.items():
        frames.append(
            areas.loc[first].assign(
                year=[_rounds_by_number()[int(round_of[i])].last_year for i in first],
                variable=series.variable,
                land_category=series.land_category,
                value=values.loc[first, name],
                unit=VARIABLE_UNITS[series.variable],
            )
        )
    rows = pd.concat(frames, ignore_index=True)
    return rows.assign(pool=None, flag=CONFIG.flag, snapshot=raw.sha256, file=raw.name)


def _rounds_by_number() -> dict[int, Round]:
    return {r.number: r for r in CONFIG.rounds}


def _rounds_of(years: pd.Series, *, file: str, column: str) -> pd.Series:
    """The NFI round each year falls in; NaN for years after the last round (checked to be carried forward)."""
    last = max(r.last_year for r in CONFIG.rounds)
    found = pd.Series(np.nan, index=years.index)
    for r in CONFIG.rounds:
        found[(years >= r.first_year) & (years <= r.last_year)] = r.number
    outside = found.isna() & (years <= last)
    if outside.any():
        position = int(np.flatnonzero(outside.to_numpy())[0])
        spans = ", ".join(f"{r.first_year}-{r.last_year}" for r in CONFIG.rounds)
        raise SourceError(
            f"year {years.iloc[position]} is in no NFI round the harmonizer knows ({spans})",
            file=file,
            row=2 + position,
            column=column,
            hint="Add the round to CONFIG.rounds in harmonizers/china_nfi9.py after checking its period.",
        )
    return found


def _one_result(group: pd.DataFrame, years: pd.Series, nfi: Round, headers, file: str) -> None:
    """Every year of a round repeats the round's one result."""
    for name in group.columns:
        column = group[name]
        differs = ~((column == column.iloc[0]) | (column.isna() & pd.isna(column.iloc[0])))
        if differs.any():
            at = column.index[int(np.flatnonzero(differs.to_numpy())[0])]
            raise SourceError(
                f"{years[at]} differs from {years[column.index[0]]} (row {2 + column.index[0]}) in NFI round "
                f"{nfi.number} ({nfi.first_year}-{nfi.last_year}); the harmonizer reads the table as one inventory "
                "result per round, repeated over the round's years",
                file=file,
                row=2 + int(at),
                column=headers[name][0],
                hint="Yearly values are not an NFI round's result: check the file, or revise how "
                "harmonizers/china_nfi9.py reads it.",
            )


def _carried_forward(group, area_codes, round_of, values, headers, file: str) -> None:
    """Years after the last round must repeat the last round's result (carried forward; not read)."""
    last = max(CONFIG.rounds, key=lambda r: r.last_year)
    area = area_codes[group.index[0]]
    base = values[(area_codes == area) & (round_of == last.number)]
    for name in group.columns:
        reference = base[name].iloc[0] if len(base) else None
        differs = group[name].ne(reference) if reference is not None else pd.Series(True, index=group.index)
        differs &= ~(group[name].isna() & pd.isna(reference))
        if differs.any():
            at = int(group.index[int(np.flatnonzero(differs.to_numpy())[0])])
            raise SourceError(
                f"a year after the last NFI round the harmonizer knows ({last.number}, {last.first_year}-"
                f"{last.last_year}) has a value that is not that round's carried forward",
                file=file,
                row=2 + at,
                column=headers[name][0],
                hint="A new inventory round? Add it to CONFIG.rounds in harmonizers/china_nfi9.py.",
            )


# --- shared --------------------------------------------------------------------------------------


def _areas(names: pd.Series, *, file: str, column: str) -> pd.DataFrame:
    names = names.str.strip()
    known = {**provinces(), **CONFIG.national_names}
    codes = map_codes(names, known, what="province or region name", file=file, column=column)
    national = names.isin(list(CONFIG.national_names))
    return pd.DataFrame(
        {
            "area_code": codes,
            "area_level": np.where(national, "national", "subnational"),
            "parent_code": pd.Series(np.where(national, None, CONFIG.country), index=names.index, dtype=object),
        }
    )


def _not_empty(df: pd.DataFrame, file: str) -> None:
    if df.empty:
        raise SourceError("has a header but no data rows", file=file, hint="Transcribe the table again.")


def _no_duplicates(rows: pd.DataFrame, *, what: str, file: str, column: str) -> None:
    key_columns = [c for c in ("area_code", "variable", "land_category", "year") if c in rows]
    keys = rows[key_columns].astype(str).agg("|".join, axis=1)
    require_unique(keys, what=what, file=file, column=column,
                   hint="Remove the repeated row (two names of one province count as one area).")


def _no_key_in_both(rows: pd.DataFrame, files: list[str]) -> None:
    key = ["area_code", "year", "variable", "land_category"]
    both = rows[rows.duplicated(key, keep=False)]
    if not both.empty:
        first = both.iloc[0]
        raise SourceError(
            f"{first.area_code} {first.variable} ({first.land_category}) {first.year} is given by both "
            f"{files[0]!r} and {files[1]!r}",
            file=files[1],
            hint="Keep it in one of the files; the source reports one value per key.",
        )
