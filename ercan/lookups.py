"""What a column's values stand for, found elsewhere (ercan.declaration.Column): ids that another
input's table names (`lookup`), and names of one country's ISO 3166-2 subdivisions (`codes:
subdivision_name`, per pycountry, with reviewed names in a CSV)."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict

from ercan.errors import ConfigError, SourceError, shown
from ercan.readers import LINE, column_label, require_columns


class Lookup(BaseModel):
    """The column holds ids of the table of another input (`input`, read as a plain table, without
    values): its `key` column lists each id once, its `value` column what the id stands for, which the
    column's `codes`, `map` or `crosswalk` then read there, at the table's lines."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input: str
    key: str
    value: str
    one_to_one: bool = False  # no two ids may stand for the same (two ids of one state)


class Subdivisions(BaseModel):
    """`codes: subdivision_name`: names of the `country`'s (ISO 3166-1 alpha-2) subdivisions of the
    `types` (all if none), as pycountry names them or the reviewed `names` CSV (`name_column`,
    iso_3166_2, note; beside the declaration or a shared crosswalk) does: another language, a pin."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    country: str
    types: tuple[str, ...] = ()
    names: str | None = None
    name_column: str = "name"


def table(cells: pd.DataFrame, lookup: Lookup, *, file: str) -> pd.DataFrame:
    """The looked-up table's cells, every key and value filled and each key once."""
    require_columns(cells, [lookup.key, lookup.value], file=file, role=lookup.input)
    keys = cells[lookup.key]
    for column, bad, again in [(lookup.key, keys.fillna("") == "", False), (lookup.key, keys.duplicated(), True),
                               (lookup.value, cells[lookup.value].fillna("") == "", False)]:
        if bad.any():
            at = bad.to_numpy().argmax()
            first = cells[LINE][keys == keys.iloc[at]]  # the first row of a repeated id
            raise SourceError(f"id {shown(keys.iloc[at])} appears again (first at line {int(first.iloc[0])})"
                              if again else "empty cell", file=file, row=int(cells[LINE].iloc[at]), column=column,
                              hint=f"Each row names an id: ingest a complete {lookup.input} table.")
    return cells


def looked_up(cells: pd.DataFrame, column: str, table: pd.DataFrame, fields: dict[str, pd.Series], lookup: Lookup,
              *, file: str, table_file: str) -> dict[str, pd.Series]:
    """The `fields` (of the table's rows) of each id of the column. An id the table lacks is an error
    naming both files; with `one_to_one`, so are two ids giving the same fields, at the table."""
    results = pd.DataFrame(fields)
    again = results.duplicated() if lookup.one_to_one else pd.Series(False, index=table.index)
    if again.any():
        at = again.to_numpy().argmax()
        group = results.groupby(list(results), dropna=False, sort=False).ngroup()  # a missing field matches too
        first = group.index[group == group.iloc[at]][0]
        gives = {field: value for field, value in results.iloc[at].items() if pd.notna(value)}
        named = table[lookup.value]
        raise SourceError(f"{shown(named.iloc[at])} gives {gives}, as {shown(named[first])} at line "
                          f"{int(table[LINE][first])} does", file=table_file, row=int(table[LINE].iloc[at]),
                          column=lookup.value,
                          hint=f"Each id stands for another {lookup.value}: ingest a corrected {lookup.input} table.")
    ids, known = cells[column], table[lookup.key]
    unknown = ids.notna() & ~ids.isin(list(known))
    if unknown.any():
        at, listed = unknown.to_numpy().argmax(), sorted(known, key=lambda k: (len(k), k))
        raise SourceError(f"id {shown(ids.iloc[at])} is not in column {lookup.key!r} of {table_file!r}, which lists "
                          f"{len(listed)} ids ({listed[0]!r} … {listed[-1]!r})", file=file,
                          row=int(cells[LINE].iloc[at]), column=column_label(cells, column),
                          hint=f"Ingest the {lookup.input} table of the same export as {file!r} (another export may "
                               "number its ids otherwise); the column's `lookup` says where its ids are named.")
    return {field: ids.map(dict(zip(known, values))) for field, values in fields.items()}


def subdivision_names(subdivisions: Subdivisions, names_file) -> dict[str, str]:
    """Name -> ISO 3166-2 code of the country's subdivisions of the declared types: pycountry's names,
    and the reviewed ones of `names_file`, each listed once with a code of those subdivisions."""
    import pycountry

    known = {s.code: s.name for s in pycountry.subdivisions.get(country_code=subdivisions.country) or ()
             if not subdivisions.types or s.type in subdivisions.types}
    reviewed = pd.read_csv(names_file, dtype=str, keep_default_na=False) if names_file else pd.DataFrame(
        {subdivisions.name_column: [], "iso_3166_2": []})
    names = reviewed[subdivisions.name_column]
    for line, name, code, again in zip(range(2, len(names) + 2), names, reviewed["iso_3166_2"], names.duplicated()):
        if code not in known or again:
            types = f" of the types {list(subdivisions.types)}" if subdivisions.types else ""
            raise ConfigError(f"{names_file.name}, line {line}: {name!r} " + ("is listed twice" if code in known else
                              f"-> {code!r} is no ISO 3166-2 subdivision of {subdivisions.country}{types}"))
    return {**{name: code for code, name in known.items()}, **dict(zip(names, reviewed["iso_3166_2"]))}
