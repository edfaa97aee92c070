"""Declarations as the registry reads them: a declaration that does not load is a source of its own
that its gate quarantines, naming the file and the key, and the other sources are untouched; a
source's cache key covers its own folder and not another's. (Declarations written by the tests.)"""

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
    with pytest.raises(SourceError, match=r"typo_source/source.yaml: inputs.table.values: Field required; inputs.table.valeus: Extra inputs are not permitted"):
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
