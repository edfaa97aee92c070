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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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

    format: Literal["csv"] = "csv"
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    comment: str | None = None  # lines starting with it are skipped (a preamble, notes)
    skip_rows: int = Field(0, ge=0)  # lines before the header (a title)
    header_rows: int = Field(1, ge=1)
    footer_rows: int = Field(0, ge=0)
    na: tuple[str, ...] = ()  # cells that mean "no value" (besides an empty cell)
    digit_grouping: Literal["none", "thousands", "lakh", "european", "space"] = "none"


class Column(_Model):
    """What one source column carries: a schema field, optionally through a code mapping."""

    to: str | tuple[str, ...]  # the schema field(s); several only through a crosswalk
    parse: Literal["text", "year", "number"] | None = None  # default: by the field's type
    map: dict[str, str] | None = None  # inline source value -> field value
    crosswalk: str | None = None  # a CSV beside the declaration: `key` column -> the `to` columns
    key: str = "name"

    @model_validator(mode="after")
    def _one_mapping(self):
        if self.map is not None and self.crosswalk is not None:
            raise ValueError("declare either `map` or `crosswalk`, not both")
        if isinstance(self.to, tuple) and self.crosswalk is None:
            raise ValueError("several `to` fields need a `crosswalk` giving each")
        return self

    @property
    def fields(self) -> tuple[str, ...]:
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
    values: tuple[Values, ...]
    set: dict[str, str | int | float | None] = Field(default_factory=dict)
    drop: tuple[Drop, ...] = ()


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
        return self

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
        for module in (readers, __import__(__name__, fromlist=["_"])):
            digest.update(Path(module.__file__).read_bytes())
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
        return pd.read_csv(self.folder / name, dtype=str, keep_default_na=False)

    def harmonize(self, files) -> pa.Table:
        declaration = self.declaration
        frames = []
        for role, spec in declaration.inputs.items():
            if role not in files:
                raise SourceError(f"no file for role {role!r}", hint=f"Ingest the file for role {role!r}.")
            frames.append(self._rows(role, spec, files[role]))
        rows = pd.concat(frames, ignore_index=True)
        if hasattr(self.hook, "rows"):
            rows = self.hook.rows(rows, files)
        return finish(rows.drop(columns=[LINE, "_column"]), declaration.id, declaration.target_columns)

    def _rows(self, role: str, spec: Input, raw) -> pd.DataFrame:
        with raw.open() as f:
            cells = readers.read_csv_cells(f.read(), spec.read, file=raw.name, role=role)
        if hasattr(self.hook, "cells"):
            cells = self.hook.cells(role, cells, raw)
        cells = self._dropped(cells, spec, raw.name, role)
        readers.require_columns(cells, [*spec.columns, *(c for b in spec.values for c in b.columns)],
                                file=raw.name, role=role)
        fields = pd.DataFrame({LINE: cells[LINE]})
        for column, how in spec.columns.items():
            for field, mapped in self._mapped(cells, column, how, raw.name, role).items():
                fields[field] = mapped
        long = pd.concat([self._melted(cells, fields, block, raw.name) for block in spec.values], ignore_index=True)
        for field, value in spec.set.items():
            long[field] = value
        long["value"] = readers.parse_numbers(long["value"], long[LINE], spec.read.digit_grouping, file=raw.name,
                                              column=long["_column"], role=role) if len(long) else long["value"]
        long = long[long["value"].notna()].reset_index(drop=True)
        long = self._in_canonical_units(long, raw.name, role)
        self._unique(long, raw.name, role)
        return long.assign(snapshot=raw.sha256)

    def _unique(self, long: pd.DataFrame, file: str, role: str) -> None:
        """One value per key of the product (schema.OBSERVATION_KEY / REFERENCE_KEY): a repeat is an
        error naming both lines, here where the lines are known, rather than a key check in the gate."""
        key = [c for c in (schema.OBSERVATION_KEY if self.declaration.product == "observations"
                           else schema.REFERENCE_KEY) if c in long and c != "source"]
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
        if how.map is not None or how.crosswalk is not None:
            if how.crosswalk is not None:
                table = self.crosswalk(how.crosswalk)
                tables = {field: dict(zip(table[how.key], table[field])) for field in how.fields}
            else:
                tables = {how.fields[0]: how.map}
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
                    file=file, row=int(cells[LINE].iloc[at]), column=column,
                    hint=f"After checking what it is, add it to {where} in the source's folder.",
                )
            mapped = {field: text.map(table) for field, table in tables.items()}
        else:
            mapped = {how.fields[0]: text}
        return {field: self._typed(values, field, how.parse, cells[LINE], file, column, role)
                for field, values in mapped.items()}

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
            part = fields.assign(value=cells[column].to_numpy(), _column=column, **block.set)
            if block.header:
                header = pd.Series([column] * len(part), index=part.index)
                part[block.header] = self._typed(header, block.header, None, part[LINE], file, column, "")
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def _in_canonical_units(self, long: pd.DataFrame, file: str, role: str) -> pd.DataFrame:
        """`unit` holds the source's unit until here; values become the variable's (or parameter's)
        canonical unit through pint."""
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
                raise e.located(file=file, row=int(long[LINE].iloc[at[0]]), column=long["_column"].iloc[at[0]]) from None
        return long.assign(value=values, unit=target)
