"""A failed expectation in the steward's words: the one text that every place showing a gate failure
shows (the `reason` of its row in `quality`, the source's or product's quarantine reason in its state,
`ercan sources`, the HTML report and the Prefect run's message).

It reads, severity first: what the rule is in words (the bound and its unit, the column, the rows it
applies to), the suite's own explanation (its `meta.why`), then GX's count and examples, and every
offending row up to a limit, each by what it is (area, year, variable) and where its value was read
(raw file, line, original column), with how many more there are. For example (tests/test_failure_words.py):

    critical: value must be at least 0 ha (an area cannot be negative) — fra2015: expect_column_values_
    to_be_between on column 'value' failed for 2 of 1165 rows (e.g. -4954000.0, -420.0; row 1: MAR 1990
    area (read at fra-2015-forest-areas.csv, line 3, column 1990); row 235: ABW 2000 area (read at
    fra-2015-forest-areas.csv, line 4, column 2000))

GX's type and count stay in the text, so a steward who knows GX's Data Docs finds the same check there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

SEVERITY_ORDER = ("critical", "warning", "info")  # the order failures are listed in
_SHOWN_VALUES = 8  # of a value set or column list in the rule's words


@dataclass(frozen=True)
class Row:
    """An offending row: its 1-based position in the validated rows, what it is (e.g. "MAR 1990 area"),
    the unit of its value and where the value was read ("file.csv, line 3, column 1990"), where known."""

    position: int
    what: str
    unit: str | None = None
    read_at: str | None = None

    def __str__(self) -> str:
        return f"row {self.position}: {self.what}" + (f" (read at {self.read_at})" if self.read_at else "")


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def failure(*, severity: str, suite: str, expectation: str, kwargs: dict, why: str | None, observed, column: str | None,
            element_count: int, unexpected_count: int, examples: list, rows: list[int], located: list[Row]) -> str:
    """The failure in words. `rows` are the first offending rows' positions (GX's), `located` the same rows
    named (none where the rows cannot be named: they are then given by position); `observed` is what GX
    found of an expectation on the table or a column as a whole (no row breaks it alone)."""
    units = {r.unit for r in located if r.unit}
    rule_text = rule(expectation, kwargs, units.pop() if len(units) == 1 else None)
    explained = f" ({why})" if why else ""
    where = f" on column {column!r}" if column else ""
    details = [f"e.g. {', '.join(repr(x) for x in examples)}"] if examples else []
    if located or rows:
        details.append("; ".join(str(r) for r in located) if located else f"rows {rows}")
        more = unexpected_count - len(located or rows)
        details[-1] += f"; and {more} more row{'s' if more > 1 else ''}" if more > 0 else ""
    if not details:  # on the table or a column as a whole
        what_was = found(expectation, kwargs, observed)
        return (f"{severity}: {rule_text}{explained} — {suite}: {expectation}{where} failed on the {element_count} "
                "rows checked" + (f" ({what_was})" if what_was else ""))
    return (f"{severity}: {rule_text}{explained} — {suite}: {expectation}{where} failed for {unexpected_count} of "
            f"{element_count} rows ({'; '.join(details)})")


def found(expectation: str, kwargs: dict, observed: dict | None) -> str | None:
    """What GX found (its result's `observed_value`, `partial_missing_list`) where an expectation on the
    table or a column as a whole failed: e.g. "missing: ANT", "found 3 rows"."""
    observed = observed or {}
    missing, value = observed.get("partial_missing_list"), observed.get("observed_value")
    if expectation in ("expect_column_distinct_values_to_contain_set", "expect_column_distinct_values_to_equal_set"):
        wanted = list(kwargs["value_set"])
        missing = missing or ([v for v in wanted if v not in value] if isinstance(value, list) else None)
        extra = [v for v in value if v not in wanted] if expectation.endswith("equal_set") and isinstance(value, list) else []
        parts = ([f"missing: {_listed(missing)}"] if missing else []) + ([f"also found: {_listed(extra)}"] if extra else [])
        return "; ".join(parts) or None
    if value is None:
        return f"missing: {_listed(missing)}" if missing else None
    if expectation == "expect_table_row_count_to_be_between":
        return f"found {value} rows"
    return f"found {_listed(value) if isinstance(value, list) else value}"


def rule(expectation: str, kwargs: dict, unit: str | None = None) -> str:
    """What the expectation asks, in words: e.g. "value must be between 0 and 1e9 ha where area_level ==
    'national'". GX's own type and arguments for a type without words here."""
    column = kwargs.get("column")
    words = {
        "expect_column_values_to_be_between": lambda: f"{column} must be {_bounds(kwargs, unit)}",
        "expect_column_values_to_not_be_null": lambda: f"{column} must be given",
        "expect_column_values_to_be_null": lambda: f"{column} must be empty",
        "expect_column_values_to_be_in_set": lambda: f"{column} must be one of {_listed(kwargs['value_set'])}",
        "expect_column_values_to_not_be_in_set": lambda: f"{column} must not be any of {_listed(kwargs['value_set'])}",
        "expect_column_values_to_match_regex": lambda: f"{column} must match {kwargs['regex']}",
        "expect_column_values_to_be_unique": lambda: f"each {column} must occur once",
        "expect_column_distinct_values_to_contain_set":
            lambda: f"{column} must include each of {_listed(kwargs['value_set'])}",
        "expect_column_distinct_values_to_equal_set":
            lambda: f"{column} must take exactly the values {_listed(kwargs['value_set'])}",
        "expect_column_distinct_values_to_be_in_set":
            lambda: f"{column} must take no value but {_listed(kwargs['value_set'])}",
        "expect_column_pair_values_to_be_in_set":
            lambda: (f"each {kwargs['column_A']} must come with its own {kwargs['column_B']} "
                     f"({len(kwargs['value_pairs_set'])} allowed pairs)"),
        "expect_column_pair_values_to_be_equal": lambda: f"{kwargs['column_A']} must equal {kwargs['column_B']}",
        "expect_column_pair_values_a_to_be_greater_than_b":
            lambda: (f"{kwargs['column_A']} must be {'at least' if kwargs.get('or_equal') else 'greater than'} "
                     f"{kwargs['column_B']}"),
        "expect_compound_columns_to_be_unique":
            lambda: f"each combination of {', '.join(kwargs['column_list'])} must occur once",
        "expect_table_columns_to_match_ordered_list":
            lambda: f"the columns must be, in order, {_listed(kwargs['column_list'])}",
        "expect_table_row_count_to_be_between": lambda: f"the number of rows must be {_bounds(kwargs, None)}",
    }
    text = words[expectation]() if expectation in words else _as_given(expectation, kwargs)
    if kwargs.get("mostly") not in (None, 1, 1.0):
        text += f" in at least {kwargs['mostly']:.0%} of the rows"
    condition = kwargs.get("row_condition")
    return text + (f" where {_condition(condition)}" if condition else "")


def _bounds(kwargs: dict, unit: str | None) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    above = "above" if kwargs.get("strict_min") else "at least"
    below = "below" if kwargs.get("strict_max") else "at most"
    unit_text = f" {unit}" if unit else ""
    if low is not None and high is not None:
        if kwargs.get("strict_min") or kwargs.get("strict_max"):
            return f"{above} {_number(low)} and {below} {_number(high)}{unit_text}"
        return f"between {_number(low)} and {_number(high)}{unit_text}"
    if low is not None:
        return f"{above} {_number(low)}{unit_text}"
    return f"{below} {_number(high)}{unit_text}" if high is not None else "anything"


def _number(value) -> str:
    """A bound as a steward reads it: 0, 1850, 0.5, 1e9 (not 1000000000.0)."""
    if isinstance(value, dict):  # an unresolved suite parameter
        return f"the {value.get('$PARAMETER', value)}"
    if isinstance(value, (int, float)) and float(value).is_integer() and abs(value) < 1e5:
        return str(int(value))
    return f"{value:.6g}".replace("e+0", "e").replace("e+", "e") if isinstance(value, (int, float)) else str(value)


def _listed(values) -> str:
    if isinstance(values, dict):  # an unresolved suite parameter
        return f"the {values.get('$PARAMETER', values)}"
    values = list(values)
    shown = ", ".join(str(v) for v in values[:_SHOWN_VALUES])
    return shown + (f", … ({len(values)} in all)" if len(values) > _SHOWN_VALUES else "")


def _condition(condition) -> str:
    """A row condition (GX's JSON form, or a pandas query string) in words."""
    if isinstance(condition, str):
        return condition
    if "conditions" in condition:
        parts = [_condition(c) for c in condition["conditions"]]
        return "(" + f" {condition.get('type', 'and')} ".join(parts) + ")"
    return f"{condition['column']['name']} {condition['operator']} {condition['parameter']!r}"


def _as_given(expectation: str, kwargs: dict) -> str:
    arguments = {k: v for k, v in kwargs.items() if k not in ("batch_id", "row_condition", "condition_parser")}
    return f"{expectation} {json.dumps(arguments, default=str, ensure_ascii=False)}"


# Where one failure ends in a reason (validation.Report.reason): the next one starts with its severity.
_NEXT_FAILURE = re.compile(r"; (?=(?:critical|warning): )")


def first_failures(reason: str, limit: int = 600) -> str:
    """The reason's first failures, each whole (in the words of `quality` and `ercan sources`), as many as
    fit in `limit` characters, and how many more there are."""
    failures = _NEXT_FAILURE.split(reason)
    shown = failures[:1]
    for failure in failures[1:]:
        if len("; ".join([*shown, failure])) > limit:
            break
        shown.append(failure)
    rest = len(failures) - len(shown)
    return "; ".join(shown) + (f"; … and {rest} more failure(s): `ercan sources` lists them" if rest else "")

