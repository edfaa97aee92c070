"""What gfw_usa's declaration cannot say: the state tables name a state only by its GADM adm1 id,
which the names table of the same export (role `state_names`) gives a state name (see `notes`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pycountry

from ercan import readers
from ercan.declaration import DECLARATION, Reading, load
from ercan.errors import SourceError, did_you_mean, shown
from ercan.readers import LINE

NAMES_ROLE = "state_names"
ID_COLUMN = "adm1"  # the state tables' column of adm1 ids, declared `to: area_code`
NAMES_ID_COLUMN, NAMES_NAME_COLUMN = "adm1__id", "name"
COUNTRY = "US"  # pycountry alpha-2 of the country whose subdivisions the names are
SUBDIVISION_TYPES = ("State", "District")
# pycountry knows DC too (type "District"); pinned so that an iso-codes rename cannot lose it
NAME_OVERRIDES = {"District of Columbia": "US-DC"}
STATE_ROLES = [role for role, spec in load(Path(__file__).with_name(DECLARATION)).inputs.items()
               if ID_COLUMN in spec.columns]


def rows(rows: pd.DataFrame, files) -> pd.DataFrame:
    names = files[NAMES_ROLE]
    codes = _subdivision_codes(names)
    for role in STATE_ROLES:
        of_file = rows["snapshot"] == files[role].sha256
        _check_named(rows[of_file], codes, file=files[role].name, names_file=names.name)
        rows.loc[of_file, "area_code"] = rows.loc[of_file, "area_code"].map(codes)
    return rows


@cache
def _known_subdivisions() -> dict[str, str]:
    """Name -> ISO 3166-2 code of the subdivisions a state name may match."""
    known = {s.name: s.code for s in pycountry.subdivisions.get(country_code=COUNTRY) if s.type in SUBDIVISION_TYPES}
    return {**known, **NAME_OVERRIDES}


def _subdivision_codes(raw) -> dict[str, str]:
    """{adm1 id: ISO 3166-2 code} from the names table; every row names a known subdivision, each id
    and each subdivision once."""
    with raw.open() as f:
        cells = readers.read_csv_cells(f.read(), Reading(), file=raw.name, role=NAMES_ROLE)
    readers.require_columns(cells, [NAMES_ID_COLUMN, NAMES_NAME_COLUMN], file=raw.name, role=NAMES_ROLE)
    for column in (NAMES_ID_COLUMN, NAMES_NAME_COLUMN):
        _first_at(cells, cells[column].fillna("") == "", "empty cell", file=raw.name, column=column,
                  hint="Every id of the names table has a name: ingest the complete adm1 metadata of the export.")
    _once(cells, NAMES_ID_COLUMN, cells[NAMES_ID_COLUMN], "adm1 id", file=raw.name)
    names = cells[NAMES_NAME_COLUMN]
    known = _known_subdivisions()
    unknown = ~names.isin(list(known))
    if unknown.any():
        name = names[unknown].iloc[0]
        _first_at(cells, unknown, f"unknown state name {shown(name)}{did_you_mean(name, known)}", file=raw.name,
                  column=NAMES_NAME_COLUMN,
                  hint="A state or district spelled otherwise is pinned to its ISO 3166-2 code in NAME_OVERRIDES of "
                       "harmonizers/gfw_usa/hook.py; an outlying area is no GADM level-1 unit of the USA.")
    _once(cells, NAMES_NAME_COLUMN, names.map(known), "subdivision (ISO 3166-2)", file=raw.name)
    return dict(zip(cells[NAMES_ID_COLUMN], names.map(known)))


def _check_named(rows: pd.DataFrame, codes: dict[str, str], *, file: str, names_file: str) -> None:
    """Every adm1 id of a state table is in the names table (which the reader never lets be empty)."""
    nameless = rows[~rows["area_code"].isin(list(codes))].sort_values(LINE)
    if len(nameless):
        first = nameless.iloc[0]
        known = sorted(codes, key=lambda i: (len(i), i))
        raise SourceError(
            f"adm1 id {first['area_code']!r} has no name in {names_file!r}, which names {len(known)} ids "
            f"({known[0]!r} … {known[-1]!r})",
            file=file, row=int(first[LINE]), column=ID_COLUMN,
            hint=f"Ingest the names table (role {NAMES_ROLE}) of the same dashboard export as {file!r}.",
        )


def _once(cells: pd.DataFrame, column: str, keys: pd.Series, what: str, *, file: str) -> None:
    again = keys.duplicated()
    if again.any():
        key = keys[again].iloc[0]
        first = int(cells[LINE][keys == key].iloc[0])
        _first_at(cells, again, f"{what} {key!r} appears again (first at row {first})", file=file, column=column,
                  hint=f"Each state is one row of the names table: ingest the names table (role {NAMES_ROLE}) "
                       "of a complete dashboard export.")


def _first_at(cells: pd.DataFrame, bad: pd.Series, what: str, *, file: str, column: str, hint: str) -> None:
    if bad.any():
        raise SourceError(what, file=file, row=int(cells[LINE][bad].iloc[0]), column=column, hint=hint)
