"""What GX is given of a large table, to judge it exactly from far fewer values than rows
(ercan/validation.py, on every table of more than VALIDATION_BATCH_ROWS rows).

GX's pandas engine checks every row, on pandas objects it copies first: ten million rows cost tens of
seconds per suite. Many checks need less:
- a check of each value on its own (in a set, matching a pattern, not null, ...) has one outcome per
  distinct value: GX is given each distinct value of the column once, and the rows holding each count
  (`Values`, exact);
- a range check (between, not null) holds on every row if it holds on the least and the greatest
  value (`Values`, extremes); if it does not, GX checks the rows themselves, for exact counts;
- a uniqueness check can find a row unexpected only if another row holds the same values: GX is given
  those rows alone (`repeated`: each row's values as one integer, sorted; equal neighbours repeat), and
  finds among them exactly the unexpected rows it finds among all.
The text columns they read must have one dictionary over all their chunks (`unified`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ercan.dictionaries import unified

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

# GX's expectations that no two rows hold the same values in their columns (rows with missing values aside).
UNIQUENESS = frozenset({"expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"})

# Distinct values are worth their counting when they are at most this share of the rows.
_FEW = 4


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


def repeated(table: pa.Table, columns: list[str]) -> pa.Array:
    """The positions (ascending) of the rows whose values in these columns some other row holds too (a
    null and a NaN alike, as pandas has them): the only rows a uniqueness check of these columns can find
    unexpected, whichever rows it ignores for missing values."""
    keys, radix = _row_keys(table, columns)
    ordered = np.sort(keys.astype(np.uint32) if radix <= 2**32 else keys)  # (half the time of 64 bits)
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    return pa.array(np.flatnonzero(np.isin(keys, repeats)) if len(repeats) else np.empty(0, np.int64))


def rows_at(table: pa.Table, positions: pa.Array) -> pa.Table:
    """The table's rows at these positions as the whole table would be given to GX: text decoded (not with
    a dictionary of every value), an integer column with nulls anywhere as floats (as pandas has it)."""
    rows = _plain(table.take(positions))
    return rows.cast(pa.schema([f.with_type(pa.float64()) if pa.types.is_integer(f.type) and table[f.name].null_count
                                else f for f in rows.schema]))


# Row keys are mixed from the columns' numbers in a signed 64-bit integer; an integer column is numbered by
# its offsets when they take at most _NARROW numbers (so that, after renumbering, any column still fits).
_KEY_LIMIT = 2**63
_NARROW = 2**32


def _row_keys(table: pa.Table, columns: list[str]) -> tuple[np.ndarray, int]:
    """One integer per row, equal for rows with equal values in these columns: the columns' numbers
    (`_numbered`) mixed in the radix of their counts, renumbered densely when the next column would
    overflow (a million rows need no more than 20 bits, whatever the values); and the radix."""
    # Two arrays for all columns, changed in place: a new one of ten million rows costs more than its arithmetic.
    keys, numbers, radix = np.zeros(table.num_rows, np.int64), np.empty(table.num_rows, np.int64), 1
    for name in columns:
        count = _numbered(table[name], numbers)
        if count is None:
            continue  # one value on every row: it tells no rows apart
        if radix * count >= _KEY_LIMIT:
            keys[:] = pc.dictionary_encode(pa.array(keys)).indices.to_numpy()
            radix = int(keys.max()) + 1 if len(keys) else 1
        keys *= count
        keys += numbers
        radix *= count
    return keys, radix


def _numbered(column: pa.ChunkedArray, numbers: np.ndarray) -> int | None:
    """Each value of the column as an integer from 1, equal values alike, and 0 for a missing one (null or
    NaN), written to `numbers`; and how many integers that can take. None if every row holds the same
    value (or none), and nothing written. Text by its code in the column's one dictionary (Arrow's
    dictionaries hold each value once), integers of a narrow range by their offset from the least, any
    other by Arrow's hash (`dictionary_encode`: one dictionary over all chunks)."""
    kind = column.type
    if column.null_count == len(column):
        return None
    if pa.types.is_dictionary(kind):
        column = unified(pa.table({"c": column}), ["c"])["c"]
        size = len(column.chunk(0).dictionary)
        if size == 1 and not column.null_count:
            return None
        _offsets([chunk.indices for chunk in column.chunks], -1, numbers)
        return size + 1
    if pa.types.is_boolean(kind):
        column, kind = column.cast(pa.int8()), pa.int8()
    if pa.types.is_integer(kind):
        least, greatest = (x.as_py() for x in pc.min_max(column).values())
        if least == greatest and not column.null_count:
            return None
        if greatest - least + 2 <= _NARROW:
            _offsets(column.chunks, least - 1, numbers)
            return greatest - least + 2
    if pa.types.is_floating(kind):  # NaN missing and -0.0 equal to 0.0, as pandas compares them
        column = pc.add(pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column), pa.scalar(0, kind))
    encoded = pc.dictionary_encode(column)
    _offsets([chunk.indices for chunk in encoded.chunks], -1, numbers)
    return len(encoded.chunk(0).dictionary) + 1


def _offsets(chunks, base: int, offsets: np.ndarray) -> None:
    """The integers of these chunks less `base` (so that the least is 1), null as 0, written to `offsets`."""
    at = 0
    for chunk in chunks:
        part = offsets[at:at + len(chunk)]
        part[:] = chunk.fill_null(0).to_numpy() if chunk.null_count else chunk.to_numpy()
        if chunk.null_count:
            part[chunk.is_null().to_numpy(zero_copy_only=False)] = base
        at += len(chunk)
    offsets -= base
