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
