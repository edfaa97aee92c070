"""A source nobody has seen, added as a steward would: a raw file, its declaration and its suite in a
folder outside the project (ERCAN_HARMONIZERS), the file in the store's landing zone, the nightly
run with the `ercan` command; its rows reach `observations` and its reported total `reconciliation`. No file
of the project is edited (checked with git).

The raw file and its numbers are made up by this test (a national total and three districts of
Portugal in a European-style export: `#` preamble, `;` delimiter, `.` thousands and `,` decimals,
district names with a crosswalk of the source's own); they are no real statistics.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ercan.sources import PROJECT_ROOT
from conftest import prefect_env

pytestmark = pytest.mark.slow
ERCAN = str(Path(sys.executable).with_name("ercan"))

RAW = """# Forest area by district, thousand hectares (made up by tests/test_new_declared_source.py)
# exported 2026-12-01
Distrito;2010;2020
Lisboa;1.200,5;1.100,25
Porto;800;790,75
Faro;2.000;2.109
Portugal;4.000,5;4.000
"""

DECLARATION = """
id: district_forest
title: "Forest area by district (a test source)"
publisher: tests/test_new_declared_source.py
license: none (made-up numbers)
citation: tests/test_new_declared_source.py
inputs:
  table:
    file: districts.csv
    read: {delimiter: ";", comment: "#", digit_grouping: european}
    columns:
      Distrito: {to: [area_code, area_level, parent_code], crosswalk: districts.csv}
    values:
      - pattern: '\\d{4}'
        header: year
    set: {variable: area, land_category: forest_land, unit: 1000 ha, flag: reported}
reconcile:
  - variable: area
    land_category: forest_land
    against: [fra2020]
    tolerance: 0.05
    why: FRA 2020 publishes the country's forest area; a national export is checked against it
"""

CROSSWALK = """name,area_code,area_level,parent_code
Lisboa,PT-11,subnational,PRT
Porto,PT-13,subnational,PRT
Faro,PT-08,subnational,PRT
Portugal,PRT,national,
"""

SUITE = {
    "name": "district_forest",
    "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "min_value": 0},
         "meta": {"severity": "critical", "why": "an area is never negative"}},
    ],
    "meta": {},
}


def ercan(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([ERCAN, *args], capture_output=True, text=True, env=env, timeout=600)


def test_a_new_source_from_its_own_folder_reaches_the_products(tmp_path):
    folder = tmp_path / "sources"
    (folder / "district_forest").mkdir(parents=True)
    (folder / "district_forest" / "source.yaml").write_text(DECLARATION, encoding="utf-8")
    (folder / "district_forest" / "districts.csv").write_text(CROSSWALK, encoding="utf-8")
    (folder / "district_forest.json").write_text(json.dumps(SUITE), encoding="utf-8")
    storage = tmp_path / "store"
    landed = storage / "landing" / "district_forest" / "districts.csv"  # where the publisher's file lands
    landed.parent.mkdir(parents=True)
    landed.write_bytes(RAW.encode("utf-8"))
    env = prefect_env(tmp_path / "prefect", ERCAN_HARMONIZERS=str(folder), ERCAN_STORAGE=str(storage))
    before = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout

    run = ercan("run", "--source", "district_forest", "--source", "fra2020", "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["sources"]["district_forest"]["status"] == "accepted"

    check = """
import intake, json
cat = intake.from_yaml_file(%r)
obs = cat["observations"].read()
obs = obs[obs.source == "district_forest"]
fra = cat["observations"].read().query("source == 'fra2020' and area_code == 'PRT' and variable == 'area' "
                                      "and land_category == 'forest_land' and category.isna()")
rec = cat["reconciliation"].read()
compared = rec[(rec.other_source == "district_forest") & (rec.kind == "source_vs_source")]
rec = rec[(rec.source == "district_forest") & (rec.kind == "aggregate_vs_members")]
print(json.dumps({"obs": obs[["area_code", "year", "value"]].values.tolist(),
                  "rec": rec[["area_code", "year", "reported_value", "bottom_up_value"]].values.tolist(),
                  "fra": fra[["year", "value"]].values.tolist(),
                  "compared": compared[["area_code", "year", "preferred_source", "reported_value", "other_value",
                                        "tolerance"]].values.tolist()}))
""" % str(storage / "catalog.yaml")
    out = json.loads(subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout)
    values = {(code, year): value for code, year, value in out["obs"]}
    assert values[("PT-11", 2010)] == pytest.approx(1_200_500)  # "1.200,5" thousand ha
    assert values[("PT-13", 2020)] == pytest.approx(790_750)
    assert len(values) == 8
    totals = {(code, year): (reported, summed) for code, year, reported, summed in out["rec"]}
    assert totals[("PRT", 2010)] == pytest.approx((4_000_500, 4_000_500))  # 1200.5 + 800 + 2000
    assert totals[("PRT", 2020)] == pytest.approx((4_000_000, 4_000_000))  # 1100.25 + 790.75 + 2109
    # its declared comparison: the national rows beside FRA 2020's of the same years
    fra = {int(year): value for year, value in out["fra"]}
    compared = {int(row[1]): row for row in out["compared"]}
    assert sorted(compared) == [2010, 2020]
    for year, (code, _, preferred, reported, other, tolerance) in compared.items():
        assert (code, preferred, tolerance) == ("PRT", "fra2020", 0.05)
        assert reported == pytest.approx(fra[year]) and other == pytest.approx(totals[("PRT", year)][0])

    after = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout
    assert after == before, "adding a source edited the project"
