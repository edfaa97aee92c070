"""Dictionary-encoded text columns on one dictionary over all their chunks.

Staged rows are read with their text dictionary-encoded (`Storage.read_parquet(strings_as_dictionary=
True)`): each Parquet row group brings a dictionary of its own. Comparing codes across chunks (Arrow's
group-by on text keys, the gates' reductions) needs one dictionary for the whole column.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def unified(table: pa.Table, columns) -> pa.Table:
    """The table with each of these dictionary-encoded columns on one dictionary over all its chunks.

    Arrow's unifier goes through every chunk's dictionary, also one shared by several chunks (a row
    group's chunks, a unified table's: 13 s for ten million rows of 1.7M plot codes unified twice). So a
    column whose chunks all share theirs is left as it is, and otherwise each distinct dictionary is
    unified once and the chunks' codes mapped onto the result."""
    for name in dict.fromkeys(columns):
        column = table[name]
        if pa.types.is_dictionary(column.type) and column.num_chunks > 1:
            dictionaries = {_identity(chunk.dictionary): chunk.dictionary for chunk in column.chunks}
            if len(dictionaries) > 1:
                table = table.set_column(table.schema.get_field_index(name), name, _merged(column, dictionaries))
    return table


def _merged(column: pa.ChunkedArray, dictionaries: dict[tuple, pa.Array]) -> pa.ChunkedArray:
    """The column on one dictionary: Arrow's unifier given each distinct dictionary once, as a chunk of
    its own codes in order, returns each one's codes in the unified dictionary (its map)."""
    index = column.type.index_type
    every_code = pa.table({"c": pa.chunked_array(
        [pa.DictionaryArray.from_arrays(pa.array(np.arange(len(d)), index), d) for d in dictionaries.values()],
        column.type)}).unify_dictionaries()["c"]
    # A map that changes no code (a dictionary that is a beginning of the unified one, e.g. the one value
    # of a source or unit column in every row group) leaves its chunks' codes as they are.
    maps = {identity: None if chunk.indices.equals(pa.array(np.arange(len(chunk)), index)) else chunk.indices
            for identity, chunk in zip(dictionaries, every_code.chunks)}
    dictionary = every_code.chunk(0).dictionary

    def codes(chunk):
        mapping = maps[_identity(chunk.dictionary)]
        return chunk.indices if mapping is None else mapping.take(chunk.indices)

    return pa.chunked_array([pa.DictionaryArray.from_arrays(codes(chunk), dictionary) for chunk in column.chunks],
                            column.type)


def _identity(dictionary: pa.Array) -> tuple:
    """Where a dictionary's values are: equal for the chunks that share it."""
    return (dictionary.offset, len(dictionary), *(b.address if b is not None else None for b in dictionary.buffers()))
