"""Declarations as the registry reads them: a declaration that does not load is a source of its own
that its gate quarantines, naming the file and the key, and the other sources are untouched; a
source's cache key covers its own folder and not another's. (Declarations written by the tests.)"""

import re
import shutil

import pytest

from ercan.declaration import DeclaredSource
from ercan.errors import SourceError
from ercan.sources import EXPECTATIONS, PROJECT_ROOT, _declared, registry


def test_a_declaration_with_a_typo_is_quarantined_alone(tmp_path):
    folder = tmp_path / "typo_source"
    folder.mkdir()
    (folder / "source.yaml").write_text("id: typo_source\ntitle: t\npublisher: p\nlicense: l\ncitation: c\n"
                                        "inputs:\n  table:\n    file: a.csv\n    valeus: []\n")
    harmonizer = _declared(folder, EXPECTATIONS)
    assert harmonizer.source.id == "typo_source"
    with pytest.raises(SourceError, match=r"typo_source/source.yaml: (.*; )?inputs.table.valeus: Extra inputs are not permitted"):
        harmonizer.harmonize({})


def test_the_cache_key_covers_the_sources_own_folder_only(tmp_path):
    own = tmp_path / "gcb2019"
    shutil.copytree(PROJECT_ROOT / "harmonizers" / "gcb2019", own)
    before = DeclaredSource(own).code_sha256
    assert before == registry()["gcb2019"].code_sha256
    (tmp_path / "cikd2024").mkdir()
    (tmp_path / "cikd2024" / "areas.csv").write_text("name,area_code\n")  # another source's crosswalk
    assert DeclaredSource(own).code_sha256 == before
    (own / "names.csv").write_text("name,area_code\n")  # a crosswalk of its own
    assert DeclaredSource(own).code_sha256 != before


def test_a_file_filed_under_the_wrong_source_is_refused_naming_the_source_it_fits(tmp_path):
    from ercan import snapshots, state
    from ercan.sources import SAMPLE_DATA, get
    from ercan.storage import Storage

    store = Storage(str(tmp_path / "store"))
    budget = SAMPLE_DATA / get("gcb2019").source.inputs["budget"]
    with pytest.raises(SourceError, match=r"source 'cikd2024', file 'global-carbon-budget.csv': does not have the "
                                          r"layout declared for input 'table' \(expected column '国家/地区' is missing\); "
                                          r"it has the layout of another input: ingest it with "
                                          r"`ercan ingest gcb2019 global-carbon-budget.csv --role budget`"):
        snapshots.ingest(store, get("cikd2024"), "table", str(budget), steward=True)
    nothing_stored = not store.exists("snapshots") or store.fs.find(store.path("snapshots")) == []
    assert nothing_stored and state.load(store, "cikd2024")["status"] == "new"  # nothing changed
    snapshots.ingest(store, get("gcb2019"), "budget", str(budget), steward=True)  # where it belongs


@pytest.mark.parametrize(("model", "data", "message"), [
    ("Column", {"to": "category", "key": ["a", "b"], "map": {"x": "y"}},
     "a `key` of several columns is for a `crosswalk`"),
    ("Values", {"columns": ["mineral"], "add": True}, "`add` adds up two or more `columns`"),
    ("Input", {"file": "a.csv", "values": [{"columns": ["a", "b"], "add": True}], "set": {"flag": "reported"}},
     "declare `flag` in the values blocks"),
    ("Input", {"file": "a.csv", "values": [{"columns": ["v"]}], "keep": {"where": {"c": {"pattern": "("}},
                                                                           "reason": "r"}},
     "valid regular expression"),
    ("Input", {"file": "a.csv", "values": [{"columns": ["v"]}], "totals": [{"columns": ["a"], "total": 100}]},
     "at least 2 items"),
    ("Input", {"file": "a.csv", "values": [{"columns": ["v"]}], "repeats": [{"where": {"c": "x"}, "of": [],
                                                                              "reason": "r"}]},
     "at least 1 item"),
])
def test_row_rule_keys_are_checked_at_load(model, data, message):
    """The keys of ercan/row_rules.py (`keep`, `repeats`, `totals`, `occurrence`), a crosswalk `key` of
    several columns and `add`: a wrong one fails when the declaration loads (models built here)."""
    from pydantic import ValidationError

    from ercan import declaration

    with pytest.raises(ValidationError, match=re.escape(message)):
        getattr(declaration, model).model_validate(data)
