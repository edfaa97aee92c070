"""What programme_figures' declaration cannot say: which figure each line is (figures.csv, by area,
quantity and period), and the value, uncertainty, flag, unit and years a line's cells give together
(see `notes` in source.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ercan.accounting.methods import C_TO_CO2
from ercan.declaration import DECLARATION, load
from ercan.errors import SourceError, did_you_mean
from ercan.readers import LINE, parse_numbers, read_csv_cells, require_columns
from ercan.schema import LAND_CATEGORIES, POOLS, VARIABLE_UNITS
from ercan.units import convert

FOLDER = Path(__file__).parent
FIGURES_FILE, AREAS_FILE, DOCUMENTS_FILE = "figures.csv", "areas.csv", "documents.csv"
ROLE = "figures"
DOCUMENT, AREA, PERIOD, QUANTITY = "document", "area", "period", "quantity_as_printed"
PRINTED, LOW, HIGH, PLUS_MINUS, UNIT = "value_as_printed", "value_low", "value_high", "plus_minus", "unit_as_printed"
PERIOD_PATTERN = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
NUMBER_IN_TEXT = re.compile(r"\d+(?:\.\d+)?")


class Figure(BaseModel):
    """One line of figures.csv: a line of the file by area, quantity and period, how it maps or why
    it is skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    area: str
    quantity: str
    period: str = ""
    unit_as_printed: str
    variable: str | None = None
    land_category: str | None = None
    pool: str | None = None
    category: str | None = None
    unit: str | None = None  # the unit of value_low/value_high as ercan.units reads it, with the stated basis
    removal: bool = False  # a sink: net_emissions of a removal are negative
    co2_as_carbon: bool = False  # a carbon stock printed as CO2 mass: × 12/44 to t C
    skip: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _decided(self):
        if (self.variable is None) == (self.skip is None):
            raise ValueError(f"{self.quantity!r}: give a variable (kept) or a skip reason, not both or neither")
        if self.skip is not None:
            return self
        if self.variable not in VARIABLE_UNITS:
            suggestion = did_you_mean(self.variable, VARIABLE_UNITS)
            raise ValueError(f"{self.quantity!r}: unknown variable {self.variable!r}{suggestion}")
        if self.land_category not in LAND_CATEGORIES or (self.pool is not None and self.pool not in POOLS):
            raise ValueError(f"{self.quantity!r}: land category or pool outside the schema's vocabulary")
        if self.unit is None or self.area not in _table(AREAS_FILE)[AREA].tolist():
            raise ValueError(f"{self.quantity!r}: a kept figure needs a unit and an area of {AREAS_FILE}")
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.area, self.quantity, self.period)


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    """The kept lines, with the columns the declaration reads that the hook derives (value, years…)."""
    lines = classify(cells, raw.name)
    kept = lines[lines.figure.map(lambda f: f.skip is None)]
    derived = pd.DataFrame([_derived(line, raw.name) for _, line in kept.iterrows()], index=kept.index)
    return kept.drop(columns="figure").join(derived)


def skipped(files) -> pd.DataFrame:
    """The lines of the file that are not observations (line: header = 1) and why."""
    raw = files[ROLE]
    with raw.open() as f:
        read = read_csv_cells(f.read(), load(FOLDER / DECLARATION).inputs[ROLE].read, file=raw.name, role=ROLE)
    lines = classify(read, raw.name).rename(columns={LINE: "line"})
    lines["reason"] = lines.figure.map(lambda f: f.skip)
    return lines.loc[lines.reason.notna(), ["line", AREA, QUANTITY, PRINTED, "reason"]]


def figures() -> dict[tuple[str, str, str], Figure]:
    """figures.csv by key; a row that is no valid figure is an error naming its line."""
    table = _table(FIGURES_FILE)
    by_key = {}
    for position, row in table.iterrows():
        line = position + 2
        try:
            figure = Figure(**{k: v for k, v in row.items() if pd.notna(v) and k not in ("removal", "co2_as_carbon")},
                            removal=row["removal"] == "yes", co2_as_carbon=row["co2_as_carbon"] == "yes")
        except ValidationError as e:
            raise SourceError(e.errors()[0]["msg"].removeprefix("Value error, "), file=FIGURES_FILE, row=line,
                              hint=f"Correct the row of harmonizers/programme_figures/{FIGURES_FILE}.") from None
        if figure.key in by_key:
            raise SourceError(f"a second figure {figure.key}", file=FIGURES_FILE, row=line,
                              hint="One row per area, quantity and period: remove the repeat.")
        by_key[figure.key] = figure
    return by_key


def classify(cells: pd.DataFrame, file: str) -> pd.DataFrame:
    """Every line of the file with its Figure and its document's year (unknown lines and missing
    figures are errors)."""
    columns = [DOCUMENT, AREA, PERIOD, QUANTITY, PRINTED, LOW, HIGH, PLUS_MINUS, UNIT]
    require_columns(cells, columns, file=file, role=ROLE)
    lines = cells[[*columns, LINE]].copy()
    lines[columns] = lines[columns].fillna("")
    by_key = figures()
    found = [_figure(line, by_key, file) for _, line in lines.iterrows()]
    lines["figure"] = found
    missing = set(by_key) - {f.key for f in found}
    if missing:
        area, quantity, period = min(missing)
        raise SourceError(
            f"declared figure {quantity!r} ({area}, period {period or 'none'}) is not in the file", file=file,
            column=QUANTITY, hint=f"The file changed: review harmonizers/programme_figures/{FIGURES_FILE} against it.",
        )
    years = dict(_table(DOCUMENTS_FILE).itertuples(index=False))
    unknown = ~lines[DOCUMENT].isin(list(years))
    if unknown.any():
        line = lines[unknown].iloc[0]
        raise SourceError(f"unknown document {line[DOCUMENT]!r}{did_you_mean(line[DOCUMENT], years)}", file=file,
                          row=int(line[LINE]), column=DOCUMENT,
                          hint=f"Add the document and the year it states its figures in to {DOCUMENTS_FILE}.")
    lines["document_year"] = lines[DOCUMENT].map(years).astype(int)
    return lines


def _figure(line: pd.Series, by_key: dict, file: str) -> Figure:
    key = (line[AREA], line[QUANTITY], line[PERIOD])
    if key not in by_key:
        known = [f.quantity for f in by_key.values() if f.area == key[0]] or [f.quantity for f in by_key.values()]
        raise SourceError(
            f"undeclared figure {key[1]!r} ({key[0]}, period {key[2] or 'none'}){did_you_mean(key[1], known)}",
            file=file, row=int(line[LINE]), column=QUANTITY,
            hint=f"Declare it in harmonizers/programme_figures/{FIGURES_FILE}: how it maps, or why it is skipped.",
        )
    figure = by_key[key]
    if line[UNIT] != figure.unit_as_printed:
        raise SourceError(
            f"unit {line[UNIT]!r} where {figure.unit_as_printed!r} was declared for {figure.quantity!r}",
            file=file, row=int(line[LINE]), column=UNIT,
            hint=f"Check the transcription, then the figure's row in harmonizers/programme_figures/{FIGURES_FILE}.",
        )
    return figure


def _derived(line: pd.Series, file: str) -> dict:
    """A kept figure's value (midpoint of a range, signed, in `unit`), uncertainty, flag and years."""
    figure, row = line.figure, int(line[LINE])
    low, high, plus_minus = (parse_numbers(pd.Series([line[c]]), pd.Series([row]), "none", file=file, column=c,
                                           role=ROLE).iloc[0] for c in (LOW, HIGH, PLUS_MINUS))
    printed = {float(n) for n in NUMBER_IN_TEXT.findall(line[PRINTED])}
    for column, number in ((LOW, low), (HIGH, high), (PLUS_MINUS, plus_minus)):
        if not np.isnan(number) and number not in printed:
            raise SourceError(f"{number:g} is not among the numbers printed in {PRINTED!r} ({line[PRINTED]!r})",
                              file=file, row=row, column=column, hint="Check the transcription of the document's figure.")
    if np.isnan(low) or np.isnan(high) or high < low or (high > low and not np.isnan(plus_minus)):
        raise SourceError(
            f"value_low {low:g} and value_high {high:g} (plus_minus {plus_minus:g}) are not a value or a range",
            file=file, row=row, column=HIGH,
            hint="A single value has value_low = value_high; a range has value_low < value_high and no plus_minus.",
        )
    middle = (low + high) / 2
    if high > low:
        uncertainty = (high - low) / 2 / middle
    else:
        uncertainty = None if np.isnan(plus_minus) else plus_minus / middle
    value, unit = middle, figure.unit
    if figure.co2_as_carbon:  # C -> CO2 is an accounting step, not a unit pint converts
        value, unit = convert(np.array([middle]), figure.unit, "t CO2e")[0] / C_TO_CO2, "t C"
    return {
        "years": _years(line, figure, file), "variable": figure.variable, "land_category": figure.land_category,
        "pool": figure.pool, "category": figure.category, "unit": unit,
        "uncertainty": None if uncertainty is None else repr(float(uncertainty)),
        "flag": "derived" if figure.co2_as_carbon else ("estimated" if high > low else "reported"),
        "value": repr(float(-value if figure.removal else value)),
    }


def _years(line: pd.Series, figure: Figure, file: str) -> str:
    """The years the row is read at: a rate keeps its period, a stock is read at the period's end,
    a figure without a period in the year its document states it."""
    text = line[PERIOD]
    if not text:
        return str(line["document_year"])
    match = PERIOD_PATTERN.fullmatch(text)
    if match is None:
        raise SourceError(f"{text!r} is not a year or a period 'YYYY-YYYY'", file=file, row=int(line[LINE]),
                          column=PERIOD, hint="Write the period as printed years, e.g. 2010-2020.")
    start, end = match[1], match[2] or match[1]
    return f"{start}-{end}" if "/yr" in VARIABLE_UNITS[figure.variable] and start != end else end


def _table(name: str) -> pd.DataFrame:
    table = pd.read_csv(FOLDER / name, dtype=str, keep_default_na=False)
    return table.mask(table == "")
