"""Usage and configuration errors exit with status 2 and say what to do, before any work starts."""

import subprocess
import sys
from pathlib import Path

ERCAN = str(Path(sys.executable).with_name("ercan"))


def ercan(*args):
    return subprocess.run([ERCAN, *args], capture_output=True, text=True, timeout=60)


def test_unknown_source_suggests_the_closest(tmp_path):
    result = ercan("run", "--source", "fra2002", "--storage", str(tmp_path))
    assert result.returncode == 2
    assert "unknown source 'fra2002' (did you mean 'fra2020'?)" in " ".join(result.stderr.split())
    assert not (tmp_path / "snapshots").exists()


def test_unsupported_storage_is_a_configuration_error():
    result = ercan("run", "--storage", "ftp://host/path")
    assert result.returncode == 2 and "not supported" in result.stderr


def test_unknown_command_is_a_usage_error():
    assert ercan("frobnicate").returncode == 2


def test_ingest_needs_a_role_when_the_file_name_does_not_tell(tmp_path):
    raw = tmp_path / "renamed.xlsx"
    raw.write_bytes(b"x")
    result = ercan("ingest", "fra2020", str(raw), "--storage", str(tmp_path / "store"))
    assert result.returncode == 2 and "pass --role" in " ".join(result.stderr.split())
