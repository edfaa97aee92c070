"""Rules on an input's rows, on its text cells before they are mapped (ercan.declaration.Input):
which rows are read (`keep`), rows that are copies of others (`repeats`), rows labelled alike told
apart (`occurrence`, a crosswalk `key` of several columns), values annotated in their cell
(`read.value_annotation`), value columns that add up to a stated total (`totals`) or to one value
(`values: [{add: true}]`), and what reviewed dropped rows may hold (`drop: [{only_values_in}]`)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ercan import schema
from ercan.errors import ConfigError, SourceError, did_you_mean, shown
from ercan.readers import LINE, column_label, parse_numbers, require_columns


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Matching(_Rule):
    """Cells that match a regular expression as a whole (`{pattern: '5\\..*'}`)."""

    pattern: re.Pattern


Where = dict[str, str | tuple[str, ...] | Matching | None]  # column -> a value, any of several, a pattern, or empty


class Keep(_Rule):
    """The rows read: where the columns hold these values (the other rows are other parts of a larger
    file: other sectors, gases, tables); no row kept is an error."""

    where: Where
    reason: str


class Repeats(_Rule):
    """Rows matching `where` are copies of the other rows of the same `of` columns: each must repeat
    its values exactly (then dropping it loses nothing), and is dropped. A row matching `where` that
    copies no row is data of its own, and read."""

    where: Where
    of: tuple[str, ...] = Field(min_length=1)
    reason: str
    # the copied row's `of` values where the copy writes them otherwise (a misspelt repeat: {species: sylvestris})
    original: dict[str, str] = Field(default_factory=dict)


class Occurrence(_Rule):
    """A `column` numbering the rows of the same `of` values (1, 2, …, as text): a crosswalk `key` or
    a drop rule can then tell apart rows that a file labels alike."""

    of: tuple[str, ...] = Field(min_length=1)
    column: str = "occurrence"


class Total(_Rule):
    """Value `columns` of a row add up to `total` (a number, or the column that states it) within
    `tolerance`, except the rows listed in `exceptions` (a CSV beside the declaration: the columns
    telling the rows apart, and `note`: why it may differ). `shares`: each part lies between 0 and
    the total."""

    columns: tuple[str, ...] = Field(min_length=2)
    total: float | str
    tolerance: float = Field(0, ge=0)
    shares: bool = False
    exceptions: str | None = None


def matching(cells: pd.DataFrame, where: Where) -> np.ndarray:
    """Which rows hold the values of `where` in every one of its columns."""
    hit = np.ones(len(cells), dtype=bool)
    for column, wanted in where.items():
        if wanted is None:  # an empty cell (or one `read.na` reads as no value)
            hit &= cells[column].fillna("").eq("").to_numpy()
        elif isinstance(wanted, Matching):
            hit &= cells[column].astype("string").str.fullmatch(wanted.pattern).fillna(False).to_numpy(dtype=bool)
        else:
            hit &= cells[column].isin([wanted] if isinstance(wanted, str) else list(wanted)).to_numpy()
    return hit


def value_columns(cells: pd.DataFrame, spec) -> dict[str, tuple[str, str | None]]:
    """{column: (its header as a value block reads it, the field the header becomes)} of the value columns."""
    found = {}
    for block in spec.values:
        for column in block.columns or [c for c in cells.columns if c != LINE and re.fullmatch(block.pattern, c)]:
            match = re.fullmatch(block.pattern, column) if block.pattern else None
            found[column] = (match.group(1) if match and match.re.groups else column, block.header)
    return found


def columns_read(spec) -> set[str]:
    """The columns these rules read (for `other_columns: error`)."""
    named = {c for rule in spec.repeats for c in (*rule.where, *rule.of)} | set(spec.keep.where if spec.keep else ())
    named |= {c for how in spec.columns.values() if isinstance(how.key, tuple) for c in how.key}
    named |= {*spec.occurrence.of, spec.occurrence.column} if spec.occurrence else set()
    return named | {c for rule in spec.totals for c in (*rule.columns, rule.total) if isinstance(c, str)}


def read_rows(cells: pd.DataFrame, spec, *, file: str, role: str) -> pd.DataFrame:
    """The rows `keep` reads, their annotations taken off, without the `repeats` (checked first)."""
    if spec.occurrence is not None:
        require_columns(cells, spec.occurrence.of, file=file, role=role)
        counted = cells.groupby(list(spec.occurrence.of), sort=False, dropna=False).cumcount() + 1
        cells = cells.assign(**{spec.occurrence.column: counted.astype(str)})
    if spec.keep is not None:
        require_columns(cells, spec.keep.where, file=file, role=role)
        cells = cells[matching(cells, spec.keep.where)]
        if cells.empty:
            raise SourceError(f"no row matches the keep rule {spec.keep.model_dump(mode='json')['where']} ({spec.keep.reason})",
                              file=file, hint=f"If the file is the one meant, update inputs.{role}.keep.where "
                                              "to how it writes the rows read now.")
    if spec.read.value_annotation:
        cells = _without_annotations(cells, spec, file=file, role=role)
    for rule in spec.repeats:
        require_columns(cells, [*rule.where, *rule.of], file=file, role=role)
        copy = matching(cells, rule.where)
        # the copies labelled as the rows they copy (`original`), to find those and check them
        labelled = cells.assign(**{c: cells[c].where(~copy, label) for c, label in rule.original.items()})
        of = list(rule.of)
        originals = labelled[~copy].drop_duplicates(of)  # a row given twice is the key check's
        copy &= pd.MultiIndex.from_frame(labelled[of]).isin(pd.MultiIndex.from_frame(originals[of]))
        _check_copies(labelled, copy, originals, rule, spec, file=file, role=role)
        cells = cells[~copy]
    return cells


def _without_annotations(cells: pd.DataFrame, spec, *, file: str, role: str) -> pd.DataFrame:
    """`452.25(2005)` -> `452.25` in each value column, the group `header` (if any) being its header."""
    cells = cells.copy()
    for column, (header, field) in value_columns(cells, spec).items():
        found = cells[column].astype("string").str.extract(f"^(?:{spec.read.value_annotation})$")
        annotated = found["value"].notna()
        wrong = annotated & (found["header"] != header) if "header" in found else annotated & False  # no header
        if wrong.any():
            at = wrong.to_numpy().argmax()
            raise SourceError(
                f"{shown(cells[column].iloc[at])} is annotated with {field or 'header'} {found['header'].iloc[at]} "
                f"but sits in the {header} column", file=file, row=int(cells[LINE].iloc[at]),
                column=column_label(cells, column),
                hint=f"Which {field or 'column'} the value is for is unclear: ingest a corrected download; if the "
                     f"annotation means something else, change read.value_annotation under inputs.{role}.")
        cells[column] = cells[column].where(~annotated, found["value"])
    return cells


def _check_copies(cells, copy, originals, rule: Repeats, spec, *, file: str, role: str) -> None:
    key, columns = list(rule.of), list(value_columns(cells, spec))
    numbers = _numbers(cells, columns, spec.read.digit_grouping, file=file, role=role)
    pairs = cells.loc[copy, key].reset_index().merge(originals[key].reset_index(), on=key, suffixes=("", "_of"))
    again, first = numbers.loc[pairs["index"]].to_numpy(), numbers.loc[pairs["index_of"]].to_numpy()
    differs = ~((again == first) | (np.isnan(again) & np.isnan(first)))
    if differs.any():
        at, position = np.argwhere(differs)[0]
        row, of, column = cells.loc[pairs["index"][at]], cells.loc[pairs["index_of"][at]], columns[position]
        raise SourceError(
            f"repeats line {of[LINE]} ({of[key].to_dict()}; {rule.reason}) but reads {shown(row[column])} where "
            f"line {of[LINE]} reads {shown(of[column])}", file=file, row=int(row[LINE]),
            column=column_label(cells, column),
            hint="The file's copies of a row disagree: ingest a corrected download from the publisher.")


def check_totals(cells: pd.DataFrame, spec, folder, *, file: str, role: str) -> None:
    """Each `totals` rule: the parts of every row add up to its total, or the row is a listed exception."""
    for rule in spec.totals:
        parts, stated = list(rule.columns), [rule.total] if isinstance(rule.total, str) else []
        require_columns(cells, [*parts, *stated], file=file, role=role)
        numbers = _numbers(cells, [*parts, *stated], spec.read.digit_grouping, file=file, role=role)
        total = numbers[rule.total].to_numpy() if stated else np.full(len(cells), float(rule.total))
        values = numbers[parts].to_numpy()
        outside = ((values < 0) | (values > total[:, None])) & rule.shares
        if outside.any():
            at, column = np.argwhere(outside)[0]
            raise SourceError(f"share {values[at, column]:g} is not between 0 and {total[at]:g}",
                              file=file, row=int(cells[LINE].iloc[at]), column=column_label(cells, parts[column]),
                              hint="A share of a total lies within it: ingest a corrected file.")
        sums = numbers[parts].sum(axis=1, min_count=1).to_numpy()
        listed, key = _exceptions(folder, rule, cells, file=file, role=role)
        wrong = ~np.isnan(sums) & ~np.isnan(total) & ~np.isclose(sums, total, rtol=1e-12, atol=rule.tolerance) & ~listed
        if wrong.any():
            at = wrong.argmax()
            raise SourceError(
                f"{' + '.join(parts)}{' of ' + str(cells[key].iloc[at].to_dict()) if key else ''} add up to "
                f"{sums[at]:g}, not {total[at]:g}", file=file, row=int(cells[LINE].iloc[at]),
                column=rule.total if stated else f"{parts[0]}-{parts[-1]}",
                hint=f"Review the row; if it may differ (rounded apart), list it with why in "
                     f"{rule.exceptions or f'the `exceptions` CSV of the rule under inputs.{role}.totals'}, "
                     "else ingest a corrected file.")


def _exceptions(folder, rule: Total, cells: pd.DataFrame, *, file: str, role: str) -> tuple[np.ndarray, list[str]]:
    """Which rows the rule's exceptions CSV lists (by its columns other than `note`), and those columns."""
    if rule.exceptions is None:
        return np.zeros(len(cells), dtype=bool), []
    table = pd.read_csv(folder / rule.exceptions, dtype=str, keep_default_na=False)
    key = [c for c in table.columns if c != "note"]
    if not key or (table.get("note", pd.Series([""])) == "").any():
        raise ConfigError(f"{folder / rule.exceptions}: needs the columns telling the rows apart and a `note` "
                          "(why the row may differ) on every row")
    require_columns(cells, key, file=file, role=role)
    return pd.MultiIndex.from_frame(cells[key]).isin(pd.MultiIndex.from_frame(table[key])), key


def _numbers(cells: pd.DataFrame, columns, grouping: str, *, file: str, role: str) -> pd.DataFrame:
    return pd.DataFrame({c: parse_numbers(cells[c], cells[LINE], grouping, file=file, column=c, role=role)
                         for c in columns}, index=cells.index)


def check_crosswalk_keys(cells: pd.DataFrame, spec, crosswalk, *, file: str, role: str) -> None:
    """A crosswalk whose rows several source columns tell apart (`key`) lists every row of the file,
    dropped ones too: checked before `drop`, a row it lacks is an error at the first key column whose
    value it does not list after those before it (a changed label, an unlisted repeat)."""
    for how in (how for how in spec.columns.values() if isinstance(how.key, tuple)):
        key, table = list(how.key), crosswalk(how.crosswalk)
        for field in how.fields:  # a value of a field with a vocabulary (land_category) is one of it
            allowed = schema.ALL_FIELDS[field].allowed if field in schema.ALL_FIELDS else None
            unknown = table[field].notna() & ~table[field].isin(allowed or [])
            if allowed and unknown.any():
                value = table[field][unknown].iloc[0]
                raise ConfigError(f"{how.crosswalk}, line {unknown.to_numpy().argmax() + 2}: unknown {field} "
                                  f"{value!r}{did_you_mean(value, allowed)}")
        require_columns(cells, key, file=file, role=role)
        for depth, column in enumerate(key):
            known = pd.MultiIndex.from_frame(table[key[:depth + 1]])
            unknown = ~pd.MultiIndex.from_frame(cells[key[:depth + 1]]).isin(known)
            if unknown.any():
                row = cells.iloc[unknown.argmax()]
                given = row[key[:depth]].to_dict()
                listed = table.loc[(table[key[:depth]] == row[key[:depth]]).all(axis=1), column]
                raise SourceError(f"unknown {column} {shown(row[column])}{f' of {given}' if given else ''}"
                                  f"{did_you_mean(str(row[column]), list(listed))}, not in {how.crosswalk}",
                                  file=file, row=int(row[LINE]), column=column_label(cells, column),
                                  hint=f"After checking what the row is, add it to {how.crosswalk} in the source's "
                                       "folder.")


def through_crosswalk(cells: pd.DataFrame, how, table: pd.DataFrame) -> dict[str, pd.Series]:
    """The `to` fields of a crosswalk keyed by several columns (every row is in it: `check_crosswalk_keys`)."""
    found = cells[list(how.key)].merge(table, how="left", on=list(how.key))
    return {field: pd.Series(found[field].to_numpy(), index=cells.index) for field in how.fields}


def check_dropped_values(dropped: pd.DataFrame, rule, spec, *, file: str, role: str) -> None:
    """A dropped row reviewed as holding values only in `only_values_in` holds none elsewhere."""
    if rule.only_values_in is None:
        return
    require_columns(dropped, [c for block in spec.values for c in block.columns], file=file, role=role)
    for column in [c for c in value_columns(dropped, spec) if c not in rule.only_values_in]:
        holding = dropped[column].notna() & (dropped[column] != "")
        if holding.any():
            row = dropped[holding].iloc[0]
            raise SourceError(f"the drop rule {dict(rule.where)} ({rule.reason}) leaves out this row, reviewed as "
                              f"holding values in {list(rule.only_values_in)} only, but it holds {shown(row[column])}",
                              file=file, row=int(row[LINE]), column=column_label(dropped, column),
                              hint=f"Review the row: read it, or update the rule under inputs.{role}.drop.")


def added(cells: pd.DataFrame, fields: pd.DataFrame, block, grouping: str, *, file: str, role: str) -> pd.DataFrame:
    """The rows of a block whose columns are parts of one value (`add`): their sum, as text the
    readers parse back exactly, flagged `derived` where two or more parts are numbers."""
    parts = _numbers(cells, block.columns, grouping, file=file, role=role)
    total = parts.sum(axis=1, min_count=1)
    derived = (parts.notna().sum(axis=1) > 1).to_numpy()
    return fields.assign(value=total.map(lambda x: repr(float(x))).where(total.notna()).to_numpy(),
                         _column="+".join(block.columns),
                         **{**block.set, "flag": np.where(derived, "derived", block.set.get("flag"))})
