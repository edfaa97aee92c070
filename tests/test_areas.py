import pandas as pd
import pytest

from ercan import areas
from ercan.sources import PROJECT_ROOT


def test_names_map_to_iso3_including_the_ones_pandas_reads_as_missing():
    codes = areas.iso3_for_names(["Namibia", "Bolivia (Plurinational State of)", "Côte d'Ivoire", "Viet Nam"])
    assert codes == {"Namibia": "NAM", "Bolivia (Plurinational State of)": "BOL", "Côte d'Ivoire": "CIV", "Viet Nam": "VNM"}


def test_unknown_names_are_absent_not_guessed():
    assert "Atlantis" not in areas.iso3_for_names(["Atlantis"])


@pytest.mark.parametrize("names_file", sorted((PROJECT_ROOT / "harmonizers").glob("*/country_names.csv")),
                         ids=lambda path: path.parent.name)
def test_each_sources_names_file_is_well_formed_and_every_override_is_needed(names_file):
    """A source's override is only for a name country_converter gets wrong or misses."""
    names = pd.read_csv(names_file, dtype=str, keep_default_na=False)
    assert list(names.columns) == ["name", "iso3", "note"]
    assert not names.name.duplicated().any()
    for row in names.to_dict("records"):
        iso3 = areas.CountryName(**row).iso3
        found = areas._country_converter().convert([row["name"]], src="regex", to="ISO3", not_found="not found")
        assert found != iso3, f"{row['name']!r}: country_converter already gives {iso3}; drop the override"
