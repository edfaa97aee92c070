"""What a file's name and a companion metadata file state about it (ercan.declaration.Input): the id
its name carries (`named_for`), and the unit of each of its columns (`units_stated_by`)."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field

from ercan.errors import SourceError, did_you_mean


class NamedFor(BaseModel):
    """The id a file's name carries (FLUXNET's validation_DE-Hai.csv, an inventory's NIR_DEU_2023.xlsx):
    each whole-word match of `pattern` in the landing file's name must be `value` (no match: read)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    pattern: re.Pattern  # the ids of files of this kind, e.g. '[A-Z]{2}-[A-Za-z0-9]{3}'
    value: str
    what: str  # what the id is, for the message: 'FLUXNET site'


def check_named_for(rule: NamedFor, name: str, declared_file: str, *, role: str) -> None:
    found = re.findall(rf"(?<![A-Za-z0-9])(?:{rule.pattern.pattern})(?![A-Za-z0-9])", name)
    others = sorted(set(found) - {rule.value})
    if others:
        raise SourceError(
            f"is named for {rule.what} {others[0]!r}, but the declaration reads {rule.what} {rule.value!r}", file=name,
            hint=f"Ingest the file of {rule.what} {rule.value} ({declared_file}); if this file is meant, declare its id "
                 f"under inputs.{role}.named_for.value.")


class UnitsStatedBy(BaseModel):
    """A companion metadata file (a frictionless or OWID datapackage.json) stating each column's unit:
    every value column read must be described there as its declared unit is stated (`units`), so a
    re-release in other units is an error naming the field rather than a silent factor."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input: str  # the companion file's role, declared with `read: {format: companion}`
    fields: str = "resources.schema.fields"  # dotted path to the field descriptions (a list on the way: each item)
    name: str = "name"  # the key of a description holding its column's header
    stated: tuple[str, ...] = Field(min_length=1)  # dotted paths in a description (a JSON text on the way is read)
    units: dict[str, tuple[str | int | float, ...]]  # a declared unit -> what `stated` holds for it


def column_units(spec) -> dict[str, str | None]:
    """{value column: the unit the declaration reads it in} of an input's (named) values blocks."""
    return {column: block.set.get("unit", spec.set.get("unit")) for block in spec.values for column in block.columns}


def check_stated_units(rule: UnitsStatedBy, units: dict[str, str], raw, *, data_file: str, role: str) -> None:
    again = f"Ingest the {raw.name} of the same release as {data_file!r}."
    try:
        with raw.open() as f:
            described = {d.get(rule.name): d for d in _at(json.load(f), rule.fields.split(".")) if isinstance(d, dict)}
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SourceError(f"is not JSON ({e})", file=raw.name, hint=again) from None
    for column, unit in units.items():
        if column not in described:
            raise SourceError(f"field {column!r} is not described at {rule.fields}{did_you_mean(column, described)}",
                              file=raw.name, column=column, hint=again)
        stated = tuple(next(iter(_at(described[column], path.split("."))), None) for path in rule.stated)
        if stated != rule.units[unit]:
            raise SourceError(
                f"field {column!r} states " + ", ".join(f"{p} {v!r}" for p, v in zip(rule.stated, stated))
                + f", but the declaration reads its values as {unit!r} (stated as "
                + ", ".join(map(repr, rule.units[unit])) + ")", file=raw.name, column=column,
                hint=f"If the publisher changed the column's unit: check it, then declare the new unit under "
                     f"inputs.{role}.values and how {raw.name} states it under inputs.{role}.units_stated_by.units.")


def _at(item, keys: list[str]) -> list:
    """Every value at the path of `keys`: a list on the way stands for each of its items, a JSON text
    for what it holds (OWID's owidDisplaySettings), a missing key for nothing."""
    if isinstance(item, str) and keys:
        try:
            item = json.loads(item)
        except json.JSONDecodeError:
            return []
    if isinstance(item, list):
        return [found for each in item for found in _at(each, keys)]
    if not keys:
        return [item]
    return _at(item[keys[0]], keys[1:]) if isinstance(item, dict) and keys[0] in item else []
