"""The JRC transcription of IPCC 2006 BCEF, R:S and wood density, on its real files and drifted copies."""

from __future__ import annotations

import math
import re

import pytest
from conftest import edited_copy, harmonize_sample, replace_line, sample_files

from ercan import schema
from ercan.errors import SourceError
from ercan.reference import class_bounds

SOURCE_ID = "ipcc_factors_jrc"


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def factor(rows, parameter, stratum, condition_min, *, domain=None, zone=None):
    match = rows[(rows.parameter == parameter) & (rows.stratum == stratum) & (rows.condition_min.fillna(-1) == condition_min)]
    if domain:
        match = match[match.climatic_domain == domain]
    if zone:
        match = match[match.ecological_zone == zone]
    assert len(match) == 1, (parameter, stratum, condition_min, len(match))
    return match.iloc[0]


def test_bcef_classes_from_the_column_names(rows):
    # ipcc_bcef_temperate.csv line 5 (temperate, pines, bcefs), column gs_0_20
    pines = factor(rows, "bcef_stock", "pines", 0, domain="temperate")
    assert (pines.value, pines.condition_max, pines.unit) == (1.8, 20, "t dm/m3")
    assert pines.condition_variable == "growing_stock_density" and pines.reference == "IPCC 2006 GL Vol.4 Ch.4 Table 4.5"
    # line 2 (temperate, hardwoods, bcefs), column `Gs_41_100` (capital G): whole-number class 41-100 → [40, 100)
    hardwoods = factor(rows, "bcef_stock", "hardwoods", 40, domain="temperate")
    assert (hardwoods.value, hardwoods.condition_max) == (1.4, 100)
    # gs_21_40 → [20, 40): the class starts where 0-20 ended
    assert factor(rows, "bcef_increment", "hardwoods", 20, domain="temperate").condition_max == 40
    # ipcc_bcef_boreal.csv line 2 (boreal, pines, bcefs), column gs_100_INF: open
    open_class = factor(rows, "bcef_stock", "pines", 100, domain="boreal")
    assert open_class.value == 0.5 and math.isnan(open_class.condition_max)
    # ipcc_bcef_mediterranean.csv line 7 (conifers, bcefr), column gs_0_20; mediterranean → subtropical
    removals = factor(rows, "bcef_removals", "conifers", 0, domain="subtropical")
    assert (removals.value, removals.ecological_zone) == (6.67, "mediterranean")
    assert factor(rows, "bcef_increment", "pines", 100, domain="boreal").value == 0.463


def test_root_to_shoot_by_biomass_class(rows):
    # ipcc_root_to_shoot_ratio.csv line 8: temperate, con, 150, INF, 0.20
    conifers = factor(rows, "root_to_shoot", "coniferous", 150, domain="temperate")
    assert conifers.value == 0.2 and math.isnan(conifers.condition_max)
    assert (conifers.condition_variable, conifers.unit) == ("biomass_density", "1")
    # line 2: subtropical_dry, con, 0, 20, 0.56 → the FAO zone subtropical dry forest
    dry = factor(rows, "root_to_shoot", "coniferous", 0, domain="subtropical")
    assert (dry.value, dry.condition_max, dry.ecological_zone) == (0.56, 20, "subtropical dry forest")
    # line 9: temperate, quercus, 70, INF: the only class for oaks starts at 70
    assert factor(rows, "root_to_shoot", "quercus", 70).value == 0.3
    assert factor(rows, "root_to_shoot", "broadleaved", 75, domain="boreal").value == 0.24


def test_wood_density_by_genus_and_species(rows):
    density = rows[rows.parameter == "wood_density"].set_index("stratum")
    assert density.loc["abies", "value"] == 0.4  # tree_species_info.csv line 2, species 'NaN': the whole genus
    assert density.loc["pinus pinaster", "value"] == 0.44
    assert density.loc["pinus sylvestris", "value"] == 0.42  # 'pinus silvestris' (line 16) read as this, once
    assert "pinus silvestris" not in density.index
    assert not {"carpinus", "castanea", "pinus contorta", "robinia", "eucalyptus"} & set(density.index)  # 'NaN' density
    assert density.condition_variable.isna().all() and density.climatic_domain.isna().all()
    assert set(density.reference) == {"IPCC 2006 GL Vol.4 Ch.4 Table 4.14"}


def test_row_inventory_and_unique_keys(rows):
    assert rows.groupby("parameter").size().to_dict() == {
        "bcef_increment": 39, "bcef_removals": 39, "bcef_stock": 39,  # boreal 4x4 + temperate 3x5 + mediterranean 2x4
        "root_to_shoot": 18, "wood_density": 18,
    }
    assert not rows.duplicated(list(schema.REFERENCE_KEY)).any()
    assert set(rows.flag) == {"reported"} and rows.region.isna().all() and rows.pool.isna().all()
    assert set(rows.climatic_domain.dropna()) == {"boreal", "temperate", "subtropical"}
    assert set(rows.snapshot) == {f.sha256 for f in sample_files(SOURCE_ID).values()}


# --- drift ---------------------------------------------------------------------------------------


def test_a_renamed_column_suggests_the_closest(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "bcef_boreal", replace_line(1, "forest_type", "forest type"))
    with pytest.raises(SourceError, match=r"file 'ipcc_bcef_boreal.csv', row 1: expected column 'forest_type' is missing "
                                          r"\(did you mean 'forest type'\?\)"):
        harmonize_sample(SOURCE_ID, bcef_boreal=changed)


def test_a_class_column_that_is_no_class_is_named(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "bcef_temperate", replace_line(1, "Gs_41_100", "gs_41-100"))
    # no growing-stock class (`values: [{pattern: gs_<lower>_<upper>}]`), and `other_columns: error`
    with pytest.raises(SourceError, match=r"file 'ipcc_bcef_temperate.csv', row 1, column 'gs_41-100': the column .* is "
                                          r"read by no key of the declaration"):
        harmonize_sample(SOURCE_ID, bcef_temperate=changed)


def test_classes_that_leave_a_gap_are_refused(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "bcef_boreal", replace_line(1, "gs_51_100", "gs_61_100"))
    with pytest.raises(SourceError, match=r"file 'ipcc_bcef_boreal.csv', row 1: class 61-100 does not follow class 21-50"):
        harmonize_sample(SOURCE_ID, bcef_boreal=changed)


def test_an_unknown_zone_names_its_row_and_the_closest(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "root_to_shoot", replace_line(6, "temperate", "temperat"))
    with pytest.raises(SourceError, match=r"file 'ipcc_root_to_shoot_ratio.csv', row 6, column 'climatic_zone': unknown "
                                          r"value 'temperat' \(did you mean 'temperate'\?\), not in climate_zones.csv.*"
                                          r"harmonizers/crosswalks/ \(shared\)"):
        harmonize_sample(SOURCE_ID, root_to_shoot=changed)


def test_an_unknown_forest_type_names_its_row_and_the_closest(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "bcef_temperate", replace_line(5, "pines", "pine"))
    with pytest.raises(SourceError, match=r"row 5, column 'forest_type': unknown value 'pine' \(did you mean 'pines'\?\)"
                                          r".*inputs.bcef_temperate.columns.forest_type.map"):
        harmonize_sample(SOURCE_ID, bcef_temperate=changed)


def test_growing_stock_ranges_are_those_of_the_headers(rows):
    # `values: [{classes: true}]` reads each class column's [min, max) from its header
    for role, domain in (("bcef_boreal", "boreal"), ("bcef_temperate", "temperate"),
                         ("bcef_mediterranean", "subtropical")):
        with sample_files(SOURCE_ID)[role].open() as f:
            header = f.readline().decode()
        printed = re.findall(r"gs_(\d+)_(\d+|INF)", header, flags=re.IGNORECASE)
        classes = [(float(low), None if high.upper() == "INF" else float(high)) for low, high in printed]
        bcef = rows[(rows.parameter == "bcef_stock") & (rows.climatic_domain == domain)]
        read = sorted({(low, None if math.isnan(high) else high)
                       for low, high in zip(bcef.condition_min, bcef.condition_max)})
        assert class_bounds(classes) == read, role


def test_root_to_shoot_classes_that_leave_a_gap_are_refused(tmp_path):
    # line 6: temperate,con,0,50 then line 7: 50,150 -> 60,150 leaves 50-60 uncovered
    changed = edited_copy(tmp_path, SOURCE_ID, "root_to_shoot", replace_line(7, "con,50,150", "con,60,150"))
    with pytest.raises(SourceError, match=r"file 'ipcc_root_to_shoot_ratio.csv', row 6, column 'lower/upper': class "
                                          r"60-150 does not follow class 0-50"):
        harmonize_sample(SOURCE_ID, root_to_shoot=changed)


def test_a_non_numeric_cell_names_its_row_and_column(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "bcef_temperate", replace_line(5, "pines,bcefs,1.8,", 'pines,bcefs,"1,8",'))
    with pytest.raises(SourceError, match=r"file 'ipcc_bcef_temperate.csv', row 5, column 'gs_0_20': '1,8' is not a number"):
        harmonize_sample(SOURCE_ID, bcef_temperate=changed)


def test_a_genus_with_two_densities_is_refused(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "wood_density", replace_line(16, "silvestris,0.42", "silvestris,0.52"))
    # `repeats` with `original`: the misspelt row must repeat line 15's density
    with pytest.raises(SourceError, match=r"row 16, column 'density': repeats line 15 \(\{'genus': 'pinus', 'species': "
                                          r"'sylvestris'\}.* reads '0.52' where line 15 reads '0.42'"):
        harmonize_sample(SOURCE_ID, wood_density=changed)


def test_a_density_without_a_genus_is_refused(tmp_path):
    # the last row (no genus) is dropped as reviewed: holding no density (`drop: [{only_values_in: []}]`)
    changed = edited_copy(tmp_path, SOURCE_ID, "wood_density", replace_line(27, "NaN,NaN,NaN,broad", "NaN,NaN,0.5,broad"))
    with pytest.raises(SourceError, match=r"row 27, column 'density': the drop rule \{'genus': None\} .* holds '0.5'"):
        harmonize_sample(SOURCE_ID, wood_density=changed)
