"""fra2020's sheet layout, which no reader option states: a country belongs to the subregion whose
subtotal row follows it, region rows are named (not coded) and some are listed twice, and only some
sheets' region rows are the regions' values (sheets.csv `region_rows`)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ercan.declaration import DECLARATION, load
from ercan.errors import SourceError, did_you_mean
from ercan.readers import LINE, SHEET, column_label, require_columns
from ercan.schema import LAND_CATEGORIES, POOLS

FOLDER = Path(__file__).parent
CODE, NAME, MEMBERS = "ISO3", "Country/region", "Total # of countries"
AREAS = ("area_code", "area_level", "parent_code")
REGION_ROWS = ("reported_aggregate", "dropped")


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    """The country rows with their subregion, and the region rows that are read, with their codes."""
    require_columns(cells, [CODE, NAME, MEMBERS], file=raw.name, role=role)
    rules = _sheet_rules()
    years = _year_columns(role, cells)
    regions = pd.read_csv(FOLDER / "regions.csv", dtype=str, keep_default_na=False).set_index("name")
    kept = []
    for sheet, part in cells.groupby(SHEET, sort=False):
        if sheet not in rules:
            raise SourceError(f"sheet {sheet!r} is not in sheets.csv{did_you_mean(sheet, rules)}", file=raw.name,
                              sheet=sheet, hint="Add what the sheet measures to harmonizers/fra2020/sheets.csv.")
        try:
            kept.append(_areas(part, rules[sheet], years, regions))
        except SourceError as e:
            raise e.located(file=raw.name, sheet=sheet) from None
    read = pd.concat(kept)
    read.attrs = cells.attrs
    return read


def _areas(sheet: pd.DataFrame, region_rows: str, years: dict[str, str], regions: pd.DataFrame) -> pd.DataFrame:
    areas, pending, seen = {}, [], {}
    ordered = sheet.sort_values(LINE)
    for index, row in zip(ordered.index, ordered.to_dict("records")):
        line = int(row[LINE])
        if row[CODE] is not None:
            if region_rows == "reported_aggregate":
                _complete_series(row, years, line)
            areas[index] = [row[CODE], "national", None]
            pending.append(index)
        elif row[NAME] is not None:
            region = _region(sheet, row[NAME], line, regions)
            _check_members(sheet, row, len(pending), line)
            for country in pending:
                areas[country][2] = region[0]
            pending = []
            figures = [row[column] for column in years]
            if region[0] in seen:
                if seen[region[0]] != figures:
                    raise SourceError(f"region {row[NAME]!r} appears twice with different values", row=line,
                                      hint="A repeated region row must repeat the same figures: ingest a "
                                           "corrected workbook from the FRA platform.")
                continue
            seen[region[0]] = figures
            if region_rows == "reported_aggregate":
                areas[index] = region
    if pending:
        raise SourceError(
            f"{len(pending)} country rows after the last subregion row (from {sheet.at[pending[0], CODE]!r}) "
            "belong to no region", row=int(sheet.at[pending[0], LINE]),
            hint="A subtotal row is missing at the end of the sheet: ingest a complete workbook.")
    kept = sheet.loc[list(areas)]
    return kept.assign(**{field: [area[i] for area in areas.values()] for i, field in enumerate(AREAS)})


def _complete_series(row, years: dict[str, str], line: int) -> None:
    """FRA's region rows sum only the countries with every trend year: they are the region's value
    only if no country reports part of the series."""
    missing = [int(year) for column, year in years.items() if row[column] is None]
    if 0 < len(missing) < len(years):
        raise SourceError(
            f"country {row[CODE]!r} reports only part of the series (no value for {missing}), so the region "
            "rows of this sheet leave it out and are not the regions' values", row=line,
            hint="Set region_rows to 'dropped' for this sheet in harmonizers/fra2020/sheets.csv.")


def _region(sheet: pd.DataFrame, name: str, line: int, regions: pd.DataFrame) -> list:
    if name not in regions.index:
        raise SourceError(f"unknown region {name!r}{did_you_mean(name, regions.index)}", row=line,
                          column=column_label(sheet, NAME),
                          hint="Add the region to harmonizers/fra2020/regions.csv if it is new.")
    region = regions.loc[name]
    return [region.area_code, region.area_level, region.parent_code or None]


def _check_members(sheet: pd.DataFrame, row, members: int, line: int) -> None:
    """A subregion's printed country count must match the rows above it: proof the layout is read right."""
    printed = row[MEMBERS]
    if members and printed is not None and printed.isdigit() and int(printed) != members:
        raise SourceError(
            f"subregion {row[NAME]!r} says it has {printed} countries but {members} country rows precede it",
            row=line, column=column_label(sheet, MEMBERS),
            hint="The rows are not in the FRA layout's order: ingest the workbook as published.")


def _year_columns(role: str, cells: pd.DataFrame) -> dict[str, str]:
    """{header: year} of the TREND value columns, as the declaration's values pattern finds them."""
    pattern = load(FOLDER / DECLARATION).inputs[role].values[0].pattern
    return {column: found.group(1) for column in cells.columns if (found := re.fullmatch(pattern, column))}


def _sheet_rules() -> dict[str, str]:
    """{sheet: region_rows} of sheets.csv, whose vocabulary is checked here (the declaration checks
    the variable and the unit): a typo fails naming its row."""
    table = pd.read_csv(FOLDER / "sheets.csv", dtype=str, keep_default_na=False)
    for line, rule in enumerate(table.to_dict("records"), start=2):
        problem = next((f"{field} {rule[field]!r}{did_you_mean(rule[field], known)}" for field, known in
                        (("pool", POOLS), ("land_category", LAND_CATEGORIES), ("region_rows", REGION_ROWS))
                        if (rule[field] or field != "pool") and rule[field] not in known), None)
        if rule["category"] and not re.fullmatch(r"FRA:[a-z_]+", rule["category"]):
            problem = f"category {rule['category']!r} (an FRA category is FRA:<lower_case_name>)"
        if problem:
            raise SourceError(f"unknown {problem}", file="harmonizers/fra2020/sheets.csv", row=line,
                              hint="Correct the crosswalk (harmonizers/fra2020/sheets.csv).")
    return dict(zip(table["sheet"], table["region_rows"]))
