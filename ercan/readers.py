"""Layout readers: a raw file to a table of text cells, each row with the file line it came from.

What a reader does is declared, not coded (`ercan.declaration.Reading`): the encoding, comment and
preamble lines, header rows (several rows are joined, merged cells carried right), footer rows,
the delimiter and the NA markers. Every error names the file, line and column, and the
declaration key that reads the file as it is: raw snapshots are immutable, so the fix is always in
the declaration, never in the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from functools import cache

import pandas as pd

from ercan.errors import ConfigError, SourceError, did_you_mean, shown

LINE = "_line"  # the column of every read table that holds the raw file's line of each row


def declared_hint(key: str, role: str) -> str:
    """Where a reading option is declared, as the hint of an error (a sentence)."""
    return f"Declare `{key}` under inputs.{role} in the source's source.yaml (the raw file stays as it is)"


def decode(data: bytes, encoding: str, *, file: str, role: str) -> str:
    """The file's text. A byte that is not `encoding` is an error naming its line and column and
    the encoding the bytes look like (charset_normalizer's best guess)."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        guess = _guess_encoding(data)
        key = f"encoding: {guess}" if guess else "encoding: <the file's encoding>"
        raise SourceError(
            f"is not {encoding} text (byte {data[e.start:e.start + 1]!r} at character {column})",
            file=file, row=line, hint=declared_hint(key, role) + ".",
        ) from None


def _guess_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best else None


def read_csv_cells(data: bytes, reading, *, file: str, role: str) -> pd.DataFrame:
    """A delimited text file as strings, one column per header, with `LINE`.

    Lines before the header: `skip_rows` of them, then any starting with `comment` (a preamble).
    `header_rows` rows make the header (joined by a space, an empty cell carrying the one to its
    left, as a merged cell does). `footer_rows` records at the end are dropped. Every record has as
    many fields as the header: pandas would silently pad or shift a ragged one."""
    text = decode(data, reading.encoding, file=file, role=role).lstrip("\ufeff")
    records = _records(text, reading, file=file)
    skipped = [record for _, record in zip(range(reading.skip_rows), records)]
    header_lines, header = [], []
    for line, cells in records:
        if reading.comment and cells and cells[0].startswith(reading.comment):
            continue
        header_lines.append((line, cells))
        if len(header_lines) == reading.header_rows:
            break
    if len(header_lines) < reading.header_rows:
        raise SourceError("has no header row", file=file, row=1,
                          hint=declared_hint("skip_rows", role) + " if the header comes later.")
    try:
        header = _joined_header([cells for _, cells in header_lines])
    except SourceError as e:
        raise e.located(file=file, row=header_lines[-1][0]) from None
    body = [(line, cells) for line, cells in records
            if cells and not (reading.comment and cells[0].startswith(reading.comment))]
    if reading.footer_rows:
        body = body[: len(body) - reading.footer_rows]
    for line, cells in body:
        if len(cells) != len(header):
            raise SourceError(
                f"has {len(cells)} fields but the header has {len(header)}", file=file, row=line,
                hint=(f"If the line is a note or a total: {declared_hint('footer_rows', role)}. If the header "
                      f"is not line {header_lines[-1][0]}, declare `skip_rows` or `header_rows`. If the file is "
                      f"not {reading.delimiter!r}-delimited, declare `delimiter`."),
            )
    if not body:
        raise SourceError("has a header but no data rows", file=file, row=header_lines[-1][0] + 1,
                          hint="Ingest a complete download (this one was probably cut short).")
    frame = pd.DataFrame([cells for _, cells in body], columns=header, dtype=object)
    frame = frame.apply(lambda cells: cells.str.strip())
    frame = _masked_na(frame, reading)
    frame[LINE] = [line for line, _ in body]
    frame.attrs["header_line"] = header_lines[-1][0]
    if reading.unit_in is not None:
        frame.attrs["stated_unit"] = stated_unit([*skipped, *header_lines], reading.unit_in, file=file, role=role)
    return frame


def _masked_na(frame: pd.DataFrame, reading) -> pd.DataFrame:
    """The text cells with those the declared NA markers match missing."""
    if reading.na:
        frame = frame.mask(frame.isin(reading.na))
    if reading.na_pattern:
        # markers of a family (UNFCCC notation keys: NO, NE,IE, …) are a pattern rather than a list
        marked = frame.apply(lambda cells: cells.str.fullmatch(reading.na_pattern).fillna(False).astype(bool))
        frame = frame.mask(marked)
    return frame


def records(text: str, delimiter: str):
    """(line of the record's first line, cells) for every record of the text (csv.Error past a record
    csv cannot read: a cell over its 131,072-character limit)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous_end = 0
    for cells in reader:
        yield previous_end + 1, cells
        previous_end = reader.line_num


def _records(text: str, reading, *, file: str):
    """`records`, a record csv cannot read being an error at that record's first line."""
    line = 0
    try:
        for line, cells in records(text, reading.delimiter):
            yield line, cells
    except csv.Error as e:
        raise SourceError(f"cannot be read as delimited text: {e}", file=file, row=line + 1,
                          hint="No cell of a table is that long: ingest a complete, undamaged download.") from None


def _joined_header(rows: list[list[str]]) -> list[str]:
    """`joined_header`, two columns of one name being an error."""
    names = joined_header(rows)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        positions = [position + 1 for position, name in enumerate(names) if name == repeated[0]]
        raise SourceError(
            f"header {repeated[0]!r} appears more than once (columns {positions[0]} and {positions[1]}, "
            "each header stripped of surrounding spaces)",
            hint="Two columns cannot be told apart by name: ingest a corrected file from the publisher.")
    return names


def joined_header(rows: list[list[str]]) -> list[str]:
    """The column names of header `rows`: each column's cells joined by a space."""
    width = max(len(row) for row in rows)
    joined = [[] for _ in range(width)]
    for row in rows:
        carried = ""
        for position in range(width):
            cell = row[position].strip() if position < len(row) else ""
            # a merged cell spans the empty cells to its right, in the upper header rows only
            carried = cell or (carried if row is not rows[-1] else "")
            if carried:
                joined[position].append(carried)
    # a column with no header at all (trailing empty columns) is named by its position: never read
    return [" ".join(parts) or f"_{position + 1}" for position, parts in enumerate(joined)]


def require_columns(frame: pd.DataFrame, columns, *, file: str, role: str) -> None:
    present = [c for c in frame.columns if c != LINE]
    for column in columns:
        if column not in present:
            sheets = frame[SHEET].unique() if SHEET in frame else ()
            raise SourceError(
                f"expected column {column!r} is missing{did_you_mean(column, present)}", file=file,
                sheet=sheets[0] if len(sheets) == 1 else None, row=frame.attrs.get("header_line"),
                hint=f"If the publisher renamed it: {declared_hint('columns', role)} with the new header.",
            )


_PLAIN = r"\d+(?:\.\d*)?|\.\d+"
# digit grouping -> (pattern of a number written that way, separator to remove, decimal mark)
GROUPINGS = {
    "none": (rf"(?:{_PLAIN})", None, "."),
    "thousands": (r"(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|" + _PLAIN + ")", ",", "."),
    "lakh": (r"(?:\d{1,2}(?:,\d{2})*,\d{3}(?:\.\d*)?|" + _PLAIN + ")", ",", "."),
    "european": (r"(?:\d{1,3}(?:\.\d{3})+(?:,\d*)?|\d+(?:,\d*)?|,\d+)", ".", ","),
    "space": (r"(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:\.\d*)?|" + _PLAIN + ")", " \u00a0\u202f", "."),
}


def parse_numbers(cells: pd.Series, lines: pd.Series, grouping: str, *, file: str, column: str | pd.Series,
                  role: str) -> pd.Series:
    """Text to float64 as the declared digit grouping writes numbers (`1,30,099` lakh = 130099;
    `0,42` european = 0.42). Missing and empty cells stay missing; any other text is an error naming the line."""
    pattern, separators, decimal = GROUPINGS[grouping]
    number = re.compile(rf"^[+-]?{pattern}(?:[eE][+-]?\d+)?$")
    text = cells.astype("string")
    text = text.mask(text == "")  # an empty cell is no value (text columns keep it: an empty label is unknown)
    bad = text.notna() & ~text.str.match(number).fillna(False)
    if bad.any():
        at = bad.to_numpy().argmax()
        value = text.iloc[at]
        hints = [key for key, (p, _, _) in GROUPINGS.items()
                 if re.match(rf"^[+-]?{p}$", value) and key != grouping]
        fix = (declared_hint(f"digit_grouping: {hints[0]}", role) if hints
               else declared_hint("na: [" + shown(value) + "]", role) + " if it marks a missing value")
        raise SourceError(f"{shown(value)} is not a number", file=file, row=int(lines.iloc[at]),
                          column=column if isinstance(column, str) else column.iloc[at], hint=fix + ".")
    if separators:
        text = text.str.replace(f"[{re.escape(separators)}]", "", regex=True)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    values = pd.to_numeric(text, errors="raise").astype("float64")
    overflow = values.abs() == float("inf")
    if overflow.any():
        at = overflow.to_numpy().argmax()
        raise SourceError(f"{shown(cells.iloc[at])} is too large for a number", file=file,
                          row=int(lines.iloc[at]), column=column if isinstance(column, str) else column.iloc[at],
                          hint="The cell is damaged: ingest a corrected file from the publisher.")
    return values


_YEAR_MONTH = re.compile(r"^(\d{4})(\d{2})$")
# a period of years: 2009-2018, with a hyphen, an en dash or a slash, spaces allowed around it
_YEAR_RANGE = re.compile(r"^(\d{4})\s*[-\u2013/]\s*(\d{4})$")


def _first_bad(bad: pd.Series, cells: pd.Series, lines: pd.Series, what: str, *, file: str, column: str,
               hint: str) -> None:
    if bad.any():
        at = bad.to_numpy().argmax()
        raise SourceError(f"{shown(cells.iloc[at])} {what}", file=file, row=int(lines.iloc[at]), column=column,
                          hint=hint)


def _blank_missing(cells: pd.Series) -> pd.Series:
    """The cells as text, an empty one missing (as `parse_numbers` reads it)."""
    text = cells.astype("string")
    return text.mask(text == "")


def parse_year_months(cells: pd.Series, lines: pd.Series, *, file: str, column: str,
                      role: str) -> tuple[pd.Series, pd.Series]:
    """`YYYYMM` text (200801) to (year, month) as Int64; a missing or empty cell stays missing, anything else
    (2008-01, month 13) is an error naming the line."""
    cells = _blank_missing(cells)
    parts = cells.str.extract(_YEAR_MONTH)
    month = pd.to_numeric(parts[1]).astype("Int64")
    bad = cells.notna() & (parts[0].isna() | ~month.between(1, 12).fillna(False))
    _first_bad(bad, cells, lines, "is not a month written YYYYMM", file=file, column=column,
               hint=declared_hint(f"columns: {{{column}: {{parse: <how the column writes it>}}}}", role)
               + " if the column is not YYYYMM.")
    return pd.to_numeric(parts[0]).astype("Int64"), month


def parse_year_ranges(cells: pd.Series, lines: pd.Series, *, file: str, column: str,
                      role: str) -> tuple[pd.Series, pd.Series]:
    """Periods written `2009-2018` (or 2009–2018, 2009/2018) to (first year, last year) as Int64; a
    lone year is a period of one year. A missing or empty cell stays missing; other text, or a period that
    ends before it starts, is an error naming the line."""
    text = _blank_missing(cells)
    parts = text.str.extract(_YEAR_RANGE)
    alone = text.str.fullmatch(r"\d{4}").fillna(False)
    start = pd.to_numeric(parts[0].mask(alone, text)).astype("Int64")
    end = pd.to_numeric(parts[1].mask(alone, text)).astype("Int64")
    _first_bad(text.notna() & start.isna(), cells, lines, "is not a year or a period of years (2009-2018)",
               file=file, column=column,
               hint=declared_hint(f"columns: {{{column}: {{parse: <how the column writes it>}}}}", role)
               + " if the column is not a period.")
    _first_bad((end < start).fillna(False), cells, lines, "is a period that ends before it starts", file=file,
               column=column, hint="Ingest a corrected file from the publisher.")
    return start, end


def column_letter(position: int) -> str:
    """Spreadsheet column letter of a 0-based position (A, B, ... Z, AA, ...): how a cell outside the
    header (a title) is named."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def stated_unit(records, unit_in, *, file: str, role: str) -> tuple[str, int, str]:
    """(unit, line, column letter) of the unit a title or header line states, as `unit_in.pattern`'s
    group `unit` finds it in the first of the line's cells it matches."""
    cells = next((cells for line, cells in records if line == unit_in.line), [])
    filled = [(position, cell.strip()) for position, cell in enumerate(cells) if cell.strip()]
    for position, cell in filled:
        match = re.search(unit_in.pattern, cell)
        if match:
            return match["unit"].strip(), unit_in.line, column_letter(position)
    raise SourceError(
        f"no cell matches the unit pattern {unit_in.pattern}: the line reads {' | '.join(c for _, c in filled)!r}",
        file=file, row=unit_in.line, column=column_letter(filled[0][0]) if filled else "A",
        hint="If the file states its unit elsewhere or otherwise: "
             + declared_hint("read.unit_in: {line: <line>, pattern: <regex with (?P<unit>...)>}", role) + ".",
    )


# code systems of area columns (`ercan.declaration.Column.codes`): what the system is called in
# messages, and the area_level of its codes
CODE_SYSTEMS = {
    "iso3": ("ISO 3166-1 alpha-3 code", "national"),
    "country_name": ("country name", "national"),
    "iso3166_2": ("ISO 3166-2 code", "subnational"),
    "subdivision_name": ("subdivision name", "subnational"),  # of one country (ercan.lookups.Subdivisions)
}
COUNTRY_NAMES = "country_names.csv"  # a source's reviewed names (name,iso3,note) beside its declaration


def area_codes(cells: pd.Series, lines: pd.Series, system: str, *, names_file, listed=(), exceptions: str,
               file: str, column: str, names: dict[str, str] | None = None, withdrawn=()) -> pd.DataFrame:
    """area_code, area_level and parent_code of every cell, through the code system: current ISO
    3166-1 alpha-3 and ISO 3166-2 codes per pycountry, country names through the source's own
    `names_file` first, then ercan.areas.iso3_for_names. Every value the system does not know (and
    that is not in `listed`, the declaration's exceptions) is one error listing them all with the
    closest known, at the line of the first; its hint names `names_file` and `exceptions` (the
    declaration key where a code outside the system is mapped). `subdivision_name`: through
    `names` (name -> ISO 3166-2 code, ercan.lookups.subdivision_names), `names_file` its reviewed CSV.
    `withdrawn` codes (withdrawn_codes) are areas too, up to their withdrawal (check_withdrawn)."""
    values = list(dict.fromkeys(cells.dropna()))
    codes = {v: names[v] for v in values if v in names} if system == "subdivision_name" else _codes_of(
        values, system, names_file)
    codes.update({v: v for v in values if v in withdrawn})
    unknown = [v for v in values if v not in codes and v not in listed]
    if unknown:
        known = names if system == "subdivision_name" else _known(system)
        _unknown_codes(unknown, cells, lines, system, [*codes, *listed, *known], file=file, column=column,
                       exceptions=exceptions, names_file=names_file)
    area_code = cells.map(codes)
    return pd.DataFrame({
        "area_code": area_code,
        "area_level": area_code.where(area_code.isna(), CODE_SYSTEMS[system][1]),
        "parent_code": area_code.map(_country_of) if CODE_SYSTEMS[system][1] == "subnational"
        else pd.Series(None, index=cells.index, dtype=object),
    })


def _codes_of(values: list[str], system: str, names_file) -> dict[str, str]:
    if system == "country_name":
        from ercan.areas import CountryName, iso3_for_names

        reviewed = {}
        if names_file.exists():
            rows = pd.read_csv(names_file, dtype=str, keep_default_na=False).to_dict("records")
            reviewed = {row["name"]: CountryName(**row).iso3 for row in rows}
        return {**iso3_for_names(v for v in values if v not in reviewed), **reviewed}
    known = _known(system)
    return {v: v for v in values if v in known}


@cache
def _known(system: str) -> frozenset[str]:
    import pycountry

    if system == "iso3166_2":
        return frozenset(s.code for s in pycountry.subdivisions)
    if system == "iso3":
        return frozenset(c.alpha_3 for c in pycountry.countries)
    return frozenset(c.name for c in pycountry.countries)


WITHDRAWN_SUBDIVISIONS = "withdrawn_subdivisions.csv"  # a source's reviewed former ISO 3166-2 codes


def withdrawn_codes(system: str, folder) -> dict[str, tuple[str, str]]:
    """{code: (name, withdrawal date)} of the code system's withdrawn codes, each an area up to the
    year it was withdrawn (check_withdrawn): ISO 3166-3 per pycountry for alpha-3 codes; for ISO
    3166-2, of which pycountry keeps no history, the source's reviewed WITHDRAWN_SUBDIVISIONS
    (code,name,withdrawn,note; a code still current there is an error naming its line)."""
    if system == "iso3":
        return withdrawn_countries()
    path = folder / WITHDRAWN_SUBDIVISIONS
    if system != "iso3166_2" or not path.exists():
        return {}
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for line, row in enumerate(table.itertuples(index=False), start=2):
        if row.code in _known(system) or not re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", row.withdrawn) or not row.note:
            raise ConfigError(f"{path}, line {line}: {row.code!r} needs a withdrawal date (YYYY or YYYY-MM-DD) and a "
                              "note, and must be no current ISO 3166-2 code (per pycountry)")
    return {row.code: (row.name, row.withdrawn) for row in table.itertuples(index=False)}


@cache
def withdrawn_countries() -> dict[str, tuple[str, str]]:
    """ISO 3166-3 per pycountry: {alpha-3 code that no current country holds: (name, withdrawal date)}."""
    import pycountry

    current = {c.alpha_3 for c in pycountry.countries}
    return {c.alpha_3: (c.name, c.withdrawal_date) for c in pycountry.historic_countries if c.alpha_3 not in current}


def check_withdrawn(codes: pd.Series, years: pd.Series, lines: pd.Series, columns: pd.Series, withdrawn: dict, *,
                    file: str, column: str, exceptions: str) -> None:
    """A withdrawn code (SUN, YUG; FR-A, a French region before 2016) is its area's only up to the year
    it was withdrawn: a value of a later year is an error at its line (a code reused for a successor)."""
    last_year = codes.map(lambda code: int(withdrawn[code][1][:4]) if code in withdrawn else None)
    late = (last_year.notna() & (years.astype("Float64") > last_year.astype("Float64"))).fillna(False)
    if late.any():
        at = late.to_numpy().argmax()
        code, year = codes.iloc[at], int(years.iloc[at])
        raise SourceError(
            f"{code!r} ({withdrawn[code][0]}) was withdrawn on {withdrawn[code][1]}: "
            f"its value for {year} (column {columns.iloc[at]!r}) is of no country it names", file=file,
            row=int(lines.iloc[at]), column=column,
            hint=f"If the file reports the former country's area under its old code, list the code with why in "
                 f"{exceptions} (its fields as they are meant); if it means a successor, map it to the successor's code there.",
        )


def _country_of(subdivision) -> str | None:
    """ISO3 of the country an ISO 3166-2 code is in (its parent)."""
    import pycountry

    return None if pd.isna(subdivision) else pycountry.countries.get(alpha_2=subdivision.split("-")[0]).alpha_3


def _unknown_codes(unknown, cells, lines, system, known, *, file, column, exceptions, names_file) -> None:
    first_line = {value: int(lines[cells == value].iloc[0]) for value in unknown}
    described = [shown(v) + did_you_mean(v, known) + (f" at line {first_line[v]}" if len(unknown) > 1 else "")
                 for v in unknown[:10]]
    what = CODE_SYSTEMS[system][0]
    fix = f"add {'each' if len(unknown) > 1 else 'it'}, with the reason, to {exceptions} in the source's folder"
    if system == "country_name":
        fix = (f"add each country's name, with its ISO3 and why, to harmonizers/{names_file.parent.name}/"
               f"{COUNTRY_NAMES} (name,iso3,note); any other area to {exceptions}")
    if system == "subdivision_name":  # a subdivision spelled otherwise, or pinned against a rename
        where = names_file.name if names_file else "a CSV declared as `subdivisions: {names: <file>}`"
        fix = f"add a subdivision's name, its iso_3166_2 and a note to {where}; any other area to {exceptions}"
    raise SourceError(
        f"unknown {what}{'s' if len(unknown) > 1 else ''} " + ", ".join(described)
        + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""),
        file=file, row=first_line[unknown[0]], column=column,
        hint=f"After checking what {'they are' if len(unknown) > 1 else 'it is'}: {fix}.",
    )


SHEET = "_sheet"  # the column of a workbook's read table that holds each row's sheet
FORMULAS = "_formulas"  # with `formula_flag`: the headers of each row's cells that hold a formula


def read_xlsx_cells(raw, reading, *, role: str) -> pd.DataFrame:
    """Worksheets of a raw .xlsx as the same table of text cells as `read_csv_cells`, with `LINE`
    = the sheet's row number and `SHEET`. The workbook is opened by ercan.harmonize.read_sheets
    (zip-bomb and CRC checks; a formula without a cached value is an error naming its cell).
    Numbers read back exactly: a float cell is the repr of its float, never a rounded display.

    `skip_rows` rows come before `header_rows` header rows (joined by a space; a merged cell
    carries its text over every cell it spans, once per column). `footer_rows` rows at the end are
    dropped; empty rows are skipped. Several `sheets` share one header. Every sheet of the
    workbook is read or listed in `skip_sheets`: a new sheet may hold what should be read. The cells
    of `skip_columns` are never read; `unnamed_columns: letter` names a column with values but no
    header by its letter; with `formula_flag`, `FORMULAS` gives each row's headers whose cell is a formula.
    `attrs["columns"]` gives each header's column letter, for errors."""
    from ercan.harmonize import read_sheets  # not at the top: harmonize imports the schema and units

    names = [reading.sheet] if reading.sheet else list(reading.sheets)
    try:
        sheets = read_sheets(raw, names, declared=[*names, *reading.skip_sheets],
                             hint="Ingest the workbook again (a complete download).")
    except SourceError as e:
        if e.row is None and e.what.startswith("sheet "):  # a sheet missing, or one not declared
            e.hint = declared_hint("sheets` or `skip_sheets", role) + " for the workbook's sheets as they are."
        raise
    merges = _merged_ranges(raw, names)
    frames = [_sheet_cells(sheets[name], merges[name], reading, role) for name in names]
    _one_layout(frames, file=raw.name, role=role)
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs = dict(frames[0].attrs)
    return frame


def _merged_ranges(raw, names) -> dict[str, list[tuple[int, int, int, int]]]:
    """(first column, first row, last column, last row) of each merged range of the named sheets.
    A read-only workbook does not keep them: they are the `mergeCell` refs of each sheet's XML
    (found by a pattern: parsing the whole sheet again for them would double the reading time)."""
    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    with raw.open() as f:
        workbook = openpyxl.load_workbook(io.BytesIO(f.read()), read_only=True)
    merges = {}
    for name in names:
        with workbook[name]._get_source() as xml:
            refs = re.findall(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml.read())
        merges[name] = [range_boundaries(ref.decode()) for ref in refs]
    return merges


def _sheet_cells(sheet, merges, reading, role: str) -> pd.DataFrame:
    width = max((len(cells) for cells in sheet.rows), default=0)
    first_header = reading.skip_rows + 1
    last_header = reading.skip_rows + reading.header_rows
    if len(sheet.rows) < last_header:
        raise SourceError("has no header row", file=sheet.file, sheet=sheet.name, row=first_header,
                          hint=declared_hint("skip_rows", role) + " if the header comes later.")
    grid = {(row, column): cell_text(sheet.value(row, column))
            for row in range(first_header, last_header + 1) for column in range(1, width + 1)}
    for first_column, first_row, last_column, last_row in merges:
        anchor = cell_text(sheet.value(first_row, first_column))
        for row in range(max(first_row, first_header), min(last_row, last_header) + 1):
            for column in range(first_column, last_column + 1):
                # the merged text once per column: a range spanning header rows is one header part
                grid[row, column] = anchor if row == max(first_row, first_header) else None
    header = [" ".join(grid[row, column] for row in range(first_header, last_header + 1) if grid[row, column])
              for column in range(1, width + 1)]
    skipped = _skipped_columns(header, sheet, reading, role)
    # a skipped column's cells are never looked at (a formula column saved without calculating)
    body = [(number, [None if column - 1 in skipped else cell_text(sheet.value(number, column))
                      for column in range(1, width + 1)])
            for number in range(last_header + 1, len(sheet.rows) + 1)]
    body = [(number, cells) for number, cells in body if any(cell is not None for cell in cells)]
    if reading.footer_rows:
        body = body[: len(body) - reading.footer_rows]
    if not body:
        raise SourceError("has a header but no data rows", file=sheet.file, sheet=sheet.name, row=last_header + 1,
                          hint="Ingest a complete download (this one was probably cut short).")
    letters = [column_letter(position) for position in range(width)]
    kept = [position for position, name in enumerate(header) if position not in skipped
            and (name or any(cells[position] is not None for _, cells in body))]
    for position in kept:
        if not header[position] and reading.unnamed_columns == "letter":
            header[position] = letters[position]  # a table going on right of its header (no header cell)
        elif not header[position]:
            at = next(number for number, cells in body if cells[position] is not None)
            rows = f"row {first_header}" if first_header == last_header else f"rows {first_header}-{last_header}"
            raise SourceError(f"has values but no header in {rows}", file=sheet.file, sheet=sheet.name, row=at,
                              column=letters[position],
                              hint=declared_hint("skip_rows` or `header_rows", role) + " if the header is elsewhere.")
    names = [header[position] for position in kept]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SourceError(f"header {repeated[0]!r} appears more than once", file=sheet.file, sheet=sheet.name,
                          row=first_header, hint=declared_hint("header_rows", role) + " if the header has more rows.")
    frame = pd.DataFrame([[cells[position] for position in kept] for _, cells in body], columns=names, dtype=object)
    frame = _masked_na(frame, reading)
    frame[LINE] = [number for number, _ in body]
    frame[SHEET] = sheet.name
    if reading.formula_flag:
        frame[FORMULAS] = [tuple(header[p] for p in kept if sheet.is_formula(number, p + 1)) for number, _ in body]
    frame.attrs.update(header_line=first_header, columns={header[p]: letters[p] for p in kept})
    return frame


def _skipped_columns(header: list[str], sheet, reading, role: str) -> set[int]:
    """The positions of the `skip_columns` headers; one the sheet lacks is an error (its layout changed)."""
    for name in reading.skip_columns:
        if name not in header:
            raise SourceError(f"has no column {name!r} to skip{did_you_mean(name, [h for h in header if h])}",
                              file=sheet.file, sheet=sheet.name, row=reading.skip_rows + 1,
                              hint=declared_hint("skip_columns", role) + " with the headers as the sheet has them.")
    return {position for position, name in enumerate(header) if name in reading.skip_columns}


def cell_text(value) -> str | None:
    """A cell's value as the text the readers parse: a float as its repr (exact, as stored), an
    empty or blank cell as missing."""
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "isoformat"):  # a date or time cell
        return value.isoformat()
    return str(value).strip() or None


def _one_layout(frames: list[pd.DataFrame], *, file: str, role: str) -> None:
    """Sheets read together share the header most of them have: a sheet with another is named."""
    headers = [tuple(frame.attrs["columns"]) for frame in frames]
    common = max(set(headers), key=headers.count)
    for frame, header in zip(frames, headers):
        if header != common:
            position = next((i for i, (a, b) in enumerate(zip(header, common)) if a != b), min(len(header), len(common)))
            theirs = common[position] if position < len(common) else None
            mine = header[position] if position < len(header) else None
            raise SourceError(
                f"header {mine!r} differs from the other sheets' {theirs!r}", file=file, sheet=frame[SHEET].iloc[0],
                row=frame.attrs["header_line"],
                column=frame.attrs["columns"].get(mine) if mine else None,
                hint="Read a sheet of another layout as its own input. "
                     + declared_hint("skip_rows` or `header_rows", role) + " if its header sits elsewhere.",
            )


def column_label(cells: pd.DataFrame, column: str, name: str | None = None) -> str:
    """How an error names a read column: a workbook's by its letter and its header (or the `name`
    of the header's part that matters, as a year), a text file's by its header."""
    letter = cells.attrs.get("columns", {}).get(column)
    return f"{letter} ({name or column})" if letter else column


def read_json_cells(data: bytes, reading, *, file: str, role: str) -> pd.DataFrame:
    """A JSON document's list of records (at the dotted path `records`; the document itself when
    None) as the same table of text cells as `read_csv_cells`. One row per record, or, with
    `flatten` (the keys of nested lists, outermost first: `[rows, cells]`), one per innermost item,
    carrying the fields of the levels above it. Columns are the fields' dotted paths
    (`name`, `rows.unitId`, `rows.cells.numberValue`; a nested object's fields too); `LINE` is the
    record's position in its list, from 1, which errors name as "record N" (`as_record_error`).
    A number is its JSON text (an int exactly, a float as its repr), true/false as written, a list
    that is not flattened its JSON text; a field a record lacks is missing. `one_of` and `types`
    check the innermost items' fields (a typed cell); `ids` reads a field of ids as the names another
    list of the document gives them (`_named_ids`)."""
    text = decode(data, reading.encoding, file=file, role=role).lstrip("\ufeff")
    try:
        document = json.loads(text, parse_constant=_no_json_constant)
    except json.JSONDecodeError as e:
        # the line in the message: `row` of a read JSON table is a record (`as_record_error`)
        raise SourceError(f"is not JSON: {e.msg} (line {e.lineno}, character {e.colno})", file=file,
                          hint="Ingest a complete, undamaged download.") from None
    except ValueError as e:  # NaN or Infinity, which JSON does not have
        raise SourceError(f"is not JSON: {e}", file=file, hint="Ingest a corrected file from the publisher.") from None
    records = _json_records(document, reading.records, file=file, role=role)
    levels = list(reading.flatten)
    flat = [{**_text_fields(record, levels, where=f"record {position}", file=file, role=role), LINE: position}
            for position, record in enumerate(records, start=1)]
    _check_types(records, reading, file=file)
    if levels:
        frame = pd.json_normalize(flat, record_path=levels, meta=_outer_fields(flat, levels),
                                  record_prefix=".".join(levels) + ".", errors="ignore")
    else:
        frame = pd.DataFrame(flat)
    if frame.empty:
        raise SourceError(f"has no {'items in ' + '.'.join(levels) + ' of its ' if levels else ''}records",
                          file=file, hint="Ingest a complete download (this one was probably cut short).")
    lines = frame.pop(LINE).astype(int)
    frame = frame.astype(object).where(frame.notna(), None)
    for field, ids in reading.ids.items():
        frame[field] = _named_ids(frame.get(field), lines, field, ids,
                                  _json_records(document, ids.list, file=file, role=role), file=file, role=role)
    frame = _masked_na(frame, reading)
    frame[LINE] = lines
    return frame


def _check_types(records: list, reading, *, file: str) -> None:
    """Each innermost item holds one of the `one_of` fields, and each `types` field the JSON type declared."""
    if not reading.one_of and not reading.types:
        return
    prefix = "".join(f"{level}." for level in reading.flatten)
    items = [(f"record {position}", record) for position, record in enumerate(records, start=1)]
    for level in reading.flatten:
        items = [(f"{where}, {level}[{i}]", inner) for where, item in items for i, inner in enumerate(item[level])]
    hint = "Ingest a complete, undamaged download (the publisher's layout says what each field holds)."
    keys = [path.removeprefix(prefix) for path in reading.one_of]
    for where, item in items:
        held = [key for key in keys if key in item]
        if keys and len(held) != 1:
            raise SourceError(f"{where} has {' and '.join(held) or 'none of ' + ', '.join(keys)}: an item has "
                              "exactly one of them", file=file, column=prefix + (held or keys)[0], hint=hint)
        for path, kind in reading.types.items():
            key, wanted = path.removeprefix(prefix), "a number" if kind == "number" else "text"
            if key in item and _json_kind(item[key]) != wanted:
                raise SourceError(f"{where}: {key} is {json.dumps(item[key], ensure_ascii=False)}, not {wanted}",
                                  file=file, column=path, hint=hint)


def _named_ids(cells, lines, field: str, ids, items: list, *, file: str, role: str) -> pd.Series:
    """The ids of `field` as the names the `ids.list` items give them; an id no item or two items
    have is an error."""
    if cells is None:
        raise SourceError(f"has no field {field!r} of ids", file=file, hint=declared_hint("ids", role) + ".")
    named = {}
    for position, item in enumerate(items, start=1):
        fields = _text_fields(item, [], where=f"`{ids.list}` item {position}", file=file, role=role)
        if fields.get(ids.id) is None or fields.get(ids.name) is None or fields[ids.id] in named:
            problem = "lists the id again" if fields.get(ids.id) in named else f"has no {ids.id!r} and {ids.name!r}"
            raise SourceError(f"`{ids.list}` item {position} {problem}", file=file, column=ids.id,
                              hint="Ingest a complete, undamaged download (a list of ids names each once).")
        named[fields[ids.id]] = fields[ids.name]
    unknown = cells.notna() & ~cells.isin(list(named))
    if unknown.any():
        at = unknown.to_numpy().argmax()
        raise SourceError(f"record {lines.iloc[at]}: {field} {cells.iloc[at]} is no id of `{ids.list}`", file=file,
                          column=field, hint="Ingest a complete, undamaged download (its ids are its own list's).")
    return cells.map(named)


def as_record_error(error: SourceError) -> SourceError:
    """A read JSON table's error: its `row` is a record's position, not a file line."""
    if error.row is not None:
        error.what, error.row = f"record {error.row}: {error.what}", None
    return error


def _no_json_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _json_records(document, path: str | None, *, file: str, role: str) -> list:
    found, where = document, "the top level"
    for key in path.split(".") if path else []:
        if not isinstance(found, dict) or key not in found:
            keys = list(found) if isinstance(found, dict) else []
            raise SourceError(f"has no {key!r} at {where}{did_you_mean(key, keys)}", file=file,
                              hint=declared_hint("records: <dotted path to the list of records>", role) + ".")
        found, where = found[key], f"`{key}`"
    if not isinstance(found, list):
        raise SourceError(f"has {type(found).__name__} rather than a list of records at {where}", file=file,
                          hint=declared_hint("records: <dotted path to the list of records>", role) + ".")
    return found


def _text_fields(item, levels: list[str], *, where: str, file: str, role: str) -> dict:
    """An object's fields as text by dotted path, the list `levels[0]` kept as a list of such objects."""
    if not isinstance(item, dict):
        raise SourceError(f"{where} is {_json_kind(item)} rather than an object", file=file,
                          hint=declared_hint("records` or `flatten", role) + " for where the objects are.")
    fields = {}
    for key, value in item.items():
        if levels and key == levels[0]:
            if not isinstance(value, list):
                raise SourceError(f"{where}: {key!r} is {_json_kind(value)} rather than a list", file=file,
                                  hint=declared_hint("flatten", role) + " with the keys of nested lists only.")
            fields[key] = [_text_fields(inner, levels[1:], where=f"{where}, {key}[{position}]", file=file, role=role)
                           for position, inner in enumerate(value)]
        elif isinstance(value, dict):
            for inner_key, text in _text_fields(value, [], where=where, file=file, role=role).items():
                fields[f"{key}.{inner_key}"] = text
        else:
            fields[key] = _json_text(value)
    if levels and levels[0] not in item:
        raise SourceError(f"{where} has no list {levels[0]!r}{did_you_mean(levels[0], item)}", file=file,
                          hint=declared_hint("flatten", role) + " with the keys every object has.")
    return fields


def _outer_fields(flat: list[dict], levels: list[str]) -> list[list[str]]:
    """json_normalize's `meta`: every field of the levels above the innermost, as its path of keys."""
    paths, items = {}, flat
    for depth, level in enumerate(levels):
        for item in items:
            paths.update({(*levels[:depth], key): None for key in item if key != level})
        items = [inner for item in items for inner in item[level]]
    return [list(path) for path in paths]


def _json_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


def _json_kind(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def check_legend(raw, legend, table: pd.DataFrame, *, crosswalk: str) -> None:
    """A workbook's own legend of codes (the cell range `legend.cells` of `legend.sheet`, a row per
    code) reads as the crosswalk's `legend.columns` do: a renumbered code is an error, not a silent
    relabelling of every value."""
    from openpyxl.utils.cell import range_boundaries

    from ercan.harmonize import read_sheets

    sheet = read_sheets(raw, [legend.sheet])[legend.sheet]
    first_column, first_row, last_column, last_row = range_boundaries(legend.cells)
    printed = {tuple(cell_text(sheet.value(row, column)) for column in range(first_column, last_column + 1))
               for row in range(first_row, last_row + 1)}
    declared = {tuple(None if pd.isna(v) else v for v in row)
                for row in table[list(legend.columns)].itertuples(index=False, name=None)}
    if printed != declared:
        raise SourceError(
            f"the legend in {legend.cells} reads {sorted(printed - declared, key=str)} where {crosswalk} has "
            f"{sorted(declared - printed, key=str)} (columns {list(legend.columns)})",
            file=raw.name, sheet=legend.sheet, row=first_row, column=column_letter(first_column - 1),
            hint=f"The codes changed: check what each means now and update {crosswalk} in the source's folder.")


def check_pattern(cells: pd.Series, lines: pd.Series, pattern: str, *, file: str, column: str, key: str) -> None:
    """Every cell of a column matches `pattern` whole (a column's declared `pattern`); an empty one does not."""
    text = cells.astype("string").fillna("")
    _first_bad(~text.str.fullmatch(pattern).astype(bool), cells, lines, f"does not match `pattern: {pattern}`",
               file=file, column=column,
               hint=f"If the column writes its values otherwise now, review them, then update {key}.")
