import pandas as pd

from ercan import areas


def test_names_map_to_iso3_including_the_ones_pandas_reads_as_missing():
    codes = areas.iso3_for_names(["Namibia", "Bolivia (Plurinational State of)", "Côte d'Ivoire", "Viet Nam"])
    assert codes == {"Namibia": "NAM", "Bolivia (Plurinational State of)": "BOL", "Côte d'Ivoire": "CIV", "Viet Nam": "VNM"}


def test_unknown_names_are_absent_not_guessed():
    assert "Atlantis" not in areas.iso3_for_names(["Atlantis"])


def test_override_file_is_well_formed_and_every_override_is_needed():
    """An override is only for a name country_converter gets wrong or misses."""
    names = pd.read_csv(areas.OVERRIDES_FILE, dtype=str, keep_default_na=False)
    assert list(names.columns) == ["name", "iso3", "note"]
    assert not names.name.duplicated().any()
    for name, iso3 in areas.overrides().items():
        found = areas._country_converter().convert([name], src="regex", to="ISO3", not_found="not found")
        assert found != iso3, f"{name!r}: country_converter already gives {iso3}; drop the override"
