"""A country's five domain shares are percentages of its area and add up to 100, except the reviewed
rows of rounded.csv (whole percentages rounded apart); anything else is an error naming the row."""

from pathlib import Path

import pandas as pd

from ercan.errors import SourceError

ROUNDED = set(pd.read_csv(Path(__file__).with_name("rounded.csv"), dtype=str)["region"])


def rows(rows: pd.DataFrame, files) -> pd.DataFrame:
    outside = ~rows["value"].between(0, 100)
    if outside.any():
        bad = rows[outside].iloc[0]
        raise SourceError(f"share {bad['value']!r} is not a percentage of 0-100", file=files["shares"].name,
                          row=int(bad["_line"]), column=bad["_column"],
                          hint="Each domain's share of the country's area is a percentage: ingest a corrected file.")
    totals = rows.groupby(["region", "_line"], sort=False)["value"].sum().reset_index()
    wrong = totals[(totals["value"] != 100) & ~totals["region"].isin(ROUNDED)]
    if len(wrong):
        bad = wrong.iloc[0]
        raise SourceError(
            f"the shares of {bad['region']!r} add up to {bad['value']:g}, not 100", file=files["shares"].name,
            row=int(bad["_line"]), column="Tropical-Polar",
            hint="Review the row; if the shares were rounded apart, add it to rounded.csv in the source's folder "
                 "with why, else ingest a corrected file.",
        )
    return rows
