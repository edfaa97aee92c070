"""UNFCCC Common Reporting Format (CRF) Table 4.A (forest land), Austria: an excerpt of the 2019
submission for inventory year 2017, as transcribed by the JRC forest_puller project.

Layout: one small CSV, one row per CRF row, header

    country,year,land_use,subdivision<U+00A0>,area,biomass_gain,biomass_loss,biomass_net,
    dead_wood,litter,mineral_soils,organic_soils,net_co2

- **Header whitespace.** The header `subdivision` ends in a NO-BREAK SPACE (U+00A0, bytes C2 A0),
  not an ASCII space. Every header is stripped of leading and trailing whitespace (`str.strip`,
  which removes U+00A0 too) before any column is looked up, so `subdivision`, `subdivision ` and
  `subdivision\\u00a0` all read as `subdivision`. Two headers equal after stripping are an error.
  Cells of the label columns (country, land_use, subdivision) are stripped the same way.
- **Units** are not written in the file. They are those of CRF Table 4.A: areas in kha, carbon
  stock changes in kt C (in the inventory year, so kt C/yr), net CO2 in kt CO2 (annual, kt CO2/yr;
  CO2 alone, so kt CO2 = kt CO2e). They are declared per column in
  `crosswalks/crf_austria_columns.csv` and converted with `to_unit` (x 1000 each).
- **Notation keys.** CRF cells that are not numbers carry notation keys: NA (not applicable), NO
  (not occurring), NE (not estimated), IE (included elsewhere), C (confidential), alone or joined
  by commas (`NO,NA`). This file has `NA` only. A notation key is read as *no value*: no row is
  written for it (not a zero). Any other text is an error naming the file, row and column.
- **Rows → categories**: `crosswalks/crf_austria_rows.csv` maps (land_use, subdivision,
  occurrence) to the CRF category and the IPCC land category. `occurrence` counts rows with the
  same country, year, land_use and subdivision in file order (1 = the first). `category` is
  `CRF:<code>/<subdivision>` (e.g. `CRF:4.A.1/coniferous`): CRF subdivisions are nodes below the
  category in the CRF tables, and two subdivisions of 4.A.1 must be distinct observation keys.
  An unknown land_use or subdivision, or a repeat of a row the crosswalk does not list, is an error
  naming the row and column (with the closest known label).
- **The third row** is a second `deciduous` row of 4.A.1 with an area (557.36 kha) and nothing
  else. The file does not say what it is; it is *skipped* (crosswalk `keep=no`) rather than added
  to the first deciduous row (whose area pairs with its carbon figures) or guessed into a label.
  So the harmonized forest area of 4.A.1 is the 2405.41 + 926.18 kha of the two labelled rows. A
  skipped row that carries any value besides its area is an error: the decision was taken for an
  area-only row and must be reviewed if that changes.
- **Columns → variables**: `crosswalks/crf_austria_columns.csv`. `area` → `area` (ha);
  `biomass_net`, `dead_wood`, `litter` → `carbon_stock_change` (t C/yr) in pools `biomass`,
  `dead_wood`, `litter`; `mineral_soils` + `organic_soils` → `carbon_stock_change` in pool `soil`
  (their sum; notation keys add nothing, as in the CRF's own totals; flagged `derived` when both
  parts are numbers, else `reported`); `net_co2` → `net_emissions` (t CO2e/yr). Gross biomass
  gains and losses are not kept: the registry has no variable for them and their sum is
  `biomass_net`. Every column of the file must be listed in the crosswalk (kept or not), so a
  new column is an error rather than silently dropped.
- **Signs** are kept as reported: stock changes positive for gains (carbon into the pool), net CO2
  positive for emissions and negative for removals (in this file net_co2 = -44/12 x the row's
  summed stock changes, to rounding; see tests).
- **Area**: `country` `AT` → `AUT`, national, no parent (declared in `LAYOUT.countries`; any other
  code is an error). `year` is the inventory year (2017).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ercan.errors import SourceError, did_you_mean
from ercan.harmonize import finish, map_codes, parse_numbers, parse_years, read_csv, require_columns, to_unit
from ercan.schema import LAND_CATEGORIES, OBSERVATION_KEY, POOLS, VARIABLE_UNITS
from ercan.sources import Source
from ercan.units import factor

SOURCE = Source(
    id="crf_austria",
    title="UNFCCC CRF Table 4.A (forest land), Austria, 2019 submission, inventory year 2017 (excerpt)",
    publisher=(
        "Austria's GHG inventory submission to the UNFCCC (CRF 2019), transcribed by the JRC forest_puller project"
    ),
    license="MIT (forest_puller LICENSE.txt, JRC 2020); data = UNFCCC CRF 2019 submission Austria Table 4.A excerpt",
    citation=(
        "Austria, CRF 2019 submission to the UNFCCC, Table 4.A, inventory year 2017; "
        "xapple/forest_puller@9d265698546c450da9ef0676944f67c3eb54e70a, tests/ipcc_crf_austria_2017.csv"
    ),
    inputs={"table_4a": "crf_austria/ipcc_crf_austria_2017.csv"},
)

CROSSWALKS = Path(__file__).with_name("crosswalks")


class Layout(BaseModel):
    """The file's label columns and the vocabularies read from them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str = "country"
    year: str = "year"
    land_use: str = "land_use"
    subdivision: str = "subdivision"  # written 'subdivision\u00a0' in the file: headers are stripped
    countries: dict[str, str] = {"AT": "AUT"}  # the file's country code -> ISO 3166-1 alpha-3
    notation_keys: tuple[str, ...] = ("NA", "NO", "NE", "IE", "C")  # CRF notation keys: no value
    flag: str = "reported"
    flag_summed: str = "derived"  # a value added up from two numeric columns (soil = mineral + organic)


class RowMapping(BaseModel):
    """A CRF row label (with its occurrence) → category and land category, or skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    land_use: str
    subdivision: str
    occurrence: int = Field(ge=1)
    keep: bool
    category: str
    land_category: str
    note: str

    @field_validator("land_category")
    @classmethod
    def _known_land_category(cls, value: str) -> str:
        if value not in LAND_CATEGORIES:
            raise ValueError(f"{value!r} is not one of {LAND_CATEGORIES}{did_you_mean(value, LAND_CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _category_when_kept(self):
        if self.keep and not re.fullmatch(r"CRF:4(?:\.[A-F](?:\.\d+)*)?(?:/[a-z_]+)?", self.category):
            raise ValueError(
                f"kept row {self.land_use}/{self.subdivision}: category {self.category!r} is not CRF:4.X[/subdivision]"
            )
        return self


class ColumnMapping(BaseModel):
    """A value column → variable, pool and the unit the CRF gives it in; or not kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    keep: bool
    variable: str | None = None
    pool: str | None = None
    unit: str | None = None
    note: str

    @model_validator(mode="after")
    def _vocabulary_and_unit(self):
        if not self.keep:
            return self
        if self.variable not in VARIABLE_UNITS:
            known = did_you_mean(self.variable, VARIABLE_UNITS)
            raise ValueError(f"{self.column}: unknown variable {self.variable!r}{known}")
        if self.pool is not None and self.pool not in POOLS:
            raise ValueError(f"{self.column}: unknown pool {self.pool!r}{did_you_mean(self.pool, POOLS)}")
        if not self.unit:
            raise ValueError(f"{self.column}: a kept column needs its unit")
        try:
            factor(self.unit, VARIABLE_UNITS[self.variable])  # unknown or unconvertible unit text fails here
        except SourceError as e:
            raise ValueError(f"{self.column}: {e}") from None
        return self


def _crosswalk(name: str) -> list[dict]:
    frame = pd.read_csv(CROSSWALKS / name, dtype=str, keep_default_na=False)
    records = frame.to_dict("records")
    for record in records:
        record["keep"] = {"yes": True, "no": False}[record["keep"]]
        for key, value in list(record.items()):
            if value == "" and key in ("variable", "pool", "unit"):
                record[key] = None
    return records


LAYOUT = Layout()
ROWS = {
    (r.land_use, r.subdivision, r.occurrence): r for r in (RowMapping(**d) for d in _crosswalk("crf_austria_rows.csv"))
}
COLUMNS = {c.column: c for c in (ColumnMapping(**d) for d in _crosswalk("crf_austria_columns.csv"))}
_LABELS = (LAYOUT.country, LAYOUT.year, LAYOUT.land_use, LAYOUT.subdivision)
_NOTATION = re.compile(r"^(?:{k})(?:\s*,\s*(?:{k}))*$".format(k="|".join(map(re.escape, LAYOUT.notation_keys))))


def harmonize(files) -> pa.Table:
    raw = files["table_4a"]
    df = _read(raw)
    rows = pd.Series(range(2, len(df) + 2), index=df.index)  # as in the file (header = row 1)

    area_code = map_codes(
        df[LAYOUT.country], LAYOUT.countries, what="country code", file=raw.name, column=LAYOUT.country
    )
    year = parse_years(df[LAYOUT.year], file=raw.name, column=LAYOUT.year, hint="Every row needs its inventory year.")
    mapping = _row_mappings(df, year, rows, raw.name)
    keep = np.array([m.keep for m in mapping], dtype=bool)

    # Every value column is read (kept or not), so a corrupt cell anywhere in the table is reported.
    values = {c: parse_numbers(_blank_notation_keys(df[c]), file=raw.name, column=c) for c in COLUMNS}
    _check_skipped_rows(values, keep, rows, mapping, raw.name)

    frames = []
    kept_columns = [c for c in COLUMNS.values() if c.keep]
    for (variable, pool), group in _group_columns(kept_columns).items():
        unit = VARIABLE_UNITS[variable]
        parts = pd.DataFrame({c.column: to_unit(values[c.column], c.unit, unit, file=raw.name) for c in group})
        numeric = parts.notna().sum(axis=1)
        frames.append(
            pd.DataFrame(
                {
                    "area_code": area_code,
                    "year": year,
                    "category": [m.category for m in mapping],
                    "land_category": [m.land_category for m in mapping],
                    "variable": variable,
                    "pool": pool,
                    "value": parts.sum(axis=1, min_count=1),
                    "unit": unit,
                    "flag": np.where(numeric > 1, LAYOUT.flag_summed, LAYOUT.flag),
                    "keep": keep,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out = out[out["keep"] & out["value"].notna()].drop(columns="keep")
    out = out.assign(snapshot=raw.sha256, area_level="national", parent_code=None)
    out = out.sort_values(["area_code", "year", "category", "variable", "pool"], kind="stable").reset_index(drop=True)
    key = [c for c in OBSERVATION_KEY if c in out and c != "source"]
    assert not out.duplicated(key).any(), "duplicate observation keys"  # guaranteed by the row crosswalk
    return finish(out, SOURCE.id)


def _read(raw) -> pd.DataFrame:
    """The CSV with stripped headers (the file's 'subdivision' ends in U+00A0) and label cells."""
    df = read_csv(raw)
    stripped = [str(c).strip() for c in df.columns]
    for position, name in enumerate(stripped):
        if name in stripped[:position]:
            raise SourceError(
                f"column {df.columns[position]!r} is {name!r} once stripped of whitespace, like column "
                f"{stripped.index(name) + 1}",
                file=raw.name,
                row=1,
                column=str(df.columns[position]),
                hint="Two columns have the same name: rename or drop one.",
            )
    df.columns = stripped
    require_columns(df, [*_LABELS, *COLUMNS], file=raw.name)
    unknown = [c for c in df.columns if c not in _LABELS and c not in COLUMNS]
    if unknown:
        raise SourceError(
            f"column {unknown[0]!r} is not in crosswalks/crf_austria_columns.csv"
            f"{did_you_mean(unknown[0], COLUMNS)}",
            file=raw.name,
            row=1,
            column=unknown[0],
            hint="A new CRF column: map it (variable, pool, unit) or list it with keep=no after checking what it is.",
        )
    if df.empty:
        raise SourceError("has a header but no data rows", file=raw.name, hint="Transcribe the table again.")
    for column in (LAYOUT.country, LAYOUT.land_use, LAYOUT.subdivision):
        df[column] = df[column].str.strip()
    return df


def _row_mappings(df: pd.DataFrame, year: pd.Series, rows: pd.Series, file: str) -> list[RowMapping]:
    """Each file row's crosswalk entry; unknown labels and unlisted repeats are errors."""
    land_use, subdivision = df[LAYOUT.land_use], df[LAYOUT.subdivision]
    occurrence = (
        pd.DataFrame({"c": df[LAYOUT.country], "y": year, "l": land_use, "s": subdivision}).groupby(
            ["c", "y", "l", "s"], sort=False
        ).cumcount()
        + 1
    )
    known_land_uses = sorted({k[0] for k in ROWS})
    mapping = []
    for i in range(len(df)):
        lu, sub, n, row = land_use.iloc[i], subdivision.iloc[i], int(occurrence.iloc[i]), int(rows.iloc[i])
        if lu not in known_land_uses:
            raise SourceError(
                f"unknown CRF land-use row {lu!r}{did_you_mean(lu, known_land_uses)}",
                file=file,
                row=row,
                column=LAYOUT.land_use,
                hint="Map the row in harmonizers/crosswalks/crf_austria_rows.csv after checking its CRF category.",
            )
        subdivisions = sorted({k[1] for k in ROWS if k[0] == lu})
        if sub not in subdivisions:
            raise SourceError(
                f"unknown subdivision {sub!r} of {lu!r}{did_you_mean(sub, subdivisions)}",
                file=file,
                row=row,
                column=LAYOUT.subdivision,
                hint="Map the subdivision in harmonizers/crosswalks/crf_austria_rows.csv after checking what it is.",
            )
        if (lu, sub, n) not in ROWS:
            first = int(rows[(land_use == lu) & (subdivision == sub) & (year == year.iloc[i])].iloc[0])
            raise SourceError(
                f"{lu}/{sub} appears again (occurrence {n}; first at row {first}) and the crosswalk lists "
                f"{max(k[2] for k in ROWS if k[:2] == (lu, sub))} such row(s)",
                file=file,
                row=row,
                column=LAYOUT.subdivision,
                hint="A repeated CRF row: find out what it is, then list it in "
                "harmonizers/crosswalks/crf_austria_rows.csv.",
            )
        mapping.append(ROWS[(lu, sub, n)])
    return mapping


def _blank_notation_keys(cells: pd.Series) -> pd.Series:
    text = cells.astype("string").str.strip()
    return text.mask(text.str.fullmatch(_NOTATION).fillna(False), "")


def _check_skipped_rows(values: dict, keep: np.ndarray, rows: pd.Series, mapping: list, file: str) -> None:
    """A skipped row was reviewed as carrying an area only: any other value needs a new review."""
    for column, numbers in values.items():
        if COLUMNS[column].variable == "area":
            continue
        carrying = ~keep & numbers.notna().to_numpy()
        if carrying.any():
            position = int(np.flatnonzero(carrying)[0])
            m = mapping[position]
            raise SourceError(
                f"the crosswalk skips this row ({m.land_use}/{m.subdivision} occurrence {m.occurrence}, "
                f"reviewed as an area-only row) but it has a value, {numbers.iloc[position]}",
                file=file,
                row=int(rows.iloc[position]),
                column=column,
                hint="Review the row and update harmonizers/crosswalks/crf_austria_rows.csv.",
            )


def _group_columns(columns: list[ColumnMapping]) -> dict[tuple[str, str | None], list[ColumnMapping]]:
    groups: dict[tuple[str, str | None], list[ColumnMapping]] = {}
    for c in columns:
        groups.setdefault((c.variable, c.pool), []).append(c)
    return groups
