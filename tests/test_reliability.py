"""Reliability with real processes (issue 9): `ercan` runs at the same time on one store, and the S3
endpoint going down in the middle of a publish. Kill points are in tests/test_publish.py, bad
inputs in tests/test_bad_inputs.py; docs/reliability.md lists every case.

Every test ends by checking the store as a reader would see it (`assert_store_is_consistent`)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import intake
import pytest

from ercan import pipeline, sources, state
from ercan.catalog.build import entry_name
from ercan.publish import PRODUCTS, versions
from ercan.storage import TEMPORARY, Storage
from conftest import prefect_env as ephemeral_env

pytestmark = pytest.mark.slow
ERCAN = str(Path(sys.executable).with_name("ercan"))


def assert_store_is_consistent(storage: Storage) -> dict[str, list[str]]:
    """What a reader relies on: every version listed is complete (each file's SHA-256 as its manifest
    says), the catalog has exactly those versions, each loading with its manifest's row count, each
    product's alias on its newest; nothing half-written is left (no version folder without a
    manifest, no lock, no temporary file). Returns each product's versions, newest first."""
    storage.fs.invalidate_cache()  # s3fs caches listings: other processes wrote since
    cat = intake.from_yaml_file(storage.url_of("catalog.yaml"))
    listed = {}
    for product in PRODUCTS:
        manifests = versions(storage, product)
        assert storage.listdir("products", product) == sorted(m["version"] for m in manifests), product
        for manifest in manifests:
            for file in manifest["files"]:
                data = storage.read_bytes("products", product, manifest["version"], file["path"])
                assert hashlib.sha256(data).hexdigest() == file["sha256"], (product, manifest["version"], file)
            assert len(cat[entry_name(product, manifest["version"])].read()) == manifest["row_count"]
        if manifests:
            assert cat[product].metadata["version"] == manifests[0]["version"]
        listed[product] = [m["version"] for m in manifests]
    assert set(cat.entries) == {entry_name(p, v) for p, vs in listed.items() for v in vs}
    assert not storage.exists("locks", "publish.lock")
    assert not [name for name in storage.listdir() if TEMPORARY in name]
    return listed


def assert_latest_is_the_current_state(storage: Storage) -> None:
    """The newest versions are built from what the store holds now, not from an older state: the
    inputs they were published from are the current ones, and the newest observations come from
    every accepted source."""
    assert storage.read_json("state", "products.json")["inputs_key"] == pipeline.products_key(storage)
    accepted = {sid for sid in sources.registry() if (state.load(storage, sid).get("accepted"))}
    assert {s["id"] for s in versions(storage, "observations")[0]["sources"]} == accepted


SEED = """
import sys
from ercan import pipeline, sources
from ercan.storage import Storage
storage = Storage(sys.argv[1])
for source_id in sys.argv[2:]:
    harmonizer = sources.get(source_id)
    pipeline.ingest_landing(storage, harmonizer)
    assert pipeline.gate(storage, harmonizer).status == "accepted"
pipeline.publish_products(storage, pipeline.account(storage), inputs_key=pipeline.products_key(storage))
"""


def seed(url: str, *source_ids: str, env: dict) -> None:
    """A store where the sources passed their gates and every product was published once: the
    pipeline's stages called directly (no Prefect), in a process of its own like every run here."""
    done = subprocess.run([sys.executable, "-c", SEED, url, *source_ids], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_env(tmp_path: Path) -> dict:
    """Prefect's ephemeral mode with a PREFECT_HOME of this test's own (shared by its processes, as
    by two runs of one user on one machine)."""
    return ephemeral_env(tmp_path / "prefect", unset=("ERCAN_STORAGE", "ERCAN_DASK", "ERCAN_CRASH_AT", "ERCAN_STOP_AT"))


def start(tmp_path: Path, name: str, *args: str, env: dict) -> subprocess.Popen:
    """`ercan ARGS` in the background, its output in tmp_path/<name>.out and .err."""
    with open(tmp_path / f"{name}.out", "w") as out, open(tmp_path / f"{name}.err", "w") as err:
        return subprocess.Popen([ERCAN, *args], env=env, stdout=out, stderr=err, text=True)


def finish(tmp_path: Path, name: str, process: subprocess.Popen) -> tuple[int, str, str]:
    """Wait for a process started by `start`: its exit status, stdout and stderr."""
    try:
        status = process.wait(timeout=900)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    return status, (tmp_path / f"{name}.out").read_text(), (tmp_path / f"{name}.err").read_text()


def error_message(stderr: str) -> str:
    """The `error: ...` the command printed, on one line (rich wraps it; Prefect's log lines follow)."""
    found = re.search(r"^error: (.*?)(?=^\d\d:\d\d:\d\d\.\d+ \||\Z)", stderr, flags=re.S | re.M)
    assert found, stderr
    return " ".join(found.group(1).split())


def published(stdout: str) -> set[str]:
    """The products a run printed as published."""
    return {line.split()[1] for line in stdout.splitlines() if line.startswith("published ")}


def wait_until_suspended(process: subprocess.Popen, log: Path) -> None:
    """Until the process has stopped itself at its ERCAN_STOP_AT point (its state in /proc is T)."""
    deadline = time.monotonic() + 600
    while Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.5)


# --- concurrency: runs at the same time on one local store --------------------------------------------


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory):
    """fluxnet_de_hai accepted and published; each test runs on a copy."""
    root = tmp_path_factory.mktemp("seeded") / "store"
    seed(str(root), "fluxnet_de_hai", env=prefect_env(tmp_path_factory.mktemp("seed")))
    return root


def test_two_reruns_of_one_source_at_once_publish_it_once(seeded_store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(seeded_store, root)
    before = {p: set(v) for p, v in assert_store_is_consistent(Storage(str(root))).items()}
    env = prefect_env(tmp_path)
    runs = {name: start(tmp_path, name, "rerun", "fra2015", "--force", "--storage", str(root), env=env)
            for name in ("first", "second")}
    results = {name: finish(tmp_path, name, process) for name, process in runs.items()}

    for name, (status, stdout, stderr) in results.items():
        assert status == 0, f"{name}: {stdout}\n{stderr}"
        assert "fra2015" in stdout and "accepted" in stdout
    storage = Storage(str(root))
    after = assert_store_is_consistent(storage)
    new = {p: set(v) - before.get(p, set()) for p, v in after.items()}
    assert all(len(n) <= 1 for n in new.values()), new  # the same content is published once, not twice
    assert len(new["observations"]) == 1
    # The one that got the lock first published; the other found the same content already there.
    first, second = (published(results[n][1]) for n in ("first", "second"))
    assert not (first & second) and (first | second) == {p for p, n in new.items() if n}
    assert {s["id"] for s in versions(storage, "observations")[0]["sources"]} == {"fluxnet_de_hai", "fra2015"}
    assert_latest_is_the_current_state(storage)


def test_a_nightly_run_beside_a_rerun_publishes_the_latest_state_not_the_older_one(seeded_store, tmp_path):
    """The worst interleaving, made certain: a steward's forced rerun of fra2015 has accounted its
    products and is about to take the publish lock (suspended there: ERCAN_STOP_AT=before_lock) when
    the nightly (here over three sources, to keep the test affordable) runs beside it and publishes
    cikd2024's rows too. Resumed, the rerun's products are older than what is served: it accounts
    again under the lock instead of publishing them over the nightly's."""
    root = tmp_path / "store"
    shutil.copytree(seeded_store, root)
    before = assert_store_is_consistent(Storage(str(root)))
    env = prefect_env(tmp_path)
    rerun = start(tmp_path, "rerun", "rerun", "fra2015", "--force", "--storage", str(root),
                  env={**env, "ERCAN_STOP_AT": "before_lock"})
    wait_until_suspended(rerun, tmp_path / "rerun.err")
    nightly = start(tmp_path, "nightly", "run", "--source", "fra2015", "--source", "cikd2024",
                    "--source", "fluxnet_de_hai", "--storage", str(root), env=env)
    results = {"nightly": finish(tmp_path, "nightly", nightly)}
    os.kill(rerun.pid, signal.SIGCONT)
    results["rerun"] = finish(tmp_path, "rerun", rerun)

    for name, (status, stdout, stderr) in results.items():
        assert status == 0, f"{name}: {stdout}\n{stderr}"
    assert "published observations" in results["nightly"][1]
    assert "nothing new published" in results["rerun"][1]  # accounted again: the nightly's content
    storage = Storage(str(root))
    after = assert_store_is_consistent(storage)
    for product, old in before.items():
        assert set(old) <= set(after[product]), product  # no version lost
    assert {s["id"] for s in versions(storage, "observations")[0]["sources"]} == {"cikd2024", "fluxnet_de_hai",
                                                                                  "fra2015"}
    assert_latest_is_the_current_state(storage)


def test_a_run_that_cannot_get_the_publish_lock_fails_with_a_clear_message(seeded_store, tmp_path):
    """This test's process holds the publish lock (as a run publishing would) while a forced rerun
    wants it; the rerun waits ERCAN_LOCK_WAIT seconds (1 here, 120 by default), then gives up."""
    root = tmp_path / "store"
    shutil.copytree(seeded_store, root)
    catalog = (root / "catalog.yaml").read_bytes()
    with Storage(str(root)).lock("publish"):
        waited = start(tmp_path, "waited", "rerun", "fluxnet_de_hai", "--from", "publish", "--force", "--storage",
                       str(root), env={**prefect_env(tmp_path), "ERCAN_LOCK_WAIT": "1"})
        status, stdout, stderr = finish(tmp_path, "waited", waited)
    assert status == 1, stdout + stderr
    message = error_message(stderr)
    assert message.startswith(f"{root}/locks/publish.lock is held by {socket.gethostname()} pid {os.getpid()} since ")
    assert message.endswith(": another ercan run is publishing. Wait for it to finish; if that process no longer "
                            "exists, delete the lock file.")
    assert (root / "catalog.yaml").read_bytes() == catalog
    assert_store_is_consistent(Storage(str(root)))


# --- storage faults: the S3 endpoint stops in the middle of a publish --------------------------------


def test_s3_endpoint_stopping_mid_publish_fails_cleanly_and_the_next_run_publishes(tmp_path, monkeypatch):
    """moto's S3 server runs in this test's process and keeps its buckets in this process's memory,
    so stopping it and starting it again on the same port is an endpoint that goes away (refused
    connections) and comes back with its data, as a real S3 endpoint's outage would; nothing is
    faked in between. The run suspends itself at a kill point (ERCAN_STOP_AT=after_files: the first
    product's new files written, its manifest not), the endpoint is stopped, the run resumed."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1"}  # fail fast, let Prefect retry
    for name, value in aws.items():
        monkeypatch.setenv(name, value)  # this process reads the store too
    env = {**prefect_env(tmp_path), **aws}
    url = "s3://ercan-faults/store"
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        import boto3

        boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name="us-east-1").create_bucket(Bucket="ercan-faults")
        seed(url, "fluxnet_de_hai", env=env)
        storage = Storage(url)
        before = assert_store_is_consistent(storage)
        catalog_before = storage.read_bytes("catalog.yaml")

        run = start(tmp_path, "cut", "run", "--source", "fluxnet_de_hai", "--source", "cikd2024", "--storage", url,
                    env={**env, "ERCAN_STOP_AT": "after_files"})
        wait_until_suspended(run, tmp_path / "cut.err")
        moto.stop()
        os.kill(run.pid, signal.SIGCONT)
        status, stdout, stderr = finish(tmp_path, "cut", run)

        assert status == 1, stdout + stderr
        assert "Retry 3/3" in stderr and "EndpointConnectionError" in stderr
        message = error_message(stderr)
        assert message.startswith(f"the store {url} failed even after retries: EndpointConnectionError")
        assert "Nothing was half-published" in message
        assert "published" not in stdout

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)  # the endpoint is back
        moto.start()
        storage.fs.invalidate_cache()
        assert storage.read_bytes("catalog.yaml") == catalog_before
        assert {p: [m["version"] for m in versions(storage, p)] for p in PRODUCTS} == before
        leftovers = [v for v in storage.listdir("products", "observations") if v not in before["observations"]]
        assert len(leftovers) == 1  # the half-published version: files, no manifest, so invisible
        assert storage.exists("locks", "publish.lock")  # released while the store was unreachable

        again = start(tmp_path, "again", "run", "--source", "fluxnet_de_hai", "--source", "cikd2024", "--storage", url,
                      env=env)
        status, stdout, stderr = finish(tmp_path, "again", again)
        assert status == 0, stdout + stderr
        assert "published observations" in stdout
        after = assert_store_is_consistent(storage)  # the leftover version and the lock are gone
        assert leftovers[0] not in after["observations"]
        assert after["observations"][1:] == before["observations"]
        assert {s["id"] for s in versions(storage, "observations")[0]["sources"]} == {"cikd2024", "fluxnet_de_hai"}
    finally:
        moto.stop()
