"""The pairs of values a relation of the field registry compares (`schema.RELATIONS`: loss within
extent, a pool within the total, a subnational unit within its country), and each aggregate a source
reports beside the sum of its members (`members_to_aggregates`, schema.MEMBERS_FACTOR). Plain Arrow and
pandas; the schema suite's expectations on these frames are evaluated by GX (ercan/validation.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ercan.schema import ADDITIVE_VARIABLES, Relation

POSITION = "_position"


def pairs(table: pa.Table, relation: Relation) -> pd.DataFrame:
    """One row per (lesser row, greater value) the relation compares: its `lesser_name` and `greater_name`
    columns, indexed by the lesser row's position in `table` (so a failure names that row)."""
    on = list(relation.on)
    if relation.parent:  # the lesser row's parent is the greater row's area
        lesser_keys, greater_keys = ["parent_code", *on], ["area_code", *on]
    else:
        lesser_keys = greater_keys = on
    lesser = _selected(table, relation.lesser, lesser_keys)
    greater = _selected(table, relation.greater, greater_keys).drop(columns=POSITION)
    if relation.greatest:
        greater = greater.groupby(greater_keys, dropna=False, sort=False, as_index=False)["value"].max()
    # (pandas matches a missing key with a missing key: a row without category meets one without category)
    joined = lesser.merge(greater, left_on=lesser_keys, right_on=greater_keys, suffixes=("_lesser", "_greater"))
    frame = pd.DataFrame({relation.lesser_name: joined["value_lesser"].to_numpy(),
                          relation.greater_name: joined["value_greater"].to_numpy()},
                         index=joined[POSITION].to_numpy())
    return frame.sort_index(kind="stable")


def _selected(table: pa.Table, where: dict[str, tuple], keys: list[str]) -> pd.DataFrame:
    """The keys, value and position of the rows whose columns hold one of the values `where` allows, as
    pandas with text as text (only these rows: a relation reads a few variables of a table of any size)."""
    mask = None
    for column, values in where.items():
        held = pc.is_in(_text(table[column]), value_set=pa.array(values, pa.string()))
        mask = held if mask is None else pc.and_(mask, held)
    positions = pc.indices_nonzero(pc.fill_null(mask, False))
    return _as_text(table.select([*keys, "value"]).take(positions).append_column(POSITION, positions))


def _as_text(table: pa.Table) -> pd.DataFrame:
    return pa.table({name: _text(table[name]) for name in table.column_names}).to_pandas()


def _text(column):
    return column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column


MEMBERS_TO_AGGREGATE = "members_to_aggregate"


# What a member's value shares with its aggregate's: all of the observation key but the area
_SAME = ["source", "year", "year_start", "year_end", "land_category", "category", "variable", "pool"]


def members_to_aggregates(table: pa.Table) -> pd.DataFrame:
    """Each aggregate the rows report (a row of an additive variable whose area is other rows' parent)
    beside the sum of its members' values of the same key: the sum over the aggregate
    (`members_to_aggregate`), and the `coverage`, complete where every member the source has for that
    parent reported, indexed by the aggregate row's position. Summed in Arrow: of a table of any size
    only the sums and the aggregates' rows come to pandas."""
    empty = pd.DataFrame({MEMBERS_TO_AGGREGATE: pd.Series(dtype="float64"), "coverage": pd.Series(dtype="object")})
    additive = pc.fill_null(pc.is_in(_text(table["variable"]), value_set=pa.array(ADDITIVE_VARIABLES, pa.string())), False)
    members = table.filter(pc.and_(additive, pc.is_valid(table["parent_code"])))
    if not members.num_rows:
        return empty
    # grouped as they are (one dictionary per column: a gate's table has them already)
    members = members.select(["parent_code", "area_code", *_SAME, "value"]).unify_dictionaries()
    is_aggregate = pc.fill_null(pc.and_(additive, pc.is_in(_text(table["area_code"]),
                                                           value_set=_text(pc.unique(members["parent_code"])))), False)
    positions = pc.indices_nonzero(is_aggregate)
    if not len(positions):
        return empty
    sums = _as_text(members.group_by(["parent_code", *_SAME], use_threads=False).aggregate(
        [("value", "sum"), ("area_code", "count_distinct")]))
    every = _as_text(members.group_by("parent_code").aggregate([("area_code", "count_distinct")]))
    aggregates = _as_text(table.select(["area_code", *_SAME, "value"]).take(positions).append_column(POSITION, positions))
    # (pandas matches a missing key with a missing key, as the members' sums were grouped)
    joined = aggregates.merge(sums, left_on=["area_code", *_SAME], right_on=["parent_code", *_SAME]) \
        .merge(every, on="parent_code", suffixes=("", "_of_parent"))
    joined = joined[joined["value"] != 0]
    if not len(joined):
        return empty
    complete = joined["area_code_count_distinct"] == joined["area_code_count_distinct_of_parent"]
    return pd.DataFrame({MEMBERS_TO_AGGREGATE: (joined["value_sum"] / joined["value"]).to_numpy(),
                         "coverage": np.where(complete, "complete", "partial")},
                        index=joined[POSITION].to_numpy()).sort_index(kind="stable")
