"""A source as a declaration: `harmonizers/<id>/source.yaml`, read by the layout readers.

The declaration holds the provenance and, per input role, how the file is read (`Reading`), which
of its columns carry which schema field (`columns`), which carry values (`values`: one block for a
long table, a block per series or a header pattern for a wide one), constants (`set`) and rows to
drop with their reason and expected count. Crosswalks and an optional `hook.py` sit beside it in
the source's own folder and are part of its cache key only. Every model forbids unknown keys, so a
typo fails at load naming the file and the key (docs/adding_a_source.md).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ercan import readers, schema
from ercan.errors import ConfigError, SourceError, did_you_mean, shown
from ercan.harmonize import finish
from ercan.readers import LINE, declared_hint
from ercan.units import convert, factor

DECLARATION = "source.yaml"
HOOK = "hook.py"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reading(_Model):
    """How the raw text is read (ercan.readers)."""

    # `hook`: a companion file (a datapackage.json stating units) landed with the others and read
    # only by the source's hook (`rows(rows, files)`), never by a reader
    format: Literal["csv", "xlsx", "json", "hook"] = "csv"
    records: str | None = None  # json: dotted path to the list of records (None: the document is the list)
    flatten: tuple[str, ...] = ()  # json: keys of nested lists, outermost first: a row per innermost item
    sheet: str | None = None  # xlsx: the sheet read
    sheets: tuple[str, ...] = ()  # xlsx: sheets of one layout read as one table (`_sheet` holds each row's)
    skip_sheets: dict[str, str] = Field(default_factory=dict)  # xlsx: sheet -> why it is not read
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

    @model_validator(mode="after")
    def _sheets_of_a_workbook(self):
        """A workbook names the sheets read (any sheet neither read nor skipped is an error at read)."""
        if self.format != "xlsx":
            if self.sheet or self.sheets or self.skip_sheets:
                raise ValueError("`sheet`, `sheets` and `skip_sheets` are for `format: xlsx`")
        elif bool(self.sheet) == bool(self.sheets):
            raise ValueError("`format: xlsx` needs `sheet` (one) or `sheets` (several of one layout)")
        if self.format != "json" and (self.records or self.flatten):
            raise ValueError("`records` and `flatten` are for `format: json`")
        both = {self.sheet, *self.sheets} & set(self.skip_sheets)
        if both:
            raise ValueError(f"sheet {sorted(both)[0]!r} is both read and in `skip_sheets`")
        return self

    @field_validator("na_pattern")
    @classmethod
    def _compiles(cls, pattern):
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from None
        return pattern


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


AREA_FIELDS = ("area_code", "area_level", "parent_code")  # what a code system (`Column.codes`) gives
PERIODS = ("year_month", "year_range")  # parse kinds that read a period of time to year fields
MONTH = "_month"  # the column of the month of a `year_month` column, until a hook aggregates the months


class Column(_Model):
    """What one source column carries: a schema field, optionally through a code mapping."""

    to: str | tuple[str, ...]  # the schema field(s); several only through a crosswalk
    # default: by the field's type. `year_month`: YYYYMM text to `year` (the month is checked and kept
    # in `_month` for a hook that aggregates months); `year_range`: 2009-2018 to `year_start`,
    # `year_end` and `year` = the last year (a lone year gives `year` only).
    parse: Literal["text", "year", "number", "year_month", "year_range"] | None = None
    map: dict[str, str] | None = None  # inline source value -> field value
    crosswalk: str | None = None  # a CSV beside the declaration: `key` column -> the `to` columns
    key: str = "name"
    # the column's values are areas of a code system (ercan.readers.CODE_SYSTEMS): it gives area_code,
    # area_level and parent_code; values of a `map` or `crosswalk` are the exceptions and take theirs
    codes: Literal["iso3", "country_name", "iso3166_2"] | None = None

    @model_validator(mode="after")
    def _one_mapping(self):
        if self.map is not None and self.crosswalk is not None:
            raise ValueError("declare either `map` or `crosswalk`, not both")
        if self.codes is not None and not set(self.fields) <= set(AREA_FIELDS):
            raise ValueError(f"`codes` gives the fields {list(AREA_FIELDS)} only")
        if isinstance(self.to, tuple) and self.crosswalk is None and self.codes is None:
            raise ValueError("several `to` fields need a `crosswalk` giving each")
        if self.parse in PERIODS and self.to != "year":
            raise ValueError(f"`parse: {self.parse}` reads a column to `to: year`")
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

    @model_validator(mode="after")
    def _columns_or_pattern(self):
        if bool(self.columns) == bool(self.pattern):
            raise ValueError("declare `columns` or `pattern`")
        if self.pattern and not self.header:
            raise ValueError("a `pattern` block needs `header`: the field its headers become")
        return self


class Drop(_Model):
    """Rows left out on purpose: where the source columns hold these values, with why, and how
    many rows the reviewed file had (a different count is an error: the file changed)."""

    where: dict[str, str | tuple[str, ...]]
    reason: str
    count: int = Field(ge=0)


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

    @model_validator(mode="after")
    def _values_unless_for_the_hook(self):
        if (self.read.format == "hook") == bool(self.values):
            raise ValueError("declare `values`, except for a file read by the hook (`read: {format: hook}`)")
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
    notes: str | None = None  # decisions, in words (docs/sources.md)

    @model_validator(mode="after")
    def _vocabulary(self):
        columns = self.target_columns
        for role, spec in self.inputs.items():
            named = [f for c in spec.columns.values() for f in c.fields]
            named += [*spec.set, *(f for block in spec.values for f in block.set)]
            named += [block.header for block in spec.values if block.header]
            for name in named:
                if name not in columns and name != "unit":
                    raise ValueError(f"inputs.{role}: unknown field {name!r}{did_you_mean(name, columns)}")
            for block in spec.values:
                self._check_unit(role, {**spec.set, **block.set})
                self._check_allowed(role, {**spec.set, **block.set})
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

    @property
    def code_sha256(self) -> str:
        """Changes when this source's own files (declaration, crosswalks, hook) or the readers change;
        another source's crosswalk does not."""
        digest = hashlib.sha256()
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(self.folder).as_posix().encode() + b"\0" + path.read_bytes())
        for module_file in (readers.__file__, __file__):
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
        table = pd.read_csv(self.folder / name, dtype=str, keep_default_na=False)
        return table.mask(table == "")

    def harmonize(self, files) -> pa.Table:
        declaration = self.declaration
        frames = []
        for role, spec in declaration.inputs.items():
            if role not in files:
                raise SourceError(f"no file for role {role!r}", hint=f"Ingest the file for role {role!r}.")
            if spec.read.format != "hook":
                frames.append(self._rows(role, spec, files[role]))
        rows = pd.concat(frames, ignore_index=True)
        if hasattr(self.hook, "rows"):
            rows = self.hook.rows(rows, files)
        return finish(rows.drop(columns=[LINE, "_column"]), declaration.id, declaration.target_columns)

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
        if spec.read.format == "hook" or hasattr(self.hook, "cells"):
            return None
        try:
            cells = self._cells(spec, role, raw)
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

    def _rows(self, role: str, spec: Input, raw) -> pd.DataFrame:
        cells = self._cells(spec, role, raw)
        if spec.read.format != "json":
            return self._rows_of(cells, role, spec, raw)
        try:
            return self._rows_of(cells, role, spec, raw)
        except SourceError as e:  # a JSON table's `LINE` is a record's position, not a line of the file
            raise readers.as_record_error(e) from None

    def _rows_of(self, cells: pd.DataFrame, role: str, spec: Input, raw) -> pd.DataFrame:
        stated_unit = cells.attrs.get("stated_unit")  # (unit, line, column letter) from a title cell
        if hasattr(self.hook, "cells"):
            cells = self.hook.cells(role, cells, raw)
        cells = self._dropped(cells, spec, raw.name, role)
        readers.require_columns(cells, [*spec.columns, *(c for b in spec.values for c in b.columns)],
                                file=raw.name, role=role)
        if spec.other_columns == "error":
            self._no_other_columns(cells, spec, raw.name, role)
        # a workbook's sheets one by one, so that an error names the sheet of its row
        parts = cells.groupby(readers.SHEET, sort=False) if readers.SHEET in cells else [(None, cells)]
        long = pd.concat([self._long(part, spec, raw, role, stated_unit, sheet=sheet) for sheet, part in parts],
                         ignore_index=True)
        self._unique(long, raw.name, role)
        return long.assign(snapshot=raw.sha256)

    def _long(self, cells: pd.DataFrame, spec: Input, raw, role: str, stated_unit, *, sheet) -> pd.DataFrame:
        """The values of the read cells (of one sheet) as rows in canonical units."""
        try:
            fields = pd.DataFrame({LINE: cells[LINE]})
            for column, how in spec.columns.items():
                for field, mapped in self._mapped(cells, column, how, raw.name, role).items():
                    fields[field] = mapped
            long = pd.concat([self._melted(cells, fields, block, raw.name) for block in spec.values], ignore_index=True)
            for field, value in spec.set.items():
                long[field] = value
            if stated_unit is not None:
                long = self._with_stated_unit(long, *stated_unit, file=raw.name)
            long["value"] = readers.parse_numbers(long["value"], long[LINE], spec.read.digit_grouping, file=raw.name,
                                                  column=long["_column"], role=role) if len(long) else long["value"]
            long = long[long["value"].notna()].reset_index(drop=True)
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
            hit = np.ones(len(cells), dtype=bool)
            for column, wanted in rule.where.items():
                hit &= cells[column].isin([wanted] if isinstance(wanted, str) else list(wanted)).to_numpy()
            if hit.sum() != rule.count:
                raise SourceError(
                    f"{int(hit.sum())} rows match the drop rule {dict(rule.where)} ({rule.reason}), "
                    f"the declaration expects {rule.count}", file=file,
                    hint=f"Review the rows; if dropping them is still right, update `count` of that rule under inputs.{role}.drop.",
                )
            cells = cells[~hit]
        return cells

    def _mapped(self, cells: pd.DataFrame, column: str, how: Column, file: str, role: str) -> dict[str, pd.Series]:
        text = cells[column]
        if how.codes is not None:
            mapped = self._coded(cells, column, how, file, role)
        elif how.map is not None or how.crosswalk is not None:
            tables = self._tables(how)
            known = next(iter(tables.values()))
            unknown = text.notna() & ~text.isin(list(known))
            where = how.crosswalk or f"inputs.{role}.columns.{column}.map"
            if unknown.any():
                values = list(dict.fromkeys(text[unknown]))
                at = unknown.to_numpy().argmax()
                raise SourceError(
                    f"unknown value{'s' if len(values) > 1 else ''} "
                    + ", ".join(shown(v) for v in values[:10]) + (" …" if len(values) > 10 else "")
                    + did_you_mean(values[0], known) + f", not in {where}",
                    file=file, row=int(cells[LINE].iloc[at]), column=readers.column_label(cells, column),
                    hint=f"After checking what it is, add it to {where} in the source's folder.",
                )
            mapped = {field: text.map(table) for field, table in tables.items()}
        else:
            mapped = {how.fields[0]: text}
        if how.parse in PERIODS:
            return self._period(mapped["year"], how.parse, cells[LINE], file, column, role)
        return {field: self._typed(values, field, how.parse, cells[LINE], file, column, role)
                for field, values in mapped.items()}

    def _tables(self, how: Column) -> dict[str, dict]:
        """{field: {source value: field value}} of the column's `crosswalk` or `map` ({} for neither)."""
        if how.crosswalk is not None:
            table = self.crosswalk(how.crosswalk)
            return {field: dict(zip(table[how.key], table[field])) for field in how.fields}
        return {how.fields[0]: how.map} if how.map is not None else {}

    def _coded(self, cells: pd.DataFrame, column: str, how: Column, file: str, role: str) -> dict[str, pd.Series]:
        """The column's areas through its code system, except the values its map or crosswalk lists
        (a retired code, an aggregate): those take the fields it gives (a `map` gives the first only)."""
        text, tables = cells[column], self._tables(how)
        exceptions = next(iter(tables.values()), {})
        listed = text.isin(list(exceptions))
        coded = readers.area_codes(text.where(~listed), cells[LINE], how.codes, listed=exceptions,
                                   names_file=self.folder / readers.COUNTRY_NAMES, file=file, column=column,
                                   exceptions=how.crosswalk or f"inputs.{role}.columns.{column}.map")
        return {field: text.map(tables[field]).where(listed, coded[field]) if field in tables else coded[field]
                for field in how.fields}

    def _no_other_columns(self, cells: pd.DataFrame, spec: Input, file: str, role: str) -> None:
        read = {*spec.columns, *(c for rule in spec.drop for c in rule.where)}
        for block in spec.values:
            read |= set(block.columns)
        for position, name in enumerate(c for c in cells.columns if c not in (LINE, readers.SHEET)):
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
    def _period(text: pd.Series, parse: str, lines, file: str, column: str, role: str) -> dict[str, pd.Series]:
        if parse == "year_month":
            year, month = readers.parse_year_months(text, lines, file=file, column=column, role=role)
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

    def _melted(self, cells: pd.DataFrame, fields: pd.DataFrame, block: Values, file: str) -> pd.DataFrame:
        if block.pattern:
            matched = [c for c in cells.columns if c != LINE and re.fullmatch(block.pattern, c)]
            if not matched:
                raise SourceError(f"no column header matches {block.pattern!r}", file=file, row=1,
                                  hint="Declare the pattern the headers follow under `values`.")
        else:
            matched = list(block.columns)
        parts = []
        for column in matched:
            # a pattern's group, if it has one, is the part of the header that matters ('Value 1990': 1990)
            found = re.fullmatch(block.pattern, column) if block.pattern else None
            name = found.group(1) if found and found.re.groups else column
            part = fields.assign(value=cells[column].to_numpy(), _column=readers.column_label(cells, column, name),
                                 **block.set)
            if block.header:
                header = pd.Series([name] * len(part), index=part.index)
                part[block.header] = self._typed(header, block.header, None, part[LINE], file, column, "")
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

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
            raise SourceError(f"unknown {measure} {unknown[0]!r}{did_you_mean(unknown[0], units)}", file=file,
                              hint=f"Use a {measure} of the field registry (ercan/schema.py) in the declaration.")
        target = long[measure].map(units)
        values = long["value"].to_numpy(copy=True)
        for (source_unit, canonical), rows in long.groupby([long["unit"], target]).groups.items():
            at = long.index.get_indexer(rows)
            try:
                values[at] = convert(values[at], source_unit, canonical)
            except SourceError as e:
                if unit_column is not None:  # the file's own unit text, not a declared unit: the fix is a mapping
                    e.hint = (f"If the text is a unit written otherwise, map it under inputs.{role}.columns."
                              f"{unit_column}.map (a unit ercan does not know yet is defined in ercan/units.txt).")
                raise e.located(file=file, row=int(long[LINE].iloc[at[0]]),
                                column=unit_column or long["_column"].iloc[at[0]]) from None
        return long.assign(value=values, unit=target)
