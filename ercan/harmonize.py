"""Building blocks the harmonizers share: reading raw layouts, numbers, codes and the final schema.

Each helper raises SourceError naming the file, sheet, row and column of what it cannot read, so
a harmonizer states what its source looks like and gets precise errors for free.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.utils import get_column_letter

from ercan import schema
from ercan.errors import SourceError, did_you_mean, shown
from ercan.units import convert


def read_csv(raw, **kwargs) -> pd.DataFrame:
    """A raw CSV as strings (numbers are parsed explicitly, with row/column in any error)."""
    _check_field_counts(raw)
    try:
        with raw.open() as f:
            frame = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False, **kwargs)
    except UnicodeDecodeError as e:
        raise SourceError(
            f"is not UTF-8 text (byte {e.start})", file=raw.name,
            hint="Ingest the publisher's UTF-8 file (`ercan ingest`), or read this one through a declaration that "
                 "names its encoding (inputs.<role>.read.encoding).",
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise SourceError(f"cannot be read as CSV: {e}", file=raw.name) from None
    if frame.empty:  # a cut download: no source ships a file without rows
        raise SourceError("has a header but no data rows", file=raw.name, row=2,
                          hint="Download the file again (it was probably cut short) and ingest it.")
    return frame


# An .xlsx is a zip; the shipped FRA workbooks expand to ~5 MB. Far above any real workbook, far
# below what a 2-core, few-GB machine can hold while openpyxl reads it.
MAX_XLSX_EXPANDED_BYTES = 256 * 2**20


def checked_xlsx(raw, *, hint: str) -> bytes:
    """A raw .xlsx's bytes, once the zip's central directory declares no more than
    MAX_XLSX_EXPANDED_BYTES once expanded (zipfile never inflates a member beyond its declared
    size, so a small file that inflates to gigabytes, a zip bomb, is refused without inflating
    it) and every member inflates to its CRC: a corrupt workbook fails here, naming the file,
    rather than deep inside a sheet read with a zlib error."""
    with raw.open() as f:
        data = f.read()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
            if expanded > MAX_XLSX_EXPANDED_BYTES:
                raise SourceError(
                    f"would expand to {expanded:,} bytes (limit {MAX_XLSX_EXPANDED_BYTES:,}): "
                    "refused as a possible zip bomb",
                    file=raw.name,
                    hint="Check where the file came from; " + hint,
                )
            corrupt = archive.testzip()
            if corrupt:
                raise zipfile.BadZipFile(f"member {corrupt!r} fails its CRC check")
    except (zipfile.BadZipFile, zlib.error, KeyError, OSError, ValueError) as e:
        raise SourceError(f"is not a readable .xlsx workbook ({e})", file=raw.name, hint=hint) from None
    return data


def _check_field_counts(raw) -> None:
    """Every record has as many fields as the header, one record a line, no blank line inside.
    pandas would silently pad a short record, drop the surplus of a long one, or (a long first
    record) shift every column by one; a skipped blank line would shift the row numbers of errors."""
    with raw.open() as f:
        reader = csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline=""))
        try:
            width, blank = len(next(reader, [])), None
            for record in reader:
                if not record:
                    blank = blank or reader.line_num
                    continue
                if len(record) != width:
                    problem, row = f"has {len(record)} fields but the header has {width}", reader.line_num
                elif blank:
                    problem, row = "is blank", blank
                else:
                    continue
                raise SourceError(
                    problem,
                    file=raw.name,
                    row=row,
                    hint="The raw file stays as ingested: ingest a complete file from the publisher (`ercan ingest`), or declare "
                    "how to read this one (quoting, blank lines) in the source's declaration.",
                )
        except (UnicodeDecodeError, csv.Error):
            return  # read_csv reports these with its own message


@dataclass(frozen=True)
class Sheet:
    """One worksheet as the values the workbook cached when last saved, and its formulas (rows and
    columns 1-based, as a spreadsheet shows them)."""

    file: str
    name: str
    rows: list[tuple]
    formulas: dict[tuple[int, int], str]

    def value(self, row: int, column: int):
        """The cell's value. A formula without a cached value (a workbook written by a program that
        does not calculate) would read as empty: it is an error naming the cell instead, so a
        missing number is never taken for an empty cell."""
        cells = self.rows[row - 1] if 0 < row <= len(self.rows) else ()
        value = cells[column - 1] if 0 < column <= len(cells) else None
        if value is None and (row, column) in self.formulas:
            raise SourceError(
                f"formula {self.formulas[row, column]!r} has no cached value",
                file=self.file,
                sheet=self.name,
                row=row,
                column=get_column_letter(column),
                hint="Open the workbook in a spreadsheet program, let it recalculate, save it and ingest it again.",
            )
        return value

    def is_formula(self, row: int, column: int) -> bool:
        return (row, column) in self.formulas


def read_sheets(
    raw, sheets: Iterable[str], *, hint: str = "Download the workbook again and ingest it.",
    declared: Collection[str] | None = None,
) -> dict[str, Sheet]:
    """The named sheets of a raw .xlsx workbook (a missing sheet is an error suggesting the closest).
    With `declared` (every sheet the harmonizer reads or deliberately skips), a sheet not declared
    is an error naming it: a new sheet may hold what should be read."""
    data = checked_xlsx(raw, hint=hint)
    try:
        values = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, zlib.error, KeyError, OSError, ValueError) as e:
        raise SourceError(f"is not a readable .xlsx workbook ({e})", file=raw.name, hint=hint) from None
    read = {}
    for name in sheets:
        if name not in values.sheetnames:
            raise SourceError(
                f"sheet {name!r} is missing{did_you_mean(name, values.sheetnames)}",
                file=raw.name,
                hint="The workbook layout changed: update the harmonizer's sheet names, or ingest the publisher's workbook again.",
            )
        cell_formulas = {
            (number, column): cell
            for number, cells in enumerate(formulas[name].iter_rows(values_only=True), start=1)
            for column, cell in enumerate(cells, start=1)
            if isinstance(cell, str) and cell.startswith("=")
        }
        read[name] = Sheet(raw.name, name, list(values[name].iter_rows(values_only=True)), cell_formulas)
    unknown = [name for name in values.sheetnames if declared is not None and name not in declared]
    if unknown:
        raise SourceError(
            f"sheet {unknown[0]!r} is not declared{did_you_mean(unknown[0], declared)}",
            file=raw.name,
            sheet=unknown[0],
            hint="The workbook layout changed: read the new sheet, or declare it skipped (with why) in the harmonizer.",
        )
    return read


def require_columns(df: pd.DataFrame | pa.Table, required: Iterable[str], *, file: str, sheet: str | None = None) -> None:
    columns = [str(c) for c in (df.column_names if isinstance(df, pa.Table) else df.columns)]
    for column in required:
        if column not in columns:
            raise SourceError(
                f"expected column {column!r} is missing{did_you_mean(column, columns)}",
                file=file,
                sheet=sheet,
                row=1,
                hint="The source layout changed: update the harmonizer's column mapping, or ingest the publisher's file again.",
            )


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_numbers(
    cells: pd.Series, *, file: str, column: str, first_row: int = 2, sheet: str | None = None
) -> pd.Series:
    """Strings to float64: empty cells are missing; anything else that is not a plain number is an
    error naming the row (1-based, as a spreadsheet shows it) and column."""
    text = cells.astype("string").str.strip()
    empty = text.isna() | (text == "")
    bad = ~empty & ~text.str.match(_NUMBER).fillna(False)
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceError(
            f"{shown(text.iloc[position])} is not a number",
            file=file,
            sheet=sheet,
            row=first_row + position,
            column=column,
            hint="Declare how the column is written (digit grouping, decimal separator, annotations) in the source's "
            "declaration, or ingest a corrected file from the publisher (`ercan ingest`).",
        )
    numbers = pd.to_numeric(text.where(~empty), errors="raise").astype("float64")
    overflow = np.isinf(numbers.to_numpy())  # e.g. '1e400' or 400 digits: past float64's ~1.8e308
    if overflow.any():
        position = int(np.flatnonzero(overflow)[0])
        raise SourceError(
            f"{shown(text.iloc[position])} is too large for a number",
            file=file,
            sheet=sheet,
            row=first_row + position,
            column=column,
            hint="The cell is damaged (a unit or exponent error); fix it or leave it empty if unknown.",
        )
    return numbers


def require_unique(
    keys: pd.Series,
    *,
    what: str,
    file: str,
    column: str,
    first_row: int = 2,
    hint: str = "Remove the repeated row; the source reports one value per key.",
    verb: str = "appears",
) -> None:
    """Each key once. `keys` is indexed by position in the file (row = first_row + index); a repeat
    is an error naming both rows."""
    repeated = keys.duplicated(keep="first").to_numpy()
    if repeated.any():
        at = keys.index[int(np.flatnonzero(repeated)[0])]
        first = keys.index[int(np.flatnonzero((keys == keys[at]).to_numpy())[0])]
        key = keys[at].item() if hasattr(keys[at], "item") else keys[at]
        raise SourceError(
            f"{what} {key!r} {verb} again (first at row {first_row + int(first)})",
            file=file,
            row=first_row + int(at),
            column=column,
            hint=hint,
        )


def to_unit(values: pd.Series, from_unit: str, to_unit: str, *, file: str) -> pd.Series:
    try:
        return pd.Series(convert(values.to_numpy(), from_unit, to_unit), index=values.index)
    except SourceError as e:
        raise e.located(file=file) from None


def map_codes(
    values: pd.Series, mapping: Mapping[str, str], *, what: str, file: str, column: str, first_row: int = 2,
    sheet: str | None = None,
):
    """Map source codes or names through a reviewed table; an unmapped value is an error."""
    mapped = values.map(mapping)
    missing = mapped.isna() & values.notna()
    if missing.any():
        position = int(np.flatnonzero(missing.to_numpy())[0])
        value = values.iloc[position]
        raise SourceError(
            f"unknown {what} {shown(value)}{did_you_mean(value, mapping)}",
            file=file,
            sheet=sheet,
            row=first_row + position,
            column=column,
            hint=f"Add it to the harmonizer's {what} mapping after checking what it is.",
        )
    return mapped


def finish(df: pd.DataFrame | pa.Table, source_id: str, columns: tuple[str, ...] = schema.OBSERVATION_COLUMNS) -> pa.Table:
    """Rows in the common schema (or, with `schema.REFERENCE_COLUMNS`, the reference-factor table):
    every registry column present, in order, with its type. A harmonizer that yields its rows in
    tables (a large input, see `ercan.sources.Harmonizer`) passes each one through it."""
    if isinstance(df, pa.Table):  # large sources build Arrow tables: no round trip through pandas
        return _finish_table(df, source_id, columns)
    df = df.copy()
    df["source"] = source_id
    for column in columns:
        if column not in df:
            df[column] = None
    df = df[list(columns)]
    df = df[df["value"].notna()].reset_index(drop=True)
    return pa.Table.from_pandas(df, schema=schema.arrow_schema(columns), preserve_index=False, safe=True)


def _finish_table(table: pa.Table, source_id: str, columns: tuple[str, ...]) -> pa.Table:
    table = table.filter(pc.is_valid(table["value"]))
    target = schema.arrow_schema(columns)
    present = {"source": pa.repeat(source_id, table.num_rows)}
    for field in target:
        if field.name in table.column_names:
            present[field.name] = table[field.name]
        elif field.name != "source":
            present[field.name] = pa.nulls(table.num_rows, field.type)
    return pa.table(present).select(list(columns)).cast(target, safe=True)
