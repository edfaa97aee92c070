"""Shared fixtures. Tests run on the real sample data shipped in sample_data/."""

from __future__ import annotations

import hashlib
import os
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


@pytest.fixture
def harmonized():
    return harmonize_sample
