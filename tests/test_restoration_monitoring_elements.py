"""The crosswalk of restoration monitoring framework elements to ercan's fields, against the shipped
datamodel file (sample_data/restoration_monitoring/) and the field registry."""

import pandas as pd
import pytest

from ercan.accounting.restoration import TARGET_SHARE, TARGET_YEAR
from ercan.schema import ALL_FIELDS, VARIABLE_UNITS
from ercan.sources import PROJECT_ROOT, SAMPLE_DATA

DATAMODEL = SAMPLE_DATA / "restoration_monitoring" / "restoration_monitoring_datamodel.csv"
CROSSWALK = PROJECT_ROOT / "harmonizers" / "crosswalks" / "restoration_monitoring_elements.csv"
PRODUCTS = ("observations", "restoration_progress")


@pytest.fixture(scope="module")
def datamodel():
    return pd.read_csv(DATAMODEL, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def crosswalk():
    return pd.read_csv(CROSSWALK, dtype=str, keep_default_na=False)


def keys(frame):
    return list(zip(frame["framework"], frame["element"]))


def test_every_element_of_the_file_is_decided_once_and_nothing_else(datamodel, crosswalk):
    assert len(set(keys(crosswalk))) == len(crosswalk), "an element is listed twice"
    assert set(keys(datamodel)) == set(keys(crosswalk)), "the datamodel file and the crosswalk disagree: review the crosswalk"
    assert crosswalk["note"].str.len().gt(0).all(), "every element says why it maps as it does, or why not"


def test_every_mapped_element_lands_on_a_registry_field(crosswalk):
    mapped = crosswalk[crosswalk["product"] != ""]
    assert set(mapped["product"]) <= set(PRODUCTS)
    assert set(mapped["field"]) <= set(ALL_FIELDS)
    variables = mapped.loc[mapped["field"] == "variable", "value"]
    assert set(variables) <= set(VARIABLE_UNITS)
    assert mapped.loc[mapped["field"] == "category", "value"].str.startswith("Restor:").all()  # code system prefixed
    unmapped = crosswalk[crosswalk["product"] == ""]
    assert (unmapped["field"] == "").all() and (unmapped["value"] == "").all()


def test_the_area_indicators_are_restoration_area_and_target_2_is_the_one_accounting_uses(datamodel, crosswalk):
    decided = crosswalk.set_index(["framework", "element"])
    # row 30: UNEP-WCMC BIO 04, unit 'hectares'; row 10: the GBF headline indicator 2.2
    for element in [("UNEP-WCMC KPI directory", "BIO 04 [Core] Area under ecological restoration"),
                    ("CBD GBF indicator metadata", "2.2 Area under restoration"),
                    ("IRIS+ (GIIN)", "PI9556 Ecological Restoration Management Area")]:
        assert tuple(decided.loc[element, ["field", "value"]]) == ("variable", "restoration_area")
    assert VARIABLE_UNITS["restoration_area"] == "ha"
    # row 12: 'at least 30 per cent of areas of degraded ... ecosystems' by 2030
    target = datamodel[datamodel["element"] == "Target 2"]["definition_or_value"].item()
    assert "by 2030 at least 30 per cent" in target
    assert float(decided.loc[("CBD GBF indicator metadata", "Target 2"), "value"]) == TARGET_SHARE and TARGET_YEAR == 2030


def test_the_numbers_in_the_file_are_counts_and_none_is_an_observation(datamodel, crosswalk):
    # rows 8, 28, 29: 335 experts from 116 organisations, 61 indicators, 32 descriptors (unit 'count')
    counted = set(keys(datamodel[datamodel["unit"] == "count"]))
    assert len(counted) == 3
    assert (crosswalk[[k in counted for k in keys(crosswalk)]]["product"] == "").all()
