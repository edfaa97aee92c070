"""What unfccc_non_annex_i's declaration cannot say: which rows of the Detailed-data-by-Party table
are read, that the rows repeating them agree, and values annotated with their year (see `notes` in
source.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ercan.declaration import DECLARATION, load
from ercan.errors import SourceError
from ercan.readers import LINE, parse_numbers, require_columns

DECLARED = load(Path(__file__).with_name(DECLARATION)).inputs["inventory"]
PARTY, PARENT, CATEGORY, GAS = "Party", "Parent Category", "Category", "Gas"
SECTOR_PREFIX = "5."  # IPCC 1996 sector 5, Land-Use Change and Forestry
GAS_KEPT = "Aggregate GHGs"
# LULUCF rows appear under two parents each: they are read from these ...
PARENTS = ("5. Land-Use Change and Forestry", "Totals")
# ... and the copies under this one must repeat them.
REPEATED_PARENT = "Total GHG emissions including LULUCF/LUCF"
# `V(YYYY)`: a value annotated with the year it belongs to.
YEAR_ANNOTATED = re.compile(
    r"^\s*(?P<value>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*\(\s*(?P<year>\d{4})\s*\)\s*$"
)


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    """The Aggregate GHGs rows of sector 5 under PARENTS, their year annotations dropped, after
    checking the copies under REPEATED_PARENT repeat them."""
    require_columns(cells, [PARTY, PARENT, CATEGORY, GAS], file=raw.name, role=role)
    lulucf = cells[CATEGORY].str.startswith(SECTOR_PREFIX).fillna(False) & (cells[GAS] == GAS_KEPT)
    read = cells[lulucf & (cells[PARENT].isin(PARENTS) | (cells[PARENT] == REPEATED_PARENT))].copy()
    kept = read[PARENT].isin(PARENTS)
    if not kept.any():
        raise SourceError(
            f"has no {GAS_KEPT!r} rows of categories {SECTOR_PREFIX}* under {' or '.join(map(repr, PARENTS))}",
            file=raw.name,
            hint="Ingest the non-Annex I 'Detailed data by Party' table: this file has no LULUCF rows to read.",
        )
    years = [c for c in cells.columns if c != LINE and re.fullmatch(DECLARED.values[0].pattern, c)]
    for year in years:
        read[year] = _without_year_annotation(read[year], read[LINE], year, file=raw.name)
    _check_repeats(read[kept], read[~kept], years, file=raw.name, role=role)
    return read[kept]


def _without_year_annotation(text: pd.Series, lines: pd.Series, year: str, *, file: str) -> pd.Series:
    """`452.25(2005)` in the 2005 column -> `452.25`; a different year in brackets is an error."""
    match = text.astype("string").str.extract(YEAR_ANNOTATED)
    annotated = match["year"].notna()
    wrong = annotated & (match["year"] != year)
    if wrong.any():
        at = wrong.to_numpy().argmax()
        raise SourceError(
            f"{text.iloc[at]!r} is annotated with year {match['year'].iloc[at]} but sits in the {year} column",
            file=file, row=int(lines.iloc[at]), column=year,
            hint="The value's year is unclear: ingest a corrected download from the publisher.",
        )
    return text.where(~annotated, match["value"])


def _check_repeats(kept: pd.DataFrame, repeats: pd.DataFrame, years: list[str], *, file: str, role: str) -> None:
    """Each copy under REPEATED_PARENT of a kept row must hold its figures: then dropping it loses
    nothing. A kept row given twice is left to the declaration's check of repeated values."""
    key = [PARTY, CATEGORY]
    once = kept.drop_duplicates(key, keep=False)
    pairs = repeats[key].reset_index().merge(once[key].reset_index(), on=key, suffixes=("", "_kept"))
    if pairs.empty:
        return
    again, reference = (_numbers(frame, years, file=file, role=role).loc[pairs[index]].to_numpy()
                        for frame, index in ((repeats, "index"), (once, "index_kept")))
    differs = ~((again == reference) | (np.isnan(again) & np.isnan(reference)))
    if differs.any():
        row, column = np.argwhere(differs)[0]
        record = repeats.loc[pairs["index"].iloc[row]]
        raise SourceError(
            f"{record[PARTY]} {record[CATEGORY]!r} under {REPEATED_PARENT!r} reads {again[row, column]} but "
            f"{reference[row, column]} under {', '.join(map(repr, PARENTS))}",
            file=file, row=int(record[LINE]), column=years[column],
            hint="The file's copies of a LULUCF row disagree: ingest a corrected download from the publisher.",
        )


def _numbers(frame: pd.DataFrame, years: list[str], *, file: str, role: str) -> pd.DataFrame:
    return pd.DataFrame({year: parse_numbers(frame[year], frame[LINE], DECLARED.read.digit_grouping, file=file,
                                             column=year, role=role) for year in years}, index=frame.index)
