"""What GX is given of a large table, to judge it exactly from far fewer values than rows
(ercan/validation.py, on every table of more than VALIDATION_BATCH_ROWS rows).

GX's pandas engine checks every row, on pandas objects it copies first: ten million rows cost tens of
seconds per suite. Many checks need less:
- a check of each value on its own (in a set, matching a pattern, not null, ...) has one outcome per
  distinct value: GX is given each distinct value of the column once, and the rows holding each count
  (`Values`, exact);
- a range check (between, not null) holds on every row if it holds on the least and the greatest
  value (`Values`, extremes); if it does not, GX checks the rows themselves, for exact counts;
- a uniqueness check only compares values: GX is given the codes of the text columns in one dictionary
  (integers: no text to build or hash) and the examples are read back (`codes`, `decoded`).
The text columns they read must have one dictionary over all their chunks (`unified`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# GX's column map expectations whose outcome for a row depends on the row's value alone (not on other
# rows, as uniqueness or ordering do); without a row condition, which reads other columns.
VALUE_WISE = frozenset({
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_null",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_not_match_regex_list",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_json_parseable",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
})
# Those of them that hold on every value of a numeric column if they hold on its least and greatest.
DECIDED_BY_EXTREMES = frozenset({"expect_column_values_to_be_between", "expect_column_values_to_not_be_null"})

# Distinct values are worth their counting when they are at most this share of the rows.
_FEW = 4


def unified(table: pa.Table, columns) -> pa.Table:
    """The table with each of these dictionary-encoded columns on one dictionary over all its chunks. A
    column whose chunks share theirs already is left as it is: Arrow would unify it all over again (13 s
    for ten million rows of a million plot codes, against 2 s for the first time)."""
    for name in dict.fromkeys(columns):
        column = table[name]
        if pa.types.is_dictionary(column.type) and not _shares_dictionary(column):
            table = table.set_column(table.schema.get_field_index(name), name,
                                     pa.table({name: column}).unify_dictionaries()[name])
    return table


def _shares_dictionary(column: pa.ChunkedArray) -> bool:
    def where(chunk):
        return [b.address if b is not None else None for b in chunk.dictionary.buffers()]

    return all(where(chunk) == where(column.chunk(0)) for chunk in column.chunks)


def value_wise(expectation: dict) -> bool:
    return expectation["type"] in VALUE_WISE


@dataclass
class Values:
    """What GX is given of one column for some value-wise checks: `frame`, the columns their row
    condition reads (`by`) and the column, holding either each distinct combination of their values
    (`exact`) or, per combination of the condition's columns, the column's least and greatest value and
    a null; `rows`, how many of the table's rows each row of the frame stands for."""

    column: pa.ChunkedArray
    by: list[str]
    frame: pa.Table
    rows: np.ndarray
    exact: bool

    @property
    def values(self) -> pa.ChunkedArray:
        """The frame's column of the column's values."""
        return self.frame.column(len(self.by))

    def rows_of(self, positions) -> int:
        return int(self.rows[positions].sum())

    def missing(self, positions) -> int:
        """How many rows the frame's rows at these positions stand for whose value is missing."""
        null = self.values.is_null().to_numpy(zero_copy_only=False)
        return int(self.rows[positions][null[positions]].sum())

    def first_rows(self, positions: list[int], count: int) -> list[int]:
        """The first `count` rows of the column (0-based) holding a value at these positions of the frame
        (of an exact frame without a condition)."""
        wanted = self.values.take(pa.array(positions, pa.int64())).combine_chunks()
        return pc.indices_nonzero(pc.is_in(self.column, value_set=wanted, skip_nulls=False)).slice(0, count).to_pylist()


def values_of(table: pa.Table, name: str, by: list[str], types: set[str]) -> Values | None:
    """What GX is given of the column `name` for value-wise expectations of these types whose row
    condition reads the columns `by`: the distinct combinations if they are few; else the extremes if
    the expectations are decided by them and the condition's combinations are few; else None (the rows
    themselves)."""
    column = table[name]
    reads_itself = name in by  # a condition on the column itself: its extremes do not stand for the rows
    by = [c for c in by if c != name]
    distinct = _distinct(table, name, by)
    if distinct is not None:
        return Values(column, by, *distinct, exact=True)
    kind = column.type
    if types <= DECIDED_BY_EXTREMES and not reads_itself and (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                         or pa.types.is_decimal(kind) or pa.types.is_temporal(kind)):
        extremes = _extremes(table, name, by)
        if extremes is not None:
            return Values(column, by, *extremes, exact=False)
    return None


def _distinct(table: pa.Table, name: str, by: list[str]) -> tuple[pa.Table, np.ndarray] | None:
    """The distinct combinations of the columns `by` and `name` and how many rows hold each, if they
    are few; dictionary-encoded text counted by its codes, other text, integers and the like by Arrow's
    hash (floats not: they seldom repeat)."""
    column, kind, rows = table[name], table[name].type, table.num_rows
    if pa.types.is_dictionary(kind):
        dictionary = column.chunk(0).dictionary
        if len(dictionary) * _FEW > rows:
            return None
        if not by:
            null = len(dictionary)  # the code counting nulls
            counts = sum(np.bincount(chunk.indices.fill_null(null).to_numpy(), minlength=null + 1) for chunk in column.chunks)
            held = np.flatnonzero(counts)
            values = dictionary.take(pa.array(held[held < null]))
            if counts[null]:
                values = pa.concat_arrays([values, pa.nulls(1, values.type)])
            return pa.table({name: values}), counts[held]
    elif not (pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_temporal(kind)
              or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    if not by:
        counts = pc.value_counts(column)  # null is a value of its own
        if len(counts) * _FEW > rows:
            return None
        return pa.table({name: counts.field("values")}), counts.field("counts").to_numpy()
    groups = table.select([*by, name]).group_by([*by, name]).aggregate([([], "count_all")])
    if groups.num_rows * _FEW > rows:
        return None
    return _plain(groups.select([*by, name])), groups["count_all"].to_numpy()


def _extremes(table: pa.Table, name: str, by: list[str]) -> tuple[pa.Table, np.ndarray] | None:
    """Per combination of the columns `by` (if few), the column's least value (standing for all the
    combination's values), its greatest (for none) and a null (for its nulls and NaNs, which pandas and
    GX count as missing)."""
    column = table[name]
    parts = pa.table({**{c: table[c] for c in by}, name: column})
    aggregates = [(name, "min"), (name, "max"), (name, "count", pc.CountOptions("only_null")), ([], "count_all")]
    if pa.types.is_floating(column.type):
        parts = parts.append_column("nan", pc.is_nan(column))  # min and max leave NaNs out
        aggregates.append(("nan", "sum"))
    groups = parts.group_by(by).aggregate(aggregates)
    if groups.num_rows * _FEW > table.num_rows:
        return None
    missing = groups[f"{name}_count"].to_numpy()
    if "nan_sum" in groups.column_names:
        missing = missing + pc.fill_null(groups["nan_sum"], 0).to_numpy()  # (no sum of only nulls)
    keys = {c: groups[c] for c in by}
    frame = _plain(pa.concat_tables([pa.table({**keys, name: groups[f"{name}_min"]}),
                                     pa.table({**keys, name: groups[f"{name}_max"]}),
                                     pa.table({**keys, name: pa.nulls(groups.num_rows, column.type)})]))
    rows = np.concatenate([groups["count_all"].to_numpy() - missing, np.zeros(groups.num_rows, np.int64), missing])
    stands = np.concatenate([np.ones(groups.num_rows * 2, bool), missing > 0])
    kept = stands & (frame[name].is_valid().to_numpy(zero_copy_only=False) | (np.arange(len(rows)) >= groups.num_rows * 2))
    return frame.filter(pa.array(kept)), rows[kept]


def _plain(table: pa.Table) -> pa.Table:
    """The table with its dictionary-encoded columns decoded (a frame of few rows)."""
    return table.cast(pa.schema([f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                                 for f in table.schema]))


def codes(frame: pa.Table) -> tuple[pa.Table, dict[str, pa.Array]]:
    """The frame with each dictionary-encoded column as its codes (null as -1), and those columns'
    dictionaries: equal values, equal codes."""
    dictionaries, columns = {}, []
    for name in frame.column_names:
        column = frame[name]
        if pa.types.is_dictionary(column.type) and column.num_chunks:
            dictionaries[name] = column.chunk(0).dictionary
            column = pa.chunked_array([chunk.indices.fill_null(-1) for chunk in column.chunks], column.type.index_type)
        columns.append(column)
    return pa.table(columns, names=frame.column_names), dictionaries


def decoded(example: dict, dictionaries: dict[str, pa.Array]) -> dict:
    """A row of codes (GX's example of a multicolumn check) as its values; null as NaN, as pandas has it."""
    def value(column, v):
        if column not in dictionaries:
            return v
        return math.nan if v == -1 else dictionaries[column][int(v)].as_py()

    return {column: value(column, v) for column, v in example.items()}
