import pytest

from ercan.errors import ConfigError
from ercan.storage import Storage, resolve_root


def test_storage_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("ERCAN_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_root() == str(tmp_path / "ercan-data")
    monkeypatch.setenv("ERCAN_STORAGE", "s3://bucket/prefix/")
    assert resolve_root() == "s3://bucket/prefix"
    assert resolve_root(str(tmp_path / "cli")) == str(tmp_path / "cli")


def test_unsupported_scheme_is_a_configuration_error():
    with pytest.raises(ConfigError, match="not supported"):
        resolve_root("ftp://example/x")


def test_paths_cannot_leave_the_root(tmp_path):
    storage = Storage(str(tmp_path))
    with pytest.raises(ConfigError, match="would leave the storage root"):
        storage.path("snapshots", "..", "..", "etc")
    with pytest.raises(ConfigError):
        storage.path("/etc/passwd")


def test_writes_are_whole_and_leave_no_temporary_files(tmp_path):
    storage = Storage(str(tmp_path))
    storage.write_json({"a": 1}, "state", "x.json")
    storage.write_json({"a": 2}, "state", "x.json")
    assert storage.read_json("state", "x.json") == {"a": 2}
    assert storage.listdir("state") == ["x.json"]


def test_tables_made_while_others_are_written_stop_with_the_writer(tmp_path):
    """A harmonizer's tables are made in a thread while the previous one is written: an error in its
    tables is raised to the writer; an error writing (a table of another schema) stops and closes it; in
    both cases nothing is left under the name. Tables built here."""
    import threading

    import pyarrow as pa

    storage = Storage(str(tmp_path))
    schema = pa.schema([("x", pa.int64())])
    made, closed = [], []

    def tables(bad):
        try:
            for i in range(100):
                made.append(i)
                if i == 3:
                    yield bad
                    continue
                yield pa.table({"x": [i]}, schema=schema)
        finally:
            closed.append(True)

    def failing():
        yield pa.table({"x": [0]}, schema=schema)
        raise ValueError("row 7 of plots.csv")

    with pytest.raises(ValueError, match="row 7 of plots.csv"):
        storage.write_parquet_batches(failing(), schema, "staging", "a.parquet")
    with pytest.raises(ValueError):
        storage.write_parquet_batches(tables(pa.table({"y": ["other"]})), schema, "staging", "b.parquet")
    assert closed == [True] and len(made) < 100  # stopped, not run to the end
    assert storage.listdir("staging") == []
    assert not [t for t in threading.enumerate() if t.name == "ercan-ahead"]
    assert storage.write_parquet_batches(iter([pa.table({"x": [1, 2]}, schema=schema)] * 3), schema, "c.parquet") == 6
