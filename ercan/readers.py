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
import re

import pandas as pd

from ercan.errors import SourceError, did_you_mean, shown

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
    records = _records(text, reading)
    for _ in range(reading.skip_rows):
        next(records, None)
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
    header = _joined_header([cells for _, cells in header_lines])
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
    if reading.na:
        frame = frame.mask(frame.isin(reading.na))
    frame[LINE] = [line for line, _ in body]
    frame.attrs["header_line"] = header_lines[-1][0]
    return frame


def _records(text: str, reading):
    """(line of the record's first line, cells) for every record of the text."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=reading.delimiter)
    previous_end = 0
    try:
        for cells in reader:
            yield previous_end + 1, cells
            previous_end = reader.line_num
    except csv.Error as e:
        raise SourceError(f"cannot be read as delimited text: {e}", row=reader.line_num + 1) from None


def _joined_header(rows: list[list[str]]) -> list[str]:
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
    names = [" ".join(parts) or f"_{position + 1}" for position, parts in enumerate(joined)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SourceError(f"header {repeated[0]!r} appears more than once", row=len(rows))
    return names


def require_columns(frame: pd.DataFrame, columns, *, file: str, role: str) -> None:
    present = [c for c in frame.columns if c != LINE]
    for column in columns:
        if column not in present:
            raise SourceError(
                f"expected column {column!r} is missing{did_you_mean(column, present)}", file=file,
                row=frame.attrs.get("header_line"),
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
    `0,42` european = 0.42). Missing cells stay missing; any other text is an error naming the line."""
    pattern, separators, decimal = GROUPINGS[grouping]
    number = re.compile(rf"^[+-]?{pattern}(?:[eE][+-]?\d+)?$")
    text = cells.astype("string")
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
