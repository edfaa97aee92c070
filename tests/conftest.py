"""Shared fixtures. Tests run on the real sample data shipped in sample_data/."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ercan.sources import SAMPLE_DATA, RawFile, get

# Keep Prefect and GX state inside the test run and off the network.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def raw_file(role: str, path: Path) -> RawFile:
    data = path.read_bytes()
    return RawFile(role, path.name, hashlib.sha256(data).hexdigest(), lambda: open(path, "rb"))


def sample_files(source_id: str, **replace: Path) -> dict[str, RawFile]:
    """The source's shipped sample files as RawFiles; `replace` swaps a role's file (e.g. a corrupted copy)."""
    inputs = get(source_id).source.inputs
    return {role: raw_file(role, replace.get(role, SAMPLE_DATA / rel)) for role, rel in inputs.items()}


def harmonize_sample(source_id: str, **replace: Path):
    """The source's harmonized rows as a pandas DataFrame."""
    return get(source_id).harmonize(sample_files(source_id, **replace)).to_pandas()


def edited_copy(tmp_path: Path, source_id: str, role: str, edit: Callable[[list[str]], list[str]], *,
                name: str | None = None, encoding: str = "utf-8") -> Path:
    """A copy of the source's shipped file for `role` with `edit(lines) -> lines` applied, as tmp_path/<file name>.

    Lines keep their endings as read in text mode (a CRLF file's lines end in "\\n"); the copy is
    written in `encoding` (UTF-8 unless a test wants another). `name` writes the copy under another file name.
    """
    source = SAMPLE_DATA / get(source_id).source.inputs[role]
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / (name or source.name)
    path.write_text("".join(edit(lines)), encoding=encoding, newline="")
    return path


def replace_line(number: int, old: str, new: str) -> Callable[[list[str]], list[str]]:
    """An edit for `edited_copy`: replace `old` by `new` once on line `number` (1-based), asserting `old` is there."""

    def edit(lines: list[str]) -> list[str]:
        assert old in lines[number - 1], (number, lines[number - 1])
        lines[number - 1] = lines[number - 1].replace(old, new, 1)
        return lines

    return edit


@pytest.fixture
def harmonized():
    return harmonize_sample


def one(frame, **where):
    """The single row of `frame` matching every column == value (None: the column is empty)."""
    rows = frame
    for column, wanted in where.items():
        rows = rows[rows[column].isna()] if wanted is None else rows[rows[column] == wanted]
    assert len(rows) == 1, rows
    return rows.iloc[0]
