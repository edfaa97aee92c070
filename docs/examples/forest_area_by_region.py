"""World and continental forest area over time, from a published ercan store.

    python docs/examples/forest_area_by_region.py                      # ./ercan-data, the served version
    python docs/examples/forest_area_by_region.py --version v2026…     # an older version (`ercan versions carbon_stocks`)
    python docs/examples/forest_area_by_region.py --catalog s3://bucket/ercan/catalog.yaml --out area.png

Loads `carbon_stocks` through the intake catalog, keeps the forest area of the world and of the UN M49
continents (the regions whose parent is WORLD), each the sum of its member countries (`method =
bottom_up`), names them from the catalog's `areas` product, prints it in million hectares as CSV and
writes a PNG.
"""

from __future__ import annotations

import argparse
import sys

import intake
import matplotlib
import pandas as pd

matplotlib.use("Agg")  # a file, no display
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def forest_area(catalog: str, version: str | None = None) -> tuple[pd.DataFrame, str]:
    """Forest area in million ha by year (rows) for the world and each continent (columns), and the version read."""
    cat = intake.from_yaml_file(catalog)
    if version and f"carbon_stocks__{version}" not in cat.entries:
        published = sorted(e.removeprefix("carbon_stocks__") for e in cat.entries if e.startswith("carbon_stocks__"))
        raise SystemExit(f"{catalog} has no version {version!r} of carbon_stocks; the published ones: {', '.join(published)}")
    entry = cat[f"carbon_stocks__{version}" if version else "carbon_stocks"]
    stocks = entry.read()
    wanted = (stocks.area_code == "WORLD") | ((stocks.parent_code == "WORLD") & stocks.area_code.str.startswith("M49:"))
    rows = stocks[wanted & (stocks.variable == "area") & (stocks.land_category == "forest_land")
                  & (stocks.method == "bottom_up")]
    names = cat["areas"].read().set_index("area_code")["area_name"]  # M49:002 -> Africa, WORLD -> World
    table = rows.assign(region=rows.area_code.map(names)).pivot(index="year", columns="region", values="value") / 1e6
    return table[["World", *sorted(c for c in table.columns if c != "World")]], entry.metadata["version"]


def plot(table: pd.DataFrame, version: str, out: str) -> None:
    figure, (world, continents) = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    world.plot(table.index, table["World"], marker="o", color="black")
    world.set(title="World", xlabel="year", ylabel="forest area (million ha)")
    for region in table.columns.drop("World"):
        continents.plot(table.index, table[region], marker="o", label=region)
    continents.set(title="UN M49 continents", xlabel="year", ylabel="forest area (million ha)")
    continents.legend(loc="center left", bbox_to_anchor=(1, 0.5))
    figure.suptitle(f"Forest area, sum of the reporting countries (ercan carbon_stocks {version})")
    figure.savefig(out, dpi=120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", default="ercan-data/catalog.yaml", help="the store's catalog.yaml (path or URL)")
    parser.add_argument("--version", help="a published version of carbon_stocks (default: the served one)")
    parser.add_argument("--out", default="forest_area_by_region.png", help="the PNG to write")
    args = parser.parse_args(argv)
    table, version = forest_area(args.catalog, args.version)
    print(f"# carbon_stocks {version}: forest area, million ha")
    table.round(3).to_csv(sys.stdout)
    plot(table, version, args.out)
    print(f"# wrote {args.out}")


if __name__ == "__main__":
    main()
