"""The whole nightly pipeline through the `ercan` command, in Prefect's ephemeral mode, on the
shipped data; then a second run with no change, and a run with a broken FRA workbook."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from ercan.sources import SAMPLE_DATA, registry
from conftest import prefect_env

pytestmark = pytest.mark.slow
ERCAN = str(Path(sys.executable).with_name("ercan"))
EXTENT = SAMPLE_DATA / "fra2020" / "1_Forest_extent_characteristics_and_changes_en.xlsx"


def ercan(*args, storage: Path, prefect_home: Path) -> subprocess.CompletedProcess:
    env = prefect_env(prefect_home)
    return subprocess.run([ERCAN, *args, "--storage", str(storage)], capture_output=True, text=True, env=env,
                          timeout=300)


def load_in_fresh_process(storage: Path, code: str):
    """Run `code` in a new Python process with `cat` the catalog; it prints JSON."""
    script = f"import intake, json\ncat = intake.from_yaml_file({str(storage / 'catalog.yaml')!r})\n{code}"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    storage, prefect_home = root / "store", root / "prefect"
    result = ercan("run", storage=storage, prefect_home=prefect_home)
    return storage, prefect_home, result


def test_nightly_run_publishes_every_product(first_run):
    storage, _, result = first_run
    assert result.returncode == 0, result.stdout + result.stderr
    for product in ("observations", "carbon_stocks", "carbon_fluxes", "restoration_progress", "reconciliation",
                    "reference_factors", "quality"):
        assert f"published {product} v" in result.stdout


def test_catalog_serves_national_regional_and_global_stocks_in_a_fresh_process(first_run):
    storage, _, _ = first_run
    facts = load_in_fresh_process(storage, """
df = cat["carbon_stocks"].read()
obs = cat["observations"].read()
rec = cat["reconciliation"].read()
countries = obs[(obs.source == "fra2020") & (obs.area_level == "national") & (obs.variable == "area") & (obs.year == 2020)
                & obs.category.isna()]
world = df[(df.area_code == "WORLD") & (df.variable == "area") & (df.year == 2020)]
rw = rec[(rec.area_code == "WORLD") & (rec.variable == "area") & (rec.year == 2020) & rec.category.isna()]
print(json.dumps({
    "levels": sorted(df.area_level.unique()),
    "countries": len(countries), "country_sum": countries.value.sum(), "world": world.value.tolist(),
    "reported_world": rw.reported_value.tolist(), "bottom_up_world": rw.bottom_up_value.tolist(),
    "sources": sorted(obs.source.unique()),
    "metadata": {k: cat["carbon_stocks"].metadata[k] for k in ("version", "license", "units")},
    "entries": sorted(cat.entries),
}))
""")
    assert facts["levels"] == ["global", "national", "regional"]
    assert facts["countries"] == 236
    assert facts["world"] == [pytest.approx(facts["country_sum"], rel=1e-12)]
    assert facts["reported_world"] == [pytest.approx(4_058_930_810)]
    assert facts["bottom_up_world"] == [pytest.approx(facts["country_sum"], rel=1e-12)]
    assert facts["sources"] == sorted(s for s, h in registry().items() if h.source.product == "observations")
    assert any("FAO" in lic for lic in facts["metadata"]["license"])
    assert f"carbon_stocks__{facts['metadata']['version']}" in facts["entries"]


def test_reference_factors_are_a_product_of_their_own_in_a_fresh_process(first_run):
    storage, _, _ = first_run
    facts = load_in_fresh_process(storage, """
ref = cat["reference_factors"].read()
obs = cat["observations"].read()
print(json.dumps({"rows": ref.groupby("source").size().to_dict(), "in_observations": sorted(set(obs.source) & set(ref.source)),
                  "licenses": cat["reference_factors"].metadata["license"]}))
""")
    assert facts["rows"] == {"brazil_reference_stocks": 3714, "fra_biomass_calculator": 78, "fra_climatic_domains": 1180,
                             "ipcc_defaults": 1776, "ipcc_factors_jrc": 153}
    assert facts["in_observations"] == []
    assert "GPL-3.0 (repository LICENSE file)" in facts["licenses"]


def test_sources_and_versions_commands(first_run):
    storage, prefect_home, _ = first_run
    listing = ercan("sources", storage=storage, prefect_home=prefect_home)
    assert listing.returncode == 0
    for source in registry():
        assert source in listing.stdout
    assert "accepted" in listing.stdout
    versions = ercan("versions", "carbon_stocks", storage=storage, prefect_home=prefect_home)
    assert versions.returncode == 0 and "carbon_stocks" in versions.stdout
    unknown = ercan("versions", "carbon_stock", storage=storage, prefect_home=prefect_home)
    assert unknown.returncode == 2 and "did you mean 'carbon_stocks'" in unknown.stderr


def test_second_run_without_change_publishes_nothing(first_run):
    storage, prefect_home, _ = first_run
    before = sorted(p.name for p in (storage / "products").glob("*/*"))
    again = ercan("run", storage=storage, prefect_home=prefect_home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing new published" in again.stdout
    assert sorted(p.name for p in (storage / "products").glob("*/*")) == before


def test_broken_workbook_quarantines_fra_and_keeps_what_was_published(first_run, tmp_path):
    storage, prefect_home, _ = first_run
    copy = tmp_path / "store"
    shutil.copytree(storage, copy)
    workbook = openpyxl.load_workbook(EXTENT)
    workbook["1a_Forest"].delete_rows(2)  # a header row removed
    broken = tmp_path / EXTENT.name
    workbook.save(broken)
    served_before = (copy / "catalog.yaml").read_text()

    ingested = ercan("ingest", "fra2020", str(broken), storage=copy, prefect_home=prefect_home)
    assert ingested.returncode == 0, ingested.stderr
    result = ercan("run", storage=copy, prefect_home=prefect_home)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "quarantined" in result.stdout
    listing = ercan("sources", storage=copy, prefect_home=prefect_home).stdout
    assert "quarantined" in listing and EXTENT.name in " ".join(listing.split())
    state = json.loads((copy / "state" / "sources" / "fra2020.json").read_text())
    assert "sheet '1a_Forest', row 6, column 'A': has values but no header" in state["reason"] and EXTENT.name in state["reason"]
    # FRA's last accepted rows still make the products: carbon stocks are unchanged and still served.
    served = load_in_fresh_process(copy, """
df = cat["carbon_stocks"].read()
q = cat["quality"].read()
print(json.dumps({"fra_rows": int((df.source == "fra2020").sum()), "version": cat["carbon_stocks"].metadata["version"],
                  "fra_gate": q[q.subject == "fra2020"].success.tolist()}))
""")
    assert served["fra_rows"] > 8000
    assert served["version"] in served_before
    assert served["fra_gate"] == [False]  # quality tells why FRA is out


def test_changed_snapshot_publishes_only_the_affected_products(first_run, tmp_path):
    """A corrected GFW file (Alabama's 2001 loss edited by the test) changes observations and
    reconciliation, not carbon_stocks; the changelog names the change."""
    storage, prefect_home, _ = first_run
    copy = tmp_path / "store"
    shutil.copytree(storage, copy)
    original = SAMPLE_DATA / "gfw_usa" / "loc-loss_treecover_loss_by_region__ha.csv"
    corrected = tmp_path / original.name
    corrected.write_text(original.read_text().replace("176807.15511181095", "176907.15511181095", 1))
    assert ercan("ingest", "gfw_usa", str(corrected), "--role", "state_loss", storage=copy,
                 prefect_home=prefect_home).returncode == 0

    result = ercan("run", storage=copy, prefect_home=prefect_home)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "published observations" in result.stdout and "published reconciliation" in result.stdout
    assert "published carbon_stocks" not in result.stdout
    diff = ercan("versions", "observations", "--diff", storage=copy, prefect_home=prefect_home)
    assert diff.returncode == 0
    assert "+0 −0 ~1" in diff.stdout and "US-AL" in diff.stdout
