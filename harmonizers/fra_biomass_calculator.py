"""The IPCC 2006 default BCEF and root-to-shoot look-up tables of FAO's FRA 2020 biomass calculator
(reference factors, not observations).

Seven workbooks: one per climatic domain in English (tropical, subtropical, temperate, boreal) and
the temperate one in Spanish, French and Russian. Each carries, besides its input sheet
('Biomass', not read), two look-up sheets for **all four** domains:

- 'BCEF' ("from IPCC 2006 guidelines"): the factor the calculator multiplies growing stock by to
  get above-ground biomass → `bcef_stock` (t dm/m3), by growing-stock class (m3/ha);
- 'RS Ratio': root-to-shoot ratios → `root_to_shoot`, by class of above-ground biomass (t dm/ha).

Layout (`LOOKUPS`): side-by-side blocks of three columns (Min | Max | factor) starting in A, E, I
and M, one per domain, the domain's label on the domain row. Down each block: a forest-type label,
a header row (Min | Max | the factor's name), then one row per class, until a blank row or the
next label. Open classes are written '+' (or, in the temperate BCEF block, a Max of 10000 m3/ha:
read as open too, `OPEN_MAX`); an empty Max (the RS sheet's subtropical, temperate and boreal
blocks) is the next class's Min, or open for the last class. Classes become [condition_min,
condition_max) ranges. Text below a block that no header follows is a note (the RS sheet's "...
taken from temperate as no RS ratios in IPCC guidelines").

Labels (domains, forest types, factor headers) in the four languages map to one set of English
names through `crosswalks/fra_biomass_calculator_labels.csv`; an unknown label is an error with
the closest known one. BCEF forest types take IPCC Table 4.5's names (Broadleaved → hardwoods,
Coniferous → conifers, Pine(s) → pines), R/S ones the sheet's English words, lower case.

**One set is published.** Every workbook must give the same factors as `REFERENCE_ROLE`
(temperate, English): the es/fr/ru translations and the other domains' workbooks are read and
compared, and a workbook that disagrees is an error naming its file, sheet and cell. The rows'
`snapshot` lists all seven files.

Three R/S blocks are, as the sheet's notes say, copied from the temperate domain because the IPCC
guidelines give none (`BORROWED`: tropical and subtropical coniferous, boreal broadleaved): they
are flagged `gap_filled` and checked to equal the temperate block. Every other value is
`reported`. Region is empty (global defaults).

Formula cells: the 'Biomass' sheet holds about 330 formulas the workbooks were saved without
calculating (no cached value); that sheet is not read. The look-up sheets hold plain numbers; they
are read as cached values, and a formula without a cached value there would be an error naming the
cell (`ercan.harmonize.read_sheets`), never an empty cell.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
from openpyxl.utils import column_index_from_string, get_column_letter
from pydantic import BaseModel, ConfigDict, model_validator

from ercan import schema
from ercan.errors import ConfigError, SourceError, did_you_mean
from ercan.harmonize import Sheet, finish, read_sheets, to_unit
from ercan.reference import class_bounds
from ercan.sources import Source

_STATIC = "openforis/fra-platform@83caa456daad6bbf84746295cb89fd3c5e5a30e2 .src.legacy/_legacy_server/static/biomassStock/"
SOURCE = Source(
    id="fra_biomass_calculator",
    title="FRA 2020 biomass calculator: IPCC 2006 default BCEF and root-to-shoot look-up tables by climatic domain",
    publisher="FAO (Global Forest Resources Assessment); factors from the IPCC 2006 Guidelines",
    license="FAO terms of use (cite: FAO 2020, Global Forest Resources Assessment 2020); repository UNLICENSED",
    citation=f"FAO (2020) FRA 2020 biomass calculator workbooks, sheets BCEF and RS Ratio; {_STATIC}",
    inputs={
        "tropical_en": "fra_biomass_calculator/calculator_tropical_en.xlsx",
        "subtropical_en": "fra_biomass_calculator/calculator_subtropical_en.xlsx",
        "temperate_en": "fra_biomass_calculator/calculator_temperate_en.xlsx",
        "boreal_en": "fra_biomass_calculator/calculator_boreal_en.xlsx",
        "temperate_es": "fra_biomass_calculator/calculator_temperate_es.xlsx",
        "temperate_fr": "fra_biomass_calculator/calculator_temperate_fr.xlsx",
        "temperate_ru": "fra_biomass_calculator/calculator_temperate_ru.xlsx",
    },
    product="reference_factors",
)


class Lookup(BaseModel):
    """Where one look-up sheet puts its domain blocks and what its values are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sheet: str
    parameter: str
    unit: str  # of the values, as the sheet gives them
    condition_variable: str  # what the Min/Max classes measure (in its canonical unit)
    domain_row: int
    block_columns: tuple[str, ...]  # first column (Min) of each domain's block
    reference: str

    @model_validator(mode="after")
    def _vocabularies(self):
        if self.parameter not in schema.REFERENCE_PARAMETERS:
            raise ValueError(f"unknown parameter {self.parameter!r}{did_you_mean(self.parameter, schema.REFERENCE_PARAMETERS)}")
        if self.condition_variable not in schema.CONDITION_VARIABLES:
            raise ValueError(f"unknown condition {self.condition_variable!r}")
        return self


class Borrowed(BaseModel):
    """A block the sheet copies from another domain (its note says so)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sheet: str
    domain: str
    stratum: str
    from_domain: str


_BLOCKS = ("A", "E", "I", "M")
LOOKUPS = (
    Lookup(sheet="BCEF", parameter="bcef_stock", unit="t dm/m3", condition_variable="growing_stock_density",
           domain_row=4, block_columns=_BLOCKS, reference="IPCC 2006 GL Vol.4 Ch.4 (FRA 2020 biomass calculator, sheet BCEF)"),
    Lookup(sheet="RS Ratio", parameter="root_to_shoot", unit="1", condition_variable="biomass_density",
           domain_row=3, block_columns=_BLOCKS, reference="IPCC 2006 GL Vol.4 Ch.4 (FRA 2020 biomass calculator, sheet RS Ratio)"),
)
LANGUAGES = {role: role.rsplit("_", 1)[1] for role in SOURCE.inputs}
REFERENCE_ROLE = "temperate_en"
MIN_HEADER, MAX_HEADER = "Min", "Max"  # the same in all four languages
OPEN = "+"
OPEN_MAX = 10000.0  # the temperate BCEF block's last Max: no forest holds 10000 m3/ha, it means open
BORROWED = tuple(
    Borrowed(sheet="RS Ratio", domain=domain, stratum=stratum, from_domain="temperate")
    for domain, stratum in (("tropical", "coniferous"), ("subtropical", "coniferous"), ("boreal", "broadleaved"))
)
BORROWED_REFERENCE = "FRA 2020 biomass calculator: the temperate value, as the IPCC 2006 guidelines give no R/S ratio for it"
LABELS = pd.read_csv(Path(__file__).with_name("crosswalks") / "fra_biomass_calculator_labels.csv", dtype=str,
                     keep_default_na=False)

if REFERENCE_ROLE not in SOURCE.inputs or set(LABELS["language"]) != set(LANGUAGES.values()):
    raise ConfigError("harmonizers/fra_biomass_calculator.py: REFERENCE_ROLE or the label languages do not match SOURCE.inputs")


def harmonize(files) -> pa.Table:
    missing = sorted(set(SOURCE.inputs) - set(files))
    if missing:
        raise SourceError(f"no file for role(s) {missing}", hint=f"Ingest the seven workbooks ({sorted(SOURCE.inputs)}).")
    factors = {role: _read_workbook(files[role], LANGUAGES[role]) for role in SOURCE.inputs}
    published = factors[REFERENCE_ROLE]
    for role, other in factors.items():
        _require_same(other, published, file=files[role].name, reference_file=files[REFERENCE_ROLE].name)
    _check_borrowed(published)
    borrowed = pd.Series(False, index=published.index)
    for b in BORROWED:
        borrowed |= (published["sheet"] == b.sheet) & (published["climatic_domain"] == b.domain) & (published["stratum"] == b.stratum)
    rows = published.assign(
        flag=borrowed.map({True: "gap_filled", False: "reported"}),
        reference=published["reference"].where(~borrowed, BORROWED_REFERENCE),
        unit=published["parameter"].map(schema.REFERENCE_PARAMETERS),
        snapshot=";".join(files[role].sha256 for role in SOURCE.inputs),
    )
    return finish(rows, SOURCE.id, schema.REFERENCE_COLUMNS)


def _read_workbook(raw, language: str) -> pd.DataFrame:
    sheets = read_sheets(raw, [lookup.sheet for lookup in LOOKUPS],
                         hint="Download the calculator workbook again from the FRA platform and ingest it.")
    frames = []
    for lookup in LOOKUPS:
        labels = LABELS[(LABELS["sheet"] == lookup.sheet) & (LABELS["language"] == language)]
        for column in lookup.block_columns:
            try:
                frames.append(_read_block(sheets[lookup.sheet], lookup, column_index_from_string(column), labels))
            except SourceError as e:
                raise e.located(file=raw.name, sheet=lookup.sheet) from None
    return pd.concat(frames, ignore_index=True)


def _read_block(sheet: Sheet, lookup: Lookup, first: int, labels: pd.DataFrame) -> pd.DataFrame:
    """One domain's tables: (label, header, class rows)… down the three columns from `first`."""
    domain = _label(sheet, lookup.domain_row, first, labels, "domain")
    records, row, last = [], lookup.domain_row + 1, len(sheet.rows)
    while row <= last:
        cells = [sheet.value(row, first + i) for i in range(3)]
        if all(_empty(c) for c in cells):
            row += 1
        elif isinstance(cells[0], str) and _is_header(sheet, row + 1, first, labels):
            stratum = _label(sheet, row, first, labels, "stratum")
            row, classes = _read_classes(sheet, row + 2, first)
            records += _factors(classes, lookup, domain, stratum, row)
        elif isinstance(cells[0], str) and cells[0].strip() in set(labels["label"][labels["kind"] == "stratum"]):
            raise SourceError(
                f"forest type {cells[0].strip()!r} is not followed by a '{MIN_HEADER} | {MAX_HEADER} | <factor>' header",
                row=row + 1, column=get_column_letter(first), hint="Restore the header row below the label.",
            )
        elif isinstance(cells[0], str) and all(_empty(c) for c in cells[1:]):
            row += 1  # a line of a note below the tables
        else:
            raise SourceError(f"{cells!r} is outside any table (no forest-type label and header above it)",
                              row=row, column=get_column_letter(first), hint="Restore the block's label and header rows.")
    if not records:
        raise SourceError(f"the {domain} block has no table", row=lookup.domain_row, column=get_column_letter(first),
                          hint="Restore the block.")
    return pd.DataFrame(records)


def _read_classes(sheet: Sheet, row: int, first: int) -> tuple[int, list[dict]]:
    """The class rows from `row` on, up to a blank row or a text (the next label). Returns the row
    after them and the classes as printed, with each value's cell."""
    classes = []
    while row <= len(sheet.rows):
        low, high, value = (sheet.value(row, first + i) for i in range(3))
        if _empty(low) and _empty(high) and _empty(value) or isinstance(low, str) and _empty(high) and _empty(value):
            break
        where = {"row": row, "column": get_column_letter(first)}
        low = _number(low, "Min", **where)
        if _empty(high) or (isinstance(high, str) and high.strip() == OPEN):
            high = None if not _empty(high) else "next"
        else:
            high = _number(high, "Max", row=row, column=get_column_letter(first + 1))
            high = None if high == OPEN_MAX else high
        value = _number(value, "the factor", row=row, column=get_column_letter(first + 2))
        classes.append({"low": low, "high": high, "value": value, "row": row, "column": get_column_letter(first + 2)})
        row += 1
    if not classes:
        raise SourceError("a table has no class rows", row=row, column=get_column_letter(first),
                          hint="Restore the Min | Max | factor rows below the header.")
    for this, following in zip(classes, [*classes[1:], None], strict=True):
        if this["high"] == "next":  # an empty Max: up to the next class's Min, open for the last
            this["high"] = following["low"] if following else None
    return row, classes


def _factors(classes: list[dict], lookup: Lookup, domain: str, stratum: str, end_row: int) -> list[dict]:
    try:
        bounds = class_bounds([(c["low"], c["high"]) for c in classes])
    except SourceError as e:
        raise e.located(row=classes[0]["row"], column=classes[0]["column"]) from None
    canonical = schema.REFERENCE_PARAMETERS[lookup.parameter]
    values = to_unit(pd.Series([c["value"] for c in classes]), lookup.unit, canonical, file=None)
    return [
        {"sheet": lookup.sheet, "parameter": lookup.parameter, "climatic_domain": domain, "stratum": stratum,
         "condition_variable": lookup.condition_variable, "condition_min": low, "condition_max": high,
         "value": value, "reference": lookup.reference, "cell_row": c["row"], "cell_column": c["column"]}
        for c, (low, high), value in zip(classes, bounds, values, strict=True)
    ]


def _label(sheet: Sheet, row: int, column: int, labels: pd.DataFrame, kind: str) -> str:
    """The English meaning of the label in a cell (a domain or forest type)."""
    text = sheet.value(row, column)
    text = text.strip() if isinstance(text, str) else text
    known = labels[labels["kind"] == kind].set_index("label")["meaning"]
    if text not in known.index:
        raise SourceError(
            f"unknown {'domain' if kind == 'domain' else 'forest type'} label {text!r}{did_you_mean(str(text), known.index)}",
            row=row, column=get_column_letter(column),
            hint="Add the label, in this workbook's language, to harmonizers/crosswalks/fra_biomass_calculator_labels.csv.",
        )
    return known[text]


def _is_header(sheet: Sheet, row: int, first: int, labels: pd.DataFrame) -> bool:
    cells = [sheet.value(row, first + i) for i in range(3)]
    headers = set(labels["label"][labels["kind"] == "header"])
    texts = [c.strip() if isinstance(c, str) else c for c in cells]
    return texts[0] == MIN_HEADER and texts[1] == MAX_HEADER and texts[2] in headers


def _number(cell, what: str, *, row: int, column: str) -> float:
    if isinstance(cell, bool) or not isinstance(cell, (int, float)):
        raise SourceError(f"{cell!r} is not a number ({what})", row=row, column=column,
                          hint=f"Fix the cell: a number, or '{OPEN}' for an open class's Max.")
    return float(cell)


def _empty(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


_KEY = ["sheet", "parameter", "climatic_domain", "stratum", "condition_min", "condition_max"]


def _require_same(other: pd.DataFrame, published: pd.DataFrame, *, file: str, reference_file: str) -> None:
    """A workbook (a translation, or another domain's) must give exactly the published factors."""
    both = other.merge(published, on=_KEY, how="outer", suffixes=("", "_published"), indicator="side")
    hint = "The workbooks must carry the same look-up tables: fix the cell, its class bounds or its label."
    for row in both.itertuples(index=False):
        what = f"{row.parameter} for {row.climatic_domain} {row.stratum} {_range(row.condition_min, row.condition_max)}"
        published_cell = f"{row.cell_column_published}{row.cell_row_published:.0f}"
        if row.side == "right_only":
            raise SourceError(f"has no {what}, which {reference_file} gives (cell {published_cell})", file=file,
                              sheet=row.sheet, hint=hint)
        where = {"file": file, "sheet": row.sheet, "row": int(row.cell_row), "column": row.cell_column}
        if row.side == "left_only":
            raise SourceError(f"gives {what}, which {reference_file} does not", **where, hint=hint)
        if row.value != row.value_published:
            raise SourceError(f"gives {what} = {row.value:g} but {reference_file} gives {row.value_published:g} "
                              f"(cell {published_cell})", **where, hint=hint)


def _check_borrowed(published: pd.DataFrame) -> None:
    for b in BORROWED:
        copy, original = (
            published[(published["sheet"] == b.sheet) & (published["climatic_domain"] == domain) & (published["stratum"] == b.stratum)]
            [["condition_min", "condition_max", "value"]].reset_index(drop=True)
            for domain in (b.domain, b.from_domain)
        )
        if copy.empty or not copy.equals(original):
            raise SourceError(
                f"the {b.domain} {b.stratum} ratios should be the {b.from_domain} ones (the sheet's note) but differ",
                sheet=b.sheet, hint="Check the block; if the IPCC values were filled in, remove it from BORROWED.",
            )


def _range(low: float, high: float | None) -> str:
    return f"[{low:g}, {'open' if pd.isna(high) else format(high, 'g')})"
