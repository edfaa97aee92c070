"""Quality gates end to end on the shipped data: severities, quarantine, withheld products, reports.

One baseline store (every source through its gate, every product gated and published, with the plain
pipeline functions) is shared by the module. On copies of it: a nightly run through the `ercan`
command with three sources corrupted (copies of their shipped files) and one legitimately changed;
and a publish whose product frames the test corrupts, as an accounting bug would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import intake
import openpyxl
import pandas as pd
import pytest

from conftest import edited_copy, replace_line
from ercan import gate_reports, pipeline, product_gates, snapshots, sources
from ercan.publish import PRODUCTS
from ercan.sources import SAMPLE_DATA
from ercan.storage import Storage

pytestmark = pytest.mark.slow
ERCAN = str(Path(sys.executable).with_name("ercan"))
CORRUPTED = ("china_nfi9", "cikd2024", "fra2020")


def catalog(root: Path):
    return intake.from_yaml_file(str(root / "catalog.yaml"))


def failed(quality, subject):
    return quality[(quality.subject == subject) & ~quality.success.astype(bool)]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """Every source gated, every product gated and published, and the run's Data Docs built."""
    root = tmp_path_factory.mktemp("baseline")
    storage = Storage(str(root))
    outcomes = []
    for harmonizer in sources.registry().values():
        pipeline.ingest_landing(storage, harmonizer)
        outcomes.append(pipeline.gate(storage, harmonizer))
    manifests = pipeline.publish_products(storage, pipeline.account(storage))
    return root, outcomes, manifests, gate_reports.data_docs(storage, "run1")


def copy_of(baseline, tmp_path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(baseline[0], root)
    return root


def test_warnings_are_reported_and_everything_publishes(baseline):
    """广西's forest cover of 142965 % (a copy of its forest area) is a warning at china_nfi9's gate and at the
    observations product's: kept as reported, flagged in `quality`, nothing quarantined or withheld."""
    root, outcomes, manifests, _ = baseline
    assert all(o.status == "accepted" for o in outcomes)
    assert not product_gates.withheld(Storage(str(root)))
    assert {m["product"] for m in manifests} == set(PRODUCTS)
    quality = catalog(root)["quality"].read()
    for subject in ("china_nfi9", "observations"):
        guangxi = failed(quality, subject)
        guangxi = guangxi[guangxi.unexpected_examples.str.contains("142965")]
        assert guangxi[["severity", "column_name", "unexpected_count"]].values.tolist() == [["warning", "value", 1]]
    # A product warning on real data: complete aggregates whose members do not add up (e.g. China's provinces
    # and its national forest area), published in `reconciliation` and flagged in `quality`.
    off = failed(quality, "reconciliation")
    assert off[["severity", "column_name"]].values.tolist() == [["warning", "within_tolerance"]]
    assert off.unexpected_count.iloc[0] > 0
    # Every product has its generated and its own suite in `quality`, each expectation once.
    for product in PRODUCTS:
        rows = quality[quality.subject == product]
        assert set(rows.suite) == {f"{product}.schema", product}
    assert not quality.duplicated(["subject", "suite", "position"]).any()


def test_data_docs_are_built_into_the_store_and_not_rebuilt_when_no_result_changed(baseline, tmp_path):
    root, outcomes, manifests, docs = baseline
    index = root / "reports" / "data_docs" / "run1" / "index.html"
    assert docs == index.as_uri() and index.exists()
    pages = list((root / "reports" / "data_docs" / "run1" / "validations" / "china_nfi9").rglob("*.html"))
    assert any("142965" in p.read_text(encoding="utf-8") for p in pages)

    storage = Storage(str(copy_of(baseline, tmp_path)))
    again = [pipeline.gate(storage, h) for h in sources.registry().values()]
    assert all(o.cached for o in again) and not pipeline.publish_products(storage, pipeline.account(storage))
    assert all(g.cached for g in product_gates.last_gates(storage).values())
    latest = gate_reports.data_docs(storage, "run2")
    assert latest.endswith("/run1/index.html")
    assert storage.listdir("reports", "data_docs") == ["run1"]


@pytest.fixture(scope="module")
def withheld(baseline, tmp_path_factory):
    """A publish whose carbon_stocks has a negative density (own suite) and whose reconciliation has a
    duplicated row (generated schema suite): corrupted by the test, as an accounting bug would."""
    root = tmp_path_factory.mktemp("withheld") / "store"
    shutil.copytree(baseline[0], root)
    storage = Storage(str(root))
    frames = pipeline.account(storage)
    stocks = frames["carbon_stocks"]
    bad = stocks.index[(stocks.area_code == "FIN") & (stocks.variable == "carbon_density") & (stocks.pool == "soil")
                       & (stocks.year == 2020)]
    stocks.loc[bad, "value"] = -stocks.loc[bad, "value"]
    frames["reconciliation"] = pd.concat([frames["reconciliation"], frames["reconciliation"].iloc[[0]]], ignore_index=True)
    manifests = pipeline.publish_products(storage, frames)
    return root, manifests, float(stocks.loc[bad, "value"].iloc[0])


def test_a_product_failing_a_critical_expectation_is_withheld_and_its_previous_version_served(baseline, withheld):
    root, manifests, negative = withheld
    reasons = product_gates.withheld(Storage(str(root)))
    assert sorted(reasons) == ["carbon_stocks", "reconciliation"]
    assert "expect_column_values_to_be_between on column 'value'" in reasons["carbon_stocks"]
    assert repr(negative) in reasons["carbon_stocks"]
    assert "not published" in reasons["carbon_stocks"] and "previous version" in reasons["carbon_stocks"]
    assert "reconciliation.schema: expect_compound_columns_to_be_unique" in reasons["reconciliation"]
    cat, served_before = catalog(root), catalog(baseline[0])
    for product in ("carbon_stocks", "reconciliation", "observations"):
        assert cat[product].metadata["version"] == served_before[product].metadata["version"]
    # quality publishes, with the failures that withheld the two products.
    assert [m["product"] for m in manifests] == ["quality"]
    quality = cat["quality"].read()
    critical = failed(quality, "carbon_stocks").query("severity == 'critical'")
    assert critical[["suite", "column_name"]].values.tolist() == [["carbon_stocks", "value"]]
    assert str(negative) in critical.unexpected_examples.iloc[0]


def test_summary_names_every_gate_with_failures_and_the_data_docs(baseline, withheld):
    root, manifests, negative = withheld
    storage, outcomes = Storage(str(root)), baseline[1]
    docs = gate_reports.data_docs(storage, "run3")
    assert docs.endswith("/run3/index.html")
    text = gate_reports.summary_markdown("run3", outcomes, product_gates.last_gates(storage), manifests,
                                         gate_reports.current_quality(storage), docs)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert set(sources.registry()) | set(PRODUCTS) <= set(rows)
    assert "**withheld**" in rows["carbon_stocks"] and f"{negative}" in rows["carbon_stocks"]
    assert "critical: carbon_stocks#0 expect_column_values_to_be_between on value" in rows["carbon_stocks"]
    assert "| accepted | 0 | 1 |" in rows["china_nfi9"] and "142965" in rows["china_nfi9"]
    assert "published v" in rows["quality"] and "| unchanged |" in rows["observations"]
    assert f"[{docs}]({docs})" in text


def negative_area(tmp_path):
    """北京's forest area as -7182 百公顷 in a copy of China NFI's provincial file."""
    return edited_copy(tmp_path, "china_nfi9", "provinces", replace_line(2, "北京,森林面积,7182,", "北京,森林面积,-7182,"))


def share_over_100(tmp_path):
    """Germany's forest cover as 328 % in a copy of the CIKD table (printed: 32.8)."""
    return edited_copy(tmp_path, "cikd2024", "table", replace_line(6, "德国,11419,32.8,", "德国,11419,328,"))


def duplicated_key(tmp_path):
    """Botswana's row of FRA 2020's forest-area sheet coded AGO: Angola's key twice."""
    workbook = openpyxl.load_workbook(SAMPLE_DATA / sources.get("fra2020").source.inputs["extent"])
    assert workbook["1a_Forest"]["A7"].value == "BWA"
    workbook["1a_Forest"]["A7"] = "AGO"
    path = tmp_path / Path(sources.get("fra2020").source.inputs["extent"]).name
    workbook.save(path)
    return path


def corrected_gfw(tmp_path):
    """A legitimate change elsewhere: GFW's Alabama 2001 loss edited by the test, so observations publish."""
    original = SAMPLE_DATA / "gfw_usa" / "loc-loss_treecover_loss_by_region__ha.csv"
    path = tmp_path / original.name
    path.write_text(original.read_text().replace("176807.15511181095", "176907.15511181095", 1))
    return path


def ercan(*args, root: Path, prefect_home: Path):
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "COLUMNS": "250"}
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([ERCAN, *args, "--storage", str(root)], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def corrupted_run(baseline, tmp_path_factory):
    """One nightly run through `ercan run` after ingesting the three corrupted copies and the GFW correction."""
    work = tmp_path_factory.mktemp("corrupted")
    root, prefect_home = work / "store", work / "prefect"
    shutil.copytree(baseline[0], root)
    storage = Storage(str(root))
    for source_id, role, make in (("china_nfi9", "provinces", negative_area), ("cikd2024", "table", share_over_100),
                                  ("fra2020", "extent", duplicated_key), ("gfw_usa", "state_loss", corrected_gfw)):
        folder = work / source_id
        folder.mkdir()
        snapshots.ingest(storage, sources.get(source_id), role, str(make(folder)), steward=True)
    return root, prefect_home, ercan("run", root=root, prefect_home=prefect_home)


def test_corrupted_sources_are_quarantined_the_others_publish(corrupted_run):
    root, _, result = corrupted_run
    assert result.returncode == 1, result.stdout + result.stderr
    assert "some sources were not accepted" in result.stderr
    quarantined = {line.split("│")[1].strip() for line in result.stdout.splitlines() if "quarantined" in line}
    assert quarantined == set(CORRUPTED)
    assert "published observations" in result.stdout and "published reconciliation" in result.stdout
    assert "published carbon_stocks" not in result.stdout  # FRA, its only source, is quarantined
    alabama = catalog(root)["observations"].read().query("area_code == 'US-AL' and year == 2001 and variable == 'tree_cover_loss'")
    assert alabama.value.tolist() == [pytest.approx(176907.15511181095)]


@pytest.mark.parametrize("source_id, expectation, column, example", [
    ("china_nfi9", "china_nfi9: expect_column_values_to_be_between", "'value'", "-718200.0"),
    ("cikd2024", "cikd2024: expect_column_values_to_be_between", "'value'", "328.0"),
    ("fra2020", "schema: expect_compound_columns_to_be_unique", "'source,area_code,year,", "'area_code': 'AGO'"),
])
def test_quarantine_reason_names_expectation_column_and_examples(corrupted_run, source_id, expectation, column, example):
    root, _, _ = corrupted_run
    state = json.loads((root / "state" / "sources" / f"{source_id}.json").read_text())
    assert state["status"] == "quarantined"
    assert expectation in state["reason"] and f"on column {column}" in state["reason"] and example in state["reason"]


def test_the_catalog_still_serves_the_bad_sources_previous_rows(baseline, corrupted_run):
    root, _, _ = corrupted_run
    before, after = catalog(baseline[0]), catalog(root)
    key = ["source", "area_code", "year", "variable", "pool", "land_category"]
    old, new = before["observations"].read(), after["observations"].read()
    assert after["observations"].metadata["version"] != before["observations"].metadata["version"]
    for source_id in CORRUPTED:
        rows_before = old[old.source == source_id].sort_values(key).reset_index(drop=True)
        rows_after = new[new.source == source_id].sort_values(key).reset_index(drop=True)
        assert len(rows_before) > 0 and rows_after.equals(rows_before), source_id
    assert after["carbon_stocks"].metadata["version"] == before["carbon_stocks"].metadata["version"]


def test_quality_tells_why_and_sources_lists_the_reason(corrupted_run):
    root, prefect_home, result = corrupted_run
    quality = catalog(root)["quality"].read()
    china = failed(quality, "china_nfi9")
    assert sorted(china.severity) == ["critical", "warning"]  # the negative area, and 广西 still reported
    assert "142965" in china[china.severity == "warning"].unexpected_examples.iloc[0]
    listing = ercan("sources", root=root, prefect_home=prefect_home)
    flat = " ".join(listing.stdout.split())
    assert listing.returncode == 0 and flat.count("quarantined") == len(CORRUPTED)
    assert "328.0" in flat


def test_the_run_built_data_docs_and_a_prefect_artifact(corrupted_run):
    root, prefect_home, result = corrupted_run
    link = re.search(r"quality report \(GX Data Docs\): (\S+)", result.stdout).group(1)
    index = Path(link.removeprefix("file://"))
    assert index.exists() and index.parent.parent == root / "reports" / "data_docs"
    pages = (index.parent / "validations" / "cikd2024").rglob("*.html")
    assert any("328" in p.read_text(encoding="utf-8") for p in pages)
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    inspect = subprocess.run([str(Path(ERCAN).with_name("prefect")), "artifact", "inspect", "ercan-quality-gates",
                              "--limit", "1", "--output", "json"], capture_output=True, text=True, env=env, timeout=300)
    assert inspect.returncode == 0, inspect.stderr
    markdown = json.loads(inspect.stdout[inspect.stdout.index("["):])[0]["data"]
    for source_id in CORRUPTED:
        assert f"| {source_id} | source | **quarantined** | 1 |" in markdown
    assert f"({link})" in markdown  # the CLI's rich output drops the "[link]" text of the Markdown link
