"""A source as a declaration: `harmonizers/<id>/source.yaml`, read by the layout readers.

The declaration holds the provenance and, per input role, how the file is read (`Reading`), which
of its columns carry which schema field (`columns`), which carry values (`values`: one block for a
long table, a block per series or a header pattern for a wide one), constants (`set`) and rows to
drop with their reason and expected count. Crosswalks and an optional `hook.py` sit beside it in
the source's own folder and are part of its cache key only. Every model forbids unknown keys, so a
typo fails at load naming the file and the key (docs/adding_a_source.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ercan import classes, companions, lookups, periods, readers, reference, rounds, row_rules, schema
from ercan.accounting.reconcile import Comparison
from ercan.errors import ConfigError, SourceError, did_you_mean, shown
from ercan.harmonize import finish
from ercan.readers import LINE, declared_hint
from ercan.rounds import Rounds
from ercan.units import convert, factor

DECLARATION = "source.yaml"
SHARED_CROSSWALKS = Path(__file__).resolve().parent.parent / "harmonizers" / "crosswalks"
HOOK = "hook.py"
LAYOUT_HEAD = 1 << 20  # bytes of a CSV read to check that a file has its input's layout


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reading(_Model):
    """How the raw text is read (ercan.readers)."""

    # `hook`: a companion file (a datapackage.json stating units) landed with the others and read
    # only by the source's hook (`rows(rows, files)`), never by a reader; `companion`: a metadata file
    # another input's key reads (`units_stated_by`)
    format: Literal["csv", "xlsx", "json", "hook", "companion"] = "csv"
    records: str | None = None  # json: dotted path to the list of records (None: the document is the list)
    flatten: tuple[str, ...] = ()  # json: keys of nested lists, outermost first: a row per innermost item
    # json: a field holding ids of the items of another list of the document reads as the item's name
    # ({rows.cells.column: {list: columns}}: a cell names its column by the id the `columns` list names)
    ids: dict[str, JsonIds] = Field(default_factory=dict)
    one_of: tuple[str, ...] = ()  # json: fields of which each innermost item holds exactly one (a typed cell)
    types: dict[str, Literal["number", "text"]] = Field(default_factory=dict)  # json: a field's type where present
    sheet: str | None = None  # xlsx: the sheet read
    sheets: tuple[str, ...] = ()  # xlsx: sheets of one layout read as one table (`_sheet` holds each row's)
    skip_sheets: dict[str, str] = Field(default_factory=dict)  # xlsx: sheet -> why it is not read
    skip_columns: dict[str, str] = Field(default_factory=dict)  # xlsx: header -> why its cells are not read
    # xlsx: `letter` names a column with values but no header by its letter (J) rather than refusing it
    unnamed_columns: Literal["error", "letter"] = "error"
    formula_flag: str | None = None  # xlsx: the flag of a value whose cell is a formula (the others keep theirs)
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    comment: str | None = None  # lines starting with it are skipped (a preamble, notes)
    skip_rows: int = Field(0, ge=0)  # lines before the header (a title)
    header_rows: int = Field(1, ge=1)
    footer_rows: int = Field(0, ge=0)
    na: tuple[str, ...] = ()  # cells that mean "no value" (besides an empty cell)
    na_pattern: str | None = None  # a regex: whole cells matching it mean "no value" (e.g. notation keys)
    digit_grouping: Literal["none", "thousands", "lakh", "european", "space"] = "none"
    unit_in: UnitIn | None = None  # the unit stated in a title or header cell (where `set` gives none)
    # a regex with a group `value` (and optionally `header`, which must be the column's header): a
    # value cell it matches reads as that group (`452.25(2005)` in the 2005 column: 452.25)
    value_annotation: str | None = None

    @model_validator(mode="after")
    def _sheets_of_a_workbook(self):
        """A workbook names the sheets read (any sheet neither read nor skipped is an error at read)."""
        if self.format != "xlsx":
            if self.sheet or self.sheets or self.skip_sheets:
                raise ValueError("`sheet`, `sheets` and `skip_sheets` are for `format: xlsx`")
            if self.skip_columns or self.unnamed_columns != "error" or self.formula_flag:
                raise ValueError("`skip_columns`, `unnamed_columns` and `formula_flag` are for `format: xlsx`")
        elif bool(self.sheet) == bool(self.sheets):
            raise ValueError("`format: xlsx` needs `sheet` (one) or `sheets` (several of one layout)")
        flags = schema.ALL_FIELDS["flag"].allowed
        if self.formula_flag is not None and self.formula_flag not in flags:
            raise ValueError(f"unknown flag {self.formula_flag!r}{did_you_mean(self.formula_flag, flags)}")
        if self.format != "json" and (self.records or self.flatten):
            raise ValueError("`records` and `flatten` are for `format: json`")
        if self.format != "json" and (self.ids or self.one_of or self.types):
            raise ValueError("`ids`, `one_of` and `types` are for `format: json`")
        prefix = "".join(f"{level}." for level in self.flatten)
        for path in (*self.one_of, *self.types):
            if not path.startswith(prefix) or "." in path[len(prefix):]:
                raise ValueError(f"`one_of` and `types` name fields of the innermost items ({prefix}<field>), not {path!r}")
        both = {self.sheet, *self.sheets} & set(self.skip_sheets)
        if both:
            raise ValueError(f"sheet {sorted(both)[0]!r} is both read and in `skip_sheets`")
        return self

    @field_validator("na_pattern", "value_annotation")
    @classmethod
    def _compiles(cls, pattern, info):
        if pattern is not None:
            try:
                compiled = re.compile(pattern)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from None
            if info.field_name == "value_annotation" and "value" not in compiled.groupindex:
                raise ValueError("the pattern needs a named group `value`: (?P<value>...)")
        return pattern


class JsonIds(_Model):
    """A list of the JSON document (dotted path) whose items give each `id` its `name`."""

    list: str
    id: str = "id"
    name: str = "name"


class UnitIn(_Model):
    """Where a file states the unit of all its values: a title or header `line` (as in the file), whose
    first cell matching `pattern` holds it in the group `unit`."""

    line: int = Field(ge=1)
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _has_unit_group(cls, pattern):
        try:
            compiled = re.compile(pattern)
        except re.error as e:
            raise ValueError(f"not a regular expression: {e}") from None
        if "unit" not in compiled.groupindex:
            raise ValueError("the pattern needs a named group `unit`: (?P<unit>...)")
        return pattern


class Legend(_Model):
    """Where a workbook prints the codes of a crosswalk with what they mean: `cells` (a range, C18:D22)
    of `sheet`, a row per code, its columns holding the crosswalk's `columns` in order."""

    sheet: str
    cells: str = Field(pattern=r"^[A-Z]+[0-9]+:[A-Z]+[0-9]+$")
    columns: tuple[str, ...] = Field(min_length=1)


AREA_FIELDS = ("area_code", "area_level", "parent_code")  # what a code system (`Column.codes`) gives
PERIODS = ("year_month", "month_number", "year_range")  # parse kinds that read a period of time to year fields
PLACE = "_place"  # where a row's value was read, up to its line (`harmonize_with_places`)
FORMULA = "_formula"  # whether a value's cell is a formula (`read.formula_flag`), until the flag is set
MONTH = periods.MONTH  # the month of a monthly column, until `annual` (or a hook) aggregates the months


class Column(_Model):
    """What one source column carries: a schema field, optionally through a code mapping."""

    to: str | tuple[str, ...]  # the schema field(s); several only through a crosswalk
    # default: by the field's type. `year_month`: YYYYMM text to `year` (the month is checked and kept
    # in `_month` for a hook that aggregates months); `year_range`: 2009-2018 to `year_start`,
    # `year_end` and `year` = the last year (a lone year gives `year` only); `month_number`: months
    # counted from `first_month` (YYYYMM of month 1), to `year` and `_month` as `year_month`.
    parse: Literal["text", "year", "number", "year_month", "month_number", "year_range"] | None = None
    first_month: int | None = Field(None, ge=100001, le=999912)
    map: dict[str, str] | None = None  # inline source value -> field value
    crosswalk: str | None = None  # a CSV beside the declaration: `key` column -> the `to` columns
    # several: source columns, this one among them, that tell the crosswalk's rows apart together
    key: str | tuple[str, ...] = "name"
    # the column's values are areas of a code system (ercan.readers.CODE_SYSTEMS): it gives area_code,
    # area_level and parent_code; values of a `map` or `crosswalk` are the exceptions and take theirs
    codes: Literal["iso3", "country_name", "iso3166_2", "subdivision_name"] | None = None
    subdivisions: lookups.Subdivisions | None = None  # `codes: subdivision_name`: whose, of which types
    # the column holds ids another input's table names: `codes`, `map` or `crosswalk` read what it gives
    lookup: lookups.Lookup | None = None
    pattern: str | None = None  # a regex every row's cell matches whole (an empty cell does not): an id's form
    # the column's text goes on the field an earlier column gives, after this separator ("Cerrado" + ": " + "Sa");
    # an empty cell adds nothing ("abies", no species: "abies")
    join: str | None = None
    legend: Legend | None = None  # the workbook's own legend of the crosswalk's codes, checked against it

    @model_validator(mode="after")
    def _one_mapping(self):
        if self.join is not None and (not isinstance(self.to, str) or self.parse or self.codes):
            raise ValueError("`join` goes on one text field `to`, without `parse` or `codes`")
        if self.legend is not None and self.crosswalk is None:
            raise ValueError("`legend` checks the codes of a `crosswalk`: declare the crosswalk")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise ValueError(f"`pattern` is not a regular expression: {e}") from None
        if self.map is not None and self.crosswalk is not None:
            raise ValueError("declare either `map` or `crosswalk`, not both")
        if self.codes is not None and not set(self.fields) <= set(AREA_FIELDS):
            raise ValueError(f"`codes` gives the fields {list(AREA_FIELDS)} only")
        if isinstance(self.to, tuple) and self.crosswalk is None and self.codes is None:
            raise ValueError("several `to` fields need a `crosswalk` giving each")
        if self.parse in PERIODS and self.to != "year":
            raise ValueError(f"`parse: {self.parse}` reads a column to `to: year`")
        if (self.codes == "subdivision_name") != (self.subdivisions is not None):
            raise ValueError("`codes: subdivision_name` goes with `subdivisions` (the country, its types), and needs it")
        if (self.parse == "month_number") != (self.first_month is not None) or self.first_month and not (
                1 <= self.first_month % 100 <= 12):
            raise ValueError("`first_month` (YYYYMM of month 1) goes with `parse: month_number`, and it needs one")
        if isinstance(self.key, tuple) and (self.crosswalk is None or self.codes is not None):
            raise ValueError("a `key` of several columns is for a `crosswalk` (without `codes`)")
        return self

    @property
    def fields(self) -> tuple[str, ...]:
        if self.parse == "year_range":
            return ("year", "year_start", "year_end")
        return self.to if isinstance(self.to, tuple) else (self.to,)


class Values(_Model):
    """Columns holding values, with the fields every value of them shares (variable, unit, pool…).
    A long table has one block (`columns: [value]`, unit from a column or `set`); a wide table
    names its series, or matches its year/area headers with `pattern` and puts each header into
    the field `header`."""

    columns: tuple[str, ...] = ()
    pattern: str | None = None
    header: str | None = None  # the field a matched column's header becomes (e.g. year)
    set: dict[str, str | int | float | None] = Field(default_factory=dict)
    # `header: area_code` with the headers' code system (areas as columns): area_code, area_level, parent_code
    codes: Literal["iso3", "country_name", "iso3166_2"] | None = None
    # the columns are parts of one value (a pool reported in parts): their sum, `derived` where two or
    # more parts are numbers (a lone number keeps the block's flag)
    add: bool = False
    # a CSV beside the declaration (year, year_start, year_end): the period each year of the file stands
    # for (rates filed under a period's first year); the values get it, with year = its last year
    periods: str | None = None
    # each column's header (a pattern's group) is a class of the condition (0-20, 21_40, >200): its values
    # get condition_min/condition_max, the classes in column order adjoining (ercan/classes.py)
    classes: bool = False

    @model_validator(mode="after")
    def _columns_or_pattern(self):
        if bool(self.columns) == bool(self.pattern):
            raise ValueError("declare `columns` or `pattern`")
        if self.pattern and not (self.header or self.classes):
            raise ValueError("a `pattern` block needs `header`: the field its headers become")
        if self.add and len(self.columns) < 2:
            raise ValueError("`add` adds up two or more `columns`")
        if self.codes and self.header != "area_code":
            raise ValueError("`codes` reads headers that are areas: declare `header: area_code`")
        return self


class Drop(_Model):
    """Rows left out on purpose: where the source columns hold these values, with why, and how
    many rows the reviewed file had (a different count is an error: the file changed)."""

    where: row_rules.Where
    reason: str
    count: int = Field(ge=0)
    # the value columns the dropped rows were reviewed to hold: a value in any other is an error
    only_values_in: tuple[str, ...] | None = None


class Input(_Model):
    file: str  # the landing file's name (and the shipped copy in sample_data/<id>/)
    sample: str | None = None  # the shipped copy under sample_data/, where another source ships it
    url: str | None = None  # origin the nightly downloads from (ETag / Last-Modified)
    read: Reading = Reading()
    columns: dict[str, Column] = Field(default_factory=dict)
    values: tuple[Values, ...] = ()
    set: dict[str, str | int | float | None] = Field(default_factory=dict)
    drop: tuple[Drop, ...] = ()
    # `error`: a column no key reads is an error (a pivot's Grand Total column must not pass unseen)
    other_columns: Literal["ignore", "error"] = "ignore"
    keep: row_rules.Keep | None = None  # the rows read (ercan/row_rules.py), before `drop`
    repeats: tuple[row_rules.Repeats, ...] = ()  # rows that copy others: checked, then dropped
    totals: tuple[row_rules.Total, ...] = ()  # value columns that add up to a stated total
    occurrence: row_rules.Occurrence | None = None  # numbers the rows labelled alike
    named_for: companions.NamedFor | None = None  # the id the file's name must carry, if any (a site's)
    annual: periods.Annual | None = None  # monthly rows as calendar years (ercan/periods.py)
    units_stated_by: companions.UnitsStatedBy | None = None  # a metadata file stating the columns' units
    # values left out by their mapped fields, written as text (`where: {variable: area, year: '2015'}`),
    # where the row's other values are read
    drop_values: tuple[Drop, ...] = ()
    rounds: Rounds | None = None  # years that repeat their survey round's result (ercan/rounds.py)
    # fields whose rows alike, in file order, hold adjoining classes of the condition (ercan/classes.py)
    classes_of: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _values_unless_for_the_hook(self):
        if self.read.format in ("hook", "companion") and self.values:
            raise ValueError("a file read by the hook (`read: {format: hook}`) or a companion has no `values`")
        if self.annual and not any(how.parse in ("year_month", "month_number") for how in self.columns.values()):
            raise ValueError("`annual` makes years of months: declare a column `parse: year_month` or `month_number`")
        given = set()
        for column, how in self.columns.items():
            if how.join is not None and how.to not in given:
                raise ValueError(f"column {column!r} joins onto {how.to!r}, which no column before it gives")
            given |= set(how.fields)
        if "flag" in self.set and any(block.add for block in self.values):  # the input's `set` would override it
            raise ValueError("an `add` block flags its sums `derived`: declare `flag` in the values blocks")
        if any(rule.only_values_in for rule in self.drop_values):
            raise ValueError("`only_values_in` is for `drop`: `drop_values` leaves out values, not rows")
        if self.units_stated_by:
            for column, unit in companions.column_units(self).items():
                if unit not in self.units_stated_by.units:
                    raise ValueError(f"`units_stated_by.units` says nothing of {unit!r}, the unit of {column!r}")
        return self


class Declaration(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    publisher: str
    license: str
    citation: str
    product: Literal["observations", "reference_factors"] = "observations"
    origin: Literal["dataset", "literature"] = "dataset"
    inputs: dict[str, Input]
    # harmonizers/<id>/hook.py, for what no reader covers: `cells(role, cells, raw)` (the read text
    # cells of an input, before they are mapped) and/or `rows(rows, files)` (the mapped rows of
    # every input, in canonical units, before the schema is applied); each returns its frame.
    hook: bool = False
    # what the source's national figures are checked against (ercan.accounting.reconcile.Comparison)
    reconcile: tuple[Comparison, ...] = ()
    # crosswalks of harmonizers/crosswalks/ shared with other sources that this one (its hook) reads:
    # named here, they are in this source's key, so that a change re-gates only the sources reading it
    shared_crosswalks: tuple[str, ...] = ()
    notes: str | None = None  # decisions, in words (docs/sources.md)

    @model_validator(mode="after")
    def _vocabulary(self):
        columns = self.target_columns
        for role, spec in self.inputs.items():
            named = [f for c in spec.columns.values() for f in c.fields]
            named += [*spec.set, *(f for block in spec.values for f in block.set)]
            named += [block.header for block in spec.values if block.header]
            named += [field for rule in spec.drop_values for field in rule.where] + list(spec.classes_of)
            companion = spec.units_stated_by and self.inputs.get(spec.units_stated_by.input)
            if spec.units_stated_by and (companion is None or companion.read.format != "companion"):
                raise ValueError(f"inputs.{role}.units_stated_by: {spec.units_stated_by.input!r} is no input "
                                 "declared with `read: {format: companion}`")
            for name in named:
                if name not in columns and name != "unit":
                    raise ValueError(f"inputs.{role}: unknown field {name!r}{did_you_mean(name, columns)}")
            for block in spec.values:
                self._check_unit(role, {**spec.set, **block.set})
                self._check_allowed(role, {**spec.set, **block.set})
        return self

    @model_validator(mode="after")
    def _looked_up_tables(self):
        """An input without `values` is a plain table a column looks up, or a file the hook or a companion key reads."""
        plain = {role for role, spec in self.inputs.items()
                 if not spec.values and spec.read.format not in ("hook", "companion")}
        looked_up = {how.lookup.input: role for role, spec in self.inputs.items() for how in spec.columns.values()
                     if how.lookup}
        for role in sorted(plain ^ set(looked_up)):
            raise ValueError(f"inputs.{looked_up[role]}: `lookup` names {role!r}, which is no input read as a plain "
                             f"table (declared without `values`){did_you_mean(role, plain)}" if role in looked_up else
                             f"inputs.{role}: declare `values`, except for a file read by the hook (`read: "
                             "{format: hook}`) or a table a column looks up (`lookup`)")
        return self

    @staticmethod
    def _check_allowed(role: str, constants: dict) -> None:
        """A declared constant of a field with a vocabulary (pool, flag, area_level…) is one of its
        values, at load rather than at the gate."""
        for name, value in constants.items():
            if name == "unit":  # the source's unit, converted to the canonical one (_check_unit)
                continue
            allowed = schema.ALL_FIELDS[name].allowed if name in schema.ALL_FIELDS else None
            if allowed and value is not None and value not in allowed:
                raise ValueError(f"inputs.{role}: unknown {name} {value!r}{did_you_mean(str(value), allowed)}")

    def _check_unit(self, role: str, constants: dict) -> None:
        """A declared unit must convert to the declared variable's canonical unit (pint), at load."""
        measure, units = (("variable", schema.VARIABLE_UNITS) if self.product == "observations"
                          else ("parameter", schema.REFERENCE_PARAMETERS))
        name = constants.get(measure)
        if name is None:
            return
        if name not in units:
            raise ValueError(f"inputs.{role}: unknown {measure} {name!r}{did_you_mean(name, units)}")
        if constants.get("unit") is not None:
            try:
                factor(str(constants["unit"]), units[name])
            except SourceError as e:
                raise ValueError(f"inputs.{role}: {e.what}") from None

    @property
    def target_columns(self) -> tuple[str, ...]:
        return schema.OBSERVATION_COLUMNS if self.product == "observations" else schema.REFERENCE_COLUMNS


def load(path: Path) -> Declaration:
    """The declaration in `path`; a typo or a wrong value is a ConfigError naming file and key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Declaration.model_validate(data)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"{path}: {problems}") from None


class DeclaredSource:
    """A loaded declaration and its folder: what the registry calls to harmonize it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.declaration = load(folder / DECLARATION)
        if self.declaration.id != folder.name:
            raise ConfigError(f"{folder / DECLARATION}: id {self.declaration.id!r} differs from its folder's name")
        for position, name in enumerate(self.declaration.shared_crosswalks):
            if not (SHARED_CROSSWALKS / name).is_file():
                raise ConfigError(f"{folder / DECLARATION}: shared_crosswalks.{position}: no file {name!r} in "
                                  f"{SHARED_CROSSWALKS}{did_you_mean(name, [p.name for p in SHARED_CROSSWALKS.glob('*')])}")

    @property
    def code_sha256(self) -> str:
        """Changes when this source's own files (declaration, crosswalks, hook), the shared crosswalks
        it names or the readers change; another source's crosswalk does not."""
        digest = hashlib.sha256()
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(self.folder).as_posix().encode() + b"\0" + path.read_bytes())
        for name in self.declaration.shared_crosswalks:
            digest.update(name.encode() + b"\0" + (SHARED_CROSSWALKS / name).read_bytes())
        for module_file in (readers.__file__, row_rules.__file__, periods.__file__, companions.__file__,
                            lookups.__file__, rounds.__file__, classes.__file__, reference.__file__, __file__):
            digest.update(Path(module_file).read_bytes())
        return digest.hexdigest()

    @cached_property
    def hook(self):
        """The source's hook module, or None."""
        if not self.declaration.hook:
            return None
        spec = importlib.util.spec_from_file_location(f"ercan_hooks.{self.declaration.id}", self.folder / HOOK)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def crosswalk(self, name: str) -> pd.DataFrame:
        """A crosswalk of the source's folder as text; an empty cell is no value (e.g. no parent)."""
        folder = SHARED_CROSSWALKS if name in self.declaration.shared_crosswalks else self.folder
        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        return table.mask(table == "")

    def harmonize(self, files) -> pa.Table:
        return self.harmonize_with_places(files)[0]

    def harmonize_with_places(self, files) -> tuple[pa.Table, pa.Table]:
        """The rows, and beside each (the same position) where in the raw files its value was read
        (`place`: file, sheet, line or JSON record, column), so that a gate failure names it."""
        declaration = self.declaration
        frames = []
        for role, spec in declaration.inputs.items():
            if role not in files:
                raise SourceError(f"no file for role {role!r}", hint=f"Ingest the file for role {role!r}.")
            if spec.values:  # not a file the hook or a companion key reads, nor a table columns look up
                frames.append(self._rows(role, spec, files[role], files))
        for role, spec in declaration.inputs.items():  # once every file is known to be there
            if spec.units_stated_by is not None:
                companions.check_stated_units(spec.units_stated_by, companions.column_units(spec),
                                              files[spec.units_stated_by.input], data_file=files[role].name, role=role)
        rows = pd.concat(frames, ignore_index=True)
        if hasattr(self.hook, "rows"):
            rows = self.hook.rows(rows, files)
        rows = rows[rows["value"].notna()]  # as `finish` keeps them, so that the places line up
        line = rows[LINE].astype("Int64").astype("string")
        places = pa.table({"place": rows[PLACE].astype("string") + line + ", column " + rows["_column"].astype("string")})
        return finish(rows.drop(columns=[LINE, "_column", PLACE]), declaration.id, declaration.target_columns), places

    def _cells(self, spec: Input, role: str, raw) -> pd.DataFrame:
        """The input's text cells, as its declared reader reads them."""
        if spec.read.format == "xlsx":
            return readers.read_xlsx_cells(raw, spec.read, role=role)
        if spec.read.format == "json":
            with raw.open() as f:
                return readers.read_json_cells(f.read(), spec.read, file=raw.name, role=role)
        with raw.open() as f:
            return readers.read_csv_cells(f.read(), spec.read, file=raw.name, role=role)

    def misfit(self, role: str, raw) -> SourceError | None:
        """The error naming what `raw` lacks of the layout declared for `role` (the fingerprint ingest
        checks), or None: it fits, or there is nothing to compare it with (a hook reads the file or its
        cells, or the file does not read at all: its gate then quarantines it with the reader's error)."""
        checked = self._layout_check(role, raw)
        return checked if isinstance(checked, SourceError) else None

    def fits(self, role: str, raw) -> bool:
        """Whether `raw` reads and has every column declared for `role`."""
        return self._layout_check(role, raw) is True

    def _layout_check(self, role: str, raw) -> bool | SourceError | None:
        """True (it fits), the SourceError of what it lacks, or None (no declared layout to compare)."""
        spec = self.declaration.inputs[role]
        if not spec.values or hasattr(self.hook, "cells"):  # a file the hook or a companion key reads, or a lookup
            return None
        try:
            cells = self._cells(spec, role, _head(raw) if spec.read.format == "csv" else raw)
        except SourceError:
            return None
        try:
            readers.require_columns(cells, [*spec.columns, *(c for b in spec.values for c in b.columns)],
                                    file=raw.name, role=role)
            for block in spec.values:
                if block.pattern and not any(re.fullmatch(block.pattern, str(c)) for c in cells.columns):
                    raise SourceError(f"no column header matches {block.pattern!r}", file=raw.name)
        except SourceError as e:
            return e
        return True

    def _rows(self, role: str, spec: Input, raw, files) -> pd.DataFrame:
        """The input's rows; `files`: every input's, where a column's `lookup` finds its table."""
        if spec.named_for is not None:
            companions.check_named_for(spec.named_for, raw.name, spec.file, role=role)
        for how in spec.columns.values():  # the codes' meaning first: a renumbered code would mislabel every value
            if how.legend is not None:
                readers.check_legend(raw, how.legend, self.crosswalk(how.crosswalk), crosswalk=how.crosswalk)
        cells = self._cells(spec, role, raw)
        if spec.read.format != "json":
            return self._rows_of(cells, role, spec, raw, files)
        try:
            return self._rows_of(cells, role, spec, raw, files)
        except SourceError as e:  # a JSON table's `LINE` is a record's position, not a line of the file
            raise readers.as_record_error(e) from None

    def _rows_of(self, cells: pd.DataFrame, role: str, spec: Input, raw, files) -> pd.DataFrame:
        stated_unit = cells.attrs.get("stated_unit")  # (unit, line, column letter) from a title cell
        if hasattr(self.hook, "cells"):
            cells = self.hook.cells(role, cells, raw)
        cells = row_rules.read_rows(cells, spec, file=raw.name, role=role)
        row_rules.check_crosswalk_keys(cells, spec, self.crosswalk, file=raw.name, role=role)
        cells = self._dropped(cells, spec, raw.name, role)
        readers.require_columns(cells, [*spec.columns, *(c for b in spec.values for c in b.columns)],
                                file=raw.name, role=role)
        if spec.other_columns == "error":
            self._no_other_columns(cells, spec, raw.name, role)
        row_rules.check_totals(cells, spec, self.folder, file=raw.name, role=role)
        # a workbook's sheets one by one, so that an error names the sheet of its row
        parts = cells.groupby(readers.SHEET, sort=False) if readers.SHEET in cells else [(None, cells)]
        read_at = "record " if spec.read.format == "json" else "line "
        long = pd.concat([self._long(part, spec, raw, role, stated_unit, files, sheet=sheet).assign(
            **{PLACE: f"{raw.name}, {f'sheet {sheet}, ' if sheet else ''}{read_at}"}) for sheet, part in parts],
                         ignore_index=True)
        for rule in spec.drop_values:
            hit = row_rules.matching(long.reindex(columns=list(rule.where)).astype("string"), rule.where)
            if hit.sum() != rule.count:
                raise SourceError(f"{int(hit.sum())} values match the drop_values rule {dict(rule.where)} "
                                  f"({rule.reason}), the declaration expects {rule.count}", file=raw.name,
                                  hint="Review the values; if dropping them is still right, update `count` of that "
                                       f"rule under inputs.{role}.drop_values.")
            long = long[~hit]
        if spec.classes_of:
            bounds = "/".join(c for c, how in spec.columns.items()
                              if {"condition_min", "condition_max"} & set(how.fields))
            long = classes.adjoining_rows(long, spec.classes_of, file=raw.name, column=bounds)
        self._unique(long, raw.name, role)
        if spec.rounds is not None:
            key = [c for c in schema.OBSERVATION_KEY if c in long and c != "source"]
            year_column = next((c for c, how in spec.columns.items() if "year" in how.fields), None)
            long = rounds.one_per_round(long, spec.rounds, self.crosswalk(spec.rounds.table), key, file=raw.name,
                                        year_column=year_column, role=role)
        if spec.annual is not None:
            key = [c for c in schema.OBSERVATION_KEY if c in long and c != "source"]
            month_column = next(c for c, how in spec.columns.items() if how.parse in ("year_month", "month_number"))
            long = periods.annual(long, spec.annual, key, file=raw.name, month_column=month_column)
        return long.assign(snapshot=raw.sha256)

    def _long(self, cells: pd.DataFrame, spec: Input, raw, role: str, stated_unit, files, *, sheet) -> pd.DataFrame:
        """The values of the read cells (of one sheet) as rows in canonical units."""
        try:
            fields = pd.DataFrame({LINE: cells[LINE]})
            given_by = {}  # field -> the first column giving it: a later one must agree with it
            for column, how in spec.columns.items():
                mapped = self._mapped(cells, column, how, raw.name, role, files=files)
                if how.join is not None:  # goes on the field an earlier column gives (checked at load)
                    mapped = {field: (fields[field] + how.join + values).where(values.fillna("") != "", fields[field])
                              for field, values in mapped.items()}
                else:
                    periods.check_agreement(fields, mapped, given_by, cells, column, file=raw.name, role=role)
                for field, values in mapped.items():
                    fields[field] = values
                    given_by.setdefault(field, column)
            long = pd.concat([self._of_period(self._melted(cells, fields, block, raw.name, spec.read.digit_grouping,
                                                           role), block, spec, raw.name, role)
                              for block in spec.values], ignore_index=True)
            for field, value in spec.set.items():
                long[field] = value
            if FORMULA in long:  # `read.formula_flag`: a value computed in its cell
                long["flag"] = long["flag"].where(~long.pop(FORMULA).astype(bool), spec.read.formula_flag)
            if stated_unit is not None:
                long = self._with_stated_unit(long, *stated_unit, file=raw.name)
            long["value"] = readers.parse_numbers(long["value"], long[LINE], spec.read.digit_grouping, file=raw.name,
                                                  column=long["_column"], role=role) if len(long) else long["value"]
            long = long[long["value"].notna()].reset_index(drop=True)
            self._check_withdrawn(cells, long, spec, raw.name, role)
            long = self._in_canonical_units(long, raw.name, role, unit_column=self._unit_column(spec))
        except SourceError as e:
            raise e.located(sheet=sheet) from None
        return long

    def _unique(self, long: pd.DataFrame, file: str, role: str) -> None:
        """One value per key of the product (schema.OBSERVATION_KEY / REFERENCE_KEY): a repeat is an
        error naming both lines, here where the lines are known, rather than a key check in the gate."""
        key = [c for c in (schema.OBSERVATION_KEY if self.declaration.product == "observations"
                           else schema.REFERENCE_KEY) if c in long and c != "source"]
        key += [MONTH] if MONTH in long else []  # monthly rows: one value per month until a hook aggregates
        ordered = long.sort_values(LINE, kind="stable")
        again = ordered.duplicated(key, keep="first")
        if again.any():
            groups = ordered.groupby(key, dropna=False, sort=False).ngroup()
            second = ordered[again].iloc[0]
            first = ordered[groups == groups[second.name]].iloc[0]
            shown_key = {c: first[c].item() if hasattr(first[c], "item") else first[c] for c in key if pd.notna(first[c])}
            raise SourceError(
                f"the value for {shown_key} appears again (first at line {int(first[LINE])})", file=file,
                row=int(second[LINE]), column=second["_column"],
                hint=f"If both rows are meant, the declaration under inputs.{role} must tell them apart "
                     "(a `category`, `pool` or period column); if one is a repeat, declare it under `drop`.",
            )

    def _dropped(self, cells: pd.DataFrame, spec: Input, file: str, role: str) -> pd.DataFrame:
        for rule in spec.drop:
            readers.require_columns(cells, rule.where, file=file, role=role)
            hit = row_rules.matching(cells, rule.where)
            if hit.sum() != rule.count:
                raise SourceError(
                    f"{int(hit.sum())} rows match the drop rule {dict(rule.where)} ({rule.reason}), "
                    f"the declaration expects {rule.count}", file=file,
                    hint=f"Review the rows; if dropping them is still right, update `count` of that rule under inputs.{role}.drop.",
                )
            row_rules.check_dropped_values(cells[hit], rule, spec, file=file, role=role)
            cells = cells[~hit]
        return cells

    def _of_period(self, part: pd.DataFrame, block: Values, spec: Input, file: str, role: str) -> pd.DataFrame:
        """The block's rows with the period of their year (`Values.periods`), if it declares a table."""
        if block.periods is None:
            return part
        column = next((c for c, how in spec.columns.items() if "year" in how.fields), None)  # else the header's
        return periods.dated_by_period(part, self.crosswalk(block.periods), block.periods, file=file, column=column,
                                       role=role)

    def _mapped(self, cells: pd.DataFrame, column: str, how: Column, file: str, role: str, *,
                declared: str | None = None, files=None) -> dict[str, pd.Series]:
        """The column's fields; `declared`: where the column is declared, for hints (inputs.<role>.columns.<column>);
        `files`: the inputs' files, where a `lookup` finds its table."""
        text = cells[column]
        declared = declared or f"inputs.{role}.columns.{column}"
        if how.pattern is not None:
            readers.check_pattern(text, cells[LINE], how.pattern, file=file, column=readers.column_label(cells, column),
                                  key=f"inputs.{role}.columns.{column}.pattern")
        if how.lookup is not None:
            return self._looked_up(cells, column, how, file, declared, files)
        if how.codes is not None:
            mapped = self._coded(cells, column, how, file, declared)
        elif isinstance(how.key, tuple):
            mapped = row_rules.through_crosswalk(cells, how, self.crosswalk(how.crosswalk))
        elif how.map is not None or how.crosswalk is not None:
            tables = self._tables(how)
            known = next(iter(tables.values()))
            unknown = text.notna() & ~text.isin(list(known))
            where = how.crosswalk or f"{declared}.map"
            if unknown.any():
                values = list(dict.fromkeys(text[unknown]))
                at = unknown.to_numpy().argmax()
                raise SourceError(
                    f"unknown value{'s' if len(values) > 1 else ''} "
                    + ", ".join(shown(v) for v in values[:10]) + (" …" if len(values) > 10 else "")
                    + did_you_mean(values[0], known) + f", not in {where}",
                    file=file, row=int(cells[LINE].iloc[at]), column=readers.column_label(cells, column),
                    hint=f"After checking what it is, add it to {where} in " + ("harmonizers/crosswalks/ (shared)" if
                         how.crosswalk in self.declaration.shared_crosswalks else "the source's folder") + ".",
                )
            mapped = {field: text.map(table) for field, table in tables.items()}
        else:
            mapped = {how.fields[0]: text}
        if how.parse in PERIODS:
            return self._period(mapped["year"], how, cells[LINE], file, column, role)
        return {field: self._typed(values, field, how.parse, cells[LINE], file, column, role)
                for field, values in mapped.items()}

    def _tables(self, how: Column) -> dict[str, dict]:
        """{field: {source value: field value}} of the column's `crosswalk` or `map` ({} for neither)."""
        if how.crosswalk is not None:
            table = self.crosswalk(how.crosswalk)
            return {field: dict(zip(table[how.key], table[field])) for field in how.fields}
        return {how.fields[0]: how.map} if how.map is not None else {}

    def _coded(self, cells: pd.DataFrame, column: str, how: Column, file: str, declared: str) -> dict[str, pd.Series]:
        """The column's areas through its code system, except the values its map or crosswalk lists
        (a retired code, an aggregate): those take the fields it gives (a `map` gives the first only)."""
        text, tables = cells[column], self._tables(how)
        exceptions = next(iter(tables.values()), {})
        listed = text.isin(list(exceptions))
        names_file, names = self.folder / readers.COUNTRY_NAMES, None
        if how.subdivisions is not None:  # its reviewed names: beside the declaration, or a shared crosswalk
            name = how.subdivisions.names
            folder = SHARED_CROSSWALKS if name in self.declaration.shared_crosswalks else self.folder
            names_file = name and folder / name
            names = lookups.subdivision_names(how.subdivisions, names_file)
        coded = readers.area_codes(text.where(~listed), cells[LINE], how.codes, listed=exceptions, names=names,
                                   names_file=names_file, file=file, column=column,
                                   withdrawn=readers.withdrawn_codes(how.codes, self.folder),
                                   exceptions=how.crosswalk or f"{declared}.map")
        return {field: text.map(tables[field]).where(listed, coded[field]) if field in tables else coded[field]
                for field in how.fields}

    def _looked_up(self, cells: pd.DataFrame, column: str, how: Column, file: str, declared: str, files
                   ) -> dict[str, pd.Series]:
        """The fields of the column's ids: what the looked-up table gives each, read through the column's
        codes, map or crosswalk at the table's own lines (every row of the table, used or not)."""
        lookup, raw = how.lookup, files[how.lookup.input]
        table = lookups.table(self._cells(self.declaration.inputs[lookup.input], lookup.input, raw), lookup,
                              file=raw.name)
        fields = self._mapped(table, lookup.value, how.model_copy(update={"lookup": None}), raw.name, lookup.input,
                              declared=declared)
        return lookups.looked_up(cells, column, table, fields, lookup, file=file, table_file=raw.name)

    def _check_withdrawn(self, cells: pd.DataFrame, long: pd.DataFrame, spec: Input, file: str, role: str) -> None:
        """The codes read through the code system (not the declaration's exceptions) name an area in the
        years of their values (readers.check_withdrawn)."""
        for column, how in spec.columns.items():
            withdrawn = readers.withdrawn_codes(how.codes, self.folder) if how.codes else {}
            if not withdrawn or "year" not in long:
                continue
            listed = next(iter(self._tables(how).values()), {})
            code_of_line = cells[column].where(~cells[column].isin(list(listed))).set_axis(cells[LINE])
            code_of_line = code_of_line.groupby(level=0).first()  # a JSON record's items share its line
            readers.check_withdrawn(long[LINE].map(code_of_line), long["year"], long[LINE], long["_column"], withdrawn,
                                    file=file, column=column, exceptions=how.crosswalk or f"inputs.{role}.columns.{column}.map")

    def _no_other_columns(self, cells: pd.DataFrame, spec: Input, file: str, role: str) -> None:
        read = {*spec.columns, *(c for rule in spec.drop for c in rule.where), *row_rules.columns_read(spec)}
        for block in spec.values:
            read |= set(block.columns)
        for position, name in enumerate(c for c in cells.columns if c not in (LINE, readers.SHEET, readers.FORMULAS)):
            if name not in read and not any(b.pattern and re.fullmatch(b.pattern, name) for b in spec.values):
                raise SourceError(
                    f"the column (spreadsheet column {readers.column_letter(position)}) is read by no key of the "
                    "declaration",
                    file=file, row=cells.attrs.get("header_line"), column=name,
                    hint=f"If the column is meant, declare it under inputs.{role}.columns or values; if it may be "
                         f"left out, declare `other_columns: ignore` under inputs.{role}.",
                )

    def _with_stated_unit(self, long: pd.DataFrame, unit: str, line: int, letter: str, *, file: str) -> pd.DataFrame:
        """The unit the file states for the values no `set` gives one, checked against each variable
        (or parameter) at the cell that states it."""
        long = long.assign(unit=long["unit"] if "unit" in long else None)
        stated = long["unit"].isna()
        measure, units = (("variable", schema.VARIABLE_UNITS) if self.declaration.product == "observations"
                          else ("parameter", schema.REFERENCE_PARAMETERS))
        for name in long.loc[stated, measure].dropna().unique():
            try:
                factor(unit, units[name])
            except SourceError as e:
                raise e.located(file=file, row=line, column=letter) from None
            except KeyError:
                pass  # an unknown variable is reported with its line by _in_canonical_units
        return long.assign(unit=long["unit"].where(~stated, unit))

    @staticmethod
    def _period(text: pd.Series, how: Column, lines, file: str, column: str, role: str) -> dict[str, pd.Series]:
        if how.parse == "year_month":
            year, month = readers.parse_year_months(text, lines, file=file, column=column, role=role)
            return {"year": year, MONTH: month}
        if how.parse == "month_number":
            numbers = readers.parse_numbers(text, lines, "none", file=file, column=column, role=role)
            year, month = periods.month_of_number(numbers, lines, how.first_month, file=file, column=column)
            return {"year": year, MONTH: month}
        start, end = readers.parse_year_ranges(text, lines, file=file, column=column, role=role)
        period = (start != end).fillna(False)
        return {"year": end, "year_start": start.where(period), "year_end": end.where(period)}

    def _typed(self, values: pd.Series, field: str, parse, lines, file: str, column: str, role: str) -> pd.Series:
        kind = parse or ("year" if pa.types.is_integer(schema.ALL_FIELDS[field].type) else
                         "number" if pa.types.is_floating(schema.ALL_FIELDS[field].type) else "text")
        if kind == "text" or field == "value":
            return values
        numbers = readers.parse_numbers(values, lines, "none", file=file, column=column, role=role)
        if kind == "year":
            bad = numbers.notna() & (numbers != numbers.round())
            if bad.any():
                at = bad.to_numpy().argmax()
                raise SourceError(f"{shown(values.iloc[at])} is not a year", file=file, row=int(lines.iloc[at]),
                                  column=column, hint="Ingest a corrected file; a year is a whole number.")
            return numbers.astype("Int64")
        return numbers

    def _melted(self, cells: pd.DataFrame, fields: pd.DataFrame, block: Values, file: str, grouping: str,
                role: str) -> pd.DataFrame:
        if block.add:
            return row_rules.added(cells, fields, block, grouping, file=file, role=role)
        if block.pattern:
            matched = [c for c in cells.columns if c != LINE and re.fullmatch(block.pattern, c)]
            if not matched:
                raise SourceError(f"no column header matches {block.pattern!r}", file=file, row=1,
                                  hint="Declare the pattern the headers follow under `values`.")
        else:
            matched = list(block.columns)
        # a pattern's group, if it has one, is the part of the header that matters ('Value 1990': 1990)
        found = [re.fullmatch(block.pattern, column) if block.pattern else None for column in matched]
        names = [match.group(1) if match and match.re.groups else column for match, column in zip(found, matched)]
        ranges = classes.header_ranges(matched, names, file=file, line=cells.attrs.get("header_line"),
                                       key=f"inputs.{role}.values") if block.classes else None
        areas = self._header_areas(names, block, cells, file, role) if block.codes else None
        parts = []
        for position, (column, name) in enumerate(zip(matched, names)):
            condition = dict(zip(("condition_min", "condition_max"), ranges[position])) if ranges else {}
            part = fields.assign(value=cells[column].to_numpy(), _column=readers.column_label(cells, column, name),
                                 **{**block.set, **condition})
            if readers.FORMULAS in cells:
                part[FORMULA] = cells[readers.FORMULAS].map(lambda formulas: column in formulas).to_numpy()
            if areas is not None:  # the header is an area: the fields its code system gives
                part = part.assign(**areas.iloc[position].to_dict())
            elif block.header:
                header = pd.Series([name] * len(part), index=part.index)
                part[block.header] = self._typed(header, block.header, None, part[LINE], file, column, "")
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def _header_areas(self, names: list[str], block: Values, cells: pd.DataFrame, file: str, role: str) -> pd.DataFrame:
        """The area fields of each matched header (areas as columns), through the block's code system."""
        line = cells.attrs.get("header_line", 1)
        return readers.area_codes(pd.Series(names), pd.Series([line] * len(names)), block.codes,
                                  names_file=self.folder / readers.COUNTRY_NAMES, file=file, column="(header)",
                                  exceptions=f"no list: leave the column out of the values block under inputs.{role}.values "
                                             "(its `columns` or `pattern`)").reset_index(drop=True)

    @staticmethod
    def _unit_column(spec: Input) -> str | None:
        """The column whose text is each row's unit (`to: unit`), if the input has one."""
        return next((column for column, how in spec.columns.items() if how.to == "unit"), None)

    def _in_canonical_units(self, long: pd.DataFrame, file: str, role: str, *, unit_column: str | None = None
                            ) -> pd.DataFrame:
        """`unit` holds the source's unit until here; values become the variable's (or parameter's)
        canonical unit through pint. A unit read from a column is an error at that column's cell."""
        measure = "variable" if self.declaration.product == "observations" else "parameter"
        units = schema.VARIABLE_UNITS if measure == "variable" else schema.REFERENCE_PARAMETERS
        if "unit" not in long or long["unit"].isna().any():
            raise SourceError(f"no unit for some values of {file}",
                              hint=declared_hint("unit", role) + " (under `set` or a values block).")
        unknown = sorted(set(long[measure].dropna()) - set(units))
        if unknown:
            raise SourceError(f"unknown {measure}{'s' if len(unknown) > 1 else ''} "
                              + _listed([f"{v!r}{did_you_mean(v, units)}" for v in unknown]), file=file,
                              hint=f"Use a {measure} of the field registry (ercan/schema.py) in the declaration.")
        target = long[measure].map(units)
        values = long["value"].to_numpy(copy=True)
        failed = []  # (the error, its first row): every unit that does not convert is named, not the first
        for (source_unit, canonical), rows in long.groupby([long["unit"], target]).groups.items():
            at = long.index.get_indexer(rows)
            try:
                values[at] = convert(values[at], source_unit, canonical)
            except SourceError as e:
                failed.append((e, at[0]))
        if failed:
            failed.sort(key=lambda f: f[1])  # in the file's order
            e, first = failed[0]
            if len(failed) > 1:
                e = SourceError(_listed([f"{error.what} (line {int(long[LINE].iloc[row])})" for error, row in failed]),
                                hint=e.hint)
            if unit_column is not None:  # the file's own unit text, not a declared unit: the fix is a mapping
                e.hint = (f"If the text is a unit written otherwise, map it under inputs.{role}.columns."
                          f"{unit_column}.map (a unit ercan does not know yet is defined in ercan/units.txt).")
            raise e.located(file=file, row=int(long[LINE].iloc[first]),
                            column=unit_column or long["_column"].iloc[first]) from None
        return long.assign(value=values, unit=target)


def _listed(items: list[str], limit: int = 10) -> str:
    """Up to `limit` of the items, then how many more."""
    return "; ".join(items[:limit]) + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def _head(raw):
    """A CSV's first `LAYOUT_HEAD` bytes, whole lines (all of a smaller file): enough for its layout,
    so that checking a large file's fingerprint reads no more of it."""
    with raw.open() as f:
        head = f.read(LAYOUT_HEAD + 1)
    if len(head) > LAYOUT_HEAD:
        head = head[:head.rfind(b"\n", 0, LAYOUT_HEAD) + 1]
    return dataclasses.replace(raw, opener=lambda: io.BytesIO(head))
