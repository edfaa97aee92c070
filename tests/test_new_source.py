"""`ercan new-source` (ercan/sniff.py): a draft that loads for every shipped CSV sample, and what the
sniffer detects on layouts the tests write themselves."""

import json

import pytest
from typer.testing import CliRunner

from ercan.cli import app
from ercan.declaration import load
from ercan.sniff import new_source, sniff
from ercan.sources import SAMPLE_DATA
from ercan.validation import load_suite

SAMPLES = sorted(SAMPLE_DATA.glob("*/*.csv"))


@pytest.mark.parametrize("path", SAMPLES, ids=[f"{p.parent.name}/{p.name}" for p in SAMPLES])
def test_the_draft_of_every_shipped_csv_loads(path, tmp_path):
    draft = new_source("drafted", [path], tmp_path)
    declaration = load(draft.declaration)
    assert declaration.id == "drafted"
    assert declaration.title.startswith("TODO")
    assert [i.file for i in declaration.inputs.values()] == [path.name]
    assert (draft.sample / path.name).read_bytes() == path.read_bytes()  # copied byte for byte
    assert "TODO" in (draft.sample / "SOURCE.txt").read_text(encoding="utf-8")
    assert load_suite(draft.suite)["name"] == "drafted"


def test_the_command_writes_a_draft_and_refuses_an_existing_source(tmp_path):
    table = SAMPLE_DATA / "cikd2024" / "forest_indicators_table1_cikd2024.csv"
    result = CliRunner().invoke(app, ["new-source", "cikd_draft", str(table), "--into", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "could not decide" in result.output
    draft = load(tmp_path / "harmonizers" / "cikd_draft" / "source.yaml")
    blocks = {b.columns[0]: b.set for b in draft.inputs["table"].values}
    assert blocks["森林面积 (千公顷)"] == {"variable": "area", "unit": "1000 ha"}  # 千公顷 = 1000 ha
    assert blocks["森林覆盖率 (%)"] == {"variable": "forest_cover", "unit": "%"}
    assert "area_code" in draft.inputs["table"].columns["国家/地区"].fields
    again = CliRunner().invoke(app, ["new-source", "cikd_draft", str(table), "--into", str(tmp_path)])
    assert again.exit_code == 2
    assert "exists" in again.output


def test_a_project_source_is_never_overwritten(tmp_path):
    from ercan.errors import ConfigError
    from ercan.sources import PROJECT_ROOT

    with pytest.raises(ConfigError, match="already there"):
        new_source("gcb2019", [SAMPLE_DATA / "gcb2019" / "global-carbon-budget.csv"], PROJECT_ROOT)


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _draft(tmp_path, path):
    return load(new_source("generated", [path], tmp_path / "project").declaration).inputs["table"]


def test_a_long_table(tmp_path):
    # generated: a long table, one row per country and year, ISO3 codes, a unit in parentheses
    path = _write(tmp_path, "long.csv", "iso3,year,forest area (1000 ha)\nFRA,2010,16424\nDEU,2010,11409\n"
                                        "FRA,2020,17253\nDEU,2020,11419\n")
    found = sniff(path)
    assert found.value("layout") == "long" and found.value("delimiter") == ","
    kinds = {c.name: (c.kind, c.codes) for c in found.columns}
    assert kinds == {"iso3": ("area", "iso3"), "year": ("year", None), "forest area (1000 ha)": ("number", None)}
    spec = _draft(tmp_path, path)
    assert "area_code" in spec.columns["iso3"].fields and spec.columns["year"].to == "year"
    assert spec.values[0].set == {"variable": "area", "unit": "1000 ha"}


def test_a_wide_by_year_table(tmp_path):
    # generated: a wide table, one column per year
    path = _write(tmp_path, "wide.csv", "Country,1990,2000,2010,2020\nFrance,14436,15288,16424,17253\n"
                                        "Germany,11300,11354,11409,11419\n")
    found = sniff(path)
    assert found.value("layout") == "wide" and found.year_headers == ["1990", "2000", "2010", "2020"]
    block = _draft(tmp_path, path).values[0]
    assert (block.pattern, block.header) == (r"^\d{4}$", "year")


def test_a_comment_preamble_and_a_footer(tmp_path):
    # generated: `#` lines before the header, and a note line at the end
    path = _write(tmp_path, "preamble.csv", "# Forest area by country\n# downloaded 2024-01-01\nISO,Year,Area (ha)\n"
                                            "FRA,2020,17253000\nDEU,2020,11419000\nNote: provisional figures\n")
    found = sniff(path)
    assert found.value("comment") == "#" and found.value("skip_rows") is None
    assert found.value("footer_rows") == 1
    assert found.header == ["ISO", "Year", "Area (ha)"]
    read = _draft(tmp_path, path).read
    assert (read.comment, read.skip_rows, read.footer_rows) == ("#", 0, 1)


def test_a_title_line_and_two_header_rows(tmp_path):
    # generated: a title line (skip_rows), then a merged header row over a second one
    path = _write(tmp_path, "merged.csv", "Forest resources,,,,\n,Forest area,,Carbon stock,\ncountry,2000,2010,2000,2010\n"
                                          "FRA,15288,16424,900,1000\nDEU,11354,11409,1200,1300\n")
    found = sniff(path)
    assert found.value("skip_rows") == 1 and found.value("header_rows") == 2
    assert found.header == ["country", "Forest area 2000", "Forest area 2010", "Carbon stock 2000", "Carbon stock 2010"]
    assert _draft(tmp_path, path).read.header_rows == 2


@pytest.mark.parametrize("encoding", ["mac_roman", "cp1252"])
def test_a_legacy_encoding_with_accented_names(tmp_path, encoding):
    # generated: accented country names written in a legacy 8-bit encoding
    text = ("Country,Year,Forest area (ha)\nCôte d'Ivoire,2020,2836560\nSão Tomé and Príncipe,2020,52000\n"
            "Curaçao,2020,500\nRéunion,2020,88000\nTürkiye,2020,22220000\nÅland Islands,2020,100\n")
    path = _write(tmp_path, "accents.csv", text, encoding)
    found = sniff(path)
    guessed = found.value("encoding")
    assert path.read_bytes().decode(guessed) == text  # the guess reads every accent right
    assert found.guesses["encoding"].how.startswith("not UTF-8")
    assert _draft(tmp_path, path).read.encoding == guessed


def test_indian_lakh_digit_grouping_and_iso_3166_2(tmp_path):
    # generated: Indian states as ISO 3166-2 codes, areas grouped in lakhs
    path = _write(tmp_path, "lakh.csv", 'state,year,forest cover (ha)\nIN-MH,2019,"50,77,800"\nIN-MP,2019,"77,48,200"\n'
                                        'IN-GA,2019,"2,23,700"\n')
    found = sniff(path)
    assert found.value("digit_grouping") == "lakh"
    area = next(c for c in found.columns if c.kind == "area")
    assert (area.name, area.codes, area.share) == ("state", "iso3166_2", 1.0)
    spec = _draft(tmp_path, path)
    assert spec.read.digit_grouping == "lakh"
    assert getattr(spec.columns["state"], "codes", None) == "iso3166_2" or spec.set["area_level"] == "subnational"


def test_european_decimals_with_semicolons(tmp_path):
    # generated: `;`-delimited, decimal commas and dot thousands
    path = _write(tmp_path, "european.csv", "Land;Jahr;Waldfläche (1000 ha);Anteil (%)\nDEU;2015;11.419,0;32,7\n"
                                            "AUT;2015;3.869,2;47,2\nCHE;2015;1.254,0;0,42\n")
    found = sniff(path)
    assert found.value("delimiter") == ";" and found.value("digit_grouping") == "european"
    read = _draft(tmp_path, path).read
    assert (read.delimiter, read.digit_grouping) == (";", "european")


def test_a_unit_in_brackets_guesses_the_variable(tmp_path):
    # generated: units in square brackets and in gfw's `__unit` suffix
    path = _write(tmp_path, "units.csv", "iso,year,carbon density [t C/ha],growing stock [m3]\nBRA,2020,120.5,1000\n"
                                         "PER,2020,140.2,2000\n")
    found = {c.name: c for c in sniff(path).columns}
    assert found["carbon density [t C/ha]"].unit == "t C/ha"
    assert found["carbon density [t C/ha]"].variable == "carbon_density"
    assert found["growing stock [m3]"].variable == "growing_stock"
    sets = [b.set for b in _draft(tmp_path, path).values]
    assert {"variable": "carbon_density", "unit": "t C/ha"} in sets


def test_an_iso3_column_against_a_country_name_column(tmp_path):
    # generated: the same countries once as ISO3 codes, once as names; the codes are the area column
    path = _write(tmp_path, "both.csv", "name,code,year,area (ha)\nFrance,FRA,2020,1\nGermany,DEU,2020,2\n"
                                        "Brazil,BRA,2020,3\nViet Nam,VNM,2020,4\n")
    found = {c.name: c for c in sniff(path).columns}
    assert (found["code"].codes, found["code"].share) == ("iso3", 1.0)
    assert (found["name"].codes, found["name"].share) == ("names", 1.0)
    spec = _draft(tmp_path, path)
    assert "code" in spec.columns and "name" not in spec.columns


def test_an_xlsx_and_a_json_file_are_described(tmp_path):
    workbook = SAMPLE_DATA / "fra2020" / "1_Forest_extent_characteristics_and_changes_en.xlsx"
    records = _write(tmp_path, "records.json", json.dumps([{"iso3": "FRA", "year": 2020, "value": 1}]))
    draft = new_source("described", [workbook, records], tmp_path / "project")
    text = draft.declaration.read_text(encoding="utf-8")
    assert "is not read by the declared readers yet" in text or "format: xlsx" in text
    assert "JSON shape: records list: 1 records, keys iso3, year, value" in text
    assert any("sheet" in u for u in [text]) and load(draft.declaration).inputs
