"""What fra_biomass_calculator's declaration cannot say (see `notes` in source.yaml): where a
calculator sheet's look-up blocks are and what their classes mean (`cells`), and that the seven
workbooks give one set of factors, whose borrowed R/S blocks are the temperate ones (`rows`)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from openpyxl.utils import column_index_from_string, get_column_letter

from ercan.errors import SourceError, did_you_mean
from ercan.readers import LINE, SHEET
from ercan.reference import class_bounds

LABELS_FILE = "fra_biomass_calculator_labels.csv"  # labels in the four languages -> English meanings
LABELS = pd.read_csv(Path(__file__).with_name(LABELS_FILE), dtype=str, keep_default_na=False)
BLOCKS = {"A": "tropical", "E": "subtropical", "I": "temperate", "M": "boreal"}  # each block's first column (Min)
FACTOR_COLUMN = {domain: get_column_letter(column_index_from_string(first) + 2) for first, domain in BLOCKS.items()}  # for errors
MIN_HEADER, MAX_HEADER = "Min", "Max"  # the same in all four languages
OPEN = "+"
OPEN_MAX = 10000.0  # the temperate BCEF block's last Max: no forest holds 10000 m3/ha, it means open
NEXT = "next"  # an empty Max: the next class's Min
NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[+-]?\d+)?")  # a number cell as the reader writes it
REFERENCE_ROLE = "temperate_en"  # the workbook published: every other must give the same factors
# (sheet, domain, forest type) of the blocks copied from BORROWED_FROM, as the sheet's notes say
BORROWED = (("RS Ratio", "tropical", "coniferous"), ("RS Ratio", "subtropical", "coniferous"), ("RS Ratio", "boreal", "broadleaved"))
BORROWED_FROM = "temperate"
BORROWED_REFERENCE = "FRA 2020 biomass calculator: the temperate value, as the IPCC 2006 guidelines give no R/S ratio for it"
KEY = ["parameter", "climatic_domain", "stratum", "condition_min", "condition_max"]


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    """One row per class of every block: domain, forest_type, the class's range and its factor in a
    column named after its sheet (`_column` of the rows), at the class's line."""
    classes = []
    for sheet, grid in cells.groupby(SHEET, sort=False):  # the role's suffix is the workbook's language
        labels = LABELS[(LABELS["sheet"] == sheet) & (LABELS["language"] == role.rsplit("_", 1)[1])]
        for first in BLOCKS:
            try:
                classes += _block(grid, sheet, first, labels)
            except SourceError as e:
                raise e.located(file=raw.name, sheet=sheet) from None
    return pd.DataFrame(classes)


def _block(grid: pd.DataFrame, sheet: str, first: str, labels: pd.DataFrame) -> list[dict]:
    """A domain's tables down the columns from `first`: its label (the sheet's first row), then (label, header, classes)…"""
    letters = [get_column_letter(column_index_from_string(first) + i) for i in range(3)]
    table = grid.set_index(LINE).reindex(columns=letters)

    def row_of(line: int) -> tuple:  # a row the reader left out (empty in the whole sheet) is blank
        return tuple(None if pd.isna(c) else c for c in table.loc[line]) if line in table.index else (None,) * 3

    domain_row, last = table.index[0], table.index[-1]
    domain = _label(row_of(domain_row)[0], domain_row, first, labels, "domain")
    if domain != BLOCKS[first]:
        raise SourceError(f"the block in column {first} is the {domain} domain's, not the {BLOCKS[first]} one", row=domain_row,
                          column=first, hint="If the publisher moved the blocks, update BLOCKS in this source's hook.py.")
    headers, strata = (set(labels["label"][labels["kind"] == kind]) for kind in ("header", "stratum"))
    records, line = [], domain_row + 1
    while line <= last:
        row, below = row_of(line), row_of(line + 1)
        if all(c is None for c in row):
            line += 1
        elif _is_text(row[0]) and below[:2] == (MIN_HEADER, MAX_HEADER) and below[2] in headers:
            stratum = _label(row[0], line, first, labels, "stratum")
            line, classes = _classes(row_of, line + 2, last, letters)
            records += [{"domain": domain, "forest_type": stratum, "condition_min": low, "condition_max": high,
                         sheet: value, LINE: at, SHEET: sheet} for low, high, value, at in classes]
        elif _is_text(row[0]) and row[0] in strata:
            raise SourceError(f"forest type {row[0]!r} is not followed by a '{MIN_HEADER} | {MAX_HEADER} | <factor>' "
                              "header", row=line + 1, column=first, hint="Ingest the workbook with its header rows.")
        elif _is_text(row[0]) and row[1:] == (None, None):
            line += 1  # a line of a note below the tables
        else:
            raise SourceError(f"{list(row)!r} is outside any table (no forest-type label and header above it)",
                              row=line, column=first, hint="Ingest the workbook with the block's label and header rows.")
    if not records:
        raise SourceError(f"the {domain} block has no table", row=domain_row, column=first, hint="Ingest a complete workbook.")
    return records


def _classes(row_of, line: int, last: int, letters: list[str]) -> tuple[int, list[tuple]]:
    """The class rows from `line` to a blank row or a text (the next label): the line after them, the classes."""
    classes = []  # [Min, Max as printed (None: open, NEXT: empty), factor, line]
    while line <= last:
        low, high, value = row_of(line)
        if high is None and value is None and (low is None or _is_text(low)):
            break
        low = _number(low, "Min", line, letters[0])
        high = NEXT if high is None else None if high == OPEN else _number(high, "Max", line, letters[1])
        classes.append([low, None if high == OPEN_MAX else high, _number(value, "the factor", line, letters[2]), line])
        line += 1
    if not classes:
        raise SourceError("a table has no class rows", row=line, column=letters[0], hint="Ingest a complete workbook.")
    for this, following in zip(classes, [*classes[1:], None], strict=True):
        if this[1] is NEXT:  # up to the next class's Min, open for the last
            this[1] = following[0] if following else None
    try:
        bounds = class_bounds([(low, high) for low, high, _, _ in classes])
    except SourceError as e:
        raise e.located(row=classes[0][3], column=letters[0]) from None
    return line, [(*bound, value, at) for bound, (_, _, value, at) in zip(bounds, classes, strict=True)]


def _label(text, line: int, column: str, labels: pd.DataFrame, kind: str) -> str:
    """The English meaning of a domain or forest-type label."""
    known = labels[labels["kind"] == kind].set_index("label")["meaning"]
    if text not in known.index:
        raise SourceError(f"unknown {kind.replace('stratum', 'forest type')} label {text!r}"
                          f"{did_you_mean(str(text), known.index)}", row=line, column=column,
                          hint=f"Add the label, in this workbook's language, to {LABELS_FILE} in the source's folder.")
    return known[text]


def _is_text(cell) -> bool:
    return cell is not None and not NUMBER.fullmatch(cell)


def _number(cell, what: str, line: int, column: str) -> float:
    if cell is None or _is_text(cell):
        raise SourceError(f"{cell!r} is not a number ({what})", row=line, column=column,
                          hint=f"Ingest a workbook whose cell holds a number, or '{OPEN}' for an open class's Max.")
    return float(cell)


def rows(rows: pd.DataFrame, files) -> pd.DataFrame:
    """The published workbook's rows, once every workbook is checked to give the same factors and the
    borrowed blocks the temperate ones; `snapshot` lists the seven files, in the declaration's order."""
    reference = files[REFERENCE_ROLE]
    published = rows[rows["snapshot"] == reference.sha256]
    for raw in files.values():
        _require_same(rows[rows["snapshot"] == raw.sha256], published, file=raw.name, reference_file=reference.name)
    blocks = pd.Series(list(zip(published["_column"], published["climatic_domain"], published["stratum"])),
                       index=published.index)
    for sheet, domain, stratum in BORROWED:
        copy, original = (published[blocks.isin([(sheet, of, stratum)])][["condition_min", "condition_max", "value"]]
                          .reset_index(drop=True) for of in (domain, BORROWED_FROM))
        if copy.empty or not copy.equals(original):
            raise SourceError(f"the {domain} {stratum} ratios should be the {BORROWED_FROM} ones (the sheet's note) "
                              "but differ", file=reference.name, sheet=sheet, hint="Review the block; if the IPCC values were "
                              "filled in, remove it from BORROWED in harmonizers/fra_biomass_calculator/hook.py.")
    borrowed = blocks.isin(BORROWED)
    return published.assign(flag=published["flag"].where(~borrowed, "gap_filled"),
                            reference=published["reference"].where(~borrowed, BORROWED_REFERENCE),
                            snapshot=";".join(dict.fromkeys(rows["snapshot"])))


def _require_same(other: pd.DataFrame, published: pd.DataFrame, *, file: str, reference_file: str) -> None:
    """A workbook (a translation, another domain's) gives the published factors (`_column`: its sheet, see `cells`)."""
    other, published = (f[[*KEY, "value", LINE, "_column"]].rename(columns={LINE: "line", "_column": "sheet"})
                        for f in (other, published))
    both = other.merge(published, on=KEY, how="outer", suffixes=("", "_published"), indicator="side")
    hint = "The workbooks must carry the same look-up tables: ingest corrected ones, or review the labels crosswalk."
    for row in both.itertuples(index=False):
        high = "open" if pd.isna(row.condition_max) else format(row.condition_max, "g")
        what = f"{row.parameter} for {row.climatic_domain} {row.stratum} [{row.condition_min:g}, {high})"
        published_cell = f"{FACTOR_COLUMN[row.climatic_domain]}{row.line_published:.0f}"
        if row.side == "right_only":
            raise SourceError(f"has no {what}, which {reference_file} gives (cell {published_cell})", file=file,
                              sheet=row.sheet_published, hint=hint)
        where = {"file": file, "sheet": row.sheet, "row": int(row.line), "column": FACTOR_COLUMN[row.climatic_domain]}
        if row.side == "left_only":
            raise SourceError(f"gives {what}, which {reference_file} does not", **where, hint=hint)
        if row.value != row.value_published:
            raise SourceError(f"gives {what} = {row.value:g} but {reference_file} gives {row.value_published:g} "
                              f"(cell {published_cell})", **where, hint=hint)
