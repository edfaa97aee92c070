"""What restoration's declaration cannot say: which facts of the hand-assembled file are kept (and
why the others are not), statements of several milestones split into rows, the check that every
transcribed number is printed in the quote, and the stated year (see `notes` in source.yaml).
`cells` returns one row per kept milestone in the fields the declaration maps one to one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ercan.areas import iso3_for_names
from ercan.declaration import DECLARATION, load
from ercan.errors import ConfigError, SourceError, did_you_mean, shown
from ercan.readers import LINE, parse_numbers, read_csv_cells, require_columns
from ercan.schema import AREA_LEVELS, OBSERVATION_KEY, VARIABLE_UNITS
from ercan.units import factor

FOLDER = Path(__file__).parent
ROLE = "facts"
READING = load(FOLDER / DECLARATION).inputs[ROLE].read
SCOPE, METRIC, PRINTED, VALUE, UNIT = "country_or_scope", "metric", "value_as_printed", "value_numeric", "unit"
TARGET_YEAR, STATED, PAGE = "target_year", "as_of_or_stated", "source"
SOURCE_COLUMNS = [SCOPE, METRIC, PRINTED, VALUE, UNIT, TARGET_YEAR, STATED, PAGE]
SEPARATOR = "/"  # several milestones in one statement: "13 / 21", "2020 / 2030"
PLAIN_YEAR = r"^\d{4}$"  # an as_of text that is a year is read as it is
# Printed unit -> a unit text ercan.units reads; other texts go to ercan.units as printed.
UNITS = {"million ha": "1e6 * hectare", "billion ha": "1e9 * hectare"}
SUPERSEDED_FILE = "restoration_superseded.csv"

_SKIP = ""  # the mapped value of a fact that is not kept
_NUMBER_IN_TEXT = re.compile(r"\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_PLUS_MINUS = re.compile(r"±\s*(\d+(?:\.\d+)?)\s*(%?)")


def _crosswalk(name: str) -> pd.DataFrame:
    return pd.read_csv(FOLDER / name, dtype=str, keep_default_na=False)


METRICS = _crosswalk("restoration_metrics.csv").set_index("metric")
SCOPES = _crosswalk("restoration_scopes.csv").set_index("scope")
STATED_YEARS = _crosswalk("restoration_stated_years.csv").set_index("text")
SUPERSEDED = _crosswalk(SUPERSEDED_FILE)


def _check_crosswalks() -> None:
    """The crosswalks' values are the schema's and every skip or supersession has its reason, at load."""
    problems = {
        "restoration_metrics.csv: unknown variable": set(METRICS["variable"]) - {_SKIP, *VARIABLE_UNITS},
        "restoration_metrics.csv: a metric without its `reason`": set(METRICS.index[METRICS["reason"] == ""]),
        "restoration_scopes.csv: unknown area_level": set(SCOPES["area_level"]) - {_SKIP, *AREA_LEVELS},
        "restoration_scopes.csv: give both area_code and area_level, or neither, for":
            set(SCOPES.index[(SCOPES["area_code"] == "") != (SCOPES["area_level"] == "")]),
        "restoration_scopes.csv: a scope without its `note`": set(SCOPES.index[SCOPES["note"] == ""]),
        f"{SUPERSEDED_FILE}: an entry without its `reason`":
            set(SUPERSEDED.loc[SUPERSEDED["reason"] == "", "value_as_printed"]),
    }
    for problem, values in problems.items():
        if values:
            raise ConfigError(f"harmonizers/restoration/{problem} {min(values)!r}")


_check_crosswalks()


def cells(role: str, cells: pd.DataFrame, raw) -> pd.DataFrame:
    facts = classify(cells, raw.name)
    kept = facts[facts.reason.isna()]
    rows = pd.DataFrame([row for _, fact in kept.iterrows() for row in _values(fact, raw.name)])
    _no_duplicate_keys(rows, raw.name)
    return rows


def skipped(files) -> pd.DataFrame:
    """The facts of the file that are not harmonized, with the line (header = 1) and the reason."""
    raw = files[ROLE]
    facts = classify(read(raw), raw.name)
    return facts.loc[facts.reason.notna(), [LINE, SCOPE, METRIC, PRINTED, "reason"]]


def read(raw) -> pd.DataFrame:
    """The facts file's text cells, as the declaration reads them (for `skipped` and the tests)."""
    with raw.open() as f:
        return read_csv_cells(f.read(), READING, file=raw.name, role=ROLE)


def classify(cells: pd.DataFrame, file: str) -> pd.DataFrame:
    """Every fact of the file with its variable, area and stated year, and `reason` (None = kept)."""
    require_columns(cells, SOURCE_COLUMNS, file=file, role=ROLE)
    df = cells[[*SOURCE_COLUMNS, LINE]].fillna("").reset_index(drop=True)
    reason = pd.Series(None, index=df.index, dtype="object")

    def skip(mask, why):
        reason.loc[mask & reason.isna()] = why[mask & reason.isna()] if isinstance(why, pd.Series) else why

    df["variable"] = _mapped(df, METRIC, METRICS["variable"].to_dict(), what="metric", file=file,
                             where="restoration_metrics.csv")
    skip(df.variable == _SKIP, "metric: " + df[METRIC].map(METRICS["reason"]))
    skip(df[VALUE] == "", "no number on the page (value_numeric blank)")
    skip(_superseded(df, file), f"superseded ({SUPERSEDED_FILE})")

    open_ = reason.isna()
    scope = df[SCOPE]
    countries = iso3_for_names(scope[open_ & ~scope.isin(list(SCOPES.index))])
    codes = {**countries, **SCOPES["area_code"].to_dict()}
    df["area_code"] = _mapped(df, SCOPE, codes, what="country or scope name", file=file, only=open_,
                              where="restoration_scopes.csv (a scope that is no country name)")
    skip(open_ & (df.area_code == _SKIP), "scope: " + scope.map(SCOPES["note"]).fillna(""))
    df["area_level"] = scope.map(SCOPES["area_level"]).fillna("national")
    df["parent_code"] = scope.map(SCOPES["parent_code"]).replace("", None)

    open_ = reason.isna()
    stated = df[STATED].where(open_)
    plain = stated.str.match(PLAIN_YEAR).fillna(False).astype(bool)
    mapped = _mapped(df, STATED, STATED_YEARS["year"].to_dict(), what="date text", file=file, only=open_ & ~plain,
                     where="restoration_stated_years.csv")
    df["year"] = stated.where(plain, mapped)
    skip(open_ & (df.year == ""), "no date printed: no year the fact refers to")
    df["reason"] = reason
    return df


def _mapped(df: pd.DataFrame, column: str, mapping: dict, *, what: str, file: str, where: str,
            only: pd.Series | None = None) -> pd.Series:
    """The column (its rows `only`) through a reviewed mapping; an unmapped value is an error at its line."""
    values = df[column] if only is None else df[column].where(only)
    mapped = values.map(mapping)
    missing = mapped.isna() & values.notna()
    if missing.any():
        at = missing.to_numpy().argmax()
        value = values.iloc[at]
        raise SourceError(
            f"unknown {what} {shown(value)}{did_you_mean(value, mapping)}", file=file, row=int(df[LINE].iloc[at]),
            column=column, hint=f"After checking what it is, add it to {where} in harmonizers/restoration/.",
        )
    return mapped


def _superseded(df: pd.DataFrame, file: str) -> pd.Series:
    """Rows named in restoration_superseded.csv; each entry must match exactly one row."""
    mask = pd.Series(False, index=df.index)
    for entry in SUPERSEDED.itertuples():
        match = ((df[PAGE] == entry.source) & (df[SCOPE] == entry.country_or_scope) & (df[METRIC] == entry.metric)
                 & (df[PRINTED] == entry.value_as_printed))
        if match.sum() != 1:
            raise SourceError(
                f"the superseded fact ({entry.country_or_scope!r}, {entry.metric!r}, {entry.value_as_printed!r}) "
                f"matches {int(match.sum())} rows, not 1",
                file=file, hint=f"The file changed: review harmonizers/restoration/{SUPERSEDED_FILE} against it.",
            )
        mask |= match
    return mask


def _values(fact: pd.Series, file: str) -> list[dict]:
    """The rows of one kept fact: one per milestone, with the stated and target years."""
    line = int(fact[LINE])
    parts = [p.strip() for p in fact[VALUE].split(SEPARATOR)]
    targets = [t.strip() for t in fact[TARGET_YEAR].split(SEPARATOR)] if fact[TARGET_YEAR] else []
    if targets and len(targets) != len(parts):
        raise SourceError(
            f"{len(parts)} value(s) in {VALUE!r} but {len(targets)} target year(s) {fact[TARGET_YEAR]!r}",
            file=file, row=line, column=TARGET_YEAR,
            hint=f"Give one target year per value, joined by ' {SEPARATOR} ', or none.",
        )
    printed = fact[PRINTED]
    printed_numbers = {float(n) for n in _NUMBER_IN_TEXT.findall(_THOUSANDS.sub("", printed))}
    unit = UNITS.get(fact[UNIT], fact[UNIT])
    try:
        factor(unit, VARIABLE_UNITS[fact.variable])
    except SourceError as e:
        raise e.located(file=file, row=line, column=UNIT) from None
    rows = []
    for i, part in enumerate(parts):
        number = _number(part, file=file, row=line, column=VALUE)
        if number not in printed_numbers:
            raise SourceError(
                f"{part!r} is not among the numbers printed in {PRINTED!r} ({printed!r})",
                file=file, row=line, column=VALUE, hint="Check the transcription of the page's figure.",
            )
        target = _number(targets[i], file=file, row=line, column=TARGET_YEAR, year=True) if targets else None
        uncertainty = _uncertainty(printed, number, len(parts), file=file, row=line)
        rows.append({
            LINE: line, "area_code": fact.area_code, "area_level": fact.area_level, "parent_code": fact.parent_code,
            "year": fact.year, "year_start": fact.year if target is not None else None,
            "year_end": None if target is None else str(int(target)), "variable": fact.variable,
            "value": repr(number), "unit": unit, "uncertainty": None if uncertainty is None else repr(uncertainty),
        })
    return rows


def _number(text: str, *, file: str, row: int, column: str, year: bool = False) -> float:
    number = parse_numbers(pd.Series([text]), pd.Series([row]), "none", file=file, column=column, role=ROLE).iloc[0]
    if pd.isna(number) or (year and not re.fullmatch(PLAIN_YEAR, text)):
        raise SourceError(
            f"{text!r} is not {'a year' if year else 'a number'}", file=file, row=row, column=column,
            hint="Write a plain number (a 4-digit year for a target year).",
        )
    return float(number)


def _uncertainty(printed: str, number: float, parts: int, *, file: str, row: int) -> float | None:
    """A "± x" (or "± x%") printed with the value, as a fraction of it."""
    found = _PLUS_MINUS.findall(_THOUSANDS.sub("", printed))
    if not found:
        return None
    if len(found) != 1 or parts != 1:
        raise SourceError(
            f"cannot tell which value the ± of {printed!r} belongs to", file=file, row=row, column=PRINTED,
            hint="Split the fact into one row per value.",
        )
    half_width, percent = found[0]
    return float(half_width) / 100 if percent else float(half_width) / number


def _no_duplicate_keys(rows: pd.DataFrame, file: str) -> None:
    """Two kept facts with the same observation key: an error naming both lines."""
    key = [c for c in OBSERVATION_KEY if c in rows.columns]
    repeated = rows.duplicated(subset=key, keep="first").to_numpy()
    if repeated.any():
        position = int(np.flatnonzero(repeated)[0])
        filled = rows[key].fillna("")  # the cells are text: an empty one matches another empty one
        first = int(np.flatnonzero((filled == filled.iloc[position]).all(axis=1).to_numpy())[0])
        raise SourceError(
            f"states the same observation ({rows.area_code.iloc[position]}, {rows.year.iloc[position]}, "
            f"{rows.variable.iloc[position]}) as row {rows[LINE].iloc[first]}",
            file=file, row=int(rows[LINE].iloc[position]), column=SCOPE,
            hint=f"Keep one: list the other in harmonizers/restoration/{SUPERSEDED_FILE} with the reason.",
        )
