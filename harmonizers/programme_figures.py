"""Figures cited from the programme's own documents (Yu et al. 2022, CIKD 2024, Zhang et al. 2024,
FAO-CBD 2025): single facts, one line each, of which those that are observations in the common
vocabulary are kept.

Layout: one CSV, `literature_figures.csv`, one line per figure: `document, section, area, period,
quantity_as_printed, value_as_printed, value_low, value_high, plus_minus, unit_as_printed, note`.
A range is `value_low` < `value_high`, a single value has both equal, "±" is `plus_minus`; the
unit is as printed (Gt/a, billion t, 亿吨, 万公顷, 万亩, %). `note` marks targets, projections and
masses whose carbon-or-CO2 basis is not stated. `measures_table1_yu2022.csv` (shipped beside it)
is not ingested: its cells are qualitative ratings (asterisks) of management measures and a
yes/no, with no quantity, unit, area or year — nothing that is an observation, and nothing the
common schema could hold without inventing a scale.

Every line is declared below in `FIGURES` (by area, quantity and period), either with how it maps
or with the reason it is skipped; a line not declared, or a declared figure no line matches, is an
error naming the file, row and column (the closest known quantity is suggested).

Decisions:
- Areas: China → `CHN` (national), World → `WORLD` (global); the Saihanba forest farm → site
  `Saihanba` in Hebei (`CN-HE`): no code system names forest farms, so the site id is its name.
- Years: where a period is printed, `year` is its end; a rate (per year) also keeps the period
  as `year_start`/`year_end`; a stock over an inventory period (forest area 1973-1976) is read at
  the period's end, as china_nfi9 reads inventories. Where no period is printed, `year` is the year
  the document states the figure (Yu 2022, CIKD 2024): a document states the state it knows of;
  the reference year lies at or before it (the same stated-year rule as the restoration source).
- Values: a single value as printed (flag `reported`); a range → its midpoint, `uncertainty` =
  half-range / midpoint, flag `estimated` (a printed range is read as the 95 % interval: the
  documents state no level); "±" → `uncertainty` = plus_minus / value (level not stated either).
  Qualifiers ("about", "approximately") are not encoded. Every number kept must be printed in
  `value_as_printed` (a check on the transcription).
- Units through ercan.units (pint), with the basis the document states: Gt/a of CO2 → t CO2e/yr,
  million ha, 亿公顷 (1e8 ha), 万亩 (1e4 亩 = 666.67 ha), 亿立方米, 万吨 of CO2 per year. A sink
  ("sequestered", "carbon sink", "fixes CO2") is a removal: `net_emissions`, negative.
- Carbon stocks that Yu 2022 prints as CO2 mass ("billion tons of CO2") → `carbon_stock` in t C,
  × 12/44 (ercan.accounting.methods.C_TO_CO2), flag `derived`.
- Masses whose basis is not stated (CIKD: 林草总碳储量 114.43 亿吨, 年碳汇量 12.80 亿吨) are skipped:
  carbon or CO2 differ by 3.67 times, and choosing would invent the figure.
- The 60.5 亿公顷 of forest land, grassland and wetland (CIKD 摘要; 6.05 billion ha in the English
  version) is kept as printed — 6.05e9 ha, more than China's land area of about 9.6e8 ha — and
  flagged, not fixed: the *warning* expectation "China's areas ≤ its land area" of
  expectations/programme_figures.json fails on it, so it is listed in the `quality` product while
  the source is accepted. Its `category` says what it is (`CIKD2024:forest_grassland_wetland`,
  land category `all`), so it is never taken for a forest area.

Kept (line of the file, header = line 1): 2 China's terrestrial CO2 sequestration 2010-2020 (1.0-1.3
Gt/a → net_emissions, all land); 7, 8 forest area 1973-1976 and 2014-2018 (117.12 and 179.89
million ha; the latter differs from the 9th inventory's forest area in china_nfi9, 220.45 Mha, and
is kept as printed); 10, 11, 12 organic carbon storage of vegetation + litter + soils to 1 m
(pool `total`), of vegetation (`biomass`) and of soils to 1 m (`soil`), printed as CO2; 17 the
existing terrestrial organic carbon sink (1.0-1.5 Gt/a); 27 the 60.5 亿公顷 (above); 34, 35 national
forest area (2.31 亿公顷) and growing stock (194.93 亿立方米); 37, 38, 39 Saihanba: total area (112 万亩
= 74,667 ha, as the English version prints), forest cover (80 %), CO2 fixed per year (81.41 万吨).

Skipped (the reason is in `FIGURES`; `skipped(files)` lists them): targets 3, 25, 26, 44 and
projections or expectations 6, 36, 40, 41; effects of single measures or of one vegetation type
inside a land category, not a land category's net flux: 4, 5, 19; fluxes or stocks outside the
land categories (ocean, inorganic carbon, deep soil, peat as a subset): 13, 14, 15, 16, 18, 20, 21,
22, 23, 24; cumulative amounts over unstated years: 9, 31, 33; no area code (the Three-North
programme region) and no years: 32; not in the vocabulary: 28 forest-and-grass cover (林草覆盖率 is not
forest cover), 42 carbon credits, 43 a share of degraded ecosystems; basis not stated: 29, 30.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ercan.accounting.methods import C_TO_CO2
from ercan.errors import SourceError, did_you_mean
from ercan.harmonize import finish, input_file, map_codes, parse_numbers, read_csv, require_columns, require_unique, to_unit
from ercan.schema import AREA_LEVELS, LAND_CATEGORIES, OBSERVATION_KEY, POOLS, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="programme_figures",
    title="Figures cited from the programme's documents (Yu et al. 2022, CIKD 2024): China's sinks, stocks and forest area",
    publisher="Yu et al. 2022 (Bulletin of the CAS); CIKD 2024; Zhang et al. 2024 (EGU); FAO-CBD 2025 (one document per line)",
    license="cited figures; no dataset licence",
    citation=(
        "Yu G.R. et al. (2022) Technological Approaches to Enhance Ecosystem Carbon Sink in China: Nature-based "
        "Solutions, Bulletin of the CAS 37(4); CIKD (2024) 生态系统碳汇发展的国际进展与中国展望; each line names its document"
    ),
    inputs={"figures": "programme_figures/literature_figures.csv"},
    origin="literature",  # carbon_fluxes labels its sinks method `literature`, not an inventory's `reported`
)


class Layout(BaseModel):
    """The columns of the figures file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = "figures"
    document: str = "document"
    area: str = "area"
    period: str = "period"
    quantity: str = "quantity_as_printed"
    printed: str = "value_as_printed"
    low: str = "value_low"
    high: str = "value_high"
    plus_minus: str = "plus_minus"
    unit: str = "unit_as_printed"
    period_pattern: str = r"^(\d{4})(?:-(\d{4}))?$"


class Area(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    area_code: str
    area_level: str
    parent_code: str | None = None

    @model_validator(mode="after")
    def _level(self):
        if self.area_level not in AREA_LEVELS:
            raise ValueError(f"{self.area_code!r}: unknown area level {self.area_level!r}")
        return self


class Figure(BaseModel):
    """One line of the file, by area, quantity and period: how it maps, or why it is skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    area: str
    quantity: str
    period: str = ""
    unit_as_printed: str
    variable: str | None = None
    land_category: str | None = None
    pool: str | None = None
    category: str | None = None
    unit: str | None = None  # the unit of value_low/value_high as ercan.units reads it, with the stated basis
    removal: bool = False  # a sink: net_emissions of a removal are negative
    co2_as_carbon: bool = False  # a carbon stock printed as CO2 mass: × 12/44 to t C
    skip: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _decided(self):
        if (self.variable is None) == (self.skip is None):
            raise ValueError(f"{self.quantity!r}: give a variable (kept) or a skip reason, not both or neither")
        if self.skip is not None:
            return self
        if self.variable not in VARIABLE_UNITS:
            suggestion = did_you_mean(self.variable, VARIABLE_UNITS)
            raise ValueError(f"{self.quantity!r}: unknown variable {self.variable!r}{suggestion}")
        if self.land_category not in LAND_CATEGORIES or (self.pool is not None and self.pool not in POOLS):
            raise ValueError(f"{self.quantity!r}: land category or pool outside the schema's vocabulary")
        if self.unit is None or self.area not in AREAS:
            raise ValueError(f"{self.quantity!r}: a kept figure needs a unit and a known area")
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.area, self.quantity, self.period)


LAYOUT = Layout()
AREAS = {
    "China": Area(area_code="CHN", area_level="national"),
    "World": Area(area_code="WORLD", area_level="global"),
    "China (Saihanba forest farm)": Area(area_code="Saihanba", area_level="site", parent_code="CN-HE"),
}
# The year each document states its figures in (for figures printed without a period).
DOCUMENT_YEARS = {
    "Yu et al. 2022 (Bulletin of the CAS 37(4))": 2022,
    "CIKD 2024 (生态系统碳汇发展的国际进展与中国展望)": 2024,
    "Zhang et al. 2024 (EGU24-2440)": 2024,
    "FAO and CBD 2025 (Target 2 partnership announcement)": 2025,
}

_TARGET = "a target, not an observation"
_PROJECTION = "a projection or expected effect, not an observation"
_MEASURE = "the effect of management measures, not the net flux of a land category (no variable)"
_OUTSIDE = "outside the land categories and carbon pools of the vocabulary"
_CUMULATIVE = "an amount accumulated over years that are not stated (no variable for it, no period)"
_BASIS = "the document does not say whether the mass is carbon or CO2 (a factor 3.67 apart): not guessed"
_CO2_SINK = dict(variable="net_emissions", land_category="all", unit="Gt CO2/yr", removal=True)
_CO2_STOCK = dict(variable="carbon_stock", land_category="all", unit="Gt CO2", co2_as_carbon=True)

FIGURES = (
    Figure(area="China", quantity="CO2 sequestered by terrestrial ecosystems", period="2010-2020",
           unit_as_printed="Gt/a CO2", **_CO2_SINK),
    Figure(area="China", quantity="target natural and human-made carbon sink capacity", period="2050-2060",
           unit_as_printed="Gt/a CO2", skip=_TARGET),
    Figure(area="China", quantity="CO2 captured by conservation tillage and organic fertilizer",
           unit_as_printed="Gt/a CO2", skip=_MEASURE),
    Figure(area="China", quantity="CO2 captured by grassland fencing and grass planting",
           unit_as_printed="Gt/a CO2", skip=_MEASURE),
    Figure(area="China", quantity="CO2 captured by new afforestation and greenbelt", unit_as_printed="Gt/a CO2",
           skip=_PROJECTION + " (note: expected)"),
    Figure(area="China", quantity="forest area", period="1973-1976", unit_as_printed="million ha",
           variable="area", land_category="forest_land", unit="Mha"),
    Figure(area="China", quantity="forest area", period="2014-2018", unit_as_printed="million ha",
           variable="area", land_category="forest_land", unit="Mha"),
    Figure(area="China", quantity="increase of CO2 in forest biomass", unit_as_printed="billion t CO2",
           skip=_CUMULATIVE + " ('over the past four decades')"),
    Figure(area="China", quantity="organic carbon storage of vegetation litter and soils 0-1 m",
           unit_as_printed="billion t CO2", pool="total", **_CO2_STOCK),
    Figure(area="China", quantity="organic carbon storage of vegetation", unit_as_printed="billion t CO2",
           pool="biomass", **_CO2_STOCK),
    Figure(area="China", quantity="organic carbon storage of soils", unit_as_printed="billion t CO2",
           pool="soil", **_CO2_STOCK),
    Figure(area="China", quantity="organic carbon of unconfirmed deep soils", unit_as_printed="billion t CO2",
           skip=_OUTSIDE + ": soil below 1 m, 'unconfirmed'"),
    Figure(area="China", quantity="organic carbon of peatlands", unit_as_printed="billion t CO2",
           skip=_OUTSIDE + ": peat is part of the soil pool of several land categories, not a pool of its own"),
    Figure(area="China", quantity="soil inorganic carbon at 1 m depth", unit_as_printed="billion t CO2",
           skip=_OUTSIDE + ": inorganic carbon"),
    Figure(area="China", quantity="soil inorganic carbon at 0-2 m depth", unit_as_printed="billion t CO2",
           skip=_OUTSIDE + ": inorganic carbon"),
    Figure(area="China", quantity="existing terrestrial organic carbon sink", unit_as_printed="Gt/a CO2",
           **_CO2_SINK),
    Figure(area="China", quantity="unconfirmed terrestrial and marine organic carbon sink", unit_as_printed="Gt/a CO2",
           skip=_OUTSIDE + ": includes the sea, 'unconfirmed'"),
    Figure(area="China", quantity="carbon sink of urban green space", unit_as_printed="Gt/a CO2",
           skip="the sink of one vegetation type inside settlements, not the land category's net flux"),
    Figure(area="China", quantity="blue carbon sink of coastal ecosystems", unit_as_printed="Gt/a CO2",
           skip=_OUTSIDE + ": coastal ecosystems include seagrass beds and tidal flats at sea"),
    Figure(area="China", quantity="carbon sink of the offshore sea", unit_as_printed="Gt/a CO2",
           skip=_OUTSIDE + ": the sea"),
    Figure(area="China", quantity="organic carbon sink capacity of land and ocean", period="2010-2020",
           unit_as_printed="Gt/a CO2", skip=_OUTSIDE + ": land and ocean together"),
    Figure(area="China", quantity="inorganic carbon sink", unit_as_printed="Gt/a CO2",
           skip=_OUTSIDE + ": inorganic carbon ('preliminary')"),
    Figure(area="China", quantity="inorganic carbon sink from carbonate weathering", unit_as_printed="Gt/a CO2",
           skip=_OUTSIDE + ": inorganic carbon"),
    Figure(area="China", quantity="forest coverage rate objective", period="2025", unit_as_printed="%", skip=_TARGET),
    Figure(area="China", quantity="forest coverage rate objective", period="2030", unit_as_printed="%", skip=_TARGET),
    Figure(area="China", quantity="林地、草地、湿地总面积", unit_as_printed="亿公顷", variable="area", land_category="all",
           category="CIKD2024:forest_grassland_wetland", unit="1e8 ha"),
    Figure(area="China", quantity="林草覆盖率", unit_as_printed="%",
           skip="forest-and-grass cover is not forest cover (no variable)"),
    Figure(area="China", quantity="林草总碳储量", unit_as_printed="亿吨", skip=_BASIS),
    Figure(area="China", quantity="年碳汇量", unit_as_printed="亿吨", skip=_BASIS),
    Figure(area="China", quantity="三北防护林工程区森林面积净增加", unit_as_printed="万公顷",
           skip=_CUMULATIVE + " ('40年间'); the Three-North programme region has no area code"),
    Figure(area="China", quantity="三北防护林工程区森林覆盖率", unit_as_printed="%",
           skip="the Three-North programme region has no area code, and the start and end years are not stated"),
    Figure(area="China", quantity="三北防护林工程固碳累计", unit_as_printed="亿吨二氧化碳当量", skip=_CUMULATIVE),
    Figure(area="China", quantity="全国森林面积", unit_as_printed="亿公顷", variable="area", land_category="forest_land",
           unit="1e8 ha"),
    Figure(area="China", quantity="全国森林蓄积", unit_as_printed="亿立方米", variable="growing_stock",
           land_category="forest_land", unit="亿立方米"),
    Figure(area="China", quantity="年新增碳汇能力", period="2050", unit_as_printed="亿吨二氧化碳当量", skip=_PROJECTION),
    Figure(area="China (Saihanba forest farm)", quantity="总面积", unit_as_printed="万亩", variable="area",
           land_category="all", unit="1e4 亩"),
    Figure(area="China (Saihanba forest farm)", quantity="森林覆盖率", unit_as_printed="%", variable="forest_cover",
           land_category="all", unit="%"),
    # 每年固定二氧化碳: "fixes CO2 every year", so the printed 万吨 are of CO2, per year
    Figure(area="China (Saihanba forest farm)", quantity="每年固定二氧化碳", unit_as_printed="万吨",
           variable="net_emissions", land_category="all", unit="1e4 t CO2/yr", removal=True),
    Figure(area="World", quantity="NbS emission reductions and removals", period="2030",
           unit_as_printed="亿吨二氧化碳当量/年", skip=_PROJECTION + " (a potential)"),
    Figure(area="World", quantity="NbS emission reductions and removals", period="2050",
           unit_as_printed="亿吨二氧化碳当量/年", skip=_PROJECTION + " (a potential)"),
    Figure(area="World", quantity="carbon credits issued by the three main mechanism types", period="2021",
           unit_as_printed="亿吨二氧化碳当量", skip="carbon credits issued are not a flux of any land (no variable)"),
    Figure(area="World", quantity="share of global terrestrial ecosystems degraded", unit_as_printed="%",
           skip="a share of an area that is not stated; the vocabulary has degraded_area in ha only"),
    Figure(area="World", quantity="Target 2: share of degraded ecosystems under effective restoration", period="2030",
           unit_as_printed="%", skip=_TARGET),
)
_BY_KEY = {f.key: f for f in FIGURES}
if len(_BY_KEY) != len(FIGURES):
    raise ValueError("harmonizers/programme_figures.py: two FIGURES share an area, quantity and period")

_NUMBER_IN_TEXT = re.compile(r"\d+(?:\.\d+)?")


def harmonize(files) -> pa.Table:
    raw = input_file(files, LAYOUT.role)
    lines = classify(raw)
    kept = lines[lines.figure.map(lambda f: f.skip is None)]
    rows = pd.DataFrame([_observation(line, raw.name) for _, line in kept.iterrows()])
    key = [c for c in OBSERVATION_KEY if c in rows]
    keys = rows[key].map(str).agg(" | ".join, axis=1).set_axis(kept.line.to_numpy() - 2)
    require_unique(keys, what="observation", file=raw.name, column=LAYOUT.quantity)
    return finish(rows.assign(snapshot=raw.sha256), SOURCE.id)


def skipped(files) -> pd.DataFrame:
    """The lines of the file that are not observations (line: header = 1) and why."""
    lines = classify(input_file(files, LAYOUT.role))
    lines["reason"] = lines.figure.map(lambda f: f.skip)
    return lines.loc[lines.reason.notna(), ["line", LAYOUT.area, LAYOUT.quantity, LAYOUT.printed, "reason"]]


def classify(raw) -> pd.DataFrame:
    """Every line of the file with its declared Figure (unknown lines and missing figures are errors)."""
    df = read_csv(raw)
    columns = [LAYOUT.document, LAYOUT.area, LAYOUT.period, LAYOUT.quantity, LAYOUT.printed, LAYOUT.low,
               LAYOUT.high, LAYOUT.plus_minus, LAYOUT.unit]
    require_columns(df, columns, file=raw.name)
    df = df[columns].apply(lambda column: column.str.strip())
    df["line"] = range(2, len(df) + 2)
    figures = []
    for position, line in df.iterrows():
        key = (line[LAYOUT.area], line[LAYOUT.quantity], line[LAYOUT.period])
        if key not in _BY_KEY:
            known = [f.quantity for f in FIGURES if f.area == key[0]] or [f.quantity for f in FIGURES]
            raise SourceError(
                f"undeclared figure {key[1]!r} ({key[0]}, period {key[2] or 'none'}){did_you_mean(key[1], known)}",
                file=raw.name, row=int(line.line), column=LAYOUT.quantity,
                hint="Declare it in FIGURES of harmonizers/programme_figures.py: how it maps, or why it is skipped.",
            )
        figure = _BY_KEY[key]
        if line[LAYOUT.unit] != figure.unit_as_printed:
            raise SourceError(
                f"unit {line[LAYOUT.unit]!r} where {figure.unit_as_printed!r} was declared for {figure.quantity!r}",
                file=raw.name, row=int(line.line), column=LAYOUT.unit,
                hint="Check the transcription, then the figure's declaration in harmonizers/programme_figures.py.",
            )
        figures.append(figure)
    df["figure"] = figures
    missing = set(_BY_KEY) - {f.key for f in figures}
    if missing:
        area, quantity, period = sorted(missing)[0]
        raise SourceError(
            f"declared figure {quantity!r} ({area}, period {period or 'none'}) is not in the file",
            file=raw.name, column=LAYOUT.quantity,
            hint="The file changed: review FIGURES in harmonizers/programme_figures.py against it.",
        )
    df["document_year"] = map_codes(df[LAYOUT.document], {d: str(y) for d, y in DOCUMENT_YEARS.items()},
                                    what="document", file=raw.name, column=LAYOUT.document).astype(int)
    return df


def _observation(line: pd.Series, file: str) -> dict:
    """One kept figure in the common schema: value (midpoint of a range), uncertainty, years, flag."""
    figure, row = line.figure, int(line.line)
    low, high, plus_minus = (
        parse_numbers(pd.Series([line[c]]), file=file, column=c, first_row=row).iloc[0]
        for c in (LAYOUT.low, LAYOUT.high, LAYOUT.plus_minus)
    )
    printed = {float(n) for n in _NUMBER_IN_TEXT.findall(line[LAYOUT.printed])}
    for column, number in ((LAYOUT.low, low), (LAYOUT.high, high), (LAYOUT.plus_minus, plus_minus)):
        if not np.isnan(number) and number not in printed:
            raise SourceError(
                f"{number:g} is not among the numbers printed in {LAYOUT.printed!r} ({line[LAYOUT.printed]!r})",
                file=file, row=row, column=column, hint="Check the transcription of the document's figure.",
            )
    if np.isnan(low) or np.isnan(high) or high < low or (high > low and not np.isnan(plus_minus)):
        raise SourceError(
            f"value_low {low:g} and value_high {high:g} (plus_minus {plus_minus:g}) are not a value or a range",
            file=file, row=row, column=LAYOUT.high,
            hint="A single value has value_low = value_high; a range has value_low < value_high and no plus_minus.",
        )
    middle = (low + high) / 2
    if high > low:
        uncertainty = (high - low) / 2 / middle
    else:
        uncertainty = None if np.isnan(plus_minus) else plus_minus / middle
    canonical = VARIABLE_UNITS[figure.variable]
    try:
        if figure.co2_as_carbon:
            value = to_unit(pd.Series([middle]), figure.unit, "t CO2e", file=file).iloc[0] / C_TO_CO2
        else:
            value = to_unit(pd.Series([middle]), figure.unit, canonical, file=file).iloc[0]
    except SourceError as e:
        raise e.located(row=row, column=LAYOUT.unit) from None
    year_start, year_end = _period(line[LAYOUT.period], file=file, row=row)
    is_rate = "/yr" in canonical and year_start is not None
    area = AREAS[line[LAYOUT.area]]
    return dict(
        area_code=area.area_code, area_level=area.area_level, parent_code=area.parent_code,
        year=year_end if year_end is not None else int(line.document_year),
        year_start=year_start if is_rate else None, year_end=year_end if is_rate else None,
        variable=figure.variable, land_category=figure.land_category, pool=figure.pool, category=figure.category,
        value=-value if figure.removal else value, unit=canonical, uncertainty=uncertainty,
        flag="derived" if figure.co2_as_carbon else ("estimated" if high > low else "reported"),
    )


def _period(text: str, *, file: str, row: int) -> tuple[int | None, int | None]:
    if not text:
        return None, None
    match = re.fullmatch(LAYOUT.period_pattern, text)
    if match is None:
        raise SourceError(f"{text!r} is not a year or a period 'YYYY-YYYY'", file=file, row=row, column=LAYOUT.period,
                          hint="Write the period as printed years, e.g. 2010-2020.")
    start, end = int(match[1]), int(match[2] or match[1])
    return start, end
