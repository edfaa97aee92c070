"""Security: nothing `ercan ingest` is given can write outside the storage root, YAML is only read
safely, credentials never reach the store, the output or Prefect's logs, and no text cell is
written where it could be evaluated. What each test proves is listed in docs/security.md."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from ercan import report
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA
from conftest import prefect_env

ERCAN = str(Path(sys.executable).with_name("ercan"))
CRF = SAMPLE_DATA / "crf_austria" / "ipcc_crf_austria_2017.csv"
SECRET = "ercan-security-test-secret-5d1e"  # a made-up value, only ever put in the environment
KEY_ID = "ercan-security-test-key-id-77b0"


def ercan(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([ERCAN, *args], capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("source_id", ["../crf_austria", "crf_austria/../../etc", "/etc/passwd", "..", "crf_austria/.."])
def test_a_source_id_cannot_name_a_path(source_id, tmp_path):
    store = tmp_path / "store"
    result = ercan("ingest", source_id, str(CRF), "--storage", str(store))
    assert result.returncode == 2
    assert "unknown source" in " ".join(result.stderr.split())
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("role", ["../table_4a", "/etc/passwd", ".."])
def test_a_role_cannot_name_a_path(role, tmp_path):
    store = tmp_path / "store"
    result = ercan("ingest", "crf_austria", str(CRF), "--role", role, "--storage", str(store))
    assert result.returncode == 2 and "has no input" in " ".join(result.stderr.split())
    assert files_under(tmp_path) == []


def test_file_names_with_dot_dot_are_stored_under_their_base_name_inside_the_root(tmp_path):
    """The snapshot keeps only the file's base name, so `../` in the given path never reaches the store."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / CRF.name).write_bytes(CRF.read_bytes())
    store = tmp_path / "store"
    given = f"{tmp_path}/elsewhere/../landing/{CRF.name}"
    result = ercan("ingest", "crf_austria", given, "--storage", str(store))
    assert result.returncode == 0, result.stderr
    stored = [p for p in files_under(tmp_path) if p.name == CRF.name and store in p.parents]
    assert len(stored) == 1 and stored[0].parent.parent == store / "snapshots" / "crf_austria"
    assert set(files_under(tmp_path)) - set(files_under(store)) == {tmp_path / "landing" / CRF.name}


def test_a_path_whose_base_name_is_dot_dot_is_refused(tmp_path):
    store = tmp_path / "store"
    result = ercan("ingest", "crf_austria", f"{tmp_path}/..", "--storage", str(store))
    assert result.returncode == 2
    assert files_under(tmp_path) == []


def test_a_symlink_is_ingested_as_a_copy_of_its_bytes(tmp_path):
    """A symlink (here to the shipped file, outside the store) is read, never linked: the store holds
    a regular file, so removing or retargeting the link later cannot change a snapshot."""
    link = tmp_path / CRF.name
    link.symlink_to(CRF)
    store = tmp_path / "store"
    assert ercan("ingest", "crf_austria", str(link), "--storage", str(store)).returncode == 0
    (stored,) = [p for p in files_under(store) if p.name == CRF.name]
    assert not stored.is_symlink() and stored.read_bytes() == CRF.read_bytes()
    assert not any(p.is_symlink() for p in store.rglob("*"))


def test_yaml_is_never_loaded_unsafely():
    """The project itself never parses YAML: catalogs are read by intake. No unsafe loader anywhere
    in the code, and intake refuses a catalog that asks to construct a Python object."""
    code = [p for d in ("ercan", "harmonizers", "catalog", "flows", "tasks") for p in (PROJECT_ROOT / d).rglob("*.py")]
    unsafe = re.compile(r"yaml\.(load|unsafe_load|full_load|load_all)\(|Loader\s*=|UnsafeLoader|FullLoader")
    assert code and [str(p) for p in code if unsafe.search(p.read_text(encoding="utf-8"))] == []


def test_intake_refuses_a_catalog_that_constructs_python_objects(tmp_path):
    marker = tmp_path / "pwned"
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(f"version: 2\nmetadata: !!python/object/apply:os.system ['touch {marker}']\n")
    check = subprocess.run(
        [sys.executable, "-c", f"import intake; intake.from_yaml_file({str(catalog)!r})"],
        capture_output=True, text=True, timeout=120,
    )
    assert check.returncode != 0 and "ConstructorError" in check.stderr
    assert not marker.exists()


def test_no_product_is_written_as_csv_and_the_report_escapes_every_text_from_the_data():
    """Products are Parquet (typed, never evaluated by a spreadsheet) and the catalog YAML holds no
    text cell, so there is no CSV output whose cells would need escaping. The one HTML page ercan
    writes itself, the report (ercan/report.py), escapes every text from the data: a quarantine
    reason, a failed expectation's example and a product's note reading `<script>` are shown, never run."""
    code = [p for d in ("ercan", "harmonizers", "catalog", "flows", "tasks") for p in (PROJECT_ROOT / d).rglob("*.py")]
    writers = re.compile(r"\.to_(csv|excel)\(|write_csv\(|csv\.writer\(")
    assert [str(p) for p in code if writers.search(p.read_text(encoding="utf-8"))] == []

    # Small frames built by the test: what a hostile input could bring into each kind of text.
    script = "<script>alert('ercan')</script>"
    sources = pd.DataFrame([{"source": "fra2020", "title": "FRA", "status": "quarantined", "accepted rows": 10,
                             "accepted at": None, "reason": f"source 'fra2020': cell A7 reads {script}"}])
    quality = pd.DataFrame([{
        "subject": "fra2020", "suite": "fra2020", "position": 0, "expectation": "expect_column_values_to_be_in_set",
        "column_name": "area_code", "severity": "critical", "success": False, "element_count": 10,
        "unexpected_count": 1, "unexpected_examples": json.dumps([script]),
    }])
    progress = pd.DataFrame([{
        "area_code": "IND", "area_level": "national", "year": 2018, "indicator": "restoration_area", "value": 9.8e6,
        "unit": "ha", "degraded_area": None, "share_achieved": None, "target_progress": None, "note": script,
    }])
    page = report.render("v1", datetime.now(UTC), {}, set(), sources, quality, {"restoration_progress": progress}, None)
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert('ercan')&lt;/script&gt;") == 3  # the reason, the example and the note


@pytest.mark.slow
def test_credentials_never_reach_the_store_the_output_or_prefects_logs(tmp_path):
    """A real `ercan run` (Prefect ephemeral mode) with AWS credentials in the environment, on a local
    store: neither value appears in its output, in any file of the store (catalog, manifests, state,
    snapshot metadata) nor in Prefect's home (its database holds the run's logs)."""
    prefect_home, store = tmp_path / "prefect", tmp_path / "store"
    env = prefect_env(prefect_home, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
    outputs = [
        ercan("ingest", "crf_austria", str(CRF), "--storage", str(store), env=env),
        run := ercan("run", "--source", "crf_austria", "--storage", str(store), env=env),
        ercan("sources", "--storage", str(store), env=env),
        ercan("versions", "--storage", str(store), env=env),
    ]
    assert run.returncode == 0, run.stdout + run.stderr
    assert (store / "catalog.yaml").exists() and list(store.glob("products/*/*/manifest.json"))
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr and KEY_ID not in result.stdout + result.stderr
    written = files_under(store) + files_under(prefect_home)
    assert any(p.suffix == ".db" for p in written)  # Prefect's database, with the run's logs
    leaking = [p for p in written if SECRET.encode() in p.read_bytes() or KEY_ID.encode() in p.read_bytes()]
    assert leaking == []
