"""Orchestration: stage caches and reruns on the shipped data (plain Python, fast), then the real
thing: a `prefect server start` on 127.0.0.1 with its own PREFECT_HOME, `ercan deploy`, the cron
schedule's runs, a process worker running a rerun triggered with parameters, reruns from the
command line (quarantine lifted), transient S3 errors retried, and the DaskTaskRunner path."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from conftest import edited_copy, prefect_env, replace_line
from ercan import pipeline, snapshots, state
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA, get, registry
from ercan.storage import Storage

BIN = Path(sys.executable).parent
ERCAN, PREFECT, DASK = str(BIN / "ercan"), str(BIN / "prefect"), str(BIN / "dask")
GFW_LOSS = SAMPLE_DATA / "gfw_usa" / "loc-loss_treecover_loss_by_region__ha.csv"


def test_force_refreshes_the_stage_a_rerun_starts_from_and_the_later_ones():
    assert [s for s in pipeline.STAGES if pipeline.refreshes(s, "validate", True)] == ["validate", "account", "publish"]
    assert not any(pipeline.refreshes(s, "ingest", False) for s in pipeline.STAGES)


@pytest.fixture
def gated(tmp_path):
    """A fresh store with fluxnet_de_hai (the smallest shipped source) ingested and through its gate once."""
    storage = Storage(str(tmp_path / "store"))
    harmonizer = get("fluxnet_de_hai")
    pipeline.ingest_landing(storage, harmonizer)
    return storage, harmonizer, pipeline.gate(storage, harmonizer)


def _kept_rows(storage: Storage, source_id: str) -> Path:
    key = state.load(storage, source_id)["accepted"]["key"]
    return Path(storage.path("staging", source_id, f"{key}.parquet"))


def test_gate_from_validate_reuses_the_harmonized_rows_from_harmonize_rebuilds_them(gated):
    storage, harmonizer, first = gated
    rows = _kept_rows(storage, "fluxnet_de_hai")
    written = rows.stat().st_ino  # every write is a new file renamed into place

    assert first.status == "accepted" and not first.cached
    assert pipeline.gate(storage, harmonizer).cached
    revalidated = pipeline.gate(storage, harmonizer, force=True, from_stage="validate")
    assert revalidated.status == "accepted" and not revalidated.cached
    assert rows.stat().st_ino == written
    rebuilt = pipeline.gate(storage, harmonizer, force=True, from_stage="harmonize")
    assert rebuilt.status == "accepted" and not rebuilt.cached
    assert rows.stat().st_ino != written


def test_products_key_follows_the_accepted_rows_and_the_accounting_options(gated, tmp_path, monkeypatch):
    storage, harmonizer, _ = gated
    key = pipeline.products_key(storage)
    assert pipeline.products_key(storage) == key
    pipeline.gate(storage, harmonizer, force=True)  # the same verdict again: the same inputs
    assert pipeline.products_key(storage) == key
    monkeypatch.setenv("ERCAN_GAP_FILL", "off")
    assert pipeline.products_key(storage) != key
    monkeypatch.delenv("ERCAN_GAP_FILL")

    # A corrected file (GPP of 2007-01 edited by this test) is new accepted rows: a new key.
    corrected = edited_copy(tmp_path, "fluxnet_de_hai", "monthly", replace_line(2, "0.089395", "0.089396"))
    snapshots.ingest(storage, harmonizer, "monthly", str(corrected), steward=True)
    assert pipeline.gate(storage, harmonizer).status == "accepted"
    assert pipeline.products_key(storage) != key


def test_products_key_follows_the_comparisons_sources_declare(gated, tmp_path, monkeypatch):
    """A source outside the project (its declaration written by this test) changes the tolerance of its
    `reconcile:` comparison: the products are accounted again, no file of the project touched."""
    storage, _, _ = gated
    folder = tmp_path / "sources" / "compared"
    folder.mkdir(parents=True)
    declaration = (PROJECT_ROOT / "harmonizers" / "fra2015" / "source.yaml").read_text(encoding="utf-8")
    monkeypatch.setenv("ERCAN_HARMONIZERS", str(folder.parent))
    keys = []
    for tolerance in ("0.05", "0.1"):
        text = declaration.replace("id: fra2015", "id: compared").replace("tolerance: 0.05", f"tolerance: {tolerance}")
        (folder / "source.yaml").write_text(text, encoding="utf-8")
        registry.cache_clear()
        keys.append(pipeline.products_key(storage))
    monkeypatch.delenv("ERCAN_HARMONIZERS")
    registry.cache_clear()
    assert keys[0] != keys[1]


def test_publishing_from_the_same_inputs_is_skipped_unless_forced(gated):
    storage, _, _ = gated
    key = pipeline.products_key(storage)
    frames = pipeline.account(storage)
    assert "observations" in {m["product"] for m in pipeline.publish_products(storage, frames, inputs_key=key)}
    catalog = Path(storage.path("catalog.yaml"))
    written = catalog.stat().st_ino

    assert pipeline.publish_products(storage, frames, inputs_key=key) == []
    assert catalog.stat().st_ino == written  # skipped outright: not even the catalog was rebuilt
    assert pipeline.publish_products(storage, frames, inputs_key=key, force=True) == []  # equal content
    assert catalog.stat().st_ino != written


# --- a real Prefect server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 240.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen, signals: int = 1) -> None:
    """Stop a process we started, by its PID. `prefect worker start` ignores the first SIGTERM
    (it forwards SIGINT to its runs and goes on), so it gets a second one."""
    for _ in range(signals):
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`prefect server start` on a free port with its own PREFECT_HOME; yields the environment that
    points at it. Shut down by its PID."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = prefect_env(home, unset=("ERCAN_STORAGE", "ERCAN_DASK"), PREFECT_WORKER_QUERY_SECONDS="1")
    with open(home / "server.log", "w") as log:
        process = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"

    def healthy():
        assert process.poll() is None, (home / "server.log").read_text()
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, "the Prefect server")
        yield {**env, "PREFECT_API_URL": api}
    finally:
        stop(process)


def ercan(*args, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([ERCAN, *args], env=env, capture_output=True, text=True, timeout=timeout)


def api_post(env: dict, path: str, body: dict) -> list[dict]:
    response = httpx.post(f"{env['PREFECT_API_URL']}/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def versions(store: Path) -> set[str]:
    return {f"{p.parent.parent.name}/{p.parent.name}" for p in store.glob("products/*/*/manifest.json")}


@pytest.mark.slow
def test_deploy_schedules_the_nightly_and_a_worker_runs_a_rerun_then_serves_it_from_cache(server, tmp_path):
    store = tmp_path / "store"
    deployed = ercan("deploy", "--storage", str(store), env=server)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    deployments = {d["name"]: d for d in api_post(server, "deployments/filter", {})}
    assert set(deployments) == {"nightly", "rerun"}
    nightly = deployments["nightly"]
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in nightly["schedules"]] == [("0 2 * * *", "UTC")]
    assert nightly["parameters"] == {"storage": str(store)} and nightly["entrypoint"] == "ercan.flows.nightly.nightly"
    assert deployments["rerun"]["schedules"] == []

    def scheduled():
        return api_post(server, "flow_runs/filter", {
            "deployments": {"id": {"any_": [nightly["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
        })

    runs = wait_for(scheduled, "the scheduler to create the nightly runs")
    starts = {datetime.fromisoformat(r["expected_start_time"]) for r in runs}
    assert {(t.hour, t.minute, t.utcoffset().total_seconds()) for t in starts} == {(2, 0, 0)}

    worker_env = {**server, "ERCAN_STORAGE": str(tmp_path / "not-used")}  # the deployment's storage wins
    with open(tmp_path / "worker.log", "w") as log:
        worker = subprocess.Popen([PREFECT, "worker", "start", "--pool", "ercan"], env=worker_env, cwd=tmp_path,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        parameters = ["--param", 'sources=["gfw_usa", "fluxnet_de_hai"]', "--param", "from_stage=ingest"]
        first = trigger_rerun(server, parameters)
        published = versions(store)
        assert {v.split("/")[0] for v in published} >= {"observations", "reconciliation", "quality"}
        assert first["name"] == "gfw_usa, fluxnet_de_hai from ingest"
        assert {"rerun", "from:ingest", "source:gfw_usa", "source:fluxnet_de_hai"} <= set(first["tags"])
        assert task_states(server, first)["account"] == "Completed"

        second = trigger_rerun(server, parameters)
        assert versions(store) == published  # nothing new published
        states = task_states(server, second)
        # The products were last published from the same inputs: accounting and publishing are skipped.
        assert "account" not in states and "publish" not in states and "gate gfw_usa" in states
        print(f"\nrerun via the worker: first {first['total_run_time']:.1f} s, no-change {second['total_run_time']:.1f} s")

        # A quarantine is a Failed run, with the source and why, and `--watch` exits non-zero. The file
        # is a copy of GFW's state loss file with Alabama's 2001 loss made negative by this test.
        broken = edited_copy(tmp_path, "gfw_usa", "state_loss", replace_line(2, "176807.15", "-176807.15"))
        assert ercan("ingest", "gfw_usa", str(broken), "--storage", str(store), env=server).returncode == 0
        third = trigger_rerun(server, ["--param", 'sources=["gfw_usa"]', "--param", "from_stage=harmonize"],
                              expected="FAILED")
        assert third["state"]["message"].startswith("1 of 1 sources not accepted — gfw_usa quarantined: ")
        assert task_states(server, third)["gate gfw_usa"] == "Failed"
    finally:
        stop(worker, signals=2)


def trigger_rerun(env: dict, parameters: list[str], expected: str = "COMPLETED") -> dict:
    """`prefect deployment run ercan/rerun --param ...`, waited for (`--watch` exits 0 only for a run that
    completed); returns the finished flow run, whose state must be `expected`."""
    run = subprocess.run([PREFECT, "deployment", "run", "ercan/rerun", *parameters, "--watch", "--watch-timeout", "600"],
                         env=env, capture_output=True, text=True, timeout=660)
    run_id = next(line.split("UUID:")[1].strip() for line in run.stdout.splitlines() if "UUID:" in line)
    flow_run = httpx.get(f"{env['PREFECT_API_URL']}/flow_runs/{run_id}", timeout=30).json()
    assert flow_run["state"]["type"] == expected, run.stdout + run.stderr
    assert (run.returncode == 0) == (expected == "COMPLETED"), run.stdout + run.stderr
    return flow_run


def latest_flow_run(env: dict) -> dict:
    """The flow run that ended last (not the nightly runs the scheduler has lined up)."""
    finished = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}}
    return api_post(env, "flow_runs/filter", {**finished, "sort": "END_TIME_DESC", "limit": 1})[0]


def task_states(env: dict, flow_run: dict) -> dict[str, str]:
    runs = api_post(env, "task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run["id"]]}}})
    return {r["name"]: r["state"]["name"] for r in runs}


@pytest.mark.slow
def test_prefect_yaml_registers_the_same_deployments(server, tmp_path):
    ercan("deploy", "--storage", str(tmp_path / "store"), env=server)  # creates the work pool
    deployed = subprocess.run([PREFECT, "deploy", "--all", "--no-prompt"], cwd=PROJECT_ROOT, env=server,
                              capture_output=True, text=True, timeout=300)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    deployments = {d["name"]: d for d in api_post(server, "deployments/filter", {})}
    assert deployments["nightly"]["entrypoint"] == deployments["rerun"]["entrypoint"] == "ercan.flows.nightly.nightly"
    assert deployments["nightly"]["parameters"] == {}  # the store comes from the worker's ERCAN_STORAGE
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in deployments["nightly"]["schedules"]] == [("0 2 * * *", "UTC")]
    assert deployments["nightly"]["pull_steps"] == []  # the worker runs the installed package


@pytest.mark.slow
def test_rerun_after_the_data_is_fixed_lifts_the_quarantine(server, tmp_path):
    """A copy of GFW's state loss file with Alabama's 2001 loss made negative (edited by this test)."""
    store = tmp_path / "store"
    assert ercan("rerun", "gfw_usa", "--storage", str(store), env=server).returncode == 0  # from ingest: accepted
    broken = edited_copy(tmp_path, "gfw_usa", "state_loss", replace_line(2, "176807.15", "-176807.15"))
    assert ercan("ingest", "gfw_usa", str(broken), "--storage", str(store), env=server).returncode == 0

    quarantined = ercan("rerun", "gfw_usa", "--from", "harmonize", "--storage", str(store), env=server)
    assert quarantined.returncode == 1, quarantined.stdout + quarantined.stderr
    run = latest_flow_run(server)  # on the server, the run and the gate are Failed, saying why
    assert run["state"]["type"] == "FAILED" and "gfw_usa quarantined" in run["state"]["message"]
    assert "-176807.15" in run["state"]["message"] and task_states(server, run)["gate gfw_usa"] == "Failed"
    assert "quarantined" in ercan("sources", "--storage", str(store), env=server).stdout
    reason = json.loads((store / "state" / "sources" / "gfw_usa.json").read_text())["reason"]
    assert "expect_column_values_to_be_between on column 'value'" in reason and "-176807.15" in reason

    # Restored: the steward ingests the good file again and reruns; the gate lets it through.
    assert ercan("ingest", "gfw_usa", str(GFW_LOSS), "--storage", str(store), env=server).returncode == 0
    lifted = ercan("rerun", "gfw_usa", "--from", "harmonize", "--storage", str(store), env=server)
    assert lifted.returncode == 0, lifted.stdout + lifted.stderr
    current = json.loads((store / "state" / "sources" / "gfw_usa.json").read_text())
    assert current["status"] == "accepted" and current["reason"] is None
    assert latest_flow_run(server)["state"]["type"] == "COMPLETED"
    listing = ercan("sources", "--storage", str(store), env=server).stdout
    assert "accepted" in listing and "quarantined" not in listing


@pytest.mark.slow
def test_the_documented_automation_is_one_the_server_takes(server):
    """infra/prefect-automation.yaml (docs/operations.md): created on the real server, it reacts to the
    ercan flow's Failed runs."""
    created = subprocess.run([PREFECT, "automation", "create", "--from-file", str(PROJECT_ROOT / "infra" /
                              "prefect-automation.yaml")], env=server, capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stdout + created.stderr
    automation = next(a for a in api_post(server, "automations/filter", {}) if a["name"] == "ercan run not all good")
    assert "prefect.flow-run.Failed" in automation["trigger"]["expect"]
    assert automation["trigger"]["match_related"] == {"prefect.resource.role": "flow", "prefect.resource.name": "ercan"}


def test_rerun_usage_errors_exit_2(tmp_path):
    store = ["--storage", str(tmp_path / "store")]
    neither = subprocess.run([ERCAN, "rerun", *store], capture_output=True, text=True, timeout=60)
    assert neither.returncode == 2 and "--all" in neither.stderr
    stage = subprocess.run([ERCAN, "rerun", "gfw_usa", "--from", "validation", *store], capture_output=True, text=True,
                           timeout=60)
    assert stage.returncode == 2 and "did you mean 'validate'" in " ".join(stage.stderr.split())
    assert not (tmp_path / "store").exists()


@pytest.mark.slow
def test_transient_s3_errors_are_retried_until_the_store_is_back(server, tmp_path):
    """The store's S3 endpoint (moto's server) is down when the run starts and comes up once the
    first ingest attempt has failed: the task waits with backoff, retries and the run publishes."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    env = {**server, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1"}  # fail fast, let Prefect retry
    run = subprocess.Popen([ERCAN, "run", "--source", "fluxnet_de_hai", "--storage", "s3://ercan-retry/store"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    reader = threading.Thread(target=lambda: output.extend(run.stdout), daemon=True)
    reader.start()
    moto = None
    try:
        wait_for(lambda: awaiting_retry(server), "the ingest task to fail and wait for its retry")
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        import boto3

        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket="ercan-retry")
        assert run.wait(timeout=600) == 0, "".join(output)
    finally:
        if run.poll() is None:
            stop(run)
        if moto:
            moto.stop()
    reader.join(timeout=10)
    text = "".join(output)
    assert "Retry 1/3" in text and "EndpointConnectionError" in text
    assert "published observations" in text


def awaiting_retry(env: dict) -> bool:
    runs = api_post(env, "task_runs/filter", {"task_runs": {"state": {"name": {"any_": ["AwaitingRetry"]}}}})
    return any(r["name"] == "ingest fluxnet_de_hai" for r in runs)


@pytest.mark.slow
def test_dask_task_runner_on_a_local_and_on_an_existing_cluster(server, tmp_path):
    store = ["--storage", str(tmp_path / "store")]
    local = ercan("rerun", "fluxnet_de_hai", "--dask", *store, env=server)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "prefect.task_runner.dask" in local.stdout + local.stderr and "published observations" in local.stdout

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
                                 env=server, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([DASK, "worker", address, "--nworkers", "1", "--nthreads", "2", "--dashboard-address", ":0"],
                              env=server, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        existing = ercan("rerun", "cikd2024", "--dask-address", address, *store, env=server)
    finally:
        stop(worker)
        stop(scheduler)
    assert existing.returncode == 0, existing.stdout + existing.stderr
    assert "published observations" in existing.stdout
    observations = json.loads(max((tmp_path / "store").glob("products/observations/*/manifest.json")).read_text())
    assert [s["id"] for s in observations["sources"]] == ["cikd2024", "fluxnet_de_hai"]
