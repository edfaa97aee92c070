"""Versioned publishing: immutable versions, manifests, changelogs, the lock, and crashes.

Product content is the real harmonized FRA 2020 rows; 'changed' content is those rows with one
value edited or one row dropped by the test."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import intake
import pyarrow.compute as pc
import pytest

from conftest import harmonize_sample
from ercan.catalog.build import build_catalog
from ercan.publish import publish, read_version, remove_incomplete, to_table, versions
from ercan.storage import LockedError, Storage

PROVENANCE = {"sources": [{"id": "fra2020"}], "licenses": ["FAO terms of use"], "snapshots": []}


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample("fra2020")


def put(storage, frame):
    return publish(storage, "observations", to_table("observations", frame), provenance=PROVENANCE, validation={})


def test_same_content_publishes_nothing_new(tmp_path, rows):
    storage = Storage(str(tmp_path))
    assert put(storage, rows) is not None
    assert put(storage, rows.sample(frac=1, random_state=1)) is None  # row order is not content
    assert len(versions(storage, "observations")) == 1


def test_manifest_describes_the_files_exactly(tmp_path, rows):
    storage = Storage(str(tmp_path))
    manifest = put(storage, rows)
    assert manifest["row_count"] == len(rows) == sum(f["rows"] for f in manifest["files"])
    assert sorted(f["path"] for f in manifest["files"]) == [
        "data/global-0.parquet", "data/national-0.parquet", "data/regional-0.parquet"]
    for f in manifest["files"]:
        data = storage.read_bytes("products", "observations", manifest["version"], f["path"])
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
    assert {"name": "value", "type": "double"} in manifest["schema"]
    assert manifest["code_version"]["package"] == "0.1.0"


def test_a_large_product_is_written_as_two_parts_that_read_back_in_order(tmp_path, rows, monkeypatch):
    """From PARALLEL_ROWS rows (made small here) each level's rows go to two files, written at once; the
    version reads back with every row, each level's rows in their order."""
    from ercan import publish as publishing

    monkeypatch.setattr(publishing, "PARALLEL_ROWS", 1000)
    storage = Storage(str(tmp_path))
    table = to_table("observations", rows)
    manifest = put(storage, rows)
    half = -(-table.num_rows // 2)
    assert sorted(f["path"] for f in manifest["files"]) == sorted(
        f"data/{level}-{part}.parquet" for part in (0, 1)
        for level in set(table.slice(part * half, half)["area_level"].to_pylist()))
    assert sum(f["rows"] for f in manifest["files"]) == table.num_rows
    read = read_version(storage, "observations", manifest["version"])
    for level in ("global", "national", "regional"):
        def of_level(t):
            return t.filter(pc.equal(t["area_level"], level)).to_pylist()
        assert of_level(read) == of_level(table)


def test_changed_content_is_a_new_version_with_a_changelog(tmp_path, rows):
    storage = Storage(str(tmp_path))
    first = put(storage, rows)
    edited = rows.copy()
    angola_2020 = (edited.area_code == "AGO") & (edited.variable == "area") & (edited.year == 2020) & edited.category.isna()
    edited.loc[angola_2020, "value"] = 70_000_000.0
    edited = edited.drop(edited.index[(edited.area_code == "BWA") & (edited.variable == "area") & (edited.year == 1990)
                                      & edited.category.isna()])
    second = put(storage, edited)
    assert [m["version"] for m in versions(storage, "observations")] == [second["version"], first["version"]]
    assert second["changes"] == {"from_version": first["version"], "added": 0, "removed": 1, "changed": 1}
    changes = storage.read_json("products", "observations", second["version"], "changes.json")
    assert changes["largest_changes"][0]["area_code"] == "AGO"
    assert changes["largest_changes"][0]["value_old"] == pytest.approx(66_607_380)
    # the first version is untouched and still readable
    assert read_version(storage, "observations", first["version"]).num_rows == len(rows)


def test_every_version_in_the_catalog_loads(tmp_path, rows):
    storage = Storage(str(tmp_path))
    put(storage, rows)
    put(storage, rows.iloc[:-10])
    build_catalog(storage)
    fresh = subprocess.run([sys.executable, "-c", f"""
import intake, json
cat = intake.from_yaml_file({str(tmp_path / "catalog.yaml")!r})
print(json.dumps({{"versions": sorted(len(cat[name].read()) for name in cat.entries),
                  "latest": len(cat["observations"].read())}}))
"""], capture_output=True, text=True, check=True)
    loaded = json.loads(fresh.stdout)
    assert loaded["versions"] == [len(rows) - 10, len(rows)]
    assert loaded["latest"] == len(rows) - 10  # the alias is the latest


def test_incomplete_versions_are_invisible_and_cleaned_up(tmp_path, rows):
    storage = Storage(str(tmp_path))
    put(storage, rows)
    storage.write_bytes(b"half", "products", "observations", "v29990101T000000000000Z-deadbeef", "data", "x.parquet")
    assert len(versions(storage, "observations")) == 1
    assert remove_incomplete(storage, "observations") == ["v29990101T000000000000Z-deadbeef"]


def test_lock_is_exclusive_and_names_its_holder(tmp_path):
    storage = Storage(str(tmp_path))
    with storage.lock("publish"):
        with pytest.raises(LockedError, match=r"held by .* pid \d+ since .*another ercan run is publishing"):
            with Storage(str(tmp_path)).lock("publish", wait=1):
                pass
    with storage.lock("publish", wait=1):  # released after use
        pass


def test_lock_left_by_a_dead_process_is_broken(tmp_path):
    storage = Storage(str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket
    storage.write_json({"host": socket.gethostname(), "pid": int(dead.stdout), "since": "2026-01-01T00:00:00+00:00",
                        "token": "x"}, "locks", "publish.lock")
    with storage.lock("publish", wait=1):
        assert storage.read_json("locks", "publish.lock")["pid"] == os.getpid()


def test_a_lock_this_process_failed_to_release_does_not_block_it(tmp_path):
    """A publish whose store dropped while it released the lock left its own lock file behind; its
    retry, in the same process once the store is back, takes the lock instead of waiting for itself."""
    import socket

    storage = Storage(str(tmp_path))
    storage.write_json({"host": socket.gethostname(), "pid": os.getpid(), "since": "2026-11-21T00:00:00+00:00",
                        "token": "released-while-the-store-was-down"}, "locks", "publish.lock")
    with storage.lock("publish", wait=0):
        with pytest.raises(LockedError):  # while held, it is held, also for this process
            with storage.lock("publish", wait=0):
                pass
    assert not storage.exists("locks", "publish.lock")


CRASHING_PUBLISH = """
import sys
from ercan import pipeline
from ercan.storage import Storage
storage = Storage(sys.argv[1])
frames = pipeline.account(storage)
frames["observations"] = frames["observations"].slice(0, frames["observations"].num_rows - 1)  # a change, so something is published
pipeline.publish_products(storage, frames)
"""


@pytest.fixture(scope="module")
def two_source_store(tmp_path_factory):
    """A store where two sources (fra2020, gfw_usa) passed their gates and every product was published once
    (no Prefect)."""
    from ercan import pipeline, sources

    storage = Storage(str(tmp_path_factory.mktemp("store")))
    for source_id in ("fra2020", "gfw_usa"):
        harmonizer = sources.get(source_id)
        pipeline.ingest_landing(storage, harmonizer)
        assert pipeline.gate(storage, harmonizer).status == "accepted"
    pipeline.publish_products(storage, pipeline.account(storage))
    return storage


# The commit steps of a publish, in order; "writing catalog.yaml" is inside the catalog's write, its
# new text complete in a temporary file beside it but not yet renamed into place.
KILL_POINTS = ["after_files", "before_manifest", "before_catalog",
               pytest.param("writing catalog.yaml", marks=pytest.mark.slow)]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_while_publishing_leaves_the_previous_version_served(tmp_path, two_source_store, point):
    import shutil

    root = tmp_path / "store"
    shutil.copytree(two_source_store.root, root)
    catalog_before = (root / "catalog.yaml").read_text()
    latest_before = versions(Storage(str(root)), "observations")[0]["version"]

    killed = subprocess.run([sys.executable, "-c", CRASHING_PUBLISH, str(root)],
                            env={**os.environ, "ERCAN_CRASH_AT": point}, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr

    assert (root / "catalog.yaml").read_text() == catalog_before
    cat = intake.from_yaml_file(str(root / "catalog.yaml"))
    assert cat["observations"].metadata["version"] == latest_before
    assert len(cat["observations"].read()) > 0
    if point in ("after_files", "before_manifest"):  # later, the new version is complete, just not yet in the catalog
        assert versions(Storage(str(root)), "observations")[0]["version"] == latest_before

    rerun = subprocess.run([sys.executable, "-c", CRASHING_PUBLISH, str(root)], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    storage = Storage(str(root))
    assert not storage.exists("locks", "publish.lock")
    folders = storage.listdir("products", "observations")
    assert all(storage.exists("products", "observations", v, "manifest.json") for v in folders)
    assert not list(root.glob("catalog.yaml.tmp-*"))
    cat = intake.from_yaml_file(str(root / "catalog.yaml"))
    assert len(cat["observations"].read()) == len(read_version(storage, "observations", latest_before)) - 1


def test_two_publishes_racing_publish_once_and_corrupt_nothing(tmp_path, two_source_store):
    import shutil

    root = tmp_path / "store"
    shutil.copytree(two_source_store.root, root)
    before = {v["version"] for v in versions(Storage(str(root)), "observations")}
    racers = [subprocess.Popen([sys.executable, "-c", CRASHING_PUBLISH, str(root)], stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    assert [r.wait(timeout=120) for r in racers] == [0, 0], [r.stderr.read() for r in racers]
    storage = Storage(str(root))
    after = {v["version"] for v in versions(storage, "observations")}
    assert len(after - before) == 1  # the second saw the same content already published
    assert all(storage.exists("products", "observations", v, "manifest.json")
               for v in storage.listdir("products", "observations"))
    cat = intake.from_yaml_file(str(root / "catalog.yaml"))
    assert cat["observations"].metadata["version"] in after - before
