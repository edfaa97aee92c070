"""The `areas` product (ercan/area_names.py): every area code of the published products named from the
libraries and crosswalks the harmonizers code them by, with level, parent, validity and code system.

One store is built from the shipped data with the plain pipeline functions (every source through its
gate, every product gated and published, the report written) and shared by the module; a few tests
build small frames of their own (said where)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import intake
import pandas as pd
import pyarrow as pa
import pytest

from ercan import pipeline, product_gates, report, sources
from ercan.area_names import area_rows
from ercan.sources import PROJECT_ROOT
from ercan.storage import Storage

pytestmark = pytest.mark.slow
PRODUCTS_WITH_AREAS = ("observations", "carbon_stocks", "carbon_fluxes", "restoration_progress", "reconciliation")


@pytest.fixture(scope="module")
def store(published_store, tmp_path_factory):
    copied = published_store.copy(tmp_path_factory.mktemp("areas") / "store")
    assert all(o.status == "accepted" for o in copied.outcomes), copied.outcomes
    report.publish_report(Storage(str(copied.root)), copied.manifests)
    return copied.root, copied.manifests


def catalog(root):
    return intake.from_yaml_file(str(root / "catalog.yaml"))


@pytest.fixture(scope="module")
def areas(store):
    return catalog(store[0])["areas"].read().set_index("area_code")


def test_codes_are_named_from_the_libraries_and_crosswalks(areas):
    expected = {
        "CHN": ("China", "national", "M49:030", "ISO 3166-1 alpha-3", "country_converter"),
        "USA": ("United States", "national", "M49:021", "ISO 3166-1 alpha-3", "country_converter"),
        "M49:002": ("Africa", "regional", "WORLD", "UN M49", "ercan/accounting/m49_regions.csv"),
        "M49:030": ("Eastern Asia", "regional", "M49:142", "UN M49", "ercan/accounting/m49_regions.csv"),
        "CN-GX": ("Guangxi Zhuangzu Zizhiqu", "subnational", "CHN", "ISO 3166-2", "pycountry ISO 3166-2"),
        "US-AK": ("Alaska", "subnational", "USA", "ISO 3166-2", "pycountry ISO 3166-2"),
        "FRA:east_asia": ("East Asia", "regional", "FRA:asia", "FRA 2020 region", "harmonizers/fra2020/regions.csv"),
        "Saihanba": ("China (Saihanba forest farm)", "site", "CN-HE", "site id of programme_figures",
                     "harmonizers/programme_figures/areas.csv"),
        "EUU": ("European Union (Convention)", "regional", "WORLD", "code of fra2020, unfccc_annex_i",
                "harmonizers/unfccc_annex_i/unfccc_annex_i_aggregates.csv"),
    }
    for code, row in expected.items():
        assert tuple(areas.loc[code, ["area_name", "area_level", "parent_code", "code_system", "name_source"]]) == row
    # WORLD: the name most crosswalks give it (fra2020, owid_forest, programme_figures), not cikd2024's 全球
    world = areas.loc["WORLD"]
    assert (world.area_name, world.area_level, world.code_system) == ("World", "global", "WORLD")
    assert pd.isna(world.parent_code)


def test_a_withdrawn_code_has_its_last_year_and_a_current_one_none(areas):
    """FRA 2015 reports the Netherlands Antilles (ANT), withdrawn from ISO 3166-1 on 2010-12-15 (pycountry's ISO 3166-3)."""
    antilles = areas.loc["ANT"]
    assert (antilles.area_name, antilles.valid_to, antilles.name_source) == ("Netherlands Antilles", 2010,
                                                                            "pycountry ISO 3166-3")
    assert areas["valid_to"].notna().sum() == 1
    assert areas["valid_from"].isna().all()  # no library ercan uses records when a code came into use


def test_every_code_of_every_product_has_a_row_and_every_parent_resolves(store, areas):
    cat = catalog(store[0])
    assert areas.index.is_unique
    for product in PRODUCTS_WITH_AREAS:
        frame = cat[product].read()
        codes = set(frame["area_code"]) | set(frame.get("parent_code", pd.Series(dtype=object)).dropna())
        assert codes <= set(areas.index), (product, codes - set(areas.index))
        levels = frame[["area_code", "area_level"]].drop_duplicates().set_index("area_code")["area_level"]
        assert (areas.loc[levels.index, "area_level"] == levels).all(), product
    assert set(areas["parent_code"].dropna()) <= set(areas.index)
    # every area climbs to WORLD, but ANT, a former country outside today's hierarchy (fra2015 gives it no parent)
    roots = set()
    for code in areas.index:
        seen = [code]
        while pd.notna(parent := areas.loc[seen[-1], "parent_code"]):
            seen.append(parent)
            assert len(seen) < 10, seen
        roots.add(seen[-1])
    assert roots == {"WORLD", "ANT"}
    chain, code = [], "CN-GX"
    while pd.notna(code):
        chain.append(code)
        code = areas.loc[code, "parent_code"]
    assert chain == ["CN-GX", "CHN", "M49:030", "M49:142", "WORLD"]


def test_an_area_nobody_names_is_published_unnamed_and_counted(store, areas):
    """FLUXNET's site DE-Hai: no library or crosswalk names it."""
    unnamed = areas[areas["area_name"].isna()]
    assert list(unnamed.index) == ["DE-Hai"]
    assert tuple(unnamed.loc["DE-Hai", ["name_source", "code_system", "parent_code"]]) == (
        "none", "site id of fluxnet_de_hai", "DEU")
    quality = catalog(store[0])["quality"].read()
    counted = quality[(quality.subject == "areas") & (quality.column_name == "area_name")]
    assert counted[["severity", "success", "unexpected_count"]].values.tolist() == [["warning", False, 1]]
    assert quality[(quality.subject == "areas") & (quality.severity == "critical")].success.all()


def test_the_catalog_serves_areas_with_intake_in_a_fresh_process(store):
    root, manifests = store
    version = next(m["version"] for m in manifests if m["product"] == "areas")
    script = f"""
import intake, json
cat = intake.from_yaml_file({str(root / 'catalog.yaml')!r})
areas = cat["areas"].read()
print(json.dumps({{"version": cat["areas"].metadata["version"], "rows": len(areas),
                  "china": areas.set_index("area_code").loc["CHN", "area_name"],
                  "pinned": len(cat["areas__" + cat["areas"].metadata["version"]].read())}}))
"""
    shown = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                      check=True).stdout)
    manifest = json.loads((root / "products" / "areas" / version / "manifest.json").read_text())
    assert shown == {"version": version, "rows": manifest["row_count"], "china": "China", "pinned": manifest["row_count"]}
    assert [f["name"] for f in manifest["schema"]] == ["area_code", "area_name", "area_level", "parent_code",
                                                      "valid_from", "valid_to", "code_system", "name_source"]


def test_the_gate_withholds_areas_missing_a_products_code(store, tmp_path):
    """The frames of the shipped store, with China's row taken out of `areas` as a bug in its building would."""
    root = tmp_path / "store"
    shutil.copytree(store[0], root)
    storage = Storage(str(root))
    frames = pipeline.account(storage)
    frames["areas"] = frames["areas"][frames["areas"]["area_code"] != "CHN"]
    passed, gates, _ = product_gates.gate_products(storage, frames)
    assert gates["areas"].withheld and "areas" not in passed
    assert "CHN" in gates["areas"].reason and "area_code" in gates["areas"].reason
    assert not any(g.withheld for product, g in gates.items() if product != "areas")


def test_the_report_names_the_areas_it_shows(store):
    root, _ = store
    page = next((root / "reports").glob("*/index.html")).read_text(encoding="utf-8")
    target2 = page.split("id='target-2'")[1]
    for code, name in (("IND", "India"), ("NER", "Niger"), ("USA", "United States")):
        assert re.search(rf"<td>{code}</td>\s*<td>{name}</td>", target2), code
    reconciliation = page.split("id='reconciliation'")[1].split("id='target-2'")[0]
    assert re.search(r"<th>area_code</th>\s*<th>area</th>", reconciliation)
    assert re.search(r"<td>KIR</td>\s*<td>Kiribati</td>", reconciliation)


def test_the_example_names_regions_from_the_catalog_without_ercan(store, tmp_path):
    """docs/examples/forest_area_by_region.py run with `ercan` made unimportable: it needs only the catalog."""
    root, _ = store
    example = PROJECT_ROOT / "docs" / "examples" / "forest_area_by_region.py"
    png = tmp_path / "area.png"
    script = (f"import runpy, sys\nsys.modules['ercan'] = None\n"
              f"sys.argv = ['example', '--catalog', {str(root / 'catalog.yaml')!r}, '--out', {str(png)!r}]\n"
              f"runpy.run_path({str(example)!r}, run_name='__main__')")
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    printed = pd.read_csv(pd.io.common.StringIO(shown.stdout), comment="#", index_col="year")
    assert list(printed.columns) == ["World", "Africa", "Americas", "Asia", "Europe", "Oceania"]
    assert png.exists()


def test_a_parent_only_code_and_its_ancestors_get_rows():
    """Small frames made up here: one site, in Hebei, which no row of its own names."""
    frames = {"observations": pa.table({"source": ["made_up"], "area_code": ["plot-1"], "area_level": ["site"],
                                        "parent_code": ["CN-HE"]})}
    rows = area_rows(frames).set_index("area_code")
    assert sorted(rows.index) == ["CHN", "CN-HE", "M49:030", "M49:142", "WORLD", "plot-1"]
    assert tuple(rows.loc["CN-HE", ["area_name", "area_level", "parent_code"]]) == ("Hebei Sheng", "subnational", "CHN")
    assert pd.isna(rows.loc["plot-1", "area_name"])
    assert tuple(rows.loc["plot-1", ["code_system", "name_source"]]) == ("site id of made_up", "none")


def test_a_withdrawn_subdivision_of_a_sources_reviewed_list(tmp_path, monkeypatch):
    """A source folder made up here (outside the project) lists FR-A, Alsace, a French region until 2016."""
    folder = tmp_path / "sources" / "made_up"
    folder.mkdir(parents=True)
    (folder / "source.yaml").write_text("""
id: made_up
title: t
publisher: p
license: l
citation: c
inputs:
  table:
    file: table.csv
    columns: {Year: {to: year}, Region: {to: [area_code, area_level, parent_code], codes: iso3166_2}}
    values: [{columns: [Area], set: {variable: area, unit: ha}}]
    set: {land_category: forest_land, flag: reported}
""", encoding="utf-8")
    (folder / "withdrawn_subdivisions.csv").write_text(
        "code,name,withdrawn,note\nFR-A,Alsace,2016-01-01,merged into Grand Est (FR-GES)\n", encoding="utf-8")
    monkeypatch.setenv("ERCAN_HARMONIZERS", str(folder.parent))
    sources.registry.cache_clear()
    try:
        frames = {"observations": pd.DataFrame({"source": ["made_up"], "area_code": ["FR-A"],
                                                "area_level": ["subnational"], "parent_code": ["FRA"]})}
        alsace = area_rows(frames).set_index("area_code").loc["FR-A"]
    finally:
        monkeypatch.delenv("ERCAN_HARMONIZERS")
        sources.registry.cache_clear()
    assert (alsace.area_name, alsace.valid_to, alsace.code_system, alsace.parent_code) == ("Alsace", 2016, "ISO 3166-2",
                                                                                         "FRA")
    assert alsace.name_source.endswith("made_up/withdrawn_subdivisions.csv")
