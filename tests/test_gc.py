"""`ercan gc` on a store the pipeline wrote in three runs: the shared published store (conftest) with its
report, then twice a steward's edited fra2015 file through the `ercan` command (`ercan ingest`, `ercan
rerun fra2015 --from harmonize`), so the store holds what runs leave: the reruns' two accounting cache entries, old
staging keys, three Data Docs and three reports, and two old versions of each product fra2015 feeds.
The first of those commands is also the check that a plain `ercan` flow command sets what `make run`
exports. The same store is then pruned on a local folder and on moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import edited_copy, replace_line
from ercan.sources import PROJECT_ROOT
from test_s3 import s3_env  # noqa: F401 - the moto S3 server fixture, shared

pytestmark = pytest.mark.slow
ERCAN = str(Path(sys.executable).with_name("ercan"))
AFG = "AFG,1350,1350,1350,1350,1350"  # line 5 of the shipped fra2015 file: 2015's forest area is edited


def _plain_env(home: Path) -> dict:
    """A user's shell without the Makefile: no Prefect variables at all, an empty home."""
    unset = ("PREFECT_HOME", "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_API_URL", "ERCAN_STORAGE", "ERCAN_PUBLIC_URL")
    return {**{k: v for k, v in os.environ.items() if k not in unset}, "HOME": str(home), "COLUMNS": "250"}


def ercan(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([ERCAN, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _state(store: Path) -> dict:
    """What the store's state points at after a run: the files the expectations below are derived from."""
    def read(*parts):
        return json.loads(store.joinpath(*parts).read_text())

    return {
        "inputs_key": read("state", "products.json")["inputs_key"],
        "fra2015": read("state", "sources", "fra2015.json"),
        "product_gates": {p.stem: read("state", "product_gates", p.name)["key"]
                          for p in (store / "state" / "product_gates").iterdir()},
        "docs": read("state", "data_docs.json")["run_id"],
        "reports": read("state", "reports.json"),
        "versions": {p.name: sorted(v.name for v in p.iterdir()) for p in (store / "products").iterdir()},
        "cache": sorted(p.name for p in (store / "cache").glob("*")),  # none before the first Prefect run
    }


@pytest.fixture(scope="module")
def runs(published_store, tmp_path_factory):
    """The store after three runs, each one's state, when each rerun began, and the first rerun."""
    from ercan import report
    from ercan.storage import Storage

    work = tmp_path_factory.mktemp("gc")
    store, home = published_store.copy(work / "store").root, work / "home"
    home.mkdir()
    env = _plain_env(home)
    report.publish_report(Storage(str(store)), published_store.manifests, published_store.docs)
    began, reruns = [], []
    states = [_state(store)]
    for value in ("1351", "1352"):  # the same cell twice: the second run's versions are all replaced by the third's
        time.sleep(1.1)  # the runs' files a second apart at least: S3 keeps their order (see test_gc_on_s3)
        began.append(datetime.now(UTC))
        (work / value).mkdir()
        edit = edited_copy(work / value, "fra2015", "forest_area", replace_line(5, AFG, AFG[:-4] + value))
        ercan("ingest", "fra2015", str(edit), "--storage", str(store), env=env, cwd=work)
        reruns.append(ercan("rerun", "fra2015", "--from", "harmonize", "--storage", str(store), env=env, cwd=work))
        states.append(_state(store))
    return {"store": store, "states": states, "began": began, "first": reruns[0], "home": home, "work": work}


def _expected(runs) -> set[str]:
    """What `ercan gc --keep 1` must remove, from the three runs' states: the cache entry of the first
    rerun (the shared store was accounted without Prefect's cache), fra2015's staging keys of the first two snapshots, the earlier gates of the products that
    changed, and the second run's report and Data Docs (the first run's report is still the report of
    the products fra2015 does not feed, and its docs are linked from it)."""
    first, second, third = runs["states"]
    entries = [f"account-{s['inputs_key']}" for s in runs["states"][1:]]  # each rerun's, named after its inputs
    assert sorted(third["cache"]) == sorted(entries) and len(set(entries)) == 2
    keys = lambda s: {s["fra2015"]["accepted"]["key"], s["fra2015"]["gate_key"]}  # noqa: E731
    changed = [p for p, key in third["product_gates"].items() if key != first["product_gates"][p]]
    assert "observations" in changed and "reference_factors" not in changed
    report_1, report_2 = (s["reports"]["observations"][s["versions"]["observations"][-1]] for s in (first, second))
    assert third["reports"]["reference_factors"][third["versions"]["reference_factors"][-1]] == report_1
    return {
        f"cache/{entries[0]}",
        *(f"staging/fra2015/{key}.*" for key in (keys(first) | keys(second)) - keys(third)),
        *(f"staging/products/{p}/{s['product_gates'][p]}.*" for p in changed for s in (first, second)),
        f"reports/data_docs/{second['docs']}",
        report_2.removesuffix("/index.html"),
    }


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def _in(path: str, item: str) -> bool:
    """Whether the file at `path` is part of the removed `item` (a file, a folder, or `<key>.*`)."""
    if item.endswith(".*"):
        return path.startswith(item[:-1])
    return path == item or path.startswith(item + "/")


def _copy(runs, tmp_path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(runs["store"], copy)
    return copy


def _gc(store: str, *args: str, env: dict, cwd: Path) -> dict:
    return json.loads(ercan("gc", "--storage", store, "--json", *args, env=env, cwd=cwd).stdout)


def test_a_plain_ercan_flow_command_sets_what_make_run_exports(runs):
    """Without the Makefile: Prefect's database in the project's .prefect (not ~/.prefect), and no
    telemetry thread (whose failures here print tracebacks)."""
    stderr = runs["first"].stderr
    assert not (runs["home"] / ".prefect").exists()
    name = re.search(r"Beginning flow run '([^']+)'", stderr)[1]
    since, until = (t.strftime("%Y-%m-%d %H:%M:%S.%f") for t in runs["began"])  # the second rerun has the same name
    with sqlite3.connect(f"file:{PROJECT_ROOT / '.prefect' / 'prefect.db'}?mode=ro", uri=True) as db:
        recorded = db.execute("SELECT count(*) FROM flow_run WHERE name = ? AND created >= ? AND created < ?",
                              (name, since, until)).fetchone()
    assert recorded == (1,)
    assert "Traceback" not in stderr and "analytics" not in stderr.lower()


def test_dry_run_lists_the_old_items_and_their_bytes_and_removes_nothing(runs, tmp_path):
    store = _copy(runs, tmp_path)
    before = _listing(store)
    found = _gc(str(store), "--keep", "1", "--dry-run", env=_plain_env(runs["home"]), cwd=tmp_path)
    assert {item["path"] for item in found["removed"]} == _expected(runs)
    docs = next(i for i in found["removed"] if i["kind"] == "data docs")
    assert docs["bytes"] == sum(p.stat().st_size for p in (store / docs["path"]).rglob("*") if p.is_file())
    assert found["bytes"] == sum(item["bytes"] for item in found["removed"]) > 20e6  # an accounting entry at least
    assert _listing(store) == before


def test_gc_removes_exactly_the_old_items_and_the_latest_still_load(runs, tmp_path):
    store, env = _copy(runs, tmp_path), _plain_env(runs["home"])
    before = _listing(store)
    found = _gc(str(store), "--keep", "1", env=env, cwd=tmp_path)
    removed = {item["path"] for item in found["removed"]}
    assert removed == _expected(runs)
    gone = {path for path in before if any(_in(path, item) for item in removed)}
    after = _listing(store)
    assert set(after) == set(before) - gone and gone
    assert {p for p in after if p.startswith("products/")} == {p for p in before if p.startswith("products/")}
    # the latest report, the Data Docs it links and the catalog still load; the run reuses the cache entry
    import intake

    catalog = intake.from_yaml_file(str(store / "catalog.yaml"))
    assert len(catalog["carbon_stocks"].read()) > 0
    page = (store / catalog["carbon_stocks"].metadata["report"]).read_text()
    docs = re.search(r"data_docs/([^/'\"]+)/index\.html", page)[1]
    assert (store / "reports" / "data_docs" / docs / "index.html").exists()
    again = ercan("rerun", "--all", "--from", "account", "--storage", str(store), env=env, cwd=tmp_path)
    assert "accounting served from cache" in again.stdout
    # nothing more to remove by the same rule
    assert _gc(str(store), "--keep", "1", "--dry-run", env=env, cwd=tmp_path)["removed"] == []


def test_versions_go_only_when_asked_and_never_a_products_latest(runs, tmp_path):
    store, env = _copy(runs, tmp_path), _plain_env(runs["home"])
    first, _, third = runs["states"]
    assert not [i for i in _gc(str(store), "--keep", "1", env=env, cwd=tmp_path)["removed"] if i["kind"] == "version"]
    found = _gc(str(store), "--keep", "1", "--versions", "1", env=env, cwd=tmp_path)
    versions = {item["path"] for item in found["removed"] if item["kind"] == "version"}
    assert versions == {f"products/{p}/{v}" for p, vs in third["versions"].items() for v in vs[:-1]}
    assert any(path.startswith("products/observations/") for path in versions)
    assert {p: sorted(v.name for v in (store / "products" / p).iterdir()) for p in third["versions"]} == \
        {p: vs[-1:] for p, vs in third["versions"].items()}
    import intake

    catalog = intake.from_yaml_file(str(store / "catalog.yaml"))
    assert sorted(catalog.entries) == sorted(f"{p}__{vs[-1]}" for p, vs in third["versions"].items())
    assert len(catalog["carbon_stocks"].read()) > 0
    index = json.loads((store / "state" / "reports.json").read_text())
    assert {p: sorted(pages) for p, pages in index.items()} == {p: vs[-1:] for p, vs in third["versions"].items()}
    assert first["versions"]["reference_factors"] == third["versions"]["reference_factors"]  # its only version stays


def test_by_age_nothing_young_goes_and_everything_old_but_the_current(runs, tmp_path):
    from ercan import retention
    from ercan.storage import Storage

    store, env = _copy(runs, tmp_path), _plain_env(runs["home"])
    assert _gc(str(store), "--older-than", "1d", "--dry-run", env=env, cwd=tmp_path)["removed"] == []
    later = datetime.now(UTC) + timedelta(days=60)
    aged = retention.plan(Storage(str(store)), retention.Keep(younger_than=timedelta(days=30)), now=later)
    # the newest of every group is one the state points at here, so by age alone the same go as by --keep 1
    assert {item.path for item in aged.remove} == _expected(runs)
    assert all(item.current for item in aged.keep)
    bad = subprocess.run([ERCAN, "gc", "--storage", str(store), "--older-than", "30 days"], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "30d" in bad.stderr
    assert subprocess.run([ERCAN, "gc", "--storage", str(store), "--keep", "0"], capture_output=True, text=True,
                          env=env, cwd=tmp_path).returncode == 2
    assert _listing(store) == _listing(runs["store"])


def test_the_partial_copy_of_a_killed_ingest_goes_once_idle_and_snapshots_stay(runs, tmp_path):
    """Two `.incoming-<id>` folders as an ingest killed mid-copy leaves them (made here: a part of the
    shipped fra2015 file, and its temporary): one idle for 7 hours goes, one written a minute ago stays
    (an ingest may still be writing it), whatever --keep says; no snapshot is touched."""
    from ercan.retention import INGEST_IDLE
    from ercan.snapshots import INCOMING

    store, env = _copy(runs, tmp_path), _plain_env(runs["home"])
    shipped = PROJECT_ROOT / "sample_data" / "fra2015" / "fra-2015-forest-areas.csv"
    idle, busy = store / "snapshots" / "fra2015" / f"{INCOMING}idle", store / "snapshots" / "fra2015" / f"{INCOMING}busy"
    for folder, age in ((idle, INGEST_IDLE + timedelta(hours=1)), (busy, timedelta(minutes=1))):
        folder.mkdir()
        part = folder / "fra-2015-forest-areas.csv.tmp-0123"
        part.write_bytes(shipped.read_bytes()[:1000])
        when = (datetime.now(UTC) - age).timestamp()
        os.utime(part, (when, when))
    snapshots = {p: p.read_bytes() for p in (store / "snapshots").rglob("*") if p.is_file() and INCOMING not in str(p)}
    found = _gc(str(store), "--keep", "100", env=env, cwd=tmp_path)
    assert [(i["kind"], i["path"], i["bytes"]) for i in found["removed"]] == [
        ("killed ingest", f"snapshots/fra2015/{idle.name}", 1000)]
    assert not idle.exists() and busy.exists()
    assert {p: p.read_bytes() for p in (store / "snapshots").rglob("*") if p.is_file() and INCOMING not in str(p)} \
        == snapshots


def test_gc_on_s3(runs, s3_env, tmp_path):  # noqa: F811 - the fixture imported above
    """The same store uploaded to moto's S3 server in the order its files were written (a run's files a
    second after the previous run's: S3's modification times are the uploads'), then pruned there."""
    import s3fs

    env = {**s3_env, "ERCAN_STORAGE": "s3://ercan-nightly/gc"}
    fs = s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"],
                           endpoint_url=env["AWS_ENDPOINT_URL"], client_kwargs={"region_name": "us-east-1"})
    files = sorted((p for p in runs["store"].rglob("*") if p.is_file()), key=lambda p: p.stat().st_mtime)
    for began in [*runs["began"], None]:
        for path in [p for p in files if began is None or p.stat().st_mtime < began.timestamp()]:
            fs.put_file(str(path), f"ercan-nightly/gc/{path.relative_to(runs['store'])}")
            files.remove(path)
        time.sleep(1.1)
    dry = _gc("s3://ercan-nightly/gc", "--keep", "1", "--dry-run", env=env, cwd=tmp_path)
    assert {item["path"] for item in dry["removed"]} == _expected(runs)
    found = _gc("s3://ercan-nightly/gc", "--keep", "1", env=env, cwd=tmp_path)
    assert {item["path"] for item in found["removed"]} == _expected(runs)
    fs.invalidate_cache()
    for item in found["removed"]:
        assert not fs.glob(f"ercan-nightly/gc/{item['path']}"), item
    check = subprocess.run([sys.executable, "-c", """
import intake, s3fs
cat = intake.from_yaml_file("s3://ercan-nightly/gc/catalog.yaml")
print(len(cat["carbon_stocks"].read()) > 0, s3fs.S3FileSystem().exists("ercan-nightly/gc/" + cat["carbon_stocks"].metadata["report"]))
"""], env=env, capture_output=True, text=True, timeout=120)
    assert check.stdout.split() == ["True", "True"], check.stderr
