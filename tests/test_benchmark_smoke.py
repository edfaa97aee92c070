"""The benchmark at 100k rows as a smoke test: every stage runs and reports, the rows come out right.

No timing is asserted (the figures depend on the machine); the inputs are the benchmark's own
synthetic ones (benchmarks/generate.py, built from the shipped china_nfi9 figures), written to tmp_path.
"""

import json
import subprocess
import sys

import intake
import pytest

from ercan.sources import PROJECT_ROOT, registry

STAGES = ["ingest", "harmonize", "validate", "account", "publish"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, str(PROJECT_ROOT / "benchmarks" / "run.py"), "--rows", "100000", "--out", str(out),
               "--json", str(out / "bench.json")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "bench.json").read_text(encoding="utf-8")), done.stdout


@pytest.mark.slow
def test_every_stage_is_measured_and_printed(bench):
    report, printed = bench
    assert [s["stage"] for s in report["first_run"]["stages"]] == STAGES
    # the second run finds the gate's result cached: no harmonize stage
    assert [s["stage"] for s in report["second_run"]["stages"]] == ["ingest", "validate", "account", "publish"]
    for run in ("first_run", "second_run"):
        for stage in report[run]["stages"]:
            assert stage["seconds"] >= 0 and stage["peak_rss_mib"] > 0 and stage["rows"] > 0
    assert report["reference"]["seconds"] > 0 and report["ratio_to_reference"] > 0
    assert "ercan / reference" in printed and "second run / first run" in printed


@pytest.mark.slow
def test_output_rows_are_right(bench):
    report, _ = bench
    expected = report["inputs"]["expected_observations"]
    assert report["first_run"]["published"]["observations"] == expected
    assert report["reference"]["observations"] == expected  # DuckDB harmonized the same rows
    assert report["second_run"]["published"] == {}  # nothing changed, nothing new
    cat = intake.from_yaml_file(f"{report['store']}/catalog.yaml")
    reconciliation = cat["reconciliation"].read().set_index("area_code")
    # 34 provinces (2018, their plots add up to the shipped 9th-NFI areas) and CHN (2018, the sum of the
    # 34 provincial areas against the national 22044.62 万公顷: +9.84 %, see the notes of harmonizers/china_nfi9/source.yaml)
    assert len(reconciliation) == 35 == report["reference"]["reconciliation"]
    provinces = reconciliation.drop(index="CHN")
    assert provinces["within_tolerance"].all() and (provinces["members_reporting"] > 0).all()
    chn = reconciliation.loc["CHN"]
    assert (chn["reported_value"], chn["bottom_up_value"]) == pytest.approx((220_446_200, 242_147_000))


def test_benchmark_source_is_not_a_real_source():
    assert "bench_inventory" not in registry()
