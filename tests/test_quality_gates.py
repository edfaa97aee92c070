"""Quality gates end to end on the shipped data: severities, quarantine, withheld products, reports.

One baseline store (every source through its gate, every product gated and published, with the plain
pipeline functions) is shared by the module. On copies of it: a nightly run through the `ercan`
command with three sources corrupted (copies of their shipped files) and one legitimately changed,
whose report (ercan/report.py) and Prefect artifacts are checked too; and a publish whose product
frames the test corrupts, as an accounting bug would.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import intake
import openpyxl
import pandas as pd
import pytest
from PIL import Image

from conftest import edited_copy, prefect_env, replace_line
from ercan import gate_reports, pipeline, product_gates, report, snapshots, sources, state
from ercan.accounting.hierarchy import Hierarchy
from ercan.publish import PRODUCTS, content_sha256
from ercan.sources import SAMPLE_DATA
from ercan.storage import Storage
from ercan.tasks.reports import table_key

pytestmark = pytest.mark.slow
ERCAN = str(Path(sys.executable).with_name("ercan"))
CORRUPTED = ("china_nfi9", "cikd2024", "fra2020")


def catalog(root: Path):
    return intake.from_yaml_file(str(root / "catalog.yaml"))


def failed(quality, subject):
    return quality[(quality.subject == subject) & ~quality.success.astype(bool)]


@pytest.fixture(scope="module")
def baseline(published_store, tmp_path_factory):
    """Every source gated, every product gated and published, and the run's Data Docs built (this
    module's copy of the shared store): (root, outcomes, manifests, Data Docs)."""
    store = published_store.copy(tmp_path_factory.mktemp("baseline") / "store")
    return store.root, store.outcomes, store.manifests, store.docs


def copy_of(baseline, tmp_path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(baseline[0], root)
    return root


def test_warnings_are_reported_and_everything_publishes(baseline):
    """The shipped data's warnings: Guinea-Bissau's 1994 LULUCF flux of -11.3 Gt CO2e (two rows, forest
    land and the total; probably a unit error at source) and CIKD 2024's 60.5 亿公顷 of land in China (more
    than China's land area): kept as reported, flagged in `quality`, nothing quarantined or withheld."""
    root, outcomes, manifests, _ = baseline
    assert all(o.status == "accepted" for o in outcomes)
    assert not product_gates.withheld(Storage(str(root)))
    assert {m["product"] for m in manifests} == set(PRODUCTS)
    quality = catalog(root)["quality"].read()
    for subject, example, count in (("unfccc_non_annex_i", "-11288400000.0", 2), ("programme_figures", "6050000000.0", 1)):
        flagged = failed(quality, subject)
        assert flagged[["severity", "column_name", "unexpected_count"]].values.tolist() == [["warning", "value", count]]
        assert example in flagged.unexpected_examples.iloc[0]
    # A product warning on real data: complete aggregates whose members do not add up (e.g. China's provinces
    # and its national forest area), published in `reconciliation` and flagged in `quality`.
    off = failed(quality, "reconciliation")
    assert off[["severity", "column_name"]].values.tolist() == [["warning", "within_tolerance"]]
    assert off.unexpected_count.iloc[0] > 0
    # Every product has its generated and its own suite in `quality`, each expectation once; but the observations'
    # generated suite is the sources' schema.json, which every source's rows passed in its own gate.
    for product in PRODUCTS:
        rows = quality[quality.subject == product]
        assert set(rows.suite) == ({product} if product == "observations" else {f"{product}.schema", product})
    assert not quality.duplicated(["subject", "suite", "position"]).any()


def test_every_version_is_published_with_the_content_hash_of_its_rows(baseline, tmp_path):
    """The product gate hashes a product's table once and publishing uses that hash; quality, whose table
    gains its own gate's rows after its gate, is hashed again. Each manifest's hash is that of the table it
    published (made again here from the same inputs)."""
    _, _, manifests, _ = baseline
    storage = Storage(str(copy_of(baseline, tmp_path)))
    gates = product_gates.last_gates(storage)
    _, _, tables = product_gates.gate_products(storage, pipeline.account(storage))
    assert {m["product"] for m in manifests} == set(PRODUCTS)
    for manifest in manifests:
        product = manifest["product"]
        assert manifest["content_sha256"] == gates[product].content_sha256 == content_sha256(tables[product])


def test_observation_rows_accepted_under_another_schema_suite_are_checked_again(baseline, tmp_path):
    """The observations' product gate skips the schema suite for rows that passed schema.json in their source's
    gate; a source's rows accepted under another schema.json (quarantined since it changed) are checked again."""
    storage = Storage(str(copy_of(baseline, tmp_path)))
    with state.update(storage, "gfw_usa") as current:
        current["accepted"]["schema_suite"] = "the hash of an older schema.json"
    frames = pipeline.account(storage)
    _, gates, _ = product_gates.gate_products(storage, frames)
    rows = storage.read_parquet("staging", "products", "observations", f"{gates['observations'].key}.quality.parquet")
    rows = rows.to_pandas()
    checked = rows[rows.suite == "observations.schema"]
    gfw_rows = int((frames["observations"]["source"].to_pandas() == "gfw_usa").sum())
    unique = checked[checked.expectation == "expect_compound_columns_to_be_unique"]
    assert unique.element_count.tolist() == [gfw_rows] and gfw_rows < len(frames["observations"])
    assert checked.success.all() and not gates["observations"].withheld


def test_data_docs_are_built_into_the_store_and_not_rebuilt_when_no_result_changed(baseline, tmp_path):
    root, outcomes, manifests, docs = baseline
    index = root / "reports" / "data_docs" / "run1" / "index.html"
    assert docs == "reports/data_docs/run1/index.html" and index.exists()  # a path in the store, no file://
    pages = list((root / "reports" / "data_docs" / "run1" / "validations" / "unfccc_non_annex_i").rglob("*.html"))
    assert any("11288400000" in p.read_text(encoding="utf-8") for p in pages)

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
    critical = failed(quality, "carbon_stocks").query("severity == 'critical'").sort_values("suite")
    # the product's own range, and the schema's bound of carbon_density (never negative)
    assert critical[["suite", "column_name"]].values.tolist() == [["carbon_stocks", "value"], ["carbon_stocks.schema", "value"]]
    assert all(str(negative) in examples for examples in critical.unexpected_examples)


def test_summary_names_every_gate_with_failures_and_the_data_docs(baseline, withheld):
    root, manifests, negative = withheld
    storage, outcomes = Storage(str(root)), baseline[1]
    docs = gate_reports.data_docs(storage, "run3")
    assert docs.endswith("/run3/index.html")
    text = gate_reports.summary_markdown("run3", outcomes, product_gates.last_gates(storage), manifests,
                                         gate_reports.current_quality(storage), storage.link_of(docs))
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert set(sources.registry()) | set(PRODUCTS) <= set(rows)
    assert "**withheld**" in rows["carbon_stocks"] and f"{negative}" in rows["carbon_stocks"]
    # each failure at its place in the Data Docs, in the words of `quality` (and of the reason)
    assert "carbon_stocks#0 critical: " in rows["carbon_stocks"]
    assert "carbon_stocks: expect_column_values_to_be_between on column 'value'" in rows["carbon_stocks"]
    assert "| accepted | 0 | 1 |" in rows["unfccc_non_annex_i"] and "-11288400000.0" in rows["unfccc_non_annex_i"]
    assert "published v" in rows["quality"] and "| unchanged |" in rows["observations"]
    assert f"Data Docs: `{storage.link_of(docs)}` in the store" in text  # a local path is no link from the Prefect UI


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
    env = prefect_env(prefect_home)
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
])
def test_quarantine_reason_names_expectation_column_and_examples(corrupted_run, source_id, expectation, column, example):
    root, _, _ = corrupted_run
    state = json.loads((root / "state" / "sources" / f"{source_id}.json").read_text())
    assert state["status"] == "quarantined"
    assert expectation in state["reason"] and f"on column {column}" in state["reason"] and example in state["reason"]


def test_a_repeated_key_is_named_with_the_file_line_of_both_rows(corrupted_run):
    """The declared reader finds Angola's key twice before the gate's uniqueness check would, so the
    reason names the workbook, the second row's line and column, and the first row's line."""
    root, _, _ = corrupted_run
    state = json.loads((root / "state" / "sources" / "fra2020.json").read_text())
    assert state["status"] == "quarantined"
    assert "file '1_Forest_extent_characteristics_and_changes_en.xlsx', row 7, column 'M (1990)'" in state["reason"]
    assert "'area_code': 'AGO'" in state["reason"] and "appears again (first at line" in state["reason"]


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
    # the negative area, by the source's range and by the schema's bound of area
    assert sorted(china.severity) == ["critical", "critical"] and china.unexpected_examples.str.contains("-718200.0").all()
    assert "-11288400000.0" in failed(quality, "unfccc_non_annex_i").unexpected_examples.iloc[0]  # warnings stay
    listing = ercan("sources", root=root, prefect_home=prefect_home)
    flat = " ".join(listing.stdout.split())
    assert listing.returncode == 0 and flat.count("quarantined") == len(CORRUPTED)
    assert "328.0" in flat


@pytest.fixture(scope="module")
def artifacts(corrupted_run) -> dict[str, dict]:
    """The Prefect artifacts of the corrupted run, read back through the Prefect client: {key: artifact}."""
    _, prefect_home, _ = corrupted_run
    env = prefect_env(prefect_home)
    read = ("import json\nfrom prefect import get_client\n"
            "with get_client(sync_client=True) as client:\n"
            "    print(json.dumps([a.model_dump(mode='json') for a in client.read_artifacts()]))\n")
    found = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, env=env, timeout=300)
    assert found.returncode == 0, found.stderr
    return {a["key"]: a for a in json.loads(found.stdout.splitlines()[-1])}


def test_the_run_built_data_docs_and_a_prefect_artifact(corrupted_run, artifacts):
    root, prefect_home, result = corrupted_run
    link = re.search(r"quality report \(GX Data Docs\): (\S+)", result.stdout).group(1)
    index = Path(link.removeprefix("file://"))
    assert index.exists() and index.parent.parent == root / "reports" / "data_docs"
    pages = (index.parent / "validations" / "cikd2024").rglob("*.html")
    assert any("328" in p.read_text(encoding="utf-8") for p in pages)
    markdown = artifacts["ercan-quality-gates"]["data"]
    for source_id, critical in (("china_nfi9", 2), ("cikd2024", 2), ("fra2020", 1)):  # see the reasons' tests
        assert f"| {source_id} | source | 0 | **quarantined** | {critical} |" in markdown
    assert f"Data Docs: `{link}` in the store" in markdown
    assert "| gfw_usa | source | 2182 | accepted | 0 | 0 |" in markdown


def published_by(result) -> dict[str, tuple[str, int]]:
    """{product: (version, rows)} from `ercan run`'s "published PRODUCT VERSION (N rows)" lines."""
    found = (re.match(r"published (\w+) (\S+) \((\d+) rows\)", line) for line in result.stdout.splitlines())
    return {m[1]: (m[2], int(m[3])) for m in found if m}


def report_links(root: Path) -> dict[str, str | None]:
    """{product: its latest version's `report` (a path relative to the catalog) in the catalog metadata}."""
    cat = catalog(root)
    return {product: cat[product].metadata.get("report") for product in cat}


def test_the_run_wrote_a_report_of_its_versions_linked_from_the_catalog(corrupted_run, artifacts):
    root, _, result = corrupted_run
    published, links = published_by(result), report_links(root)
    assert {links[p] for p in published} == {links["observations"]}  # one report for the run's versions
    assert links["carbon_stocks"] is None  # published by the baseline, which wrote no report (no flow)
    page = root / links["observations"]
    assert page.parent.parent == root / "reports" and page.is_file()
    assert f"Report: `{page}` in the store" in artifacts["ercan-quality-gates"]["data"]
    text = page.read_text(encoding="utf-8")
    for title in ("Products", "Sources", "Quality gates", "Forest area and carbon stock", "Net fluxes", "Coverage",
                  "Reconciliation", "Target 2"):
        assert f"<h2>{title}</h2>" in text
    for product, (version, _) in published.items():
        assert f"<td>{version}</td>" in text, product
    # each quarantined source with its reason, and the failed expectations with their examples
    assert text.count("<td>quarantined</td>") == len(CORRUPTED)
    assert "cikd2024: expect_column_values_to_be_between on column 'value'" in text and "328.0" in text
    assert "-11288400000.0" in text  # a failed warning's example


def test_the_reports_plots_are_embedded_pngs_with_real_content(corrupted_run):
    root, _, _ = corrupted_run
    text = (root / report_links(root)["observations"]).read_text(encoding="utf-8")
    images = re.findall(r"<img alt='([^']+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>", text)
    assert [alt for alt, _ in images] == [
        "forest area and carbon stock by UN M49 region",
        "net emissions from living biomass by country, with 95 % intervals",
        "largest gaps between reported aggregates and their members",
        "restoration pledged and reported by country",
    ]
    for alt, data in images:
        png = base64.b64decode(data)
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), alt
        image = Image.open(io.BytesIO(png))
        assert image.width > 600 and image.height > 300, alt
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 50, alt  # lines, bars, labels: not blank


def test_one_table_artifact_per_published_product(corrupted_run, artifacts):
    root, _, result = corrupted_run
    published = published_by(result)
    tables = {key: json.loads(a["data"]) for key, a in artifacts.items() if a["type"] == "table"}
    assert set(tables) == {table_key(product) for product in published}
    for product, (_, rows) in published.items():
        assert sum(row["rows"] for row in tables[table_key(product)]) == rows, product
    loss = catalog(root)["observations"].read().query("variable == 'tree_cover_loss' and area_level == 'subnational'")
    assert {"variable": "tree_cover_loss", "unit": "ha/yr", "area_level": "subnational", "rows": len(loss),
            "areas": loss.area_code.nunique(), "first_year": int(loss.year.min()), "last_year": int(loss.year.max())} \
        in tables[table_key("observations")]


def test_a_new_version_gets_its_own_report_and_an_unchanged_publish_none(corrupted_run, tmp_path):
    """The plain functions the flow's tasks call, on a copy of the run's store."""
    root = tmp_path / "store"
    shutil.copytree(corrupted_run[0], root)
    storage = Storage(str(root))
    first = report_links(root)
    before = {path: (root / path).read_bytes() for path in set(first.values()) if path}

    # India's reported restoration corrected from 9.8 to 10.2 Mha (edited by the test): new versions, a second report
    corrected = edited_copy(tmp_path, "restoration", "facts",
                            replace_line(24, "9.8 million hectares,9.8,", "10.2 million hectares,10.2,"))
    snapshots.ingest(storage, sources.get("restoration"), "facts", str(corrected), steward=True)
    assert pipeline.gate(storage, sources.get("restoration")).status == "accepted"
    manifests = pipeline.publish_products(storage, pipeline.account(storage))
    republished = {m["product"] for m in manifests}
    assert {"observations", "restoration_progress"} <= republished and "carbon_stocks" not in republished
    second = report.publish_report(storage, manifests)
    after = report_links(root)
    assert second == after["restoration_progress"]
    assert {p for p in after if after[p] != first[p]} == republished
    assert all((root / path).read_bytes() == data for path, data in before.items())  # the first report stands
    assert "<td>10,200,000</td>" in (root / after["restoration_progress"]).read_text(encoding="utf-8")

    # An unchanged night: nothing published, no report written, the latest still linked.
    assert pipeline.gate(storage, sources.get("restoration")).cached
    assert report.publish_report(storage, pipeline.publish_products(storage, pipeline.account(storage))) is None
    assert len([name for name in storage.listdir("reports") if name != "data_docs"]) == 2
    assert report.latest_report(storage) == second


def test_a_report_that_cannot_be_written_is_a_warning_and_the_versions_stay_published(baseline, tmp_path, caplog):
    """The store refuses the page (`reports` is a file here, made by the test): the publish stands."""
    root = copy_of(baseline, tmp_path)
    shutil.rmtree(root / "reports", ignore_errors=True)
    (root / "reports").write_text("not a folder")
    served = {product: catalog(root)[product].metadata["version"] for product in PRODUCTS}
    with caplog.at_level("WARNING"):
        assert report.publish_report_or_warn(Storage(str(root)), baseline[2], None, logging.getLogger("ercan")) is None
    assert f"the report of {len(PRODUCTS)} new version(s) was not built" in caplog.text
    assert {product: catalog(root)[product].metadata["version"] for product in PRODUCTS} == served
    stocks = next(m for m in baseline[2] if m["product"] == "carbon_stocks")
    assert len(catalog(root)["carbon_stocks"].read()) == stocks["row_count"]


def test_known_area_codes_are_the_known_parent_codes(baseline):
    """The product suites check only `parent_code` against `known_area_codes`: the parameter holds the parent
    codes the full hierarchy knows (not every known area: a plot-level source's sites made GX copy a value set
    of a million codes per expectation), built from the rows that can make a parent known."""
    frames = pipeline.account(Storage(str(baseline[0])))
    observations = frames["observations"].to_pandas()  # the shipped data: small enough for pandas whole
    known = Hierarchy(observations).level.keys()
    parents = {code for frame in [observations, *list(frames.values())[1:]] if "parent_code" in frame
               for code in frame["parent_code"].dropna()}
    codes = product_gates.suite_parameters(frames)["known_area_codes"]
    assert codes == sorted(parents & known)
    assert {"WORLD", "USA"} <= set(codes) < set(known)
