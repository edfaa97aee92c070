"""Every registered source is complete, driven by the registry (no list of sources here): sample data
with its source note, a suite, rows of its product's schema from its shipped files, and the
generated index of docs/sources.md and sample_data/README.md current. A test file of its own is
optional (adding a source touches only its own files)."""

import pytest
from conftest import sample_files

from ercan import schema
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA, registry, render_hooks, render_index, with_index


@pytest.mark.parametrize("source_id", sorted(registry()))
def test_source_ships_everything_a_fresh_clone_needs(source_id):
    harmonizer = registry()[source_id]
    for relative in harmonizer.source.inputs.values():
        path = SAMPLE_DATA / relative
        assert path.is_file(), f"{source_id}: landing file {path} is missing"
        assert (SAMPLE_DATA / relative.split("/")[0] / "SOURCE.txt").is_file(), f"{source_id}: no SOURCE.txt"
        assert path.stat().st_size < 5 * 2**20, "ship small extracts"
    assert harmonizer.suite_path.is_file()


@pytest.mark.parametrize("source_id", sorted(registry()))
def test_shipped_files_harmonize_to_its_products_schema(source_id):
    harmonizer = registry()[source_id]
    columns = schema.OBSERVATION_COLUMNS if harmonizer.source.product == "observations" else schema.REFERENCE_COLUMNS
    rows = harmonizer.harmonize(sample_files(source_id))
    tables = [rows] if hasattr(rows, "schema") else list(rows)
    assert sum(t.num_rows for t in tables) > 0
    for table in tables:
        assert table.schema.remove_metadata().equals(schema.arrow_schema(columns)), source_id
        assert set(table["source"].to_pylist()) == {source_id}


@pytest.mark.parametrize("page", ["docs/sources.md", "sample_data/README.md"])
def test_source_index_is_generated_and_current(page):
    text = (PROJECT_ROOT / page).read_text(encoding="utf-8")
    assert with_index(text, render_index(registry())) == text, f"{page}: run `ercan generate`"
    for source_id in registry():
        assert f"`{source_id}`" in text


def test_the_guide_lists_every_source_with_a_hook_and_why():
    guide = (PROJECT_ROOT / "docs" / "adding_a_source.md").read_text(encoding="utf-8")
    assert with_index(guide, render_hooks(registry())) == guide, "docs/adding_a_source.md: run `ercan generate`"
    hooked = [s for s, h in registry().items() if h.declared is not None and h.declared.declaration.hook]
    listed = render_hooks(registry())
    assert hooked and all(f"| `{s}` |" in listed for s in hooked) and "| `fra2015` |" not in listed


SHARED = sorted(p.name for p in (PROJECT_ROOT / "harmonizers" / "crosswalks").glob("*.csv"))
# The shared crosswalk a module reads for its callers (the reference harmonizers' climate zones)
READ_THROUGH = {"ercan.reference": "climate_zones.csv"}


@pytest.mark.parametrize("source_id", sorted(s for s, h in registry().items() if h.declared is not None))
def test_a_shared_crosswalk_a_source_reads_is_in_its_key(source_id):
    """A declared source's key covers its own folder and only the shared crosswalks it names, so a hook
    that reads one (by name, or through ercan.reference) must name it under `shared_crosswalks`."""
    declared = registry()[source_id].declared
    code = "".join(p.read_text(encoding="utf-8") for p in declared.folder.glob("*.py"))
    read = {name for name in SHARED if name in code} | {name for module, name in READ_THROUGH.items() if module in code}
    assert read <= set(declared.declaration.shared_crosswalks), f"{source_id}: add {sorted(read)} to shared_crosswalks"


def test_a_shared_crosswalk_changes_only_the_keys_of_the_sources_naming_it(tmp_path, monkeypatch):
    import ercan.declaration as declaration

    before = {s: h.code_sha256 for s, h in registry().items() if h.declared is not None}
    copy = tmp_path / "crosswalks"
    copy.mkdir()
    for name in SHARED:
        (copy / name).write_bytes((PROJECT_ROOT / "harmonizers" / "crosswalks" / name).read_bytes())
    (copy / "climate_zones.csv").write_bytes((copy / "climate_zones.csv").read_bytes() + b"\n")
    monkeypatch.setattr(declaration, "SHARED_CROSSWALKS", copy)
    changed = {s for s, h in registry().items() if h.declared is not None and h.code_sha256 != before[s]}
    assert changed == {s for s, h in registry().items()
                       if h.declared is not None and "climate_zones.csv" in h.declared.declaration.shared_crosswalks}
    assert "ipcc_factors_jrc" in changed and "fra2015" not in changed
