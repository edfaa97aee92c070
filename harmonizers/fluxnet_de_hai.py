"""FLUXNET2015 eddy-covariance site DE-Hai (Hainich, Germany): GPP and NEE, from monthly values.

Layout: one CSV (`validation_DE-Hai.csv` of CARDAMOM-FluxVal v1.0), one row per month,
`ID,Date,GPP,NEE,ET`:

- `Date` is `YYYYMM`. `ID` is CARDAMOM's month index, ID = 12 x (year - 2001) + month (73 =
  January 2007, 144 = December 2012; CARDAMOM's validation script calls it "the number of months
  from 2000/01/01", but every row of the file fits the 2001 origin). Both encode the month; they
  must agree (`CONFIG.month_index_origin`), else the row is an error naming the `ID` cell.
- A month without data has no row at all (2007-2012: 62 of 72 months). A missing value in a row
  is the literal text `NaN` (only ET has any in this file). `-9999`, FLUXNET's missing-value code
  (which CARDAMOM's own validation script also turns into NaN), is read as missing too. Any other
  text is an error naming the file, row (as in the file, header = row 1) and column.

Units: neither the file nor its folder's README states them. They are taken to be those of
FLUXNET2015's monthly product, gC m-2 d-1 = the mean daily flux over the month (written
`g C/m2/d`, ercan's canonical unit for `gpp` and `nee`, so the factor is exactly 1). Evidence:
the magnitudes (June GPP 10.8-13.7; for 2008 the monthly means times the days of their months
give GPP 1631 and NEE -533 gC m-2 yr-1, in the range published for this beech forest; per month
instead of per day they would be ~30 times too small), and CARDAMOM compares these columns
directly with its own daily fluxes. An inference, not a unit statement: `CONFIG` declares it in
one place.

Variables: `GPP` → `gpp`, `NEE` → `nee` (sign as FLUXNET: negative = uptake by the ecosystem,
the same sign as ercan's `nee`). `ET` (evapotranspiration, mm d-1 by the same inference) is not
read: ercan's vocabulary (`schema.VARIABLE_UNITS`) has no water-flux variable. There is no `RECO`
column.

Monthly values → annual rows (the common schema has one integer `year` and no month): for each
variable, a calendar year is kept only when all 12 months have a value, and its value is the
mean daily flux over the year, i.e. the monthly means weighted by the days of their month
(Σ value_m x days_m / days of the year, leap years counted), in g C/m2/d; flag `derived`,
`year_start`/`year_end` empty (the year itself is the period). Years with a missing month are
dropped, not gap-filled: 2007 (no December), 2009 (no January, December), 2010 (no February, December),
2011 (no January-March), 2012 (no February, March). So the shipped file gives one year, 2008,
for both variables. (The unweighted mean of the 12 monthly means differs by <1%: 4.4436 vs
4.4556 for GPP 2008.) Monthly values themselves are not published.

Area: `area_code` = the FLUXNET site id `DE-Hai`, `area_level` `site`, `parent_code` `DEU`.
The file names no site inside it; its file name does (`validation_<site>.csv`), and a file whose
name carries another FLUXNET site id is refused. `land_category` is `all`: neither the file nor
its source note says what the tower's footprint covers. (Hainich is a beech forest, and
location_fluxnet.csv in the same CARDAMOM folder classes DE-Hai as IGBP `DBF`; that file is not
shipped, so it is not used here.)
"""

from __future__ import annotations

import calendar
import re

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, model_validator

from ercan.errors import ConfigError, SourceError
from ercan.harmonize import finish, parse_numbers, read_csv, require_columns, to_unit
from ercan.schema import AREA_LEVELS, FLAGS, LAND_CATEGORIES, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="fluxnet_de_hai",
    title="FLUXNET2015 site DE-Hai (Hainich, Germany): GPP and NEE, annual means of complete years of monthly values",
    publisher="FLUXNET (FLUXNET2015 dataset, Pastorello et al. 2020), as adapted by CARDAMOM-FluxVal v1.0",
    license=(
        "CC-BY-4.0 as stated by the data README of the CARDAMOM folder (data obtained from "
        "https://fluxnet.org/data/fluxnet2015-dataset/); repository-level license not checked"
    ),
    citation=(
        "Pastorello et al. (2020) The FLUXNET2015 dataset and the ONEFlux processing pipeline for eddy "
        "covariance data, Sci Data 7:225; adapted in CARDAMOM-FluxVal v1.0 (Yang et al., in prep.); "
        "CARDAMOM-framework/CARDAMOM_v2.2@d29f0547, DATA/CARDAMOM-FLUXVAL_v1.0/validation_data/validation_DE-Hai.csv"
    ),
    inputs={"monthly": "fluxnet_de_hai/validation_DE-Hai.csv"},
)


class ValueColumn(BaseModel):
    """One column of monthly values: the variable it is and the unit the source gives it in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    variable: str
    unit: str  # the source's unit (not printed; see the module docstring)


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    site_id: str
    site_id_pattern: str  # how a FLUXNET site id looks in a file name
    area_level: str
    parent_code: str
    land_category: str
    id_column: str
    date_column: str
    month_index_origin: int  # ID = 12 x (year - origin) + month
    missing_texts: tuple[str, ...]  # cells that mean "no value" (compared exactly, after stripping)
    missing_number: float  # FLUXNET's missing-value code
    values: tuple[ValueColumn, ...]
    not_read: dict[str, str]  # column -> why it is not read
    months_required: int  # a year is kept only with this many months of a variable
    flag: str

    @model_validator(mode="after")
    def _vocabularies(self):
        for value in self.values:
            if value.variable not in VARIABLE_UNITS:
                raise ValueError(f"unknown variable {value.variable!r}")
        if self.land_category not in LAND_CATEGORIES or self.area_level not in AREA_LEVELS or self.flag not in FLAGS:
            raise ValueError("land_category, area_level or flag outside the schema's vocabulary")
        if not re.fullmatch(self.site_id_pattern, self.site_id):
            raise ValueError(f"site id {self.site_id!r} does not match {self.site_id_pattern!r}")
        return self


CONFIG = Config(
    role="monthly",
    site_id="DE-Hai",
    site_id_pattern=r"[A-Z]{2}-[A-Za-z0-9]{3}",
    area_level="site",
    parent_code="DEU",
    land_category="all",  # the source does not say what the footprint covers (module docstring)
    id_column="ID",
    date_column="Date",
    month_index_origin=2001,
    missing_texts=("NaN",),
    missing_number=-9999.0,
    values=(
        ValueColumn(column="GPP", variable="gpp", unit="g C/m2/d"),
        ValueColumn(column="NEE", variable="nee", unit="g C/m2/d"),
    ),
    not_read={"ET": "evapotranspiration: no water-flux variable in ercan's vocabulary"},
    months_required=12,
    flag="derived",
)

if {CONFIG.role} != set(SOURCE.inputs):
    raise ConfigError("harmonizers/fluxnet_de_hai.py: CONFIG.role differs from SOURCE.inputs")

_DATE = re.compile(r"^(\d{4})(\d{2})$")


def harmonize(files) -> pa.Table:
    if CONFIG.role not in files:
        raise SourceError(f"no file for role {CONFIG.role!r}", hint=f"Ingest the file for role {CONFIG.role!r}.")
    raw = files[CONFIG.role]
    _check_site_in_name(raw.name)
    df = read_csv(raw)
    require_columns(df, [CONFIG.id_column, CONFIG.date_column, *(v.column for v in CONFIG.values)], file=raw.name)
    if df.empty:
        raise SourceError("has a header but no data rows", file=raw.name, hint="Fetch the file again.")

    year, month = _months(df, raw.name)
    frames = []
    for value in CONFIG.values:
        unit = VARIABLE_UNITS[value.variable]
        cells = df[value.column].str.strip()
        numbers = parse_numbers(cells.where(~cells.isin(CONFIG.missing_texts), ""), file=raw.name, column=value.column)
        numbers = numbers.where(numbers != CONFIG.missing_number)
        monthly = pd.DataFrame(
            {"year": year, "month": month, "value": to_unit(numbers, value.unit, unit, file=raw.name)}
        ).dropna(subset=["value"])
        monthly["days"] = [calendar.monthrange(y, m)[1] for y, m in zip(monthly.year, monthly.month)]
        monthly["weighted"] = monthly.value * monthly.days
        annual = monthly.groupby("year").agg(
            months=("month", "nunique"), weighted=("weighted", "sum"), days=("days", "sum")
        )
        annual = annual[annual.months == CONFIG.months_required]
        frames.append(
            pd.DataFrame(
                {
                    "year": annual.index.astype("int64"),
                    "variable": value.variable,
                    "value": (annual.weighted / annual.days).to_numpy(),
                    "unit": unit,
                }
            )
        )
    rows = pd.concat(frames, ignore_index=True).assign(
        snapshot=raw.sha256,
        area_code=CONFIG.site_id,
        area_level=CONFIG.area_level,
        parent_code=CONFIG.parent_code,
        land_category=CONFIG.land_category,
        pool=None,
        flag=CONFIG.flag,
    )
    return finish(rows, SOURCE.id)


def _check_site_in_name(name: str) -> None:
    """The file names no site inside it; a file name carrying another site's id is the wrong file."""
    named = re.findall(rf"(?<![A-Za-z0-9]){CONFIG.site_id_pattern}(?![A-Za-z0-9])", name)
    others = sorted(set(named) - {CONFIG.site_id})
    if others:
        raise SourceError(
            f"is named for FLUXNET site {others[0]!r}, but this source is site {CONFIG.site_id!r}",
            file=name,
            hint=f"Ingest the file of site {CONFIG.site_id} (validation_{CONFIG.site_id}.csv).",
        )


def _months(df: pd.DataFrame, file: str) -> tuple[np.ndarray, np.ndarray]:
    """(year, month) of every row from `Date`, checked against the month index `ID`; each month once."""
    dates = df[CONFIG.date_column].str.strip()
    parts = dates.str.extract(_DATE)
    month = pd.to_numeric(parts[1], errors="coerce")
    bad = parts[0].isna() | ~month.between(1, 12)
    _raise_first(
        bad, dates, "is not a month written YYYYMM", file, CONFIG.date_column, "Write the month as YYYYMM, e.g. 200801."
    )
    year = parts[0].astype("int64").to_numpy()
    month = month.astype("int64").to_numpy()

    ids = parse_numbers(df[CONFIG.id_column], file=file, column=CONFIG.id_column)
    expected = 12 * (year - CONFIG.month_index_origin) + month
    _raise_first(
        ids.to_numpy() != expected,
        df[CONFIG.id_column],
        "does not match the month in column " + repr(CONFIG.date_column),
        file,
        CONFIG.id_column,
        f"ID is the month index 12 x (year - {CONFIG.month_index_origin}) + month; fix the ID or the Date.",
        extra=lambda i: f" ({dates.iloc[i]} is month {expected[i]})",
    )
    _raise_first(
        pd.Series(dates).duplicated().to_numpy(),
        dates,
        "appears again",
        file,
        CONFIG.date_column,
        "Remove the repeated month; the file has one row per month.",
    )
    return year, month


def _raise_first(bad, cells: pd.Series, what: str, file: str, column: str, hint: str, extra=None) -> None:
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SourceError(
            f"{cells.iloc[i]!r} {what}{extra(i) if extra else ''}", file=file, row=2 + i, column=column, hint=hint
        )
