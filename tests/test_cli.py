"""The `ercan` command line: usage and configuration errors exit with status 2 and say what to do, before any
work starts; then the whole nightly pipeline through `ercan run --json` in Prefect's ephemeral mode on the
shipped data, and on the store it published: --json, --quiet, colours and --help, the analysts' docs (README
snippets, the example script), a second run with no change, a broken FRA workbook and a corrected GFW file.
(One nightly for all of them: it is a minute of the suite.)"""

import hashlib
import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import intake
import matplotlib.image
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from ercan.cli import app
from ercan.publish import PRODUCTS
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA, get, registry
from conftest import prefect_env

ERCAN = str(Path(sys.executable).with_name("ercan"))


def ercan(*args):
    return subprocess.run([ERCAN, *args], capture_output=True, text=True, timeout=60)


def test_unknown_source_suggests_the_closest(tmp_path):
    result = ercan("run", "--source", "fra2002", "--storage", str(tmp_path))
    assert result.returncode == 2
    assert "unknown source 'fra2002' (did you mean 'fra2020'?)" in " ".join(result.stderr.split())
    assert not (tmp_path / "snapshots").exists()


def test_unsupported_storage_is_a_configuration_error():
    result = ercan("run", "--storage", "ftp://host/path")
    assert result.returncode == 2 and "not supported" in result.stderr


def test_unknown_command_is_a_usage_error():
    assert ercan("frobnicate").returncode == 2


def test_ingest_needs_a_role_when_the_file_name_does_not_tell(tmp_path):
    raw = tmp_path / "renamed.xlsx"
    raw.write_bytes(b"x")
    result = ercan("ingest", "fra2020", str(raw), "--storage", str(tmp_path / "store"))
    assert result.returncode == 2 and "pass --role" in " ".join(result.stderr.split())


# --- Output for people and scripts, and the analysts' docs, against one real published store -----------------
# One `ercan run --json` in Prefect's ephemeral mode, into <tmp>/ercan-data: the README's snippets use
# that path as they are, run from <tmp>.


def ercan_in(cwd: Path, *args, **env_overrides) -> subprocess.CompletedProcess:
    env = {**_plain_env(cwd), **env_overrides}
    return subprocess.run([ERCAN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def invoke(*args):
    """`ercan ARGS` in this process (typer's CliRunner; its output is not a terminal): for the commands
    that run no flow, without a new interpreter's imports."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def _plain_env(cwd: Path) -> dict:
    """The environment of a user's shell piping ercan's output: no colour forced, Prefect's state in `cwd`."""
    return prefect_env(cwd / "prefect", unset=("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"), COLUMNS="200")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A store published by `ercan run --json`, the run's result and its JSON document."""
    home = tmp_path_factory.mktemp("cli")
    result = ercan_in(home, "run", "--json", "--storage", "ercan-data")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home, result, json.loads(result.stdout)  # the whole of stdout is one JSON document


@pytest.mark.slow
def test_run_json_matches_the_catalog_and_says_nothing_else(published):
    home, result, document = published
    cat = intake.from_yaml_file(str(home / "ercan-data" / "catalog.yaml"))
    assert document["exit_status"] == 0 and document["from_stage"] == "ingest"
    assert set(document["sources"]) == set(registry())
    assert {s["status"] for s in document["sources"].values()} == {"accepted"}
    assert document["sources"]["fra2020"]["rows"] > 0 and set(document["sources"]["fra2020"]["snapshots"]) == {"extent", "carbon"}
    assert set(document["products"]) == set(PRODUCTS)
    for name, product in document["products"].items():
        metadata = cat[name].metadata
        assert (product["version"], product["rows"], product["published"], product["withheld"]) == (
            metadata["version"], metadata["row_count"], True, None)
    assert len(cat["carbon_stocks"].read()) == document["products"]["carbon_stocks"]["rows"]
    assert document["report"] == str(home / "ercan-data" / cat["carbon_stocks"].metadata["report"])  # no file://
    assert "INFO" not in result.stderr  # --json: Prefect's console log only on errors


@pytest.mark.slow
def test_sources_and_versions_json_agree_with_the_run(published):
    home, _, document = published
    listing = json.loads(invoke("sources", "--json", "--storage", str(home / "ercan-data")).stdout)
    assert {sid: (s["status"], s["snapshots"]) for sid, s in listing["sources"].items()} == {
        sid: (s["status"], s["snapshots"]) for sid, s in document["sources"].items()}
    versions = json.loads(invoke("versions", "--json", "--storage", str(home / "ercan-data")).stdout)
    assert {name: [(v["version"], v["rows"]) for v in served] for name, served in versions["products"].items()} == {
        name: [(p["version"], p["rows"])] for name, p in document["products"].items()}
    assert versions["exit_status"] == 0


@pytest.mark.slow
def test_quiet_prints_nothing_on_success(published):
    home, _, _ = published
    for command in (["sources"], ["versions"], ["versions", "carbon_stocks", "--diff"]):
        result = invoke(*command, "--quiet", "--storage", str(home / "ercan-data"))
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", ""), command


def test_quiet_and_json_still_report_usage_errors(tmp_path):
    quiet = invoke("rerun", "--quiet")
    assert quiet.exit_code == 2 and quiet.stdout == "" and "name the source(s) to rerun" in quiet.stderr
    as_json = invoke("versions", "carbon_stock", "--json", "--storage", str(tmp_path))
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout) == {"error": "unknown product 'carbon_stock' (did you mean 'carbon_stocks'?)",
                                          "exit_status": 2}


def test_ingest_json_names_the_snapshot_and_quiet_prints_nothing(tmp_path):
    extent = SAMPLE_DATA / get("fra2020").source.inputs["extent"]
    first = invoke("ingest", "fra2020", str(extent), "--json", "--storage", str(tmp_path))
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["snapshots"] == [{
        "role": "extent", "name": extent.name, "sha256": hashlib.sha256(extent.read_bytes()).hexdigest(),
        "bytes": extent.stat().st_size, "new": True}]
    again = invoke("ingest", "fra2020", str(extent), "--quiet", "--storage", str(tmp_path))
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")


@pytest.mark.slow
def test_piped_output_has_no_ansi_escapes(published):
    home, run, _ = published
    outputs = [run.stderr]
    for command in (["sources"], ["versions", "carbon_stocks", "--diff"], ["run", "--help"]):
        result = ercan_in(home, *command, *(["--storage", "ercan-data"] if command[0] != "run" else []))
        assert result.returncode == 0 and result.stdout.strip()
        outputs += [result.stdout, result.stderr]
    assert "accepted" in outputs[1]
    assert not [o for o in outputs if "\x1b[" in o]


def in_terminal(cwd: Path, *args, **env_overrides) -> str:
    """What `ercan ARGS` shows on a terminal (a pseudo-terminal for stdin, stdout and stderr)."""
    main, child = pty.openpty()
    env = {**_plain_env(cwd), "TERM": "xterm-256color", **env_overrides}
    process = subprocess.Popen([ERCAN, *args], stdin=child, stdout=child, stderr=child, cwd=cwd, env=env)
    os.close(child)
    shown = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown.append(chunk)
    process.wait(timeout=60)
    os.close(main)
    return b"".join(shown).decode()


@pytest.mark.slow
def test_colours_on_a_terminal_unless_no_color(published):
    home, _, _ = published
    green = "\x1b[32maccepted"
    assert green in in_terminal(home, "sources", "--storage", "ercan-data")
    plain = in_terminal(home, "sources", "--storage", "ercan-data", NO_COLOR="1")
    assert "accepted" in plain and not re.search(r"\x1b\[(3\d|9\d)m", plain)


def test_every_command_has_help_with_examples():
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"run", "rerun", "ingest", "sources", "versions", "deploy", "generate"} <= set(commands)
    for command in [[], *([c] for c in commands)]:
        shown = invoke(*command, "--help")
        assert shown.exit_code == 0, command
        assert "Examples" in shown.output and f"ercan {command[0] if command else 'run'}" in shown.output, command


@pytest.mark.slow
def test_example_script_plots_forest_area_with_the_catalogs_numbers(published, tmp_path):
    home, _, document = published
    png = tmp_path / "area.png"
    shown = subprocess.run([sys.executable, str(PROJECT_ROOT / "docs" / "examples" / "forest_area_by_region.py"),
                            "--out", str(png)], capture_output=True, text=True, cwd=home, check=True, timeout=300)
    version = document["products"]["carbon_stocks"]["version"]
    assert shown.stdout.startswith(f"# carbon_stocks {version}: forest area, million ha\n")
    printed = pd.read_csv(io.StringIO(shown.stdout), comment="#", index_col="year")
    stocks = intake.from_yaml_file(str(home / "ercan-data" / "catalog.yaml"))["carbon_stocks"].read()
    world = stocks[(stocks.area_code == "WORLD") & (stocks.variable == "area") & (stocks.method == "bottom_up")]
    assert printed["World"].to_dict() == pytest.approx((world.set_index("year").value / 1e6).to_dict(), abs=5e-4)
    assert list(printed.columns) == ["World", "Africa", "Americas", "Asia", "Europe", "Oceania"]
    # complete coverage: the continents add up to the world
    assert printed.drop(columns="World").sum(axis=1).to_dict() == pytest.approx(printed["World"].to_dict(), abs=5e-3)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(png).shape
    assert width > 1000 and height > 400


@pytest.mark.slow
def test_readme_duckdb_and_older_version_snippets_run(published):
    home, _, document = published
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    load_the_data = readme.split("## Load the data")[1].split("\n## ")[0]
    snippets = re.findall(r"```python\n(.*?)```", load_the_data, flags=re.S)
    assert any("duckdb.sql" in s for s in snippets) and any("oldest" in s for s in snippets)
    check = """
import json
print(json.dumps({"world_2020": float(forest.query("area_code == 'WORLD' and year == 2020").forest_area_mha.iloc[0]),
                  "regions": sorted(forest.area_code.unique()),
                  "oldest": oldest.metadata["version"], "same_rows": len(oldest.read()) == len(pd.read_parquet(
                      f"ercan-data/products/carbon_stocks/{oldest.metadata['version']}/data/"))}))
"""
    ran = subprocess.run([sys.executable, "-c", "\n".join(snippets) + check], capture_output=True, text=True, cwd=home,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr
    facts = json.loads(ran.stdout.splitlines()[-1])
    stocks = intake.from_yaml_file(str(home / "ercan-data" / "catalog.yaml"))["carbon_stocks"].read()
    world = stocks[(stocks.area_code == "WORLD") & (stocks.variable == "area") & (stocks.year == 2020)
                   & (stocks.method == "bottom_up")]
    assert facts["world_2020"] == pytest.approx(world.value.item() / 1e6, rel=1e-12)
    assert facts["regions"] == ["M49:002", "M49:009", "M49:019", "M49:142", "M49:150", "WORLD"]
    assert facts["oldest"] == document["products"]["carbon_stocks"]["version"] and facts["same_rows"]


def test_version_names_the_package_its_commit_and_the_stack():
    import subprocess as sp
    from importlib.metadata import version

    from ercan.sources import PROJECT_ROOT

    result = invoke("--version")
    assert result.exit_code == 0
    commit = sp.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout[:12]
    assert result.stdout.startswith(f"ercan {version('ercan')}, git {commit} (Python ")
    assert f"Prefect {version('prefect')}" in result.stdout and f"Great Expectations {version('great-expectations')}" in result.stdout


# --- The nightly pipeline through the `ercan` command on the same store: then a second run with no change,
# a run with a broken FRA workbook and one with a corrected GFW file ------------------------------------------
EXTENT = SAMPLE_DATA / "fra2020" / "1_Forest_extent_characteristics_and_changes_en.xlsx"


def ercan_on(*args, storage: Path, prefect_home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ERCAN, *args, "--storage", str(storage)], capture_output=True, text=True,
                          env=prefect_env(prefect_home), timeout=300)


def load_in_fresh_process(storage: Path, code: str):
    """Run `code` in a new Python process with `cat` the catalog; it prints JSON."""
    script = f"import intake, json\ncat = intake.from_yaml_file({str(storage / 'catalog.yaml')!r})\n{code}"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def first_run(published):
    """The nightly of `published` (its products checked in test_run_json_matches_the_catalog...): the
    store, Prefect's home and the run."""
    home, result, _ = published
    return home / "ercan-data", home / "prefect", result


@pytest.mark.slow
def test_catalog_serves_national_regional_and_global_stocks_in_a_fresh_process(first_run):
    storage, _, _ = first_run
    facts = load_in_fresh_process(storage, """
df = cat["carbon_stocks"].read()
obs = cat["observations"].read()
rec = cat["reconciliation"].read()
countries = obs[(obs.source == "fra2020") & (obs.area_level == "national") & (obs.variable == "area") & (obs.year == 2020)
                & obs.category.isna()]
world = df[(df.area_code == "WORLD") & (df.variable == "area") & (df.year == 2020)]
rw = rec[(rec.area_code == "WORLD") & (rec.variable == "area") & (rec.year == 2020) & rec.category.isna()]
print(json.dumps({
    "levels": sorted(df.area_level.unique()),
    "countries": len(countries), "country_sum": countries.value.sum(), "world": world.value.tolist(),
    "reported_world": rw.reported_value.tolist(), "bottom_up_world": rw.bottom_up_value.tolist(),
    "sources": sorted(obs.source.unique()),
    "metadata": {k: cat["carbon_stocks"].metadata[k] for k in ("version", "license", "units")},
    "entries": sorted(cat.entries),
}))
""")
    assert facts["levels"] == ["global", "national", "regional"]
    assert facts["countries"] == 236
    assert facts["world"] == [pytest.approx(facts["country_sum"], rel=1e-12)]
    assert facts["reported_world"] == [pytest.approx(4_058_930_810)]
    assert facts["bottom_up_world"] == [pytest.approx(facts["country_sum"], rel=1e-12)]
    assert facts["sources"] == sorted(s for s, h in registry().items() if h.source.product == "observations")
    assert any("FAO" in lic for lic in facts["metadata"]["license"])
    assert f"carbon_stocks__{facts['metadata']['version']}" in facts["entries"]


@pytest.mark.slow
def test_reference_factors_are_a_product_of_their_own_in_a_fresh_process(first_run):
    storage, _, _ = first_run
    facts = load_in_fresh_process(storage, """
ref = cat["reference_factors"].read()
obs = cat["observations"].read()
print(json.dumps({"rows": ref.groupby("source").size().to_dict(), "in_observations": sorted(set(obs.source) & set(ref.source)),
                  "licenses": cat["reference_factors"].metadata["license"]}))
""")
    assert facts["rows"] == {"brazil_reference_stocks": 3714, "fra_biomass_calculator": 78, "fra_climatic_domains": 1180,
                             "ipcc_defaults": 1776, "ipcc_factors_jrc": 153}
    assert facts["in_observations"] == []
    assert "GPL-3.0 (repository LICENSE file)" in facts["licenses"]


@pytest.mark.slow
def test_sources_and_versions_commands(first_run):
    storage, prefect_home, _ = first_run
    listing = ercan_on("sources", storage=storage, prefect_home=prefect_home)
    assert listing.returncode == 0
    for source in registry():
        assert source in listing.stdout
    assert "accepted" in listing.stdout
    versions = ercan_on("versions", "carbon_stocks", storage=storage, prefect_home=prefect_home)
    assert versions.returncode == 0 and "carbon_stocks" in versions.stdout
    unknown = ercan_on("versions", "carbon_stock", storage=storage, prefect_home=prefect_home)
    assert unknown.returncode == 2 and "did you mean 'carbon_stocks'" in unknown.stderr


@pytest.mark.slow
def test_second_run_without_change_publishes_nothing(first_run):
    storage, prefect_home, _ = first_run
    before = sorted(p.name for p in (storage / "products").glob("*/*"))
    again = ercan_on("run", storage=storage, prefect_home=prefect_home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing new published" in again.stdout
    assert sorted(p.name for p in (storage / "products").glob("*/*")) == before


@pytest.mark.slow
def test_broken_workbook_quarantines_fra_and_keeps_what_was_published(first_run, tmp_path):
    storage, prefect_home, _ = first_run
    copy = tmp_path / "store"
    shutil.copytree(storage, copy)
    workbook = openpyxl.load_workbook(EXTENT)
    workbook["1a_Forest"].delete_rows(2)  # a header row removed
    broken = tmp_path / EXTENT.name
    workbook.save(broken)
    served_before = (copy / "catalog.yaml").read_text()

    ingested = ercan_on("ingest", "fra2020", str(broken), storage=copy, prefect_home=prefect_home)
    assert ingested.returncode == 0, ingested.stderr
    result = ercan_on("run", storage=copy, prefect_home=prefect_home)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "quarantined" in result.stdout
    listing = ercan_on("sources", storage=copy, prefect_home=prefect_home).stdout
    assert "quarantined" in listing and EXTENT.name in " ".join(listing.split())
    state = json.loads((copy / "state" / "sources" / "fra2020.json").read_text())
    assert "sheet '1a_Forest', row 6, column 'A': has values but no header" in state["reason"] and EXTENT.name in state["reason"]
    # FRA's last accepted rows still make the products: carbon stocks are unchanged and still served.
    served = load_in_fresh_process(copy, """
df = cat["carbon_stocks"].read()
q = cat["quality"].read()
print(json.dumps({"fra_rows": int((df.source == "fra2020").sum()), "version": cat["carbon_stocks"].metadata["version"],
                  "fra_gate": q[q.subject == "fra2020"].success.tolist()}))
""")
    assert served["fra_rows"] > 8000
    assert served["version"] in served_before
    assert served["fra_gate"] == [False]  # quality tells why FRA is out


@pytest.mark.slow
def test_changed_snapshot_publishes_only_the_affected_products(first_run, tmp_path):
    """A corrected GFW file (Alabama's 2001 loss edited by the test) changes observations and
    reconciliation, not carbon_stocks; the changelog names the change."""
    storage, prefect_home, _ = first_run
    copy = tmp_path / "store"
    shutil.copytree(storage, copy)
    original = SAMPLE_DATA / "gfw_usa" / "loc-loss_treecover_loss_by_region__ha.csv"
    corrected = tmp_path / original.name
    corrected.write_text(original.read_text().replace("176807.15511181095", "176907.15511181095", 1))
    assert ercan_on("ingest", "gfw_usa", str(corrected), "--role", "state_loss", storage=copy,
                 prefect_home=prefect_home).returncode == 0

    result = ercan_on("run", storage=copy, prefect_home=prefect_home)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "published observations" in result.stdout and "published reconciliation" in result.stdout
    assert "published carbon_stocks" not in result.stdout
    diff = ercan_on("versions", "observations", "--diff", storage=copy, prefect_home=prefect_home)
    assert diff.returncode == 0
    assert "+0 −0 ~1" in diff.stdout and "US-AL" in diff.stdout
