"""Global Carbon Budget 2019 (Friedlingstein et al. 2019, ESSD): the global land-use change
emissions (E_LUC) and the land sink (S_LAND), 1959-2018, from the budget's headline table.

Files: the openclimatedata/global-carbon-budget repository (commit 122c7639) splits the GCB 2019
Excel workbook into CSVs, one per sheet, all in GtC/yr for the globe (the unit is stated in the
repository's docs, not in the files), `Year` then one column per series:

- `global-carbon-budget.csv` (the workbook's "Global Carbon Budget" sheet, 1959-2018):
  `Fossil-Fuel-And-Industry, Land-Use-Change-Emissions, Atmospheric-Growth, Ocean-Sink, Land-Sink,
  Budget-Imbalance`. **This is the only file read** (role `budget`).
- `land-use-change.csv`: `Land-Use-Change` (the GCB estimate, the mean of the bookkeeping models
  H&N and BLUE), the two bookkeeping models, 16 DGVMs and their multi-model mean (MMM).
- `terrestrial-sink.csv`: `Terrestrial-Sink` (labelled GCB), 16 DGVMs and their MMM.
- `historical-budget.csv`: 1750-2018, fossil, land-use change (from 1850), atmospheric growth and
  ocean sink; no land sink.

Which series, from which file (checked on the shipped copies in tests/test_harmonizer_gcb2019.py;
the three other files are shipped in `sample_data/gcb2019/reference/` for that purpose only):

- **E_LUC** is the same series in three files: `Land-Use-Change-Emissions` here equals
  `Land-Use-Change` of land-use-change.csv (1959-2018) and `Land-Use-Change` of
  historical-budget.csv over 1959-2018 to the last digit. It is read once, from the budget table.
  The individual bookkeeping models and DGVM estimates are not kept: the headline E_LUC is the
  bookkeeping mean. historical-budget.csv would add 1850-1958, but without a land sink and with
  methods the GCB says differ before 1959; it is not ingested (a longer E_LUC would be a second
  role reading only 1850-1958 from it).
- **S_LAND**: `Land-Sink` of the budget table equals the DGVM multi-model mean (`MMM`) of
  terrestrial-sink.csv to the last digit, but NOT that file's `Terrestrial-Sink` column, which
  differs by up to 0.086 GtC/yr (mean 0.030) and is not explained by the source notes. The budget
  table's `Land-Sink` is taken as the headline series because it is the S_LAND the budget closes
  with: fossil + E_LUC - atmospheric growth - ocean sink - land sink = budget imbalance to 0.002
  GtC/yr in every year (tested).

Variables: `Land-Use-Change-Emissions` → `land_use_emissions`, `Land-Sink` → `land_sink`, both
GtC/yr → t C/yr (x 1e9), area `WORLD` (area_level `global`, no parent), land_category `all`,
`year` from the `Year` column, no pool, no category, flag `reported`.

**Signs are kept as in the file**: E_LUC positive = net emission from land-use change to the
atmosphere; **S_LAND positive = uptake** (a flux from the atmosphere to the land, as the GCB
reports a sink). Inventories (and ercan's `net_emissions`) write removals as negative: the land
sink is NOT negated here, so `land_sink` values are positive for removals; negate them to compare
with `net_emissions` (and x 44/12 for CO2).

Uncertainty: the CSV files carry none, so `uncertainty` is left empty. The repository's docs (and
the comment header of its later per-sheet CSVs) state 1-sigma values, ±0.7 GtC/yr for E_LUC and
"±0.9 GtC/yr on average" for the land sink; they are not in the ingested file (no snapshot to
trace them to) and the land sink's is an average, not a per-year figure, so they are not applied.
`Series.sigma` declares such a 1-sigma (in the series' unit) when a file does give one; the
harmonizer then writes 1.96 x sigma / |value| (the 95% half-width as a fraction of the value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ercan.errors import ConfigError, SourceError, did_you_mean
from ercan.harmonize import finish, input_file, parse_numbers, parse_years, read_csv, require_columns, require_unique, to_unit
from ercan.schema import AREA_LEVELS, LAND_CATEGORIES, VARIABLE_UNITS
from ercan.sources import Source
from ercan.units import factor

SOURCE = Source(
    id="gcb2019",
    title="Global Carbon Budget 2019: global land-use change emissions and land sink, 1959-2018",
    publisher="Global Carbon Project (Friedlingstein et al. 2019), via openclimatedata/global-carbon-budget",
    license=(
        "GCP data-use terms (use conditional on citing original sources; GCB 2019 = Friedlingstein et al. "
        "2019, ESSD), per the repository README; no separate data license file; repository scripts/metadata CC0"
    ),
    citation=(
        "Friedlingstein, P. et al.: Global Carbon Budget 2019, Earth Syst. Sci. Data, 11, 1783-1838, 2019, "
        "https://doi.org/10.5194/essd-11-1783-2019; "
        "openclimatedata/global-carbon-budget@122c763940e21d3cf651fdece25fb3f0d30ca141, data/global-carbon-budget.csv"
    ),
    inputs={"budget": "gcb2019/global-carbon-budget.csv"},
)


class Series(BaseModel):
    """One column of the budget table: what it is and the unit the source gives it in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    variable: str
    unit: str  # the source's unit (stated in the repository's docs), converted to the variable's
    sigma: float | None = Field(default=None, gt=0)  # 1-sigma in `unit`, if the source gives one per year

    @model_validator(mode="after")
    def _vocabulary_and_unit(self):
        if self.variable not in VARIABLE_UNITS:
            known = did_you_mean(self.variable, VARIABLE_UNITS)
            raise ValueError(f"{self.column}: unknown variable {self.variable!r}{known}")
        try:
            factor(self.unit, VARIABLE_UNITS[self.variable])
        except SourceError as e:
            raise ValueError(f"{self.column}: {e}") from None
        return self


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    year_column: str
    series: tuple[Series, ...]
    area_code: str
    area_level: str
    land_category: str
    flag: str
    uncertainty_z: float  # sigma -> 95% half-width (normal)

    @model_validator(mode="after")
    def _vocabularies(self):
        if self.area_level not in AREA_LEVELS:
            raise ValueError(f"unknown area level {self.area_level!r}")
        if self.land_category not in LAND_CATEGORIES:
            raise ValueError(f"unknown land category {self.land_category!r}")
        variables = [s.variable for s in self.series]
        if len(set(variables)) != len(variables):
            raise ValueError(f"a variable is read from two columns: {variables}")
        return self


CONFIG = Config(
    role="budget",
    year_column="Year",
    series=(
        Series(column="Land-Use-Change-Emissions", variable="land_use_emissions", unit="GtC/yr"),
        Series(column="Land-Sink", variable="land_sink", unit="GtC/yr"),  # positive = uptake, as in the file
    ),
    area_code="WORLD",
    area_level="global",
    land_category="all",
    flag="reported",
    uncertainty_z=1.96,
)

if {CONFIG.role} != set(SOURCE.inputs):
    raise ConfigError(
        f"harmonizers/gcb2019.py: CONFIG role {CONFIG.role!r} differs from SOURCE.inputs {sorted(SOURCE.inputs)}"
    )


def harmonize(files) -> pa.Table:
    raw = input_file(files, CONFIG.role, what="the budget table")
    df = read_csv(raw)
    require_columns(df, [CONFIG.year_column, *(s.column for s in CONFIG.series)], file=raw.name)
    if df.empty:
        raise SourceError("has a header but no data rows", file=raw.name, hint="Download the table again.")
    year = parse_years(df[CONFIG.year_column], file=raw.name, column=CONFIG.year_column)
    require_unique(year, what="year", file=raw.name, column=CONFIG.year_column,
                   hint="Remove the repeated row; the budget has one row per year.")

    frames = []
    for series in CONFIG.series:
        unit = VARIABLE_UNITS[series.variable]
        numbers = parse_numbers(df[series.column], file=raw.name, column=series.column)
        uncertainty = (
            CONFIG.uncertainty_z * series.sigma / numbers.abs().where(numbers != 0)
            if series.sigma is not None
            else pd.Series(np.nan, index=numbers.index)
        )
        frames.append(
            pd.DataFrame(
                {
                    "year": year,
                    "variable": series.variable,
                    "value": to_unit(numbers, series.unit, unit, file=raw.name),
                    "unit": unit,
                    "uncertainty": uncertainty,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True).assign(
        snapshot=raw.sha256,
        area_code=CONFIG.area_code,
        area_level=CONFIG.area_level,
        parent_code=None,
        land_category=CONFIG.land_category,
        pool=None,
        category=None,
        flag=CONFIG.flag,
    )
    return finish(out, SOURCE.id)


