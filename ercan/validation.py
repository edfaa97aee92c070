"""Data-quality gates: Great Expectations suites stored as JSON files in `expectations/`.

Every source's harmonized rows are validated against two suites: `schema.json`, generated from the
field registry (columns, types, vocabularies, units per variable, the observation key), and the
source's own `<source>.json` (what is particular to it: codes, ranges, completeness). Each
expectation carries GX's own `severity`: a failed `critical` one quarantines the source; a failed
`warning` one is reported in `quality` and the run goes on.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from ercan import schema
from ercan.sources import EXPECTATIONS

SCHEMA_SUITE = EXPECTATIONS / "schema.json"
_EXAMPLES = 5


def schema_suite() -> dict:
    """The schema expectations, generated from the field registry (written to expectations/schema.json)."""
    expectations = [
        {
            "type": "expect_table_columns_to_match_ordered_list",
            "kwargs": {"column_list": list(schema.OBSERVATION_COLUMNS)},
        }
    ]
    for f in schema.FIELDS.values():
        if not f.nullable:
            expectations.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": f.name}})
        if f.allowed:
            expectations.append(
                {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": f.name, "value_set": list(f.allowed)}}
            )
        if f.min_value is not None or f.max_value is not None:
            expectations.append(
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": f.name, "min_value": f.min_value, "max_value": f.max_value},
                }
            )
    expectations += [
        {
            "type": "expect_column_pair_values_to_be_in_set",
            "kwargs": {
                "column_A": "variable",
                "column_B": "unit",
                "value_pairs_set": [list(pair) for pair in schema.VARIABLE_UNITS.items()],
            },
        },
        {
            # "never": rows with nulls in some key columns (pool, category) still count as keys.
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {"column_list": list(schema.OBSERVATION_KEY), "ignore_row_if": "never"},
        },
    ]
    for e in expectations:
        e["severity"] = "critical"
        e["meta"] = {"generated_from": "ercan/schema.py"}
    return {"name": "schema", "expectations": expectations, "meta": {"generated_from": "ercan/schema.py"}}


def render_schema_suite() -> str:
    return json.dumps(schema_suite(), indent=2, ensure_ascii=False) + "\n"


def load_suite(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Outcome:
    """One expectation's result, as a row of the `quality` product."""

    suite: str
    position: int  # the expectation's place in its suite: with `suite`, its identity
    expectation: str
    column: str | None
    severity: str
    success: bool
    element_count: int
    unexpected_count: int
    unexpected_examples: list = field(default_factory=list)
    unexpected_rows: list = field(default_factory=list)  # 1-based positions in the validated rows

    def describe(self) -> str:
        examples = ", ".join(repr(x) for x in self.unexpected_examples[:_EXAMPLES])
        where = f" on column {self.column!r}" if self.column else ""
        return (
            f"{self.suite}: {self.expectation}{where} failed for {self.unexpected_count} of "
            f"{self.element_count} rows (e.g. {examples}; rows {self.unexpected_rows[:_EXAMPLES]})"
        )


@dataclass
class Report:
    outcomes: list[Outcome]

    @property
    def critical_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    def reason(self) -> str:
        return "; ".join(o.describe() for o in self.critical_failures)

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {**o.__dict__, "unexpected_examples": json.dumps(o.unexpected_examples, default=str, ensure_ascii=False)}
            for o in self.outcomes
        ]
        return pd.DataFrame(rows).drop(columns=["unexpected_rows"]).rename(columns={"column": "column_name"})


@cache
def _context():
    import great_expectations as gx  # ~3 s to import: only when a gate actually runs
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


# One ephemeral GX context serves the whole process; it is not safe to use from two threads.
_GX_LOCK = threading.Lock()


def validate(df: pd.DataFrame, suites: list[dict], name: str) -> Report:
    """Evaluate the suites on `df` with GX and collect every expectation's outcome."""
    with _GX_LOCK:
        return _validate(df, suites, name)


# GX's pandas engine checks a column pair row by row in Python (DataFrame.iterrows: about two
# minutes per million rows). The outcome depends only on which pairs occur, so GX is given each
# distinct pair once and the counts are taken back to rows (_PairRows).
_DISTINCT_PAIRS = {"expect_column_pair_values_to_be_in_set"}


@dataclass
class _PairRows:
    """The distinct (A, B) pairs of the validated rows: how many rows and the first row of each."""

    frame: pd.DataFrame
    rows: pd.Series
    first: pd.Series

    @classmethod
    def of(cls, df: pd.DataFrame, column_a: str, column_b: str) -> "_PairRows":
        positions = pd.DataFrame({"A": df[column_a], "B": df[column_b], "at": range(len(df))})
        grouped = positions.groupby(["A", "B"], dropna=False, sort=False)["at"].agg(["size", "min"]).reset_index()
        frame = grouped[["A", "B"]].rename(columns={"A": column_a, "B": column_b})
        return cls(frame, grouped["size"], grouped["min"])


def _validate(df: pd.DataFrame, suites: list[dict], name: str) -> Report:
    context = _context()
    source = context.data_sources.add_or_update_pandas(f"rows_{name}")
    asset = source.add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name)
    outcomes = []
    for suite_dict in suites:
        on_pairs = [e for e in suite_dict["expectations"] if e["type"] in _DISTINCT_PAIRS and "row_condition" not in e["kwargs"]]
        by_row = [e for e in suite_dict["expectations"] if e not in on_pairs]
        outcomes += _run(context, batch, suite_dict, by_row, f"{name}.{suite_dict['name']}", df)
        for i, expectation in enumerate(on_pairs):
            pairs = _PairRows.of(df, expectation["kwargs"]["column_A"], expectation["kwargs"]["column_B"])
            outcomes += _run(context, batch, suite_dict, [expectation], f"{name}.{suite_dict['name']}.pairs{i}",
                             pairs.frame, pairs)
    return Report(outcomes)


def _run(context, batch, suite_dict: dict, expectations: list[dict], suite_name: str, df: pd.DataFrame,
         pairs: _PairRows | None = None) -> list[Outcome]:
    """Run these expectations of `suite_dict` on `df` with GX; with `pairs`, df is the distinct pairs
    and counts and row numbers are taken back to the validated rows."""
    import great_expectations as gx

    outcomes = []
    if not expectations:
        return outcomes
    suite_config = {k: v for k, v in suite_dict.items() if k != "id"}
    suite = gx.ExpectationSuite(**{**suite_config, "name": suite_name, "expectations": expectations})
    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": df},
        result_format={"result_format": "COMPLETE", "partial_unexpected_count": _EXAMPLES},
    )
    for r in result.results:
        config = r.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or kwargs.get("column_A") or ",".join(kwargs.get("column_list", [])) or None
        raised = r.exception_info.get("raised_exception") if isinstance(r.exception_info, dict) else False
        unexpected = r.result.get("partial_unexpected_list") or []
        if raised:
            unexpected = [r.exception_info.get("exception_message")]
        element_count = int(r.result.get("element_count") or len(df))
        unexpected_count = int(r.result.get("unexpected_count") or (0 if r.success else len(df)))
        unexpected_rows = [int(i) for i in (r.result.get("unexpected_index_list") or [])]
        if pairs is not None:
            element_count = int(pairs.rows.sum())
            unexpected_count = element_count if raised else int(pairs.rows.iloc[unexpected_rows].sum())
            unexpected_rows = [] if raised else sorted(int(pairs.first.iloc[i]) for i in unexpected_rows)
        outcomes.append(
            Outcome(
                suite=suite_dict["name"],
                position=_position(suite_dict, config),
                expectation=config.type,
                column=column,
                severity=str(getattr(config.severity, "value", config.severity)),
                success=bool(r.success),
                element_count=element_count,
                unexpected_count=unexpected_count,
                unexpected_examples=[_plain(x) for x in unexpected[:_EXAMPLES]],
                unexpected_rows=[i + 1 for i in unexpected_rows[:_EXAMPLES]],
            )
        )
    return outcomes


def _position(suite_dict: dict, config) -> int:
    """Where this result's expectation stands in the suite file (GX returns results unordered)."""
    for i, expectation in enumerate(suite_dict["expectations"]):
        if expectation["type"] == config.type and all(
            _plain(config.kwargs.get(k)) == _plain(v) for k, v in expectation["kwargs"].items()
        ):
            return i
    return -1


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value
