"""UNFCCC GHG data interface, "Detailed data by Party", non-Annex I Parties: LULUCF (IPCC 1996 sector 5).

Layout: one CSV, one row per Party x Parent Category x Category x Gas, columns
`Party, Parent Category, Category, Gas, Unit, 1990 .. 2018` (very sparse: most Parties report a
few inventory years). The shipped sample is the LULUCF extract of the openclimatedata file (see
sample_data/unfccc_non_annex_i/SOURCE.txt); the full file reads the same, as rows of other
sectors are skipped.

What is kept:

- Every LULUCF row appears twice: the sector total `5. Land-Use Change and Forestry` under the
  parents `Totals` and `Total GHG emissions including LULUCF/LUCF`, and 5.A-5.E under
  `5. Land-Use Change and Forestry` and again under `Total GHG emissions including LULUCF/LUCF`.
  Each category is read once, from the parents in `LAYOUT.parents`; the repeated rows must repeat
  the same figures (checked, so dropping them loses nothing) and are then dropped.
- Only Gas `Aggregate GHGs` (unit `Gg CO₂ equivalent`), as variable `net_emissions` in t CO2e/yr
  (annual inventory emissions; removals are negative, as reported). The per-gas rows (CO₂, CH₄,
  N₂O, in Gg of the gas) are not kept: the aggregate already includes them, weighted to CO2e by
  the Party's GWPs, so keeping both would double count, and turning a CH₄ or N₂O mass into CO2e
  would need GWP values the file does not state.
- Categories: `crosswalks/unfccc_ipcc1996_categories.csv` (category text → IPCC 1996 code, written
  to `category` as `IPCC1996:<code>`, and the IPCC land category with the reason in its `note`).
  The sector total (5) and its parts (5.A-5.E) are all kept, under different `category` keys:
  sum either the total or the parts, never both.
- Parties → ISO 3166-1 alpha-3 with country_converter, overridden by the reviewed table
  `crosswalks/country_names.csv` (name,iso3,note; shared by sources). Every Party name of this
  file (148, of which 139 report LULUCF) was checked against the ISO3 codes the UNFCCC itself
  gives in its parties.json: country_converter gets all of them right, so no override is needed
  for this source. A name neither maps is an error naming the row and column "Party".

Cells: plain numbers, also in scientific notation (`1.85184e+06`, as exported: 6 significant
digits). The UNFCCC interface can annotate a value with the year it belongs to, `452.25(2005)`:
such a cell is read as 452.25 when the year in brackets is the year of the column it sits in
(the annotation is redundant); in any other column, and any other text, it is an error naming the
file, row (as in the file, header = row 1) and the year column. Only the rows read are parsed: a
bad cell in a per-gas row or another sector does not stop the source. A line with more or fewer
fields than the header, or a blank line inside the file, is an error (pandas would silently pad,
truncate or shift it, or skew the row numbers in messages).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ercan.areas import iso3_for_names
from ercan.errors import SourceError
from ercan.harmonize import finish, map_codes, parse_numbers, read_csv, require_columns, to_unit
from ercan.schema import LAND_CATEGORIES, OBSERVATION_KEY, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="unfccc_non_annex_i",
    title="UNFCCC GHG inventories of non-Annex I Parties: LULUCF net emissions by IPCC 1996 category",
    publisher="UNFCCC (GHG data interface, 'Detailed data by Party'), via openclimatedata",
    license=(
        "UNFCCC terms of use apply (data from the UNFCCC GHG data interface); the openclimatedata "
        "repository has no LICENSE file (.zenodo.json credits Gieseke & Guetschow)"
    ),
    citation=(
        "UNFCCC GHG data interface, Detailed data by Party (non-Annex I); "
        "openclimatedata/unfccc-detailed-data-by-party@fc42009a, data/detailed-data-by-country-non-annex-one.csv"
    ),
    inputs={"inventory": "unfccc_non_annex_i/non-annex-one-lulucf.csv"},
)

CROSSWALKS = Path(__file__).with_name("crosswalks")


class Layout(BaseModel):
    """What the CSV looks like and which of its rows are read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party: str = "Party"
    parent: str = "Parent Category"
    category: str = "Category"
    gas: str = "Gas"
    unit: str = "Unit"
    year_column: str = r"^\d{4}$"  # every other column named like a year holds values
    sector_prefix: str = "5."  # IPCC 1996 sector 5, Land-Use Change and Forestry
    # LULUCF rows appear under two parents each; read them from these ...
    parents: tuple[str, ...] = ("5. Land-Use Change and Forestry", "Totals")
    # ... and check that the copies under this one repeat them.
    repeated_parent: str = "Total GHG emissions including LULUCF/LUCF"
    gas_kept: str = "Aggregate GHGs"
    # The Unit text of the kept gas → the pint unit of its values (inventories are annual).
    units: dict[str, str] = {"Gg CO₂ equivalent": "Gg CO2e/yr"}
    variable: str = "net_emissions"
    code_system: str = "IPCC1996"


class CategoryMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str
    code: str = Field(pattern=r"^5(\.[A-Z])?$")
    land_category: str
    note: str

    @field_validator("land_category")
    @classmethod
    def _known_land_category(cls, value: str) -> str:
        if value not in LAND_CATEGORIES:
            raise ValueError(f"{value!r} is not one of {LAND_CATEGORIES}")
        return value





LAYOUT = Layout()
CATEGORIES = {
    row["category"]: CategoryMapping(**row)
    for row in pd.read_csv(CROSSWALKS / "unfccc_ipcc1996_categories.csv", dtype=str, keep_default_na=False).to_dict(
        "records"
    )
}
# `V(YYYY)`: a value annotated with the year it belongs to.
_YEAR_ANNOTATED = re.compile(
    r"^\s*(?P<value>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*\(\s*(?P<year>\d{4})\s*\)\s*$"
)


def harmonize(files) -> pa.Table:
    raw = files["inventory"]
    df = read_csv(raw)
    require_columns(df, [LAYOUT.party, LAYOUT.parent, LAYOUT.category, LAYOUT.gas, LAYOUT.unit], file=raw.name)
    years = [c for c in df.columns if re.match(LAYOUT.year_column, str(c))]
    if not years:
        raise SourceError(
            "no year columns (1990, 1991, ...) found",
            file=raw.name,
            row=1,
            hint="The source layout changed: restore the year columns or update the harmonizer.",
        )

    lulucf = df[LAYOUT.category].str.startswith(LAYOUT.sector_prefix) & (df[LAYOUT.gas] == LAYOUT.gas_kept)
    kept = lulucf & df[LAYOUT.parent].isin(LAYOUT.parents)
    repeated = lulucf & (df[LAYOUT.parent] == LAYOUT.repeated_parent)
    read = kept | repeated
    if not kept.any():
        raise SourceError(
            f"has no {LAYOUT.gas_kept!r} rows of categories {LAYOUT.sector_prefix}* under "
            f"{' or '.join(map(repr, LAYOUT.parents))}",
            file=raw.name,
            hint="Check that the file is the non-Annex I 'Detailed data by Party' table and still has LULUCF rows.",
        )
    # Whole columns with the unread rows blanked: positions stay file rows, so errors name them.
    rows = pd.Series(range(2, len(df) + 2), index=df.index)  # as in the file (header = row 1)
    category = map_codes(
        df[LAYOUT.category].where(read),
        {text: m.code for text, m in CATEGORIES.items()},
        what="IPCC 1996 category",
        file=raw.name,
        column=LAYOUT.category,
    )
    from_unit = map_codes(df[LAYOUT.unit].where(read), LAYOUT.units, what="unit", file=raw.name, column=LAYOUT.unit)
    area_code = map_codes(
        df[LAYOUT.party].where(read),
        iso3_for_names(df.loc[read, LAYOUT.party]),
        what="Party name",
        file=raw.name,
        column=LAYOUT.party,
    )
    values = pd.DataFrame(
        {
            year: parse_numbers(
                _drop_year_annotation(df[year].where(read), int(year), raw.name), file=raw.name, column=year
            )
            for year in years
        }
    )
    _check_repeats(df, values, kept, repeated, rows, raw.name)

    wide = pd.DataFrame({"area_code": area_code, "code": category, "from_unit": from_unit, "row": rows})
    wide = wide[kept].join(values[kept])
    _check_unique(wide, raw.name)
    long = wide.melt(id_vars=["area_code", "code", "from_unit", "row"], var_name="year", value_name="raw_value")
    long = long.dropna(subset=["raw_value"])
    unit = VARIABLE_UNITS[LAYOUT.variable]
    converted = [
        to_unit(part["raw_value"], source_unit, unit, file=raw.name) for source_unit, part in long.groupby("from_unit")
    ]
    long["value"] = pd.concat(converted) if converted else pd.Series(dtype="float64")
    land = {m.code: m.land_category for m in CATEGORIES.values()}
    out = long.assign(
        snapshot=raw.sha256,
        area_level="national",
        parent_code=None,
        year=long["year"].astype("int32"),
        land_category=long["code"].map(land),
        category=LAYOUT.code_system + ":" + long["code"],
        variable=LAYOUT.variable,
        unit=unit,
        flag="reported",
    )
    out = out.sort_values(["area_code", "code", "year"], kind="stable").reset_index(drop=True)
    key = [c for c in OBSERVATION_KEY if c in out and c != "source"]
    assert not out.duplicated(key).any(), "duplicate observation keys"  # guaranteed by _check_unique
    return finish(out, SOURCE.id)


def _drop_year_annotation(cells: pd.Series, year: int, file: str) -> pd.Series:
    """`452.25(2005)` in the 2005 column → `452.25`; a different year in brackets is an error."""
    text = cells.astype("string")
    match = text.str.extract(_YEAR_ANNOTATED)
    annotated = match["year"].notna()
    wrong = annotated & (match["year"] != str(year))
    if wrong.any():
        position = int(wrong.to_numpy().nonzero()[0][0])
        raise SourceError(
            f"{text.iloc[position]!r} is annotated with year {match['year'].iloc[position]} "
            f"but sits in the {year} column",
            file=file,
            row=2 + position,
            column=str(year),
            hint="Check which year the value belongs to; move it to that column or drop the '(year)' annotation.",
        )
    return text.where(~annotated, match["value"])


def _check_repeats(df, values, kept, repeated, rows, file) -> None:
    """The rows under the repeated parent must repeat the kept ones: then dropping them loses nothing."""
    key = [LAYOUT.party, LAYOUT.category]
    first = df.loc[kept, key].join(values[kept]).set_index(key)
    again = df.loc[repeated, key].join(values[repeated]).assign(row=rows[repeated])
    for record in again.itertuples(index=False):
        party, category, *cells, row = record
        if (party, category) not in first.index:
            continue
        reference = first.loc[(party, category)]
        if isinstance(reference, pd.DataFrame):  # the kept row itself is duplicated: _check_unique says where
            continue
        for year, cell in zip(values.columns, cells):
            if not (pd.isna(cell) and pd.isna(reference[year])) and cell != reference[year]:
                raise SourceError(
                    f"{party} {category!r} under {LAYOUT.repeated_parent!r} reads {cell} but {reference[year]} "
                    f"under {', '.join(map(repr, LAYOUT.parents))}",
                    file=file,
                    row=int(row),
                    column=year,
                    hint="The file's copies of a LULUCF row disagree; download the file again or fix the row.",
                )


def _check_unique(wide: pd.DataFrame, file: str) -> None:
    """One kept row per Party and category (two names of one country would also collide here)."""
    twice = wide.duplicated(["area_code", "code"], keep=False)
    if twice.any():
        clash = wide[twice].iloc[0]
        rows = wide.loc[twice & (wide["area_code"] == clash["area_code"]) & (wide["code"] == clash["code"]), "row"]
        raise SourceError(
            f"{clash['area_code']} category {clash['code']} ({LAYOUT.gas_kept}) is reported by rows "
            f"{', '.join(map(str, rows))}",
            file=file,
            row=int(rows.iloc[-1]),
            column=LAYOUT.party,
            hint="A row is repeated, or two Party names map to one country: "
            "fix the file or harmonizers/crosswalks/country_names.csv.",
        )
