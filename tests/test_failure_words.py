"""Gate failures in the steward's words (ercan/failure_words.py), the same text everywhere it is shown.

A store where the shipped FRA 2015 export was accepted and published, then a damaged copy of it
ingested as a steward would (`snapshots.ingest`) and gated and published again with the pipeline's
plain functions: two negative areas, one value typed 1000x too large and the Netherlands Antilles
left out (a warning). The reason in the source's state, its row in the published `quality` product,
the HTML report and the gate task's Prefect state all carry one text per failed expectation.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import edited_copy, harmonize_sample, replace_line

from ercan import failure_words, pipeline, snapshots, state
from ercan.publish import read_version, versions
from ercan.report import publish_report
from ercan.sources import EXPECTATIONS, get
from ercan.storage import Storage
from ercan.validation import placed, validate

FILE = "fra-2015-forest-areas.csv"


def damaged(lines: list[str]) -> list[str]:
    lines = replace_line(3, "MAR,4954,", "MAR,-4954,")(lines)  # MAR 1990 negative
    lines = replace_line(4, "ABW,0.42,0.42,", "ABW,0.42,-0.42,")(lines)  # ABW 2000 negative
    lines = replace_line(5, "AFG,1350,1350,1350,1350,", "AFG,1350,1350,1350,1350000,")(lines)  # AFG 2010 x1000
    return [line for line in lines if not line.startswith("ANT,")]  # a warning: ANT is expected


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("words")
    storage = Storage(str(tmp / "store"))
    fra2015 = get("fra2015")
    pipeline.ingest_landing(storage, fra2015)
    assert pipeline.gate(storage, fra2015).status == "accepted"
    assert pipeline.publish_products(storage, pipeline.account(storage))
    bad = edited_copy(tmp, "fra2015", "forest_area", damaged)
    snapshots.ingest(storage, fra2015, "forest_area", str(bad), steward=True)
    outcome = pipeline.gate(storage, fra2015)
    assert outcome.status == "quarantined"
    manifests = pipeline.publish_products(storage, pipeline.account(storage))
    assert [m["product"] for m in manifests] == ["quality"]  # the data products keep their versions
    return storage, manifests


def failed_quality(storage: Storage) -> pd.DataFrame:
    quality = read_version(storage, "quality", versions(storage, "quality")[0]["version"]).to_pandas()
    return quality[(quality.subject == "fra2015") & ~quality.success.astype(bool)]


def failures(reason: str) -> list[str]:
    """The source's reason, one text per failed expectation (each begins with its severity)."""
    return re.split(r"; (?=(?:critical|warning): )", reason.split(" failed its quality gate: ", 1)[1])


def suite_why(position: int) -> str:
    return json.loads((EXPECTATIONS / "fra2015.json").read_text(encoding="utf-8"))["expectations"][position]["meta"]["why"]


def test_the_reason_names_file_line_column_area_year_variable_bound_and_why(store):
    storage, _ = store
    reason = state.load(storage, "fra2015")["reason"]
    [negative] = [part for part in failures(reason) if part.startswith("critical: value must be at least 0 ha (")]
    # both negative rows, by what they are and where they were read
    assert f"row 1: MAR 1990 area (read at {FILE}, line 3, column 1990)" in negative
    assert f"ABW 2000 area (read at {FILE}, line 4, column 2000)" in negative
    assert "failed for 2 of" in negative and "-4954000.0" in negative and "-420.0" in negative
    [too_large] = [part for part in failures(reason)
                   if part.startswith("critical: value must be at most 1e9 ha where area_level == 'national' (")]
    assert f"AFG 2010 area (read at {FILE}, line 5, column 2010)" in too_large and "1350000000.0" in too_large
    # the suite's own explanations, as its file states them
    for position, part in ((5, negative), (6, too_large)):
        assert f"({suite_why(position)})" in part
    assert "warning: area_code must include each of ANT" in reason and "(missing: ANT)" in reason


def test_critical_failures_come_first(store):
    storage, _ = store
    reason = state.load(storage, "fra2015")["reason"]
    severities = [part.split(":")[0] for part in failures(reason)]
    assert severities[0] == "critical" and "warning" in severities
    assert severities == sorted(severities, key=failure_words.severity_rank)


def test_the_quality_product_carries_the_same_text(store):
    storage, _ = store
    failed = failed_quality(storage)
    assert len(failed) >= 3 and failed.reason.notna().all()
    ordered = failed.assign(rank=failed.severity.map(failure_words.severity_rank),
                            suite_order=failed.suite.map({"schema": 0, "fra2015": 1}))  # the order they ran in
    ordered = ordered.sort_values(["rank", "suite_order", "position"])
    reason = state.load(storage, "fra2015")["reason"]
    assert reason.endswith(": " + "; ".join(ordered.reason))  # the reason is the quality rows' words, in order
    assert (failed.reason.str.split(":").str[0] == failed.severity).all()
    # an expectation that held has no words
    quality = read_version(storage, "quality", versions(storage, "quality")[0]["version"]).to_pandas()
    assert quality[quality.success.astype(bool)].reason.isna().all()


def test_the_report_shows_the_same_text_critical_first(store):
    storage, manifests = store
    assert publish_report(storage, manifests)
    [page] = [p.read_text(encoding="utf-8") for p in Path(storage.root).glob("reports/*/index.html")]
    failed = failed_quality(storage)
    section = page[page.index("Failed expectations, critical first"):]
    positions = {}
    for row in failed.itertuples():
        assert html.escape(row.reason, quote=False) in section, row.reason
        positions.setdefault(row.severity, []).append(section.index(html.escape(row.reason, quote=False)))
    assert max(positions["critical"]) < min(positions["warning"])


def test_the_gate_tasks_prefect_state_carries_the_reason(store):
    from ercan.tasks.gate import gate

    storage, _ = store
    result = gate.fn(storage.root, "fra2015")  # the task's own function: the cached verdict, no Prefect API needed
    assert result.is_failed()
    assert result.message == f"quarantined: {state.load(storage, 'fra2015')['reason']}"


def test_more_offending_rows_than_shown_are_counted():
    """A small frame built from the shipped rows: eight negative areas, five named, three counted."""
    rows = harmonize_sample("fra2015")
    rows.loc[:7, "value"] = -1.0
    report = validate(rows, [json.loads((EXPECTATIONS / "fra2015.json").read_text(encoding="utf-8"))], "fra2015")
    [negative] = [o for o in report.failures if "at least 0" in o.describe()]
    words = negative.describe(placed(pa_table(rows)))
    assert words.count("; row ") == 5 and words.endswith("; and 3 more rows)")
    assert f"row 1: {rows.area_code[0]} {rows.year[0]} area" in words


def pa_table(frame: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.mark.parametrize("expectation, kwargs, unit, words", [
    ("expect_column_values_to_be_between", {"column": "value", "min_value": 0, "max_value": 1e9}, "ha",
     "value must be between 0 and 1e9 ha"),
    ("expect_column_values_to_be_between", {"column": "value", "min_value": 0.0, "strict_min": True}, None,
     "value must be above 0"),
    ("expect_column_values_to_be_between", {"column": "year", "max_value": 2100.0}, None, "year must be at most 2100"),
    ("expect_column_values_to_be_in_set", {"column": "unit", "value_set": list("abcdefghij")}, None,
     "unit must be one of a, b, c, d, e, f, g, h, … (10 in all)"),
    ("expect_column_values_to_not_be_null", {"column": "pool", "row_condition": {"type": "and", "conditions": [
        {"type": "comparison", "column": {"name": "variable"}, "operator": "==", "parameter": "carbon_density"},
        {"type": "comparison", "column": {"name": "pool"}, "operator": "!=", "parameter": "agb"}]}}, None,
     "pool must be given where (variable == 'carbon_density' and pool != 'agb')"),
    ("expect_compound_columns_to_be_unique", {"column_list": ["source", "area_code"]}, None,
     "each combination of source, area_code must occur once"),
    ("expect_column_values_to_be_in_set", {"column": "area_code", "value_set": {"$PARAMETER": "known_area_codes"}},
     None, "area_code must be one of the known_area_codes"),
])
def test_rules_in_words(expectation, kwargs, unit, words):
    assert failure_words.rule(expectation, kwargs, unit) == words


def test_every_expectation_of_every_suite_says_why():
    suites = sorted(EXPECTATIONS.glob("*.json")) + sorted((EXPECTATIONS / "products").glob("*.json"))
    missing = [(path.name, position) for path in suites
               for position, e in enumerate(json.loads(path.read_text(encoding="utf-8"))["expectations"])
               if not (e.get("meta") or {}).get("why")]
    assert len(suites) > 20 and missing == []


def test_a_long_reason_is_cut_between_failures_and_says_how_many_more():
    """A reason of three failures (written here) for the Prefect state's message: whole failures only."""
    first = "source 's' failed its quality gate: critical: value must be ≥ 0 " + "x" * 200
    second, third = "critical: year must be 1990-2026 " + "y" * 200, "warning: value must be ≤ 3e9 " + "z" * 200
    reason = "; ".join([first, second, third])
    assert failure_words.first_failures(reason, limit=1000) == reason
    assert failure_words.first_failures(reason, limit=500) == f"{first}; {second}; … and 1 more failure(s): `ercan sources` lists them"
    assert failure_words.first_failures(reason, limit=10).startswith(f"{first}; … and 2 more")  # the first always, whole
