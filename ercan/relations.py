"""The pairs of values a relation of the field registry compares (`schema.RELATIONS`: loss within
extent, a pool within the total, a subnational unit within its country), and each aggregate a source
reports beside the sum of its members (`members_to_aggregates`, schema.MEMBERS_FACTOR). Plain Arrow and
pandas; the schema suite's expectations on these frames are evaluated by GX (ercan/validation.py)."""

from __future__ import annotations

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
    rows = table.select([*keys, "value"]).take(positions)
    columns = {name: _text(rows[name]) for name in rows.column_names}
    return pa.table({**columns, POSITION: positions}).to_pandas()


def _text(column):
    return column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column


MEMBERS_TO_AGGREGATE = "members_to_aggregate"


def members_to_aggregates(table: pa.Table) -> pd.DataFrame:
    """Each aggregate the rows report beside the bottom-up sum of the same rows' members, as the
    reconciliation product computes them (ercan/accounting/reconcile.py): the sum over the aggregate
    (`members_to_aggregate`) and the members' `coverage`, indexed by the aggregate row's position."""
    from ercan.accounting.hierarchy import Hierarchy
    from ercan.accounting.reconcile import reconcile_aggregates

    empty = pd.DataFrame({MEMBERS_TO_AGGREGATE: pd.Series(dtype="float64"), "coverage": pd.Series(dtype="object")})
    parents = pc.unique(_text(table["parent_code"])).drop_null()
    additive = pc.is_in(_text(table["variable"]), value_set=pa.array(ADDITIVE_VARIABLES, pa.string()))
    # only the additive rows, and only when one of them is another row's parent (no aggregate: nothing to sum)
    if not pc.any(pc.and_(additive, pc.is_in(_text(table["area_code"]), value_set=parents))).as_py():
        return empty
    positions = pc.indices_nonzero(pc.fill_null(additive, False))
    rows = table.take(positions)
    rows = pa.table({**{name: _text(rows[name]) for name in rows.column_names}, POSITION: positions}).to_pandas()
    found = reconcile_aggregates(rows, Hierarchy(rows))
    found = found[found["reported_value"] != 0] if len(found) else found
    if not len(found):
        return empty
    return pd.DataFrame({MEMBERS_TO_AGGREGATE: (found["bottom_up_value"] / found["reported_value"]).to_numpy(),
                         "coverage": found["coverage"].to_numpy()},
                        index=found[POSITION].to_numpy()).sort_index(kind="stable")
