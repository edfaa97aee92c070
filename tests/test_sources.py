"""Every registered source is complete: sample data with its source note, a suite, tests, docs."""

import pytest

from ercan.sources import PROJECT_ROOT, SAMPLE_DATA, registry


@pytest.mark.parametrize("source_id", sorted(registry()))
def test_source_ships_everything_a_fresh_clone_needs(source_id):
    harmonizer = registry()[source_id]
    for relative in harmonizer.source.inputs.values():
        path = SAMPLE_DATA / relative
        assert path.is_file(), f"{source_id}: landing file {path} is missing"
        assert (SAMPLE_DATA / relative.split("/")[0] / "SOURCE.txt").is_file(), f"{source_id}: no SOURCE.txt"
        assert path.stat().st_size < 5 * 2**20, "ship small extracts"
    assert harmonizer.suite_path.is_file()
    assert (PROJECT_ROOT / "tests" / f"test_harmonizer_{source_id}.py").is_file()
    assert f"`{source_id}`" in (SAMPLE_DATA / "README.md").read_text(encoding="utf-8")
    assert f"`{source_id}`" in (PROJECT_ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
