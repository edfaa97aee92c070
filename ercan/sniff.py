"""`ercan new-source`: sniff raw files and write a draft source (declaration, suite, SOURCE.txt stub).

For each file the sniffer detects, and records with how sure it is and how it decided: the
encoding, the delimiter, a `#` comment preamble or title lines (`skip_rows`), one or two header
rows, footer rows, wide (year headers) or long, the digit grouping of number cells, unit hints in
headers (checked with pint against the variables' canonical units), area columns and the code system
most of their values are in, and year columns. An .xlsx file gets its sheets and their header rows,
a JSON file its top-level shape. What it cannot decide is listed (`FileSniff.undecided`) and printed;
the draft says it in YAML comments, and stays loadable by `ercan.declaration.load`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import shutil
import typing
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from datetime import date
from pathlib import Path

import yaml

from ercan import readers, schema
from ercan.errors import ConfigError, SourceError

YEARS = (1800, 2100)
DELIMITERS = (",", ";", "\t", "|")
NA_MARKERS = ("NA", "N/A", "n/a", "NaN", "nan", "-", "--", "..", "...", "…", "x", "null", "NULL", "None", "—")
NOTE_WORDS = re.compile(r"^\s*(\*|†|note|notes|source|sources|footnote|remark|nota|notas|quelle|fuente|注|资料来源|数据来源|来源|说明)\b",
                        re.IGNORECASE)
_YEAR = re.compile(r"^\d{4}$")
_UNIT_IN_BRACKETS = re.compile(r"[(\[（【]([^()\[\]（）【】]+)[)\]）】]")
_UNIT_SUFFIX = re.compile(r"__([A-Za-z0-9]+)$")  # gfw style: umd_tree_cover_loss__ha
_AREA_HEADER = re.compile(r"country|countries|area_code|iso|region|party|entity|nation|state|province|territor|"
                          r"adm|pays|país|land\b|国家|地区|省|州", re.IGNORECASE)
_YEAR_HEADER = re.compile(r"^(year|yr|years|année|annee|año|ano|jahr|年|年份|年度|date)$", re.IGNORECASE)
# unit words of Chinese tables, as ercan.units spells them (pint knows 百公顷, 万公顷, 亿立方米 itself)
_UNIT_WORDS = {"千公顷": "1000 ha", "公顷": "ha", "立方米": "m3", "吨": "t", "千吨": "1000 t", "万吨": "10000 t",
               "t/ha": "t dm/ha", "tC/ha": "t C/ha", "MgC/ha": "Mg C/ha"}
# words of a header that say which variable it is (the first of its unit's candidates that matches)
_VARIABLE_WORDS = {
    "forest_cover": r"cover|覆盖率|share|percent",
    "growing_stock_density": r"growing.?stock.*(ha|hectare)|单位蓄积|蓄积.*/ha",
    "growing_stock": r"growing.?stock|蓄积",
    "carbon_density": r"carbon.*(densit|per ha|/ha)|碳密度",
    "carbon_stock": r"carbon|碳储量",
    "biomass_density": r"biomass",
    "tree_cover_extent": r"tree.?cover.?extent|extent",
    "tree_cover_loss": r"loss",
    "afforestation": r"afforest|造林",
    "deforestation": r"deforest",
    "natural_expansion": r"natural.*expansion",
    "restoration_area": r"restor",
    "degraded_area": r"degrad",
    "net_emissions": r"net|emission",
    "gross_emissions": r"gross",
    "land_use_emissions": r"land.?use",
    "land_sink": r"sink",
    "area": r"area|面积",
}


@dataclass
class Guess:
    """One detected reading option or layout fact: its value, how sure, and how it was decided."""

    value: object
    sure: str  # "sure" | "likely" | "unsure"
    how: str


@dataclass
class ColumnSniff:
    name: str
    kind: str  # "area" | "year" | "number" | "text" | "empty"
    codes: str | None = None  # iso3 | iso2 | iso3166_2 | names | m49 | unknown (area columns)
    share: float = 0.0  # of the area column's cells the code system matched
    unit: str | None = None  # the unit hint of its header, as ercan.units reads it
    unit_text: str | None = None  # as printed
    variables: tuple[str, ...] = ()  # variables of the registry the unit converts to
    variable: str | None = None  # the one the header's words pick
    values: int = 0  # non-empty cells
    minimum: float | None = None
    maximum: float | None = None


@dataclass
class FileSniff:
    path: Path
    format: str  # csv | xlsx | json | other
    guesses: dict[str, Guess] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    columns: list[ColumnSniff] = field(default_factory=list)
    year_headers: list[str] = field(default_factory=list)
    rows: int = 0
    sheets: dict[str, tuple[int, list[str]]] = field(default_factory=dict)  # xlsx: sheet -> (row, header)
    shape: str | None = None  # json
    records: str | None = None  # json: the top-level key holding the list of records (none: the document is it)
    record_keys: list[str] = field(default_factory=list)  # json: the records' fields
    undecided: list[str] = field(default_factory=list)
    title_text: str = ""  # preamble/title lines, for unit hints

    @property
    def name(self) -> str:
        return self.path.name

    def value(self, key: str, default=None):
        return self.guesses[key].value if key in self.guesses else default

    @property
    def values(self) -> int:
        return sum(c.values for c in self.columns if c.kind == "number" and c.name in self.value_columns)

    @property
    def value_columns(self) -> list[str]:
        """The columns read as values: the year headers of a wide table, else the number columns
        that are not years, codes or identifiers."""
        if self.year_headers:
            return list(self.year_headers)
        return [c.name for c in self.columns if c.kind == "number" and c.name
                and not re.search(r"(^|_)(id|no|code|number|nr)$", c.name, re.IGNORECASE)]


# --- detection ------------------------------------------------------------------------------------


def sniff(path: Path) -> FileSniff:
    """What can be told of one raw file's reading options and layout."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _sniff_xlsx(path)
    if suffix == ".json":
        return _sniff_json(path)
    found = FileSniff(path, "csv" if suffix in (".csv", ".tsv", ".txt", "") else "csv")
    data = path.read_bytes()
    text = _decoded(data, found)
    if text is None:
        return found
    _sniff_table(text, found)
    return found


def _decoded(data: bytes, found: FileSniff) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        found.guesses["encoding"] = Guess("utf-8-sig", "sure", "the file starts with a UTF-8 byte order mark")
        return data.decode("utf-8-sig", errors="replace")
    try:
        text = data.decode("utf-8")
        how = "every byte is valid UTF-8" + ("" if text.isascii() else " (with non-ASCII characters)")
        found.guesses["encoding"] = Guess("utf-8", "sure", how)
        return text
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        found.undecided.append("the encoding: not UTF-8, and charset_normalizer found none that fits")
        found.guesses["encoding"] = Guess("latin-1", "unsure", "not UTF-8; latin-1 reads any byte (check accents)")
        return data.decode("latin-1")
    encoding = _python_name(best.encoding)
    sure = "likely" if best.chaos < 0.1 else "unsure"
    found.guesses["encoding"] = Guess(encoding, sure, f"not UTF-8; charset_normalizer's guess (chaos {best.chaos:.0%}, "
                                      f"language {best.language})")
    if sure == "unsure":
        found.undecided.append(f"the encoding: charset_normalizer guesses {encoding}, check the accented names")
    return data.decode(encoding, errors="replace")


def _python_name(encoding: str) -> str:
    import codecs

    return codecs.lookup(encoding).name.replace("-", "_") if encoding not in ("utf_8", "utf-8") else "utf-8"


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line, cells) per record, as ercan.readers reads them, up to one csv cannot read."""
    out = []
    try:
        out.extend(readers.records(text.lstrip("\ufeff"), delimiter))
    except csv.Error:
        pass
    return out


def _delimiter(text: str, found: FileSniff) -> str:
    lines = [line for line in text.lstrip("\ufeff").splitlines()[:200] if line.strip() and not line.startswith("#")]
    sample = "\n".join(lines[:60])
    scores = {}
    for candidate in DELIMITERS:
        counts = Counter(len(cells) for _, cells in _records(sample, candidate) if cells)
        if not counts:
            continue
        width, hits = max(counts.items(), key=lambda item: (item[1], item[0]))
        if width > 1:
            scores[candidate] = (hits / sum(counts.values()), width)
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if not scores:
        found.guesses["delimiter"] = Guess(",", "unsure", "no delimiter splits the lines: one column?")
        found.undecided.append("the delimiter: no candidate (, ; tab |) splits the lines into columns")
        return ","
    best = max(scores, key=lambda d: scores[d])
    share, width = scores[best]
    if sniffed == best:
        found.guesses["delimiter"] = Guess(best, "sure" if share > 0.9 else "likely",
                                           f"csv.Sniffer and field counts agree ({width} fields on {share:.0%} of the lines)")
    elif sniffed in scores and scores[sniffed][0] >= share:
        best = sniffed
        found.guesses["delimiter"] = Guess(best, "likely", f"csv.Sniffer; field counts as consistent ({scores[best][1]} fields)")
    else:
        found.guesses["delimiter"] = Guess(best, "likely" if share > 0.9 else "unsure",
                                           f"the most consistent field count ({width} fields on {share:.0%} of the lines)"
                                           + (f"; csv.Sniffer said {sniffed!r}" if sniffed else ""))
    return best


def _is_number(cell: str) -> bool:
    return bool(re.fullmatch(r"[+-]?[\d.,\s\u00a0\u202f]*\d[\d.,\s\u00a0\u202f]*(?:[eE][+-]?\d+)?", cell)) and any(
        ch.isdigit() for ch in cell)


def _is_year(cell: str) -> bool:
    return bool(_YEAR.fullmatch(cell.strip())) and YEARS[0] <= int(cell) <= YEARS[1]


def _sniff_table(text: str, found: FileSniff) -> None:
    delimiter = _delimiter(text, found)
    records = _records(text, delimiter)
    content = [(line, cells) for line, cells in records if cells and not cells[0].startswith("#")]
    if not content:
        found.undecided.append("the table: the file has no lines besides comments")
        return
    tail = content[len(content) // 5:] or content
    widths = Counter(len(cells) for _, cells in tail)
    width = widths.most_common(1)[0][0]

    def filled(cells):
        return sum(1 for c in cells if c.strip())

    # the header: the first record as wide as the table with at least two filled cells
    # (a one-cell line over a wider table is a title)
    at = next((i for i, (_, cells) in enumerate(records)
               if cells and not cells[0].startswith("#") and len(cells) == width
               and (filled(cells) >= 2 or width == 1)), None)
    if at is None:
        found.undecided.append(f"the header: no line has the table's {width} fields")
        return
    before = records[:at]
    comments = [cells for _, cells in records if cells and cells[0].startswith("#")]
    others = [cells for cells in (c for _, c in before) if not (cells and cells[0].startswith("#"))]
    found.title_text = " ".join(" ".join(c) for c in (c for _, c in before))
    if comments:
        found.guesses["comment"] = Guess("#", "sure", f"{len(comments)} line(s) start with '#'")
    if others:
        titles = [" ".join(c for c in cells if c.strip()) for cells in others]
        found.guesses["skip_rows"] = Guess(at, "likely", f"{len(others)} line(s) before the header with fewer fields "
                                           f"than the table's {width} (a title or blank line)"
                                           + (f": {titles[0][:60]!r}" if any(titles) else ""))
    header_rows = [records[at][1]]
    body_at = at + 1
    if at + 1 < len(records):
        upper, lower = records[at][1], records[at + 1][1]
        under_blank = [i for i in range(1, min(len(upper), len(lower))) if not upper[i].strip() and lower[i].strip()]
        lower_cells = [c for c in lower if c.strip()]
        numbers = [c for c in lower_cells if _is_number(c) and not _is_year(c)]
        if under_blank and len(lower) == width and len(numbers) < len(lower_cells) / 2:
            header_rows.append(lower)
            body_at += 1
            found.guesses["header_rows"] = Guess(2, "likely", f"line {records[at][0]} has blank (merged) cells over "
                                                 f"the headers of line {records[at + 1][0]}")
    found.header = readers.joined_header(header_rows)
    body = [(line, cells) for line, cells in records[body_at:] if cells and not cells[0].startswith("#")]
    footer = 0
    for line, cells in reversed(body):
        if (len(cells) < width or filled(cells) <= 1 < width or NOTE_WORDS.match(cells[0])) and footer < len(body) - 1:
            footer += 1
        else:
            break
    if footer:
        found.guesses["footer_rows"] = Guess(footer, "likely", f"the last {footer} line(s) have fewer fields or start "
                                             f"with a note word ({body[-footer][1][0][:40]!r}…)")
        body = body[:-footer]
    ragged = [line for line, cells in body if len(cells) != len(found.header)]
    if ragged:
        found.undecided.append(f"{len(ragged)} line(s) (first: line {ragged[0]}) have a different number of fields "
                               f"than the header: notes in the middle, or another delimiter?")
    found.rows = len(body)
    blanks = [i for i, name in enumerate(found.header) if not name]
    if blanks:
        found.undecided.append(f"{len(blanks)} column(s) have no header (positions {', '.join(str(i + 1) for i in blanks)}):"
                               " the readers need a name for each column")
    repeated = sorted({n for n in found.header if n and found.header.count(n) > 1})
    if repeated:
        found.undecided.append(f"header {repeated[0]!r} appears more than once")
    columns = {name: [cells[i].strip() for _, cells in body if i < len(cells)] for i, name in enumerate(found.header)}
    _sniff_grouping(columns, delimiter, found)
    _sniff_na(columns, found)
    _sniff_columns(columns, found)


_LAKH = re.compile(r"^[+-]?\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_EUROPEAN = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+,\d+|\d{1,3}(?:\.\d{3}){2,}|\d+,\d{1,2}|\d+,\d{4,}|\d{4,},\d+|0,\d+)$")
_POINT_DECIMAL = re.compile(r"^[+-]?\d*\.(?:\d{1,2}|\d{4,})$")  # a decimal point: not European
_SPACE = re.compile(r"^[+-]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:\.\d+)?$")


def _sniff_grouping(columns: dict[str, list[str]], delimiter: str, found: FileSniff) -> None:
    cells = [c for values in columns.values() for c in values if c and _is_number(c)]
    lakh = [c for c in cells if _LAKH.match(c) and not _THOUSANDS.match(c)]
    thousands = [c for c in cells if _THOUSANDS.match(c)]
    unambiguous_thousands = [c for c in thousands if "." in c or c.count(",") > 1]
    european = [c for c in cells if _EUROPEAN.match(c) and not _THOUSANDS.match(c)]
    if european and (unambiguous_thousands or any(_POINT_DECIMAL.match(c) for c in cells)):
        european = []  # decimal points elsewhere: `0,42`-like cells are not decimal commas
    spaced = [c for c in cells if _SPACE.match(c)]
    if lakh:
        found.guesses["digit_grouping"] = Guess("lakh", "sure" if len(lakh) > 1 else "likely",
                                                f"{len(lakh)} number(s) grouped by two digits after the thousands, "
                                                f"as {lakh[0]!r} (Indian lakh)")
    elif european and not unambiguous_thousands:
        found.guesses["digit_grouping"] = Guess("european", "sure" if len(european) > 1 else "likely",
                                                f"{len(european)} number(s) with a decimal comma, as {european[0]!r}")
    elif thousands:
        sure = "sure" if unambiguous_thousands or delimiter == "," else "likely"
        found.guesses["digit_grouping"] = Guess("thousands", sure, f"{len(thousands)} number(s) grouped by commas, "
                                                f"as {thousands[0]!r}")
        if sure != "sure":
            found.undecided.append(f"digit grouping: {thousands[0]!r} may be a thousands group or a European decimal")
    elif spaced:
        found.guesses["digit_grouping"] = Guess("space", "likely", f"numbers grouped by spaces, as {spaced[0]!r}")
    elif cells:
        found.guesses["digit_grouping"] = Guess("none", "sure", "no number cell has a digit group or decimal comma")


def _number_pattern(found: FileSniff) -> re.Pattern:
    from ercan.readers import GROUPINGS

    pattern = GROUPINGS[found.value("digit_grouping", "none")][0]
    return re.compile(rf"^[+-]?{pattern}(?:[eE][+-]?\d+)?$")


def _number(cell: str, grouping: str) -> float:
    if grouping == "european":
        cell = cell.replace(".", "").replace(",", ".")
    else:
        cell = re.sub(r"[,\s\u00a0\u202f]", "", cell)
    return float(cell)


def _sniff_na(columns: dict[str, list[str]], found: FileSniff) -> None:
    number = _number_pattern(found)
    markers = Counter()
    for values in columns.values():
        filled = [v for v in values if v]
        numeric = sum(1 for v in filled if number.match(v))
        if filled and numeric >= len(filled) / 2:
            markers.update(v for v in filled if not number.match(v) and v in NA_MARKERS)
    if markers:
        found.guesses["na"] = Guess(sorted(markers), "likely", "text cells among numbers: "
                                    + ", ".join(f"{m!r} ×{n}" for m, n in markers.most_common()))


def _unit_hint(header: str, title: str) -> str | None:
    for text in (header, title):
        found = _UNIT_IN_BRACKETS.findall(text)
        if found:
            return found[-1].strip()
    suffix = _UNIT_SUFFIX.search(header)
    return suffix.group(1) if suffix else None


def _as_unit(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKC", text).strip()  # m³ → m3
    for word, unit in sorted(_UNIT_WORDS.items(), key=lambda item: -len(item[0])):
        if text == word:
            return unit
    return text


def _variables_for(unit: str) -> tuple[str, ...]:
    from ercan.units import factor

    out = []
    for variable, canonical in schema.VARIABLE_UNITS.items():
        try:
            factor(unit, canonical)
        except (SourceError, Exception):  # noqa: BLE001 - pint's own errors on odd text
            continue
        out.append(variable)
    return tuple(out)


def _sniff_columns(columns: dict[str, list[str]], found: FileSniff) -> None:
    number = _number_pattern(found)
    grouping = found.value("digit_grouping", "none")
    na = set(found.value("na", ()))
    found.year_headers = [name for name in columns if _is_year(name)]
    if len(found.year_headers) >= 2:
        found.guesses["layout"] = Guess("wide", "sure" if len(found.year_headers) >= 3 else "likely",
                                        f"{len(found.year_headers)} headers are years "
                                        f"({found.year_headers[0]}…{found.year_headers[-1]})")
    else:
        found.year_headers = []
        found.guesses["layout"] = Guess("long", "likely", "no headers are years: a row per record, a column per series")
    for name, values in columns.items():
        filled = [v for v in values if v and v not in na]
        column = ColumnSniff(name, "empty" if not filled else "text", values=len(filled))
        found.columns.append(column)
        if not filled:
            continue
        numeric = [v for v in filled if number.match(v)]
        if len(numeric) == len(filled):
            numbers = [_number(v, grouping) for v in numeric]
            column.minimum, column.maximum = min(numbers), max(numbers)
            years = all(n == int(n) and YEARS[0] <= n <= YEARS[1] for n in numbers)
            if (years and not found.year_headers and (_YEAR_HEADER.match(name.strip()) or "year" in name.lower()
                                                      or "年" in name)) or _YEAR_HEADER.match(name.strip()):
                column.kind = "year"
            else:
                column.kind = "number"
                if _AREA_HEADER.search(name) and all(n == int(n) for n in numbers):
                    codes, share = _area_codes(filled, name)
                    column.kind, column.share = "area", share
                    column.codes = codes if codes == "m49" and share >= 0.9 else "unknown"
        else:
            codes, share = _area_codes(filled, name)
            hinted = bool(_AREA_HEADER.search(name))
            if share >= 0.8 or (share >= 0.5 and hinted) or (hinted and not found_area(found)):
                column.kind, column.codes, column.share = "area", codes if share >= 0.5 else "unknown", share
        if column.kind in ("number", "text") or found.year_headers:
            hint = _unit_hint(name, found.title_text if found.year_headers else "")
            if hint and column.kind == "number" or (found.year_headers and name in found.year_headers and hint):
                column.unit_text = hint
                column.unit = _as_unit(hint)
                column.variables = _variables_for(column.unit)
                words = [v for v in column.variables if re.search(_VARIABLE_WORDS.get(v, "$^"),
                                                                    name + " " + found.title_text, re.IGNORECASE)]
                column.variable = (words or (column.variables if len(column.variables) == 1 else [None]))[0]
    areas = [c for c in found.columns if c.kind == "area"]
    if not areas:
        found.undecided.append("the area column: no column's values are country codes or names (a single area? "
                               "declare `set: {area_code: …}`)")
    for c in areas:
        if c.codes == "unknown":
            found.undecided.append(f"the code system of area column {c.name!r}: none matches half its values "
                                   "(a crosswalk of its names to codes)")
        elif c.codes == "names" and c.share < 1:
            found.undecided.append(f"area column {c.name!r}: {1 - c.share:.0%} of its names are not known to "
                                   "ercan.areas.iso3_for_names (a crosswalk for those)")
    if not any(c.kind == "year" for c in found.columns) and not found.year_headers:
        found.undecided.append("the year: no year column and no year headers (declare `set: {year: …}`)")
    if found.year_headers and not any(c.variable for c in found.columns if c.name in found.year_headers):
        hint = next((c for c in found.columns if c.name in found.year_headers and c.unit_text), None)
        found.undecided.append("the variable and unit of the year columns" + (
            f": the unit {hint.unit_text!r} fits {', '.join(hint.variables) or 'no variable of the registry'}" if hint
            else ": no unit in the headers or the title (a unit column? then `to: unit`)"))
    unitless = []
    for c in found.columns if not found.year_headers else ():
        if c.name in found.value_columns and not c.variable:
            if not c.unit_text:
                unitless.append(c.name)
                continue
            found.undecided.append(f"the variable of {c.name!r}: its unit {c.unit_text!r} fits " + (
                ", ".join(c.variables) if c.variables else "no variable of the registry"))
    if unitless:
        found.undecided.append("the variable and unit of " + ", ".join(repr(n) for n in unitless[:6])
                               + (f" and {len(unitless) - 6} more" if len(unitless) > 6 else "")
                               + ": no unit in the header")


_SYSTEMS = ("iso3", "iso3166_2", "names", "translated names", "iso2", "m49", "unknown")


def best_area(found: FileSniff) -> ColumnSniff | None:
    """The area column the draft maps to `area_code`: the best matched code system."""
    areas = [c for c in found.columns if c.kind == "area"]
    return min(areas, key=lambda c: (c.share < 0.9, _SYSTEMS.index(c.codes or "unknown"), -c.share), default=None)


def found_area(found: FileSniff) -> bool:
    return any(c.kind == "area" for c in found.columns)


# --- code systems ---------------------------------------------------------------------------------


def _code_sets() -> dict[str, set[str]]:
    import pycountry

    countries = list(pycountry.countries)
    m49 = {str(int(c.numeric)) for c in countries} | {c.numeric for c in countries}
    m49 |= {"1", "001", "2", "002", "9", "009", "19", "019", "142", "150"}  # World and the continents
    return {"iso3": {c.alpha_3 for c in countries} | {"WORLD"},
            "iso2": {c.alpha_2 for c in countries},
            "iso3166_2": {s.code for s in pycountry.subdivisions},
            "m49": m49}


_CODES: dict[str, set[str]] | None = None


def _area_codes(values: list[str], header: str) -> tuple[str | None, float]:
    """The code system most of these cells are in, and the share of the cells it matches."""
    global _CODES
    if _CODES is None:
        _CODES = _code_sets()
    counts = Counter(values)
    total = sum(counts.values())
    shares = {system: sum(n for v, n in counts.items() if v in codes) / total for system, codes in _CODES.items()}
    if any(v.isdigit() for v in counts) and not all(v.isdigit() for v in counts):
        shares["m49"] = 0.0
    if all(v.isdigit() for v in counts):
        return ("m49", shares["m49"]) if shares["m49"] else (None, 0.0)
    shares.pop("m49")
    best = max(shares, key=shares.get)
    if shares[best] >= 0.9:
        return best, shares[best]
    letters = [v for v in counts if len(v) <= 200 and re.search(r"[^\W\d_]", v)]
    if letters and len(counts) <= 2000 and (_AREA_HEADER.search(header) or shares[best] < 0.5):
        from ercan.areas import iso3_for_names

        coco = logging.getLogger("country_converter")
        level, coco.level = coco.level, logging.CRITICAL
        try:
            known = iso3_for_names(list(counts)[:500])
        finally:
            coco.setLevel(level)
        named = sum(n for v, n in counts.items() if v in known) / total
        translated = _translated_names()
        other = sum(n for v, n in counts.items() if v not in known and v in translated) / total
        if named + other > shares[best]:
            return ("names", named) if named >= other else ("translated names", named + other)
    return (best, shares[best]) if shares[best] else (None, 0.0)


WORLD_NAMES = ("World", "world", "WORLD", "Global", "全球", "世界", "Monde", "Mundo", "Welt", "Мир")


@cache
def _translated_names() -> dict[str, str]:
    """{country name in another language: ISO3} from pycountry's translations of ISO 3166-1 (中国, Allemagne…)."""
    import gettext

    import pycountry

    names = dict.fromkeys(WORLD_NAMES, "WORLD")
    for language in ("zh_CN", "zh_TW", "fr", "es", "de", "ru", "pt", "ar", "ja", "it", "nl", "id", "vi"):
        try:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:
            continue
        for country in pycountry.countries:
            for attribute in ("name", "common_name", "official_name"):
                english = getattr(country, attribute, None)
                if english and translation.gettext(english) != english:
                    names.setdefault(translation.gettext(english), country.alpha_3)
    return names


# --- xlsx and json --------------------------------------------------------------------------------


def _sniff_xlsx(path: Path) -> FileSniff:
    import openpyxl

    found = FileSniff(path, "xlsx")
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            header_at, header = 0, []
            for number, row in enumerate(sheet.iter_rows(max_row=40, values_only=True), start=1):
                cells = ["" if c is None else str(c).strip() for c in row]
                if sum(1 for c in cells if c) >= 2:
                    header_at, header = number, [c for c in cells]
                    while header and not header[-1]:
                        header.pop()
                    break
            found.sheets[sheet.title] = (header_at, header)
    finally:
        workbook.close()
    found.guesses["sheets"] = Guess(list(found.sheets), "sure", "openpyxl (read-only)")
    found.undecided.append(f"{path.name}: the declared readers read csv only (Reading.format); the draft lists its "
                           "sheets and their header rows as comments")
    return found


def _sniff_json(path: Path) -> FileSniff:
    found = FileSniff(path, "json")
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        found.shape = f"not readable JSON ({e})"
    else:
        if isinstance(data, list) and data and all(isinstance(r, dict) for r in data[:100]):
            keys = found.record_keys = list(dict.fromkeys(k for r in data[:100] for k in r))
            found.shape = f"records list: {len(data)} records, keys {', '.join(keys[:12])}{' …' if len(keys) > 12 else ''}"
        elif isinstance(data, list):
            found.shape = f"list of {len(data)} {type(data[0]).__name__ if data else 'items'}"
        elif isinstance(data, dict):
            keys = list(data)
            found.shape = f"nested object, top-level keys {', '.join(map(str, keys[:12]))}{' …' if len(keys) > 12 else ''}"
            lists = [k for k in keys if isinstance(data[k], list) and data[k] and isinstance(data[k][0], dict)]
            if lists:  # the first list of records: what `records:` points the JSON reader at
                found.records = str(lists[0])
                found.record_keys = list(dict.fromkeys(k for r in data[lists[0]][:100] for k in r))
        else:
            found.shape = type(data).__name__
    found.guesses["shape"] = Guess(found.shape, "sure", "json.loads")
    found.undecided.append(f"{path.name}: which fields carry values, and which nested lists to `flatten`; "
                           "the draft gives the JSON's shape as a comment")
    return found


# --- the draft ------------------------------------------------------------------------------------


def _q(value) -> str:
    """A YAML scalar (JSON's double-quoted strings are YAML's)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)


def _flow(mapping: dict) -> str:
    return "{" + ", ".join(f"{k}: {_q(v)}" for k, v in mapping.items()) + "}"


def _role(path: Path, taken: set[str], only: bool) -> str:
    role = "table" if only else (re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_")[:40] or "input")
    if not role[0].isalpha():
        role = "input_" + role
    base, n = role, 2
    while role in taken:
        role, n = f"{base}_{n}", n + 1
    taken.add(role)
    return role


def _comment(guess: Guess) -> str:
    return f"  # {guess.sure}: {guess.how}"


_READ_DEFAULTS = {"encoding": "utf-8-sig", "delimiter": ",", "comment": None, "skip_rows": 0, "header_rows": 1,
                  "footer_rows": 0, "na": (), "digit_grouping": "none"}


def _formats() -> tuple[str, ...]:
    from ercan.declaration import Reading

    return typing.get_args(Reading.model_fields["format"].annotation)


def _code_systems() -> tuple[str, ...]:
    """The code systems a declared column may name (`Column.codes`), if the declaration has them."""
    from ercan.declaration import Column

    codes = Column.model_fields.get("codes")
    return tuple(a for a in typing.get_args(codes.annotation) for a in (typing.get_args(a) or (a,)) if isinstance(a, str)) \
        if codes else ()


def _input_yaml(role: str, found: FileSniff) -> list[str]:
    lines = [f"  {role}:", f"    file: {_q(found.name)}"]
    if found.format == "xlsx" and "xlsx" in _formats():
        readable = [sheet for sheet, (row, header) in found.sheets.items() if header]
        if readable:
            lines += ["    read:", "      format: xlsx", f"      sheet: {_q(readable[0])}  # unsure: the first sheet with a header row"]
            others = [sheet for sheet in found.sheets if sheet != readable[0]]
            if others:
                lines.append("      skip_sheets:")
                lines += [f"        {_q(sheet)}: \"TODO: why it is not read (or read it)\"" for sheet in others]
    if found.format != "csv":
        if found.format not in _formats():
            lines.append(f"    # TODO: {found.format} is not read by the declared readers yet (Reading.format is one of "
                         f"{', '.join(_formats())}): read it with a hook (hook.py `cells`) or wait for the reader.")
        for sheet, (row, header) in found.sheets.items():
            lines.append(f"    # sheet {sheet!r}: header on row {row}: " + (", ".join(h or "(blank)" for h in header[:15])
                                                                          + (" …" if len(header) > 15 else "")))
        if found.shape:
            lines.append(f"    # JSON shape: {found.shape}")
        if found.format == "json" and "json" in _formats() and found.record_keys:
            records = f", records: {_q(found.records)}" if found.records else ""
            lines += [f"    read: {{format: json{records}}}  # unsure: the first list of records",
                      "    values:", f"      - columns: [{_q(found.record_keys[-1])}]  # TODO: the fields that carry values"]
        elif found.format not in _formats() and "hook" in _formats():
            lines.append("    read: {format: hook}  # TODO: read by harmonizers/<id>/hook.py (`rows(rows, files)`)")
        elif found.format == "xlsx" and found.sheets:
            header = next((h for _, h in found.sheets.values() if h), [])
            placeholder = next((h for h in reversed(header) if h), "TODO")
            lines += ["    values:", f"      - columns: [{_q(placeholder)}]  # TODO: the columns that carry values"]
        else:
            lines.append("    values: []  # TODO: the columns that carry values")
        return lines
    read = []
    for key in ("encoding", "delimiter", "comment", "skip_rows", "header_rows", "footer_rows", "na", "digit_grouping"):
        if key not in found.guesses:
            continue
        guess = found.guesses[key]
        value = list(guess.value) if isinstance(guess.value, (list, tuple)) else guess.value
        if key == "encoding" and value == "utf-8":
            value = "utf-8-sig"  # reads a file with or without a byte order mark
        if value == _READ_DEFAULTS[key] or (key == "na" and not value):
            read.append(f"      # {key}: {_q(value)} (the default){_comment(guess)[3:]}")
        else:
            read.append(f"      {key}: {json.dumps(value, ensure_ascii=False)}{_comment(guess)}")
    if read:
        lines += ["    read:", *read] if any(not r.lstrip().startswith("#") for r in read) else \
            ["    # read: every option is its default", *read]
    layout = found.guesses.get("layout")
    if layout:
        lines.append(f"    # layout: {layout.value}{_comment(layout)[3:]}")
    columns = []
    by_name = {c.name: c for c in found.columns}
    area = best_area(found)
    for c in found.columns:
        if not c.name:
            continue
        if c.kind == "year":
            columns.append(f"      {_q(c.name)}: {{to: year}}  # values {c.minimum:.0f}-{c.maximum:.0f}")
        elif c.kind == "area" and c is not area:
            columns.append(f"      # {_q(c.name)}: also an area column ({c.codes}, {c.share:.0%} matched): "
                           "TODO: a parent code, a second level, or not read?")
        elif c.kind == "text" and re.search(r"unit|单位", c.name, re.IGNORECASE):
            columns.append(f"      {_q(c.name)}: {{to: unit}}  # likely: a unit column (values as printed: check "
                           "ercan.units reads each)")
        elif c.kind == "text" and re.search(r"^(variable|indicator|metric|parameter|element|item|measure)s?$|指标|变量",
                                            c.name.strip(), re.IGNORECASE):
            columns.append(f"      # {_q(c.name)}: {{to: variable, map: {{…}}}}  TODO: each of its values to a variable")
        elif c.kind == "area":
            systems = {"iso3": "iso3", "names": "country_name", "iso3166_2": "iso3166_2"}
            if c.codes in systems and systems[c.codes] in _code_systems():
                what = {"iso3": "ISO 3166-1 alpha-3 codes", "names": "country names ercan.areas.iso3_for_names knows",
                        "iso3166_2": "ISO 3166-2 codes"}[c.codes]
                columns.append(f"      {_q(c.name)}: {{to: [area_code, area_level, parent_code], codes: {systems[c.codes]}}}"
                               f"  # {'likely' if c.share >= 0.9 else 'unsure'}: {c.share:.0%} of its cells are {what}")
                continue
            if c.codes in ("iso3", "iso3166_2"):
                note = f"{c.codes}: {c.share:.0%} of its cells are {'ISO 3166-1 alpha-3' if c.codes == 'iso3' else 'ISO 3166-2'} codes"
            elif c.codes == "translated names":
                note = (f"country names in another language: {c.share:.0%} known to pycountry's translations; TODO: a "
                        "`crosswalk` of the names to codes beside this file")
            elif c.codes == "names":
                note = (f"country names: {c.share:.0%} known to ercan.areas.iso3_for_names; TODO: a `crosswalk` of "
                        "the names to codes beside this file")
            elif c.codes in ("iso2", "m49"):
                note = f"{c.codes}: {c.share:.0%} of its cells; TODO: a `map` or `crosswalk` to ISO3"
            else:
                note = "TODO: no code system matches; a `crosswalk` of its values to area codes"
            columns.append(f"      {_q(c.name)}: {{to: area_code}}  # {note}")
    if any(not c.lstrip().startswith("#") for c in columns):
        lines += ["    columns:", *columns]
    elif columns:
        lines += ["    # columns: none guessed (TODO: the area and year columns)", *columns]
    else:
        lines.append("    # columns: none guessed (TODO: the area and year columns)")
    lines.append("    values:")
    value_columns = found.value_columns
    if found.year_headers:
        units = {(by_name[h].unit, by_name[h].variable) for h in found.year_headers if h in by_name}
        unit, variable = next(iter(units)) if len(units) == 1 else (None, None)
        constants = {k: v for k, v in {"variable": variable, "unit": unit}.items() if v}
        lines.append(f"      - pattern: '^\\d{{4}}$'  # {len(found.year_headers)} year headers, "
                     f"{found.year_headers[0]}-{found.year_headers[-1]}")
        lines.append("        header: year")
        if constants:
            lines.append(f"        set: {_flow(constants)}  # from the unit hint {by_name[found.year_headers[0]].unit_text!r}")
        else:
            lines.append("        # set: {variable: TODO, unit: TODO}")
    for name in value_columns if not found.year_headers else ():
        c = by_name[name]
        lines.append(f"      - columns: [{_q(name)}]")
        constants = {k: v for k, v in {"variable": c.variable, "unit": c.unit}.items() if v}
        if c.variable and c.unit:
            others = [v for v in c.variables if v != c.variable]
            sure = "likely" if len(c.variables) == 1 or re.search(_VARIABLE_WORDS.get(c.variable, "$^"), name, re.I) else "unsure"
            lines.append(f"        set: {_flow(constants)}  # {sure}: unit {c.unit_text!r} in the header"
                         + (f"; also fits {', '.join(others[:4])}" if others else ""))
        elif c.unit_text:
            lines.append(f"        # set: {{variable: TODO, unit: {_q(c.unit)}}}  unit {c.unit_text!r} in the header"
                         + (f" fits {', '.join(c.variables[:5])}" if c.variables else ", fits no variable of the registry"))
        else:
            lines.append("        # set: {variable: TODO, unit: TODO}  (no unit in the header)")
    if not value_columns and not found.year_headers:
        placeholder = next((h for h in reversed(found.header) if h), "TODO")
        lines.append(f"      - columns: [{_q(placeholder)}]  # TODO: no number column found: which columns carry values?")
    constants = {"flag": "reported"}
    if area and not (area.codes in ("iso3", "names", "iso3166_2") and _code_systems()):
        constants["area_level"] = "subnational" if area.codes == "iso3166_2" else "national"
    lines.append(f"    set: {_flow(constants)}  # TODO: check; add land_category (and year if no column has it)")
    return lines


def draft_declaration(source_id: str, sniffs: list[FileSniff]) -> str:
    taken: set[str] = set()
    out = [
        f"# Draft written by `ercan new-source` on {date.today().isoformat()} from "
        + ", ".join(s.name for s in sniffs) + ".",
        "# Every detection is commented with how sure it is (sure / likely / unsure) and how it was decided;",
        "# review each, fill in the TODOs, then `ercan rerun " + source_id + "` (docs/adding_a_source.md).",
        f"id: {source_id}",
        'title: "TODO: what the data is, in one line"',
        'publisher: "TODO: who publishes it (and the repository it was taken from)"',
        'license: "TODO: the license as stated by the publisher"',
        'citation: "TODO: how to cite it (with the version, commit or download date)"',
        "notes: >-",
        "  TODO: the decisions taken in reading it (what is read, what is not and why).",
        "",
        "inputs:",
    ]
    for found in sniffs:
        role = _role(found.path, taken, len(sniffs) == 1)
        if found.undecided:
            out.append(f"  # not decided for {found.name}:")
            out += [f"  #   - {u}" for u in found.undecided]
        out += _input_yaml(role, found)
    return "\n".join(out) + "\n"


def draft_suite(source_id: str, sniffs: list[FileSniff]) -> dict:
    expectations = []
    areas = {best_area(s).codes for s in sniffs if best_area(s)}
    if areas & {"iso3", "names", "translated names", "iso2", "m49"} and "iso3166_2" not in areas:
        expectations.append({"type": "expect_column_values_to_match_regex",
                             "kwargs": {"column": "area_code", "regex": "^(?:[A-Z]{3}|WORLD)$"}, "severity": "critical",
                             "meta": {"why": "DRAFT: countries as ISO3 (the sniffed area column), the world as WORLD"}})
    elif "iso3166_2" in areas:
        expectations.append({"type": "expect_column_values_to_match_regex",
                             "kwargs": {"column": "area_code", "regex": "^[A-Z]{2}-[A-Z0-9]{1,3}$"}, "severity": "critical",
                             "meta": {"why": "DRAFT: subdivisions as ISO 3166-2 (the sniffed area column)"}})
    years = [int(y) for s in sniffs for y in s.year_headers]
    years += [v for s in sniffs for c in s.columns if c.kind == "year" for v in (c.minimum, c.maximum)]
    if years:
        expectations.append({"type": "expect_column_values_to_be_between",
                             "kwargs": {"column": "year", "min_value": int(min(years)), "max_value": int(max(years)) + 10},
                             "severity": "critical",
                             "meta": {"why": f"DRAFT: the sniffed file covers {int(min(years))}-{int(max(years))}; "
                                             "a later release adds years"}})
    variables = sorted({c.variable for s in sniffs for c in s.columns if c.variable and c.name in s.value_columns})
    if variables:
        expectations.append({"type": "expect_column_distinct_values_to_contain_set",
                             "kwargs": {"column": "variable", "value_set": variables}, "severity": "critical",
                             "meta": {"why": "DRAFT: completeness: every series guessed from the headers is read"}})
    value_columns = [c for s in sniffs for c in s.columns if c.name in s.value_columns and c.minimum is not None]
    if value_columns and all(c.minimum >= 0 for c in value_columns):
        expectations.append({"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "min_value": 0},
                             "severity": "warning",
                             "meta": {"why": "DRAFT: no value of the sniffed file is negative (TODO: is a negative one "
                                             "an error? then make this critical)"}})
    values = sum(s.values for s in sniffs)
    if values:
        expectations.append({"type": "expect_table_row_count_to_be_between",
                             "kwargs": {"min_value": max(1, values * 9 // 10), "max_value": values * 2},
                             "severity": "warning",
                             "meta": {"why": f"DRAFT: the sniffed file(s) hold {values} values; fewer is a cut download"}})
    return {"name": source_id,
            "meta": {"notes": f"DRAFT written by `ercan new-source` on {date.today().isoformat()}: review every "
                              "expectation and its `why` (ranges, codes, completeness). The schema suite (schema.json) "
                              "runs too."},
            "expectations": expectations}


def source_stub(source_id: str, sniffs: list[FileSniff]) -> str:
    lines = []
    for s in sniffs:
        digest = hashlib.sha256(s.path.read_bytes()).hexdigest()
        lines.append(f"file: {s.name} (sha256 {digest}; TODO: copied byte for byte from where?)")
    lines += ["", "TODO: publisher or repository, path, commit or download date.",
              "license: TODO: the license as stated (quote it).",
              "cite: TODO: how to cite it.",
              "", "TODO: how any extract was made (nothing estimated, values as published?).", "", "Columns: TODO: what "
              "each column read means, with its unit."]
    return "\n".join(lines) + "\n"


@dataclass
class Draft:
    declaration: Path
    suite: Path
    sample: Path
    sniffs: list[FileSniff]

    @property
    def undecided(self) -> list[str]:
        return [f"{s.name}: {u}" for s in self.sniffs for u in s.undecided]


def new_source(source_id: str, files: list[Path], into: Path) -> Draft:
    """Sniff `files` and write the draft source `source_id` under `into` (a project root): the declaration
    `harmonizers/<id>/source.yaml`, the suite `expectations/<id>.json`, and `sample_data/<id>/` with a
    byte-for-byte copy of each file and a SOURCE.txt stub. Refuses an id that exists (ConfigError)."""
    from ercan.declaration import DECLARATION, Declaration

    if not re.fullmatch(r"[a-z][a-z0-9_]*", source_id):
        raise ConfigError(f"source id {source_id!r}: lower-case letters, digits and _, starting with a letter")
    into = Path(into)
    folder = into / "harmonizers" / source_id
    suite_path = into / "expectations" / f"{source_id}.json"
    sample = into / "sample_data" / source_id
    for taken in (folder, into / "harmonizers" / f"{source_id}.py", suite_path):
        if taken.exists():
            raise ConfigError(f"{taken} exists: source {source_id!r} is already there (nothing was written; "
                              "choose another id, or remove it first)")
    files = [Path(f) for f in files]
    if not files:
        raise ConfigError("name the raw file(s) of the new source")
    for f in files:
        if not f.is_file():
            raise ConfigError(f"{f}: no such file")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise ConfigError("two of the files have the same name: landing files are told apart by name")
    for f in files:
        if (sample / f.name).exists() and (sample / f.name).read_bytes() != f.read_bytes():
            raise ConfigError(f"{sample / f.name} exists with other bytes (nothing was written)")
    sniffs = [sniff(f) for f in files]
    text = draft_declaration(source_id, sniffs)
    try:
        Declaration.model_validate(yaml.safe_load(text))
    except Exception as e:  # a draft that does not load is a bug of the sniffer: say so, write nothing
        raise ConfigError(f"the draft declaration for {source_id!r} does not load ({e}); please report it") from None
    folder.mkdir(parents=True)
    (folder / DECLARATION).write_text(text, encoding="utf-8")
    suite_path.parent.mkdir(parents=True, exist_ok=True)
    suite_path.write_text(json.dumps(draft_suite(source_id, sniffs), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    sample.mkdir(parents=True, exist_ok=True)
    for f in files:
        if not (sample / f.name).exists():
            shutil.copyfile(f, sample / f.name)
    if not (sample / "SOURCE.txt").exists():
        (sample / "SOURCE.txt").write_text(source_stub(source_id, sniffs), encoding="utf-8")
    return Draft(folder / DECLARATION, suite_path, sample, sniffs)
