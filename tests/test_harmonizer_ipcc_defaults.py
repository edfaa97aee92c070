"""Earthshot's processed IPCC Tier 1 table and the single IPCC defaults, on the real files and drifted copies."""

from __future__ import annotations

import math

import pytest
from conftest import edited_copy, harmonize_sample, replace_line

from ercan import schema
from ercan.errors import SourceError

SOURCE_ID = "ipcc_defaults"


@pytest.fixture(scope="module")
def rows():
    return harmonize_sample(SOURCE_ID)


def tier1(rows, zone, continent, stratum, parameter, condition_min):
    match = rows[(rows.ecological_zone == zone) & (rows.region == continent) & (rows.stratum == stratum)
                 & (rows.parameter == parameter) & (rows.condition_min == condition_min)]
    assert len(match) == 1, (zone, continent, stratum, parameter, condition_min, len(match))
    return match.iloc[0]


def test_tier1_factors_with_their_intervals_and_stand_conditions(rows):
    # earthshot_IPCC_Tier1_parameters.csv line 3: boreal coniferous, asia, natural
    r0 = tier1(rows, "boreal coniferous forest", "asia", "natural", "biomass_growth", 0)
    assert (r0.value, r0.value_low, r0.value_high) == (0.6, 0.32, 1.14)
    assert (r0.condition_variable, r0.condition_max, r0.pool, r0.unit) == ("stand_age", 20, "agb", "t dm/ha/yr")
    assert (r0.climatic_domain, r0.flag) == ("boreal", "derived")
    kmax = tier1(rows, "boreal coniferous forest", "asia", "natural", "biomass_density", 20)  # Kmax: stands over 20 years
    assert (kmax.value, kmax.value_low, kmax.value_high, kmax.unit) == (62.9, 33.11, 119.51, "t dm/ha")
    assert math.isnan(kmax.condition_max)
    # root_shoot_break 75 t/ha: rs_young below it, rs_old above
    young = tier1(rows, "boreal coniferous forest", "asia", "natural", "root_to_shoot", 0)
    old = tier1(rows, "boreal coniferous forest", "asia", "natural", "root_to_shoot", 75)
    assert (young.value, young.condition_max, young.condition_variable) == (0.39, 75, "biomass_density")
    assert old.value == 0.24 and math.isnan(old.condition_max) and math.isnan(old.value_low)
    # line 149: 'temperate oceanic' is the GEZ zone temperate oceanic forest
    assert tier1(rows, "temperate oceanic forest", "europe", "natural", "biomass_density", 20).value == 153.9
    # line 96: K20 (110) above Kmax (20) is kept as given
    assert tier1(rows, "subtropical steppe", "asia", "coniferous", "biomass_density", 0).value == 110
    assert tier1(rows, "subtropical steppe", "asia", "coniferous", "biomass_density", 20).value == 20


def test_repeated_rows_are_read_once_and_shifted_r20_values_are_left_out(rows):
    tier = rows[rows.flag == "derived"]
    assert len(tier) == 295 * 6 - 6  # 300 lines less 5 exact repeats, 6 factors each, less the 6 reviewed r20 values
    assert len(tier[(tier.ecological_zone == "boreal coniferous forest") & (tier.region == "oceania")
                    & (tier.stratum == "coniferous")]) == 6  # lines 8 and 9 are the same row
    continental = tier[(tier.ecological_zone == "temperate continental forest") & (tier.region == "asia")
                       & (tier.stratum == "natural") & (tier.parameter == "biomass_growth")]
    assert continental.condition_min.tolist() == [0]  # r0 = 3.3 kept; r20 (3.25 | 3.35 | 90.9, shifted) left out
    assert not rows.duplicated(list(schema.REFERENCE_KEY)).any()


def test_misspelt_forest_types_are_read_as_declared(rows):
    strata = set(rows.stratum.dropna())
    assert {"acacia mangium", "cedrus libani"} <= strata
    assert not {"acaica mangium", "cedeus libani"} & strata
    assert tier1(rows, "tropical moist forest", "asia", "acacia mangium", "biomass_density", 0).value == 211  # line 189


def test_single_facts_with_their_cited_tables(rows):
    facts = rows[rows.flag == "reported"]
    assert len(facts) == 12  # 13 lines, less 3.67 (C → CO2) and Mokany's 0.26, plus 0.47 for two domains
    fractions = facts[facts.parameter == "carbon_fraction"]
    assert sorted(fractions.value) == [0.37, 0.45, 0.47, 0.47, 0.47, 0.5]
    table_43 = fractions[fractions.reference.str.startswith("IPCC 2006 Vol 4 Ch 4 Table 4.3")]
    assert sorted(table_43.climatic_domain) == ["subtropical", "tropical"]  # line 13: 'tropical and subtropical'
    litter = fractions[fractions.pool == "litter"].iloc[0]  # line 5
    assert (litter.value, litter.unit) == (0.37, "t C/t dm")
    # line 11: 260 t d.m./ha, Table 4.7, tropical moist deciduous forest (GEZ 2010: tropical moist forest), Africa
    agb = facts[facts.parameter == "biomass_density"].iloc[0]
    assert (agb.value, agb.ecological_zone, agb.region, agb.stratum, agb.pool) == (260, "tropical moist forest", "africa", "natural", "agb")
    assert agb.reference.startswith("IPCC 2006 Vol 4 Ch 4 Table 4.7 (read in search-index file id 65925374428")
    # lines 12 and 14: R:S 0.24 above and 0.20 below 125 t/ha
    ratios = facts[(facts.parameter == "root_to_shoot") & (facts.ecological_zone == "tropical moist forest")]
    assert ratios.set_index("condition_min").value.to_dict() == {0: 0.2, 125: 0.24}
    mangroves = facts[facts.stratum == "mangroves"].set_index("ecological_zone")
    assert mangroves.loc["tropical wet", "value"] == 0.49
    assert 3.67 not in set(rows.value) and 0.26 not in set(facts.value)


# --- drift ---------------------------------------------------------------------------------------


def test_repeated_rows_with_different_figures_are_refused(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "tier1", replace_line(9, "coniferous,1.0,", "coniferous,1.1,"))
    with pytest.raises(SourceError, match=r"file 'earthshot_IPCC_Tier1_parameters.csv', row 9, column 'ecozone': "
                                          r"ecozone\|continent\|forest_type 'boreal coniferous\|oceania\|coniferous' appears again "
                                          r"\(first at row 8\)"):
        harmonize_sample(SOURCE_ID, tier1=changed)


def test_a_factor_outside_its_interval_is_refused(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "tier1", replace_line(3, "natural,0.6,", "natural,1.6,"))
    with pytest.raises(SourceError, match=r"row 3, column 'r0': r0 = 1.6 lies outside its interval r0_low = 0.32, r0_high = 1.14"):
        harmonize_sample(SOURCE_ID, tier1=changed)


def test_a_renamed_column_suggests_the_closest(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "tier1", replace_line(1, "Kmax,", "K_max,"))
    with pytest.raises(SourceError, match=r"row 1: expected column 'Kmax' is missing \(did you mean 'K_max'\?\)"):
        harmonize_sample(SOURCE_ID, tier1=changed)


def test_an_unknown_ecozone_names_its_row_and_the_closest(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "tier1", replace_line(2, "boreal coniferous", "boreal coniferus"))
    with pytest.raises(SourceError, match=r"row 2, column 'ecozone': unknown climate zone 'boreal coniferus' "
                                          r"\(did you mean 'boreal coniferous'\?\)"):
        harmonize_sample(SOURCE_ID, tier1=changed)


def test_a_non_numeric_cell_names_its_row_and_column(tmp_path):
    # a line below the repeated ones: the row number is still the file's
    changed = edited_copy(tmp_path, SOURCE_ID, "tier1", replace_line(189, "acaica mangium,8.0,", "acaica mangium,8.O,"))
    with pytest.raises(SourceError, match=r"file 'earthshot_IPCC_Tier1_parameters.csv', row 189, column 'r0': '8.O' is not a number"):
        harmonize_sample(SOURCE_ID, tier1=changed)


def test_a_fact_the_crosswalk_lacks_is_named_with_the_closest(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "facts", replace_line(13, "tropical and subtropical", "tropical & subtropical"))
    with pytest.raises(SourceError, match=r"file 'ipcc_default_values_facts.csv', row 13, column 'parameter': unknown fact "
                                          r".*'carbon fraction of dry matter \| tropical & subtropical \| ' \(did you mean "
                                          r"'carbon fraction of dry matter \| tropical and subtropical \| '\?\)"):
        harmonize_sample(SOURCE_ID, facts=changed)


def test_an_unknown_unit_is_named_with_the_closest(tmp_path):
    changed = edited_copy(tmp_path, SOURCE_ID, "facts", replace_line(2, "t C / t d.m.", "t C / t dm"))
    with pytest.raises(SourceError, match=r"row 2, column 'unit': unknown unit 't C / t dm' \(did you mean 't C / t d.m.'\?\)"):
        harmonize_sample(SOURCE_ID, facts=changed)
