"""Results of a survey round (a forest inventory's cycle) that a file repeats for each year of the round
(ercan.declaration.Input.rounds): checked, and kept once, at the round's last year."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict

from ercan.errors import ConfigError, SourceError
from ercan.readers import LINE


class Rounds(BaseModel):
    """The rounds, in `table`: a CSV beside the declaration of round, first_year, last_year (and a note)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    table: str
    # years after the last round repeat its result (a database carrying it forward): checked, not kept
    carried_forward: bool = False


def one_per_round(long: pd.DataFrame, how: Rounds, table: pd.DataFrame, key: list[str], *, file: str,
                  year_column: str, role: str) -> pd.DataFrame:
    """The rows of each series (`key` but the year) one per round: the round's first row, at its last
    year. A year in no round, or a value that is not its round's result, is an error naming the line."""
    rounds = _rounds(table, how.table)
    last = rounds.index[rounds["last_year"].argmax()]
    add = f"list it (round, first_year, last_year) in {how.table} (inputs.{role}.rounds)"
    long = long.sort_values(LINE, kind="stable")
    number = pd.Series(pd.NA, index=long.index, dtype=object)
    for name, first_year, last_year in rounds.itertuples():
        number[long["year"].between(first_year, last_year).fillna(False).to_numpy()] = name
    later = number.isna() & (long["year"] > rounds.loc[last, "last_year"]).fillna(False)
    if how.carried_forward:
        number = number.mask(later, last)
    outside = number.isna()
    if outside.any():
        spans = ", ".join(f"{name}: {first}-{end}" for name, first, end in rounds.itertuples())
        raise SourceError(f"year {long['year'][outside].iloc[0]} is in no round of {how.table} ({spans})", file=file,
                          row=int(long[LINE][outside].iloc[0]), column=year_column,
                          hint=f"If the year belongs to a round not listed: {add}.")
    series = [*(c for c in key if c != "year"), "_round"]
    long = long.assign(_round=number)
    groups = long.groupby(series, sort=False, dropna=False)  # rows in file order: `first` is the earliest
    differs = long["value"] != groups["value"].transform("first")
    if differs.any():
        at = long[differs].iloc[0]
        base_year, base_line = (groups[c].transform("first")[differs].iloc[0] for c in ("year", LINE))
        first_year, last_year = rounds.loc[at["_round"]]
        within = "carried forward from" if later[differs].iloc[0] else "in"
        raise SourceError(
            f"the value of {at['year']} differs from that of {base_year} (line {int(base_line)}), {within} round "
            f"{at['_round']} ({first_year}-{last_year}) of {how.table}: a round's years repeat one result",
            file=file, row=int(at[LINE]), column=at["_column"],
            hint=f"If the year is of a new round or a round's years are wrong: {add}. If the file holds yearly "
                 f"values, not a round's result, remove `rounds` from inputs.{role}; else ingest a corrected file.")
    kept = long[~later].drop_duplicates(series)  # a carried-forward year is checked, never kept
    return kept.assign(year=kept["_round"].map(rounds["last_year"]).astype(long["year"].dtype)).drop(columns="_round")


def _rounds(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """round -> first_year, last_year: whole years, each round once, none overlapping another."""
    try:
        rounds = table.set_index("round")[["first_year", "last_year"]].astype("int64").sort_values("first_year")
        first, last = rounds["first_year"], rounds["last_year"]
        overlapping = (first > last) | (first <= last.shift())
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{name}: needs the columns round, first_year, last_year, of years ({e})") from None
    if not rounds.index.is_unique or overlapping.any():
        raise ConfigError(f"{name}: rounds are listed once each, and their years (first_year-last_year) never overlap")
    return rounds
