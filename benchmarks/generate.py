"""Synthetic raw inputs for the benchmark, in the shapes of a plot-level national forest inventory.

SYNTHETIC: the plots, their areas and growing stocks are made up by this generator (deterministic
by seed). What they are built from is the real shipped sample data, so codes, units and orders of
magnitude are those the harmonizers meet:

- province names and their ISO 3166-2 codes: `harmonizers/crosswalks/china_provinces.csv`, the 34
  names of `sample_data/china_nfi9/china_9th_nfi_provincial_long.csv`;
- each province's forest area (百公顷, 9th NFI, 2018) from that file: the plots of a province share
  it (random weights), so their sum is the shipped figure, which is also written as the province's
  reported total (样地号 合计, 2018 only: the shipped file has no other year);
- the national forest area (万公顷) and growing stock (亿立方米) of NFI rounds 7-9 (2008, 2013, 2018)
  from `sample_data/china_nfi9/china_national_forest_sqldump.csv`: plot areas of 2008 and 2013 are
  the 2018 ones scaled by the national area of the round; a plot's growing stock is its area times
  the national growing stock per hectare of the round times a lognormal factor (sigma 0.3, made up);
  the national rows (全国, 合计) are the dump's figures.

Two files, ROWS values in all (each becomes one harmonized row):
- `plots.csv`, long: 省份 (Chinese short name), 样地号 (plot number, zero-padded text), 调查年份,
  指标 (森林面积), 数值, 单位 (百公顷; 万公顷 on the national rows) — half the values;
- `stands.csv`, wide like a spreadsheet: ISO 3166-2 code, 样地号, 指标 (森林蓄积量), 单位 (万立方米),
  then one column per round year; 1 % of the cells are empty (not measured) — the other half.

    python benchmarks/generate.py --rows 1000000 [--seed 0] [--out /tmp/ercan-bench]

writes `<out>/rows-<ROWS>-seed-<SEED>/` (outside the repository) with the two files and
`inputs.json` (what was generated, with the row counts a correct pipeline must produce).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parent.parent
PROVINCES_FILE = REPO / "sample_data" / "china_nfi9" / "china_9th_nfi_provincial_long.csv"
NATIONAL_FILE = REPO / "sample_data" / "china_nfi9" / "china_national_forest_sqldump.csv"
CROSSWALK = REPO / "harmonizers" / "crosswalks" / "china_provinces.csv"
DEFAULT_OUT = Path("/tmp/ercan-bench")
ROUND_YEARS = (2008, 2013, 2018)  # the last years of NFI rounds 7, 8 and 9
REPORTED_PROVINCE_YEAR = 2018  # the only year of the shipped provincial figures
MISSING_SHARE = 0.01
STOCK_SPREAD = 0.3


def _csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def shipped_figures() -> dict:
    """The real figures the synthetic plots are built from (see the module docstring)."""
    codes = {row["name_zh"]: row["iso_3166_2"] for row in _csv_rows(CROSSWALK)}
    provinces = [
        (row["省份"], codes[row["省份"]], float(row["value"]))
        for row in _csv_rows(PROVINCES_FILE)
        if row["series_name"] == "森林面积" and row["unit_as_printed"] == "百公顷"
    ]
    national = {int(row["年份"]): row for row in _csv_rows(NATIONAL_FILE) if row["地区"] == "全国"}
    return {
        "provinces": provinces,
        "national_area_wan_ha": {y: float(national[y]["森林面积(万公顷)"]) for y in ROUND_YEARS},
        "national_stock_yi_m3": {y: float(national[y]["森林蓄积量(亿立方米)"]) for y in ROUND_YEARS},
    }


def _plots_per_province(areas: np.ndarray, plots: int) -> np.ndarray:
    """Plots in proportion to forest area (a systematic grid), at least one each (largest remainder)."""
    share = areas / areas.sum() * (plots - len(areas))
    counts = np.floor(share).astype(np.int64) + 1
    counts[np.argsort(share - np.floor(share))[::-1][: plots - counts.sum()]] += 1
    return counts


def generate(rows: int, seed: int, out: Path) -> Path:
    figures = shipped_figures()
    names, codes, areas = zip(*figures["provinces"])
    areas = np.array(areas)
    national_rows = len(ROUND_YEARS)
    plots = max(len(names), (rows - len(names) - national_rows) // (2 * len(ROUND_YEARS)))
    rng = np.random.default_rng(seed)
    counts = _plots_per_province(areas, plots)
    province = np.repeat(np.arange(len(names)), counts)
    plot_no = np.concatenate([np.arange(1, n + 1) for n in counts])
    weights = rng.gamma(2.0, size=plots)
    weights /= np.bincount(province, weights)[province]
    area_2018 = areas[province] * weights  # 百公顷; a province's plots add up to its shipped area
    scale = {y: figures["national_area_wan_ha"][y] / figures["national_area_wan_ha"][2018] for y in ROUND_YEARS}
    # growing stock per ha of the round (亿立方米 / 万公顷 = 1e4 m3/ha) × plot area (百公顷 = 100 ha) → 万立方米
    density = {y: figures["national_stock_yi_m3"][y] / figures["national_area_wan_ha"][y] * 1e4 for y in ROUND_YEARS}
    target = out.resolve() / f"rows-{rows}-seed-{seed}"
    if target.is_relative_to(REPO):
        raise SystemExit(f"{target} is inside the repository: generate the inputs elsewhere (--out)")
    target.mkdir(parents=True, exist_ok=True)
    names_arr, codes_arr = np.array(names, dtype=object), np.array(codes, dtype=object)
    plot_text = pa.array(np.char.zfill(plot_no.astype(str), 7))

    # plots.csv: long, one row per plot and round year, then the reported totals.
    year = np.tile(np.array(ROUND_YEARS, dtype=np.int32), plots)
    per_plot = np.repeat(np.arange(plots), len(ROUND_YEARS))
    area = np.round(area_2018[per_plot] * np.vectorize(scale.get)(year), 4)
    totals_name = list(names) + ["全国"] * national_rows
    totals_year = [REPORTED_PROVINCE_YEAR] * len(names) + list(ROUND_YEARS)
    totals_value = list(areas) + [figures["national_area_wan_ha"][y] for y in ROUND_YEARS]
    totals_unit = ["百公顷"] * len(names) + ["万公顷"] * national_rows
    long = pa.table({
        "省份": pa.concat_arrays([pa.array(names_arr[province[per_plot]], pa.string()), pa.array(totals_name)]),
        "样地号": pa.concat_arrays([plot_text.take(pa.array(per_plot)), pa.array(["合计"] * len(totals_name))]),
        "调查年份": pa.concat_arrays([pa.array(year), pa.array(totals_year, pa.int32())]),
        "指标": pa.array(["森林面积"] * (len(year) + len(totals_name))),
        "数值": pa.concat_arrays([pa.array(area), pa.array(totals_value, pa.float64())]),
        "单位": pa.concat_arrays([pa.array(["百公顷"] * len(year)), pa.array(totals_unit)]),
    })
    _write(long, target / "plots.csv")

    # stands.csv: wide, one row per plot, one column per round year (万立方米), some cells empty.
    wide = {"ISO 3166-2": pa.array(codes_arr[province], pa.string()), "样地号": plot_text,
            "指标": pa.array(["森林蓄积量"] * plots), "单位": pa.array(["万立方米"] * plots)}
    measured = 0
    for y in ROUND_YEARS:
        stock = area_2018 * scale[y] * 100 * density[y] * 1e-4 * rng.lognormal(0.0, STOCK_SPREAD, plots)
        missing = rng.random(plots) < MISSING_SHARE
        measured += int((~missing).sum())
        wide[str(y)] = pa.array(np.round(stock, 4), mask=missing)
    _write(pa.table(wide), target / "stands.csv")

    facts = {
        "synthetic": True,
        "rows": rows,
        "seed": seed,
        "plots": int(plots),
        "files": {"plots": "plots.csv", "stands": "stands.csv"},
        "raw_lines": {"plots": long.num_rows, "stands": plots},
        "expected_observations": long.num_rows + measured,
        "expected_by_variable": {"area": long.num_rows, "growing_stock": measured},
        "built_from": [str(p.relative_to(REPO)) for p in (PROVINCES_FILE, NATIONAL_FILE, CROSSWALK)],
    }
    (target / "inputs.json").write_text(json.dumps(facts, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def _write(table: pa.Table, path: Path) -> None:
    """Plain CSV as spreadsheets export it: quotes only where needed, empty cells for missing values."""
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed", batch_size=100_000))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    print(generate(args.rows, args.seed, args.out))


if __name__ == "__main__":
    main()
