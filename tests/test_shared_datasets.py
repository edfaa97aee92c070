"""Every dataset of the shared data folder is read by a source (or, for a vocabulary, a crosswalk),
as docs/sources.md declares. A source need not come from the shared folder: its data may come
from anywhere (its SOURCE.txt says where), so nothing here lists the sources. (That `ercan sources` lists every registered source is checked on a
real run by tests/test_cli.py::test_sources_and_versions_commands.)"""

import os
import re
from pathlib import Path

import pytest

from ercan.sources import PROJECT_ROOT, registry

SOURCES_DOC = PROJECT_ROOT / "docs" / "sources.md"
# The programme's shared data folder, where it is on the machine (not part of a clone).
SHARED_DATA = Path(os.environ.get("ERCAN_SHARED_DATA", "/work/shared/data"))


def declared_readers() -> dict[str, list[str] | None]:
    """docs/sources.md, section 'Shared datasets and what reads them': dataset → readers (None: not
    read yet, the row says why)."""
    text = SOURCES_DOC.read_text(encoding="utf-8")
    section = text.split("## Shared datasets and what reads them", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", section, flags=re.MULTILINE)
    return {dataset: None if NOT_READ.match(readers) else re.findall(r"`([^`]+)`", readers) for dataset, readers in rows}


NOT_READ = re.compile(r"^not read yet: \S")  # a dataset awaiting its source, with why


def test_every_declared_dataset_has_readers_that_exist():
    readers = declared_readers()
    assert len(readers) >= 16
    for dataset, names in readers.items():
        assert names is None or names, f"{dataset}: no source reads it, and the row does not say why"
        for name in names or ():
            assert name in registry() or (PROJECT_ROOT / name).is_file(), f"{dataset}: {name!r} is no source or file"


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"the shared data folder {SHARED_DATA} is not on this machine")
def test_every_shared_dataset_is_declared():
    on_disk = {path.name for path in SHARED_DATA.iterdir() if path.is_dir()}
    assert on_disk == set(declared_readers()), "a shared dataset without a reader, or a row for one that is gone"

