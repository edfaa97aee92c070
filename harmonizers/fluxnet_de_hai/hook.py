"""What the declaration cannot say about the DE-Hai monthly file: the site is named only by the
file name, `ID` and `Date` encode the same month twice, and monthly means become annual means."""

from __future__ import annotations

import calendar
import re

import pandas as pd

from ercan import readers
from ercan.declaration import MONTH
from ercan.errors import SourceError
from ercan.readers import LINE

SITE = "DE-Hai"
SITE_ID = r"[A-Z]{2}-[A-Za-z0-9]{3}"  # how a FLUXNET site id looks in a file name
MONTH_INDEX_ORIGIN = 2001  # ID = 12 x (year - origin) + month
MONTHS_REQUIRED = 12  # a year is kept for a variable only with every month


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    _check_site_in_name(raw.name)
    readers.require_columns(cells, ["ID", "Date"], file=raw.name, role=role)
    _check_month_index(cells, raw.name, role)
    _check_months_once(cells, raw.name)
    return cells


def rows(rows: pd.DataFrame, files) -> pd.DataFrame:
    """Per variable, the complete calendar years: the mean daily flux over the year, i.e. the
    monthly means weighted by the days of their month."""
    # each variable's months together, in file order: pandas' grouped sum depends on the row order
    rows = rows.sort_values(["variable", LINE], kind="stable")
    days = pd.Series([calendar.monthrange(y, m)[1] for y, m in zip(rows["year"], rows[MONTH])], index=rows.index,
                     dtype="int64")
    rows = rows.assign(_days=days, _weighted=rows["value"] * days)
    years = rows.groupby(["variable", "year"], sort=False)
    annual = years.head(1).set_index(["variable", "year"])
    annual["value"] = years["_weighted"].sum() / years["_days"].sum()
    complete = years[MONTH].nunique() == MONTHS_REQUIRED
    return annual[complete.reindex(annual.index)].reset_index().drop(columns=[MONTH, "_days", "_weighted"])


def _check_site_in_name(name: str) -> None:
    """The file names no site inside it; a file name carrying another site's id is the wrong file."""
    named = re.findall(rf"(?<![A-Za-z0-9]){SITE_ID}(?![A-Za-z0-9])", name)
    others = sorted(set(named) - {SITE})
    if others:
        raise SourceError(f"is named for FLUXNET site {others[0]!r}, but this source is site {SITE!r}", file=name,
                          hint=f"Ingest the file of site {SITE} (validation_{SITE}.csv).")


def _check_month_index(cells: pd.DataFrame, file: str, role: str) -> None:
    undated = cells["Date"].isna() | (cells["Date"] == "")
    if undated.any():
        raise SourceError("has no month in column 'Date'", file=file, row=int(cells[LINE][undated].iloc[0]),
                          column="Date", hint="Every row of the file is a month: ingest a corrected file.")
    year, month = readers.parse_year_months(cells["Date"], cells[LINE], file=file, column="Date", role=role)
    ids = readers.parse_numbers(cells["ID"], cells[LINE], "none", file=file, column="ID", role=role)
    expected = 12 * (year - MONTH_INDEX_ORIGIN) + month
    wrong = (ids != expected).fillna(True)
    if wrong.any():
        at = wrong.to_numpy().argmax()
        raise SourceError(
            f"{cells['ID'].iloc[at]!r} does not match the month in column 'Date' "
            f"({cells['Date'].iloc[at]} is month {expected.iloc[at]})", file=file, row=int(cells[LINE].iloc[at]),
            column="ID",
            hint=f"ID is the month index 12 x (year - {MONTH_INDEX_ORIGIN}) + month: ingest a corrected file, or, "
                 "if CARDAMOM changed its origin, MONTH_INDEX_ORIGIN in harmonizers/fluxnet_de_hai/hook.py.",
        )


def _check_months_once(cells: pd.DataFrame, file: str) -> None:
    again = cells["Date"].duplicated()
    if again.any():
        at = again.to_numpy().argmax()
        date = cells["Date"].iloc[at]
        first = int(cells[LINE][cells["Date"] == date].iloc[0])
        raise SourceError(f"{date!r} appears again (first at line {first})", file=file,
                          row=int(cells[LINE].iloc[at]), column="Date",
                          hint="The file has one row per month: ingest a corrected file; if both rows are "
                               "meant, the declaration must tell them apart.")
