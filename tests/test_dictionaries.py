"""ercan/dictionaries.py: text columns on one dictionary over all their chunks. Arrays built here."""

import pyarrow as pa

from ercan.dictionaries import unified


def _buffer(chunk):
    return chunk.dictionary.buffers()[2].address


def test_chunks_with_their_own_dictionaries_get_one_and_a_unified_column_is_left_alone():
    column = pa.chunked_array([pa.array(["a", "b"]).dictionary_encode(), pa.array(["b", "c"]).dictionary_encode()])
    table = unified(pa.table({"code": column}), ["code"])
    assert table["code"].chunk(0).dictionary.equals(table["code"].chunk(1).dictionary)
    assert table["code"].to_pylist() == ["a", "b", "b", "c"]
    again = unified(table, ["code"])
    assert _buffer(again["code"].chunk(1)) == _buffer(table["code"].chunk(1))


def test_a_unified_table_concatenated_with_others_merges_each_dictionary_once():
    """A source's rows unified by its gate (chunks sharing one dictionary), concatenated with another
    source's (chunks of their own, one with a null): one dictionary for all, every value and null kept."""
    gated = unified(pa.table({"code": pa.chunked_array([pa.array(["a", "b"]).dictionary_encode(),
                                                        pa.array(["c", "a"]).dictionary_encode()])}), ["code"])
    other = pa.table({"code": pa.chunked_array([pa.array(["z", None, "b"]).dictionary_encode(),
                                                pa.array(["y"]).dictionary_encode()])})
    both = pa.concat_tables([gated, other])
    table = unified(both, ["code"])
    chunks = table["code"].chunks
    assert len({_buffer(chunk) for chunk in chunks}) == 1 and len(chunks) == 4
    assert table["code"].to_pylist() == ["a", "b", "c", "a", "z", None, "b", "y"] == both["code"].to_pylist()
    assert sorted(chunks[0].dictionary.to_pylist()) == ["a", "b", "c", "y", "z"]
