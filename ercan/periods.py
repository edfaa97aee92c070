"""Periods of time in a declared input (ercan.declaration): months numbered from a first month
(`parse: month_number`), columns stating the same fields twice (they must agree), monthly rows as
calendar years (`Input.annual`), and the period a year of the file stands for (`Values.periods`)."""

from __future__ import annotations

import calendar
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from ercan.errors import SourceError, shown
from ercan.readers import LINE, column_label

MONTH = "_month"  # the month of a monthly column's rows, until `annual` makes years of them


class Annual(BaseModel):
    """Monthly rows as calendar years, per series: `mean` (of monthly means) weights each month by its
    days, leap years counted; `sum` adds monthly totals. A year without all 12 months is left out."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    statistic: Literal["mean", "sum"]


def month_of_number(numbers: pd.Series, lines: pd.Series, first: int, *, file: str, column: str
                    ) -> tuple[pd.Series, pd.Series]:
    """Months numbered from `first` (YYYYMM of month 1: from 200101, 85 is January 2008) as (year, month)."""
    bad = numbers.notna() & (numbers != numbers.round())
    if bad.any():
        raise SourceError(f"{numbers[bad].iloc[0]:g} is not a month number", file=file, row=int(lines[bad].iloc[0]),
                          column=column, hint="Ingest a corrected file; a month number is a whole number.")
    months = (first // 100) * 12 + first % 100 - 2 + numbers.astype("Int64")  # months since year 0
    return months // 12, months % 12 + 1


def check_agreement(fields: pd.DataFrame, mapped: dict[str, pd.Series], given_by: dict[str, str],
                    cells: pd.DataFrame, column: str, *, file: str, role: str) -> None:
    """A column giving fields an earlier column gave (a month's number and its date, a country's name
    and its code) gives the same values in every row (missing agreeing with missing only)."""
    shared = [field for field in mapped if field in given_by]
    ours, theirs = pd.DataFrame({f: mapped[f] for f in shared}, index=fields.index), fields[shared]
    differ = ~(ours.eq(theirs).fillna(False).astype(bool) | (ours.isna() & theirs.isna())).all(axis=1)
    if not shared or not differ.any():
        return
    at, other = differ.to_numpy().argmax(), given_by[shared[0]]
    ours, theirs = (", ".join(f"{f.strip('_')} {v}" for f, v in frame.iloc[at].dropna().items()) or "no value"
                    for frame in (ours, theirs))
    raise SourceError(f"{shown(cells[column].iloc[at])} gives {ours}, but column {other!r} "
                      f"({shown(cells[other].iloc[at])}) gives {theirs}", file=file, row=int(cells[LINE].iloc[at]),
                      column=column_label(cells, column),
                      hint=f"Both columns state {', '.join(f.strip('_') for f in shared)}: ingest a corrected file; "
                           f"if one means something else, declare it to other fields under inputs.{role}.columns"
                           + (" (months numbered from another month: its `first_month`)." if MONTH in shared else "."))


def annual(long: pd.DataFrame, how: Annual, key: list[str], *, file: str, month_column: str) -> pd.DataFrame:
    """Each series' (`key`'s) monthly rows as a row per complete calendar year (its first month's row)."""
    if long[MONTH].isna().any():
        raise SourceError("has no month", file=file, row=int(long[LINE][long[MONTH].isna()].iloc[0]),
                          column=month_column, hint="Every row of a monthly input is a month: ingest a corrected file.")
    # each series' months together, in file order: pandas' grouped sum rounds otherwise when series interleave
    long = long.sort_values([*key, LINE], kind="stable")
    days = [calendar.monthrange(y, m)[1] if how.statistic == "mean" else 1 for y, m in zip(long["year"], long[MONTH])]
    years = long.assign(_days=days, _weighted=long["value"] * days).groupby(key, sort=False, dropna=False)
    value = years["_weighted"].transform("sum")
    value = value / years["_days"].transform("sum") if how.statistic == "mean" else value
    kept = ~long.duplicated(key) & (years[MONTH].transform("nunique") == 12)
    return long.assign(value=value)[kept].drop(columns=MONTH)


def dated_by_period(part: pd.DataFrame, table: pd.DataFrame, name: str, *, file: str, column: str | None,
                    role: str) -> pd.DataFrame:
    """A values block's rows with the period their year stands for (`table`, a CSV beside the declaration:
    year, year_start, year_end) and year = its last year. A year not in the table is an error."""
    periods = table.astype({"year": "int64", "year_start": "Int64", "year_end": "Int64"}).set_index("year")
    unknown = part["year"].notna() & ~part["year"].isin(periods.index)
    if unknown.any():
        first = part[unknown].sort_values(LINE).iloc[0]
        raise SourceError(
            f"year {first['year']} is none of the years of {name} ({', '.join(map(str, periods.index))})",
            file=file, row=int(first[LINE]), column=column or first["_column"],
            hint=f"If the file has a new period: add its year, year_start and year_end, from the publisher's "
                 f"documentation, to {name} in the source's folder (read by inputs.{role}.values).")
    end = part["year"].map(periods["year_end"]).astype("Int64")
    return part.assign(year_start=part["year"].map(periods["year_start"]).astype("Int64"), year_end=end, year=end)
