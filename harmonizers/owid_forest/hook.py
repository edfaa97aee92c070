"""What owid_forest's declaration cannot say: the units the datapackage states, FAO's periods of the
annual rates, and the aggregates' mislabelled Year-2015 forest area (see `notes` in source.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ercan.declaration import DECLARATION, load
from ercan.errors import SourceError, did_you_mean
from ercan.readers import LINE

DECLARED = load(Path(__file__).with_name(DECLARATION)).inputs["forest"]
# How the datapackage states each unit the declaration reads values in: (owidDisplaySettings.unit,
# conversionFactor), the display value being value x factor.
OWID_UNITS = {"1000 ha": ("hectares", 1000), "1000 ha/yr": ("hectares per year", 1000)}
# OWID Year -> the FAO period (year_start, year_end) of the annual rates filed under it (OWID's README).
PERIODS = {1990: (1990, 2000), 2000: (2000, 2010), 2010: (2010, 2015), 2015: (2015, 2020)}
# The aggregates' forest area at this Year is FRA 2020's area of 2020, not of 2015.
MISLABELLED_AGGREGATE_AREA_YEAR = 2015


def rows(rows: pd.DataFrame, files) -> pd.DataFrame:
    _check_units(files["datapackage"], data_file=files["forest"].name)
    rows = _dated_by_period(rows, file=files["forest"].name)
    mislabelled = ((rows["variable"] == "area") & (rows["area_level"] != "national")
                   & (rows["year"] == MISLABELLED_AGGREGATE_AREA_YEAR))
    return rows[~mislabelled]


def _declared_units() -> dict[str, str]:
    """{column: the unit the declaration reads it in}."""
    return {column: block.set.get("unit", DECLARED.set.get("unit")) for block in DECLARED.values
            for column in block.columns}


def _check_units(raw, *, data_file: str) -> None:
    """The datapackage must describe each column read in the unit the declaration reads it in."""
    try:
        with raw.open() as f:
            package = json.load(f)
        fields = {f["name"]: f for resource in package["resources"] for f in resource["schema"]["fields"]}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise SourceError(
            f"is not an OWID datapackage.json with resources[].schema.fields ({type(e).__name__}: {e})",
            file=raw.name, hint=f"Ingest the datapackage.json of the same commit as {data_file!r}.",
        ) from None
    for column, unit in _declared_units().items():
        if column not in fields:
            raise SourceError(f"field {column!r} is not described{did_you_mean(column, fields)}", file=raw.name,
                              column=column, hint=f"Ingest the datapackage.json of the same commit as {data_file!r}.")
        try:
            settings = json.loads(fields[column].get("owidDisplaySettings") or "{}")
        except (json.JSONDecodeError, TypeError):
            settings = {}
        stated, expected = (settings.get("unit"), settings.get("conversionFactor")), OWID_UNITS.get(unit)
        if stated != expected:
            raise SourceError(
                f"field {column!r} is displayed in {stated[0]!r} with conversionFactor {stated[1]!r}, but the "
                f"declaration reads its values as {unit!r} (expects {expected[0]!r} with conversionFactor "
                f"{expected[1]:g})" if expected else
                f"field {column!r}: the declaration reads it as {unit!r}, which OWID_UNITS in the hook does not know",
                file=raw.name, column=column,
                hint="OWID changed the column's unit: check it and update the column's `unit` under "
                     "inputs.forest.values in harmonizers/owid_forest/source.yaml (and OWID_UNITS in its hook.py).",
            )


def _dated_by_period(rows: pd.DataFrame, *, file: str) -> pd.DataFrame:
    """The annual rates (a unit per year) get their FAO period, with year = its last year."""
    unknown = ~rows["year"].isin(list(PERIODS))
    if unknown.any():
        first = rows[unknown].sort_values(LINE).iloc[0]
        raise SourceError(
            f"Year '{first['year']}' is none of the years OWID files FAO's periods under "
            f"({', '.join(map(str, PERIODS))})", file=file, row=int(first[LINE]), column="Year",
            hint="A new FRA period needs its (year_start, year_end) in PERIODS of harmonizers/owid_forest/hook.py, "
                 "from OWID's README.",
        )
    rate = rows["unit"].str.endswith("/yr")
    start = rows["year"].map(lambda year: PERIODS[year][0])
    end = rows["year"].map(lambda year: PERIODS[year][1])
    return rows.assign(year_start=start.where(rate), year_end=end.where(rate), year=end.where(rate, rows["year"]))
