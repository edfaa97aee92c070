"""Restoration commitments and reported restored area: single facts read from public web pages.

Layout: one CSV, `restoration_pledges_facts.csv`, one row per fact read on one web page:
`initiative, country_or_scope, metric, value_as_printed, value_numeric, unit, target_year,
as_of_or_stated, source, note`. `value_as_printed` is the page's text, `value_numeric` the number
in it without words (blank where the page gave none or printed a wrong unit), `unit` the unit of
`value_numeric`, `source` the page address. The file was assembled by hand from stored copies of
pages of varying age, so figures for the same thing differ between pages (AFR100 111 / 113 Mha;
Bonn Challenge 150.03 / 170.63 / 210 Mha): each is kept as the fact of its date, none is "the"
value. `initiative` and `note` are not read (the note's caveats are in this docstring).

Variables (`crosswalks/restoration_metrics.csv`, metric text → variable or a reason to skip):
- pledges, commitments and pledged totals → `restoration_commitment` (ha);
- area reported as brought into / under restoration or restored → `restoration_area` (ha, the
  area under restoration at the date: a stock, so no period even where a start is printed —
  "since 2011", "since 2014");
- no fact in the file is a degraded area, so there is no `degraded_area` row (a ROAM
  "restoration opportunity" is the area where restoration is possible, not a measured degraded
  area; see below).
A metric text not in the crosswalk is an error naming the file, row and column `metric`.

Units: `unit` as printed, converted with ercan.units to ha. `million ha` and `billion ha` are not
spellings ercan.units knows; `LAYOUT.units` maps them to `1e6 * hectare` and `1e9 * hectare`
(pint expressions ercan.units reads). Any other unit text is handed to ercan.units as printed
(`ha`, `Mha`, `km2`, `万公顷` convert); a unit that is not an area is an error naming the row and
column `unit`.

Numbers: `value_numeric` must be a plain number, or several joined by ` / ` when one statement
gives several milestones ("13 / 21" with target_year "2020 / 2030": India, Aug 2018 → two rows);
the counts must match. Every number must be one of the numbers printed in `value_as_printed`
(thousands separators removed) — a check that the transcription and the quote agree; a mismatch
is an error. Qualifiers are printed but not encoded: "more than", "over", "at least" (lower
bounds), "up to" (upper bound), "approximately", "close to", "nearly" — the value is the printed
figure, flag `reported`. An uncertainty printed as "± x" (or "± x%") is kept as x / value (or
x/100) in `uncertainty`, taken as the 95% half-width as printed (pages do not state the level);
none is printed in the shipped file.

Areas: `country_or_scope` → `crosswalks/restoration_scopes.csv` first (Global → `WORLD`; Africa
(AFR100) → `M49:002`; Latin America & Caribbean (Initiative 20x20) and Bonn's "Latin America" →
`M49:419`, parent `M49:019`; all `regional`, reported aggregates), else country names through
ercan.areas.iso3_for_names (national, no parent). country_converter reads the pledger-qualified
names to the country: "United States (USDA Forest Service)" → USA (a federal agency's pledge),
"Brazil (Mata Atlantica Forest Restoration Pact)" → BRA (a coalition's pledge for the Atlantic
Forest, Brazil's Bonn Challenge entry of 2012 — not a national government pledge), "Democratic
Republic of (the) Congo" → COD, "Tanzania" → TZA, "Sudan" → SDN. An unknown name is an error with
the closest known name.

Years (the decision): `year` is the year the fact was stated — pledged, tallied or reported
(`as_of_or_stated` → `crosswalks/restoration_stated_years.csv`; a plain 4-digit year is read as
it is; an unknown text is an error). For a commitment with a printed target year, `year_start` =
the year pledged or, where the pledge year is not printed, stated (= `year`) and `year_end` = the
target year; without a target year both are empty (a tally at a date). Why the stated year and
not the target year: every row is a statement made at a date, and commitments are restated (India
26 Mha by 2030 in 2015, 13 Mha by 2020 and 21 Mha by 2030 in 2018; DRC 8 Mha "by 2030" in 2015,
"by 2020" in 2017): by stated year they form a time series with distinct keys, and tallies with
and without a target mean the same thing in `year`; the target is kept in `year_end`. A fact with
no printed date has no year and is skipped — a year is not invented (the Bonn Challenge counter's
170.63 Mha among them).

Every row: `land_category` `all` (forest landscape restoration spans forest, agroforestry and
cropland), flag `reported`, no pool, no category, `snapshot` = the file's hash. Two kept facts
with the same observation key are an error naming both rows; the one such pair in the shipped
file is resolved in `crosswalks/restoration_superseded.csv` (an entry must match exactly one row).

Facts kept (37 rows from 36 lines): restoration_commitment — WORLD 2013 / 2017 / 2019; USA (2012,
by 2020); RWA 2012 and (2015, by 2030); BRA, CRI, SLV 2012; IND (2015, by 2030), (2018, by 2020),
(2018, by 2030); MWI 2016 and 2017; CHL (2015, by 2020); M49:419 2019, 2020, (2021, by 2030); COD
(2015, by 2030) and (2017, by 2020); MDG 2017; MOZ (2017, by 2030); M49:002 2015, 2017, 2018; BFA,
SDN, TGO, TZA 2018; ETH, LBR, NER, UGA (2015, by 2030). restoration_area — NER 2017, IND 2018,
USA 2019, SLV 2019.

Facts skipped (line of the shipped file, header = line 1: why; `skipped(files)` lists them):
- the metric is not in the vocabulary, or not the variable it seems (reasons in
  restoration_metrics.csv): 2, 3, 35, 63 initiative goals (Bonn 150 Mha by 2020 and 350 Mha by
  2030; AFR100 100 Mha by 2030; Initiative 20x20 20 / 50 Mha by 2020 / 2030); 5 climate benefit
  (15.66 GtCO2); 6, 56, 68 money (48,424 million USD; $1 billion + $540 million; $2.5 billion);
  7, 8 pledges added at one COP (an increment, not a tally); 21 India's pre-pledge declaration of
  intent (10 million); 26 Malawi's ROAM restoration opportunity (7.7 Mha); 29 a "pipeline" (20
  million); 36 a count of countries (34); 60 commitments as % of target (127.77 %); 67 area
  "protected / begun restoration" (22.6 Mha, two-thirds new conservation areas);
- no number on the page: 11 "168 hectares" (evidently 168 million; the unit is wrong at source,
  value_numeric is blank, and it is not corrected here); 51, 52, 53, 54 Kenya, Madagascar, Malawi, Togo
  "committed, but finalizing hectare target";
- no date printed: 4 Bonn 170.63 Mha (the commitments page's counter); 12 Bonn "over 170 million
  hectares (59 countries)"; 37 AFR100 113 Mha (WRI page); 43 Zimbabwe 2 Mha and 44 Cameroon 12 Mha
  ("Year Committed" blank); 59 AFR100 63.3 Mha by 2030 ("earlier stage"); 61 AFR100 113 Mha
  (Wikipedia); 65 Initiative 20x20 "more than 52 million hectares" by 2030; 69 all restoration
  commitments, close to 1 billion ha in 115 countries (FAO);
- no area code: 30 SADC region 17.5 Mha (= the four country pledges of lines 31-34, kept);
- superseded (restoration_superseded.csv): 62 AFR100 >75 Mha (18 May 2017) gives way to >80 Mha
  (Sep/Oct 2017, line 57) for Africa 2017.
Secondary sources are kept as reported and named here: lines 45-50 (a blog listing the AFR100
launch commitments), line 22 (an exam-prep site: India 26 Mha by 2030).
Oddities of the pages, kept as printed: Chile's page says 0.5 Mha by 2020 (2015) in its header and
0.1 Mha (2014) in its text (line 27: 0.5 is kept); DRC's target year differs between the AFR100
launch (2030, line 45) and the SADC report (2020, line 31).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ercan.areas import iso3_for_names
from ercan.errors import ConfigError, SourceError
from ercan.harmonize import finish, input_file, map_codes, parse_numbers, read_csv, require_columns, to_unit
from ercan.schema import AREA_LEVELS, FLAGS, LAND_CATEGORIES, OBSERVATION_KEY, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="restoration",
    title="Restoration commitments and reported restored area (Bonn Challenge, AFR100, Initiative 20x20): single facts",
    publisher=(
        "Bonn Challenge / IUCN, AFR100 / WRI, Initiative 20x20, FAO, Global Landscapes Forum and others: "
        "one public web page per fact (named in the file's `source` column)"
    ),
    license=(
        "none stated in the excerpts of the web pages (IUCN / WRI / AFR100 / Bonn Challenge sites); "
        "Wikipedia text is CC BY-SA 4.0"
    ),
    citation=(
        "restoration_pledges_facts.csv: facts read one by one from stored copies of public web pages "
        "(Bonn Challenge, AFR100, Initiative 20x20, IUCN, WRI, FAO, Global Landscapes Forum, Wikipedia); "
        "each row names its page"
    ),
    inputs={"facts": "restoration/restoration_pledges_facts.csv"},
)

CROSSWALKS = Path(__file__).with_name("crosswalks")


class Layout(BaseModel):
    """The columns of the facts file and how their cells are written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = "facts"
    scope: str = "country_or_scope"
    metric: str = "metric"
    printed: str = "value_as_printed"
    value: str = "value_numeric"
    unit: str = "unit"
    target_year: str = "target_year"
    stated: str = "as_of_or_stated"
    page: str = "source"
    separator: str = "/"  # several milestones in one statement: "13 / 21", "2020 / 2030"
    plain_year: str = r"^\d{4}$"  # an as_of text that is a year is read as it is
    # Printed unit → a unit text ercan.units reads; other texts go to ercan.units as printed.
    units: dict[str, str] = {"million ha": "1e6 * hectare", "billion ha": "1e9 * hectare"}
    land_category: str = "all"
    flag: str = "reported"

    @model_validator(mode="after")
    def _vocabularies(self):
        if self.land_category not in LAND_CATEGORIES or self.flag not in FLAGS:
            raise ValueError("land_category or flag outside the schema's vocabulary")
        return self


class MetricMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    variable: str | None  # None: the fact is skipped, for `reason`
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _known(self):
        if self.variable is not None and self.variable not in VARIABLE_UNITS:
            raise ValueError(f"{self.metric!r}: unknown variable {self.variable!r}")
        return self


class ScopeMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: str
    area_code: str | None  # None: facts of this scope are skipped, for `note`
    area_level: str | None
    parent_code: str | None
    note: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self):
        if (self.area_code is None) != (self.area_level is None):
            raise ValueError(f"{self.scope!r}: give both area_code and area_level, or neither")
        if self.area_level is not None and self.area_level not in AREA_LEVELS:
            raise ValueError(f"{self.scope!r}: unknown area level {self.area_level!r}")
        return self


class StatedYear(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    year: int | None  # None: no date printed, the fact is skipped
    note: str | None


class Superseded(BaseModel):
    """A fact that gives way to another with the same observation key (matched on four cells)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    country_or_scope: str
    metric: str
    value_as_printed: str
    reason: str = Field(min_length=1)


def _crosswalk(name: str, model):
    rows = pd.read_csv(CROSSWALKS / name, dtype=str, keep_default_na=False).to_dict("records")
    return [model(**{k: (v if v != "" or k in ("text",) else None) for k, v in row.items()}) for row in rows]


LAYOUT = Layout()
METRICS = {m.metric: m for m in _crosswalk("restoration_metrics.csv", MetricMapping)}
SCOPES = {s.scope: s for s in _crosswalk("restoration_scopes.csv", ScopeMapping)}
STATED_YEARS = {s.text: s for s in _crosswalk("restoration_stated_years.csv", StatedYear)}
SUPERSEDED = _crosswalk("restoration_superseded.csv", Superseded)

if {LAYOUT.role} != set(SOURCE.inputs):
    raise ConfigError("harmonizers/restoration.py: LAYOUT.role differs from SOURCE.inputs")

_SKIP = ""  # the mapped value of a fact that is not kept
_NUMBER_IN_TEXT = re.compile(r"\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_PLUS_MINUS = re.compile(r"±\s*(\d+(?:\.\d+)?)\s*(%?)")


def harmonize(files) -> pa.Table:
    raw = input_file(files, LAYOUT.role)
    facts = classify(raw)
    kept = facts[facts.reason.isna()]
    rows = pd.DataFrame([row for _, fact in kept.iterrows() for row in _values(fact, raw.name)])
    _no_duplicate_keys(rows, raw.name)
    rows = rows.drop(columns=["line"]).assign(
        snapshot=raw.sha256, land_category=LAYOUT.land_category, pool=None, flag=LAYOUT.flag
    )
    return finish(rows, SOURCE.id)


def skipped(files) -> pd.DataFrame:
    """The facts of the file that are not harmonized, with the line (header = 1) and the reason."""
    facts = classify(input_file(files, LAYOUT.role))
    return facts.loc[facts.reason.notna(), ["line", LAYOUT.scope, LAYOUT.metric, LAYOUT.printed, "reason"]]


def classify(raw) -> pd.DataFrame:
    """Every fact of the file with its variable, area and stated year, and `reason` (None = kept)."""
    df = read_csv(raw)
    required = [LAYOUT.scope, LAYOUT.metric, LAYOUT.printed, LAYOUT.value, LAYOUT.unit, LAYOUT.target_year,
                LAYOUT.stated, LAYOUT.page]
    require_columns(df, required, file=raw.name)
    if df.empty:
        raise SourceError("has a header but no data rows", file=raw.name, hint="Fetch the file again.")
    df = df[required].apply(lambda column: column.str.strip())
    df["line"] = range(2, len(df) + 2)
    reason = pd.Series(None, index=df.index, dtype="object")

    def skip(mask, why):
        reason.loc[mask & reason.isna()] = why[mask & reason.isna()] if isinstance(why, pd.Series) else why

    metric_map = {m.metric: (m.variable or _SKIP) for m in METRICS.values()}
    df["variable"] = map_codes(df[LAYOUT.metric], metric_map, what="metric", file=raw.name, column=LAYOUT.metric)
    skip(df.variable == _SKIP, "metric: " + df[LAYOUT.metric].map(lambda m: METRICS[m].reason))
    skip(df[LAYOUT.value] == "", "no number on the page (value_numeric blank)")
    skip(_superseded(df, raw.name), "superseded (crosswalks/restoration_superseded.csv)")

    open_ = reason.isna()
    scope = df[LAYOUT.scope]
    countries = iso3_for_names(scope[open_ & ~scope.isin(list(SCOPES))])
    codes = {**countries, **{name: (m.area_code or _SKIP) for name, m in SCOPES.items()}}
    df["area_code"] = map_codes(
        scope.where(open_), codes, what="country or scope name", file=raw.name, column=LAYOUT.scope
    )
    skip(open_ & (df.area_code == _SKIP), "scope: " + scope.map(lambda s: SCOPES[s].note if s in SCOPES else ""))
    df["area_level"] = [SCOPES[s].area_level if s in SCOPES else "national" for s in scope]
    df["parent_code"] = [SCOPES[s].parent_code if s in SCOPES else None for s in scope]

    open_ = reason.isna()
    stated = df[LAYOUT.stated].where(open_)
    plain = stated.str.match(LAYOUT.plain_year).fillna(False).astype(bool)
    years = {t: ("" if s.year is None else str(s.year)) for t, s in STATED_YEARS.items()}
    mapped = map_codes(stated.where(~plain), years, what="date text", file=raw.name, column=LAYOUT.stated)
    df["year"] = stated.where(plain, mapped)
    skip(open_ & (df.year == ""), "no date printed: no year the fact refers to")
    df["reason"] = reason
    return df


def _superseded(df: pd.DataFrame, file: str) -> pd.Series:
    """Rows named in restoration_superseded.csv; each entry must match exactly one row."""
    mask = pd.Series(False, index=df.index)
    for entry in SUPERSEDED:
        match = (
            (df[LAYOUT.page] == entry.source)
            & (df[LAYOUT.scope] == entry.country_or_scope)
            & (df[LAYOUT.metric] == entry.metric)
            & (df[LAYOUT.printed] == entry.value_as_printed)
        )
        if match.sum() != 1:
            raise SourceError(
                f"the superseded fact ({entry.country_or_scope!r}, {entry.metric!r}, {entry.value_as_printed!r}) "
                f"matches {int(match.sum())} rows, not 1",
                file=file,
                hint="The file changed: review harmonizers/crosswalks/restoration_superseded.csv against it.",
            )
        mask |= match
    return mask


def _values(fact: pd.Series, file: str) -> list[dict]:
    """The rows of one kept fact: one per milestone, in ha, with the stated and target years."""
    line = int(fact.line)
    parts = [p.strip() for p in fact[LAYOUT.value].split(LAYOUT.separator)]
    targets = [t.strip() for t in fact[LAYOUT.target_year].split(LAYOUT.separator)] if fact[LAYOUT.target_year] else []
    if targets and len(targets) != len(parts):
        raise SourceError(
            f"{len(parts)} value(s) in {LAYOUT.value!r} but {len(targets)} target year(s) {fact[LAYOUT.target_year]!r}",
            file=file,
            row=line,
            column=LAYOUT.target_year,
            hint=f"Give one target year per value, joined by ' {LAYOUT.separator} ', or none.",
        )
    printed = fact[LAYOUT.printed]
    printed_numbers = {float(n) for n in _NUMBER_IN_TEXT.findall(_THOUSANDS.sub("", printed))}
    unit_text = LAYOUT.units.get(fact[LAYOUT.unit], fact[LAYOUT.unit])
    canonical = VARIABLE_UNITS[fact.variable]
    year = int(fact.year)
    rows = []
    for i, part in enumerate(parts):
        number = _number(part, file=file, row=line, column=LAYOUT.value)
        if number not in printed_numbers:
            raise SourceError(
                f"{part!r} is not among the numbers printed in {LAYOUT.printed!r} ({printed!r})",
                file=file,
                row=line,
                column=LAYOUT.value,
                hint="Check the transcription of the page's figure.",
            )
        try:
            value = float(to_unit(pd.Series([number]), unit_text, canonical, file=file).iloc[0])
        except SourceError as e:
            raise e.located(row=line, column=LAYOUT.unit) from None
        target = None
        if targets:
            target = int(_number(targets[i], file=file, row=line, column=LAYOUT.target_year, year=True))
        rows.append(
            {
                "line": line,
                "area_code": fact.area_code,
                "area_level": fact.area_level,
                "parent_code": fact.parent_code,
                "year": year,
                "year_start": year if target is not None else None,
                "year_end": target,
                "variable": fact.variable,
                "value": value,
                "unit": canonical,
                "uncertainty": _uncertainty(printed, number, len(parts), file=file, row=line),
            }
        )
    return rows


def _number(text: str, *, file: str, row: int, column: str, year: bool = False) -> float:
    number = parse_numbers(pd.Series([text]), file=file, column=column, first_row=row).iloc[0]
    if pd.isna(number) or (year and not re.fullmatch(LAYOUT.plain_year, text)):
        raise SourceError(
            f"{text!r} is not {'a year' if year else 'a number'}",
            file=file,
            row=row,
            column=column,
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
            f"cannot tell which value the ± of {printed!r} belongs to",
            file=file,
            row=row,
            column=LAYOUT.printed,
            hint="Split the fact into one row per value.",
        )
    half_width, percent = found[0]
    return float(half_width) / 100 if percent else float(half_width) / number


def _no_duplicate_keys(rows: pd.DataFrame, file: str) -> None:
    key = [c for c in OBSERVATION_KEY if c in rows.columns]
    repeated = rows.duplicated(subset=key, keep="first").to_numpy()
    if repeated.any():
        position = int(np.flatnonzero(repeated)[0])
        filled = rows[key].fillna(-1)
        first = int(np.flatnonzero((filled == filled.iloc[position]).all(axis=1).to_numpy())[0])
        raise SourceError(
            f"states the same observation ({rows.area_code.iloc[position]}, {rows.year.iloc[position]}, "
            f"{rows.variable.iloc[position]}) as row {rows.line.iloc[first]}",
            file=file,
            row=int(rows.line.iloc[position]),
            column=LAYOUT.scope,
            hint="Keep one: list the other in harmonizers/crosswalks/restoration_superseded.csv with the reason.",
        )
