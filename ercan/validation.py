"""Data-quality gates: Great Expectations suites stored as JSON files in `expectations/`.

Every source's harmonized rows are validated against two suites: `schema.json`, generated from the
field registry (columns, types, vocabularies, units per variable, the observation key), and the
source's own `<source>.json` (what is particular to it: codes, ranges, completeness). Every product
is validated the same way before it is published (`ercan/product_gates.py`): the generated
`products/<product>.schema.json` and, where present, `products/<product>.json`. Each expectation
carries GX's own `severity`: a failed `critical` one quarantines the source (withholds the
product); a failed `warning` one is reported in `quality` and the run goes on. docs/quality.md
says which is which and why; each expectation's `meta.why` says why it holds (every suite has one,
the generated suites too). A failure is told in words by ercan/failure_words.py, its rows named by
`placed` (area, year, variable, and the raw file's line and column where the harmonizer says).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ercan import failure_words, relations, schema
from ercan.errors import ConfigError
from ercan.failure_words import Row
from ercan.publish import PRODUCTS
from ercan.dictionaries import unified
from ercan.reductions import UNIQUENESS, Values, repeated, rows_at, value_wise, values_of
from ercan.sources import EXPECTATIONS
from ercan.storage import Storage

SCHEMA_SUITE = EXPECTATIONS / "schema.json"
PRODUCT_SUITES = EXPECTATIONS / "products"
_EXAMPLES = 5


def schema_suite() -> dict:
    """The schema expectations, generated from the field registry (written to expectations/schema.json)."""
    return registry_suite("schema", schema.OBSERVATION_COLUMNS, schema.OBSERVATION_KEY, "ercan/schema.py")


def product_schema_suite(product: str) -> dict:
    """A product's schema expectations, generated from the registry and the product's columns and key in
    ercan/publish.py (written to expectations/products/<product>.schema.json)."""
    spec = PRODUCTS[product]
    return registry_suite(f"{product}.schema", spec.columns, spec.key, "ercan/schema.py, ercan/publish.py")


def _fields(columns) -> list[schema.Field]:
    """The registry's field of each column. A table of reference factors (it has `parameter`) takes the
    reference fields: their `unit` has the factors' own vocabulary."""
    reference = "parameter" in columns
    return [(schema.REFERENCE_FIELDS if reference and c in schema.REFERENCE_FIELDS else schema.ALL_FIELDS)[c]
            for c in columns]


def product_schema_path(product: str) -> Path:
    return PRODUCT_SUITES / f"{product}.schema.json"


def generated_suites() -> dict[Path, str]:
    """Every suite file generated from the registry, with its text (what `ercan generate` writes)."""
    return {
        SCHEMA_SUITE: render_suite(schema_suite()),
        **{product_schema_path(p): render_suite(product_schema_suite(p)) for p in PRODUCTS},
    }


def registry_suite(name: str, columns, key, generated_from: str) -> dict:
    """Columns in order, required fields, vocabularies and ranges, units per variable and the unique key
    of a table with these registry columns: everything the field registry knows, all critical."""
    expectations = [
        {
            "type": "expect_table_columns_to_match_ordered_list",
            "kwargs": {"column_list": list(columns)},
            "why": "the registry's columns in its order (ercan/schema.py): what reads the rows relies on each",
        }
    ]
    for f in _fields(columns):
        if not f.nullable:
            expectations.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": f.name},
                                 "why": f"every row needs its {f.name}: {f.description}"})
        if f.allowed:
            expectations.append(
                {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": f.name, "value_set": list(f.allowed)},
                 "why": f"{f.name} is a controlled vocabulary of the registry (ercan/schema.py): {f.description}"}
            )
        if f.min_value is not None or f.max_value is not None:
            expectations.append(
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": f.name, "min_value": f.min_value, "max_value": f.max_value},
                    "why": f"the registry's range of {f.name} (ercan/schema.py): {f.description}",
                }
            )
    for what, units in (("variable", schema.VARIABLE_UNITS), ("parameter", schema.REFERENCE_PARAMETERS)):
        if {what, "unit"} <= set(columns):
            expectations.append(
                {
                    "type": "expect_column_pair_values_to_be_in_set",
                    "kwargs": {
                        "column_A": what,
                        "column_B": "unit",
                        "value_pairs_set": [list(pair) for pair in units.items()],
                    },
                    "why": f"each {what} has one canonical unit (ercan/schema.py): a value in another unit was "
                           "not converted",
                }
            )
    bounds = []
    if {"variable", "value"} <= set(columns):
        bounds = [_variable_bounds(variable, *bound) for variable, bound in schema.VARIABLE_BOUNDS.items()]
    expectations.append(
        {
            # "never": rows with nulls in some key columns (pool, category) still count as keys.
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {"column_list": list(key), "ignore_row_if": "never"},
            "why": "one row per key: a repeated key is a duplicated or contradictory row",
        }
        if len(key) > 1 else  # (GX's compound check wants two columns or more: a key of one, `areas`')
        {
            "type": "expect_column_values_to_be_unique",
            "kwargs": {"column": key[0]},
            "why": f"one row per {key[0]}: a repeated one is a duplicated or contradictory row",
        }
    )
    for e in expectations:
        e["severity"] = "critical"
        e["meta"] = {"generated_from": generated_from, "why": e.pop("why")}
    for e in bounds:
        e["severity"] = "critical"
        e["meta"] = {"generated_from": "ercan/schema.py VARIABLE_BOUNDS", "why": e.pop("why")}
    related = [*(_relation(r) for r in schema.RELATIONS.values()), *_members_within_factor()] \
        if tuple(columns) == schema.OBSERVATION_COLUMNS else []
    return {"name": name, "expectations": expectations + bounds + related, "meta": {"generated_from": generated_from}}


def _members_within_factor() -> list[dict]:
    """The sum of a source's members within schema.MEMBERS_FACTOR of the aggregate it reports (below it
    only where every member reported), on the frame of ratios ercan/relations.py forms."""
    factor, column = schema.MEMBERS_FACTOR, relations.MEMBERS_TO_AGGREGATE
    meta = {"generated_from": "ercan/schema.py MEMBERS_FACTOR", "relation": column, "why": schema.MEMBERS_WHY}
    complete = {"column": {"name": "coverage"}, "operator": "==", "parameter": "complete", "type": "comparison"}
    return [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": column, "max_value": factor},
         "severity": "critical", "meta": meta},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": column, "min_value": 1 / factor, "row_condition": complete},
         "severity": "critical", "meta": meta},
    ]


def _relation(relation: schema.Relation) -> dict:
    """A relation of the registry (schema.RELATIONS) as a critical expectation on the frame of the values
    it pairs (ercan/relations.py): `meta.relation` tells `validate` to evaluate it on that frame."""
    return {
        "type": "expect_column_pair_values_a_to_be_greater_than_b",
        "kwargs": {"column_A": relation.greater_name, "column_B": relation.lesser_name, "or_equal": True},
        "severity": "critical",
        "meta": {"generated_from": "ercan/schema.py RELATIONS", "relation": relation.name, "why": relation.why},
    }


def _variable_bounds(variable: str, low: float, high: float, why: str) -> dict:
    """A variable's physically possible range (schema.VARIABLE_BOUNDS), checked on its rows."""
    return {
        "type": "expect_column_values_to_be_between",
        "kwargs": {
            "column": "value", "min_value": low, "max_value": high,
            "row_condition": {"column": {"name": "variable"}, "operator": "==", "parameter": variable,
                              "type": "comparison"},
        },
        "why": f"{variable} ({schema.VARIABLE_UNITS[variable]}): {why}",
    }


def suite_sha256(path: Path) -> str:
    """What a suite file's verdicts depend on: its bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render_suite(suite: dict) -> str:
    return json.dumps(suite, indent=2, ensure_ascii=False) + "\n"


def load_suite(path: Path) -> dict:
    """The suite in `path`, every expectation type known to GX: GX itself logs an unknown type and
    drops the expectation, so a typo would silently weaken a gate."""
    # The package first: its import lock makes this thread wait for another thread's import of GX to
    # finish (the flow gates sources in threads); the registry module alone is in sys.modules early and
    # would list only the expectations defined so far.
    import great_expectations  # noqa: F401
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    suite = json.loads(path.read_text(encoding="utf-8"))
    known = list_registered_expectation_implementations()
    for position, expectation in enumerate(suite["expectations"]):
        if expectation["type"] not in known:
            closest = difflib.get_close_matches(expectation["type"], known, n=1)
            hint = f"did you mean '{closest[0]}'?" if closest else "see GX's expectation gallery for the names"
            raise ConfigError(f"suite {path.name}, expectation {position}: GX has no expectation "
                              f"'{expectation['type']}'; {hint}")
    return suite


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
    kwargs: dict = field(default_factory=dict)  # the expectation's arguments, as GX ran it (parameters resolved)
    why: str | None = None  # the suite's explanation of the expectation (its meta.why)
    observed: dict | None = None  # what GX found (_OBSERVED), for an expectation on the table or a column as a whole
    located: list[Row] = field(default_factory=list)  # the unexpected rows named (`placed`), where known

    def describe(self, place: Callable[[list[int]], list[Row]] | None = None) -> str:
        """In words (ercan/failure_words.py); `place` names the rows by their positions (`placed`)."""
        located = self.located_by(place).located
        return failure_words.failure(
            severity=self.severity, suite=self.suite, expectation=self.expectation, kwargs=self.kwargs,
            why=self.why, observed=self.observed, column=self.column, element_count=self.element_count,
            unexpected_count=self.unexpected_count, examples=self.unexpected_examples[:_EXAMPLES],
            rows=self.unexpected_rows[:_EXAMPLES], located=located)

    def located_by(self, place: Callable[[list[int]], list[Row]] | None) -> Outcome:
        """This outcome with its unexpected rows named by `place` (itself without one, or when it held)."""
        if place is None or self.success or not self.unexpected_rows:
            return self
        return replace(self, located=place(self.unexpected_rows[:_EXAMPLES]))


def placed(table: pa.Table, places: pa.ChunkedArray | None = None) -> Callable[[list[int]], list[Row]]:
    """Names rows of `table` (1-based positions, as in Outcome.unexpected_rows) by what they are (area,
    year, variable) and the unit of their value, and where their value was read (`places`, beside the
    rows: file, line, column) where the harmonizer says."""
    what = [c for c in ("area_code", "year", "variable", "parameter", "pool", "category") if c in table.column_names]
    shown = what + [c for c in ("unit",) if c in table.column_names]

    def place(rows: list[int]) -> list[Row]:
        at = pa.array([row - 1 for row in rows], pa.int64())
        picked = table.select(shown).take(at).to_pylist()
        read_at = places.take(at).to_pylist() if places is not None else [None] * len(rows)
        return [Row(row, " ".join(str(record[c]) for c in what if record[c] is not None), record.get("unit"), where)
                for row, record, where in zip(rows, picked, read_at)]

    return place


@dataclass
class Report:
    outcomes: list[Outcome]
    # The suite as GX ran it and its GX validation result (JSON), from which ercan/gate_reports.py builds Data Docs.
    gx_results: list[dict] = field(default_factory=list)

    @property
    def critical_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def failures(self) -> list[Outcome]:
        """Every failed expectation, critical first (then in the suites' order)."""
        return sorted((o for o in self.outcomes if not o.success), key=lambda o: failure_words.severity_rank(o.severity))

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    def reason(self, place: Callable[[list[int]], list[Row]] | None = None) -> str:
        """Every failed expectation in words, critical first (a warning that failed too is named after them)."""
        return "; ".join(o.describe(place) for o in self.failures)

    def located_by(self, place: Callable[[list[int]], list[Row]] | None) -> Report:
        """This report with the unexpected rows of its failed expectations named by `place` (`placed`): the
        words of `reason` and of the `quality` rows name them from then on."""
        return Report([o.located_by(place) for o in self.outcomes], self.gx_results)

    def __add__(self, other: Report) -> Report:
        """Both reports' outcomes, as of one validation (e.g. of two suites on different rows)."""
        return Report(self.outcomes + other.outcomes, self.gx_results + other.gx_results)

    def to_frame(self) -> pd.DataFrame:
        """The rows of `quality`: each outcome, with its failure in words as `reason` (none where it held)."""
        rows = [
            {**{k: v for k, v in o.__dict__.items() if k not in ("unexpected_rows", "kwargs", "why", "observed", "located")},
             "unexpected_examples": json.dumps(o.unexpected_examples, default=str, ensure_ascii=False),
             "reason": None if o.success else o.describe()}
            for o in self.outcomes
        ]
        return pd.DataFrame(rows, columns=[*_QUALITY_COLUMNS, "reason"]).rename(columns={"column": "column_name"})

    def write(self, storage: Storage, subject: str, *folder: str, key: str) -> None:
        """Store the report under `folder`: `<key>.quality.parquet` (the subject's rows of `quality`) and
        `<key>.gx.json` (the GX results, for the Data Docs)."""
        quality = pa.Table.from_pandas(self.to_frame().assign(subject=subject), preserve_index=False)
        storage.write_parquet(quality, *folder, f"{key}.quality.parquet")
        storage.write_json(self.gx_results, *folder, f"{key}.gx.json")


# The columns of an Outcome that are columns of `quality` (`column` as its `column_name`).
_QUALITY_COLUMNS = ("suite", "position", "expectation", "column", "severity", "success", "element_count",
                    "unexpected_count", "unexpected_examples")


@cache
def _context():
    import great_expectations as gx  # ~3 s to import: only when a gate actually runs
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from great_expectations.execution_engine import pandas_execution_engine

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # GX hashes every value of every frame it is given (~0.8 s per million rows) for a fingerprint that
    # only labels the batch in its result; ercan names the rows validated by their gate's key instead.
    pandas_execution_engine.HASH_THRESHOLD = 0
    return context


# One ephemeral GX context serves the whole process; it is not safe to use from two threads.
_GX_LOCK = threading.Lock()


@cache
def warm_up() -> None:
    """Import GX and make its context in a thread of their own, once per process: a gate calls this
    before harmonizing, which mostly runs in Arrow (without the GIL), so the ~3 s of GX's import are
    spent by the time the rows are staged rather than after."""
    def warm():
        with _GX_LOCK:
            _context()

    threading.Thread(target=warm, name="ercan-gx-import", daemon=True).start()


# GX is given at most this many rows at once, as pandas: the per-row checks run batch by batch, so a
# table of any size is never in pandas whole (GX also copies its frame for every row condition).
VALIDATION_BATCH_ROWS = 1_000_000


def validate(rows: pa.Table | pd.DataFrame, suites: list[dict], name: str, parameters: dict | None = None) -> Report:
    """Evaluate the suites on `rows` with GX and collect every expectation's outcome.

    The expectations whose outcome is a condition on each row (GX's column map and column pair map
    expectations) run on batches of at most VALIDATION_BATCH_ROWS rows and their results are merged;
    every other runs once, on a frame of only the columns it reads. `parameters` are the values of the
    suites' `{"$PARAMETER": name}` arguments (GX suite parameters)."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows, preserve_index=False)
    with _GX_LOCK:
        return _validate(table, suites, name, parameters)


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
    def of(cls, table: pa.Table, column_a: str, column_b: str) -> "_PairRows":
        pairs = unified(table, [column_a, column_b]).select([column_a, column_b])
        grouped = (pairs.append_column("at", pa.array(np.arange(pairs.num_rows)))
                   .group_by([column_a, column_b]).aggregate([([], "count_all"), ("at", "min")])
                   .sort_by("at_min"))  # in the order they first appear
        return cls(_pandas(grouped.select([column_a, column_b])), grouped["count_all"].to_pandas(),
                   grouped["at_min"].to_pandas())


def _validate(table: pa.Table, suites: list[dict], name: str, parameters: dict | None) -> Report:
    context = _context()
    source = context.data_sources.add_or_update_pandas(f"rows_{name}")
    asset = source.add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name)
    # The per-row expectations of all suites of one subject run in one GX validation per batch, the
    # others in one per frame they need; each pair check apart, on the distinct pairs. Every expectation
    # keeps its suite file and position, its identity in `quality`, in its meta.
    expectations = [
        {**e, "meta": {**e.get("meta", {}), "suite": suite["name"], "position": position}}
        for suite in suites
        for position, e in enumerate(suite["expectations"])
    ]
    # A relation's expectation is on the pairs of values it compares, not on the rows (ercan/relations.py)
    related = [e for e in expectations if "relation" in e["meta"]]
    expectations = [e for e in expectations if "relation" not in e["meta"]]
    large = table.num_rows > VALIDATION_BATCH_ROWS
    if large:  # one dictionary per column the reductions read: codes compare across chunks
        table = unified(table, [c for e in expectations if value_wise(e) and _reducible(e) for c in _frame_of(e, table)[0]])
    on_pairs = [e for e in expectations if e["type"] in _DISTINCT_PAIRS and "row_condition" not in e["kwargs"]]
    per_row = [e for e in expectations if e not in on_pairs and _per_row(e)]
    runs = [_per_row_run(context, batch, name, per_row, table, parameters)]
    by_frame: dict[tuple, list[dict]] = {}
    for e in expectations:
        if e not in on_pairs and e not in per_row:
            by_frame.setdefault(_frame_of(e, table), []).append(e)
    for i, ((columns, with_rows), group) in enumerate(by_frame.items()):
        frame = table.select(list(columns))
        if not with_rows:  # (from the schema: a slice of no rows would bring every dictionary to pandas)
            frame = frame.schema.empty_table()
        if large and with_rows and all(_keyed(e) for e in group):
            runs.append(_run_on_repeats(context, batch, f"{name}.table{i}", group, frame, parameters))
        else:
            runs.append(_run(context, batch, f"{name}.table{i}", group, [_pandas(frame)], table.num_rows, parameters))
    for i, expectation in enumerate(on_pairs):
        columns = [expectation["kwargs"]["column_A"], expectation["kwargs"]["column_B"]]
        pairs = _PairRows.of(table, *columns)
        runs.append(_run(context, batch, f"{name}.pairs{i}", [expectation], [pairs.frame], table.num_rows,
                         parameters, pairs))
    by_relation: dict[str, list[dict]] = {}  # each relation's frame once, in one GX run for all its expectations
    for e in related:
        by_relation.setdefault(e["meta"]["relation"], []).append(e)
    for i, (relation, group) in enumerate(by_relation.items()):
        frame = relations.members_to_aggregates(table) if relation == relations.MEMBERS_TO_AGGREGATE \
            else relations.pairs(table, schema.RELATIONS[relation])
        runs.append(_run(context, batch, f"{name}.relation{i}", group, [frame], table.num_rows, parameters))
    rank = {suite["name"]: i for i, suite in enumerate(suites)}
    outcomes = sorted((o for run_outcomes, _ in runs for o in run_outcomes), key=lambda o: (rank[o.suite], o.position))
    parts = [gx_result for _, gx_result in runs if gx_result]
    return Report(outcomes, [_as_one(name, parts, rank)] if parts else [])


def _as_one(name: str, parts: list[dict], rank: dict[str, int]) -> dict:
    """The GX suites and results of one validation's runs as one suite and one result, in the suites'
    order, as if GX had run them together: one page of Data Docs per gate, not one per run."""
    def order(item: dict) -> tuple[int, int]:
        meta = item["meta"] if "meta" in item and "suite" in item["meta"] else item["expectation_config"]["meta"]
        return rank[meta["suite"]], meta["position"]

    results = sorted((r for part in parts for r in part["result"]["results"]), key=order)
    successful = sum(bool(r["success"]) for r in results)
    statistics = {  # as GX's calc_validation_statistics counts them
        "evaluated_expectations": len(results), "successful_expectations": successful,
        "unsuccessful_expectations": len(results) - successful,
        "success_percent": successful / len(results) * 100 if results else None,
    }
    first = parts[0]
    return {
        "suite": {**first["suite"], "name": name,
                  "expectations": sorted((e for part in parts for e in part["suite"]["expectations"]), key=order)},
        "result": {**first["result"], "suite_name": name, "results": results,
                   "success": successful == len(results), "statistics": statistics},
    }


def _per_row_run(context, batch, name: str, expectations: list[dict], table: pa.Table,
                 parameters: dict | None) -> tuple[list[Outcome], dict | None]:
    """The per-row expectations over all rows, as one GX validation. On a large table, those that the
    distinct values or the extremes of their column decide are judged on those (ercan/reductions.py);
    the rest run on batches of the rows, of only the columns they read."""
    if not expectations:
        return [], None
    decided, shell = _judged_on_values(context, batch, name, expectations, table, parameters)
    judged = {_identity(r) for r in decided}
    rest = [e for e in expectations if (e["meta"]["suite"], e["meta"]["position"]) not in judged]
    read = _read_columns(rest, table)
    slices = (_pandas(read.slice(start, VALIDATION_BATCH_ROWS), start)  # one at a time, as GX needs them
              for start in range(0, max(table.num_rows, 1), VALIDATION_BATCH_ROWS))  # one, empty, for no rows
    result = _gx(context, batch, f"{name}.rows" if decided else name, rest, slices, parameters) if rest else None
    # (without `decided`, _gx has saved this suite under this name)
    suite = _saved_suite(context, name, expectations) if decided else context.suites.get(name)
    if decided:  # one result, in the suites' order, as GX would have given on all rows
        order = {(e["meta"]["suite"], e["meta"]["position"]): i for i, e in enumerate(expectations)}
        others = result.results if result else []
        result = result or shell
        result.results = sorted(decided + others, key=lambda r: order[_identity(r)])
        result.suite_name = name
        _restated(result)
    return _report(result, suite, table.num_rows)


def _judged_on_values(context, batch, name: str, expectations: list[dict], table: pa.Table, parameters: dict | None):
    """The GX results of those value-wise expectations that the distinct values or the extremes of their
    column decide, on a large table (ercan/reductions.py), taken back to its rows; and a GX result to
    hold them (None if there are none)."""
    if table.num_rows <= VALIDATION_BATCH_ROWS:
        return [], None
    groups: dict[tuple, list[dict]] = {}
    for e in expectations:
        kwargs = e["kwargs"]
        by = _condition_columns(kwargs.get("row_condition"))
        if value_wise(e) and by is not None and {kwargs["column"], *by} <= set(table.column_names):
            condition = json.dumps([kwargs.get("row_condition"), kwargs.get("condition_parser")], sort_keys=True)
            groups.setdefault((kwargs["column"], tuple(dict.fromkeys(by)), condition), []).append(e)
    decided, shell = [], None
    for i, ((column, by, _), group) in enumerate(groups.items()):
        values = values_of(table, column, list(by), {e["type"] for e in group})
        if values is None:
            continue
        frame, probe = _probed(group[0], values.frame) if by else (values.frame, None)
        result = _gx(context, batch, f"{name}.values{i}", group + ([probe] if probe else []),
                     [_pandas(frame, categories=False)], parameters, complete=True)
        selected = np.arange(values.frame.num_rows)
        if probe:
            [found] = [r for r in result.results if r.expectation_config.meta["suite"] == _PROBE]
            result.results.remove(found)
            if "unexpected_index_list" not in found.result:
                continue  # GX could not apply the condition: the rows will tell why
            selected = np.array([int(i) for i in found.result["unexpected_index_list"]], np.int64)
        decided += [r for r in result.results if _weighed(r, values, selected, conditioned=bool(by))]
        shell = result if shell is None else shell
    return decided, shell


def _reducible(expectation: dict) -> bool:
    """Whether the columns of the expectation's row condition are known (not a pandas query string)."""
    return _condition_columns(expectation["kwargs"].get("row_condition")) is not None


def _read_columns(expectations: list[dict], table: pa.Table) -> pa.Table:
    """The table's columns that these per-row expectations read (all, if one has a pandas query string)."""
    named = [_columns_named(e) for e in expectations]
    if None in named:
        return table
    return table.select([c for c in table.column_names if any(c in columns for columns in named)])


def _columns_named(expectation: dict) -> set[str] | None:
    """The columns an expectation names in its arguments and its row condition; None if the condition
    is a pandas query string, whose columns are not known."""
    kwargs = expectation["kwargs"]
    condition = _condition_columns(kwargs.get("row_condition"))
    if condition is None:
        return None
    return {kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), *kwargs.get("column_list", []),
            *condition}


def _saved(factory, item):
    """`item` saved in the context under its name, replacing any earlier one: GX's add_or_update instead
    matches every new expectation against every old one (quadratic), a third of a small gate's time."""
    from great_expectations.exceptions import DataContextError

    with contextlib.suppress(DataContextError):
        factory.delete(item.name)
    return factory.add(item)


def _saved_suite(context, name: str, expectations: list[dict]):
    import great_expectations as gx

    return _saved(context.suites, gx.ExpectationSuite(name=name, expectations=expectations))


def _pandas(table: pa.Table, start: int | pa.Array = 0, categories: bool = True) -> pd.DataFrame:
    """These rows as GX is given them, indexed by their positions in the validated table (they begin at
    `start`, or are these positions): GX reports the index of an unexpected row. `categories`: text as
    categoricals (not for distinct values: a category each is all cost)."""
    # Types from Arrow's alone, not from pandas' a table may have been made from (an integer column with
    # nulls is floats either way): the same for the rows and for their distinct values (_per_row_run).
    df = table.replace_schema_metadata(None).to_pandas(strings_to_categorical=categories)
    # Text as categoricals: GX filters the whole frame for every row condition, and taking rows of
    # pandas' Arrow-backed strings costs ~40 % more CPU than of category codes (benchmarks/validation.py).
    strings = {c: "category" for c in df.columns if categories and pd.api.types.is_string_dtype(df[c])}
    # GX compares a column with min/max vectorised only when its dtype is int64 or float64; an int32 year
    # went through a Python function per row (~4 s per million rows and check).
    integers = {c: "int64" for c in df.columns if df[c].dtype.kind in "iu" and df[c].dtype.itemsize < 8}
    df = df.astype(strings | integers)
    # (A table of no columns has its rows still: the frame GX counts rows on.)
    index = pd.RangeIndex(start, start + table.num_rows) if isinstance(start, int) else start.to_numpy()
    return df.set_axis(index) if table.num_columns else pd.DataFrame(index=index)


def _keyed(expectation: dict) -> bool:
    """Whether the expectation is a uniqueness check over all rows (no row condition: which rows compete
    would depend on it), decided on the rows whose values repeat (`_run_on_repeats`)."""
    return expectation["type"] in UNIQUENESS and not expectation["kwargs"].get("row_condition")


def _run_on_repeats(context, batch, name: str, expectations: list[dict], frame: pa.Table,
                    parameters: dict | None) -> tuple[list[Outcome], dict | None]:
    """Uniqueness checks of the columns of `frame` (a large table's): GX is given only the rows whose values
    another row holds too (reductions.repeated). It finds among them exactly the unexpected rows, examples
    and row numbers it finds among all rows; the element and missing counts are those of all rows."""
    positions = repeated(frame, frame.column_names)
    result = _gx(context, batch, name, expectations, [_pandas(rows_at(frame, positions), positions)], parameters)
    for r in result.results:
        if "unexpected_count" in r.result:  # (not if GX raised)
            nonnull = frame.num_rows - _missing(frame, r.expectation_config) if "missing_count" in r.result else None
            _summarized(r, frame.num_rows, nonnull, r.result["unexpected_count"],
                        r.result.get("partial_unexpected_list", []), r.result.get("partial_unexpected_index_list", []))
    _restated(result)
    return _report(result, context.suites.get(name), frame.num_rows)


def _missing(frame: pa.Table, config) -> int:
    """How many rows a uniqueness check leaves out as missing, as GX counts them: rows with a null (or NaN)
    in the column; for compound columns, per `ignore_row_if` (GX's default: all values missing)."""
    from great_expectations.expectations.registry import get_expectation_impl

    kwargs = config.kwargs
    if "column_list" in kwargs:
        columns = kwargs["column_list"]
        ignore = kwargs.get("ignore_row_if") or get_expectation_impl(config.type).__fields__["ignore_row_if"].default
    else:
        columns, ignore = [kwargs["column"]], "any_value_is_missing"
    if ignore == "never":
        return 0
    nulls = [pc.is_null(frame[c], nan_is_null=True) for c in columns]
    combine = pc.and_ if ignore == "all_values_are_missing" else pc.or_
    missing = nulls[0]
    for null in nulls[1:]:
        missing = combine(missing, null)
    return int(pc.sum(missing).as_py() or 0)


def _per_row(expectation: dict) -> bool:
    """Whether the expectation's outcome is a condition on each row (a GX column map, column pair map or
    multicolumn map expectation, but a uniqueness check): its counts over the batches of the rows add up
    to its counts over all of them."""
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    return expectation["type"] not in UNIQUENESS and issubclass(
        get_expectation_impl(expectation["type"]), (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation))


# A table-level expectation reads the table through the table metrics it declares: one reading only the
# column names and types needs no rows; one counting rows needs no columns (but its row condition's).
_SCHEMA_METRICS = {"table.columns", "table.column_types"}
_ROW_COUNT_METRICS = {"table.row_count"}


def _frame_of(expectation: dict, table: pa.Table) -> tuple[tuple[str, ...], bool]:
    """What an expectation evaluated once over the table needs of it: which columns, and whether their
    rows or only their names and types."""
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.expectations.registry import get_expectation_impl

    impl = get_expectation_impl(expectation["type"])
    metrics = set(impl.metric_dependencies)
    if impl.domain_type == MetricDomainTypes.TABLE:
        if metrics and metrics <= _SCHEMA_METRICS:
            return tuple(table.column_names), False
        if not (metrics and metrics <= _ROW_COUNT_METRICS):
            return tuple(table.column_names), True  # it may read anything
    named = _columns_named(expectation)
    if named is None:
        return tuple(table.column_names), True
    # Only the table's columns: GX reports a named column that is not there.
    return tuple(c for c in table.column_names if c in named), True


def _condition_columns(condition) -> list[str] | None:
    """The columns a row condition (GX's JSON form) compares; None for a pandas query string, whose
    columns are not known."""
    if isinstance(condition, str) and condition:
        return None
    if not isinstance(condition, dict):
        return []
    nested = [_condition_columns(c) for c in condition.get("conditions", [])]
    if None in nested:
        return None
    return [c for columns in nested for c in columns] + ([condition["column"]["name"]] if "column" in condition else [])


_SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": _EXAMPLES}


def _run(context, batch, name: str, expectations: list[dict], frames, rows: int, parameters: dict | None,
         pairs: _PairRows | None = None) -> tuple[list[Outcome], dict | None]:
    """Run these expectations with GX on each of `frames` (the whole frame they need, or parts of the
    validated rows) and merge the results: the outcomes over the `rows` validated rows, and the suite and
    result as JSON. With `pairs`, the frame is the distinct pairs, and counts and row numbers are taken
    back to the validated rows."""
    if not expectations:
        return [], None
    result = _gx(context, batch, name, expectations, frames, parameters, complete=pairs is not None)
    return _report(result, context.suites.get(name), rows, pairs)


def _gx(context, batch, name: str, expectations: list[dict], frames, parameters: dict | None,
        complete: bool = False):
    """GX's validation result of these expectations over all of `frames`, merged (`_merged`). `complete`:
    with every unexpected value and its index (for a frame of distinct values, a few)."""
    import great_expectations as gx

    suite = _saved_suite(context, name, expectations)
    definition = _saved(context.validation_definitions, gx.ValidationDefinition(name=name, data=batch, suite=suite))
    results = []
    for df in frames:
        result = definition.run(
            batch_parameters={"dataframe": df},
            expectation_parameters=parameters,
            # SUMMARY: counts, the first examples and their row indexes; COMPLETE lists every unexpected row
            # and costs several times more on large tables, but distinct values need it to count rows.
            result_format={**_SUMMARY, "result_format": "COMPLETE"} if complete else _SUMMARY,
        )
        results.append(result)
    return _merged(results)


def _report(result, suite, rows: int, pairs: _PairRows | None = None) -> tuple[list[Outcome], dict]:
    """The outcomes of GX's result over the `rows` validated rows, and the suite and result as JSON."""
    outcomes = []
    for r in result.results:
        config = r.expectation_config
        kwargs = config.kwargs
        columns = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)] + kwargs.get("column_list", [])
        raised = r.exception_info.get("raised_exception") if isinstance(r.exception_info, dict) else False
        unexpected = r.result.get("partial_unexpected_list") or []
        if raised:
            unexpected = [r.exception_info.get("exception_message")]
        element_count = int(r.result.get("element_count") or rows)
        unexpected_count = int(r.result.get("unexpected_count") or (0 if r.success else rows))
        unexpected_rows = [int(i) for i in (r.result.get("partial_unexpected_index_list") or [])]
        if pairs is not None:
            unexpected_pairs = [int(i) for i in (r.result.get("unexpected_index_list") or [])]
            element_count = int(pairs.rows.sum())
            unexpected_count = element_count if raised else int(pairs.rows.iloc[unexpected_pairs].sum())
            unexpected_rows = [] if raised else sorted(int(pairs.first.iloc[i]) for i in unexpected_pairs)
        outcomes.append(
            Outcome(
                suite=config.meta["suite"],
                position=config.meta["position"],
                expectation=config.type,
                column=",".join(columns) or None,
                severity=str(getattr(config.severity, "value", config.severity)),
                success=bool(r.success),
                element_count=element_count,
                unexpected_count=unexpected_count,
                unexpected_examples=[_plain(x) for x in unexpected[:_EXAMPLES]],
                unexpected_rows=[i + 1 for i in unexpected_rows[:_EXAMPLES]],
                kwargs={k: _plain(v) for k, v in kwargs.items() if k != "batch_id"},
                why=config.meta.get("why"),
                observed=None if raised else {k: _plain(v) for k, v in r.result.items() if k in _OBSERVED},
            )
        )
    for r in result.results:  # stored for the Data Docs, which need no more than the examples
        r.result.pop("unexpected_list", None)
        r.result.pop("unexpected_index_list", None)
        r.result.pop("unexpected_index_query", None)
    return outcomes, {"suite": suite.to_json_dict(), "result": result.to_json_dict()}


# What GX's result says it found of an expectation on the table or a column as a whole.
_OBSERVED = ("observed_value", "partial_missing_list")


def _merged(results: list):
    """One GX validation result from the results of the same per-row expectations on consecutive batches
    of rows, as GX would have found on all of them at once: counts summed, the first examples and row
    indexes across the batches, success recomputed from the sums as GX computes it (`_summarized`), and
    the suite's statistics from those."""
    first, *others = results
    if not others:
        return first
    batches = [{_identity(r): r for r in result.results} for result in others]
    for r in first.results:
        parts = [r, *(batch[_identity(r)] for batch in batches)]
        if any("unexpected_count" not in p.result for p in parts):
            # GX raised, or judged the column as a whole (its type, on pandas): the first failure stands
            stands = next((p for p in parts if not p.success), r)
            r.success, r.result, r.exception_info = stands.success, stands.result, stands.exception_info
            continue
        element_count = sum(p.result["element_count"] for p in parts)
        # Of the rows not missing, where GX counts missing values (not for expect_column_values_to_(not_)be_null)
        nonnull_count = None
        if all("missing_count" in p.result for p in parts):
            nonnull_count = element_count - sum(p.result["missing_count"] for p in parts)
        examples = [x for p in parts for x in p.result.get("partial_unexpected_list", [])]
        rows = [i for p in parts for i in p.result.get("partial_unexpected_index_list", [])]
        _summarized(r, element_count, nonnull_count, sum(p.result["unexpected_count"] for p in parts), examples, rows)
    _restated(first)
    return first


# The suite name of the probe that asks GX which rows of a frame of values a row condition selects.
_PROBE = "ercan.row_condition"


def _probed(expectation: dict, frame: pa.Table) -> tuple[pa.Table, dict]:
    """The frame with a column of zeros, and an expectation that this column is null on the rows the
    expectation's row condition selects: GX itself tells which rows those are (its unexpected ones)."""
    column = next(c for c in ("selected", "_selected", "__selected") if c not in frame.column_names)
    kwargs = {k: v for k, v in expectation["kwargs"].items() if k in ("row_condition", "condition_parser")}
    return (frame.append_column(column, pa.array(np.zeros(frame.num_rows, np.int8))),
            {"type": "expect_column_values_to_be_null", "kwargs": {"column": column, **kwargs},
             "meta": {"suite": _PROBE, "position": 0}})


def _weighed(r, values: Values, selected: np.ndarray, conditioned: bool) -> bool:
    """Take GX's result `r` of a value-wise expectation on a frame of values back to the table's rows:
    counts, success, the first unexpected rows and their values, as GX gives them on the rows. `selected`:
    the frame's rows its row condition selects. False if the frame cannot decide: GX raised on it, found
    an extreme unexpected, or found unexpected values under a row condition (their rows are not known)."""
    if "unexpected_count" not in r.result:
        return False
    unexpected = [int(i) for i in r.result["unexpected_index_list"]]
    if unexpected and (conditioned or not values.exact):
        return False
    first = values.first_rows(unexpected, _EXAMPLES) if unexpected else []
    # GX's own rendering of each unexpected value (pandas' type: e.g. an integer column with nulls as floats)
    rendered = dict(zip(values.values.take(pa.array(unexpected, pa.int64())).to_pylist(), r.result["unexpected_list"]))
    examples = [rendered[v] for v in values.column.take(pa.array(first, pa.int64())).to_pylist()]
    rows = values.rows_of(selected)
    _summarized(r, rows, rows - values.missing(selected) if "missing_count" in r.result else None,
                values.rows_of(unexpected), examples, first)
    return True


def _summarized(r, element_count: int, nonnull_count: int | None, unexpected_count: int, examples: list,
                example_rows: list[int]) -> None:
    """Set the GX result `r` of a per-row expectation to these counts over all rows, its success as GX
    computes it (`mostly` of the non-missing rows) and its result as GX lays it out (GX's private
    `_mostly_success` and `_format_map_output`: hence GX's exact version is pinned)."""
    from great_expectations.expectations.expectation import _format_map_output, _mostly_success
    from great_expectations.expectations.expectation_configuration import parse_result_format

    considered = element_count if nonnull_count is None else nonnull_count
    r.success = considered == 0 or _mostly_success(  # none considered: vacuously true, as in GX
        considered, unexpected_count, r.expectation_config.kwargs.get("mostly", 1))
    r.result = _format_map_output(
        result_format=parse_result_format(_SUMMARY),
        success=r.success,
        element_count=element_count,
        nonnull_count=nonnull_count,
        unexpected_count=unexpected_count,
        unexpected_list=examples[:_EXAMPLES],
        unexpected_index_list=example_rows[:_EXAMPLES],
    )["result"]


def _restated(result) -> None:
    """The validation's success and statistics from its expectations' results."""
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    statistics = calc_validation_statistics(result.results)
    result.success = statistics.success
    result.statistics = {k: v for k, v in statistics._asdict().items() if k != "success"}


def _identity(result) -> tuple[str, int]:
    """An expectation's suite and position, from its GX result."""
    return result.expectation_config.meta["suite"], result.expectation_config.meta["position"]


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value
