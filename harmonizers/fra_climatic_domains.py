"""FRA's climatic-domain shares of each country's area (reference factors, not observations).

`climaticDomain.csv` (FRA platform example data, beside FRA 2015's forest areas): one row per
country (`Country`, `ISO`) with the percentage of its area in each FAO climatic domain (columns
Tropical, Subtropical, Temperate, Boreal, Polar) and two trailing empty columns (not read). Each
cell becomes a `climatic_domain_share` row (unit %) with `region` = the country's ISO3 code and
`climatic_domain` = the column, zeros included, so a country's five rows always add up.

Accounting weighs the IPCC default factors of each domain by these shares (biomass from growing
stock, Tier 1 gap-filling: docs/accounting.md). They are shares of the country's **area**, not of
its forest: FRA publishes no forest-area split by domain.

Checked on every run: every share lies in 0-100, each ISO code appears once, and a country's shares
add up to 100 — except the reviewed rows in `ROUNDED` (whole percentages that were rounded apart);
any other sum is an error naming its row.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ercan import schema
from ercan.errors import SourceError
from ercan.harmonize import finish, parse_numbers, read_csv, require_columns, require_unique
from ercan.sources import Source

SOURCE = Source(
    id="fra_climatic_domains",
    title="FRA: share of each country's area by climatic domain (tropical, subtropical, temperate, boreal, polar)",
    publisher="FAO (Global Forest Resources Assessment platform)",
    license="FAO terms of use (cite: FAO 2020, Global Forest Resources Assessment 2020); repository UNLICENSED",
    citation="openforis/fra-platform@83caa456daad6bbf84746295cb89fd3c5e5a30e2 doc/exampleData/climaticDomain.csv",
    inputs={"shares": "fra2015/climaticDomain.csv"},
    product="reference_factors",
)

DOMAIN_COLUMNS = {domain.capitalize(): domain for domain in schema.CLIMATIC_DOMAINS}
# Countries whose printed whole percentages do not add up to 100, reviewed: rounding, not a missing domain.
ROUNDED = {
    "ARG": "86 + 6 + 7 = 99: three shares rounded down",
    "USA": "26 + 58 + 14 + 1 = 99: shares rounded down",
}
REFERENCE = "FRA climaticDomain.csv (FRA platform example data): % of the country's area by climatic domain"


def harmonize(files) -> pa.Table:
    raw = files["shares"]
    table = read_csv(raw)
    require_columns(table, ["ISO", *DOMAIN_COLUMNS], file=raw.name)
    codes = table["ISO"].str.strip()
    require_unique(codes, what="ISO code", file=raw.name, column="ISO")
    shares = pd.DataFrame({column: parse_numbers(table[column], file=raw.name, column=column) for column in DOMAIN_COLUMNS})
    _check(shares, codes, raw.name)
    long = shares.assign(region=codes).melt(id_vars="region", var_name="column", value_name="value")
    rows = long.assign(
        parameter="climatic_domain_share",
        climatic_domain=long.pop("column").map(DOMAIN_COLUMNS),
        unit=schema.REFERENCE_PARAMETERS["climatic_domain_share"],
        reference=REFERENCE,
        flag="reported",
        snapshot=raw.sha256,
    )
    return finish(rows, SOURCE.id, schema.REFERENCE_COLUMNS)


def _check(shares: pd.DataFrame, codes: pd.Series, file: str) -> None:
    for column in shares:
        outside = shares[column].isna() | ~shares[column].between(0, 100)
        if outside.any():
            at = int(outside.to_numpy().argmax())
            raise SourceError(f"share {shares[column].iloc[at]!r} is not a percentage of 0-100", file=file, row=2 + at,
                              column=column, hint="Each domain's share of the country's area is a percentage.")
    totals = shares.sum(axis=1)
    wrong = (totals != 100) & ~codes.isin(ROUNDED)
    if wrong.any():
        at = int(wrong.to_numpy().argmax())
        raise SourceError(
            f"the shares of {codes.iloc[at]!r} add up to {totals.iloc[at]:g}, not 100", file=file, row=2 + at,
            column="Tropical-Polar",
            hint="Fix the row, or review it and add it to ROUNDED in harmonizers/fra_climatic_domains.py.",
        )
