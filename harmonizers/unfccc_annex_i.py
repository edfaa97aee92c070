"""UNFCCC GHG data interface, "Detailed data by Party", Annex I Parties: LULUCF net emissions by CRF
category (sector 4 total, 4.A forest land, 4.A.1, 4.A.2, 4.G harvested wood products), 1990-2019.

Files (the openclimatedata archive of the UNFCCC DI API, generated 5 February 2022; see
sample_data/unfccc_annex_i/SOURCE.txt):

- `lulucf`: "Total GHG emissions with LULUCF___4. Land Use, Land-Use Change and Forestry___Aggregate
  GHGs.json" — rows 4 (sector total), 4.A-4.H.
- `forest_land`: "4. Land Use, Land-Use Change and Forestry___4.A Forest Land___Aggregate GHGs.json"
  — rows 4.A, 4.A.1, 4.A.2.
- `units`: the `units` table of the API's conversion.json (unitId → unit name), shipped as a
  line-for-line extract.
- `parties`: parties.json, the API's Party ids, codes and names, in groups.

Layout of an inventory file (minified JSON): `{"columns": [{id, name}], "data": [{id, name: <Party>,
rows: [{id, name: <CRF category>, unitId, cells: [{column: <column id>, numberValue | stringValue}],
excludeFromChart?}]}], "generated": <date text>}`. A cell holds either `numberValue` (a number) or
`stringValue`, a UNFCCC notation key or a comma-joined set of them (`NO`, `NA`, `NE`, `IE`, `C`;
e.g. `NO,NE,IE`): "not occurring / not applicable / not estimated / included elsewhere /
confidential", which is no value, so no row (never a zero). Any other cell, an unknown column id,
a non-number `numberValue` is an error naming the file, Party, row and column. `excludeFromChart`
and `generated` are display metadata, not read. Category names have a double space after the code
(`4.A  Forest Land`); whitespace is normalised before the crosswalk lookup.

Decisions:

- **Gas: Aggregate GHGs for every category.** The archive has CO₂ and Aggregate GHGs files. The
  Aggregate GHGs series is the Party's whole LULUCF net flux (CO₂ + CH₄ + N₂O, weighted by the
  Party's GWPs, in kt CO₂ equivalent), which is what `net_emissions` means; the CO₂ series is a part
  of it (e.g. Russian Federation 4.A 2018: -635,362 kt CO2e aggregate vs -674,057 kt CO₂, the
  difference being CH₄ and N₂O, e.g. from fires and drained soils). One gas basis for every
  category keeps the categories comparable with each other. 4.G (HWP) is CO₂ only by definition:
  its Aggregate GHGs row equals the CO₂ row to floating-point rounding (all 45 Parties, every year),
  so nothing is lost. The CO₂ series is not kept beside it (it would double count).
  The guard that a file really is Aggregate GHGs (the gas is named in the file name only) is its
  unit: every row must be in a unit listed in `CONFIG.units` (CO₂-equivalent units); a bare mass
  unit (`kt`, as in the CO₂ files) is an error.
- **Categories**: `crosswalks/unfccc_crf_categories.csv` maps the (whitespace-normalised) CRF
  category text to its code (written to `category` as `CRF:<code>`) and IPCC land category, with
  the reason in its `note`. Every row of a file must be in the crosswalk (a renamed category is an
  error); the codes read from each file are `CONFIG.files[*].read` — 4, 4.A and 4.G from `lulucf`,
  4.A.1 and 4.A.2 from `forest_land` — the other rows of `lulucf` (4.B-4.F, 4.H) are outside this
  source's scope and skipped. The sector total and its parts are kept under different `category`
  keys: sum either, never both. 4.A is in both files: it is read from `lulucf`, and `forest_land`'s
  4.A row must repeat it cell for cell (checked; it does in this dump).
  4.A.1 + 4.A.2 is NOT a complete split of 4.A: for 18 Parties and the EU, 4.A is larger (less
  negative) than the sum of its parts in every year, because part of the forest-land emissions is
  reported for 4.A as a whole only — mostly non-CO₂ (Finland 1990: 3.53 Mt CO2e of CH₄/N₂O in 4.A,
  0.03 Mt in 4.A.1 + 4.A.2), for some Parties also CO₂ (the CO₂ files do not add up either for
  Belarus, Canada, Iceland, Latvia (11 years), Lithuania, the USA and the EU). Values are kept as
  reported; 4.A is the forest-land total.
- **Years**: columns named `1990` .. `2018` are those years. `Last Inventory Year (2019)` is 2019
  (there is no `2019` column; were there one, the two would have to agree and the Last Inventory
  Year column would be dropped as a copy). `Base year` is skipped: it is not one calendar year —
  it repeats 1990 for most Parties, but for five EIT Parties it is their Convention base year
  (Bulgaria, Hungary, Poland, Romania, Slovenia: values differ from their 1990 ones). Any other
  column name is an error.
- **Units**: unitId → unit name through the `units` table (140 = "kt CO₂ equivalent"); the name →
  the pint unit of an annual flux in `CONFIG.units` → t CO2e/yr with `to_unit` (× 1000). An unitId
  not in the table, or a name not in `CONFIG.units`, is an error naming the file, Party and row.
  Negative values are removals (sinks), kept with their sign.
- **Parties**: looked up by id in the `Annex I` group of parties.json (the name must match). Its
  code is used when it is an ISO 3166-1 alpha-3 country code (pycountry; all 43 national Parties'
  codes are, and agree with country_converter on the names); a code that is neither that nor a
  declared aggregate is an error. A Party not in parties.json is mapped by name with
  `ercan.areas.iso3_for_names`; a name it does not know is an error.
- **The EU**: `European Union (Convention)` (code EUA) is the EU's own inventory, a REPORTED
  AGGREGATE of its member states, never a country: area_code `EUU` (ISO 3166-1 exceptionally
  reserved code of the EU), area_level `regional`, parent `WORLD`
  (`crosswalks/unfccc_annex_i_aggregates.csv`). Its member states' rows get parent_code `EUU`;
  the member set is `crosswalks/unfccc_annex_i_eu_members.csv`: EU28 (EU27 + GBR), because in this
  dump the EU value equals the sum of the 28 (4.G exactly in every year; sector 4 within 0.26%,
  4.A within 0.09%), while EU27 misses by 1.7-13% (figures in the crosswalk's note). The small
  residuals of 4 and 4.A are probably the EU inventory's geographic scope (the EU territory of the
  member states) differing from some members' Convention submissions. Each run re-checks this
  (`CONFIG.eu_check`): for every category and year the EU reports, the members' national rows
  must add up to it within 0.5% (a member's missing value, a notation key, counts as zero); if not,
  the membership is wrong for the file and the run stops with an error rather than mislink the
  hierarchy. Other Parties' parent_code is empty, as in unfccc_non_annex_i.
  `European Union (KP)` (code EUC, the Kyoto Protocol entity: EU28 + Iceland; 4.G equals their sum
  exactly) is skipped by name with its reason in the aggregates crosswalk: it repeats the EU and
  Iceland and could not be a second parent of the members.

Every value is `reported`; `pool` is empty (net flux over all pools); each row's `snapshot` is the
hash of the inventory file it was read from. What is declarative is `CONFIG` and the three
crosswalks; the code only reads, checks and reshapes.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ercan.areas import iso3_for_names
from ercan.errors import ConfigError, SourceError, did_you_mean
from ercan.harmonize import finish, to_unit
from ercan.schema import AREA_LEVELS, LAND_CATEGORIES, OBSERVATION_KEY, VARIABLE_UNITS
from ercan.sources import Source

SOURCE = Source(
    id="unfccc_annex_i",
    title="UNFCCC GHG inventories of Annex I Parties: LULUCF net emissions by CRF category (4, 4.A, 4.A.1, 4.A.2, 4.G)",
    publisher="UNFCCC (GHG data interface, 'Detailed data by Party'), via openclimatedata",
    license=(
        "UNFCCC terms of use apply (data from the UNFCCC GHG data interface); the openclimatedata "
        "repository has no LICENSE file (.zenodo.json credits Gieseke & Guetschow)"
    ),
    citation=(
        "UNFCCC GHG data interface, Detailed data by Party (Annex I), API dump generated 5 Feb 2022; "
        "openclimatedata/unfccc-detailed-data-by-party@fc42009a, archive/annex-one/*Aggregate GHGs.json "
        "and scripts/api-mappings/{conversion,parties}.json"
    ),
    inputs={
        "lulucf": "unfccc_annex_i/Total GHG emissions with LULUCF___4. Land Use, Land-Use Change and "
        "Forestry___Aggregate GHGs.json",
        "forest_land": "unfccc_annex_i/4. Land Use, Land-Use Change and Forestry___4.A Forest Land___"
        "Aggregate GHGs.json",
        "units": "unfccc_annex_i/conversion-units.json",
        "parties": "unfccc_annex_i/parties.json",
    },
)

CROSSWALKS = Path(__file__).with_name("crosswalks")
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class InventoryFile(BaseModel):
    """One inventory JSON file: its role, the gas it holds and the CRF codes read from it."""

    model_config = _FROZEN

    role: str
    gas: Literal["Aggregate GHGs"]  # named in the file name only; the unit check guards it
    read: tuple[str, ...]  # CRF codes whose rows become observations
    repeats: tuple[str, ...] = ()  # CRF codes read from another file, which this file must repeat


class EUCheck(BaseModel):
    """The reported EU aggregate must equal the sum of its declared members' national rows."""

    model_config = _FROZEN

    aggregate: str
    relative_tolerance: float = Field(gt=0, lt=1)


class Config(BaseModel):
    model_config = _FROZEN

    files: tuple[InventoryFile, ...]
    units_role: str
    parties_role: str
    parties_group: str  # the group of parties.json that lists the Annex I Parties
    year_column: str  # regex with group `year`: a column of that calendar year
    last_year_column: str  # regex with group `year`: the latest inventory year, named differently
    skipped_columns: dict[str, str]  # column name -> why it is not read
    notation_keys: tuple[str, ...]  # a stringValue is a comma-joined set of these: no value
    units: dict[str, str]  # unit name (units table) -> pint unit of the annual flux
    variable: str
    code_system: str
    flag: str
    eu_check: EUCheck

    @model_validator(mode="after")
    def _vocabulary(self):
        if self.variable not in VARIABLE_UNITS:
            raise ValueError(f"unknown variable {self.variable!r}{did_you_mean(self.variable, VARIABLE_UNITS)}")
        read = [code for f in self.files for code in f.read]
        if len(read) != len(set(read)):
            raise ValueError(f"a CRF code is read from two files: {read}")
        for f in self.files:
            if not set(f.repeats) <= set(read) - set(f.read):
                raise ValueError(f"{f.role}: repeats {f.repeats} must be codes read from another file")
        return self


class CategoryMapping(BaseModel):
    model_config = _FROZEN

    category: str
    code: str = Field(pattern=r"^4(?:\.[A-H](?:\.\d+)?)?$")
    land_category: str
    note: str = Field(min_length=1)

    @field_validator("land_category")
    @classmethod
    def _known_land_category(cls, value: str) -> str:
        if value not in LAND_CATEGORIES:
            raise ValueError(f"{value!r} is not one of {LAND_CATEGORIES}")
        return value


class Aggregate(BaseModel):
    """A Party that is not a country: kept as a regional aggregate, or skipped with a reason."""

    model_config = _FROZEN

    party_code: str
    party_name: str
    action: Literal["keep", "skip"]
    area_code: str
    area_level: str
    parent_code: str
    note: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self):
        if self.action == "keep" and (self.area_level not in AREA_LEVELS or not self.area_code or not self.parent_code):
            raise ValueError(f"{self.party_name}: a kept aggregate needs area_code, area_level and parent_code")
        if self.action == "keep" and self.area_level == "national":
            raise ValueError(f"{self.party_name}: an aggregate is never national")
        return self


class Member(BaseModel):
    model_config = _FROZEN

    aggregate: str
    member: str = Field(pattern=r"^[A-Z]{3}$")
    party_name: str
    note: str = Field(min_length=1)


CONFIG = Config(
    files=(
        InventoryFile(role="lulucf", gas="Aggregate GHGs", read=("4", "4.A", "4.G")),
        InventoryFile(role="forest_land", gas="Aggregate GHGs", read=("4.A.1", "4.A.2"), repeats=("4.A",)),
    ),
    units_role="units",
    parties_role="parties",
    parties_group="Annex I",
    year_column=r"^(?P<year>\d{4})$",
    last_year_column=r"^Last Inventory Year \((?P<year>\d{4})\)$",
    skipped_columns={
        "Base year": "not one calendar year: 1990 for most Parties, another (Convention) base year for "
        "Bulgaria, Hungary, Poland, Romania and Slovenia",
    },
    notation_keys=("NO", "NA", "NE", "IE", "C"),
    units={"kt CO₂ equivalent": "kt CO2e/yr"},  # annual inventory flux
    variable="net_emissions",
    code_system="CRF",
    flag="reported",
    eu_check=EUCheck(aggregate="EUU", relative_tolerance=0.005),
)


def _read_crosswalk(name: str) -> list[dict[str, str]]:
    return pd.read_csv(CROSSWALKS / name, dtype=str, keep_default_na=False).to_dict("records")


CATEGORIES = {
    " ".join(row["category"].split()): CategoryMapping(**row) for row in _read_crosswalk("unfccc_crf_categories.csv")
}
AGGREGATES = {row["party_code"]: Aggregate(**row) for row in _read_crosswalk("unfccc_annex_i_aggregates.csv")}
MEMBERS = tuple(Member(**row) for row in _read_crosswalk("unfccc_annex_i_eu_members.csv"))

_ROLES = {CONFIG.units_role, CONFIG.parties_role, *(f.role for f in CONFIG.files)}
if _ROLES != set(SOURCE.inputs):
    raise ConfigError(f"harmonizers/unfccc_annex_i.py: CONFIG roles {sorted(_ROLES)} differ from SOURCE.inputs")
_CODES = {m.code for m in CATEGORIES.values()}
for _f in CONFIG.files:
    if not set(_f.read) | set(_f.repeats) <= _CODES:
        raise ConfigError(
            f"harmonizers/unfccc_annex_i.py: {_f.role} reads codes missing from crosswalks/unfccc_crf_categories.csv"
        )
if {m.aggregate for m in MEMBERS} - {a.area_code for a in AGGREGATES.values() if a.action == "keep"}:
    raise ConfigError(
        "crosswalks/unfccc_annex_i_eu_members.csv names an aggregate not kept in unfccc_annex_i_aggregates.csv"
    )


def harmonize(files) -> pa.Table:
    missing = sorted(_ROLES - set(files))
    if missing:
        raise SourceError(f"no file for role(s) {missing}", hint=f"Ingest the files for roles {sorted(_ROLES)}.")
    units = _units(files[CONFIG.units_role])
    parties = _parties(files[CONFIG.parties_role])
    cells = {f.role: _read_inventory(files[f.role], f, units, parties) for f in CONFIG.files}
    for f in CONFIG.files:
        for code in f.repeats:
            source = next(g for g in CONFIG.files if code in g.read)
            _check_repeat(cells[f.role], cells[source.role], code, files[f.role].name, files[source.role].name)

    kept = pd.concat([c[c["code"].isin(f.read)] for f, c in zip(CONFIG.files, cells.values())], ignore_index=True)
    kept = kept[kept["area_code"].notna()].copy()  # not the skipped aggregates
    if kept.empty:
        raise SourceError(
            "no number in any kept row", file=files[CONFIG.files[0].role].name, hint="Download the files again."
        )
    unit = VARIABLE_UNITS[CONFIG.variable]
    kept["value"] = pd.concat(
        [
            to_unit(part["raw"], from_unit, unit, file=part["file"].iloc[0])
            for (_, from_unit), part in kept.groupby(["file", "from_unit"], sort=False)
        ]
    )
    land = {m.code: m.land_category for m in CATEGORIES.values()}
    out = kept.assign(
        land_category=kept["code"].map(land),
        category=CONFIG.code_system + ":" + kept["code"],
        variable=CONFIG.variable,
        unit=unit,
        flag=CONFIG.flag,
        pool=None,
        year=kept["year"].astype("int32"),
    )
    out["parent_code"] = _eu_parents(out)
    out = out.sort_values(["area_level", "area_code", "category", "year"], kind="stable").reset_index(drop=True)
    key = [c for c in OBSERVATION_KEY if c in out and c != "source"]
    assert not out.duplicated(key).any(), "duplicate observation keys"  # guaranteed by the checks in reading
    return finish(out, SOURCE.id)


# --- reading ------------------------------------------------------------------------------------


def _load(raw) -> object:
    try:
        with raw.open() as f:
            return json.loads(f.read().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SourceError(
            f"is not UTF-8 text (byte {e.start})", file=raw.name, hint="Download the file again."
        ) from None
    except json.JSONDecodeError as e:
        raise SourceError(
            f"is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}",
            file=raw.name,
            hint="Download the file again; it may be cut short.",
        ) from None


def _field(obj, key: str, kind, *, file: str, where: str):
    """obj[key], which must be of `kind`; else an error naming the file and where in it."""
    if not isinstance(obj, dict) or key not in obj:
        raise SourceError(f"{where}: has no {key!r}", file=file, hint="The API layout changed: update the harmonizer.")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SourceError(
            f"{where}: {key!r} is {value!r}, not {getattr(kind, '__name__', kind)}",
            file=file,
            column=key,
            hint="The API layout changed: update the harmonizer.",
        )
    return value


def _units(raw) -> dict[int, str]:
    """unitId -> unit name, from conversion.json's `units` table (or its extract)."""
    table = _field(_load(raw), "units", list, file=raw.name, where="top level")
    units = {}
    for i, entry in enumerate(table):
        where = f"units[{i}]"
        unit_id = _field(entry, "id", int, file=raw.name, where=where)
        if unit_id in units:
            raise SourceError(f"{where}: unit id {unit_id} appears twice", file=raw.name, column="id")
        units[unit_id] = _field(entry, "name", str, file=raw.name, where=where)
    return units


class _Party(BaseModel):
    model_config = _FROZEN

    name: str
    area_code: str | None  # None: an aggregate skipped by name
    area_level: str
    parent_code: str | None


class _PartyTable(BaseModel):
    """The Annex I group of parties.json: Party id -> (code, name)."""

    model_config = _FROZEN

    file: str
    by_id: dict[int, tuple[str, str]]


def _parties(raw) -> _PartyTable:
    groups = _load(raw)
    if not isinstance(groups, list):
        raise SourceError("is not a list of Party groups", file=raw.name, hint="Download parties.json again.")
    names = [g.get("name") for g in groups if isinstance(g, dict)]
    if CONFIG.parties_group not in names:
        raise SourceError(
            f"has no group {CONFIG.parties_group!r}{did_you_mean(CONFIG.parties_group, map(str, names))}",
            file=raw.name,
            hint="Download parties.json again or update CONFIG.parties_group.",
        )
    position = names.index(CONFIG.parties_group)
    found = {}
    for i, party in enumerate(_field(groups[position], "parties", list, file=raw.name, where=f"[{position}]")):
        where = f"[{position}].parties[{i}]"
        party_id = _field(party, "id", int, file=raw.name, where=where)
        found[party_id] = (
            _field(party, "code", str, file=raw.name, where=where),
            _field(party, "name", str, file=raw.name, where=where),
        )
    return _PartyTable(file=raw.name, by_id=found)


def _area(party_id: int, name: str, parties: _PartyTable, *, file: str, where: str) -> _Party:
    """Where a Party sits: a country (ISO3, national), a declared aggregate, or skipped."""
    if party_id in parties.by_id:
        code, listed_name = parties.by_id[party_id]
        if listed_name != name:
            raise SourceError(
                f"{where}: Party id {party_id} is {name!r} here but {listed_name!r} in {parties.file!r}",
                file=file,
                column="name",
                hint="The Party ids changed: download the inventory files and parties.json of the same dump.",
            )
        if code in AGGREGATES:
            return _aggregate(AGGREGATES[code], name)
        if not (re.fullmatch(r"[A-Z]{3}", code) and pycountry.countries.get(alpha_3=code)):
            by_name = iso3_for_names([name]).get(name)
            raise SourceError(
                f"Party {name!r} (id {party_id}) has code {code!r}, which is neither an ISO 3166-1 alpha-3 "
                f"country code nor a declared aggregate{f' (the name reads as {by_name!r})' if by_name else ''}",
                file=parties.file,
                column="code",
                hint="Check the Party; a regional aggregate goes into crosswalks/unfccc_annex_i_aggregates.csv.",
            )
        return _Party(name=name, area_code=code, area_level="national", parent_code=None)
    by_name = {a.party_name: a for a in AGGREGATES.values()}
    if name in by_name:
        return _aggregate(by_name[name], name)
    code = iso3_for_names([name]).get(name)
    if code is None:
        known = [n for _, n in parties.by_id.values()] + list(by_name)
        raise SourceError(
            f"{where}: unknown Party {name!r} (id {party_id}, not in {parties.file!r} and not a country name)"
            f"{did_you_mean(name, known)}",
            file=file,
            column="name",
            hint="Check the Party: use parties.json of the same dump, or add the name to the harmonizer's crosswalks.",
        )
    return _Party(name=name, area_code=code, area_level="national", parent_code=None)


def _aggregate(aggregate: Aggregate, name: str) -> _Party:
    if aggregate.action == "skip":
        return _Party(name=name, area_code=None, area_level="regional", parent_code=None)
    return _Party(
        name=name, area_code=aggregate.area_code, area_level=aggregate.area_level, parent_code=aggregate.parent_code
    )


@cache
def _notation_key() -> re.Pattern:
    key = "|".join(map(re.escape, CONFIG.notation_keys))
    return re.compile(rf"^\s*(?:{key})\s*(?:,\s*(?:{key})\s*)*$")


def _columns(doc, file: str) -> tuple[dict[int, tuple[str, int | None]], dict[int, list[int]]]:
    """Column id -> (name, year), year None for a skipped column; and the years that two columns hold."""
    columns, years = {}, {}
    for i, column in enumerate(_field(doc, "columns", list, file=file, where="top level")):
        where = f"columns[{i}]"
        column_id = _field(column, "id", int, file=file, where=where)
        name = _field(column, "name", str, file=file, where=where)
        if column_id in columns:
            raise SourceError(f"{where}: column id {column_id} appears twice", file=file, column=name)
        if name in CONFIG.skipped_columns:
            columns[column_id] = (name, None)
            continue
        match = re.match(CONFIG.year_column, name) or re.match(CONFIG.last_year_column, name)
        if not match:
            known = [*CONFIG.skipped_columns, "1990", "Last Inventory Year (2019)"]
            raise SourceError(
                f"{where}: unknown column {name!r}{did_you_mean(name, known)}",
                file=file,
                column=name,
                hint="Columns are years, 'Last Inventory Year (YYYY)' or a column declared in CONFIG.skipped_columns.",
            )
        columns[column_id] = (name, int(match["year"]))
        years.setdefault(int(match["year"]), []).append(column_id)
    return columns, {year: ids for year, ids in years.items() if len(ids) > 1}


def _read_inventory(raw, spec: InventoryFile, units: dict[int, str], parties: _PartyTable) -> pd.DataFrame:
    """Every cell of the rows whose code this file reads or repeats, one record each."""
    doc = _load(raw)
    file = raw.name
    columns, twice = _columns(doc, file)
    wanted = set(spec.read) | set(spec.repeats)
    records, seen, areas = [], set(), {}
    for i, party in enumerate(_field(doc, "data", list, file=file, where="top level")):
        where = f"data[{i}]"
        name = _field(party, "name", str, file=file, where=where)
        party_id = _field(party, "id", int, file=file, where=where)
        area = _area(party_id, name, parties, file=file, where=f"party {name!r} ({where})")
        if area.area_code is not None:
            if area.area_code in areas:
                raise SourceError(
                    f"party {name!r} ({where}) and party {areas[area.area_code]!r} are both {area.area_code}",
                    file=file,
                    column="name",
                    hint="Two Parties map to one area: fix parties.json or the harmonizer's crosswalks.",
                )
            areas[area.area_code] = name
        for j, row in enumerate(_field(party, "rows", list, file=file, where=where)):
            row_where = f"{where}.rows[{j}]"
            text = _field(row, "name", str, file=file, where=row_where)
            here = f"party {name!r} ({where}), row {text!r} ({row_where})"
            category = CATEGORIES.get(" ".join(text.split()))
            if category is None:
                raise SourceError(
                    f"{here}: unknown CRF category{did_you_mean(' '.join(text.split()), CATEGORIES)}",
                    file=file,
                    column="name",
                    hint="Add the category to crosswalks/unfccc_crf_categories.csv after checking what it is.",
                )
            if category.code not in wanted:
                continue
            if (name, category.code) in seen:
                raise SourceError(f"{here}: the Party has a second {category.code} row", file=file, column="name")
            seen.add((name, category.code))
            from_unit = _unit(row, units, file=file, here=here)
            filled = set()
            for k, cell in enumerate(_field(row, "cells", list, file=file, where=row_where)):
                column_id = _field(cell, "column", int, file=file, where=f"{row_where}.cells[{k}]")
                if column_id not in columns or column_id in filled:
                    problem = "which `columns` does not list" if column_id not in columns else "a second time"
                    raise SourceError(
                        f"{here}: cell {k} is in column id {column_id}, {problem}",
                        file=file,
                        column="column",
                        hint="The file is inconsistent: download it again.",
                    )
                filled.add(column_id)
                column, year = columns[column_id]
                if year is None:
                    continue
                value = _cell(cell, file=file, here=f"{here}, cell {k}", column=column)
                if value is not None:
                    records.append(
                        {"file": file, "snapshot": raw.sha256, "party": name, "row": text, "code": category.code,
                         "column": column, "year": year, "raw": value, "from_unit": from_unit,
                         "area_code": area.area_code, "area_level": area.area_level, "parent_code": area.parent_code}
                    )
    found = {code for _, code in seen}
    for code in sorted(wanted - found):
        text = next(t for t, m in CATEGORIES.items() if m.code == code)
        raise SourceError(
            f"has no row {text!r} (CRF {code}) for any Party",
            file=file,
            hint="The file is not the one this role expects, or the API layout changed.",
        )
    columns_out = ["file", "snapshot", "party", "row", "code", "column", "year", "raw", "from_unit", "area_code",
                   "area_level", "parent_code"]
    frame = pd.DataFrame(records, columns=columns_out)
    return _drop_copied_years(frame, twice, columns, file)


def _unit(row, units: dict[int, str], *, file: str, here: str) -> str:
    unit_id = row.get("unitId")
    if not isinstance(unit_id, int) or isinstance(unit_id, bool) or unit_id not in units:
        listed = ", ".join(f"{k} {v!r}" for k, v in sorted(units.items()) if v in CONFIG.units)
        raise SourceError(
            f"{here}: unitId {unit_id!r} is not in the units table (the accepted ones: {listed})",
            file=file,
            column="unitId",
            hint="Ingest the units table of the same API dump, or check the row.",
        )
    name = units[unit_id]
    if name not in CONFIG.units:
        raise SourceError(
            f"{here}: unit {name!r} (unitId {unit_id}) is not an accepted unit{did_you_mean(name, CONFIG.units)}; "
            f"the file must hold Aggregate GHGs in CO₂ equivalent",
            file=file,
            column="unitId",
            hint="A bare mass unit means a per-gas file (CO₂, CH₄, N₂O), not Aggregate GHGs: ingest the "
            "Aggregate GHGs file for this role, or declare the unit in CONFIG.units.",
        )
    return CONFIG.units[name]


def _cell(cell: dict, *, file: str, here: str, column: str) -> float | None:
    """A number, or None for a notation key; anything else is an error."""
    if "numberValue" in cell and "stringValue" not in cell:
        number = cell["numberValue"]
        if isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number):
            return float(number)
        problem = f"numberValue {number!r} is not a number"
    elif "stringValue" in cell and "numberValue" not in cell:
        text = cell["stringValue"]
        if isinstance(text, str) and _notation_key().match(text):
            return None
        keys = ", ".join(CONFIG.notation_keys)
        problem = f"stringValue {text!r} is not a notation key ({keys} or a comma-joined set)"
    else:
        problem = f"has {'both' if 'numberValue' in cell else 'neither'} numberValue and stringValue"
    raise SourceError(
        f"{here}: {problem}", file=file, column=column, hint="Fix the cell, or download the file again."
    )


def _drop_copied_years(frame: pd.DataFrame, twice: dict[int, list[int]], columns, file: str) -> pd.DataFrame:
    """A 'Last Inventory Year (YYYY)' column beside a YYYY column: they must agree; the copy is dropped."""
    for year, ids in twice.items():
        names = [columns[i][0] for i in ids]
        plain = [n for n in names if re.match(CONFIG.year_column, n)]
        if len(plain) != 1:
            raise SourceError(f"year {year} is in columns {names}", file=file, column=names[-1])
        copies = frame[(frame["year"] == year) & (frame["column"] != plain[0])]
        originals = frame[(frame["year"] == year) & (frame["column"] == plain[0])]
        merged = copies.merge(originals, on=["party", "code"], how="outer", suffixes=("", "_plain"), indicator=True)
        bad = merged[(merged["_merge"] != "both") | ~np.isclose(merged["raw"], merged["raw_plain"], rtol=1e-9)]
        if len(bad):
            first = bad.iloc[0]
            raise SourceError(
                f"party {first['party']!r}, CRF "
                f"{first['code']}: columns {names} are the same year {year} but disagree",
                file=file,
                column=next(n for n in names if n != plain[0]),
                hint="Check which value belongs to the year.",
            )
        frame = frame.drop(copies.index)
    return frame


# --- checks across files and parties ------------------------------------------------------------


def _check_repeat(copy: pd.DataFrame, source: pd.DataFrame, code: str, copy_file: str, source_file: str) -> None:
    """`copy`'s rows of `code` must repeat `source`'s cell for cell (then reading one loses nothing)."""
    key = ["party", "year"]
    a = copy.loc[copy["code"] == code, [*key, "column", "raw"]]
    b = source.loc[source["code"] == code, [*key, "column", "raw"]]
    joined = a.merge(b, on=key, how="outer", suffixes=("", "_source")).set_index(key)
    bad = joined[~np.isclose(joined["raw"], joined["raw_source"], rtol=1e-9, atol=0, equal_nan=False)]
    if len(bad):
        (party, year), first = bad.index[0], bad.iloc[0]
        raise SourceError(
            f"party {party!r}, CRF {code}, year {year}: reads {first['raw']} here but {first['raw_source']} in "
            f"{source_file!r} (a missing value is nan)",
            file=copy_file,
            column=first["column"] if isinstance(first["column"], str) else first["column_source"],
            hint="The files' copies of a category disagree: ingest files of the same API dump.",
        )


def _eu_parents(out: pd.DataFrame) -> pd.Series:
    """parent_code with the EU members linked to the EU, once the reported EU value is checked to equal
    the sum of its declared members for every category and year it reports."""
    check = CONFIG.eu_check
    members = {m.member for m in MEMBERS if m.aggregate == check.aggregate}
    eu = out[out["area_code"] == check.aggregate]
    if eu.empty:
        return out["parent_code"]
    national = out[out["area_code"].isin(members) & (out["area_level"] == "national")]
    absent = sorted(members - set(national["area_code"]))
    summed = national.groupby(["code", "year"])["value"].sum()
    reported = eu.set_index(["code", "year"])
    bottom_up = summed.reindex(reported.index, fill_value=0.0)
    off = (bottom_up - reported["value"]).abs() > check.relative_tolerance * reported["value"].abs()
    if off.any():
        (code, year), row = off[off].index[0], reported[off].iloc[0]
        value, total = row["value"], bottom_up[(code, year)]
        raise SourceError(
            f"party {row['party']!r}, CRF {code}, year {year}: the EU reports {value:.6g} t CO2e but its "
            f"{len(members)} declared members add up to {total:.6g} ({(total - value) / abs(value):+.2%}; "
            f"tolerance {check.relative_tolerance:.1%}){'; members absent: ' + ', '.join(absent) if absent else ''}",
            file=row["file"],
            column=row["column"],
            hint="The member set of the EU entity differs in this dump: update "
            "crosswalks/unfccc_annex_i_eu_members.csv (with the evidence) so members link to the right aggregate.",
        )
    member = out["area_code"].isin(members) & (out["area_level"] == "national")
    return out["parent_code"].where(~member, check.aggregate)
