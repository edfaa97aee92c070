"""Shared fixtures. Tests run on the real sample data shipped in sample_data/."""

from __future__ import annotations

import atexit
import fcntl
import functools
import hashlib
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ercan.sources import SAMPLE_DATA, RawFile, get

# Keep Prefect and GX state inside the test run and off the network.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@functools.cache
def _migrated_prefect_database() -> Path:
    """A Prefect database with every migration applied, made once per test process: Prefect migrates a
    new database as its temporary server starts (about half of the server's 10 s start on this machine),
    so each test's Prefect home starts from a copy of this one."""
    home = Path(tempfile.mkdtemp(prefix="ercan-prefect-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    subprocess.run([str(Path(sys.executable).with_name("prefect")), "server", "database", "upgrade", "-y"],
                   env={**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
                   check=True, capture_output=True, timeout=300)
    return home / "prefect.db"


def prefect_home(path: Path) -> Path:
    """`path` as a Prefect home whose database is already migrated (kept if it has one)."""
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "prefect.db").exists():
        shutil.copyfile(_migrated_prefect_database(), path / "prefect.db")
    return path


def prefect_env(home: Path, *, unset: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """The environment of an `ercan` or `prefect` subprocess in Prefect's ephemeral mode with its own home
    (`prefect_home`), telemetry off, no server of the caller's, wide enough for the ids in tables; without
    the `unset` variables, and with `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", *unset)}
    return {**env, "PREFECT_HOME": str(prefect_home(home)), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "COLUMNS": "250", **extra}


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


@dataclass(frozen=True)
class PublishedStore:
    """A store into which every shipped source was gated, and every product accounted and published,
    with the Data Docs of that run ("run1"); no report. Tests write only into a `copy`."""

    root: Path
    outcomes: list
    manifests: list[dict]
    docs: str | None

    def copy(self, to: Path) -> "PublishedStore":
        shutil.copytree(self.root, to)
        return replace(self, root=to)


@pytest.fixture(scope="session")
def published_store(tmp_path_factory) -> PublishedStore:
    """The shipped data through the plain pipeline functions (about a minute), once per test run: the
    first pytest-xdist worker to need it builds it under a file lock in the run's shared temporary folder,
    the other loads what it built; shared by the modules that start from a published store."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's base is <run>/popen-gwN
        shared = shared.parent
    built = shared / "published-store.pickle"
    with open(shared / "published-store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        if not built.exists():
            store = _publish_every_source(shared / "published-store" / "ercan-data")
            built.write_bytes(pickle.dumps(store))
        return pickle.loads(built.read_bytes())


def _publish_every_source(root: Path) -> PublishedStore:
    from ercan import gate_reports, pipeline, sources
    from ercan.storage import Storage

    storage = Storage(str(root))
    outcomes = []
    for harmonizer in sources.registry().values():
        pipeline.ingest_landing(storage, harmonizer)
        outcomes.append(pipeline.gate(storage, harmonizer))
    # under the inputs' key, as the flow publishes (without its accounting cache entry: a Prefect task's)
    manifests = pipeline.publish_products(storage, pipeline.account(storage), inputs_key=pipeline.products_key(storage))
    return PublishedStore(root, outcomes, manifests, gate_reports.data_docs(storage, "run1"))


def pytest_collection_modifyitems(items):
    """The files with slow (end-to-end) tests first, the quick files after them: pytest-xdist's loadfile
    hands out files in this order, so the long ones start early and the quick ones fill both workers at
    the end, instead of one worker finishing a long file alone."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the order within each kind stays
